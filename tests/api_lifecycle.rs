//! Input checks of the disk lifecycle API (snapshots, volumes, keep_disk, recovery)
//! on fake hardware: refused requests answer in Ironic's error body and change
//! nothing. The operations themselves run on real Ceph, tgtd and QEMU in
//! tests/m2_lifecycle.rs.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn available(s: &Server, name: &str) -> String {
    let id = s.create_node(json!({"name": name}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    s.provision(&id, json!({"target": "manage"}));
    s.wait_for_state(
        &id,
        "provision_state",
        "manageable",
        Duration::from_secs(30),
    );
    s.provision(&id, json!({"target": "provide"}));
    s.wait_for_state(&id, "provision_state", "available", Duration::from_secs(30));
    id
}

#[test]
fn keep_disk_is_checked_before_anything_changes() {
    let s = Server::start_with("[conductor]\nautomated_clean = false\n");
    let id = available(&s, "keeper");
    let path = format!("/v1/nodes/{id}/states/provision");
    for (body, needle) in [
        (
            json!({"target": "active", "keep_disk": true}),
            "only valid when setting target provision state to deleted",
        ),
        (
            json!({"target": "deleted", "keep_disk": 5}),
            "Invalid keep_disk",
        ),
        (
            json!({"target": "deleted", "keep_disk": ""}),
            "Invalid keep_disk",
        ),
        (
            json!({"target": "deleted", "keep_disk": "0b0e2a5c-1111-4a4a-8a8a-123456789abc"}),
            "Invalid keep_disk",
        ),
    ] {
        s.put(&path, LATEST, &body).expect_fault(400, needle);
    }
    s.provision(&id, json!({"target": "active"}));
    s.wait_for_state(&id, "provision_state", "active", Duration::from_secs(30));
    let before = s.node(&id);
    // A fake-deployed node has no disk in Ceph to keep.
    s.put(
        &path,
        LATEST,
        &json!({"target": "deleted", "keep_disk": "mine"}),
    )
    .expect_fault(400, "has no disk in Ceph to keep");
    let after = s.node(&id);
    assert_eq!(after["provision_state"], "active");
    assert_eq!(
        after["driver_internal_info"],
        before["driver_internal_info"]
    );
    assert!(after["reservation"].is_null());
}

#[test]
fn snapshots_and_recovery_refuse_unsuitable_nodes() {
    let s = Server::start_with("[conductor]\nautomated_clean = false\n");
    let a = available(&s, "a");
    let b = available(&s, "b");
    s.post("/v1/images", LATEST, &json!({"name": "x", "node": a}))
        .expect_fault(400, "has no disk in Ceph to capture");
    s.post("/v1/images", LATEST, &json!({"name": "x", "node": "nope"}))
        .expect_fault(404, "could not be found");
    s.post(
        "/v1/images",
        LATEST,
        &json!({"name": "x", "node": a, "rbd": "p/i"}),
    )
    .expect_fault(400, "not both");
    s.post("/v1/images", LATEST, &json!({"name": "x", "flatten": true}))
        .expect_fault(400, "only valid with");
    s.post(
        "/v1/images",
        LATEST,
        &json!({"name": "x", "node": a, "flatten": "yes"}),
    )
    .expect_fault(400, "is not of type");
    let images = s.get("/v1/images", LATEST).expect(200).body;
    assert_eq!(
        images["images"],
        json!([]),
        "a refused snapshot left an image"
    );

    let recover = format!("/v1/nodes/{a}/recover");
    s.post(&recover, LATEST, &json!({}))
        .expect_fault(400, "'spare' is a required property");
    s.post(&recover, LATEST, &json!({"spare": 3}))
        .expect_fault(400, "Invalid spare");
    s.post(&recover, LATEST, &json!({"spare": b, "colour": 1}))
        .expect_fault(400, "colour");
    s.post(&recover, LATEST, &json!({"spare": "nope"}))
        .expect_fault(404, "could not be found");
    s.post(&recover, LATEST, &json!({"spare": a}))
        .expect_fault(400, "onto itself");
    // The failed node must be deployed by the m2 deploy interface.
    s.post(&recover, LATEST, &json!({"spare": b}))
        .expect_fault(400, "in state available");
    for id in [&a, &b] {
        let n = s.node(id);
        assert_eq!(n["provision_state"], "available");
        assert_eq!(n["maintenance"], false);
        assert!(n["reservation"].is_null());
    }
    s.provision(&a, json!({"target": "active"}));
    s.wait_for_state(&a, "provision_state", "active", Duration::from_secs(30));
    s.post(&recover, LATEST, &json!({"spare": b}))
        .expect_fault(400, "has no disk in Ceph");
    assert_eq!(s.node(&a)["provision_state"], "active");
    assert_eq!(s.node(&b)["provision_state"], "available");
}

#[test]
fn volumes_resource_checks_its_input() {
    let s = Server::start();
    let list = s.get("/v1/volumes", LATEST).expect(200).body;
    assert_eq!(list["volumes"], json!([]));
    s.get("/v1/volumes?colour=red", LATEST)
        .expect_fault(400, "Unexpected argument");
    s.get("/v1/volumes/nope", LATEST)
        .expect_fault(404, "Volume nope could not be found");
    s.post("/v1/volumes", LATEST, &json!({"name": "v"}))
        .expect_fault(400, "'rbd' is a required property");
    s.post("/v1/volumes", LATEST, &json!({"rbd": "nopool"}))
        .expect_fault(400, "Invalid RBD location");
    s.post("/v1/volumes", LATEST, &json!({"rbd": "p/i@snap"}))
        .expect_fault(400, "not a snapshot");
    s.post("/v1/volumes", LATEST, &json!({"rbd": "p/i", "colour": 1}))
        .expect_fault(400, "colour");
    s.delete("/v1/volumes/nope", LATEST)
        .expect_fault(404, "could not be found");
    s.put("/v1/volumes", LATEST, &json!({}))
        .expect_fault(405, "");
}
