//! Details of Ironic's wire behaviour that its own API tests (ironic-tempest-plugin)
//! check: paths without the version prefix, sub-resources and fields newer than the
//! requested version, filters, node protection, volume target types, portgroup
//! physical networks.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn paths_without_the_version_prefix_are_v1_paths() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "p1"}));
    let uuid = n["uuid"].as_str().unwrap();
    for (bare, versioned) in [
        ("/nodes", "/v1/nodes"),
        (
            &format!("/nodes/{uuid}") as &str,
            &format!("/v1/nodes/{uuid}"),
        ),
        ("/nodes/detail?name=p1", "/v1/nodes/detail?name=p1"),
        (
            "/drivers/fake-hardware/properties",
            "/v1/drivers/fake-hardware/properties",
        ),
        ("/ports/detail", "/v1/ports/detail"),
        (
            &format!("/nodes/states/console/{uuid}") as &str,
            &format!("/v1/nodes/{uuid}/states/console"),
        ),
    ] {
        let a = s.get(bare, LATEST).expect(200);
        let b = s.get(versioned, LATEST).expect(200);
        assert_eq!(a.body, b.body, "{bare}");
    }
    // Unknown roots stay unknown.
    s.get("/bogus", LATEST).expect(404);
}

#[test]
fn sub_resources_newer_than_the_version() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "old"}));
    let uuid = n["uuid"].as_str().unwrap();
    // VIFs before 1.28 and BIOS settings before 1.40 do not exist: 404.
    s.get(&format!("/v1/nodes/{uuid}/vifs"), Some("1.27"))
        .expect_fault(404, "");
    s.post(
        &format!("/v1/nodes/{uuid}/vifs"),
        Some("1.27"),
        &json!({"id": "v"}),
    )
    .expect_fault(404, "");
    s.delete(&format!("/v1/nodes/{uuid}/vifs/v"), Some("1.27"))
        .expect_fault(404, "");
    s.get(&format!("/v1/nodes/{uuid}/bios"), Some("1.39"))
        .expect_fault(404, "");
    s.get(&format!("/v1/nodes/{uuid}/vifs"), Some("1.28"))
        .expect(200);
    s.get(&format!("/v1/nodes/{uuid}/bios"), Some("1.40"))
        .expect(200);
    // Traits before 1.37: reading is not acceptable (406), writing is not allowed
    // (405), removing finds nothing (404), as Ironic answers.
    s.get(&format!("/v1/nodes/{uuid}/traits"), Some("1.36"))
        .expect_fault(406, "");
    for version in [Some("1.1"), Some("1.36")] {
        s.put(
            &format!("/v1/nodes/{uuid}/traits"),
            version,
            &json!({"traits": ["CUSTOM_A"]}),
        )
        .expect_fault(405, "");
        s.put(
            &format!("/v1/nodes/{uuid}/traits/CUSTOM_A"),
            version,
            &json!({}),
        )
        .expect_fault(405, "");
        s.delete(&format!("/v1/nodes/{uuid}/traits"), version)
            .expect_fault(404, "");
        s.delete(&format!("/v1/nodes/{uuid}/traits/CUSTOM_A"), version)
            .expect_fault(404, "");
    }
    assert_eq!(s.node(uuid)["traits"], json!([]), "nothing was changed");
}

#[test]
fn fields_newer_than_the_version_are_not_acceptable() {
    let s = Server::start();
    let r = s.post(
        "/v1/nodes",
        Some("1.1"),
        &json!({"driver": "fake-hardware", "resource_class": "gold"}),
    );
    r.expect_fault(406, "resource_class");
    assert!(s.all_node_uuids().is_empty(), "a node was created");
    let n = s.create_node(json!({"name": "rc"}));
    let uuid = n["uuid"].as_str().unwrap();
    s.patch(
        &format!("/v1/nodes/{uuid}"),
        Some("1.1"),
        &json!([{"op": "add", "path": "/resource_class", "value": "gold"}]),
    )
    .expect_fault(406, "resource_class");
    assert_eq!(s.node(uuid)["resource_class"], Value::Null);
    // Unknown ones stay a 400.
    s.patch(
        &format!("/v1/nodes/{uuid}"),
        Some("1.1"),
        &json!([{"op": "add", "path": "/colour", "value": "red"}]),
    )
    .expect_fault(400, "Adding a new attribute");
}

