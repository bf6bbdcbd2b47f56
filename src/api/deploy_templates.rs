//! `/v1/deploy_templates` (1.55): named sets of deploy steps. A template is chosen for a
//! deployment when its name (a trait) is among the instance's traits; this resource
//! stores them.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::AppState;
use super::checks::{self, Best, Fail, PatchSchema, Reply, Schema, Ty};
use super::common::{self, Ctx, Page, SortDir};
use super::node_view::mask;
use super::openapi::ErrorBody;
use super::version::Feature;
use crate::db::deploy_templates::{self, Step, Template, TemplateRow};
use crate::db::paging::Paging;
use crate::error::{Error, Result};

type State = web::Data<AppState>;

const TOO_OLD: &str = "The API version does not allow deploy templates";

/// What `?fields=` may name (Ironic's query schema, which also lists `description`).
const QUERY_FIELDS: &[&str] = &[
    "created_at",
    "description",
    "extra",
    "links",
    "name",
    "steps",
    "updated_at",
    "uuid",
];

/// Fields of a list without `detail` or `fields`.
const DEFAULT_FIELDS: &[&str] = &["uuid", "name"];

/// Interfaces a deploy step may belong to.
const STEP_INTERFACES: &[&str] = &[
    "vendor",
    "power",
    "management",
    "firmware",
    "deploy",
    "bios",
    "raid",
];

/// Root attributes a PATCH may touch, as Ironic lists them.
const PATCHABLE: &[&str] = &["extra", "name", "steps", "description"];

/// JSON columns a list may not be sorted by.
const UNSORTABLE: &[&str] = &["extra", "steps"];

/// Before 1.55 the resource does not exist: 404 for reads, 405 for writes, in the
/// routing error form.
fn gate(ctx: &Ctx, write: bool) -> std::result::Result<(), Fail> {
    if ctx.version.has(Feature::DeployTemplates) {
        Ok(())
    } else if write {
        Err(Fail::Http(405, TOO_OLD.into()))
    } else {
        Err(Fail::Http(404, TOO_OLD.into()))
    }
}

fn step_value(s: &Step) -> Value {
    json!({
        "args": mask(&s.args),
        "interface": s.interface,
        "priority": s.priority,
        "step": s.step,
    })
}

/// One template, every field, with secrets in step arguments masked.
fn render_all(ctx: &Ctx, t: &Template) -> Map<String, Value> {
    let r = &t.row;
    let mut out = Map::new();
    out.insert("created_at".into(), common::ts(&r.created_at));
    out.insert(
        "extra".into(),
        if r.extra.is_null() {
            json!({})
        } else {
            r.extra.clone()
        },
    );
    out.insert(
        "links".into(),
        ctx.links(&format!("deploy_templates/{}", r.uuid)),
    );
    out.insert("name".into(), json!(r.name));
    out.insert(
        "steps".into(),
        Value::Array(t.steps.iter().map(step_value).collect()),
    );
    out.insert("updated_at".into(), common::ts_opt(&r.updated_at));
    out.insert("uuid".into(), json!(r.uuid));
    out
}

/// One template with only `fields` (plus links); a requested field the template does
/// not have is a 400.
fn render(ctx: &Ctx, t: &Template, fields: Option<&[String]>) -> Result<Value> {
    let all = render_all(ctx, t);
    if let Some(f) = fields {
        let bad: Vec<&str> = f
            .iter()
            .map(String::as_str)
            .filter(|x| !all.contains_key(*x))
            .collect();
        if !bad.is_empty() {
            return Err(Error::invalid(format!(
                "Field(s) \"{}\" are not valid",
                bad.join(", ")
            )));
        }
    }
    Ok(checks::keep(all, fields))
}

/// `?fields=` checked against the query schema.
fn fields_query(raw: Option<&String>, best: &mut Best) -> Option<Vec<String>> {
    let list = checks::string_list(raw?);
    for f in &list {
        best.ty(2, Schema::PLAIN.one_of(&json!(f), QUERY_FIELDS));
    }
    Some(list)
}

/// The template path parameter: a UUID or a logical name.
fn ident_arg(ident: &str) -> Result<()> {
    if common::is_uuid_like(ident) || checks::is_logical_name(ident) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Expected UUID or name for template_ident: {ident}"
        )))
    }
}

