//! Disk volumes: node disks that outlive a deployment. Undeploying with `keep_disk`
//! releases the node's disk as a volume owned by the project; a failed node's disk
//! becomes one when it is recovered onto a spare; an RBD image m2 did not make (a VM's
//! Cinder volume, say) can be registered as one. A deploy with
//! `instance_info.volume` attaches a volume as the node's disk as it is: nothing is
//! copied and everything on it is kept.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::db::disk_volumes::{self, AVAILABLE, DiskVolume, IN_USE};
use crate::db::images::Viewer;
use crate::error::{Error, Result};
use crate::images::{ImageCatalog, parse_location};
use crate::storage::{DiskStore, ImageRef};

/// What a new volume record holds.
#[derive(Debug, Clone, Default)]
pub struct NewVolume {
    pub name: Option<String>,
    pub owner: Option<String>,
    pub extra: Value,
}

/// The volume library.
pub struct VolumeCatalog {
    db: DatabaseConnection,
    store: Arc<dyn DiskStore>,
    images: Arc<ImageCatalog>,
}

impl VolumeCatalog {
    pub fn new(
        db: DatabaseConnection,
        store: Arc<dyn DiskStore>,
        images: Arc<ImageCatalog>,
    ) -> Self {
        VolumeCatalog { db, store, images }
    }

    /// The RBD image of a volume.
    pub fn disk(v: &DiskVolume) -> ImageRef {
        ImageRef::new(v.pool.clone(), v.rbd_image.clone())
    }

    fn record(spec: NewVolume, disk: &ImageRef, source: &str, size: Option<u64>) -> DiskVolume {
        DiskVolume {
            id: 0,
            uuid: uuid::Uuid::new_v4().to_string(),
            name: spec.name,
            owner: spec.owner,
            status: AVAILABLE.into(),
            size: size.map(|s| s as i64),
            pool: disk.pool.clone(),
            rbd_image: disk.name.clone(),
            source: source.into(),
            source_node: None,
            node_uuid: None,
            extra: if spec.extra.is_null() {
                json!({})
            } else {
                spec.extra
            },
            created_at: Utc::now(),
            updated_at: None,
        }
    }

    /// Registers an existing RBD image (`pool/image`) as an available volume. m2 never
    /// removes the data of a registered volume.
    pub async fn register(&self, spec: NewVolume, location: &str) -> Result<DiskVolume> {
        let (disk, snap) = parse_location(location)?;
        if snap.is_some() {
            return Err(Error::invalid(format!(
                "A volume is a whole RBD image, not a snapshot: {location}"
            )));
        }
        let info = self.store.stat(&disk).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid(format!(
                "RBD image {disk} could not be found in the Ceph cluster."
            )),
            other => other,
        })?;
        let v = Self::record(spec, &disk, "register", Some(info.size));
        let v = disk_volumes::insert(&self.db, v).await?;
        tracing::info!(volume = %v.uuid, rbd = %disk, "registered volume");
        Ok(v)
    }

    /// Keeps a node's disk as an available volume: the volume it was attached from
    /// goes back to `available`, otherwise a new volume records it.
    pub async fn keep(
        &self,
        disk: &ImageRef,
        spec: NewVolume,
        node: &str,
        source: &str,
    ) -> Result<DiskVolume> {
        let size = self.store.stat(disk).await.ok().map(|i| i.size);
        if let Some(mut v) = disk_volumes::by_rbd(&self.db, &disk.pool, &disk.name).await? {
            if let Some(holder) = v.node_uuid.as_deref().filter(|h| *h != node) {
                // Never let go of a volume on behalf of a node that does not hold it.
                tracing::warn!(volume = %v.uuid, node, holder, "volume held by another node; left as it is");
                return Ok(v);
            }
            v.status = AVAILABLE.into();
            v.node_uuid = None;
            if let Some(s) = size {
                v.size = Some(s as i64);
            }
            if spec.name.is_some() {
                v.name = spec.name;
            }
            disk_volumes::save(&self.db, &mut v).await?;
            tracing::info!(volume = %v.uuid, node, "volume detached");
            return Ok(v);
        }
        let mut v = Self::record(spec, disk, source, size);
        v.source_node = Some(node.to_owned());
        let v = disk_volumes::insert(&self.db, v).await?;
        tracing::info!(volume = %v.uuid, node, rbd = %disk, source, "node disk kept as a volume");
        Ok(v)
    }

    /// Attaches an available volume to `node`: marks it in use (one node at a time).
    pub async fn attach(&self, v: &DiskVolume, node: &str) -> Result<()> {
        if v.node_uuid.as_deref() == Some(node) && v.status == IN_USE {
            return Ok(());
        }
        if !disk_volumes::claim(&self.db, v.id, node).await? {
            return Err(Error::invalid(format!(
                "Volume {} is not available: it is in use by node {}.",
                v.uuid,
                v.node_uuid.as_deref().unwrap_or("another node")
            )));
        }
        Ok(())
    }

    /// Makes every volume still marked in use by `node` available: called when the
    /// node lets go of its disk, so that a claim made just before a crash (before the
    /// node recorded the disk) does not hold the volume forever.
    pub async fn release_all_of(&self, node: &str) -> Result<()> {
        let n = disk_volumes::release_node(&self.db, node).await?;
        if n > 0 {
            tracing::warn!(
                node,
                count = n,
                "released volumes the node claimed but did not record"
            );
        }
        Ok(())
    }

    /// A volume by UUID or name, as `viewer` sees it.
    pub async fn find(&self, ident: &str, viewer: &Viewer) -> Result<DiskVolume> {
        if let Ok(u) = uuid::Uuid::try_parse(ident) {
            return match disk_volumes::by_uuid(&self.db, &u.hyphenated().to_string()).await? {
                Some(v) if disk_volumes::visible_to(&v, viewer) => Ok(v),
                _ => Err(Error::not_found("Volume", ident)),
            };
        }
        let mut found: Vec<DiskVolume> = disk_volumes::by_name(&self.db, ident)
            .await?
            .into_iter()
            .filter(|v| disk_volumes::visible_to(v, viewer))
            .collect();
        match found.len() {
            0 => Err(Error::not_found("Volume", ident)),
            1 => Ok(found.remove(0)),
            n => Err(Error::Conflict(format!(
                "{n} volumes are named {ident}; use the UUID."
            ))),
        }
    }

    /// Deletes a volume: refused while a node uses it. The data of a volume m2 made
    /// (released or recovered) goes with it, after images taken from it are
    /// flattened; a registered volume is only forgotten.
    pub async fn delete(&self, v: &DiskVolume) -> Result<()> {
        if v.status == IN_USE {
            return Err(Error::Conflict(format!(
                "Volume {} is in use by node {}; undeploy the node first.",
                v.uuid,
                v.node_uuid.as_deref().unwrap_or("?")
            )));
        }
        if v.source != "register" {
            let disk = Self::disk(v);
            self.images.release_dependents(&disk).await?;
            match self.store.remove(&disk).await {
                Ok(()) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        disk_volumes::delete(&self.db, v.id).await?;
        tracing::info!(volume = %v.uuid, "volume deleted");
        Ok(())
    }
}
