//! The devstack plugin (`devstack/`). `devstack/tests/test_plugin.sh` runs every
//! phase of the plugin against stubbed devstack helpers, checks the calls it makes
//! and the files it writes, and has this build's `m2` load the `m2.conf` it writes;
//! this test runs it and requires its success summary. A second test keeps the
//! plugin's shell `shellcheck` clean.

mod common;

use std::process::Command;

use common::services::missing_tools;
use common::{M2, repo_root, skip};

/// The shell files of the plugin and its test.
const SHELL_FILES: &[&str] = &[
    "devstack/plugin.sh",
    "devstack/settings",
    "devstack/tests/test_plugin.sh",
];

#[test]
fn plugin_phases_against_stubbed_devstack() {
    let out = Command::new("bash")
        .arg("devstack/tests/test_plugin.sh")
        .arg(M2)
        .current_dir(repo_root())
        .env_remove("M2_CONFIG_FILE")
        .env_remove("M2_DATA_DIR")
        .output()
        .expect("run bash devstack/tests/test_plugin.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "devstack/tests/test_plugin.sh failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with("devstack plugin test: "))
        .unwrap_or_else(|| panic!("no summary line in the output:\n{stdout}\n{stderr}"));
    // "devstack plugin test: N checks passed, M failed"
    let words: Vec<&str> = summary.split_whitespace().collect();
    let passed: usize = words
        .get(3)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("unreadable summary: {summary}"));
    assert!(
        summary.ends_with(", 0 failed") && passed >= 100,
        "expected at least 100 passed checks and none failed: {summary}\n{stdout}"
    );
    println!("{summary}");
}

#[test]
fn plugin_is_shellcheck_clean() {
    if !missing_tools(&["shellcheck"]).is_empty() {
        skip(
            "plugin_is_shellcheck_clean",
            "shellcheck is not installed (scripts/install-test-deps.sh installs it); \
             the shellcheck part is skipped, plugin_phases_against_stubbed_devstack still runs",
        );
        return;
    }
    let out = Command::new("shellcheck")
        .arg("-x")
        .args(SHELL_FILES)
        .current_dir(repo_root())
        .output()
        .expect("run shellcheck");
    assert!(
        out.status.success(),
        "shellcheck -x {} ({}):\n{}{}",
        SHELL_FILES.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("shellcheck -x {}: clean", SHELL_FILES.join(" "));
}
