//! `iscsi::TargetManager` against a real tgtd (tests/harness/tgtd.sh) whose
//! LUNs are RBD clones in a real Ceph cluster (tests/harness/ceph.sh),
//! checked from the initiator side with libiscsi's iscsi-inq and iscsi-ls.
//! One test function runs the steps in order on one cluster; both services
//! are stopped when it ends, also on failure.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::services::{Service, missing_tools};
use m2::config::Config;
use m2::error::Error;
use m2::iscsi::{Backing, ChapCredentials, LunSpec, TargetManager, TargetSpec};
use m2::storage::{DiskStore, ImageRef, RbdStore};
use uuid::Uuid;

const TOOLS: &[&str] = &[
    "ceph",
    "ceph-mon",
    "ceph-mgr",
    "ceph-osd",
    "ceph-authtool",
    "monmaptool",
    "rbd",
    "uuidgen",
    "tgtd",
    "tgtadm",
    "iscsi-inq",
    "iscsi-ls",
    "iscsi-perf",
];

const MIB: u64 = 1024 * 1024;

fn config(ceph_conf: &str, tgt_port: &str, tgt_ctl: &str) -> Config {
    Config::parse(
        &format!(
            "[ceph]\nconffile = {ceph_conf}\n\
             [iscsi]\nportal = 127.0.0.1:{tgt_port}\ntgt_control_port = {tgt_ctl}\n\
             tgtadm = tgtadm\n"
        ),
        "test",
    )
    .expect("test configuration")
}

/// An initiator's view: what it logs in as.
#[derive(Clone, Copy)]
struct Login<'a> {
    port: &'a str,
    initiator: &'a str,
    user: &'a str,
    secret: &'a str,
    /// Mutual CHAP: the target's user and secret the initiator expects.
    target_auth: Option<(&'a str, &'a str)>,
}

