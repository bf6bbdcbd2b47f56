//! `/v1/allocations` (1.52) and `/v1/nodes/{node}/allocation`: requests for a node by
//! resource class and traits, which a conductor fulfils in the background. Updating
//! name and extra arrived in 1.57, backfilling (`node` on create) in 1.58, `owner` in
//! 1.60.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::checks::{self, Best, Fail, PatchSchema, Reply, Schema, Ty};
use super::common::{self, Ctx, Page, SortDir};
use super::openapi::ErrorBody;
use super::version::Feature;
use super::{AppState, resource};
use crate::db::allocations::{self, Allocation, AllocationFilter};
use crate::db::nodes::{self, Node};
use crate::db::paging::Paging;
use crate::error::{Error, Result};
use crate::rpc::{NewAllocation, Request};

type State = web::Data<AppState>;

const TOO_OLD: &str = "The API version does not allow allocations";
const TOO_OLD_UPDATE: &str = "The API version does not allow updating allocations";

/// Fields a client may ask for before `owner` (1.60).
const FIELDS: &[&str] = &[
    "candidate_nodes",
    "created_at",
    "extra",
    "last_error",
    "links",
    "name",
    "node_uuid",
    "resource_class",
    "state",
    "traits",
    "updated_at",
    "uuid",
];

/// JSON columns a list may not be sorted by.
const UNSORTABLE: &[&str] = &["extra", "candidate_nodes", "traits"];

/// Query parameters of the list.
const LIST_PARAMS: &[&str] = &[
    "node",
    "resource_class",
    "state",
    "marker",
    "limit",
    "sort_key",
    "sort_dir",
    "fields",
    "owner",
];

/// The fields the negotiated version lets a client ask for.
fn valid_fields(ctx: &Ctx) -> Vec<&'static str> {
    let mut v = FIELDS.to_vec();
    if ctx.version.has(Feature::AllocationOwner) {
        v.push("owner");
    }
    v
}

fn list_or_empty(v: &Value) -> Value {
    if v.is_null() { json!([]) } else { v.clone() }
}

fn object_or_empty(v: &Value) -> Value {
    if v.is_null() { json!({}) } else { v.clone() }
}

/// One allocation as the negotiated version shows it, keeping only `fields` (and
/// links) when given.
fn render(ctx: &Ctx, a: &Allocation, node_uuid: Option<&str>, fields: Option<&[String]>) -> Value {
    let mut out = Map::new();
    out.insert("candidate_nodes".into(), list_or_empty(&a.candidate_nodes));
    out.insert("created_at".into(), common::ts(&a.created_at));
    out.insert("extra".into(), object_or_empty(&a.extra));
    out.insert("last_error".into(), json!(a.last_error));
    out.insert(
        "links".into(),
        ctx.links(&format!("allocations/{}", a.uuid)),
    );
    out.insert("name".into(), json!(a.name));
    out.insert("node_uuid".into(), json!(node_uuid));
    if ctx.version.has(Feature::AllocationOwner) {
        out.insert("owner".into(), json!(a.owner));
    }
    out.insert("resource_class".into(), json!(a.resource_class));
    out.insert("state".into(), json!(a.state));
    out.insert("traits".into(), list_or_empty(&a.traits));
    out.insert("updated_at".into(), common::ts_opt(&a.updated_at));
    out.insert("uuid".into(), json!(a.uuid));
    checks::keep(out, fields)
}

/// UUIDs of the nodes of `list`, by node id.
async fn node_uuids(state: &AppState, list: &[Allocation]) -> Result<HashMap<i64, String>> {
    let ids: Vec<i64> = list.iter().filter_map(|a| a.node_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    allocations::node_uuids(&state.db, &ids).await
}

async fn render_one(
    state: &AppState,
    ctx: &Ctx,
    a: &Allocation,
    fields: Option<&[String]>,
) -> Result<Value> {
    let uuids = node_uuids(state, std::slice::from_ref(a)).await?;
    let node = a.node_id.and_then(|id| uuids.get(&id)).map(String::as_str);
    Ok(render(ctx, a, node, fields))
}

fn bad_ident(ident: &str) -> Error {
    Error::invalid(format!(
        "Expected a logical name or UUID but received {ident}."
    ))
}

/// An allocation by UUID or name; a string that is neither is a 400.
async fn find(state: &AppState, ident: &str) -> Result<Allocation> {
    if !common::is_uuid_like(ident) && !checks::is_logical_name(ident) {
        return Err(bad_ident(ident));
    }
    allocations::get(&state.db, ident).await
}

/// A node by UUID or name, as allocations name them; a string that is neither is a 400.
async fn find_node(state: &AppState, ident: &str) -> Result<Node> {
    if !common::is_uuid_like(ident) && !checks::is_logical_name(ident) {
        return Err(bad_ident(ident));
    }
    nodes::get(&state.db, ident).await
}

/// A node named in a request body or filter: one that does not exist is a 400.
async fn named_node(state: &AppState, ident: &str) -> Result<Node> {
    find_node(state, ident).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::invalid(e.to_string()),
        other => other,
    })
}

