//! Tempest against the `m2` binary under test with a real Keystone, through
//! `scripts/run-tempest.sh`: it starts Keystone and `m2 standalone` on free
//! 127.0.0.1 ports, runs the suites (minus the entries of
//! tempest/ironic-api-skips.txt and tempest/m2-skips.txt), stops what it
//! started and fails on any failed test or stale skip list entry.
//!
//! - `ironic_and_m2_api_suites`: Ironic's API tests (ironic-tempest-plugin)
//!   and m2's own (tempest/), without Ceph: about four minutes on two cores.
//! - `m2_suite_with_ceph`: m2's own tests again with a Ceph cluster and a tgtd
//!   of tests/harness, so that snapshot, release, re-acquire, recovery and
//!   the boot target's CHAP credentials run too: about a minute and a half.
//!
//! Both need `scripts/install-test-deps.sh keystone tempest`, the second the
//! Ceph and tgt packages too; they skip (fail in CI) without them.

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use common::services::missing_tools;
use common::*;

fn tempest_venv() -> PathBuf {
    std::env::var("M2_TEST_TEMPEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv-tempest"))
}

/// Why the runner cannot run here, if it cannot.
fn missing_runner_deps() -> Option<String> {
    let venv = tempest_venv();
    if !venv.join("bin/tempest").exists() {
        return Some(format!(
            "no tempest in {} (scripts/install-test-deps.sh tempest)",
            venv.display()
        ));
    }
    if common::keystone::venv().is_none() {
        return Some("Keystone is not installed (scripts/install-test-deps.sh keystone)".into());
    }
    None
}

/// Runs scripts/run-tempest.sh with `args` and asserts it passed. Its output
/// (tempest's, then the counts) goes to the test's own stdout and stderr.
fn run_tempest(args: &[&str]) {
    let started = Instant::now();
    let mut cmd = Command::new(repo_root().join("scripts/run-tempest.sh"));
    cmd.args(args)
        .env("M2_BIN", M2)
        .env("M2_TEST_TEMPEST_VENV", tempest_venv())
        .env_remove("M2_CONFIG_FILE")
        .env_remove("M2_DATA_DIR");
    // SAFETY: prctl is async-signal-safe; the runner (which stops what it
    // started on SIGTERM) goes when the test process does.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let status = cmd.status().expect("run scripts/run-tempest.sh");
    assert!(
        status.success(),
        "scripts/run-tempest.sh {} failed ({status}) after {}s: see its output above \
         (the failed tests, the skip list check, the kept work directory)",
        args.join(" "),
        started.elapsed().as_secs()
    );
}

#[test]
fn ironic_and_m2_api_suites() {
    if let Some(why) = missing_runner_deps() {
        skip("ironic_and_m2_api_suites", &why);
        return;
    }
    run_tempest(&[]);
}

#[test]
fn m2_suite_with_ceph() {
    if let Some(why) = missing_runner_deps() {
        skip("m2_suite_with_ceph", &why);
        return;
    }
    let missing = missing_tools(&[
        "ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "rbd", "tgtd", "tgtadm",
    ]);
    if !missing.is_empty() {
        skip(
            "m2_suite_with_ceph",
            &format!("missing {}", missing.join(", ")),
        );
        return;
    }
    run_tempest(&["--suite", "m2", "--with-ceph"]);
}
