//! Periodic tasks of a conductor: heartbeat, and power state sync of the nodes it owns.

use std::sync::Arc;
use std::time::Duration;

use super::Conductor;
use super::task::Task;
use crate::db::{conductors, nodes};
use crate::drivers::PowerState;
use crate::error::Result;

/// Registers this conductor with the hardware types it serves.
pub async fn register(c: &Arc<Conductor>) -> Result<()> {
    let types: Vec<String> = c
        .registry
        .enabled_hardware_types(&c.config)
        .iter()
        .map(|h| h.name.to_owned())
        .collect();
    conductors::register(&c.db, &c.host, &c.config.conductor.conductor_group, &types).await
}

/// Spawns the periodic loop.
pub fn spawn(c: Arc<Conductor>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let heartbeat = Duration::from_secs(c.config.conductor.heartbeat_interval.max(1));
        let sync_every = c.config.conductor.sync_power_state_interval;
        let mut hb = tokio::time::interval(heartbeat);
        let mut sync = tokio::time::interval(Duration::from_secs(sync_every.max(1)));
        let reconcile_every = c.config.iscsi.reconcile_interval;
        let mut reconcile = tokio::time::interval(Duration::from_secs(reconcile_every.max(1)));
        hb.tick().await;
        sync.tick().await;
        reconcile.tick().await;
        loop {
            tokio::select! {
                _ = hb.tick() => {
                    if let Err(e) = conductors::touch(&c.db, &c.host).await {
                        tracing::error!(error = %e, "heartbeat failed");
                    }
                }
                _ = reconcile.tick(), if reconcile_every > 0 => {
                    if let Err(e) = reconcile_exports(&c).await {
                        tracing::warn!(error = %e, "iSCSI export reconciliation failed");
                    }
                }
                _ = sync.tick(), if sync_every > 0 => {
                    if let Err(e) = sync_power_states(&c).await {
                        tracing::error!(error = %e, "power state sync failed");
                    }
                    if let Err(e) = fail_timed_out_waits(&c).await {
                        tracing::error!(error = %e, "call-back timeout check failed");
                    }
                }
            }
        }
    })
}

/// Compares each idle node's recorded power state with what its power interface
/// reports, and records changes made out of band.
pub async fn sync_power_states(c: &Arc<Conductor>) -> Result<()> {
    let candidates = nodes::all(
        &c.db,
        &nodes::NodeFilter {
            maintenance: Some(false),
            conductor_group: Some(c.config.conductor.conductor_group.clone()),
            ..Default::default()
        },
    )
    .await?;
    for n in candidates {
        if n.reservation.is_some() || n.power_state.is_none() {
            continue;
        }
        let Ok(mut task) = Task::acquire(c, &n.uuid, "power state sync").await else {
            continue;
        };
        let power = task.drivers.power.clone();
        match power.get_power_state(&task.node).await {
            Ok(actual) => {
                let recorded = task.node.power_state.as_deref().and_then(PowerState::parse);
                match recorded {
                    Some(want)
                        if want != actual && c.config.conductor.force_power_state_during_sync =>
                    {
                        tracing::warn!(
                            node = %task.node.uuid,
                            recorded = want.as_str(),
                            actual = actual.as_str(),
                            "power state changed out of band; restoring the recorded state"
                        );
                        if let Err(e) = power.set_power_state(&mut task.node, want, None).await {
                            tracing::error!(node = %task.node.uuid, error = %e, "could not restore power state");
                        }
                    }
                    Some(want) if want != actual => {
                        tracing::warn!(
                            node = %task.node.uuid,
                            recorded = want.as_str(),
                            actual = actual.as_str(),
                            "power state changed out of band; recording it"
                        );
                        task.node.power_state = Some(actual.as_str().to_owned());
                        if let Err(e) = task.save().await {
                            tracing::error!(node = %task.node.uuid, error = %e, "could not save power state");
                        }
                    }
                    _ => {}
                }
            }
            Err(e) => {
                tracing::warn!(node = %task.node.uuid, error = %e, "could not read power state");
            }
        }
        task.release().await;
    }
    Ok(())
}

