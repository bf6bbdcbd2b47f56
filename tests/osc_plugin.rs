//! The `openstack baremetal m2 ...` CLI plugin (`osc/`, python-m2client) against the
//! real m2: runs the plugin's Python tests (osc/tests/test_osc_plugin.py) with the
//! test venv's Python. They start `m2 standalone` themselves (this crate's binary),
//! and the Ceph cluster and tgtd of tests/harness/ for images, volumes, snapshots,
//! release, recovery and boot from a volume.

mod common;

use std::process::Command;

use common::*;

#[test]
fn openstack_baremetal_m2_commands() {
    let test = "openstack_baremetal_m2_commands";
    let venv = clients_venv();
    let python = venv.join("bin/python");
    if !python.exists() || !venv.join("bin/openstack").exists() {
        skip(
            test,
            &format!(
                "no virtualenv with the openstack CLI at {} (scripts/install-test-deps.sh venv)",
                venv.display()
            ),
        );
        return;
    }
    let installed = Command::new(&python)
        .args(["-c", "import m2client.osc.plugin"])
        .output()
        .expect("run the venv's python");
    if !installed.status.success() {
        skip(
            test,
            &format!(
                "python-m2client is not installed in {} (scripts/install-test-deps.sh venv): {}",
                venv.display(),
                String::from_utf8_lossy(&installed.stderr)
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
            ),
        );
        return;
    }
    let status = Command::new(&python)
        .arg(repo_root().join("osc/tests/test_osc_plugin.py"))
        .arg("-v")
        .current_dir(repo_root())
        .env("M2_BIN", env!("CARGO_BIN_EXE_m2"))
        .env("OPENSTACK_BIN", venv.join("bin/openstack"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("OS_CLOUD")
        .status()
        .expect("run osc/tests/test_osc_plugin.py");
    assert!(
        status.success(),
        "osc/tests/test_osc_plugin.py failed ({status}); its output is above"
    );
}
