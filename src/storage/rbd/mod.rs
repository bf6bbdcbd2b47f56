//! [`DiskStore`] on Ceph RBD, through librados and librbd.
//!
//! One cluster connection is made on first use and shared by every call
//! (librados multiplexes it); a call that finds the cluster unreachable drops
//! it, and the next call connects again. Each operation runs on tokio's
//! blocking pool with its own io context and image handle. Import and export
//! run the `rbd` command, which streams files far better than a loop here
//! would.

mod ffi;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;

use self::ffi::{CephError, ConnectOptions, IoCtx, Rados};
use super::{DiskStore, ImageInfo, ImageRef, SnapRef, validate_name};
use crate::config::CephSection;
use crate::error::{Error, Result};

/// RBD images in a Ceph cluster.
pub struct RbdStore {
    opts: ConnectOptions,
    images_pool: String,
    disks_pool: String,
    /// The `rbd` program, for import and export.
    rbd_cli: String,
    /// The shared connection, made on first use.
    conn: Mutex<Option<Arc<Rados>>>,
}

/// What an operation was about, for error messages.
#[derive(Debug, Clone)]
enum What {
    Pool(String),
    Image(ImageRef),
    Snap(SnapRef),
}

impl What {
    fn kind(&self) -> &'static str {
        match self {
            What::Pool(_) => "Ceph pool",
            What::Image(_) => "Image",
            What::Snap(_) => "Snapshot",
        }
    }

    fn id(&self) -> String {
        match self {
            What::Pool(p) => p.clone(),
            What::Image(i) => i.to_string(),
            What::Snap(s) => s.to_string(),
        }
    }
}

/// errno values that mean the cluster is not reachable.
fn is_unreachable(errno: i32) -> bool {
    matches!(
        errno,
        libc::ETIMEDOUT
            | libc::ENOTCONN
            | libc::ESHUTDOWN
            | libc::ECONNREFUSED
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
    )
}

/// Maps a librados/librbd failure about `what` to m2's error classes.
fn map_err(e: CephError, what: &What) -> Error {
    let (kind, id) = (what.kind(), what.id());
    match e.errno {
        libc::ENOENT => Error::not_found(kind, id),
        libc::EEXIST => Error::Conflict(format!("{kind} {id} already exists.")),
        libc::EBUSY | libc::ENOTEMPTY | libc::EMLINK => {
            Error::Conflict(format!("{kind} {id} is in use: {e}."))
        }
        libc::EINVAL => Error::invalid(format!("Ceph refused the request on {id}: {e}.")),
        libc::EPERM | libc::EACCES => Error::Internal(format!(
            "Ceph denied access to {id}: {e}; check the capabilities of m2's cephx user."
        )),
        errno if is_unreachable(errno) => {
            Error::Unavailable(format!("The Ceph cluster did not answer ({e}) for {id}."))
        }
        _ => Error::Internal(format!("Ceph request on {id}: {e}.")),
    }
}

fn ioctx(rados: &Arc<Rados>, pool: &str) -> Result<IoCtx> {
    rados
        .ioctx(pool)
        .map_err(|e| map_err(e, &What::Pool(pool.to_owned())))
}

impl RbdStore {
    /// A store for the cluster of `[ceph]`; nothing is contacted until the
    /// first call.
    pub fn new(cfg: &CephSection) -> Self {
        RbdStore {
            opts: ConnectOptions {
                conffile: cfg.conffile.to_string_lossy().into_owned(),
                name: cfg.client_name(),
                keyring: cfg
                    .keyring
                    .as_ref()
                    .map(|k| k.to_string_lossy().into_owned()),
                connect_timeout: cfg.connect_timeout,
                op_timeout: cfg.op_timeout,
            },
            images_pool: cfg.images_pool.clone(),
            disks_pool: cfg.disks_pool.clone(),
            rbd_cli: "rbd".to_owned(),
            conn: Mutex::new(None),
        }
    }

    /// The pool of images nodes are cloned from.
    pub fn images_pool(&self) -> &str {
        &self.images_pool
    }

    /// The pool of the nodes' disks.
    pub fn disks_pool(&self) -> &str {
        &self.disks_pool
    }

