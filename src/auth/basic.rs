//! `auth_strategy = http_basic`: HTTP Basic credentials checked against an
//! Apache-style htpasswd file whose entries are bcrypt hashes (`htpasswd -B`), as
//! Ironic's standalone deployments (Bifrost, Metal3) use it. Every authenticated
//! user is an administrator; policy rules are not enforced, as with `noauth`.
//!
//! The file is validated at start and read again whenever it changes on disk. A
//! bcrypt check costs tens of milliseconds of CPU by design, so a successful one is
//! remembered (by a SHA-256 of user, password and hash, never the password itself)
//! until the file's entry changes or [`VERIFIED_TTL`] passes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::context::AuthContext;
use super::keystone::AuthError;

/// How long a verified user/password pair is trusted without a new bcrypt check.
const VERIFIED_TTL: Duration = Duration::from_secs(300);

/// Most verified pairs remembered.
const VERIFIED_CAPACITY: u64 = 10_000;

/// bcrypt's hash prefixes; no other digest is accepted, as in Ironic.
const BCRYPT_PREFIXES: &[&str] = &["$2y$", "$2a$", "$2b$"];

/// An htpasswd file: `user:hash` lines.
#[derive(Debug)]
pub struct Htpasswd {
    path: PathBuf,
    loaded: RwLock<Loaded>,
    verified: moka::sync::Cache<[u8; 32], ()>,
}

#[derive(Debug, Default)]
struct Loaded {
    users: HashMap<String, String>,
    stamp: Option<(SystemTime, u64)>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The entries of an htpasswd file's text. Blank lines, comments and lines without
/// `:` are ignored; an entry whose hash is not bcrypt is an error naming its line.
pub fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let mut users = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            continue;
        };
        if !BCRYPT_PREFIXES.iter().any(|p| hash.starts_with(p)) {
            return Err(format!(
                "line {}: only bcrypt hashes ($2y$, $2a$, $2b$; htpasswd -B) are supported, \
                 not the one of user {user:?}",
                n + 1
            ));
        }
        // The first entry of a user wins, as a top-down scan finds it.
        users
            .entry(user.to_owned())
            .or_insert_with(|| hash.to_owned());
    }
    Ok(users)
}

fn read(path: &Path) -> anyhow::Result<Loaded> {
    let stamp = stamp(path);
    let users = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| parse(&text))
        .map_err(|e| {
            anyhow::anyhow!(
                "[DEFAULT] http_basic_auth_user_file {}: {e}",
                path.display()
            )
        })?;
    Ok(Loaded { users, stamp })
}

/// The user and password of an `Authorization` header, with Ironic's 400s for
/// malformed ones and 401 for a missing one.
pub fn credentials(header: Option<&str>) -> Result<(String, Vec<u8>), AuthError> {
    let header = header.ok_or_else(|| AuthError::Rejected("Authorization required".into()))?;
    let mut parts = header.split_whitespace();
    let (Some(kind), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::BadRequest(
            "Could not parse Authorization header".into(),
        ));
    };
    if !kind.eq_ignore_ascii_case("basic") {
        return Err(AuthError::BadRequest(format!(
            "Unsupported authorization type \"{kind}\""
        )));
    }
    let undecodable = || AuthError::BadRequest("Could not decode authorization token".into());
    let pair = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| undecodable())?;
    let colon = pair
        .iter()
        .position(|b| *b == b':')
        .ok_or_else(undecodable)?;
    let user = std::str::from_utf8(&pair[..colon]).map_err(|_| undecodable())?;
    Ok((user.to_owned(), pair[colon + 1..].to_vec()))
}

fn fingerprint(user: &str, password: &[u8], hash: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(user.as_bytes());
    h.update([0]);
    h.update(password);
    h.update([0]);
    h.update(hash.as_bytes());
    h.finalize().into()
}

impl Htpasswd {
    /// Reads and checks the file; an unreadable file or a non-bcrypt entry stops m2.
    pub fn open(path: &Path) -> anyhow::Result<Htpasswd> {
        let loaded = read(path)?;
        if loaded.users.is_empty() {
            tracing::warn!(file = %path.display(), "the htpasswd file names no user: every request will be refused");
        }
        Ok(Htpasswd {
            path: path.to_owned(),
            loaded: RwLock::new(loaded),
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build(),
        })
    }

