//! Request checks in Ironic's own words, shared by the drivers, conductors, allocations,
//! deploy templates and events resources: unexpected query parameters, JSON-schema
//! style body checks (Ironic validates bodies with jsonschema and answers its
//! messages), JSON patches of simple resources, and replies whose message or body form
//! is not one of [`Error`]'s.

use std::collections::HashMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value};

use super::common::{self, Ctx};
use super::error::{fault_body, http_body};
use crate::error::Error;

/// A failed request: an [`Error`], or a reply with Ironic's exact message and body form.
#[derive(Debug)]
pub enum Fail {
    /// The usual error classes.
    Core(Error),
    /// `faultcode/faultstring` body with any status and message.
    Fault(u16, String),
    /// `code/title/description` body (what Ironic's routing answers).
    Http(u16, String),
}

/// Handler result of these resources.
pub type Reply = std::result::Result<HttpResponse, Fail>;

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Core(e) => e.fmt(f),
            Fail::Fault(_, m) | Fail::Http(_, m) => f.write_str(m),
        }
    }
}

impl ResponseError for Fail {
    fn status_code(&self) -> StatusCode {
        match self {
            Fail::Core(e) => e.status_code(),
            Fail::Fault(s, _) | Fail::Http(s, _) => {
                StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let body = match self {
            Fail::Core(e) => return e.error_response(),
            Fail::Fault(_, m) => fault_body(status.as_u16(), m),
            Fail::Http(_, m) => http_body(status, m),
        };
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), error = %self, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), error = %self, "request refused");
        }
        HttpResponse::build(status)
            .content_type("application/json")
            .body(body)
    }
}

/// 404 with Ironic's own message.
pub fn not_found(msg: impl Into<String>) -> Fail {
    Fail::Fault(404, msg.into())
}

/// 406 as Ironic answers a parameter that needs a newer version.
pub fn not_acceptable() -> Fail {
    Fail::Fault(406, "Request not acceptable.".into())
}

/// What a resource missing from the negotiated version answers: 404 for reads, 405
/// for writes, with `msg`.
pub fn require(ctx: &Ctx, minor: u16, write: bool, msg: &str) -> Result<(), Fail> {
    if ctx.version.at_least(minor) {
        Ok(())
    } else if write {
        Err(Fail::Fault(405, msg.into()))
    } else {
        Err(Fail::Fault(404, msg.into()))
    }
}

/// The query string as a map (a malformed one is a 400), refusing parameters the
/// resource does not take as Ironic does.
pub fn query(
    req: &actix_web::HttpRequest,
    allowed: &[&str],
) -> Result<HashMap<String, String>, Fail> {
    let q = super::nodes::query(req)?;
    let mut extra: Vec<&str> = q
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        return Err(Error::invalid(format!("Unexpected arguments: {}", extra.join(", "))).into());
    }
    Ok(q)
}

/// Python's `repr` of a JSON value, as jsonschema messages print instances.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// JSON-schema type names as jsonschema spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Obj,
    Arr,
    Int,
    Bool,
    Null,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Obj => "object",
            Ty::Arr => "array",
            Ty::Int => "integer",
            Ty::Bool => "boolean",
            Ty::Null => "null",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match self {
            Ty::Str => v.is_string(),
            Ty::Obj => v.is_object(),
            Ty::Arr => v.is_array(),
            Ty::Int => v.is_i64() || v.is_u64(),
            Ty::Bool => v.is_boolean(),
            Ty::Null => v.is_null(),
        }
    }
}

/// Builds `Schema error[ for <what>]: <message>` errors.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// `Some("template")` gives "Schema error for template: ..."; `None` gives
    /// "Schema error: ...".
    pub subject: Option<&'static str>,
}

impl Schema {
    /// Errors prefixed "Schema error: ".
    pub const PLAIN: Schema = Schema { subject: None };

    /// Errors prefixed "Schema error for `subject`: ".
    pub const fn of(subject: &'static str) -> Schema {
        Schema {
            subject: Some(subject),
        }
    }

    /// An error with jsonschema's `message`.
    pub fn err(&self, message: impl fmt::Display) -> Error {
        match self.subject {
            Some(s) => Error::invalid(format!("Schema error for {s}: {message}")),
            None => Error::invalid(format!("Schema error: {message}")),
        }
    }

