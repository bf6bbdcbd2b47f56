//! What the resources beside nodes (ports, portgroups, chassis, volume connectors and
//! targets) share: versioned field tables, the `fields` and `detail` query parameters,
//! rendering, list pages, and the checks of request bodies in Ironic's words.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::common::{self, Ctx, Page};
use super::version::ApiVersion;
use crate::error::{Error, Result};

/// How a resource looks on the wire.
#[derive(Debug)]
pub struct Spec {
    /// Singular name used in schema errors (`port`, `portgroup`, ...).
    pub kind: &'static str,
    /// Fields in response order, each with the minor version that introduced it.
    /// Sub-resource links (`ports`, `nodes`) are fields too; `links` is always shown.
    pub fields: &'static [(&'static str, u16)],
    /// Fields of the short (list) form.
    pub short: &'static [&'static str],
    /// Minor version from which `?fields=` is accepted.
    pub fields_since: u16,
    /// Minor version from which `?detail=` is accepted on the collection.
    pub detail_since: u16,
}

impl Spec {
    /// The version that introduced `field`; `None` for names the resource does not have.
    pub fn since(&self, field: &str) -> Option<u16> {
        self.fields
            .iter()
            .find(|(n, _)| *n == field)
            .map(|(_, s)| *s)
    }

    /// Is `field` shown at `v`?
    pub fn visible(&self, field: &str, v: ApiVersion) -> bool {
        self.since(field).is_some_and(|s| v.at_least(s))
    }
}

/// A 406 for a parameter or field newer than the request's version.
pub fn too_new(what: &str, since: u16) -> Error {
    Error::NotAcceptable(format!(
        "The parameter \"{what}\" requires API version 1.{since} or later."
    ))
}

/// A 406 for a body field newer than the request's version.
pub fn field_too_new(field: &str, since: u16) -> Error {
    Error::NotAcceptable(format!(
        "The field \"{field}\" requires API version 1.{since} or later."
    ))
}

/// A 406 for an operation newer than the request's version.
pub fn operation_too_new(since: u16) -> Error {
    Error::NotAcceptable(format!(
        "This operation requires API version 1.{since} or later."
    ))
}

/// Parses `?fields=`: 406 below the version that allows it or for a field newer than
/// the request's version, 400 for names the resource does not have.
pub fn fields_param(
    ctx: &Ctx,
    q: &HashMap<String, String>,
    spec: &Spec,
) -> Result<Option<Vec<String>>> {
    let Some(raw) = q.get("fields") else {
        return Ok(None);
    };
    if !ctx.version.at_least(spec.fields_since) {
        return Err(too_new("fields", spec.fields_since));
    }
    let mut valid: Vec<&str> = spec.fields.iter().map(|(n, _)| *n).collect();
    valid.push("links");
    let fields = common::parse_fields(Some(raw), &valid)?.unwrap_or_default();
    for f in &fields {
        if let Some(since) = spec.since(f)
            && !ctx.version.at_least(since)
        {
            return Err(too_new(f, since));
        }
    }
    Ok(Some(fields))
}

/// `?fields=` of a request for one resource.
pub fn show_fields(ctx: &Ctx, req: &HttpRequest, spec: &Spec) -> Result<Option<Vec<String>>> {
    let q = super::nodes::query(req)?;
    fields_param(ctx, &q, spec)
}

/// Renders one resource: every visible field (`detail`), the short form, or only
/// `fields`; plus `links` to `self_path`. `value` gives a field's value.
pub fn render(
    ctx: &Ctx,
    spec: &Spec,
    fields: Option<&[String]>,
    detail: bool,
    self_path: &str,
    value: impl Fn(&str) -> Value,
) -> Value {
    let mut out = Map::new();
    for (name, since) in spec.fields {
        if !ctx.version.at_least(*since) {
            continue;
        }
        let wanted = match fields {
            Some(f) => f.iter().any(|x| x == name),
            None => detail || spec.short.contains(name),
        };
        if wanted {
            out.insert((*name).to_owned(), value(name));
        }
    }
    out.insert("links".into(), ctx.links(self_path));
    Value::Object(out)
}

