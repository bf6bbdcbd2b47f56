//! `/v1/conductors` (1.49): the registered conductor services and whether they are
//! alive.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};

use super::checks::{self, Reply};
use super::common::{self, Ctx, Page};
use super::{AppState, resource};
use crate::db::conductors::{self, ConductorRow};
use crate::db::entities::conductor;
use crate::db::paging::{self, Paging};
use crate::error::{Error, Result};

type State = web::Data<AppState>;

const SINCE: u16 = 49;
const TOO_OLD: &str = "The API is not supported for this version";

/// Fields a client may ask for.
const FIELDS: &[&str] = &[
    "alive",
    "conductor_group",
    "created_at",
    "drivers",
    "hostname",
    "links",
    "updated_at",
];

/// Fields of the list without `detail`.
const DEFAULT_FIELDS: &[&str] = &["hostname", "conductor_group", "alive"];

/// Columns a list may be sorted by.
const SORTABLE: &[&str] = &[
    "id",
    "hostname",
    "conductor_group",
    "online",
    "created_at",
    "updated_at",
];

fn render(state: &AppState, ctx: &Ctx, c: &ConductorRow) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("created_at".into(), common::ts(&c.created_at));
    out.insert("updated_at".into(), common::ts_opt(&c.updated_at));
    out.insert("hostname".into(), json!(c.hostname));
    out.insert("conductor_group".into(), json!(c.conductor_group));
    out.insert("drivers".into(), c.hardware_types.clone());
    out.insert(
        "links".into(),
        ctx.links(&format!("conductors/{}", c.hostname)),
    );
    out.insert(
        "alive".into(),
        json!(conductors::is_alive(
            c,
            state.config.conductor.heartbeat_timeout
        )),
    );
    out
}

async fn by_hostname(state: &AppState, hostname: &str) -> Result<ConductorRow> {
    conductor::Entity::find()
        .filter(conductor::Column::Hostname.eq(hostname))
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("Conductor", hostname))
}

#[utoipa::path(get, path = "/v1/conductors", tag = "Conductors", params(super::openapi::VersionHeaders, ("detail" = Option<bool>, Query, description = "Return every field instead of hostname, conductor_group and alive"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return"), ("limit" = Option<u64>, Query, description = "Page size, at most [api] max_limit"), ("marker" = Option<String>, Query, description = "Hostname of the last conductor of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by (not alive or drivers)"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of conductors (1.49), with a next link when the page is full"), (status = 400, description = "Invalid field, sort key or page parameter", body = super::openapi::ErrorBody), (status = 404, description = "Version older than 1.49, or the marker does not exist", body = super::openapi::ErrorBody)))]
async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Reply {
    ctx.authorize("baremetal:conductor:get")?;
    checks::require(&ctx, SINCE, false, TOO_OLD)?;
    let q = checks::query(
        &req,
        &[
            "marker", "limit", "sort_key", "sort_dir", "fields", "detail",
        ],
    )?;
    let fields = checks::fields(q.get("fields"), FIELDS)?;
    let detail = q
        .get("detail")
        .map(|d| common::parse_bool("detail", d))
        .transpose()?;
    if fields.is_some() && detail == Some(true) {
        return Err(
            Error::invalid("Can not specify ?detail=True and fields in the same request.").into(),
        );
    }
    if let Some(k @ ("alive" | "drivers")) = q.get("sort_key").map(String::as_str) {
        return Err(Error::invalid(format!(
            "The sort_key value {k} is an invalid field for sorting"
        ))
        .into());
    }
    // The marker is a hostname, not a UUID: checked apart from the other parameters.
    let mut page_q: HashMap<String, String> = q.clone();
    let marker = page_q.remove("marker");
    let page = Page::parse(&page_q, SORTABLE, state.config.api.max_limit as u64)?;
    let marker_row = match &marker {
        Some(m) => Some(by_hostname(&state, m).await?),
        None => None,
    };
    let rows = paging::page::<conductor::Entity, _>(
        &state.db,
        Condition::all(),
        conductor::Column::Id,
        Paging {
            limit: page.limit,
            marker: marker_row.as_ref(),
            sort_key: &page.sort_key,
            descending: page.sort_dir == common::SortDir::Desc,
        },
    )
    .await?;
    let shown: Option<Vec<String>> = match (&fields, detail) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(true)) => None,
        (None, _) => Some(DEFAULT_FIELDS.iter().map(|s| (*s).to_owned()).collect()),
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|c| checks::keep(render(&state, &ctx, c), shown.as_deref()))
        .collect();
    let mut body = Map::new();
    let count = items.len();
    body.insert("conductors".into(), Value::Array(items));
    common::add_next(
        &mut body,
        &ctx,
        "conductors",
        &page,
        &q,
        count,
        rows.last().map(|c| c.hostname.as_str()),
    );
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

#[utoipa::path(get, path = "/v1/conductors/{hostname}", tag = "Conductors", params(super::openapi::VersionHeaders, ("hostname" = String, Path, description = "Host name of the conductor ([DEFAULT] host)"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The conductor: hostname, conductor_group, alive, drivers (hardware types), created_at, updated_at, links (1.49)"), (status = 400, description = "Invalid field", body = super::openapi::ErrorBody), (status = 404, description = "No such conductor, or version older than 1.49", body = super::openapi::ErrorBody)))]
async fn show(state: State, ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> Reply {
    ctx.authorize("baremetal:conductor:get")?;
    checks::require(&ctx, SINCE, false, TOO_OLD)?;
    let q = checks::query(&req, &["fields"])?;
    let fields = checks::fields(q.get("fields"), FIELDS)?;
    let c = by_hostname(&state, &path).await?;
    Ok(HttpResponse::Ok().json(checks::keep(render(&state, &ctx, &c), fields.as_deref())))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/conductors").route(web::get().to(list)))
        .service(resource("/v1/conductors/{hostname}").route(web::get().to(show)));
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, show),
    tags((name = "Conductors", description = "The conductor services registered in the database and whether they are alive (1.49)."))
)]
pub struct Doc;
