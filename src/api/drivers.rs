//! `/v1/drivers`: the hardware types served by live conductors, their interfaces and
//! their driver_info properties. Only dynamic drivers (hardware types) exist.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::checks::{self, Fail, Reply};
use super::common::{self, Ctx};
use super::{AppState, resource};
use crate::config::InterfaceKind;
use crate::db::conductors;
use crate::error::{Error, Result};

type State = web::Data<AppState>;

/// The version that added `type`, `detail` and the interface fields.
const DYNAMIC_DRIVERS: u16 = 30;
/// The version that added the `properties` links.
const PROPERTIES_LINKS: u16 = 14;

/// The version that added an interface kind's fields to the driver resource (Ironic
/// hides newer ones).
fn interface_since(kind: InterfaceKind) -> u16 {
    match kind {
        InterfaceKind::Storage => 33,
        InterfaceKind::Rescue => 38,
        InterfaceKind::Bios => 40,
        InterfaceKind::Firmware => 86,
        _ => DYNAMIC_DRIVERS,
    }
}

/// Hardware types registered by live conductors, each with the hostnames serving it.
pub async fn active_hardware_types(state: &AppState) -> Result<BTreeMap<String, Vec<String>>> {
    let timeout = state.config.conductor.heartbeat_timeout;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in conductors::list(&state.db).await? {
        if !conductors::is_alive(&c, timeout) {
            continue;
        }
        let types = c.hardware_types.as_array().cloned().unwrap_or_default();
        for t in types.iter().filter_map(Value::as_str) {
            out.entry(t.to_owned())
                .or_default()
                .push(c.hostname.clone());
        }
    }
    for hosts in out.values_mut() {
        hosts.sort();
        hosts.dedup();
    }
    Ok(out)
}

/// One driver as the negotiated version shows it.
fn render(state: &AppState, ctx: &Ctx, name: &str, hosts: &[String], detail: bool) -> Value {
    let v = ctx.version;
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("hosts".into(), json!(hosts));
    out.insert("links".into(), ctx.links(&format!("drivers/{name}")));
    if v.at_least(PROPERTIES_LINKS) {
        out.insert(
            "properties".into(),
            ctx.links(&format!("drivers/{name}/properties")),
        );
    }
    if v.at_least(DYNAMIC_DRIVERS) {
        out.insert("type".into(), json!("dynamic"));
        if detail {
            let hw = state.registry.hardware_type(name);
            for kind in InterfaceKind::ALL {
                if !v.at_least(interface_since(kind)) {
                    continue;
                }
                let (default, enabled) = match hw {
                    Some(hw) => (
                        state.registry.default_for(&state.config, hw, kind),
                        state.registry.enabled_for(&state.config, hw, kind),
                    ),
                    None => (None, Vec::new()),
                };
                out.insert(
                    format!("default_{}_interface", kind.as_str()),
                    json!(default),
                );
                out.insert(
                    format!("enabled_{}_interfaces", kind.as_str()),
                    json!(enabled),
                );
            }
        }
    }
    Value::Object(out)
}

fn too_old() -> Fail {
    Fail::Fault(
        406,
        format!(
            "Request not acceptable. The minimal required API version should be 1.{DYNAMIC_DRIVERS}"
        ),
    )
}

#[utoipa::path(get, path = "/v1/drivers", tag = "Drivers", params(super::openapi::VersionHeaders, ("type" = Option<String>, Query, description = "dynamic or classic; m2 only has dynamic drivers (hardware types), so classic lists none (1.30)"), ("detail" = Option<bool>, Query, description = "Add the default and enabled implementations of each interface (1.30)")), responses((status = 200, description = "The hardware types that live conductors serve, each with the hosts serving it; type from 1.30"), (status = 400, description = "Invalid type or detail, or detail with fields", body = super::openapi::ErrorBody), (status = 406, description = "type or detail before 1.30, or fields (not served)", body = super::openapi::ErrorBody)))]
async fn list(state: State, ctx: Ctx, req: HttpRequest) -> Reply {
    ctx.authorize("baremetal:driver:get")?;
    let q = checks::query(&req, &["type", "detail", "fields"])?;
    let detail = q
        .get("detail")
        .map(|d| common::parse_bool("detail", d))
        .transpose()?;
    if q.contains_key("fields") && detail == Some(true) {
        return Err(
            Error::invalid("Can not specify ?detail=True and fields in the same request.").into(),
        );
    }
    if (detail.is_some() || q.contains_key("type")) && !ctx.version.at_least(DYNAMIC_DRIVERS) {
        return Err(too_old());
    }
    if q.contains_key("fields") {
        // `fields` on drivers arrived in 1.77, after the newest version m2 serves.
        return Err(checks::not_acceptable());
    }
    let types = match q.get("type").map(String::as_str) {
        None | Some("dynamic") => active_hardware_types(&state).await?,
        Some("classic") => BTreeMap::new(),
        Some(_) => {
            return Err(Error::invalid(
                "\"type\" filter must be one of \"classic\" or \"dynamic\", if specified.",
            )
            .into());
        }
    };
    let detail = detail.unwrap_or(false);
    let drivers: Vec<Value> = types
        .iter()
        .map(|(name, hosts)| render(&state, &ctx, name, hosts, detail))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "drivers": drivers })))
}

