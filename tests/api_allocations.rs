//! Black-box tests of allocations: the real `m2` binary with fake-hardware nodes, driven
//! over HTTP as metalsmith and the `openstack baremetal allocation` commands drive
//! Ironic.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn v(s: &'static str) -> Option<&'static str> {
    Some(s)
}

/// A server whose power sync never takes node reservations behind the tests' backs.
fn server() -> Server {
    Server::start_with("[conductor]\nsync_power_state_interval = 0\n")
}

/// Creates nodes from `bodies` and brings them all to `available`; returns their UUIDs.
fn available_nodes(s: &Server, bodies: Vec<Value>) -> Vec<String> {
    let ids: Vec<String> = bodies
        .into_iter()
        .map(|b| s.create_node(b)["uuid"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        s.provision(id, json!({"target": "manage"}));
    }
    for id in &ids {
        s.wait_for_state(id, "provision_state", "manageable", WAIT);
        s.provision(id, json!({"target": "provide"}));
    }
    for id in &ids {
        s.wait_for_state(id, "provision_state", "available", WAIT);
    }
    ids
}

fn uuid_of(v: &Value) -> String {
    v["uuid"].as_str().unwrap().to_owned()
}

/// Polls an allocation until it leaves `allocating`; returns it.
#[track_caller]
fn settled(s: &Server, ident: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = s
            .get(&format!("/v1/allocations/{ident}"), LATEST)
            .expect(200)
            .body;
        if a["state"] != "allocating" {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "allocation {ident} still allocating"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Creates an allocation at the latest version (asserting 201) and waits for it.
#[track_caller]
fn allocate(s: &Server, body: Value) -> Value {
    let created = s.post("/v1/allocations", LATEST, &body).expect(201);
    settled(s, created.body["uuid"].as_str().unwrap())
}

/// Every node and every allocation, to compare before and after a refused request.
fn world(s: &Server) -> Value {
    json!({
        "nodes": s.snapshot(),
        "allocations": s.get("/v1/allocations?limit=1000", LATEST).expect(200).body,
    })
}

/// One request that must be refused: what to send, the status and a part of the
/// message (the faultstring, or the description of a routing error).
struct Case {
    method: Method,
    path: String,
    version: Option<&'static str>,
    body: Option<Value>,
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
        body,
        status,
        needle: needle.to_owned(),
    }
}

/// Sends every case; each must answer its status in Ironic's error body, carry the
/// expected message, and leave every node and allocation as it was.
fn run(s: &Server, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let before = world(s);
        let r = s.request(
            c.method.clone(),
            &c.path,
            c.version,
            &[],
            c.body.as_ref().map(|b| serde_json::to_vec(b).unwrap()),
        );
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
        if world(s) != before {
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
fn allocation_lifecycle() {
    let s = server();
    let ids = available_nodes(
        &s,
        vec![
            json!({"name": "gold-gpu", "resource_class": "gold"}),
            json!({"name": "gold-plain", "resource_class": "gold"}),
            json!({"name": "silver-1", "resource_class": "silver"}),
        ],
    );
    let (gpu, plain, silver) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    s.put(
        &format!("/v1/nodes/{gpu}/traits"),
        LATEST,
        &json!({"traits": ["CUSTOM_GPU", "HW_CPU_X86_VMX"]}),
    )
    .expect(204);

    // Created in `allocating`, with a Location; a conductor finds the node with the trait.
    let r = s
        .post(
            "/v1/allocations",
            LATEST,
            &json!({"resource_class": "gold", "traits": ["CUSTOM_GPU"], "name": "alloc-1",
                "extra": {"owner": "me"}}),
        )
        .expect(201);
    let uuid = uuid_of(&r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("{}/v1/allocations/{uuid}", s.base).as_str())
    );
    assert_eq!(r.body["state"], "allocating");
    assert!(r.body["node_uuid"].is_null());
    assert_eq!(r.body["candidate_nodes"], json!([]));
    assert_eq!(r.body["traits"], json!(["CUSTOM_GPU"]));
    assert_eq!(r.body["extra"], json!({"owner": "me"}));
    assert!(r.body["owner"].is_null());
    assert_eq!(
        r.body["links"][0]["href"],
        json!(format!("{}/v1/allocations/{uuid}", s.base))
    );
    let a = settled(&s, &uuid);
    assert_eq!(a["state"], "active", "{a}");
    assert_eq!(a["node_uuid"], json!(gpu));
    assert!(a["last_error"].is_null());
    assert!(a["updated_at"].is_string());
    let n = s.node(&gpu);
    assert_eq!(n["instance_uuid"], json!(uuid));
    assert_eq!(n["allocation_uuid"], json!(uuid));
    assert_eq!(n["instance_info"]["traits"], json!(["CUSTOM_GPU"]));
    assert!(n["reservation"].is_null());
    // allocation_uuid is a 1.52 field.
    let old = s.get(&format!("/v1/nodes/{gpu}"), v("1.51")).expect(200);
    assert!(old.body.get("allocation_uuid").is_none());
    assert!(s.node(&plain)["allocation_uuid"].is_null());

    // Shown by UUID, by name and through the node, with `fields`.
    let by_name = s.get("/v1/allocations/alloc-1", LATEST).expect(200).body;
    assert_eq!(by_name, a);
    let through_node = s
        .get("/v1/nodes/gold-gpu/allocation", LATEST)
        .expect(200)
        .body;
    assert_eq!(through_node, a);
    let some = s
        .get("/v1/allocations/alloc-1?fields=uuid,node_uuid", LATEST)
        .expect(200)
        .body;
    let mut keys: Vec<&str> = some
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["links", "node_uuid", "uuid"]);
    // owner appeared in 1.60.
    let at59 = s.get("/v1/allocations/alloc-1", v("1.59")).expect(200).body;
    assert!(at59.get("owner").is_none());

    // No node of the class: error with Ironic's last_error.
    let none = allocate(&s, json!({"resource_class": "bronze"}));
    assert_eq!(none["state"], "error");
    assert_eq!(
        none["last_error"],
        json!(format!(
            "Failed to process allocation {}: no available nodes match the resource class bronze.",
            none["uuid"].as_str().unwrap()
        ))
    );
    // A trait nobody has.
    let notrait = allocate(
        &s,
        json!({"resource_class": "gold", "traits": ["CUSTOM_NOPE"]}),
    );
    assert_eq!(notrait["state"], "error");
    assert!(
        notrait["last_error"]
            .as_str()
            .unwrap()
            .ends_with(": no suitable nodes have the requested traits CUSTOM_NOPE."),
        "{notrait}"
    );
    // Candidates by name are stored as UUIDs; none of them of the class.
    let cand = allocate(
        &s,
        json!({"resource_class": "silver", "candidate_nodes": ["gold-plain"]}),
    );
    assert_eq!(cand["candidate_nodes"], json!([plain]));
    assert!(
        cand["last_error"].as_str().unwrap().ends_with(
            ": none of the requested nodes are available and match the resource class silver."
        ),
        "{cand}"
    );
    // A candidate of the class is taken; a node named like the allocation is preferred.
    let named = allocate(
        &s,
        json!({"resource_class": "silver", "candidate_nodes": [silver], "name": "silver-1"}),
    );
    assert_eq!(named["node_uuid"], json!(silver));

    // Lists and filters.
    let list = |q: &str| -> Vec<String> {
        s.get(&format!("/v1/allocations{q}"), LATEST)
            .expect(200)
            .body["allocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(uuid_of)
            .collect()
    };
    assert_eq!(list("").len(), 5);
    assert_eq!(list("?state=active"), vec![uuid.clone(), uuid_of(&named)]);
    assert_eq!(list("?state=error").len(), 3);
    assert_eq!(list("?resource_class=bronze"), vec![uuid_of(&none)]);
    assert_eq!(list("?node=gold-gpu"), vec![uuid.clone()]);
    assert_eq!(list(&format!("?node={silver}")), vec![uuid_of(&named)]);
    assert_eq!(list("?sort_key=name&sort_dir=desc&limit=1").len(), 1);
    let page = s.get("/v1/allocations?limit=2", LATEST).expect(200).body;
    assert_eq!(page["allocations"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1/allocations?", s.base)),
        "{next}"
    );
    let mut seen: Vec<String> = page["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(uuid_of)
        .collect();
    let mut next = Some(next.to_owned());
    while let Some(url) = next {
        let p = s
            .get(url.trim_start_matches(&s.base), LATEST)
            .expect(200)
            .body;
        seen.extend(p["allocations"].as_array().unwrap().iter().map(uuid_of));
        next = p["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, list(""));

    // PATCH name and extra from 1.57.
    let patched = s
        .patch(
            "/v1/allocations/alloc-1",
            v("1.57"),
            &json!([{"op": "replace", "path": "/name", "value": "renamed"},
                {"op": "add", "path": "/extra/k", "value": "v"}]),
        )
        .expect(200)
        .body;
    assert_eq!(patched["name"], "renamed");
    assert_eq!(patched["extra"], json!({"owner": "me", "k": "v"}));
    assert_eq!(patched["state"], "active");
    let cleared = s
        .patch(
            "/v1/allocations/renamed",
            LATEST,
            &json!([{"op": "remove", "path": "/name"}, {"op": "remove", "path": "/extra"}]),
        )
        .expect(200)
        .body;
    assert!(cleared["name"].is_null());
    assert_eq!(cleared["extra"], json!({}));

    // A node holding an allocation can not be deleted.
    s.delete(&format!("/v1/nodes/{gpu}"), LATEST)
        .expect_fault(409, "is associated with instance");
    // Deleting the allocation frees the node.
    s.delete(&format!("/v1/allocations/{uuid}"), LATEST)
        .expect(204);
    s.get(&format!("/v1/allocations/{uuid}"), LATEST)
        .expect_fault(404, &format!("Allocation {uuid} could not be found."));
    let n = s.node(&gpu);
    assert!(n["instance_uuid"].is_null() && n["allocation_uuid"].is_null());
    s.get("/v1/nodes/gold-gpu/allocation", LATEST)
        .expect_fault(404, "Allocation for node gold-gpu was not found");
    // Through the node, by name.
    s.delete("/v1/nodes/silver-1/allocation", LATEST)
        .expect(204);
    assert!(s.node(&silver)["instance_uuid"].is_null());
    // Failed allocations go away as well.
    s.delete(&format!("/v1/allocations/{}", uuid_of(&none)), LATEST)
        .expect(204);
}

#[test]
fn allocated_nodes_through_deploy_and_instance_removal() {
    let s = server();
    let ids = available_nodes(
        &s,
        vec![
            json!({"name": "d1", "resource_class": "rc"}),
            json!({"name": "d2", "resource_class": "rc"}),
            json!({"name": "d3", "resource_class": "rc"}),
        ],
    );
    // A node in maintenance is never picked.
    s.patch(
        &format!("/v1/nodes/{}", ids[2]),
        LATEST,
        &json!([{"op": "replace", "path": "/maintenance", "value": true}]),
    )
    .expect(200);
    let a1 = allocate(&s, json!({"resource_class": "rc"}));
    let a2 = allocate(&s, json!({"resource_class": "rc"}));
    let a3 = allocate(&s, json!({"resource_class": "rc"}));
    assert_eq!(
        (&a1["state"], &a2["state"]),
        (&json!("active"), &json!("active"))
    );
    assert_eq!(a3["state"], "error");
    let taken: HashSet<&str> = [&a1, &a2]
        .iter()
        .map(|a| a["node_uuid"].as_str().unwrap())
        .collect();
    assert_eq!(
        taken,
        [ids[0].as_str(), ids[1].as_str()].into_iter().collect()
    );

    // Deploy the node of a1: while active its allocation can not be removed.
    let node = a1["node_uuid"].as_str().unwrap().to_owned();
    s.provision(&node, json!({"target": "active"}));
    s.wait_for_state(&node, "provision_state", "active", WAIT);
    let before = world(&s);
    let msg = s
        .delete(&format!("/v1/allocations/{}", uuid_of(&a1)), LATEST)
        .expect_fault(409, "");
    assert_eq!(
        msg,
        format!(
            "Cannot remove allocation {} for node {node}, because the node is active (and \
             maintenance mode is off)",
            uuid_of(&a1)
        )
    );
    s.patch(
        &format!("/v1/nodes/{node}"),
        LATEST,
        &json!([{"op": "remove", "path": "/instance_uuid"}]),
    )
    .expect_fault(409, "with an allocation can not have instance_uuid removed");
    assert_eq!(world(&s), before);
    // Tearing the instance down removes the allocation.
    s.provision(&node, json!({"target": "deleted"}));
    s.wait_for_state(&node, "provision_state", "available", WAIT);
    let n = s.node(&node);
    assert!(
        n["allocation_uuid"].is_null() && n["instance_uuid"].is_null(),
        "{n}"
    );
    s.get(&format!("/v1/allocations/{}", uuid_of(&a1)), LATEST)
        .expect(404);

    // Removing the instance of an available node removes its allocation.
    let other = a2["node_uuid"].as_str().unwrap().to_owned();
    s.patch(
        &format!("/v1/nodes/{other}"),
        LATEST,
        &json!([{"op": "remove", "path": "/instance_uuid"}]),
    )
    .expect(200);
    assert!(s.node(&other)["allocation_uuid"].is_null());
    s.get(&format!("/v1/allocations/{}", uuid_of(&a2)), LATEST)
        .expect(404);
}

#[test]
fn backfilling_records_a_deployed_node() {
    let s = server();
    let ids = available_nodes(
        &s,
        vec![
            json!({"name": "bf1", "resource_class": "bf"}),
            json!({"name": "bf2", "resource_class": "bf"}),
        ],
    );
    let instance = "5b9b5c0e-8c93-4c4c-9d0b-4a7d2c8a0f11";
    s.patch(
        &format!("/v1/nodes/{}", ids[0]),
        LATEST,
        &json!([{"op": "add", "path": "/instance_uuid", "value": instance}]),
    )
    .expect(200);
    for id in &ids {
        s.provision(id, json!({"target": "active"}));
        s.wait_for_state(id, "provision_state", "active", WAIT);
    }
    // Not before 1.58.
    let before = world(&s);
    s.post("/v1/allocations", v("1.57"), &json!({"node": "bf1"}))
        .expect_fault(
            400,
            "Schema error: Additional properties are not allowed ('node' was unexpected)",
        );
    // A mismatch writes nothing.
    let msg = s
        .post(
            "/v1/allocations",
            LATEST,
            &json!({"node": "bf1", "resource_class": "other", "traits": ["CUSTOM_X"],
                "uuid": "0d2f6d8e-51a3-4b8e-a0ef-6f7e1bd0f6a1"}),
        )
        .expect_fault(400, "");
    assert_eq!(
        msg,
        format!(
            "Failed to process allocation 0d2f6d8e-51a3-4b8e-a0ef-6f7e1bd0f6a1: Cannot backfill \
             an allocation for node {}: Resource class bf does not match the requested resource \
             class other; List of traits [] does not match the requested traits ['CUSTOM_X'].",
            ids[0]
        )
    );
    s.post("/v1/allocations", LATEST, &json!({"node": "nope"}))
        .expect_fault(400, "Node nope could not be found.");
    assert_eq!(world(&s), before);

    // Without a UUID the allocation takes the node's instance UUID and resource class.
    let r = s
        .post("/v1/allocations", v("1.58"), &json!({"node": "bf1"}))
        .expect(201)
        .body;
    assert_eq!(r["uuid"], instance);
    assert_eq!(r["state"], "active");
    assert_eq!(r["node_uuid"], json!(ids[0]));
    assert_eq!(r["resource_class"], "bf");
    assert_eq!(s.node(&ids[0])["allocation_uuid"], instance);
    // The node has an allocation now.
    s.post("/v1/allocations", LATEST, &json!({"node": "bf1"}))
        .expect_fault(
            409,
            &format!("An allocation with UUID {instance} already exists."),
        );
    // A node without an instance gets the allocation's UUID as instance.
    let r2 = s
        .post(
            "/v1/allocations",
            LATEST,
            &json!({"node": ids[1], "name": "bf-two", "owner": "p1"}),
        )
        .expect(201)
        .body;
    assert_eq!(r2["owner"], "p1");
    let n = s.node(&ids[1]);
    assert_eq!(n["instance_uuid"], r2["uuid"]);
    assert_eq!(n["allocation_uuid"], r2["uuid"]);
    // owner filters from 1.60.
    let owned = s.get("/v1/allocations?owner=p1", LATEST).expect(200).body;
    assert_eq!(owned["allocations"].as_array().unwrap().len(), 1);
}

#[test]
fn refused_requests_change_nothing() {
    let s = server();
    let ids = available_nodes(
        &s,
        vec![
            json!({"name": "e1", "resource_class": "rc"}),
            json!({"name": "e2", "resource_class": "rc"}),
        ],
    );
    let a = allocate(&s, json!({"resource_class": "rc", "name": "taken"}));
    assert_eq!(a["state"], "active");
    let auuid = uuid_of(&a);
    let free = if a["node_uuid"] == json!(ids[0]) {
        "e2"
    } else {
        "e1"
    };
    let held = if free == "e1" { "e2" } else { "e1" };
    let all = "/v1/allocations";
    let one = format!("/v1/allocations/{auuid}");
    let missing = "6e0d8cde-59a8-4e1e-9a76-5d5f1c7b2a10";
    let fields_enum = "['candidate_nodes', 'created_at', 'extra', 'last_error', 'links', 'name', \
                       'node_uuid', 'resource_class', 'state', 'traits', 'updated_at', 'uuid'";
    let get = |p: &str, v: Option<&'static str>, status: u16, needle: &str| {
        case(Method::GET, p, v, None, status, needle)
    };
    let post = |b: Value, status: u16, needle: &str| {
        case(Method::POST, all, LATEST, Some(b), status, needle)
    };
    let patch = |b: Value, status: u16, needle: &str| {
        case(Method::PATCH, &one, LATEST, Some(b), status, needle)
    };
    let cases = vec![
        // Microversions.
        get(
            all,
            v("1.51"),
            404,
            "The API version does not allow allocations",
        ),
        get(
            &one,
            v("1.51"),
            404,
            "The API version does not allow allocations",
        ),
        get(
            &one,
            NOVER,
            404,
            "The API version does not allow allocations",
        ),
        case(
            Method::POST,
            all,
            v("1.51"),
            Some(json!({"resource_class": "rc"})),
            405,
            "The API version does not allow allocations",
        ),
        case(
            Method::DELETE,
            &one,
            v("1.51"),
            None,
            405,
            "The API version does not allow allocations",
        ),
        case(
            Method::PATCH,
            &one,
            v("1.56"),
            Some(json!([{"op": "add", "path": "/extra/a", "value": 1}])),
            405,
            "The API version does not allow updating allocations",
        ),
        get("/v1/nodes/e1/allocation", v("1.51"), 404, ""),
        case(
            Method::DELETE,
            "/v1/nodes/e1/allocation",
            v("1.51"),
            None,
            404,
            "",
        ),
        // Methods.
        case(
            Method::PUT,
            all,
            LATEST,
            Some(json!({})),
            405,
            "could not comply",
        ),
        case(
            Method::POST,
            "/v1/nodes/e1/allocation",
            LATEST,
            Some(json!({})),
            405,
            "could not comply",
        ),
        // Create.
        post(json!([]), 400, "Schema error: [] is not of type 'object'"),
        post(
            json!({}),
            400,
            "The resource_class field is mandatory when not backfilling",
        ),
        post(
            json!({"resource_class": ""}),
            400,
            "The resource_class field is mandatory",
        ),
        post(
            json!({"resource_class": "rc", "bogus": 1, "also": 2}),
            400,
            "Schema error: Additional properties are not allowed ('also', 'bogus' were unexpected)",
        ),
        post(
            json!({"resource_class": "x".repeat(81)}),
            400,
            "is too long",
        ),
        post(
            json!({"resource_class": 5}),
            400,
            "Schema error: 5 is not of type 'string', 'null'",
        ),
        post(
            json!({"resource_class": "rc", "traits": ["gold"]}),
            400,
            "Schema error: 'gold' is not valid under any of the given schemas. Possible root cause: 'gold' does not match '^CUSTOM_[A-Z0-9_]+$'",
        ),
        post(
            json!({"resource_class": "rc", "traits": "CUSTOM_A"}),
            400,
            "Schema error: 'CUSTOM_A' is not of type 'array', 'null'",
        ),
        post(
            json!({"resource_class": "rc", "traits": [""]}),
            400,
            "Schema error: '' should be non-empty",
        ),
        // A shallower problem is reported before a deeper one.
        post(
            json!({"resource_class": "rc", "traits": ["gold"], "extra": "x"}),
            400,
            "Schema error: 'x' is not of type 'object', 'null'",
        ),
        post(
            json!({"resource_class": "rc", "candidate_nodes": ["a b"]}),
            400,
            "Schema error: 'a b' is not valid under any of the given schemas. Possible root cause: 'a b' is not a 'uuid'",
        ),
        post(
            json!({"resource_class": "rc", "candidate_nodes": ["e1", "nope"]}),
            400,
            "Nodes cannot be found: nope",
        ),
        post(
            json!({"resource_class": "rc", "candidate_nodes": [missing]}),
            400,
            &format!("Nodes cannot be found: {missing}"),
        ),
        post(
            json!({"resource_class": "rc", "name": "a b"}),
            400,
            "Cannot create allocation with invalid name 'a b'",
        ),
        post(
            json!({"resource_class": "rc", "name": "taken"}),
            409,
            "An allocation with name taken already exists.",
        ),
        post(
            json!({"resource_class": "rc", "uuid": auuid}),
            409,
            &format!("An allocation with UUID {auuid} already exists."),
        ),
        post(
            json!({"resource_class": "rc", "uuid": "not-a-uuid"}),
            400,
            "Expected a UUID but received not-a-uuid.",
        ),
        post(
            json!({"node": free}),
            400,
            "Cannot backfill an allocation for node",
        ),
        // Backfilling the allocated node takes its instance UUID, which is taken.
        post(
            json!({"node": held}),
            409,
            &format!("An allocation with UUID {auuid} already exists."),
        ),
        post(
            json!({"node": "a b"}),
            400,
            "Expected a logical name or UUID but received a b.",
        ),
        case(Method::POST, all, LATEST, None, 400, "Invalid JSON"),
        case(
            Method::POST,
            all,
            v("1.59"),
            Some(json!({"resource_class": "rc", "owner": null})),
            406,
            "Request not acceptable.",
        ),
        // List.
        get(
            "/v1/allocations?bogus=1",
            LATEST,
            400,
            "Unexpected arguments: bogus",
        ),
        get(
            "/v1/allocations?limit=x",
            LATEST,
            400,
            "Expected an integer for limit: x",
        ),
        get(
            "/v1/allocations?limit=0",
            LATEST,
            400,
            "Limit must be positive",
        ),
        get(
            "/v1/allocations?sort_key=traits",
            LATEST,
            400,
            "The sort_key value traits is an invalid field for sorting",
        ),
        get(
            "/v1/allocations?sort_key=bogus",
            LATEST,
            400,
            "The sort_key value \"bogus\" is an invalid field for sorting",
        ),
        get(
            "/v1/allocations?sort_dir=up",
            LATEST,
            400,
            "Schema error: 'up' is not one of ['asc', 'desc']",
        ),
        get(
            "/v1/allocations?marker=abc",
            LATEST,
            400,
            "Schema error: 'abc' is not a 'uuid'",
        ),
        get(
            &format!("/v1/allocations?marker={missing}"),
            LATEST,
            404,
            &format!("Allocation {missing} could not be found."),
        ),
        get(
            "/v1/allocations?node=nope",
            LATEST,
            400,
            "Node nope could not be found.",
        ),
        get(
            "/v1/allocations?fields=bogus",
            LATEST,
            400,
            &format!("Schema error: 'bogus' is not one of {fields_enum}"),
        ),
        get(
            "/v1/allocations?fields=owner",
            v("1.59"),
            400,
            "Schema error: 'owner' is not one of",
        ),
        get(
            "/v1/allocations?owner=p",
            v("1.59"),
            406,
            "Request not acceptable.",
        ),
        // Show.
        get(
            "/v1/allocations/a%20b",
            LATEST,
            400,
            "Expected a logical name or UUID but received a b.",
        ),
        get(
            "/v1/allocations/nope",
            LATEST,
            404,
            "Allocation nope could not be found.",
        ),
        get(
            &format!("{one}?fields=bogus"),
            LATEST,
            400,
            "Schema error: 'bogus' is not one of",
        ),
        get(
            &format!("{one}?bogus=1"),
            LATEST,
            400,
            "Unexpected arguments: bogus",
        ),
        // Update.
        patch(
            json!([{"op": "replace", "path": "/uuid", "value": missing}]),
            400,
            "Cannot patch /uuid. Only the following can be updated: name, extra",
        ),
        patch(
            json!([{"op": "replace", "path": "/state", "value": "error"}]),
            400,
            "Cannot patch /state.",
        ),
        patch(
            json!([{"op": "replace", "path": "/name", "value": "a b"}]),
            400,
            "Cannot update allocation with invalid name 'a b'",
        ),
        patch(
            json!([{"op": "replace", "path": "/extra", "value": "x"}]),
            400,
            "Schema error for patch: 'x' is not of type 'object', 'null'",
        ),
        patch(
            json!([{"op": "move", "path": "/name", "from": "/extra"}]),
            400,
            "Schema error: Additional properties are not allowed ('from' was unexpected)",
        ),
        patch(
            json!([{"op": "move", "path": "/name"}]),
            400,
            "Schema error: 'move' is not one of ['add', 'replace', 'remove']",
        ),
        patch(json!({"op": "add"}), 400, "is not of type 'array'"),
        patch(
            json!([{"op": "replace", "path": "/extra/nope/deeper", "value": 1}]),
            400,
            "Couldn't apply patch",
        ),
        case(
            Method::PATCH,
            "/v1/allocations/nope",
            LATEST,
            Some(json!([])),
            404,
            "Allocation nope could not be found.",
        ),
        // Delete.
        case(
            Method::DELETE,
            "/v1/allocations/nope",
            LATEST,
            None,
            404,
            "Allocation nope could not be found.",
        ),
        case(
            Method::DELETE,
            &format!("/v1/nodes/{free}/allocation"),
            LATEST,
            None,
            404,
            &format!("Allocation for node {free} was not found"),
        ),
        case(
            Method::DELETE,
            "/v1/nodes/nope/allocation",
            LATEST,
            None,
            404,
            "Node nope could not be found.",
        ),
        get(
            "/v1/nodes/nope/allocation",
            LATEST,
            400,
            "Node nope could not be found.",
        ),
        get(
            &format!("/v1/nodes/{free}/allocation"),
            LATEST,
            404,
            &format!("Allocation for node {free} was not found"),
        ),
        get(
            "/v1/nodes/e1/allocation?bogus=1",
            LATEST,
            400,
            "Unexpected arguments: bogus",
        ),
    ];
    run(&s, cases);
    // A name taken by PATCH conflicts too.
    let other = allocate(&s, json!({"resource_class": "rc", "name": "other"}));
    let before = world(&s);
    s.patch(
        &format!("/v1/allocations/{}", uuid_of(&other)),
        LATEST,
        &json!([{"op": "replace", "path": "/name", "value": "taken"}]),
    )
    .expect_fault(409, "An allocation with name taken already exists.");
    assert_eq!(before, world(&s));
}

/// Many allocations created at once for fewer nodes: every node goes to exactly one
/// allocation, the others fail, and node and allocation agree on each other.
#[test]
fn parallel_allocations_never_share_a_node() {
    const NODES: usize = 8;
    const REQUESTS: usize = 12;
    let s = server();
    let bodies = (0..NODES)
        .map(|i| json!({"name": format!("par-{i}"), "resource_class": "par"}))
        .collect();
    let ids = available_nodes(&s, bodies);
    for wave in 0..2 {
        let created: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..REQUESTS)
                .map(|_| {
                    let s = &s;
                    scope.spawn(move || {
                        let r = s
                            .post("/v1/allocations", LATEST, &json!({"resource_class": "par"}))
                            .expect(201);
                        uuid_of(&r.body)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let done: Vec<Value> = created.iter().map(|u| settled(&s, u)).collect();
        let active: Vec<&Value> = done.iter().filter(|a| a["state"] == "active").collect();
        let failed: Vec<&Value> = done.iter().filter(|a| a["state"] == "error").collect();
        assert_eq!(active.len(), NODES, "wave {wave}: {done:#?}");
        assert_eq!(failed.len(), REQUESTS - NODES, "wave {wave}");
        let nodes: HashSet<&str> = active
            .iter()
            .map(|a| a["node_uuid"].as_str().unwrap())
            .collect();
        assert_eq!(nodes.len(), NODES, "wave {wave}: a node was given twice");
        for a in &active {
            let n = s.node(a["node_uuid"].as_str().unwrap());
            assert_eq!(n["instance_uuid"], a["uuid"]);
            assert_eq!(n["allocation_uuid"], a["uuid"]);
            assert!(n["reservation"].is_null());
        }
        for f in &failed {
            let msg = f["last_error"].as_str().unwrap();
            assert!(
                msg.starts_with(&format!(
                    "Failed to process allocation {}: ",
                    f["uuid"].as_str().unwrap()
                )),
                "{msg}"
            );
            assert!(f["node_uuid"].is_null());
        }
        // Free every node for the next wave.
        std::thread::scope(|scope| {
            for u in &created {
                let s = &s;
                scope.spawn(move || {
                    s.delete(&format!("/v1/allocations/{u}"), LATEST)
                        .expect(204);
                });
            }
        });
        for id in &ids {
            let n = s.node(id);
            assert!(
                n["instance_uuid"].is_null() && n["allocation_uuid"].is_null(),
                "{n}"
            );
        }
        assert_eq!(
            s.get("/v1/allocations", LATEST).expect(200).body["allocations"],
            json!([])
        );
    }
}
