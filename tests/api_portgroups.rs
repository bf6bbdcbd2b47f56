//! Black-box tests of `/v1/portgroups`: the real `m2` binary over HTTP.

mod common;

use common::*;
use serde_json::{Value, json};

fn node(s: &Server, name: &str) -> String {
    s.create_node(json!({"name": name}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn portgroup(s: &Server, body: Value) -> Value {
    s.post("/v1/portgroups", LATEST, &body).expect(201).body
}

fn group_count(s: &Server) -> usize {
    s.get("/v1/portgroups", LATEST).expect(200).body["portgroups"]
        .as_array()
        .unwrap()
        .len()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

#[test]
fn create_show_list_delete() {
    let s = Server::start();
    let n = node(&s, "pg-node");
    let r = s.post(
        "/v1/portgroups",
        LATEST,
        &json!({"node_uuid": n, "name": "bond0", "address": "52:54:00:AA:CC:01",
                "extra": {"k": "v"}, "properties": {"miimon": "100"}}),
    );
    let location = r.header("location").map(str::to_owned);
    let g = r.expect(201).body.clone();
    let id = g["uuid"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("{}/v1/portgroups/{id}", s.base)));
    assert_eq!(g["address"], "52:54:00:aa:cc:01", "MAC in lower case");
    assert_eq!(g["name"], "bond0");
    assert_eq!(g["node_uuid"], json!(n));
    assert_eq!(g["mode"], "active-backup", "the configured default mode");
    assert_eq!(g["properties"], json!({"miimon": "100"}));
    assert_eq!(g["standalone_ports_supported"], true);
    assert_eq!(g["internal_info"], json!({}));
    assert_eq!(g["extra"], json!({"k": "v"}));
    assert_eq!(
        g["ports"][0]["href"],
        json!(format!("{}/v1/portgroups/{id}/ports", s.base))
    );
    assert_eq!(g["ports"][1]["rel"], "bookmark");
    assert!(g["links"][0]["href"].as_str().unwrap().ends_with(&id));

    // The short form of the list, the detailed forms, show by UUID and by name.
    let list = s.get("/v1/portgroups", LATEST).expect(200).body.clone();
    assert_eq!(
        keys(&list["portgroups"][0]),
        ["address", "links", "name", "uuid"]
    );
    let detail = s
        .get("/v1/portgroups/detail", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(detail["portgroups"][0]["mode"], "active-backup");
    assert!(detail["portgroups"][0]["ports"].is_array());
    assert_eq!(
        s.get("/v1/portgroups?detail=true", LATEST).expect(200).body["portgroups"][0]["extra"],
        json!({"k": "v"})
    );
    let by_uuid = s
        .get(&format!("/v1/portgroups/{id}"), LATEST)
        .expect(200)
        .body
        .clone();
    let by_name = s
        .get("/v1/portgroups/bond0", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_uuid, by_name);
    let some = s
        .get("/v1/portgroups/bond0?fields=mode,node_uuid", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(keys(&some), ["links", "mode", "node_uuid"]);

    // Filters, the node's collection and the trailing-slash form clients use.
    let other = node(&s, "pg-other");
    portgroup(
        &s,
        json!({"node_uuid": other, "name": "bond1", "address": "52:54:00:aa:cc:02"}),
    );
    let by_node = s
        .get("/v1/portgroups?node=pg-other", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_node["portgroups"].as_array().unwrap().len(), 1);
    assert_eq!(by_node["portgroups"][0]["name"], "bond1");
    let by_addr = s
        .get("/v1/portgroups/?address=52:54:00:AA:CC:01", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_addr["portgroups"].as_array().unwrap().len(), 1);
    assert_eq!(by_addr["portgroups"][0]["uuid"], json!(id));
    let sub = s
        .get("/v1/nodes/pg-node/portgroups", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(sub["portgroups"].as_array().unwrap().len(), 1);
    assert_eq!(sub["portgroups"][0]["uuid"], json!(id));
    let sub = s
        .get(&format!("/v1/nodes/{other}/portgroups/detail"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(sub["portgroups"][0]["mode"], "active-backup");
    s.get("/v1/nodes/no-such-node/portgroups", LATEST)
        .expect_fault(404, "could not be found");

    // Pagination: a full page has a `next` link that continues after it.
    let page = s
        .get("/v1/portgroups?limit=1&sort_key=name&sort_dir=desc", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page["portgroups"][0]["name"], "bond1");
    let next = page["next"].as_str().expect("next link");
    assert!(next.contains("sort_key=name"), "{next}");
    let page2 = s
        .get(next.strip_prefix(&s.base).unwrap(), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page2["portgroups"][0]["name"], "bond0");

    s.delete("/v1/portgroups/bond0", LATEST).expect(204);
    s.get(&format!("/v1/portgroups/{id}"), LATEST)
        .expect_fault(404, "could not be found");
    assert_eq!(group_count(&s), 1);
}

#[test]
fn default_mode_comes_from_the_configuration() {
    let s = Server::start_with("[DEFAULT]\ndefault_portgroup_mode = 802.3ad\n");
    let n = node(&s, "mode-node");
    let g = portgroup(&s, json!({"node_uuid": n}));
    assert_eq!(g["mode"], "802.3ad");
    assert_eq!(g["name"], Value::Null);
    assert_eq!(g["address"], Value::Null);
    let g = portgroup(&s, json!({"node_uuid": n, "mode": "balance-rr"}));
    assert_eq!(g["mode"], "balance-rr");
    // Below 1.26 the mode is not shown, but a portgroup still gets the default.
    let g = s
        .post("/v1/portgroups", Some("1.25"), &json!({"node_uuid": n}))
        .expect(201)
        .body
        .clone();
    assert!(
        g.get("mode").is_none() && g.get("properties").is_none(),
        "{g}"
    );
    let shown = s
        .get(
            &format!("/v1/portgroups/{}", g["uuid"].as_str().unwrap()),
            LATEST,
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(shown["mode"], "802.3ad");
}

#[test]
fn bad_creates_are_refused_and_store_nothing() {
    let s = Server::start();
    let n = node(&s, "bad-pg-node");
    portgroup(
        &s,
        json!({"node_uuid": n, "name": "taken", "address": "52:54:00:00:00:01",
                "uuid": "6a8e6d3e-1111-4c4c-8d8d-123456789abc"}),
    );
    let cases: Vec<(Value, Option<&str>, u16, &str)> = vec![
        (
            json!({"name": "x"}),
            LATEST,
            400,
            "'node_uuid' is a required property",
        ),
        (
            json!({"node_uuid": "not-a-uuid"}),
            LATEST,
            400,
            "Expected UUID for node_uuid",
        ),
        (
            json!({"node_uuid": "9f2b1f3a-1111-4a4a-8a8a-123456789abc"}),
            LATEST,
            400,
            "could not be found",
        ),
        (
            json!({"node_uuid": n, "address": "nope"}),
            LATEST,
            400,
            "Expected valid MAC address",
        ),
        (
            json!({"node_uuid": n, "address": 7}),
            LATEST,
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "name": "has space"}),
            LATEST,
            400,
            "Cannot create a portgroup named 'has space'",
        ),
        (
            json!({"node_uuid": n, "name": 5}),
            LATEST,
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "colour": "red"}),
            LATEST,
            400,
            "'colour' was unexpected",
        ),
        (
            json!({"node_uuid": n, "internal_info": {}}),
            LATEST,
            400,
            "'internal_info' was unexpected",
        ),
        (
            json!({"node_uuid": n, "extra": "x"}),
            LATEST,
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "properties": []}),
            LATEST,
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "standalone_ports_supported": "sometimes"}),
            LATEST,
            400,
            "Unrecognized value",
        ),
        (
            json!({"node_uuid": n, "uuid": "nope"}),
            LATEST,
            400,
            "Expected UUID",
        ),
        (
            json!({"node_uuid": n, "mode": "802.3ad"}),
            Some("1.25"),
            406,
            "requires API version 1.26",
        ),
        (
            json!({"node_uuid": n, "properties": {"a": 1}}),
            Some("1.25"),
            406,
            "requires API version 1.26",
        ),
        (json!({"node_uuid": n}), Some("1.22"), 404, "not be found"),
        (
            json!({"node_uuid": n, "name": "taken"}),
            LATEST,
            409,
            "name taken already exists",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:01"}),
            LATEST,
            409,
            "MAC address 52:54:00:00:00:01 already exists",
        ),
        (
            json!({"node_uuid": n, "uuid": "6a8e6d3e-1111-4c4c-8d8d-123456789abc"}),
            LATEST,
            409,
            "already exists",
        ),
    ];
    for (body, version, status, needle) in cases {
        let r = s.post("/v1/portgroups", version, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(group_count(&s), 1, "{body} stored something");
    }
    for raw in [&b"{not json"[..], b"[]", b""] {
        let r = s.request(
            reqwest::Method::POST,
            "/v1/portgroups",
            LATEST,
            &[],
            Some(raw.to_vec()),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_error_format(&r);
    }
    assert_eq!(group_count(&s), 1);
}

#[test]
fn patch_follows_ironic_rules() {
    let s = Server::start();
    let n = node(&s, "patch-pg-node");
    let g = portgroup(
        &s,
        json!({"node_uuid": n, "name": "pg-a", "address": "52:54:00:00:01:01"}),
    );
    let id = g["uuid"].as_str().unwrap().to_owned();
    let path = format!("/v1/portgroups/{id}");

    let b = s
        .patch(
            "/v1/portgroups/pg-a",
            LATEST,
            &json!([
                {"op": "add", "path": "/extra/rack", "value": "r1"},
                {"op": "replace", "path": "/mode", "value": "802.3ad"},
                {"op": "add", "path": "/properties/miimon", "value": 100},
                {"op": "replace", "path": "/name", "value": "pg-b"},
                {"op": "replace", "path": "/address", "value": "52:54:00:00:01:FF"},
            ]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["extra"], json!({"rack": "r1"}));
    assert_eq!(b["mode"], "802.3ad");
    assert_eq!(b["properties"], json!({"miimon": 100}));
    assert_eq!(b["name"], "pg-b");
    assert_eq!(b["address"], "52:54:00:00:01:ff");
    assert!(b["updated_at"].is_string());
    // remove resets to the default; optional fields become null.
    let b = s
        .patch(
            &path,
            LATEST,
            &json!([
                {"op": "remove", "path": "/address"},
                {"op": "remove", "path": "/properties"},
                {"op": "replace", "path": "/standalone_ports_supported", "value": false},
            ]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["address"], Value::Null);
    assert_eq!(b["properties"], json!({}));
    assert_eq!(b["standalone_ports_supported"], false);
    let b = s
        .patch(
            &path,
            LATEST,
            &json!([{"op": "remove", "path": "/standalone_ports_supported"}]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["standalone_ports_supported"], true);

    portgroup(&s, json!({"node_uuid": n, "name": "pg-other"}));
    let before = s.get(&path, LATEST).expect(200).body.clone();
    let cases: Vec<(Value, Option<&str>, u16, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/uuid", "value": "x"}]),
            LATEST,
            400,
            "Cannot patch /uuid",
        ),
        (
            json!([{"op": "replace", "path": "/internal_info", "value": {}}]),
            LATEST,
            400,
            "Cannot patch /internal_info",
        ),
        (
            json!([{"op": "remove", "path": "/node_uuid"}]),
            LATEST,
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "remove", "path": "/mode"}]),
            LATEST,
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": "a:b"}]),
            LATEST,
            400,
            "can not rename it to 'a:b'",
        ),
        (
            json!([{"op": "replace", "path": "/address", "value": "zz"}]),
            LATEST,
            400,
            "Expected valid MAC address",
        ),
        (
            json!([{"op": "replace", "path": "/standalone_ports_supported", "value": "maybe"}]),
            LATEST,
            400,
            "Unrecognized value",
        ),
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": "9f2b1f3a-1111-4a4a-8a8a-123456789abc"}]),
            LATEST,
            400,
            "no such node",
        ),
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": "patch-pg-node"}]),
            LATEST,
            400,
            "Expected UUID for node_uuid",
        ),
        (
            json!([{"op": "move", "path": "/extra", "from": "/x"}]),
            LATEST,
            400,
            "only add, replace and remove",
        ),
        (
            json!([{"op": "remove", "path": "/extra/missing"}]),
            LATEST,
            400,
            "Unable to apply patch",
        ),
        (json!({"op": "remove"}), LATEST, 400, "non-empty JSON array"),
        (
            json!([{"op": "replace", "path": "/mode", "value": "balance-rr"}]),
            Some("1.25"),
            406,
            "requires API version 1.26",
        ),
        (
            json!([{"op": "add", "path": "/properties/a", "value": 1}]),
            Some("1.25"),
            406,
            "requires API version 1.26",
        ),
        (
            json!([{"op": "add", "path": "/extra/a", "value": 1}]),
            Some("1.22"),
            404,
            "not be found",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": "pg-other"}]),
            LATEST,
            409,
            "already exists",
        ),
    ];
    for (body, version, status, needle) in cases {
        let r = s.patch(&path, version, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(
            s.get(&path, LATEST).expect(200).body,
            before,
            "{body} changed the portgroup"
        );
    }
    s.patch(
        "/v1/portgroups/no-such-group",
        LATEST,
        &json!([{"op": "add", "path": "/extra/a", "value": 1}]),
    )
    .expect_fault(404, "Portgroup no-such-group could not be found");
}

#[test]
fn members_and_node_state_guard_changes() {
    let s = Server::start();
    let n = node(&s, "guard-node");
    let g = portgroup(&s, json!({"node_uuid": n, "name": "guarded"}));
    let id = g["uuid"].as_str().unwrap().to_owned();
    let path = format!("/v1/portgroups/{id}");
    let p = s
        .post(
            "/v1/ports",
            LATEST,
            &json!({"node_uuid": n, "address": "52:54:00:00:02:01", "portgroup_uuid": id}),
        )
        .expect(201)
        .body
        .clone();
    let port_path = format!("/v1/ports/{}", p["uuid"].as_str().unwrap());
    // The member list of the portgroup.
    let members = s
        .get("/v1/portgroups/guarded/ports", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(members["ports"][0]["uuid"], p["uuid"]);

    // A member still boots over PXE: standalone ports can not be dropped.
    let before = s.get(&path, LATEST).expect(200).body.clone();
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/standalone_ports_supported", "value": false}]),
    )
    .expect_fault(409, "'pxe_enabled' set to True");
    assert_eq!(s.get(&path, LATEST).expect(200).body, before);
    s.patch(
        &port_path,
        LATEST,
        &json!([{"op": "replace", "path": "/pxe_enabled", "value": false}]),
    )
    .expect(200);
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/standalone_ports_supported", "value": false}]),
    )
    .expect(200);

    // A portgroup with ports neither moves nor goes away.
    let other = node(&s, "guard-other");
    let before = s.get(&path, LATEST).expect(200).body.clone();
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/node_uuid", "value": other}]),
    )
    .expect_fault(400, "still contains ports");
    s.delete(&path, LATEST).expect_fault(400, "contains ports");
    assert_eq!(s.get(&path, LATEST).expect(200).body, before);

    // Once empty it moves between enroll nodes.
    s.delete(&port_path, LATEST).expect(204);
    let b = s
        .patch(
            &path,
            LATEST,
            &json!([{"op": "replace", "path": "/node_uuid", "value": other}]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["node_uuid"], json!(other));
    assert_eq!(
        s.get("/v1/nodes/guard-other/portgroups", LATEST)
            .expect(200)
            .body["portgroups"][0]["name"],
        "guarded"
    );

    // Not onto (or off) an available node, unless it is in maintenance.
    s.provision(&n, json!({"target": "manage"}));
    s.wait_for_state(&n, "provision_state", "manageable", WAIT);
    s.provision(&n, json!({"target": "provide"}));
    s.wait_for_state(&n, "provision_state", "available", WAIT);
    let before = s.get(&path, LATEST).expect(200).body.clone();
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/node_uuid", "value": n}]),
    )
    .expect_fault(400, "its state is 'available'");
    assert_eq!(s.get(&path, LATEST).expect(200).body, before);
    // Other fields stay free on an available node.
    let g2 = portgroup(&s, json!({"node_uuid": n, "name": "on-available"}));
    s.patch(
        &format!("/v1/portgroups/{}", g2["uuid"].as_str().unwrap()),
        LATEST,
        &json!([{"op": "add", "path": "/extra/a", "value": 1}]),
    )
    .expect(200);
    s.put(&format!("/v1/nodes/{n}/maintenance"), LATEST, &json!({}))
        .expect(202);
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/node_uuid", "value": n}]),
    )
    .expect(200);
}