#[utoipa::path(get, path = "/v1/deploy_templates", tag = "Deploy templates", params(super::openapi::VersionHeaders, ("fields" = Option<String>, Query, description = "Comma-separated fields to return"), ("detail" = Option<bool>, Query, description = "Return every field"), ("limit" = Option<u32>, Query, description = "Page size, at most [api] max_limit"), ("marker" = Option<String>, Query, description = "UUID of the last template of the previous page"), ("sort_key" = Option<String>, Query, description = "Field to sort by"), ("sort_dir" = Option<String>, Query, description = "asc or desc")), responses((status = 200, description = "A page of templates (uuid and name unless detail or fields), with a next link when the page is full"), (status = 400, description = "Invalid field or page parameter", body = ErrorBody), (status = 404, description = "Before 1.55, or the marker does not exist", body = ErrorBody)))]
pub async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Reply {
    gate(&ctx, false)?;
    let q = checks::query(
        &req,
        &[
            "marker", "limit", "sort_key", "sort_dir", "fields", "detail",
        ],
    )?;
    if let Some(m) = q.get("marker")
        && !checks::is_logical_name(m)
    {
        return Err(Error::invalid(format!("Expected name for marker: {m}")).into());
    }
    let limit = checks::integer("limit", q.get("limit"))?;
    let mut best = Best::new();
    let fields = fields_query(q.get("fields"), &mut best);
    let detail = q
        .get("detail")
        .map(|d| checks::boolean("detail", d))
        .transpose()?;
    if let Some(d) = q.get("sort_dir") {
        best.at(1, Schema::PLAIN.one_of(&json!(d), &["asc", "desc"]));
    }
    best.finish()?;
    if fields.is_some() && detail == Some(true) {
        return Err(
            Error::invalid("Can not specify ?detail=True and fields in the same request.").into(),
        );
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
    let marker: Option<TemplateRow> = match q.get("marker") {
        Some(m) => Some(
            deploy_templates::row_by_uuid(
                &state.db,
                &common::canonical_uuid(m).unwrap_or_else(|| m.clone()),
            )
            .await?
            .ok_or_else(|| Error::not_found("Deploy template", m.clone()))?,
        ),
        None => None,
    };
    if !deploy_templates::SORTABLE.contains(&sort_key.as_str()) {
        return Err(Error::invalid(format!(
            "The sort_key value \"{sort_key}\" is an invalid field for sorting"
        ))
        .into());
    }
    let rows = deploy_templates::list(
        &state.db,
        Paging {
            limit,
            marker: marker.as_ref(),
            sort_key: &sort_key,
            descending: sort_dir == SortDir::Desc,
        },
    )
    .await?;
    let shown: Option<Vec<String>> = match (&fields, detail) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(true)) => None,
        (None, _) => Some(DEFAULT_FIELDS.iter().map(|s| (*s).to_owned()).collect()),
    };
    let items = rows
        .iter()
        .map(|t| render(&ctx, t, shown.as_deref()))
        .collect::<Result<Vec<Value>>>()?;
    let page = Page {
        limit,
        marker: None,
        sort_key,
        sort_dir,
    };
    let mut body = Map::new();
    let count = items.len();
    body.insert("deploy_templates".into(), Value::Array(items));
    common::add_next(
        &mut body,
        &ctx,
        "deploy_templates",
        &page,
        &q,
        count,
        rows.last().map(|t| t.row.uuid.as_str()),
    );
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

#[utoipa::path(get, path = "/v1/deploy_templates/{template}", tag = "Deploy templates", params(super::openapi::VersionHeaders, ("template" = String, Path, description = "Template UUID or name"), ("fields" = Option<String>, Query, description = "Comma-separated fields to return")), responses((status = 200, description = "The template"), (status = 400, description = "Invalid identifier or field", body = ErrorBody), (status = 404, description = "Not found, or before 1.55", body = ErrorBody)))]
pub async fn show(state: State, ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> Reply {
    gate(&ctx, false)?;
    let q = checks::query(&req, &["fields"])?;
    ident_arg(&path)?;
    let mut best = Best::new();
    let fields = fields_query(q.get("fields"), &mut best);
    best.finish()?;
    let t = deploy_templates::get(&state.db, &path).await?;
    Ok(HttpResponse::Ok().json(render(&ctx, &t, fields.as_deref())?))
}

/// Checks one deploy step against Ironic's step schema; `depth` is the step's own depth
/// in the document.
fn check_step(s: Schema, step: &Value, depth: usize, best: &mut Best) {
    best.ty(depth, s.types(step, &[Ty::Obj]));
    let Some(o) = step.as_object() else { return };
    let inner = depth + 1;
    if let Some(v) = o.get("args") {
        best.ty(inner, s.types(v, &[Ty::Obj]));
    }
    if let Some(v) = o.get("interface") {
        best.ty(inner, s.types(v, &[Ty::Str]));
        if v.is_string() {
            best.at(inner, s.one_of(v, STEP_INTERFACES));
        }
    }
    if let Some(v) = o.get("priority") {
        best.any_of(inner, priority(s, v));
    }
    if let Some(v) = o.get("step") {
        best.ty(inner, s.types(v, &[Ty::Str]));
        best.at(inner, s.non_empty(v));
    }
    best.at(
        depth,
        s.required(o, &["interface", "step", "args", "priority"]),
    );
    best.at(
        depth,
        s.no_extra(o, &["args", "interface", "priority", "step"]),
    );
}

/// A step's priority: a non-negative integer, or a string of digits. The message is
/// the one jsonschema settles on for this `anyOf`: the complaint of the alternative
/// whose type matches, else the whole with the first complaint as root cause.
fn priority(s: Schema, v: &Value) -> Result<()> {
    let r = checks::py_repr(v);
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            if n.as_i64().is_some_and(|i| i < 0) {
                Err(s.err(format!("{r} is less than the minimum of 0")))
            } else {
                Ok(())
            }
        }
        Value::String(text) if text.is_empty() => Err(s.err(format!(
            "{r} is not valid under any of the given schemas. Possible root cause: {r} is not \
             of type 'integer'"
        ))),
        Value::String(text) => {
            if text.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(s.err(format!("{r} does not match '^[0-9]+$'")))
            }
        }
        _ => Err(s.err(format!(
            "{r} is not valid under any of the given schemas. Possible root cause: {r} is not \
             of type 'integer'"
        ))),
    }
}

