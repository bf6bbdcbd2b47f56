//! The task manager: a task holds a node's exclusive reservation while it changes the
//! node, and gives it back on every exit path.
//!
//! The reservation is the node row's `reservation` column, taken with a conditional
//! UPDATE (`... WHERE reservation IS NULL`) so that two conductors, or two requests on
//! one conductor, can never both hold it. `Task::release` gives it back; if a task is
//! dropped without that (an early return, a panic in a worker), `Drop` releases it in the
//! background. A conductor that dies holding reservations has them cleared when it, or
//! another conductor, takes over (see `Conductor::recover` and `takeover`).
//!
//! Every write of a task is conditional on the reservation still being this
//! conductor's (`nodes::save_held`): a conductor that was taken for dead while it was
//! only cut off cannot overwrite what the conductor that took its nodes over wrote.
//! A task running in the background (after the API got its 202) retries writes that
//! fail because the database is out of reach, until they succeed or the conductor is
//! told to abort: the outcome of an accepted operation is never dropped.
//!
//! The conductor also keeps, in memory, the set of nodes its tasks hold
//! ([`Conductor::holds`](super::Conductor)); a reservation in the database under this
//! conductor's name that no task holds is stale and is cleared by a periodic check.

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

/// How long a background task waits between two attempts at a write the database
/// refused for being out of reach, at most.
const DB_RETRY_MAX: Duration = Duration::from_secs(5);

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
    /// Runs in the background: writes are retried while the database is away.
    background: bool,
    /// The reservation was taken by another conductor: nothing more is written.
    lost: bool,
}

impl Task {
    /// Takes the exclusive reservation on the node with UUID `uuid` for `purpose`.
    pub async fn acquire(conductor: &Arc<Conductor>, uuid: &str, purpose: &str) -> Result<Task> {
        Task::acquire_within(conductor, uuid, purpose, LOCK_ATTEMPTS).await
    }