#[test]
fn portgroups_with_vifs_are_kept_until_maintenance() {
    let s = Server::start();
    let n = node(&s, "vif-pg-node");
    let g = portgroup(&s, json!({"node_uuid": n, "name": "vif-bond"}));
    s.post(
        &format!("/v1/nodes/{n}/vifs"),
        LATEST,
        &json!({"id": "vif-9"}),
    )
    .expect(204);
    let shown = s
        .get("/v1/portgroups/vif-bond", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(shown["internal_info"]["tenant_vif_port_id"], "vif-9");
    s.delete("/v1/portgroups/vif-bond", LATEST)
        .expect_fault(400, "VIF vif-9 is attached");
    assert_eq!(group_count(&s), 1);
    s.put(&format!("/v1/nodes/{n}/maintenance"), LATEST, &json!({}))
        .expect(202);
    s.delete(
        &format!("/v1/portgroups/{}", g["uuid"].as_str().unwrap()),
        LATEST,
    )
    .expect(204);
    assert_eq!(group_count(&s), 0);
}

#[test]
fn versions_gate_the_resource_and_its_fields() {
    let s = Server::start();
    let n = node(&s, "old-pg-node");
    let g = portgroup(&s, json!({"node_uuid": n, "name": "old-pg"}));
    let id = g["uuid"].as_str().unwrap().to_owned();
    let path = format!("/v1/portgroups/{id}");
    // Before 1.23 the resource does not exist, for reads and writes alike.
    for (method, p) in [
        (reqwest::Method::GET, "/v1/portgroups".to_owned()),
        (reqwest::Method::GET, "/v1/portgroups/detail".to_owned()),
        (reqwest::Method::GET, path.clone()),
        (reqwest::Method::DELETE, path.clone()),
    ] {
        let r = s.request(method.clone(), &p, Some("1.22"), &[], None);
        assert_eq!(r.status, 404, "{method} {p}: {}", r.text);
        assert_error_format(&r);
    }
    assert_eq!(group_count(&s), 1);
    // The node's collection needs 1.24.
    assert_eq!(
        s.get(&format!("/v1/nodes/{n}/portgroups"), Some("1.23"))
            .status,
        404
    );
    assert_eq!(
        s.get(&format!("/v1/nodes/{n}/portgroups"), Some("1.24"))
            .status,
        200
    );
    // mode and properties appear at 1.26.
    let at25 = s.get(&path, Some("1.25")).expect(200).body.clone();
    assert!(at25.get("mode").is_none() && at25.get("properties").is_none());
    assert!(at25.get("standalone_ports_supported").is_some());
    let at26 = s.get(&path, Some("1.26")).expect(200).body.clone();
    assert_eq!(at26["mode"], "active-backup");
    assert_eq!(
        s.get(&format!("{path}?fields=mode"), Some("1.25")).status,
        406
    );
    assert_eq!(
        s.get("/v1/portgroups?sort_key=mode", Some("1.25")).status,
        406
    );
    assert_eq!(s.get(&format!("{path}?fields=colour"), LATEST).status, 400);
    // ?detail needs 1.43; /detail does not take it.
    assert_eq!(
        s.get("/v1/portgroups?detail=true", Some("1.42")).status,
        400
    );
    assert_eq!(
        s.get("/v1/portgroups/detail?detail=true", LATEST).status,
        400
    );
    // Unknown parameters, bad filters, unsortable keys and odd identifiers.
    for (p, status) in [
        ("/v1/portgroups?colour=red", 400),
        ("/v1/portgroups?address=nope", 400),
        (
            "/v1/portgroups?node=old-pg-node&address=52:54:00:00:00:01",
            400,
        ),
        ("/v1/portgroups?sort_key=extra", 400),
        (
            "/v1/portgroups?marker=6a8e6d3e-2222-4c4c-8d8d-123456789abc",
            404,
        ),
        ("/v1/portgroups/a:b", 400),
        ("/v1/portgroups/no-such-group", 404),
    ] {
        let r = s.get(p, LATEST);
        assert_eq!(r.status, status, "{p}: {}", r.text);
        assert_error_format(&r);
    }
    // The v1 document links the collection from 1.24.
    let v1 = s.get("/v1", LATEST).expect(200).body.clone();
    let link = v1["portgroups"][0]["href"].as_str().unwrap().to_owned();
    let r = s
        .get(link.strip_prefix(&s.base).unwrap(), LATEST)
        .expect(200);
    assert_eq!(r.body["portgroups"].as_array().unwrap().len(), 1);
}
