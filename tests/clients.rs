//! The real OpenStack clients against the real `m2` binary: the `openstack baremetal`
//! CLI (python-openstackclient + python-ironicclient) through a node's whole life, and
//! openstacksdk making the calls Nova's ironic driver makes. The scripts live in
//! `tests/cli/` and check every answer themselves; these tests run them and require
//! their success summary.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::Value;

/// The virtualenv holding the clients (`scripts/install-test-deps.sh` creates it).
fn venv() -> Option<PathBuf> {
    let v = clients_venv();
    v.join("bin/openstack").exists().then_some(v)
}

/// Runs a client script and returns its JSON summary (the last line of stdout).
fn run(test: &str, program: &str, args: &[&str]) -> Option<Value> {
    let Some(venv) = venv() else {
        skip(
            test,
            "no virtualenv with the OpenStack clients (run scripts/install-test-deps.sh)",
        );
        return None;
    };
    let out = Command::new(program)
        .args(args)
        .env("M2_TEST_VENV", &venv)
        .env(
            "PATH",
            format!(
                "{}/bin:{}",
                venv.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("run client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{program} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    let summary: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{program}: last line is not a JSON summary ({e}): {last}"));
    Some(summary)
}

#[test]
fn openstack_baremetal_cli_drives_a_node_through_its_life() {
    let s = Server::start();
    let script = repo_root().join("tests/cli/osc_flow.sh");
    let Some(summary) = run(
        "openstack_baremetal_cli_drives_a_node_through_its_life",
        "bash",
        &[script.to_str().unwrap(), &s.base],
    ) else {
        return;
    };
    assert_eq!(summary["result"], "ok", "{summary}");
    assert!(summary["checks"].as_u64().unwrap_or(0) >= 40, "{summary}");
    // Nothing left behind.
    let nodes = s.get("/v1/nodes", LATEST).expect(200).body.clone();
    assert_eq!(nodes["nodes"].as_array().map(Vec::len), Some(0), "{nodes}");
}

#[test]
fn openstacksdk_drives_a_node_as_nova_does() {
    let s = Server::start();
    let script = repo_root().join("tests/cli/sdk_nova_flow.py");
    let Some(venv) = venv() else {
        skip(
            "openstacksdk_drives_a_node_as_nova_does",
            "no virtualenv with openstacksdk",
        );
        return;
    };
    let python = venv.join("bin/python");
    let Some(summary) = run(
        "openstacksdk_drives_a_node_as_nova_does",
        python.to_str().unwrap(),
        &[script.to_str().unwrap(), "--endpoint", &s.base],
    ) else {
        return;
    };
    assert_eq!(summary["result"], "ok", "{summary}");
    assert_eq!(summary["vif"]["recorded"], true, "{summary}");
    for (iface, ok) in summary["validate"].as_object().expect("validate results") {
        assert_eq!(
            ok,
            &Value::Bool(true),
            "{iface} did not validate: {summary}"
        );
    }
}
