//! Node sub-resources that act on a node through its conductor: `states` (power,
//! provision, console), `validate`, `maintenance`, `management`, `vifs`, `traits` and
//! `bios`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::common::{self, Ctx};
use super::nodes::lookup_for;
use super::openapi::ErrorBody;
use super::version::Feature;
use super::{AppState, resource};
use crate::conductor::states::{ProvisionState, Verb};
use crate::drivers::PowerAction;
use crate::error::{Error, Result};
use crate::rpc::Request;

type State = web::Data<AppState>;
type NodePath = web::Path<String>;

fn accepted(ctx: &Ctx, uuid: &str) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("{}/v1/nodes/{uuid}/states", ctx.base),
        ))
        .finish()
}

fn gate(ctx: &Ctx, feature: Feature) -> Result<()> {
    if ctx.version.has(feature) {
        Ok(())
    } else {
        Err(super::collection::operation_too_new(feature.since()))
    }
}

/// Trait changes below 1.37 answer as Ironic's router does when the traits
/// sub-resource does not exist yet: 405 for PUT, 404 for DELETE.
fn gate_trait_change(ctx: &Ctx, put: bool) -> Result<()> {
    if ctx.version.has(Feature::Traits) {
        Ok(())
    } else if put {
        Err(Error::MethodNotAllowed(
            super::error::METHOD_NOT_ALLOWED.into(),
        ))
    } else {
        ctx.require(Feature::Traits)
    }
}

/// Has the node's conductor write `changes` to it, under the node's reservation.
async fn update_node(
    state: &AppState,
    n: &crate::db::nodes::Node,
    changes: Map<String, Value>,
) -> Result<()> {
    state
        .rpc
        .call(Request::UpdateNode {
            node: n.uuid.clone(),
            changes,
            base: Map::new(),
        })
        .await?;
    Ok(())
}

/// Rejects body keys outside `allowed`, like Ironic's request schemas.
fn only_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(format!(
            "Schema error for {what}: Additional properties are not allowed ('{k}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

#[utoipa::path(get, path = "/v1/nodes/{node}/states", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "Power, provision and console state"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn states(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:get_states").await?;
    let mut out = Map::new();
    out.insert("console_enabled".into(), json!(n.console_enabled));
    out.insert("last_error".into(), json!(n.last_error));
    out.insert("power_state".into(), json!(n.power_state));
    out.insert(
        "provision_state".into(),
        super::node_view::shown_provision_state(&n.provision_state, ctx.version),
    );
    out.insert("target_power_state".into(), json!(n.target_power_state));
    out.insert(
        "target_provision_state".into(),
        json!(n.target_provision_state),
    );
    out.insert(
        "provision_updated_at".into(),
        common::ts_opt(&n.provision_updated_at),
    );
    if ctx.version.has(Feature::RaidConfig) {
        out.insert("raid_config".into(), n.raid_config.clone());
        out.insert("target_raid_config".into(), n.target_raid_config.clone());
    }
    Ok(HttpResponse::Ok().json(Value::Object(out)))
}

#[utoipa::path(put, path = "/v1/nodes/{node}/states/power", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "target: power on, power off, rebooting, soft power off or soft rebooting; timeout in seconds (soft actions and timeout from 1.27)"), responses((status = 202, description = "Accepted; poll the node states"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn set_power(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let obj = common::parse_object(&body)?;
    only_keys(&obj, &["target", "timeout"], "power state")?;
    let target = obj.get("target").and_then(Value::as_str).ok_or_else(|| {
        Error::invalid("Schema error for power state: 'target' is a required property")
    })?;
    let action = PowerAction::parse(target)
        .ok_or_else(|| Error::invalid(format!("Invalid power state target \"{target}\".")))?;
    if action.is_soft() {
        gate(&ctx, Feature::SoftPower)?;
    }
    let timeout = match obj.get("timeout") {
        None | Some(Value::Null) => None,
        Some(t) => {
            gate(&ctx, Feature::SoftPower)?;
            match t.as_u64() {
                Some(v) if v > 0 => Some(v),
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid timeout value {t}: it must be a positive integer."
                    )));
                }
            }
        }
    };
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_power_state").await?;
    state
        .rpc
        .call(Request::ChangePowerState {
            node: n.uuid.clone(),
            action,
            timeout,
        })
        .await?;
    Ok(accepted(&ctx, &n.uuid))
}