/// Checks a whole template as Ironic's template validator does: the schema, then
/// duplicate steps, then the UUID.
fn check_template(s: Schema, t: &Value) -> Result<()> {
    s.types(t, &[Ty::Obj])?;
    let o = t.as_object().cloned().unwrap_or_default();
    let mut best = Best::new();
    best.at(0, s.required(&o, &["steps", "name"]));
    best.at(
        0,
        s.no_extra(&o, &["description", "extra", "name", "steps", "uuid"]),
    );
    if let Some(v) = o.get("description") {
        best.ty(1, s.types(v, &[Ty::Str, Ty::Null]));
        best.at(1, s.max_len(v, 255));
    }
    if let Some(v) = o.get("extra") {
        best.ty(1, s.types(v, &[Ty::Obj, Ty::Null]));
    }
    if let Some(v) = o.get("name") {
        best.ty(1, s.types(v, &[Ty::Str]));
        best.at(1, s.non_empty(v));
        best.at(1, s.max_len(v, 255));
        best.any_of(1, s.trait_any_of(v));
    }
    if let Some(v) = o.get("steps") {
        best.ty(1, s.types(v, &[Ty::Arr]));
        for step in v.as_array().into_iter().flatten() {
            check_step(s, step, 2, &mut best);
        }
        best.at(1, s.non_empty(v));
    }
    if let Some(v) = o.get("uuid") {
        best.ty(1, s.types(v, &[Ty::Str, Ty::Null]));
    }
    best.finish()?;
    let steps = o
        .get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut dups: Vec<String> = Vec::new();
    for step in &steps {
        let key = (
            step["interface"].as_str().unwrap_or_default().to_owned(),
            step["step"].as_str().unwrap_or_default().to_owned(),
        );
        if seen.contains(&key) {
            let d = format!("interface: {}, step: {}", key.0, key.1);
            if !dups.contains(&d) {
                dups.push(d);
            }
        } else {
            seen.push(key);
        }
    }
    if !dups.is_empty() {
        return Err(Error::invalid(format!(
            "Deploy template invalid: Duplicate deploy steps. A template cannot have multiple \
             deploy steps with the same interface and step. Duplicates: {}.",
            dups.join("; ")
        )));
    }
    if let Some(u) = o.get("uuid").and_then(Value::as_str)
        && !common::is_uuid_like(u)
    {
        return Err(Error::invalid(format!("Expected UUID for uuid: {u}")));
    }
    Ok(())
}

/// Steps of a checked template.
fn steps_of(t: &Map<String, Value>) -> Vec<Step> {
    t.get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| Step {
            interface: s["interface"].as_str().unwrap_or_default().to_owned(),
            step: s["step"].as_str().unwrap_or_default().to_owned(),
            args: s.get("args").cloned().unwrap_or_else(|| json!({})),
            priority: match &s["priority"] {
                Value::String(p) => p.parse().unwrap_or(i32::MAX),
                other => other
                    .as_i64()
                    .map(|p| p.min(i32::MAX as i64) as i32)
                    .unwrap_or(0),
            },
        })
        .collect()
}

fn extra_of(t: &Map<String, Value>) -> Value {
    match t.get("extra") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    }
}

