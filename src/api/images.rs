//! `/v1/images`: m2's image library (not part of Ironic's API; same error body, request
//! ids and version headers, available at every microversion). Nodes deploy from an
//! image by UUID or name in `instance_info.image_source`.
//!
//! - `POST /v1/images` creates a record; with `rbd` it registers an existing RBD image
//!   at once, otherwise the image waits (`queued`) for its data.
//! - `PUT /v1/images/{image}/file` uploads raw or qcow2 data (streamed).
//! - `GET /v1/images/{image}/file` downloads the data as a raw disk image.
//! - `GET`, `PATCH` (name, visibility, shared_with, owner, extra) and `DELETE` (refused
//!   while node disks are cloned from the image).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::collection::Body;
use super::common::{self, Ctx, Page};
use super::patch;
use super::{AppState, resource};
use crate::db::images::{self, Image, ImageFilter, Viewer};
use crate::db::paging::Paging;
use crate::error::{Error, Result};
use crate::images::{ImageCatalog, NewImage};

type State = web::Data<AppState>;

/// Root attributes a PATCH may change.
const PATCHABLE: &[&str] = &["name", "visibility", "shared_with", "owner", "extra"];

/// Who is asking, for visibility of images and volumes.
pub(super) fn viewer(ctx: &Ctx) -> Viewer {
    Viewer {
        project: if ctx.auth.is_admin() {
            None
        } else {
            ctx.auth.project_id.clone()
        },
    }
}

fn view(ctx: &Ctx, img: &Image) -> Value {
    let golden = ImageCatalog::golden(img);
    json!({
        "uuid": img.uuid,
        "name": img.name,
        "status": img.status,
        "visibility": img.visibility,
        "owner": img.owner,
        "shared_with": img.shared_with,
        "disk_format": img.disk_format,
        "size": img.size,
        "checksum": img.checksum,
        "source": img.source,
        "source_node": img.source_node,
        "rbd": golden.to_string(),
        "last_error": img.last_error,
        "extra": img.extra,
        "created_at": common::ts(&img.created_at),
        "updated_at": common::ts_opt(&img.updated_at),
        "links": ctx.links(&format!("images/{}", img.uuid)),
    })
}

fn catalog(state: &AppState) -> Result<&ImageCatalog> {
    Ok(&state.images)
}

/// The checked fields of a create body or of a patched image.
fn new_image(mut doc: Map<String, Value>) -> Result<(NewImage, Option<String>)> {
    // Read by `create` before this check.
    doc.remove("node");
    doc.remove("flatten");
    let b = Body { kind: "image" };
    for k in doc.keys() {
        if !matches!(
            k.as_str(),
            "uuid"
                | "name"
                | "visibility"
                | "shared_with"
                | "owner"
                | "disk_format"
                | "extra"
                | "rbd"
                | "node"
                | "flatten"
        ) {
            return Err(b.unexpected(k));
        }
    }
    let shared_with = match doc.remove("shared_with") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|p| b.string(p, 255))
            .collect::<Result<Vec<_>>>()?,
        Some(other) => return Err(b.wrong_type(&other, "'array'")),
    };
    let uuid = match doc.remove("uuid") {
        None => None,
        Some(v) => b.opt_uuid("uuid", v)?,
    };
    let spec = NewImage {
        uuid,
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
        visibility: doc
            .remove("visibility")
            .map(|v| b.opt_string(v, 16))
            .transpose()?
            .flatten(),
        shared_with,
        disk_format: doc
            .remove("disk_format")
            .map(|v| b.opt_string(v, 16))
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
            "An image name may not be a UUID: {name}"
        )));
    }
    let rbd = doc.remove("rbd").map(|v| b.string(v, 767)).transpose()?;
    Ok((spec, rbd))
}

#[utoipa::path(post, path = "/v1/images", tag = "Images", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "name, visibility (public, private, shared), shared_with (project ids), owner, disk_format (raw, qcow2), extra, uuid; rbd = \"pool/image[@snapshot]\" registers an existing RBD image; node = UUID or name of a deployed node captures its disk (a snapshot and a linked clone, no copy), with flatten = true detaching it from the node's disk in the background"), responses((status = 201, description = "The image: active when registered or captured from a node, queued when waiting for an upload"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 409, description = "Already registered", body = super::openapi::ErrorBody), (status = 503, description = "Ceph unreachable", body = super::openapi::ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse> {
    let doc = common::parse_object(&body)?;
    let b = Body { kind: "image" };
    let node = doc
        .get("node")
        .cloned()
        .map(|v| b.string(v, 255))
        .transpose()?;
    let flatten = match doc.get("flatten") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(f)) => *f,
        Some(other) => return Err(b.wrong_type(other, "'boolean'")),
    };
    let (mut spec, rbd) = new_image(doc)?;
    if spec.owner.is_none() {
        spec.owner = viewer(&ctx).project;
    }
    let img = match (rbd, node) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "An image comes from either \"rbd\" or \"node\", not both.",
            ));
        }
        (None, None) if flatten => {
            return Err(Error::invalid("\"flatten\" is only valid with \"node\"."));
        }
        (Some(location), None) => state.images.register(spec, &location).await?,
        (None, None) => state.images.create(spec).await?,
        (None, Some(node)) => snapshot_node(&state, &ctx, spec, &node, flatten).await?,
    };
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/images/{}", ctx.base, img.uuid),
        ))
        .json(view(&ctx, &img)))
}

