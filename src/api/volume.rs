//! `/v1/volume` (1.32): the root of the volume resources, and what the volume connectors
//! (`volume_connectors.rs`) and targets (`volume_targets.rs`) share: the node a list is
//! limited to, the node named in a body, and the node states in which a node's volume
//! records may change.
//!
//! Like Ironic, m2 lets a connector or target be created at any time, but changes or
//! removes one only while its node is powered off (removal also while the node is in
//! enroll, manageable or adopt failed), under the node's reservation.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::collection::{self, ListQuery, Spec};
use super::common::Ctx;
use super::nodes::lookup;
use super::version::Feature;
use super::{AppState, resource};
use crate::conductor::states::ProvisionState;
use crate::db::nodes::Node;
use crate::drivers::PowerState;
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// Query parameters of a volume list.
const LIST_PARAMS: &[&str] = &[
    "node", "fields", "detail", "limit", "marker", "sort_key", "sort_dir",
];

/// Links of a volume root: itself and its two collections, under `base` (`volume` or
/// `nodes/{node}/volume`).
fn root_doc(ctx: &Ctx, base: &str) -> Value {
    json!({
        "links": ctx.links(&format!("{base}/")),
        "connectors": ctx.links(&format!("{base}/connectors")),
        "targets": ctx.links(&format!("{base}/targets")),
    })
}

#[utoipa::path(get, path = "/v1/volume", tag = "Volume", params(super::openapi::VersionHeaders), responses((status = 200, description = "Links to the volume connectors and targets (1.32)"), (status = 404, description = "Version older than 1.32", body = super::openapi::ErrorBody)))]
pub async fn root(ctx: Ctx) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    Ok(HttpResponse::Ok().json(root_doc(&ctx, "volume")))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/volume", tag = "Volume", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "Links to the node's volume connectors and targets (1.32)"), (status = 404, description = "Node not found, or version older than 1.32", body = super::openapi::ErrorBody)))]
pub async fn node_root(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    collection::uuid_or_name_arg("node", &path)?;
    let n = lookup(&state, &ctx, &path).await?;
    ctx.authorize_node(super::access::NODE_GET, &n, &path)?;
    Ok(HttpResponse::Ok().json(root_doc(&ctx, &format!("nodes/{path}/volume"))))
}

/// The parsed query of a volume list, the id of the node it is limited to (the
/// parent node of `/v1/nodes/{node}/volume/...`, else the `node` parameter), and the
/// project whose nodes it is limited to (a project-scoped caller's).
pub async fn list_scope(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    spec: &Spec,
    sortable: &[&str],
    parent: Option<&str>,
) -> Result<(ListQuery, Option<i64>, Option<String>)> {
    ctx.require(Feature::Volume)?;
    let lq = collection::list_query(
        ctx,
        req,
        spec,
        sortable,
        state.config.api.max_limit as u64,
        false,
    )?;
    if let Some(k) = lq.q.keys().find(|k| !LIST_PARAMS.contains(&k.as_str())) {
        return Err(Error::invalid(format!("Unexpected argument: {k}")));
    }
    let node_id = match parent.or(lq.q.get("node").map(String::as_str)) {
        Some(n) => {
            collection::uuid_or_name_arg("node", n)?;
            let node = lookup(state, ctx, n).await?;
            ctx.authorize_node(super::access::NODE_GET, &node, n)?;
            Some(node.id)
        }
        None => None,
    };
    let project = ctx.list_scope("volume", None)?;
    Ok((lq, node_id, project))
}

/// The path of a volume collection (for `next` links).
pub fn list_path(parent: Option<&str>, collection: &str) -> String {
    match parent {
        Some(n) => format!("nodes/{n}/volume/{collection}"),
        None => format!("volume/{collection}"),
    }
}

/// The node named by `node_uuid` in a create body; 400 when there is none.
pub async fn body_node(state: &AppState, ctx: &Ctx, uuid: &str) -> Result<Node> {
    visible(ctx, lookup(state, ctx, uuid).await, uuid).map_err(|e| match e {
        Error::NotFound { .. } => Error::invalid(format!(
            "Invalid input for field/attribute node_uuid. Value: '{uuid}'. No such node."
        )),
        other => other,
    })
}

/// A node the caller may see; 404 for one it may not.
fn visible(ctx: &Ctx, node: Result<Node>, ident: &str) -> Result<Node> {
    let node = node?;
    ctx.authorize_node(super::access::NODE_GET, &node, ident)?;
    Ok(node)
}

/// The node a PATCH moves a record to; 400 when there is none.
pub async fn patched_node(state: &AppState, ctx: &Ctx, uuid: &str) -> Result<Node> {
    visible(ctx, lookup(state, ctx, uuid).await, uuid).map_err(|e| match e {
        Error::NotFound { .. } => Error::invalid(format!(
            "Unable to apply the requested node_uuid '{uuid}': no such node."
        )),
        other => other,
    })
}

fn is_powered_off(node: &Node) -> bool {
    node.power_state.as_deref() == Some(PowerState::Off.as_str())
}

fn power_state_text(node: &Node) -> &str {
    node.power_state.as_deref().unwrap_or("None")
}

/// May the volume records of `node` change (`action`, e.g. "volume target update")?
/// Only while it is powered off, as Ironic's conductor requires; maintenance mode does
/// not lift the rule.
pub fn check_update(node: &Node, action: &str) -> Result<()> {
    if is_powered_off(node) {
        return Ok(());
    }
    Err(Error::InvalidState(format!(
        "The requested action \"{action}\" can not be performed on node \"{}\" while its power state \
         is \"{}\": the node must be powered off.",
        node.uuid,
        power_state_text(node)
    )))
}

/// May a volume record of `node` be removed? While it is powered off, or in a state
/// where the node itself could be deleted (enroll, manageable, adopt failed).
pub fn check_delete(node: &Node, action: &str) -> Result<()> {
    let deletable = node
        .provision_state
        .parse::<ProvisionState>()
        .is_ok_and(ProvisionState::is_deletable);
    if deletable || is_powered_off(node) {
        return Ok(());
    }
    Err(Error::InvalidState(format!(
        "The requested action \"{action}\" can not be performed on node \"{}\" while its power state \
         is \"{}\": the node must be powered off, or in the enroll, manageable or adopt \
         failed state.",
        node.uuid,
        power_state_text(node)
    )))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/volume").route(web::get().to(root)))
        .service(resource("/v1/volume/").route(web::get().to(root)))
        .service(resource("/v1/nodes/{node}/volume").route(web::get().to(node_root)))
        .service(resource("/v1/nodes/{node}/volume/").route(web::get().to(node_root)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(root, node_root))]
pub struct Doc;