#[utoipa::path(get, path = "/v1/drivers/{name}", tag = "Drivers", params(super::openapi::VersionHeaders, ("name" = String, Path, description = "Hardware type, e.g. fake-hardware or ipmi")), responses((status = 200, description = "The hardware type with its hosts; from 1.30 the default and enabled implementation of each interface (storage from 1.33, rescue from 1.38, bios from 1.40)"), (status = 404, description = "No live conductor serves this hardware type", body = super::openapi::ErrorBody), (status = 406, description = "fields (not served)", body = super::openapi::ErrorBody)))]
async fn show(state: State, ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> Reply {
    ctx.authorize("baremetal:driver:get")?;
    let q = checks::query(&req, &["fields"])?;
    if q.contains_key("fields") {
        return Err(checks::not_acceptable());
    }
    let name = path.into_inner();
    let types = active_hardware_types(&state).await?;
    let hosts = types.get(&name).ok_or_else(|| {
        checks::not_found(format!(
            "Could not find the following driver(s) or hardware type(s): {name}."
        ))
    })?;
    Ok(HttpResponse::Ok().json(render(&state, &ctx, &name, hosts, true)))
}

/// A hardware type a live conductor serves, by name; 404 otherwise.
async fn served_hardware_type<'a>(
    state: &'a AppState,
    name: &str,
) -> Result<&'a crate::drivers::HardwareType, Fail> {
    let unknown = || checks::not_found(format!("The driver '{name}' is unknown."));
    if !active_hardware_types(state).await?.contains_key(name) {
        return Err(unknown());
    }
    state.registry.hardware_type(name).ok_or_else(unknown)
}

#[utoipa::path(get, path = "/v1/drivers/{name}/properties", tag = "Drivers", params(super::openapi::VersionHeaders, ("name" = String, Path, description = "Hardware type")), responses((status = 200, description = "The driver_info keys the hardware type's interfaces understand, each with its description"), (status = 400, description = "Unexpected query parameter", body = super::openapi::ErrorBody), (status = 404, description = "Unknown hardware type", body = super::openapi::ErrorBody)))]
async fn properties(state: State, ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> Reply {
    ctx.authorize("baremetal:driver:get_properties")?;
    checks::query(&req, &[])?;
    let name = path.into_inner();
    let hw = served_hardware_type(&state, &name).await?;
    let props = state.registry.properties(&state.config, hw);
    Ok(HttpResponse::Ok().json(props))
}

#[utoipa::path(get, path = "/v1/drivers/{name}/raid/logical_disk_properties", tag = "Drivers", params(super::openapi::VersionHeaders, ("name" = String, Path, description = "Hardware type name")), responses((status = 200, description = "The logical disk properties of a target RAID configuration, each with its description"), (status = 400, description = "The hardware type's raid interface does not do RAID", body = super::openapi::ErrorBody), (status = 404, description = "Unknown driver", body = super::openapi::ErrorBody), (status = 406, description = "Version older than 1.12", body = super::openapi::ErrorBody)))]
async fn raid_logical_disk_properties(
    state: State,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    if !ctx.version.has(crate::api::version::Feature::RaidConfig) {
        return Err(super::collection::operation_too_new(
            crate::api::version::Feature::RaidConfig.since(),
        )
        .into());
    }
    ctx.authorize("baremetal:driver:get_raid_logical_disk_properties")?;
    checks::query(&req, &[])?;
    let name = path.into_inner();
    let hw = served_hardware_type(&state, &name).await?;
    match state
        .registry
        .default_for(&state.config, hw, crate::config::InterfaceKind::Raid)
    {
        Some(raid) if raid != "no-raid" => {
            Ok(HttpResponse::Ok().json(crate::drivers::raid::logical_disk_properties()))
        }
        _ => Err(crate::error::Error::Unsupported(format!(
            "The default raid interface of driver {name} does not configure RAID."
        ))
        .into()),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/drivers").route(web::get().to(list)))
        .service(resource("/v1/drivers/{name}").route(web::get().to(show)))
        .service(resource("/v1/drivers/{name}/properties").route(web::get().to(properties)))
        .service(
            resource("/v1/drivers/{name}/raid/logical_disk_properties")
                .route(web::get().to(raid_logical_disk_properties)),
        );
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, show, properties, raid_logical_disk_properties),
    tags((name = "Drivers", description = "Hardware types served by the live conductors, their interfaces and driver_info properties."))
)]
pub struct Doc;
