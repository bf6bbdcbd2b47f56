//! Provisioning: the verbs of `PUT /v1/nodes/{id}/states/provision`.
//!
//! `start` takes the node's reservation, checks the verb against the state machine,
//! moves the node into the transient state and answers; the work then continues in a
//! background task that holds the reservation until the node reaches its next stable
//! (or failed) state.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};

use super::Conductor;
use super::states::{self, Event, ProvisionState, Verb};
use super::task::Task;
use crate::db::allocations;
use crate::drivers::{CleanStep, StepOutcome};
use crate::error::{Error, Result};

/// Accepts a provision verb for a node and starts the work.
pub async fn start(
    conductor: &Arc<Conductor>,
    uuid: &str,
    verb: &str,
    args: Map<String, Value>,
) -> Result<Value> {
    let verb = Verb::parse(verb).ok_or_else(|| {
        Error::invalid(format!("\"{verb}\" is not a valid provision state target."))
    })?;
    conductor.check_running()?;
    let mut task = Task::acquire(conductor, uuid, verb.as_str()).await?;
    match accept(&mut task, verb, &args).await {
        Ok(true) => {
            conductor.spawn_background(run(task.into_background(), verb, args));
            Ok(Value::Null)
        }
        Ok(false) => {
            task.release().await;
            Ok(Value::Null)
        }
        Err(e) => {
            task.release().await;
            Err(e)
        }
    }
}

/// Checks and applies the first transition. `Ok(true)` when work continues in the
/// background.
async fn accept(task: &mut Task, verb: Verb, args: &Map<String, Value>) -> Result<bool> {
    let from = task.provision_state()?;
    let transition =
        states::check(from, verb).map_err(|e| Error::InvalidState(e.message(&task.node.uuid)))?;
    let uuid = task.node.uuid.clone();
    if task.node.maintenance
        && matches!(
            verb,
            Verb::Active
                | Verb::Deploy
                | Verb::Rebuild
                | Verb::Provide
                | Verb::Clean
                | Verb::Inspect
                | Verb::Rescue
                | Verb::Unrescue
        )
    {
        return Err(Error::invalid(format!(
            "The node {uuid} is in maintenance mode and can not be {}.",
            match verb {
                Verb::Inspect => "inspected",
                Verb::Provide | Verb::Clean => "cleaned",
                Verb::Rescue | Verb::Unrescue => "rescued",
                _ => "deployed",
            }
        )));
    }
    if task.node.protected && matches!(verb, Verb::Deleted | Verb::Undeploy | Verb::Rebuild) {
        return Err(Error::Forbidden(format!(
            "Node {uuid} is protected and cannot be undeployed, rebuilt or deleted"
        )));
    }
    match verb {
        Verb::Active | Verb::Deploy | Verb::Rebuild => {
            let d = &task.drivers;
            for (name, r) in [
                ("power", d.power.validate(&task.node)),
                ("deploy", d.deploy.validate(&task.node)),
                ("boot", d.boot.validate(&task.node)),
                ("network", d.network.validate(&task.node)),
            ] {
                r.map_err(|e| {
                    Error::invalid(format!(
                        "Failed to validate {name} info for node {uuid}: {e}"
                    ))
                })?;
            }
            let deploy = task.drivers.deploy.clone();
            deploy.check(&task.ctx()).await.map_err(|e| {
                Error::invalid(format!(
                    "Failed to validate deploy info for node {uuid}: {e}"
                ))
            })?;
            let ii = task
                .node
                .instance_info
                .as_object_mut()
                .ok_or_else(|| Error::Internal("instance_info is not an object".into()))?;
            match args.get("configdrive") {
                Some(cd) if !cd.is_null() => {
                    ii.insert("configdrive".into(), cd.clone());
                }
                _ => {
                    ii.remove("configdrive");
                }
            }
        }
        Verb::Manage if from == ProvisionState::Enroll => {
            task.drivers.power.validate(&task.node).map_err(|e| {
                Error::invalid(format!(
                    "Failed to validate power driver interface for node {uuid}: {e}"
                ))
            })?;
        }
        Verb::Clean => {
            clean_steps_arg(args)?;
        }
        Verb::Deleted | Verb::Undeploy => {
            if let Some(keep) = args.get("keep_disk").filter(|k| **k != Value::Bool(false)) {
                if task.node.deploy_interface != "m2"
                    || crate::drivers::m2::recorded_disk(&task.node)?.is_none()
                {
                    return Err(Error::invalid(format!(
                        "Node {uuid} has no disk in Ceph to keep: keep_disk needs the m2 \
                         deploy interface and a deployed node."
                    )));
                }
                let keep = crate::drivers::m2::Keep {
                    volume: crate::volumes::NewVolume {
                        name: keep.as_str().map(str::to_owned),
                        ..Default::default()
                    },
                    source: "release".into(),
                    despite_power_failure: false,
                };
                crate::drivers::ipxe::set_internal(
                    &mut task.node,
                    crate::drivers::m2::KEEP_KEY,
                    Some(keep.to_json()),
                );
            } else {
                crate::drivers::ipxe::set_internal(
                    &mut task.node,
                    crate::drivers::m2::KEEP_KEY,
                    None,
                );
            }
        }
        Verb::Rescue => match args.get("rescue_password").and_then(Value::as_str) {
            Some(p) if !p.trim().is_empty() => {
                if let Some(ii) = task.node.instance_info.as_object_mut() {
                    ii.insert("rescue_password".into(), Value::String(p.to_owned()));
                }
            }
            _ => {
                return Err(Error::invalid(
                    "A non-empty \"rescue_password\" is required when setting target \
                         provision state to rescue",
                ));
            }
        },
        _ => {}
    }
    task.node.last_error = None;
    task.process_event(verb.event()).await?;
    Ok(!transition.to.is_stable() && !transition.to.is_failed())
}