    /// `type` keyword.
    pub fn types(&self, v: &Value, tys: &[Ty]) -> Result<(), Error> {
        if tys.iter().any(|t| t.matches(v)) {
            return Ok(());
        }
        let names: Vec<String> = tys.iter().map(|t| format!("'{}'", t.name())).collect();
        Err(self.err(format!(
            "{} is not of type {}",
            py_repr(v),
            names.join(", ")
        )))
    }

    /// `additionalProperties: false`.
    pub fn no_extra(&self, obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), Error> {
        let mut names: Vec<&String> = obj
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        names.sort();
        let extra: Vec<String> = names.into_iter().map(|k| py_str(k)).collect();
        match extra.len() {
            0 => Ok(()),
            1 => Err(self.err(format!(
                "Additional properties are not allowed ({} was unexpected)",
                extra[0]
            ))),
            _ => Err(self.err(format!(
                "Additional properties are not allowed ({} were unexpected)",
                extra.join(", ")
            ))),
        }
    }

    /// `required`.
    pub fn required(&self, obj: &Map<String, Value>, names: &[&str]) -> Result<(), Error> {
        match names.iter().find(|n| !obj.contains_key(**n)) {
            Some(n) => Err(self.err(format!("{} is a required property", py_str(n)))),
            None => Ok(()),
        }
    }

    /// `enum` over strings.
    pub fn one_of(&self, v: &Value, options: &[&str]) -> Result<(), Error> {
        if v.as_str().is_some_and(|s| options.contains(&s)) {
            return Ok(());
        }
        let list: Vec<String> = options.iter().map(|o| py_str(o)).collect();
        Err(self.err(format!(
            "{} is not one of [{}]",
            py_repr(v),
            list.join(", ")
        )))
    }

    /// `minLength: 1` / `minItems: 1`.
    pub fn non_empty(&self, v: &Value) -> Result<(), Error> {
        let empty = match v {
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if empty {
            Err(self.err(format!("{} should be non-empty", py_repr(v))))
        } else {
            Ok(())
        }
    }

    /// `maxLength`.
    pub fn max_len(&self, v: &Value, max: usize) -> Result<(), Error> {
        match v.as_str() {
            Some(s) if s.chars().count() > max => {
                Err(self.err(format!("{} is too long", py_repr(v))))
            }
            _ => Ok(()),
        }
    }

    /// `format` of a string (other types pass, as in jsonschema).
    pub fn format(&self, v: &Value, format: &str, ok: fn(&str) -> bool) -> Result<(), Error> {
        match v.as_str() {
            Some(s) if !ok(s) => Err(self.err(format!("{} is not a '{format}'", py_repr(v)))),
            _ => Ok(()),
        }
    }

    /// `pattern` of a string (other types pass, as in jsonschema); `shown` is the
    /// pattern as the message prints it.
    pub fn pattern(&self, v: &Value, shown: &str, ok: fn(&str) -> bool) -> Result<(), Error> {
        match v.as_str() {
            Some(s) if !ok(s) => {
                Err(self.err(format!("{} does not match {}", py_repr(v), py_str(shown))))
            }
            _ => Ok(()),
        }
    }

    /// `minimum` of an integer (other types pass).
    pub fn minimum(&self, v: &Value, min: i64) -> Result<(), Error> {
        match v.as_i64() {
            Some(n) if n < min => {
                Err(self.err(format!("{} is less than the minimum of {min}", py_repr(v))))
            }
            _ => Ok(()),
        }
    }

    /// A trait name: `CUSTOM_` plus upper-case letters, digits and underscores, or a
    /// standard trait (checked by its os-traits namespace).
    pub fn trait_name(&self, v: &Value) -> Result<(), Error> {
        self.types(v, &[Ty::Str])?;
        self.non_empty(v)?;
        self.max_len(v, 255)?;
        self.trait_any_of(v)
    }

    /// The `anyOf` part of a trait name's schema alone (custom pattern or standard name).
    pub fn trait_any_of(&self, v: &Value) -> Result<(), Error> {
        let Some(s) = v.as_str() else { return Ok(()) };
        if is_custom_trait(s) || is_standard_trait(s) {
            Ok(())
        } else {
            Err(self.err(format!(
                "{r} is not valid under any of the given schemas. Possible root cause: {r} \
                 does not match '^CUSTOM_[A-Z0-9_]+$'",
                r = py_repr(v)
            )))
        }
    }

    /// `{"anyOf": [uuid, name]}` (a node identifier). The root cause jsonschema names is
    /// the first alternative's complaint.
    pub fn uuid_or_name(&self, v: &Value) -> Result<(), Error> {
        let ok = v
            .as_str()
            .is_some_and(|s| common::is_uuid_like(s) || is_logical_name(s));
        if ok {
            return Ok(());
        }
        let cause = if v.is_string() {
            format!("{} is not a 'uuid'", py_repr(v))
        } else {
            format!("{} is not of type 'string'", py_repr(v))
        };
        Err(self.err(format!(
            "{} is not valid under any of the given schemas. Possible root cause: {cause}",
            py_repr(v)
        )))
    }
}

/// How jsonschema ranks one error against another when it reports only the best one:
/// shallower errors first, then errors of keywords other than `anyOf`/`oneOf`, then
/// errors whose instance is not of the schema's type (or whose schema names no type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank(std::cmp::Reverse<usize>, bool, bool);

/// Collects the errors of a document checked keyword by keyword, in the order
/// jsonschema visits them, and keeps the one it would report.
#[derive(Debug, Default)]
pub struct Best {
    found: Option<(Rank, Error)>,
}

impl Best {
    pub fn new() -> Best {
        Best::default()
    }

