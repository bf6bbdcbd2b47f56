//! `POST /v1/events` (1.54): external events, today the network events Neutron sends
//! when it binds, unbinds or deletes a port. They are checked and logged.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use utoipa::OpenApi;

use super::checks::{self, Best, Reply, Schema, Ty};
use super::common;
use super::common::Ctx;
use super::openapi::ErrorBody;
use super::resource;
use super::version::Feature;
use crate::error::Result;

const TOO_OLD: &str = "The API is not supported for this version";

/// The event types Ironic accepts.
const EVENT_TYPES: &[&str] = &[
    "network.bind_port",
    "network.unbind_port",
    "network.delete_port",
];

/// Properties of one event.
const EVENT_FIELDS: &[&str] = &[
    "event",
    "port_id",
    "mac_address",
    "status",
    "device_id",
    "binding:host_id",
    "binding:vnic_type",
];

/// Checks a body against Ironic's event schema, reporting what jsonschema would.
fn check(body: &Value) -> Result<()> {
    let s = Schema::PLAIN;
    s.types(body, &[Ty::Obj])?;
    let o = body.as_object().cloned().unwrap_or_default();
    let mut best = Best::new();
    if let Some(events) = o.get("events") {
        best.ty(1, s.types(events, &[Ty::Arr]));
        best.at(1, s.non_empty(events));
        for e in events.as_array().into_iter().flatten() {
            best.ty(2, s.types(e, &[Ty::Obj]));
            let Some(m) = e.as_object() else { continue };
            if let Some(v) = m.get("event") {
                best.ty(3, s.types(v, &[Ty::Str]));
                if v.is_string() {
                    best.at(3, s.one_of(v, EVENT_TYPES));
                }
            }
            if let Some(v) = m.get("port_id") {
                best.ty(3, s.types(v, &[Ty::Str]));
                best.at(3, s.format(v, "uuid", common::is_uuid_like));
            }
            if let Some(v) = m.get("mac_address") {
                best.ty(3, s.types(v, &[Ty::Str]));
                best.at(3, s.format(v, "mac-address", checks::is_mac));
            }
            if let Some(v) = m.get("status") {
                best.ty(3, s.types(v, &[Ty::Str]));
            }
            for key in ["device_id", "binding:host_id"] {
                if let Some(v) = m.get(key) {
                    best.ty(3, s.types(v, &[Ty::Str, Ty::Null]));
                    best.at(3, s.format(v, "uuid", common::is_uuid_like));
                }
            }
            if let Some(v) = m.get("binding:vnic_type") {
                best.ty(3, s.types(v, &[Ty::Str, Ty::Null]));
            }
            best.at(
                2,
                s.required(m, &["event", "port_id", "mac_address", "status"]),
            );
            best.at(2, s.no_extra(m, EVENT_FIELDS));
        }
    }
    best.at(0, s.required(&o, &["events"]));
    best.at(0, s.no_extra(&o, &["events"]));
    best.finish()
}

#[utoipa::path(post, path = "/v1/events", tag = "Events", params(super::openapi::VersionHeaders), request_body(content = serde_json::Value, description = "events: a non-empty list of network events (event: network.bind_port, network.unbind_port or network.delete_port; port_id, mac_address and status; optionally device_id, binding:host_id and binding:vnic_type)"), responses((status = 204, description = "Accepted and logged"), (status = 400, description = "The body does not follow the event schema", body = ErrorBody), (status = 404, description = "Before 1.54", body = ErrorBody)))]
pub async fn post(ctx: Ctx, body: web::Bytes) -> Reply {
    checks::require(&ctx, Feature::Events.since(), false, TOO_OLD)?;
    let body = common::parse_value(&body)?;
    check(&body)?;
    for e in body["events"].as_array().into_iter().flatten() {
        tracing::info!(
            event = e["event"].as_str().unwrap_or_default(),
            port = e["port_id"].as_str().unwrap_or_default(),
            status = e["status"].as_str().unwrap_or_default(),
            detail = %e,
            "received external event"
        );
    }
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/events").route(web::post().to(post)));
}

#[derive(OpenApi)]
#[openapi(
    paths(post),
    tags((name = "Events", description = "External events (1.54): Neutron's port events."))
)]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(v: Value) -> String {
        check(&v).unwrap_err().to_string()
    }

    #[test]
    fn event_schema() {
        let ok = json!({"events": [{"event": "network.bind_port",
            "port_id": "11111111-2222-3333-4444-555555555555",
            "mac_address": "52:54:00:12:34:56", "status": "ACTIVE",
            "device_id": null, "binding:vnic_type": "baremetal"}]});
        assert!(check(&ok).is_ok());
        assert_eq!(
            msg(json!({})),
            "Schema error: 'events' is a required property"
        );
        assert_eq!(
            msg(json!({"events": []})),
            "Schema error: [] should be non-empty"
        );
        // The unexpected key of the document wins over deeper problems.
        assert_eq!(
            msg(json!({"events": [{"event": "x"}], "x": 1})),
            "Schema error: Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            msg(json!({"events": [{"event": "network.bind_port"}]})),
            "Schema error: 'port_id' is a required property"
        );
        let mut bad = ok.clone();
        bad["events"][0]["mac_address"] = json!("nope");
        assert_eq!(msg(bad), "Schema error: 'nope' is not a 'mac-address'");
        let mut bad = ok.clone();
        bad["events"][0]["event"] = json!("network.fly");
        assert!(msg(bad).starts_with("Schema error: 'network.fly' is not one of"));
    }
}
