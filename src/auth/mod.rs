//! Authentication and authorization of API callers.
//!
//! - `noauth` (`[DEFAULT] auth_strategy`): every caller is a system administrator and
//!   every policy check passes, as in Ironic.
//! - `keystone`: each request's `X-Auth-Token` (and `X-Service-Token`, when sent) is
//!   validated by Keystone ([`keystone`]); the caller becomes an [`AuthContext`] and
//!   handlers check it against the [`Policy`] before they act.
//! - `http_basic`: the `Authorization: Basic` credentials are checked against an
//!   htpasswd file ([`basic`]); authenticated users are administrators, as in Ironic.
//!
//! `api::middleware::authenticate` runs this for every request except the public
//! routes ([`is_public_route`]).

pub mod basic;
pub mod context;
pub mod defaults;
pub mod keystone;
pub mod policy;

use std::sync::Arc;

pub use context::AuthContext;
pub use keystone::AuthError;
pub use policy::{Policy, Target};

use crate::config::{AuthStrategy, Config};

/// How callers prove who they are.
#[derive(Debug)]
enum Strategy {
    NoAuth,
    Keystone(keystone::Keystone),
    HttpBasic(basic::Htpasswd),
}

/// What a request presents to authenticate.
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    /// `X-Auth-Token`.
    pub token: Option<&'a str>,
    /// `X-Service-Token`.
    pub service_token: Option<&'a str>,
    /// `Authorization`.
    pub authorization: Option<&'a str>,
}

/// How a process authenticates its callers, and the policy they are checked against.
#[derive(Debug)]
pub struct Auth {
    strategy: Strategy,
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
        let strategy = match config.default.auth_strategy {
            AuthStrategy::NoAuth => Strategy::NoAuth,
            AuthStrategy::Keystone => {
                Strategy::Keystone(keystone::Keystone::new(&config.keystone_authtoken)?)
            }
            AuthStrategy::HttpBasic => Strategy::HttpBasic(basic::Htpasswd::open(
                &config.default.http_basic_auth_user_file,
            )?),
        };
        Ok(Auth {
            strategy,
            policy: Arc::new(policy),
            www_authenticate_uri: config.keystone_authtoken.public_uri().map(str::to_owned),
            noauth: Arc::new(AuthContext::noauth()),
            anonymous: Arc::new(AuthContext::anonymous()),
        })
    }

    /// `noauth` with the default policy.
    pub fn noauth() -> Auth {
        Auth {
            strategy: Strategy::NoAuth,
            policy: Arc::new(Policy::defaults("service")),
            www_authenticate_uri: None,
            noauth: Arc::new(AuthContext::noauth()),
            anonymous: Arc::new(AuthContext::anonymous()),
        }
    }

    /// Are callers authenticated (keystone or http_basic)?
    pub fn checks_tokens(&self) -> bool {
        !matches!(self.strategy, Strategy::NoAuth)
    }

    /// The caller of a request to a public route: noauth's admin, or nobody.
    pub fn public_caller(&self) -> Arc<AuthContext> {
        if self.checks_tokens() {
            self.anonymous.clone()
        } else {
            self.noauth.clone()
        }
    }

    /// The caller of a request with these credentials. With keystone, a missing or
    /// unknown user token is `Unauthenticated`, and so is a service token sent
    /// alongside that Keystone does not know.
    pub async fn authenticate(
        &self,
        creds: Credentials<'_>,
    ) -> Result<Arc<AuthContext>, AuthError> {
        match &self.strategy {
            Strategy::NoAuth => Ok(self.noauth.clone()),
            Strategy::HttpBasic(file) => file.authenticate(creds.authorization).await,
            Strategy::Keystone(keystone) => {
                let user = keystone
                    .validate(creds.token.ok_or(AuthError::Unauthenticated)?.trim())
                    .await?;
                match creds.service_token {
                    None => Ok(user),
                    Some(s) => {
                        let service = keystone.validate(s.trim()).await?;
                        let mut ctx = (*user).clone();
                        ctx.service_roles = service.roles.clone();
                        Ok(Arc::new(ctx))
                    }
                }
            }
        }
    }

    /// The `WWW-Authenticate` header value of a 401.
    pub fn www_authenticate(&self) -> String {
        match (&self.strategy, &self.www_authenticate_uri) {
            (Strategy::HttpBasic(_), _) => "Basic realm=\"Baremetal API\"".to_owned(),
            (_, Some(uri)) => format!("Keystone uri='{uri}'"),
            (_, None) => "Keystone".to_owned(),
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
        let ctx = auth.authenticate(Credentials::default()).await.unwrap();
        assert!(ctx.is_admin() && ctx.noauth);
        assert!(auth.public_caller().is_admin());
    }
}