#[utoipa::path(put, path = "/v1/nodes/{node}/states/provision", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "target: active, deleted, rebuild, manage (1.4), provide (1.4), inspect (1.6), abort (1.13), clean (1.15, with clean_steps), adopt (1.17), rescue and unrescue (1.38, rescue with rescue_password); configdrive with active or rebuild; keep_disk (m2: true or a volume name) with deleted keeps the node's disk as a volume"), responses((status = 202, description = "Accepted; the node moves to the transient state"), (status = 400, description = "Illegal transition or invalid input; nothing changed", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Verb needs a newer microversion", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn set_provision(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let obj = common::parse_object(&body)?;
    only_keys(
        &obj,
        &[
            "target",
            "configdrive",
            "clean_steps",
            "rescue_password",
            "deploy_steps",
            "disable_ramdisk",
            "keep_disk",
        ],
        "provision state",
    )?;
    let target = obj.get("target").and_then(Value::as_str).ok_or_else(|| {
        Error::invalid("Schema error for provision state: 'target' is a required property")
    })?;
    let verb = Verb::parse(target).ok_or_else(|| {
        Error::invalid(format!(
            "\"{target}\" is not a valid provision state target."
        ))
    })?;
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_provision_state").await?;
    let current: ProvisionState = n
        .provision_state
        .parse()
        .map_err(|e| Error::Internal(format!("node {}: {e}", n.uuid)))?;
    let (_, min) = verb.min_version_in(current);
    if !ctx.version.at_least(min) {
        return Err(Error::NotAcceptable(format!(
            "The provision state target \"{target}\" requires API version 1.{min} or later."
        )));
    }
    let mut args = Map::new();
    if let Some(cd) = obj.get("configdrive").filter(|v| !v.is_null()) {
        let deploying = matches!(verb, Verb::Active | Verb::Deploy);
        let rebuilding = verb == Verb::Rebuild && ctx.version.has(Feature::RebuildConfigdrive);
        if !deploying && !rebuilding {
            return Err(Error::invalid(
                "Adding a config drive is only supported when setting provision state to active or rebuild",
            ));
        }
        match cd {
            Value::String(_) => {}
            Value::Object(m) => {
                if !ctx.version.has(Feature::ConfigdriveDict) {
                    return Err(Error::invalid(
                        "A config drive given as a JSON object requires API version 1.56 or later.",
                    ));
                }
                only_keys(
                    m,
                    &["meta_data", "network_data", "user_data", "vendor_data"],
                    "configdrive",
                )?;
            }
            other => {
                return Err(Error::invalid(format!(
                    "Invalid config drive {other}: a string or a JSON object is expected."
                )));
            }
        }
        args.insert("configdrive".into(), cd.clone());
    }
    if let Some(steps) = obj.get("clean_steps").filter(|v| !v.is_null()) {
        if verb != Verb::Clean {
            return Err(Error::invalid(
                "\"clean_steps\" is only valid when setting target provision state to clean",
            ));
        }
        if !steps.is_array() {
            return Err(Error::invalid(
                "\"clean_steps\" must be a list of clean steps.",
            ));
        }
        args.insert("clean_steps".into(), steps.clone());
    } else if verb == Verb::Clean {
        return Err(Error::invalid(
            "\"clean_steps\" is required when setting target provision state to clean",
        ));
    }
    if let Some(pw) = obj.get("rescue_password").filter(|v| !v.is_null()) {
        if verb != Verb::Rescue {
            return Err(Error::invalid(
                "\"rescue_password\" is only valid when setting target provision state to rescue",
            ));
        }
        args.insert("rescue_password".into(), pw.clone());
    }
    // m2's extension: an undeploy that keeps the node's disk as a volume (`true`, or
    // the volume's name).
    match obj.get("keep_disk") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(keep @ (Value::Bool(true) | Value::String(_))) => {
            if !matches!(verb, Verb::Deleted | Verb::Undeploy) {
                return Err(Error::invalid(
                    "\"keep_disk\" is only valid when setting target provision state to deleted",
                ));
            }
            if let Value::String(name) = keep
                && (name.trim().is_empty() || name.len() > 255 || common::is_uuid_like(name))
            {
                return Err(Error::invalid(format!(
                    "Invalid keep_disk \"{name}\": a volume name (1 to 255 characters, not a UUID) or true is expected."
                )));
            }
            args.insert("keep_disk".into(), keep.clone());
        }
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid keep_disk {other}: true or a volume name is expected."
            )));
        }
    }
    for late in ["deploy_steps", "disable_ramdisk"] {
        if obj.contains_key(late) {
            return Err(Error::NotAcceptable(format!(
                "\"{late}\" requires a newer API version than this service provides."
            )));
        }
    }
    state
        .rpc
        .call(Request::Provision {
            node: n.uuid.clone(),
            verb: verb.as_str().to_owned(),
            args,
        })
        .await?;
    Ok(accepted(&ctx, &n.uuid))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/states/console", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "console_enabled and console_info"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn get_console(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:get_console").await?;
    let info = state.rpc.call(Request::GetConsole { node: n.uuid }).await?;
    Ok(HttpResponse::Ok().json(info))
}

