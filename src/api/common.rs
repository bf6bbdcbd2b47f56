//! Helpers shared by the resource handlers: the request context extractor, body parsing,
//! links, identifiers and list pagination.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde_json::{Map, Value, json};

use super::middleware::RequestId;
use super::version::{ApiVersion, Feature};
use crate::auth::{AuthContext, Policy};
use crate::error::{Error, Result};

/// What every handler needs to know about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The negotiated microversion.
    pub version: ApiVersion,
    /// Base URL for links, without a trailing slash (`http://host:6385`).
    pub base: String,
    /// The request id.
    pub request_id: String,
    /// The caller, as authenticated by `middleware::authenticate`.
    pub auth: std::sync::Arc<AuthContext>,
    /// The policy the caller is checked against (see `api::access`).
    pub policy: std::sync::Arc<Policy>,
}

impl Ctx {
    /// Fails with 404 (like an unknown path) if `feature` is newer than the request's
    /// version: Ironic hides such resources entirely.
    pub fn require(&self, feature: Feature) -> Result<()> {
        if self.version.has(feature) {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "Resource".into(),
                id: format!("(requires API version 1.{})", feature.since()),
            })
        }
    }

    /// `self` and `bookmark` links for `/v1/<path>` and `/<path>`.
    pub fn links(&self, path: &str) -> Value {
        json!([
            {"href": format!("{}/v1/{}", self.base, path), "rel": "self"},
            {"href": format!("{}/{}", self.base, path), "rel": "bookmark"},
        ])
    }

    /// Link to a collection with a query (the `next` link of a page).
    pub fn collection_url(&self, path: &str, query: &str) -> String {
        if query.is_empty() {
            format!("{}/v1/{}", self.base, path)
        } else {
            format!("{}/v1/{}?{}", self.base, path, query)
        }
    }
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let version = req
            .extensions()
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(ApiVersion::MIN);
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let state = req.app_data::<actix_web::web::Data<super::AppState>>();
        // Every route runs behind `middleware::authenticate`; a request that somehow
        // did not gets a caller without roles, whom every policy check refuses.
        let auth = req
            .extensions()
            .get::<std::sync::Arc<AuthContext>>()
            .cloned()
            .unwrap_or_else(|| std::sync::Arc::new(AuthContext::anonymous()));
        let policy = state
            .map(|s| s.auth.policy.clone())
            .unwrap_or_else(|| std::sync::Arc::new(Policy::defaults("service")));
        let base = state
            .and_then(|s| s.public_endpoint.clone())
            .unwrap_or_else(|| {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            });
        ready(Ok(Ctx {
            version,
            base: base.trim_end_matches('/').to_owned(),
            request_id,
            auth,
            policy,
        }))
    }
}

/// Parses a request body as a JSON object; anything else is a 400 that names the problem.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.is_empty() {
        return Err(Error::invalid(
            "The request body is empty; a JSON object is expected.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::invalid("The request body must be a JSON object.")),
        Err(e) => Err(Error::invalid(format!("Invalid JSON in request body: {e}"))),
    }
}

/// Parses a request body as any JSON value.
pub fn parse_value(body: &[u8]) -> Result<Value> {
    serde_json::from_slice::<Value>(body)
        .map_err(|e| Error::invalid(format!("Invalid JSON in request body: {e}")))
}

/// Does `s` look like a UUID (any case, with dashes)?
pub fn is_uuid_like(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

/// Canonical (lower-case, hyphenated) form of a UUID given by a client.
pub fn canonical_uuid(s: &str) -> Option<String> {
    uuid::Uuid::try_parse(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Parses an Ironic boolean query/body value (`true`, `True`, `1`, `yes`, ...).
pub fn parse_bool(name: &str, s: &str) -> Result<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" | "t" => Ok(true),
        "false" | "0" | "no" | "n" | "off" | "f" => Ok(false),
        _ => Err(Error::invalid(format!(
            "Invalid value for {name}: \"{s}\" is not a boolean."
        ))),
    }
}

/// The `fields` query parameter, validated against what the version shows.
pub fn parse_fields(raw: Option<&str>, valid: &[&str]) -> Result<Option<Vec<String>>> {
    let Some(raw) = raw else { return Ok(None) };
    let fields: Vec<String> = raw
        .split(',')
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    let bad: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|f| !valid.contains(f))
        .collect();
    if !bad.is_empty() {
        return Err(Error::invalid(format!(
            "Field(s) \"{}\" are not valid",
            bad.join(", ")
        )));
    }
    Ok(Some(fields))
}

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// Validated pagination parameters of a list request.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: u64,
    pub marker: Option<String>,
    pub sort_key: String,
    pub sort_dir: SortDir,
}