/// `?fields=` as the list and show query schemas check it.
fn fields_query(ctx: &Ctx, raw: Option<&String>, best: &mut Best) -> Option<Vec<String>> {
    let list = checks::string_list(raw?);
    let valid = valid_fields(ctx);
    for f in &list {
        best.ty(2, Schema::PLAIN.one_of(&json!(f), &valid));
    }
    Some(list)
}

#[utoipa::path(get, path = "/v1/allocations", tag = "Allocations", params(super::openapi::VersionHeaders, ("node" = Option<String>, Query, description = "Filter: UUID or name of the node"), ("resource_class" = Option<String>, Query, description = "Filter"), ("state" = Option<String>, Query, description = "Filter: allocating, active or error"), ("owner" = Option<String>, Query, description = "Filter (1.60)"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return"), ("limit" = Option<u32>, Query, description = "Page size, at most [api] max_limit"), ("marker" = Option<String>, Query, description = "UUID of the last allocation of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of allocations, with a next link when the page is full"), (status = 400, description = "Invalid filter, field or page parameter", body = ErrorBody), (status = 404, description = "Before 1.52, or the marker does not exist", body = ErrorBody), (status = 406, description = "owner before 1.60", body = ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Reply {
    checks::require(&ctx, Feature::Allocations.since(), false, TOO_OLD)?;
    let q = checks::query(&req, LIST_PARAMS)?;
    let limit = checks::integer("limit", q.get("limit"))?;
    let s = Schema::PLAIN;
    let mut best = Best::new();
    let fields = fields_query(&ctx, q.get("fields"), &mut best);
    if let Some(m) = q.get("marker") {
        best.at(1, s.format(&json!(m), "uuid", common::is_uuid_like));
    }
    if let Some(n) = q.get("node") {
        best.any_of(1, s.uuid_or_name(&json!(n)));
    }
    if let Some(d) = q.get("sort_dir") {
        best.at(1, s.one_of(&json!(d), &["asc", "desc"]));
    }
    best.finish()?;
    if q.contains_key("owner") && !ctx.version.has(Feature::AllocationOwner) {
        return Err(checks::not_acceptable());
    }
    let limit = checks::limit(limit, state.config.api.max_limit as u64)?;
    let sort_key = q.get("sort_key").cloned().unwrap_or_else(|| "id".into());
    if UNSORTABLE.contains(&sort_key.as_str()) {
        return Err(Error::invalid(format!(
            "The sort_key value {sort_key} is an invalid field for sorting"
        ))
        .into());
    }
    let sort_dir = match q.get("sort_dir").map(String::as_str) {
        Some("desc") => SortDir::Desc,
        _ => SortDir::Asc,
    };
    let marker = match q.get("marker") {
        Some(m) => Some(
            allocations::by_uuid(&state.db, &common::canonical_uuid(m).unwrap_or_default())
                .await?
                .ok_or_else(|| Error::not_found("Allocation", m.clone()))?,
        ),
        None => None,
    };
    let node_id = match q.get("node") {
        Some(n) => Some(named_node(&state, n).await?.id),
        None => None,
    };
    if !allocations::SORTABLE.contains(&sort_key.as_str()) {
        return Err(Error::invalid(format!(
            "The sort_key value \"{sort_key}\" is an invalid field for sorting"
        ))
        .into());
    }
    let filter = AllocationFilter {
        node_id,
        resource_class: q.get("resource_class").cloned(),
        state: q.get("state").cloned(),
        owner: q.get("owner").cloned(),
    };
    let rows = allocations::list(
        &state.db,
        &filter,
        Paging {
            limit,
            marker: marker.as_ref(),
            sort_key: &sort_key,
            descending: sort_dir == SortDir::Desc,
        },
    )
    .await?;
    let uuids = node_uuids(&state, &rows).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|a| {
            let node = a.node_id.and_then(|id| uuids.get(&id)).map(String::as_str);
            render(&ctx, a, node, fields.as_deref())
        })
        .collect();
    let page = Page {
        limit,
        marker: None,
        sort_key,
        sort_dir,
    };
    let mut body = Map::new();
    let count = items.len();
    body.insert("allocations".into(), Value::Array(items));
    common::add_next(
        &mut body,
        &ctx,
        "allocations",
        &page,
        &q,
        count,
        rows.last().map(|a| a.uuid.as_str()),
    );
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

