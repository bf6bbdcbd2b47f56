//! `/v1/portgroups` (1.23): bonds of a node's ports, addressed by UUID or name. Also
//! listed under `/v1/nodes/{node}/portgroups` (1.24, read-only there); the members of a
//! portgroup are served by `ports.rs` at `/v1/portgroups/{portgroup}/ports`.
//!
//! Changes take the node's reservation (`node_lock`), and are computed again when the
//! portgroup changed between the first read and the reservation.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::collection::{self, Body, ListQuery, Spec};
use super::common::{self, Ctx};
use super::node_lock::{owner, retry_stale, with_lock};
use super::nodes::lookup;
use super::patch;
use super::version::Feature;
use super::{AppState, resource};
use crate::conductor::states::ProvisionState;
use crate::conductor::vifs::{vif_of_port, vif_of_portgroup};
use crate::db::nodes::Node;
use crate::db::paging::Paging;
use crate::db::ports::{self, Portgroup, PortgroupFilter};
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// The portgroup resource on the wire.
pub const SPEC: Spec = Spec {
    kind: "portgroup",
    fields: &[
        ("uuid", 23),
        ("address", 23),
        ("name", 23),
        ("node_uuid", 23),
        ("standalone_ports_supported", 23),
        ("internal_info", 23),
        ("extra", 23),
        ("mode", 26),
        ("properties", 26),
        ("ports", 23),
        ("created_at", 23),
        ("updated_at", 23),
    ],
    short: &["uuid", "address", "name"],
    fields_since: 23,
    detail_since: 43,
};

/// `/v1/nodes/{node}/portgroups` is served from this version.
const NODE_COLLECTION_SINCE: u16 = 24;

/// Root attributes a PATCH may change (and, with `uuid`, a create body may hold).
const PATCHABLE: &[&str] = &[
    "address",
    "extra",
    "mode",
    "name",
    "node_uuid",
    "properties",
    "standalone_ports_supported",
];

/// Provision states in which a portgroup may move to another node (besides
/// maintenance).
const MOVABLE_IN: &[ProvisionState] = &[
    ProvisionState::Enroll,
    ProvisionState::Inspecting,
    ProvisionState::InspectWait,
    ProvisionState::Manageable,
];

fn view(
    ctx: &Ctx,
    g: &Portgroup,
    nodes: &HashMap<i64, String>,
    fields: Option<&[String]>,
    detail: bool,
) -> Value {
    collection::render(
        ctx,
        &SPEC,
        fields,
        detail,
        &format!("portgroups/{}", g.uuid),
        |f| match f {
            "uuid" => json!(g.uuid),
            "address" => json!(g.address),
            "name" => json!(g.name),
            "node_uuid" => json!(nodes.get(&g.node_id)),
            "standalone_ports_supported" => json!(g.standalone_ports_supported),
            "internal_info" => g.internal_info.clone(),
            "extra" => g.extra.clone(),
            "mode" => json!(g.mode),
            "properties" => g.properties.clone(),
            "ports" => ctx.links(&format!("portgroups/{}/ports", g.uuid)),
            "created_at" => common::ts(&g.created_at),
            "updated_at" => common::ts_opt(&g.updated_at),
            _ => Value::Null,
        },
    )
}

/// One portgroup rendered in full.
async fn render_one(state: &AppState, ctx: &Ctx, g: &Portgroup) -> Result<Value> {
    let nodes = ports::node_uuids(&state.db, &[g.node_id]).await?;
    Ok(view(ctx, g, &nodes, None, true))
}

/// A portgroup by UUID or name; 400 for an identifier that is neither.
async fn find(state: &AppState, ident: &str) -> Result<Portgroup> {
    collection::uuid_or_name_arg("portgroup", ident)?;
    super::ports::find_portgroup(state, ident).await
}

/// Reads a portgroup again under its node's reservation: `Stale` when it changed
/// since `seen` was read, so that the change is computed again.
async fn reread(state: &AppState, locked: &Node, seen: &Portgroup) -> Result<Portgroup> {
    let fresh = ports::portgroup_by_uuid(&state.db, &seen.uuid)
        .await?
        .ok_or_else(|| Error::not_found("Portgroup", seen.uuid.clone()))?;
    if &fresh != seen || fresh.node_id != locked.id {
        return Err(Error::Stale(locked.uuid.clone()));
    }
    Ok(fresh)
}

