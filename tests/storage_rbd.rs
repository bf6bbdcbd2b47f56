//! `storage::RbdStore` against a real one-host Ceph cluster started with
//! tests/harness/ceph.sh. Starting Ceph takes ~10 s, so one test function
//! runs every step on one cluster, in order; the cluster is stopped when the
//! test ends, also on failure.

mod common;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::services::{Service, missing_tools};
use m2::config::{CephSection, Config};
use m2::error::Error;
use m2::storage::{DiskStore, ImageRef, RbdStore};

const MIB: u64 = 1024 * 1024;

/// Tools the harness needs.
const CEPH_TOOLS: &[&str] = &[
    "ceph",
    "ceph-mon",
    "ceph-mgr",
    "ceph-osd",
    "ceph-authtool",
    "monmaptool",
    "rbd",
    "uuidgen",
];

fn ceph_section(conf: &str, extra: &str) -> CephSection {
    Config::parse(&format!("[ceph]\nconffile = {conf}\n{extra}"), "test")
        .expect("test configuration")
        .ceph
}

/// `n` bytes of deterministic pseudo-random data (xorshift64).
fn test_data(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Runs a step, printing its name and duration.
async fn timed<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = fut.await;
    eprintln!("timing: {what}: {} ms", started.elapsed().as_millis());
    out
}

