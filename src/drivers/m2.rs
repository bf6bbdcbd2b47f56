//! The `m2` deploy interface: a node's disk is a copy-on-write clone of its image in
//! Ceph, exported over iSCSI by tgtd, and the node network-boots it through its boot
//! interface (`ipxe`). Nothing is copied and the node boots once (M2 paper, III-IV).
//!
//! Deploy: resolve the image → clone it (the node's disk) → export the disk as the
//! node's target, with a fresh CHAP account and an ACL naming the node's initiator →
//! record the boot target → boot configuration → boot device PXE → power on. Every
//! resource is recorded on the node before it is created, and a failure removes what
//! was made, in reverse order. Tear-down: power off → boot configuration off → target
//! removed → disk removed. Reconciliation puts back targets that tgtd lost (it keeps
//! nothing across a restart) and removes targets no node accounts for.
//!
//! The disk comes from one of four places, recorded as its kind:
//! - `clone`: a linked clone of `instance_info.image_source` (the default), removed on
//!   undeploy unless the undeploy keeps it as a volume;
//! - `volume`: a disk volume named by `instance_info.volume` (a released or recovered
//!   disk, or a registered RBD image), attached as it is and kept on undeploy;
//! - `external`: the RBD image of the node's boot volume target (`volume_type` `rbd`,
//!   Cinder's connection properties) with the `rbd` storage interface, never removed.
//!
//! A configdrive given on deploy reaches the node as LUN 2 of its target, a small
//! read-only RBD image with the `config-2` label that cloud-init looks for.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::ipxe::{SanbootTarget, set_internal};
use super::*;
use crate::config::Config;
use crate::db::images::Viewer;
use crate::images::ImageCatalog;
use crate::iscsi::{Backing, ChapCredentials, LunSpec, TargetManager, TargetSpec};
use crate::storage::{DiskStore, ImageRef, RbdStore};
use crate::volumes::{NewVolume, VolumeCatalog};

/// Key of the node's disk (`pool/image`) in `driver_internal_info`.
pub const DISK_KEY: &str = "m2_disk";
/// Key of the node's target IQN in `driver_internal_info`.
pub const TARGET_KEY: &str = "m2_target";
/// Key of the kind of the node's disk (`clone`, `volume`, `external`).
pub const DISK_KIND_KEY: &str = "m2_disk_kind";
/// Key of the node's configdrive image (`pool/image`), exported as LUN 2.
pub const CONFIGDRIVE_KEY: &str = "m2_config_drive";
/// Key set by an undeploy that keeps the disk: `{"name": <volume name or null>}`.
pub const KEEP_KEY: &str = "m2_keep_disk";

/// What an undeploy keeps of the node's disk (recorded under [`KEEP_KEY`]).
#[derive(Debug, Clone, Default)]
pub struct Keep {
    /// Name and owner of the volume the disk becomes.
    pub volume: NewVolume,
    /// `release` (an undeploy that keeps the disk) or `recovery`.
    pub source: String,
    /// Go on when the node cannot be powered off: its target is revoked anyway, so
    /// it cannot reach the disk (a failed node's BMC may be dead too).
    pub despite_power_failure: bool,
}

impl Keep {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.volume.name,
            "source": self.source,
            "despite_power_failure": self.despite_power_failure,
        })
    }

    fn from_node(node: &Node) -> Option<Keep> {
        let k = node.driver_internal_info.get(KEEP_KEY)?;
        Some(Keep {
            volume: NewVolume {
                name: k.get("name").and_then(Value::as_str).map(str::to_owned),
                owner: M2Deploy::viewer(node).project,
                extra: json!({}),
            },
            source: k
                .get("source")
                .and_then(Value::as_str)
                .unwrap_or("release")
                .to_owned(),
            despite_power_failure: k
                .get("despite_power_failure")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// LUN of the node's disk and of its configdrive in its target.
const DISK_LUN: u32 = 1;
const CONFIGDRIVE_LUN: u32 = 2;

/// Where a node's disk came from, which decides what undeploy does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A clone m2 made from an image: removed on undeploy unless kept.
    Clone,
    /// A disk volume attached as it is: back to `available` on undeploy.
    Volume,
    /// The RBD image of a boot volume target: m2 never removes it.
    External,
}

impl DiskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskKind::Clone => "clone",
            DiskKind::Volume => "volume",
            DiskKind::External => "external",
        }
    }

    /// The kind recorded on a node (disks recorded before kinds existed are clones).
    pub fn of(node: &Node) -> DiskKind {
        match node
            .driver_internal_info
            .get(DISK_KIND_KEY)
            .and_then(Value::as_str)
        {
            Some("volume") => DiskKind::Volume,
            Some("external") => DiskKind::External,
            _ => DiskKind::Clone,
        }
    }
}

