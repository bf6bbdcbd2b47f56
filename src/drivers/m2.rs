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

/// Key of the node's disk (`pool/image`) in `driver_internal_info`.
pub const DISK_KEY: &str = "m2_disk";
/// Key of the node's target IQN in `driver_internal_info`.
pub const TARGET_KEY: &str = "m2_target";

/// How long a disk still open after its target went is waited for: beyond Ceph's
/// default watch timeout (30 s), after which a dead client's watch is gone.
const WATCH_EXPIRY: Duration = Duration::from_secs(45);

/// What the M2 interfaces work with.
pub struct M2Services {
    pub store: Arc<dyn DiskStore>,
    pub targets: Arc<TargetManager>,
    pub images: Arc<ImageCatalog>,
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
            db,
            store.clone(),
            &config.ceph.images_pool,
            &config.default.host,
        ));
        M2Services {
            store,
            targets: Arc::new(TargetManager::new(&config.iscsi, &config.ceph)),
            images,
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
                luns: vec![LunSpec {
                    lun: 1,
                    backing: Backing::Rbd(disk.clone()),
                    read_only: false,
                }],
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
                luns: vec![LunSpec {
                    lun: 1,
                    backing: Backing::Rbd(disk),
                    read_only: false,
                }],
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

    /// Removes the node's recorded disk (if any) and forgets it. tgtd may hold the
    /// image open for a moment after its target went, and a tgtd that was killed
    /// keeps its watch on the image until Ceph times it out (30 s by default): a disk
    /// still open is retried for [`WATCH_EXPIRY`].
    pub async fn remove_disk(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        if let Some(disk) = recorded_disk(ctx.node)? {
            let started = std::time::Instant::now();
            loop {
                match self.store.remove(&disk).await {
                    Ok(()) | Err(Error::NotFound { .. }) => break,
                    Err(Error::Conflict(msg)) if started.elapsed() < WATCH_EXPIRY => {
                        tracing::debug!(disk = %disk, %msg, "disk still in use; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            tracing::info!(node = %ctx.node.uuid, disk = %disk, "removed node disk");
        }
        set_internal(ctx.node, DISK_KEY, None);
        Ok(())
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

impl M2Deploy {
    pub fn new(services: Arc<M2Services>) -> Self {
        M2Deploy { services }
    }

    /// Who the deploy acts for, for image visibility: the instance's project as Nova
    /// records it, else the node's lessee or owner; an administrator otherwise.
    fn viewer(node: &Node) -> Viewer {
        let project = node
            .instance_info
            .get("project_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| node.lessee.clone())
            .or_else(|| node.owner.clone());
        Viewer { project }
    }

    fn image_source(node: &Node) -> Result<String> {
        match node.instance_info.get("image_source") {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(Error::invalid(format!(
                "Node {} has no instance_info.image_source: set it to an m2 image (UUID or \
                 name) or rbd://<pool>/<image>@<snapshot>.",
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

    /// The steps of a deploy after the old disk (on rebuild) is gone.
    async fn provision(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let s = &self.services;
        let started = std::time::Instant::now();
        let source = Self::image_source(ctx.node)?;
        let parent = s
            .images
            .resolve_source(&source, &Self::viewer(ctx.node))
            .await?;
        let disk = ImageRef::new(
            s.disks_pool.clone(),
            format!(
                "node-{}-{}",
                ctx.node.uuid,
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        );
        // Recorded first: whatever happens next, the disk is accounted for.
        set_internal(ctx.node, DISK_KEY, Some(json!(disk.to_string())));
        ctx.save().await?;
        s.store.clone_image(&parent, &disk).await?;
        let cloned = started.elapsed();
        if let Some(size) = Self::wanted_size(ctx.node) {
            let info = s.store.stat(&disk).await?;
            if size > info.size {
                s.store.resize(&disk, size).await?;
            }
        }
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
            image = %parent,
            disk = %disk,
            clone_ms = cloned.as_millis() as u64,
            export_ms = (exported - cloned).as_millis() as u64,
            boot_config_ms = (configured - exported).as_millis() as u64,
            power_ms = (started.elapsed() - configured).as_millis() as u64,
            "deployed from a linked clone"
        );
        Ok(())
    }

    /// Removes what a deploy made, newest first; failures are logged, not returned.
    async fn roll_back(&self, ctx: &mut TaskContext<'_>) {
        let boot = ctx.drivers.boot.clone();
        if let Err(e) = boot.clean_up_instance(ctx).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: boot configuration");
        }
        if let Err(e) = self.services.unexport(ctx).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: target");
        }
        if let Err(e) = self.services.remove_disk(ctx).await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: disk");
        }
        if let Err(e) = ctx.save().await {
            tracing::warn!(node = %ctx.node.uuid, error = %e, "rollback: saving the node");
        }
    }

    /// Power off, boot configuration off, target and disk removed. Missing pieces are
    /// fine, so it also cleans up after an interrupted deploy.
    async fn dismantle(&self, ctx: &mut TaskContext<'_>) -> Result<()> {
        let power = ctx.drivers.power.clone();
        power
            .set_power_state(ctx.node, PowerState::Off, None)
            .await?;
        ctx.node.power_state = Some(PowerState::Off.as_str().to_owned());
        let boot = ctx.drivers.boot.clone();
        boot.clean_up_instance(ctx).await?;
        self.services.unexport(ctx).await?;
        ctx.save().await?;
        self.services.remove_disk(ctx).await?;
        ctx.save().await
    }
}

impl Interface for M2Deploy {
    fn name(&self) -> &'static str {
        "m2"
    }

    fn validate(&self, node: &Node) -> Result<()> {
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
        if recorded_disk(ctx.node)?.is_some() {
            // Rebuild: the node gets a fresh clone; the old disk goes first.
            tracing::info!(node = %ctx.node.uuid, "rebuild: removing the previous disk");
            self.dismantle(ctx).await?;
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
        self.dismantle(ctx).await
    }

    async fn check(&self, ctx: &TaskContext<'_>) -> Result<()> {
        let s = &self.services;
        let source = Self::image_source(ctx.node)?;
        s.images
            .resolve_source(&source, &Self::viewer(ctx.node))
            .await?;
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