    /// Takes the reservation only if it is free now; `None` when another holds it.
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
            // Registered before the reservation is taken, so that the stale-lock check
            // never sees a reservation of ours that no task holds.
            let held = conductor.hold(node.id);
            let reserved = if held {
                match nodes::reserve(db, node.id, host).await {
                    Ok(r) => r,
                    Err(e) => {
                        conductor.unhold(node.id);
                        return Err(e);
                    }
                }
            } else {
                false
            };
            if reserved {
                let task = Task::adopt(conductor, node.id).await?;
                tracing::debug!(node = %task.node.uuid, purpose, "reservation taken");
                return Ok(task);
            }
            if held {
                conductor.unhold(node.id);
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

    /// A task over a reservation this conductor already holds in the database and in
    /// [`Conductor::hold`]: loads the node, its ports and drivers. On failure the
    /// reservation is given back.
    pub async fn adopt(conductor: &Arc<Conductor>, id: i64) -> Result<Task> {
        let db = &conductor.db;
        let host = &conductor.host;
        let give_back = |e: Error| async move {
            let _ = nodes::release(db, id, host).await;
            conductor.unhold(id);
            e
        };
        let node = match nodes::by_id(db, id).await {
            Ok(Some(n)) => n,
            Ok(None) => return Err(give_back(Error::not_found("Node", id.to_string())).await),
            Err(e) => return Err(give_back(e).await),
        };
        let drivers = match conductor.registry.driver_set(&node) {
            Ok(d) => d,
            Err(e) => return Err(give_back(e).await),
        };
        let ports = match nodes::ports(db, node.id).await {
            Ok(p) => p,
            Err(e) => return Err(give_back(e).await),
        };
        Ok(Task {
            conductor: conductor.clone(),
            node,
            ports,
            drivers,
            released: false,
            background: false,
            lost: false,
        })
    }

    /// Marks the task as running in the background: from now on writes are retried
    /// while the database is out of reach.
    pub fn into_background(mut self) -> Task {
        self.background = true;
        self
    }

    /// Ends the task without any write: for a task adopted over a reservation that
    /// turned out not to be this conductor's.
    pub(crate) fn disown(mut self) {
        self.released = true;
        self.conductor.unhold(self.node.id);
    }

    /// Has another conductor taken the node's reservation?
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// After a failed write: `true` when it should be tried again, after a pause. A
    /// background task retries while the database is out of reach, until the write
    /// succeeds or the conductor aborts its work.
    async fn retry(&self, e: &Error, wait: &mut Duration, what: &str) -> bool {
        if !self.background || !e.is_db_unavailable() || self.conductor.is_aborting() {
            return false;
        }
        tracing::warn!(node = %self.node.uuid, what, retry_in = ?*wait, "database out of reach; retrying");
        tokio::time::sleep(*wait).await;
        *wait = (*wait * 2).min(DB_RETRY_MAX);
        true
    }

    /// The error of a task whose reservation was taken by another conductor.
    fn lost_error(&mut self) -> Error {
        self.lost = true;
        tracing::error!(node = %self.node.uuid, host = %self.conductor.host, "reservation lost to another conductor; abandoning the operation");
        Error::Conflict(format!(
            "Node {} was taken over by another conductor while {} worked on it; \
             the operation was abandoned.",
            self.node.uuid, self.conductor.host
        ))
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

    /// Writes the node row, while this conductor still holds the reservation.
    pub async fn save(&mut self) -> Result<()> {
        if self.lost {
            return Err(self.lost_error());
        }
        let (db, host) = (self.conductor.db.clone(), self.conductor.host.clone());
        self.node.reservation = Some(host.clone());
        let mut wait = Duration::from_millis(200);
        loop {
            match nodes::save_held(&db, &mut self.node, &host).await {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(self.lost_error()),
                Err(e) => {
                    if !self.retry(&e, &mut wait, "save node").await {
                        return Err(e);
                    }
                }
            }
        }
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
        self.apply_event(event)?;
        self.save().await
    }

    /// Moves the node through the state machine on `event`, in memory only.
    pub fn apply_event(&mut self, event: Event) -> Result<()> {
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
        Ok(())
    }

    /// Records a failure: `last_error`, then the `Fail` event.
    pub async fn fail(&mut self, error: &str) -> Result<()> {
        self.mark_failed(error)?;
        self.save().await
    }

    /// Records a failure in memory: the next write ([`Task::finish`]) stores it.
    pub fn mark_failed(&mut self, error: &str) -> Result<()> {
        tracing::warn!(node = %self.node.uuid, error, "operation failed");
        self.node.last_error = Some(error.to_owned());
        self.apply_event(Event::Fail)
    }

    /// Writes the node and gives the reservation back in the same row write, so that
    /// nobody sees the task's final state while the node is still reserved.
    /// When the write fails the reservation is released on its own and the error
    /// returned.
    pub async fn finish(mut self) -> Result<()> {
        if self.lost {
            return Err(self.lost_error());
        }
        let (db, host) = (self.conductor.db.clone(), self.conductor.host.clone());
        self.node.reservation = None;
        let mut wait = Duration::from_millis(200);
        loop {
            match nodes::save_held(&db, &mut self.node, &host).await {
                Ok(true) => {
                    self.released = true;
                    self.conductor.unhold(self.node.id);
                    return Ok(());
                }
                Ok(false) => return Err(self.lost_error()),
                Err(e) => {
                    if !self.retry(&e, &mut wait, "save node and release").await {
                        tracing::error!(node = %self.node.uuid, error = %e, "could not save the node");
                        self.release().await;
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Ends a task whose reservation a write of its own already cleared (the node row
    /// and an allocation written in one transaction).
    pub fn released_by_write(mut self) {
        self.released = true;
        self.conductor.unhold(self.node.id);
    }

    /// Gives the reservation back.
    pub async fn release(mut self) {
        self.released = true;
        let (db, id, host) = (
            self.conductor.db.clone(),
            self.node.id,
            self.conductor.host.clone(),
        );
        let mut wait = Duration::from_millis(200);
        if !self.lost {
            loop {
                match nodes::release(&db, id, &host).await {
                    Ok(_) => break,
                    Err(e) => {
                        if !self.retry(&e, &mut wait, "release reservation").await {
                            // The periodic stale-lock check clears it once the database
                            // is back.
                            tracing::error!(node = %self.node.uuid, error = %e, "could not release reservation");
                            break;
                        }
                    }
                }
            }
        }
        self.conductor.unhold(id);
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if self.lost {
            // Another conductor holds the reservation now: only our own record goes.
            self.conductor.unhold(self.node.id);
            return;
        }
        let (conductor, id, uuid) = (self.conductor.clone(), self.node.id, self.node.uuid.clone());
        tracing::warn!(node = %uuid, "task ended without releasing its reservation; releasing");
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if let Err(e) = nodes::release(&conductor.db, id, &conductor.host).await {
                        tracing::error!(node = %uuid, error = %e, "could not release reservation");
                    }
                    conductor.unhold(id);
                });
            }
            Err(_) => conductor.unhold(id),
        }
    }
}
