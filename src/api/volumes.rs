//! `/v1/volumes`: disk volumes, node disks that outlive a deployment (not part of
//! Ironic's API, which has no such resource; same error body, request ids and version
//! headers, available at every microversion). Undeploying with `keep_disk` makes one;
//! `instance_info.volume` deploys a node from one, without a copy.
//!
//! - `POST /v1/volumes` with `rbd` registers an existing RBD image (a VM's volume).
//! - `GET`, `PATCH` (name, owner, extra) and `DELETE` (refused while a node uses it).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::collection::Body;
use super::common::{self, Ctx, Page};
use super::images::viewer;
use super::patch;
use super::{AppState, resource};
use crate::db::disk_volumes::{self, DiskVolume, VolumeFilter};
use crate::db::paging::Paging;
use crate::error::{Error, Result};
use crate::volumes::{NewVolume, VolumeCatalog};

type State = web::Data<AppState>;

/// Root attributes a PATCH may change.
const PATCHABLE: &[&str] = &["name", "owner", "extra"];

fn view(ctx: &Ctx, v: &DiskVolume) -> Value {
    json!({
        "uuid": v.uuid,
        "name": v.name,
        "status": v.status,
        "owner": v.owner,
        "size": v.size,
        "rbd": VolumeCatalog::disk(v).to_string(),
        "source": v.source,
        "source_node": v.source_node,
        "node_uuid": v.node_uuid,
        "extra": v.extra,
        "created_at": common::ts(&v.created_at),
        "updated_at": common::ts_opt(&v.updated_at),
        "links": ctx.links(&format!("volumes/{}", v.uuid)),
    })
}

/// The checked fields of a create body or of a patched volume.
fn new_volume(
    mut doc: Map<String, Value>,
    allowed: &[&str],
) -> Result<(NewVolume, Option<String>)> {
    let b = Body { kind: "volume" };
    if let Some(k) = doc.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(b.unexpected(k));
    }
    let spec = NewVolume {
        name: doc
            .remove("name")
            .map(|v| b.opt_string(v, 255))
            .transpose()?
            .flatten(),
        owner: doc
            .remove("owner")
            .map(|v| b.opt_string(v, 255))
            .transpose()?
            .flatten(),
        extra: doc
            .remove("extra")
            .map(|v| b.object(v))
            .transpose()?
            .unwrap_or(json!({})),
    };
    if let Some(name) = &spec.name
        && common::is_uuid_like(name)
    {
        return Err(Error::invalid(format!(
            "A volume name may not be a UUID: {name}"
        )));
    }
    let rbd = doc.remove("rbd").map(|v| b.string(v, 767)).transpose()?;
    Ok((spec, rbd))
}

fn catalog(state: &AppState) -> &VolumeCatalog {
    &state.volumes
}

#[utoipa::path(post, path = "/v1/volumes", tag = "Volumes", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "rbd = \"pool/image\" (required): an existing RBD image, such as a Cinder volume; name, owner, extra"), responses((status = 201, description = "The volume, available"), (status = 400, description = "Invalid input or no such RBD image", body = super::openapi::ErrorBody), (status = 409, description = "Already a volume", body = super::openapi::ErrorBody), (status = 503, description = "Ceph unreachable", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    let doc = common::parse_object(&body)?;
    let (mut spec, rbd) = new_volume(doc, &["name", "owner", "extra", "rbd"])?;
    let rbd =
        rbd.ok_or_else(|| Error::invalid("Schema error for volume: 'rbd' is a required property"))?;
    if spec.owner.is_none() {
        spec.owner = viewer(&ctx).project;
    }
    let v = catalog(&state).register(spec, &rbd).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/volumes/{}", ctx.base, v.uuid),
        ))
        .json(view(&ctx, &v)))
}

