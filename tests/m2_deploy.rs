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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::services::{Service, missing_tools};
use common::*;
use serde_json::{Value, json};

const TOOLS: &[&str] = &[
    "ceph",
    "ceph-mon",
    "ceph-osd",
    "rbd",
    "tgtd",
    "tgtadm",
    "iscsi-inq",
    "ipmi_sim",
    "ipmitool",
    "qemu-system-x86_64",
    "socat",
    "syslinux",
    "mcopy",
];

/// How long a boot may take under software emulation on a loaded machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(240);

/// The `openstack` CLI of the test venv, without authentication, against m2.
struct Cli {
    bin: PathBuf,
    endpoint: String,
}

impl Cli {
    fn new(endpoint: &str) -> Option<Cli> {
        let venv = std::env::var("M2_TEST_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join(".venv"));
        let bin = venv.join("bin/openstack");
        bin.exists().then(|| Cli {
            bin,
            endpoint: endpoint.to_owned(),
        })
    }

    /// Runs `openstack baremetal <args>`; panics with its output on failure.
    #[track_caller]
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(["--os-auth-type", "none", "--os-endpoint", &self.endpoint])
            .arg("baremetal")
            .args(args)
            .env_remove("OS_CLOUD")
            .output()
            .expect("run openstack");
        assert!(
            out.status.success(),
            "openstack baremetal {}: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let out = self.run(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// A VM with a BMC: `ipmi_sim` whose power runs `qemu-node.sh run`.
struct Machine {
    name: String,
    mac: String,
    bmc_port: u16,
    dir: PathBuf,
    bmc: Service,
}

impl Machine {
    fn start(name: &str, mac: &str, tgt_port: &str, api_port: u16, boot_script: &str) -> Machine {
        let bmc_port = free_udp_port();
        // The node's directory lives beside the BMC's, in a directory of its own.
        let node_dir = tempfile::Builder::new()
            .prefix(&format!("m2-node-{name}-"))
            .tempdir()
            .expect("temp dir")
            .keep();
        std::fs::create_dir_all(node_dir.join("tftp")).unwrap();
        std::fs::write(node_dir.join("tftp/boot.ipxe"), boot_script).unwrap();
        let qemu = repo_root().join("tests/harness/qemu-node.sh");
        let bmc = Service::start(
            "ipmi-sim.sh",
            &[
                &bmc_port.to_string(),
                "--",
                qemu.to_str().unwrap(),
                "run",
                node_dir.to_str().unwrap(),
                "--tgt-port",
                tgt_port,
                "--http-port",
                &api_port.to_string(),
                "--mac",
                mac,
            ],
        )
        .unwrap_or_else(|e| panic!("BMC of {name}: {e}"));
        Machine {
            name: name.to_owned(),
            mac: mac.to_owned(),
            bmc_port,
            dir: node_dir,
            bmc,
        }
    }

    fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log"))
            .unwrap_or_default()
            .replace('\r', "")
    }

    /// Waits for a console line starting with `prefix`; returns the line.
    #[track_caller]
    fn wait_console(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let c = self.console();
            if let Some(line) = c.lines().find(|l| l.starts_with(prefix)) {
                return line.to_owned();
            }
            if let Some(err) = c.lines().find(|l| l.starts_with("M2-ERROR")) {
                panic!("{}: the guest failed: {err}\n{c}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "{}: no console line {prefix:?} within {timeout:?}; console:\n{c}\nBMC dir: {}",
                self.name,
                self.bmc.dir().display()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Enrols the machine as a node with the real CLI; returns its UUID.
    fn enroll(&self, cli: &Cli) -> String {
        let port = self.bmc_port.to_string();
        let node = cli.json(&[
            "node",
            "create",
            "--driver",
            "ipmi",
            "--name",
            &self.name,
            "--deploy-interface",
            "m2",
            "--boot-interface",
            "ipxe",
            "--driver-info",
            "ipmi_address=127.0.0.1",
            "--driver-info",
            &format!("ipmi_port={port}"),
            "--driver-info",
            "ipmi_username=admin",
            "--driver-info",
            "ipmi_password=password",
            "--driver-info",
            "ipmi_cipher_suite=3",
        ]);
        let uuid = node["uuid"].as_str().unwrap().to_owned();
        cli.run(&["port", "create", &self.mac, "--node", &uuid]);
        cli.run(&["node", "manage", &uuid, "--wait", "120"]);
        cli.run(&["node", "provide", &uuid, "--wait", "120"]);
        uuid
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{}: console:\n{}\n(node dir {})",
                self.name,
                self.console(),
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().unwrap().port()
}

fn rbd(ceph: &Service, args: &[&str]) -> String {
    let out = Command::new("rbd")
        .env("CEPH_CONF", ceph.var("CEPH_CONF"))
        .args(["--id", "m2"])
        .args(args)
        .output()
        .expect("rbd");
    assert!(
        out.status.success(),
        "rbd {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn targets(tgt: &Service) -> String {
    let out = Command::new("tgtadm")
        .args(["-C", tgt.var("M2_TGT_CTL")])
        .args(["--lld", "iscsi", "--mode", "target", "--op", "show"])
        .output()
        .expect("tgtadm");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `iscsi-inq` of LUN 1 of a target with an initiator name and CHAP credentials.
fn inquiry(tgt_port: &str, iqn: &str, initiator: &str, user: &str, secret: &str) -> bool {
    Command::new("iscsi-inq")
        .args(["-i", initiator])
        .arg(format!(
            "iscsi://{user}%{secret}@127.0.0.1:{tgt_port}/{iqn}/1"
        ))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn build_image(dir: &Path) -> PathBuf {
    let img = dir.join("tiny.img");
    let out = Command::new(repo_root().join("tests/harness/build-image.sh"))
        .arg(&img)
        .output()
        .expect("build-image.sh");
    assert!(
        out.status.success(),
        "build-image.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    img
}

/// The line `key: value` of an iPXE script.
fn script_value(script: &str, key: &str) -> String {
    script
        .lines()
        .find_map(|l| l.strip_prefix(&format!("set {key} ")))
        .unwrap_or_else(|| panic!("no {key} in the boot script:\n{script}"))
        .to_owned()
}

#[test]
fn nodes_boot_from_linked_clones_over_iscsi() {
    let test = "nodes_boot_from_linked_clones_over_iscsi";
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

    let s = Server::start_with(&format!(
        "[DEFAULT]\n\
         enabled_hardware_types = ipmi,fake-hardware\n\
         enabled_power_interfaces = ipmitool,fake\n\
         enabled_management_interfaces = ipmitool,fake\n\
         enabled_boot_interfaces = ipxe,fake\n\
         enabled_deploy_interfaces = m2,fake\n\
         [conductor]\n\
         automated_clean = false\n\
         force_power_state_during_sync = false\n\
         [ipmi]\n\
         command_retry_timeout = 10\n\
         [pxe]\n\
         http_url = http://10.0.2.101\n\
         [ceph]\n\
         conffile = {ceph_conf}\n\
         [iscsi]\n\
         portal = 127.0.0.1:{tgt_port}\n\
         guest_portal = 10.0.2.100:3260\n\
         tgt_control_port = {ctl}\n\
         tgtadm = tgtadm\n",
        ceph_conf = ceph.var("CEPH_CONF"),
        ctl = tgt.var("M2_TGT_CTL"),
    ));
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
