//! The image library: what nodes are deployed from. An image is an RBD image with a
//! protected snapshot (`m2-golden` for images m2 stores itself); a node's disk is a
//! copy-on-write clone of that snapshot.
//!
//! Images come from an upload (raw or qcow2, streamed to a spool file, converted with
//! `qemu-img` when needed, then imported), from an RBD image registered as it is, or
//! from a snapshot of a node's disk: an RBD snapshot of the disk and a linked clone of
//! it, made in well under a second whatever the disk size, optionally flattened in the
//! background. An image with clones cannot be deleted; a node disk that images were
//! taken from hands them its data (flatten) before it goes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::db::images::{self, Image, Viewer};
use crate::error::{Error, Result};
use crate::storage::{DiskStore, ImageRef, SnapRef};

/// The snapshot m2 creates on images it stores or registers without a snapshot.
pub const GOLDEN_SNAPSHOT: &str = "m2-golden";

/// `extra` key recording that m2 created the snapshot of a registered image.
const CREATED_SNAPSHOT_KEY: &str = "m2_created_snapshot";
/// `extra` key of a node snapshot image: the snapshot of the node's disk it is a clone
/// of, until flattened.
const PARENT_KEY: &str = "m2_parent";
/// `extra` key of a node snapshot image: `running`, `done` or `failed: <why>` for a
/// background flatten.
const FLATTEN_KEY: &str = "m2_flatten";
/// Prefix of the snapshots m2 takes of node disks.
pub const NODE_SNAPSHOT_PREFIX: &str = "m2-image-";

/// `extra` key recording the service that runs an upload.
const UPLOAD_HOST_KEY: &str = "m2_upload_host";

/// qcow2 files start with these bytes.
const QCOW2_MAGIC: &[u8] = b"QFI\xfb";

/// What a new image record holds.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub visibility: Option<String>,
    pub shared_with: Vec<String>,
    pub disk_format: Option<String>,
    pub extra: Value,
}

/// The image library.
pub struct ImageCatalog {
    db: DatabaseConnection,
    store: Arc<dyn DiskStore>,
    /// Pool of images m2 stores itself.
    pool: String,
    /// Identity of this service, recorded on uploads it runs.
    host: String,
    /// Where uploads are spooled before import.
    spool: PathBuf,
}

impl ImageCatalog {
    pub fn new(
        db: DatabaseConnection,
        store: Arc<dyn DiskStore>,
        images_pool: &str,
        host: &str,
    ) -> Self {
        ImageCatalog {
            db,
            store,
            pool: images_pool.to_owned(),
            host: host.to_owned(),
            spool: std::env::temp_dir(),
        }
    }

    /// The store images live in.
    pub fn store(&self) -> &Arc<dyn DiskStore> {
        &self.store
    }

    /// The snapshot nodes are cloned from.
    pub fn golden(img: &Image) -> SnapRef {
        ImageRef::new(img.pool.clone(), img.rbd_image.clone()).snap(img.snapshot.clone())
    }

    fn record(&self, spec: NewImage, pool: String, rbd_image: Option<String>) -> Result<Image> {
        let uuid = spec
            .uuid
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let visibility = spec.visibility.unwrap_or_else(|| "private".into());
        if !matches!(visibility.as_str(), "public" | "private" | "shared") {
            return Err(Error::invalid(format!(
                "Invalid visibility \"{visibility}\": expected public, private or shared."
            )));
        }
        if let Some(f) = &spec.disk_format
            && !matches!(f.as_str(), "raw" | "qcow2")
        {
            return Err(Error::invalid(format!(
                "Invalid disk_format \"{f}\": expected raw or qcow2."
            )));
        }
        Ok(Image {
            id: 0,
            rbd_image: rbd_image.unwrap_or_else(|| format!("image-{uuid}")),
            uuid,
            name: spec.name,
            owner: spec.owner,
            visibility,
            shared_with: json!(spec.shared_with),
            status: images::QUEUED.into(),
            disk_format: spec.disk_format,
            size: None,
            checksum: None,
            pool,
            snapshot: GOLDEN_SNAPSHOT.into(),
            source: "upload".into(),
            source_node: None,
            last_error: None,
            extra: if spec.extra.is_null() {
                json!({})
            } else {
                spec.extra
            },
            created_at: Utc::now(),
            updated_at: None,
        })
    }