    fn keep(&mut self, rank: Rank, r: Result<(), Error>) -> &mut Self {
        if let Err(e) = r
            && self.found.as_ref().is_none_or(|(best, _)| rank > *best)
        {
            self.found = Some((rank, e));
        }
        self
    }

    /// A keyword at `depth` (0 for the document) whose instance has the schema's type.
    pub fn at(&mut self, depth: usize, r: Result<(), Error>) -> &mut Self {
        self.keep(Rank(std::cmp::Reverse(depth), true, false), r)
    }

    /// A `type` keyword, or an `enum` in a schema that names no type.
    pub fn ty(&mut self, depth: usize, r: Result<(), Error>) -> &mut Self {
        self.keep(Rank(std::cmp::Reverse(depth), true, true), r)
    }

    /// An `anyOf` keyword.
    pub fn any_of(&mut self, depth: usize, r: Result<(), Error>) -> &mut Self {
        self.keep(Rank(std::cmp::Reverse(depth), false, false), r)
    }

    /// The error jsonschema reports, if any.
    pub fn finish(&mut self) -> Result<(), Error> {
        match self.found.take() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }
}

/// `^CUSTOM_[A-Z0-9_]+$`.
pub fn is_custom_trait(s: &str) -> bool {
    s.strip_prefix("CUSTOM_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// Does `s` look like a standard (os-traits) trait: one of its namespaces, then
/// upper-case letters, digits and underscores?
pub fn is_standard_trait(s: &str) -> bool {
    const NAMESPACES: &[&str] = &["COMPUTE_", "HW_", "MISC_", "OWNER_", "STORAGE_"];
    NAMESPACES.iter().any(|ns| {
        s.strip_prefix(ns).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
    })
}

/// Ironic's logical name: 1 to 255 of letters, digits and `-._~`.
pub fn is_logical_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// A MAC address as oslo's `is_valid_mac` accepts it: six colon-separated hex pairs.
pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A comma-separated query list as Ironic reads it: trimmed, lower-cased, without
/// empty items or repeats, in the caller's order.
pub fn string_list(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in raw.split(',') {
        let item = item.trim().to_lowercase();
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The `fields` query parameter of resources that check it against a fixed list
/// (Ironic's query schema), keeping the caller's order.
pub fn fields(raw: Option<&String>, valid: &[&str]) -> Result<Option<Vec<String>>, Error> {
    let Some(raw) = raw else { return Ok(None) };
    let list = string_list(raw);
    for f in &list {
        Schema::PLAIN.one_of(&Value::String(f.clone()), valid)?;
    }
    Ok(Some(list))
}

/// An integer query parameter (`limit`): `Expected an integer for limit: x` otherwise.
pub fn integer(name: &str, raw: Option<&String>) -> Result<Option<i64>, Error> {
    raw.map(|s| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| Error::invalid(format!("Expected an integer for {name}: {s}")))
    })
    .transpose()
}

/// Ironic's page size: the configured maximum when absent, at most that maximum, and
/// `Limit must be positive` for zero or less.
pub fn limit(raw: Option<i64>, max_limit: u64) -> Result<u64, Error> {
    match raw {
        None => Ok(max_limit),
        Some(n) if n <= 0 => Err(Error::invalid("Limit must be positive")),
        Some(n) => Ok((n as u64).min(max_limit)),
    }
}

/// A boolean query parameter as Ironic's `args.boolean` reads it.
pub fn boolean(name: &str, raw: &str) -> Result<bool, Error> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
        _ => Err(Error::invalid(format!(
            "Invalid {name}: Unrecognized value '{raw}', acceptable values are: '0', '1', \
             'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
        ))),
    }
}

/// Keeps the requested `fields` of a rendered resource, plus `links`, in the resource's
/// own order.
pub fn keep(obj: Map<String, Value>, fields: Option<&[String]>) -> Value {
    match fields {
        None => Value::Object(obj),
        Some(f) => Value::Object(
            obj.into_iter()
                .filter(|(k, _)| k == "links" || f.iter().any(|x| x == k))
                .collect(),
        ),
    }
}

/// The schema a JSON patch document is checked against. Ironic has two: the request
/// body schemas of the newer resources, and the older `args.patch` validator, which
/// also restricts the path's characters and reports as "Schema error for patch".
#[derive(Debug, Clone, Copy)]
pub struct PatchSchema {
    pub schema: Schema,
    /// `op` is declared `{"type": "string", "enum": [...]}` rather than a bare enum.
    pub typed_op: bool,
    /// Paths must match `^(/[\w-]+)+$`.
    pub strict_path: bool,
    /// Types a `value` may have; empty for any.
    pub value_types: &'static [Ty],
}

impl PatchSchema {
    /// Ironic's `args.patch`.
    pub const ARGS: PatchSchema = PatchSchema {
        schema: Schema::of("patch"),
        typed_op: true,
        strict_path: true,
        value_types: &[],
    };
}

/// `^(/[\w-]+)+$` (word characters as Python's `re` has them for ASCII).
fn is_strict_path(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    })
}