async fn list_groups(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    parent: Option<String>,
    detail_path: bool,
) -> Result<HttpResponse> {
    ctx.require(Feature::Portgroups)?;
    if parent.is_some() && !ctx.version.at_least(NODE_COLLECTION_SINCE) {
        return Err(Error::not_found("Resource", req.path()));
    }
    let lq: ListQuery = collection::list_query(
        ctx,
        req,
        &SPEC,
        ports::PORTGROUP_SORTABLE,
        state.config.api.max_limit as u64,
        detail_path,
    )?;
    for k in lq.q.keys() {
        if !matches!(
            k.as_str(),
            "node" | "address" | "fields" | "detail" | "limit" | "marker" | "sort_key" | "sort_dir"
        ) {
            return Err(Error::invalid(format!("Unexpected argument: {k}")));
        }
    }
    let node_ident = parent.clone().or_else(|| lq.q.get("node").cloned());
    let address = lq.q.get("address");
    if node_ident.is_some() && address.is_some() {
        return Err(Error::invalid(
            "Filtering portgroups by node and by address at once is not supported.",
        ));
    }
    let mut filter = PortgroupFilter::default();
    if let Some(n) = &node_ident {
        collection::uuid_or_name_arg("node", n)?;
        let node = lookup(state, ctx, n).await?;
        ctx.authorize_node(super::access::NODE_GET, &node, n)?;
        filter.node_id = Some(node.id);
    }
    filter.project = ctx.list_scope("portgroup", None)?;
    if let Some(a) = address {
        filter.address = Some(collection::mac_arg("address", a)?);
    }
    let marker = match &lq.page.marker {
        Some(m) => Some(
            ports::portgroup_by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Portgroup", m.clone()))?,
        ),
        None => None,
    };
    let rows = ports::list_portgroups(
        &state.db,
        &filter,
        Paging {
            limit: lq.page.limit,
            marker: marker.as_ref(),
            sort_key: &lq.page.sort_key,
            descending: lq.page.sort_dir == common::SortDir::Desc,
        },
    )
    .await?;
    let node_ids: Vec<i64> = rows.iter().map(|g| g.node_id).collect();
    let nodes = ports::node_uuids(&state.db, &node_ids).await?;
    let items = rows
        .iter()
        .map(|g| view(ctx, g, &nodes, lq.fields.as_deref(), lq.detail))
        .collect();
    let path = match (&parent, detail_path) {
        (Some(n), false) => format!("nodes/{n}/portgroups"),
        (Some(n), true) => format!("nodes/{n}/portgroups/detail"),
        (None, false) => "portgroups".to_owned(),
        (None, true) => "portgroups/detail".to_owned(),
    };
    Ok(collection::collection(
        ctx,
        "portgroups",
        items,
        &path,
        &lq,
        rows.last().map(|g| g.uuid.as_str()),
    ))
}

#[utoipa::path(get, path = "/v1/portgroups", tag = "Portgroups", params(super::openapi::VersionHeaders, ("node" = Option<String>, Query, description = "Only the portgroups of this node (UUID or name)"), ("address" = Option<String>, Query, description = "Only the portgroup with this MAC address"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return"), ("detail" = Option<bool>, Query, description = "Return every field (1.43)"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last portgroup of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of portgroups (uuid, address, name), with a next link when the page is full"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Version older than 1.23, or node not found", body = super::openapi::ErrorBody), (status = 406, description = "Field newer than the version", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_groups(&state, &ctx, &req, None, false).await
}

#[utoipa::path(get, path = "/v1/portgroups/detail", tag = "Portgroups", params(super::openapi::VersionHeaders), responses((status = 200, description = "A page of portgroups with every field; same filters as /v1/portgroups"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody)))]
pub async fn list_detail(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_groups(&state, &ctx, &req, None, true).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}/portgroups", tag = "Portgroups", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "The node's portgroups (1.24)"), (status = 404, description = "Node not found, or version older than 1.24", body = super::openapi::ErrorBody)))]
pub async fn list_of_node(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    list_groups(&state, &ctx, &req, Some(path.into_inner()), false).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}/portgroups/detail", tag = "Portgroups", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "The node's portgroups with every field (1.24)"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Node not found, or version older than 1.24", body = super::openapi::ErrorBody)))]
pub async fn list_of_node_detail(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    list_groups(&state, &ctx, &req, Some(path.into_inner()), true).await
}

