//! Running `tgtadm`: one call per command, with a timeout, its failures
//! mapped to m2's error classes, and secrets kept out of logs and errors.

use std::fmt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// One tgtadm command line (after `-C N --lld iscsi`). Values marked secret
/// are passed to tgtadm but shown as `******`.
#[derive(Clone)]
pub struct Cmd {
    args: Vec<(String, bool)>,
}

impl Cmd {
    /// `--mode <mode> --op <op>`.
    pub fn new(mode: &str, op: &str) -> Self {
        Cmd { args: Vec::new() }
            .arg("--mode")
            .arg(mode)
            .arg("--op")
            .arg(op)
    }

    /// Adds a plain argument.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push((a.into(), false));
        self
    }

    /// Adds `flag value`.
    pub fn opt(self, flag: &str, value: impl Into<String>) -> Self {
        self.arg(flag).arg(value)
    }

    /// The value after `flag`, unless it is a secret.
    pub fn value(&self, flag: &str) -> Option<&str> {
        self.args
            .windows(2)
            .find(|w| w[0].0 == flag && !w[1].1)
            .map(|w| w[1].0.as_str())
    }

    /// Adds `flag value` where the value is a secret.
    pub fn secret(mut self, flag: &str, value: &str) -> Self {
        self.args.push((flag.to_owned(), false));
        self.args.push((value.to_owned(), true));
        self
    }
}

impl fmt::Display for Cmd {
    /// The command with secrets masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tgtadm")?;
        for (a, secret) in &self.args {
            if *secret {
                f.write_str(" ******")?;
            } else {
                write!(f, " {a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How to reach tgtd.
#[derive(Debug, Clone)]
pub struct Tgtadm {
    /// The tgtadm program.
    pub program: String,
    /// tgtd's control socket number (`-C`).
    pub control_port: u16,
    /// Longest time one call may take.
    pub timeout: Duration,
}

/// tgtadm's exit status when it cannot talk to tgtd (ENOTCONN).
const EXIT_NOT_CONNECTED: i32 = 107;

impl Tgtadm {
    /// Runs a command and returns its standard output.
    pub async fn run(&self, cmd: &Cmd) -> Result<String> {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .arg("-C")
            .arg(self.control_port.to_string())
            .arg("--lld")
            .arg("iscsi")
            .args(cmd.args.iter().map(|(a, _)| a))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let output = match tokio::time::timeout(self.timeout, command.output()).await {
            Err(_) => {
                return Err(Error::Unavailable(format!(
                    "tgtd did not answer within {}s ({cmd}).",
                    self.timeout.as_secs()
                )));
            }
            Ok(Err(e)) => {
                return Err(Error::Unavailable(format!(
                    "Cannot run {}: {e}.",
                    self.program
                )));
            }
            Ok(Ok(output)) => output,
        };
        let ms = started.elapsed().as_millis() as u64;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr
            .lines()
            .map(|l| l.trim().trim_start_matches("tgtadm:").trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if output.status.success() {
            tracing::debug!(%cmd, ms, "tgtadm");
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        tracing::debug!(%cmd, ms, status = %output.status, %message, "tgtadm failed");
        Err(self.classify(cmd, output.status.code(), &message))
    }

    /// Maps a failed call to an error class by tgtadm's message.
    fn classify(&self, cmd: &Cmd, code: Option<i32>, message: &str) -> Error {
        let msg = message.to_ascii_lowercase();
        if code == Some(EXIT_NOT_CONNECTED)
            || msg.contains("tgt daemon")
            || msg.contains("can't connect")
        {
            Error::Unavailable(format!(
                "tgtd is not reachable on control port {}: {message}.",
                self.control_port
            ))
        } else if msg.contains("can't find the target") {
            Error::not_found("iSCSI target", cmd.value("--tid").unwrap_or("?"))
        } else if msg.contains("can't find the account") {
            Error::not_found("iSCSI account", cmd.value("--user").unwrap_or("?"))
        } else if msg.contains("can't find the logical unit") {
            Error::not_found(
                "iSCSI LUN",
                format!(
                    "{} of target {}",
                    cmd.value("--lun").unwrap_or("?"),
                    cmd.value("--tid").unwrap_or("?")
                ),
            )
        } else if msg.contains("can't find") {
            Error::not_found("iSCSI resource", format!("({message}; {cmd})"))
        } else if msg.contains("already exists")
            || msg.contains("already has")
            || msg.contains("still active")
        {
            Error::Conflict(format!("tgtd refused: {message} ({cmd})."))
        } else {
            Error::Internal(format!(
                "tgtd refused: {} ({cmd}).",
                if message.is_empty() {
                    "no message"
                } else {
                    message
                }
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgtadm() -> Tgtadm {
        Tgtadm {
            program: "tgtadm".into(),
            control_port: 7,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn secrets_are_masked() {
        let cmd = Cmd::new("account", "new")
            .opt("--user", "node-1")
            .secret("--password", "hunter2hunter2");
        let shown = cmd.to_string();
        assert_eq!(
            shown,
            "tgtadm --mode account --op new --user node-1 --password ******"
        );
        assert!(!format!("{cmd:?}").contains("hunter2"));
        let err = tgtadm().classify(&cmd, Some(22), "this account already exists");
        assert!(
            matches!(&err, Error::Conflict(m) if !m.contains("hunter2")),
            "{err:?}"
        );
    }

    #[test]
    fn classes() {
        let cmd = Cmd::new("target", "show");
        let t = tgtadm();
        assert!(matches!(
            t.classify(&cmd, Some(107), "failed to send request hdr to tgt daemon, Transport endpoint is not connected"),
            Error::Unavailable(m) if m.contains("control port 7")
        ));
        let cmd = cmd.opt("--tid", "3");
        assert_eq!(
            t.classify(&cmd, Some(22), "can't find the target"),
            Error::not_found("iSCSI target", "3")
        );
        let lun = Cmd::new("logicalunit", "delete")
            .opt("--tid", "3")
            .opt("--lun", "2");
        assert_eq!(
            t.classify(&lun, Some(22), "can't find the logical unit"),
            Error::not_found("iSCSI LUN", "2 of target 3")
        );
        let account = Cmd::new("account", "delete").opt("--user", "u");
        assert_eq!(
            t.classify(&account, Some(22), "can't find the account"),
            Error::not_found("iSCSI account", "u")
        );
        let secret = Cmd::new("account", "new").secret("--password", "pw");
        assert_eq!(secret.value("--password"), None);
        assert!(matches!(
            t.classify(&cmd, Some(22), "this target already exists"),
            Error::Conflict(_)
        ));
        assert!(matches!(
            t.classify(
                &cmd,
                Some(22),
                "this target already has an outgoing account"
            ),
            Error::Conflict(_)
        ));
        assert!(matches!(
            t.classify(&cmd, Some(22), "this logical unit is still active"),
            Error::Conflict(_)
        ));
        assert!(matches!(
            t.classify(&cmd, Some(22), "unknown error"),
            Error::Internal(m) if m.contains("unknown error")
        ));
    }

    #[tokio::test]
    async fn missing_program_is_unavailable() {
        let t = Tgtadm {
            program: "/nonexistent/tgtadm".into(),
            ..tgtadm()
        };
        let r = t.run(&Cmd::new("target", "show")).await;
        assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    }
}