/// Checks the shape of a JSON patch document the way Ironic's patch schema does, and
/// returns its operations.
pub fn patch_ops(body: &[u8], ps: PatchSchema) -> Result<Vec<Value>, Error> {
    let schema = ps.schema;
    let doc = common::parse_value(body)?;
    schema.types(&doc, &[Ty::Arr])?;
    let ops = doc.as_array().cloned().unwrap_or_default();
    let mut best = Best::new();
    for op in &ops {
        best.ty(1, schema.types(op, &[Ty::Obj]));
        let Some(o) = op.as_object() else { continue };
        if let Some(kind) = o.get("op") {
            if ps.typed_op {
                best.ty(2, schema.types(kind, &[Ty::Str]));
                if kind.is_string() {
                    best.at(2, schema.one_of(kind, &["add", "replace", "remove"]));
                }
            } else {
                best.ty(2, schema.one_of(kind, &["add", "replace", "remove"]));
            }
        }
        if let Some(path) = o.get("path") {
            best.ty(2, schema.types(path, &[Ty::Str]));
            if ps.strict_path {
                best.at(2, schema.pattern(path, "^(/[\\w-]+)+$", is_strict_path));
            }
        }
        if let Some(v) = o.get("value")
            && !ps.value_types.is_empty()
        {
            best.ty(2, schema.types(v, ps.value_types));
        }
        if ps.strict_path {
            best.at(1, schema.no_extra(o, &["op", "path", "value"]));
            best.at(1, schema.required(o, &["op", "path"]));
        } else {
            best.at(1, schema.required(o, &["op", "path"]));
            best.at(1, schema.no_extra(o, &["op", "path", "value"]));
        }
    }
    best.finish()?;
    for op in &ops {
        let o = op.as_object().cloned().unwrap_or_default();
        let path = o.get("path").and_then(Value::as_str).unwrap_or_default();
        if !path.starts_with('/') || path.len() < 2 {
            return Err(Error::invalid(format!("Invalid patch path \"{path}\".")));
        }
        if o.get("op").and_then(Value::as_str) != Some("remove") && !o.contains_key("value") {
            return Err(Error::invalid(format!(
                "Invalid patch operation {}: a \"value\" is required.",
                py_repr(op)
            )));
        }
    }
    Ok(ops)
}

