//! Allocations: finding a node for a request by resource class and traits, and giving
//! it back.
//!
//! `create` records the allocation and answers at once; a background worker then picks
//! a suitable node, takes its reservation, checks it again under the reservation and
//! gives it to the allocation in one transaction (allocation `active` with the node,
//! node `allocation_id` and `instance_uuid`). The reservation is what keeps two
//! allocations from ever taking the same node. With no node left, the allocation ends in
//! `error` with the reason in `last_error`.
//!
//! Backfilling (recording an allocation for a node deployed without one) happens
//! synchronously, under the node's reservation.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use super::Conductor;
use super::states::ProvisionState;
use super::task::Task;
use crate::db::allocations::{self, Allocation};
use crate::db::{conductors, nodes};
use crate::error::{Error, Result};
use crate::rpc::NewAllocation;

/// How many times the worker goes through the candidates when some were locked.
const ROUNDS: u32 = 3;
/// Pause between two rounds.
const ROUND_INTERVAL: Duration = Duration::from_secs(1);

/// States in which a node that is doing something may still lose its allocation.
const UPDATE_ALLOWED: &[ProvisionState] = &[
    ProvisionState::DeployFailed,
    ProvisionState::Inspecting,
    ProvisionState::InspectFailed,
    ProvisionState::InspectWait,
    ProvisionState::CleanFailed,
    ProvisionState::Error,
    ProvisionState::Verifying,
    ProvisionState::AdoptFailed,
    ProvisionState::RescueFailed,
    ProvisionState::UnrescueFailed,
];

/// A list of strings as Python prints it in messages: `['a', 'b']`.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn failed(uuid: &str, error: &str) -> String {
    format!("Failed to process allocation {uuid}: {error}.")
}

/// Records a new allocation and starts looking for its node (or backfills it). Answers
/// the allocation as it was recorded.
pub async fn create(c: &Arc<Conductor>, new: NewAllocation) -> Result<Value> {
    let row = Allocation {
        id: 0,
        uuid: new.uuid.clone(),
        name: new.name.clone(),
        node_id: None,
        state: allocations::ALLOCATING.to_owned(),
        owner: new.owner.clone(),
        last_error: None,
        resource_class: new.resource_class.clone(),
        traits: json!(new.traits),
        candidate_nodes: json!(new.candidate_nodes),
        extra: new.extra.clone(),
        conductor_affinity: conductors::id_of(&c.db, &c.host).await?,
        created_at: Utc::now(),
        updated_at: None,
    };
    let saved = match &new.node {
        Some(node) => backfill(c, row, node).await?,
        None => {
            let saved = allocations::insert(&c.db, row).await?;
            tracing::info!(allocation = %saved.uuid, "allocation created");
            tokio::spawn(allocate(c.clone(), saved.clone()));
            saved
        }
    };
    serde_json::to_value(&saved).map_err(|e| Error::Internal(e.to_string()))
}

/// Resumes the allocations a previous run of this conductor left unprocessed.
pub async fn resume(c: &Arc<Conductor>) -> Result<()> {
    let mine = conductors::id_of(&c.db, &c.host).await?;
    for a in allocations::allocating(&c.db).await? {
        if a.conductor_affinity.is_none() || a.conductor_affinity == mine {
            tracing::info!(allocation = %a.uuid, "resuming allocation");
            tokio::spawn(allocate(c.clone(), a));
        }
    }
    Ok(())
}