/// The clean steps a manual `clean` names.
fn clean_steps_arg(args: &Map<String, Value>) -> Result<Vec<CleanStep>> {
    let steps = args
        .get("clean_steps")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::invalid("clean_steps is required when setting target provision state to clean")
        })?;
    steps
        .iter()
        .map(|s| {
            let interface = s.get("interface").and_then(Value::as_str);
            let step = s.get("step").and_then(Value::as_str);
            match (interface, step) {
                (Some(i), Some(st)) => Ok(CleanStep {
                    interface: i.to_owned(),
                    step: st.to_owned(),
                    priority: 0,
                }),
                _ => Err(Error::invalid(format!(
                    "Invalid clean step {s}: \"interface\" and \"step\" are required."
                ))),
            }
        })
        .collect()
}

/// The background part of a provision verb. When the conductor's grace period
/// after a stop runs out, the work is interrupted where it waits and the node fails
/// with a message naming the conductor.
pub(crate) async fn run(mut task: Task, verb: Verb, args: Map<String, Value>) {
    let uuid = task.node.uuid.clone();
    let conductor = task.conductor().clone();
    let span = tracing::info_span!("provision", node = %uuid, verb = verb.as_str());
    let result = {
        let work = tracing::Instrument::instrument(work(&mut task, verb, &args), span);
        tokio::select! {
            r = work => r,
            _ = conductor.aborted() => Err(Error::Unavailable(format!(
                "The conductor {} was stopped before the operation finished; it was \
                 interrupted.",
                conductor.host
            ))),
        }
    };
    if task.is_lost() {
        // Another conductor took the node over: nothing more to write.
        return;
    }
    if let Err(e) = result {
        let state = task.provision_state().ok();
        if state.is_some_and(|s| s.is_transient()) {
            // Written with the release below, in one row write.
            if let Err(fail) = task.mark_failed(&e.to_string()) {
                tracing::error!(node = %uuid, error = %fail, "could not record failure");
            }
        } else {
            tracing::error!(node = %uuid, error = %e, "provision work failed");
        }
    }
    // A failed write is logged by `finish`; the reservation is released either way.
    let _ = task.finish().await;
}

