//! Black-box tests of `/v1/ports`: the real `m2` binary over HTTP.

mod common;

use common::*;
use serde_json::{Value, json};

fn node(s: &Server, name: &str) -> String {
    s.create_node(json!({"name": name}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn port(s: &Server, node: &str, mac: &str) -> Value {
    s.post(
        "/v1/ports",
        LATEST,
        &json!({"node_uuid": node, "address": mac}),
    )
    .expect(201)
    .body
}

fn port_count(s: &Server) -> usize {
    s.get("/v1/ports", LATEST).expect(200).body["ports"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn create_show_list_delete() {
    let s = Server::start();
    let n = node(&s, "p-node");
    let r = s.post(
        "/v1/ports",
        LATEST,
        &json!({"node_uuid": n, "address": "52:54:00:AA:BB:01", "extra": {"k": "v"},
                "local_link_connection": {"switch_id": "0a:1b:2c:3d:4e:5f", "port_id": "Eth1/1"},
                "physical_network": "physnet1"}),
    );
    let location = r.header("location").map(str::to_owned);
    let p = r.expect(201).body.clone();
    let id = p["uuid"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("{}/v1/ports/{id}", s.base)));
    assert_eq!(
        p["address"], "52:54:00:aa:bb:01",
        "MAC normalised to lower case"
    );
    assert_eq!(p["node_uuid"], json!(n));
    assert_eq!(p["pxe_enabled"], true);
    assert_eq!(p["is_smartnic"], false);
    assert_eq!(p["portgroup_uuid"], Value::Null);
    assert_eq!(p["physical_network"], "physnet1");
    assert_eq!(p["extra"], json!({"k": "v"}));
    assert_eq!(p["internal_info"], json!({}));
    assert!(p["links"][0]["href"].as_str().unwrap().ends_with(&id));

    // The short form of the list, the detailed form, show, fields.
    let list = s.get("/v1/ports", LATEST).expect(200).body.clone();
    let item = &list["ports"][0];
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["address", "links", "uuid"]);
    let detail = s.get("/v1/ports/detail", LATEST).expect(200).body.clone();
    assert_eq!(detail["ports"][0]["node_uuid"], json!(n));
    assert_eq!(
        s.get("/v1/ports?detail=true", LATEST).expect(200).body["ports"][0]["extra"],
        json!({"k": "v"})
    );
    let shown = s
        .get(&format!("/v1/ports/{id}"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(shown["local_link_connection"]["port_id"], "Eth1/1");
    let some = s
        .get(
            &format!("/v1/ports/{id}?fields=address,pxe_enabled"),
            LATEST,
        )
        .expect(200)
        .body
        .clone();
    let mut keys: Vec<&str> = some
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["address", "links", "pxe_enabled"]);

    // Filters, and the node's own collection.
    let other = node(&s, "p-other");
    port(&s, &other, "52:54:00:aa:bb:02");
    let by_node = s
        .get(&format!("/v1/ports?node={n}"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_node["ports"].as_array().unwrap().len(), 1);
    let by_name = s
        .get("/v1/ports?node=p-other", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_name["ports"][0]["address"], "52:54:00:aa:bb:02");
    let by_addr = s
        .get("/v1/ports?address=52:54:00:AA:BB:02", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(by_addr["ports"].as_array().unwrap().len(), 1);
    let sub = s
        .get("/v1/nodes/p-node/ports", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(sub["ports"][0]["uuid"], json!(id));
    let sub = s
        .get("/v1/nodes/p-node/ports/detail", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(sub["ports"][0]["physical_network"], "physnet1");

    // Pagination: a full page carries a `next` link that continues after it.
    let page = s.get("/v1/ports?limit=1", LATEST).expect(200).body.clone();
    let next = page["next"].as_str().expect("next link");
    let rest = next.strip_prefix(&s.base).unwrap();
    let page2 = s.get(rest, LATEST).expect(200).body.clone();
    assert_ne!(page2["ports"][0]["uuid"], page["ports"][0]["uuid"]);

    s.delete(&format!("/v1/ports/{id}"), LATEST).expect(204);
    s.get(&format!("/v1/ports/{id}"), LATEST)
        .expect_fault(404, "could not be found");
    assert_eq!(port_count(&s), 1);
}

#[test]
fn bad_creates_are_refused_and_store_nothing() {
    let s = Server::start();
    let n = node(&s, "bad-port-node");
    port(&s, &n, "52:54:00:00:00:01");
    let cases: Vec<(Value, Option<&str>, u16, &str)> = vec![
        (
            json!({"node_uuid": n}),
            LATEST,
            400,
            "'address' is a required property",
        ),
        (
            json!({"address": "52:54:00:00:00:09"}),
            LATEST,
            400,
            "'node_uuid' is a required property",
        ),
        (
            json!({"node_uuid": n, "address": "nope"}),
            LATEST,
            400,
            "Expected valid MAC address",
        ),
        (
            json!({"node_uuid": n, "address": 5}),
            LATEST,
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": "not-a-uuid", "address": "52:54:00:00:00:09"}),
            LATEST,
            400,
            "Expected UUID",
        ),
        (
            json!({"node_uuid": "9f2b1f3a-1111-4a4a-8a8a-123456789abc", "address": "52:54:00:00:00:09"}),
            LATEST,
            400,
            "could not be found",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:01"}),
            LATEST,
            409,
            "already exists",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "colour": "red"}),
            LATEST,
            400,
            "'colour' was unexpected",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "extra": "x"}),
            LATEST,
            400,
            "is not of type",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "pxe_enabled": "sometimes"}),
            LATEST,
            400,
            "Unrecognized value",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "physical_network": ""}),
            LATEST,
            400,
            "non-empty",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "local_link_connection": {"port_id": "x"}}),
            LATEST,
            400,
            "switch_id and port_id are required",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "local_link_connection": {"switch_id": "a", "port_id": "x", "bogus": 1}}),
            LATEST,
            400,
            "unexpected key",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "is_smartnic": true}),
            LATEST,
            400,
            "Smart NIC port must have port_id and hostname",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "pxe_enabled": false}),
            Some("1.18"),
            406,
            "requires API version 1.19",
        ),
        (
            json!({"node_uuid": n, "address": "52:54:00:00:00:09", "is_smartnic": false}),
            Some("1.52"),
            406,
            "requires API version 1.53",
        ),
    ];
    for (body, version, status, needle) in cases {
        let r = s.post("/v1/ports", version, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(port_count(&s), 1, "{body} stored something");
    }
    for raw in [&b"{not json"[..], b"[]", b""] {
        let r = s.request(
            reqwest::Method::POST,
            "/v1/ports",
            LATEST,
            &[],
            Some(raw.to_vec()),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_error_format(&r);
    }
    assert_eq!(port_count(&s), 1);
}

#[test]
fn patch_follows_ironic_rules() {
    let s = Server::start();
    let n = node(&s, "patch-port-node");
    let p = port(&s, &n, "52:54:00:00:01:01");
    let id = p["uuid"].as_str().unwrap();
    let path = format!("/v1/ports/{id}");

    let r = s.patch(
        &path,
        LATEST,
        &json!([
            {"op": "add", "path": "/extra/rack", "value": "r1"},
            {"op": "replace", "path": "/address", "value": "52:54:00:00:01:FF"},
            {"op": "replace", "path": "/pxe_enabled", "value": false},
        ]),
    );
    let b = r.expect(200).body.clone();
    assert_eq!(b["extra"], json!({"rack": "r1"}));
    assert_eq!(b["address"], "52:54:00:00:01:ff");
    assert_eq!(b["pxe_enabled"], false);
    // remove resets to the default.
    let b = s
        .patch(
            &path,
            LATEST,
            &json!([{"op": "remove", "path": "/pxe_enabled"}]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["pxe_enabled"], true);

    let before = s.get(&path, LATEST).expect(200).body.clone();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/uuid", "value": "x"}]),
            400,
            "Cannot patch /uuid",
        ),
        (
            json!([{"op": "replace", "path": "/internal_info", "value": {}}]),
            400,
            "Cannot patch /internal_info",
        ),
        (
            json!([{"op": "remove", "path": "/address"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "remove", "path": "/node_uuid"}]),
            400,
            "mandatory attribute",
        ),
        (
            json!([{"op": "replace", "path": "/address", "value": "zz"}]),
            400,
            "Expected valid MAC address",
        ),
        (
            json!([{"op": "move", "path": "/extra", "from": "/x"}]),
            400,
            "only add, replace and remove",
        ),
        (
            json!([{"op": "remove", "path": "/extra/missing"}]),
            400,
            "Unable to apply patch",
        ),
        (json!({"op": "remove"}), 400, "non-empty JSON array"),
        (
            json!([{"op": "replace", "path": "/node_uuid", "value": "9f2b1f3a-1111-4a4a-8a8a-123456789abc"}]),
            400,
            "could not be found",
        ),
    ];
    for (body, status, needle) in cases {
        let r = s.patch(&path, LATEST, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(
            s.get(&path, LATEST).expect(200).body,
            before,
            "{body} changed the port"
        );
    }
    // A field newer than the request's version.
    let r = s.patch(
        &path,
        Some("1.18"),
        &json!([{"op": "replace", "path": "/pxe_enabled", "value": false}]),
    );
    assert_eq!(r.status, 406, "{}", r.text);
    // A duplicate address.
    port(&s, &n, "52:54:00:00:01:02");
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/address", "value": "52:54:00:00:01:02"}]),
    )
    .expect_fault(409, "already exists");
    assert_eq!(s.get(&path, LATEST).expect(200).body, before);

    // Move the port to another node.
    let other = node(&s, "patch-port-other");
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
}