impl Login<'_> {
    fn base_url(&self) -> String {
        format!(
            "iscsi://{}%{}@127.0.0.1:{}",
            self.user, self.secret, self.port
        )
    }

    fn query(&self) -> String {
        match self.target_auth {
            Some((u, s)) => format!("?target_user={u}&target_password={s}"),
            None => String::new(),
        }
    }

    /// `iscsi-inq` of one LUN: success and output.
    fn inq(&self, iqn: &str, lun: u32) -> (bool, String) {
        let url = format!("{}/{iqn}/{lun}{}", self.base_url(), self.query());
        run("iscsi-inq", &["-i", self.initiator, &url])
    }

    /// `iscsi-ls -s` (discovery, then each target's LUNs). Without mutual
    /// CHAP: tgtd's discovery sessions have no outgoing account (and iPXE
    /// does no discovery).
    fn ls(&self) -> (bool, String) {
        let url = self.base_url();
        run("iscsi-ls", &["-s", "-i", self.initiator, &url])
    }

    /// Starts `iscsi-perf` reading LUN 1 until killed.
    fn perf(&self, iqn: &str) -> Child {
        let url = format!("{}/{iqn}/1{}", self.base_url(), self.query());
        Command::new("iscsi-perf")
            .args(["-i", self.initiator, &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("iscsi-perf")
    }
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn tgt_targets_on_rbd_clones() {
    let missing = missing_tools(TOOLS);
    if !missing.is_empty() || !Path::new("/usr/lib/tgt/backing-store/bs_rbd.so").exists() {
        let mut what = missing;
        if !Path::new("/usr/lib/tgt/backing-store/bs_rbd.so").exists() {
            what.push("tgt-rbd (bs_rbd.so)".to_owned());
        }
        common::skip(
            "tgt_targets_on_rbd_clones",
            &format!("missing {}", what.join(", ")),
        );
        return;
    }
    let ceph = Service::start("ceph.sh", &[]).expect("start Ceph");
    let mut tgtd = Service::start("tgtd.sh", &[]).expect("start tgtd");
    let work = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(steps(&ceph, &mut tgtd, work.path()));
}

async fn steps(ceph: &Service, tgtd: &mut Service, work: &Path) {
    let conf = ceph.var("CEPH_CONF").to_owned();
    let port = tgtd.var("M2_TGT_PORT").to_owned();
    let cfg = config(&conf, &port, tgtd.var("M2_TGT_CTL"));
    let store = RbdStore::new(&cfg.ceph);
    let targets = TargetManager::new(&cfg.iscsi, &cfg.ceph);

    // Two nodes' disks: clones of one protected snapshot.
    let base = ImageRef::new(store.images_pool(), "base");
    store.create(&base, 64 * MIB).await.unwrap();
    let gold = base.snap("gold");
    store.snap_create(&gold).await.unwrap();
    store.snap_protect(&gold).await.unwrap();
    let (node1, node2) = (Uuid::new_v4(), Uuid::new_v4());
    let disk1 = ImageRef::new(store.disks_pool(), format!("node-{node1}"));
    let disk2 = ImageRef::new(store.disks_pool(), format!("node-{node2}"));
    store.clone_image(&gold, &disk1).await.unwrap();
    store.clone_image(&gold, &disk2).await.unwrap();
    // A small config drive for LUN 2.
    let drive = work.join("config-drive.img");
    std::fs::write(&drive, vec![0u8; MIB as usize]).unwrap();

    assert!(targets.list().await.unwrap().is_empty());
    assert!(targets.accounts().await.unwrap().is_empty());

    let init1 = format!("iqn.2010-04.org.ipxe:{node1}");
    let chap1 = ChapCredentials::generate(format!("node-{node1}")).unwrap();
    let mutual1 = ChapCredentials::generate(format!("target-{node1}")).unwrap();
    let spec1 = TargetSpec {
        iqn: targets.node_iqn(node1),
        initiator: init1.clone(),
        luns: vec![
            LunSpec {
                lun: 1,
                backing: Backing::Rbd(disk1.clone()),
                read_only: false,
            },
            LunSpec {
                lun: 2,
                backing: Backing::File(drive.clone()),
                read_only: true,
            },
        ],
        chap: chap1.clone(),
        mutual_chap: Some(mutual1.clone()),
    };
    let started = Instant::now();
    let t1 = targets.export(&spec1).await.unwrap();
    eprintln!(
        "timing: export (target, RBD LUN 1, file LUN 2, 2 accounts, ACL): {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(t1.iqn, spec1.iqn);
    assert_eq!(targets.node_of(&t1), Some(node1));
    assert_eq!(t1.initiator_names, std::slice::from_ref(&init1));
    assert!(t1.initiator_addresses.is_empty(), "no address ACL");
    assert_eq!(t1.accounts, std::slice::from_ref(&chap1.user));
    assert_eq!(t1.outgoing_account.as_deref(), Some(mutual1.user.as_str()));
    let lun1 = t1.lun(1).expect("LUN 1");
    assert_eq!(lun1.backing_type, "rbd");
    assert_eq!(
        lun1.backing_path.as_deref(),
        Some(disk1.to_string().as_str())
    );
    assert_eq!(lun1.size_mb, 67);
    assert!(!lun1.read_only);
    let lun2 = t1.lun(2).expect("LUN 2");
    assert_eq!(lun2.backing_type, "rdwr");
    assert!(lun2.read_only);
    assert_eq!(targets.list().await.unwrap(), std::slice::from_ref(&t1));
    assert_eq!(targets.find(&spec1.iqn).await.unwrap(), Some(t1.clone()));

    // The same node again is refused; so is a spec without LUN 1.
    assert!(matches!(
        targets.export(&spec1).await,
        Err(Error::Conflict(_))
    ));
    let no_boot_lun = TargetSpec {
        luns: vec![spec1.luns[1].clone()],
        ..spec1.clone()
    };
    assert!(matches!(
        targets.export(&no_boot_lun).await,
        Err(Error::Invalid(_))
    ));

    // A second node, plain CHAP, built step by step.
    let init2 = format!("iqn.2010-04.org.ipxe:{node2}");
    let chap2 = ChapCredentials::generate(format!("node-{node2}")).unwrap();
    let started = Instant::now();
    let tid2 = targets
        .create_target(&targets.node_iqn(node2))
        .await
        .unwrap();
    eprintln!(
        "timing: create target: {} ms",
        started.elapsed().as_millis()
    );
    let started = Instant::now();
    targets.add_rbd_lun(tid2, 1, &disk2).await.unwrap();
    eprintln!("timing: add RBD LUN: {} ms", started.elapsed().as_millis());
    targets.create_account(&chap2).await.unwrap();
    targets
        .bind_account(tid2, &chap2.user, false)
        .await
        .unwrap();
    targets.allow_initiator(tid2, &init2).await.unwrap();
    assert!(tid2 > t1.tid);
    assert!(matches!(
        targets.allow_initiator(tid2, "10.0.0.1").await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        targets.create_target(&targets.node_iqn(node2)).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        targets.add_rbd_lun(tid2, 1, &disk2).await,
        Err(Error::Conflict(_))
    ));
    // tgtd cannot open a missing image.
    let missing = ImageRef::new(store.disks_pool(), "missing");
    assert!(matches!(
        targets.add_rbd_lun(tid2, 3, &missing).await,
        Err(Error::Internal(m)) if m.contains("backing store")
    ));
    assert!(matches!(
        targets.add_rbd_lun(9999, 1, &disk2).await,
        Err(Error::NotFound { .. })
    ));

    // The right initiator with the right secrets gets in.
    let login1 = Login {
        port: &port,
        initiator: &init1,
        user: &chap1.user,
        secret: chap1.secret.expose(),
        target_auth: Some((&mutual1.user, mutual1.secret.expose())),
    };
    let (ok, out) = login1.inq(&spec1.iqn, 1);
    assert!(ok, "iscsi-inq LUN 1: {out}");
    assert!(out.contains("DIRECT_ACCESS"), "{out}");
    let (ok, out) = login1.inq(&spec1.iqn, 2);
    assert!(ok, "iscsi-inq LUN 2: {out}");
    let (ok, out) = login1.ls();
    assert!(ok, "iscsi-ls: {out}");
    assert!(out.contains(&spec1.iqn), "{out}");
    assert!(out.contains("Lun:1") && out.contains("Lun:2"), "{out}");
    // Discovery shows an initiator its own target only.
    assert!(!out.contains(&targets.node_iqn(node2)), "{out}");
    let login2 = Login {
        port: &port,
        initiator: &init2,
        user: &chap2.user,
        secret: chap2.secret.expose(),
        target_auth: None,
    };
    let (ok, out) = login2.inq(&targets.node_iqn(node2), 1);
    assert!(ok, "node 2: {out}");

    // Everything else is turned away.
    let refused = |login: Login, iqn: &str, why: &str| {
        let (ok, out) = login.inq(iqn, 1);
        assert!(!ok, "{why}: logged in: {out}");
    };
    refused(
        Login {
            secret: "wrong-secret-123",
            ..login1
        },
        &spec1.iqn,
        "wrong secret",
    );
    refused(
        Login {
            initiator: "iqn.2010-04.org.ipxe:someone-else",
            ..login1
        },
        &spec1.iqn,
        "wrong initiator name",
    );
    refused(
        Login {
            target_auth: Some((&mutual1.user, "not-the-target-1")),
            ..login1
        },
        &spec1.iqn,
        "target fails mutual CHAP",
    );
    // Node 2's credentials and name do not open node 1's target.
    refused(login2, &spec1.iqn, "another node's credentials");
    refused(
        Login {
            user: &chap2.user,
            secret: chap2.secret.expose(),
            ..login1
        },
        &spec1.iqn,
        "another node's account",
    );

    // A disk exported by tgtd has a watcher: Ceph refuses to remove it.
    assert!(matches!(
        store.remove(&disk1).await,
        Err(Error::Conflict(m)) if m.contains("open by")
    ));

    // Sessions and I/O counters while an initiator reads.
    let mut perf = login2.perf(&targets.node_iqn(node2));
    let deadline = Instant::now() + Duration::from_secs(20);
    let session = loop {
        let t = targets
            .find(&targets.node_iqn(node2))
            .await
            .unwrap()
            .unwrap();
        if let Some(s) = t.sessions.first() {
            break s.clone();
        }
        assert!(Instant::now() < deadline, "no session seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(session.initiator, init2);
    assert_eq!(session.addresses, ["127.0.0.1"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = targets.stats(tid2).await.unwrap();
    assert!(
        stats.iter().any(|s| s.lun == 1 && s.read_bytes > 0),
        "{stats:?}"
    );
    // Deleting a target with a logged-in initiator works (forced), and
    // takes its account with it.
    let started = Instant::now();
    targets.delete_target(tid2).await.unwrap();
    eprintln!(
        "timing: delete target with an active session: {} ms",
        started.elapsed().as_millis()
    );
    perf.kill().ok();
    perf.wait().ok();
    assert!(
        targets
            .find(&targets.node_iqn(node2))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!targets.accounts().await.unwrap().contains(&chap2.user));
    assert!(matches!(
        targets.delete_target(tid2).await,
        Err(Error::NotFound { .. })
    ));
    let (ok, _) = login2.inq(&targets.node_iqn(node2), 1);
    assert!(!ok, "a deleted target still answers");
    // tgtd closed the image: it can go now.
    store.remove(&disk2).await.unwrap();

    // An interrupted export leaves an unbound account: the next export
    // replaces it.
    targets.create_account(&chap2).await.unwrap();
    let spec2 = TargetSpec {
        iqn: targets.node_iqn(node2),
        initiator: init2.clone(),
        luns: vec![LunSpec {
            lun: 1,
            backing: Backing::Rbd(disk2.clone()),
            read_only: false,
        }],
        chap: chap2.clone(),
        mutual_chap: None,
    };
    // A failing export (its disk is gone) removes what it made.
    assert!(targets.export(&spec2).await.is_err());
    assert!(targets.find(&spec2.iqn).await.unwrap().is_none());
    assert!(!targets.accounts().await.unwrap().contains(&chap2.user));
    targets.create_account(&chap2).await.unwrap();
    store.clone_image(&gold, &disk2).await.unwrap();
    let t2 = targets.export(&spec2).await.unwrap();
    assert_eq!(t2.accounts, std::slice::from_ref(&chap2.user));
    let (ok, out) = login2.inq(&spec2.iqn, 1);
    assert!(ok, "node 2 after re-export: {out}");
    // An account bound to another target is not taken over.
    let thief = TargetSpec {
        iqn: targets.node_iqn(Uuid::new_v4()),
        chap: chap1.clone(),
        ..spec2.clone()
    };
    assert!(matches!(
        targets.export(&thief).await,
        Err(Error::Conflict(m)) if m.contains("in use")
    ));
    assert!(targets.find(&thief.iqn).await.unwrap().is_none());
    assert!(targets.unexport(&spec2.iqn).await.unwrap());

    // Unexport by name.
    assert!(targets.unexport(&spec1.iqn).await.unwrap());
    assert!(!targets.unexport(&spec1.iqn).await.unwrap());
    assert!(targets.list().await.unwrap().is_empty());
    assert!(targets.accounts().await.unwrap().is_empty());
    store.remove(&disk1).await.unwrap();

    // tgtd keeps nothing across a restart.
    store.clone_image(&gold, &disk1).await.unwrap();
    let t1 = targets.export(&spec1).await.unwrap();
    assert_eq!(targets.list().await.unwrap(), [t1]);
    let pid = std::fs::read_to_string(tgtd.dir().join("tgtd.pid")).unwrap();
    let (ok, out) = run("kill", &["-KILL", pid.trim()]);
    assert!(ok, "kill tgtd: {out}");
    tgtd.stop();
    assert!(matches!(targets.list().await, Err(Error::Unavailable(_))));
    tgtd.restart(&[&port]).expect("restart tgtd");
    let cfg = config(&conf, &port, tgtd.var("M2_TGT_CTL"));
    let targets = TargetManager::new(&cfg.iscsi, &cfg.ceph);
    assert!(targets.list().await.unwrap().is_empty());
    assert!(targets.accounts().await.unwrap().is_empty());
    let (ok, _) = login1.inq(&spec1.iqn, 1);
    assert!(!ok, "a target survived the restart");
}