/// Captures a node's disk as an image, under the node's reservation so that no deploy
/// or undeploy changes the disk meanwhile.
async fn snapshot_node(
    state: &AppState,
    ctx: &Ctx,
    mut spec: NewImage,
    ident: &str,
    flatten: bool,
) -> Result<Image> {
    let n =
        super::nodes::lookup_for(state, ctx, ident, "baremetal:node:set_provision_state").await?;
    if spec.owner.is_none() {
        spec.owner = crate::drivers::m2::M2Deploy::viewer(&n).project;
    }
    let images = state.images.clone();
    super::node_lock::with_lock(state, &n, async |locked: &crate::db::nodes::Node| {
        let Some(disk) = crate::drivers::m2::recorded_disk(locked)? else {
            return Err(Error::invalid(format!(
                "Node {} has no disk in Ceph to capture: only nodes deployed with the m2 \
                 deploy interface can be snapshotted.",
                locked.uuid
            )));
        };
        images
            .snapshot_node(spec, &locked.uuid, &disk, flatten)
            .await
    })
    .await
}

#[utoipa::path(get, path = "/v1/images", tag = "Images", params(super::openapi::VersionHeaders, ("name" = Option<String>, Query, description = "Only images with this name"), ("status" = Option<String>, Query, description = "queued, saving, active or error"), ("owner" = Option<String>, Query, description = "Only images of this project"), ("visibility" = Option<String>, Query, description = "public, private or shared"), ("limit" = Option<u64>, Query, description = "Page size"), ("marker" = Option<String>, Query, description = "UUID of the last image of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of the images the caller can see"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse> {
    let q = super::nodes::query(&req)?;
    for k in q.keys() {
        if !matches!(
            k.as_str(),
            "name"
                | "status"
                | "owner"
                | "visibility"
                | "limit"
                | "marker"
                | "sort_key"
                | "sort_dir"
        ) {
            return Err(Error::invalid(format!("Unexpected argument: {k}")));
        }
    }
    let page = Page::parse(&q, images::SORTABLE, state.config.api.max_limit as u64)?;
    let marker = match &page.marker {
        Some(m) => Some(
            images::by_uuid(&state.db, m)
                .await?
                .ok_or_else(|| Error::not_found("Image", m.clone()))?,
        ),
        None => None,
    };
    let filter = ImageFilter {
        name: q.get("name").cloned(),
        status: q.get("status").cloned(),
        owner: q.get("owner").cloned(),
        visibility: q.get("visibility").cloned(),
    };
    let rows = images::list(
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
        "images".into(),
        Value::Array(rows.iter().map(|i| view(&ctx, i)).collect()),
    );
    common::add_next(
        &mut body,
        &ctx,
        "images",
        &page,
        &q,
        count,
        rows.last().map(|i| i.uuid.as_str()),
    );
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

#[utoipa::path(get, path = "/v1/images/{image}", tag = "Images", params(super::openapi::VersionHeaders, ("image" = String, Path, description = "Image UUID or name")), responses((status = 200, description = "The image"), (status = 404, description = "No such image the caller can see", body = super::openapi::ErrorBody), (status = 409, description = "The name is ambiguous", body = super::openapi::ErrorBody)))]
pub async fn show(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let img = catalog(&state)?.find(&path, &viewer(&ctx)).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &img)))
}

#[utoipa::path(put, path = "/v1/images/{image}/file", tag = "Images", params(super::openapi::VersionHeaders, ("image" = String, Path, description = "Image UUID or name")), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Raw or qcow2 disk image, streamed"), responses((status = 200, description = "The stored image, active"), (status = 400, description = "Empty, unreadable or mislabelled data; the image is left in error", body = super::openapi::ErrorBody), (status = 409, description = "The image is not waiting for data", body = super::openapi::ErrorBody)))]
pub async fn upload(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let cat = catalog(&state)?;
    let img = cat.find(&path, &viewer(&ctx)).await?;
    let stored = cat.upload(&img, payload).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &stored)))
}

