//! The committed API reference matches what the code generates.

use std::process::Command;

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
