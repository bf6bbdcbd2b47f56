//! Test harness shared by the black-box test files: starts the real `m2` binary on a
//! free port with its own configuration and data directory, talks HTTP to it, and
//! checks Ironic's error body format.
//!
//! Every test file includes this module with `mod common;`; not every file uses every
//! helper.
#![allow(dead_code)]

pub mod backends;
pub mod keystone;
pub mod m2env;
pub mod services;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The `m2` binary under test.
pub const M2: &str = env!("CARGO_BIN_EXE_m2");

/// How long a server may take to print its listening line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The newest microversion, as a header value.
pub const LATEST: Option<&str> = Some("latest");
/// No microversion header (the server answers with 1.1).
pub const NOVER: Option<&str> = None;

/// Header carrying Ironic's microversion.
pub const VERSION_HEADER: &str = "X-OpenStack-Ironic-API-Version";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The virtualenv with the OpenStack clients and m2's CLI plugin
/// (`scripts/install-test-deps.sh` makes it): `M2_TEST_VENV`, else `<repo>/.venv`.
pub fn clients_venv() -> PathBuf {
    std::env::var("M2_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv"))
}

/// Is this a CI run (`CI=true`)? There a missing dependency fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// Prints a loud SKIP line (or panics in CI, where nothing may be skipped).
pub fn skip(test: &str, why: &str) {
    if in_ci() {
        panic!("{test}: cannot run in CI: {why}");
    }
    eprintln!();
    eprintln!("************************************************************************");
    eprintln!("SKIP {test}: {why}");
    eprintln!("************************************************************************");
    println!("SKIP {test}: {why}");
}

/// A short random lowercase hex string (for unique names).
pub fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..10)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// Configuration files
// ---------------------------------------------------------------------------

/// Merges `extra` (INI text) over the harness' base configuration: keys given in
/// `extra` replace the base ones, new sections and keys are added. Section names are
/// kept as written; `[DEFAULT]` is matched case-sensitively, like oslo.config.
pub fn merged_config(extra: &str) -> String {
    let mut sections: Vec<(String, Vec<(String, String)>)> = vec![
        (
            "DEFAULT".into(),
            vec![("host".into(), "test-conductor".into())],
        ),
        (
            "api".into(),
            vec![
                ("host_ip".into(), "127.0.0.1".into()),
                ("port".into(), "0".into()),
            ],
        ),
    ];
    let mut current = "DEFAULT".to_owned();
    for raw in extra.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
            if !sections.iter().any(|(s, _)| *s == current) {
                sections.push((current.clone(), Vec::new()));
            }
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("bad config line in test: {raw:?}"));
        let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
        let section = &mut sections.iter_mut().find(|(s, _)| *s == current).unwrap().1;
        match section.iter_mut().find(|(key, _)| *key == k) {
            Some(entry) => entry.1 = v,
            None => section.push((k, v)),
        }
    }
    let mut out = String::new();
    for (name, keys) in sections {
        out.push_str(&format!("[{name}]\n"));
        for (k, v) in keys {
            out.push_str(&format!("{k} = {v}\n"));
        }
        out.push('\n');
    }
    out
}

/// Writes the merged configuration into `dir/m2.conf` and returns its path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("m2.conf");
    std::fs::write(&path, merged_config(extra)).expect("write m2.conf");
    path
}

