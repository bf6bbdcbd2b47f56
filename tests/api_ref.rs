//! The API reference is complete and current: the committed OpenAPI document is what
//! the code generates, every route the server serves is documented, the microversion
//! notes agree with the server, the committed examples have the shape of live
//! responses, and the HTML reference builds.
//!
//! `M2_UPDATE_API_REF=1 cargo nextest run --test api_ref` rewrites the examples in
//! `api-ref/examples/` from a live server.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use common::{LATEST, Resp, Server, WAIT};
use reqwest::Method;
use serde_json::{Value, json};

#[test]
fn committed_openapi_document_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_m2"))
        .arg("openapi")
        .output()
        .expect("run m2 openapi");
    assert!(
        out.status.success(),
        "m2 openapi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("utf-8");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-ref/openapi.json"))
            .expect("read api-ref/openapi.json");
    assert!(
        generated == committed,
        "api-ref/openapi.json is stale: regenerate it with `m2 openapi > api-ref/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("valid JSON");
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    for path in [
        "/v1/nodes",
        "/v1/nodes/{node}",
        "/v1/nodes/{node}/states/provision",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the document"
        );
    }
}

#[test]
fn committed_sample_config_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_m2"))
        .arg("sample-config")
        .output()
        .expect("run m2 sample-config");
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/etc/m2/m2.conf.sample"
    ))
    .expect("read etc/m2/m2.conf.sample");
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "etc/m2/m2.conf.sample is stale: regenerate it with `m2 sample-config > etc/m2/m2.conf.sample`"
    );
}

// ---------------------------------------------------------------------------
// Route coverage
// ---------------------------------------------------------------------------

/// Methods a route may serve.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Registered paths deliberately left out of the document, each with the reason.
/// (Trailing-slash aliases such as `/v1/` are not listed: a path is compared without
/// its trailing slash, since both spellings reach the same handler.)
const UNDOCUMENTED: &[(&str, &str)] = &[];

/// Output of `m2 <args>` (no configuration needed), asserting success.
fn m2_output(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_m2"))
        .args(args)
        .env_remove("M2_CONFIG_FILE")
        .output()
        .unwrap_or_else(|e| panic!("run m2 {args:?}: {e}"));
    assert!(
        out.status.success(),
        "m2 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The OpenAPI document the code generates.
fn generated_document() -> Value {
    serde_json::from_str(&m2_output(&["openapi"])).expect("m2 openapi prints JSON")
}

/// Every path the API registers (`m2 routes`).
fn registered_paths() -> Vec<String> {
    m2_output(&["routes"])
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect()
}

/// A path template with its placeholder names blanked and no trailing slash:
/// `/v1/nodes/{node_ident}/` and `/v1/nodes/{node}` compare equal.
fn normalise(template: &str) -> String {
    let mut out = fill(template, "{}");
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// `template` with each `{placeholder}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut in_placeholder = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_placeholder = true;
                out.push_str(value);
            }
            '}' => in_placeholder = false,
            _ if in_placeholder => {}
            _ => out.push(c),
        }
    }
    out
}

/// (normalised path, upper-case method) of every documented operation.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let m = method.to_ascii_uppercase();
            if METHODS.contains(&m.as_str()) {
                out.insert((normalise(path), m));
            }
        }
    }
    out
}