/// Provision states in which a deployed node runs from its disk, so its iSCSI target
/// must exist.
const EXPORTED_STATES: &[&str] = &[
    "active",
    "rescue",
    "rescuing",
    "unrescuing",
    "rescue failed",
];

/// Brings tgtd in line with the database: targets of running nodes that tgtd lost (it
/// keeps nothing across a restart) are re-created with the same disk and credentials;
/// targets of m2 nodes that no node records are removed. Nodes a task holds are left
/// for the next round.
pub async fn reconcile_exports(c: &Arc<Conductor>) -> Result<()> {
    let targets = c.m2.targets.as_ref();
    // tgtd first, the database second: a target exported after its node recorded it
    // is then always matched by the record.
    let present = match targets.list().await {
        Ok(t) => t,
        Err(crate::error::Error::Unavailable(msg)) => {
            tracing::debug!(%msg, "tgtd not reachable; reconciliation skipped");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let all = nodes::all(
        &c.db,
        &nodes::NodeFilter {
            conductor_group: Some(c.config.conductor.conductor_group.clone()),
            ..Default::default()
        },
    )
    .await?;
    let mut recorded = std::collections::HashSet::new();
    let (mut restored, mut removed) = (0usize, 0usize);
    for n in &all {
        let Some(iqn) = n
            .driver_internal_info
            .get(crate::drivers::m2::TARGET_KEY)
            .and_then(serde_json::Value::as_str)
        else {
            continue;
        };
        recorded.insert(iqn.to_owned());
        let missing = !present.iter().any(|t| t.iqn == iqn);
        if !missing || !EXPORTED_STATES.contains(&n.provision_state.as_str()) {
            continue;
        }
        if n.reservation.is_some() {
            continue;
        }
        let Ok(mut task) = Task::acquire(c, &n.uuid, "export reconciliation").await else {
            continue;
        };
        let deploy = task.drivers.deploy.clone();
        match deploy.take_over(&mut task.ctx()).await {
            Ok(()) => restored += 1,
            Err(e) => {
                tracing::error!(node = %n.uuid, error = %e, "could not re-create the node's iSCSI target")
            }
        }
        task.release().await;
    }
    for t in &present {
        if targets.node_of(t).is_some() && !recorded.contains(&t.iqn) {
            match targets.unexport(&t.iqn).await {
                Ok(_) => {
                    removed += 1;
                    tracing::warn!(target = %t.iqn, "removed an iSCSI target no node records");
                }
                Err(e) => {
                    tracing::error!(target = %t.iqn, error = %e, "could not remove an orphan target")
                }
            }
        }
    }
    if restored + removed > 0 {
        tracing::info!(restored, removed, "reconciled iSCSI exports");
    }
    Ok(())
}

/// Fails nodes that waited for a call-back longer than the configured timeout.
pub async fn fail_timed_out_waits(c: &Arc<Conductor>) -> Result<()> {
    use super::states::ProvisionState;
    let checks = [
        (
            ProvisionState::DeployWait,
            c.config.conductor.deploy_callback_timeout,
        ),
        (
            ProvisionState::CleanWait,
            c.config.conductor.clean_callback_timeout,
        ),
    ];
    for (state, timeout) in checks {
        if timeout == 0 {
            continue;
        }
        let waiting = nodes::all(
            &c.db,
            &nodes::NodeFilter {
                provision_state: Some(state.as_str().to_owned()),
                ..Default::default()
            },
        )
        .await?;
        let deadline = chrono::Utc::now() - chrono::Duration::seconds(timeout as i64);
        for n in waiting {
            if n.reservation.is_some() || n.provision_updated_at.is_some_and(|t| t > deadline) {
                continue;
            }
            let Ok(mut task) = Task::acquire(c, &n.uuid, "call-back timeout").await else {
                continue;
            };
            if task.provision_state().ok() == Some(state) {
                let msg = format!(
                    "Timeout reached while waiting for a call-back in state \"{state}\" \
                     ({timeout} s)."
                );
                if let Err(e) = task.fail(&msg).await {
                    tracing::error!(node = %n.uuid, error = %e, "could not fail timed-out node");
                }
            }
            task.release().await;
        }
    }
    Ok(())
}
