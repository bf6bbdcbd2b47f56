//! Field-level access to a node row by its wire name: the single place that knows how
//! each API field maps to a column, what type it has, whether a client may write it,
//! and what "remove" resets it to.

use serde_json::{Value, json};

use super::entities::node::Model as Node;
use crate::error::{Error, Result};

/// How a client may treat a field in PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Writable by clients.
    Write,
    /// Maintained by m2 only.
    ReadOnly,
}

/// Every field stored in the node row, with its access.
pub const FIELDS: &[(&str, Access)] = &[
    ("uuid", Access::ReadOnly),
    ("name", Access::Write),
    ("description", Access::Write),
    ("driver", Access::Write),
    ("driver_info", Access::Write),
    ("driver_internal_info", Access::ReadOnly),
    ("properties", Access::Write),
    ("extra", Access::Write),
    ("instance_info", Access::Write),
    ("instance_uuid", Access::Write),
    ("power_state", Access::ReadOnly),
    ("target_power_state", Access::ReadOnly),
    ("provision_state", Access::ReadOnly),
    ("target_provision_state", Access::ReadOnly),
    ("provision_updated_at", Access::ReadOnly),
    ("last_error", Access::ReadOnly),
    ("maintenance", Access::Write),
    ("maintenance_reason", Access::Write),
    ("fault", Access::ReadOnly),
    ("reservation", Access::ReadOnly),
    ("conductor_group", Access::Write),
    ("console_enabled", Access::ReadOnly),
    ("inspection_started_at", Access::ReadOnly),
    ("inspection_finished_at", Access::ReadOnly),
    ("clean_step", Access::ReadOnly),
    ("deploy_step", Access::ReadOnly),
    ("raid_config", Access::ReadOnly),
    ("target_raid_config", Access::ReadOnly),
    ("network_data", Access::Write),
    ("resource_class", Access::Write),
    ("automated_clean", Access::Write),
    ("protected", Access::Write),
    ("protected_reason", Access::Write),
    ("owner", Access::Write),
    ("lessee", Access::Write),
    ("retired", Access::Write),
    ("retired_reason", Access::Write),
    ("boot_mode", Access::ReadOnly),
    ("secure_boot", Access::ReadOnly),
    ("bios_interface", Access::Write),
    ("boot_interface", Access::Write),
    ("console_interface", Access::Write),
    ("deploy_interface", Access::Write),
    ("firmware_interface", Access::Write),
    ("inspect_interface", Access::Write),
    ("management_interface", Access::Write),
    ("network_interface", Access::Write),
    ("power_interface", Access::Write),
    ("raid_interface", Access::Write),
    ("rescue_interface", Access::Write),
    ("storage_interface", Access::Write),
    ("vendor_interface", Access::Write),
    ("created_at", Access::ReadOnly),
    ("updated_at", Access::ReadOnly),
];

/// Access of a stored field, `None` for names the row does not have.
pub fn access(field: &str) -> Option<Access> {
    FIELDS.iter().find(|(n, _)| *n == field).map(|(_, a)| *a)
}

fn ts(t: &Option<chrono::DateTime<chrono::Utc>>) -> Value {
    match t {
        Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()),
        None => Value::Null,
    }
}

