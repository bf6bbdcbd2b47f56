//! Real external services for the tests (Ceph, tgtd), started through the
//! scripts in tests/harness/ and stopped by a guard's `Drop`, also when the
//! test panics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The programs among `tools` that are found neither in PATH nor in
/// /usr/sbin or /sbin (where Debian puts daemons).
pub fn missing_tools(tools: &[&str]) -> Vec<String> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    tools
        .iter()
        .filter(|tool| !dirs.iter().any(|d| d.join(tool).is_file()))
        .map(|tool| tool.to_string())
        .collect()
}

/// One service started with `tests/harness/<script> start DIR [args]`, in
/// its own temporary directory. Dropping it runs `<script> stop DIR` and
/// removes the directory, unless the thread is panicking: then the
/// directory (with the service's logs) is kept and its path printed.
pub struct Service {
    script: PathBuf,
    dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
    env: HashMap<String, String>,
}

impl Service {
    /// Starts `script` (a file name in tests/harness/) in a new temporary
    /// directory and reads the `export NAME=value` lines it prints.
    pub fn start(script: &str, args: &[&str]) -> Result<Service, String> {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("m2-{}-", script.trim_end_matches(".sh")))
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let dir = tmp.path().join("svc");
        let mut service = Service {
            script: super::repo_root().join("tests/harness").join(script),
            dir,
            tmp: Some(tmp),
            env: HashMap::new(),
        };
        service.run_start(args)?;
        Ok(service)
    }

    fn run_start(&mut self, args: &[&str]) -> Result<(), String> {
        let started = Instant::now();
        let out = Command::new(&self.script)
            .arg("start")
            .arg(&self.dir)
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", self.script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprint!("{stderr}");
        if !out.status.success() {
            return Err(format!(
                "{} start failed ({}): {stderr}",
                self.script.display(),
                out.status
            ));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((k, v)) = line
                .strip_prefix("export ")
                .and_then(|kv| kv.split_once('='))
            {
                self.env.insert(k.to_owned(), v.to_owned());
            }
        }
        eprintln!(
            "{} started in {} ms",
            self.script.display(),
            started.elapsed().as_millis()
        );
        Ok(())
    }

    /// Starts the service again in the same directory (after [`Self::stop`]
    /// or a crash); the values it prints replace the old ones.
    pub fn restart(&mut self, args: &[&str]) -> Result<(), String> {
        self.run_start(args)
    }

    /// A value the start script exported.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{} exported no {name}", self.script.display()))
    }

    /// The service's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `<script> stop DIR`; idempotent.
    pub fn stop(&self) {
        match Command::new(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "{} stop failed: {}",
                self.script.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("{} stop: {e}", self.script.display()),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
        let Some(tmp) = self.tmp.take() else { return };
        if std::thread::panicking() {
            let kept = tmp.keep();
            eprintln!(
                "test failed: {} logs kept in {}",
                self.script.display(),
                kept.display()
            );
        } else {
            let path = tmp.path().to_owned();
            if let Err(e) = tmp.close() {
                eprintln!("cannot remove {}: {e}", path.display());
            }
        }
    }
}