#[test]
fn every_served_route_is_documented() {
    let paths = registered_paths();
    assert!(
        paths.iter().any(|p| p == "/v1/nodes") && paths.len() > 50,
        "m2 routes printed too little: {paths:?}"
    );
    let doc = generated_document();
    let documented = documented_operations(&doc);
    let s = Server::start();
    let mut served: BTreeSet<(String, String)> = BTreeSet::new();
    let mut undocumented = Vec::new();
    for path in &paths {
        if let Some((_, why)) = UNDOCUMENTED.iter().find(|(p, _)| p == path) {
            eprintln!("not documented on purpose: {path}: {why}");
            continue;
        }
        let concrete = fill(path, "dummy");
        for method in METHODS {
            let body = (method != "GET" && method != "DELETE").then(|| b"{}".to_vec());
            let r = s.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                LATEST,
                &[],
                body,
            );
            if r.status == 405 {
                continue;
            }
            let key = (normalise(path), method.to_owned());
            served.insert(key.clone());
            if !documented.contains(&key) {
                undocumented.push(format!("{method} {path} (answers {})", r.status));
            }
        }
    }
    let registered: BTreeSet<String> = paths.iter().map(|p| normalise(p)).collect();
    let stale: Vec<String> = documented
        .iter()
        .filter(|k| !served.contains(k))
        .map(|(p, m)| {
            if registered.contains(p) {
                format!("{m} {p} (the route answers 405)")
            } else {
                format!("{m} {p} (no such route)")
            }
        })
        .collect();
    let listing = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.join("\n  ")
        }
    };
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "routes served but not in the OpenAPI document (add a #[utoipa::path] to the \
         handler, list it in its module's Doc and name it in openapi::OPERATIONS):\n  {}\n\
         documented operations that are not served:\n  {}",
        listing(&undocumented),
        listing(&stale)
    );
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The registry knows every route only if every route is made through `api::route`:
/// no other place may make resources, scopes or routes of the application.
#[test]
fn routes_are_made_only_through_the_registry() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut offenders = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        let is_registry = file.ends_with("api/mod.rs");
        for (n, line) in text.lines().enumerate() {
            let making = ["web::resource(", "web::scope(", "actix_web::Resource::new("]
                .iter()
                .any(|p| line.contains(p))
                && !is_registry;
            let macro_route = [
                "#[get(",
                "#[post(",
                "#[put(",
                "#[patch(",
                "#[delete(",
                "#[route(",
            ]
            .iter()
            .any(|p| line.trim_start().starts_with(p));
            let app_route = line.contains(".route(\"");
            if making || macro_route || app_route {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes made outside api::route (use api::route or api::resource, so that `m2 \
         routes` and the documentation check know them):\n  {}",
        offenders.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// What every operation says
// ---------------------------------------------------------------------------

/// Every operation of the document as (path, lower-case method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.to_ascii_uppercase().as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// The oldest minor version of an operation: its `x-min-microversion`, else 1.
fn min_minor(op: &Value) -> u16 {
    op["x-min-microversion"]
        .as_str()
        .map(|v| {
            v.strip_prefix("1.")
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| panic!("bad x-min-microversion {v}"))
        })
        .unwrap_or(1)
}

#[test]
fn every_operation_is_named_versioned_and_documents_its_errors() {
    let doc = generated_document();
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for (path, method, op) in operations(&doc) {
        let what = format!("{} {path}", method.to_ascii_uppercase());
        match op["operationId"].as_str() {
            Some(id) if ids.insert(id.to_owned()) => {}
            Some(id) => problems.push(format!("{what}: operationId {id} is not unique")),
            None => problems.push(format!("{what}: no operationId")),
        }
        if op["summary"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{what}: no summary"));
        }
        let description = op["description"].as_str().unwrap_or("");
        let minor = min_minor(&op);
        if minor > 1 && !description.contains(&format!("1.{minor}")) {
            problems.push(format!(
                "{what}: x-min-microversion 1.{minor} is not in the description"
            ));
        }
        if op["x-m2-extension"] == Value::Bool(true) && !description.contains("m2") {
            problems.push(format!("{what}: an m2 extension that does not say so"));
        }
        let responses = op["responses"].as_object().expect("responses");
        if !responses.keys().any(|s| s.starts_with('2')) {
            problems.push(format!("{what}: no success response"));
        }
        for (status, response) in responses {
            let is_error = status.starts_with('4') || status.starts_with('5');
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            if is_error && schema.as_str() != Some("#/components/schemas/ErrorBody") {
                problems.push(format!("{what}: response {status} is not an ErrorBody"));
            }
        }
    }
    let error_body = &doc["components"]["schemas"]["ErrorBody"];
    assert!(
        error_body["properties"]["error_message"].is_object(),
        "no ErrorBody schema: {error_body}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A concrete path for `template`: `{node}` is `node`, other placeholders `dummy`.
fn with_node(template: &str, node: &str) -> String {
    fill(&template.replace("{node}", node), "dummy")
}

#[test]
fn microversion_notes_agree_with_the_server() {
    let doc = generated_document();
    let s = Server::start();
    let node = s.create_node(serde_json::json!({"name": "versions"}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut problems = Vec::new();
    for (template, method, op) in operations(&doc) {
        let path = with_node(&template, &node);
        let what = format!("{} {template}", method.to_ascii_uppercase());
        let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let body = (method != "get" && method != "delete").then(|| b"{}".to_vec());
        let minor = min_minor(&op);
        if minor > 1 {
            // Refused just before its version, answered differently from it on.
            let before = format!("1.{}", minor - 1);
            let at = format!("1.{minor}");
            let old = s.request(m.clone(), &path, Some(&before), &[], body.clone());
            if ![404, 405, 406].contains(&old.status) {
                problems.push(format!(
                    "{what}: noted as 1.{minor} but served at {before} ({} {})",
                    old.status, old.text
                ));
                continue;
            }
            let new = s.request(m, &path, Some(&at), &[], body);
            if (new.status, &new.text) == (old.status, &old.text) {
                problems.push(format!(
                    "{what}: answers the same at {before} and {at} ({} {}): is it newer than noted?",
                    new.status, new.text
                ));
            }
        } else if method == "get" {
            // Served at 1.1 (a GET changes nothing): only a dummy identifier may miss.
            let r = s.request(m, &path, None, &[], None);
            let only_node = !template.replace("{node}", "").contains('{');
            if r.status == 405 || r.status == 406 || (only_node && r.status == 404) {
                problems.push(format!(
                    "{what}: has no x-min-microversion but answers {} at 1.1: {}",
                    r.status, r.text
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Examples from live responses
// ---------------------------------------------------------------------------

/// Where the examples are committed.
const EXAMPLES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/api-ref/examples");

/// The endpoint the examples show instead of the test server's.
const EXAMPLE_BASE: &str = "http://127.0.0.1:6385";

/// How to rewrite the examples.
const REGENERATE: &str = "M2_UPDATE_API_REF=1 cargo nextest run --test api_ref examples";

/// Response headers an example keeps.
const KEPT_HEADERS: &[&str] = &["Content-Type", "Location", "X-OpenStack-Ironic-API-Version"];

/// Records requests and their live responses as examples, or compares them with the
/// committed ones.
struct Examples<'a> {
    s: &'a Server,
    update: bool,
    /// The newest microversion, `1.N`.
    version: String,
    /// operationId → (METHOD, path template).
    operations: BTreeMap<String, (String, String)>,
    recorded: BTreeSet<String>,
    problems: Vec<String>,
}

/// Does `path` (without its query) fit `template`?
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

/// Where the shape (object keys, recursively; JSON documents inside strings too) of
/// `live` differs from `committed`. Values are not compared: UUIDs, times and
/// addresses change from run to run.
fn shape_differences(at: &str, committed: &Value, live: &Value, out: &mut Vec<String>) {
    match (committed, live) {
        (Value::Object(c), Value::Object(l)) => {
            let missing: Vec<&String> = c.keys().filter(|k| !l.contains_key(*k)).collect();
            let added: Vec<&String> = l.keys().filter(|k| !c.contains_key(*k)).collect();
            if !missing.is_empty() || !added.is_empty() {
                out.push(format!(
                    "{at}: keys missing from the live response {missing:?}, new keys {added:?}"
                ));
            }
            for (k, cv) in c {
                if let Some(lv) = l.get(k) {
                    shape_differences(&format!("{at}.{k}"), cv, lv, out);
                }
            }
        }
        (Value::Array(c), Value::Array(l)) => {
            if c.is_empty() != l.is_empty() {
                out.push(format!(
                    "{at}: {} items committed, {} live",
                    c.len(),
                    l.len()
                ));
            }
            for (i, lv) in l.iter().enumerate() {
                if let Some(cv) = c.get(i).or(c.first()) {
                    shape_differences(&format!("{at}[{i}]"), cv, lv, out);
                }
            }
        }
        (Value::String(c), Value::String(l)) => {
            if let (Ok(cv @ Value::Object(_)), Ok(lv @ Value::Object(_))) = (
                serde_json::from_str::<Value>(c),
                serde_json::from_str::<Value>(l),
            ) {
                shape_differences(&format!("{at}(json)"), &cv, &lv, out);
            }
        }
        (c, l) if c.is_object() || c.is_array() || l.is_object() || l.is_array() => {
            out.push(format!("{at}: committed {c}, live {l}"));
        }
        _ => {}
    }
}

impl<'a> Examples<'a> {
    fn new(s: &'a Server, doc: &Value) -> Examples<'a> {
        let operations = operations(doc)
            .into_iter()
            .map(|(path, method, op)| {
                (
                    op["operationId"].as_str().unwrap().to_owned(),
                    (method.to_ascii_uppercase(), path),
                )
            })
            .collect();
        let version = s.get("/", None).expect(200).body["default_version"]["version"]
            .as_str()
            .unwrap()
            .to_owned();
        Examples {
            s,
            update: std::env::var("M2_UPDATE_API_REF").is_ok_and(|v| v == "1"),
            version,
            operations,
            recorded: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// Sends `method path` (with a JSON `body`) at the newest microversion and records
    /// it as example `name`: `<operationId>` or `<operationId>.<case>`, or `error.<case>`
    /// for an answer no operation gives (unknown path, refused method or version).
    #[track_caller]
    fn call(&mut self, name: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let version = self.version.clone();
        self.call_at(name, Some(&version), method, path, body)
    }

    /// [`Examples::call`] at a given microversion (`None`: no version header).
    #[track_caller]
    fn call_at(
        &mut self,
        name: &str,
        version: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        assert!(
            self.recorded.insert(name.to_owned()),
            "example {name} twice"
        );
        let operation = name.split('.').next().unwrap();
        if operation != "error" {
            let (m, template) = self
                .operations
                .get(operation)
                .unwrap_or_else(|| panic!("example {name}: no operation {operation}"));
            assert!(
                *m == method.as_str() && fits(template, path),
                "example {name}: {method} {path} is not {operation} ({m} {template})"
            );
        }
        let r = self.s.request(
            method.clone(),
            path,
            version,
            &[],
            body.as_ref().map(|b| serde_json::to_vec(b).unwrap()),
        );
        let mut request = serde_json::Map::new();
        request.insert("method".into(), json!(method.as_str()));
        request.insert("path".into(), json!(path));
        let mut headers = serde_json::Map::new();
        if let Some(v) = version {
            headers.insert(common::VERSION_HEADER.into(), json!(v));
        }
        if body.is_some() {
            headers.insert("Content-Type".into(), json!("application/json"));
        }
        request.insert("headers".into(), Value::Object(headers));
        if let Some(b) = body {
            request.insert("body".into(), b);
        }
        let mut response_headers = serde_json::Map::new();
        for h in KEPT_HEADERS {
            if let Some(v) = r.header(h) {
                response_headers.insert((*h).into(), json!(v));
            }
        }
        let example = json!({
            "operation": if operation == "error" { Value::Null } else { json!(operation) },
            "request": request,
            "response": {
                "status": r.status,
                "headers": response_headers,
                "body": r.body,
            },
        });
        let text = serde_json::to_string_pretty(&example)
            .unwrap()
            .replace(&self.s.base, EXAMPLE_BASE)
            + "\n";
        let file = PathBuf::from(EXAMPLES_DIR).join(format!("{name}.json"));
        if self.update {
            std::fs::create_dir_all(EXAMPLES_DIR).expect("create api-ref/examples");
            std::fs::write(&file, text).expect("write an example");
            return r;
        }
        let committed: Value = match std::fs::read_to_string(&file) {
            Ok(t) => serde_json::from_str(&t).unwrap_or_else(|e| panic!("{file:?}: {e}")),
            Err(_) => {
                self.problems.push(format!("{name}: not committed"));
                return r;
            }
        };
        let status = &committed["response"]["status"];
        if *status != json!(r.status) {
            self.problems.push(format!(
                "{name}: status {status} committed, {} live: {}",
                r.status, r.text
            ));
        }
        let mut differences = Vec::new();
        shape_differences(
            "body",
            &committed["response"]["body"],
            &example["response"]["body"],
            &mut differences,
        );
        for d in differences {
            self.problems.push(format!("{name}: {d}"));
        }
        r
    }

    /// Fails on any difference, and on committed examples the scenario no longer makes
    /// (which an update removes).
    fn finish(mut self) {
        let committed: Vec<PathBuf> = std::fs::read_dir(EXAMPLES_DIR)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        for path in committed {
            let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
            if path.extension().is_some_and(|e| e == "json") && !self.recorded.contains(name) {
                if self.update {
                    std::fs::remove_file(&path).expect("remove a stale example");
                } else {
                    self.problems
                        .push(format!("{name}: committed but no longer made"));
                }
            }
        }
        assert!(
            self.problems.is_empty(),
            "api-ref/examples/ differs from the live responses:\n  {}\nRegenerate the \
             examples with `{REGENERATE}` and review the diff.",
            self.problems.join("\n  ")
        );
        if self.update {
            eprintln!("wrote {} examples to {EXAMPLES_DIR}", self.recorded.len());
        }
    }
}

// Fixed identifiers, so that regenerated examples differ only in times and request ids.
const NODE0: &str = "f58a41a5-6836-4fa7-8ab4-3caf6a35900b";
const NODE1: &str = "eb851caa-5232-4d0b-af29-e7df3b6c9c7c";
const NODE2: &str = "68729bf9-324c-4ea8-b49d-09dd2974e87f";
const MISSING: &str = "29898f4f-b263-438f-ae2b-4b905bb10160";
const PORT: &str = "69529909-a28a-43df-88e4-d3905e9156c4";
const PORTGROUP: &str = "2d622c37-d70f-41e1-ab24-9d0db02cb21a";
const CHASSIS: &str = "7bc65710-0c2c-4757-bc6f-a87af4303302";
const CONNECTOR: &str = "691e9456-0fac-4e92-8cbc-38e350dbd607";
const TARGET: &str = "404923ea-b680-40a4-b3e6-23dab7a696bc";
const ALLOCATION: &str = "725121b7-9e64-4407-88ec-0647dbafa1e6";
const ALLOCATION2: &str = "50ef0933-bde7-4824-8178-f322514b18b7";
const TEMPLATE: &str = "a9111818-071a-4402-83e5-6475289c2f44";
const IMAGE: &str = "e29b6794-4189-404a-b1ec-fe2637b6d661";
const MAC: &str = "52:54:00:6a:0c:01";

#[test]
fn examples_match_live_responses() {
    let doc = generated_document();
    // No Ceph: the image and volume operations that need it are left out.
    let s = Server::start_with(
        "[DEFAULT]\n\
         enabled_hardware_types = fake-hardware,ipmi\n\
         enabled_power_interfaces = fake,ipmitool\n\
         enabled_management_interfaces = fake,ipmitool\n\
         [conductor]\n\
         sync_power_state_interval = 0\n\
         [ceph]\n\
         conffile = /nonexistent/ceph.conf\n",
    );
    let mut x = Examples::new(&s, &doc);
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );

    // Version discovery
    x.call_at("versions_list", None, get.clone(), "/", None);
    x.call("version_v1", get.clone(), "/v1", None);

    // Errors every resource shares
    x.call_at(
        "error.version_not_acceptable",
        Some("1.999"),
        get.clone(),
        "/v1/nodes",
        None,
    );
    x.call("error.unknown_path", get.clone(), "/v1/no-such-thing", None);
    x.call(
        "error.method_not_allowed",
        delete.clone(),
        "/v1/nodes",
        None,
    );

    // Nodes
    x.call(
        "node_create",
        post.clone(),
        "/v1/nodes",
        Some(json!({
            "uuid": NODE0,
            "name": "node-0",
            "driver": "fake-hardware",
            "driver_info": {"ipmi_address": "192.0.2.10", "ipmi_username": "admin", "ipmi_password": "secret"},
            "properties": {"cpus": 16, "memory_mb": 65536, "local_gb": 400, "cpu_arch": "x86_64"},
        })),
    )
    .expect(201);
    x.call(
        "node_create.name_taken",
        post.clone(),
        "/v1/nodes",
        Some(json!({"name": "node-0", "driver": "fake-hardware"})),
    )
    .expect(409);
    x.call(
        "node_create.invalid_driver",
        post.clone(),
        "/v1/nodes",
        Some(json!({"driver": "no-such-driver"})),
    )
    .expect(400);
    x.call("node_show", get.clone(), "/v1/nodes/node-0", None)
        .expect(200);
    x.call(
        "node_show.not_found",
        get.clone(),
        &format!("/v1/nodes/{MISSING}"),
        None,
    )
    .expect(404);
    x.call("node_list", get.clone(), "/v1/nodes", None)
        .expect(200);
    x.call(
        "node_list.fields",
        get.clone(),
        "/v1/nodes?fields=uuid,name,provision_state,resource_class",
        None,
    )
    .expect(200);
    x.call_at(
        "node_list.parameter_too_new",
        Some("1.64"),
        get.clone(),
        "/v1/nodes?lessee=project-a",
        None,
    )
    .expect(406);
    x.call("node_list_detail", get.clone(), "/v1/nodes/detail", None)
        .expect(200);
    x.call(
        "node_update",
        patch.clone(),
        "/v1/nodes/node-0",
        Some(json!([
            {"op": "replace", "path": "/description", "value": "rack 4, slot 12"},
            {"op": "add", "path": "/extra/asset_tag", "value": "A-0042"},
        ])),
    )
    .expect(200);

    // Provisioning: enroll → manageable
    x.call(
        "node_provision_set",
        put.clone(),
        "/v1/nodes/node-0/states/provision",
        Some(json!({"target": "manage"})),
    )
    .expect(202);
    s.wait_for_state(NODE0, "provision_state", "manageable", WAIT);
    x.call(
        "node_provision_set.invalid_transition",
        put.clone(),
        "/v1/nodes/node-0/states/provision",
        Some(json!({"target": "active"})),
    )
    .expect(400);
    x.call(
        "node_states_show",
        get.clone(),
        "/v1/nodes/node-0/states",
        None,
    )
    .expect(200);
    x.call(
        "node_validate",
        get.clone(),
        "/v1/nodes/node-0/validate",
        None,
    )
    .expect(200);

    // Volume connectors and targets (changed only while the node is powered off)
    x.call("volume_root", get.clone(), "/v1/volume", None)
        .expect(200);
    x.call(
        "node_volume_root",
        get.clone(),
        "/v1/nodes/node-0/volume",
        None,
    )
    .expect(200);
    x.call(
        "volume_connector_create",
        post.clone(),
        "/v1/volume/connectors",
        Some(json!({
            "uuid": CONNECTOR,
            "node_uuid": NODE0,
            "type": "iqn",
            "connector_id": "iqn.2024-01.org.example:node-0",
        })),
    )
    .expect(201);
    x.call(
        "volume_connector_show",
        get.clone(),
        &format!("/v1/volume/connectors/{CONNECTOR}"),
        None,
    )
    .expect(200);
    x.call(
        "volume_connector_list",
        get.clone(),
        "/v1/volume/connectors",
        None,
    )
    .expect(200);
    x.call(
        "node_volume_connector_list",
        get.clone(),
        "/v1/nodes/node-0/volume/connectors",
        None,
    )
    .expect(200);
    x.call(
        "volume_connector_update",
        patch.clone(),
        &format!("/v1/volume/connectors/{CONNECTOR}"),
        Some(json!([{"op": "add", "path": "/extra/fabric", "value": "storage-a"}])),
    )
    .expect(200);
    x.call(
        "volume_target_create",
        post.clone(),
        "/v1/volume/targets",
        Some(json!({
            "uuid": TARGET,
            "node_uuid": NODE0,
            "volume_type": "iscsi",
            "boot_index": 0,
            "volume_id": "04452bed-5367-4202-8bf5-de4335ac56d2",
            "properties": {
                "target_iqn": "iqn.2024-01.org.example:volume-0",
                "target_portal": "192.0.2.20:3260",
                "target_lun": 0,
            },
        })),
    )
    .expect(201);
    x.call(
        "volume_target_show",
        get.clone(),
        &format!("/v1/volume/targets/{TARGET}"),
        None,
    )
    .expect(200);
    x.call(
        "volume_target_list",
        get.clone(),
        "/v1/volume/targets",
        None,
    )
    .expect(200);
    x.call(
        "node_volume_target_list",
        get.clone(),
        "/v1/nodes/node-0/volume/targets",
        None,
    )
    .expect(200);
    x.call(
        "volume_target_update",
        patch.clone(),
        &format!("/v1/volume/targets/{TARGET}"),
        Some(json!([{"op": "add", "path": "/extra/tier", "value": "gold"}])),
    )
    .expect(200);
    x.call(
        "volume_target_delete",
        delete.clone(),
        &format!("/v1/volume/targets/{TARGET}"),
        None,
    )
    .expect(204);
    x.call(
        "volume_connector_delete",
        delete.clone(),
        &format!("/v1/volume/connectors/{CONNECTOR}"),
        None,
    )
    .expect(204);

    // Ports and portgroups
    x.call(
        "portgroup_create",
        post.clone(),
        "/v1/portgroups",
        Some(json!({
            "uuid": PORTGROUP,
            "node_uuid": NODE0,
            "name": "bond0",
            "address": "52:54:00:6a:0c:10",
            "mode": "802.3ad",
            "properties": {"miimon": 100},
        })),
    )
    .expect(201);
    x.call(
        "port_create",
        post.clone(),
        "/v1/ports",
        Some(json!({
            "uuid": PORT,
            "node_uuid": NODE0,
            "address": MAC,
            "pxe_enabled": true,
            "physical_network": "physnet1",
            "local_link_connection": {
                "switch_id": "0a:1b:2c:3d:4e:5f",
                "port_id": "Ethernet1/12",
                "switch_info": "tor-4",
            },
        })),
    )
    .expect(201);
    x.call(
        "port_create.address_taken",
        post.clone(),
        "/v1/ports",
        Some(json!({"node_uuid": NODE0, "address": MAC})),
    )
    .expect(409);
    x.call("port_show", get.clone(), &format!("/v1/ports/{PORT}"), None)
        .expect(200);
    x.call("port_list", get.clone(), "/v1/ports", None)
        .expect(200);
    x.call("port_list_detail", get.clone(), "/v1/ports/detail", None)
        .expect(200);
    x.call(
        "node_port_list",
        get.clone(),
        "/v1/nodes/node-0/ports",
        None,
    )
    .expect(200);
    x.call(
        "node_port_list_detail",
        get.clone(),
        "/v1/nodes/node-0/ports/detail",
        None,
    )
    .expect(200);
    x.call(
        "port_update",
        patch.clone(),
        &format!("/v1/ports/{PORT}"),
        Some(json!([{"op": "replace", "path": "/portgroup_uuid", "value": PORTGROUP}])),
    )
    .expect(200);
    x.call("portgroup_show", get.clone(), "/v1/portgroups/bond0", None)
        .expect(200);
    x.call("portgroup_list", get.clone(), "/v1/portgroups", None)
        .expect(200);
    x.call(
        "portgroup_list_detail",
        get.clone(),
        "/v1/portgroups/detail",
        None,
    )
    .expect(200);
    x.call(
        "node_portgroup_list",
        get.clone(),
        "/v1/nodes/node-0/portgroups",
        None,
    )
    .expect(200);
    x.call(
        "node_portgroup_list_detail",
        get.clone(),
        "/v1/nodes/node-0/portgroups/detail",
        None,
    )
    .expect(200);
    x.call(
        "portgroup_port_list",
        get.clone(),
        "/v1/portgroups/bond0/ports",
        None,
    )
    .expect(200);
    x.call(
        "portgroup_port_list_detail",
        get.clone(),
        "/v1/portgroups/bond0/ports/detail",
        None,
    )
    .expect(200);
    x.call(
        "portgroup_update",
        patch.clone(),
        "/v1/portgroups/bond0",
        Some(json!([{"op": "replace", "path": "/mode", "value": "active-backup"}])),
    )
    .expect(200);
    x.call(
        "portgroup_delete.not_empty",
        delete.clone(),
        "/v1/portgroups/bond0",
        None,
    )
    .expect(400);

    // Management of a manageable node
    x.call(
        "node_boot_device_set",
        put.clone(),
        "/v1/nodes/node-0/management/boot_device",
        Some(json!({"boot_device": "pxe", "persistent": true})),
    )
    .expect(204);
    x.call(
        "node_boot_device_show",
        get.clone(),
        "/v1/nodes/node-0/management/boot_device",
        None,
    )
    .expect(200);
    x.call(
        "node_boot_device_supported",
        get.clone(),
        "/v1/nodes/node-0/management/boot_device/supported",
        None,
    )
    .expect(200);
    x.call(
        "node_trait_set_all",
        put.clone(),
        "/v1/nodes/node-0/traits",
        Some(json!({"traits": ["CUSTOM_GPU", "HW_CPU_X86_VMX"]})),
    )
    .expect(204);
    x.call(
        "node_trait_add",
        put.clone(),
        "/v1/nodes/node-0/traits/CUSTOM_RAID1",
        None,
    )
    .expect(204);
    x.call(
        "node_trait_list",
        get.clone(),
        "/v1/nodes/node-0/traits",
        None,
    )
    .expect(200);
    x.call(
        "node_trait_remove",
        delete.clone(),
        "/v1/nodes/node-0/traits/CUSTOM_RAID1",
        None,
    )
    .expect(204);
    x.call("node_bios_list", get.clone(), "/v1/nodes/node-0/bios", None)
        .expect(200);
    x.call(
        "node_bios_show.not_found",
        get.clone(),
        "/v1/nodes/node-0/bios/LogicalProc",
        None,
    )
    .expect(404);
    x.call(
        "node_indicator_list",
        get.clone(),
        "/v1/nodes/node-0/management/indicators",
        None,
    )
    .expect(200);
    x.call(
        "node_indicator_set",
        put.clone(),
        "/v1/nodes/node-0/management/indicators/led@system",
        Some(json!({"state": "blinking"})),
    )
    .expect(204);
    x.call(
        "node_indicator_show",
        get.clone(),
        "/v1/nodes/node-0/management/indicators/led@system",
        None,
    )
    .expect(200);
    x.call(
        "node_maintenance_set",
        put.clone(),
        "/v1/nodes/node-0/maintenance",
        Some(json!({"reason": "replacing a DIMM"})),
    )
    .expect(202);
    s.wait_for(NODE0, WAIT, |n| n["maintenance"] == json!(true))
        .expect("maintenance on");
    x.call(
        "node_maintenance_unset",
        delete.clone(),
        "/v1/nodes/node-0/maintenance",
        None,
    )
    .expect(202);
    s.wait_for(NODE0, WAIT, |n| n["maintenance"] == json!(false))
        .expect("maintenance off");

    // Chassis, and a node in it that is deleted
    x.call(
        "chassis_create",
        post.clone(),
        "/v1/chassis",
        Some(json!({"uuid": CHASSIS, "description": "Rack 4", "extra": {"room": "B2"}})),
    )
    .expect(201);
    s.create_node(json!({"uuid": NODE2, "name": "node-2", "chassis_uuid": CHASSIS}));
    x.call(
        "chassis_show",
        get.clone(),
        &format!("/v1/chassis/{CHASSIS}"),
        None,
    )
    .expect(200);
    x.call("chassis_list", get.clone(), "/v1/chassis", None)
        .expect(200);
    x.call(
        "chassis_list_detail",
        get.clone(),
        "/v1/chassis/detail",
        None,
    )
    .expect(200);
    x.call(
        "chassis_node_list",
        get.clone(),
        &format!("/v1/chassis/{CHASSIS}/nodes"),
        None,
    )
    .expect(200);
    x.call(
        "chassis_node_list_detail",
        get.clone(),
        &format!("/v1/chassis/{CHASSIS}/nodes/detail"),
        None,
    )
    .expect(200);
    x.call(
        "chassis_update",
        patch.clone(),
        &format!("/v1/chassis/{CHASSIS}"),
        Some(json!([{"op": "replace", "path": "/description", "value": "Rack 4, row B"}])),
    )
    .expect(200);
    x.call(
        "chassis_delete.not_empty",
        delete.clone(),
        &format!("/v1/chassis/{CHASSIS}"),
        None,
    )
    .expect(400);
    x.call("node_delete", delete.clone(), "/v1/nodes/node-2", None)
        .expect(204);
    x.call(
        "chassis_delete",
        delete.clone(),
        &format!("/v1/chassis/{CHASSIS}"),
        None,
    )
    .expect(204);

    // Drivers and conductors
    x.call("driver_list", get.clone(), "/v1/drivers", None)
        .expect(200);
    x.call(
        "driver_list.detail",
        get.clone(),
        "/v1/drivers?detail=True",
        None,
    )
    .expect(200);
    x.call(
        "driver_show",
        get.clone(),
        "/v1/drivers/fake-hardware",
        None,
    )
    .expect(200);
    x.call(
        "driver_show.not_found",
        get.clone(),
        "/v1/drivers/no-such-driver",
        None,
    )
    .expect(404);
    x.call(
        "driver_properties",
        get.clone(),
        "/v1/drivers/ipmi/properties",
        None,
    )
    .expect(200);
    x.call(
        "driver_raid_logical_disk_properties",
        get.clone(),
        "/v1/drivers/fake-hardware/raid/logical_disk_properties",
        None,
    )
    .expect(200);
    x.call("conductor_list", get.clone(), "/v1/conductors", None)
        .expect(200);
    x.call(
        "conductor_show",
        get.clone(),
        "/v1/conductors/test-conductor",
        None,
    )
    .expect(200);

    // manageable → available; an allocation picks node-1 by resource class
    x.call(
        "node_provision_set.provide",
        put.clone(),
        "/v1/nodes/node-0/states/provision",
        Some(json!({"target": "provide"})),
    )
    .expect(202);
    s.wait_for_state(NODE0, "provision_state", "available", WAIT);
    s.create_node(json!({"uuid": NODE1, "name": "node-1", "resource_class": "baremetal-large"}));
    s.provision(NODE1, json!({"target": "manage"}));
    s.wait_for_state(NODE1, "provision_state", "manageable", WAIT);
    s.provision(NODE1, json!({"target": "provide"}));
    s.wait_for_state(NODE1, "provision_state", "available", WAIT);
    x.call(
        "allocation_create",
        post.clone(),
        "/v1/allocations",
        Some(json!({
            "uuid": ALLOCATION,
            "name": "alloc-0",
            "resource_class": "baremetal-large",
            "extra": {"requested_by": "docs"},
        })),
    )
    .expect(201);
    s.wait_for(NODE1, WAIT, |n| n["allocation_uuid"] == json!(ALLOCATION))
        .expect("node-1 allocated");
    x.call(
        "allocation_show",
        get.clone(),
        "/v1/allocations/alloc-0",
        None,
    )
    .expect(200);
    x.call("allocation_list", get.clone(), "/v1/allocations", None)
        .expect(200);
    x.call(
        "node_allocation_show",
        get.clone(),
        "/v1/nodes/node-1/allocation",
        None,
    )
    .expect(200);
    x.call(
        "allocation_update",
        patch.clone(),
        "/v1/allocations/alloc-0",
        Some(json!([{"op": "add", "path": "/extra/ticket", "value": "OPS-1234"}])),
    )
    .expect(200);
    x.call(
        "allocation_delete",
        delete.clone(),
        "/v1/allocations/alloc-0",
        None,
    )
    .expect(204);
    s.post(
        "/v1/allocations",
        LATEST,
        &json!({"uuid": ALLOCATION2, "resource_class": "baremetal-large"}),
    )
    .expect(201);
    s.wait_for(NODE1, WAIT, |n| n["allocation_uuid"] == json!(ALLOCATION2))
        .expect("node-1 allocated again");
    x.call(
        "node_allocation_delete",
        delete.clone(),
        "/v1/nodes/node-1/allocation",
        None,
    )
    .expect(204);
    x.call(
        "node_recover.unsuitable",
        post.clone(),
        "/v1/nodes/node-0/recover",
        Some(json!({"spare": "node-1"})),
    )
    .expect(400);

    // VIFs, on node-0's free port
    x.call(
        "node_vif_attach",
        post.clone(),
        "/v1/nodes/node-0/vifs",
        Some(json!({"id": "1974dcfa-836f-41b2-b541-686c100900e5"})),
    )
    .expect(204);
    x.call("node_vif_list", get.clone(), "/v1/nodes/node-0/vifs", None)
        .expect(200);
    x.call_at(
        "node_vif_list.version_too_old",
        Some("1.27"),
        get.clone(),
        "/v1/nodes/node-0/vifs",
        None,
    );
    x.call(
        "node_vif_detach",
        delete.clone(),
        "/v1/nodes/node-0/vifs/1974dcfa-836f-41b2-b541-686c100900e5",
        None,
    )
    .expect(204);

    x.call(
        "port_delete",
        delete.clone(),
        &format!("/v1/ports/{PORT}"),
        None,
    )
    .expect(204);
    x.call(
        "portgroup_delete",
        delete.clone(),
        "/v1/portgroups/bond0",
        None,
    )
    .expect(204);

    x.call(
        "node_raid_set",
        put.clone(),
        "/v1/nodes/node-0/states/raid",
        Some(
            json!({"logical_disks": [{"size_gb": 100, "raid_level": "1", "is_root_volume": true}]}),
        ),
    )
    .expect(204);
    // available → active, then power and console
    x.call(
        "node_provision_set.deploy",
        put.clone(),
        "/v1/nodes/node-0/states/provision",
        Some(json!({"target": "active", "configdrive": {"meta_data": {"hostname": "web-0"}}})),
    )
    .expect(202);
    s.wait_for_state(NODE0, "provision_state", "active", WAIT);
    x.call(
        "node_power_set",
        put.clone(),
        "/v1/nodes/node-0/states/power",
        Some(json!({"target": "rebooting"})),
    )
    .expect(202);
    s.wait_for(NODE0, WAIT, |n| n["target_power_state"].is_null())
        .expect("rebooted");
    x.call(
        "node_inject_nmi",
        put.clone(),
        "/v1/nodes/node-0/management/inject_nmi",
        Some(json!({})),
    )
    .expect(204);
    x.call(
        "node_console_set",
        put.clone(),
        "/v1/nodes/node-0/states/console",
        Some(json!({"enabled": true})),
    )
    .expect(202);
    s.wait_for(NODE0, WAIT, |n| n["console_enabled"] == json!(true))
        .expect("console on");
    x.call(
        "node_console_show",
        get.clone(),
        "/v1/nodes/node-0/states/console",
        None,
    )
    .expect(200);
    x.call(
        "node_trait_remove_all",
        delete.clone(),
        "/v1/nodes/node-0/traits",
        None,
    )
    .expect(204);

    // Deploy templates and events
    x.call(
        "deploy_template_create",
        post.clone(),
        "/v1/deploy_templates",
        Some(json!({
            "uuid": TEMPLATE,
            "name": "CUSTOM_HYPERTHREADING_ON",
            "steps": [{
                "interface": "bios",
                "step": "apply_configuration",
                "args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}]},
                "priority": 150,
            }],
        })),
    )
    .expect(201);
    x.call(
        "deploy_template_show",
        get.clone(),
        "/v1/deploy_templates/CUSTOM_HYPERTHREADING_ON",
        None,
    )
    .expect(200);
    x.call(
        "deploy_template_list",
        get.clone(),
        "/v1/deploy_templates",
        None,
    )
    .expect(200);
    x.call(
        "deploy_template_update",
        patch.clone(),
        &format!("/v1/deploy_templates/{TEMPLATE}"),
        Some(json!([{"op": "add", "path": "/extra/owner", "value": "hpc"}])),
    )
    .expect(200);
    x.call(
        "deploy_template_delete",
        delete.clone(),
        &format!("/v1/deploy_templates/{TEMPLATE}"),
        None,
    )
    .expect(204);
    x.call(
        "event_create",
        post.clone(),
        "/v1/events",
        Some(json!({"events": [{
            "event": "network.bind_port",
            "port_id": "d4a9c5a4-8b26-4a4e-9a4a-0c0c5a0d8f3e",
            "mac_address": MAC,
            "status": "ACTIVE",
            "device_id": NODE0,
            "binding:host_id": NODE0,
            "binding:vnic_type": "baremetal",
        }]})),
    )
    .expect(204);

    // m2's images (without Ceph: records, no data) and volumes
    x.call(
        "image_create",
        post.clone(),
        "/v1/images",
        Some(json!({
            "uuid": IMAGE,
            "name": "debian-12",
            "visibility": "public",
            "disk_format": "qcow2",
            "extra": {"os_distro": "debian"},
        })),
    )
    .expect(201);
    x.call("image_show", get.clone(), "/v1/images/debian-12", None)
        .expect(200);
    x.call("image_list", get.clone(), "/v1/images", None)
        .expect(200);
    x.call(
        "image_update",
        patch.clone(),
        "/v1/images/debian-12",
        Some(json!([{"op": "add", "path": "/extra/os_version", "value": "12"}])),
    )
    .expect(200);
    x.call(
        "image_download.no_data",
        get.clone(),
        "/v1/images/debian-12/file",
        None,
    )
    .expect(400);
    x.call(
        "image_upload.not_found",
        put.clone(),
        &format!("/v1/images/{MISSING}/file"),
        None,
    )
    .expect(404);
    x.call(
        "image_delete.not_found",
        delete.clone(),
        &format!("/v1/images/{MISSING}"),
        None,
    )
    .expect(404);
    x.call("volume_list", get.clone(), "/v1/volumes", None)
        .expect(200);
    x.call(
        "volume_create.invalid",
        post.clone(),
        "/v1/volumes",
        Some(json!({"name": "data-0"})),
    )
    .expect(400);
    x.call(
        "volume_update.not_found",
        patch.clone(),
        "/v1/volumes/data-0",
        Some(json!([{"op": "replace", "path": "/name", "value": "data-1"}])),
    )
    .expect(404);
    x.call(
        "volume_delete.not_found",
        delete.clone(),
        "/v1/volumes/data-0",
        None,
    )
    .expect(404);
    x.call(
        "volume_show.not_found",
        get.clone(),
        "/v1/volumes/data-0",
        None,
    )
    .expect(404);

    // m2's network boot
    x.call_at(
        "boot_chain_script",
        None,
        get.clone(),
        "/boot/boot.ipxe",
        None,
    )
    .expect(200);
    x.call_at(
        "boot_node_script",
        None,
        get.clone(),
        "/boot/52-54-00-ff-ff-01.ipxe",
        None,
    )
    .expect(200);

    x.finish();
}

// ---------------------------------------------------------------------------
// The HTML reference
// ---------------------------------------------------------------------------

#[test]
fn html_reference_builds_with_every_operation() {
    if Command::new("python3").arg("--version").output().is_err() {
        common::skip(
            "html_reference_builds_with_every_operation",
            "python3 is not installed",
        );
        return;
    }
    let out = tempfile::tempdir().expect("temp dir");
    let run = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/build-api-ref.sh"
    ))
    .arg("--out")
    .arg(out.path())
    .output()
    .expect("run scripts/build-api-ref.sh");
    assert!(
        run.status.success(),
        "scripts/build-api-ref.sh failed: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let page = std::fs::read_to_string(out.path().join("index.html")).expect("index.html");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api-ref/openapi.json"))
            .expect("read api-ref/openapi.json"),
    )
    .expect("valid JSON");
    let mut missing = Vec::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default();
        if !page.contains(&format!("<code class=\"path\">{path}</code>"))
            || !page.contains(&format!("id=\"{id}\""))
        {
            missing.push(format!("{} {path} ({id})", method.to_ascii_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "operations missing from the HTML reference:\n  {}",
        missing.join("\n  ")
    );
    // Self-contained: nothing is fetched from elsewhere.
    for outside in ["<script", "<link ", " src=", "@import", "url("] {
        assert!(
            !page.contains(outside),
            "the page loads something ({outside}): it must read offline"
        );
    }
    // The prose and the recorded examples are in.
    assert!(page.contains("Provision states"), "README.md prose missing");
    assert!(
        page.contains("Example:") && page.contains("error_message"),
        "examples missing"
    );
}