#[test]
fn available_is_no_state_before_1_2() {
    let s = Server::start();
    let r = s
        .post(
            "/v1/nodes",
            Some("1.1"),
            &json!({"driver": "fake-hardware"}),
        )
        .expect(201);
    let uuid = r.body["uuid"].as_str().unwrap().to_owned();
    assert_eq!(r.body["provision_state"], Value::Null, "{}", r.text);
    let states = s
        .get(&format!("/v1/nodes/{uuid}/states"), Some("1.1"))
        .expect(200);
    assert_eq!(states.body["provision_state"], Value::Null);
    let shown = s.get(&format!("/v1/nodes/{uuid}"), Some("1.2")).expect(200);
    assert_eq!(shown.body["provision_state"], "available");
}

#[test]
fn fault_filter_names_a_known_fault() {
    let s = Server::start();
    s.get("/v1/nodes?fault=somefake", LATEST)
        .expect_fault(400, "Unknown fault: somefake");
    let r = s.get("/v1/nodes?fault=power%20failure", LATEST).expect(200);
    assert_eq!(r.body["nodes"], json!([]));
}

#[test]
fn protection_of_active_nodes() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "guarded"}));
    let uuid = n["uuid"].as_str().unwrap().to_owned();
    let path = format!("/v1/nodes/{uuid}");
    for target in ["manage", "provide"] {
        s.provision(&uuid, json!({"target": target}));
    }
    s.wait_for_state(
        &uuid,
        "provision_state",
        "available",
        std::time::Duration::from_secs(30),
    );
    // Only an active node can be protected: 409, as in Ironic.
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/protected", "value": true}]),
    )
    .expect_fault(409, "can only be protected");
    s.provision(&uuid, json!({"target": "active"}));
    s.wait_for_state(
        &uuid,
        "provision_state",
        "active",
        std::time::Duration::from_secs(30),
    );
    // Protected, with its reason, in one request.
    let r = s
        .patch(
            &path,
            LATEST,
            &json!([{"op": "replace", "path": "/protected", "value": true},
                {"op": "replace", "path": "/protected_reason", "value": "prod db"}]),
        )
        .expect(200);
    assert_eq!(r.body["protected"], true);
    assert_eq!(r.body["protected_reason"], "prod db");
    s.put(
        &format!("/v1/nodes/{uuid}/states/provision"),
        LATEST,
        &json!({"target": "deleted"}),
    )
    .expect_fault(403, "is protected");
    // Unprotecting forgets the reason; a reason alone is refused.
    let r = s
        .patch(
            &path,
            LATEST,
            &json!([{"op": "replace", "path": "/protected", "value": false}]),
        )
        .expect(200);
    assert_eq!(r.body["protected_reason"], Value::Null);
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "replace", "path": "/protected_reason", "value": "x"}]),
    )
    .expect_fault(400, "not protected");
}

#[test]
fn volume_target_types_are_free_text() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "vt"}));
    let r = s
        .post(
            "/v1/volume/targets",
            LATEST,
            &json!({"node_uuid": n["uuid"], "volume_type": "nfs", "boot_index": 0,
                "volume_id": "share-1"}),
        )
        .expect(201);
    assert_eq!(r.body["volume_type"], "nfs");
}

