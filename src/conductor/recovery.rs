//! Failure recovery: a failed node's disk boots on a spare node (M2 paper, V-D).
//!
//! `start` takes both reservations and checks both nodes, then answers; in the
//! background the failed node is undeployed keeping its disk — powered off (or, when
//! its BMC does not answer, at least cut off), its target, ACL and CHAP account
//! revoked so that it can never write to the disk again — and left in maintenance.
//! Its disk, now a volume, is attached to the spare, which is deployed from it with
//! the failed node's instance: it boots the same disk, nothing copied.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Conductor;
use super::states::{Event, ProvisionState, Verb};
use super::task::Task;
use crate::db::disk_volumes;
use crate::db::nodes;
use crate::drivers::ipxe::set_internal;
use crate::drivers::m2::{KEEP_KEY, Keep, recorded_disk};
use crate::error::{Error, Result};
use crate::storage::ImageRef;

/// `instance_info` key on the spare naming the node it took over from.
pub const RECOVERED_FROM_KEY: &str = "m2_recovered_from";

/// Accepts the recovery of `failed` onto `spare` and starts it.
pub async fn start(conductor: &Arc<Conductor>, failed: &str, spare: &str) -> Result<Value> {
    conductor.check_running()?;
    let spare_node = nodes::get(&conductor.db, spare)
        .await
        .map_err(|e| match e {
            Error::NotFound { .. } => {
                Error::invalid(format!("Spare node {spare} could not be found."))
            }
            other => other,
        })?;
    let mut f = Task::acquire(conductor, failed, "recover").await?;
    if spare_node.uuid == f.node.uuid {
        f.release().await;
        return Err(Error::invalid("A node cannot be recovered onto itself."));
    }
    let mut s = match Task::acquire(conductor, &spare_node.uuid, "recover").await {
        Ok(t) => t,
        Err(e) => {
            f.release().await;
            return Err(e);
        }
    };
    match accept(&mut f, &mut s).await {
        Ok(disk) => {
            let (f, s) = (f.into_background(), s.into_background());
            conductor.spawn_background(run(f, s, disk));
            Ok(Value::Null)
        }
        Err(e) => {
            f.release().await;
            s.release().await;
            Err(e)
        }
    }
}

/// Checks both nodes, then moves the failed node to `deleting` (keeping its disk)
/// and the spare to `deploying`. Returns the disk.
async fn accept(f: &mut Task, s: &mut Task) -> Result<ImageRef> {
    let (fu, su) = (f.node.uuid.clone(), s.node.uuid.clone());
    let state = f.provision_state()?;
    if !matches!(state, ProvisionState::Active | ProvisionState::DeployFailed) {
        return Err(Error::InvalidState(format!(
            "Node {fu} is in state {state}: only active or deploy failed nodes can be \
             recovered."
        )));
    }
    if f.node.protected {
        return Err(Error::Forbidden(format!(
            "Node {fu} is protected and cannot be undeployed, rebuilt or deleted"
        )));
    }
    let disk = match (f.node.deploy_interface.as_str(), recorded_disk(&f.node)?) {
        ("m2", Some(d)) => d,
        _ => {
            return Err(Error::invalid(format!(
                "Node {fu} has no disk in Ceph: only nodes deployed with the m2 deploy \
                 interface can be recovered."
            )));
        }
    };
    let spare_state = s.provision_state()?;
    if spare_state != ProvisionState::Available {
        return Err(Error::InvalidState(format!(
            "Spare node {su} is in state {spare_state}: it must be available."
        )));
    }
    if s.node.maintenance {
        return Err(Error::invalid(format!(
            "Spare node {su} is in maintenance mode."
        )));
    }
    if s.node.instance_uuid.is_some() || s.node.allocation_id.is_some() {
        return Err(Error::invalid(format!(
            "Spare node {su} is reserved for an instance already."
        )));
    }
    if s.node.deploy_interface != "m2" {
        return Err(Error::invalid(format!(
            "Spare node {su} must use the m2 deploy interface (it uses {}).",
            s.node.deploy_interface
        )));
    }
    let d = s.drivers.clone();
    for (name, r) in [
        ("power", d.power.validate(&s.node)),
        ("boot", d.boot.validate(&s.node)),
        ("network", d.network.validate(&s.node)),
    ] {
        r.map_err(|e| {
            Error::invalid(format!(
                "Failed to validate {name} info for spare node {su}: {e}"
            ))
        })?;
    }
    if !s.ports.iter().any(|p| p.pxe_enabled) {
        return Err(Error::invalid(format!(
            "Spare node {su} has no port with a MAC address to network-boot from."
        )));
    }
    // The failed node: undeployed, keeping its disk, then held in maintenance.
    let keep = Keep {
        source: "recovery".into(),
        despite_power_failure: true,
        ..Default::default()
    };
    set_internal(&mut f.node, KEEP_KEY, Some(keep.to_json()));
    f.node.maintenance = true;
    f.node.maintenance_reason = Some(format!(
        "Failed; recovered onto node {su}, which boots its disk now."
    ));
    f.node.last_error = None;
    f.process_event(Event::Undeploy).await?;
    // The spare: the failed node's instance, deployed once the disk is free.
    let mut info = f.node.instance_info.clone();
    if let Some(m) = info.as_object_mut() {
        m.insert(RECOVERED_FROM_KEY.into(), json!(fu));
    }
    s.node.instance_info = info;
    s.node.last_error = None;
    s.process_event(Event::Deploy).await?;
    tracing::info!(node = %fu, spare = %su, disk = %disk, "recovery accepted");
    Ok(disk)
}

/// The background part: undeploy of the failed node, then deploy of the spare from
/// the volume its disk became.
async fn run(f: Task, mut s: Task, disk: ImageRef) {
    let conductor = s.conductor().clone();
    let started = std::time::Instant::now();
    let (fu, su) = (f.node.uuid.clone(), s.node.uuid.clone());
    let instance = f.node.instance_uuid.clone();
    super::provision::run(f, Verb::Deleted, Map::new()).await;
    let fenced = started.elapsed();
    let volume = match disk_volumes::by_rbd(&conductor.db, &disk.pool, &disk.name).await {
        Ok(Some(v)) if v.status == disk_volumes::AVAILABLE => Some(v),
        _ => None,
    };
    let attached = match &volume {
        Some(v) => conductor
            .m2
            .volumes
            .attach(v, &su)
            .await
            .map(|_| v.uuid.clone()),
        None => Err(Error::Internal(format!(
            "The disk of node {fu} was not released (see its last_error); the spare \
             was not booted."
        ))),
    };
    let volume = match attached {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(node = %fu, spare = %su, error = %e, "recovery failed");
            if let Err(fail) = s.mark_failed(&format!("Recovery of node {fu} failed: {e}")) {
                tracing::error!(node = %su, error = %fail, "could not record failure");
            }
            let _ = s.finish().await;
            return;
        }
    };
    if let Some(m) = s.node.instance_info.as_object_mut() {
        m.insert("volume".into(), json!(volume));
    }
    s.node.instance_uuid = instance;
    if let Err(e) = s.save().await {
        tracing::error!(node = %su, error = %e, "recovery: could not record the instance");
    }
    tracing::info!(
        node = %fu,
        spare = %su,
        volume = %volume,
        fence_ms = fenced.as_millis() as u64,
        "failed node fenced; deploying the spare from its disk"
    );
    super::provision::run(s, Verb::Active, Map::new()).await;
}
