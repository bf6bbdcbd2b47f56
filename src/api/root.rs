//! Version discovery: `GET /` and `GET /v1`.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::common::Ctx;
use super::resource;
use super::version::ApiVersion;

fn version_doc(ctx: &Ctx) -> Value {
    json!({
        "id": "v1",
        "links": [{"href": format!("{}/v1/", ctx.base), "rel": "self"}],
        "status": "CURRENT",
        "min_version": ApiVersion::MIN.to_string(),
        "version": ApiVersion::MAX.to_string(),
    })
}

#[utoipa::path(get, path = "/", tag = "Version discovery", params(super::openapi::VersionHeaders), responses((status = 200, description = "The API versions served, with the newest microversion")))]
pub async fn root(ctx: Ctx) -> HttpResponse {
    let v = version_doc(&ctx);
    HttpResponse::Ok().json(json!({
        "name": "OpenStack Bare Metal API (m2)",
        "description": "m2 provisions bare-metal nodes that boot from Ceph RBD linked clones, behind the OpenStack Bare Metal API.",
        "default_version": v,
        "versions": [v],
    }))
}

fn collection_links(ctx: &Ctx, name: &str) -> Value {
    json!([
        {"href": format!("{}/v1/{name}/", ctx.base), "rel": "self"},
        {"href": format!("{}/{name}/", ctx.base), "rel": "bookmark"},
    ])
}

#[utoipa::path(get, path = "/v1", tag = "Version discovery", params(super::openapi::VersionHeaders), responses((status = 200, description = "The v1 document: links to every collection")))]
pub async fn v1(ctx: Ctx) -> HttpResponse {
    let mut doc = serde_json::Map::new();
    doc.insert("id".into(), json!("v1"));
    doc.insert(
        "links".into(),
        json!([
            {"href": format!("{}/v1/", ctx.base), "rel": "self"},
            {"href": format!("{}/api-ref/", ctx.base), "rel": "describedby", "type": "text/html"},
        ]),
    );
    doc.insert(
        "media_types".into(),
        json!({"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"}),
    );
    let v = ctx.version;
    let mut collections = vec!["chassis", "nodes", "ports", "drivers"];
    if v.at_least(22) {
        collections.extend(["lookup", "heartbeat"]);
    }
    if v.at_least(24) {
        collections.push("portgroups");
    }
    if v.at_least(32) {
        collections.push("volume");
    }
    if v.at_least(49) {
        collections.push("conductors");
    }
    if v.at_least(52) {
        collections.push("allocations");
    }
    if v.at_least(54) {
        collections.push("events");
    }
    if v.at_least(55) {
        collections.push("deploy_templates");
    }
    for c in collections {
        doc.insert(c.into(), collection_links(&ctx, c));
    }
    doc.insert("version".into(), version_doc(&ctx));
    HttpResponse::Ok().json(Value::Object(doc))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").route(web::get().to(root)))
        .service(resource("/v1").route(web::get().to(v1)))
        .service(resource("/v1/").route(web::get().to(v1)));
}
