//! Taking nodes over from conductors that died or left, and cleaning up after this
//! conductor's own interrupted work.
//!
//! - Orphans: a conductor that stopped heartbeating for `[conductor]
//!   heartbeat_timeout` is dead. Each node it held a reservation on is claimed by the
//!   conductor the hash ring now maps it to, with one conditional write (`UPDATE ...
//!   SET reservation = me WHERE reservation = dead`), so two survivors never both
//!   take the same node. A node left mid-operation is failed through the state
//!   machine (`deploying` → `deploy failed`, `cleaning` → `clean failed`, ...) with a
//!   `last_error` that names the dead conductor; a pending power action is dropped.
//! - Stale locks: a reservation in this conductor's name that no task of this
//!   process holds (its release failed while the database was away) is settled the
//!   same way and released.
//! - Active nodes newly mapped to this conductor (the ring moved) are adopted: the
//!   boot and deploy interfaces' `take_over` re-create what the node needs from its
//!   conductor (boot configuration, exports), so a running node keeps working. The
//!   node's `conductor_affinity` records the adoption.

use std::sync::Arc;

use chrono::Utc;

use super::Conductor;
use super::states::{self, Event, ProvisionState};
use super::task::Task;
use crate::db::{conductors, nodes};
use crate::error::Result;

/// Brings a node whose operation was interrupted to a stable state, in memory (the
/// caller writes it): a transient provision state fails with `message`, where
/// `{state}` stands for the state; a pending power action is dropped.
pub fn settle(task: &mut Task, message: &str) {
    let n = &mut task.node;
    let state = n.provision_state.parse::<ProvisionState>().ok();
    if let Some(state) = state.filter(|s| s.is_transient())
        && let Some(step) = states::resolve(state, Event::Fail, None)
    {
        let msg = message.replace("{state}", state.as_str());
        tracing::warn!(node = %n.uuid, from = %state, to = %step.provision_state, "failing interrupted operation");
        n.last_error = Some(msg);
        n.provision_state = step.provision_state.as_str().to_owned();
        n.target_provision_state = step.target.map(|t| t.as_str().to_owned());
        n.provision_updated_at = Some(Utc::now());
    }
    if let Some(target) = n.target_power_state.take() {
        let msg = message.replace("{state}", &target);
        tracing::warn!(node = %n.uuid, target = %target, "dropping interrupted power action");
        if n.last_error.is_none() {
            n.last_error = Some(msg);
        }
    }
}

/// Claims the nodes of dead conductors that the ring maps to this one and settles
/// them. Returns how many were taken.
pub async fn fail_orphans(c: &Arc<Conductor>) -> Result<usize> {
    if !c.trusts_heartbeats() {
        tracing::info!("own heartbeats failed recently; not judging other conductors dead yet");
        return Ok(0);
    }
    let rows = conductors::list(&c.db).await?;
    let timeout = c.config.conductor.heartbeat_timeout;
    let dead: Vec<&str> = rows
        .iter()
        .filter(|r| r.hostname != c.host && conductors::is_dead(r, timeout))
        .map(|r| r.hostname.as_str())
        .collect();
    if dead.is_empty() {
        return Ok(0);
    }
    let rings = c.ring.rings().await?;
    let mut taken = 0;
    for n in nodes::reserved(&c.db).await? {
        let Some(holder) = n.reservation.as_deref() else {
            continue;
        };
        if !dead.contains(&holder) || rings.owner_of(&n) != Some(c.host.as_str()) {
            continue;
        }
        if !c.begin_check(n.id) {
            continue;
        }
        match nodes::take_reservation(&c.db, n.id, holder, &c.host).await {
            Ok(true) => c.check_to_hold(n.id),
            Ok(false) => {
                // Another conductor was faster, or the holder came back.
                c.end_check(n.id);
                continue;
            }
            Err(e) => {
                c.end_check(n.id);
                return Err(e);
            }
        }
        let Ok(mut task) = Task::adopt(c, n.id).await else {
            continue;
        };
        tracing::warn!(node = %n.uuid, dead = holder, "took the reservation of a dead conductor");
        settle(
            &mut task,
            &format!(
                "The conductor {holder} stopped heartbeating while the node was in state \
                 \"{{state}}\"; the operation was aborted. The node was taken over by {}.",
                c.host
            ),
        );
        if task.finish().await.is_ok() {
            taken += 1;
        }
    }
    if taken > 0 {
        tracing::warn!(count = taken, "took over nodes of dead conductors");
    }
    Ok(taken)
}

/// Settles and releases reservations in this conductor's name that none of its
/// tasks holds. Returns how many.
pub async fn clear_stale_locks(c: &Arc<Conductor>) -> Result<usize> {
    let mine = nodes::all(
        &c.db,
        &nodes::NodeFilter {
            reserved_by: Some(c.host.clone()),
            ..Default::default()
        },
    )
    .await?;
    let mut cleared = 0;
    for n in mine {
        if !c.begin_check(n.id) {
            continue;
        }
        // No task of ours holds it, and none can take it until the check ends: if the
        // database still has it reserved in our name, the reservation is stale.
        let fresh = match nodes::by_id(&c.db, n.id).await {
            Ok(f) => f,
            Err(e) => {
                c.end_check(n.id);
                return Err(e);
            }
        };
        if fresh.and_then(|f| f.reservation).as_deref() != Some(c.host.as_str()) {
            c.end_check(n.id);
            continue;
        }
        c.check_to_hold(n.id);
        let Ok(mut task) = Task::adopt(c, n.id).await else {
            continue;
        };
        tracing::warn!(node = %n.uuid, "clearing a stale reservation of this conductor");
        settle(
            &mut task,
            &format!(
                "The operation on the node in state \"{{state}}\" was interrupted on \
                 conductor {} and did not finish.",
                c.host
            ),
        );
        if task.finish().await.is_ok() {
            cleared += 1;
        }
    }
    Ok(cleared)
}

/// Adopts active nodes that the ring maps to this conductor but another conductor
/// deployed or last adopted. Returns how many.
pub async fn take_over_active(c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<usize> {
    let me = c.id();
    if me == 0 {
        return Ok(0);
    }
    let mut adopted = 0;
    for n in owned {
        if n.maintenance
            || n.reservation.is_some()
            || n.provision_state != ProvisionState::Active.as_str()
            || n.conductor_affinity == Some(me)
        {
            continue;
        }
        if c.is_stopping() {
            break;
        }
        let Ok(mut task) = Task::acquire(c, &n.uuid, "node take over").await else {
            continue;
        };
        // Checked again under the lock.
        if task.node.maintenance
            || task.node.provision_state != ProvisionState::Active.as_str()
            || task.node.conductor_affinity == Some(me)
        {
            task.release().await;
            continue;
        }
        let previous = task.node.conductor_affinity;
        let boot = task.drivers.boot.clone();
        let deploy = task.drivers.deploy.clone();
        let result = async {
            boot.take_over(&mut task.ctx()).await?;
            deploy.take_over(&mut task.ctx()).await
        }
        .await;
        match result {
            Ok(()) => {
                task.node.conductor_affinity = Some(me);
                tracing::info!(node = %task.node.uuid, from = ?previous, host = %c.host, "took over active node");
                if task.finish().await.is_ok() {
                    adopted += 1;
                }
            }
            Err(e) => {
                tracing::error!(node = %task.node.uuid, error = %e, "take over of an active node failed");
                task.node.last_error = Some(format!(
                    "Conductor {} could not take the node over: {e}",
                    c.host
                ));
                let _ = task.finish().await;
            }
        }
    }
    Ok(adopted)
}
