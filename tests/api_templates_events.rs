//! Black-box tests of deploy templates and external events: the real `m2` binary driven
//! over HTTP as `openstack baremetal deploy template` and Neutron drive Ironic.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn v(s: &'static str) -> Option<&'static str> {
    Some(s)
}

const TEMPLATES: &str = "/v1/deploy_templates";

fn step(interface: &str, name: &str, priority: i64) -> Value {
    json!({"interface": interface, "step": name, "args": {}, "priority": priority})
}

/// Every template in full, to compare before and after a refused request.
fn templates(s: &Server) -> Value {
    s.get("/v1/deploy_templates?detail=true&limit=1000", LATEST)
        .expect(200)
        .body
}

/// One request that must be refused.
struct Case {
    method: Method,
    path: String,
    version: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
    needle: String,
}

fn case(
    method: Method,
    path: &str,
    version: Option<&'static str>,
    body: Option<Value>,
    status: u16,
    needle: &str,
) -> Case {
    Case {
        method,
        path: path.to_owned(),
        version,
        body: body.map(|b| serde_json::to_vec(&b).unwrap()),
        status,
        needle: needle.to_owned(),
    }
}

/// Sends every case: each must answer its status in Ironic's error body with the
/// expected message, and change no template and no node.
fn run(s: &Server, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let before = (templates(s), s.snapshot());
        let r = s.request(c.method.clone(), &c.path, c.version, &[], c.body.clone());
        let label = format!("{} {} at {:?}", c.method, c.path, c.version);
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
        if (templates(s), s.snapshot()) != before {
            failures.push(format!("{label}: something changed after a {}", r.status));
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
fn deploy_template_lifecycle() {
    let s = Server::start();
    let body = json!({
        "name": "CUSTOM_HYPERTHREADING_ON",
        "steps": [{"interface": "bios", "step": "apply_configuration",
            "args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}],
                "admin_password": "secret"},
            "priority": "150"}],
        "extra": {"team": "hpc"},
    });
    let r = s.post(TEMPLATES, v("1.55"), &body).expect(201);
    let t = r.body.clone();
    let uuid = t["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("{}/v1/deploy_templates/{uuid}", s.base).as_str())
    );
    assert_eq!(t["name"], "CUSTOM_HYPERTHREADING_ON");
    assert_eq!(t["extra"], json!({"team": "hpc"}));
    assert!(t["updated_at"].is_null() && t["created_at"].is_string());
    // A priority given as digits is stored as a number; secrets are masked.
    assert_eq!(
        t["steps"],
        json!([{"interface": "bios", "step": "apply_configuration", "priority": 150,
            "args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}],
                "admin_password": "******"}}])
    );
    assert_eq!(
        t["links"],
        json!([
            {"href": format!("{}/v1/deploy_templates/{uuid}", s.base), "rel": "self"},
            {"href": format!("{}/deploy_templates/{uuid}", s.base), "rel": "bookmark"},
        ])
    );
    // Shown by UUID and by name, whole or with fields.
    assert_eq!(
        s.get(&format!("{TEMPLATES}/{uuid}"), LATEST)
            .expect(200)
            .body,
        t
    );
    assert_eq!(
        s.get(&format!("{TEMPLATES}/CUSTOM_HYPERTHREADING_ON"), LATEST)
            .expect(200)
            .body,
        t
    );
    let some = s
        .get(&format!("{TEMPLATES}/{uuid}?fields=name,STEPS"), LATEST)
        .expect(200)
        .body;
    let mut keys: Vec<&str> = some
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["links", "name", "steps"]);

    // The list shows uuid and name (and links) unless asked for more.
    let list = s.get(TEMPLATES, LATEST).expect(200).body;
    assert_eq!(
        list,
        json!({"deploy_templates": [{"uuid": uuid, "name": "CUSTOM_HYPERTHREADING_ON",
            "links": t["links"]}]})
    );
    assert_eq!(
        s.get(&format!("{TEMPLATES}?detail=True"), LATEST)
            .expect(200)
            .body["deploy_templates"][0],
        t
    );
    assert_eq!(
        s.get(&format!("{TEMPLATES}?fields=extra"), LATEST)
            .expect(200)
            .body["deploy_templates"][0],
        json!({"extra": {"team": "hpc"}, "links": t["links"]})
    );

    // PATCH name, steps and extra.
    let p = s
        .patch(
            &format!("{TEMPLATES}/CUSTOM_HYPERTHREADING_ON"),
            LATEST,
            &json!([
                {"op": "replace", "path": "/name", "value": "CUSTOM_HT_ON"},
                {"op": "add", "path": "/steps/-", "value": step("raid", "create_configuration", 10)},
                {"op": "replace", "path": "/steps/0/priority", "value": 200},
                {"op": "remove", "path": "/extra/team"},
            ]),
        )
        .expect(200)
        .body;
    assert_eq!(p["name"], "CUSTOM_HT_ON");
    assert_eq!(p["uuid"], json!(uuid));
    assert_eq!(p["extra"], json!({}));
    assert!(p["updated_at"].is_string());
    let steps = p["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["priority"], 200);
    assert_eq!(steps[1], step("raid", "create_configuration", 10));
    // Keys the step schema lacks are dropped from patched steps.
    let p = s
        .patch(
            &format!("{TEMPLATES}/{uuid}"),
            LATEST,
            &json!([{"op": "add", "path": "/steps/1/note", "value": "x"}]),
        )
        .expect(200)
        .body;
    assert_eq!(p["steps"][1], step("raid", "create_configuration", 10));
    s.get(&format!("{TEMPLATES}/CUSTOM_HYPERTHREADING_ON"), LATEST)
        .expect_fault(
            404,
            "Deploy template CUSTOM_HYPERTHREADING_ON could not be found.",
        );

    // Delete by name.
    s.delete(&format!("{TEMPLATES}/CUSTOM_HT_ON"), LATEST)
        .expect(204);
    s.get(&format!("{TEMPLATES}/{uuid}"), LATEST)
        .expect_fault(404, &format!("Deploy template {uuid} could not be found."));
    assert_eq!(
        s.get(TEMPLATES, LATEST).expect(200).body,
        json!({"deploy_templates": []})
    );
}