/// How long a disk still open after its target went is waited for: beyond Ceph's
/// default watch timeout (30 s), after which a dead client's watch is gone.
const WATCH_EXPIRY: Duration = Duration::from_secs(45);

/// What the M2 interfaces work with.
pub struct M2Services {
    pub store: Arc<dyn DiskStore>,
    pub targets: Arc<TargetManager>,
    pub images: Arc<ImageCatalog>,
    pub volumes: Arc<VolumeCatalog>,
    /// Pool of the nodes' disks.
    pub disks_pool: String,
    /// Prefix of initiator names m2 gives nodes without an `iqn` volume connector.
    pub iqn_prefix: String,
}

impl M2Services {
    /// The Ceph store, tgtd and the image library as configured. Nothing is contacted
    /// until first used.
    pub fn new(config: &Config, db: sea_orm::DatabaseConnection) -> Self {
        let store: Arc<dyn DiskStore> = Arc::new(RbdStore::new(&config.ceph));
        let images = Arc::new(ImageCatalog::new(
            db.clone(),
            store.clone(),
            &config.ceph.images_pool,
            &config.default.host,
        ));
        let volumes = Arc::new(VolumeCatalog::new(db, store.clone(), images.clone()));
        M2Services {
            store,
            targets: Arc::new(TargetManager::new(&config.iscsi, &config.ceph)),
            images,
            volumes,
            disks_pool: config.ceph.disks_pool.clone(),
            iqn_prefix: config.iscsi.iqn_prefix.clone(),
        }
    }

