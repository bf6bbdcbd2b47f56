//! The error type shared by the API, the RPC transports and the conductor.
//!
//! Each variant corresponds to one class of Ironic exception and therefore to one HTTP
//! status; `api::error` renders it in Ironic's body format in one place. The type is
//! serialisable so that a conductor's failure crosses the RPC boundary unchanged.

use serde::{Deserialize, Serialize};

/// Result alias used across m2.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong, classified by how a client should react.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "type", content = "detail", rename_all = "snake_case")]
pub enum Error {
    /// A named resource does not exist (404).
    #[error("{kind} {id} could not be found.")]
    NotFound { kind: String, id: String },
    /// The node is reserved by a conductor (409); the client should retry.
    #[error(
        "Node {node} is locked by host {host}, please retry after the current operation is completed."
    )]
    NodeLocked { node: String, host: String },
    /// The node changed between the read a request's change was computed from and
    /// the write (409); the API recomputes and retries before a client sees it.
    #[error("Node {0} was changed by another request; please retry.")]
    Stale(String),
    /// A uniqueness or dependency conflict (409).
    #[error("{0}")]
    Conflict(String),
    /// Malformed or invalid input (400).
    #[error("{0}")]
    Invalid(String),
    /// The requested change is not allowed in the resource's current state (400).
    #[error("{0}")]
    InvalidState(String),
    /// The method is not served on this path at the requested version (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The requested API version or media type is not acceptable (406).
    #[error("{0}")]
    NotAcceptable(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The operation is not implemented by the node's driver (400, like Ironic's
    /// UnsupportedDriverExtension).
    #[error("{0}")]
    Unsupported(String),
    /// No alive conductor serves the node's driver in its conductor group (404,
    /// Ironic's NoValidHost).
    #[error("{0}")]
    NoValidHost(String),
    /// No conductor can serve the request right now, or a service it needs (database,
    /// message bus) is out of reach (503).
    #[error("{0}")]
    Unavailable(String),
    /// An unexpected failure on the server side (500).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A 404 for a resource kind ("Node", "Port", ...) and the identifier the caller used.
    pub fn not_found(kind: &str, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind: kind.to_owned(),
            id: id.into(),
        }
    }

    /// A 400 with a message.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    /// HTTP status code of this error class.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound { .. } | Error::NoValidHost(_) => 404,
            Error::NodeLocked { .. } | Error::Stale(_) | Error::Conflict(_) => 409,
            Error::Invalid(_) | Error::InvalidState(_) | Error::Unsupported(_) => 400,
            Error::NotAcceptable(_) => 406,
            Error::MethodNotAllowed(_) => 405,
            Error::Forbidden(_) => 403,
            Error::Unavailable(_) => 503,
            Error::Internal(_) => 500,
        }
    }
}

impl Error {
    /// The message of a database that cannot be reached.
    pub const DB_UNAVAILABLE: &str = "The database is not reachable, please retry.";

    /// Is this the database being out of reach (worth retrying later)?
    pub fn is_db_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable(m) if m == Self::DB_UNAVAILABLE)
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::is_connection_error(&e) {
            tracing::warn!(error = %e, "database not reachable");
            return Error::Unavailable(Error::DB_UNAVAILABLE.into());
        }
        tracing::error!(error = %e, "database error");
        Error::Internal(format!("Database error: {e}"))
    }
}
