//! `/v1/volume/connectors` (1.32): how a node attaches to remote volumes (an iSCSI
//! initiator IQN, a Fibre Channel WWPN, an IP or MAC address...). Also listed under
//! `/v1/nodes/{node}/volume/connectors` (read-only there). A (type, connector_id) pair
//! is unique across all nodes.
//!
//! Changes take the node's reservation and follow the power rules of `volume.rs`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::collection::{self, Body, Spec};
use super::common::{self, Ctx};
use super::node_lock::{owner, retry_stale, with_lock};
use super::patch;
use super::version::Feature;
use super::volume::{self, body_node, check_delete, check_update, patched_node};
use super::{AppState, resource};
use crate::db::nodes::Node;
use crate::db::paging::Paging;
use crate::db::ports::node_uuids;
use crate::db::volumes::{self, Connector};
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// The volume connector resource on the wire.
pub const SPEC: Spec = Spec {
    kind: "connector",
    fields: &[
        ("uuid", 32),
        ("type", 32),
        ("connector_id", 32),
        ("node_uuid", 32),
        ("extra", 32),
        ("created_at", 32),
        ("updated_at", 32),
    ],
    short: &["uuid", "node_uuid", "type", "connector_id"],
    fields_since: 32,
    detail_since: 32,
};

/// Root attributes a PATCH may change (and, with `uuid`, a create body may hold).
const PATCHABLE: &[&str] = &["connector_id", "extra", "node_uuid", "type"];

/// Kinds of connector.
pub const TYPES: &[&str] = &["iqn", "ip", "mac", "wwnn", "wwpn", "port", "portgroup"];

fn view(
    ctx: &Ctx,
    c: &Connector,
    node_uuid: Option<&String>,
    fields: Option<&[String]>,
    detail: bool,
) -> Value {
    collection::render(
        ctx,
        &SPEC,
        fields,
        detail,
        &format!("volume/connectors/{}", c.uuid),
        |f| match f {
            "uuid" => json!(c.uuid),
            "type" => json!(c.r#type),
            "connector_id" => json!(c.connector_id),
            "node_uuid" => json!(node_uuid),
            "extra" => c.extra.clone(),
            "created_at" => common::ts(&c.created_at),
            "updated_at" => common::ts_opt(&c.updated_at),
            _ => Value::Null,
        },
    )
}

async fn render_one(state: &AppState, ctx: &Ctx, c: &Connector) -> Result<Value> {
    let nodes = node_uuids(&state.db, &[c.node_id]).await?;
    Ok(view(ctx, c, nodes.get(&c.node_id), None, true))
}

async fn find(state: &AppState, ident: &str) -> Result<Connector> {
    let uuid = collection::uuid_arg("connector_uuid", ident)?;
    volumes::connector_by_uuid(&state.db, &uuid)
        .await?
        .ok_or_else(|| Error::not_found("Volume connector", ident))
}

/// Reads a connector again under its node's reservation: `Stale` when it changed since
/// `seen` was read.
async fn reread(state: &AppState, locked: &Node, seen: &Connector) -> Result<Connector> {
    let fresh = volumes::connector_by_uuid(&state.db, &seen.uuid)
        .await?
        .ok_or_else(|| Error::not_found("Volume connector", seen.uuid.clone()))?;
    if &fresh != seen || fresh.node_id != locked.id {
        return Err(Error::Stale(locked.uuid.clone()));
    }
    Ok(fresh)
}

async fn list_connectors(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    parent: Option<&str>,
) -> Result<HttpResponse> {
    let (lq, node_id, project) =
        volume::list_scope(state, ctx, req, &SPEC, volumes::CONNECTOR_SORTABLE, parent).await?;
    let marker = match &lq.page.marker {
        Some(m) => Some(
            volumes::connector_by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Volume connector", m.clone()))?,
        ),
        None => None,
    };
    let rows = volumes::list_connectors(
        &state.db,
        node_id,
        project.as_deref(),
        Paging {
            limit: lq.page.limit,
            marker: marker.as_ref(),
            sort_key: &lq.page.sort_key,
            descending: lq.page.sort_dir == common::SortDir::Desc,
        },
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|c| c.node_id).collect();
    let nodes = node_uuids(&state.db, &ids).await?;
    let items = rows
        .iter()
        .map(|c| {
            view(
                ctx,
                c,
                nodes.get(&c.node_id),
                lq.fields.as_deref(),
                lq.detail,
            )
        })
        .collect();
    Ok(collection::collection(
        ctx,
        "connectors",
        items,
        &volume::list_path(parent, "connectors"),
        &lq,
        rows.last().map(|c| c.uuid.as_str()),
    ))
}

#[utoipa::path(get, path = "/v1/volume/connectors", tag = "Volume", params(super::openapi::VersionHeaders, ("node" = Option<String>, Query, description = "Only the connectors of this node (UUID or name)"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return"), ("detail" = Option<bool>, Query, description = "Return every field"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last connector of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of volume connectors (uuid, node_uuid, type, connector_id), with a next link when the page is full"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Node not found, or version older than 1.32", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_connectors(&state, &ctx, &req, None).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}/volume/connectors", tag = "Volume", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "The node's volume connectors"), (status = 404, description = "Node not found, or version older than 1.32", body = super::openapi::ErrorBody)))]
pub async fn list_of_node(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    list_connectors(&state, &ctx, &req, Some(&path)).await
}

#[utoipa::path(get, path = "/v1/volume/connectors/{connector}", tag = "Volume", params(super::openapi::VersionHeaders, ("connector" = String, Path, description = "Connector UUID"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The volume connector"), (status = 400, description = "Not a UUID", body = super::openapi::ErrorBody), (status = 404, description = "Connector not found", body = super::openapi::ErrorBody)))]
pub async fn show(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let fields = collection::show_fields(&ctx, &req, &SPEC)?;
    let c = find(&state, &path).await?;
    let node = owner(&state, c.node_id).await?;
    ctx.authorize_node_as("baremetal:volume:get", &node, "Volume connector", &path)?;
    let nodes = node_uuids(&state.db, &[c.node_id]).await?;
    Ok(HttpResponse::Ok().json(view(
        &ctx,
        &c,
        nodes.get(&c.node_id),
        fields.as_deref(),
        true,
    )))
}

/// The wire fields of a connector that a client may set, as a patchable document.
fn doc_of(c: &Connector, node_uuid: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("connector_id".into(), json!(c.connector_id));
    d.insert("extra".into(), c.extra.clone());
    d.insert("node_uuid".into(), json!(node_uuid));
    d.insert("type".into(), json!(c.r#type));
    d
}

/// Checks a connector type.
fn check_type(t: &str) -> Result<()> {
    if TYPES.contains(&t) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid volume connector type '{t}'; the types are {}.",
        TYPES.join(", ")
    )))
}

