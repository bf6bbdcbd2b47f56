//! Periodic work of a conductor: the heartbeat, and tasks over the nodes the hash ring
//! maps to it.
//!
//! The heartbeat runs in a loop of its own, so that a long pass over the nodes never
//! delays it. It also watches the set of alive conductors: when that changes, the
//! ring is rebuilt and the take-over tasks run at once instead of at their next
//! tick.
//!
//! Every other periodic task implements [`PeriodicTask`]: a name, a spacing read
//! from the configuration, and a `run` over the nodes this conductor owns. The
//! built-in ones are the take-over of nodes left by dead conductors (with the
//! stale-lock and call-back timeout checks), the take-over of active nodes, and the
//! power state sync; [`Conductor::add_periodic_task`] adds more (reconciliation loops
//! of drivers).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::Conductor;
use super::states::ProvisionState;
use super::takeover;
use super::task::Task;
use crate::config::Config;
use crate::db::{conductors, nodes};
use crate::drivers::PowerState;
use crate::error::Result;

/// A task the conductor runs every so often over the nodes it owns.
#[async_trait]
pub trait PeriodicTask: Send + Sync {
    /// Name, for logs.
    fn name(&self) -> &'static str;
    /// Seconds between two runs; 0 turns the task off.
    fn spacing(&self, config: &Config) -> u64;
    /// Also run when the set of alive conductors changed?
    fn on_ring_change(&self) -> bool {
        false
    }
    /// One pass. `owned` are the nodes the hash ring maps to this conductor, as read
    /// at the start of the pass (unlocked: take a [`Task`] before changing one).
    async fn run(&self, c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()>;
}

/// The built-in periodic tasks.
pub fn builtin() -> Vec<Arc<dyn PeriodicTask>> {
    vec![
        Arc::new(CheckProvisionState),
        Arc::new(SyncLocalState),
        Arc::new(SyncPowerState),
        Arc::new(ReconcileExports),
    ]
}

/// tgtd's targets against the nodes (see [`reconcile_exports`]).
struct ReconcileExports;

#[async_trait]
impl PeriodicTask for ReconcileExports {
    fn name(&self) -> &'static str {
        "iSCSI export reconciliation"
    }
    fn spacing(&self, config: &Config) -> u64 {
        config.iscsi.reconcile_interval
    }
    /// Also when the conductor goes online: that is its start.
    fn on_ring_change(&self) -> bool {
        true
    }
    async fn run(&self, c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
        reconcile_exports(c, owned).await
    }
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

/// Brings tgtd in line with the database: targets of running nodes this conductor owns
/// that tgtd lost (it keeps nothing across a restart) are re-created with the same
/// disk and credentials; m2 targets that no node records are removed. Nodes a task
/// holds are left for the next round.
pub async fn reconcile_exports(c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
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
    let recorded_by = |n: &nodes::Node| {
        n.driver_internal_info
            .get(crate::drivers::m2::TARGET_KEY)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    // Every node's records count against orphans: tgtd may be shared by conductors.
    let recorded: std::collections::HashSet<String> = nodes::all(&c.db, &Default::default())
        .await?
        .iter()
        .filter_map(recorded_by)
        .collect();
    let (mut restored, mut removed) = (0usize, 0usize);
    for n in owned {
        let Some(iqn) = recorded_by(n) else { continue };
        let missing = !present.iter().any(|t| t.iqn == iqn);
        if !missing
            || !EXPORTED_STATES.contains(&n.provision_state.as_str())
            || n.reservation.is_some()
        {
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

/// Nodes of dead conductors, stale reservations, call-back timeouts.
struct CheckProvisionState;

#[async_trait]
impl PeriodicTask for CheckProvisionState {
    fn name(&self) -> &'static str {
        "check provision state"
    }
    fn spacing(&self, config: &Config) -> u64 {
        config.conductor.check_provision_state_interval
    }
    fn on_ring_change(&self) -> bool {
        true
    }
    async fn run(&self, c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
        takeover::fail_orphans(c).await?;
        takeover::clear_stale_locks(c).await?;
        fail_timed_out_waits(c, owned).await
    }
}

/// Adoption of active nodes newly mapped to this conductor.
struct SyncLocalState;

#[async_trait]
impl PeriodicTask for SyncLocalState {
    fn name(&self) -> &'static str {
        "take over active nodes"
    }
    fn spacing(&self, config: &Config) -> u64 {
        config.conductor.sync_local_state_interval
    }
    fn on_ring_change(&self) -> bool {
        true
    }
    async fn run(&self, c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
        takeover::take_over_active(c, owned).await.map(|_| ())
    }
}

/// Power state sync.
struct SyncPowerState;

#[async_trait]
impl PeriodicTask for SyncPowerState {
    fn name(&self) -> &'static str {
        "power state sync"
    }
    fn spacing(&self, config: &Config) -> u64 {
        config.conductor.sync_power_state_interval
    }
    async fn run(&self, c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
        sync_power_states(c, owned).await
    }
}

/// Registers this conductor with the hardware types it serves; `online` says whether
/// it takes requests yet.
pub async fn register(c: &Arc<Conductor>, online: bool) -> Result<()> {
    let types: Vec<String> = c
        .registry
        .enabled_hardware_types(&c.config)
        .iter()
        .map(|h| h.name.to_owned())
        .collect();
    let id = conductors::register(
        &c.db,
        &c.host,
        &c.config.conductor.conductor_group,
        &types,
        online,
    )
    .await?;
    c.set_id(id);
    Ok(())
}

/// The nodes the ring maps to this conductor.
pub async fn owned_nodes(c: &Arc<Conductor>) -> Result<Vec<nodes::Node>> {
    let rings = c.ring.rings().await?;
    let all = nodes::all(&c.db, &nodes::NodeFilter::default()).await?;
    Ok(all
        .into_iter()
        .filter(|n| rings.owner_of(n) == Some(c.host.as_str()))
        .collect())
}

/// Spawns the heartbeat loop and the loop of periodic tasks; both end when the
/// conductor stops (the heartbeat only once it has given everything back, see
/// [`Conductor::shutdown`]).
pub fn spawn(c: Arc<Conductor>) {
    tokio::spawn(heartbeat_loop(c.clone()));
    tokio::spawn(task_loop(c));
}

async fn heartbeat_loop(c: Arc<Conductor>) {
    let every = Duration::from_secs(c.config.conductor.heartbeat_interval.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut alive: Option<BTreeSet<String>> = None;
    let mut failing_since: Option<Instant> = None;
    loop {
        tick.tick().await;
        // The heartbeat goes on while draining (others must not take our nodes
        // meanwhile); it stops once the conductor gave everything back.
        if c.is_stopping() && c.running() == 0 && c.held().is_empty() {
            break;
        }
        match conductors::touch(&c.db, &c.host).await {
            Ok(true) => {
                if let Some(since) = failing_since.take() {
                    tracing::info!(after = ?since.elapsed(), "heartbeat written again");
                }
            }
            Ok(false) => {
                // The row was deleted under us: register again.
                tracing::warn!("conductor row missing; registering again");
                let online = !c.is_stopping();
                if let Err(e) = register(&c, online).await {
                    tracing::error!(error = %e, "could not register the conductor");
                }
            }
            Err(e) => {
                c.heartbeat_failed();
                let since = *failing_since.get_or_insert_with(Instant::now);
                tracing::error!(error = %e, failing_for = ?since.elapsed(), "heartbeat failed");
                continue;
            }
        }
        match c.ring.rebuild().await {
            Ok(rings) => {
                let now: BTreeSet<String> = rings.alive().map(str::to_owned).collect();
                if alive.as_ref().is_some_and(|before| *before != now) {
                    tracing::info!(alive = ?now, "the set of alive conductors changed; rebalancing");
                    c.rescan.notify_one();
                }
                alive = Some(now);
            }
            Err(e) => tracing::warn!(error = %e, "could not rebuild the hash ring"),
        }
    }
}

async fn task_loop(c: Arc<Conductor>) {
    let tasks = c.periodic_tasks();
    let start = Instant::now();
    // The first runs come one spacing after start, as with an interval.
    let mut next: Vec<Option<Instant>> = tasks
        .iter()
        .map(|t| match t.spacing(&c.config) {
            0 => None,
            s => Some(start + Duration::from_secs(s)),
        })
        .collect();
    loop {
        let soonest = next.iter().flatten().min().copied();
        let rescan = tokio::select! {
            _ = c.stopped() => break,
            _ = c.rescan.notified() => true,
            _ = sleep_until(soonest) => false,
        };
        let now = Instant::now();
        let due: Vec<usize> = (0..tasks.len())
            .filter(|&i| next[i].is_some_and(|t| t <= now) || (rescan && tasks[i].on_ring_change()))
            .collect();
        if due.is_empty() {
            continue;
        }
        let owned = match owned_nodes(&c).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "periodic tasks skipped: cannot read the nodes");
                for &i in &due {
                    next[i] = next[i].map(|_| now + Duration::from_secs(1));
                }
                continue;
            }
        };
        for i in due {
            if c.is_stopping() {
                break;
            }
            let task = &tasks[i];
            if let Err(e) = task.run(&c, &owned).await {
                tracing::error!(task = task.name(), error = %e, "periodic task failed");
            }
            next[i] = match task.spacing(&c.config) {
                0 => None,
                s => Some(Instant::now() + Duration::from_secs(s)),
            };
        }
    }
}