#[test]
fn a_portgroup_is_on_one_physical_network() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "pg"}));
    let node = n["uuid"].as_str().unwrap();
    let g = s
        .post(
            "/v1/portgroups",
            LATEST,
            &json!({"node_uuid": node, "address": "52:54:00:aa:00:00"}),
        )
        .expect(201)
        .body;
    let group = g["uuid"].as_str().unwrap();
    s.post(
        "/v1/ports",
        LATEST,
        &json!({"node_uuid": node, "address": "52:54:00:aa:00:01",
            "portgroup_uuid": group, "physical_network": "physnet1"}),
    )
    .expect(201);
    // Another network in the same group: 409, and no port.
    s.post(
        "/v1/ports",
        LATEST,
        &json!({"node_uuid": node, "address": "52:54:00:aa:00:02",
            "portgroup_uuid": group, "physical_network": "physnet2"}),
    )
    .expect_fault(409, "physical network");
    let outside = s
        .post(
            "/v1/ports",
            LATEST,
            &json!({"node_uuid": node, "address": "52:54:00:aa:00:03",
                "physical_network": "physnet2"}),
        )
        .expect(201)
        .body;
    // Nor may a port join the group from another network.
    s.patch(
        &format!("/v1/ports/{}", outside["uuid"].as_str().unwrap()),
        LATEST,
        &json!([{"op": "add", "path": "/portgroup_uuid", "value": group}]),
    )
    .expect_fault(409, "physical network");
    let ports = s.get("/v1/ports", LATEST).expect(200).body;
    assert_eq!(ports["ports"].as_array().unwrap().len(), 2, "{ports}");
}

#[test]
fn a_queued_image_is_deleted_without_storage() {
    let s = Server::start();
    let img = s
        .post("/v1/images", LATEST, &json!({"name": "empty"}))
        .expect(201)
        .body;
    assert_eq!(img["status"], "queued");
    let uuid = img["uuid"].as_str().unwrap();
    s.delete(&format!("/v1/images/{uuid}"), LATEST).expect(204);
    s.get(&format!("/v1/images/{uuid}"), LATEST)
        .expect_fault(404, "");
}

#[test]
fn removing_an_interface_resets_it_to_the_default() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "ifaces"}));
    let uuid = n["uuid"].as_str().unwrap();
    let default = n["boot_interface"].clone();
    let r = s
        .patch(
            &format!("/v1/nodes/{uuid}"),
            LATEST,
            &json!([{"op": "remove", "path": "/boot_interface"}]),
        )
        .expect(200);
    assert_eq!(r.body["boot_interface"], default);
    assert!(default.is_string(), "{default}");
}

#[test]
fn target_raid_configuration() {
    let s = Server::start();
    let n = s.create_node(json!({"name": "raid"}));
    let uuid = n["uuid"].as_str().unwrap();
    let path = format!("/v1/nodes/{uuid}/states/raid");
    let target = json!({"logical_disks": [{"size_gb": 100, "raid_level": "1"}]});
    s.put(&path, Some("1.11"), &target)
        .expect_fault(406, "1.12");
    // Malformed configurations change nothing.
    for bad in [
        json!({"logical_disks": []}),
        json!({"logical_disks": [{"size_gb": 10}]}),
        json!({"logical_disks": [{"size_gb": 10, "raid_level": "7"}]}),
    ] {
        s.put(&path, Some("1.12"), &bad)
            .expect_fault(400, "Invalid RAID configuration");
    }
    assert_eq!(s.node(uuid)["target_raid_config"], json!({}));
    s.put(&path, Some("1.12"), &target).expect(204);
    assert_eq!(s.node(uuid)["target_raid_config"], target);
    // The client's path, without the version prefix, and clearing it with {}.
    s.put(
        &format!("/nodes/{uuid}/states/raid"),
        Some("1.12"),
        &json!({}),
    )
    .expect(204);
    assert_eq!(s.node(uuid)["target_raid_config"], json!({}));
    // A node whose raid interface does no RAID.
    s.patch(
        &format!("/v1/nodes/{uuid}"),
        LATEST,
        &json!([{"op": "replace", "path": "/raid_interface", "value": "no-raid"}]),
    )
    .expect(200);
    s.put(&path, LATEST, &target).expect_fault(400, "no-raid");

    let props = "/v1/drivers/fake-hardware/raid/logical_disk_properties";
    s.get(props, Some("1.11")).expect_fault(406, "1.12");
    let r = s.get(props, Some("1.12")).expect(200);
    assert!(
        r.body["raid_level"].is_string() && r.body["size_gb"].is_string(),
        "{}",
        r.text
    );
    s.get("/v1/drivers/nope/raid/logical_disk_properties", LATEST)
        .expect_fault(404, "nope");
}
