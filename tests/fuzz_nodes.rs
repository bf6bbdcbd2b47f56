//! Property tests: random JSON thrown at node create and node PATCH of the real server.
//! Whatever the input, the answer is never a 5xx, an error always comes in Ironic's
//! body, and a refused request writes nothing.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

/// Names a client might send: real node fields, near misses and junk.
const KEYS: &[&str] = &[
    "driver",
    "name",
    "uuid",
    "extra",
    "properties",
    "driver_info",
    "instance_info",
    "instance_uuid",
    "resource_class",
    "conductor_group",
    "owner",
    "lessee",
    "description",
    "maintenance",
    "protected",
    "automated_clean",
    "retired",
    "boot_interface",
    "deploy_interface",
    "power_interface",
    "network_interface",
    "provision_state",
    "power_state",
    "reservation",
    "traits",
    "chassis_uuid",
    "id",
    "links",
    "",
    "x",
    "extra/a",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z0-9_.~-]{0,12}".prop_map(Value::String),
        "\\PC{0,20}".prop_map(Value::String),
        Just(json!("fake-hardware")),
        Just(json!("fake")),
        Just(json!("00000000-0000-0000-0000-000000000001")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Values of the kinds node fields hold, so that many cases are valid.
fn plausible() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9-]{1,12}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        prop::collection::btree_map("[a-z_]{1,6}", "[a-z0-9]{0,6}", 0..3).prop_map(|m| json!(m)),
    ]
}

fn fields(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(prop::sample::select(KEYS), values, 0..5)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => value(),
        2 => fields(value()).prop_map(Value::Object),
        3 => fields(plausible()).prop_map(|mut m| {
            m.insert("driver".into(), json!("fake-hardware"));
            Value::Object(m)
        }),
    ]
}

fn patch_op() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        3 => Just(json!("add")),
        3 => Just(json!("replace")),
        2 => Just(json!("remove")),
        1 => Just(json!("move")),
        1 => Just(json!("test")),
        1 => scalar(),
    ];
    let path = prop_oneof![
        prop::sample::select(KEYS).prop_map(|k| json!(format!("/{k}"))),
        (prop::sample::select(KEYS), "[a-z~/0-9]{0,6}")
            .prop_map(|(k, rest)| json!(format!("/{k}/{rest}"))),
        scalar(),
    ];
    let v = prop_oneof![value(), plausible()];
    (op, path, prop::option::of(v)).prop_map(|(op, path, v)| {
        let mut m = Map::new();
        m.insert("op".into(), op);
        m.insert("path".into(), path);
        if let Some(v) = v {
            m.insert("value".into(), v);
        }
        Value::Object(m)
    })
}

/// Operations on fields a client may write, so that many patches apply.
fn writable_op() -> impl Strategy<Value = Value> {
    let path = prop::sample::select(
        &[
            "/name",
            "/description",
            "/extra/k",
            "/extra",
            "/properties/cpus",
            "/owner",
            "/lessee",
            "/resource_class",
            "/conductor_group",
            "/driver_info/ipmi_address",
            "/instance_info/image_source",
            "/automated_clean",
        ][..],
    );
    (
        prop::sample::select(&["add", "replace", "remove"][..]),
        path,
        plausible(),
    )
        .prop_map(|(op, path, v)| json!({"op": op, "path": path, "value": v}))
}

fn patch() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => value(),
        3 => prop::collection::vec(patch_op(), 0..4).prop_map(Value::Array),
        3 => prop::collection::vec(writable_op(), 1..3).prop_map(Value::Array),
    ]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn random_node_creates_never_fail_the_server() {
    let s = Server::start();
    let created = std::cell::Cell::new(0usize);
    runner(400)
        .run(&body(), |b| {
            let before = s.all_node_uuids().len();
            let r = s.post("/v1/nodes", LATEST, &b);
            prop_assert!(r.status < 500, "{b} -> {} {}", r.status, r.text);
            let after = s.all_node_uuids().len();
            if r.status == 201 {
                created.set(created.get() + 1);
                prop_assert_eq!(after, before + 1);
                let uuid = r.body["uuid"].as_str().unwrap_or_default().to_owned();
                // What was stored is what was answered.
                let shown = s.get(&format!("/v1/nodes/{uuid}"), LATEST).body;
                prop_assert_eq!(&shown["name"], &r.body["name"]);
                prop_assert_eq!(&shown["extra"], &r.body["extra"]);
                s.delete(&format!("/v1/nodes/{uuid}"), LATEST);
            } else {
                prop_assert!(check_error_format(&r).is_none(), "{b} -> {}", r.text);
                prop_assert_eq!(after, before, "a refused create stored a node: {}", b);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("random creates: {} of 400 were valid nodes", created.get());
}

#[test]
fn random_node_patches_change_all_or_nothing() {
    let s = Server::start();
    let id = s.create_node(json!({"name": "fuzz-target", "extra": {"a": {"b": 1}}}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/nodes/{id}");
    let applied = std::cell::Cell::new(0usize);
    runner(400)
        .run(&patch(), |p| {
            let before = s.get(&path, LATEST).body;
            let r = s.patch(&path, LATEST, &p);
            prop_assert!(r.status < 500, "{p} -> {} {}", r.status, r.text);
            let after = s.get(&path, LATEST).body;
            if r.status == 200 {
                applied.set(applied.get() + 1);
                prop_assert_eq!(&after["uuid"], &before["uuid"]);
                prop_assert!(after["reservation"].is_null());
            } else {
                prop_assert!(check_error_format(&r).is_none(), "{p} -> {}", r.text);
                prop_assert_eq!(&after, &before, "a refused PATCH changed the node: {}", p);
            }
            // Keep the node usable for the next case.
            if after.get("uuid").is_none() {
                return Err(TestCaseError::fail(format!("node gone after {p}")));
            }
            Ok(())
        })
        .unwrap();
    eprintln!("random patches: {} of 400 were applied", applied.get());
}
