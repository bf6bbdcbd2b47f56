//! How a node looks on the wire: which fields a microversion shows, in what order, with
//! secrets masked.

use serde_json::{Map, Value, json};

use super::common::Ctx;
use super::version::ApiVersion;
use crate::db::node_fields;
use crate::db::nodes::Node;

/// Node fields in response order, each with the minor version that introduced it.
/// Computed fields (`traits`, `conductor`, `allocation_uuid`, `chassis_uuid`) are
/// filled from [`Extras`].
pub const NODE_FIELDS: &[(&str, u16)] = &[
    ("uuid", 1),
    ("created_at", 1),
    ("updated_at", 1),
    ("automated_clean", 47),
    ("bios_interface", 40),
    ("boot_interface", 31),
    ("boot_mode", 75),
    ("clean_step", 7),
    ("conductor_group", 46),
    ("console_enabled", 1),
    ("console_interface", 31),
    ("deploy_interface", 31),
    ("deploy_step", 44),
    ("description", 51),
    ("driver", 1),
    ("driver_info", 1),
    ("driver_internal_info", 3),
    ("extra", 1),
    ("fault", 42),
    ("firmware_interface", 86),
    ("inspection_finished_at", 6),
    ("inspection_started_at", 6),
    ("inspect_interface", 31),
    ("instance_info", 1),
    ("instance_uuid", 1),
    ("last_error", 1),
    ("lessee", 65),
    ("maintenance", 1),
    ("maintenance_reason", 1),
    ("management_interface", 31),
    ("name", 5),
    ("network_data", 66),
    ("network_interface", 20),
    ("owner", 50),
    ("power_interface", 31),
    ("power_state", 1),
    ("properties", 1),
    ("protected", 48),
    ("protected_reason", 48),
    ("provision_state", 1),
    ("provision_updated_at", 1),
    ("raid_config", 12),
    ("raid_interface", 31),
    ("rescue_interface", 38),
    ("reservation", 1),
    ("resource_class", 21),
    ("retired", 61),
    ("retired_reason", 61),
    ("secure_boot", 75),
    ("storage_interface", 33),
    ("target_power_state", 1),
    ("target_provision_state", 1),
    ("target_raid_config", 12),
    ("traits", 37),
    ("vendor_interface", 31),
    ("conductor", 49),
    ("allocation_uuid", 52),
    ("chassis_uuid", 1),
];

/// Fields of the short (non-detailed) list form.
const SHORT_FIELDS: &[&str] = &[
    "instance_uuid",
    "maintenance",
    "name",
    "power_state",
    "provision_state",
    "uuid",
];

/// Names of the fields visible at `v` (what `fields=` may ask for).
pub fn visible_fields(v: ApiVersion) -> Vec<&'static str> {
    NODE_FIELDS
        .iter()
        .filter(|(_, since)| v.at_least(*since))
        .map(|(n, _)| *n)
        .collect()
}

/// The minor version that introduced a node field; `None` for unknown names.
pub fn since(field: &str) -> Option<u16> {
    NODE_FIELDS
        .iter()
        .find(|(n, _)| *n == field)
        .map(|(_, since)| *since)
}

/// Is a node field visible at `v`? Unknown names are not.
pub fn is_visible(field: &str, v: ApiVersion) -> bool {
    NODE_FIELDS
        .iter()
        .any(|(n, since)| *n == field && v.at_least(*since))
}

/// Values of the computed fields of a node.
#[derive(Debug, Default, Clone)]
pub struct Extras {
    pub traits: Vec<String>,
    pub conductor: Option<String>,
    pub chassis_uuid: Option<String>,
    pub allocation_uuid: Option<String>,
}

const SECRET_MARKERS: &[&str] = &[
    "password",
    "passwd",
    "pswd",
    "secret",
    "token",
    "configdrive",
    "passphrase",
    "private_key",
    "encryption_key",
    "cephxkey",
    "keyring",
    "chap",
];

/// Is a dictionary key one whose value must never be shown?
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| k.contains(m))
}

