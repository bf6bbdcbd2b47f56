//! Private back-end services for the tests that run m2 as separate processes: a
//! RabbitMQ node and a PostgreSQL cluster of their own, on free loopback ports, with
//! their data in a temporary directory. Nothing touches the machine's own services
//! (5672, 5432), which other test runs may be using. Each guard stops its service
//! when dropped; `restart` and `stop` serve the fault tests.
//!
//! Both are started as Debian 12 packages them: `rabbitmq-server` from
//! /usr/lib/rabbitmq/bin (the wrapper in /usr/sbin switches to the rabbitmq user and
//! its fixed directories), PostgreSQL from /usr/lib/postgresql/<version>/bin, as the
//! `postgres` user when the tests run as root (initdb refuses root).

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::random_suffix;

/// A free TCP port on the loopback interface (free when asked; bound at once by the
/// caller, in practice).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Does a TCP connection to 127.0.0.1:`port` succeed?
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Waits until `port` accepts connections; `false` after `limit`.
pub fn wait_port(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if port_open(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Sends `signal` (e.g. "KILL", "TERM") to a process, or with `group` to its whole
/// process group.
pub fn signal(pid: u32, signal: &str, group: bool) {
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------
// RabbitMQ
// ---------------------------------------------------------------------------

const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";

/// A private RabbitMQ node.
pub struct RabbitMq {
    dir: tempfile::TempDir,
    /// Erlang node name, `m2test-<random>@localhost`.
    pub node: String,
    /// AMQP port.
    pub port: u16,
    dist_port: u16,
    child: Option<Child>,
}

impl RabbitMq {
    /// Starts a node; `None` (the caller skips) when RabbitMQ is not installed.
    pub fn start() -> Option<RabbitMq> {
        if !Path::new(RABBITMQ_BIN).join("rabbitmq-server").exists() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("m2-rabbitmq-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        // The Erlang cookie the node and rabbitmqctl share (HOME is theirs alone).
        let cookie = home.join(".erlang.cookie");
        std::fs::write(&cookie, format!("M2TEST{}", random_suffix().to_uppercase())).unwrap();
        std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400)).unwrap();
        let mut mq = RabbitMq {
            node: format!("m2test-{}@localhost", random_suffix()),
            port: free_port(),
            dist_port: free_port(),
            dir,
            child: None,
        };
        std::fs::write(
            mq.dir.path().join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{}\n\
                 loopback_users.guest = true\n\
                 disk_free_limit.absolute = 10MB\n",
                mq.port
            ),
        )
        .unwrap();
        std::fs::write(mq.dir.path().join("enabled_plugins"), "[].\n").unwrap();
        mq.launch();
        Some(mq)
    }

    fn env(&self, cmd: &mut Command) {
        let d = self.dir.path();
        cmd.env("HOME", d.join("home"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_PLUGINS_EXPAND_DIR", d.join("plugins-expand"))
            .env("RABBITMQ_PID_FILE", d.join("rabbitmq.pid"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            );
    }

    /// Starts the node process and waits until it accepts AMQP connections.
    fn launch(&mut self) {
        let out = std::fs::File::create(self.dir.path().join("server.out")).unwrap();
        let mut cmd = Command::new(Path::new(RABBITMQ_BIN).join("rabbitmq-server"));
        self.env(&mut cmd);
        cmd.current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .process_group(0);
        self.child = Some(cmd.spawn().expect("spawn rabbitmq-server"));
        if !wait_port(self.port, Duration::from_secs(120)) {
            let log = self.log_tail(40);
            self.kill();
            panic!("RabbitMQ did not start on port {}:\n{log}", self.port);
        }
    }

    /// The `transport_url` of this node.
    pub fn url(&self) -> String {
        format!("rabbit://guest:guest@127.0.0.1:{}/", self.port)
    }

    /// Runs `rabbitmqctl -n <node> <args>`; its success.
    pub fn ctl(&self, args: &[&str]) -> bool {
        let mut cmd = Command::new(Path::new(RABBITMQ_BIN).join("rabbitmqctl"));
        self.env(&mut cmd);
        cmd.arg("-n")
            .arg(&self.node)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the node cleanly (its durable queues and persistent messages are kept).
    pub fn stop(&mut self) {
        if self.child.is_none() {
            return;
        }
        if !self.ctl(&["stop"]) {
            self.kill();
            return;
        }
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            signal(c.id(), "KILL", true);
            let _ = c.wait();
        }
    }

    /// Kills the node at once (SIGKILL to its process group).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "KILL", true);
            let _ = c.wait();
        }
    }

    /// Starts the node again after [`RabbitMq::stop`], with the same data and port.
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.launch();
        }
    }

    /// The end of the node's log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self
            .dir
            .path()
            .join("log")
            .join(format!("{}.log", self.node));
        let text = std::fs::read_to_string(log)
            .or_else(|_| std::fs::read_to_string(self.dir.path().join("server.out")))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

/// A private PostgreSQL cluster.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Runs the server as this user (when the tests run as root).
    user: Option<String>,
    pub port: u16,
    running: bool,
}

/// The newest /usr/lib/postgresql/<version>/bin.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

impl Postgres {
    /// Creates and starts a cluster; `None` (the caller skips) when PostgreSQL is not
    /// installed.
    pub fn start() -> Option<Postgres> {
        let bin = postgres_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("m2-postgres-")
            .tempdir()
            .expect("temp dir");
        let user = is_root().then(|| "postgres".to_owned());
        if let Some(u) = &user {
            let ok = Command::new("chown")
                .arg(u)
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown {} to {u}", dir.path().display());
        }
        let pg = Postgres {
            dir,
            bin,
            user,
            port: free_port(),
            running: false,
        };
        let data = pg.dir.path().join("data");
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = pg;
        pg.start_again();
        Some(pg)
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("postgres.log"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The `[database] connection` of this cluster.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (after [`Postgres::stop`]).
    pub fn start_again(&mut self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        let ok = self.pg_ctl(&["-w", "-t", "60", "-o", &opts, "start"]);
        assert!(ok, "PostgreSQL did not start:\n{}", self.log_tail(30));
        self.running = true;
    }

    /// Stops the server (fast shutdown: sessions are cut).
    pub fn stop(&mut self) {
        if self.running {
            self.pg_ctl(&["-w", "-t", "60", "-m", "fast", "stop"]);
            self.running = false;
        }
    }

    /// The end of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            self.pg_ctl(&["-w", "-t", "30", "-m", "immediate", "stop"]);
        }
    }
}