/// Runs `m2 --config-file <conf> <args...>` to completion; returns (success, stdout,
/// stderr).
pub fn run_m2(conf: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(M2)
        .arg("--config-file")
        .arg(conf)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("M2_CONFIG_FILE")
        .env_remove("M2_DATA_DIR")
        .output()
        .expect("run m2");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/// One HTTP answer: status, headers, body parsed as JSON (`Null` when empty, a JSON
/// string holding the text when it is not JSON) and the raw text.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// A response header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Was the body valid JSON (or empty)?
    pub fn is_json(&self) -> bool {
        self.text.is_empty() || serde_json::from_str::<Value>(&self.text).is_ok()
    }

    /// Asserts the status and returns self (for chaining); shows the body otherwise.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// The (faultcode, faultstring) of an Ironic error body, asserting its shape.
    #[track_caller]
    pub fn fault(&self) -> (String, String) {
        ironic_error(&self.body)
    }

    /// Asserts an Ironic error of `status` whose faultstring contains `needle`.
    #[track_caller]
    pub fn expect_fault(&self, status: u16, needle: &str) -> String {
        assert_eq!(
            self.status, status,
            "expected HTTP {status} ({needle}), got {}: {}",
            self.status, self.text
        );
        let (code, msg) = self.fault();
        let want_code = if status >= 500 { "Server" } else { "Client" };
        assert_eq!(code, want_code, "faultcode of a {status}: {}", self.text);
        assert!(
            msg.contains(needle),
            "faultstring {msg:?} does not contain {needle:?}"
        );
        msg
    }
}

/// Parses Ironic's JSON-in-JSON error body
/// `{"error_message": "{\"faultcode\": ..., \"faultstring\": ..., \"debuginfo\": null}"}`
/// and returns (faultcode, faultstring), asserting the exact shape.
#[track_caller]
pub fn ironic_error(body: &Value) -> (String, String) {
    let inner = error_inner(body);
    let keys: Vec<&str> = inner.keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["debuginfo", "faultcode", "faultstring"],
        "inner error document keys: {body}"
    );
    let code = inner["faultcode"]
        .as_str()
        .unwrap_or_else(|| panic!("faultcode is not a string: {body}"));
    assert!(
        code == "Client" || code == "Server",
        "faultcode {code:?} is neither Client nor Server"
    );
    let msg = inner["faultstring"]
        .as_str()
        .unwrap_or_else(|| panic!("faultstring is not a string: {body}"));
    assert!(!msg.is_empty(), "empty faultstring: {body}");
    assert!(
        inner["debuginfo"].is_null(),
        "debuginfo is not null: {body}"
    );
    (code.to_owned(), msg.to_owned())
}

/// Parses the routing form of Ironic's error body
/// `{"error_message": "{\"code\": 404, \"title\": \"Not Found\", \"description\": \"\"}"}`
/// and returns (code, title, description), asserting its shape.
#[track_caller]
pub fn ironic_http_error(body: &Value) -> (u16, String, String) {
    let inner = error_inner(body);
    let mut keys: Vec<&str> = inner.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "description", "title"],
        "inner error document keys: {body}"
    );
    let code = inner["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("code is not a number: {body}"));
    let title = inner["title"].as_str().expect("title is a string");
    let desc = inner["description"]
        .as_str()
        .expect("description is a string");
    (code as u16, title.to_owned(), desc.to_owned())
}

#[track_caller]
fn error_inner(body: &Value) -> serde_json::Map<String, Value> {
    let outer = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {body}"));
    assert_eq!(
        outer.keys().collect::<Vec<_>>(),
        ["error_message"],
        "error body must have exactly the key error_message: {body}"
    );
    let s = outer["error_message"]
        .as_str()
        .unwrap_or_else(|| panic!("error_message is not a string: {body}"));
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => m,
        other => panic!("error_message is not a JSON object in a string ({other:?}): {body}"),
    }
}