/// The value of a stored field, as JSON. `None` for unknown names.
pub fn get(n: &Node, field: &str) -> Option<Value> {
    Some(match field {
        "uuid" => json!(n.uuid),
        "chassis_id" => json!(n.chassis_id),
        "name" => json!(n.name),
        "description" => json!(n.description),
        "driver" => json!(n.driver),
        "driver_info" => n.driver_info.clone(),
        "driver_internal_info" => n.driver_internal_info.clone(),
        "properties" => n.properties.clone(),
        "extra" => n.extra.clone(),
        "instance_info" => n.instance_info.clone(),
        "instance_uuid" => json!(n.instance_uuid),
        "power_state" => json!(n.power_state),
        "target_power_state" => json!(n.target_power_state),
        "provision_state" => json!(n.provision_state),
        "target_provision_state" => json!(n.target_provision_state),
        "provision_updated_at" => ts(&n.provision_updated_at),
        "last_error" => json!(n.last_error),
        "maintenance" => json!(n.maintenance),
        "maintenance_reason" => json!(n.maintenance_reason),
        "fault" => json!(n.fault),
        "reservation" => json!(n.reservation),
        "conductor_group" => json!(n.conductor_group),
        "console_enabled" => json!(n.console_enabled),
        "inspection_started_at" => ts(&n.inspection_started_at),
        "inspection_finished_at" => ts(&n.inspection_finished_at),
        "clean_step" => n.clean_step.clone(),
        "deploy_step" => n.deploy_step.clone(),
        "raid_config" => n.raid_config.clone(),
        "target_raid_config" => n.target_raid_config.clone(),
        "network_data" => n.network_data.clone(),
        "resource_class" => json!(n.resource_class),
        "automated_clean" => json!(n.automated_clean),
        "protected" => json!(n.protected),
        "protected_reason" => json!(n.protected_reason),
        "owner" => json!(n.owner),
        "lessee" => json!(n.lessee),
        "retired" => json!(n.retired),
        "retired_reason" => json!(n.retired_reason),
        "boot_mode" => json!(n.boot_mode),
        "secure_boot" => json!(n.secure_boot),
        "bios_interface" => json!(n.bios_interface),
        "boot_interface" => json!(n.boot_interface),
        "console_interface" => json!(n.console_interface),
        "deploy_interface" => json!(n.deploy_interface),
        "firmware_interface" => json!(n.firmware_interface),
        "inspect_interface" => json!(n.inspect_interface),
        "management_interface" => json!(n.management_interface),
        "network_interface" => json!(n.network_interface),
        "power_interface" => json!(n.power_interface),
        "raid_interface" => json!(n.raid_interface),
        "rescue_interface" => json!(n.rescue_interface),
        "storage_interface" => json!(n.storage_interface),
        "vendor_interface" => json!(n.vendor_interface),
        "created_at" => ts(&Some(n.created_at)),
        "updated_at" => ts(&n.updated_at),
        _ => return None,
    })
}

fn wrong_type(field: &str, expected: &str, v: &Value) -> Error {
    Error::invalid(format!(
        "Invalid value for field \"{field}\": {v} is not {expected}."
    ))
}

fn string(field: &str, v: Value, max: usize) -> Result<String> {
    match v {
        Value::String(s) if s.chars().count() <= max => Ok(s),
        Value::String(s) => Err(Error::invalid(format!(
            "Invalid value for field \"{field}\": the value is {} characters long, at most {max} \
             are allowed.",
            s.chars().count()
        ))),
        other => Err(wrong_type(field, "a string", &other)),
    }
}

fn opt_string(field: &str, v: Value, max: usize) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        other => string(field, other, max).map(Some),
    }
}

fn object(field: &str, v: Value) -> Result<Value> {
    match v {
        Value::Object(_) => Ok(v),
        other => Err(wrong_type(field, "a JSON object", &other)),
    }
}

fn boolean(field: &str, v: Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(b),
        // Ironic accepts string spellings of booleans in PATCH values.
        Value::String(ref s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(wrong_type(field, "a boolean", &v)),
        },
        other => Err(wrong_type(field, "a boolean", &other)),
    }
}

fn opt_boolean(field: &str, v: Value) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        other => boolean(field, other).map(Some),
    }
}

/// Validates a node name: a non-UUID string of URL-safe characters (API ≥ 1.10 rules).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        && uuid::Uuid::try_parse(name).is_err();
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Cannot use \"{name}\" as a node name: it must be a non-UUID string of letters, \
             digits and - . _ ~"
        )))
    }
}

