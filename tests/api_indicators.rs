//! Black-box tests of node indicators (1.63) with fake-hardware, whose management
//! interface has a read-only chassis LED and a system LED that can blink.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[test]
fn indicators_list_get_and_set() {
    let s = Server::start();
    let id = s.create_node(json!({"name": "leds"}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = "/v1/nodes/leds/management/indicators";
    let list = s.get(base, Some("1.63")).expect(200).body;
    let link = |unique: &str| {
        json!([
            {"href": format!("{}/v1/nodes/leds/management/indicators/{unique}", s.base), "rel": "self"},
            {"href": format!("{}/nodes/leds/management/indicators/{unique}", s.base), "rel": "bookmark"},
        ])
    };
    assert_eq!(
        list,
        json!({"indicators": [
            {"name": "led-0@chassis", "component": "chassis", "readonly": true,
                "states": ["off", "on"], "links": link("led-0@chassis")},
            {"name": "led@system", "component": "system", "readonly": false,
                "states": ["blinking", "off", "on"], "links": link("led@system")},
        ]})
    );
    let one = format!("/v1/nodes/{id}/management/indicators/led@system");
    assert_eq!(s.get(&one, LATEST).expect(200).body, json!({"state": "on"}));
    let r = s
        .put(&one, LATEST, &json!({"state": "blinking"}))
        .expect(204);
    assert!(r.text.is_empty());
    assert_eq!(
        s.get(&one, LATEST).expect(200).body,
        json!({"state": "blinking"})
    );
    assert_eq!(
        s.node(&id)["driver_internal_info"]["fake_indicators"],
        json!({"system": {"led": "blinking"}})
    );
    assert!(s.node(&id)["reservation"].is_null());
}

/// A refused request: method, path, version, body, status and a part of the message.
type Case<'a> = (
    Method,
    &'a str,
    Option<&'a str>,
    Option<Value>,
    u16,
    &'a str,
);

#[test]
fn indicator_refusals_change_nothing() {
    let s = Server::start();
    s.create_node(json!({"name": "leds"}));
    let one = "/v1/nodes/leds/management/indicators/led@system";
    let cases: Vec<Case> = vec![
        // Before 1.63 the paths do not exist.
        (
            Method::GET,
            "/v1/nodes/leds/management/indicators",
            Some("1.62"),
            None,
            404,
            "",
        ),
        (Method::GET, one, Some("1.62"), None, 404, ""),
        (
            Method::PUT,
            one,
            NOVER,
            Some(json!({"state": "on"})),
            404,
            "",
        ),
        (
            Method::POST,
            "/v1/nodes/leds/management/indicators",
            LATEST,
            Some(json!({})),
            405,
            "could not comply",
        ),
        (Method::DELETE, one, LATEST, None, 405, "could not comply"),
        (
            Method::GET,
            "/v1/nodes/nope/management/indicators",
            LATEST,
            None,
            404,
            "Node nope could not be found.",
        ),
        (
            Method::GET,
            "/v1/nodes/a%20b/management/indicators",
            LATEST,
            None,
            400,
            "Expected UUID or name for node_ident: a b",
        ),
        (
            Method::GET,
            "/v1/nodes/leds/management/indicators/led",
            LATEST,
            None,
            400,
            "Malformed indicator name \"led\"",
        ),
        (
            Method::GET,
            "/v1/nodes/leds/management/indicators/led@disk",
            LATEST,
            None,
            400,
            "Invalid component disk specified.",
        ),
        (
            Method::GET,
            "/v1/nodes/leds/management/indicators/led-9@system",
            LATEST,
            None,
            400,
            "Invalid indicator led-9 specified.",
        ),
        (
            Method::PUT,
            "/v1/nodes/leds/management/indicators/led-0@chassis",
            LATEST,
            Some(json!({"state": "off"})),
            400,
            "Indicator led-0 of component chassis is read-only.",
        ),
        (
            Method::PUT,
            one,
            LATEST,
            Some(json!({"state": "purple"})),
            400,
            "Invalid state purple for indicator led of component system; supported are: blinking, off, on.",
        ),
        (
            Method::PUT,
            one,
            LATEST,
            Some(json!({})),
            400,
            "Missing mandatory parameter: state",
        ),
        (
            Method::PUT,
            one,
            LATEST,
            Some(json!({"state": 5})),
            400,
            "Expected string for state: 5",
        ),
        (
            Method::PUT,
            one,
            LATEST,
            Some(json!({"state": "on", "color": "red"})),
            400,
            "Unexpected arguments: color",
        ),
        (
            Method::PUT,
            "/v1/nodes/leds/management/indicators/led",
            LATEST,
            Some(json!({"state": "on"})),
            400,
            "Malformed indicator name \"led\"",
        ),
    ];
    for (method, path, version, body, status, needle) in cases {
        let before = s.snapshot();
        let r = s.request(
            method.clone(),
            path,
            version,
            &[],
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        );
        assert_eq!(
            r.status, status,
            "{method} {path} at {version:?}: {}",
            r.text
        );
        assert_error_format(&r);
        let inner: Value = serde_json::from_str(r.body["error_message"].as_str().unwrap()).unwrap();
        let msg = inner
            .get("faultstring")
            .or_else(|| inner.get("description"))
            .and_then(Value::as_str)
            .unwrap();
        assert!(
            msg.contains(needle),
            "{method} {path}: {msg:?} lacks {needle:?}"
        );
        assert_eq!(s.snapshot(), before, "{method} {path} changed the node");
    }
}
