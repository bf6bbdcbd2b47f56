//! The task manager: a task holds a node's exclusive reservation while it changes the
//! node, and gives it back on every exit path.
//!
//! The reservation is the node row's `reservation` column, taken with a conditional
//! UPDATE (`... WHERE reservation IS NULL`) so that two conductors, or two requests on
//! one conductor, can never both hold it. `Task::release` gives it back; if a task is
//! dropped without that (an early return, a panic in a worker), `Drop` releases it in the
//! background. A conductor that dies holding reservations has them cleared when it, or
//! another conductor, takes over (see `Conductor::recover`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::Conductor;
use super::states::{self, Event, ProvisionState};
use crate::db::entities::port;
use crate::db::nodes::{self, Node};
use crate::drivers::{DriverSet, TaskContext};
use crate::error::{Error, Result};

/// How often and how long to retry a reservation held by someone else before answering
/// NodeLocked.
const LOCK_ATTEMPTS: u32 = 3;
const LOCK_RETRY: Duration = Duration::from_millis(100);

/// An exclusive hold on one node.
pub struct Task {
    conductor: Arc<Conductor>,
    /// The node, as of when the lock was taken, with the task's changes.
    pub node: Node,
    /// The node's ports.
    pub ports: Vec<port::Model>,
    /// The interfaces the node uses.
    pub drivers: DriverSet,
    released: bool,
    /// Give the reservation back in the same write that brings the node to a state
    /// without a target (see [`Task::release_when_settled`]).
    release_on_settle: bool,
}

impl Task {
    /// Takes the exclusive reservation on the node with UUID `uuid` for `purpose`.
    pub async fn acquire(conductor: &Arc<Conductor>, uuid: &str, purpose: &str) -> Result<Task> {
        Task::acquire_within(conductor, uuid, purpose, LOCK_ATTEMPTS).await
    }

