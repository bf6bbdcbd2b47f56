//! `/v1/chassis`: groups of nodes (a rack, an enclosure), addressed by UUID, with a
//! description and free-form `extra`. `/v1/chassis/{uuid}/nodes` lists the nodes of
//! one chassis with the node list of `nodes.rs`.
//!
//! A chassis is not tied to a node's reservation: like Ironic, m2 changes it directly.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::collection::{self, Body, ListQuery, Spec};
use super::common::{self, Ctx};
use super::nodes::{ChassisScope, list_nodes};
use super::patch;
use super::{AppState, resource};
use crate::db::chassis::{self, Chassis};
use crate::db::paging::Paging;
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// The chassis resource on the wire.
pub const SPEC: Spec = Spec {
    kind: "chassis",
    fields: &[
        ("uuid", 1),
        ("description", 1),
        ("extra", 1),
        ("nodes", 1),
        ("created_at", 1),
        ("updated_at", 1),
    ],
    short: &["uuid", "description"],
    fields_since: 8,
    detail_since: 43,
};

/// Root attributes a PATCH may name (a changed `uuid` is refused afterwards).
const PATCHABLE: &[&str] = &["uuid", "extra", "description"];

/// Longest description.
const DESCRIPTION_MAX: usize = 255;

fn view(ctx: &Ctx, c: &Chassis, fields: Option<&[String]>, detail: bool) -> Value {
    collection::render(
        ctx,
        &SPEC,
        fields,
        detail,
        &format!("chassis/{}", c.uuid),
        |f| match f {
            "uuid" => json!(c.uuid),
            "description" => json!(c.description),
            "extra" => c.extra.clone(),
            // Ironic wraps the links of the node sub-collection in one more list; its
            // clients read the field that way, so m2 keeps the shape.
            "nodes" => json!([ctx.links(&format!("chassis/{}/nodes", c.uuid))]),
            "created_at" => common::ts(&c.created_at),
            "updated_at" => common::ts_opt(&c.updated_at),
            _ => Value::Null,
        },
    )
}

/// A chassis by UUID; 400 for something else than a UUID.
async fn find(state: &AppState, ident: &str) -> Result<Chassis> {
    let uuid = collection::uuid_arg("chassis_uuid", ident)?;
    chassis::by_uuid(&state.db, &uuid)
        .await?
        .ok_or_else(|| Error::not_found("Chassis", ident))
}

async fn list_chassis(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
    detail_path: bool,
) -> Result<HttpResponse> {
    let lq: ListQuery = collection::list_query(
        ctx,
        req,
        &SPEC,
        chassis::SORTABLE,
        state.config.api.max_limit as u64,
        detail_path,
    )?;
    for k in lq.q.keys() {
        if !matches!(
            k.as_str(),
            "fields" | "detail" | "limit" | "marker" | "sort_key" | "sort_dir"
        ) {
            return Err(Error::invalid(format!("Unexpected argument: {k}")));
        }
    }
    let marker = match &lq.page.marker {
        Some(m) => Some(
            chassis::by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Chassis", m.clone()))?,
        ),
        None => None,
    };
    let rows = chassis::list(
        &state.db,
        Paging {
            limit: lq.page.limit,
            marker: marker.as_ref(),
            sort_key: &lq.page.sort_key,
            descending: lq.page.sort_dir == common::SortDir::Desc,
        },
    )
    .await?;
    let items = rows
        .iter()
        .map(|c| view(ctx, c, lq.fields.as_deref(), lq.detail))
        .collect();
    let path = if detail_path {
        "chassis/detail"
    } else {
        "chassis"
    };
    Ok(collection::collection(
        ctx,
        "chassis",
        items,
        path,
        &lq,
        rows.last().map(|c| c.uuid.as_str()),
    ))
}

#[utoipa::path(get, path = "/v1/chassis", tag = "Chassis", params(super::openapi::VersionHeaders, ("fields" = Option<String>, Query, description = "Comma-separated fields to return (1.8)"), ("detail" = Option<bool>, Query, description = "Return every field (1.43)"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last chassis of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of chassis (uuid, description), with a next link when the page is full"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 406, description = "Field newer than the version", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    ctx.authorize("baremetal:chassis:get")?;
    list_chassis(&state, &ctx, &req, false).await
}

#[utoipa::path(get, path = "/v1/chassis/detail", tag = "Chassis", params(super::openapi::VersionHeaders), responses((status = 200, description = "A page of chassis with every field"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody)))]
pub async fn list_detail(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    ctx.authorize("baremetal:chassis:get")?;
    list_chassis(&state, &ctx, &req, true).await
}

#[utoipa::path(get, path = "/v1/chassis/{chassis}", tag = "Chassis", params(super::openapi::VersionHeaders, ("chassis" = String, Path, description = "Chassis UUID"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return (1.8)")), responses((status = 200, description = "The chassis"), (status = 400, description = "Not a UUID", body = super::openapi::ErrorBody), (status = 404, description = "Chassis not found", body = super::openapi::ErrorBody)))]
pub async fn show(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    ctx.authorize("baremetal:chassis:get")?;
    let fields = collection::show_fields(&ctx, &req, &SPEC)?;
    let c = find(&state, &path).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &c, fields.as_deref(), true)))
}

/// The nodes of one chassis: the node list, limited to it.
async fn nodes_of(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    req: &HttpRequest,
    ident: &str,
    detail_path: bool,
) -> Result<HttpResponse> {
    let c = find(state, ident).await?;
    let scope = ChassisScope {
        id: c.id,
        uuid: &c.uuid,
    };
    list_nodes(state, ctx, req, detail_path, Some(scope)).await
}

