//! A short exclusive hold on a node taken by the API itself, for changes that do not
//! need a conductor (ports, portgroups, volume records) but must not race with one: the
//! same reservation a conductor's task takes, so a node busy in a task answers 409
//! NodeLocked, as Ironic's conductor-side locks do.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::AppState;
use crate::db::nodes::{self, Node};
use crate::error::{Error, Result};

const ATTEMPTS: u32 = 3;
const RETRY: Duration = Duration::from_millis(100);
/// How often a change computed from a record that changed before the reservation was
/// taken is computed again. Writers that keep colliding back off for a random few
/// milliseconds, so a busy node serialises them instead of failing them.
const STALE_RETRIES: u32 = 20;

/// The reservation of one node, released on drop.
pub struct NodeLock {
    db: DatabaseConnection,
    host: String,
    /// The node, read after the reservation was taken.
    pub node: Node,
    released: bool,
}

impl NodeLock {
    /// Takes the reservation of `node`, retrying briefly; 409 NodeLocked when another
    /// holder keeps it.
    pub async fn acquire(state: &AppState, node: &Node) -> Result<NodeLock> {
        let host = state.config.default.host.clone();
        let mut attempt = 0;
        loop {
            if nodes::reserve(&state.db, node.id, &host).await? {
                let fresh = match nodes::by_id(&state.db, node.id).await {
                    Ok(Some(n)) => n,
                    Ok(None) => {
                        nodes::release(&state.db, node.id, &host).await?;
                        return Err(Error::not_found("Node", node.uuid.clone()));
                    }
                    Err(e) => {
                        nodes::release(&state.db, node.id, &host).await?;
                        return Err(e);
                    }
                };
                return Ok(NodeLock {
                    db: state.db.clone(),
                    host,
                    node: fresh,
                    released: false,
                });
            }
            attempt += 1;
            if attempt >= ATTEMPTS {
                let holder = nodes::by_id(&state.db, node.id)
                    .await?
                    .and_then(|n| n.reservation)
                    .unwrap_or_else(|| host.clone());
                return Err(Error::NodeLocked {
                    node: node.uuid.clone(),
                    host: holder,
                });
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Gives the reservation back.
    pub async fn release(mut self) -> Result<()> {
        self.released = true;
        nodes::release(&self.db, self.node.id, &self.host).await?;
        Ok(())
    }
}

impl Drop for NodeLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // An early return or a dropped request: give the reservation back anyway.
        let (db, id, host) = (self.db.clone(), self.node.id, self.host.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = nodes::release(&db, id, &host).await {
                    tracing::error!(node_id = id, error = %e, "could not release a node reservation");
                }
            });
        }
    }
}

/// Runs `f` while holding the node's reservation, and releases it whatever `f` answers.
pub async fn with_lock<T>(
    state: &AppState,
    node: &Node,
    f: impl AsyncFnOnce(&Node) -> Result<T>,
) -> Result<T> {
    let lock = NodeLock::acquire(state, node).await?;
    let out = f(&lock.node).await;
    let released = lock.release().await;
    let out = out?;
    released?;
    Ok(out)
}

/// Runs `attempt` again while it fails with [`Error::Stale`], a few times at most.
///
/// A change to a record beside a node (portgroup, volume connector or target) is
/// computed from a read taken before the node's reservation; under the reservation the
/// record is read again, and if it changed in between, the attempt answers `Stale` and
/// the change is computed afresh.
pub async fn retry_stale<T>(mut attempt: impl AsyncFnMut() -> Result<T>) -> Result<T> {
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(Error::Stale(_)) if retries < STALE_RETRIES => {
                retries += 1;
                let ms = rand::random_range(1..=5 * u64::from(retries));
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            other => return other,
        }
    }
}

/// The node a record belongs to.
pub async fn owner(state: &AppState, node_id: i64) -> Result<Node> {
    nodes::by_id(&state.db, node_id)
        .await?
        .ok_or_else(|| Error::not_found("Node", node_id.to_string()))
}