/// Is `r` an error answer in one of Ironic's two body formats, with the headers every
/// answer carries? Returns a description of what is wrong, `None` when all is well.
pub fn check_error_format(r: &Resp) -> Option<String> {
    if r.header("content-type") != Some("application/json") {
        return Some(format!(
            "content-type {:?} (body {})",
            r.header("content-type"),
            r.text
        ));
    }
    let Some(outer) = r.body.as_object() else {
        return Some(format!("body is not an object: {}", r.text));
    };
    if outer.len() != 1 {
        return Some(format!(
            "body has other keys than error_message: {}",
            r.text
        ));
    }
    let Some(inner) = outer
        .get("error_message")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    else {
        return Some(format!("error_message is not JSON in a string: {}", r.text));
    };
    let fault = inner["faultcode"].as_str()
        == Some(if r.status >= 500 { "Server" } else { "Client" })
        && inner["faultstring"].as_str().is_some_and(|s| !s.is_empty())
        && inner.get("debuginfo") == Some(&Value::Null)
        && inner.as_object().map(|m| m.len()) == Some(3);
    let http = inner["code"].as_u64() == Some(r.status as u64)
        && inner["title"].is_string()
        && inner["description"].is_string()
        && inner.as_object().map(|m| m.len()) == Some(3);
    if !fault && !http {
        return Some(format!("not an Ironic error document: {}", r.text));
    }
    for h in [
        "x-openstack-ironic-api-minimum-version",
        "x-openstack-ironic-api-maximum-version",
        "x-openstack-request-id",
        "openstack-request-id",
    ] {
        if r.header(h).is_none() {
            return Some(format!("header {h} missing on a {}", r.status));
        }
    }
    None
}

