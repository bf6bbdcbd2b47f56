//! Target RAID configurations (`PUT /v1/nodes/{node}/states/raid`, API 1.12): their
//! shape, checked before a node records one, and the description of the logical
//! disk properties a raid interface understands
//! (`GET /v1/drivers/{driver}/raid/logical_disk_properties`).

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// RAID levels a logical disk may ask for.
pub const RAID_LEVELS: &[&str] = &["0", "1", "2", "5", "6", "1+0", "5+0", "6+0"];

/// The logical disk properties and what they mean.
const PROPERTIES: &[(&str, &str)] = &[
    (
        "raid_level",
        "RAID level of the logical disk: one of 0, 1, 2, 5, 6, 1+0, 5+0, 6+0. Required.",
    ),
    (
        "size_gb",
        "Size of the logical disk in GiB (an integer), or MAX for all the space left. \
         Required.",
    ),
    (
        "volume_name",
        "Name of the volume, where the controller supports naming. Optional.",
    ),
    (
        "is_root_volume",
        "true when the operating system goes on this logical disk (at most one). Optional.",
    ),
    (
        "share_physical_disks",
        "true when this logical disk may share physical disks with others. Optional.",
    ),
    (
        "disk_type",
        "Kind of physical disks to build it from: hdd or ssd. Optional.",
    ),
    (
        "interface_type",
        "Interface of the physical disks: sata, scsi or sas. Optional.",
    ),
    (
        "number_of_physical_disks",
        "How many physical disks to build it from (at least 1). Optional.",
    ),
    (
        "controller",
        "The RAID controller to create it on. Optional.",
    ),
    (
        "physical_disks",
        "The physical disks to build it from, as the controller names them (a list). \
         Optional.",
    ),
];

/// `{property: description}` for the logical disks of a target RAID configuration.
pub fn logical_disk_properties() -> Value {
    Value::Object(
        PROPERTIES
            .iter()
            .map(|(k, d)| ((*k).to_owned(), json!(d)))
            .collect(),
    )
}

fn bad(msg: String) -> Error {
    Error::invalid(format!("Invalid RAID configuration: {msg}"))
}

fn one_of(disk: usize, key: &str, v: &Value, allowed: &[&str]) -> Result<()> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        _ => Err(bad(format!(
            "logical disk {disk}: {key} {v} is not one of {}",
            allowed.join(", ")
        ))),
    }
}

/// Checks a target RAID configuration: `{}` (none), or `{"logical_disks": [...]}`
/// with at least one disk, each with `raid_level` and `size_gb`, and only the
/// properties of [`logical_disk_properties`], at most one of them the root volume.
pub fn check_target(config: &Map<String, Value>) -> Result<()> {
    if config.is_empty() {
        return Ok(());
    }
    if let Some(k) = config.keys().find(|k| *k != "logical_disks") {
        return Err(bad(format!("unexpected property '{k}'")));
    }
    let disks = config
        .get("logical_disks")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("'logical_disks' must be a non-empty list".into()))?;
    let mut roots = 0;
    for (i, disk) in disks.iter().enumerate() {
        let d = disk
            .as_object()
            .ok_or_else(|| bad(format!("logical disk {i} is not an object")))?;
        for key in ["raid_level", "size_gb"] {
            if !d.contains_key(key) {
                return Err(bad(format!("logical disk {i}: '{key}' is required")));
            }
        }
        for (key, v) in d {
            match key.as_str() {
                "raid_level" => one_of(i, key, v, RAID_LEVELS)?,
                "size_gb" => {
                    let ok = v.as_u64().is_some() || v.as_str() == Some("MAX");
                    if !ok {
                        return Err(bad(format!(
                            "logical disk {i}: size_gb {v} is neither a size in GiB nor MAX"
                        )));
                    }
                }
                "volume_name" | "controller" if !v.is_string() => {
                    return Err(bad(format!("logical disk {i}: {key} must be a string")));
                }
                "is_root_volume" | "share_physical_disks" if !v.is_boolean() => {
                    return Err(bad(format!("logical disk {i}: {key} must be a boolean")));
                }
                "disk_type" => one_of(i, key, v, &["hdd", "ssd"])?,
                "interface_type" => one_of(i, key, v, &["sata", "scsi", "sas"])?,
                "number_of_physical_disks" if v.as_u64().is_none_or(|n| n == 0) => {
                    return Err(bad(format!(
                        "logical disk {i}: number_of_physical_disks must be at least 1"
                    )));
                }
                "physical_disks" if !v.is_array() => {
                    return Err(bad(format!(
                        "logical disk {i}: physical_disks must be a list"
                    )));
                }
                k if PROPERTIES.iter().any(|(p, _)| *p == k) => {}
                other => {
                    return Err(bad(format!(
                        "logical disk {i}: unexpected property '{other}'"
                    )));
                }
            }
        }
        if d.get("is_root_volume") == Some(&Value::Bool(true)) {
            roots += 1;
        }
    }
    if roots > 1 {
        return Err(bad("more than one logical disk is the root volume".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Value) -> Result<()> {
        check_target(v.as_object().unwrap())
    }

    #[test]
    fn accepts_ironic_style_configurations() {
        check(json!({})).unwrap();
        check(json!({"logical_disks": [{"size_gb": 100, "raid_level": "1"}]})).unwrap();
        check(json!({"logical_disks": [
            {"size_gb": "MAX", "raid_level": "5", "is_root_volume": true,
             "disk_type": "ssd", "interface_type": "sas", "number_of_physical_disks": 3,
             "controller": "RAID.Integrated.1-1", "physical_disks": ["d1", "d2", "d3"]},
            {"size_gb": 50, "raid_level": "1+0", "share_physical_disks": true}
        ]}))
        .unwrap();
    }

    #[test]
    fn refuses_malformed_ones() {
        for (v, needle) in [
            (json!({"logical_disks": []}), "non-empty"),
            (json!({"disks": []}), "unexpected property 'disks'"),
            (
                json!({"logical_disks": [{"size_gb": 1}]}),
                "'raid_level' is required",
            ),
            (
                json!({"logical_disks": [{"raid_level": "1"}]}),
                "'size_gb' is required",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1, "raid_level": "3"}]}),
                "raid_level",
            ),
            (
                json!({"logical_disks": [{"size_gb": -1, "raid_level": "1"}]}),
                "size_gb",
            ),
            (
                json!({"logical_disks": [{"size_gb": 1, "raid_level": "1", "colour": 1}]}),
                "unexpected property 'colour'",
            ),
            (
                json!({"logical_disks": [
                    {"size_gb": 1, "raid_level": "1", "is_root_volume": true},
                    {"size_gb": 1, "raid_level": "1", "is_root_volume": true}]}),
                "more than one",
            ),
        ] {
            let e = check(v.clone()).unwrap_err().to_string();
            assert!(e.contains(needle), "{v}: {e}");
        }
    }

    #[test]
    fn describes_every_property() {
        let p = logical_disk_properties();
        assert_eq!(p.as_object().unwrap().len(), PROPERTIES.len());
        assert!(p["size_gb"].as_str().unwrap().contains("MAX"));
    }
}
