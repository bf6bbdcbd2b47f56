//! The HTTP API: Ironic's Bare Metal API v1. One module per resource; handlers parse and
//! check the request, ask a conductor over RPC for anything that changes a node, and
//! shape the response for the negotiated microversion.

pub mod access;
pub mod allocations;
pub mod boot;
pub mod chassis;
pub mod checks;
pub mod collection;
pub mod common;
pub mod conductors;
pub mod deploy_templates;
pub mod drivers;
pub mod error;
pub mod events;
pub mod images;
pub mod indicators;
pub mod middleware;
pub mod node_lock;
pub mod node_states;
pub mod node_view;
pub mod nodes;
pub mod openapi;
pub mod patch;
pub mod portgroups;
pub mod ports;
pub mod root;
pub mod version;
pub mod volume;
pub mod volume_connectors;
pub mod volume_targets;
pub mod volumes;

use std::sync::Arc;

use actix_web::web;
use sea_orm::DatabaseConnection;

use crate::auth::Auth;
use crate::config::Config;
use crate::drivers::Registry;
use crate::hash_ring::RingCache;
use crate::rpc::Transport;

/// Shared state of the API service.
pub struct AppState {
    pub db: DatabaseConnection,
    pub rpc: Arc<dyn Transport>,
    /// Which conductor owns which node (the `conductor` field of nodes).
    pub ring: Arc<RingCache>,
    pub registry: Arc<Registry>,
    pub config: Arc<Config>,
    /// The image library (its Ceph connection is made on first use).
    pub images: Arc<crate::images::ImageCatalog>,
    /// The disk volume library.
    pub volumes: Arc<crate::volumes::VolumeCatalog>,
    /// Base URL for links when configured (`[api] public_endpoint`).
    pub public_endpoint: Option<String>,
    /// Authentication of callers and the policy they are checked against.
    pub auth: Arc<Auth>,
}

/// Every path registered through [`route`], in the order of registration.
static REGISTERED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A resource at `path`, recorded in the route registry. Every route of the API is made
/// through this function (or [`resource`]), so that [`registered_paths`] knows them all:
/// `m2 routes` prints them and a test checks each is documented in the OpenAPI document.
pub fn route(path: &str) -> actix_web::Resource {
    let mut seen = REGISTERED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !seen.iter().any(|p| p == path) {
        seen.push(path.to_owned());
    }
    web::resource(path)
}

/// A resource whose unserved methods answer 405 in Ironic's format.
pub fn resource(path: &str) -> actix_web::Resource {
    route(path).default_service(web::to(error::method_not_allowed))
}

/// The paths [`configure`] registers, sorted: an application is configured with it (which
/// runs it at once) and the registry read back.
pub fn registered_paths() -> Vec<String> {
    let _app = actix_web::App::new().configure(configure);
    let mut paths = REGISTERED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    paths.sort();
    paths
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    root::configure(cfg);
    nodes::configure(cfg);
    node_states::configure(cfg);
    conductors::configure(cfg);
    drivers::configure(cfg);
    ports::configure(cfg);
    boot::configure(cfg);
    images::configure(cfg);
    volumes::configure(cfg);
    portgroups::configure(cfg);
    chassis::configure(cfg);
    volume::configure(cfg);
    volume_connectors::configure(cfg);
    volume_targets::configure(cfg);
    allocations::configure(cfg);
    deploy_templates::configure(cfg);
    events::configure(cfg);
    indicators::configure(cfg);
}

/// OpenAPI documents of resource modules, merged into `openapi::document`.
pub fn extra_docs() -> Vec<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    vec![
        drivers::Doc::openapi(),
        conductors::Doc::openapi(),
        ports::Doc::openapi(),
        images::Doc::openapi(),
        volumes::Doc::openapi(),
        portgroups::Doc::openapi(),
        chassis::Doc::openapi(),
        volume::Doc::openapi(),
        volume_connectors::Doc::openapi(),
        volume_targets::Doc::openapi(),
        allocations::Doc::openapi(),
        deploy_templates::Doc::openapi(),
        events::Doc::openapi(),
        indicators::Doc::openapi(),
        boot::Doc::openapi(),
    ]
}