    /// Takes the reservation if nobody holds it, without waiting: `Ok(None)` when the
    /// node is locked.
    pub async fn try_acquire(
        conductor: &Arc<Conductor>,
        uuid: &str,
        purpose: &str,
    ) -> Result<Option<Task>> {
        match Task::acquire_within(conductor, uuid, purpose, 1).await {
            Ok(t) => Ok(Some(t)),
            Err(Error::NodeLocked { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn acquire_within(
        conductor: &Arc<Conductor>,
        uuid: &str,
        purpose: &str,
        attempts: u32,
    ) -> Result<Task> {
        let db = &conductor.db;
        let host = &conductor.host;
        let mut attempt = 0;
        loop {
            let node = nodes::by_uuid(db, uuid)
                .await?
                .ok_or_else(|| Error::not_found("Node", uuid))?;
            if nodes::reserve(db, node.id, host).await? {
                let node = nodes::by_id(db, node.id)
                    .await?
                    .ok_or_else(|| Error::not_found("Node", uuid))?;
                tracing::debug!(node = %node.uuid, purpose, "reservation taken");
                let drivers = match conductor.registry.driver_set(&node) {
                    Ok(d) => d,
                    Err(e) => {
                        nodes::release(db, node.id, host).await?;
                        return Err(e);
                    }
                };
                let ports = match nodes::ports(db, node.id).await {
                    Ok(p) => p,
                    Err(e) => {
                        nodes::release(db, node.id, host).await?;
                        return Err(e);
                    }
                };
                return Ok(Task {
                    conductor: conductor.clone(),
                    node,
                    ports,
                    drivers,
                    released: false,
                    release_on_settle: false,
                });
            }
            attempt += 1;
            if attempt >= attempts {
                let holder = nodes::by_uuid(db, uuid)
                    .await?
                    .and_then(|n| n.reservation)
                    .unwrap_or_else(|| host.clone());
                return Err(Error::NodeLocked {
                    node: uuid.to_owned(),
                    host: holder,
                });
            }
            tokio::time::sleep(LOCK_RETRY).await;
        }
    }

    /// The conductor running this task.
    pub fn conductor(&self) -> &Arc<Conductor> {
        &self.conductor
    }

    /// The driver context of this task.
    pub fn ctx(&mut self) -> TaskContext<'_> {
        TaskContext {
            node: &mut self.node,
            ports: &self.ports,
            drivers: &self.drivers,
            db: &self.conductor.db,
            host: &self.conductor.host,
        }
    }

    /// From now on, the transition that leaves the node without a target state also
    /// gives the reservation back, in the same row write: a client that sees the
    /// node settled never finds it still locked. The task must not write after that.
    pub fn release_when_settled(&mut self) {
        self.release_on_settle = true;
    }

    /// Has the task given its reservation back?
    pub fn is_released(&self) -> bool {
        self.released
    }

    /// Writes the node row.
    pub async fn save(&mut self) -> Result<()> {
        if self.released {
            return Err(Error::Internal(format!(
                "node {}: a task wrote after giving its reservation back",
                self.node.uuid
            )));
        }
        self.node.reservation = Some(self.conductor.host.clone());
        nodes::save(&self.conductor.db, &mut self.node).await
    }

    /// The node's provision state as the state machine's enum.
    pub fn provision_state(&self) -> Result<ProvisionState> {
        ProvisionState::from_str(&self.node.provision_state)
            .map_err(|e| Error::Internal(format!("node {}: {e}", self.node.uuid)))
    }

    /// The node's target provision state.
    pub fn target_state(&self) -> Option<ProvisionState> {
        self.node
            .target_provision_state
            .as_deref()
            .and_then(|s| ProvisionState::from_str(s).ok())
    }

    /// Moves the node through the state machine on `event` and saves it.
    pub async fn process_event(&mut self, event: Event) -> Result<()> {
        let from = self.provision_state()?;
        let step = states::resolve(from, event, self.target_state()).ok_or_else(|| {
            Error::Internal(format!(
                "event {event} is not legal in state {from} for node {}",
                self.node.uuid
            ))
        })?;
        tracing::info!(
            node = %self.node.uuid,
            from = %from,
            to = %step.provision_state,
            event = %event,
            "provision state change"
        );
        self.node.provision_state = step.provision_state.as_str().to_owned();
        self.node.target_provision_state = step.target.map(|t| t.as_str().to_owned());
        self.node.provision_updated_at = Some(Utc::now());
        if self.release_on_settle && step.target.is_none() {
            self.node.reservation = None;
            nodes::save(&self.conductor.db, &mut self.node).await?;
            self.released = true;
            return Ok(());
        }
        self.save().await
    }

    /// Records a failure: `last_error`, then the `Fail` event.
    pub async fn fail(&mut self, error: &str) -> Result<()> {
        tracing::warn!(node = %self.node.uuid, error, "operation failed");
        self.node.last_error = Some(error.to_owned());
        self.process_event(Event::Fail).await
    }

    /// Writes the node and gives the reservation back in the same row write, so that
    /// nobody sees the task's final state while the node is still reserved.
    /// When the write fails the reservation is released on its own and the error
    /// returned.
    pub async fn finish(mut self) -> Result<()> {
        if self.released {
            return Ok(());
        }
        self.node.reservation = None;
        match nodes::save(&self.conductor.db, &mut self.node).await {
            Ok(()) => {
                self.released = true;
                Ok(())
            }
            Err(e) => {
                tracing::error!(node = %self.node.uuid, error = %e, "could not save the node");
                self.release().await;
                Err(e)
            }
        }
    }

    /// Ends the task after the caller wrote the node itself, with `reservation` cleared,
    /// in a write of its own (a transaction spanning other rows).
    pub fn released_by_write(mut self) {
        self.released = true;
    }

    /// Gives the reservation back.
    pub async fn release(mut self) {
        if self.released {
            return;
        }
        self.released = true;
        let (db, id, host) = (
            self.conductor.db.clone(),
            self.node.id,
            self.conductor.host.clone(),
        );
        if let Err(e) = nodes::release(&db, id, &host).await {
            tracing::error!(node = %self.node.uuid, error = %e, "could not release reservation");
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (db, id, host, uuid) = (
            self.conductor.db.clone(),
            self.node.id,
            self.conductor.host.clone(),
            self.node.uuid.clone(),
        );
        tracing::warn!(node = %uuid, "task ended without releasing its reservation; releasing");
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = nodes::release(&db, id, &host).await {
                    tracing::error!(node = %uuid, error = %e, "could not release reservation");
                }
            });
        }
    }
}