/// The root attribute a patch operation touches (`/extra/a` → `extra`).
pub fn patch_root(op: &Value) -> String {
    let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

/// Refuses patches touching anything but `allowed`, with Ironic's message.
pub fn patch_allowed(ops: &[Value], allowed: &[&str]) -> Result<(), Error> {
    for op in ops {
        if !allowed.contains(&patch_root(op).as_str()) {
            let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
            return Err(Error::invalid(format!(
                "Cannot patch {path}. Only the following can be updated: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// Applies patch operations one by one to `doc`: adding a new root attribute is
/// refused, and a failing operation is named in the error.
pub fn apply_patch(doc: Map<String, Value>, ops: &[Value]) -> Result<Map<String, Value>, Error> {
    for op in ops {
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        if op.get("op").and_then(Value::as_str) == Some("add")
            && path.matches('/').count() == 1
            && !doc.contains_key(&patch_root(op))
        {
            return Err(Error::invalid(format!(
                "Adding a new attribute ({path}) to the root of the resource is not allowed"
            )));
        }
    }
    let mut target = Value::Object(doc);
    for op in ops {
        let p: json_patch::Patch = serde_json::from_value(Value::Array(vec![op.clone()]))
            .map_err(|e| Error::invalid(format!("Invalid patch operation {}: {e}", py_repr(op))))?;
        json_patch::patch(&mut target, &p).map_err(|e| {
            Error::invalid(format!(
                "Couldn't apply patch '{}'. Reason: {e}",
                py_repr(op)
            ))
        })?;
    }
    match target {
        Value::Object(m) => Ok(m),
        _ => Err(Error::invalid("The patch replaced the whole resource.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_repr() {
        assert_eq!(py_repr(&json!("a")), "'a'");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_repr(&json!(null)), "None");
        assert_eq!(py_repr(&json!([1, true])), "[1, True]");
        assert_eq!(py_repr(&json!({"a": "b"})), "{'a': 'b'}");
    }

    #[test]
    fn schema_messages() {
        let s = Schema::PLAIN;
        let e = s.types(&json!(5), &[Ty::Str, Ty::Null]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Schema error: 5 is not of type 'string', 'null'"
        );
        let mut m = Map::new();
        m.insert("bogus".into(), json!(1));
        assert_eq!(
            s.no_extra(&m, &["a"]).unwrap_err().to_string(),
            "Schema error: Additional properties are not allowed ('bogus' was unexpected)"
        );
        assert_eq!(
            Schema::of("template")
                .required(&m, &["steps"])
                .unwrap_err()
                .to_string(),
            "Schema error for template: 'steps' is a required property"
        );
        assert!(s.trait_name(&json!("CUSTOM_GOLD")).is_ok());
        assert!(s.trait_name(&json!("HW_CPU_X86_VMX")).is_ok());
        assert!(s.trait_name(&json!("gold")).is_err());
        assert!(s.trait_name(&json!("CUSTOM_")).is_err());
    }

    #[test]
    fn best_error_is_the_one_jsonschema_reports() {
        let s = Schema::PLAIN;
        // A shallower error wins over a deeper one found first.
        let mut b = Best::new();
        b.ty(2, s.types(&json!(1), &[Ty::Str]))
            .at(1, s.max_len(&json!("abc"), 2));
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "Schema error: 'abc' is too long"
        );
        // At one depth, anyOf loses to other keywords, and type errors win.
        let mut b = Best::new();
        b.any_of(1, s.uuid_or_name(&json!("a b")))
            .at(1, s.max_len(&json!("abc"), 2))
            .ty(1, s.types(&json!(5), &[Ty::Obj]));
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "Schema error: 5 is not of type 'object'"
        );
        // Among equals, the first found.
        let mut b = Best::new();
        b.at(1, s.max_len(&json!("abc"), 2))
            .at(1, s.max_len(&json!("xyz"), 2));
        assert!(b.finish().unwrap_err().to_string().contains("'abc'"));
        assert!(Best::new().at(0, Ok(())).finish().is_ok());
    }

    #[test]
    fn identifiers_and_paths() {
        let s = Schema::PLAIN;
        assert!(s.uuid_or_name(&json!("node-1")).is_ok());
        assert!(
            s.uuid_or_name(&json!("6d85703a-565d-469a-96ce-30b6de53079d"))
                .is_ok()
        );
        assert_eq!(
            s.uuid_or_name(&json!(5)).unwrap_err().to_string(),
            "Schema error: 5 is not valid under any of the given schemas. Possible root \
             cause: 5 is not of type 'string'"
        );
        assert!(is_strict_path("/steps/0/args"));
        assert!(!is_strict_path("/extra/a.b"));
        assert!(!is_strict_path("extra"));
        assert!(!is_strict_path("/extra//x"));
        assert_eq!(
            s.pattern(&json!("/a b"), "^(/[\\w-]+)+$", is_strict_path)
                .unwrap_err()
                .to_string(),
            "Schema error: '/a b' does not match '^(/[\\\\w-]+)+$'"
        );
        let mut m = Map::new();
        m.insert("zz".into(), json!(1));
        m.insert("aa".into(), json!(1));
        assert_eq!(
            s.no_extra(&m, &[]).unwrap_err().to_string(),
            "Schema error: Additional properties are not allowed ('aa', 'zz' were unexpected)"
        );
    }

    #[test]
    fn query_values() {
        assert_eq!(string_list(" UUID, name,,uuid"), vec!["uuid", "name"]);
        assert_eq!(integer("limit", None).unwrap(), None);
        assert_eq!(
            integer("limit", Some(&"x".to_string()))
                .unwrap_err()
                .to_string(),
            "Expected an integer for limit: x"
        );
        assert_eq!(limit(None, 1000).unwrap(), 1000);
        assert_eq!(limit(Some(5000), 1000).unwrap(), 1000);
        assert!(limit(Some(0), 1000).is_err());
        assert!(boolean("detail", "Yes").unwrap());
        assert!(boolean("detail", "maybe").is_err());
    }

    #[test]
    fn patch_documents() {
        let ops = patch_ops(
            br#"[{"op": "replace", "path": "/name", "value": "x"}]"#,
            PatchSchema::ARGS,
        )
        .unwrap();
        assert_eq!(ops.len(), 1);
        let e =
            |body: &str, ps: PatchSchema| patch_ops(body.as_bytes(), ps).unwrap_err().to_string();
        assert_eq!(
            e(r#"{"op": "add"}"#, PatchSchema::ARGS),
            "Schema error for patch: {'op': 'add'} is not of type 'array'"
        );
        // The operation's own keywords come before those of its members.
        assert_eq!(
            e(
                r#"[{"op": "move", "path": "/a", "x": 1}]"#,
                PatchSchema::ARGS
            ),
            "Schema error for patch: Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            e(r#"[{"op": 1, "path": "/a"}]"#, PatchSchema::ARGS),
            "Schema error for patch: 1 is not of type 'string'"
        );
        let plain = PatchSchema {
            schema: Schema::PLAIN,
            typed_op: false,
            strict_path: false,
            value_types: &[Ty::Str],
        };
        assert_eq!(
            e(r#"[{"op": 1, "path": "/a"}]"#, plain),
            "Schema error: 1 is not one of ['add', 'replace', 'remove']"
        );
        assert_eq!(
            e(r#"[{"path": "/a", "value": 1}]"#, plain),
            "Schema error: 'op' is a required property"
        );
        assert_eq!(
            e(r#"[{"op": "add", "path": "/a", "value": 1}]"#, plain),
            "Schema error: 1 is not of type 'string'"
        );
        assert_eq!(
            e(
                r#"[{"op": "add", "path": "/a.b", "value": 1}]"#,
                PatchSchema::ARGS
            ),
            "Schema error for patch: '/a.b' does not match '^(/[\\\\w-]+)+$'"
        );
    }

    #[test]
    fn formats() {
        assert!(is_mac("52:54:00:12:34:AB"));
        assert!(!is_mac("52-54-00-12-34-56"));
        assert!(!is_mac("zz"));
        assert!(is_logical_name("node-1.a_b~"));
        assert!(!is_logical_name("a b"));
    }

    #[test]
    fn patches() {
        let mut doc = Map::new();
        doc.insert("extra".into(), json!({}));
        doc.insert("name".into(), json!("a"));
        let ops = vec![
            json!({"op": "add", "path": "/extra/k", "value": 1}),
            json!({"op": "remove", "path": "/name"}),
        ];
        let out = apply_patch(doc.clone(), &ops).unwrap();
        assert_eq!(out["extra"], json!({"k": 1}));
        assert!(!out.contains_key("name"));
        let bad = vec![json!({"op": "add", "path": "/foo", "value": 1})];
        assert!(apply_patch(doc, &bad).is_err());
        assert!(patch_allowed(&ops, &["name"]).is_err());
    }
}
