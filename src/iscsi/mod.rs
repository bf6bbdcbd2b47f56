//! iSCSI export of the nodes' disks through tgtd, driven by its management
//! tool `tgtadm`.
//!
//! A node gets one target named [`node_iqn`]: LUN 1 is its disk (an RBD
//! image tgtd opens itself through librbd), further LUNs carry small extras
//! such as a config drive. Only the node's initiator name is allowed in (an
//! initiator-name ACL, never an address ACL: tgtd admits a login when the
//! address OR the name matches, and every guest may come from one address),
//! and it must log in with the node's own CHAP credentials.
//!
//! tgtd keeps its targets in memory only: after it restarts, [`TargetManager::list`]
//! is empty and the targets must be made again from m2's records.

mod show;
mod tgtadm;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::Mutex;
use uuid::Uuid;

use self::tgtadm::{Cmd, Tgtadm};
use crate::config::{CephSection, IscsiSection};
use crate::error::{Error, Result};
use crate::storage::ImageRef;

pub use self::show::is_initiator_name;

/// Longest iSCSI name (RFC 3720, 3.2.6.1).
pub const MAX_NAME_LEN: usize = 223;

/// The target name of a node: `<prefix>:node-<uuid>`. The one place that
/// spells it.
pub fn node_iqn(prefix: &str, node: Uuid) -> String {
    format!("{prefix}:node-{}", node.hyphenated())
}

/// The node a target name of [`node_iqn`]'s form belongs to.
pub fn node_of_iqn(prefix: &str, iqn: &str) -> Option<Uuid> {
    iqn.strip_prefix(prefix)?
        .strip_prefix(":node-")?
        .parse()
        .ok()
}

/// Checks a target name: `iqn.` form in lowercase, at most
/// [`MAX_NAME_LEN`] bytes of `a-z 0-9 . - :`.
pub fn validate_target_name(iqn: &str) -> Result<()> {
    let ok = iqn.starts_with("iqn.")
        && iqn.len() <= MAX_NAME_LEN
        && iqn
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid iSCSI target name {iqn:?}: expected iqn.YYYY-MM.domain[:name] in \
             lowercase letters, digits, '.', '-' and ':'"
        )))
    }
}

/// Checks an initiator name: `iqn.`, `eui.` or `naa.` form, at most
/// [`MAX_NAME_LEN`] bytes of printable ASCII without spaces or ','.
pub fn validate_initiator_name(name: &str) -> Result<()> {
    let ok = is_initiator_name(name)
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b',');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid iSCSI initiator name {name:?}: expected an iqn., eui. or naa. name \
             without spaces or ','"
        )))
    }
}

/// A secret that never shows in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the few places that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

/// Shortest CHAP secret accepted (96 bits, RFC 3720 8.2.1).
pub const MIN_SECRET_LEN: usize = 12;
/// Longest CHAP user name or secret accepted.
pub const MAX_CHAP_LEN: usize = 255;

/// CHAP credentials: a tgtd account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapCredentials {
    /// User name: letters, digits, `.`, `_`, `-`, `:`.
    pub user: String,
    /// Secret: [`MIN_SECRET_LEN`] to [`MAX_CHAP_LEN`] letters, digits, `.`,
    /// `_`, `-`, `~`, `+` (characters safe in tgtadm's arguments, iPXE
    /// settings and iSCSI URLs).
    pub secret: Secret,
}

impl ChapCredentials {
    /// Checked credentials.
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> Result<Self> {
        let creds = ChapCredentials {
            user: user.into(),
            secret: Secret::new(secret),
        };
        creds.validate()?;
        Ok(creds)
    }

    /// Credentials for `user` with a random 24-character secret.
    pub fn generate(user: impl Into<String>) -> Result<Self> {
        use rand::Rng;
        let secret: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        ChapCredentials::new(user, secret)
    }

    /// Checks the user name and the secret's form (never printing it).
    pub fn validate(&self) -> Result<()> {
        let user_ok = !self.user.is_empty()
            && self.user.len() <= MAX_CHAP_LEN
            && self
                .user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        if !user_ok {
            return Err(Error::invalid(format!(
                "Invalid CHAP user name {:?}: expected 1 to {MAX_CHAP_LEN} letters, digits, \
                 '.', '_', '-' or ':'",
                self.user
            )));
        }
        let secret = self.secret.expose();
        let secret_ok = (MIN_SECRET_LEN..=MAX_CHAP_LEN).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-~+".contains(&b));
        if !secret_ok {
            return Err(Error::invalid(format!(
                "Invalid CHAP secret for {}: expected {MIN_SECRET_LEN} to {MAX_CHAP_LEN} \
                 letters, digits, '.', '_', '-', '~' or '+'",
                self.user
            )));
        }
        Ok(())
    }
}