/// `GET /v1/nodes/states/console/{node}`: the console of a node, on the path Ironic's
/// router also accepts (python-ironicclient's tempest client calls it).
#[utoipa::path(get, path = "/v1/nodes/states/console/{node}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "console_enabled and console_info, as GET /v1/nodes/{node}/states/console"), (status = 404, description = "Node not found", body = ErrorBody)))]
pub async fn get_console_alias(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    get_console(state, ctx, path).await
}

#[utoipa::path(put, path = "/v1/nodes/{node}/states/console", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "enabled: true or false"), responses((status = 202, description = "Accepted"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn set_console(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let obj = common::parse_object(&body)?;
    only_keys(&obj, &["enabled"], "console state")?;
    let enabled = match obj.get("enabled") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => common::parse_bool("enabled", s)?,
        _ => {
            return Err(Error::invalid(
                "Schema error for console state: 'enabled' is a required boolean",
            ));
        }
    };
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_console_state").await?;
    state
        .rpc
        .call(Request::SetConsoleMode {
            node: n.uuid.clone(),
            enabled,
        })
        .await?;
    Ok(accepted(&ctx, &n.uuid))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/validate", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "Per interface: result true or false and a reason"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn validate(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:validate").await?;
    let mut result = state.rpc.call(Request::Validate { node: n.uuid }).await?;
    if let Some(m) = result.as_object_mut() {
        m.remove("firmware");
        if !ctx.version.has(Feature::Bios) {
            m.remove("bios");
        }
        if !ctx.version.has(Feature::Rescue) {
            m.remove("rescue");
        }
        if !ctx.version.has(Feature::StorageInterface) {
            m.remove("storage");
        }
    }
    Ok(HttpResponse::Ok().json(result))
}

