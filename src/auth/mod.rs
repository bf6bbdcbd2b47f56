//! Authentication and authorization of API callers.
//!
//! - `noauth` (`[DEFAULT] auth_strategy`): every caller is a system administrator and
//!   every policy check passes, as in Ironic.
//! - `keystone`: each request's `X-Auth-Token` (and `X-Service-Token`, when sent) is
//!   validated by Keystone ([`keystone`]); the caller becomes an [`AuthContext`] and
//!   handlers check it against the [`Policy`] before they act.
//!
//! `api::middleware::authenticate` runs this for every request except the public
//! routes ([`is_public_route`]).

pub mod context;
pub mod defaults;
pub mod keystone;
pub mod policy;

use std::sync::Arc;

pub use context::AuthContext;
pub use keystone::AuthError;
pub use policy::{Policy, Target};

use crate::config::{AuthStrategy, Config};

/// How a process authenticates its callers, and the policy they are checked against.
#[derive(Debug)]
pub struct Auth {
    keystone: Option<keystone::Keystone>,
    /// The rules in force.
    pub policy: Arc<Policy>,
    /// Keystone's public URL for `WWW-Authenticate`.
    www_authenticate_uri: Option<String>,
    noauth: Arc<AuthContext>,
    anonymous: Arc<AuthContext>,
}

impl Auth {
    /// The strategy and policy of a configuration. Fails on an unreadable or invalid
    /// policy file, or Keystone settings a client cannot be built from.
    pub fn from_config(config: &Config) -> anyhow::Result<Auth> {
        let service_project = &config.default.rbac_service_project_name;
        let policy = match &config.oslo_policy.policy_file {
            Some(path) => Policy::load(path, service_project)?,
            None => Policy::defaults(service_project),
        };
        let keystone = match config.default.auth_strategy {
            AuthStrategy::NoAuth => None,
            AuthStrategy::Keystone => Some(keystone::Keystone::new(&config.keystone_authtoken)?),
        };
        Ok(Auth {
            keystone,
            policy: Arc::new(policy),
            www_authenticate_uri: config.keystone_authtoken.public_uri().map(str::to_owned),
            noauth: Arc::new(AuthContext::noauth()),
            anonymous: Arc::new(AuthContext::anonymous()),
        })
    }

    /// `noauth` with the default policy.
    pub fn noauth() -> Auth {
        Auth {
            keystone: None,
            policy: Arc::new(Policy::defaults("service")),
            www_authenticate_uri: None,
            noauth: Arc::new(AuthContext::noauth()),
            anonymous: Arc::new(AuthContext::anonymous()),
        }
    }

    /// Are tokens checked?
    pub fn checks_tokens(&self) -> bool {
        self.keystone.is_some()
    }

    /// The caller of a request to a public route: noauth's admin, or nobody.
    pub fn public_caller(&self) -> Arc<AuthContext> {
        if self.checks_tokens() {
            self.anonymous.clone()
        } else {
            self.noauth.clone()
        }
    }

    /// The caller of a request with these headers. With keystone, a missing or
    /// unknown user token is `Unauthenticated`, and so is a service token sent
    /// alongside that Keystone does not know.
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        service_token: Option<&str>,
    ) -> Result<Arc<AuthContext>, AuthError> {
        let Some(keystone) = &self.keystone else {
            return Ok(self.noauth.clone());
        };
        let user = keystone
            .validate(token.ok_or(AuthError::Unauthenticated)?.trim())
            .await?;
        match service_token {
            None => Ok(user),
            Some(s) => {
                let service = keystone.validate(s.trim()).await?;
                let mut ctx = (*user).clone();
                ctx.service_roles = service.roles.clone();
                Ok(Arc::new(ctx))
            }
        }
    }

    /// The `WWW-Authenticate` header value of a 401.
    pub fn www_authenticate(&self) -> String {
        match &self.www_authenticate_uri {
            Some(uri) => format!("Keystone uri='{uri}'"),
            None => "Keystone".to_owned(),
        }
    }
}

/// Routes served without a token, as in Ironic: the version documents, and the
/// iPXE scripts nodes fetch (iPXE cannot authenticate).
pub fn is_public_route(path: &str) -> bool {
    matches!(path, "/" | "/v1" | "/v1/") || path.starts_with("/boot/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_routes() {
        for p in [
            "/",
            "/v1",
            "/v1/",
            "/boot/boot.ipxe",
            "/boot/52-54-00-12-34-56.ipxe",
        ] {
            assert!(is_public_route(p), "{p}");
        }
        for p in ["/v1/nodes", "/v1/drivers", "/v2", "/boot", "/v1/boot/x"] {
            assert!(!is_public_route(p), "{p}");
        }
    }

    #[tokio::test]
    async fn noauth_admits_everyone_as_admin() {
        let auth = Auth::noauth();
        assert!(!auth.checks_tokens());
        let ctx = auth.authenticate(None, None).await.unwrap();
        assert!(ctx.is_admin() && ctx.noauth);
        assert!(auth.public_caller().is_admin());
    }
}