#[utoipa::path(get, path = "/v1/images/{image}/file", tag = "Images", params(super::openapi::VersionHeaders, ("image" = String, Path, description = "Image UUID or name")), responses((status = 200, description = "The data, a raw disk image", content_type = "application/octet-stream"), (status = 400, description = "The image has no data yet", body = super::openapi::ErrorBody), (status = 404, description = "No such image", body = super::openapi::ErrorBody)))]
pub async fn download(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let cat = catalog(&state)?;
    let img = cat.find(&path, &viewer(&ctx)).await?;
    let file = std::env::temp_dir().join(format!("m2-download-{}", uuid::Uuid::new_v4()));
    if let Err(e) = cat.export(&img, &file).await {
        let _ = tokio::fs::remove_file(&file).await;
        return Err(e);
    }
    let f = tokio::fs::File::open(&file)
        .await
        .map_err(|e| Error::Internal(format!("reading the exported image: {e}")))?;
    let len = f
        .metadata()
        .await
        .map(|m| m.len())
        .map_err(|e| Error::Internal(format!("reading the exported image: {e}")))?;
    // The open handle keeps the data readable; the name goes at once.
    let _ = tokio::fs::remove_file(&file).await;
    let body = futures_util::stream::unfold(f, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((header::CONTENT_LENGTH, len))
        .streaming(body.boxed_local()))
}

#[utoipa::path(patch, path = "/v1/images/{image}", tag = "Images", params(super::openapi::VersionHeaders, ("image" = String, Path, description = "Image UUID or name")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of name, visibility, shared_with, owner, extra"), responses((status = 200, description = "The updated image"), (status = 400, description = "Invalid input", body = super::openapi::ErrorBody), (status = 404, description = "No such image", body = super::openapi::ErrorBody)))]
pub async fn update(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let ops = common::parse_value(&body)?;
    let mut img = catalog(&state)?.find(&path, &viewer(&ctx)).await?;
    let mut doc = Map::new();
    doc.insert("name".into(), json!(img.name));
    doc.insert("visibility".into(), json!(img.visibility));
    doc.insert("shared_with".into(), img.shared_with.clone());
    doc.insert("owner".into(), json!(img.owner));
    doc.insert("extra".into(), img.extra.clone());
    patch::apply(
        &mut doc,
        &ops,
        |op| {
            if !PATCHABLE.contains(&op.root.as_str()) {
                return Err(patch::not_patchable(op, PATCHABLE));
            }
            if op.removes_root() && op.root == "visibility" {
                return Err(patch::mandatory("visibility"));
            }
            Ok(())
        },
        |root| match root {
            "extra" => json!({}),
            "shared_with" => json!([]),
            _ => Value::Null,
        },
    )?;
    let (spec, _) = new_image(doc)?;
    let visibility = spec.visibility.unwrap_or_else(|| "private".into());
    if !matches!(visibility.as_str(), "public" | "private" | "shared") {
        return Err(Error::invalid(format!(
            "Invalid visibility \"{visibility}\": expected public, private or shared."
        )));
    }
    img.name = spec.name;
    img.visibility = visibility;
    img.shared_with = json!(spec.shared_with);
    img.owner = spec.owner;
    img.extra = spec.extra;
    images::save(&state.db, &mut img).await?;
    Ok(HttpResponse::Ok().json(view(&ctx, &img)))
}

#[utoipa::path(delete, path = "/v1/images/{image}", tag = "Images", params(super::openapi::VersionHeaders, ("image" = String, Path, description = "Image UUID or name")), responses((status = 204, description = "Deleted"), (status = 404, description = "No such image", body = super::openapi::ErrorBody), (status = 409, description = "Node disks are cloned from it, or an upload runs", body = super::openapi::ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Result<HttpResponse> {
    let cat = catalog(&state)?;
    let img = cat.find(&path, &viewer(&ctx)).await?;
    cat.delete(&img).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/images")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/v1/images/{image}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(
        resource("/v1/images/{image}/file")
            .route(web::get().to(download))
            .route(web::put().to(upload)),
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, show, upload, download, update, delete))]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_bodies() {
        let ok = json!({"name": "debian", "visibility": "shared", "shared_with": ["p1"], "rbd": "pool/img"});
        let (spec, rbd) = new_image(ok.as_object().cloned().unwrap()).unwrap();
        assert_eq!(spec.name.as_deref(), Some("debian"));
        assert_eq!(spec.shared_with, ["p1"]);
        assert_eq!(rbd.as_deref(), Some("pool/img"));
        for bad in [
            json!({"colour": 1}),
            json!({"name": 5}),
            json!({"shared_with": "p1"}),
            json!({"shared_with": [1]}),
            json!({"uuid": "nope"}),
            json!({"name": "0b0e2a5c-1111-4a4a-8a8a-123456789abc"}),
            json!({"extra": []}),
        ] {
            assert!(
                new_image(bad.as_object().cloned().unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