#[utoipa::path(put, path = "/v1/nodes/{node}/maintenance", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "reason: optional string"), responses((status = 202, description = "Maintenance mode on"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn set_maintenance(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let reason = if body.is_empty() {
        None
    } else {
        let obj = common::parse_object(&body)?;
        only_keys(&obj, &["reason"], "maintenance")?;
        match obj.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "Invalid maintenance reason {other}: a string is expected."
                )));
            }
        }
    };
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_maintenance").await?;
    let mut changes = Map::new();
    changes.insert("maintenance".into(), json!(true));
    changes.insert("maintenance_reason".into(), json!(reason));
    update_node(&state, &n, changes).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[utoipa::path(delete, path = "/v1/nodes/{node}/maintenance", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 202, description = "Maintenance mode off; reason and fault cleared"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn unset_maintenance(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:clear_maintenance").await?;
    let mut changes = Map::new();
    changes.insert("maintenance".into(), json!(false));
    changes.insert("maintenance_reason".into(), Value::Null);
    update_node(&state, &n, changes).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[utoipa::path(get, path = "/v1/nodes/{node}/management/boot_device", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "boot_device and persistent"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn get_boot_device(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:get_boot_device").await?;
    Ok(HttpResponse::Ok().json(
        state
            .rpc
            .call(Request::GetBootDevice { node: n.uuid })
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/management/boot_device/supported", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "supported_boot_devices"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn supported_boot_devices(
    state: State,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:get_boot_device").await?;
    Ok(HttpResponse::Ok().json(
        state
            .rpc
            .call(Request::GetSupportedBootDevices { node: n.uuid })
            .await?,
    ))
}

#[utoipa::path(put, path = "/v1/nodes/{node}/management/boot_device", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "boot_device (pxe, disk, ...) and persistent"), responses((status = 204, description = "Set"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn set_boot_device(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let obj = common::parse_object(&body)?;
    only_keys(&obj, &["boot_device", "persistent"], "boot device")?;
    let device = obj
        .get("boot_device")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::invalid("Schema error for boot device: 'boot_device' is a required property")
        })?
        .to_owned();
    let persistent = match obj.get("persistent") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => common::parse_bool("persistent", s)?,
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid value for persistent: {other}"
            )));
        }
    };
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_boot_device").await?;
    state
        .rpc
        .call(Request::SetBootDevice {
            node: n.uuid,
            device,
            persistent,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/v1/nodes/{node}/management/inject_nmi", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 204, description = "NMI sent (1.29)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn inject_nmi(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    gate(&ctx, Feature::InjectNmi)?;
    if !body.is_empty() {
        let obj = common::parse_object(&body)?;
        only_keys(&obj, &[], "inject_nmi")?;
    }
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:inject_nmi").await?;
    state.rpc.call(Request::InjectNmi { node: n.uuid }).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/v1/nodes/{node}/recover", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "UUID or name of the failed node (active or deploy failed, deployed by the m2 deploy interface)")), request_body(content = serde_json::Value, description = "spare: UUID or name of an available node with the m2 deploy interface (m2's extension: not part of Ironic's API)"), responses((status = 202, description = "Accepted: the failed node is powered off, its target revoked and it is left in maintenance; the spare deploys from its disk"), (status = 400, description = "Invalid input or unsuitable nodes; nothing changed", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 409, description = "A node is locked", body = ErrorBody)))]
pub async fn recover(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let obj = common::parse_object(&body)?;
    only_keys(&obj, &["spare"], "recover")?;
    let spare = match obj.get("spare") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid spare {other}: the UUID or name of a node is expected."
            )));
        }
        None => {
            return Err(Error::invalid(
                "Schema error for recover: 'spare' is a required property",
            ));
        }
    };
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_provision_state").await?;
    let s = lookup_for(&state, &ctx, &spare, "baremetal:node:set_provision_state").await?;
    state
        .rpc
        .call(Request::Recover {
            node: n.uuid.clone(),
            spare: s.uuid.clone(),
        })
        .await?;
    Ok(accepted(&ctx, &s.uuid))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/vifs", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "VIFs attached to the node (1.28)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than the resource", body = ErrorBody)))]
pub async fn list_vifs(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    ctx.require(Feature::Vifs)?;
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:vif:list").await?;
    Ok(HttpResponse::Ok().json(state.rpc.call(Request::VifList { node: n.uuid }).await?))
}

#[utoipa::path(post, path = "/v1/nodes/{node}/vifs", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "id of the VIF, optionally port_uuid or portgroup_uuid"), responses((status = 204, description = "Attached to a free port"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than the resource", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn attach_vif(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    ctx.require(Feature::Vifs)?;
    let obj = common::parse_object(&body)?;
    match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => {}
        _ => {
            return Err(Error::invalid(
                "Schema error for vif: 'id' is a required string property",
            ));
        }
    }
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:vif:attach").await?;
    state
        .rpc
        .call(Request::VifAttach {
            node: n.uuid,
            vif: obj,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/v1/nodes/{node}/vifs/{vif}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)"), ("vif" = String, Path, description = "VIF id")), responses((status = 204, description = "Detached"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than the resource", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn detach_vif(
    state: State,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    ctx.require(Feature::Vifs)?;
    let (node, vif) = path.into_inner();
    let n = lookup_for(&state, &ctx, &node, "baremetal:node:vif:detach").await?;
    state
        .rpc
        .call(Request::VifDetach {
            node: n.uuid,
            vif_id: vif,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Checks a trait name: a standard (upper-case) trait or `CUSTOM_...`.
pub fn check_trait(t: &str) -> Result<()> {
    let ok = !t.is_empty()
        && t.len() <= 255
        && t.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid trait \"{t}\": a trait must be a standard trait or start with CUSTOM_, and \
             consist of upper-case letters, digits and underscores."
        )))
    }
}

