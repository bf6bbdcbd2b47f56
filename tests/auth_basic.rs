//! `auth_strategy = http_basic` with a real htpasswd file (bcrypt hashes), and the
//! secret-revealing policy rules (`show_password`, `show_instance_secrets`), which
//! apply whatever the auth strategy.

mod common;

use std::process::Command;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::json;

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// An htpasswd file in `dir` with these users; its path.
fn htpasswd(dir: &std::path::Path, users: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join("htpasswd");
    let text: String = users
        .iter()
        .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 5).unwrap()))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn basic_config(file: &std::path::Path, extra: &str) -> String {
    format!(
        "[DEFAULT]\nauth_strategy = http_basic\nhttp_basic_auth_user_file = {}\n{extra}",
        file.display()
    )
}

#[test]
fn http_basic_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = htpasswd(dir.path(), &[("alice", "wonder-land"), ("bob", "b0b")]);
    let s = Server::start_with(&basic_config(&file, ""));

    // Refused: no credentials, a wrong password, an unknown user; each a 401 in
    // Ironic's error body with the Basic challenge, and nothing created.
    let body = serde_json::to_vec(&json!({"driver": "fake-hardware", "name": "n0"})).unwrap();
    let refused: &[(Option<String>, &str)] = &[
        (None, "Authorization required"),
        (
            Some(basic("alice", "wrong")),
            "Incorrect username or password",
        ),
        (
            Some(basic("mallory", "wonder-land")),
            "Incorrect username or password",
        ),
        (Some(basic("alice", "")), "Incorrect username or password"),
    ];
    for (auth, msg) in refused {
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| ("Authorization", a))
            .into_iter()
            .collect();
        let r = s.request(
            Method::POST,
            "/v1/nodes",
            LATEST,
            &headers,
            Some(body.clone()),
        );
        r.expect_fault(401, msg);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"Baremetal API\""),
            "{auth:?}"
        );
        assert_error_format(&r);
    }
    // Unreadable credentials are a 400, as in Ironic.
    for (auth, msg) in [
        ("Basic", "Could not parse Authorization header"),
        ("Bearer abc", "Unsupported authorization type \"Bearer\""),
        ("Basic %%%", "Could not decode authorization token"),
    ] {
        let r = s.request(
            Method::GET,
            "/v1/nodes",
            LATEST,
            &[("Authorization", auth)],
            None,
        );
        r.expect_fault(400, msg);
    }
    // The version documents stay public.
    s.get("/", NOVER).expect(200);
    s.get("/v1", NOVER).expect(200);

    // A known user is an administrator.
    let alice = basic("alice", "wonder-land");
    let as_alice = [("Authorization", alice.as_str())];
    let r = s.request(Method::GET, "/v1/nodes", LATEST, &as_alice, None);
    assert_eq!(
        r.expect(200).body["nodes"],
        json!([]),
        "nothing was created"
    );
    s.request(
        Method::POST,
        "/v1/nodes",
        LATEST,
        &as_alice,
        Some(
            serde_json::to_vec(&json!({"driver": "fake-hardware", "name": "n1",
                "driver_info": {"ipmi_password": "hunter2", "ipmi_address": "10.0.0.9"}}))
            .unwrap(),
        ),
    )
    .expect(201);
    let r = s
        .request(Method::GET, "/v1/nodes/n1", LATEST, &as_alice, None)
        .expect(200);
    assert_eq!(r.body["driver_info"]["ipmi_password"], "******");
    assert_eq!(r.body["driver_info"]["ipmi_address"], "10.0.0.9");
    let bob = basic("bob", "b0b");
    s.request(
        Method::GET,
        "/v1/conductors",
        LATEST,
        &[("Authorization", bob.as_str())],
        None,
    )
    .expect(200);

    // The file is read again when it changes: bob's removal takes effect without a
    // restart, alice keeps working.
    std::thread::sleep(std::time::Duration::from_millis(20));
    htpasswd(dir.path(), &[("alice", "wonder-land")]);
    s.request(
        Method::GET,
        "/v1/nodes",
        LATEST,
        &[("Authorization", bob.as_str())],
        None,
    )
    .expect_fault(401, "Incorrect username or password");
    s.request(Method::GET, "/v1/nodes", LATEST, &as_alice, None)
        .expect(200);

    // The real CLI with keystoneauth's http_basic plugin.
    let cli = clients_venv().join("bin/openstack");
    if !cli.exists() {
        skip(
            "http_basic_credentials (openstack CLI)",
            "no virtualenv with the OpenStack clients (run scripts/install-test-deps.sh)",
        );
        return;
    }
    let run = |password: &str| {
        Command::new(&cli)
            .args(["baremetal", "node", "list", "-f", "value", "-c", "Name"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("OS_AUTH_TYPE", "http_basic")
            .env("OS_ENDPOINT", s.url(""))
            .env("OS_USERNAME", "alice")
            .env("OS_PASSWORD", password)
            .output()
            .expect("run openstack")
    };
    let out = run("wonder-land");
    assert!(
        out.status.success(),
        "openstack with http_basic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "n1");
    let out = run("nope");
    assert!(!out.status.success(), "a wrong password was accepted");
}

#[test]
fn a_bad_htpasswd_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    std::fs::write(&file, "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n").unwrap();
    let conf = write_config(dir.path(), &basic_config(&file, ""));
    let (ok, _, stderr) = run_m2(&conf, &["dbsync"]);
    // dbsync does not authenticate anyone; the API does, and refuses to start.
    assert!(ok, "{stderr}");
    let started = std::panic::catch_unwind(|| Server::start_with(&basic_config(&file, "")));
    let msg = match started {
        Ok(_) => panic!("m2 started with a SHA-1 htpasswd entry"),
        Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(
        msg.contains("http_basic_auth_user_file") && msg.contains("bcrypt"),
        "{msg}"
    );
    let missing = dir.path().join("absent");
    let started = std::panic::catch_unwind(|| Server::start_with(&basic_config(&missing, "")));
    assert!(started.is_err(), "m2 started without its htpasswd file");
}

#[test]
fn secrets_follow_show_password_and_show_instance_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let node = json!({"driver": "fake-hardware", "name": "n1",
        "driver_info": {"ipmi_password": "hunter2", "ipmi_username": "root"},
        "instance_info": {"image_source": "img", "image_url": "http://swift/temp?sig=1",
                          "configdrive": "H4sIAAAA"}});
    // Defaults: nobody sees them, not even noauth's administrator.
    let s = Server::start();
    s.create_node(node.clone());
    let n = s.get("/v1/nodes/n1", LATEST).expect(200).body;
    assert_eq!(n["driver_info"]["ipmi_password"], "******");
    assert_eq!(n["driver_info"]["ipmi_username"], "root");
    assert_eq!(n["instance_info"]["configdrive"], "******");
    assert_eq!(n["instance_info"]["image_url"], "******");
    assert_eq!(n["instance_info"]["image_source"], "img");
    let list = s.get("/v1/nodes/detail", LATEST).expect(200).body;
    assert_eq!(list["nodes"][0]["driver_info"]["ipmi_password"], "******");
    drop(s);

    // An operator's policy file opens them to whom it names.
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "\"show_password\": \"role:admin\"\n\"show_instance_secrets\": \"role:admin\"\n",
    )
    .unwrap();
    let s = Server::start_with(&format!(
        "[oslo_policy]\npolicy_file = {}\n",
        policy.display()
    ));
    s.create_node(node);
    let n = s.get("/v1/nodes/n1", LATEST).expect(200).body;
    assert_eq!(n["driver_info"]["ipmi_password"], "hunter2");
    assert_eq!(n["instance_info"]["configdrive"], "H4sIAAAA");
    assert_eq!(n["instance_info"]["image_url"], "http://swift/temp?sig=1");
}