/// A connector document (create body or patched fields) checked and applied to
/// `base`; the node it names comes from `node_for`.
async fn build(
    mut doc: Map<String, Value>,
    base: Connector,
    node_for: impl AsyncFnOnce(String) -> Result<Node>,
) -> Result<(Connector, Node)> {
    let body = Body { kind: "connector" };
    let mut c = base;
    for k in ["connector_id", "node_uuid", "type"] {
        if doc.get(k).is_none_or(Value::is_null) {
            return Err(body.required(k));
        }
    }
    let node_uuid = body.uuid("node_uuid", doc.remove("node_uuid").unwrap_or_default())?;
    c.r#type = body.string(doc.remove("type").unwrap_or_default(), 32)?;
    check_type(&c.r#type)?;
    c.connector_id = body.string(doc.remove("connector_id").unwrap_or_default(), 255)?;
    if c.connector_id.is_empty() {
        return Err(Error::invalid(
            "A volume connector needs a non-empty connector_id.",
        ));
    }
    if let Some(v) = doc.remove("extra") {
        c.extra = body.object(v)?;
    }
    if let Some(k) = doc.keys().next() {
        return Err(body.unexpected(k));
    }
    let node = node_for(node_uuid).await?;
    c.node_id = node.id;
    Ok((c, node))
}

#[utoipa::path(post, path = "/v1/volume/connectors", tag = "Volume", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "node_uuid, type (iqn, ip, mac, wwnn, wwpn, port or portgroup) and connector_id required; extra, uuid"), responses((status = 201, description = "The new volume connector"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Version older than 1.32", body = super::openapi::ErrorBody), (status = 409, description = "Type and connector_id, or UUID, taken; or node locked", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let mut doc = common::parse_object(&body)?;
    let b = Body { kind: "connector" };
    if let Some(k) = doc
        .keys()
        .find(|k| !PATCHABLE.contains(&k.as_str()) && *k != "uuid")
    {
        return Err(b.unexpected(k));
    }
    let uuid = collection::new_uuid(&b, doc.remove("uuid"))?;
    let blank = Connector {
        id: 0,
        uuid,
        node_id: 0,
        r#type: String::new(),
        connector_id: String::new(),
        extra: json!({}),
        created_at: chrono::Utc::now(),
        updated_at: None,
    };
    let (c, node) = build(doc, blank, async |u| body_node(&state, &ctx, &u).await).await?;
    ctx.authorize_node("baremetal:volume:create", &node, &node.uuid)?;
    let saved = with_lock(&state, &node, async |_| {
        volumes::insert_connector(&state.db, c).await
    })
    .await?;
    tracing::info!(node = %node.uuid, connector = %saved.uuid, kind = %saved.r#type, "volume connector created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/volume/connectors/{}", ctx.base, saved.uuid),
        ))
        .json(render_one(&state, &ctx, &saved).await?))
}