    /// A record waiting for its data (`queued`).
    pub async fn create(&self, spec: NewImage) -> Result<Image> {
        let img = self.record(spec, self.pool.clone(), None)?;
        images::insert(&self.db, img).await
    }

    /// Registers an existing RBD image (`pool/image` or `pool/image@snapshot`) as it is.
    /// Without a snapshot, m2 creates and protects `m2-golden`; a given snapshot is
    /// protected if it is not.
    pub async fn register(&self, spec: NewImage, location: &str) -> Result<Image> {
        let (image, snap) = parse_location(location)?;
        let info = self.store.stat(&image).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid(format!(
                "RBD image {image} could not be found in the Ceph cluster."
            )),
            other => other,
        })?;
        if images::by_rbd(&self.db, &image.pool, &image.name)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "RBD image {image} is registered already."
            )));
        }
        let mut img = self.record(spec, image.pool.clone(), Some(image.name.clone()))?;
        img.source = "register".into();
        img.disk_format = Some("raw".into());
        img.size = Some(info.size as i64);
        let snaps = self.store.snap_list(&image).await?;
        let created = match &snap {
            Some(s) => {
                if !snaps.iter().any(|(n, _)| n == s) {
                    return Err(Error::invalid(format!(
                        "Snapshot {image}@{s} could not be found."
                    )));
                }
                img.snapshot = s.clone();
                false
            }
            None => !snaps.iter().any(|(n, _)| n == GOLDEN_SNAPSHOT),
        };
        let golden = Self::golden(&img);
        if created {
            self.store.snap_create(&golden).await?;
        }
        self.store.snap_protect(&golden).await?;
        if let Some(extra) = img.extra.as_object_mut() {
            extra.insert(CREATED_SNAPSHOT_KEY.into(), json!(created));
        }
        img.status = images::ACTIVE.into();
        let saved = images::insert(&self.db, img).await;
        if saved.is_err() && created {
            let _ = self.store.snap_unprotect(&golden).await;
            let _ = self.store.snap_remove(&golden).await;
        }
        let saved = saved?;
        tracing::info!(image = %saved.uuid, rbd = %golden, "registered image");
        Ok(saved)
    }

    /// Captures a node's disk as a new active image: a snapshot of the disk, protected,
    /// and a linked clone of it in the images pool with its own protected golden
    /// snapshot. Nothing is copied, so it takes the same time for any disk size. With
    /// `flatten`, the clone is then detached from the node's disk in the background.
    pub async fn snapshot_node(
        self: &Arc<Self>,
        spec: NewImage,
        node: &str,
        disk: &ImageRef,
        flatten: bool,
    ) -> Result<Image> {
        let mut img = self.record(spec, self.pool.clone(), None)?;
        let parent = disk.snap(format!("{NODE_SNAPSHOT_PREFIX}{}", img.uuid));
        let image = ImageRef::new(img.pool.clone(), img.rbd_image.clone());
        let golden = Self::golden(&img);
        let info = self.store.stat(disk).await?;
        img.source = "node".into();
        img.source_node = Some(node.to_owned());
        img.disk_format = Some("raw".into());
        img.size = Some(info.size as i64);
        img.status = images::ACTIVE.into();
        if let Some(extra) = img.extra.as_object_mut() {
            extra.insert(PARENT_KEY.into(), json!(parent.to_string()));
            if flatten {
                extra.insert(FLATTEN_KEY.into(), json!("running"));
            }
        }
        // Recorded first, so that whatever happens next is accounted for.
        let mut img = images::insert(&self.db, img).await?;
        let started = std::time::Instant::now();
        let mut snapped = started.elapsed();
        let made = async {
            self.store.snap_create(&parent).await?;
            self.store.snap_protect(&parent).await?;
            snapped = started.elapsed();
            self.store.clone_image(&parent, &image).await?;
            self.store.snap_create(&golden).await?;
            self.store.snap_protect(&golden).await
        }
        .await;
        if let Err(e) = made {
            tracing::warn!(node, image = %img.uuid, error = %e, "node snapshot failed; removing it");
            let _ = self.remove_data(&img, &image).await;
            let _ = images::delete(&self.db, img.id).await;
            return Err(e);
        }
        tracing::info!(
            node,
            image = %img.uuid,
            parent = %parent,
            disk_snapshot_ms = snapped.as_millis() as u64,
            clone_ms = (started.elapsed() - snapped).as_millis() as u64,
            "node disk captured as an image"
        );
        if flatten {
            let me = self.clone();
            let uuid = img.uuid.clone();
            tokio::spawn(async move {
                if let Err(e) = me.flatten(&uuid).await {
                    tracing::warn!(image = %uuid, error = %e, "background flatten failed");
                }
            });
        }
        img.updated_at = None;
        Ok(img)
    }

    /// Copies a node snapshot image's data out of the node's disk, then removes the
    /// disk's snapshot it depended on. The image stays usable meanwhile. Its golden
    /// snapshot, taken before the copy, still refers to the disk: it is taken again
    /// when no node disk is cloned from it yet; otherwise the image stays attached
    /// to the disk until those nodes are undeployed.
    pub async fn flatten(&self, uuid: &str) -> Result<()> {
        let Some(img) = images::by_uuid(&self.db, uuid).await? else {
            return Ok(());
        };
        let image = ImageRef::new(img.pool.clone(), img.rbd_image.clone());
        let mut result = self.store.flatten(&image).await;
        if result.is_ok() {
            result = self.retake_golden(&img).await;
        }
        let parent = img
            .extra
            .get(PARENT_KEY)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let detached = match (&result, &parent) {
            (Ok(()), Some(parent)) => self.drop_node_snapshot(parent).await,
            (Ok(()), None) => true,
            _ => false,
        };
        // Written to a fresh read: the record may have been edited meanwhile.
        if let Some(mut img) = images::by_uuid(&self.db, uuid).await? {
            if let Some(extra) = img.extra.as_object_mut() {
                match &result {
                    Ok(()) if detached => {
                        extra.remove(PARENT_KEY);
                        extra.insert(FLATTEN_KEY.into(), json!("done"));
                    }
                    Ok(()) => {
                        extra.insert(
                            FLATTEN_KEY.into(),
                            json!(
                                "copied; detached once the nodes deployed from it are undeployed"
                            ),
                        );
                    }
                    Err(e) => {
                        extra.insert(FLATTEN_KEY.into(), json!(format!("failed: {e}")));
                    }
                }
            }
            images::save(&self.db, &mut img).await?;
        }
        if result.is_ok() {
            tracing::info!(image = %uuid, detached, "node snapshot image flattened");
        }
        result
    }

    /// Takes an image's golden snapshot again (after a flatten, so that it no longer
    /// refers to the parent), unless disks are cloned from it.
    async fn retake_golden(&self, img: &Image) -> Result<()> {
        let golden = Self::golden(img);
        match self.store.children(&golden).await {
            Ok(c) if !c.is_empty() => return Ok(()),
            Ok(_) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        self.drop_snapshot(&golden).await?;
        self.store.snap_create(&golden).await?;
        self.store.snap_protect(&golden).await
    }

    /// Unprotects and removes a node disk snapshot (`pool/image@snap`) once nothing is
    /// cloned from it; failures are logged. True when the snapshot is gone.
    async fn drop_node_snapshot(&self, location: &str) -> bool {
        let Ok((disk, Some(snap))) = parse_location(location) else {
            return true;
        };
        let s = disk.snap(snap);
        match self.store.children(&s).await {
            Ok(c) if !c.is_empty() => return false,
            Err(Error::NotFound { .. }) => return true,
            _ => {}
        }
        match self.drop_snapshot(&s).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(snapshot = %s, error = %e, "could not remove a node snapshot");
                false
            }
        }
    }

    /// Makes a node disk removable: images taken from it are flattened (they keep
    /// their data) and its snapshots removed. Called before the disk is deleted.
    /// [`Error::Conflict`] when an image taken from it still depends on it, because
    /// node disks were cloned from the image before it was flattened.
    pub async fn release_dependents(&self, disk: &ImageRef) -> Result<()> {
        let snaps = match self.store.snap_list(disk).await {
            Ok(s) => s,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        for (name, protected) in snaps {
            let s = disk.snap(name);
            if protected {
                for child in self.store.children(&s).await? {
                    tracing::info!(disk = %disk, image = %child, "flattening an image taken from a disk that goes");
                    match images::by_rbd(&self.db, &child.pool, &child.name).await? {
                        Some(img) => self.flatten(&img.uuid).await?,
                        None => self.store.flatten(&child).await?,
                    }
                }
                let left = match self.store.children(&s).await {
                    Ok(c) => c,
                    Err(Error::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                };
                if !left.is_empty() {
                    let names: Vec<String> = left.iter().map(ToString::to_string).collect();
                    return Err(Error::Conflict(format!(
                        "Disk {disk} is still needed by image(s) taken from it ({}): node \
                         disks were cloned from them before they were copied out.",
                        names.join(", ")
                    )));
                }
            }
            self.drop_snapshot(&s).await?;
        }
        Ok(())
    }

    /// Unprotects and removes a snapshot; one that is gone already is fine.
    async fn drop_snapshot(&self, s: &SnapRef) -> Result<()> {
        for step in [
            self.store.snap_unprotect(s).await,
            self.store.snap_remove(s).await,
        ] {
            match step {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Stores the data of a `queued` image: streamed to a spool file, converted to raw
    /// when it is qcow2, imported, snapshotted and protected. The image is `saving`
    /// meanwhile and ends `active`, or `error` with the reason.
    pub async fn upload<S, E>(&self, img: &Image, data: S) -> Result<Image>
    where
        S: Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut img = img.clone();
        if !images::claim_upload(&self.db, img.id).await? {
            return Err(Error::Conflict(format!(
                "Image {} is not waiting for data (status {}).",
                img.uuid, img.status
            )));
        }
        img.status = images::SAVING.into();
        if let Some(extra) = img.extra.as_object_mut() {
            extra.insert(UPLOAD_HOST_KEY.into(), json!(self.host));
        }
        images::save(&self.db, &mut img).await?;
        let spool = Spool::new(&self.spool, &img.uuid);
        let result = self.store_data(&mut img, data, &spool).await;
        spool.remove().await;
        if let Some(extra) = img.extra.as_object_mut() {
            extra.remove(UPLOAD_HOST_KEY);
        }
        match result {
            Ok(()) => {
                img.status = images::ACTIVE.into();
                img.last_error = None;
                images::save(&self.db, &mut img).await?;
                tracing::info!(image = %img.uuid, bytes = img.size, "image stored");
                Ok(img)
            }
            Err(e) => {
                tracing::warn!(image = %img.uuid, error = %e, "image upload failed");
                let partial = ImageRef::new(img.pool.clone(), img.rbd_image.clone());
                let _ = self.remove_data(&img, &partial).await;
                img.status = images::ERROR.into();
                img.last_error = Some(e.to_string());
                images::save(&self.db, &mut img).await?;
                Err(e)
            }
        }
    }

    async fn store_data<S, E>(&self, img: &mut Image, mut data: S, spool: &Spool) -> Result<()>
    where
        S: Stream<Item = std::result::Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let io = |e: std::io::Error| Error::Internal(format!("spooling the upload: {e}"));
        let mut file = tokio::fs::File::create(&spool.upload).await.map_err(io)?;
        let mut hash = Sha256::new();
        let mut received: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(4);
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(|e| Error::invalid(format!("The upload broke off: {e}")))?;
            if head.len() < 4 {
                let want = 4 - head.len();
                head.extend_from_slice(&chunk[..want.min(chunk.len())]);
            }
            hash.update(&chunk);
            received += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        if received == 0 {
            return Err(Error::invalid("The upload is empty."));
        }
        let detected = if head.as_slice() == QCOW2_MAGIC {
            "qcow2"
        } else {
            "raw"
        };
        if let Some(declared) = &img.disk_format
            && declared != detected
        {
            return Err(Error::invalid(format!(
                "The data is {detected}, but disk_format says {declared}."
            )));
        }
        img.disk_format = Some(detected.into());
        img.checksum = Some(hex(&hash.finalize()));
        let raw = if detected == "qcow2" {
            convert_qcow2(&spool.upload, &spool.raw).await?;
            &spool.raw
        } else {
            &spool.upload
        };
        let size = tokio::fs::metadata(raw).await.map_err(io)?.len();
        let image = ImageRef::new(img.pool.clone(), img.rbd_image.clone());
        self.store.import(raw, &image).await?;
        let golden = Self::golden(img);
        self.store.snap_create(&golden).await?;
        self.store.snap_protect(&golden).await?;
        img.size = Some(size as i64);
        Ok(())
    }

    /// Writes an image's data to a new raw file.
    pub async fn export(&self, img: &Image, file: &Path) -> Result<()> {
        if img.status != images::ACTIVE {
            return Err(Error::InvalidState(format!(
                "Image {} has no data to download (status {}).",
                img.uuid, img.status
            )));
        }
        self.store
            .export(
                &ImageRef::new(img.pool.clone(), img.rbd_image.clone()),
                file,
            )
            .await
    }

    /// Deletes an image: refused while disks are cloned from it. m2 removes the data of
    /// images it stored; a registered image only loses the snapshot m2 made on it.
    pub async fn delete(&self, img: &Image) -> Result<()> {
        let image = ImageRef::new(img.pool.clone(), img.rbd_image.clone());
        if img.status == images::SAVING {
            return Err(Error::Conflict(format!(
                "Image {} is being uploaded; delete it once the upload ends.",
                img.uuid
            )));
        }
        if img.status == images::ACTIVE {
            let golden = Self::golden(img);
            let children = match self.store.children(&golden).await {
                Ok(c) => c,
                Err(Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
            if !children.is_empty() {
                let names: Vec<String> = children.iter().map(ToString::to_string).collect();
                return Err(Error::Conflict(format!(
                    "Image {} is in use: {} disk(s) are cloned from it ({}). Delete or \
                     flatten them first.",
                    img.uuid,
                    names.len(),
                    names.join(", ")
                )));
            }
        }
        // A queued image never had data (an upload makes it saving first): nothing to
        // remove from Ceph.
        if img.status != images::QUEUED {
            self.remove_data(img, &image).await?;
        }
        images::delete(&self.db, img.id).await?;
        if let Some(parent) = img.extra.get(PARENT_KEY).and_then(Value::as_str) {
            self.drop_node_snapshot(parent).await;
        }
        tracing::info!(image = %img.uuid, "image deleted");
        Ok(())
    }

    /// Removes what m2 stored for an image (its golden snapshot, and the RBD image when
    /// m2 made it); missing pieces are fine.
    async fn remove_data(&self, img: &Image, image: &ImageRef) -> Result<()> {
        let created_snapshot =
            img.source != "register" || img.extra.get(CREATED_SNAPSHOT_KEY) == Some(&json!(true));
        let golden = Self::golden(img);
        if created_snapshot {
            self.drop_snapshot(&golden).await?;
        }
        if img.source != "register" {
            match self.store.remove(image).await {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// An image by UUID or name, as `viewer` sees it.
    pub async fn find(&self, ident: &str, viewer: &Viewer) -> Result<Image> {
        if let Some(uuid) = canonical_uuid(ident) {
            if let Some(img) = images::by_uuid(&self.db, &uuid).await?
                && images::visible_to(&img, viewer)
            {
                return Ok(img);
            }
            return Err(Error::not_found("Image", ident));
        }
        let mut found: Vec<Image> = images::by_name(&self.db, ident)
            .await?
            .into_iter()
            .filter(|i| images::visible_to(i, viewer))
            .collect();
        match found.len() {
            0 => Err(Error::not_found("Image", ident)),
            1 => Ok(found.remove(0)),
            n => Err(Error::Conflict(format!(
                "{n} images are named {ident}; use the UUID."
            ))),
        }
    }

    /// The snapshot a node's disk is cloned from, for an `instance_info.image_source`:
    /// an image UUID or name, or `rbd://<pool>/<image>@<snapshot>`.
    pub async fn resolve_source(&self, source: &str, viewer: &Viewer) -> Result<SnapRef> {
        if let Some(rest) = source.strip_prefix("rbd://") {
            let (image, snap) = parse_location(rest)?;
            let snap = snap.ok_or_else(|| {
                Error::invalid(format!(
                    "image_source {source} must name a snapshot: rbd://<pool>/<image>@<snapshot>"
                ))
            })?;
            let s = image.snap(snap);
            let snaps = self.store.snap_list(&image).await.map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::invalid(format!("image_source {source} could not be found."))
                }
                other => other,
            })?;
            match snaps.iter().find(|(n, _)| *n == s.snap) {
                None => Err(Error::invalid(format!(
                    "image_source {source} could not be found."
                ))),
                Some((_, false)) => Err(Error::invalid(format!(
                    "image_source {source} is not a protected snapshot; protect it \
                     (rbd snap protect) so that disks can be cloned from it."
                ))),
                Some(_) => Ok(s),
            }
        } else if source.contains("://") {
            Err(Error::invalid(format!(
                "image_source {source} is not supported: nodes boot from m2 images (UUID or \
                 name) or rbd://<pool>/<image>@<snapshot>."
            )))
        } else {
            let img = self.find(source, viewer).await.map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::invalid(format!("Image {source} could not be found."))
                }
                other => other,
            })?;
            if img.status != images::ACTIVE {
                return Err(Error::invalid(format!(
                    "Image {source} is not active (status {}).",
                    img.status
                )));
            }
            Ok(Self::golden(&img))
        }
    }

    /// Marks uploads this service was running when it stopped as failed: their spool
    /// files are gone. Called at start.
    pub async fn recover_interrupted(&self) -> Result<()> {
        for mut img in images::with_status(&self.db, images::SAVING).await? {
            if img.extra.get(UPLOAD_HOST_KEY).and_then(Value::as_str) != Some(self.host.as_str()) {
                continue;
            }
            let partial = ImageRef::new(img.pool.clone(), img.rbd_image.clone());
            let _ = self.remove_data(&img, &partial).await;
            if let Some(extra) = img.extra.as_object_mut() {
                extra.remove(UPLOAD_HOST_KEY);
            }
            img.status = images::ERROR.into();
            img.last_error = Some("The service restarted during the upload; upload again.".into());
            images::save(&self.db, &mut img).await?;
            tracing::warn!(image = %img.uuid, "upload interrupted by a restart");
        }
        Ok(())
    }
}

/// `pool/image` or `pool/image@snapshot`.
pub fn parse_location(location: &str) -> Result<(ImageRef, Option<String>)> {
    let (path, snap) = match location.split_once('@') {
        Some((p, s)) => (p, Some(s.to_owned())),
        None => (location, None),
    };
    let (pool, name) = path.split_once('/').ok_or_else(|| {
        Error::invalid(format!(
            "Invalid RBD location {location}: expected <pool>/<image>[@<snapshot>]."
        ))
    })?;
    let image = ImageRef::new(pool, name);
    image.validate()?;
    if let Some(s) = &snap {
        crate::storage::validate_name("snapshot", s)?;
    }
    Ok((image, snap))
}

fn canonical_uuid(s: &str) -> Option<String> {
    uuid::Uuid::try_parse(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spool files of one upload, removed when it ends.
struct Spool {
    upload: PathBuf,
    raw: PathBuf,
}

impl Spool {
    fn new(dir: &Path, uuid: &str) -> Spool {
        Spool {
            upload: dir.join(format!("m2-upload-{uuid}")),
            raw: dir.join(format!("m2-upload-{uuid}.raw")),
        }
    }

    async fn remove(&self) {
        let _ = tokio::fs::remove_file(&self.upload).await;
        let _ = tokio::fs::remove_file(&self.raw).await;
    }
}

/// `qemu-img convert -f qcow2 -O raw`, keeping holes.
async fn convert_qcow2(from: &Path, to: &Path) -> Result<()> {
    let out = tokio::process::Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw", "-S", "4k"])
        .arg(from)
        .arg(to)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Internal(format!("cannot run qemu-img: {e}")))?;
    if !out.status.success() {
        return Err(Error::invalid(format!(
            "The qcow2 data could not be converted: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let (i, s) = parse_location("m2-images/debian@gold").unwrap();
        assert_eq!(i.to_string(), "m2-images/debian");
        assert_eq!(s.as_deref(), Some("gold"));
        let (i, s) = parse_location("volumes/volume-1").unwrap();
        assert_eq!(i.name, "volume-1");
        assert_eq!(s, None);
        for bad in ["nopool", "/x", "p/", "p/i@", "p/i@a@b", "p/a b"] {
            assert!(parse_location(bad).is_err(), "{bad}");
        }
    }
}