#[test]
fn deploy_template_pages_and_sorting() {
    let s = Server::start();
    let names = ["CUSTOM_E", "CUSTOM_B", "CUSTOM_D", "CUSTOM_A", "CUSTOM_C"];
    let mut uuids = Vec::new();
    for n in names {
        let t = s
            .post(
                TEMPLATES,
                LATEST,
                &json!({"name": n, "steps": [step("deploy", "erase", 1)]}),
            )
            .expect(201)
            .body;
        uuids.push(t["uuid"].as_str().unwrap().to_owned());
    }
    // Pages of two, following next links, keep the caller's parameters.
    let mut seen = Vec::new();
    let mut path = format!("{TEMPLATES}?limit=2&sort_key=name&detail=true");
    let mut pages = 0;
    loop {
        let body = s.get(&path, LATEST).expect(200).body;
        pages += 1;
        for t in body["deploy_templates"].as_array().unwrap() {
            assert!(t["steps"].is_array(), "detail kept across pages: {t}");
            seen.push(t["name"].as_str().unwrap().to_owned());
        }
        match body["next"].as_str() {
            Some(next) => {
                assert!(next.contains("limit=2") && next.contains("sort_key=name"));
                path = next.trim_start_matches(&s.base).to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    sorted.sort();
    assert_eq!(seen, sorted);
    // Descending by name, and by marker.
    let desc = s
        .get(&format!("{TEMPLATES}?sort_key=name&sort_dir=desc"), LATEST)
        .expect(200)
        .body;
    let got: Vec<&str> = desc["deploy_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        ["CUSTOM_E", "CUSTOM_D", "CUSTOM_C", "CUSTOM_B", "CUSTOM_A"]
    );
    let after = s
        .get(&format!("{TEMPLATES}?marker={}", uuids[2]), LATEST)
        .expect(200)
        .body;
    let got: Vec<&str> = after["deploy_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(got, [uuids[3].as_str(), uuids[4].as_str()]);
}

#[test]
fn deploy_template_refusals_change_nothing() {
    let s = Server::start();
    let t = s
        .post(
            TEMPLATES,
            LATEST,
            &json!({"name": "CUSTOM_TAKEN", "steps": [step("deploy", "erase", 1)]}),
        )
        .expect(201)
        .body;
    let uuid = t["uuid"].as_str().unwrap().to_owned();
    let one = format!("{TEMPLATES}/{uuid}");
    let missing = "0f3e8b4c-93a1-4a39-9fd2-3f4a1c2b9e77";
    let post = |b: Value, status: u16, needle: &str| {
        case(Method::POST, TEMPLATES, LATEST, Some(b), status, needle)
    };
    let patch = |b: Value, status: u16, needle: &str| {
        case(Method::PATCH, &one, LATEST, Some(b), status, needle)
    };
    let get =
        |p: &str, status: u16, needle: &str| case(Method::GET, p, LATEST, None, status, needle);
    let ok_steps = json!([step("deploy", "erase", 1)]);
    let interfaces = "['vendor', 'power', 'management', 'firmware', 'deploy', 'bios', 'raid']";
    let cases = vec![
        // Before 1.55 the resource does not exist.
        case(
            Method::GET,
            TEMPLATES,
            v("1.54"),
            None,
            404,
            "The API version does not allow deploy templates",
        ),
        case(
            Method::GET,
            &one,
            v("1.54"),
            None,
            404,
            "The API version does not allow deploy templates",
        ),
        case(
            Method::POST,
            TEMPLATES,
            v("1.54"),
            Some(json!({"name": "CUSTOM_X", "steps": ok_steps})),
            405,
            "The API version does not allow deploy templates",
        ),
        case(
            Method::PATCH,
            &one,
            v("1.54"),
            Some(json!([])),
            405,
            "The API version does not allow deploy templates",
        ),
        case(
            Method::DELETE,
            &one,
            NOVER,
            None,
            405,
            "The API version does not allow deploy templates",
        ),
        case(
            Method::PUT,
            TEMPLATES,
            LATEST,
            Some(json!({})),
            405,
            "could not comply",
        ),
        // Create.
        post(
            json!([]),
            400,
            "Schema error for template: [] is not of type 'object'",
        ),
        post(
            json!({"name": "CUSTOM_X"}),
            400,
            "Schema error for template: 'steps' is a required property",
        ),
        post(
            json!({}),
            400,
            "Schema error for template: 'steps' is a required property",
        ),
        post(
            json!({"steps": ok_steps}),
            400,
            "Schema error for template: 'name' is a required property",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": ok_steps, "bogus": 1}),
            400,
            "Schema error for template: Additional properties are not allowed ('bogus' was unexpected)",
        ),
        post(
            json!({"name": "gold", "steps": ok_steps}),
            400,
            "Schema error for template: 'gold' is not valid under any of the given schemas. Possible root cause: 'gold' does not match '^CUSTOM_[A-Z0-9_]+$'",
        ),
        post(
            json!({"name": "", "steps": ok_steps}),
            400,
            "Schema error for template: '' should be non-empty",
        ),
        post(
            json!({"name": 5, "steps": ok_steps}),
            400,
            "Schema error for template: 5 is not of type 'string'",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": []}),
            400,
            "Schema error for template: [] should be non-empty",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": {}}),
            400,
            "Schema error for template: {} is not of type 'array'",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [step("boot", "x", 1)]}),
            400,
            &format!("Schema error for template: 'boot' is not one of {interfaces}"),
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [{"interface": "deploy", "step": "x", "args": {}}]}),
            400,
            "Schema error for template: 'priority' is a required property",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [{"interface": "deploy", "step": "x", "args": {}, "priority": 1, "extra": 1}]}),
            400,
            "Schema error for template: Additional properties are not allowed ('extra' was unexpected)",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [step("deploy", "x", -1)]}),
            400,
            "Schema error for template: -1 is less than the minimum of 0",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [{"interface": "deploy", "step": "x", "args": {}, "priority": "high"}]}),
            400,
            "Schema error for template: 'high' does not match '^[0-9]+$'",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [{"interface": "deploy", "step": "x", "args": {}, "priority": true}]}),
            400,
            "Schema error for template: True is not valid under any of the given schemas. Possible root cause: True is not of type 'integer'",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [{"interface": "deploy", "step": "", "args": {}, "priority": 1}]}),
            400,
            "Schema error for template: '' should be non-empty",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [{"interface": "deploy", "step": "x", "args": [], "priority": 1}]}),
            400,
            "Schema error for template: [] is not of type 'object'",
        ),
        // The shallowest problem is reported first.
        post(
            json!({"name": "CUSTOM_X", "steps": [step("boot", "x", 1)], "extra": "x"}),
            400,
            "Schema error for template: 'x' is not of type 'object', 'null'",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": [step("deploy", "x", 1), step("deploy", "x", 2), step("bios", "y", 1)]}),
            400,
            "Deploy template invalid: Duplicate deploy steps. A template cannot have multiple deploy steps with the same interface and step. Duplicates: interface: deploy, step: x.",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": ok_steps, "uuid": "abc"}),
            400,
            "Expected UUID for uuid: abc",
        ),
        post(
            json!({"name": "CUSTOM_TAKEN", "steps": ok_steps}),
            409,
            "A deploy template with name CUSTOM_TAKEN already exists.",
        ),
        post(
            json!({"name": "CUSTOM_X", "steps": ok_steps, "uuid": uuid}),
            409,
            &format!("A deploy template with UUID {uuid} already exists."),
        ),
        // List and show.
        get(
            "/v1/deploy_templates?bogus=1",
            400,
            "Unexpected arguments: bogus",
        ),
        get(
            "/v1/deploy_templates?limit=x",
            400,
            "Expected an integer for limit: x",
        ),
        get(
            "/v1/deploy_templates?limit=-1",
            400,
            "Limit must be positive",
        ),
        get(
            "/v1/deploy_templates?marker=a%20b",
            400,
            "Expected name for marker: a b",
        ),
        get(
            &format!("/v1/deploy_templates?marker={missing}"),
            404,
            &format!("Deploy template {missing} could not be found."),
        ),
        get(
            "/v1/deploy_templates?sort_key=steps",
            400,
            "The sort_key value steps is an invalid field for sorting",
        ),
        get(
            "/v1/deploy_templates?sort_key=bogus",
            400,
            "The sort_key value \"bogus\" is an invalid field for sorting",
        ),
        get(
            "/v1/deploy_templates?sort_dir=up",
            400,
            "Schema error: 'up' is not one of ['asc', 'desc']",
        ),
        get(
            "/v1/deploy_templates?fields=bogus",
            400,
            "Schema error: 'bogus' is not one of ['created_at', 'description', 'extra', 'links', 'name', 'steps', 'updated_at', 'uuid']",
        ),
        get(
            "/v1/deploy_templates?fields=description",
            400,
            "Field(s) \"description\" are not valid",
        ),
        get(
            "/v1/deploy_templates?fields=name&detail=true",
            400,
            "Can not specify ?detail=True and fields in the same request.",
        ),
        get(
            "/v1/deploy_templates?detail=maybe",
            400,
            "Invalid detail: Unrecognized value 'maybe'",
        ),
        get(
            "/v1/deploy_templates/a%20b",
            400,
            "Expected UUID or name for template_ident: a b",
        ),
        get(
            "/v1/deploy_templates/CUSTOM_NOPE",
            404,
            "Deploy template CUSTOM_NOPE could not be found.",
        ),
        get(
            &format!("{one}?fields=bogus"),
            400,
            "Schema error: 'bogus' is not one of",
        ),
        // Update.
        patch(
            json!([{"op": "replace", "path": "/uuid", "value": missing}]),
            400,
            "Cannot patch /uuid. Only the following can be updated: extra, name, steps, description",
        ),
        patch(
            json!([{"op": "replace", "path": "/extra/a.b", "value": 1}]),
            400,
            "Schema error for patch: '/extra/a.b' does not match '^(/[\\\\w-]+)+$'",
        ),
        patch(
            json!([{"op": "copy", "path": "/name", "from": "/extra"}]),
            400,
            "Schema error for patch: Additional properties are not allowed ('from' was unexpected)",
        ),
        patch(
            json!([{"op": "copy", "path": "/name"}]),
            400,
            "Schema error for patch: 'copy' is not one of ['add', 'replace', 'remove']",
        ),
        patch(
            json!([{"op": "remove", "path": "/name"}]),
            400,
            "Schema error for patch: 'name' is a required property",
        ),
        patch(
            json!([{"op": "replace", "path": "/name", "value": "gold"}]),
            400,
            "Schema error for patch: 'gold' is not valid under any of the given schemas",
        ),
        patch(
            json!([{"op": "replace", "path": "/steps", "value": []}]),
            400,
            "Schema error for patch: [] should be non-empty",
        ),
        patch(
            json!([{"op": "replace", "path": "/steps/0/interface", "value": "boot"}]),
            400,
            &format!("Schema error for patch: 'boot' is not one of {interfaces}"),
        ),
        patch(
            json!([{"op": "add", "path": "/steps/-", "value": step("deploy", "erase", 5)}]),
            400,
            "Deploy template invalid: Duplicate deploy steps.",
        ),
        patch(
            json!([{"op": "add", "path": "/description", "value": "d"}]),
            400,
            "Adding a new attribute (/description) to the root of the resource is not allowed",
        ),
        case(
            Method::PATCH,
            "/v1/deploy_templates/a%20b",
            LATEST,
            Some(json!([])),
            400,
            "Expected UUID or name for template_ident: a b",
        ),
        case(
            Method::PATCH,
            "/v1/deploy_templates/CUSTOM_NOPE",
            LATEST,
            Some(json!([])),
            404,
            "Deploy template CUSTOM_NOPE could not be found.",
        ),
        case(
            Method::DELETE,
            "/v1/deploy_templates/CUSTOM_NOPE",
            LATEST,
            None,
            404,
            "Deploy template CUSTOM_NOPE could not be found.",
        ),
    ];
    run(&s, cases);
    // A name taken by PATCH conflicts.
    s.post(
        TEMPLATES,
        LATEST,
        &json!({"name": "CUSTOM_OTHER", "steps": [step("deploy", "erase", 1)]}),
    )
    .expect(201);
    let before = templates(&s);
    s.patch(
        "/v1/deploy_templates/CUSTOM_OTHER",
        LATEST,
        &json!([{"op": "replace", "path": "/name", "value": "CUSTOM_TAKEN"}]),
    )
    .expect_fault(
        409,
        "A deploy template with name CUSTOM_TAKEN already exists.",
    );
    assert_eq!(before, templates(&s));
}

