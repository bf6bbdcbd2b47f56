//! Bare-metal disks with a VM's lifecycle, end to end on the real Ceph + tgtd + QEMU
//! harness of the deploy path: a node's disk is captured as an image and three nodes
//! boot from it at once; a disk is released as a volume and re-acquired by another
//! node; a failed node's disk is recovered onto a spare, and the failed node is cut
//! off; a volume a node used boots in a VM, and a VM's volume boots on a node; a
//! configdrive reaches the node as LUN 2 labelled config-2.
//!
//! Guests prove what they see on their serial consoles (see
//! tests/harness/guest-init.sh): the words on the disk (`M2-DATA`), the word a
//! configdrive's user data asked them to append (`M2-WROTE`), the configdrive label.
//! One test function runs the story in order on one set of services.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::m2env::*;
use common::services::{Service, missing_tools};
use common::*;
use serde_json::{Value, json};

const SETTLE: Duration = Duration::from_secs(240);

fn wait_state(s: &Server, node: &str, state: &str) -> Value {
    s.wait_for(node, SETTLE, |n| {
        n["provision_state"] == state && n["target_provision_state"].is_null()
    })
    .unwrap_or_else(|n| {
        panic!(
            "node {node} did not become {state}: {} ({})",
            n["provision_state"], n["last_error"]
        )
    })
}

fn internal(n: &Value, key: &str) -> String {
    n["driver_internal_info"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} on {n}"))
        .to_owned()
}

#[track_caller]
fn expect_line(console: &str, key: &str, want: &str) {
    assert_eq!(
        console_value(console, key).as_deref(),
        Some(want),
        "{key} on the console:\n{console}"
    );
}

