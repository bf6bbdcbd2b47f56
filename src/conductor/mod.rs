//! The conductor: owns nodes, runs their operations under a reservation, and keeps
//! them in step with the hardware through periodic tasks.

pub mod allocations;
pub mod periodic;
pub mod provision;
pub mod states;
pub mod task;
pub mod vifs;

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::config::{Config, InterfaceKind};
use crate::db::{self, node_fields, nodes};
use crate::drivers::m2::M2Services;
use crate::drivers::{PowerAction, Registry};
use crate::error::{Error, Result};
use crate::rpc::{Handler, Request};
use states::ProvisionState;
use task::Task;

/// One conductor service.
pub struct Conductor {
    pub db: DatabaseConnection,
    pub registry: Arc<Registry>,
    pub config: Arc<Config>,
    /// This conductor's hostname, written into the reservations it takes.
    pub host: String,
    /// The Ceph store and tgtd the `m2` interfaces use, for reconciliation.
    pub m2: Arc<M2Services>,
}

impl Conductor {
    pub fn new(
        db: DatabaseConnection,
        registry: Arc<Registry>,
        config: Arc<Config>,
        m2: Arc<M2Services>,
    ) -> Self {
        let host = config.default.host.clone();
        Conductor {
            m2,
            db,
            registry,
            config,
            host,
        }
    }

    /// Starts the conductor: recovers from a previous run of the same host, registers,
    /// and starts the periodic tasks. Returns the handle of the periodic loop.
    pub async fn start(self: &Arc<Self>) -> Result<tokio::task::JoinHandle<()>> {
        self.recover().await?;
        periodic::register(self).await?;
        if let Err(e) = periodic::reconcile_exports(self).await {
            tracing::warn!(error = %e, "iSCSI export reconciliation at start failed");
        }
        allocations::resume(self).await?;
        Ok(periodic::spawn(self.clone()))
    }

    /// Brings nodes left by a previous run of this host to a stable state and clears
    /// the reservations it held: nodes mid-operation fail with a clear last_error.
    pub async fn recover(self: &Arc<Self>) -> Result<()> {
        let held = nodes::all(
            &self.db,
            &nodes::NodeFilter {
                reserved_by: Some(self.host.clone()),
                ..Default::default()
            },
        )
        .await?;
        for n in &held {
            let state = n.provision_state.parse::<ProvisionState>().ok();
            if let Some(state) = state.filter(|s| s.is_transient()) {
                let mut n = n.clone();
                let step = states::resolve(state, states::Event::Fail, None);
                if let Some(step) = step {
                    tracing::warn!(node = %n.uuid, state = %state, "failing node left mid-operation by a conductor restart");
                    n.last_error = Some(format!(
                        "The conductor {} restarted while the node was in state \"{state}\"; \
                         the operation was aborted.",
                        self.host
                    ));
                    n.provision_state = step.provision_state.as_str().to_owned();
                    n.target_provision_state = step.target.map(|t| t.as_str().to_owned());
                    n.provision_updated_at = Some(chrono::Utc::now());
                    n.target_power_state = None;
                    nodes::save(&self.db, &mut n).await?;
                }
            }
        }
        let cleared = nodes::release_all(&self.db, &self.host).await?;
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
        for (field, value) in changes {
            node_fields::set(node, &field, value)?;
        }
        if node.protected && state != ProvisionState::Active {
            return Err(Error::InvalidState(format!(
                "Node {} can only be protected in state \"active\", it is in \"{state}\".",
                node.uuid
            )));
        }
        if !node.protected && node.protected_reason.is_some() {
            return Err(Error::invalid(
                "Cannot set protected_reason on a node that is not protected.",
            ));
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
        tokio::spawn(async move {
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