#[utoipa::path(get, path = "/v1/volumes", tag = "Volumes", params(super::openapi::VersionHeaders, ("name" = Option<String>, Query, description = "Only volumes with this name"), ("status" = Option<String>, Query, description = "available or in-use"), ("owner" = Option<String>, Query, description = "Only volumes of this project"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last volume of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of the volumes the caller can see"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    let q = super::nodes::query(&req)?;
    if let Some(k) = q.keys().find(|k| {
        !matches!(
            k.as_str(),
            "name" | "status" | "owner" | "limit" | "marker" | "sort_key" | "sort_dir"
        )
    }) {
        return Err(Error::invalid(format!("Unexpected argument: {k}")));
    }
    let page = Page::parse(
        &q,
        disk_volumes::SORTABLE,
        state.config.api.max_limit as u64,
    )?;
    let marker = match &page.marker {
        Some(m) => Some(
            disk_volumes::by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Volume", m.clone()))?,
        ),
        None => None,
    };
    let filter = VolumeFilter {
        name: q.get("name").cloned(),
        status: q.get("status").cloned(),
        owner: q.get("owner").cloned(),
    };
    let rows = disk_volumes::list(
        &state.db,
        &viewer(&ctx),
        &filter,
        Paging {
            limit: page.limit,
            marker: marker.as_ref(),
            sort_key: &page.sort_key,
            descending: page.sort_dir == common::SortDir::Desc,
        },
    )
    .await?;
    let mut body = Map::new();
    let count = rows.len();
    body.insert(
        "volumes".into(),
        Value::Array(rows.iter().map(|v| view(&ctx, v)).collect()),
    );
    common::add_next(
        &mut body,
        &ctx,
        "volumes",
        &page,
        &q,
        count,
        rows.last().map(|v| v.uuid.as_str()),
    );
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

#[utoipa::path(get, path = "/v1/volumes/{volume}", tag = "Volumes", params(super::openapi::VersionHeaders, ("volume" = String, Path, description = "Volume UUID or name")), responses((status = 200, description = "The volume"), (status = 404, description = "No such volume the caller can see", body = super::openapi::ErrorBody), (status = 409, description = "The name is ambiguous", body = super::openapi::ErrorBody)))]
pub async fn show(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let v = catalog(&state).find(&path, &viewer(&ctx)).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &v)))
}

#[utoipa::path(patch, path = "/v1/volumes/{volume}", tag = "Volumes", params(super::openapi::VersionHeaders, ("volume" = String, Path, description = "Volume UUID or name")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of name, owner, extra"), responses((status = 200, description = "The updated volume"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "No such volume", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let ops = common::parse_value(&body)?;
    let mut v = catalog(&state).find(&path, &viewer(&ctx)).await?;
    let mut doc = Map::new();
    doc.insert("name".into(), json!(v.name));
    doc.insert("owner".into(), json!(v.owner));
    doc.insert("extra".into(), v.extra.clone());
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
    let (spec, _) = new_volume(doc, PATCHABLE)?;
    v.name = spec.name;
    v.owner = spec.owner;
    v.extra = spec.extra;
    disk_volumes::save(&state.db, &mut v).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &v)))
}

#[utoipa::path(delete, path = "/v1/volumes/{volume}", tag = "Volumes", params(super::openapi::VersionHeaders, ("volume" = String, Path, description = "Volume UUID or name")), responses((status = 204, description = "Deleted (with its data unless it was registered)"), (status = 404, description = "No such volume", body = super::openapi::ErrorBody), (status = 409, description = "A node uses it", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let cat = catalog(&state);
    let v = cat.find(&path, &viewer(&ctx)).await?;
    cat.delete(&v).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/volumes")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/v1/volumes/{volume}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, show, update, delete))]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_bodies() {
        let all = &["name", "owner", "extra", "rbd"];
        let ok = json!({"name": "data", "rbd": "volumes/volume-1"});
        let (spec, rbd) = new_volume(ok.as_object().cloned().unwrap(), all).unwrap();
        assert_eq!(spec.name.as_deref(), Some("data"));
        assert_eq!(rbd.as_deref(), Some("volumes/volume-1"));
        for bad in [
            json!({"colour": 1}),
            json!({"name": 5}),
            json!({"name": "0b0e2a5c-1111-4a4a-8a8a-123456789abc"}),
            json!({"extra": []}),
            json!({"rbd": 3}),
        ] {
            assert!(
                new_volume(bad.as_object().cloned().unwrap(), all).is_err(),
                "{bad}"
            );
        }
    }
}
