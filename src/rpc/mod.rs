//! RPC between the API and the conductors.
//!
//! Every operation the API asks of a conductor is a [`Request`]: a serialisable value, so
//! that the same requests travel in process (`m2 standalone`) or over a message broker.
//! A transport implements [`Transport`]; the conductor side implements [`Handler`].
//! [`local`] is the in-process transport of `m2 standalone`, [`amqp`] the RabbitMQ one
//! between `m2 api` and `m2 conductor` processes.

pub mod amqp;
pub mod local;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::drivers::PowerAction;
use crate::error::Result;

/// A new allocation, checked by the API, for a conductor to create and process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAllocation {
    pub uuid: String,
    pub name: Option<String>,
    pub resource_class: Option<String>,
    pub traits: Vec<String>,
    /// UUIDs of the nodes the allocation may pick from (empty: any).
    pub candidate_nodes: Vec<String>,
    pub extra: Value,
    pub owner: Option<String>,
    /// Backfilling: the UUID of the deployed node the allocation describes.
    pub node: Option<String>,
}

/// An operation on a node, addressed by the node's UUID, or on an allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", content = "args", rename_all = "snake_case")]
pub enum Request {
    /// Writes changed fields (wire names → new values) under the node's lock.
    /// `base` holds the values the changes were computed from; when the node no longer
    /// has them the conductor answers [`Error::Stale`](crate::error::Error::Stale)
    /// and writes nothing, so concurrent PATCHes never lose each other's changes.
    UpdateNode {
        node: String,
        changes: Map<String, Value>,
        #[serde(default)]
        base: Map<String, Value>,
    },
    /// Deletes the node with its ports, portgroups and volume records.
    DestroyNode {
        node: String,
    },
    /// Changes the power state; answers once accepted.
    ChangePowerState {
        node: String,
        action: PowerAction,
        timeout: Option<u64>,
    },
    /// A provision verb; answers once accepted.
    Provision {
        node: String,
        verb: String,
        #[serde(default)]
        args: Map<String, Value>,
    },
    /// Runs every interface's `validate`.
    Validate {
        node: String,
    },
    SetBootDevice {
        node: String,
        device: String,
        persistent: bool,
    },
    GetBootDevice {
        node: String,
    },
    GetSupportedBootDevices {
        node: String,
    },
    InjectNmi {
        node: String,
    },
    /// Moves a failed node's disk to a spare node and boots it there; answers once
    /// accepted.
    Recover {
        node: String,
        spare: String,
    },
    SetConsoleMode {
        node: String,
        enabled: bool,
    },
    GetConsole {
        node: String,
    },
    VifAttach {
        node: String,
        vif: Map<String, Value>,
    },
    VifDetach {
        node: String,
        vif_id: String,
    },
    VifList {
        node: String,
    },
    /// Replaces the node's traits (`replace`) or adds to them.
    SetTraits {
        node: String,
        traits: Vec<String>,
        replace: bool,
    },
    /// Removes one trait, or all when `name` is `None`.
    RemoveTraits {
        node: String,
        name: Option<String>,
    },
    /// The indicators of the node's components.
    GetIndicators {
        node: String,
    },
    GetIndicatorState {
        node: String,
        component: String,
        indicator: String,
    },
    SetIndicatorState {
        node: String,
        component: String,
        indicator: String,
        state: String,
    },
    /// Creates an allocation and looks for a node in the background (or, when
    /// backfilling, records the node at once); answers the new allocation.
    CreateAllocation {
        allocation: NewAllocation,
    },
    /// Deletes the allocation with this UUID and frees its node.
    DestroyAllocation {
        allocation: String,
    },
}

impl Request {
    /// The node the request is about (the allocation, for allocation requests).
    pub fn node(&self) -> &str {
        match self {
            Request::CreateAllocation { allocation } => &allocation.uuid,
            Request::DestroyAllocation { allocation } => allocation,
            Request::UpdateNode { node, .. }
            | Request::DestroyNode { node }
            | Request::ChangePowerState { node, .. }
            | Request::Provision { node, .. }
            | Request::Validate { node }
            | Request::SetBootDevice { node, .. }
            | Request::GetBootDevice { node }
            | Request::GetSupportedBootDevices { node }
            | Request::InjectNmi { node }
            | Request::Recover { node, .. }
            | Request::SetConsoleMode { node, .. }
            | Request::GetConsole { node }
            | Request::VifAttach { node, .. }
            | Request::VifDetach { node, .. }
            | Request::VifList { node }
            | Request::SetTraits { node, .. }
            | Request::RemoveTraits { node, .. }
            | Request::GetIndicators { node }
            | Request::GetIndicatorState { node, .. }
            | Request::SetIndicatorState { node, .. } => node,
        }
    }
}

/// The conductor side: answers requests.
#[async_trait]
pub trait Handler: Send + Sync {
    /// Handles one request; the answer is JSON (`null` when there is nothing to say).
    async fn handle(&self, req: Request) -> Result<Value>;
}

/// The API side: delivers a request to the conductor that owns the node and waits for
/// its answer. Operations that run long (provision verbs, power changes) answer once
/// the conductor accepted them; the work goes on in the conductor's background.
#[async_trait]
pub trait Transport: Send + Sync {
    async fn call(&self, req: Request) -> Result<Value>;
}