/// The parsed query of a list request.
#[derive(Debug)]
pub struct ListQuery {
    pub q: HashMap<String, String>,
    pub page: Page,
    pub fields: Option<Vec<String>>,
    /// Full resources (the `/detail` path or `?detail=true`).
    pub detail: bool,
}

/// Parses the common parameters of a list request: `fields`, `detail`, `limit`,
/// `marker`, `sort_key`, `sort_dir`.
pub fn list_query(
    ctx: &Ctx,
    req: &HttpRequest,
    spec: &Spec,
    sortable: &[&str],
    max_limit: u64,
    detail_path: bool,
) -> Result<ListQuery> {
    let q = super::nodes::query(req)?;
    let detail_param = match q.get("detail") {
        None => None,
        Some(v) => {
            if detail_path {
                return Err(Error::invalid(format!(
                    "The \"detail\" parameter can not be used on {}.",
                    req.path()
                )));
            }
            if !ctx.version.at_least(spec.detail_since) {
                return Err(Error::invalid(format!(
                    "Invalid query parameter ?detail={v} received."
                )));
            }
            Some(common::parse_bool("detail", v)?)
        }
    };
    let detail = detail_path || detail_param.unwrap_or(false);
    let fields = fields_param(ctx, &q, spec)?;
    if fields.is_some() && detail {
        return Err(Error::invalid(
            "Can not specify ?detail=True and fields in the same request.",
        ));
    }
    let page = Page::parse(&q, sortable, max_limit)?;
    if let Some(since) = spec.since(&page.sort_key)
        && !ctx.version.at_least(since)
    {
        return Err(too_new(&page.sort_key, since));
    }
    Ok(ListQuery {
        q,
        page,
        fields,
        detail,
    })
}

/// The body of a list answer: `{key: items}` plus a `next` link when the page is full.
pub fn collection(
    ctx: &Ctx,
    key: &str,
    items: Vec<Value>,
    path: &str,
    lq: &ListQuery,
    last_uuid: Option<&str>,
) -> HttpResponse {
    let mut body = Map::new();
    let count = items.len();
    body.insert(key.into(), Value::Array(items));
    common::add_next(&mut body, ctx, path, &lq.page, &lq.q, count, last_uuid);
    HttpResponse::Ok().json(Value::Object(body))
}

/// A path parameter that must be a UUID; 400 otherwise (`Expected UUID for x: y`).
pub fn uuid_arg(name: &str, value: &str) -> Result<String> {
    common::canonical_uuid(value)
        .ok_or_else(|| Error::invalid(format!("Expected UUID for {name}: {value}")))
}

/// Is `s` a logical name (RFC 3986 unreserved characters, at most 255)?
pub fn is_logical_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// A path parameter that must be a UUID or a logical name; 400 otherwise.
pub fn uuid_or_name_arg(name: &str, value: &str) -> Result<()> {
    if common::is_uuid_like(value) || is_logical_name(value) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Expected UUID or name for {name}: {value}"
        )))
    }
}

/// Is `s` a MAC address (six pairs of hex digits separated by `:` or `-`)?
pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A MAC address, normalised to lower case; 400 otherwise.
pub fn mac_arg(name: &str, value: &str) -> Result<String> {
    if is_mac(value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(Error::invalid(format!(
            "Expected valid MAC address for {name}: {value}"
        )))
    }
}

/// Checks of a request body's values, with Ironic's schema error messages.
pub struct Body<'a> {
    pub kind: &'a str,
}