/// The work of a verb. The last state change is only applied in memory: `run` writes
/// it with the release of the reservation, in one row write, so that nobody sees the
/// node settled while it is still reserved.
async fn work(task: &mut Task, verb: Verb, args: &Map<String, Value>) -> Result<()> {
    match task.provision_state()? {
        ProvisionState::Verifying => {
            let power = task.drivers.power.clone();
            let state = power.get_power_state(&task.node).await?;
            task.node.power_state = Some(state.as_str().to_owned());
            task.apply_event(Event::Done)
        }
        ProvisionState::Cleaning => {
            let steps = if verb == Verb::Clean {
                clean_steps_arg(args)?
            } else {
                automated_clean_steps(task)
            };
            clean(task, steps).await
        }
        ProvisionState::Inspecting => {
            task.node.inspection_started_at = Some(Utc::now());
            task.save().await?;
            let inspect = task.drivers.inspect.clone();
            match inspect.inspect(&mut task.ctx()).await? {
                StepOutcome::Done => {
                    task.node.inspection_finished_at = Some(Utc::now());
                    task.apply_event(Event::Done)
                }
                StepOutcome::Wait => task.apply_event(Event::Wait),
            }
        }
        ProvisionState::Deploying => {
            let deploy = task.drivers.deploy.clone();
            match deploy.deploy(&mut task.ctx()).await? {
                StepOutcome::Done => {
                    task.node.deploy_step = Value::Object(Map::new());
                    // Deployed here: no take-over needed while this conductor owns it.
                    task.node.conductor_affinity = Some(task.conductor().id());
                    task.apply_event(Event::Done)
                }
                StepOutcome::Wait => task.apply_event(Event::Wait),
            }
        }
        ProvisionState::Deleting => {
            let deploy = task.drivers.deploy.clone();
            deploy.tear_down(&mut task.ctx()).await?;
            let boot = task.drivers.boot.clone();
            boot.clean_up_instance(&mut task.ctx()).await?;
            task.node.instance_uuid = None;
            task.node.instance_info = Value::Object(Map::new());
            if let Some(dii) = task.node.driver_internal_info.as_object_mut() {
                dii.remove("deploy_steps");
            }
            // The instance is gone, and with it the allocation that placed it.
            if let Some(id) = task.node.allocation_id.take() {
                allocations::delete(&task.conductor().db, id).await?;
                tracing::info!(node = %task.node.uuid, "allocation removed with the instance");
            }
            task.process_event(Event::AutoClean).await?;
            let steps = automated_clean_steps(task);
            clean(task, steps).await
        }
        ProvisionState::Rescuing => {
            let rescue = task.drivers.rescue.clone();
            match rescue.rescue(&mut task.ctx()).await? {
                StepOutcome::Done => task.apply_event(Event::Done),
                StepOutcome::Wait => task.apply_event(Event::Wait),
            }
        }
        ProvisionState::Unrescuing => {
            let rescue = task.drivers.rescue.clone();
            rescue.unrescue(&mut task.ctx()).await?;
            if let Some(ii) = task.node.instance_info.as_object_mut() {
                ii.remove("rescue_password");
            }
            task.apply_event(Event::Done)
        }
        ProvisionState::Adopting => {
            let d = task.drivers.clone();
            d.deploy.validate(&task.node)?;
            d.boot.validate(&task.node)?;
            task.apply_event(Event::Done)
        }
        other => {
            tracing::debug!(state = %other, "nothing to do in the background");
            Ok(())
        }
    }
}

/// The automated clean steps for this node: none when automated cleaning is off.
fn automated_clean_steps(task: &Task) -> Vec<CleanStep> {
    let enabled = task
        .node
        .automated_clean
        .unwrap_or(task.conductor().config.conductor.automated_clean);
    if !enabled {
        return Vec::new();
    }
    let mut steps = task.drivers.deploy.clean_steps();
    steps.retain(|s| s.priority > 0);
    steps.sort_by_key(|s| std::cmp::Reverse(s.priority));
    steps
}

/// Runs clean steps, then finishes cleaning (the last state change in memory, as in
/// `work`).
async fn clean(task: &mut Task, steps: Vec<CleanStep>) -> Result<()> {
    let known = task.drivers.deploy.clean_steps();
    for step in steps {
        if task.conductor().is_stopping() {
            // Between two steps: hand the node back rather than start another.
            return Err(Error::Unavailable(format!(
                "The conductor {} was stopped during cleaning, before step {}.{}.",
                task.conductor().host,
                step.interface,
                step.step
            )));
        }
        if step.interface != "deploy" || !known.iter().any(|k| k.step == step.step) {
            return Err(Error::invalid(format!(
                "Clean step {}.{} is not supported by node {}",
                step.interface, step.step, task.node.uuid
            )));
        }
        task.node.clean_step = serde_json::json!({
            "interface": step.interface, "step": step.step, "priority": step.priority
        });
        task.save().await?;
        let deploy = task.drivers.deploy.clone();
        match deploy.execute_clean_step(&mut task.ctx(), &step).await? {
            StepOutcome::Done => {}
            StepOutcome::Wait => return task.apply_event(Event::Wait),
        }
    }
    task.node.clean_step = Value::Object(Map::new());
    task.apply_event(Event::Done)
}