#[utoipa::path(get, path = "/v1/portgroups/{portgroup}", tag = "Portgroups", params(super::openapi::VersionHeaders, ("portgroup" = String, Path, description = "Portgroup UUID or name"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The portgroup"), (status = 400, description = "Neither a UUID nor a name", body = super::openapi::ErrorBody), (status = 404, description = "Portgroup not found", body = super::openapi::ErrorBody)))]
pub async fn show(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    ctx.require(Feature::Portgroups)?;
    let fields = collection::show_fields(&ctx, &req, &SPEC)?;
    let g = find(&state, &path).await?;
    let node = owner(&state, g.node_id).await?;
    ctx.authorize_node_as("baremetal:portgroup:get", &node, "Portgroup", &path)?;
    let nodes = ports::node_uuids(&state.db, &[g.node_id]).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &g, &nodes, fields.as_deref(), true)))
}

/// The wire fields of a portgroup that a client may set, as a patchable document.
fn doc_of(g: &Portgroup, node_uuid: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("address".into(), json!(g.address));
    d.insert("extra".into(), g.extra.clone());
    d.insert("mode".into(), json!(g.mode));
    d.insert("name".into(), json!(g.name));
    d.insert("node_uuid".into(), json!(node_uuid));
    d.insert("properties".into(), g.properties.clone());
    d.insert(
        "standalone_ports_supported".into(),
        json!(g.standalone_ports_supported),
    );
    d
}

/// Does a value count as given (Ironic refuses `mode` and `properties` with a value
/// below 1.26, but lets empty ones through)?
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// A portgroup document (create body or patched fields) checked and applied to
/// `base`, which carries what the document does not set (id, uuid, internal_info,
/// times). `missing_node` words the error for a `node_uuid` that names no node.
async fn build(
    state: &AppState,
    ctx: &Ctx,
    mut doc: Map<String, Value>,
    base: Portgroup,
    missing_node: fn(&str) -> Error,
) -> Result<(Portgroup, Node)> {
    let body = Body { kind: "portgroup" };
    let mut g = base;
    let node_uuid = doc
        .remove("node_uuid")
        .ok_or_else(|| body.required("node_uuid"))?;
    let node_uuid = body.uuid("node_uuid", node_uuid)?;
    let node = lookup(state, ctx, &node_uuid).await.map_err(|e| match e {
        Error::NotFound { .. } => missing_node(&node_uuid),
        other => other,
    })?;
    if !ctx.allowed(super::access::NODE_GET, &super::access::node_target(&node)) {
        return Err(missing_node(&node_uuid));
    }
    g.node_id = node.id;
    if let Some(v) = doc.remove("address") {
        g.address = match body.opt_string(v, 255)? {
            Some(a) => Some(collection::mac_arg("address", &a)?),
            None => None,
        };
    }
    if let Some(v) = doc.remove("name") {
        // An empty name is no name.
        g.name = body.opt_string(v, 255)?.filter(|n| !n.is_empty());
    }
    if let Some(v) = doc.remove("extra") {
        g.extra = body.object(v)?;
    }
    if let Some(v) = doc.remove("properties") {
        g.properties = body.object(v)?;
    }
    if let Some(v) = doc.remove("mode") {
        g.mode = body.opt_string(v, 255)?.filter(|m| !m.is_empty());
    }
    if g.mode.is_none() {
        g.mode = Some(state.config.default.default_portgroup_mode.clone());
    }
    if let Some(v) = doc.remove("standalone_ports_supported") {
        g.standalone_ports_supported = body.boolean("standalone_ports_supported", v, true)?;
    }
    if let Some(k) = doc.keys().next() {
        return Err(body.unexpected(k));
    }
    Ok((g, node))
}

fn body_node_missing(uuid: &str) -> Error {
    Error::invalid(format!("Node {uuid} could not be found."))
}

fn patch_node_missing(uuid: &str) -> Error {
    Error::invalid(format!(
        "Unable to apply the requested node_uuid '{uuid}': no such node."
    ))
}

