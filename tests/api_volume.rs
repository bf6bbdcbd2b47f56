//! Black-box tests of `/v1/volume`, `/v1/volume/connectors` and `/v1/volume/targets`:
//! the real `m2` binary over HTTP.

mod common;

use common::*;
use serde_json::{Value, json};

const UNKNOWN: &str = "9f2b1f3a-1111-4a4a-8a8a-123456789abc";

fn node(s: &Server, name: &str) -> String {
    s.create_node(json!({"name": name}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn power(s: &Server, node: &str, target: &str) {
    s.put(
        &format!("/v1/nodes/{node}/states/power"),
        LATEST,
        &json!({"target": target}),
    )
    .expect(202);
    s.wait_for_state(node, "power_state", target, WAIT);
}

fn connector(s: &Server, node: &str, kind: &str, id: &str) -> Value {
    s.post(
        "/v1/volume/connectors",
        LATEST,
        &json!({"node_uuid": node, "type": kind, "connector_id": id}),
    )
    .expect(201)
    .body
}

fn target(s: &Server, node: &str, index: i64, volume: &str) -> Value {
    s.post(
        "/v1/volume/targets",
        LATEST,
        &json!({"node_uuid": node, "volume_type": "iscsi", "boot_index": index,
                "volume_id": volume}),
    )
    .expect(201)
    .body
}

fn count(s: &Server, what: &str) -> usize {
    s.get(&format!("/v1/volume/{what}"), LATEST)
        .expect(200)
        .body[what]
        .as_array()
        .unwrap()
        .len()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

fn uuid_of(v: &Value) -> String {
    v["uuid"].as_str().unwrap().to_owned()
}

#[test]
fn volume_roots_link_their_collections() {
    let s = Server::start();
    let n = node(&s, "root-node");
    for p in ["/v1/volume", "/v1/volume/"] {
        let root = s.get(p, LATEST).expect(200).body.clone();
        assert_eq!(keys(&root), ["connectors", "links", "targets"]);
        assert_eq!(
            root["links"][0]["href"],
            json!(format!("{}/v1/volume/", s.base))
        );
        assert_eq!(
            root["connectors"][0]["href"],
            json!(format!("{}/v1/volume/connectors", s.base))
        );
        assert_eq!(
            root["targets"][1]["href"],
            json!(format!("{}/volume/targets", s.base))
        );
    }
    let of_node = s
        .get("/v1/nodes/root-node/volume", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(
        of_node["targets"][0]["href"],
        json!(format!("{}/v1/nodes/root-node/volume/targets", s.base))
    );
    // Every link leads somewhere.
    for key in ["links", "connectors", "targets"] {
        let href = of_node[key][0]["href"].as_str().unwrap();
        s.get(href.strip_prefix(&s.base).unwrap(), LATEST)
            .expect(200);
    }
    s.get(&format!("/v1/nodes/{UNKNOWN}/volume"), LATEST)
        .expect_fault(404, "could not be found");
    // Before 1.32 none of it exists.
    for p in [
        "/v1/volume".to_owned(),
        "/v1/volume/connectors".to_owned(),
        "/v1/volume/targets".to_owned(),
        format!("/v1/nodes/{n}/volume"),
        format!("/v1/nodes/{n}/volume/connectors"),
        format!("/v1/nodes/{n}/volume/targets"),
    ] {
        let r = s.get(&p, Some("1.31"));
        assert_eq!(r.status, 404, "{p}: {}", r.text);
        assert_error_format(&r);
    }
    let r = s.post(
        "/v1/volume/connectors",
        Some("1.31"),
        &json!({"node_uuid": n, "type": "iqn", "connector_id": "iqn.x"}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(count(&s, "connectors"), 0);
    let v1 = s.get("/v1", Some("1.32")).expect(200).body.clone();
    assert!(v1["volume"].is_array());
}

#[test]
fn connectors_create_show_list_delete() {
    let s = Server::start();
    let n = node(&s, "vc-node");
    let other = node(&s, "vc-other");
    let r = s.post(
        "/v1/volume/connectors",
        LATEST,
        &json!({"node_uuid": n, "type": "iqn", "connector_id": "iqn.2024-01.org.m2:n1",
                "extra": {"k": "v"}}),
    );
    let location = r.header("location").map(str::to_owned);
    let c = r.expect(201).body.clone();
    let id = uuid_of(&c);
    assert_eq!(
        location,
        Some(format!("{}/v1/volume/connectors/{id}", s.base))
    );
    assert_eq!(
        keys(&c),
        [
            "connector_id",
            "created_at",
            "extra",
            "links",
            "node_uuid",
            "type",
            "updated_at",
            "uuid"
        ]
    );
    assert_eq!(c["node_uuid"], json!(n));
    assert_eq!(c["type"], "iqn");
    assert_eq!(c["extra"], json!({"k": "v"}));
    // The same connector id with another type is another connector; the same pair
    // twice is refused, on any node.
    connector(&s, &n, "ip", "iqn.2024-01.org.m2:n1");
    connector(&s, &other, "wwpn", "50:01:43:80:12:34:56:78");
    s.post(
        "/v1/volume/connectors",
        LATEST,
        &json!({"node_uuid": other, "type": "iqn", "connector_id": "iqn.2024-01.org.m2:n1"}),
    )
    .expect_fault(
        409,
        "type iqn and connector ID iqn.2024-01.org.m2:n1 already exists",
    );
    assert_eq!(count(&s, "connectors"), 3);

    let list = s
        .get("/v1/volume/connectors", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(
        keys(&list["connectors"][0]),
        ["connector_id", "links", "node_uuid", "type", "uuid"]
    );
    let detail = s
        .get("/v1/volume/connectors?detail=true", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(detail["connectors"][0]["extra"], json!({"k": "v"}));
    let shown = s
        .get(&format!("/v1/volume/connectors/{id}"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(shown, c);
    let some = s
        .get(
            &format!("/v1/volume/connectors/{id}?fields=type,extra"),
            LATEST,
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(keys(&some), ["extra", "links", "type"]);
    let by_node = s
        .get("/v1/volume/connectors?node=vc-other", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_node["connectors"].as_array().unwrap().len(), 1);
    assert_eq!(by_node["connectors"][0]["type"], "wwpn");
    let sub = s
        .get(&format!("/v1/nodes/{n}/volume/connectors"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(sub["connectors"].as_array().unwrap().len(), 2);
    let sub = s
        .get("/v1/nodes/vc-node/volume/connectors?detail=True", LATEST)
        .expect(200)
        .body
        .clone();
    assert!(sub["connectors"][0]["created_at"].is_string());
    s.get("/v1/nodes/nothing-here/volume/connectors", LATEST)
        .expect_fault(404, "could not be found");

    // Pagination, under the node's path too.
    let page = s
        .get("/v1/nodes/vc-node/volume/connectors?limit=1", LATEST)
        .expect(200)
        .body
        .clone();
    let next = page["next"].as_str().expect("next link");
    assert!(
        next.starts_with(&format!("{}/v1/nodes/vc-node/volume/connectors?", s.base)),
        "{next}"
    );
    let page2 = s
        .get(next.strip_prefix(&s.base).unwrap(), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page2["connectors"][0]["type"], "ip");

    // The node is in enroll: its connectors may be removed whatever its power.
    s.delete(&format!("/v1/volume/connectors/{id}"), LATEST)
        .expect(204);
    s.get(&format!("/v1/volume/connectors/{id}"), LATEST)
        .expect_fault(404, &format!("Volume connector {id} could not be found"));
    assert_eq!(count(&s, "connectors"), 2);
}

#[test]
fn bad_connectors_are_refused_and_store_nothing() {
    let s = Server::start();
    let n = node(&s, "bad-vc-node");
    connector(&s, &n, "mac", "52:54:00:12:34:56");
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"type": "iqn", "connector_id": "iqn.x"}),
            400,
            "'node_uuid' is a required property",
        ),
        (
            json!({"node_uuid": n, "connector_id": "iqn.x"}),
            400,
            "'type' is a required property",
        ),
        (
            json!({"node_uuid": n, "type": "iqn"}),
            400,
            "'connector_id' is a required property",
        ),
        (
            json!({"node_uuid": n, "type": "nvme", "connector_id": "x"}),
            400,
            "Invalid volume connector type 'nvme'",
        ),
        (
            json!({"node_uuid": n, "type": 1, "connector_id": "x"}),
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "type": "iqn", "connector_id": ["x"]}),
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "type": "iqn", "connector_id": ""}),
            400,
            "non-empty connector_id",
        ),
        (
            json!({"node_uuid": "bad-vc-node", "type": "iqn", "connector_id": "x"}),
            400,
            "Expected UUID for node_uuid",
        ),
        (
            json!({"node_uuid": UNKNOWN, "type": "iqn", "connector_id": "x"}),
            400,
            "Invalid input for field/attribute node_uuid",
        ),
        (
            json!({"node_uuid": n, "type": "iqn", "connector_id": "x", "extra": "e"}),
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "type": "iqn", "connector_id": "x", "uuid": "u"}),
            400,
            "Expected UUID",
        ),
        (
            json!({"node_uuid": n, "type": "iqn", "connector_id": "x", "colour": 1}),
            400,
            "'colour' was unexpected",
        ),
        (
            json!({"node_uuid": n, "type": "mac", "connector_id": "52:54:00:12:34:56"}),
            409,
            "already exists",
        ),
    ];
    for (body, status, needle) in cases {
        let r = s.post("/v1/volume/connectors", LATEST, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(count(&s, "connectors"), 1, "{body} stored something");
    }
    for raw in [&b"{not json"[..], b"[]", b""] {
        let r = s.request(
            reqwest::Method::POST,
            "/v1/volume/connectors",
            LATEST,
            &[],
            Some(raw.to_vec()),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_error_format(&r);
    }
    // Every documented type is accepted.
    for (i, kind) in ["iqn", "ip", "mac", "wwnn", "wwpn", "port", "portgroup"]
        .iter()
        .enumerate()
    {
        connector(&s, &n, kind, &format!("id-{i}"));
    }
    assert_eq!(count(&s, "connectors"), 8);
}

#[test]
fn targets_create_show_list_delete() {
    let s = Server::start();
    let n = node(&s, "vt-node");
    let other = node(&s, "vt-other");
    let r = s.post(
        "/v1/volume/targets",
        LATEST,
        &json!({"node_uuid": n, "volume_type": "iscsi", "boot_index": 0,
                "volume_id": "04452bed-5367-4202-8bf5-de4335ac56d2",
                "properties": {"target_iqn": "iqn.2010-10.org.ceph:vol", "target_lun": 0,
                               "auth_password": "s3cret", "auth_username": "m2"},
                "extra": {"k": "v"}}),
    );
    let location = r.header("location").map(str::to_owned);
    let t = r.expect(201).body.clone();
    let id = uuid_of(&t);
    assert_eq!(location, Some(format!("{}/v1/volume/targets/{id}", s.base)));
    assert_eq!(
        keys(&t),
        [
            "boot_index",
            "created_at",
            "extra",
            "links",
            "node_uuid",
            "properties",
            "updated_at",
            "uuid",
            "volume_id",
            "volume_type"
        ]
    );
    assert_eq!(t["boot_index"], 0);
    assert_eq!(t["volume_type"], "iscsi");
    assert_eq!(t["properties"]["target_iqn"], "iqn.2010-10.org.ceph:vol");
    assert_eq!(t["properties"]["auth_username"], "m2");
    assert_eq!(
        t["properties"]["auth_password"], "******",
        "secrets are masked"
    );
    // One target per boot index and node.
    target(&s, &n, 1, "vol-b");
    target(&s, &other, 0, "vol-c");
    s.post(
        "/v1/volume/targets",
        LATEST,
        &json!({"node_uuid": n, "volume_type": "fibre_channel", "boot_index": 1,
                "volume_id": "vol-d"}),
    )
    .expect_fault(409, "boot index '1' for the same node already exists");
    assert_eq!(count(&s, "targets"), 3);

    let list = s.get("/v1/volume/targets", LATEST).expect(200).body.clone();
    assert_eq!(
        keys(&list["targets"][0]),
        [
            "boot_index",
            "links",
            "node_uuid",
            "uuid",
            "volume_id",
            "volume_type"
        ]
    );
    let detail = s
        .get("/v1/volume/targets?detail=true", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(
        detail["targets"][0]["properties"]["auth_password"],
        "******"
    );
    let shown = s
        .get(&format!("/v1/volume/targets/{id}"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(shown, t);
    let some = s
        .get(
            &format!("/v1/volume/targets/{id}?fields=properties"),
            LATEST,
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(keys(&some), ["links", "properties"]);
    assert_eq!(some["properties"]["auth_password"], "******");
    let by_node = s
        .get(&format!("/v1/volume/targets?node={other}"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_node["targets"].as_array().unwrap().len(), 1);
    assert_eq!(by_node["targets"][0]["volume_id"], "vol-c");
    let sub = s
        .get(
            "/v1/nodes/vt-node/volume/targets?sort_key=boot_index&sort_dir=desc",
            LATEST,
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(sub["targets"][0]["boot_index"], 1);
    assert_eq!(sub["targets"].as_array().unwrap().len(), 2);
    let page = s
        .get("/v1/volume/targets?limit=2", LATEST)
        .expect(200)
        .body
        .clone();
    let next = page["next"].as_str().expect("next link");
    let page2 = s
        .get(next.strip_prefix(&s.base).unwrap(), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page2["targets"][0]["volume_id"], "vol-c");

    s.delete(&format!("/v1/volume/targets/{id}"), LATEST)
        .expect(204);
    s.get(&format!("/v1/volume/targets/{id}"), LATEST)
        .expect_fault(404, "Volume target");
    // The boot index is free again.
    target(&s, &n, 0, "vol-e");
}

#[test]
fn bad_targets_are_refused_and_store_nothing() {
    let s = Server::start();
    let n = node(&s, "bad-vt-node");
    target(&s, &n, 0, "vol-a");
    let ok = json!({"node_uuid": n, "volume_type": "iscsi", "boot_index": 5, "volume_id": "v"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            without("node_uuid"),
            400,
            "'node_uuid' is a required property",
        ),
        (
            without("volume_type"),
            400,
            "'volume_type' is a required property",
        ),
        (
            without("boot_index"),
            400,
            "'boot_index' is a required property",
        ),
        (
            without("volume_id"),
            400,
            "'volume_id' is a required property",
        ),
        (
            with("volume_type", json!("x".repeat(65))),
            400,
            "is too long",
        ),
        (with("volume_type", json!("")), 400, "Invalid volume_type"),
        (with("volume_type", json!(3)), 400, "is not of type"),
        (with("boot_index", json!("1")), 400, "is not of type"),
        (with("boot_index", json!(1.5)), 400, "is not of type"),
        (with("boot_index", json!(true)), 400, "is not of type"),
        (
            with("boot_index", json!(4_294_967_296_i64)),
            400,
            "out of range",
        ),
        (with("volume_id", json!("")), 400, "non-empty volume_id"),
        (with("volume_id", json!({})), 400, "is not of type"),
        (with("properties", json!("p")), 400, "is not of type"),
        (with("extra", json!(1)), 400, "is not of type"),
        (with("colour", json!(1)), 400, "'colour' was unexpected"),
        (
            with("node_uuid", json!("bad-vt-node")),
            400,
            "Expected UUID",
        ),
        (
            with("node_uuid", json!(UNKNOWN)),
            400,
            "Invalid input for field/attribute node_uuid",
        ),
        (with("boot_index", json!(0)), 409, "already exists"),
    ];
    for (body, status, needle) in cases {
        let r = s.post("/v1/volume/targets", LATEST, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(count(&s, "targets"), 1, "{body} stored something");
    }
    s.post(
        "/v1/volume/targets",
        LATEST,
        &with("volume_type", json!("fibre_channel")),
    )
    .expect(201);
}

#[test]
fn changes_need_a_powered_off_node() {
    let s = Server::start_with("[conductor]\nsync_power_state_interval = 0\n");
    let n = node(&s, "power-node");
    let c = connector(&s, &n, "iqn", "iqn.power");
    let t = target(&s, &n, 0, "vol-power");
    let cpath = format!("/v1/volume/connectors/{}", uuid_of(&c));
    let tpath = format!("/v1/volume/targets/{}", uuid_of(&t));
    let extra = json!([{"op": "add", "path": "/extra/a", "value": 1}]);

    // A new node has no known power state: no updates yet.
    let before = s.get(&cpath, LATEST).expect(200).body.clone();
    s.patch(&cpath, LATEST, &extra)
        .expect_fault(400, "power state is \"None\"");
    s.patch(&tpath, LATEST, &extra)
        .expect_fault(400, "must be powered off");
    assert_eq!(s.get(&cpath, LATEST).expect(200).body, before);

    power(&s, &n, "power off");
    let b = s
        .patch(
            &cpath,
            LATEST,
            &json!([
                {"op": "add", "path": "/extra/a", "value": 1},
                {"op": "replace", "path": "/type", "value": "iqn"},
                {"op": "replace", "path": "/connector_id", "value": "iqn.power.2"},
            ]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["extra"], json!({"a": 1}));
    assert_eq!(b["connector_id"], "iqn.power.2");
    assert!(b["updated_at"].is_string());
    let b = s
        .patch(
            &tpath,
            LATEST,
            &json!([
                {"op": "replace", "path": "/boot_index", "value": 3},
                {"op": "add", "path": "/properties/target_lun", "value": 1},
                {"op": "replace", "path": "/volume_type", "value": "fibre_channel"},
            ]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["boot_index"], 3);
    assert_eq!(b["properties"], json!({"target_lun": 1}));
    assert_eq!(b["volume_type"], "fibre_channel");

    // Powered on, maintenance or not: updates are refused.
    power(&s, &n, "power on");
    s.put(&format!("/v1/nodes/{n}/maintenance"), LATEST, &json!({}))
        .expect(202);
    let before = s.get(&tpath, LATEST).expect(200).body.clone();
    s.patch(&tpath, LATEST, &extra)
        .expect_fault(400, "power state is \"power on\"");
    assert_eq!(s.get(&tpath, LATEST).expect(200).body, before);
    s.delete(&format!("/v1/nodes/{n}/maintenance"), LATEST)
        .expect(202);

    // Creation is free; removal is allowed in enroll whatever the power, refused on
    // an available node that is powered on, and allowed once it is off.
    let spare = connector(&s, &n, "ip", "192.0.2.10");
    s.delete(
        &format!("/v1/volume/connectors/{}", uuid_of(&spare)),
        LATEST,
    )
    .expect(204);
    s.provision(&n, json!({"target": "manage"}));
    s.wait_for_state(&n, "provision_state", "manageable", WAIT);
    s.provision(&n, json!({"target": "provide"}));
    s.wait_for_state(&n, "provision_state", "available", WAIT);
    power(&s, &n, "power on");
    s.delete(&cpath, LATEST)
        .expect_fault(400, "volume connector deletion");
    s.delete(&tpath, LATEST)
        .expect_fault(400, "volume target deletion");
    assert_eq!(count(&s, "connectors"), 1);
    assert_eq!(count(&s, "targets"), 1);
    power(&s, &n, "power off");
    s.delete(&cpath, LATEST).expect(204);
    s.delete(&tpath, LATEST).expect(204);
    assert_eq!(count(&s, "connectors"), 0);
    assert_eq!(count(&s, "targets"), 0);
}

#[test]
fn patch_follows_ironic_rules() {
    let s = Server::start_with("[conductor]\nsync_power_state_interval = 0\n");
    let n = node(&s, "vpatch-node");
    let other = node(&s, "vpatch-other");
    power(&s, &n, "power off");
    let c = connector(&s, &n, "iqn", "iqn.patch");
    connector(&s, &n, "iqn", "iqn.taken");
    let t = target(&s, &n, 0, "vol-patch");
    target(&s, &n, 1, "vol-taken");
    let cpath = format!("/v1/volume/connectors/{}", uuid_of(&c));
    let tpath = format!("/v1/volume/targets/{}", uuid_of(&t));

    let connector_cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/uuid", "value": UNKNOWN}]),
            400,
            "Cannot patch /uuid",
        ),
        (
            json!([{"op": "remove", "path": "/type"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "remove", "path": "/connector_id"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "remove", "path": "/node_uuid"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "replace", "path": "/type", "value": "scsi"}]),
            400,
            "Invalid volume connector type",
        ),
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": "vpatch-other"}]),
            400,
            "Expected UUID for node_uuid",
        ),
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": UNKNOWN}]),
            400,
            "no such node",
        ),
        (
            json!([{"op": "replace", "path": "/extra", "value": []}]),
            400,
            "is not of type",
        ),
        (
            json!([{"op": "test", "path": "/type", "value": "iqn"}]),
            400,
            "only add, replace and remove",
        ),
        (
            json!([{"op": "replace", "path": "/connector_id", "value": "iqn.taken"}]),
            409,
            "already exists",
        ),
        // Moving to a node that is not powered off.
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": other}]),
            400,
            "must be powered off",
        ),
    ];
    let target_cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/created_at", "value": "x"}]),
            400,
            "Cannot patch /created_at",
        ),
        (
            json!([{"op": "remove", "path": "/boot_index"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "remove", "path": "/volume_id"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "remove", "path": "/volume_type"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "replace", "path": "/volume_type", "value": ""}]),
            400,
            "Invalid volume_type",
        ),
        (
            json!([{"op": "replace", "path": "/boot_index", "value": "2"}]),
            400,
            "is not of type",
        ),
        (
            json!([{"op": "replace", "path": "/properties", "value": 1}]),
            400,
            "is not of type",
        ),
        (
            json!([{"op": "replace", "path": "/boot_index", "value": 1}]),
            409,
            "boot index '1'",
        ),
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": other}]),
            400,
            "must be powered off",
        ),
    ];
    for (path, cases) in [(&cpath, connector_cases), (&tpath, target_cases)] {
        let before = s.get(path, LATEST).expect(200).body.clone();
        for (body, status, needle) in cases {
            let r = s.patch(path, LATEST, &body);
            assert_eq!(r.status, status, "{path} {body}: {}", r.text);
            assert_error_format(&r);
            let (_, msg) = ironic_error(&r.body);
            assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
            assert_eq!(
                s.get(path, LATEST).expect(200).body,
                before,
                "{body} changed {path}"
            );
        }
        let r = s.patch(
            path,
            Some("1.31"),
            &json!([{"op": "add", "path": "/extra/a", "value": 1}]),
        );
        assert_eq!(r.status, 404, "{}", r.text);
    }

    // Moving to another powered-off node; remove resets extra and properties.
    power(&s, &other, "power off");
    let moved = s
        .patch(
            &cpath,
            LATEST,
            &json!([{"op": "replace", "path": "/node_uuid", "value": other},
                    {"op": "remove", "path": "/extra"}]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(moved["node_uuid"], json!(other));
    assert_eq!(moved["extra"], json!({}));
    let moved = s
        .patch(
            &tpath,
            LATEST,
            &json!([{"op": "replace", "path": "/node_uuid", "value": other},
                    {"op": "remove", "path": "/properties"}]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(moved["node_uuid"], json!(other));
    assert_eq!(moved["properties"], json!({}));
    assert_eq!(
        s.get("/v1/nodes/vpatch-other/volume/targets", LATEST)
            .expect(200)
            .body["targets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn query_checks() {
    let s = Server::start();
    let n = node(&s, "query-node");
    let c = connector(&s, &n, "iqn", "iqn.q");
    let t = target(&s, &n, 0, "vol-q");
    for (p, status) in [
        ("/v1/volume/connectors?colour=red".to_owned(), 400),
        ("/v1/volume/connectors?sort_key=extra".to_owned(), 400),
        (
            "/v1/volume/connectors?sort_key=connector_id".to_owned(),
            200,
        ),
        ("/v1/volume/targets?sort_key=properties".to_owned(), 400),
        ("/v1/volume/targets?sort_key=boot_index".to_owned(), 200),
        ("/v1/volume/targets?detail=true&fields=uuid".to_owned(), 400),
        ("/v1/volume/targets?fields=colour".to_owned(), 400),
        ("/v1/volume/targets?node=a:b".to_owned(), 400),
        (format!("/v1/volume/targets?node={UNKNOWN}"), 404),
        (format!("/v1/volume/connectors?marker={UNKNOWN}"), 404),
        ("/v1/volume/connectors/not-a-uuid".to_owned(), 400),
        (format!("/v1/volume/connectors/{UNKNOWN}"), 404),
        ("/v1/volume/targets/detail".to_owned(), 400),
        (format!("/v1/volume/targets/{UNKNOWN}"), 404),
        (
            format!("/v1/volume/connectors/{}?fields=connector_id", uuid_of(&c)),
            200,
        ),
        (
            format!("/v1/volume/targets/{}?fields=colour", uuid_of(&t)),
            400,
        ),
    ] {
        let r = s.get(&p, LATEST);
        assert_eq!(r.status, status, "{p}: {}", r.text);
        if status >= 400 {
            assert_error_format(&r);
        }
    }
    for (method, p) in [
        (reqwest::Method::PUT, "/v1/volume/targets".to_owned()),
        (reqwest::Method::POST, "/v1/volume".to_owned()),
        (
            reqwest::Method::POST,
            format!("/v1/nodes/{n}/volume/connectors"),
        ),
    ] {
        let r = s.request(method.clone(), &p, LATEST, &[], None);
        assert_eq!(r.status, 405, "{method} {p}: {}", r.text);
        assert_error_format(&r);
    }
}