/// What a LUN reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// An RBD image, opened by tgtd through librbd (`--bstype rbd`).
    Rbd(ImageRef),
    /// A file on the target host (`--bstype rdwr`), e.g. a config drive.
    File(PathBuf),
}

/// A LUN to add to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LunSpec {
    /// LUN number, 1 or more (LUN 0 is tgtd's controller). iPXE boots LUN 1.
    pub lun: u32,
    /// Its data.
    pub backing: Backing,
    /// Whether initiators may only read it.
    pub read_only: bool,
}

/// Everything a node's target consists of, for [`TargetManager::export`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// Target name, normally [`TargetManager::node_iqn`].
    pub iqn: String,
    /// The only initiator name allowed to log in.
    pub initiator: String,
    /// The LUNs, LUN 1 first.
    pub luns: Vec<LunSpec>,
    /// Credentials the initiator must log in with.
    pub chap: ChapCredentials,
    /// Credentials the target proves itself with (mutual CHAP), if any.
    pub mutual_chap: Option<ChapCredentials>,
}

/// A target as tgtd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// tgtd's target id.
    pub tid: u32,
    /// Target name.
    pub iqn: String,
    /// LUNs, LUN 0 (the controller) included.
    pub luns: Vec<Lun>,
    /// Initiator names allowed to log in.
    pub initiator_names: Vec<String>,
    /// Initiator addresses allowed to log in (m2 binds none).
    pub initiator_addresses: Vec<String>,
    /// CHAP accounts initiators may log in with.
    pub accounts: Vec<String>,
    /// The account the target proves itself with (mutual CHAP).
    pub outgoing_account: Option<String>,
    /// Logged-in sessions.
    pub sessions: Vec<Session>,
}

impl Target {
    /// The LUN with this number.
    pub fn lun(&self, lun: u32) -> Option<&Lun> {
        self.luns.iter().find(|l| l.lun == lun)
    }
}

/// A LUN as tgtd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lun {
    /// LUN number.
    pub lun: u32,
    /// SCSI type as tgtd names it: `controller`, `disk`, ...
    pub kind: String,
    /// Size in (decimal) megabytes, as tgtd rounds it.
    pub size_mb: u64,
    /// Whether the LUN is online.
    pub online: bool,
    /// Whether initiators may only read it.
    pub read_only: bool,
    /// Backing store type: `rbd`, `rdwr`, `null`, ...
    pub backing_type: String,
    /// Backing store path (`pool/image` for rbd); None for the controller.
    pub backing_path: Option<String>,
}

/// A logged-in initiator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// tgtd's session (I_T nexus) id.
    pub id: u64,
    /// The initiator's name.
    pub initiator: String,
    /// Ids of its connections.
    pub connections: Vec<u32>,
    /// Addresses of its connections.
    pub addresses: Vec<String>,
}

/// I/O counters of one LUN in one session (`tgtadm --op stat`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LunStats {
    /// LUN number.
    pub lun: u32,
    /// Session id.
    pub session: u64,
    /// Bytes read and completed.
    pub read_bytes: u64,
    /// Bytes written and completed.
    pub written_bytes: u64,
    /// Failed commands.
    pub errors: u64,
}

/// How long [`TargetManager::delete_target`] waits for a LUN's commands
/// in flight to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Manages tgtd's targets through tgtadm.
pub struct TargetManager {
    tgtadm: Tgtadm,
    iqn_prefix: String,
    portal: SocketAddr,
    guest_portal: SocketAddr,
    /// `conf=<ceph.conf>;id=<user>` for RBD LUNs.
    rbd_bsopts: String,
    /// Serialises target id allocation.
    create_lock: Mutex<()>,
}

