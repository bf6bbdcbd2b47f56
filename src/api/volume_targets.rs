//! `/v1/volume/targets` (1.32): the volumes a node boots from or attaches, with the
//! connection `properties` a storage interface needs. Also listed under
//! `/v1/nodes/{node}/volume/targets` (read-only there). A node has at most one target
//! per `boot_index`. Secrets in `properties` are shown as `******`.
//!
//! Changes take the node's reservation and follow the power rules of `volume.rs`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::collection::{self, Body, Spec};
use super::common::{self, Ctx};
use super::node_lock::{owner, retry_stale, with_lock};
use super::node_view::mask;
use super::patch;
use super::version::Feature;
use super::volume::{self, body_node, check_delete, check_update, patched_node};
use super::{AppState, resource};
use crate::db::nodes::Node;
use crate::db::paging::Paging;
use crate::db::ports::node_uuids;
use crate::db::volumes::{self, Target};
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// The volume target resource on the wire.
pub const SPEC: Spec = Spec {
    kind: "target",
    fields: &[
        ("uuid", 32),
        ("volume_type", 32),
        ("properties", 32),
        ("boot_index", 32),
        ("volume_id", 32),
        ("node_uuid", 32),
        ("extra", 32),
        ("created_at", 32),
        ("updated_at", 32),
    ],
    short: &[
        "uuid",
        "node_uuid",
        "volume_type",
        "boot_index",
        "volume_id",
    ],
    fields_since: 32,
    detail_since: 32,
};

/// Root attributes a PATCH may change (and, with `uuid`, a create body may hold).
const PATCHABLE: &[&str] = &[
    "boot_index",
    "extra",
    "node_uuid",
    "properties",
    "volume_id",
    "volume_type",
];

/// Root attributes a target can not do without.
const REQUIRED: &[&str] = &["boot_index", "node_uuid", "volume_id", "volume_type"];

/// Checks a target's volume type: free text, as in Ironic (at most 64 characters).
/// The storage interfaces act on the types they know: `iscsi` and `fibre_channel`
/// (Ironic's), and `rbd` (Cinder's Ceph volumes, as Nova passes them), which the
/// `rbd` storage interface boots.
fn check_volume_type(t: &str) -> Result<()> {
    if !t.is_empty() && t.chars().count() <= 64 {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid volume_type '{t}': expected between 1 and 64 characters."
    )))
}

/// Who sees a target's properties (its portal, IQN, credentials): system readers and
/// admins, as in Ironic; others see a redaction notice.
const VIEW_PROPERTIES: &str = "baremetal:volume:view_target_properties";

fn view(
    ctx: &Ctx,
    t: &Target,
    node_uuid: Option<&String>,
    fields: Option<&[String]>,
    detail: bool,
) -> Value {
    collection::render(
        ctx,
        &SPEC,
        fields,
        detail,
        &format!("volume/targets/{}", t.uuid),
        |f| match f {
            "uuid" => json!(t.uuid),
            "volume_type" => json!(t.volume_type),
            "properties" if !ctx.allowed(VIEW_PROPERTIES, &crate::auth::Target::new()) => {
                json!({"redacted_contents": format!(
                    "** Value redacted: Requires permission {VIEW_PROPERTIES} access. \
                     Permission denied. **"
                )})
            }
            "properties" => mask(&t.properties),
            "boot_index" => json!(t.boot_index),
            "volume_id" => json!(t.volume_id),
            "node_uuid" => json!(node_uuid),
            "extra" => t.extra.clone(),
            "created_at" => common::ts(&t.created_at),
            "updated_at" => common::ts_opt(&t.updated_at),
            _ => Value::Null,
        },
    )
}

async fn render_one(state: &AppState, ctx: &Ctx, t: &Target) -> Result<Value> {
    let nodes = node_uuids(&state.db, &[t.node_id]).await?;
    Ok(view(ctx, t, nodes.get(&t.node_id), None, true))
}

async fn find(state: &AppState, ident: &str) -> Result<Target> {
    let uuid = collection::uuid_arg("target_uuid", ident)?;
    volumes::target_by_uuid(&state.db, &uuid)
        .await?
        .ok_or_else(|| Error::not_found("Volume target", ident))
}

/// Reads a target again under its node's reservation: `Stale` when it changed since
/// `seen` was read.
async fn reread(state: &AppState, locked: &Node, seen: &Target) -> Result<Target> {
    let fresh = volumes::target_by_uuid(&state.db, &seen.uuid)
        .await?
        .ok_or_else(|| Error::not_found("Volume target", seen.uuid.clone()))?;
    if &fresh != seen || fresh.node_id != locked.id {
        return Err(Error::Stale(locked.uuid.clone()));
    }
    Ok(fresh)
}