#[test]
fn in_use_nodes_protect_their_wiring() {
    let s = Server::start();
    let n = node(&s, "busy-node");
    let p = port(&s, &n, "52:54:00:00:02:01");
    let path = format!("/v1/ports/{}", p["uuid"].as_str().unwrap());
    // Claim the node as Nova does: the address is then fixed.
    s.patch(
        &format!("/v1/nodes/{n}"),
        LATEST,
        &json!([{"op": "add", "path": "/instance_uuid", "value": "3c2b1a09-2222-4b4b-9c9c-abcdefabcdef"}]),
    )
    .expect(200);
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/address", "value": "52:54:00:00:02:02"}]),
    )
    .expect_fault(400, "Cannot update hardware address");
    // Wiring is fixed outside enroll/manageable (the node is enroll here: allowed).
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/pxe_enabled", "value": false}]),
    )
    .expect(200);
    // extra is always free.
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "add", "path": "/extra/a", "value": 1}]),
    )
    .expect(200);
    // With maintenance the address may change.
    s.put(
        &format!("/v1/nodes/{n}/maintenance"),
        LATEST,
        &json!({"reason": "recabling"}),
    )
    .expect(202);
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/address", "value": "52:54:00:00:02:02"}]),
    )
    .expect(200);
}

#[test]
fn old_versions_hide_new_fields() {
    let s = Server::start();
    let n = node(&s, "old-version-node");
    let p = port(&s, &n, "52:54:00:00:03:01");
    let path = format!("/v1/ports/{}", p["uuid"].as_str().unwrap());
    let old = s.get(&path, NOVER).expect(200).body.clone();
    for hidden in [
        "pxe_enabled",
        "local_link_connection",
        "portgroup_uuid",
        "physical_network",
        "internal_info",
        "is_smartnic",
    ] {
        assert!(old.get(hidden).is_none(), "{hidden} shown at 1.1: {old}");
    }
    let at34 = s.get(&path, Some("1.34")).expect(200).body.clone();
    assert!(at34.get("physical_network").is_some());
    assert!(at34.get("is_smartnic").is_none());
    // fields= needs 1.8; a field newer than the version is refused.
    assert_eq!(
        s.get(&format!("{path}?fields=address"), Some("1.7")).status,
        406
    );
    assert_eq!(
        s.get(&format!("{path}?fields=is_smartnic"), Some("1.52"))
            .status,
        406
    );
    assert_eq!(s.get(&format!("{path}?fields=colour"), LATEST).status, 400);
    // Unknown query parameters are refused.
    assert_eq!(s.get("/v1/ports?colour=red", LATEST).status, 400);
    // The node filter needs 1.16 (node_uuid works before); by portgroup needs 1.24.
    assert_eq!(
        s.get("/v1/ports?node=old-version-node", Some("1.15"))
            .status,
        406
    );
    assert_eq!(
        s.get(&format!("/v1/ports?node_uuid={n}"), Some("1.15"))
            .status,
        200
    );
    assert_eq!(s.get("/v1/ports?portgroup=pg", Some("1.23")).status, 406);
}

#[test]
fn ports_with_vifs_are_kept_until_maintenance() {
    let s = Server::start();
    let n = node(&s, "vif-node");
    let p = port(&s, &n, "52:54:00:00:04:01");
    let path = format!("/v1/ports/{}", p["uuid"].as_str().unwrap());
    s.post(
        &format!("/v1/nodes/{n}/vifs"),
        LATEST,
        &json!({"id": "vif-1"}),
    )
    .expect(204);
    s.delete(&path, LATEST)
        .expect_fault(400, "bound to VIF vif-1");
    assert_eq!(port_count(&s), 1);
    s.put(&format!("/v1/nodes/{n}/maintenance"), LATEST, &json!({}))
        .expect(202);
    s.delete(&path, LATEST).expect(204);
    assert_eq!(port_count(&s), 0);
}