#[utoipa::path(get, path = "/v1/allocations/{allocation}", tag = "Allocations", params(super::openapi::VersionHeaders, ("allocation" = String, Path, description = "Allocation UUID or name"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The allocation"), (status = 400, description = "Invalid identifier or field", body = ErrorBody), (status = 404, description = "Not found, or before 1.52", body = ErrorBody)))]
pub async fn show(state: State, ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> Reply {
    checks::require(&ctx, Feature::Allocations.since(), false, TOO_OLD)?;
    let q = checks::query(&req, &["fields"])?;
    let mut best = Best::new();
    let fields = fields_query(&ctx, q.get("fields"), &mut best);
    best.finish()?;
    let a = find(&state, &path).await?;
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &a, fields.as_deref()).await?))
}

/// The create body's schema checks, in the order jsonschema reports them.
fn check_create(ctx: &Ctx, body: &Value) -> Result<()> {
    let s = Schema::PLAIN;
    s.types(body, &[Ty::Obj])?;
    let o = body.as_object().cloned().unwrap_or_default();
    let mut allowed = vec![
        "candidate_nodes",
        "extra",
        "name",
        "owner",
        "resource_class",
        "traits",
        "uuid",
    ];
    if ctx.version.has(Feature::AllocationBackfill) {
        allowed.push("node");
    }
    let mut best = Best::new();
    best.at(0, s.no_extra(&o, &allowed));
    if let Some(v) = o.get("candidate_nodes") {
        best.ty(1, s.types(v, &[Ty::Arr, Ty::Null]));
        for item in v.as_array().into_iter().flatten() {
            best.any_of(2, s.uuid_or_name(item));
        }
    }
    if let Some(v) = o.get("extra") {
        best.ty(1, s.types(v, &[Ty::Obj, Ty::Null]));
    }
    for key in ["name", "owner"] {
        if let Some(v) = o.get(key) {
            best.ty(1, s.types(v, &[Ty::Str, Ty::Null]));
        }
    }
    if let Some(v) = o.get("resource_class") {
        best.ty(1, s.types(v, &[Ty::Str, Ty::Null]));
        best.at(1, s.max_len(v, 80));
    }
    if let Some(v) = o.get("traits") {
        best.ty(1, s.types(v, &[Ty::Arr, Ty::Null]));
        for item in v.as_array().into_iter().flatten() {
            best.ty(2, s.types(item, &[Ty::Str]));
            best.at(2, s.non_empty(item));
            best.at(2, s.max_len(item, 255));
            best.any_of(2, s.trait_any_of(item));
        }
    }
    if let Some(v) = o.get("uuid") {
        best.ty(1, s.types(v, &[Ty::Str, Ty::Null]));
    }
    if ctx.version.has(Feature::AllocationBackfill)
        && let Some(v) = o.get("node")
    {
        best.ty(1, s.types(v, &[Ty::Str, Ty::Null]));
    }
    best.finish()
}