async fn list_targets(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    parent: Option<&str>,
) -> Result<HttpResponse> {
    let (lq, node_id, project) =
        volume::list_scope(state, ctx, req, &SPEC, volumes::TARGET_SORTABLE, parent).await?;
    let marker = match &lq.page.marker {
        Some(m) => Some(
            volumes::target_by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Volume target", m.clone()))?,
        ),
        None => None,
    };
    let rows = volumes::list_targets(
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
    let ids: Vec<i64> = rows.iter().map(|t| t.node_id).collect();
    let nodes = node_uuids(&state.db, &ids).await?;
    let items = rows
        .iter()
        .map(|t| {
            view(
                ctx,
                t,
                nodes.get(&t.node_id),
                lq.fields.as_deref(),
                lq.detail,
            )
        })
        .collect();
    Ok(collection::collection(
        ctx,
        "targets",
        items,
        &volume::list_path(parent, "targets"),
        &lq,
        rows.last().map(|t| t.uuid.as_str()),
    ))
}

#[utoipa::path(get, path = "/v1/volume/targets", tag = "Volume", params(super::openapi::VersionHeaders, ("node" = Option<String>, Query, description = "Only the targets of this node (UUID or name)"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return"), ("detail" = Option<bool>, Query, description = "Return every field"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last target of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of volume targets (uuid, node_uuid, volume_type, boot_index, volume_id), with a next link when the page is full"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Node not found, or version older than 1.32", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    list_targets(&state, &ctx, &req, None).await
}

#[utoipa::path(get, path = "/v1/nodes/{node}/volume/targets", tag = "Volume", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 200, description = "The node's volume targets"), (status = 404, description = "Node not found, or version older than 1.32", body = super::openapi::ErrorBody)))]
pub async fn list_of_node(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    list_targets(&state, &ctx, &req, Some(&path)).await
}

#[utoipa::path(get, path = "/v1/volume/targets/{target}", tag = "Volume", params(super::openapi::VersionHeaders, ("target" = String, Path, description = "Target UUID"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The volume target"), (status = 400, description = "Not a UUID", body = super::openapi::ErrorBody), (status = 404, description = "Target not found", body = super::openapi::ErrorBody)))]
pub async fn show(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let fields = collection::show_fields(&ctx, &req, &SPEC)?;
    let t = find(&state, &path).await?;
    let node = owner(&state, t.node_id).await?;
    ctx.authorize_node_as("baremetal:volume:get", &node, "Volume target", &path)?;
    let nodes = node_uuids(&state.db, &[t.node_id]).await?;
    Ok(HttpResponse::Ok().json(view(
        &ctx,
        &t,
        nodes.get(&t.node_id),
        fields.as_deref(),
        true,
    )))
}

/// The wire fields of a target that a client may set, as a patchable document.
fn doc_of(t: &Target, node_uuid: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("boot_index".into(), json!(t.boot_index));
    d.insert("extra".into(), t.extra.clone());
    d.insert("node_uuid".into(), json!(node_uuid));
    d.insert("properties".into(), t.properties.clone());
    d.insert("volume_id".into(), json!(t.volume_id));
    d.insert("volume_type".into(), json!(t.volume_type));
    d
}

/// A target document (create body or patched fields) checked and applied to `base`;
/// the node it names comes from `node_for`.
async fn build(
    mut doc: Map<String, Value>,
    base: Target,
    node_for: impl AsyncFnOnce(String) -> Result<Node>,
) -> Result<(Target, Node)> {
    let body = Body { kind: "target" };
    let mut t = base;
    for k in REQUIRED {
        if doc.get(*k).is_none_or(Value::is_null) {
            return Err(body.required(k));
        }
    }
    let node_uuid = body.uuid("node_uuid", doc.remove("node_uuid").unwrap_or_default())?;
    t.volume_type = body.string(doc.remove("volume_type").unwrap_or_default(), 64)?;
    check_volume_type(&t.volume_type)?;
    t.volume_id = body.string(doc.remove("volume_id").unwrap_or_default(), 255)?;
    if t.volume_id.is_empty() {
        return Err(Error::invalid(
            "A volume target needs a non-empty volume_id.",
        ));
    }
    let index = doc.remove("boot_index").unwrap_or_default();
    t.boot_index = match index.as_i64() {
        Some(i) => i32::try_from(i)
            .map_err(|_| Error::invalid(format!("Invalid boot_index {i}: it is out of range.")))?,
        None => return Err(body.wrong_type(&index, "'integer'")),
    };
    if let Some(v) = doc.remove("properties") {
        t.properties = body.object(v)?;
    }
    if let Some(v) = doc.remove("extra") {
        t.extra = body.object(v)?;
    }
    if let Some(k) = doc.keys().next() {
        return Err(body.unexpected(k));
    }
    let node = node_for(node_uuid).await?;
    t.node_id = node.id;
    Ok((t, node))
}

