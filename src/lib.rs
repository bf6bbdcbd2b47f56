//! m2: bare-metal provisioning from Ceph RBD linked clones, behind the OpenStack Bare
//! Metal (Ironic) API. See ARCHITECTURE.md for the map of modules.

pub mod api;
pub mod auth;
pub mod client;
pub mod conductor;
pub mod config;
pub mod db;
pub mod drivers;
pub mod error;
pub mod hash_ring;
pub mod images;
pub mod iscsi;
pub mod rpc;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod volumes;