    /// The shared connection, connecting if there is none.
    async fn rados(&self) -> Result<Arc<Rados>> {
        let mut conn = self.conn.lock().await;
        if let Some(rados) = conn.as_ref() {
            return Ok(Arc::clone(rados));
        }
        let opts = self.opts.clone();
        let started = std::time::Instant::now();
        let connect = tokio::task::spawn_blocking(move || Rados::connect(&opts));
        // librados gives up after connect_timeout; the margin covers reading
        // the configuration and authenticating.
        let limit = Duration::from_secs(self.opts.connect_timeout.saturating_add(5));
        let unreachable = |why: String| {
            Error::Unavailable(format!(
                "The Ceph cluster is not reachable as {} with {}: {why}.",
                self.opts.name, self.opts.conffile
            ))
        };
        let rados = match tokio::time::timeout(limit, connect).await {
            Err(_) => return Err(unreachable(format!("no answer in {}s", limit.as_secs()))),
            Ok(Err(join)) => return Err(Error::Internal(format!("Ceph connect task: {join}"))),
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, client = %self.opts.name, "Ceph connect failed");
                return Err(unreachable(e.to_string()));
            }
            Ok(Ok(Ok(rados))) => Arc::new(rados),
        };
        tracing::info!(
            client = %self.opts.name,
            conf = %self.opts.conffile,
            ms = started.elapsed().as_millis() as u64,
            "connected to the Ceph cluster"
        );
        *conn = Some(Arc::clone(&rados));
        Ok(rados)
    }

    /// Drops the shared connection if it is still `rados`, so that the next
    /// call connects again.
    async fn forget(&self, rados: Arc<Rados>) {
        let taken = {
            let mut conn = self.conn.lock().await;
            match conn.as_ref() {
                Some(current) if Arc::ptr_eq(current, &rados) => conn.take(),
                _ => None,
            }
        };
        if taken.is_some() {
            tracing::warn!("Ceph cluster unreachable; will reconnect on the next request");
        }
        // rados_shutdown blocks: never on a runtime thread.
        drop(tokio::task::spawn_blocking(move || drop((taken, rados))));
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Arc<Rados>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let rados = self.rados().await?;
        let shared = Arc::clone(&rados);
        let result = tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| Error::Internal(format!("Ceph task failed: {e}")))?;
        if matches!(result, Err(Error::Unavailable(_))) {
            self.forget(rados).await;
        }
        result
    }

    /// Runs the `rbd` command with the connection options, for import and
    /// export.
    async fn rbd_cli(&self, args: &[&std::ffi::OsStr], what: &What) -> Result<()> {
        let mut cmd = tokio::process::Command::new(&self.rbd_cli);
        cmd.arg("--conf")
            .arg(&self.opts.conffile)
            .arg("--name")
            .arg(&self.opts.name)
            .arg(format!(
                "--client_mount_timeout={}",
                self.opts.connect_timeout
            ))
            .arg("--no-progress");
        if let Some(keyring) = &self.opts.keyring {
            cmd.arg("--keyring").arg(keyring);
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = std::time::Instant::now();
        let output = cmd.output().await.map_err(|e| {
            Error::Unavailable(format!("Cannot run the {} command: {e}.", self.rbd_cli))
        })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        tracing::debug!(?args, ms = started.elapsed().as_millis() as u64, status = %output.status, "rbd");
        if output.status.success() {
            return Ok(());
        }
        // `rbd: import failed: (17) File exists`, possibly after progress
        // noise: the last line that says something.
        let message = stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no message")
            .to_owned();
        let (kind, id) = (what.kind(), what.id());
        Err(if message.contains("(17)") || message.contains("exists") {
            Error::Conflict(format!("{kind} {id} already exists."))
        } else if message.contains("(2)") {
            Error::not_found(kind, id)
        } else if message.contains("(110)") || message.contains("connect") {
            Error::Unavailable(format!(
                "The Ceph cluster is not reachable for {id}: {message}"
            ))
        } else {
            Error::Internal(format!("rbd failed for {id}: {message}"))
        })
    }
}

#[async_trait]
impl DiskStore for RbdStore {
    async fn check(&self) -> Result<()> {
        let pools = [self.images_pool.clone(), self.disks_pool.clone()];
        self.blocking(move |rados| {
            for pool in &pools {
                let what = What::Pool(pool.clone());
                if !rados.pool_exists(pool).map_err(|e| map_err(e, &what))? {
                    return Err(Error::not_found(what.kind(), pool.clone()));
                }
                // Listing proves the user may read the pool.
                ioctx(rados, pool)?
                    .list_images()
                    .map_err(|e| map_err(e, &what))?;
            }
            Ok(())
        })
        .await
    }