/// One attempt of a PATCH, computed from a fresh read and written under the node's
/// reservation (and the new node's when the connector moves).
async fn update_once(state: &AppState, ctx: &Ctx, ident: &str, ops: &Value) -> Result<Connector> {
    const ACTION: &str = "volume connector update";
    let old = find(state, ident).await?;
    let old_node = owner(state, old.node_id).await?;
    ctx.authorize_node_as(
        "baremetal:volume:update",
        &old_node,
        "Volume connector",
        ident,
    )?;
    let mut doc = doc_of(&old, &old_node.uuid);
    patch::apply(
        &mut doc,
        ops,
        |op| {
            if !PATCHABLE.contains(&op.root.as_str()) {
                return Err(patch::not_patchable(op, PATCHABLE));
            }
            if op.removes_root() && op.root != "extra" {
                return Err(patch::mandatory(&op.root));
            }
            Ok(())
        },
        |root| match root {
            "extra" => json!({}),
            _ => Value::Null,
        },
    )?;
    let (new, new_node) = build(doc, old.clone(), async |u| {
        if u == old_node.uuid {
            Ok(old_node.clone())
        } else {
            patched_node(state, ctx, &u).await
        }
    })
    .await?;
    if new == old {
        return Ok(old);
    }
    with_lock(state, &old_node, async |locked| {
        reread(state, locked, &old).await?;
        check_update(locked, ACTION)?;
        let mut c = new.clone();
        if new_node.id != old.node_id {
            with_lock(state, &new_node, async |target| {
                check_update(target, ACTION)?;
                volumes::save_connector(&state.db, &mut c).await
            })
            .await?;
        } else {
            volumes::save_connector(&state.db, &mut c).await?;
        }
        Ok(c)
    })
    .await
}

#[utoipa::path(patch, path = "/v1/volume/connectors/{connector}", tag = "Volume", params(super::openapi::VersionHeaders, ("connector" = String, Path, description = "Connector UUID")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of type, connector_id, node_uuid and extra"), responses((status = 200, description = "The updated volume connector"), (status = 400, description = "Invalid input, or the node is not powered off", body = super::openapi::ErrorBody), (status = 404, description = "Connector not found", body = super::openapi::ErrorBody), (status = 409, description = "Type and connector_id taken, or node locked", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let ops = common::parse_value(&body)?;
    let saved = retry_stale(async || update_once(&state, &ctx, &path, &ops).await).await?;
    tracing::info!(connector = %saved.uuid, "volume connector updated");
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &saved).await?))
}

#[utoipa::path(delete, path = "/v1/volume/connectors/{connector}", tag = "Volume", params(super::openapi::VersionHeaders, ("connector" = String, Path, description = "Connector UUID")), responses((status = 204, description = "Deleted"), (status = 400, description = "The node is powered on and not in enroll, manageable or adopt failed", body = super::openapi::ErrorBody), (status = 404, description = "Connector not found", body = super::openapi::ErrorBody), (status = 409, description = "Node locked", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let (c, node) = retry_stale(async || {
        let c = find(&state, &path).await?;
        let node = owner(&state, c.node_id).await?;
        ctx.authorize_node_as("baremetal:volume:delete", &node, "Volume connector", &path)?;
        with_lock(&state, &node, async |locked| {
            let c = reread(&state, locked, &c).await?;
            check_delete(locked, "volume connector deletion")?;
            volumes::delete_connector(&state.db, c.id).await?;
            Ok(c)
        })
        .await
        .map(|c| (c, node))
    })
    .await?;
    tracing::info!(node = %node.uuid, connector = %c.uuid, "volume connector deleted");
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/volume/connectors")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/v1/volume/connectors/{connector}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(resource("/v1/nodes/{node}/volume/connectors").route(web::get().to(list_of_node)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, list_of_node, show, create, update, delete))]
pub struct Doc;
