//! A real Keystone for the tests of `auth_strategy = keystone`: installed by
//! `scripts/install-test-deps.sh keystone` into `<repo>/.venv-keystone`, configured
//! here with SQLite and fernet tokens in a temporary directory, bootstrapped with
//! `keystone-manage bootstrap` (user `admin`), and served on a free 127.0.0.1 port
//! by `tests/keystone/serve.py`. Dropping the guard stops it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::repo_root;

/// Password of the bootstrap `admin` user.
pub const ADMIN_PASSWORD: &str = "admin-secret";

/// The venv holding Keystone, if it is installed.
pub fn venv() -> Option<PathBuf> {
    let v = std::env::var("M2_TEST_KEYSTONE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv-keystone"));
    v.join("bin/keystone-manage").exists().then_some(v)
}

/// A running Keystone.
pub struct Keystone {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    dir: Option<tempfile::TempDir>,
    http: Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Keystone {
    /// Configures, bootstraps and starts Keystone; `Err` says why it could not.
    pub fn start() -> Result<Keystone, String> {
        Keystone::start_with_expiration(3600)
    }

    /// [`Keystone::start`] with tokens that expire `expiration` seconds after they
    /// are issued.
    pub fn start_with_expiration(expiration: u32) -> Result<Keystone, String> {
        let venv =
            venv().ok_or("Keystone is not installed (scripts/install-test-deps.sh keystone)")?;
        let dir = tempfile::Builder::new()
            .prefix("m2-keystone-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let d = dir.path();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let conf = d.join("keystone.conf");
        std::fs::write(
            &conf,
            format!(
                "[DEFAULT]\nlog_file = {d}/keystone.log\n\
                 [database]\nconnection = sqlite:///{d}/keystone.db\n\
                 [token]\nprovider = fernet\nexpiration = {expiration}\n\
                 [fernet_tokens]\nkey_repository = {d}/fernet-keys\n\
                 [fernet_receipts]\nkey_repository = {d}/fernet-receipts\n\
                 [credential]\nkey_repository = {d}/credential-keys\n",
                d = d.display(),
            ),
        )
        .map_err(|e| e.to_string())?;
        let manage = |args: &[&str]| -> Result<(), String> {
            let out = Command::new(venv.join("bin/keystone-manage"))
                .arg("--config-file")
                .arg(&conf)
                .args(args)
                .output()
                .map_err(|e| format!("keystone-manage: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "keystone-manage {}: {}\n{}",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        };
        let who = ["--keystone-user", "root", "--keystone-group", "root"];
        manage(&["db_sync"])?;
        manage(&[&["fernet_setup"][..], &who].concat())?;
        manage(&[&["credential_setup"][..], &who].concat())?;
        let v3 = format!("{url}/v3");
        manage(&[
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-admin-url",
            &v3,
            "--bootstrap-internal-url",
            &v3,
            "--bootstrap-public-url",
            &v3,
            "--bootstrap-region-id",
            "RegionOne",
        ])?;
        let mut cmd = Command::new(venv.join("bin/python"));
        cmd.arg(repo_root().join("tests/keystone/serve.py"))
            .arg(port.to_string())
            .env("KEYSTONE_CONFIG", &conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("serve.log")).map_err(|e| e.to_string())?,
            ));
        // SAFETY: prctl is async-signal-safe; Keystone goes when the test process does.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| format!("start Keystone: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        let mut ks = Keystone {
            child,
            url,
            dir: Some(dir),
            http: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
        };
        if rx.recv_timeout(Duration::from_secs(120)).is_err() {
            return Err(format!("Keystone did not start:\n{}", ks.log_tail()));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while ks.http.get(&v3).send().ok().map(|r| r.status().as_u16()) != Some(200) {
            if Instant::now() > deadline || ks.child.try_wait().ok().flatten().is_some() {
                return Err(format!("Keystone does not answer:\n{}", ks.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(ks)
    }

    /// The end of Keystone's logs.
    pub fn log_tail(&mut self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let mut out = String::new();
        for f in ["serve.log", "keystone.log"] {
            let text = std::fs::read_to_string(dir.path().join(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {f} ---\n"));
            out.push_str(&lines[lines.len().saturating_sub(30)..].join("\n"));
            out.push('\n');
        }
        out
    }

    /// A token for a password user and scope (`{"system": {"all": true}}`,
    /// `{"project": {"id": ...}}`); panics when Keystone refuses.
    pub fn token(&self, user: &str, password: &str, scope: Value) -> String {
        self.issue(user, password, Some(scope))
    }

    /// An unscoped token of a password user (no project, no system: no roles).
    pub fn unscoped_token(&self, user: &str, password: &str) -> String {
        self.issue(user, password, None)
    }

    fn issue(&self, user: &str, password: &str, scope: Option<Value>) -> String {
        let mut auth = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
        }});
        if let Some(scope) = scope {
            auth["auth"]["scope"] = scope;
        }
        let r = self
            .http
            .post(format!("{}/v3/auth/tokens?nocatalog", self.url))
            .json(&auth)
            .send()
            .expect("ask Keystone for a token");
        assert_eq!(r.status().as_u16(), 201, "token for {user}: {:?}", r.text());
        r.headers()["x-subject-token"]
            .to_str()
            .expect("token")
            .to_owned()
    }

    /// Revokes a token (`DELETE /v3/auth/tokens`).
    pub fn revoke(&self, token: &str) {
        let r = self
            .http
            .delete(format!("{}/v3/auth/tokens", self.url))
            .header("X-Auth-Token", self.admin_token())
            .header("X-Subject-Token", token)
            .send()
            .expect("revoke a token");
        assert_eq!(r.status().as_u16(), 204, "revoke: {:?}", r.text());
    }

    /// Stops Keystone (its state stays on disk until the guard is dropped).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A system-scoped token of the bootstrap admin.
    pub fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD, json!({"system": {"all": true}}))
    }

    /// Sends an admin request to the Identity API and returns its JSON answer.
    pub fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method.clone(), format!("{}/v3{path}", self.url))
            .header("X-Auth-Token", self.admin_token());
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().expect("Keystone request");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The id of a role by name.
    pub fn role_id(&self, name: &str) -> String {
        let roles = self.admin(reqwest::Method::GET, &format!("/roles?name={name}"), None);
        roles["roles"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no role {name}: {roles}"))
            .to_owned()
    }

    /// Creates a project in the default domain; returns its id.
    pub fn create_project(&self, name: &str) -> String {
        let p = self.admin(
            reqwest::Method::POST,
            "/projects",
            Some(json!({"project": {"name": name, "domain_id": "default"}})),
        );
        p["project"]["id"].as_str().expect("project id").to_owned()
    }

    /// Creates a user in the default domain; returns its id.
    pub fn create_user(&self, name: &str, password: &str) -> String {
        let u = self.admin(
            reqwest::Method::POST,
            "/users",
            Some(json!({"user": {"name": name, "password": password, "domain_id": "default"}})),
        );
        u["user"]["id"].as_str().expect("user id").to_owned()
    }

    /// Grants `role` to a user on a project.
    pub fn grant(&self, project_id: &str, user_id: &str, role: &str) {
        let role = self.role_id(role);
        self.admin(
            reqwest::Method::PUT,
            &format!("/projects/{project_id}/users/{user_id}/roles/{role}"),
            None,
        );
    }

    /// Registers a service of `kind` with a public endpoint at `url` in the catalog.
    pub fn register_endpoint(&self, kind: &str, url: &str) {
        let s = self.admin(
            reqwest::Method::POST,
            "/services",
            Some(json!({"service": {"type": kind, "name": kind}})),
        );
        let id = s["service"]["id"].as_str().expect("service id");
        for interface in ["public", "internal"] {
            self.admin(
                reqwest::Method::POST,
                "/endpoints",
                Some(
                    json!({"endpoint": {"service_id": id, "interface": interface,
                    "url": url, "region_id": "RegionOne"}}),
                ),
            );
        }
    }
}

impl Drop for Keystone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("Keystone's directory kept: {}", dir.keep().display());
        }
    }
}