fn opt_str(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(o: &Map<String, Value>, key: &str) -> Vec<String> {
    allocations::string_list(o.get(key).unwrap_or(&Value::Null))
}

#[utoipa::path(post, path = "/v1/allocations", tag = "Allocations", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "resource_class (required unless backfilling), traits, candidate_nodes (UUIDs or names), name, uuid, extra, owner; node (1.58) backfills an allocation for a deployed node"), responses((status = 201, description = "Created in state allocating (active at once when backfilling); a conductor looks for a node in the background"), (status = 400, description = "Invalid input, unknown candidate or node, or a backfilled node that does not match", body = ErrorBody), (status = 405, description = "Before 1.52", body = ErrorBody), (status = 406, description = "owner before 1.60", body = ErrorBody), (status = 409, description = "Name or UUID taken, or the node is associated with another instance", body = ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Reply {
    checks::require(&ctx, Feature::Allocations.since(), true, TOO_OLD)?;
    let body = common::parse_value(&body)?;
    check_create(&ctx, &body)?;
    let o = body.as_object().cloned().unwrap_or_default();
    if o.contains_key("owner") && !ctx.version.has(Feature::AllocationOwner) {
        return Err(checks::not_acceptable());
    }
    let name = opt_str(&o, "name");
    if let Some(n) = name.as_deref().filter(|n| !n.is_empty())
        && !checks::is_logical_name(n)
    {
        return Err(
            Error::invalid(format!("Cannot create allocation with invalid name '{n}'")).into(),
        );
    }
    let node = match opt_str(&o, "node").filter(|n| !n.is_empty()) {
        Some(ident) => Some(named_node(&state, &ident).await?),
        None => None,
    };
    let resource_class = match opt_str(&o, "resource_class").filter(|r| !r.is_empty()) {
        Some(rc) => Some(rc),
        None => match &node {
            Some(n) => n.resource_class.clone(),
            None => {
                return Err(Error::invalid(
                    "The resource_class field is mandatory when not backfilling",
                )
                .into());
            }
        },
    };
    let candidates = strings(&o, "candidate_nodes");
    let candidate_nodes = if candidates.is_empty() {
        Vec::new()
    } else {
        allocations::resolve_nodes(&state.db, &candidates, None).await?
    };
    let uuid = match opt_str(&o, "uuid").filter(|u| !u.is_empty()) {
        Some(u) => common::canonical_uuid(&u)
            .ok_or_else(|| Error::invalid(format!("Expected a UUID but received {u}.")))?,
        None => match node.as_ref().and_then(|n| n.instance_uuid.clone()) {
            Some(instance) => instance,
            None => uuid::Uuid::new_v4().to_string(),
        },
    };
    let new = NewAllocation {
        uuid,
        name,
        resource_class,
        traits: strings(&o, "traits"),
        candidate_nodes,
        extra: object_or_empty(o.get("extra").unwrap_or(&Value::Null)),
        owner: opt_str(&o, "owner"),
        node: node.map(|n| n.uuid),
    };
    let answer = state
        .rpc
        .call(Request::CreateAllocation { allocation: new })
        .await?;
    let a: Allocation = serde_json::from_value(answer)
        .map_err(|e| Error::Internal(format!("unexpected answer from the conductor: {e}")))?;
    let body = render_one(&state, &ctx, &a, None).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/allocations/{}", ctx.base, a.uuid),
        ))
        .json(body))
}

/// The allocation as Ironic's patch sees it: every stored field.
fn as_dict(a: &Allocation) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("uuid".into(), json!(a.uuid));
    m.insert("name".into(), json!(a.name));
    m.insert("node_id".into(), json!(a.node_id));
    m.insert("state".into(), json!(a.state));
    m.insert("last_error".into(), json!(a.last_error));
    m.insert("resource_class".into(), json!(a.resource_class));
    m.insert("traits".into(), a.traits.clone());
    m.insert("candidate_nodes".into(), a.candidate_nodes.clone());
    m.insert("extra".into(), a.extra.clone());
    m.insert("conductor_affinity".into(), json!(a.conductor_affinity));
    m.insert("owner".into(), json!(a.owner));
    m.insert("created_at".into(), common::ts(&a.created_at));
    m.insert("updated_at".into(), common::ts_opt(&a.updated_at));
    m
}

#[utoipa::path(patch, path = "/v1/allocations/{allocation}", tag = "Allocations", params(super::openapi::VersionHeaders, ("allocation" = String, Path, description = "Allocation UUID or name")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of name and extra (1.57)"), responses((status = 200, description = "The updated allocation"), (status = 400, description = "Invalid patch or name", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 405, description = "Before 1.57", body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody)))]
pub async fn update(state: State, ctx: Ctx, path: web::Path<String>, body: web::Bytes) -> Reply {
    checks::require(
        &ctx,
        Feature::AllocationUpdate.since(),
        true,
        TOO_OLD_UPDATE,
    )?;
    let ops = checks::patch_ops(
        &body,
        PatchSchema {
            schema: Schema::PLAIN,
            typed_op: false,
            strict_path: false,
            value_types: &[Ty::Str, Ty::Obj, Ty::Null, Ty::Int, Ty::Bool],
        },
    )?;
    let a = find(&state, &path).await?;
    checks::patch_allowed(&ops, &["name", "extra"])?;
    for op in &ops {
        if op.get("path").and_then(Value::as_str) != Some("/name")
            || op.get("op").and_then(Value::as_str) == Some("remove")
        {
            continue;
        }
        let value = op.get("value").unwrap_or(&Value::Null);
        let ok = match value {
            Value::Null | Value::Bool(false) => true,
            Value::String(s) => s.is_empty() || checks::is_logical_name(s),
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::Array(v) => v.is_empty(),
            Value::Object(m) => m.is_empty(),
            Value::Bool(true) => false,
        };
        if !ok {
            let shown = match value {
                Value::String(s) => s.clone(),
                other => checks::py_repr(other),
            };
            return Err(Error::invalid(format!(
                "Cannot update allocation with invalid name '{shown}'"
            ))
            .into());
        }
    }
    let patched = checks::apply_patch(as_dict(&a), &ops)?;
    let s = Schema::of("patch");
    let extra = patched.get("extra").cloned().unwrap_or(Value::Null);
    let name = patched.get("name").cloned().unwrap_or(Value::Null);
    Best::new()
        .ty(1, s.types(&extra, &[Ty::Obj, Ty::Null]))
        .ty(1, s.types(&name, &[Ty::Str, Ty::Null]))
        .finish()?;
    let name = name.as_str().map(str::to_owned);
    let extra = object_or_empty(&extra);
    let a = if name != a.name || extra != a.extra {
        allocations::update_meta(&state.db, &a, name, extra).await?
    } else {
        a
    };
    Ok(HttpResponse::Ok().json(render_one(&state, &ctx, &a, None).await?))
}