    /// The initiator name of a node: its `iqn` volume connector, else one derived from
    /// its UUID.
    pub async fn initiator_of(&self, ctx: &TaskContext<'_>) -> Result<String> {
        let connectors = crate::db::volumes::connectors_of(ctx.db, ctx.node.id).await?;
        Ok(connectors
            .into_iter()
            .find(|c| c.r#type == "iqn")
            .map(|c| c.connector_id)
            .unwrap_or_else(|| format!("{}:initiator-{}", self.iqn_prefix, ctx.node.uuid)))
    }

    fn chap_user(node: &Node) -> String {
        format!("m2-{}", node.uuid)
    }

    fn node_uuid(node: &Node) -> Result<uuid::Uuid> {
        uuid::Uuid::parse_str(&node.uuid)
            .map_err(|_| Error::Internal(format!("node UUID {} is malformed", node.uuid)))
    }

    /// Exports `disk` as the node's target with fresh credentials and records the boot
    /// target on the node.
    pub async fn export_disk(&self, ctx: &mut TaskContext<'_>, disk: &ImageRef) -> Result<()> {
        let iqn = self.targets.node_iqn(Self::node_uuid(ctx.node)?);
        let initiator = self.initiator_of(ctx).await?;
        let chap = ChapCredentials::generate(Self::chap_user(ctx.node))?;
        let boot = SanbootTarget {
            portal: self.targets.guest_portal().to_string(),
            target_iqn: iqn.clone(),
            lun: 1,
            initiator_iqn: initiator.clone(),
            chap_username: chap.user.clone(),
            chap_secret: chap.secret.expose().to_owned(),
        };
        set_internal(ctx.node, TARGET_KEY, Some(json!(iqn)));
        boot.record(ctx.node);
        ctx.save().await?;
        self.targets
            .export(&TargetSpec {
                iqn,
                initiator,
                luns: luns(disk, recorded_configdrive(ctx.node)?),
                chap,
                mutual_chap: None,
            })
            .await?;
        Ok(())
    }

    /// Re-creates a node's target from what the node records (same disk, same
    /// credentials), when tgtd lost it. `false` when it existed.
    pub async fn restore_export(&self, node: &Node) -> Result<bool> {
        let (Some(boot), Some(disk)) = (SanbootTarget::of(node), recorded_disk(node)?) else {
            return Ok(false);
        };
        if self.targets.find(&boot.target_iqn).await?.is_some() {
            return Ok(false);
        }
        self.targets
            .export(&TargetSpec {
                iqn: boot.target_iqn.clone(),
                initiator: boot.initiator_iqn.clone(),
                luns: luns(&disk, recorded_configdrive(node)?),
                chap: ChapCredentials::new(boot.chap_username.clone(), boot.chap_secret.clone())?,
                mutual_chap: None,
            })
            .await?;
        tracing::warn!(node = %node.uuid, target = %boot.target_iqn, "re-created a lost iSCSI target");
        Ok(true)
    }

    /// Removes the node's target (if any) and forgets it.
    pub async fn unexport(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let iqn = match ctx.node.driver_internal_info.get(TARGET_KEY) {
            Some(Value::String(s)) => s.clone(),
            _ => self.targets.node_iqn(Self::node_uuid(ctx.node)?),
        };
        self.targets.unexport(&iqn).await?;
        set_internal(ctx.node, TARGET_KEY, None);
        SanbootTarget::clear(ctx.node);
        Ok(())
    }

    /// Lets go of the node's recorded disk (if any) and forgets it. A clone is removed
    /// unless `keep` names the volume to keep it as; a volume goes back to
    /// `available`; an external disk is left alone. tgtd may hold the image open for a
    /// moment after its target went, and a tgtd that was killed keeps its watch on the
    /// image until Ceph times it out (30 s by default): a disk still open is retried
    /// for [`WATCH_EXPIRY`].
    pub async fn release_disk(&self, ctx: &mut TaskContext<'_>, keep: Option<&Keep>) -> Result<()> {
        if let Some(disk) = recorded_disk(ctx.node)? {
            let kind = DiskKind::of(ctx.node);
            match (kind, keep) {
                (DiskKind::External, None) => {
                    tracing::info!(node = %ctx.node.uuid, disk = %disk, "boot volume left in place");
                }
                (DiskKind::Clone, None) => match self.images.release_dependents(&disk).await {
                    Ok(()) => {
                        self.remove_image(&disk).await?;
                        tracing::info!(node = %ctx.node.uuid, disk = %disk, "removed node disk");
                    }
                    Err(Error::Conflict(why)) => {
                        // Images in use still read from it: kept, and listed, as a volume.
                        let spec = NewVolume {
                            owner: M2Deploy::viewer(ctx.node).project,
                            ..Default::default()
                        };
                        let v = self
                            .volumes
                            .keep(&disk, spec, &ctx.node.uuid, "retained")
                            .await?;
                        tracing::warn!(node = %ctx.node.uuid, disk = %disk, volume = %v.uuid, %why, "disk kept as a volume");
                    }
                    Err(e) => return Err(e),
                },
                (_, keep) => {
                    let (spec, source) = match keep {
                        Some(k) => (k.volume.clone(), k.source.as_str()),
                        None => (NewVolume::default(), "release"),
                    };
                    // m2 never removes the data of an image it did not make.
                    let source = if kind == DiskKind::External {
                        "register"
                    } else {
                        source
                    };
                    let v = self
                        .volumes
                        .keep(&disk, spec, &ctx.node.uuid, source)
                        .await?;
                    tracing::info!(node = %ctx.node.uuid, disk = %disk, volume = %v.uuid, "disk kept as a volume");
                }
            }
        }
        self.volumes.release_all_of(&ctx.node.uuid).await?;
        set_internal(ctx.node, DISK_KEY, None);
        set_internal(ctx.node, DISK_KIND_KEY, None);
        Ok(())
    }

    /// Removes the node's configdrive image (if any) and forgets it.
    pub async fn remove_configdrive(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        if let Some(cd) = recorded_configdrive(ctx.node)? {
            self.remove_image(&cd).await?;
        }
        set_internal(ctx.node, CONFIGDRIVE_KEY, None);
        Ok(())
    }

    /// Removes an RBD image, waiting out a watch left by a tgtd that went away.
    async fn remove_image(&self, disk: &ImageRef) -> Result<()> {
        let started = std::time::Instant::now();
        loop {
            match self.store.remove(disk).await {
                Ok(()) | Err(Error::NotFound { .. }) => return Ok(()),
                Err(Error::Conflict(msg)) if started.elapsed() < WATCH_EXPIRY => {
                    tracing::debug!(disk = %disk, %msg, "disk still in use; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The LUNs of a node's target: its disk, and its configdrive read-only.
fn luns(disk: &ImageRef, configdrive: Option<ImageRef>) -> Vec<LunSpec> {
    let mut luns = vec![LunSpec {
        lun: DISK_LUN,
        backing: Backing::Rbd(disk.clone()),
        read_only: false,
    }];
    if let Some(cd) = configdrive {
        luns.push(LunSpec {
            lun: CONFIGDRIVE_LUN,
            backing: Backing::Rbd(cd),
            read_only: true,
        });
    }
    luns
}

/// The configdrive image recorded on a node.
pub fn recorded_configdrive(node: &Node) -> Result<Option<ImageRef>> {
    match node.driver_internal_info.get(CONFIGDRIVE_KEY) {
        Some(Value::String(s)) => Ok(Some(crate::images::parse_location(s)?.0)),
        _ => Ok(None),
    }
}

/// The disk recorded on a node.
pub fn recorded_disk(node: &Node) -> Result<Option<ImageRef>> {
    match node.driver_internal_info.get(DISK_KEY) {
        Some(Value::String(s)) => {
            let (img, _) = crate::images::parse_location(s)?;
            Ok(Some(img))
        }
        _ => Ok(None),
    }
}

/// The `m2` deploy interface.
pub struct M2Deploy {
    services: Arc<M2Services>,
}

/// The boot volume target of a node with the `rbd` storage interface: its RBD image.
async fn boot_volume(ctx: &TaskContext<'_>) -> Result<Option<ImageRef>> {
    if ctx.node.storage_interface != RbdStorage::NAME {
        return Ok(None);
    }
    let Some(t) = crate::db::volumes::target_by_boot_index(ctx.db, ctx.node.id, 0).await? else {
        return Ok(None);
    };
    if t.volume_type != "rbd" {
        return Err(Error::invalid(format!(
            "The boot volume target {} of node {} has volume_type {}: the rbd storage \
             interface boots rbd volumes only.",
            t.uuid, ctx.node.uuid, t.volume_type
        )));
    }
    rbd_target_image(&t.properties).map(Some)
}

/// The RBD image of an `rbd` volume target, from Cinder's connection properties
/// (`name` is `<pool>/<image>`; `pool` and `image` are accepted as well).
pub fn rbd_target_image(properties: &Value) -> Result<ImageRef> {
    let name = properties.get("name").and_then(Value::as_str);
    let location = match (name, properties.get("pool").and_then(Value::as_str)) {
        (Some(n), _) if n.contains('/') => n.to_owned(),
        (Some(n), Some(pool)) => format!("{pool}/{n}"),
        (None, Some(pool)) => match properties.get("image").and_then(Value::as_str) {
            Some(img) => format!("{pool}/{img}"),
            None => String::new(),
        },
        _ => String::new(),
    };
    if location.is_empty() {
        return Err(Error::invalid(
            "An rbd volume target needs properties.name = \"<pool>/<image>\" (as Cinder \
             gives it) or properties.pool and properties.image.",
        ));
    }
    let (img, snap) = crate::images::parse_location(&location)?;
    if snap.is_some() {
        return Err(Error::invalid(format!(
            "An rbd volume target names an image, not a snapshot: {location}"
        )));
    }
    Ok(img)
}

impl M2Deploy {
    pub fn new(services: Arc<M2Services>) -> Self {
        M2Deploy { services }
    }

    /// Who the deploy acts for, for image and volume visibility: the instance's project
    /// as Nova records it, else the node's lessee or owner; an administrator otherwise.
    pub fn viewer(node: &Node) -> Viewer {
        let project = node
            .instance_info
            .get("project_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| node.lessee.clone())
            .or_else(|| node.owner.clone());
        Viewer { project }
    }

    /// The disk volume `instance_info.volume` names, if any.
    fn volume_source(node: &Node) -> Result<Option<String>> {
        match node.instance_info.get("volume") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(Error::invalid(format!(
                "instance_info.volume must be the UUID or name of a volume, not {other}"
            ))),
        }
    }

    fn image_source(node: &Node) -> Result<String> {
        match node.instance_info.get("image_source") {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(Error::invalid(format!(
                "Node {} has no instance_info.image_source: set it to an m2 image (UUID or \
                 name) or rbd://<pool>/<image>@<snapshot>, or set instance_info.volume to \
                 boot a disk volume.",
                node.uuid
            ))),
        }
    }

    /// The size the disk should have: `instance_info.root_gb` when larger than the image.
    fn wanted_size(node: &Node) -> Option<u64> {
        let gb = match node.instance_info.get("root_gb")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        (gb > 0).then_some(gb << 30)
    }

    /// The volume `instance_info.volume` names, as the node's project sees it; a
    /// missing one is bad input to the deploy.
    async fn named_volume(
        &self,
        node: &Node,
        ident: &str,
    ) -> Result<crate::db::disk_volumes::DiskVolume> {
        self.services
            .volumes
            .find(ident, &Self::viewer(node))
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::invalid(format!("Volume {ident} could not be found."))
                }
                other => other,
            })
    }

    /// Records the disk on the node (before anything else happens to it).
    async fn record_disk(ctx: &mut TaskContext<'_>, disk: &ImageRef, kind: DiskKind) -> Result<()> {
        set_internal(ctx.node, DISK_KEY, Some(json!(disk.to_string())));
        set_internal(ctx.node, DISK_KIND_KEY, Some(json!(kind.as_str())));
        ctx.save().await
    }

    /// Finds or makes the node's disk: its boot volume, the volume it names, or a
    /// clone of its image.
    async fn attach_disk(&self, ctx: &mut TaskContext<'_>) -> Result<ImageRef> {
        let s = &self.services;
        if let Some(disk) = boot_volume(ctx).await? {
            if !s.store.exists(&disk).await? {
                return Err(Error::invalid(format!(
                    "The boot volume {disk} of node {} could not be found in the Ceph cluster.",
                    ctx.node.uuid
                )));
            }
            Self::record_disk(ctx, &disk, DiskKind::External).await?;
            return Ok(disk);
        }
        if let Some(ident) = Self::volume_source(ctx.node)? {
            let v = self.named_volume(ctx.node, &ident).await?;
            // Claimed before it is recorded: a node records only a disk it holds.
            // A crash in between leaves a claim that the node's tear-down releases
            // (`release_all_of`).
            s.volumes.attach(&v, &ctx.node.uuid).await?;
            let disk = VolumeCatalog::disk(&v);
            Self::record_disk(ctx, &disk, DiskKind::Volume).await?;
            return Ok(disk);
        }
        let source = Self::image_source(ctx.node)?;
        let parent = s
            .images
            .resolve_source(&source, &Self::viewer(ctx.node))
            .await?;
        let disk = ImageRef::new(s.disks_pool.clone(), Self::disk_name(ctx.node, "disk"));
        // Recorded first: whatever happens next, the disk is accounted for.
        Self::record_disk(ctx, &disk, DiskKind::Clone).await?;
        s.store.clone_image(&parent, &disk).await?;
        tracing::info!(node = %ctx.node.uuid, image = %parent, disk = %disk, "disk cloned");
        Ok(disk)
    }

    fn disk_name(node: &Node, what: &str) -> String {
        format!(
            "node-{}-{what}-{}",
            node.uuid,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    }

    /// Stores `instance_info.configdrive` as a small RBD image for LUN 2.
    async fn store_configdrive(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let Some(cd) = ctx.node.instance_info.get("configdrive").cloned() else {
            return Ok(());
        };
        if cd.is_null() {
            return Ok(());
        }
        let file = tempfile::Builder::new()
            .prefix("m2-configdrive-")
            .tempdir()
            .map_err(|e| Error::Internal(format!("configdrive spool: {e}")))?;
        let path = file.path().join("configdrive.img");
        super::configdrive::write(&cd, ctx.node, &path).await?;
        let image = ImageRef::new(
            self.services.disks_pool.clone(),
            Self::disk_name(ctx.node, "configdrive"),
        );
        set_internal(ctx.node, CONFIGDRIVE_KEY, Some(json!(image.to_string())));
        ctx.save().await?;
        self.services.store.import(&path, &image).await?;
        Ok(())
    }

    /// The steps of a deploy after the old disk (on rebuild) is gone.
    async fn provision(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let s = &self.services;
        let started = std::time::Instant::now();
        let disk = self.attach_disk(ctx).await?;
        let attached = started.elapsed();
        if let Some(size) = Self::wanted_size(ctx.node) {
            let info = s.store.stat(&disk).await?;
            if size > info.size {
                s.store.resize(&disk, size).await?;
            }
        }
        self.store_configdrive(ctx).await?;
        s.export_disk(ctx, &disk).await?;
        let exported = started.elapsed();
        let boot = ctx.drivers.boot.clone();
        boot.prepare_instance(ctx).await?;
        let mgmt = ctx.drivers.management.clone();
        mgmt.set_boot_device(ctx.node, "pxe", true).await?;
        let configured = started.elapsed();
        let power = ctx.drivers.power.clone();
        if power.get_power_state(ctx.node).await? == PowerState::On {
            power.reboot(ctx.node, None).await?;
        } else {
            power
                .set_power_state(ctx.node, PowerState::On, None)
                .await?;
        }
        ctx.node.power_state = Some(PowerState::On.as_str().to_owned());
        tracing::info!(
            node = %ctx.node.uuid,
            disk = %disk,
            kind = DiskKind::of(ctx.node).as_str(),
            attach_ms = attached.as_millis() as u64,
            export_ms = (exported - attached).as_millis() as u64,
            boot_config_ms = (configured - exported).as_millis() as u64,
            power_ms = (started.elapsed() - configured).as_millis() as u64,
            "deployed without copying the image"
        );
        Ok(())
    }

    /// Removes what a deploy made, newest first; failures are logged, not returned.
    /// A volume or boot volume is let go, never removed.
    async fn roll_back(&self, ctx: &mut TaskContext<'_>) {
        let boot = ctx.drivers.boot.clone();
        if let Err(e) = boot.clean_up_instance(ctx).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: boot configuration");
        }
        if let Err(e) = self.services.unexport(ctx).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: target");
        }
        if let Err(e) = self.services.remove_configdrive(ctx).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: configdrive");
        }
        if let Err(e) = self.services.release_disk(ctx, None).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: disk");
        }
        if let Err(e) = ctx.save().await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: saving the node");
        }
    }