#[utoipa::path(post, path = "/v1/deploy_templates", tag = "Deploy templates", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "name (a trait: CUSTOM_... or a standard trait), steps (interface, step, args, priority; at least one, no interface and step twice), uuid, extra"), responses((status = 201, description = "Created"), (status = 400, description = "Invalid template", body = ErrorBody), (status = 405, description = "Before 1.55", body = ErrorBody), (status = 409, description = "Name or UUID taken", body = ErrorBody)))]
pub async fn create(state: State, ctx: Ctx, body: web::Bytes) -> Reply {
    gate(&ctx, true)?;
    let t = common::parse_value(&body)?;
    check_template(Schema::of("template"), &t)?;
    let o = t.as_object().cloned().unwrap_or_default();
    let uuid = o
        .get("uuid")
        .and_then(Value::as_str)
        .and_then(common::canonical_uuid)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let row = TemplateRow {
        id: 0,
        uuid,
        name: o["name"].as_str().unwrap_or_default().to_owned(),
        extra: extra_of(&o),
        created_at: chrono::Utc::now(),
        updated_at: None,
    };
    let saved = deploy_templates::insert(&state.db, row, steps_of(&o)).await?;
    tracing::info!(template = %saved.row.uuid, name = %saved.row.name, "deploy template created");
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/deploy_templates/{}", ctx.base, saved.row.uuid),
        ))
        .json(render(&ctx, &saved, None)?))
}

/// The template as Ironic's patch sees it.
fn as_dict(t: &Template) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.row.id));
    m.insert("uuid".into(), json!(t.row.uuid));
    m.insert("name".into(), json!(t.row.name));
    m.insert(
        "steps".into(),
        Value::Array(
            t.steps
                .iter()
                .map(|s| {
                    json!({"interface": s.interface, "step": s.step, "args": s.args,
                        "priority": s.priority})
                })
                .collect(),
        ),
    );
    m.insert("extra".into(), t.row.extra.clone());
    m.insert("created_at".into(), common::ts(&t.row.created_at));
    m.insert("updated_at".into(), common::ts_opt(&t.row.updated_at));
    m
}

#[utoipa::path(patch, path = "/v1/deploy_templates/{template}", tag = "Deploy templates", params(super::openapi::VersionHeaders, ("template" = String, Path, description = "Template UUID or name")), request_body(content = Vec<serde_json::Value>, description = "RFC 6902 patch of name, steps and extra"), responses((status = 200, description = "The updated template"), (status = 400, description = "Invalid patch or resulting template", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 405, description = "Before 1.55", body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody)))]
pub async fn update(state: State, ctx: Ctx, path: web::Path<String>, body: web::Bytes) -> Reply {
    gate(&ctx, true)?;
    ident_arg(&path)?;
    let ops = checks::patch_ops(&body, PatchSchema::ARGS)?;
    checks::patch_allowed(&ops, PATCHABLE)?;
    let mut t = deploy_templates::get(&state.db, &path).await?;
    let mut patched = checks::apply_patch(as_dict(&t), &ops)?;
    let s = Schema::of("patch");
    // Each step is checked on its own first, without the keys the step schema lacks.
    if let Some(Value::Array(steps)) = patched.get_mut("steps") {
        for step in steps.iter_mut() {
            if let Value::Object(m) = step {
                m.retain(|k, _| ["args", "interface", "priority", "step"].contains(&k.as_str()));
            }
            let mut best = Best::new();
            check_step(s, step, 0, &mut best);
            best.finish()?;
        }
    }
    patched.retain(|k, _| ["description", "extra", "name", "steps", "uuid"].contains(&k.as_str()));
    check_template(s, &Value::Object(patched.clone()))?;
    t.row.name = patched["name"].as_str().unwrap_or_default().to_owned();
    t.row.extra = extra_of(&patched);
    t.steps = steps_of(&patched);
    deploy_templates::update(&state.db, &mut t).await?;
    tracing::info!(template = %t.row.uuid, "deploy template updated");
    Ok(HttpResponse::Ok().json(render(&ctx, &t, None)?))
}

#[utoipa::path(delete, path = "/v1/deploy_templates/{template}", tag = "Deploy templates", params(super::openapi::VersionHeaders, ("template" = String, Path, description = "Template UUID or name")), responses((status = 204, description = "Deleted with its steps"), (status = 400, description = "Invalid identifier", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 405, description = "Before 1.55", body = ErrorBody)))]
pub async fn delete(state: State, ctx: Ctx, path: web::Path<String>) -> Reply {
    gate(&ctx, true)?;
    ident_arg(&path)?;
    let t = deploy_templates::get(&state.db, &path).await?;
    deploy_templates::delete(&state.db, t.row.id).await?;
    tracing::info!(template = %t.row.uuid, "deploy template deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Methods the resource does not serve: before 1.55 the resource's own refusal.
async fn other(ctx: Ctx) -> Reply {
    gate(&ctx, true)?;
    Ok(super::error::method_not_allowed().await)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::route("/v1/deploy_templates")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(other)),
    )
    .service(
        super::route("/v1/deploy_templates/{template}")
            .route(web::get().to(show))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(other)),
    );
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, create, update, delete),
    tags((name = "Deploy templates", description = "Named sets of deploy steps, chosen by an instance trait (1.55)."))
)]
pub struct Doc;