#[utoipa::path(delete, path = "/v1/allocations/{allocation}", tag = "Allocations", params(super::openapi::VersionHeaders, ("allocation" = String, Path, description = "Allocation UUID or name")), responses((status = 204, description = "Deleted; its node lost the allocation and the instance it set"), (status = 400, description = "Invalid identifier", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 405, description = "Before 1.52", body = ErrorBody), (status = 409, description = "The node is locked, deployed or busy (and not in maintenance)", body = ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Reply {
    checks::require(&ctx, Feature::Allocations.since(), true, TOO_OLD)?;
    let a = find(&state, &path).await?;
    state
        .rpc
        .call(Request::DestroyAllocation {
            allocation: a.uuid.clone(),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn no_allocation(ident: &str) -> Fail {
    checks::not_found(format!("Allocation for node {ident} was not found"))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/allocation", tag = "Allocations", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The allocation holding the node"), (status = 400, description = "Unknown node or invalid field", body = ErrorBody), (status = 404, description = "The node has no allocation, or before 1.52", body = ErrorBody)))]
pub async fn node_show(state: State, ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> Reply {
    if !ctx.version.has(Feature::Allocations) {
        return Ok(super::error::path_not_found().await);
    }
    let q = checks::query(&req, &["fields"])?;
    let fields = q.get("fields").map(|f| checks::string_list(f));
    let node = named_node(&state, &path).await?;
    let a = allocations::for_node(&state.db, node.id)
        .await?
        .ok_or_else(|| no_allocation(&path))?;
    if let Some(f) = &fields {
        let mut valid = FIELDS.to_vec();
        valid.push("owner");
        let bad: Vec<&str> = f
            .iter()
            .map(String::as_str)
            .filter(|x| !valid.contains(x))
            .collect();
        if !bad.is_empty() {
            return Err(
                Error::invalid(format!("Field(s) \"{}\" are not valid", bad.join(", "))).into(),
            );
        }
    }
    Ok(HttpResponse::Ok().json(render(&ctx, &a, Some(&node.uuid), fields.as_deref())))
}

#[utoipa::path(delete, path = "/v1/nodes/{node}/allocation", tag = "Allocations", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name")), responses((status = 204, description = "The node's allocation is deleted"), (status = 404, description = "Node not found, the node has no allocation, or before 1.52", body = ErrorBody), (status = 409, description = "The node is locked, deployed or busy (and not in maintenance)", body = ErrorBody)))]
pub async fn node_delete(state: State, ctx: Ctx, path: web::Path<String>) -> Reply {
    if !ctx.version.has(Feature::Allocations) {
        return Ok(super::error::path_not_found().await);
    }
    let node = find_node(&state, &path).await?;
    let a = allocations::for_node(&state.db, node.id)
        .await?
        .ok_or_else(|| no_allocation(&path))?;
    state
        .rpc
        .call(Request::DestroyAllocation { allocation: a.uuid })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Methods the node's allocation does not serve: an unknown path before 1.52, 405 after.
async fn node_other(ctx: Ctx) -> HttpResponse {
    if ctx.version.has(Feature::Allocations) {
        super::error::method_not_allowed().await
    } else {
        super::error::path_not_found().await
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/allocations")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/v1/allocations/{allocation}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(
        super::route("/v1/nodes/{node}/allocation")
            .route(web::get().to(node_show))
            .route(web::delete().to(node_delete))
            .default_service(web::to(node_other)),
    );
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, create, update, delete, node_show, node_delete),
    tags((name = "Allocations", description = "Requests for a node by resource class and traits (1.52), fulfilled by a conductor in the background."))
)]
pub struct Doc;