    /// Power off, boot configuration off, target, configdrive and disk let go. Missing
    /// pieces are fine, so it also cleans up after an interrupted deploy. An undeploy
    /// that asked to keep the disk leaves it as a volume.
    async fn dismantle(&self, ctx: &mut TaskContext<'_>, keep: Option<&Keep>) -> Result<()> {
        let power = ctx.drivers.power.clone();
        match power.set_power_state(ctx.node, PowerState::Off, None).await {
            Ok(()) => ctx.node.power_state = Some(PowerState::Off.as_str().to_owned()),
            Err(e) if keep.is_some_and(|k| k.despite_power_failure) => {
                tracing::warn!(node = %ctx.node.uuid, error = %e, "could not power the node off; revoking its target anyway");
            }
            Err(e) => return Err(e),
        }
        self.fence(ctx).await?;
        self.services.remove_configdrive(ctx).await?;
        ctx.save().await?;
        self.services.release_disk(ctx, keep).await?;
        ctx.save().await
    }

    /// Boot configuration off and target (with its ACL and CHAP account) removed: the
    /// node cannot reach its disk any more.
    pub async fn fence(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let boot = ctx.drivers.boot.clone();
        boot.clean_up_instance(ctx).await?;
        self.services.unexport(ctx).await?;
        ctx.save().await
    }
}