fn assert_conflict<T: std::fmt::Debug>(r: Result<T, Error>, needle: &str) {
    match r {
        Err(Error::Conflict(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
        other => panic!("expected Conflict containing {needle:?}, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(r: Result<T, Error>, kind: &str) {
    match r {
        Err(Error::NotFound { kind: k, .. }) if k == kind => {}
        other => panic!("expected NotFound({kind}), got {other:?}"),
    }
}

#[test]
fn rbd_store_on_a_real_cluster() {
    let missing = missing_tools(CEPH_TOOLS);
    if !missing.is_empty() {
        common::skip(
            "rbd_store_on_a_real_cluster",
            &format!("missing {}", missing.join(", ")),
        );
        return;
    }
    let mut ceph = Service::start("ceph.sh", &[]).expect("start Ceph");
    let conf = ceph.var("CEPH_CONF").to_owned();
    let work = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(steps(&conf, work.path()));
    rt.block_on(reconnects(&mut ceph, &conf));
}

async fn steps(conf: &str, work: &Path) {
    let store = RbdStore::new(&ceph_section(conf, ""));
    let images = store.images_pool().to_owned();
    let disks = store.disks_pool().to_owned();
    timed("check (first call, connects)", store.check())
        .await
        .unwrap();
    timed("check", store.check()).await.unwrap();

    // A pool that does not exist.
    let other = RbdStore::new(&ceph_section(conf, "disks_pool = no-such-pool\n"));
    assert_not_found(other.check().await, "Ceph pool");
    assert_not_found(store.list("no-such-pool").await, "Ceph pool");
    assert!(matches!(
        store.list("bad/name").await,
        Err(Error::Invalid(_))
    ));

    // Import a 64 MiB image and export it back.
    let data = test_data(64 * MIB as usize);
    let original = work.join("base.raw");
    std::fs::write(&original, &data).unwrap();
    let base = ImageRef::new(&images, "base");
    timed("import 64 MiB", store.import(&original, &base))
        .await
        .unwrap();
    assert_conflict(store.import(&original, &base).await, "already exists");
    assert!(matches!(
        store
            .import(&work.join("missing.raw"), &ImageRef::new(&images, "x"))
            .await,
        Err(Error::Invalid(_))
    ));
    let exported = work.join("base.out");
    timed("export 64 MiB", store.export(&base, &exported))
        .await
        .unwrap();
    assert!(std::fs::read(&exported).unwrap() == data, "export differs");
    assert_conflict(store.export(&base, &exported).await, "exists");
    assert_not_found(
        store
            .export(&ImageRef::new(&images, "nope"), &work.join("nope.raw"))
            .await,
        "Image",
    );

    assert_eq!(store.list(&images).await.unwrap(), ["base"]);
    assert!(store.exists(&base).await.unwrap());
    assert!(!store.exists(&ImageRef::new(&images, "nope")).await.unwrap());
    let info = store.stat(&base).await.unwrap();
    assert_eq!(info.size, 64 * MIB);
    assert_eq!(info.used, 64 * MIB);
    assert_eq!(info.parent, None);
    assert_not_found(store.stat(&ImageRef::new(&images, "nope")).await, "Image");

    // Snapshot, protect, clone.
    let gold = base.snap("gold");
    timed("snapshot create", store.snap_create(&gold))
        .await
        .unwrap();
    assert_conflict(store.snap_create(&gold).await, "already exists");
    assert_eq!(
        store.snap_list(&base).await.unwrap(),
        [("gold".to_owned(), false)]
    );
    let node1 = ImageRef::new(&disks, "node-1");
    assert!(matches!(
        store.clone_image(&gold, &node1).await,
        Err(Error::InvalidState(m)) if m.contains("not protected")
    ));
    timed("snapshot protect", store.snap_protect(&gold))
        .await
        .unwrap();
    store.snap_protect(&gold).await.unwrap();
    assert_eq!(
        store.snap_list(&base).await.unwrap(),
        [("gold".to_owned(), true)]
    );
    assert_not_found(store.snap_protect(&base.snap("nope")).await, "Snapshot");
    assert_not_found(
        store.clone_image(&base.snap("nope"), &node1).await,
        "Snapshot",
    );

    timed("clone", store.clone_image(&gold, &node1))
        .await
        .unwrap();
    assert_conflict(store.clone_image(&gold, &node1).await, "already exists");
    let node2 = ImageRef::new(&disks, "node-2");
    store.clone_image(&gold, &node2).await.unwrap();
    let info = store.stat(&node1).await.unwrap();
    assert_eq!(info.size, 64 * MIB);
    assert_eq!(info.used, 0, "a fresh clone allocates nothing");
    assert_eq!(info.parent, Some(gold.clone()));
    assert_eq!(
        store.children(&gold).await.unwrap(),
        [node1.clone(), node2.clone()]
    );
    assert_not_found(store.children(&base.snap("nope")).await, "Snapshot");
    assert_not_found(
        store
            .children(&ImageRef::new(&images, "nope").snap("gold"))
            .await,
        "Image",
    );

    // A clone reads its parent's data.
    let clone_out = work.join("node1.out");
    store.export(&node1, &clone_out).await.unwrap();
    assert!(std::fs::read(&clone_out).unwrap() == data, "clone differs");

    // Dependents block removal.
    assert_conflict(store.snap_unprotect(&gold).await, "node-1");
    assert!(matches!(
        store.snap_remove(&gold).await,
        Err(Error::InvalidState(m)) if m.contains("protected")
    ));
    assert_conflict(store.remove(&base).await, "snapshots (gold)");

    // Resize: grow only.
    store.resize(&node2, 128 * MIB).await.unwrap();
    store.resize(&node2, 128 * MIB).await.unwrap();
    assert_eq!(store.stat(&node2).await.unwrap().size, 128 * MIB);
    assert!(matches!(
        store.resize(&node2, MIB).await,
        Err(Error::Invalid(m)) if m.contains("shrinking")
    ));

    // Flatten detaches a clone and copies the data.
    timed("flatten 64 MiB clone", store.flatten(&node1))
        .await
        .unwrap();
    let info = store.stat(&node1).await.unwrap();
    assert_eq!(info.parent, None);
    assert_eq!(info.used, 64 * MIB);
    store.flatten(&node1).await.unwrap();
    assert_eq!(
        store.children(&gold).await.unwrap(),
        std::slice::from_ref(&node2)
    );

    // Rename.
    store.rename(&node1, "node-1-old").await.unwrap();
    assert!(!store.exists(&node1).await.unwrap());
    let old = ImageRef::new(&disks, "node-1-old");
    assert!(store.exists(&old).await.unwrap());
    assert_conflict(store.rename(&old, "node-2").await, "already exists");
    assert_not_found(store.rename(&node1, "x").await, "Image");
    assert!(matches!(
        store.rename(&old, "a/b").await,
        Err(Error::Invalid(_))
    ));

    // An image open by another client (here `rbd watch`, in production
    // tgtd) cannot be removed.
    let mut watcher = Command::new("rbd")
        .args(["--conf", conf, "--id", "m2", "watch"])
        .arg(old.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rbd watch");
    // It prints its prompt once the watch is registered.
    let stdout = watcher.stdout.take().unwrap();
    let prompt = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(prompt.contains("press enter"), "rbd watch said {prompt:?}");
    assert_conflict(store.remove(&old).await, "open by 1 client");
    // `rbd watch` ends (and unwatches) on a newline.
    watcher.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(watcher.wait().unwrap().success());

    // Clean up in dependency order.
    store.remove(&old).await.unwrap();
    store.remove(&node2).await.unwrap();
    assert_not_found(store.remove(&node2).await, "Image");
    timed("snapshot unprotect", store.snap_unprotect(&gold))
        .await
        .unwrap();
    store.snap_unprotect(&gold).await.unwrap();
    timed("snapshot remove", store.snap_remove(&gold))
        .await
        .unwrap();
    assert!(store.snap_list(&base).await.unwrap().is_empty());
    store.remove(&base).await.unwrap();

    // Create and remove an empty image.
    let empty = ImageRef::new(&disks, "empty");
    timed("create 1 GiB", store.create(&empty, 1024 * MIB))
        .await
        .unwrap();
    assert_conflict(store.create(&empty, MIB).await, "already exists");
    let info = store.stat(&empty).await.unwrap();
    assert_eq!((info.size, info.used, info.parent), (1024 * MIB, 0, None));
    timed("remove", store.remove(&empty)).await.unwrap();
    assert!(store.list(&disks).await.unwrap().is_empty());
    assert!(store.list(&images).await.unwrap().is_empty());
}

/// A cluster that goes away gives `Unavailable`; once it is back the same
/// store works again.
async fn reconnects(ceph: &mut Service, conf: &str) {
    let store = RbdStore::new(&ceph_section(conf, "connect_timeout = 3\nop_timeout = 3\n"));
    store.check().await.unwrap();
    ceph.stop();
    let started = Instant::now();
    let down = store.list("m2-disks").await;
    assert!(matches!(down, Err(Error::Unavailable(_))), "{down:?}");
    eprintln!(
        "timing: request to a stopped cluster failed after {} ms",
        started.elapsed().as_millis()
    );
    let down = store.check().await;
    assert!(matches!(down, Err(Error::Unavailable(_))), "{down:?}");
    ceph.restart(&[]).expect("restart Ceph");
    timed("check after the cluster restarted", store.check())
        .await
        .unwrap();
}

/// Without a reachable cluster every call fails with `Unavailable`, quickly,
/// and does not need Ceph to be installed.
#[test]
fn unreachable_cluster_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ceph.conf");
    // A monitor address where nothing listens.
    std::fs::write(
        &conf,
        "[global]\nmon host = 127.0.0.1:1\nauth client required = none\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = RbdStore::new(&ceph_section(
            conf.to_str().unwrap(),
            "connect_timeout = 2\n",
        ));
        let started = Instant::now();
        let r = store.check().await;
        assert!(
            matches!(&r, Err(Error::Unavailable(m)) if m.contains("not reachable")),
            "{r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        // A missing configuration file is the same class of failure.
        let store = RbdStore::new(&ceph_section("/nonexistent/ceph.conf", ""));
        let r = store.list("m2-disks").await;
        assert!(matches!(&r, Err(Error::Unavailable(_))), "{r:?}");
        // Names are checked before anything is contacted.
        assert!(matches!(
            store.exists(&ImageRef::new("m2-disks", "a@b")).await,
            Err(Error::Invalid(_))
        ));
    });
}