    /// The hash of `user`, from the file as it is now. A file that became unreadable
    /// or invalid keeps its last good entries (and says so).
    fn hash_of(&self, user: &str) -> Option<String> {
        let now = stamp(&self.path);
        let stale = self.loaded.read().map(|l| l.stamp != now).unwrap_or(true);
        if stale {
            match read(&self.path) {
                Ok(fresh) => {
                    tracing::info!(file = %self.path.display(), users = fresh.users.len(), "htpasswd file read again");
                    let mut l = self.loaded.write().unwrap_or_else(|e| e.into_inner());
                    *l = fresh;
                }
                Err(e) => {
                    tracing::error!(error = %e, "htpasswd file not read again; its last good entries stay in force");
                    let mut l = self.loaded.write().unwrap_or_else(|e| e.into_inner());
                    l.stamp = now;
                }
            }
        }
        let l = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        l.users.get(user).cloned()
    }

    /// The caller of a request with this `Authorization` header.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Arc<AuthContext>, AuthError> {
        let (user, password) = credentials(header)?;
        let wrong = || AuthError::Rejected("Incorrect username or password".into());
        let Some(hash) = self.hash_of(&user) else {
            tracing::info!(user, "unknown user");
            return Err(wrong());
        };
        let key = fingerprint(&user, &password, &hash);
        if !self.verified.contains_key(&key) {
            // bcrypt is slow on purpose: off the request threads.
            let h = hash.clone();
            let ok = tokio::task::spawn_blocking(move || bcrypt::verify(&password, &h))
                .await
                .map_err(|e| AuthError::Unavailable(format!("password check failed: {e}")))?
                .unwrap_or(false);
            if !ok {
                tracing::info!(user, "wrong password");
                return Err(wrong());
            }
            self.verified.insert(key, ());
        }
        Ok(Arc::new(AuthContext::basic(&user)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> String {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {token}")
    }

    #[test]
    fn parses_bcrypt_entries_only() {
        let users = parse("# ops\n\nalice:$2y$05$abc\nnocolon\nalice:$2b$05$later\n").unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users["alice"], "$2y$05$abc");
        let e = parse("bob:{SHA}xyz\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("bob"), "{e}");
        let e = parse("carol:$apr1$salt$hash\n").unwrap_err();
        assert!(e.contains("bcrypt"), "{e}");
    }

    #[test]
    fn header_forms() {
        assert_eq!(
            credentials(Some(&header("alice", "pw:with:colons"))).unwrap(),
            ("alice".to_owned(), b"pw:with:colons".to_vec())
        );
        let cases: &[(Option<&str>, AuthError)] = &[
            (None, AuthError::Rejected("Authorization required".into())),
            (
                Some("Basic"),
                AuthError::BadRequest("Could not parse Authorization header".into()),
            ),
            (
                Some("Bearer abc"),
                AuthError::BadRequest("Unsupported authorization type \"Bearer\"".into()),
            ),
            (
                Some("Basic !!!"),
                AuthError::BadRequest("Could not decode authorization token".into()),
            ),
            (
                Some("Basic bm9jb2xvbg=="), // "nocolon"
                AuthError::BadRequest("Could not decode authorization token".into()),
            ),
        ];
        for (h, want) in cases {
            assert_eq!(&credentials(*h).unwrap_err(), want, "{h:?}");
        }
    }

    #[tokio::test]
    async fn checks_passwords_and_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        std::fs::write(&path, format!("alice:{hash}\n")).unwrap();
        let file = Htpasswd::open(&path).unwrap();

        let ctx = file
            .authenticate(Some(&header("alice", "s3cret")))
            .await
            .unwrap();
        assert_eq!(ctx.user_name.as_deref(), Some("alice"));
        assert!(ctx.is_admin());
        // Again, from the cache of verified pairs.
        file.authenticate(Some(&header("alice", "s3cret")))
            .await
            .unwrap();
        for (u, p) in [("alice", "wrong"), ("bob", "s3cret"), ("alice", "")] {
            assert_eq!(
                file.authenticate(Some(&header(u, p))).await.unwrap_err(),
                AuthError::Rejected("Incorrect username or password".into()),
                "{u}:{p}"
            );
        }

        // A new password in the file replaces the old one, without a restart; the
        // remembered check of the old one no longer counts.
        std::thread::sleep(Duration::from_millis(20));
        let hash = bcrypt::hash("n3w-pass", 4).unwrap();
        std::fs::write(&path, format!("alice:{hash}\nbob:{hash}\n")).unwrap();
        assert!(
            file.authenticate(Some(&header("alice", "s3cret")))
                .await
                .is_err()
        );
        file.authenticate(Some(&header("bob", "n3w-pass")))
            .await
            .unwrap();
    }

    #[test]
    fn a_bad_file_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        std::fs::write(&path, "alice:plain\n").unwrap();
        let e = Htpasswd::open(&path).unwrap_err().to_string();
        assert!(
            e.contains("http_basic_auth_user_file") && e.contains("alice"),
            "{e}"
        );
        let e = Htpasswd::open(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
