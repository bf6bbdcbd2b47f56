//! The M2 deploy path end to end, on real components only: a one-host Ceph cluster,
//! tgtd with the rbd backing store, OpenIPMI's BMC simulator whose chassis power runs
//! a QEMU "bare-metal node" (software emulation, iPXE NIC ROM), and the real `m2`
//! binary driven by the real `openstack baremetal` CLI.
//!
//! A tiny bootable image (tests/harness/build-image.sh) is uploaded to m2, a node is
//! enrolled with the VM's MAC, and deployed: m2 clones the image, exports the clone
//! over iSCSI and the VM network-boots it with iPXE `sanboot`. The guest prints a
//! marker and the iBFT target name on its serial console, then powers off.
//!
//! One test function runs the steps in order on one set of services (Ceph takes ~10 s
//! to start); every service is stopped at the end, also on failure.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::m2env::*;
use common::services::{Service, missing_tools};
use common::*;
use serde_json::{Value, json};

#[test]
fn nodes_boot_from_linked_clones_over_iscsi() {
    let test = "nodes_boot_from_linked_clones_over_iscsi";
    let missing = missing_tools(TOOLS);
    if !missing.is_empty() {
        skip(test, &format!("missing {}", missing.join(", ")));
        return;
    }
    let ceph = Service::start("ceph.sh", &[]).expect("ceph");
    let mut tgt = Service::start("tgtd.sh", &[]).expect("tgtd");
    let tgt_port = tgt.var("M2_TGT_PORT").to_owned();
    let work = tempfile::tempdir().unwrap();
    let image = build_image(work.path());

    let s = Server::start_with(&m2_config(&ceph, &tgt, ""));
    let Some(cli) = Cli::new(&s.base) else {
        skip(test, "no virtualenv with the openstack CLI");
        return;
    };

    // The image: a record, then its data.
    let img = s
        .post(
            "/v1/images",
            LATEST,
            &json!({"name": "tiny", "visibility": "public"}),
        )
        .expect(201)
        .body
        .clone();
    let img_id = img["uuid"].as_str().unwrap().to_owned();
    assert_eq!(img["status"], "queued");
    let data = std::fs::read(&image).unwrap();
    let started = Instant::now();
    let stored = s.request(
        reqwest::Method::PUT,
        &format!("/v1/images/{img_id}/file"),
        LATEST,
        &[("content-type", "application/octet-stream")],
        Some(data.clone()),
    );
    assert_eq!(stored.status, 200, "{}", stored.text);
    eprintln!(
        "image upload ({} bytes): {:?}",
        data.len(),
        started.elapsed()
    );
    assert_eq!(stored.body["status"], "active", "{}", stored.text);
    assert_eq!(stored.body["size"], json!(data.len()));
    assert_eq!(stored.body["disk_format"], "raw");
    assert_eq!(
        stored.body["rbd"],
        json!(format!("m2-images/image-{img_id}@m2-golden"))
    );

    let boot_script = s.get("/boot/boot.ipxe", NOVER).text;
    assert!(
        boot_script.contains("chain http://10.0.2.101/boot/${mac:hexhyp}.ipxe"),
        "{boot_script}"
    );

    // --- One node: deploy, boot, isolation, undeploy.
    let a = Machine::start("m2-a", "52:54:00:a0:00:01", &tgt_port, s.port, &boot_script);
    let node_a = a.enroll(&cli);
    cli.run(&[
        "node",
        "set",
        &node_a,
        "--instance-info",
        "image_source=tiny",
    ]);
    let v = cli.json(&["node", "validate", &node_a]);
    let deploy_ok = v
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["Interface"] == "deploy" && i["Result"] == true);
    assert!(deploy_ok, "deploy does not validate: {v}");
    let started = Instant::now();
    cli.run(&["node", "deploy", &node_a, "--wait", "180"]);
    let control_plane = started.elapsed();
    let n = s.node(&node_a);
    assert_eq!(n["provision_state"], "active", "{n}");
    assert_eq!(n["power_state"], "power on", "{n}");
    let iqn = n["driver_internal_info"]["m2_target"]
        .as_str()
        .unwrap()
        .to_owned();
    let disk = n["driver_internal_info"]["m2_disk"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        n["driver_internal_info"]["sanboot"]["chap_secret"],
        "******"
    );
    a.wait_console("M2-BOOT-MARKER", BOOT_TIMEOUT);
    let booted = started.elapsed();
    let ibft = a.wait_console("M2-IBFT-TARGET=", Duration::from_secs(60));
    assert_eq!(
        ibft,
        format!("M2-IBFT-TARGET={iqn}"),
        "iBFT names another target"
    );
    eprintln!("node a: deploy accepted to active {control_plane:?}, to marker {booted:?}");

    // The disk is a linked clone of the image's golden snapshot, nearly empty.
    let info: Value =
        serde_json::from_str(&rbd(&ceph, &["info", &disk, "--format", "json"])).unwrap();
    assert_eq!(
        info["parent"]["image"],
        json!(format!("image-{img_id}")),
        "{info}"
    );
    assert_eq!(info["parent"]["snapshot"], "m2-golden", "{info}");
    assert!(targets(&tgt).contains(&iqn));

    // Isolation: only the node's initiator with its secret gets in.
    let script = s.get("/boot/52-54-00-a0-00-01.ipxe", NOVER).text;
    let initiator = script_value(&script, "initiator-iqn");
    let user = script_value(&script, "username");
    let secret = script_value(&script, "password");
    assert!(
        script.contains(&format!("sanboot --keep iscsi:10.0.2.100::3260:1:{iqn}")),
        "{script}"
    );
    assert!(
        inquiry(&tgt_port, &iqn, &initiator, &user, &secret),
        "the node itself was refused"
    );
    assert!(
        !inquiry(
            &tgt_port,
            &iqn,
            "iqn.2010-10.org.m2:intruder",
            &user,
            &secret
        ),
        "another initiator name got in"
    );
    assert!(
        !inquiry(&tgt_port, &iqn, &initiator, &user, "wrongwrongwrong1"),
        "a wrong CHAP secret got in"
    );

    // tgtd keeps nothing across a crash: m2 puts the node's target back, with the same
    // credentials, and removes a target no node accounts for.
    let pid = std::fs::read_to_string(tgt.dir().join("tgtd.pid")).unwrap();
    Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    tgt.restart(&[&tgt_port]).expect("tgtd restart");
    let orphan = "iqn.2010-10.org.m2:node-00000000-0000-4000-8000-000000000000";
    // A target no node records, as a crash between export and record would leave.
    let made = Command::new("tgtadm")
        .args([
            "-C",
            tgt.var("M2_TGT_CTL"),
            "--lld",
            "iscsi",
            "--mode",
            "target",
        ])
        .args(["--op", "new", "--tid", "99", "--targetname", orphan])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "tgtadm new target: {}{}\n{}",
        String::from_utf8_lossy(&made.stdout),
        String::from_utf8_lossy(&made.stderr),
        targets(&tgt)
    );
    let started = Instant::now();
    let reconciled = |t: &str| t.contains(&iqn) && !t.contains(orphan);
    while !reconciled(&targets(&tgt)) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "targets not reconciled after a tgtd restart:\n{}",
            targets(&tgt)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("tgtd restart: target back after {:?}", started.elapsed());
    assert!(
        inquiry(&tgt_port, &iqn, &initiator, &user, &secret),
        "restored target refuses the node"
    );

    // An image with a clone cannot be deleted.
    s.delete(&format!("/v1/images/{img_id}"), LATEST)
        .expect_fault(409, "in use");

    cli.run(&["node", "undeploy", &node_a, "--wait", "180"]);
    let n = s.node(&node_a);
    assert_eq!(n["provision_state"], "available", "{n}");
    assert!(n["driver_internal_info"].get("m2_disk").is_none(), "{n}");
    assert!(!targets(&tgt).contains(&iqn), "target left after undeploy");
    assert!(
        !rbd(&ceph, &["ls", "m2-disks"]).contains(&disk),
        "clone left after undeploy"
    );
    let off = s.get("/boot/52-54-00-a0-00-01.ipxe", NOVER).text;
    assert!(off.contains("nothing to boot"), "{off}");
    drop(a);

    // --- Two nodes at once from two clones of the same image.
    let b = Machine::start("m2-b", "52:54:00:b0:00:02", &tgt_port, s.port, &boot_script);
    let c = Machine::start("m2-c", "52:54:00:c0:00:03", &tgt_port, s.port, &boot_script);
    let node_b = b.enroll(&cli);
    let node_c = c.enroll(&cli);
    for n in [&node_b, &node_c] {
        cli.run(&[
            "node",
            "set",
            n,
            "--instance-info",
            &format!("image_source={img_id}"),
        ]);
    }
    let started = Instant::now();
    std::thread::scope(|sc| {
        for n in [&node_b, &node_c] {
            let cli = &cli;
            sc.spawn(move || cli.run(&["node", "deploy", n, "--wait", "180"]));
        }
    });
    for (m, id) in [(&b, &node_b), (&c, &node_c)] {
        m.wait_console("M2-BOOT-MARKER", BOOT_TIMEOUT);
        let want = s.node(id)["driver_internal_info"]["m2_target"].clone();
        let ibft = m.wait_console("M2-IBFT-TARGET=", Duration::from_secs(60));
        assert_eq!(json!(ibft.trim_start_matches("M2-IBFT-TARGET=")), want);
    }
    eprintln!(
        "two nodes at once: both markers after {:?}",
        started.elapsed()
    );
    let disks = rbd(&ceph, &["ls", "m2-disks"]);
    assert_eq!(disks.lines().count(), 2, "{disks}");
    for n in [&node_b, &node_c] {
        cli.run(&["node", "undeploy", n, "--wait", "180"]);
    }
    assert_eq!(rbd(&ceph, &["ls", "m2-disks"]).trim(), "");
    s.delete(&format!("/v1/images/{img_id}"), LATEST)
        .expect(204);
    assert_eq!(rbd(&ceph, &["ls", "m2-images"]).trim(), "");
}