async fn sleep_until(when: Option<Instant>) {
    match when {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Compares each idle owned node's recorded power state with what its power interface
/// reports, and records changes made out of band.
pub async fn sync_power_states(c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
    for n in owned {
        if c.is_stopping() {
            break;
        }
        if n.maintenance || n.reservation.is_some() || n.power_state.is_none() {
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

/// Fails owned nodes that waited for a call-back longer than the configured timeout.
pub async fn fail_timed_out_waits(c: &Arc<Conductor>, owned: &[nodes::Node]) -> Result<()> {
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
        let deadline = chrono::Utc::now() - chrono::Duration::seconds(timeout as i64);
        for n in owned.iter().filter(|n| n.provision_state == state.as_str()) {
            if n.reservation.is_some() || n.provision_updated_at.is_some_and(|t| t > deadline) {
                continue;
            }
            let Ok(mut task) = Task::acquire(c, &n.uuid, "call-back timeout").await else {
                continue;
            };
            if task.provision_state().ok() != Some(state) {
                task.release().await;
                continue;
            }
            let msg = format!(
                "Timeout reached while waiting for a call-back in state \"{state}\" \
                 ({timeout} s)."
            );
            match task.mark_failed(&msg) {
                Ok(()) => {
                    // Failure and release in one write.
                    let _ = task.finish().await;
                }
                Err(e) => {
                    tracing::error!(node = %n.uuid, error = %e, "could not fail timed-out node");
                    task.release().await;
                }
            }
        }
    }
    Ok(())
}