impl Interface for M2Deploy {
    fn name(&self) -> &'static str {
        "m2"
    }

    fn validate(&self, node: &Node) -> Result<()> {
        if node.storage_interface == RbdStorage::NAME || Self::volume_source(node)?.is_some() {
            // The disk is a volume: checked when the deploy starts.
            return Ok(());
        }
        let source = Self::image_source(node)?;
        if let Some(rest) = source.strip_prefix("rbd://") {
            let (_, snap) = crate::images::parse_location(rest)?;
            if snap.is_none() {
                return Err(Error::invalid(format!(
                    "image_source {source} must name a snapshot: rbd://<pool>/<image>@<snapshot>"
                )));
            }
        } else if source.contains("://") {
            return Err(Error::invalid(format!(
                "image_source {source} is not supported: nodes boot from m2 images (UUID or \
                 name) or rbd://<pool>/<image>@<snapshot>."
            )));
        }
        Ok(())
    }

    fn properties(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
}

#[async_trait]
impl Deploy for M2Deploy {
    async fn deploy(&self, ctx: &mut TaskContext<'_>) -> Result<StepOutcome> {
        if recorded_disk(ctx.node)?.is_some() || recorded_configdrive(ctx.node)?.is_some() {
            // Rebuild: the old disk goes first (a volume is let go and attached again).
            tracing::info!(node = %ctx.node.uuid, "rebuild: letting go of the previous disk");
            self.dismantle(ctx, None).await?;
        }
        match self.provision(ctx).await {
            Ok(()) => Ok(StepOutcome::Done),
            Err(e) => {
                self.roll_back(ctx).await;
                Err(e)
            }
        }
    }