impl Page {
    /// Validates `limit`, `marker`, `sort_key` and `sort_dir`. `sortable` lists the keys a
    /// client may sort by; `max_limit` comes from `[api] max_limit`.
    pub fn parse(
        q: &std::collections::HashMap<String, String>,
        sortable: &[&str],
        max_limit: u64,
    ) -> Result<Page> {
        let limit = match q.get("limit") {
            None => max_limit,
            Some(s) => {
                let n: i64 = s.parse().map_err(|_| {
                    Error::invalid(format!(
                        "Invalid value for limit: \"{s}\" is not an integer."
                    ))
                })?;
                if n < 0 {
                    return Err(Error::invalid("Limit must be positive"));
                }
                if n == 0 {
                    max_limit
                } else {
                    (n as u64).min(max_limit)
                }
            }
        };
        let sort_key = q
            .get("sort_key")
            .cloned()
            .unwrap_or_else(|| "id".to_owned());
        if !sortable.contains(&sort_key.as_str()) {
            return Err(Error::invalid(format!(
                "The sort_key value \"{sort_key}\" is an invalid field for sorting"
            )));
        }
        let sort_dir = match q.get("sort_dir").map(String::as_str) {
            None | Some("asc") => SortDir::Asc,
            Some("desc") => SortDir::Desc,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "Invalid sort direction: {other}. Acceptable values are 'asc' or 'desc'"
                )));
            }
        };
        let marker = match q.get("marker") {
            None => None,
            Some(m) => Some(canonical_uuid(m).ok_or_else(|| {
                Error::invalid(format!("Expected a UUID for marker but received {m}."))
            })?),
        };
        Ok(Page {
            limit,
            marker,
            sort_key,
            sort_dir,
        })
    }

    /// The query string of the next page after an item with `last_uuid`, keeping the
    /// caller's other parameters.
    pub fn next_query(
        &self,
        q: &std::collections::HashMap<String, String>,
        last_uuid: &str,
    ) -> String {
        let mut pairs: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "marker" && k.as_str() != "limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("limit".into(), self.limit.to_string()));
        pairs.push(("marker".into(), last_uuid.to_owned()));
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Adds the `next` link to a collection body when the page was full.
pub fn add_next(
    body: &mut Map<String, Value>,
    ctx: &Ctx,
    path: &str,
    page: &Page,
    q: &std::collections::HashMap<String, String>,
    count: usize,
    last_uuid: Option<&str>,
) {
    if let Some(last) = last_uuid
        && count as u64 >= page.limit
    {
        body.insert(
            "next".into(),
            Value::String(ctx.collection_url(path, &page.next_query(q, last))),
        );
    }
}

/// Keeps only `fields` of an object (and always nothing else).
pub fn select_fields(obj: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = obj.get(f) {
            out.insert(f.clone(), v.clone());
        }
    }
    out
}

/// Time as Ironic prints it: ISO 8601 with microseconds and `+00:00`.
pub fn ts(t: &chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string())
}

/// Optional time.
pub fn ts_opt(t: &Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.as_ref().map(ts).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn page_parsing() {
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let p = Page::parse(&q(&[]), &["id", "name"], 1000).unwrap();
        assert_eq!(
            (p.limit, p.sort_dir, p.sort_key.as_str()),
            (1000, SortDir::Asc, "id")
        );
        assert_eq!(
            Page::parse(&q(&[("limit", "5000")]), &["id"], 1000)
                .unwrap()
                .limit,
            1000
        );
        assert_eq!(
            Page::parse(&q(&[("limit", "0")]), &["id"], 1000)
                .unwrap()
                .limit,
            1000
        );
        assert!(Page::parse(&q(&[("limit", "-1")]), &["id"], 1000).is_err());
        assert!(Page::parse(&q(&[("limit", "x")]), &["id"], 1000).is_err());
        assert!(Page::parse(&q(&[("sort_key", "driver_info")]), &["id"], 1000).is_err());
        assert!(Page::parse(&q(&[("sort_dir", "up")]), &["id"], 1000).is_err());
        assert!(Page::parse(&q(&[("marker", "nope")]), &["id"], 1000).is_err());
    }

    #[test]
    fn fields_validation() {
        assert_eq!(parse_fields(None, &["a"]).unwrap(), None);
        assert_eq!(
            parse_fields(Some("a, b"), &["a", "b"]).unwrap(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert!(parse_fields(Some("a,zz"), &["a"]).is_err());
    }
}