impl TargetManager {
    /// A manager for the tgtd of `[iscsi]`, whose RBD LUNs use the cluster
    /// of `[ceph]`.
    pub fn new(iscsi: &IscsiSection, ceph: &CephSection) -> Self {
        let conf = iscsi.ceph_conf.as_ref().unwrap_or(&ceph.conffile);
        let user = iscsi.ceph_user.as_ref().unwrap_or(&ceph.client_id);
        TargetManager {
            tgtadm: Tgtadm {
                program: iscsi.tgtadm.clone(),
                control_port: iscsi.tgt_control_port,
                timeout: Duration::from_secs(iscsi.tgtadm_timeout),
            },
            iqn_prefix: iscsi.iqn_prefix.clone(),
            portal: iscsi.portal,
            guest_portal: iscsi.guest_portal(),
            rbd_bsopts: format!("conf={};id={user}", conf.display()),
            create_lock: Mutex::new(()),
        }
    }

    /// The target name of a node.
    pub fn node_iqn(&self, node: Uuid) -> String {
        node_iqn(&self.iqn_prefix, node)
    }

    /// The node a target of this m2 belongs to, from its name.
    pub fn node_of(&self, target: &Target) -> Option<Uuid> {
        node_of_iqn(&self.iqn_prefix, &target.iqn)
    }

    /// The address tgtd listens on.
    pub fn portal(&self) -> SocketAddr {
        self.portal
    }

    /// The address nodes reach the target at.
    pub fn guest_portal(&self) -> SocketAddr {
        self.guest_portal
    }

    /// Every target tgtd has, in target id order.
    pub async fn list(&self) -> Result<Vec<Target>> {
        let out = self.tgtadm.run(&Cmd::new("target", "show")).await?;
        show::parse_targets(&out)
            .map_err(|e| Error::Internal(format!("Cannot read tgtadm's target list: {e}")))
    }

    /// The target with this name, if tgtd has it.
    pub async fn find(&self, iqn: &str) -> Result<Option<Target>> {
        Ok(self.list().await?.into_iter().find(|t| t.iqn == iqn))
    }

    /// Every CHAP account tgtd has, bound or not.
    pub async fn accounts(&self) -> Result<Vec<String>> {
        let out = self.tgtadm.run(&Cmd::new("account", "show")).await?;
        Ok(show::parse_accounts(&out))
    }

    /// I/O counters of a target's LUNs, per logged-in session.
    pub async fn stats(&self, tid: u32) -> Result<Vec<LunStats>> {
        let out = self
            .tgtadm
            .run(&Cmd::new("target", "stat").opt("--tid", tid.to_string()))
            .await?;
        show::parse_stats(&out)
            .map_err(|e| Error::Internal(format!("Cannot read tgtadm's statistics: {e}")))
    }

