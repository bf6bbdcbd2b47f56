//! VIF attachment: a tenant network port (VIF) is recorded on one of the node's ports
//! or portgroups, in its `internal_info.tenant_vif_port_id`, as Ironic does.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Conductor;
use super::task::Task;
use crate::db::ports;
use crate::error::{Error, Result};

const VIF_KEY: &str = "tenant_vif_port_id";

fn vif_of(internal_info: &Value) -> Option<&str> {
    internal_info.get(VIF_KEY).and_then(Value::as_str)
}

/// The VIF attached to a port, if any.
pub fn vif_of_port(p: &ports::Port) -> Option<&str> {
    vif_of(&p.internal_info)
}

/// The VIF attached to a portgroup, if any.
pub fn vif_of_portgroup(g: &ports::Portgroup) -> Option<&str> {
    vif_of(&g.internal_info)
}

fn with_vif(internal_info: &Value, vif: Option<&str>) -> Value {
    let mut m = internal_info.as_object().cloned().unwrap_or_default();
    match vif {
        Some(v) => m.insert(VIF_KEY.into(), Value::String(v.to_owned())),
        None => m.remove(VIF_KEY),
    };
    Value::Object(m)
}

/// Attaches a VIF to a free port (portgroups first, then PXE-enabled ports).
pub async fn attach(
    conductor: &Arc<Conductor>,
    uuid: &str,
    vif: Map<String, Value>,
) -> Result<Value> {
    let vif_id = vif
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("The VIF must have an \"id\"."))?
        .to_owned();
    let task = Task::acquire(conductor, uuid, "vif attach").await?;
    let result = async {
        let db = &conductor.db;
        let groups = ports::portgroups_of(db, task.node.id).await?;
        let already = groups
            .iter()
            .any(|g| vif_of(&g.internal_info) == Some(&vif_id))
            || task
                .ports
                .iter()
                .any(|p| vif_of(&p.internal_info) == Some(&vif_id));
        if already {
            return Err(Error::Conflict(format!(
                "Unable to attach VIF {vif_id} to node {}: it is already attached.",
                task.node.uuid
            )));
        }
        let wanted_port = vif.get("port_uuid").and_then(Value::as_str);
        let wanted_group = vif.get("portgroup_uuid").and_then(Value::as_str);
        if let Some(g) = groups.iter().find(|g| {
            vif_of(&g.internal_info).is_none()
                && wanted_port.is_none()
                && wanted_group.is_none_or(|w| w == g.uuid)
        }) {
            return ports::set_portgroup_internal_info(
                db,
                g,
                with_vif(&g.internal_info, Some(&vif_id)),
            )
            .await;
        }
        let mut candidates: Vec<_> = task
            .ports
            .iter()
            .filter(|p| p.portgroup_id.is_none() && vif_of(&p.internal_info).is_none())
            .filter(|p| wanted_port.is_none_or(|w| w == p.uuid))
            .collect();
        candidates.sort_by_key(|p| !p.pxe_enabled);
        match candidates.first() {
            Some(p) => {
                ports::set_port_internal_info(db, p, with_vif(&p.internal_info, Some(&vif_id)))
                    .await
            }
            None => Err(Error::Conflict(format!(
                "Unable to attach VIF {vif_id}, not enough free physical ports on node {}.",
                task.node.uuid
            ))),
        }
    }
    .await;
    task.release().await;
    result.map(|_| Value::Null)
}

/// Detaches a VIF; 400 when the node does not have it.
pub async fn detach(conductor: &Arc<Conductor>, uuid: &str, vif_id: &str) -> Result<Value> {
    let task = Task::acquire(conductor, uuid, "vif detach").await?;
    let result = async {
        let db = &conductor.db;
        for g in ports::portgroups_of(db, task.node.id).await? {
            if vif_of(&g.internal_info) == Some(vif_id) {
                return ports::set_portgroup_internal_info(
                    db,
                    &g,
                    with_vif(&g.internal_info, None),
                )
                .await;
            }
        }
        for p in &task.ports {
            if vif_of(&p.internal_info) == Some(vif_id) {
                return ports::set_port_internal_info(db, p, with_vif(&p.internal_info, None))
                    .await;
            }
        }
        Err(Error::invalid(format!(
            "Unable to detach VIF {vif_id} from node {}: it is not attached.",
            task.node.uuid
        )))
    }
    .await;
    task.release().await;
    result.map(|_| Value::Null)
}

/// VIFs attached to the node.
pub async fn list(conductor: &Arc<Conductor>, uuid: &str) -> Result<Value> {
    let db = &conductor.db;
    let node = crate::db::nodes::get(db, uuid).await?;
    let mut vifs = Vec::new();
    for g in ports::portgroups_of(db, node.id).await? {
        if let Some(v) = vif_of(&g.internal_info) {
            vifs.push(json!({"id": v}));
        }
    }
    for p in crate::db::nodes::ports(db, node.id).await? {
        if let Some(v) = vif_of(&p.internal_info) {
            vifs.push(json!({"id": v}));
        }
    }
    Ok(json!({"vifs": vifs}))
}