#[utoipa::path(post, path = "/v1/portgroups", tag = "Portgroups", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "node_uuid required; address (MAC), name (logical name), extra, standalone_ports_supported, uuid; mode and properties from 1.26 (mode defaults to [DEFAULT] default_portgroup_mode)"), responses((status = 201, description = "The new portgroup"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Version older than 1.23", body = super::openapi::ErrorBody), (status = 406, description = "mode or properties below 1.26", body = super::openapi::ErrorBody), (status = 409, description = "Name, MAC address or UUID taken, or node locked", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    ctx.require(Feature::Portgroups)?;
    let mut doc = common::parse_object(&body)?;
    let b = Body { kind: "portgroup" };
    for k in doc.keys() {
        if !PATCHABLE.contains(&k.as_str()) && k != "uuid" {
            return Err(b.unexpected(k));
        }
    }
    if !ctx.version.has(Feature::PortgroupMode) {
        for k in ["mode", "properties"] {
            if doc.get(k).is_some_and(is_set) {
                return Err(collection::field_too_new(k, Feature::PortgroupMode.since()));
            }
        }
    }
    if let Some(Value::String(name)) = doc.get("name")
        && !name.is_empty()
        && !collection::is_logical_name(name)
    {
        return Err(Error::invalid(format!(
            "Cannot create a portgroup named '{name}': a name may only hold letters, \
             digits and the characters - . _ ~"
        )));
    }
    let uuid = collection::new_uuid(&b, doc.remove("uuid"))?;
    let blank = Portgroup {
        id: 0,
        uuid,
        name: None,
        address: None,
        node_id: 0,
        extra: json!({}),
        internal_info: json!({}),
        properties: json!({}),
        mode: None,
        standalone_ports_supported: true,
        created_at: chrono::Utc::now(),
        updated_at: None,
    };
    let (g, node) = build(&state, &ctx, doc, blank, body_node_missing).await?;
    ctx.authorize_node("baremetal:portgroup:create", &node, &node.uuid)?;
    let saved = with_lock(&state, &node, async |_| {
        ports::insert_portgroup(&state.db, g).await
    })
    .await?;
    tracing::info!(node = %node.uuid, portgroup = %saved.uuid, "portgroup created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/portgroups/{}", ctx.base, saved.uuid),
        ))
        .json(render_one(&state, &ctx, &saved).await?))
}

/// Refuses a change Ironic's conductor refuses, on `node` (which holds the
/// reservation): moving a portgroup off or onto a node in use or with member ports,
/// and dropping standalone ports while a member still boots or carries a VIF.
async fn check_change(
    state: &AppState,
    ctx: &Ctx,
    node: &Node,
    old: &Portgroup,
    new: &Portgroup,
) -> Result<()> {
    let provision = node.provision_state.parse::<ProvisionState>().ok();
    // From 1.39 inspection has its own wait state; a synchronous inspection in
    // progress may not see its portgroups change.
    if provision == Some(ProvisionState::Inspecting) && ctx.version.at_least(39) {
        return Err(Error::Conflict(format!(
            "Portgroup \"{}\" can not be updated while its node \"{}\" is being inspected \
             (state \"{}\").",
            old.uuid, node.uuid, node.provision_state
        )));
    }
    let members = ports::ports_in_portgroup(&state.db, old.id).await?;
    if new.node_id != old.node_id {
        let movable = provision.is_some_and(|s| MOVABLE_IN.contains(&s));
        if !movable && !node.maintenance {
            return Err(Error::InvalidState(format!(
                "Portgroup {} can only move to or from node {} while that node is in one of \
                 the states {} or in maintenance mode; its state is '{}'.",
                old.uuid,
                node.uuid,
                MOVABLE_IN
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                node.provision_state
            )));
        }
        if !members.is_empty() {
            return Err(Error::invalid(format!(
                "Portgroup {} can not move to node {}: it still contains ports.",
                old.uuid, node.uuid
            )));
        }
    }
    if old.standalone_ports_supported && !new.standalone_ports_supported {
        for p in &members {
            let mut why = Vec::new();
            if p.pxe_enabled {
                why.push("'pxe_enabled' set to True".to_owned());
            }
            if let Some(vif) = vif_of_port(p) {
                why.push(format!("VIF {vif} attached"));
            }
            if !why.is_empty() {
                return Err(Error::Conflict(format!(
                    "standalone_ports_supported can not be set to False: portgroup {} \
                     contains port {} with {}.",
                    old.uuid,
                    p.uuid,
                    why.join(" and ")
                )));
            }
        }
    }
    Ok(())
}