    async fn tear_down(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let keep = Keep::from_node(ctx.node);
        self.dismantle(ctx, keep.as_ref()).await?;
        set_internal(ctx.node, KEEP_KEY, None);
        Ok(())
    }

    async fn check(&self, ctx: &TaskContext<'_>) -> Result<()> {
        let s = &self.services;
        if let Some(disk) = boot_volume(ctx).await? {
            if !s.store.exists(&disk).await? {
                return Err(Error::invalid(format!(
                    "The boot volume {disk} could not be found in the Ceph cluster."
                )));
            }
        } else if let Some(ident) = Self::volume_source(ctx.node)? {
            let v = self.named_volume(ctx.node, &ident).await?;
            if v.status != crate::db::disk_volumes::AVAILABLE
                && v.node_uuid.as_deref() != Some(ctx.node.uuid.as_str())
            {
                return Err(Error::invalid(format!(
                    "Volume {ident} is in use by node {}.",
                    v.node_uuid.as_deref().unwrap_or("?")
                )));
            }
        } else {
            let source = Self::image_source(ctx.node)?;
            s.images
                .resolve_source(&source, &Self::viewer(ctx.node))
                .await?;
        }
        if let Some(cd) = ctx.node.instance_info.get("configdrive") {
            super::configdrive::check(cd)?;
        }
        s.targets.list().await.map_err(|e| {
            Error::invalid(format!("The iSCSI target service cannot be reached: {e}"))
        })?;
        if !ctx.ports.iter().any(|p| p.pxe_enabled) {
            return Err(Error::invalid(format!(
                "Node {} has no port with a MAC address to network-boot from.",
                ctx.node.uuid
            )));
        }
        Ok(())
    }

    async fn take_over(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        self.services.restore_export(ctx.node).await.map(|_| ())
    }
}

/// The `rbd` storage interface: a node boots from the RBD image of its boot volume
/// target (`volume_type` `rbd`, with Cinder's connection properties), as a VM on
/// Ceph-backed Cinder does. The `m2` deploy interface exports that image instead of
/// cloning one.
pub struct RbdStorage;

impl RbdStorage {
    pub const NAME: &'static str = "rbd";
}

impl Interface for RbdStorage {
    fn name(&self) -> &'static str {
        Self::NAME
    }
}

impl Plain for RbdStorage {}
