//! The M2 data path for tests: the real `openstack` CLI against m2, a QEMU "bare-metal
//! node" behind a simulated BMC, and small readers of Ceph and tgtd state. Used by the
//! end-to-end tests; every service is stopped by its guard, also on failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::repo_root;
use super::services::Service;

pub const TOOLS: &[&str] = &[
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
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(240);

/// The `openstack` CLI of the test venv, without authentication, against m2.
pub struct Cli {
    bin: PathBuf,
    endpoint: String,
}

impl Cli {
    pub fn new(endpoint: &str) -> Option<Cli> {
        let bin = super::clients_venv().join("bin/openstack");
        bin.exists().then(|| Cli {
            bin,
            endpoint: endpoint.to_owned(),
        })
    }

    /// Runs `openstack baremetal <args>`; panics with its output on failure.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> String {
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
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let out = self.run(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// A VM with a BMC: `ipmi_sim` whose power runs `qemu-node.sh run`.
pub struct Machine {
    pub name: String,
    pub mac: String,
    pub bmc_port: u16,
    pub dir: PathBuf,
    pub bmc: Service,
}

impl Machine {
    pub fn start(
        name: &str,
        mac: &str,
        tgt_port: &str,
        api_port: u16,
        boot_script: &str,
    ) -> Machine {
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

    /// Forgets the console of the previous boot, before the next one starts.
    pub fn clear_console(&self) {
        let _ = std::fs::remove_file(self.dir.join("console.log"));
    }

    /// Waits for the guest's last line (`M2-DONE`); returns the whole console.
    #[track_caller]
    pub fn wait_done(&self) -> String {
        self.wait_console("M2-DONE", BOOT_TIMEOUT);
        self.console()
    }

    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log"))
            .unwrap_or_default()
            .replace('\r', "")
    }

    /// Waits for a console line starting with `prefix`; returns the line.
    #[track_caller]
    pub fn wait_console(&self, prefix: &str, timeout: Duration) -> String {
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
    pub fn enroll(&self, cli: &Cli) -> String {
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

pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().unwrap().port()
}

pub fn rbd(ceph: &Service, args: &[&str]) -> String {
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

pub fn targets(tgt: &Service) -> String {
    let out = Command::new("tgtadm")
        .args(["-C", tgt.var("M2_TGT_CTL")])
        .args(["--lld", "iscsi", "--mode", "target", "--op", "show"])
        .output()
        .expect("tgtadm");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `iscsi-inq` of LUN 1 of a target with an initiator name and CHAP credentials.
pub fn inquiry(tgt_port: &str, iqn: &str, initiator: &str, user: &str, secret: &str) -> bool {
    Command::new("iscsi-inq")
        .args(["-i", initiator])
        .arg(format!(
            "iscsi://{user}%{secret}@127.0.0.1:{tgt_port}/{iqn}/1"
        ))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub fn build_image(dir: &Path) -> PathBuf {
    build_image_with(dir, "tiny.img", &[])
}

/// Builds the test image `dir/name` with build-image.sh options (`--write WORD`, ...).
pub fn build_image_with(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let img = dir.join(name);
    let out = Command::new(repo_root().join("tests/harness/build-image.sh"))
        .arg(&img)
        .args(args)
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
pub fn script_value(script: &str, key: &str) -> String {
    script
        .lines()
        .find_map(|l| l.strip_prefix(&format!("set {key} ")))
        .unwrap_or_else(|| panic!("no {key} in the boot script:\n{script}"))
        .to_owned()
}

/// The configuration of an m2 that deploys through the given Ceph and tgtd, with
/// `extra` (INI text) merged over it. Nodes see tgtd as 10.0.2.100:3260 and m2's boot
/// scripts at http://10.0.2.101 (the QEMU forwards of `qemu-node.sh`).
pub fn m2_config(ceph: &Service, tgt: &Service, extra: &str) -> String {
    let base = format!(
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
         tgtadm = tgtadm\n\
         reconcile_interval = 2\n",
        ceph_conf = ceph.var("CEPH_CONF"),
        tgt_port = tgt.var("M2_TGT_PORT"),
        ctl = tgt.var("M2_TGT_CTL"),
    );
    // Server::start_with merges the text: a key given again in `extra` replaces the base one.
    format!("{base}{extra}")
}

/// Boots RBD image `pool/image` in a QEMU VM through QEMU's rbd driver (a VM on
/// Ceph, as Nova runs one on a Cinder volume) and returns its console once the
/// guest powered off.
pub fn run_vm(ceph: &Service, rbd_image: &str, timeout: Duration) -> String {
    let dir = tempfile::Builder::new()
        .prefix("m2-vm-")
        .tempdir()
        .expect("temp dir");
    std::fs::create_dir_all(dir.path().join("tftp")).unwrap();
    let mut child = Command::new(repo_root().join("tests/harness/qemu-node.sh"))
        .arg("run")
        .arg(dir.path())
        .args(["--tgt-port", "1", "--rbd", rbd_image, "--ceph-conf"])
        .arg(ceph.var("CEPH_CONF"))
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("qemu-node.sh");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for qemu") {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let console = std::fs::read_to_string(dir.path().join("console.log"))
        .unwrap_or_default()
        .replace('\r', "");
    assert!(
        status.is_some_and(|s| s.success()) && console.contains("M2-DONE"),
        "the VM on {rbd_image} did not finish ({status:?}):\n{console}"
    );
    console
}

/// The value of the console line `KEY=value`, if printed.
pub fn console_value(console: &str, key: &str) -> Option<String> {
    console
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
}