fn rbd_exists(ceph: &Service, image: &str) -> bool {
    Command::new("rbd")
        .env("CEPH_CONF", ceph.var("CEPH_CONF"))
        .args(["--id", "m2", "info", image])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ipmi_power_off(m: &Machine) {
    let out = Command::new("ipmitool")
        .args(["-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p"])
        .arg(m.bmc_port.to_string())
        .args(["-U", "admin", "-P", "password", "chassis", "power", "off"])
        .output()
        .expect("ipmitool");
    assert!(
        out.status.success(),
        "power off {}: {}",
        m.name,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn node_disks_live_like_vm_disks() {
    let test = "node_disks_live_like_vm_disks";
    let missing = missing_tools(TOOLS);
    if !missing.is_empty() {
        skip(test, &format!("missing {}", missing.join(", ")));
        return;
    }
    let ceph = Service::start("ceph.sh", &[]).expect("ceph");
    let tgt = Service::start("tgtd.sh", &[]).expect("tgtd");
    let tgt_port = tgt.var("M2_TGT_PORT").to_owned();
    let work = tempfile::tempdir().unwrap();
    let image = build_image(work.path());
    let s = Server::start_with(&m2_config(&ceph, &tgt, ""));
    let Some(cli) = Cli::new(&s.base) else {
        skip(test, "no virtualenv with the openstack CLI");
        return;
    };
    let img = s
        .post(
            "/v1/images",
            LATEST,
            &json!({"name": "tiny", "visibility": "public"}),
        )
        .expect(201)
        .body;
    let img_id = img["uuid"].as_str().unwrap().to_owned();
    let stored = s.request(
        reqwest::Method::PUT,
        &format!("/v1/images/{img_id}/file"),
        LATEST,
        &[("content-type", "application/octet-stream")],
        Some(std::fs::read(&image).unwrap()),
    );
    assert_eq!(stored.status, 200, "{}", stored.text);
    let boot_script = s.get("/boot/boot.ipxe", NOVER).text;
    let machines: Vec<Machine> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Machine::start(
                &format!("m2-life-{n}"),
                &format!("52:54:00:b0:00:0{}", i + 1),
                &tgt_port,
                s.port,
                &boot_script,
            )
        })
        .collect();
    let ids: Vec<String> = machines.iter().map(|m| m.enroll(&cli)).collect();
    let (a, b, c, d) = (&machines[0], &machines[1], &machines[2], &machines[3]);
    let (na, nb, nc, nd) = (&ids[0], &ids[1], &ids[2], &ids[3]);

    // --- A configdrive reaches the node as LUN 2; its user data makes the node write.
    cli.run(&["node", "set", na, "--instance-info", "image_source=tiny"]);
    s.provision(
        na,
        json!({"target": "active", "configdrive": {
            "meta_data": {"name": "life-a"}, "user_data": "m2write=alpha\n"}}),
    );
    let n = wait_state(&s, na, "active");
    let disk_a = internal(&n, "m2_disk");
    let iqn_a = internal(&n, "m2_target");
    let cd = internal(&n, "m2_config_drive");
    assert!(rbd_exists(&ceph, &cd), "no configdrive image {cd}");
    let con = a.wait_done();
    expect_line(&con, "M2-CONFIGDRIVE", "config-2");
    expect_line(&con, "M2-USERDATA", "m2write=alpha");
    assert!(con.contains("M2-NODATA"), "{con}");
    expect_line(&con, "M2-WROTE", "alpha");

    // --- Snapshot: a new image at once, whatever the disk size; three nodes boot it.
    let started = Instant::now();
    let snap = s
        .post(
            "/v1/images",
            LATEST,
            &json!({"name": "a-snap", "node": na, "visibility": "public"}),
        )
        .expect(201)
        .body;
    eprintln!("snapshot of node a: {:?}", started.elapsed());
    assert_eq!(snap["status"], "active", "{snap}");
    assert_eq!(snap["source"], "node");
    assert_eq!(snap["source_node"], json!(na));
    let snap_id = snap["uuid"].as_str().unwrap().to_owned();
    let info: Value = serde_json::from_str(&rbd(
        &ceph,
        &[
            "info",
            &format!("m2-images/image-{snap_id}"),
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(
        info["parent"]["snapshot"],
        json!(format!("m2-image-{snap_id}")),
        "{info}"
    );
    // A node without a disk has nothing to capture.
    s.post("/v1/images", LATEST, &json!({"name": "x", "node": nb}))
        .expect_fault(400, "has no disk in Ceph");
    let started = Instant::now();
    for (m, id) in [(b, nb), (c, nc), (d, nd)] {
        cli.run(&["node", "set", id, "--instance-info", "image_source=a-snap"]);
        m.clear_console();
        s.provision(id, json!({"target": "active"}));
    }
    for (m, id) in [(b, nb), (c, nc), (d, nd)] {
        wait_state(&s, id, "active");
        let con = m.wait_done();
        expect_line(&con, "M2-DATA", "alpha");
        assert!(con.contains("M2-NOCONFIGDRIVE"), "{con}");
    }
    eprintln!(
        "three nodes from the snapshot, all done: {:?}",
        started.elapsed()
    );
    s.delete(&format!("/v1/images/{snap_id}"), LATEST)
        .expect_fault(409, "is in use");

    // --- Release and re-acquire: A's disk becomes a volume; B boots it, state intact.
    s.provision(na, json!({"target": "deleted", "keep_disk": "a-data"}));
    let n = wait_state(&s, na, "available");
    assert!(n["driver_internal_info"].get("m2_disk").is_none(), "{n}");
    assert!(
        !targets(&tgt).contains(&iqn_a),
        "A's target outlived its undeploy"
    );
    assert!(
        !rbd_exists(&ceph, &cd),
        "A's configdrive outlived its undeploy"
    );
    assert!(rbd_exists(&ceph, &disk_a), "the kept disk is gone");
    let vol = s.get("/v1/volumes/a-data", LATEST).expect(200).body;
    assert_eq!(vol["status"], "available", "{vol}");
    assert_eq!(vol["source"], "release");
    assert_eq!(vol["source_node"], json!(na));
    assert_eq!(vol["rbd"], json!(disk_a));
    let vol_id = vol["uuid"].as_str().unwrap().to_owned();
    // keep_disk only goes with an undeploy.
    s.put(
        &format!("/v1/nodes/{nb}/states/provision"),
        LATEST,
        &json!({"target": "rebuild", "keep_disk": true}),
    )
    .expect_fault(400, "keep_disk");
    let disk_b = internal(&s.node(nb), "m2_disk");
    s.provision(nb, json!({"target": "deleted"}));
    wait_state(&s, nb, "available");
    assert!(
        !rbd_exists(&ceph, &disk_b),
        "B's clone outlived its undeploy"
    );
    // An undeploy clears instance_info; the volume is all B is given.
    assert!(s.node(nb)["instance_info"].get("image_source").is_none());
    cli.run(&["node", "set", nb, "--instance-info", "volume=a-data"]);
    b.clear_console();
    let started = Instant::now();
    s.provision(
        nb,
        json!({"target": "active", "configdrive": {"user_data": "m2write=beta"}}),
    );
    let n = wait_state(&s, nb, "active");
    assert_eq!(internal(&n, "m2_disk"), disk_a);
    b.wait_console("M2-BOOT-MARKER", BOOT_TIMEOUT);
    eprintln!(
        "re-acquire on node b: call to marker {:?}",
        started.elapsed()
    );
    let con = b.wait_done();
    expect_line(&con, "M2-DATA", "alpha");
    expect_line(&con, "M2-WROTE", "beta");
    let vol = s
        .get(&format!("/v1/volumes/{vol_id}"), LATEST)
        .expect(200)
        .body;
    assert_eq!(vol["status"], "in-use");
    assert_eq!(vol["node_uuid"], json!(nb));
    s.delete(&format!("/v1/volumes/{vol_id}"), LATEST)
        .expect_fault(409, "in use");
    // Another node cannot take a volume in use.
    cli.run(&["node", "set", nc, "--instance-info", "volume=a-data"]);
    s.put(
        &format!("/v1/nodes/{nc}/states/provision"),
        LATEST,
        &json!({"target": "rebuild"}),
    )
    .expect_fault(400, "in use");
    cli.run(&["node", "unset", nc, "--instance-info", "volume"]);

    // A snapshot that detaches itself from the node's disk in the background.
    let flat = s
        .post(
            "/v1/images",
            LATEST,
            &json!({"name": "b-flat", "node": nb, "flatten": true}),
        )
        .expect(201)
        .body;
    let flat_id = flat["uuid"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let f = s
            .get(&format!("/v1/images/{flat_id}"), LATEST)
            .expect(200)
            .body;
        if f["extra"]["m2_flatten"] == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "flatten did not finish: {f}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let info: Value = serde_json::from_str(&rbd(
        &ceph,
        &[
            "info",
            &format!("m2-images/image-{flat_id}"),
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert!(info.get("parent").is_none(), "still a clone: {info}");
    s.delete(&format!("/v1/images/{flat_id}"), LATEST)
        .expect(204);

    // --- Failure recovery: B dies; its disk boots on C; B can never reach it again.
    let script_b = s.get("/boot/52-54-00-b0-00-02.ipxe", NOVER).text;
    let (b_iqn, b_init) = (
        internal(&s.node(nb), "m2_target"),
        script_value(&script_b, "initiator-iqn"),
    );
    let (b_user, b_secret) = (
        script_value(&script_b, "username"),
        script_value(&script_b, "password"),
    );
    assert!(inquiry(&tgt_port, &b_iqn, &b_init, &b_user, &b_secret));
    ipmi_power_off(b);
    s.provision(nc, json!({"target": "deleted"}));
    wait_state(&s, nc, "available");
    s.post(
        &format!("/v1/nodes/{nb}/recover"),
        LATEST,
        &json!({"spare": nb}),
    )
    .expect_fault(400, "onto itself");
    s.post(&format!("/v1/nodes/{nb}/recover"), LATEST, &json!({}))
        .expect_fault(400, "'spare' is a required property");
    c.clear_console();
    let started = Instant::now();
    s.post(
        &format!("/v1/nodes/{nb}/recover"),
        LATEST,
        &json!({"spare": nc}),
    )
    .expect(202);
    c.wait_console("M2-BOOT-MARKER", BOOT_TIMEOUT);
    eprintln!("recovery b -> c: call to marker {:?}", started.elapsed());
    let con = c.wait_done();
    expect_line(&con, "M2-DATA", "alpha beta");
    // The instance moves with its configdrive, whose user data writes again.
    expect_line(&con, "M2-CONFIGDRIVE", "config-2");
    expect_line(&con, "M2-WROTE", "beta");
    let n = wait_state(&s, nc, "active");
    assert_eq!(internal(&n, "m2_disk"), disk_a);
    assert_eq!(n["instance_info"]["m2_recovered_from"], json!(nb));
    let c_iqn = internal(&n, "m2_target");
    let fb = wait_state(&s, nb, "available");
    assert_eq!(fb["maintenance"], true, "{fb}");
    assert!(fb["driver_internal_info"].get("m2_disk").is_none(), "{fb}");
    assert!(!targets(&tgt).contains(&b_iqn), "B's target survived");
    assert!(
        !inquiry(&tgt_port, &b_iqn, &b_init, &b_user, &b_secret),
        "B still logs in"
    );
    assert!(
        !inquiry(&tgt_port, &c_iqn, &b_init, &b_user, &b_secret),
        "B's initiator gets into C's target"
    );
    let vol = s
        .get(&format!("/v1/volumes/{vol_id}"), LATEST)
        .expect(200)
        .body;
    assert_eq!(vol["node_uuid"], json!(nc), "{vol}");

    // --- Physical to VM: after release, a VM boots the volume through QEMU's rbd.
    s.provision(nc, json!({"target": "deleted"}));
    wait_state(&s, nc, "available");
    let vol = s
        .get(&format!("/v1/volumes/{vol_id}"), LATEST)
        .expect(200)
        .body;
    assert_eq!(vol["status"], "available", "{vol}");
    let con = run_vm(&ceph, &disk_a, BOOT_TIMEOUT);
    assert!(con.contains("M2-LOCAL-DISK"), "{con}");
    expect_line(&con, "M2-DATA", "alpha beta beta");

    // --- VM to physical: a VM writes its Cinder-style RBD volume; D boots it.
    let cinder = format!("volumes/volume-{}", uuid::Uuid::new_v4());
    let vm_img = build_image_with(work.path(), "vm.img", &["--write", "vm"]);
    rbd(&ceph, &["import", vm_img.to_str().unwrap(), &cinder]);
    let con = run_vm(&ceph, &cinder, BOOT_TIMEOUT);
    expect_line(&con, "M2-WROTE", "vm");
    s.provision(nd, json!({"target": "deleted"}));
    wait_state(&s, nd, "available");
    cli.run(&["node", "set", nd, "--storage-interface", "rbd"]);
    let volume_id = cinder.trim_start_matches("volumes/volume-").to_owned();
    s.post(
        "/v1/volume/targets",
        LATEST,
        &json!({"node_uuid": nd, "volume_type": "rbd", "boot_index": 0,
                "volume_id": volume_id, "properties": {
                    "name": cinder, "hosts": ["127.0.0.1"], "ports": ["6789"],
                    "cluster_name": "ceph", "auth_enabled": true,
                    "auth_username": "cinder", "secret_type": "ceph",
                    "volume_id": volume_id, "discard": true}}),
    )
    .expect(201);
    d.clear_console();
    s.provision(nd, json!({"target": "active"}));
    let n = wait_state(&s, nd, "active");
    assert_eq!(internal(&n, "m2_disk"), cinder);
    let con = d.wait_done();
    expect_line(&con, "M2-DATA", "vm");
    s.provision(nd, json!({"target": "deleted"}));
    wait_state(&s, nd, "available");
    assert!(
        rbd_exists(&ceph, &cinder),
        "m2 removed a volume it does not own"
    );

    // --- The dependency chain: deleting the volume flattens the image taken from it.
    s.delete(&format!("/v1/volumes/{vol_id}"), LATEST)
        .expect(204);
    assert!(!rbd_exists(&ceph, &disk_a), "the volume's data outlived it");
    let info: Value = serde_json::from_str(&rbd(
        &ceph,
        &[
            "info",
            &format!("m2-images/image-{snap_id}"),
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert!(
        info.get("parent").is_none(),
        "the snapshot image lost its parent: {info}"
    );
    s.delete(&format!("/v1/images/{snap_id}"), LATEST)
        .expect(204);
    s.get("/v1/volumes/a-data", LATEST)
        .expect_fault(404, "could not be found");
}