#[utoipa::path(get, path = "/v1/chassis/{chassis}/nodes", tag = "Chassis", params(super::openapi::VersionHeaders, ("chassis" = String, Path, description = "Chassis UUID")), responses((status = 200, description = "The chassis' nodes, in the short form and with the filters of /v1/nodes"), (status = 400, description = "Not a UUID, or invalid filter", body = super::openapi::ErrorBody), (status = 404, description = "Chassis not found", body = super::openapi::ErrorBody)))]
pub async fn list_nodes_of(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    nodes_of(&state, &ctx, &req, &path, false).await
}

#[utoipa::path(get, path = "/v1/chassis/{chassis}/nodes/detail", tag = "Chassis", params(super::openapi::VersionHeaders, ("chassis" = String, Path, description = "Chassis UUID")), responses((status = 200, description = "The chassis' nodes with every field, with the filters of /v1/nodes"), (status = 400, description = "Not a UUID, or invalid filter", body = super::openapi::ErrorBody), (status = 404, description = "Chassis not found", body = super::openapi::ErrorBody)))]
pub async fn list_nodes_of_detail(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    nodes_of(&state, &ctx, &req, &path, true).await
}

/// Applies a chassis document (create body or patched fields) to `c`.
fn apply_doc(mut doc: Map<String, Value>, c: &mut Chassis) -> Result<()> {
    let body = Body { kind: "chassis" };
    if let Some(v) = doc.remove("description") {
        c.description = body.opt_string(v, DESCRIPTION_MAX)?;
    }
    if let Some(v) = doc.remove("extra") {
        c.extra = body.object(v)?;
    }
    if let Some(k) = doc.keys().next() {
        return Err(body.unexpected(k));
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/chassis", tag = "Chassis", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "description (at most 255 characters), extra, uuid; all optional"), responses((status = 201, description = "The new chassis"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 409, description = "UUID taken", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    ctx.authorize("baremetal:chassis:create")?;
    let mut doc = common::parse_object(&body)?;
    let b = Body { kind: "chassis" };
    if let Some(k) = doc.keys().find(|k| !PATCHABLE.contains(&k.as_str())) {
        return Err(b.unexpected(k));
    }
    let uuid = collection::new_uuid(&b, doc.remove("uuid"))?;
    let mut c = Chassis {
        id: 0,
        uuid,
        description: None,
        extra: json!({}),
        created_at: chrono::Utc::now(),
        updated_at: None,
    };
    apply_doc(doc, &mut c)?;
    let saved = chassis::insert(&state.db, c).await?;
    tracing::info!(chassis = %saved.uuid, "chassis created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/chassis/{}", ctx.base, saved.uuid),
        ))
        .json(view(&ctx, &saved, None, true)))
}

#[utoipa::path(patch, path = "/v1/chassis/{chassis}", tag = "Chassis", params(super::openapi::VersionHeaders, ("chassis" = String, Path, description = "Chassis UUID")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of description and extra"), responses((status = 200, description = "The updated chassis"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "Chassis not found", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    ctx.authorize("baremetal:chassis:update")?;
    let ops = common::parse_value(&body)?;
    let old = find(&state, &path).await?;
    let mut doc = Map::new();
    doc.insert("uuid".into(), json!(old.uuid));
    doc.insert("extra".into(), old.extra.clone());
    doc.insert("description".into(), json!(old.description));
    patch::apply(
        &mut doc,
        &ops,
        |op| {
            if !PATCHABLE.contains(&op.root.as_str()) {
                return Err(patch::not_patchable(op, PATCHABLE));
            }
            Ok(())
        },
        |root| match root {
            "extra" => json!({}),
            _ => Value::Null,
        },
    )?;
    if doc.remove("uuid") != Some(json!(old.uuid)) {
        return Err(Error::invalid(
            "Cannot overwrite the UUID of an existing chassis.",
        ));
    }
    let mut new = old.clone();
    apply_doc(doc, &mut new)?;
    if new != old {
        chassis::save(&state.db, &mut new).await?;
        tracing::info!(chassis = %new.uuid, "chassis updated");
    }
    Ok(HttpResponse::Ok().json(view(&ctx, &new, None, true)))
}

#[utoipa::path(delete, path = "/v1/chassis/{chassis}", tag = "Chassis", params(super::openapi::VersionHeaders, ("chassis" = String, Path, description = "Chassis UUID")), responses((status = 204, description = "Deleted"), (status = 400, description = "Nodes still belong to the chassis", body = super::openapi::ErrorBody), (status = 404, description = "Chassis not found", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    ctx.authorize("baremetal:chassis:delete")?;
    let c = find(&state, &path).await?;
    chassis::delete(&state.db, &c).await?;
    tracing::info!(chassis = %c.uuid, "chassis deleted");
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/chassis")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/v1/chassis/detail").route(web::get().to(list_detail)))
    .service(
        resource("/v1/chassis/{chassis}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(resource("/v1/chassis/{chassis}/nodes").route(web::get().to(list_nodes_of)))
    .service(
        resource("/v1/chassis/{chassis}/nodes/detail").route(web::get().to(list_nodes_of_detail)),
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    list_detail,
    show,
    list_nodes_of,
    list_nodes_of_detail,
    create,
    update,
    delete
))]
pub struct Doc;
