//! Config drives for nodes that boot from a volume: the `configdrive` of a deploy
//! becomes a small disk image that the `m2` deploy interface exports as LUN 2 of the
//! node's target, where cloud-init finds it by its `config-2` label.
//!
//! Two forms are accepted, as Ironic accepts them:
//! - a string: a disk image (ISO 9660 or FAT with the `config-2` label, as Nova
//!   builds it), gzipped or not, base64-encoded; written as it is;
//! - an object (API 1.56) with `meta_data`, `network_data`, `user_data` and
//!   `vendor_data`: m2 builds a FAT image labelled `config-2` holding
//!   `openstack/latest/{meta_data.json,network_data.json,user_data,vendor_data.json}`
//!   (`mkfs.vfat` and `mcopy`, from dosfstools and mtools).

use std::io::Read;
use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};

use crate::db::nodes::Node;
use crate::error::{Error, Result};

/// Label cloud-init looks for.
pub const LABEL: &str = "config-2";
/// Largest decoded config drive accepted, as Ironic's 64 MiB.
const MAX_BYTES: usize = 64 << 20;
/// Size of the FAT image m2 builds, in KiB.
const BUILT_KIB: u64 = 4096;
/// Keys of an object configdrive.
const KEYS: &[&str] = &["meta_data", "network_data", "user_data", "vendor_data"];

/// Checks a configdrive without writing it.
pub fn check(cd: &Value) -> Result<()> {
    match cd {
        Value::Null => Ok(()),
        Value::String(s) => decode(s).map(|_| ()),
        Value::Object(o) => {
            for (k, v) in o {
                if !KEYS.contains(&k.as_str()) {
                    return Err(Error::invalid(format!(
                        "Invalid configdrive key {k}: expected {}.",
                        KEYS.join(", ")
                    )));
                }
                if k != "user_data" && !(v.is_object() || v.is_null()) {
                    return Err(Error::invalid(format!(
                        "configdrive {k} must be an object."
                    )));
                }
            }
            Ok(())
        }
        other => Err(Error::invalid(format!(
            "Invalid configdrive {other}: expected a base64 string or an object."
        ))),
    }
}

/// The disk image of a string configdrive: base64-decoded, then gunzipped when it is
/// gzip data.
fn decode(s: &str) -> Result<Vec<u8>> {
    if s.starts_with("http://") || s.starts_with("https://") {
        return Err(Error::invalid(
            "A configdrive URL is not supported by the m2 deploy interface; pass the \
             configdrive itself (base64) or its contents as an object.",
        ));
    }
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Error::invalid(format!("The configdrive is not valid base64: {e}")))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::invalid(format!("The configdrive is not valid gzip data: {e}")))?;
        if out.len() > MAX_BYTES {
            return Err(Error::invalid("The configdrive is larger than 64 MiB."));
        }
        Ok(out)
    } else if raw.is_empty() {
        Err(Error::invalid("The configdrive is empty."))
    } else {
        Ok(raw)
    }
}

/// The files of an object configdrive, relative to the drive's root.
fn files(o: &serde_json::Map<String, Value>, node: &Node) -> Result<Vec<(String, Vec<u8>)>> {
    let mut meta = o.get("meta_data").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        // cloud-init needs an instance id.
        m.entry("uuid").or_insert_with(|| {
            json!(
                node.instance_uuid
                    .clone()
                    .unwrap_or_else(|| node.uuid.clone())
            )
        });
    }
    let json_bytes = |v: &Value| {
        serde_json::to_vec(v).map_err(|e| Error::Internal(format!("configdrive JSON: {e}")))
    };
    let mut out = vec![(
        "openstack/latest/meta_data.json".to_owned(),
        json_bytes(&meta)?,
    )];
    for (key, file) in [
        ("network_data", "network_data.json"),
        ("vendor_data", "vendor_data.json"),
    ] {
        if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
            out.push((format!("openstack/latest/{file}"), json_bytes(v)?));
        }
    }
    match o.get("user_data") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            out.push(("openstack/latest/user_data".into(), s.clone().into_bytes()))
        }
        Some(other) => out.push(("openstack/latest/user_data".into(), json_bytes(other)?)),
    }
    Ok(out)
}

/// Writes the disk image of `cd` to `path` (a new file).
pub async fn write(cd: &Value, node: &Node, path: &Path) -> Result<()> {
    check(cd)?;
    match cd {
        Value::String(s) => {
            let data = decode(s)?;
            tokio::fs::write(path, data)
                .await
                .map_err(|e| Error::Internal(format!("writing the configdrive: {e}")))
        }
        Value::Object(o) => build_fat(&files(o, node)?, path).await,
        _ => Err(Error::invalid("The configdrive is empty.")),
    }
}

async fn run(cmd: &mut tokio::process::Command, what: &str) -> Result<()> {
    let out = cmd
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Internal(format!("cannot run {what}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Internal(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// A FAT image labelled `config-2` holding `files`.
async fn build_fat(files: &[(String, Vec<u8>)], path: &Path) -> Result<()> {
    let tree = path.with_extension("d");
    for (name, data) in files {
        let f = tree.join(name);
        if let Some(dir) = f.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::Internal(format!("configdrive tree: {e}")))?;
        }
        tokio::fs::write(&f, data)
            .await
            .map_err(|e| Error::Internal(format!("configdrive tree: {e}")))?;
    }
    run(
        tokio::process::Command::new("mkfs.vfat")
            .args(["-C", "-n", LABEL])
            .arg(path)
            .arg(BUILT_KIB.to_string()),
        "mkfs.vfat",
    )
    .await?;
    run(
        tokio::process::Command::new("mcopy")
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-s", "-i"])
            .arg(path)
            .arg(tree.join("openstack"))
            .arg("::"),
        "mcopy",
    )
    .await?;
    let _ = tokio::fs::remove_dir_all(&tree).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz_b64(data: &[u8]) -> String {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap())
    }

    #[test]
    fn strings_decode_gzipped_or_not() {
        assert_eq!(decode(&gz_b64(b"ISO!")).unwrap(), b"ISO!");
        let plain = base64::engine::general_purpose::STANDARD.encode(b"FAT!");
        assert_eq!(decode(&plain).unwrap(), b"FAT!");
        assert!(decode("***").is_err());
        assert!(decode("").is_err());
        assert!(decode("http://example.com/cd.iso").is_err());
    }

    #[test]
    fn objects_are_checked() {
        check(&json!({"meta_data": {"a": 1}, "user_data": "#!/bin/sh"})).unwrap();
        check(&json!({"user_data": {"k": "v"}})).unwrap();
        assert!(check(&json!({"colour": 1})).is_err());
        assert!(check(&json!({"meta_data": "x"})).is_err());
        assert!(check(&json!(5)).is_err());
    }
}
