//! The conductor: owns nodes, runs their operations under a reservation, and keeps
//! them in step with the hardware through periodic tasks.

pub mod allocations;
pub mod periodic;
pub mod provision;
pub mod recovery;
pub mod states;
pub mod takeover;
pub mod task;
pub mod vifs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::config::{Config, InterfaceKind};
use crate::db::{self, conductors, node_fields, nodes};
use crate::drivers::m2::M2Services;
use crate::drivers::{PowerAction, Registry};
use crate::error::{Error, Result};
use crate::hash_ring::RingCache;
use crate::rpc::{Handler, Request};
use states::ProvisionState;
use task::Task;

/// What this conductor's tasks hold, by node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// This many tasks hold, or are taking, the node's reservation.
    Tasks(usize),
    /// The stale-lock check is looking at the node: no task may take it meanwhile.
    Check,
}

/// Where a conductor is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Serving.
    Running,
    /// Told to stop: takes no new work, lets running operations finish.
    Draining,
    /// The grace period is over: running operations are interrupted.
    Aborting,
}

/// One conductor service.
pub struct Conductor {
    pub db: DatabaseConnection,
    pub registry: Arc<Registry>,
    pub config: Arc<Config>,
    /// This conductor's hostname, written into the reservations it takes.
    pub host: String,
    /// The hash rings: which nodes this conductor owns.
    pub ring: Arc<RingCache>,
    /// The id of this conductor's row (0 until registered); recorded as a node's
    /// `conductor_affinity` once this conductor has adopted the node.
    id: AtomicI64,
    holds: Mutex<HashMap<i64, Hold>>,
    /// Operations running in the background.
    running: AtomicUsize,
    /// Signalled when an operation ends.
    ended: Notify,
    phase: watch::Sender<Phase>,
    /// Wakes the periodic loop for a take-over pass (the alive set changed).
    pub(crate) rescan: Notify,
    periodic_tasks: Mutex<Vec<Arc<dyn periodic::PeriodicTask>>>,
    /// When this conductor last failed to write its heartbeat.
    heartbeat_failed: Mutex<Option<std::time::Instant>>,
    /// The Ceph store and tgtd the `m2` interfaces use, for reconciliation.
    pub m2: Arc<M2Services>,
}

/// Counts a background operation for as long as it lives.
pub struct Running(Arc<Conductor>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}

impl Conductor {
    pub fn new(
        db: DatabaseConnection,
        registry: Arc<Registry>,
        config: Arc<Config>,
        m2: Arc<M2Services>,
    ) -> Self {
        let host = config.default.host.clone();
        let ring = Arc::new(RingCache::new(
            db.clone(),
            Duration::from_secs(config.default.hash_ring_reset_interval),
            config.conductor.heartbeat_timeout,
        ));
        Conductor {
            db,
            registry,
            config,
            host,
            ring,
            id: AtomicI64::new(0),
            holds: Mutex::new(HashMap::new()),
            running: AtomicUsize::new(0),
            ended: Notify::new(),
            phase: watch::channel(Phase::Running).0,
            rescan: Notify::new(),
            periodic_tasks: Mutex::new(periodic::builtin()),
            heartbeat_failed: Mutex::new(None),
            m2,
        }
    }

    /// Starts the conductor: recovers from a previous run of the same host, registers
    /// (not yet online: see [`Conductor::serve`]), and starts the heartbeat and the
    /// periodic tasks.
    pub async fn start(self: &Arc<Self>) -> Result<()> {
        self.recover().await?;
        periodic::register(self, false).await?;
        allocations::resume(self).await?;
        periodic::spawn(self.clone());
        Ok(())
    }

    /// Marks this conductor online: it takes requests, and the hash rings include it.
    pub async fn serve(self: &Arc<Self>) -> Result<()> {
        conductors::set_online(&self.db, &self.host).await?;
        self.ring.reset();
        // Take this conductor's share of active nodes now, not at the next interval.
        self.rescan.notify_one();
        tracing::info!(host = %self.host, "conductor online");
        Ok(())
    }