    /// Creates an empty target (LUN 0 only, nobody allowed in) and returns
    /// its id: one more than the highest in use.
    pub async fn create_target(&self, iqn: &str) -> Result<u32> {
        validate_target_name(iqn)?;
        let _guard = self.create_lock.lock().await;
        // Another tool may take an id between list and create: retry.
        for _ in 0..5 {
            let targets = self.list().await?;
            if let Some(t) = targets.iter().find(|t| t.iqn == iqn) {
                return Err(Error::Conflict(format!(
                    "iSCSI target {iqn} already exists (tid {}).",
                    t.tid
                )));
            }
            let tid = targets.iter().map(|t| t.tid).max().unwrap_or(0) + 1;
            let cmd = Cmd::new("target", "new")
                .opt("--tid", tid.to_string())
                .opt("--targetname", iqn);
            match self.tgtadm.run(&cmd).await {
                Ok(_) => {
                    tracing::info!(tid, %iqn, "created iSCSI target");
                    return Ok(tid);
                }
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "Could not find a free target id for {iqn}; targets are being created concurrently."
        )))
    }

    /// Adds a LUN to a target.
    pub async fn add_lun(&self, tid: u32, spec: &LunSpec) -> Result<()> {
        if spec.lun == 0 {
            return Err(Error::invalid(
                "LUN 0 is tgtd's controller; use LUN 1 or more.",
            ));
        }
        let cmd = Cmd::new("logicalunit", "new")
            .opt("--tid", tid.to_string())
            .opt("--lun", spec.lun.to_string());
        let cmd = match &spec.backing {
            Backing::Rbd(image) => {
                image.validate()?;
                cmd.opt("--bstype", "rbd")
                    .opt("--backing-store", image.to_string())
                    .opt("--bsopts", &self.rbd_bsopts)
            }
            Backing::File(path) => {
                let shown = path.to_string_lossy();
                if !path.is_absolute() || shown.contains(',') || shown.contains(char::is_control) {
                    return Err(Error::invalid(format!(
                        "LUN backing file {shown:?} must be an absolute path without ','."
                    )));
                }
                cmd.opt("--bstype", "rdwr").opt("--backing-store", shown)
            }
        };
        self.tgtadm.run(&cmd).await.map_err(|e| match e {
            // tgtd says only "unknown error" when it cannot open the backing
            // store; its log has the reason.
            Error::Internal(m) => Error::Internal(format!(
                "{m} Is the backing store there and readable by tgtd? See tgtd's log."
            )),
            other => other,
        })?;
        if spec.read_only {
            let ro = Cmd::new("logicalunit", "update")
                .opt("--tid", tid.to_string())
                .opt("--lun", spec.lun.to_string())
                .opt("--params", "readonly=1");
            self.tgtadm.run(&ro).await?;
        }
        tracing::info!(tid, lun = spec.lun, backing = ?spec.backing, read_only = spec.read_only, "added LUN");
        Ok(())
    }

    /// Adds LUN `lun` on an RBD image.
    pub async fn add_rbd_lun(&self, tid: u32, lun: u32, image: &ImageRef) -> Result<()> {
        self.add_lun(
            tid,
            &LunSpec {
                lun,
                backing: Backing::Rbd(image.clone()),
                read_only: false,
            },
        )
        .await
    }

    /// Creates a CHAP account (tgtd's accounts are global, bound to targets
    /// separately).
    pub async fn create_account(&self, creds: &ChapCredentials) -> Result<()> {
        creds.validate()?;
        let cmd = Cmd::new("account", "new")
            .opt("--user", &creds.user)
            .secret("--password", creds.secret.expose());
        self.tgtadm.run(&cmd).await?;
        tracing::info!(user = %creds.user, "created CHAP account");
        Ok(())
    }

    /// Deletes a CHAP account, unbinding it from every target.
    pub async fn delete_account(&self, user: &str) -> Result<()> {
        self.tgtadm
            .run(&Cmd::new("account", "delete").opt("--user", user))
            .await?;
        tracing::info!(%user, "deleted CHAP account");
        Ok(())
    }

    /// Binds an account to a target: initiators must log in with it, or,
    /// with `outgoing`, the target proves itself with it (mutual CHAP; one
    /// per target).
    pub async fn bind_account(&self, tid: u32, user: &str, outgoing: bool) -> Result<()> {
        let mut cmd = Cmd::new("account", "bind")
            .opt("--tid", tid.to_string())
            .opt("--user", user);
        if outgoing {
            cmd = cmd.arg("--outgoing");
        }
        self.tgtadm.run(&cmd).await?;
        Ok(())
    }

    /// Allows an initiator name to log in to a target. Never an address:
    /// see the module documentation.
    pub async fn allow_initiator(&self, tid: u32, initiator: &str) -> Result<()> {
        validate_initiator_name(initiator)?;
        let cmd = Cmd::new("target", "bind")
            .opt("--tid", tid.to_string())
            .opt("--initiator-name", initiator);
        self.tgtadm.run(&cmd).await?;
        Ok(())
    }

    /// Deletes a target even while initiators are logged in: unbinds its
    /// ACLs, deletes it with its LUNs (closing its RBD images) and deletes
    /// the CHAP accounts no other target uses.
    pub async fn delete_target(&self, tid: u32) -> Result<()> {
        let targets = self.list().await?;
        let target = targets
            .iter()
            .find(|t| t.tid == tid)
            .ok_or_else(|| Error::not_found("iSCSI target", tid.to_string()))?;
        // No new logins while the rest goes.
        for (flag, entries) in [
            ("--initiator-name", &target.initiator_names),
            ("--initiator-address", &target.initiator_addresses),
        ] {
            for entry in entries {
                let cmd = Cmd::new("target", "unbind")
                    .opt("--tid", tid.to_string())
                    .opt(flag, entry);
                ignore_not_found(self.tgtadm.run(&cmd).await)?;
            }
        }
        // tgtd refuses to delete a LUN with commands in flight, even when
        // forced: close the initiators' connections first, then retry while
        // their commands drain.
        for session in &target.sessions {
            for cid in &session.connections {
                let cmd = Cmd::new("conn", "delete")
                    .opt("--tid", tid.to_string())
                    .opt("--sid", session.id.to_string())
                    .opt("--cid", cid.to_string());
                ignore_not_found(self.tgtadm.run(&cmd).await)?;
            }
        }
        let cmd = Cmd::new("target", "delete")
            .arg("--force")
            .opt("--tid", tid.to_string());
        let deadline = std::time::Instant::now() + DRAIN_TIMEOUT;
        loop {
            match self.tgtadm.run(&cmd).await {
                Ok(_) => break,
                Err(Error::Conflict(m))
                    if m.contains("still active") && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
        let others: Vec<&Target> = targets.iter().filter(|t| t.tid != tid).collect();
        let used_elsewhere = |user: &str| {
            others.iter().any(|t| {
                t.accounts.iter().any(|a| a == user) || t.outgoing_account.as_deref() == Some(user)
            })
        };
        for user in target.accounts.iter().chain(&target.outgoing_account) {
            if !used_elsewhere(user) {
                ignore_not_found(self.delete_account(user).await)?;
            }
        }
        tracing::info!(tid, iqn = %target.iqn, sessions = target.sessions.len(), "deleted iSCSI target");
        Ok(())
    }

    /// Creates a node's whole target: the target, its LUNs, its CHAP
    /// account(s) and, last, its initiator ACL. On failure, whatever was
    /// made is removed again. An account left over under the same user
    /// name and bound to no target is replaced; one in use is a conflict.
    pub async fn export(&self, spec: &TargetSpec) -> Result<Target> {
        validate_target_name(&spec.iqn)?;
        validate_initiator_name(&spec.initiator)?;
        spec.chap.validate()?;
        if let Some(mutual) = &spec.mutual_chap {
            mutual.validate()?;
            if mutual.user == spec.chap.user {
                return Err(Error::invalid(
                    "Mutual CHAP needs its own user name, not the initiator's.",
                ));
            }
        }
        if spec.luns.iter().all(|l| l.lun != 1) {
            return Err(Error::invalid(
                "A node's target needs LUN 1, the one iPXE boots.",
            ));
        }
        let started = std::time::Instant::now();
        if let Some(t) = self.find(&spec.iqn).await? {
            return Err(Error::Conflict(format!(
                "iSCSI target {} already exists (tid {}).",
                spec.iqn, t.tid
            )));
        }
        let accounts: Vec<&ChapCredentials> = std::iter::once(&spec.chap)
            .chain(&spec.mutual_chap)
            .collect();
        self.clear_stale_accounts(&accounts).await?;
        let tid = self.create_target(&spec.iqn).await?;
        match self.fill(tid, spec).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(tid, iqn = %spec.iqn, error = %e, "export failed; removing the target");
                if let Err(undo) = self.delete_target(tid).await {
                    tracing::error!(tid, error = %undo, "could not remove a half-made target");
                }
                // Accounts created but not yet bound are not removed with
                // the target.
                for creds in &accounts {
                    let _ = self.delete_account(&creds.user).await;
                }
                return Err(e);
            }
        }
        let target = self
            .list()
            .await?
            .into_iter()
            .find(|t| t.tid == tid)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "iSCSI target {} vanished after creation.",
                    spec.iqn
                ))
            })?;
        tracing::info!(
            tid,
            iqn = %spec.iqn,
            ms = started.elapsed().as_millis() as u64,
            "exported node disk"
        );
        Ok(target)
    }

    /// The steps of [`Self::export`] after the target exists.
    async fn fill(&self, tid: u32, spec: &TargetSpec) -> Result<()> {
        for lun in &spec.luns {
            self.add_lun(tid, lun).await?;
        }
        self.create_account(&spec.chap).await?;
        self.bind_account(tid, &spec.chap.user, false).await?;
        if let Some(mutual) = &spec.mutual_chap {
            self.create_account(mutual).await?;
            self.bind_account(tid, &mutual.user, true).await?;
        }
        self.allow_initiator(tid, &spec.initiator).await
    }

    /// Deletes accounts named like `accounts` that no target uses (left by
    /// an interrupted export); refuses if a target uses one.
    async fn clear_stale_accounts(&self, accounts: &[&ChapCredentials]) -> Result<()> {
        let existing = self.accounts().await?;
        if !accounts.iter().any(|c| existing.contains(&c.user)) {
            return Ok(());
        }
        let targets = self.list().await?;
        for creds in accounts {
            if !existing.contains(&creds.user) {
                continue;
            }
            if let Some(t) = targets.iter().find(|t| {
                t.accounts.contains(&creds.user)
                    || t.outgoing_account.as_deref() == Some(creds.user.as_str())
            }) {
                return Err(Error::Conflict(format!(
                    "CHAP user {} is in use by iSCSI target {}.",
                    creds.user, t.iqn
                )));
            }
            tracing::warn!(user = %creds.user, "replacing an unused CHAP account");
            self.delete_account(&creds.user).await?;
        }
        Ok(())
    }

    /// Deletes the target with this name and its accounts; false when there
    /// was none.
    pub async fn unexport(&self, iqn: &str) -> Result<bool> {
        match self.find(iqn).await? {
            Some(target) => match self.delete_target(target.tid).await {
                Ok(()) => Ok(true),
                Err(Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            },
            None => Ok(false),
        }
    }
}