fn event(kind: &str) -> Value {
    json!({
        "event": kind,
        "port_id": "3f5c1e7a-6b0e-4bb2-9d1f-7a2b4c6d8e90",
        "mac_address": "52:54:00:a1:b2:c3",
        "status": "ACTIVE",
        "device_id": "9e1d7f3a-2c4b-4d6e-8f0a-1b3c5d7e9f21",
        "binding:host_id": "5a7c9e1f-3b5d-4f7a-9c1e-3f5a7c9e1b3d",
        "binding:vnic_type": "baremetal",
    })
}

#[test]
fn network_events_are_accepted_and_logged() {
    let s = Server::start();
    let r = s
        .post(
            "/v1/events",
            v("1.54"),
            &json!({"events": [event("network.bind_port"), event("network.unbind_port")]}),
        )
        .expect(204);
    assert!(r.text.is_empty());
    // Only the required members.
    s.post(
        "/v1/events",
        LATEST,
        &json!({"events": [{"event": "network.delete_port", "port_id": "3f5c1e7a-6b0e-4bb2-9d1f-7a2b4c6d8e90",
            "mac_address": "52:54:00:a1:b2:c3", "status": "DOWN", "device_id": null}]}),
    )
    .expect(204);
    let log = strip_ansi(&s.stderr());
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("received external event"))
            .count(),
        3,
        "{log}"
    );
    assert!(log.contains("network.unbind_port"));

    let with = |f: &dyn Fn(&mut Value)| {
        let mut e = event("network.bind_port");
        f(&mut e);
        Some(json!({"events": [e]}))
    };
    let post = |body: Option<Value>, status: u16, needle: &str| {
        case(Method::POST, "/v1/events", LATEST, body, status, needle)
    };
    let cases = vec![
        case(
            Method::POST,
            "/v1/events",
            v("1.53"),
            Some(json!({"events": [event("network.bind_port")]})),
            404,
            "The API is not supported for this version",
        ),
        case(
            Method::GET,
            "/v1/events",
            LATEST,
            None,
            405,
            "could not comply",
        ),
        post(
            Some(json!([])),
            400,
            "Schema error: [] is not of type 'object'",
        ),
        post(
            Some(json!({})),
            400,
            "Schema error: 'events' is a required property",
        ),
        post(
            Some(json!({"events": []})),
            400,
            "Schema error: [] should be non-empty",
        ),
        post(
            Some(json!({"events": {}})),
            400,
            "Schema error: {} is not of type 'array'",
        ),
        post(
            Some(json!({"events": [event("network.bind_port")], "more": 1})),
            400,
            "Schema error: Additional properties are not allowed ('more' was unexpected)",
        ),
        post(
            Some(json!({"events": ["x"]})),
            400,
            "Schema error: 'x' is not of type 'object'",
        ),
        post(
            with(&|e| e["event"] = json!("network.fly")),
            400,
            "Schema error: 'network.fly' is not one of ['network.bind_port', 'network.unbind_port', 'network.delete_port']",
        ),
        post(
            with(&|e| {
                e.as_object_mut().unwrap().remove("status");
            }),
            400,
            "Schema error: 'status' is a required property",
        ),
        post(
            with(&|e| e["port_id"] = json!("p1")),
            400,
            "Schema error: 'p1' is not a 'uuid'",
        ),
        post(
            with(&|e| e["mac_address"] = json!("52-54-00-a1-b2-c3")),
            400,
            "Schema error: '52-54-00-a1-b2-c3' is not a 'mac-address'",
        ),
        post(
            with(&|e| e["device_id"] = json!(5)),
            400,
            "Schema error: 5 is not of type 'string', 'null'",
        ),
        post(
            with(&|e| e["binding:host_id"] = json!("host-1")),
            400,
            "Schema error: 'host-1' is not a 'uuid'",
        ),
        post(
            with(&|e| e["binding:vnic_type"] = json!(1)),
            400,
            "Schema error: 1 is not of type 'string', 'null'",
        ),
        post(
            with(&|e| e["status"] = json!(true)),
            400,
            "Schema error: True is not of type 'string'",
        ),
        post(
            with(&|e| e["bogus"] = json!(1)),
            400,
            "Schema error: Additional properties are not allowed ('bogus' was unexpected)",
        ),
        post(None, 400, "Invalid JSON"),
    ];
    run(&s, cases);
}
