//! Token validation against Keystone's Identity API v3, the way keystonemiddleware's
//! auth_token does it: m2 authenticates as its service user (`[keystone_authtoken]`),
//! then asks `GET /v3/auth/tokens` about each caller's `X-Auth-Token`.
//!
//! Answers are cached in memory, keyed by a SHA-256 of the token (a dump of the cache
//! holds no usable token): a valid token for `token_cache_time` seconds, never past
//! its expiry; a refused one for `invalid_token_cache_time` seconds. Concurrent
//! requests with the same new token wait for one validation. m2's own token is kept
//! and renewed before it expires. An unreachable Keystone is never cached: the
//! request gets 503 and the next one asks again.
//!
//! This module holds m2's only HTTP client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::context::AuthContext;
use crate::config::KeystoneAuthtokenSection;

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token, or one Keystone does not know (expired, revoked, malformed): 401.
    #[error("The request you have made requires authentication.")]
    Unauthenticated,
    /// Credentials refused, with the reason given to the caller: 401.
    #[error("{0}")]
    Rejected(String),
    /// Credentials that cannot be read: 400.
    #[error("{0}")]
    BadRequest(String),
    /// Keystone could not be asked, or refused m2's own credentials: 503.
    #[error("The Identity service is unavailable: {0}")]
    Unavailable(String),
}

/// Most tokens kept in the cache; beyond it the least used go first.
const CACHE_CAPACITY: u64 = 20_000;

/// m2's own token is renewed this long before it expires (or at three quarters of
/// its life, when that comes first).
const RENEW_MARGIN: Duration = Duration::from_secs(120);

/// What Keystone said of a token, as cached.
#[derive(Debug, Clone)]
enum Verdict {
    Valid(Arc<AuthContext>, Instant),
    Invalid(Instant),
}

impl Verdict {
    fn until(&self) -> Instant {
        match self {
            Verdict::Valid(_, t) | Verdict::Invalid(t) => *t,
        }
    }
}

/// Each cached answer lives until its own deadline.
struct UntilDeadline;

impl moka::Expiry<[u8; 32], Verdict> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Verdict,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.until().saturating_duration_since(created_at))
    }
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A client of Keystone for one m2 process.
pub struct Keystone {
    http: reqwest::Client,
    /// `<auth_url>/v3`, without a trailing slash.
    v3: String,
    /// The password authentication request of the service user.
    auth_body: Value,
    retries: u32,
    cache_time: Duration,
    invalid_cache_time: Duration,
    service_token: tokio::sync::Mutex<Option<(String, Instant)>>,
    cache: moka::future::Cache<[u8; 32], Verdict>,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystone").field("v3", &self.v3).finish()
    }
}

fn domain(id: &Option<String>, name: &Option<String>) -> Value {
    match (id, name) {
        (Some(id), _) => json!({"id": id}),
        (None, Some(name)) => json!({"name": name}),
        (None, None) => json!({"id": "default"}),
    }
}

/// `http://host:5000`, `http://host:5000/`, `http://host/identity/v3/` all become the
/// v3 root.
fn v3_root(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        base.to_owned()
    } else {
        format!("{base}/v3")
    }
}

