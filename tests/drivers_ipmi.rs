//! The `ipmi` hardware type against a real BMC: OpenIPMI's `ipmi_sim` (started by
//! `tests/harness/ipmi-sim.sh`), whose chassis power starts and stops a process
//! standing for the machine, driven by m2 through `ipmitool`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// The simulated BMC, stopped on drop.
struct Bmc {
    dir: PathBuf,
    port: u16,
}

impl Bmc {
    fn start(test: &str, machine: &[&str]) -> Option<Bmc> {
        for tool in ["ipmi_sim", "ipmitool"] {
            if Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
            {
                skip(
                    test,
                    &format!("{tool} is not installed (scripts/install-test-deps.sh)"),
                );
                return None;
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("m2-bmc-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let port = free_udp_port();
        let script = repo_root().join("tests/harness/ipmi-sim.sh");
        let mut args = vec![
            script.to_str().unwrap().to_owned(),
            "start".into(),
            dir.to_str().unwrap().to_owned(),
            port.to_string(),
            "--".into(),
        ];
        args.extend(machine.iter().map(|s| (*s).to_owned()));
        let out = Command::new("bash")
            .args(&args)
            .output()
            .expect("ipmi-sim.sh");
        assert!(
            out.status.success(),
            "ipmi-sim.sh start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Bmc { dir, port })
    }

    fn machine_running(&self) -> bool {
        let Ok(pid) = std::fs::read_to_string(self.dir.join("node.pid")) else {
            return false;
        };
        Path::new(&format!("/proc/{}", pid.trim())).exists()
    }

    fn boot_device(&self) -> String {
        std::fs::read_to_string(self.dir.join("bootdev"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

impl Drop for Bmc {
    fn drop(&mut self) {
        let script = repo_root().join("tests/harness/ipmi-sim.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().unwrap().port()
}

const CONFIG: &str = "[DEFAULT]\n\
    enabled_hardware_types = fake-hardware,ipmi\n\
    enabled_power_interfaces = fake,ipmitool\n\
    enabled_management_interfaces = fake,ipmitool\n\
    enabled_boot_interfaces = fake,ipxe\n\
    [ipmi]\n\
    command_retry_timeout = 5\n\
    power_state_change_timeout = 20\n";

fn wait(s: &Server, id: &str, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
    s.wait_for(id, Duration::from_secs(60), pred)
        .unwrap_or_else(|n| panic!("{what}: node did not get there: {n}"));
}

#[test]
fn ipmitool_drives_power_and_boot_device_of_a_real_bmc() {
    let test = "ipmitool_drives_power_and_boot_device_of_a_real_bmc";
    let Some(bmc) = Bmc::start(test, &["sleep", "600"]) else {
        return;
    };
    let s = Server::start_with(CONFIG);
    let node = s.create_node(json!({
        "driver": "ipmi",
        "name": "bmc-node",
        "driver_info": {
            "ipmi_address": "127.0.0.1",
            "ipmi_port": bmc.port.to_string(),
            "ipmi_username": "admin",
            "ipmi_password": "password",
            "ipmi_cipher_suite": "3",
        },
    }));
    let id = node["uuid"].as_str().unwrap().to_owned();
    assert_eq!(node["power_interface"], "ipmitool");
    assert_eq!(node["management_interface"], "ipmitool");
    assert_eq!(node["boot_interface"], "ipxe");
    assert_eq!(node["driver_info"]["ipmi_password"], "******");

    let v = s
        .get(&format!("/v1/nodes/{id}/validate"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(v["power"]["result"], true, "{v}");
    assert_eq!(v["management"]["result"], true, "{v}");

    // Enrolment reads the power state from the BMC.
    s.provision(&id, json!({"target": "manage"}));
    wait(&s, &id, "manage", |n| n["provision_state"] == "manageable");
    assert_eq!(s.node(&id)["power_state"], "power off");
    assert!(!bmc.machine_running());

    let started = Instant::now();
    s.put(
        &format!("/v1/nodes/{id}/states/power"),
        LATEST,
        &json!({"target": "power on"}),
    )
    .expect(202);
    wait(&s, &id, "power on", |n| {
        n["power_state"] == "power on" && n["target_power_state"].is_null()
    });
    eprintln!("power on through IPMI: {:?}", started.elapsed());
    assert!(bmc.machine_running(), "the BMC did not start the machine");
    assert!(s.node(&id)["last_error"].is_null());

    s.put(
        &format!("/v1/nodes/{id}/management/boot_device"),
        LATEST,
        &json!({"boot_device": "pxe", "persistent": true}),
    )
    .expect(204);
    assert_eq!(bmc.boot_device(), "pxe");

    s.put(
        &format!("/v1/nodes/{id}/states/power"),
        LATEST,
        &json!({"target": "rebooting"}),
    )
    .expect(202);
    wait(&s, &id, "reboot", |n| {
        n["power_state"] == "power on" && n["target_power_state"].is_null()
    });
    assert!(bmc.machine_running());

    s.put(
        &format!("/v1/nodes/{id}/states/power"),
        LATEST,
        &json!({"target": "power off"}),
    )
    .expect(202);
    wait(&s, &id, "power off", |n| {
        n["power_state"] == "power off" && n["target_power_state"].is_null()
    });
    assert!(
        !bmc.machine_running(),
        "the machine still runs after power off"
    );
}

#[test]
fn unreachable_or_misconfigured_bmcs_fail_cleanly() {
    let s = Server::start_with(CONFIG);
    // No address: validation says why, power actions are refused, nothing changes.
    let bad = s.create_node(json!({"driver": "ipmi", "driver_info": {}}));
    let bad_id = bad["uuid"].as_str().unwrap();
    let v = s
        .get(&format!("/v1/nodes/{bad_id}/validate"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(v["power"]["result"], false, "{v}");
    assert!(
        v["power"]["reason"]
            .as_str()
            .unwrap()
            .contains("ipmi_address"),
        "{v}"
    );
    s.put(
        &format!("/v1/nodes/{bad_id}/states/power"),
        LATEST,
        &json!({"target": "power on"}),
    )
    .expect_fault(400, "ipmi_address");
    // A BMC that does not answer: the action is accepted, then fails with last_error,
    // and the node is unlocked again.
    let port = free_udp_port();
    let dead = s.create_node(json!({"driver": "ipmi", "driver_info": {
        "ipmi_address": "127.0.0.1", "ipmi_port": port, "ipmi_username": "admin",
        "ipmi_password": "x", "ipmi_cipher_suite": "3"}}));
    let dead_id = dead["uuid"].as_str().unwrap();
    s.put(
        &format!("/v1/nodes/{dead_id}/states/power"),
        LATEST,
        &json!({"target": "power on"}),
    )
    .expect(202);
    let n = s
        .wait_for(dead_id, Duration::from_secs(90), |n| {
            n["target_power_state"].is_null()
        })
        .unwrap_or_else(|n| panic!("power action never ended: {n}"));
    assert!(n["reservation"].is_null(), "{n}");
    let err = n["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("power on"), "{n}");
    assert!(
        !err.contains("x\""),
        "the password leaked into last_error: {err}"
    );
}