/// Asserts that `r` is an error in Ironic's format.
#[track_caller]
pub fn assert_error_format(r: &Resp) {
    if let Some(problem) = check_error_format(r) {
        panic!("HTTP {}: {problem}", r.status);
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A running `m2 standalone`, killed on drop.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub port: u16,
    /// The configuration file the server runs with.
    pub config_path: PathBuf,
    stderr_path: PathBuf,
    dir: tempfile::TempDir,
    client: Client,
}

impl Server {
    /// Starts m2 with the base configuration.
    pub fn start() -> Server {
        Server::start_with("")
    }

    /// Starts m2 with `config_extra` (INI text) merged over the base configuration.
    pub fn start_with(config_extra: &str) -> Server {
        Server::start_command(config_extra, |dir| {
            vec![
                "standalone".into(),
                "--data-dir".into(),
                dir.join("data").into_os_string(),
            ]
        })
    }

    /// Starts `m2 <args>` (a command that serves the API and prints its listening
    /// line: `standalone` or `api`) with `config_extra` merged over the base
    /// configuration; `args` gets the server's own temporary directory.
    pub fn start_command(config_extra: &str, args: impl FnOnce(&Path) -> Vec<OsString>) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("m2-test-")
            .tempdir()
            .expect("temp dir");
        let config_path = write_config(dir.path(), config_extra);
        let stderr_path = dir.path().join("m2.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut child = Command::new(M2)
            .arg("--config-file")
            .arg(&config_path)
            .args(args(dir.path()))
            .env("NO_COLOR", "1")
            .env_remove("M2_CONFIG_FILE")
            .env_remove("M2_DATA_DIR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn m2");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<Option<String>>();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && line.starts_with("m2 listening on ") {
                    let _ = tx.send(Some(line));
                    sent = true;
                }
            }
            if !sent {
                let _ = tx.send(None);
            }
        });
        let fail = |child: &mut Child, why: &str| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!(
                "m2 did not start: {why}\n--- config ---\n{}\n--- m2 stderr ---\n{err}",
                std::fs::read_to_string(&config_path).unwrap_or_default()
            );
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(line)) => line,
            Ok(None) => {
                let status = child.wait().ok();
                fail(
                    &mut child,
                    &format!("it exited ({status:?}) before listening"),
                )
            }
            Err(_) => fail(
                &mut child,
                &format!("no listening line within {START_TIMEOUT:?}"),
            ),
        };
        let addr = line
            .trim_start_matches("m2 listening on ")
            .trim()
            .to_owned();
        let port: u16 = match addr.rsplit(':').next().and_then(|p| p.parse().ok()) {
            Some(p) => p,
            None => fail(&mut child, &format!("unexpected listening line {line:?}")),
        };
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build()
            .expect("http client");
        Server {
            child: Some(child),
            base: format!("http://{addr}"),
            port,
            config_path,
            stderr_path,
            dir,
            client,
        }
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The temporary directory of this server (config, data, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Is the server process still running?
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a request with optional microversion, extra headers and raw body.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        version: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut rb = self.client.request(method.clone(), self.url(path));
        if let Some(v) = version {
            rb = rb.header(VERSION_HEADER, v);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                rb = rb.header("Content-Type", "application/json");
            }
            rb = rb.body(b);
        }
        let r = rb.send().unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {e}\n--- m2 stderr tail ---\n{}",
                self.stderr_tail(40)
            )
        });
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    fn with_json(
        &self,
        method: Method,
        path: &str,
        version: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        self.request(
            method,
            path,
            version,
            &[],
            body.map(|b| serde_json::to_vec(b).unwrap()),
        )
    }

    pub fn get(&self, path: &str, version: Option<&str>) -> Resp {
        self.with_json(Method::GET, path, version, None)
    }

    pub fn post(&self, path: &str, version: Option<&str>, body: &Value) -> Resp {
        self.with_json(Method::POST, path, version, Some(body))
    }

    pub fn put(&self, path: &str, version: Option<&str>, body: &Value) -> Resp {
        self.with_json(Method::PUT, path, version, Some(body))
    }

    pub fn patch(&self, path: &str, version: Option<&str>, body: &Value) -> Resp {
        self.with_json(Method::PATCH, path, version, Some(body))
    }

    pub fn delete(&self, path: &str, version: Option<&str>) -> Resp {
        self.with_json(Method::DELETE, path, version, None)
    }

    /// Creates a node at the latest version (asserting 201) and returns its body.
    #[track_caller]
    pub fn create_node(&self, body: Value) -> Value {
        let mut body = body;
        if body.get("driver").is_none() {
            body["driver"] = json!("fake-hardware");
        }
        self.post("/v1/nodes", LATEST, &body).expect(201).body
    }

    /// A node at the latest version (asserting 200).
    #[track_caller]
    pub fn node(&self, ident: &str) -> Value {
        self.get(&format!("/v1/nodes/{ident}"), LATEST)
            .expect(200)
            .body
    }

    /// UUIDs of every node, following `next` links.
    pub fn all_node_uuids(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut path = "/v1/nodes?limit=1000".to_owned();
        loop {
            let r = self.get(&path, LATEST).expect(200);
            for n in r.body["nodes"].as_array().unwrap() {
                out.push(n["uuid"].as_str().unwrap().to_owned());
            }
            match r.body.get("next").and_then(Value::as_str) {
                Some(next) => path = next.trim_start_matches(&self.base).to_owned(),
                None => break,
            }
        }
        out
    }

    /// Every node in full (`/v1/nodes/detail`), as one JSON value to compare before and
    /// after a refused request.
    pub fn snapshot(&self) -> Value {
        self.get("/v1/nodes/detail?limit=1000", LATEST)
            .expect(200)
            .body
    }

    /// Asks for a provision verb (asserting 202).
    #[track_caller]
    pub fn provision(&self, node: &str, body: Value) -> Resp {
        self.put(&format!("/v1/nodes/{node}/states/provision"), LATEST, &body)
            .expect(202)
    }

    /// Polls the node until `field` equals `value`; returns the node. Panics with the
    /// last value seen after `timeout`.
    #[track_caller]
    pub fn wait_for_state(&self, node: &str, field: &str, value: &str, timeout: Duration) -> Value {
        self.wait_for(node, timeout, |n| n[field] == json!(value))
            .unwrap_or_else(|last| {
                panic!(
                    "node {node}: {field} did not become {value:?} within {timeout:?}; last seen: {}",
                    last
                )
            })
    }

    /// Polls the node until `pred` holds: Ok(node), or Err(last node seen) on timeout.
    pub fn wait_for(
        &self,
        node: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.get(&format!("/v1/nodes/{node}"), LATEST).body;
            if pred(&n) {
                return Ok(n);
            }
            if Instant::now() >= deadline {
                return Err(n);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls the node as fast as it can until its provision state is stable (no
    /// target) or failed, and returns every distinct provision_state seen, in order.
    #[track_caller]
    pub fn observe_until_stable(&self, node: &str, timeout: Duration) -> (Vec<String>, Value) {
        let deadline = Instant::now() + timeout;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let n = self
                .get(&format!("/v1/nodes/{node}/states"), LATEST)
                .expect(200)
                .body;
            let state = n["provision_state"].as_str().unwrap_or("").to_owned();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            let settled = n["target_provision_state"].is_null() || state.ends_with("failed");
            if settled {
                return (seen, self.node(node));
            }
            assert!(
                Instant::now() < deadline,
                "node {node} not settled within {timeout:?}: {n}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The provision state changes the conductor logged for `node`, as
    /// (from, to, event) triples, in order.
    pub fn logged_transitions(&self, node: &str) -> Vec<(String, String, String)> {
        let log = strip_ansi(&self.stderr());
        let mut out = Vec::new();
        for line in log.lines() {
            if !line.contains("provision state change") || !line.contains(node) {
                continue;
            }
            let after = &line[line.find("provision state change").unwrap()..];
            let field = |name: &str, next: &str| -> Option<String> {
                let start = after.find(&format!(" {name}="))? + name.len() + 2;
                let rest = &after[start..];
                let end = rest.find(&format!(" {next}=")).unwrap_or(rest.len());
                Some(rest[..end].trim().to_owned())
            };
            if let (Some(from), Some(to), Some(event)) = (
                field("from", "to"),
                field("to", "event"),
                field("event", "\u{0}"),
            ) {
                out.push((from, to, event));
            }
        }
        out
    }

    /// The last `n` lines of the server's stderr.
    pub fn stderr_tail(&self, n: usize) -> String {
        let log = strip_ansi(&self.stderr());
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The process id of the server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- m2 stderr (last 60 lines) of {} ---\n{}",
                self.base,
                self.stderr_tail(60)
            );
        }
        self.stop();
    }
}

/// Removes ANSI colour sequences.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Reads a file of the Ironic samples in `/work/shared/ironic-samples` (or
/// `$M2_IRONIC_SAMPLES`); `None` when the samples are not there.
pub fn ironic_sample(name: &str) -> Option<String> {
    let dir = std::env::var("M2_IRONIC_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let beside = repo_root().join("../shared/ironic-samples");
            if beside.is_dir() {
                beside
            } else {
                PathBuf::from("/work/shared/ironic-samples")
            }
        });
    std::fs::read_to_string(dir.join(name)).ok()
}

/// The provision state sequences of a real Ironic, from
/// `state-sequence-automated_clean-<which>.txt`: verb → states passed through.
pub fn ironic_state_sequences(which: &str) -> Option<Vec<(String, Vec<String>)>> {
    let text = ironic_sample(&format!("state-sequence-automated_clean-{which}.txt"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        // "manage         HTTP 202  enroll -> verifying -> manageable    power=None ..."
        let Some((verb, rest)) = line.split_once(" HTTP 202 ") else {
            continue;
        };
        let states = rest.split("power=").next().unwrap_or("").trim();
        let seq: Vec<String> = states.split(" -> ").map(|s| s.trim().to_owned()).collect();
        out.push((verb.trim().to_owned(), seq));
    }
    Some(out)
}

/// Is `sub` a subsequence of `seq` (same order, gaps allowed)?
pub fn is_subsequence(sub: &[String], seq: &[String]) -> bool {
    let mut it = seq.iter();
    sub.iter().all(|s| it.any(|x| x == s))
}

/// Shorthand for a 5-second timeout.
pub const WAIT: Duration = Duration::from_secs(10);