impl Keystone {
    /// A client for the `[keystone_authtoken]` settings (checked by the configuration
    /// to name a service user when `auth_strategy = keystone`).
    pub fn new(cfg: &KeystoneAuthtokenSection) -> anyhow::Result<Keystone> {
        let missing = |key: &str| anyhow::anyhow!("[keystone_authtoken] {key} is not set");
        let auth_url = cfg.auth_url.as_deref().ok_or_else(|| missing("auth_url"))?;
        let auth_body = json!({
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {
                        "name": cfg.username.as_deref().ok_or_else(|| missing("username"))?,
                        "password": cfg.password.as_deref().ok_or_else(|| missing("password"))?,
                        "domain": domain(&cfg.user_domain_id, &cfg.user_domain_name),
                    }}
                },
                "scope": {"project": {
                    "name": cfg.project_name.as_deref().ok_or_else(|| missing("project_name"))?,
                    "domain": domain(&cfg.project_domain_id, &cfg.project_domain_name),
                }}
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(cfg.http_connect_timeout))
            .timeout(Duration::from_secs(
                cfg.http_connect_timeout.saturating_mul(3),
            ))
            .user_agent(concat!("m2/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.cafile {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("[keystone_authtoken] cafile {}: {e}", path.display())
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                anyhow::anyhow!("[keystone_authtoken] cafile {}: {e}", path.display())
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if cfg.insecure {
            tracing::warn!("[keystone_authtoken] insecure: Keystone's certificate is not verified");
            builder = builder.danger_accept_invalid_certs(true);
        }
        Ok(Keystone {
            http: builder.build()?,
            v3: v3_root(auth_url),
            auth_body,
            retries: cfg.http_request_max_retries,
            cache_time: Duration::from_secs(cfg.token_cache_time),
            invalid_cache_time: Duration::from_secs(cfg.invalid_token_cache_time),
            service_token: tokio::sync::Mutex::new(None),
            cache: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(UntilDeadline)
                .build(),
        })
    }

    /// Sends a request, retrying connection failures; `Unavailable` when Keystone
    /// cannot be reached.
    async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, AuthError> {
        let mut attempt = 0;
        loop {
            match make().send().await {
                Ok(resp) => return Ok(resp),
                Err(e) if attempt < self.retries && (e.is_connect() || e.is_timeout()) => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "Keystone did not answer; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "Keystone is unreachable");
                    return Err(AuthError::Unavailable(format!(
                        "could not reach Keystone at {}",
                        self.v3
                    )));
                }
            }
        }
    }

    /// m2's own token, from the cache unless `renew` or about to expire.
    async fn service_token(&self, renew: bool) -> Result<String, AuthError> {
        let mut slot = self.service_token.lock().await;
        if !renew
            && let Some((token, renew_at)) = slot.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let url = format!("{}/auth/tokens?nocatalog", self.v3);
        let resp = self
            .send(|| self.http.post(&url).json(&self.auth_body))
            .await?;
        let status = resp.status();
        if !status.is_success() {
            tracing::error!(%status, "Keystone refused m2's service credentials ([keystone_authtoken])");
            return Err(AuthError::Unavailable(format!(
                "Keystone refused m2's service credentials ({status})"
            )));
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| AuthError::Unavailable("Keystone issued no token".into()))?;
        let body: Value = resp
            .json()
            .await
            .map_err(|e| AuthError::Unavailable(format!("unreadable answer from Keystone: {e}")))?;
        let life = expiry_instant(expires_at(&body)).saturating_duration_since(Instant::now());
        let renew_at = Instant::now() + life.saturating_sub(RENEW_MARGIN.min(life / 4));
        *slot = Some((token.clone(), renew_at));
        Ok(token)
    }

    /// The caller a token belongs to.
    pub async fn validate(&self, token: &str) -> Result<Arc<AuthContext>, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Unauthenticated);
        }
        let key = token_key(token);
        let verdict = if self.cache_time.is_zero() && self.invalid_cache_time.is_zero() {
            self.ask(token).await?
        } else {
            // One validation for all concurrent requests with this token; an error
            // (Keystone unreachable) is not cached.
            let v = self
                .cache
                .try_get_with(key, self.ask(token))
                .await
                .map_err(|e: Arc<AuthError>| (*e).clone())?;
            if Instant::now() >= v.until() {
                // Cached with a deadline already past (a cache time of 0).
                self.cache.invalidate(&key).await;
            }
            v
        };
        match verdict {
            Verdict::Valid(ctx, _) => Ok(ctx),
            Verdict::Invalid(_) => Err(AuthError::Unauthenticated),
        }
    }

    /// Keystone's verdict on a token, with the time it may be cached until.
    async fn ask(&self, token: &str) -> Result<Verdict, AuthError> {
        let url = format!("{}/auth/tokens?nocatalog", self.v3);
        let mut renew = false;
        let started = Instant::now();
        loop {
            let service = self.service_token(renew).await?;
            let resp = self
                .send(|| {
                    self.http
                        .get(&url)
                        .header("X-Auth-Token", &service)
                        .header("X-Subject-Token", token)
                })
                .await?;
            let status = resp.status().as_u16();
            match status {
                200 => {
                    let body: Value = resp.json().await.map_err(|e| {
                        AuthError::Unavailable(format!("unreadable answer from Keystone: {e}"))
                    })?;
                    let ctx = context_of(&body).ok_or_else(|| {
                        AuthError::Unavailable(
                            "Keystone described the token in a form m2 does not read".into(),
                        )
                    })?;
                    let until =
                        (Instant::now() + self.cache_time).min(expiry_instant(ctx.expires_at));
                    tracing::debug!(
                        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                        "token validated by Keystone"
                    );
                    return Ok(Verdict::Valid(Arc::new(ctx), until));
                }
                // Keystone's answer for a token it does not know or that expired.
                400 | 404 => {
                    tracing::info!(status, "Keystone refused a token");
                    return Ok(Verdict::Invalid(Instant::now() + self.invalid_cache_time));
                }
                // m2's own token expired or was revoked: once more with a new one.
                401 if !renew => renew = true,
                _ => {
                    tracing::error!(status, "Keystone did not validate a token");
                    return Err(AuthError::Unavailable(format!(
                        "Keystone answered {status} when asked to validate a token"
                    )));
                }
            }
        }
    }
}