/// Replaces secret values in a dictionary (recursively) with `******`.
pub fn mask(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_null() {
                        Value::String("******".into())
                    } else {
                        mask(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        other => other.clone(),
    }
}

/// Which secrets of a node its viewer may see unmasked (Ironic's `show_password`
/// and `show_instance_secrets` rules; neither by default).
#[derive(Debug, Default, Clone, Copy)]
pub struct Reveal {
    /// `driver_info` secrets (BMC passwords).
    pub passwords: bool,
    /// `instance_info` secrets (config drive, image URL) and the node's iSCSI CHAP
    /// credentials in `driver_internal_info`.
    pub instance: bool,
}

/// `instance_info` as shown without `show_instance_secrets`: secrets masked, and
/// the image URL too (it may carry a temporary credential), as Ironic does.
fn mask_instance_info(v: &Value) -> Value {
    let mut v = mask(v);
    if let Some(url) = v.get_mut("image_url")
        && !url.is_null()
    {
        *url = Value::String("******".into());
    }
    v
}

/// A provision state as a version shows it: before 1.2 `available` was no state
/// (`null`), as in Ironic.
pub fn shown_provision_state(state: &str, v: ApiVersion) -> Value {
    if state == "available" && !v.at_least(2) {
        Value::Null
    } else {
        Value::String(state.to_owned())
    }
}

fn field_value(n: &Node, name: &str, extras: &Extras, reveal: Reveal, v: ApiVersion) -> Value {
    let raw = || node_fields::get(n, name).unwrap_or(Value::Null);
    match name {
        "provision_state" => shown_provision_state(&n.provision_state, v),
        "traits" => json!(extras.traits),
        "conductor" => json!(extras.conductor),
        "chassis_uuid" => json!(extras.chassis_uuid),
        "allocation_uuid" => json!(extras.allocation_uuid),
        "driver_info" if reveal.passwords => raw(),
        "instance_info" | "driver_internal_info" if reveal.instance => raw(),
        "instance_info" => mask_instance_info(&raw()),
        "driver_info" | "driver_internal_info" => mask(&raw()),
        _ => raw(),
    }
}

fn sub_link(ctx: &Ctx, uuid: &str, sub: &str) -> Value {
    ctx.links(&format!("nodes/{uuid}/{sub}"))
}

/// Renders one node. `fields` restricts the output (plus links); `short` gives the
/// list form.
pub fn render(
    ctx: &Ctx,
    n: &Node,
    extras: &Extras,
    fields: Option<&[String]>,
    short: bool,
) -> Value {
    let v = ctx.version;
    // One policy target for every check on this node.
    let target = super::access::node_target(n);
    let reveal = ctx.reveal_secrets(&target);
    let mut out = Map::new();
    for (name, since) in NODE_FIELDS {
        if !v.at_least(*since) {
            continue;
        }
        let wanted = match fields {
            Some(f) => f.iter().any(|x| x == name),
            None => !short || SHORT_FIELDS.contains(name),
        };
        if wanted {
            out.insert((*name).to_owned(), field_value(n, name, extras, reveal, v));
        }
    }
    out.insert("links".into(), ctx.links(&format!("nodes/{}", n.uuid)));
    if fields.is_none() && !short {
        out.insert("ports".into(), sub_link(ctx, &n.uuid, "ports"));
        if v.at_least(14) {
            out.insert("states".into(), sub_link(ctx, &n.uuid, "states"));
        }
        if v.at_least(24) {
            out.insert("portgroups".into(), sub_link(ctx, &n.uuid, "portgroups"));
        }
        if v.at_least(32) {
            out.insert("volume".into(), sub_link(ctx, &n.uuid, "volume"));
        }
    }
    ctx.redact_node_fields(&target, &mut out);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_recursively() {
        let v = json!({"ipmi_password": "p", "ipmi_username": "u",
            "nested": {"api_token": "t", "ok": 1}, "redfish_password": null});
        let m = mask(&v);
        assert_eq!(m["ipmi_password"], "******");
        assert_eq!(m["ipmi_username"], "u");
        assert_eq!(m["nested"]["api_token"], "******");
        assert_eq!(m["nested"]["ok"], 1);
        assert!(m["redfish_password"].is_null());
    }

    #[test]
    fn visibility_follows_versions() {
        assert!(!is_visible("name", ApiVersion(4)));
        assert!(is_visible("name", ApiVersion(5)));
        assert!(!is_visible("lessee", ApiVersion(64)));
        assert!(is_visible("lessee", ApiVersion(65)));
        assert!(!is_visible("bogus", ApiVersion::MAX));
        assert!(visible_fields(ApiVersion(1)).contains(&"uuid"));
    }
}