/// Records an allocation for a node deployed without one, under the node's
/// reservation: nothing is written unless the node matches the allocation.
async fn backfill(c: &Arc<Conductor>, mut row: Allocation, node_uuid: &str) -> Result<Allocation> {
    // A taken name or UUID is reported before anything about the node, as when the
    // allocation is recorded first.
    if allocations::by_uuid(&c.db, &row.uuid).await?.is_some() {
        return Err(Error::Conflict(format!(
            "An allocation with UUID {} already exists.",
            row.uuid
        )));
    }
    if let Some(name) = &row.name
        && allocations::by_name(&c.db, name).await?.is_some()
    {
        return Err(Error::Conflict(format!(
            "An allocation with name {name} already exists."
        )));
    }
    let mut task = Task::acquire(c, node_uuid, "allocation backfilling").await?;
    let checked = async {
        let node = &task.node;
        let node_traits = nodes::traits(&c.db, node.id).await?;
        let traits = allocations::string_list(&row.traits);
        let candidates = allocations::string_list(&row.candidate_nodes);
        let mut errors = Vec::new();
        if node.provision_state != ProvisionState::Active.as_str() {
            errors.push(format!(
                "Node must be in the \"active\" state, but the current state is \"{}\"",
                node.provision_state
            ));
        }
        if let Some(rc) = &row.resource_class
            && node.resource_class.as_ref() != Some(rc)
        {
            errors.push(format!(
                "Resource class {} does not match the requested resource class {rc}",
                node.resource_class.as_deref().unwrap_or("None")
            ));
        }
        if !traits.iter().all(|t| node_traits.contains(t)) {
            errors.push(format!(
                "List of traits {} does not match the requested traits {}",
                py_list(&node_traits),
                py_list(&traits)
            ));
        }
        if !candidates.is_empty() && !candidates.contains(&node.uuid) {
            errors.push(format!(
                "Candidate nodes must be empty or contain the target node, but got {}",
                py_list(&candidates)
            ));
        }
        if !errors.is_empty() {
            let error = format!(
                "Cannot backfill an allocation for node {}: {}",
                node.uuid,
                errors.join("; ")
            );
            return Err(Error::invalid(failed(&row.uuid, &error)));
        }
        if let Some(instance) = &node.instance_uuid
            && *instance != row.uuid
        {
            return Err(Error::Conflict(format!(
                "Node {} is associated with instance {instance}.",
                node.uuid
            )));
        }
        if node.allocation_id.is_some() {
            return Err(Error::Conflict(format!(
                "Node {} already has an allocation.",
                node.uuid
            )));
        }
        Ok(())
    }
    .await;
    if let Err(e) = checked {
        task.release().await;
        return Err(e);
    }
    if row.resource_class.is_none() {
        row.resource_class = task.node.resource_class.clone();
    }
    row.state = allocations::ACTIVE.to_owned();
    row.node_id = Some(task.node.id);
    give(&mut task.node, &row);
    match allocations::insert_with_node(&c.db, row, &mut task.node).await {
        Ok(saved) => {
            task.released_by_write();
            tracing::info!(allocation = %saved.uuid, node = %node_uuid, "allocation backfilled");
            Ok(saved)
        }
        Err(e) => {
            task.release().await;
            Err(e)
        }
    }
}

/// Points the node at the allocation, as the write that reserves it will store it, and
/// clears its reservation in the same write.
fn give(node: &mut nodes::Node, a: &Allocation) {
    node.instance_uuid = Some(a.uuid.clone());
    if let Some(ii) = node.instance_info.as_object_mut() {
        ii.insert("traits".into(), a.traits.clone());
    } else {
        node.instance_info = json!({"traits": a.traits});
    }
    node.reservation = None;
}

/// What one attempt to take a node came to.
enum Attempt {
    /// The node is the allocation's now.
    Taken,
    /// The allocation was deleted (or finished) meanwhile; stop.
    Gone,
    /// Somebody holds the node's reservation; it may be worth another round.
    Locked,
    /// The node no longer suits the allocation.
    Unsuitable,
}

/// The background worker: finds and reserves a node, or records why not.
pub async fn allocate(c: Arc<Conductor>, a: Allocation) {
    let span = tracing::info_span!("allocation", allocation = %a.uuid);
    let outcome = tracing::Instrument::instrument(reserve_one(&c, &a), span).await;
    let message = match outcome {
        Ok(None) => return,
        Ok(Some(error)) => {
            tracing::error!(allocation = %a.uuid, error = %error, "allocation failed");
            failed(&a.uuid, &error)
        }
        Err(e) => {
            tracing::error!(allocation = %a.uuid, error = %e, "allocation failed unexpectedly");
            format!("Unexpected exception during allocation: {e}")
        }
    };
    match allocations::fail(&c.db, a.id, &message).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(allocation = %a.uuid, "not recording the failure of a deleted allocation")
        }
        Err(e) => {
            tracing::error!(allocation = %a.uuid, error = %e, "could not record the allocation failure")
        }
    }
}