fn expires_at(body: &Value) -> Option<DateTime<Utc>> {
    body["token"]["expires_at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// When, on this process' clock, a token expiring at `at` stops being valid (in an
/// hour when Keystone named no expiry).
fn expiry_instant(at: Option<DateTime<Utc>>) -> Instant {
    let left = match at {
        Some(at) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO),
        None => Duration::from_secs(3600),
    };
    Instant::now() + left
}

fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The caller described by a token validation answer (`{"token": {...}}`).
pub fn context_of(body: &Value) -> Option<AuthContext> {
    let t = body.get("token")?;
    let user = t.get("user")?;
    let project = &t["project"];
    let system_scope = t["system"]["all"]
        .as_bool()
        .filter(|all| *all)
        .map(|_| "all".to_owned());
    Some(AuthContext {
        noauth: false,
        user_id: string(&user["id"]),
        user_name: string(&user["name"]),
        user_domain_id: string(&user["domain"]["id"]),
        project_id: string(&project["id"]),
        project_name: string(&project["name"]),
        project_domain_id: string(&project["domain"]["id"]),
        domain_id: string(&t["domain"]["id"]),
        system_scope,
        roles: t["roles"]
            .as_array()
            .map(|roles| roles.iter().filter_map(|r| string(&r["name"])).collect())
            .unwrap_or_default(),
        service_roles: Vec::new(),
        expires_at: expires_at(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_digests() {
        let k = token_key("gAAAAAB-some-token");
        assert_eq!(k, token_key("gAAAAAB-some-token"));
        assert_ne!(k, token_key("gAAAAAB-some-tokem"));
        assert!(!k.windows(4).any(|w| w == b"gAAA"));
    }

    #[test]
    fn v3_root_forms() {
        assert_eq!(v3_root("http://k:5000"), "http://k:5000/v3");
        assert_eq!(v3_root("http://k:5000/"), "http://k:5000/v3");
        assert_eq!(v3_root("http://k/identity/v3/"), "http://k/identity/v3");
    }

    #[test]
    fn reads_project_and_system_tokens() {
        let body = json!({"token": {
            "user": {"id": "u1", "name": "alice", "domain": {"id": "default"}},
            "project": {"id": "p1", "name": "demo", "domain": {"id": "default"}},
            "roles": [{"id": "r", "name": "member"}, {"id": "s", "name": "reader"}],
            "expires_at": "2030-01-01T00:00:00.000000Z",
        }});
        let ctx = context_of(&body).unwrap();
        assert_eq!(ctx.project_id.as_deref(), Some("p1"));
        assert_eq!(ctx.roles, ["member", "reader"]);
        assert!(!ctx.is_system_scope());
        assert!(!ctx.is_admin());
        assert_eq!(
            ctx.expires_at.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00+00:00"
        );

        let body = json!({"token": {
            "user": {"id": "u2", "name": "admin", "domain": {"id": "default"}},
            "system": {"all": true},
            "roles": [{"name": "admin"}],
        }});
        let ctx = context_of(&body).unwrap();
        assert!(ctx.is_system_scope() && ctx.is_admin());
        assert_eq!(ctx.project_id, None);
        assert!(context_of(&json!({"error": {}})).is_none());
    }

    #[test]
    fn domains_by_id_name_or_default() {
        assert_eq!(
            domain(&Some("d".into()), &Some("n".into())),
            json!({"id": "d"})
        );
        assert_eq!(domain(&None, &Some("n".into())), json!({"name": "n"}));
        assert_eq!(domain(&None, &None), json!({"id": "default"}));
    }
}