/// A NotFound is fine when removing something.
fn ignore_not_found(r: Result<impl Sized>) -> Result<()> {
    match r {
        Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn iqns() {
        let node: Uuid = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123".parse().unwrap();
        let iqn = node_iqn("iqn.2010-10.org.m2", node);
        assert_eq!(
            iqn,
            "iqn.2010-10.org.m2:node-1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
        );
        validate_target_name(&iqn).unwrap();
        assert_eq!(node_of_iqn("iqn.2010-10.org.m2", &iqn), Some(node));
        assert_eq!(node_of_iqn("iqn.2010-10.org.other", &iqn), None);
        assert_eq!(
            node_of_iqn("iqn.2010-10.org.m2", "iqn.2010-10.org.m2:node-x"),
            None
        );
        for bad in [
            "",
            "eui.1234",
            "iqn.2010-10.Org.m2",
            "iqn.a b",
            "iqn.a,b",
            &format!("iqn.{}", "a".repeat(220)),
        ] {
            assert!(validate_target_name(bad).is_err(), "{bad}");
        }
        for good in [
            "iqn.2010-04.org.ipxe:node-1",
            "IQN.2010-04.ORG.X:Y",
            "eui.02004567A425678D",
        ] {
            validate_initiator_name(good).unwrap();
        }
        for bad in ["", "10.0.0.1", "ALL", "iqn.a b", "iqn.a,b"] {
            assert!(validate_initiator_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chap() {
        let c = ChapCredentials::new("node-1", "abcdefghijkl").unwrap();
        assert_eq!(format!("{c:?}").matches("abcdefghijkl").count(), 0);
        assert_eq!(c.secret.to_string(), "******");
        assert!(ChapCredentials::new("node-1", "short").is_err());
        assert!(ChapCredentials::new("node 1", "abcdefghijkl").is_err());
        assert!(ChapCredentials::new("", "abcdefghijkl").is_err());
        let err = ChapCredentials::new("u", "abcdefghijk,l").unwrap_err();
        assert!(!err.to_string().contains("abcdefghijk"));
        let a = ChapCredentials::generate("node-1").unwrap();
        let b = ChapCredentials::generate("node-1").unwrap();
        assert_eq!(a.secret.expose().len(), 24);
        assert_ne!(a.secret, b.secret);
    }

    #[test]
    fn manager_from_config() {
        let config = Config::parse(
            "[ceph]\nconffile = /etc/ceph/x.conf\nclient_id = m2\n\
             [iscsi]\nguest_portal = 10.0.2.2:3260\nceph_user = tgt\n",
            "test",
        )
        .unwrap();
        let m = TargetManager::new(&config.iscsi, &config.ceph);
        assert_eq!(m.rbd_bsopts, "conf=/etc/ceph/x.conf;id=tgt");
        assert_eq!(m.portal().to_string(), "127.0.0.1:3260");
        assert_eq!(m.guest_portal().to_string(), "10.0.2.2:3260");
        assert_eq!(m.tgtadm.control_port, 0);
        let node = Uuid::new_v4();
        let target = Target {
            iqn: m.node_iqn(node),
            ..Target::default()
        };
        assert_eq!(m.node_of(&target), Some(node));
        let m = TargetManager::new(&Config::default().iscsi, &Config::default().ceph);
        assert_eq!(m.rbd_bsopts, "conf=/etc/ceph/ceph.conf;id=m2");
    }
}