    async fn list(&self, pool: &str) -> Result<Vec<String>> {
        validate_name("pool", pool)?;
        let pool = pool.to_owned();
        self.blocking(move |rados| {
            let what = What::Pool(pool.clone());
            let mut names = ioctx(rados, &pool)?
                .list_images()
                .map_err(|e| map_err(e, &what))?;
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn exists(&self, img: &ImageRef) -> Result<bool> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            let io = ioctx(rados, &img.pool)?;
            match io.open(&img.name, None, true) {
                Ok(_) => Ok(true),
                Err(e) if e.errno == libc::ENOENT => Ok(false),
                Err(e) => Err(map_err(e, &What::Image(img))),
            }
        })
        .await
    }

    async fn stat(&self, img: &ImageRef) -> Result<ImageInfo> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            let what = What::Image(img.clone());
            let err = |e| map_err(e, &what);
            let io = ioctx(rados, &img.pool)?;
            let image = io.open(&img.name, None, true).map_err(err)?;
            let parent = image.parent().map_err(err)?.map(|p| SnapRef {
                image: ImageRef::new(p.pool, p.image),
                snap: p.snap,
            });
            Ok(ImageInfo {
                size: image.size().map_err(err)?,
                used: image.allocated_bytes().map_err(err)?,
                parent,
            })
        })
        .await
    }

    async fn create(&self, img: &ImageRef, size: u64) -> Result<()> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            ioctx(rados, &img.pool)?
                .create(&img.name, size)
                .map_err(|e| map_err(e, &What::Image(img.clone())))?;
            tracing::info!(image = %img, size, "created image");
            Ok(())
        })
        .await
    }

    async fn clone_image(&self, parent: &SnapRef, child: &ImageRef) -> Result<()> {
        parent.validate()?;
        child.validate()?;
        let (parent, child) = (parent.clone(), child.clone());
        self.blocking(move |rados| {
            let parent_io = ioctx(rados, &parent.image.pool)?;
            let child_io = ioctx(rados, &child.pool)?;
            let snap_what = What::Snap(parent.clone());
            {
                let image = parent_io
                    .open(&parent.image.name, None, true)
                    .map_err(|e| map_err(e, &What::Image(parent.image.clone())))?;
                if !image
                    .snap_is_protected(&parent.snap)
                    .map_err(|e| map_err(e, &snap_what))?
                {
                    return Err(Error::InvalidState(format!(
                        "Snapshot {parent} is not protected; protect it before cloning it."
                    )));
                }
            }
            child_io
                .clone_from(&parent_io, &parent.image.name, &parent.snap, &child.name)
                .map_err(|e| match e.errno {
                    libc::EEXIST => map_err(e, &What::Image(child.clone())),
                    _ => map_err(e, &snap_what),
                })?;
            tracing::info!(parent = %parent, child = %child, "cloned image");
            Ok(())
        })
        .await
    }

    async fn remove(&self, img: &ImageRef) -> Result<()> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            let what = What::Image(img.clone());
            let err = |e| map_err(e, &what);
            let io = ioctx(rados, &img.pool)?;
            {
                // Read-only: a writable open would add a watcher itself.
                let image = io.open(&img.name, None, true).map_err(err)?;
                let snaps = image.snaps().map_err(err)?;
                if !snaps.is_empty() {
                    let names: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
                    return Err(Error::Conflict(format!(
                        "Image {img} has snapshots ({}); remove them first.",
                        names.join(", ")
                    )));
                }
                let watchers = image.watchers().map_err(err)?;
                if !watchers.is_empty() {
                    return Err(Error::Conflict(format!(
                        "Image {img} is open by {} client(s) ({}), such as an iSCSI \
                         target exporting it; stop using it first.",
                        watchers.len(),
                        watchers.join(", ")
                    )));
                }
            }
            io.remove(&img.name).map_err(|e| match e.errno {
                libc::ENOTEMPTY => {
                    Error::Conflict(format!("Image {img} has snapshots; remove them first."))
                }
                libc::EBUSY => Error::Conflict(format!(
                    "Image {img} is open by another client; stop using it first."
                )),
                _ => err(e),
            })?;
            tracing::info!(image = %img, "removed image");
            Ok(())
        })
        .await
    }

    async fn rename(&self, img: &ImageRef, new_name: &str) -> Result<()> {
        img.validate()?;
        validate_name("image", new_name)?;
        let (img, new_name) = (img.clone(), new_name.to_owned());
        self.blocking(move |rados| {
            let target = ImageRef::new(img.pool.clone(), new_name.clone());
            ioctx(rados, &img.pool)?
                .rename(&img.name, &new_name)
                .map_err(|e| match e.errno {
                    libc::EEXIST => map_err(e, &What::Image(target.clone())),
                    _ => map_err(e, &What::Image(img.clone())),
                })?;
            tracing::info!(image = %img, to = %target, "renamed image");
            Ok(())
        })
        .await
    }

    async fn resize(&self, img: &ImageRef, size: u64) -> Result<()> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            let what = What::Image(img.clone());
            let err = |e| map_err(e, &what);
            let io = ioctx(rados, &img.pool)?;
            let image = io.open(&img.name, None, false).map_err(err)?;
            let current = image.size().map_err(err)?;
            if size < current {
                return Err(Error::invalid(format!(
                    "Image {img} is {current} bytes; shrinking it to {size} would discard data."
                )));
            }
            if size > current {
                image.resize(size, false).map_err(err)?;
                tracing::info!(image = %img, from = current, to = size, "resized image");
            }
            Ok(())
        })
        .await
    }

    async fn snap_create(&self, s: &SnapRef) -> Result<()> {
        s.validate()?;
        let s = s.clone();
        self.blocking(move |rados| {
            let io = ioctx(rados, &s.image.pool)?;
            let image = io
                .open(&s.image.name, None, false)
                .map_err(|e| map_err(e, &What::Image(s.image.clone())))?;
            image
                .snap_create(&s.snap)
                .map_err(|e| map_err(e, &What::Snap(s.clone())))?;
            tracing::info!(snapshot = %s, "created snapshot");
            Ok(())
        })
        .await
    }

    async fn snap_protect(&self, s: &SnapRef) -> Result<()> {
        s.validate()?;
        let s = s.clone();
        self.blocking(move |rados| {
            let what = What::Snap(s.clone());
            let io = ioctx(rados, &s.image.pool)?;
            let image = io
                .open(&s.image.name, None, false)
                .map_err(|e| map_err(e, &What::Image(s.image.clone())))?;
            if !image
                .snap_is_protected(&s.snap)
                .map_err(|e| map_err(e, &what))?
            {
                image.snap_protect(&s.snap).map_err(|e| map_err(e, &what))?;
                tracing::info!(snapshot = %s, "protected snapshot");
            }
            Ok(())
        })
        .await
    }

    async fn snap_unprotect(&self, s: &SnapRef) -> Result<()> {
        s.validate()?;
        let s = s.clone();
        self.blocking(move |rados| {
            let what = What::Snap(s.clone());
            let io = ioctx(rados, &s.image.pool)?;
            let image = io
                .open(&s.image.name, None, false)
                .map_err(|e| map_err(e, &What::Image(s.image.clone())))?;
            if !image
                .snap_is_protected(&s.snap)
                .map_err(|e| map_err(e, &what))?
            {
                return Ok(());
            }
            match image.snap_unprotect(&s.snap) {
                Ok(()) => {
                    tracing::info!(snapshot = %s, "unprotected snapshot");
                    Ok(())
                }
                Err(e) if e.errno == libc::EBUSY => {
                    let children = io
                        .open(&s.image.name, Some(&s.snap), true)
                        .and_then(|at_snap| at_snap.children())
                        .map(|c| {
                            c.into_iter()
                                .map(|c| format!("{}/{}", c.pool, c.image))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_else(|_| "unknown".to_owned());
                    Err(Error::Conflict(format!(
                        "Snapshot {s} has clones ({children}); flatten or remove them first."
                    )))
                }
                Err(e) => Err(map_err(e, &what)),
            }
        })
        .await
    }

    async fn snap_remove(&self, s: &SnapRef) -> Result<()> {
        s.validate()?;
        let s = s.clone();
        self.blocking(move |rados| {
            let what = What::Snap(s.clone());
            let io = ioctx(rados, &s.image.pool)?;
            let image = io
                .open(&s.image.name, None, false)
                .map_err(|e| map_err(e, &What::Image(s.image.clone())))?;
            if image
                .snap_is_protected(&s.snap)
                .map_err(|e| map_err(e, &what))?
            {
                return Err(Error::InvalidState(format!(
                    "Snapshot {s} is protected; unprotect it first."
                )));
            }
            image.snap_remove(&s.snap).map_err(|e| map_err(e, &what))?;
            tracing::info!(snapshot = %s, "removed snapshot");
            Ok(())
        })
        .await
    }

    async fn snap_list(&self, img: &ImageRef) -> Result<Vec<(String, bool)>> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            let what = What::Image(img.clone());
            let io = ioctx(rados, &img.pool)?;
            let image = io
                .open(&img.name, None, true)
                .map_err(|e| map_err(e, &what))?;
            let snaps = image.snaps().map_err(|e| map_err(e, &what))?;
            snaps
                .into_iter()
                .map(|snap| {
                    let protected = image
                        .snap_is_protected(&snap.name)
                        .map_err(|e| map_err(e, &What::Snap(img.snap(snap.name.clone()))))?;
                    Ok((snap.name, protected))
                })
                .collect()
        })
        .await
    }

    async fn children(&self, s: &SnapRef) -> Result<Vec<ImageRef>> {
        s.validate()?;
        let s = s.clone();
        self.blocking(move |rados| {
            let io = ioctx(rados, &s.image.pool)?;
            // Opening at a missing snapshot and at a missing image both give
            // ENOENT: open the image first to tell which.
            io.open(&s.image.name, None, true)
                .map_err(|e| map_err(e, &What::Image(s.image.clone())))?;
            let what = What::Snap(s.clone());
            let at_snap = io
                .open(&s.image.name, Some(&s.snap), true)
                .map_err(|e| map_err(e, &what))?;
            let mut children: Vec<ImageRef> = at_snap
                .children()
                .map_err(|e| map_err(e, &what))?
                .into_iter()
                .map(|c| ImageRef::new(c.pool, c.image))
                .collect();
            children.sort();
            Ok(children)
        })
        .await
    }

    async fn flatten(&self, img: &ImageRef) -> Result<()> {
        img.validate()?;
        let img = img.clone();
        self.blocking(move |rados| {
            let what = What::Image(img.clone());
            let err = |e| map_err(e, &what);
            let io = ioctx(rados, &img.pool)?;
            let image = io.open(&img.name, None, false).map_err(err)?;
            if image.parent().map_err(err)?.is_some() {
                let started = std::time::Instant::now();
                image.flatten().map_err(err)?;
                tracing::info!(
                    image = %img,
                    ms = started.elapsed().as_millis() as u64,
                    "flattened image"
                );
            }
            Ok(())
        })
        .await
    }

    async fn import(&self, file: &Path, img: &ImageRef) -> Result<()> {
        img.validate()?;
        let meta = tokio::fs::metadata(file)
            .await
            .map_err(|e| Error::invalid(format!("Cannot read {}: {e}.", file.display())))?;
        if !meta.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a regular file.",
                file.display()
            )));
        }
        // Checked first: rbd's own message for an existing image is vague.
        if self.exists(img).await? {
            return Err(Error::Conflict(format!("Image {img} already exists.")));
        }
        let spec = img.to_string();
        self.rbd_cli(
            &["import".as_ref(), file.as_os_str(), spec.as_ref()],
            &What::Image(img.clone()),
        )
        .await?;
        tracing::info!(image = %img, file = %file.display(), bytes = meta.len(), "imported image");
        Ok(())
    }

    async fn export(&self, img: &ImageRef, file: &Path) -> Result<()> {
        img.validate()?;
        if tokio::fs::symlink_metadata(file).await.is_ok() {
            return Err(Error::Conflict(format!(
                "{} exists; export writes a new file.",
                file.display()
            )));
        }
        if !self.exists(img).await? {
            return Err(Error::not_found("Image", img.to_string()));
        }
        let spec = img.to_string();
        self.rbd_cli(
            &["export".as_ref(), spec.as_ref(), file.as_os_str()],
            &What::Image(img.clone()),
        )
        .await?;
        tracing::info!(image = %img, file = %file.display(), "exported image");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(errno: i32) -> Error {
        map_err(
            CephError {
                op: "rbd_open",
                errno,
            },
            &What::Image(ImageRef::new("p", "i")),
        )
    }

    #[test]
    fn errno_classes() {
        assert_eq!(err(libc::ENOENT), Error::not_found("Image", "p/i"));
        assert!(
            matches!(err(libc::EEXIST), Error::Conflict(m) if m == "Image p/i already exists.")
        );
        assert!(matches!(err(libc::EBUSY), Error::Conflict(_)));
        assert!(matches!(err(libc::ENOTEMPTY), Error::Conflict(_)));
        assert!(matches!(err(libc::EINVAL), Error::Invalid(_)));
        assert!(matches!(err(libc::EACCES), Error::Internal(_)));
        for errno in [libc::ETIMEDOUT, libc::ENOTCONN, libc::ECONNREFUSED] {
            assert!(matches!(err(errno), Error::Unavailable(_)), "{errno}");
        }
        assert!(matches!(err(libc::EIO), Error::Internal(m) if m.contains("rbd_open failed")));
        let pool = map_err(
            CephError {
                op: "rados_ioctx_create",
                errno: libc::ENOENT,
            },
            &What::Pool("nope".into()),
        );
        assert_eq!(pool.to_string(), "Ceph pool nope could not be found.");
    }
}