/// Tries the suitable nodes in random order (a node named like the allocation first),
/// for up to [`ROUNDS`] rounds while some were locked. `Ok(None)` when done (a node was
/// taken, or the allocation went away); `Ok(Some(reason))` when no node could be had.
async fn reserve_one(c: &Arc<Conductor>, a: &Allocation) -> Result<Option<String>> {
    let rc = a.resource_class.as_deref().unwrap_or("None");
    let wanted = allocations::string_list(&a.traits);
    for round in 1..=ROUNDS {
        let mut nodes = allocations::candidate_nodes(&c.db, a).await?;
        if nodes.is_empty() {
            return Ok(Some(
                if allocations::string_list(&a.candidate_nodes).is_empty() {
                    format!("no available nodes match the resource class {rc}")
                } else {
                    format!(
                        "none of the requested nodes are available and match the resource \
                         class {rc}"
                    )
                },
            ));
        }
        if !wanted.is_empty() {
            let ids: Vec<i64> = nodes.iter().map(|n| n.id).collect();
            let traits = nodes::traits_of(&c.db, &ids).await?;
            nodes.retain(|n| {
                let have = traits.get(&n.id);
                wanted.iter().all(|t| have.is_some_and(|h| h.contains(t)))
            });
            if nodes.is_empty() {
                return Ok(Some(format!(
                    "no suitable nodes have the requested traits {}",
                    wanted.join(", ")
                )));
            }
        }
        nodes.shuffle(&mut rand::rng());
        if let Some(name) = &a.name
            && let Some(i) = nodes.iter().position(|n| n.name.as_ref() == Some(name))
        {
            let n = nodes.remove(i);
            nodes.insert(0, n);
        }
        tracing::debug!(count = nodes.len(), round, "candidate nodes");
        let mut locked = 0;
        for n in &nodes {
            match take(c, a, &n.uuid, &wanted).await? {
                Attempt::Taken | Attempt::Gone => return Ok(None),
                Attempt::Locked => locked += 1,
                Attempt::Unsuitable => {}
            }
        }
        if locked == 0 {
            return Ok(Some(
                "all nodes were filtered out during reservation".into(),
            ));
        }
        if round == ROUNDS {
            return Ok(Some(format!(
                "could not reserve any of {locked} suitable nodes"
            )));
        }
        tokio::time::sleep(ROUND_INTERVAL).await;
    }
    Ok(None)
}

/// Takes one node for the allocation if it can be had right now and still suits it.
async fn take(
    c: &Arc<Conductor>,
    a: &Allocation,
    uuid: &str,
    wanted: &[String],
) -> Result<Attempt> {
    let mut task = match Task::try_acquire(c, uuid, "allocating").await {
        Ok(Some(t)) => t,
        Ok(None) => {
            tracing::debug!(node = %uuid, "node is locked, moving on");
            return Ok(Attempt::Locked);
        }
        Err(e) => {
            tracing::debug!(node = %uuid, error = %e, "node can not be reserved, moving on");
            return Ok(Attempt::Unsuitable);
        }
    };
    let n = &task.node;
    let mut suitable = !n.maintenance
        && n.instance_uuid.is_none()
        && n.allocation_id.is_none()
        && n.provision_state == ProvisionState::Available.as_str()
        && n.resource_class == a.resource_class;
    if suitable && !wanted.is_empty() {
        match nodes::traits(&c.db, n.id).await {
            Ok(have) => suitable = wanted.iter().all(|t| have.contains(t)),
            Err(e) => {
                task.release().await;
                return Err(e);
            }
        }
    }
    if !suitable {
        tracing::debug!(node = %uuid, "node no longer suits the allocation, moving on");
        task.release().await;
        return Ok(Attempt::Unsuitable);
    }
    task.node.allocation_id = Some(a.id);
    give(&mut task.node, a);
    match allocations::activate(&c.db, a.id, &mut task.node).await {
        Ok(true) => {
            task.released_by_write();
            tracing::info!(node = %uuid, allocation = %a.uuid, "node reserved for allocation");
            Ok(Attempt::Taken)
        }
        Ok(false) => {
            task.release().await;
            tracing::info!(allocation = %a.uuid, "allocation went away while it was processed");
            Ok(Attempt::Gone)
        }
        Err(Error::Conflict(msg)) => {
            task.release().await;
            tracing::debug!(node = %uuid, error = %msg, "node was taken meanwhile, moving on");
            Ok(Attempt::Unsuitable)
        }
        Err(e) => {
            task.release().await;
            Err(e)
        }
    }
}