impl Body<'_> {
    /// `Schema error for port: Additional properties are not allowed ('x' was unexpected)`.
    pub fn unexpected(&self, field: &str) -> Error {
        Error::invalid(format!(
            "Schema error for {}: Additional properties are not allowed ('{field}' was unexpected)",
            self.kind
        ))
    }

    /// `Schema error for port: 'address' is a required property`.
    pub fn required(&self, field: &str) -> Error {
        Error::invalid(format!(
            "Schema error for {}: '{field}' is a required property",
            self.kind
        ))
    }

    /// `Schema error for port: 12 is not of type 'string'`.
    pub fn wrong_type(&self, v: &Value, types: &str) -> Error {
        Error::invalid(format!(
            "Schema error for {}: {v} is not of type {types}",
            self.kind
        ))
    }

    /// A string of at most `max` characters.
    pub fn string(&self, v: Value, max: usize) -> Result<String> {
        match v {
            Value::String(s) if s.chars().count() <= max => Ok(s),
            Value::String(s) => Err(Error::invalid(format!(
                "Schema error for {}: '{s}' is too long",
                self.kind
            ))),
            other => Err(self.wrong_type(&other, "'string'")),
        }
    }

    /// A string or null.
    pub fn opt_string(&self, v: Value, max: usize) -> Result<Option<String>> {
        match v {
            Value::Null => Ok(None),
            Value::String(_) => self.string(v, max).map(Some),
            other => Err(self.wrong_type(&other, "'string', 'null'")),
        }
    }

    /// A dictionary; null means empty.
    pub fn object(&self, v: Value) -> Result<Value> {
        match v {
            Value::Null => Ok(Value::Object(Map::new())),
            Value::Object(_) => Ok(v),
            other => Err(self.wrong_type(&other, "'object', 'null'")),
        }
    }

    /// A boolean, or a string spelling one; null gives `default`.
    pub fn boolean(&self, field: &str, v: Value, default: bool) -> Result<bool> {
        match v {
            Value::Null => Ok(default),
            Value::Bool(b) => Ok(b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "on" | "t" => Ok(true),
                "false" | "0" | "no" | "n" | "off" | "f" => Ok(false),
                _ => Err(Error::invalid(format!(
                    "Invalid {field}: Unrecognized value '{s}', acceptable values are: '0', \
                     '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
                ))),
            },
            other => Err(self.wrong_type(&other, "'string', 'boolean', 'null'")),
        }
    }

    /// A UUID (canonical form); null or absent gives `None`.
    pub fn opt_uuid(&self, field: &str, v: Value) -> Result<Option<String>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => uuid_arg(field, &s).map(Some),
            other => Err(self.wrong_type(&other, "'string', 'null'")),
        }
    }

    /// A UUID (canonical form).
    pub fn uuid(&self, field: &str, v: Value) -> Result<String> {
        match v {
            Value::String(s) => uuid_arg(field, &s),
            other => Err(self.wrong_type(&other, "'string'")),
        }
    }
}

/// A new resource's UUID: the client's (checked) or a fresh one.
pub fn new_uuid(body: &Body<'_>, v: Option<Value>) -> Result<String> {
    Ok(match v {
        None => None,
        Some(v) => body.opt_uuid("uuid", v)?,
    }
    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert!(is_mac("52:54:00:AA:bb:01"));
        assert!(is_mac("52-54-00-aa-bb-01"));
        assert!(!is_mac("52:54:00:aa:bb"));
        assert!(!is_mac("52:54:00:aa:bb:0g"));
        assert!(!is_mac("5254.00aa.bb01"));
        assert_eq!(
            mac_arg("address", "AA:BB:CC:DD:EE:FF").unwrap(),
            "aa:bb:cc:dd:ee:ff"
        );
        assert_eq!(
            mac_arg("address", "zz").unwrap_err().to_string(),
            "Expected valid MAC address for address: zz"
        );
    }

    #[test]
    fn names() {
        assert!(is_logical_name("pg-1.a_b~"));
        assert!(!is_logical_name("a b"));
        assert!(!is_logical_name(""));
        assert!(uuid_or_name_arg("portgroup", "a:b").is_err());
    }

    #[test]
    fn body_checks() {
        let b = Body { kind: "port" };
        assert!(
            b.boolean("pxe_enabled", Value::String("Yes".into()), false)
                .unwrap()
        );
        assert!(b.boolean("pxe_enabled", Value::Null, true).unwrap());
        assert!(
            b.boolean("pxe_enabled", Value::String("maybe".into()), true)
                .is_err()
        );
        assert!(b.object(Value::from(1)).is_err());
        assert_eq!(b.object(Value::Null).unwrap(), Value::Object(Map::new()));
        assert!(b.string(Value::String("x".repeat(65)), 64).is_err());
        assert!(b.uuid("node_uuid", Value::String("nope".into())).is_err());
    }
}
