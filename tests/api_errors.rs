//! Bad input of every kind: each request must be refused with the right status in
//! Ironic's error body, and must leave every node as it was (no partial write).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A server with two nodes: one in `enroll` and one `available` named "target".
fn setup() -> (Server, String) {
    let s = Server::start_with("[api]\nmax_body_size = 4096\n");
    s.create_node(json!({"name": "bystander", "extra": {"a": 1}}));
    let id =
        s.create_node(json!({"name": "target", "driver_info": {"ipmi_password": "pw"}}))["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
    s.provision(&id, json!({"target": "manage"}));
    s.wait_for_state(&id, "provision_state", "manageable", WAIT);
    s.provision(&id, json!({"target": "provide"}));
    s.wait_for_state(&id, "provision_state", "available", WAIT);
    (s, id)
}

/// One bad request: what to send and what must come back.
struct Case {
    what: String,
    method: Method,
    path: String,
    version: Option<&'static str>,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<Vec<u8>>,
    status: u16,
    /// A part of the faultstring (or of the description, for routing errors).
    needle: String,
}

fn case(
    what: &str,
    method: Method,
    path: &str,
    body: Option<&[u8]>,
    status: u16,
    needle: &str,
) -> Case {
    Case {
        what: what.to_owned(),
        method,
        path: path.to_owned(),
        version: LATEST,
        headers: Vec::new(),
        body: body.map(<[u8]>::to_vec),
        status,
        needle: needle.to_owned(),
    }
}

fn json_case(
    what: &str,
    method: Method,
    path: &str,
    body: Value,
    status: u16,
    needle: &str,
) -> Case {
    case(
        what,
        method,
        path,
        Some(&serde_json::to_vec(&body).unwrap()),
        status,
        needle,
    )
}

/// Sends every case; after each, every node must be exactly as before.
fn run(s: &Server, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let before = s.snapshot();
        let r = s.request(
            c.method.clone(),
            &c.path,
            c.version,
            &c.headers,
            c.body.clone(),
        );
        let label = format!("{} ({} {})", c.what, c.method, c.path);
        if r.status != c.status {
            failures.push(format!(
                "{label}: expected {}, got {}: {}",
                c.status, r.status, r.text
            ));
            continue;
        }
        if let Some(problem) = check_error_format(&r) {
            failures.push(format!("{label}: {problem}"));
            continue;
        }
        let inner: Value = serde_json::from_str(r.body["error_message"].as_str().unwrap()).unwrap();
        let msg = inner
            .get("faultstring")
            .or_else(|| inner.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !msg.contains(&c.needle) {
            failures.push(format!("{label}: message {msg:?} lacks {:?}", c.needle));
        }
        if s.snapshot() != before {
            failures.push(format!("{label}: the nodes changed after a {}", r.status));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn malformed_and_non_object_bodies() {
    let (s, id) = setup();
    let node = format!("/v1/nodes/{id}");
    let endpoints: Vec<(Method, String)> = vec![
        (Method::POST, "/v1/nodes".into()),
        (Method::PATCH, node.clone()),
        (Method::PUT, format!("{node}/states/provision")),
        (Method::PUT, format!("{node}/states/power")),
        (Method::PUT, format!("{node}/states/console")),
        (Method::PUT, format!("{node}/maintenance")),
        (Method::PUT, format!("{node}/management/boot_device")),
        (Method::PUT, format!("{node}/traits")),
        (Method::POST, format!("{node}/vifs")),
    ];
    let mut cases = Vec::new();
    for (m, p) in &endpoints {
        for (what, body) in [
            ("truncated JSON", &b"{\"driver\": \"fake-hardware\""[..]),
            ("single quotes", b"{'driver': 'fake-hardware'}"),
            ("trailing comma", b"{\"a\": 1,}"),
            ("garbage", b"this is not json"),
            ("two documents", b"{} {}"),
            ("NaN", b"{\"a\": NaN}"),
            ("invalid UTF-8", b"{\"a\": \"\xff\xfe\"}"),
            ("unbalanced", b"[[[[{"),
        ] {
            cases.push(case(what, m.clone(), p, Some(body), 400, ""));
        }
        let non_object: &[&[u8]] = if *m == Method::PATCH {
            // A patch must be a non-empty array of operations.
            &[b"{}", b"\"str\"", b"1", b"null", b"true", b"[]"]
        } else if p.ends_with("/maintenance") {
            &[b"[]", b"\"str\"", b"1", b"true"]
        } else {
            &[b"[]", b"\"str\"", b"1", b"null", b"true", b"[{}]"]
        };
        for body in non_object {
            cases.push(case(
                &format!("non-object body {}", String::from_utf8_lossy(body)),
                m.clone(),
                p,
                Some(body),
                400,
                "",
            ));
        }
        if !p.ends_with("/maintenance") {
            cases.push(case("empty body", m.clone(), p, Some(b""), 400, ""));
            cases.push(case("no body", m.clone(), p, None, 400, ""));
        }
    }
    run(&s, cases);
}

#[test]
fn node_create_wrong_types_and_unknown_fields() {
    let (s, _) = setup();
    let base = json!({"driver": "fake-hardware"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let mut cases = Vec::new();
    // (field, bad value, message part)
    let table: Vec<(&str, Value, &str)> = vec![
        ("driver", json!(5), ""),
        ("driver", json!(""), ""),
        ("driver", json!(null), ""),
        ("driver", json!(["fake-hardware"]), ""),
        (
            "driver",
            json!("no-such-driver"),
            "No valid host was found. Reason: No conductor service registered which supports driver no-such-driver for conductor group \"\". Ensure the driver is valid and enabled.",
        ),
        ("name", json!(123), ""),
        ("name", json!({"n": 1}), ""),
        ("name", json!("has space"), ""),
        ("name", json!("x".repeat(300)), ""),
        ("uuid", json!("not-a-uuid"), "not-a-uuid"),
        ("uuid", json!(12), ""),
        ("uuid", json!("1be26c0b-03f2-4d2e-ae87-c02d7f33c12"), ""),
        ("instance_uuid", json!("nope"), ""),
        ("instance_uuid", json!(7), ""),
        ("chassis_uuid", json!("nope"), ""),
        ("chassis_uuid", json!(1), ""),
        ("driver_info", json!("x"), ""),
        ("driver_info", json!([1]), ""),
        ("properties", json!([]), ""),
        ("properties", json!(4), ""),
        ("extra", json!(5), ""),
        ("extra", json!("e"), ""),
        ("instance_info", json!(true), ""),
        ("resource_class", json!(5), ""),
        ("resource_class", json!("r".repeat(100)), ""),
        ("conductor_group", json!({}), ""),
        ("conductor_group", json!("bad group!"), ""),
        ("automated_clean", json!("maybe"), ""),
        ("automated_clean", json!(3), ""),
        ("protected", json!("x"), ""),
        ("protected", json!(true), "protected"),
        ("retired", json!("yes please"), ""),
        ("owner", json!(1), ""),
        ("lessee", json!([]), ""),
        ("description", json!(5), ""),
        ("description", json!("d".repeat(5000)), ""),
        ("network_interface", json!(5), ""),
        ("network_interface", json!("no-such-net"), "no-such-net"),
        (
            "deploy_interface",
            json!("no-such-deploy"),
            "no-such-deploy",
        ),
        ("boot_interface", json!(""), ""),
        ("rescue_interface", json!(["fake"]), ""),
        (
            "bogus_field",
            json!(1),
            "Schema error for node: Additional properties are not allowed ('bogus_field' was unexpected)",
        ),
        (
            "provision_state",
            json!("active"),
            "'provision_state' was unexpected",
        ),
        (
            "power_state",
            json!("power on"),
            "'power_state' was unexpected",
        ),
        ("reservation", json!("me"), "'reservation' was unexpected"),
        (
            "created_at",
            json!("2020-01-01T00:00:00"),
            "'created_at' was unexpected",
        ),
        ("traits", json!(["CUSTOM_X"]), "'traits' was unexpected"),
        ("maintenance", json!(true), "'maintenance' was unexpected"),
    ];
    for (field, value, needle) in table {
        let status = if field == "description" && value.as_str().is_some_and(|d| d.len() > 4096) {
            413
        } else {
            400
        };
        cases.push(json_case(
            &format!(
                "create with {field}={}",
                value.to_string().chars().take(40).collect::<String>()
            ),
            Method::POST,
            "/v1/nodes",
            with(field, value),
            status,
            needle,
        ));
    }
    cases.push(json_case(
        "create without driver",
        Method::POST,
        "/v1/nodes",
        json!({"name": "x"}),
        400,
        "'driver' is a required property",
    ));
    cases.push(json_case(
        "create with a duplicate name",
        Method::POST,
        "/v1/nodes",
        json!({"driver": "fake-hardware", "name": "target"}),
        409,
        "A node with name target already exists.",
    ));
    // Fields newer than the requested version are not acceptable (406), as in Ironic.
    let mut c = json_case(
        "name at 1.4",
        Method::POST,
        "/v1/nodes",
        json!({"driver": "fake-hardware", "name": "n"}),
        406,
        "requires API version 1.5",
    );
    c.version = Some("1.4");
    cases.push(c);
    let mut c = json_case(
        "owner at 1.49",
        Method::POST,
        "/v1/nodes",
        json!({"driver": "fake-hardware", "owner": "o"}),
        406,
        "requires API version 1.50",
    );
    c.version = Some("1.49");
    cases.push(c);
    run(&s, cases);
}

#[test]
fn bad_uuids_and_identifiers() {
    let (s, id) = setup();
    let mut cases = vec![
        case(
            "unknown uuid",
            Method::GET,
            "/v1/nodes/00000000-0000-0000-0000-000000000000",
            None,
            404,
            "Node 00000000-0000-0000-0000-000000000000 could not be found.",
        ),
        case(
            "unknown name",
            Method::GET,
            "/v1/nodes/no-such-node",
            None,
            404,
            "Node no-such-node could not be found.",
        ),
        case(
            "delete unknown",
            Method::DELETE,
            "/v1/nodes/no-such-node",
            None,
            404,
            "could not be found",
        ),
        case(
            "states of unknown",
            Method::GET,
            "/v1/nodes/no-such-node/states",
            None,
            404,
            "could not be found",
        ),
        case(
            "marker not a uuid",
            Method::GET,
            "/v1/nodes?marker=abc",
            None,
            400,
            "abc",
        ),
        case(
            "marker unknown",
            Method::GET,
            "/v1/nodes?marker=00000000-0000-0000-0000-000000000000",
            None,
            400,
            "Marker",
        ),
        case(
            "instance_uuid filter",
            Method::GET,
            "/v1/nodes?instance_uuid=xyz",
            None,
            400,
            "",
        ),
        case(
            "chassis_uuid filter",
            Method::GET,
            "/v1/nodes?chassis_uuid=xyz",
            None,
            400,
            "",
        ),
        json_case(
            "patch instance_uuid",
            Method::PATCH,
            &format!("/v1/nodes/{id}"),
            json!([{"op": "replace", "path": "/instance_uuid", "value": "12345"}]),
            400,
            "",
        ),
        json_case(
            "patch chassis_uuid",
            Method::PATCH,
            &format!("/v1/nodes/{id}"),
            json!([{"op": "replace", "path": "/chassis_uuid", "value": "12345"}]),
            400,
            "",
        ),
        json_case(
            "patch unknown chassis",
            Method::PATCH,
            &format!("/v1/nodes/{id}"),
            json!([{"op": "replace", "path": "/chassis_uuid", "value": "00000000-0000-0000-0000-000000000000"}]),
            400,
            "",
        ),
        json_case(
            "create with unknown chassis",
            Method::POST,
            "/v1/nodes",
            json!({"driver": "fake-hardware", "chassis_uuid": "00000000-0000-0000-0000-000000000000"}),
            400,
            "",
        ),
    ];
    // A name at 1.1 (names need 1.5) is an unknown node.
    let mut c = case(
        "name at 1.1",
        Method::GET,
        "/v1/nodes/target",
        None,
        404,
        "Node target could not be found.",
    );
    c.version = Some("1.1");
    cases.push(c);
    // The 404 of an unknown chassis may legitimately be 400 (Ironic) or 404; accept what
    // m2 answers only when it is one of those.
    let mut ok = Vec::new();
    for c in cases {
        if c.what.contains("unknown chassis") {
            let r = s.request(
                c.method.clone(),
                &c.path,
                c.version,
                &c.headers,
                c.body.clone(),
            );
            assert!(r.status == 400 || r.status == 404, "{}: {}", c.what, r.text);
            assert_error_format(&r);
        } else {
            ok.push(c);
        }
    }
    run(&s, ok);
}

#[test]
fn bad_microversions_everywhere() {
    let (s, id) = setup();
    let paths: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/".into(), None),
        (Method::GET, "/v1".into(), None),
        (Method::GET, "/v1/nodes".into(), None),
        (Method::GET, format!("/v1/nodes/{id}"), None),
        (
            Method::POST,
            "/v1/nodes".into(),
            Some(json!({"driver": "fake-hardware"})),
        ),
        (
            Method::PATCH,
            format!("/v1/nodes/{id}"),
            Some(json!([{"op": "add", "path": "/extra/v", "value": 1}])),
        ),
        (Method::DELETE, format!("/v1/nodes/{id}"), None),
        (
            Method::PUT,
            format!("/v1/nodes/{id}/states/provision"),
            Some(json!({"target": "manage"})),
        ),
        (Method::GET, "/v1/no-such-path".into(), None),
    ];
    let mut cases = Vec::new();
    for (m, p, body) in &paths {
        for (ver, needle) in [
            ("1.9999", "minor version is not supported"),
            ("1.0", "minor version is not supported"),
            ("2.0", "major version is not supported"),
            (
                "1.a",
                "Invalid value for X-OpenStack-Ironic-API-Version header",
            ),
            ("v1.1", "Invalid value"),
            ("1,2", "Invalid value"),
            ("latestx", "Invalid value"),
        ] {
            let mut c = case(&format!("version {ver}"), m.clone(), p, None, 406, needle);
            c.body = body.as_ref().map(|b| serde_json::to_vec(b).unwrap());
            c.version = Some(ver);
            cases.push(c);
        }
        let mut c = case(
            "generic header for another service",
            m.clone(),
            p,
            None,
            406,
            "Invalid value for OpenStack-API-Version header",
        );
        c.body = body.as_ref().map(|b| serde_json::to_vec(b).unwrap());
        c.version = None;
        c.headers = vec![("OpenStack-API-Version", "compute 2.1")];
        cases.push(c);
    }
    run(&s, cases);
    // A 406 is in the routing format with code/title/description.
    let r = s.get("/v1/nodes", Some("1.9999"));
    let (code, title, _) = ironic_http_error(&r.body);
    assert_eq!((code, title.as_str()), (406, "Not Acceptable"));
}

#[test]
fn illegal_patch_paths_and_ops() {
    let (s, id) = setup();
    let p = format!("/v1/nodes/{id}");
    let ops: Vec<(Value, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/uuid", "value": "x"}]),
            "internal attribute",
        ),
        (
            json!([{"op": "replace", "path": "/provision_state", "value": "active"}]),
            "internal attribute",
        ),
        (
            json!([{"op": "remove", "path": "/target_provision_state"}]),
            "internal attribute",
        ),
        (
            json!([{"op": "replace", "path": "/driver_internal_info", "value": {}}]),
            "internal attribute",
        ),
        (
            json!([{"op": "replace", "path": "/updated_at", "value": null}]),
            "internal attribute",
        ),
        (
            json!([{"op": "replace", "path": "/console_enabled", "value": true}]),
            "internal attribute",
        ),
        (
            json!([{"op": "add", "path": "/nonexistent", "value": 1}]),
            "Adding a new attribute (/nonexistent)",
        ),
        (json!([{"op": "add", "path": "/links", "value": []}]), ""),
        (json!([{"op": "add", "path": "/ports", "value": []}]), ""),
        (json!([{"op": "remove", "path": "/driver"}]), "mandatory"),
        (
            json!([{"op": "replace", "path": "/driver", "value": null}]),
            "",
        ),
        (
            json!([{"op": "move", "from": "/name", "path": "/description"}]),
            "",
        ),
        (
            json!([{"op": "copy", "from": "/name", "path": "/description"}]),
            "",
        ),
        (
            json!([{"op": "test", "path": "/name", "value": "target"}]),
            "",
        ),
        (
            json!([{"op": "REPLACE", "path": "/name", "value": "x"}]),
            "",
        ),
        (
            json!([{"op": "replace", "path": "/name/deeper", "value": "x"}]),
            "",
        ),
        (json!([{"op": "replace", "path": "//", "value": "x"}]), ""),
        (
            json!([{"op": "replace", "path": "/extra/missing/deeper", "value": "x"}]),
            "",
        ),
        (
            json!([{"op": "remove", "path": "/driver_info/nothing"}]),
            "",
        ),
        (
            json!([{"op": "replace", "path": "/power_interface", "value": "ipmitool"}]),
            "ipmitool",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": "bystander"}]),
            "bystander",
        ),
        (
            json!([{"op": "replace", "path": "/properties", "value": null}]),
            "",
        ),
        (
            json!([{"op": "add", "path": "/extra/ok", "value": 1}, {"op": "replace", "path": "/uuid", "value": "x"}]),
            "internal attribute",
        ),
        (
            json!([{"op": "add", "path": "/extra/ok", "value": 1}, {"op": "bogus"}]),
            "",
        ),
        (
            json!([{"op": "add", "path": "/extra/ok", "value": 1}, 7]),
            "",
        ),
    ];
    let mut cases = Vec::new();
    for (patch, needle) in ops {
        let status = if patch.to_string().contains("bystander") {
            409
        } else {
            400
        };
        cases.push(json_case(
            &format!("patch {patch}"),
            Method::PATCH,
            &p,
            patch,
            status,
            needle,
        ));
    }
    // reset_interfaces: needs a driver change, 1.45, and a boolean.
    cases.push(json_case(
        "reset_interfaces without driver change",
        Method::PATCH,
        &format!("{p}?reset_interfaces=true"),
        json!([{"op": "add", "path": "/extra/r", "value": 1}]),
        400,
        "reset_interfaces",
    ));
    let mut c = json_case(
        "reset_interfaces at 1.44",
        Method::PATCH,
        &format!("{p}?reset_interfaces=true"),
        json!([{"op": "add", "path": "/extra/r", "value": 1}]),
        406,
        "",
    );
    c.version = Some("1.44");
    cases.push(c);
    cases.push(json_case(
        "reset_interfaces not a bool",
        Method::PATCH,
        &format!("{p}?reset_interfaces=perhaps"),
        json!([{"op": "add", "path": "/extra/r", "value": 1}]),
        400,
        "",
    ));
    run(&s, cases);
}

#[test]
fn unknown_paths_are_ironic_404s() {
    let (s, id) = setup();
    let paths = [
        "/v2".to_owned(),
        "/v1/nodez".into(),
        "/v1/nodes/x/y/z".into(),
        format!("/v1/nodes/{id}/bogus"),
        format!("/v1/nodes/{id}/states/bogus"),
        "/favicon.ico".into(),
        "/v1/nodes/detail/extra".into(),
    ];
    for p in &paths {
        for m in [Method::GET, Method::POST, Method::DELETE] {
            let before = s.snapshot();
            let r = s.request(m.clone(), p, LATEST, &[], None);
            assert_eq!(r.status, 404, "{m} {p}: {}", r.text);
            assert_eq!(
                r.body,
                json!({"error_message": "{\"code\": 404, \"title\": \"Not Found\", \"description\": \"\"}"}),
                "{m} {p}"
            );
            assert_error_format(&r);
            assert_eq!(before, s.snapshot());
        }
    }
}

#[test]
fn wrong_methods_are_ironic_405s() {
    let (s, id) = setup();
    let n = format!("/v1/nodes/{id}");
    let table: Vec<(Method, String)> = vec![
        (Method::DELETE, "/v1/nodes".into()),
        (Method::PUT, "/v1/nodes".into()),
        (Method::PATCH, "/v1/nodes".into()),
        (Method::POST, n.clone()),
        (Method::PUT, n.clone()),
        (Method::POST, "/".into()),
        (Method::DELETE, "/v1".into()),
        (Method::POST, "/v1/nodes/detail".into()),
        (Method::POST, format!("{n}/states")),
        (Method::GET, format!("{n}/states/provision")),
        (Method::POST, format!("{n}/states/power")),
        (Method::GET, format!("{n}/maintenance")),
        (Method::POST, format!("{n}/validate")),
        (Method::DELETE, format!("{n}/management/boot_device")),
        (Method::PATCH, format!("{n}/traits")),
    ];
    let msg = "The server could not comply with the request since it is either malformed or otherwise incorrect.";
    let mut cases = Vec::new();
    for (m, p) in table {
        cases.push(case(&format!("{m} {p}"), m, &p, Some(b"{}"), 405, msg));
    }
    run(&s, cases);
    let r = s.request(Method::DELETE, "/v1/nodes", LATEST, &[], None);
    let (code, fault) = ironic_error(&r.body);
    assert_eq!((code.as_str(), fault.as_str()), ("Client", msg));
}

#[test]
fn oversized_bodies_are_refused_in_ironic_format() {
    let (s, id) = setup();
    let big = |field_len: usize| {
        serde_json::to_vec(
            &json!({"driver": "fake-hardware", "extra": {"blob": "x".repeat(field_len)}}),
        )
        .unwrap()
    };
    // Just under the limit is fine.
    let small = big(3000);
    assert!(small.len() < 4096);
    let r = s.request(Method::POST, "/v1/nodes", LATEST, &[], Some(small));
    assert_eq!(r.status, 201, "{}", r.text);
    s.delete(
        &format!("/v1/nodes/{}", r.body["uuid"].as_str().unwrap()),
        LATEST,
    )
    .expect(204);
    let mut cases = Vec::new();
    for (m, p) in [
        (Method::POST, "/v1/nodes".to_owned()),
        (Method::PATCH, format!("/v1/nodes/{id}")),
        (Method::PUT, format!("/v1/nodes/{id}/states/provision")),
        (Method::PUT, format!("/v1/nodes/{id}/traits")),
    ] {
        cases.push(case(
            "body over max_body_size",
            m,
            &p,
            Some(&big(10_000)),
            413,
            "",
        ));
    }
    run(&s, cases);
    // Declared but not sent in full (Content-Length over the limit).
    let r = s.request(Method::POST, "/v1/nodes", LATEST, &[], Some(big(100_000)));
    assert!(r.status == 413 || r.status == 400, "{}", r.status);
    assert_error_format(&r);
}

#[test]
fn bad_query_strings() {
    let (s, _) = setup();
    let mut cases = Vec::new();
    for (q, status) in [
        ("limit=ten", 400),
        ("limit=-3", 400),
        ("sort_dir=up", 400),
        ("sort_key=properties", 400),
        ("maintenance=kind-of", 400),
        ("associated=nah", 400),
        ("provision_state=flying", 400),
        ("fields=uuid,nonexistent", 400),
        ("detail=sure", 400),
        ("fields=uuid&detail=true", 400),
    ] {
        cases.push(case(
            &format!("?{q}"),
            Method::GET,
            &format!("/v1/nodes?{q}"),
            None,
            status,
            "",
        ));
    }
    for (q, ver) in [
        ("fields=uuid", "1.7"),
        ("detail=true", "1.42"),
        ("resource_class=x", "1.20"),
        ("owner=o", "1.49"),
        ("lessee=l", "1.64"),
    ] {
        let mut c = case(
            &format!("?{q} at {ver}"),
            Method::GET,
            &format!("/v1/nodes?{q}"),
            None,
            406,
            "",
        );
        c.version = Some(ver);
        cases.push(c);
    }
    run(&s, cases);
}

#[test]
fn bad_sub_resource_bodies() {
    let (s, id) = setup();
    let n = format!("/v1/nodes/{id}");
    let cases = vec![
        json_case(
            "provision without target",
            Method::PUT,
            &format!("{n}/states/provision"),
            json!({}),
            400,
            "target",
        ),
        json_case(
            "provision target not a string",
            Method::PUT,
            &format!("{n}/states/provision"),
            json!({"target": 1}),
            400,
            "",
        ),
        json_case(
            "provision unknown key",
            Method::PUT,
            &format!("{n}/states/provision"),
            json!({"target": "active", "when": "now"}),
            400,
            "'when' was unexpected",
        ),
        json_case(
            "configdrive with manage",
            Method::PUT,
            &format!("{n}/states/provision"),
            json!({"target": "manage", "configdrive": "x"}),
            400,
            "config drive",
        ),
        json_case(
            "configdrive number",
            Method::PUT,
            &format!("{n}/states/provision"),
            json!({"target": "active", "configdrive": 5}),
            400,
            "",
        ),
        json_case(
            "configdrive dict bad key",
            Method::PUT,
            &format!("{n}/states/provision"),
            json!({"target": "active", "configdrive": {"bogus": 1}}),
            400,
            "bogus",
        ),
        json_case(
            "power without target",
            Method::PUT,
            &format!("{n}/states/power"),
            json!({"timeout": 3}),
            400,
            "target",
        ),
        json_case(
            "power unknown target",
            Method::PUT,
            &format!("{n}/states/power"),
            json!({"target": "on"}),
            400,
            "",
        ),
        json_case(
            "console not bool",
            Method::PUT,
            &format!("{n}/states/console"),
            json!({"enabled": "later"}),
            400,
            "",
        ),
        json_case(
            "console missing",
            Method::PUT,
            &format!("{n}/states/console"),
            json!({}),
            400,
            "",
        ),
        json_case(
            "boot device unknown",
            Method::PUT,
            &format!("{n}/management/boot_device"),
            json!({"boot_device": "tape"}),
            400,
            "tape",
        ),
        json_case(
            "vif without id",
            Method::POST,
            &format!("{n}/vifs"),
            json!({"port_uuid": "x"}),
            400,
            "",
        ),
        json_case(
            "traits not a list",
            Method::PUT,
            &format!("{n}/traits"),
            json!({"traits": {"A": 1}}),
            400,
            "",
        ),
        json_case(
            "trait lower case",
            Method::PUT,
            &format!("{n}/traits"),
            json!({"traits": ["lower"]}),
            400,
            "lower",
        ),
    ];
    run(&s, cases);
    // configdrive as a dict before 1.56.
    let mut c = json_case(
        "configdrive dict at 1.55",
        Method::PUT,
        &format!("{n}/states/provision"),
        json!({"target": "active", "configdrive": {"user_data": "x"}}),
        400,
        "1.56",
    );
    c.version = Some("1.55");
    run(&s, vec![c]);
}