/// Ironic's limit on traits per node.
const MAX_TRAITS: usize = 50;

#[utoipa::path(get, path = "/v1/nodes/{node}/traits", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "Traits (1.37)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version not acceptable", body = ErrorBody)))]
pub async fn list_traits(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    gate(&ctx, Feature::Traits)?;
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:traits:list").await?;
    let traits = crate::db::nodes::traits(&state.db, n.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "traits": traits })))
}

#[utoipa::path(put, path = "/v1/nodes/{node}/traits", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "traits: the new list (at most 50)"), responses((status = 204, description = "Replaced"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 405, description = "Version older than 1.37", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn set_traits(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    gate_trait_change(&ctx, true)?;
    let obj = common::parse_object(&body)?;
    only_keys(&obj, &["traits"], "traits")?;
    let list = obj.get("traits").and_then(Value::as_array).ok_or_else(|| {
        Error::invalid("Schema error for traits: 'traits' must be a list of strings")
    })?;
    let mut traits = Vec::new();
    for t in list {
        let t = t
            .as_str()
            .ok_or_else(|| Error::invalid(format!("Invalid trait {t}: a string is expected.")))?;
        check_trait(t)?;
        if !traits.iter().any(|x: &String| x == t) {
            traits.push(t.to_owned());
        }
    }
    if traits.len() > MAX_TRAITS {
        return Err(Error::invalid(format!(
            "A node may have at most {MAX_TRAITS} traits."
        )));
    }
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:traits:set").await?;
    state
        .rpc
        .call(Request::SetTraits {
            node: n.uuid,
            traits,
            replace: true,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/v1/nodes/{node}/traits/{trait}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)"), ("trait" = String, Path, description = "Trait name")), responses((status = 204, description = "Added"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 405, description = "Version older than 1.37", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn add_trait(
    state: State,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    gate_trait_change(&ctx, true)?;
    let (node, t) = path.into_inner();
    check_trait(&t)?;
    let n = lookup_for(&state, &ctx, &node, "baremetal:node:traits:set").await?;
    let current = crate::db::nodes::traits(&state.db, n.id).await?;
    if !current.contains(&t) && current.len() >= MAX_TRAITS {
        return Err(Error::invalid(format!(
            "A node may have at most {MAX_TRAITS} traits."
        )));
    }
    state
        .rpc
        .call(Request::SetTraits {
            node: n.uuid,
            traits: vec![t],
            replace: false,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/v1/nodes/{node}/traits", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 204, description = "All traits removed"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than 1.37", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn remove_traits(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    gate_trait_change(&ctx, false)?;
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:traits:delete").await?;
    state
        .rpc
        .call(Request::RemoveTraits {
            node: n.uuid,
            name: None,
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/v1/nodes/{node}/traits/{trait}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)"), ("trait" = String, Path, description = "Trait name")), responses((status = 204, description = "Removed"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than 1.37", body = ErrorBody), (status = 409, description = "Node locked or conflicting state", body = ErrorBody)))]
pub async fn remove_trait(
    state: State,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    gate_trait_change(&ctx, false)?;
    let (node, t) = path.into_inner();
    let n = lookup_for(&state, &ctx, &node, "baremetal:node:traits:delete").await?;
    state
        .rpc
        .call(Request::RemoveTraits {
            node: n.uuid,
            name: Some(t),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v1/nodes/{node}/bios", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), responses((status = 200, description = "BIOS settings (1.40)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than the resource", body = ErrorBody)))]
pub async fn list_bios(state: State, ctx: Ctx, path: NodePath) -> Result<HttpResponse> {
    ctx.require(Feature::Bios)?;
    lookup_for(&state, &ctx, &path, "baremetal:node:bios:get").await?;
    Ok(HttpResponse::Ok().json(json!({ "bios": [] })))
}

#[utoipa::path(get, path = "/v1/nodes/{node}/bios/{setting}", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)"), ("setting" = String, Path, description = "Setting name")), responses((status = 200, description = "One BIOS setting"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 404, description = "Node not found, or a version older than the resource", body = ErrorBody)))]
pub async fn show_bios(
    state: State,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    ctx.require(Feature::Bios)?;
    let (node, setting) = path.into_inner();
    let n = lookup_for(&state, &ctx, &node, "baremetal:node:bios:get").await?;
    Err(Error::NotFound {
        kind: "BIOS setting".into(),
        id: format!("{setting} for node {}", n.uuid),
    })
}

#[utoipa::path(put, path = "/v1/nodes/{node}/states/raid", tag = "Node management", params(super::openapi::VersionHeaders, ("node" = String, Path, description = "Node UUID or name (names from 1.5)")), request_body(content = serde_json::Value, description = "The target RAID configuration: {\"logical_disks\": [{\"raid_level\", \"size_gb\", ...}]}, or {} for none; applied by the next cleaning"), responses((status = 204, description = "Recorded as the node's target_raid_config"), (status = 400, description = "Invalid configuration, or the node's raid interface does not do RAID", body = ErrorBody), (status = 404, description = "Node not found", body = ErrorBody), (status = 406, description = "Version older than 1.12", body = ErrorBody), (status = 409, description = "Node locked", body = ErrorBody)))]
pub async fn set_raid(
    state: State,
    ctx: Ctx,
    path: NodePath,
    body: web::Bytes,
) -> Result<HttpResponse> {
    gate(&ctx, Feature::RaidConfig)?;
    let obj = common::parse_object(&body)?;
    crate::drivers::raid::check_target(&obj)?;
    let n = lookup_for(&state, &ctx, &path, "baremetal:node:set_raid_state").await?;
    if n.raid_interface == "no-raid" {
        return Err(Error::Unsupported(format!(
            "The raid interface of node {} (no-raid) does not configure RAID; set \
             raid_interface to one that does.",
            n.uuid
        )));
    }
    let mut changes = Map::new();
    changes.insert("target_raid_config".into(), Value::Object(obj));
    update_node(&state, &n, changes).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/nodes/{node}/states").route(web::get().to(states)))
        .service(resource("/v1/nodes/{node}/states/power").route(web::put().to(set_power)))
        .service(resource("/v1/nodes/{node}/states/provision").route(web::put().to(set_provision)))
        .service(resource("/v1/nodes/{node}/states/raid").route(web::put().to(set_raid)))
        .service(
            resource("/v1/nodes/{node}/states/console")
                .route(web::get().to(get_console))
                .route(web::put().to(set_console)),
        )
        .service(
            resource("/v1/nodes/states/console/{node}").route(web::get().to(get_console_alias)),
        )
        .service(resource("/v1/nodes/{node}/validate").route(web::get().to(validate)))
        .service(
            resource("/v1/nodes/{node}/maintenance")
                .route(web::put().to(set_maintenance))
                .route(web::delete().to(unset_maintenance)),
        )
        .service(
            resource("/v1/nodes/{node}/management/boot_device")
                .route(web::get().to(get_boot_device))
                .route(web::put().to(set_boot_device)),
        )
        .service(
            resource("/v1/nodes/{node}/management/boot_device/supported")
                .route(web::get().to(supported_boot_devices)),
        )
        .service(
            resource("/v1/nodes/{node}/management/inject_nmi").route(web::put().to(inject_nmi)),
        )
        .service(resource("/v1/nodes/{node}/recover").route(web::post().to(recover)))
        .service(
            resource("/v1/nodes/{node}/vifs")
                .route(web::get().to(list_vifs))
                .route(web::post().to(attach_vif)),
        )
        .service(resource("/v1/nodes/{node}/vifs/{vif}").route(web::delete().to(detach_vif)))
        .service(
            resource("/v1/nodes/{node}/traits")
                .route(web::get().to(list_traits))
                .route(web::put().to(set_traits))
                .route(web::delete().to(remove_traits)),
        )
        .service(
            resource("/v1/nodes/{node}/traits/{trait}")
                .route(web::put().to(add_trait))
                .route(web::delete().to(remove_trait)),
        )
        .service(resource("/v1/nodes/{node}/bios").route(web::get().to(list_bios)))
        .service(resource("/v1/nodes/{node}/bios/{setting}").route(web::get().to(show_bios)));
}