/// Validates a conductor group name and returns its canonical (lower-case) form.
pub fn check_conductor_group(g: &str) -> Result<String> {
    if g.len() <= 255
        && g.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        Ok(g.to_lowercase())
    } else {
        Err(Error::invalid(format!(
            "Invalid conductor group \"{g}\": only letters, digits, '-', '_' and '.' are allowed."
        )))
    }
}

/// Sets a writable stored field from a JSON value, checking its type.
pub fn set(n: &mut Node, field: &str, v: Value) -> Result<()> {
    match field {
        "name" => {
            let name = opt_string(field, v, 255)?;
            if let Some(name) = &name {
                check_name(name)?;
            }
            n.name = name;
        }
        "description" => n.description = opt_string(field, v, 4096)?,
        "driver" => n.driver = string(field, v, 255)?,
        "driver_info" => n.driver_info = object(field, v)?,
        "properties" => n.properties = object(field, v)?,
        "target_raid_config" => n.target_raid_config = object(field, v)?,
        "extra" => n.extra = object(field, v)?,
        "instance_info" => n.instance_info = object(field, v)?,
        "network_data" => n.network_data = object(field, v)?,
        "instance_uuid" => {
            n.instance_uuid = match opt_string(field, v, 36)? {
                None => None,
                Some(s) => Some(
                    uuid::Uuid::try_parse(&s)
                        .map_err(|_| {
                            Error::invalid(format!(
                                "Expected a UUID for instance_uuid but received {s}."
                            ))
                        })?
                        .hyphenated()
                        .to_string(),
                ),
            }
        }
        "chassis_id" => {
            n.chassis_id = match v {
                Value::Null => None,
                Value::Number(ref x) if x.as_i64().is_some() => x.as_i64(),
                other => return Err(wrong_type(field, "a chassis id", &other)),
            }
        }
        "maintenance" => n.maintenance = boolean(field, v)?,
        "maintenance_reason" => n.maintenance_reason = opt_string(field, v, 65535)?,
        "conductor_group" => {
            let g = match v {
                Value::Null => String::new(),
                other => string(field, other, 255)?,
            };
            n.conductor_group = check_conductor_group(&g)?;
        }
        "resource_class" => n.resource_class = opt_string(field, v, 80)?,
        "automated_clean" => n.automated_clean = opt_boolean(field, v)?,
        "protected" => n.protected = boolean(field, v)?,
        "protected_reason" => n.protected_reason = opt_string(field, v, 65535)?,
        "owner" => n.owner = opt_string(field, v, 255)?,
        "lessee" => n.lessee = opt_string(field, v, 255)?,
        "retired" => n.retired = boolean(field, v)?,
        "retired_reason" => n.retired_reason = opt_string(field, v, 65535)?,
        f if f.ends_with("_interface") => {
            let name = string(field, v, 255)?;
            match f {
                "bios_interface" => n.bios_interface = name,
                "boot_interface" => n.boot_interface = name,
                "console_interface" => n.console_interface = name,
                "deploy_interface" => n.deploy_interface = name,
                "firmware_interface" => n.firmware_interface = name,
                "inspect_interface" => n.inspect_interface = name,
                "management_interface" => n.management_interface = name,
                "network_interface" => n.network_interface = name,
                "power_interface" => n.power_interface = name,
                "raid_interface" => n.raid_interface = name,
                "rescue_interface" => n.rescue_interface = name,
                "storage_interface" => n.storage_interface = name,
                "vendor_interface" => n.vendor_interface = name,
                _ => {
                    return Err(Error::invalid(format!("Unknown field \"{field}\".")));
                }
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "'/{other}' is an internal attribute and can not be updated"
            )));
        }
    }
    Ok(())
}

/// What `remove` resets a writable field to; interfaces are reset by the caller to
/// the hardware type's default.
pub fn default_value(field: &str) -> Value {
    match field {
        "driver_info" | "properties" | "extra" | "instance_info" | "network_data" => json!({}),
        "maintenance" | "protected" | "retired" => json!(false),
        "conductor_group" => json!(""),
        _ => Value::Null,
    }
}
