//! JSON patch (RFC 6902) as Ironic applies it to a resource: only `add`, `replace` and
//! `remove`; one operation at a time, so that an error names the operation; `add` on a
//! root attribute replaces it and `remove` of a root attribute resets it to its default.
//! Which root attributes a client may touch is the caller's decision (`check`).

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Kind of a patch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One validated patch operation.
#[derive(Debug, Clone)]
pub struct Op {
    pub kind: OpKind,
    /// The path as given (`/extra/foo`).
    pub path: String,
    /// The first path segment, unescaped (`extra`).
    pub root: String,
    /// Does the path name the root attribute itself (`/extra`, not `/extra/foo`)?
    pub top_level: bool,
    /// The value of `add` and `replace`.
    pub value: Option<Value>,
    /// The operation as the client sent it.
    pub raw: Value,
}

impl Op {
    /// Removes the root attribute itself.
    pub fn removes_root(&self) -> bool {
        self.top_level && self.kind == OpKind::Remove
    }
}

/// Checks the shape of one operation.
pub fn parse_op(op: &Value) -> Result<Op> {
    let o = op
        .as_object()
        .ok_or_else(|| Error::invalid(format!("Invalid patch operation {op}.")))?;
    let kind = o.get("op").and_then(Value::as_str).unwrap_or("");
    let path = o.get("path").and_then(Value::as_str).ok_or_else(|| {
        Error::invalid(format!(
            "Invalid patch operation {op}: a \"path\" is required."
        ))
    })?;
    let kind = match kind {
        "add" => OpKind::Add,
        "replace" => OpKind::Replace,
        "remove" => OpKind::Remove,
        other => {
            return Err(Error::invalid(format!(
                "Invalid patch operation \"{other}\": only add, replace and remove are supported."
            )));
        }
    };
    if kind != OpKind::Remove && !o.contains_key("value") {
        return Err(Error::invalid(format!(
            "Invalid patch operation {op}: a \"value\" is required."
        )));
    }
    if !path.starts_with('/') || path.len() < 2 {
        return Err(Error::invalid(format!("Invalid patch path \"{path}\".")));
    }
    let rest = &path[1..];
    let root = rest
        .split('/')
        .next()
        .unwrap_or("")
        .replace("~1", "/")
        .replace("~0", "~");
    Ok(Op {
        kind,
        path: path.to_owned(),
        root,
        top_level: !rest.contains('/'),
        value: o.get("value").cloned(),
        raw: op.clone(),
    })
}

/// The operations of a patch document: a non-empty array.
pub fn ops_of(patch: &Value) -> Result<&Vec<Value>> {
    patch
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::invalid("The patch must be a non-empty JSON array of operations."))
}

/// Applies `patch` to `doc` (the resource's patchable attributes), one operation at a
/// time. `check` sees each operation before it is applied and may refuse it; `reset`
/// gives the value a removed root attribute goes back to. Returns the operations, in
/// order.
pub fn apply(
    doc: &mut Map<String, Value>,
    patch: &Value,
    mut check: impl FnMut(&Op) -> Result<()>,
    mut reset: impl FnMut(&str) -> Value,
) -> Result<Vec<Op>> {
    let mut done = Vec::new();
    for raw in ops_of(patch)? {
        let op = parse_op(raw)?;
        check(&op)?;
        if op.removes_root() {
            doc.insert(op.root.clone(), reset(&op.root));
        } else {
            let mut one = op.raw.as_object().cloned().unwrap_or_default();
            if op.top_level && op.kind == OpKind::Add {
                // Ironic treats "add" on an existing root attribute as "replace".
                one.insert("op".into(), Value::String("replace".into()));
            }
            let p: json_patch::Patch =
                serde_json::from_value(Value::Array(vec![Value::Object(one)])).map_err(|e| {
                    Error::invalid(format!("Invalid patch operation {}: {e}", op.raw))
                })?;
            let mut target = Value::Object(std::mem::take(doc));
            let applied = json_patch::patch(&mut target, &p);
            *doc = match target {
                Value::Object(m) => m,
                _ => return Err(Error::invalid("The patch replaced the whole resource.")),
            };
            applied
                .map_err(|e| Error::invalid(format!("Unable to apply patch {}: {e}", op.raw)))?;
        }
        done.push(op);
    }
    Ok(done)
}

/// The root attributes a patch touched, each once, in order.
pub fn touched(ops: &[Op]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for op in ops {
        if !out.contains(&op.root) {
            out.push(op.root.clone());
        }
    }
    out
}

/// Ironic's refusal of a path outside a resource's patchable attributes.
pub fn not_patchable(op: &Op, allowed: &[&str]) -> Error {
    Error::invalid(format!(
        "Cannot patch {}. Only the following can be updated: {}",
        op.path,
        allowed.join(", ")
    ))
}

/// Ironic's refusal to remove a mandatory attribute.
pub fn mandatory(root: &str) -> Error {
    Error::invalid(format!(
        "'/{root}' is a mandatory attribute and can not be removed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Map<String, Value> {
        json!({"extra": {"a": 1}, "name": "x", "flag": true})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn applies_add_replace_remove() {
        let mut d = doc();
        let ops = apply(
            &mut d,
            &json!([
                {"op": "add", "path": "/extra/b", "value": 2},
                {"op": "add", "path": "/name", "value": "y"},
                {"op": "remove", "path": "/flag"},
                {"op": "remove", "path": "/extra/a"},
            ]),
            |_| Ok(()),
            |root| {
                if root == "flag" {
                    json!(false)
                } else {
                    Value::Null
                }
            },
        )
        .unwrap();
        assert_eq!(d["extra"], json!({"b": 2}));
        assert_eq!(d["name"], "y");
        assert_eq!(d["flag"], false);
        assert_eq!(touched(&ops), vec!["extra", "name", "flag"]);
    }

    #[test]
    fn refuses_malformed_patches() {
        let cases = [
            json!([]),
            json!({}),
            json!([1]),
            json!([{"op": "move", "path": "/name", "from": "/x"}]),
            json!([{"op": "add", "path": "/name"}]),
            json!([{"op": "add", "value": 1}]),
            json!([{"op": "add", "path": "name", "value": 1}]),
            json!([{"op": "remove", "path": "/extra/missing"}]),
        ];
        for c in cases {
            let mut d = doc();
            assert!(
                apply(&mut d, &c, |_| Ok(()), |_| Value::Null).is_err(),
                "{c}"
            );
        }
    }

    #[test]
    fn check_can_refuse() {
        let mut d = doc();
        let err = apply(
            &mut d,
            &json!([{"op": "replace", "path": "/uuid", "value": "u"}]),
            |op| Err(not_patchable(op, &["extra", "name"])),
            |_| Value::Null,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot patch /uuid. Only the following can be updated: extra, name"
        );
    }
}
