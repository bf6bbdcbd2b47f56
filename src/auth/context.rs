//! Who is calling: the identity and roles a request runs with.

use chrono::{DateTime, Utc};

/// The caller of one request, as Keystone described its token (or noauth's admin).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthContext {
    /// `auth_strategy = noauth` or `http_basic`: policy rules are not enforced
    /// (every authorization passes), as in Ironic.
    pub noauth: bool,
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's name.
    pub user_name: Option<String>,
    /// The id of the user's domain.
    pub user_domain_id: Option<String>,
    /// The project a project-scoped token is scoped to.
    pub project_id: Option<String>,
    /// Its name.
    pub project_name: Option<String>,
    /// The id of its domain.
    pub project_domain_id: Option<String>,
    /// The domain a domain-scoped token is scoped to.
    pub domain_id: Option<String>,
    /// `all` for a system-scoped token.
    pub system_scope: Option<String>,
    /// Role names of the token (implied roles included, as Keystone lists them).
    pub roles: Vec<String>,
    /// Role names of the `X-Service-Token` when one came with the request.
    pub service_roles: Vec<String>,
    /// When the token expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl AuthContext {
    /// The caller of every request when `auth_strategy = noauth`: a system administrator.
    pub fn noauth() -> AuthContext {
        AuthContext {
            noauth: true,
            user_id: Some("noauth".into()),
            user_name: Some("noauth".into()),
            system_scope: Some("all".into()),
            roles: vec!["admin".into(), "member".into(), "reader".into()],
            ..AuthContext::default()
        }
    }

    /// A user authenticated by `auth_strategy = http_basic`: an administrator, and
    /// policy rules are not enforced, as in Ironic.
    pub fn basic(user: &str) -> AuthContext {
        AuthContext {
            user_id: Some(user.to_owned()),
            user_name: Some(user.to_owned()),
            ..AuthContext::noauth()
        }
    }

    /// The caller of a public route (version documents, boot scripts) when tokens are
    /// checked: nobody, with no role. Every policy check that needs a role fails.
    pub fn anonymous() -> AuthContext {
        AuthContext::default()
    }

    /// Is the token system-scoped?
    pub fn is_system_scope(&self) -> bool {
        self.system_scope.as_deref() == Some("all")
    }

    /// Does the token carry `role` (compared without case, as oslo.policy does)?
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }

    /// A system administrator (or noauth): may see and change everything.
    pub fn is_admin(&self) -> bool {
        self.noauth || (self.is_system_scope() && self.has_role("admin"))
    }

    /// A credential by the name policy check strings use on the left of `:`.
    pub fn credential(&self, key: &str) -> Option<&str> {
        match key {
            "user_id" => self.user_id.as_deref(),
            "user_name" | "username" => self.user_name.as_deref(),
            "user_domain_id" => self.user_domain_id.as_deref(),
            "project_id" | "tenant" | "tenant_id" => self.project_id.as_deref(),
            "project_name" => self.project_name.as_deref(),
            "project_domain_id" => self.project_domain_id.as_deref(),
            "domain_id" => self.domain_id.as_deref(),
            "system_scope" => self.system_scope.as_deref(),
            _ => None,
        }
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        if self.noauth {
            return "noauth".to_owned();
        }
        let scope = if self.is_system_scope() {
            "system".to_owned()
        } else if let Some(p) = &self.project_id {
            format!("project {p}")
        } else if let Some(d) = &self.domain_id {
            format!("domain {d}")
        } else {
            "unscoped".to_owned()
        };
        format!(
            "user {} ({scope}; roles {})",
            self.user_id.as_deref().unwrap_or("-"),
            self.roles.join(",")
        )
    }
}