/// Deletes an allocation and frees its node (clears the node's allocation and the
/// instance the allocation put there). Refused while the node is deployed or busy,
/// unless it is in maintenance.
pub async fn destroy(c: &Arc<Conductor>, uuid: &str) -> Result<Value> {
    // Two passes at most: an allocation that had no node may get one meanwhile.
    for _ in 0..2 {
        let a = allocations::by_uuid(&c.db, uuid)
            .await?
            .ok_or_else(|| Error::not_found("Allocation", uuid))?;
        let node = match a.node_id {
            Some(id) => nodes::by_id(&c.db, id).await?,
            None => None,
        };
        let Some(node) = node else {
            if a.node_id.is_some() {
                allocations::delete(&c.db, a.id).await?;
                return Ok(Value::Null);
            }
            if allocations::delete_unassigned(&c.db, a.id).await? {
                tracing::info!(allocation = %uuid, "allocation deleted");
                return Ok(Value::Null);
            }
            continue;
        };
        let mut task = Task::acquire(c, &node.uuid, "allocation deletion").await?;
        if let Err(e) = check_release(&task.node, &a) {
            task.release().await;
            return Err(e);
        }
        if task.node.allocation_id == Some(a.id) {
            task.node.allocation_id = None;
            if task.node.instance_uuid.as_deref() == Some(a.uuid.as_str()) {
                task.node.instance_uuid = None;
            }
        }
        task.node.reservation = None;
        return match allocations::delete_with_node(&c.db, a.id, &mut task.node).await {
            Ok(()) => {
                task.released_by_write();
                tracing::info!(allocation = %uuid, node = %node.uuid, "allocation deleted");
                Ok(Value::Null)
            }
            Err(e) => {
                task.release().await;
                Err(e)
            }
        };
    }
    Err(Error::Conflict(format!(
        "Allocation {uuid} changed while it was being deleted, please retry."
    )))
}

/// May the allocation `a` be taken off `node` now?
fn check_release(node: &nodes::Node, a: &Allocation) -> Result<()> {
    if node.maintenance {
        return Ok(());
    }
    let state = node.provision_state.parse::<ProvisionState>().ok();
    if node.target_provision_state.is_some() && !state.is_some_and(|s| UPDATE_ALLOWED.contains(&s))
    {
        return Err(Error::Conflict(format!(
            "Cannot remove allocation {} for node {}, because the node is in state {} where \
             updates are not allowed (and maintenance mode is off)",
            a.uuid, node.uuid, node.provision_state
        )));
    }
    if state == Some(ProvisionState::Active) {
        return Err(Error::Conflict(format!(
            "Cannot remove allocation {} for node {}, because the node is active (and \
             maintenance mode is off)",
            a.uuid, node.uuid
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(py_list(&["A".into(), "B".into()]), "['A', 'B']");
        assert_eq!(py_list(&[]), "[]");
        assert_eq!(
            failed("u", "no available nodes match the resource class x"),
            "Failed to process allocation u: no available nodes match the resource class x."
        );
    }
}
