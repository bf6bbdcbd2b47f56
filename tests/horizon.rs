//! Horizon's ironic-ui dashboard against the real `m2` binary, in a real headless
//! Chromium: horizon/run-horizon-test.sh starts Keystone, m2 (`auth_strategy =
//! keystone`) and Horizon, logs in, lists and opens nodes, runs a provision action
//! and a maintenance action from the UI and checks them through m2's API; it saves
//! screenshots of the node list. See horizon/README.md.
//!
//! Part of the extended suite: ignored by default, since it takes a minute or more
//! and needs `scripts/install-test-deps.sh keystone horizon`. Run it with
//!
//! ```sh
//! cargo nextest run --run-ignored all --test horizon
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const TEST: &str = "horizon_lists_shows_and_provisions_m2_nodes_in_chromium";

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
}

/// Why the test cannot run here, if it cannot.
fn missing_dependency(horizon_venv: &Path, keystone_venv: &Path) -> Option<String> {
    let chromium = env_path("M2_CHROMIUM", PathBuf::from("/usr/bin/chromium"));
    let driver = env_path("M2_CHROMEDRIVER", PathBuf::from("/usr/bin/chromedriver"));
    if !chromium.exists() || !driver.exists() {
        return Some(format!(
            "no {} or {} (scripts/install-test-deps.sh horizon installs Debian's chromium and chromium-driver)",
            chromium.display(),
            driver.display()
        ));
    }
    if !horizon_venv.join("m2-horizon-versions.txt").exists() {
        return Some(format!(
            "no Horizon venv at {} (scripts/install-test-deps.sh horizon)",
            horizon_venv.display()
        ));
    }
    if !keystone_venv.join("bin/keystone-manage").exists() {
        return Some(format!(
            "no Keystone venv at {} (scripts/install-test-deps.sh keystone)",
            keystone_venv.display()
        ));
    }
    None
}

#[test]
#[ignore = "extended suite: a real Horizon and Chromium, about a minute (see horizon/README.md)"]
fn horizon_lists_shows_and_provisions_m2_nodes_in_chromium() {
    let horizon_venv = env_path("M2_TEST_HORIZON_VENV", repo_root().join(".venv-horizon"));
    let keystone_venv = env_path("M2_TEST_KEYSTONE_VENV", repo_root().join(".venv-keystone"));
    if let Some(why) = missing_dependency(&horizon_venv, &keystone_venv) {
        skip(TEST, &why);
        return;
    }
    let script = repo_root().join("horizon/run-horizon-test.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("M2_BIN", M2)
        .env("M2_TEST_HORIZON_VENV", &horizon_venv)
        .env("M2_TEST_KEYSTONE_VENV", &keystone_venv)
        .output()
        .expect("run horizon/run-horizon-test.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        script.display(),
        out.status
    );
    // The script prints "screenshot: PATH" for each picture it saved.
    let shots: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("screenshot: "))
        .collect();
    let list = shots
        .iter()
        .find(|p| p.ends_with("node-list.png"))
        .unwrap_or_else(|| panic!("no node list screenshot reported:\n{stdout}\n{stderr}"));
    let png = std::fs::read(list).unwrap_or_else(|e| panic!("read {list}: {e}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{list} is not a screenshot ({} bytes)",
        png.len()
    );
    eprintln!("{stderr}");
    for shot in &shots {
        println!("screenshot: {shot}");
    }
}