    /// The id of this conductor's row (0 before registration).
    pub fn id(&self) -> i64 {
        self.id.load(Ordering::SeqCst)
    }

    pub(crate) fn set_id(&self, id: i64) {
        self.id.store(id, Ordering::SeqCst);
    }

    /// Adds a periodic task (a reconciliation loop) before [`Conductor::start`].
    pub fn add_periodic_task(&self, task: Arc<dyn periodic::PeriodicTask>) {
        if let Ok(mut tasks) = self.periodic_tasks.lock() {
            tasks.push(task);
        }
    }

    pub(crate) fn periodic_tasks(&self) -> Vec<Arc<dyn periodic::PeriodicTask>> {
        self.periodic_tasks
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// Records a failed heartbeat write.
    pub(crate) fn heartbeat_failed(&self) {
        if let Ok(mut t) = self.heartbeat_failed.lock() {
            *t = Some(std::time::Instant::now());
        }
    }

    /// Can this conductor trust that a conductor without a recent heartbeat is dead?
    /// Not while its own heartbeats fail, nor for a heartbeat timeout after: the
    /// database was away for everybody, and the others had no chance to write theirs.
    pub fn trusts_heartbeats(&self) -> bool {
        let timeout = Duration::from_secs(self.config.conductor.heartbeat_timeout);
        self.heartbeat_failed
            .lock()
            .map(|t| t.is_none_or(|at| at.elapsed() > timeout))
            .unwrap_or(false)
    }

    /// Does the hash ring map `node` to this conductor?
    pub async fn owns(&self, node: &nodes::Node) -> Result<bool> {
        Ok(self.ring.rings().await?.owner_of(node) == Some(self.host.as_str()))
    }

    // -- the in-memory record of held reservations ---------------------------------

    /// Records that a task is taking `id`'s reservation. `false` while the stale-lock
    /// check looks at the node.
    pub(crate) fn hold(&self, id: i64) -> bool {
        let Ok(mut holds) = self.holds.lock() else {
            return false;
        };
        match holds.entry(id).or_insert(Hold::Tasks(0)) {
            Hold::Check => false,
            Hold::Tasks(n) => {
                *n += 1;
                true
            }
        }
    }

    /// Forgets one task's hold on `id`.
    pub(crate) fn unhold(&self, id: i64) {
        if let Ok(mut holds) = self.holds.lock()
            && let Some(Hold::Tasks(n)) = holds.get_mut(&id)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                holds.remove(&id);
            }
        }
    }

    /// Starts a stale-lock check of `id`: `false` when a task holds it. Until
    /// [`Conductor::end_check`], or until the check adopts the reservation with
    /// [`Conductor::check_to_hold`], no task may take the node.
    pub(crate) fn begin_check(&self, id: i64) -> bool {
        let Ok(mut holds) = self.holds.lock() else {
            return false;
        };
        if holds.contains_key(&id) {
            return false;
        }
        holds.insert(id, Hold::Check);
        true
    }

    /// Ends a stale-lock check.
    pub(crate) fn end_check(&self, id: i64) {
        if let Ok(mut holds) = self.holds.lock()
            && holds.get(&id) == Some(&Hold::Check)
        {
            holds.remove(&id);
        }
    }

    /// Turns a stale-lock check into a task's hold (the check adopts the
    /// reservation).
    pub(crate) fn check_to_hold(&self, id: i64) {
        if let Ok(mut holds) = self.holds.lock() {
            holds.insert(id, Hold::Tasks(1));
        }
    }

    /// Node ids some task of this conductor holds.
    pub fn held(&self) -> Vec<i64> {
        self.holds
            .lock()
            .map(|h| h.keys().copied().collect())
            .unwrap_or_default()
    }

    // -- life cycle -------------------------------------------------------------------

    /// Where this conductor is in its life.
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Has this conductor been told to stop?
    pub fn is_stopping(&self) -> bool {
        self.phase() >= Phase::Draining
    }

    /// Is the grace period over (operations are being interrupted)?
    pub fn is_aborting(&self) -> bool {
        self.phase() == Phase::Aborting
    }

    /// Resolves once the grace period is over.
    pub async fn aborted(&self) {
        let mut rx = self.phase.subscribe();
        let _ = rx.wait_for(|p| *p == Phase::Aborting).await;
    }

    /// Resolves once the conductor is told to stop.
    pub async fn stopped(&self) {
        let mut rx = self.phase.subscribe();
        let _ = rx.wait_for(|p| *p >= Phase::Draining).await;
    }

    /// Refuses new work once stopping.
    pub(crate) fn check_running(&self) -> Result<()> {
        if self.is_stopping() {
            return Err(Error::Unavailable(format!(
                "The conductor {} is shutting down, please retry.",
                self.host
            )));
        }
        Ok(())
    }

    /// Spawns a background operation, counted until it ends.
    pub fn spawn_background<F>(self: &Arc<Self>, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.running.fetch_add(1, Ordering::SeqCst);
        let guard = Running(self.clone());
        tokio::spawn(async move {
            work.await;
            drop(guard);
        });
    }

    /// Background operations running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Waits until no background operation runs, at most `limit`; `true` when none
    /// does.
    async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ended = self.ended.notified();
            if self.running() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                return self.running() == 0;
            }
        }
    }

    /// Graceful stop. The conductor goes offline at once (the hash rings drop it, so
    /// its nodes move to other conductors), takes no new work, and gives running
    /// operations `[conductor] graceful_shutdown_timeout` seconds to finish. Those
    /// still running then are interrupted: their nodes fail with a message naming this
    /// conductor. Last, whatever it still holds is released and it stops heartbeating.
    pub async fn shutdown(self: &Arc<Self>) {
        if self.phase.send_replace(Phase::Draining) != Phase::Running {
            return;
        }
        tracing::info!(host = %self.host, running = self.running(), "conductor stopping: going offline, finishing running operations");
        if let Err(e) = conductors::unregister(&self.db, &self.host).await {
            tracing::error!(error = %e, "could not mark the conductor offline");
        }
        let grace = Duration::from_secs(self.config.conductor.graceful_shutdown_timeout);
        if !self.wait_idle(grace).await {
            tracing::warn!(host = %self.host, running = self.running(), "grace period over; interrupting running operations");
            self.phase.send_replace(Phase::Aborting);
            if !self.wait_idle(Duration::from_secs(15)).await {
                tracing::error!(running = self.running(), "operations still running at exit");
            }
        }
        if let Err(e) = self
            .recover_with(&format!(
                "The conductor {} was stopped while the node was in state \"{{state}}\"; \
             the operation was aborted.",
                self.host
            ))
            .await
        {
            tracing::error!(error = %e, "could not release the reservations of this conductor");
        }
        if let Err(e) = conductors::unregister(&self.db, &self.host).await {
            tracing::error!(error = %e, "could not mark the conductor offline");
        }
        tracing::info!(host = %self.host, "conductor stopped");
    }

    /// Brings nodes left by a previous run of this host to a stable state and clears
    /// the reservations it held: nodes mid-operation fail with a clear last_error.
    pub async fn recover(self: &Arc<Self>) -> Result<()> {
        self.recover_with(&format!(
            "The conductor {} restarted while the node was in state \"{{state}}\"; \
             the operation was aborted.",
            self.host
        ))
        .await
    }

    /// Fails this host's reserved nodes that are mid-operation with `message`
    /// (`{state}` is replaced by the state) and clears every reservation it holds
    /// that no running task of this process holds.
    async fn recover_with(self: &Arc<Self>, message: &str) -> Result<()> {
        let reserved = nodes::all(
            &self.db,
            &nodes::NodeFilter {
                reserved_by: Some(self.host.clone()),
                ..Default::default()
            },
        )
        .await?;
        let mut cleared = 0;
        for n in reserved {
            if !self.begin_check(n.id) {
                continue;
            }
            self.check_to_hold(n.id);
            let Ok(mut task) = Task::adopt(self, n.id).await else {
                continue;
            };
            if task.node.reservation.as_deref() != Some(self.host.as_str()) {
                // Released meanwhile: not ours to write.
                task.disown();
                continue;
            }
            takeover::settle(&mut task, message);
            if task.finish().await.is_ok() {
                cleared += 1;
            }
        }
        if cleared > 0 {
            tracing::warn!(count = cleared, host = %self.host, "cleared stale reservations");
        }
        Ok(())
    }

    async fn update_node(
        self: &Arc<Self>,
        uuid: &str,
        changes: serde_json::Map<String, Value>,
        base: serde_json::Map<String, Value>,
    ) -> Result<Value> {
        let mut task = Task::acquire(self, uuid, "node update").await?;
        let unchanged = base
            .iter()
            .all(|(field, old)| node_fields::get(&task.node, field).as_ref() == Some(old));
        let result = if unchanged {
            self.apply_update(&mut task, changes).await
        } else {
            Err(Error::Stale(task.node.uuid.clone()))
        };
        task.release().await;
        result.map(|_| Value::Null)
    }

    async fn apply_update(
        &self,
        task: &mut Task,
        changes: serde_json::Map<String, Value>,
    ) -> Result<()> {
        let node = &mut task.node;
        if let Some(new) = changes.get("instance_uuid")
            && !new.is_null()
            && let Some(current) = &node.instance_uuid
            && new.as_str() != Some(current.as_str())
        {
            return Err(Error::Conflict(format!(
                "Node {} is associated with instance {current}.",
                node.uuid
            )));
        }
        let state = node
            .provision_state
            .parse::<ProvisionState>()
            .unwrap_or(ProvisionState::Enroll);
        // Removing the instance of a node that has an allocation removes the allocation.
        let dropped_allocation = match node.allocation_id {
            Some(id)
                if node.instance_uuid.is_some()
                    && changes.get("instance_uuid").is_some_and(Value::is_null) =>
            {
                if !node.maintenance
                    && !matches!(
                        state,
                        ProvisionState::Enroll
                            | ProvisionState::Inspecting
                            | ProvisionState::InspectWait
                            | ProvisionState::Manageable
                            | ProvisionState::Available
                    )
                {
                    return Err(Error::Conflict(format!(
                        "Node {} with an allocation can not have instance_uuid removed unless \
                         it is in one of allowed (enroll, inspecting, inspect wait, manageable, \
                         available) states or in maintenance mode. Current state is '{state}'.",
                        node.uuid
                    )));
                }
                Some(id)
            }
            _ => None,
        };
        let changes_driver = changes
            .keys()
            .any(|k| k == "driver" || k.ends_with("_interface"));
        if changes_driver
            && !node.maintenance
            && !matches!(
                state,
                ProvisionState::Enroll
                    | ProvisionState::Manageable
                    | ProvisionState::Available
                    | ProvisionState::InspectFailed
            )
        {
            return Err(Error::InvalidState(format!(
                "The driver or interfaces of node {} can not be changed while it is in state \
                 \"{state}\"; move it to manageable or set maintenance mode first.",
                node.uuid
            )));
        }
        let sets_reason = changes
            .get("protected_reason")
            .is_some_and(|v| !v.is_null());
        for (field, value) in changes {
            node_fields::set(node, &field, value)?;
        }
        if node.protected && state != ProvisionState::Active {
            return Err(Error::Conflict(format!(
                "Node {} can only be protected in state \"active\", it is in \"{state}\".",
                node.uuid
            )));
        }
        if !node.protected && node.protected_reason.is_some() {
            if sets_reason {
                return Err(Error::invalid(
                    "Cannot set protected_reason on a node that is not protected.",
                ));
            }
            // Unprotecting a node forgets why it was protected.
            node.protected_reason = None;
        }
        if !node.maintenance {
            node.maintenance_reason = None;
            node.fault = None;
        }
        self.check_interfaces(node)?;
        match dropped_allocation {
            Some(id) => {
                node.allocation_id = None;
                db::allocations::delete_with_node(&self.db, id, node).await
            }
            None => task.save().await,
        }
    }

    fn check_interfaces(&self, node: &nodes::Node) -> Result<()> {
        let hw = self.registry.hardware_type(&node.driver).ok_or_else(|| {
            Error::invalid(format!(
                "No valid host was found. Reason: No conductor service registered which \
                 supports driver {} for conductor group \"{}\".",
                node.driver, node.conductor_group
            ))
        })?;
        for kind in InterfaceKind::ALL {
            self.registry.check_interface(
                &self.config,
                hw,
                kind,
                crate::drivers::node_interface(node, kind),
            )?;
        }
        Ok(())
    }

    async fn destroy_node(self: &Arc<Self>, uuid: &str) -> Result<Value> {
        let task = Task::acquire(self, uuid, "node deletion").await?;
        let result = async {
            let n = &task.node;
            if let Some(instance) = &n.instance_uuid {
                return Err(Error::Conflict(format!(
                    "Node {} is associated with instance {instance}.",
                    n.uuid
                )));
            }
            if n.protected {
                return Err(Error::Forbidden(format!(
                    "Node {} is protected and cannot be undeployed, rebuilt or deleted",
                    n.uuid
                )));
            }
            let state = task.provision_state()?;
            if !n.maintenance && !state.is_deletable_with(true) {
                return Err(Error::InvalidState(format!(
                    "Can not delete node \"{}\" while it is in provision state \"{state}\". \
                     Valid provision states to perform deletion are: \"available\", \
                     \"manageable\", \"enroll\", \"adopt failed\", or any state in \
                     maintenance mode.",
                    n.uuid
                )));
            }
            nodes::delete(&self.db, n.id).await
        }
        .await;
        task.release().await;
        result.map(|_| Value::Null)
    }

    async fn change_power_state(
        self: &Arc<Self>,
        uuid: &str,
        action: PowerAction,
        timeout: Option<u64>,
    ) -> Result<Value> {
        self.check_running()?;
        let mut task = Task::acquire(self, uuid, "power state change").await?;
        let checked = (|| {
            task.drivers.power.validate(&task.node)?;
            if !task.drivers.power.supported_actions().contains(&action) {
                return Err(Error::invalid(format!(
                    "The requested power state \"{}\" is not supported by node {}.",
                    action.as_str(),
                    task.node.uuid
                )));
            }
            Ok(())
        })();
        if let Err(e) = checked {
            task.release().await;
            return Err(e);
        }
        task.node.target_power_state = Some(action.final_state().as_str().to_owned());
        task.node.last_error = None;
        if let Err(e) = task.save().await {
            task.release().await;
            return Err(e);
        }
        let mut task = task.into_background();
        self.spawn_background(async move {
            let power = task.drivers.power.clone();
            let result = match action {
                PowerAction::On | PowerAction::Off => {
                    power
                        .set_power_state(&mut task.node, action.final_state(), timeout)
                        .await
                }
                PowerAction::Reboot => power.reboot(&mut task.node, timeout).await,
                PowerAction::SoftOff | PowerAction::SoftReboot => {
                    power.soft_action(&mut task.node, action).await
                }
            };
            match result {
                Ok(()) => {
                    task.node.power_state = Some(action.final_state().as_str().to_owned());
                    tracing::info!(node = %task.node.uuid, action = action.as_str(), "power action done");
                }
                Err(e) => {
                    task.node.last_error = Some(format!(
                        "Failed to change power state to \"{}\": {e}",
                        action.as_str()
                    ));
                    tracing::warn!(node = %task.node.uuid, error = %e, "power action failed");
                }
            }
            task.node.target_power_state = None;
            // A failed write is logged by `finish`; the reservation is released either way.
            let _ = task.finish().await;
        });
        Ok(Value::Null)
    }

    async fn validate(self: &Arc<Self>, uuid: &str) -> Result<Value> {
        let mut node = nodes::by_uuid(&self.db, uuid)
            .await?
            .ok_or_else(|| Error::not_found("Node", uuid))?;
        let drivers = self.registry.driver_set(&node)?;
        let ports = nodes::ports(&self.db, node.id).await?;
        let mut out = serde_json::Map::new();
        for kind in [
            InterfaceKind::Boot,
            InterfaceKind::Deploy,
            InterfaceKind::Management,
            InterfaceKind::Network,
            InterfaceKind::Power,
            InterfaceKind::Bios,
            InterfaceKind::Console,
            InterfaceKind::Firmware,
            InterfaceKind::Inspect,
            InterfaceKind::Raid,
            InterfaceKind::Rescue,
            InterfaceKind::Storage,
        ] {
            let mut result = match drivers.interface(kind) {
                Some(i) => i.validate(&node).map(|_| true),
                None => {
                    out.insert(
                        kind.as_str().to_owned(),
                        json!({"result": null, "reason": "not supported"}),
                    );
                    continue;
                }
            };
            if kind == InterfaceKind::Deploy && result.is_ok() {
                let ctx = crate::drivers::TaskContext {
                    node: &mut node,
                    ports: &ports,
                    drivers: &drivers,
                    db: &self.db,
                    host: &self.host,
                };
                result = drivers.deploy.check(&ctx).await.map(|_| true);
            }
            let entry = match result {
                Ok(_) => json!({"result": true}),
                Err(e) => json!({"result": false, "reason": e.to_string()}),
            };
            out.insert(kind.as_str().to_owned(), entry);
        }
        Ok(Value::Object(out))
    }

    async fn with_task<F, T>(self: &Arc<Self>, uuid: &str, purpose: &str, f: F) -> Result<Value>
    where
        F: for<'a> FnOnce(&'a mut Task) -> futures_util::future::BoxFuture<'a, Result<T>>,
        T: Into<Value>,
    {
        let mut task = Task::acquire(self, uuid, purpose).await?;
        let result = f(&mut task).await;
        match result {
            Ok(v) => task.finish().await.map(|_| v.into()),
            Err(e) => {
                task.release().await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Handler for Arc<Conductor> {
    async fn handle(&self, req: Request) -> Result<Value> {
        let span = tracing::info_span!("conductor", node = %req.node());
        tracing::Instrument::instrument(self.dispatch(req), span).await
    }
}

impl Conductor {
    async fn dispatch(self: &Arc<Self>, req: Request) -> Result<Value> {
        match req {
            Request::UpdateNode {
                node,
                changes,
                base,
            } => self.update_node(&node, changes, base).await,
            Request::DestroyNode { node } => self.destroy_node(&node).await,
            Request::ChangePowerState {
                node,
                action,
                timeout,
            } => self.change_power_state(&node, action, timeout).await,
            Request::Provision { node, verb, args } => {
                provision::start(self, &node, &verb, args).await
            }
            Request::Validate { node } => self.validate(&node).await,
            Request::SetBootDevice {
                node,
                device,
                persistent,
            } => {
                self.with_task(&node, "set boot device", move |t| {
                    Box::pin(async move {
                        let mgmt = t.drivers.management.clone();
                        mgmt.validate(&t.node)?;
                        mgmt.set_boot_device(&mut t.node, &device, persistent)
                            .await?;
                        Ok(Value::Null)
                    })
                })
                .await
            }
            Request::GetBootDevice { node } => {
                let n = nodes::get(&self.db, &node).await?;
                let d = self.registry.driver_set(&n)?;
                let (dev, persistent) = d.management.get_boot_device(&n).await?;
                Ok(json!({"boot_device": dev, "persistent": persistent}))
            }
            Request::GetSupportedBootDevices { node } => {
                let n = nodes::get(&self.db, &node).await?;
                let d = self.registry.driver_set(&n)?;
                Ok(json!({"supported_boot_devices": d.management.supported_boot_devices(&n)}))
            }
            Request::Recover { node, spare } => recovery::start(self, &node, &spare).await,
            Request::InjectNmi { node } => {
                self.with_task(&node, "inject nmi", |t| {
                    Box::pin(async move {
                        let mgmt = t.drivers.management.clone();
                        mgmt.inject_nmi(&mut t.node).await?;
                        Ok(Value::Null)
                    })
                })
                .await
            }
            Request::SetConsoleMode { node, enabled } => {
                self.with_task(&node, "console mode", move |t| {
                    Box::pin(async move {
                        let console = t.drivers.console.clone();
                        if enabled {
                            console.start_console(&mut t.node).await?;
                        } else {
                            console.stop_console(&mut t.node).await?;
                        }
                        t.node.console_enabled = enabled;
                        Ok(Value::Null)
                    })
                })
                .await
            }
            Request::GetConsole { node } => {
                let n = nodes::get(&self.db, &node).await?;
                let d = self.registry.driver_set(&n)?;
                Ok(json!({"console_enabled": n.console_enabled,
                    "console_info": if n.console_enabled { d.console.console_info(&n) } else { Value::Null }}))
            }
            Request::VifAttach { node, vif } => vifs::attach(self, &node, vif).await,
            Request::VifDetach { node, vif_id } => vifs::detach(self, &node, &vif_id).await,
            Request::VifList { node } => vifs::list(self, &node).await,
            Request::SetTraits {
                node,
                traits,
                replace,
            } => {
                let t = Task::acquire(self, &node, "traits").await?;
                let r = if replace {
                    nodes::set_traits(&self.db, t.node.id, &traits).await
                } else {
                    let mut r = Ok(());
                    for tr in &traits {
                        r = nodes::add_trait(&self.db, t.node.id, tr).await;
                        if r.is_err() {
                            break;
                        }
                    }
                    r
                };
                t.release().await;
                r.map(|_| Value::Null)
            }
            Request::GetIndicators { node } => {
                let n = nodes::get(&self.db, &node).await?;
                let d = self.registry.driver_set(&n)?;
                let indicators = d.management.get_supported_indicators(&n).await?;
                serde_json::to_value(indicators).map_err(|e| Error::Internal(e.to_string()))
            }
            Request::GetIndicatorState {
                node,
                component,
                indicator,
            } => {
                let n = nodes::get(&self.db, &node).await?;
                let d = self.registry.driver_set(&n)?;
                d.management.validate(&n)?;
                let state = d
                    .management
                    .get_indicator_state(&n, &component, &indicator)
                    .await?;
                Ok(json!({ "state": state }))
            }
            Request::SetIndicatorState {
                node,
                component,
                indicator,
                state,
            } => {
                self.with_task(&node, "setting indicator state", move |t| {
                    Box::pin(async move {
                        let mgmt = t.drivers.management.clone();
                        mgmt.validate(&t.node)?;
                        mgmt.set_indicator_state(&mut t.node, &component, &indicator, &state)
                            .await?;
                        Ok(Value::Null)
                    })
                })
                .await
            }
            Request::CreateAllocation { allocation } => allocations::create(self, allocation).await,
            Request::DestroyAllocation { allocation } => {
                allocations::destroy(self, &allocation).await
            }
            Request::RemoveTraits { node, name } => {
                let t = Task::acquire(self, &node, "traits").await?;
                let r = match &name {
                    None => nodes::set_traits(&self.db, t.node.id, &[]).await,
                    Some(tr) => match nodes::remove_trait(&self.db, t.node.id, tr).await {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(Error::not_found(
                            "Trait",
                            format!("{tr} of node {}", t.node.uuid),
                        )),
                        Err(e) => Err(e),
                    },
                };
                t.release().await;
                r.map(|_| Value::Null)
            }
        }
    }
}