#[utoipa::path(post, path = "/v1/volume/targets", tag = "Volume", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "node_uuid, volume_type (free text; iscsi and fibre_channel as in Ironic, rbd for Ceph volumes), volume_id and boot_index required; properties, extra, uuid"), responses((status = 201, description = "The new volume target"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Version older than 1.32", body = super::openapi::ErrorBody), (status = 409, description = "Boot index of the node, or UUID, taken; or node locked", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let mut doc = common::parse_object(&body)?;
    let b = Body { kind: "target" };
    if let Some(k) = doc
        .keys()
        .find(|k| !PATCHABLE.contains(&k.as_str()) && *k != "uuid")
    {
        return Err(b.unexpected(k));
    }
    let uuid = collection::new_uuid(&b, doc.remove("uuid"))?;
    let blank = Target {
        id: 0,
        uuid,
        node_id: 0,
        volume_type: String::new(),
        properties: json!({}),
        boot_index: 0,
        volume_id: String::new(),
        extra: json!({}),
        created_at: chrono::Utc::now(),
        updated_at: None,
    };
    let (t, node) = build(doc, blank, async |u| body_node(&state, &ctx, &u).await).await?;
    ctx.authorize_node("baremetal:volume:create", &node, &node.uuid)?;
    let saved = with_lock(&state, &node, async |_| {
        volumes::insert_target(&state.db, t).await
    })
    .await?;
    tracing::info!(node = %node.uuid, volume_target = %saved.uuid, volume = %saved.volume_id, "volume target created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/volume/targets/{}", ctx.base, saved.uuid),
        ))
        .json(render_one(&state, &ctx, &saved).await?))
}

/// One attempt of a PATCH, computed from a fresh read and written under the node's
/// reservation (and the new node's when the target moves).
async fn update_once(state: &AppState, ctx: &Ctx, ident: &str, ops: &Value) -> Result<Target> {
    const ACTION: &str = "volume target update";
    let old = find(state, ident).await?;
    let old_node = owner(state, old.node_id).await?;
    ctx.authorize_node_as("baremetal:volume:update", &old_node, "Volume target", ident)?;
    let mut doc = doc_of(&old, &old_node.uuid);
    patch::apply(
        &mut doc,
        ops,
        |op| {
            if !PATCHABLE.contains(&op.root.as_str()) {
                return Err(patch::not_patchable(op, PATCHABLE));
            }
            if op.removes_root() && REQUIRED.contains(&op.root.as_str()) {
                return Err(patch::mandatory(&op.root));
            }
            Ok(())
        },
        |root| match root {
            "extra" | "properties" => json!({}),
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
        let mut t = new.clone();
        if new_node.id != old.node_id {
            with_lock(state, &new_node, async |target| {
                check_update(target, ACTION)?;
                volumes::save_target(&state.db, &mut t).await
            })
            .await?;
        } else {
            volumes::save_target(&state.db, &mut t).await?;
        }
        Ok(t)
    })
    .await
}

#[utoipa::path(patch, path = "/v1/volume/targets/{target}", tag = "Volume", params(super::openapi::VersionHeaders, ("target" = String, Path, description = "Target UUID")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of volume_type, volume_id, boot_index, node_uuid, properties and extra"), responses((status = 200, description = "The updated volume target"), (status = 400, description = "Invalid input, or the node is not powered off", body = super::openapi::ErrorBody), (status = 404, description = "Target not found", body = super::openapi::ErrorBody), (status = 409, description = "Boot index taken, or node locked", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let ops = common::parse_value(&body)?;
    let saved = retry_stale(async || update_once(&state, &ctx, &path, &ops).await).await?;
    tracing::info!(volume_target = %saved.uuid, "volume target updated");
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &saved).await?))
}

#[utoipa::path(delete, path = "/v1/volume/targets/{target}", tag = "Volume", params(super::openapi::VersionHeaders, ("target" = String, Path, description = "Target UUID")), responses((status = 204, description = "Deleted"), (status = 400, description = "The node is powered on and not in enroll, manageable or adopt failed", body = super::openapi::ErrorBody), (status = 404, description = "Target not found", body = super::openapi::ErrorBody), (status = 409, description = "Node locked", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    ctx.require(Feature::Volume)?;
    let (t, node) = retry_stale(async || {
        let t = find(&state, &path).await?;
        let node = owner(&state, t.node_id).await?;
        ctx.authorize_node_as("baremetal:volume:delete", &node, "Volume target", &path)?;
        with_lock(&state, &node, async |locked| {
            let t = reread(&state, locked, &t).await?;
            check_delete(locked, "volume target deletion")?;
            volumes::delete_target(&state.db, t.id).await?;
            Ok(t)
        })
        .await
        .map(|t| (t, node))
    })
    .await?;
    tracing::info!(node = %node.uuid, volume_target = %t.uuid, "volume target deleted");
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/volume/targets")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/v1/volume/targets/{target}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(resource("/v1/nodes/{node}/volume/targets").route(web::get().to(list_of_node)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, list_of_node, show, create, update, delete))]
pub struct Doc;