/// One attempt of a PATCH: computed from a fresh read, written under the reservation
/// of the portgroup's node (and of its new node when it moves).
async fn update_once(state: &AppState, ctx: &Ctx, ident: &str, ops: &Value) -> Result<Portgroup> {
    let old = find(state, ident).await?;
    let old_node = owner(state, old.node_id).await?;
    ctx.authorize_node_as("baremetal:portgroup:update", &old_node, "Portgroup", ident)?;
    let mut doc = doc_of(&old, &old_node.uuid);
    patch::apply(
        &mut doc,
        ops,
        |op| {
            if !PATCHABLE.contains(&op.root.as_str()) {
                return Err(patch::not_patchable(op, PATCHABLE));
            }
            if matches!(op.root.as_str(), "mode" | "properties")
                && !ctx.version.has(Feature::PortgroupMode)
            {
                return Err(collection::field_too_new(
                    &op.root,
                    Feature::PortgroupMode.since(),
                ));
            }
            if op.removes_root() && matches!(op.root.as_str(), "node_uuid" | "mode") {
                return Err(patch::mandatory(&op.root));
            }
            if op.root == "name"
                && op.top_level
                && let Some(Value::String(name)) = &op.value
                && !name.is_empty()
                && !collection::is_logical_name(name)
            {
                return Err(Error::invalid(format!(
                    "Portgroup {ident}: can not rename it to '{name}': a name may only hold \
                     letters, digits and the characters - . _ ~"
                )));
            }
            Ok(())
        },
        |root| match root {
            "extra" | "properties" => json!({}),
            "standalone_ports_supported" => json!(true),
            _ => Value::Null,
        },
    )?;
    let (new, new_node) = build(state, ctx, doc, old.clone(), patch_node_missing).await?;
    if new == old {
        return Ok(old);
    }
    if new_node.id != old.node_id {
        ctx.authorize_node("baremetal:portgroup:update", &new_node, &new_node.uuid)?;
    }
    with_lock(state, &old_node, async |locked| {
        reread(state, locked, &old).await?;
        check_change(state, ctx, locked, &old, &new).await?;
        let mut g = new.clone();
        if new_node.id != old.node_id {
            // Moving a portgroup takes the new node's reservation too.
            with_lock(state, &new_node, async |target| {
                check_change(state, ctx, target, &old, &new).await?;
                ports::save_portgroup(&state.db, &mut g).await
            })
            .await?;
        } else {
            ports::save_portgroup(&state.db, &mut g).await?;
        }
        Ok(g)
    })
    .await
}

#[utoipa::path(patch, path = "/v1/portgroups/{portgroup}", tag = "Portgroups", params(super::openapi::VersionHeaders, ("portgroup" = String, Path, description = "Portgroup UUID or name")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of address, name, node_uuid, extra, standalone_ports_supported, mode and properties (1.26)"), responses((status = 200, description = "The updated portgroup"), (status = 400, description = "Invalid input, or a move the node's state or member ports forbid", body = super::openapi::ErrorBody), (status = 404, description = "Portgroup not found", body = super::openapi::ErrorBody), (status = 406, description = "mode or properties below 1.26", body = super::openapi::ErrorBody), (status = 409, description = "Name or MAC address taken, member ports still boot, or node locked", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    ctx.require(Feature::Portgroups)?;
    let ops = common::parse_value(&body)?;
    let saved = retry_stale(async || update_once(&state, &ctx, &path, &ops).await).await?;
    tracing::info!(portgroup = %saved.uuid, "portgroup updated");
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &saved).await?))
}

#[utoipa::path(delete, path = "/v1/portgroups/{portgroup}", tag = "Portgroups", params(super::openapi::VersionHeaders, ("portgroup" = String, Path, description = "Portgroup UUID or name")), responses((status = 204, description = "Deleted"), (status = 400, description = "The portgroup still contains ports, or a VIF is attached and the node is not in maintenance", body = super::openapi::ErrorBody), (status = 404, description = "Portgroup not found", body = super::openapi::ErrorBody), (status = 409, description = "Node locked", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    ctx.require(Feature::Portgroups)?;
    let (g, node) = retry_stale(async || {
        let g = find(&state, &path).await?;
        let node = owner(&state, g.node_id).await?;
        ctx.authorize_node_as("baremetal:portgroup:delete", &node, "Portgroup", &path)?;
        with_lock(&state, &node, async |locked| {
            let g = reread(&state, locked, &g).await?;
            if let Some(vif) = vif_of_portgroup(&g)
                && !locked.maintenance
            {
                return Err(Error::InvalidState(format!(
                    "Cannot delete portgroup {}: VIF {vif} is attached to it. Detach the VIF \
                     or put node {} in maintenance mode first.",
                    g.uuid, locked.uuid
                )));
            }
            ports::delete_portgroup(&state.db, &g).await?;
            Ok(g)
        })
        .await
        .map(|g| (g, node))
    })
    .await?;
    tracing::info!(node = %node.uuid, portgroup = %g.uuid, "portgroup deleted");
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/portgroups")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/v1/portgroups/detail").route(web::get().to(list_detail)))
    .service(
        resource("/v1/portgroups/{portgroup}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(resource("/v1/nodes/{node}/portgroups").route(web::get().to(list_of_node)))
    .service(
        resource("/v1/nodes/{node}/portgroups/detail").route(web::get().to(list_of_node_detail)),
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    list_detail,
    list_of_node,
    list_of_node_detail,
    show,
    create,
    update,
    delete
))]
pub struct Doc;
