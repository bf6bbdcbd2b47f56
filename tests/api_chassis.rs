//! Black-box tests of `/v1/chassis`: the real `m2` binary over HTTP.

mod common;

use common::*;
use serde_json::{Value, json};

fn chassis(s: &Server, body: Value) -> Value {
    s.post("/v1/chassis", LATEST, &body).expect(201).body
}

fn chassis_count(s: &Server) -> usize {
    s.get("/v1/chassis", LATEST).expect(200).body["chassis"]
        .as_array()
        .unwrap()
        .len()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

#[test]
fn create_show_list_delete() {
    let s = Server::start();
    let r = s.post(
        "/v1/chassis",
        NOVER,
        &json!({"description": "rack 12", "extra": {"row": "b"}}),
    );
    let location = r.header("location").map(str::to_owned);
    let c = r.expect(201).body.clone();
    let id = c["uuid"].as_str().unwrap().to_owned();
    assert_eq!(location, Some(format!("{}/v1/chassis/{id}", s.base)));
    assert_eq!(c["description"], "rack 12");
    assert_eq!(c["extra"], json!({"row": "b"}));
    assert!(c["created_at"].is_string());
    assert_eq!(c["updated_at"], Value::Null);
    // The node sub-collection's links come wrapped in one more list, as Ironic
    // renders them.
    assert_eq!(
        c["nodes"][0][0]["href"],
        json!(format!("{}/v1/chassis/{id}/nodes", s.base))
    );
    assert_eq!(c["nodes"][0][1]["rel"], "bookmark");
    assert_eq!(
        keys(&c),
        [
            "created_at",
            "description",
            "extra",
            "links",
            "nodes",
            "updated_at",
            "uuid"
        ]
    );
    // An empty body is a chassis with nothing set.
    let bare = chassis(&s, json!({}));
    assert_eq!(bare["description"], Value::Null);
    assert_eq!(bare["extra"], json!({}));

    let list = s.get("/v1/chassis", NOVER).expect(200).body.clone();
    assert_eq!(list["chassis"].as_array().unwrap().len(), 2);
    assert_eq!(keys(&list["chassis"][0]), ["description", "links", "uuid"]);
    let detail = s.get("/v1/chassis/detail", NOVER).expect(200).body.clone();
    assert_eq!(detail["chassis"][0]["extra"], json!({"row": "b"}));
    assert!(detail["chassis"][0]["nodes"].is_array());
    assert_eq!(
        s.get("/v1/chassis?detail=True", LATEST).expect(200).body["chassis"][0]["extra"],
        json!({"row": "b"})
    );
    let shown = s
        .get(&format!("/v1/chassis/{id}"), NOVER)
        .expect(200)
        .body
        .clone();
    assert_eq!(shown, c);
    let some = s
        .get(&format!("/v1/chassis/{id}?fields=extra"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(keys(&some), ["extra", "links"]);
    // The v1 document's link (with its trailing slash) leads to the collection.
    let v1 = s.get("/v1", NOVER).expect(200).body.clone();
    let link = v1["chassis"][0]["href"].as_str().unwrap().to_owned();
    assert_eq!(
        s.get(link.strip_prefix(&s.base).unwrap(), NOVER)
            .expect(200)
            .body["chassis"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Pagination.
    let page = s
        .get("/v1/chassis?limit=1", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page["chassis"][0]["uuid"], json!(id));
    let next = page["next"].as_str().expect("next link");
    let page2 = s
        .get(next.strip_prefix(&s.base).unwrap(), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page2["chassis"][0]["uuid"], bare["uuid"]);
    let page = s
        .get("/v1/chassis/detail?limit=1&sort_dir=desc", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(page["chassis"][0]["uuid"], bare["uuid"]);
    assert!(
        page["next"]
            .as_str()
            .unwrap()
            .contains("/v1/chassis/detail?")
    );

    s.delete(&format!("/v1/chassis/{id}"), NOVER).expect(204);
    s.get(&format!("/v1/chassis/{id}"), NOVER)
        .expect_fault(404, &format!("Chassis {id} could not be found"));
    s.delete(&format!("/v1/chassis/{id}"), NOVER)
        .expect_fault(404, "could not be found");
    assert_eq!(chassis_count(&s), 1);
}

#[test]
fn bad_creates_are_refused_and_store_nothing() {
    let s = Server::start();
    chassis(
        &s,
        json!({"uuid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "description": "first"}),
    );
    let long = "x".repeat(256);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"description": long}), 400, "is too long"),
        (json!({"description": 12}), 400, "is not of type"),
        (json!({"extra": "x"}), 400, "is not of type"),
        (json!({"extra": [1]}), 400, "is not of type"),
        (json!({"nodes": []}), 400, "'nodes' was unexpected"),
        (json!({"colour": "red"}), 400, "'colour' was unexpected"),
        (json!({"uuid": "nope"}), 400, "Expected UUID"),
        (
            json!({"uuid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}),
            409,
            "already exists",
        ),
    ];
    for (body, status, needle) in cases {
        let r = s.post("/v1/chassis", LATEST, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(chassis_count(&s), 1, "{body} stored something");
    }
    // 255 characters are fine.
    chassis(&s, json!({"description": "y".repeat(255)}));
    for raw in [&b"{not json"[..], b"[]", b"\"x\"", b""] {
        let r = s.request(
            reqwest::Method::POST,
            "/v1/chassis",
            LATEST,
            &[],
            Some(raw.to_vec()),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        assert_error_format(&r);
    }
    assert_eq!(chassis_count(&s), 2);
}

#[test]
fn patch_follows_ironic_rules() {
    let s = Server::start();
    let c = chassis(&s, json!({"description": "before", "extra": {"a": 1}}));
    let id = c["uuid"].as_str().unwrap().to_owned();
    let path = format!("/v1/chassis/{id}");
    let b = s
        .patch(
            &path,
            LATEST,
            &json!([
                {"op": "replace", "path": "/description", "value": "after"},
                {"op": "add", "path": "/extra/b", "value": [1, 2]},
                {"op": "replace", "path": "/uuid", "value": id},
            ]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["description"], "after");
    assert_eq!(b["extra"], json!({"a": 1, "b": [1, 2]}));
    assert!(b["updated_at"].is_string());
    let b = s
        .patch(
            &path,
            NOVER,
            &json!([
                {"op": "remove", "path": "/description"},
                {"op": "remove", "path": "/extra"},
            ]),
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["extra"], json!({}));
    s.patch(
        &path,
        LATEST,
        &json!([{"op": "add", "path": "/description", "value": "kept"}]),
    )
    .expect(200);

    let before = s.get(&path, LATEST).expect(200).body.clone();
    let long = "x".repeat(256);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([{"op": "replace", "path": "/uuid", "value": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}]),
            400,
            "Cannot overwrite the UUID",
        ),
        (
            json!([{"op": "remove", "path": "/uuid"}]),
            400,
            "Cannot overwrite the UUID",
        ),
        (
            json!([{"op": "replace", "path": "/nodes", "value": []}]),
            400,
            "Cannot patch /nodes",
        ),
        (
            json!([{"op": "replace", "path": "/created_at", "value": "x"}]),
            400,
            "Cannot patch /created_at",
        ),
        (
            json!([{"op": "replace", "path": "/description", "value": long}]),
            400,
            "is too long",
        ),
        (
            json!([{"op": "replace", "path": "/extra", "value": 3}]),
            400,
            "is not of type",
        ),
        (
            json!([{"op": "copy", "path": "/description", "from": "/extra"}]),
            400,
            "only add, replace and remove",
        ),
        (
            json!([{"op": "remove", "path": "/extra/missing"}]),
            400,
            "Unable to apply patch",
        ),
        (json!([]), 400, "non-empty JSON array"),
    ];
    for (body, status, needle) in cases {
        let r = s.patch(&path, LATEST, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_error_format(&r);
        let (_, msg) = ironic_error(&r.body);
        assert!(msg.contains(needle), "{body}: {msg:?} lacks {needle:?}");
        assert_eq!(
            s.get(&path, LATEST).expect(200).body,
            before,
            "{body} changed the chassis"
        );
    }
    let ops = json!([{"op": "add", "path": "/extra/a", "value": 1}]);
    s.patch("/v1/chassis/not-a-uuid", LATEST, &ops)
        .expect_fault(400, "Expected UUID for chassis_uuid: not-a-uuid");
    s.patch(
        "/v1/chassis/1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        LATEST,
        &ops,
    )
    .expect_fault(404, "could not be found");
}

#[test]
fn nodes_of_a_chassis() {
    let s = Server::start_with("[api]\nmax_limit = 2\n");
    let c = chassis(&s, json!({"description": "full"}));
    let id = c["uuid"].as_str().unwrap().to_owned();
    let empty = chassis(&s, json!({"description": "empty"}));
    let mut inside = Vec::new();
    for name in ["c-n1", "c-n2", "c-n3"] {
        let n = s.create_node(json!({"name": name, "chassis_uuid": id}));
        inside.push(n["uuid"].as_str().unwrap().to_owned());
    }
    s.create_node(json!({"name": "elsewhere"}));
    s.put("/v1/nodes/c-n2/maintenance", LATEST, &json!({}))
        .expect(202);

    // The short node list, limited to the chassis and paged with [api] max_limit.
    let first = s
        .get(&format!("/v1/chassis/{id}/nodes"), LATEST)
        .expect(200)
        .body
        .clone();
    let names: Vec<&str> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c-n1", "c-n2"]);
    assert!(first["nodes"][0].get("driver").is_none(), "short form");
    let next = first["next"].as_str().expect("next link");
    assert!(
        next.starts_with(&format!("{}/v1/chassis/{id}/nodes?", s.base)),
        "{next}"
    );
    let rest = s
        .get(next.strip_prefix(&s.base).unwrap(), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(rest["nodes"][0]["name"], "c-n3");
    assert_eq!(rest["nodes"].as_array().unwrap().len(), 1);
    // The detailed form, and the node list's own filters.
    let detail = s
        .get(&format!("/v1/chassis/{id}/nodes/detail"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(detail["nodes"][0]["chassis_uuid"], json!(id));
    assert_eq!(detail["nodes"][0]["driver"], "fake-hardware");
    let maint = s
        .get(&format!("/v1/chassis/{id}/nodes?maintenance=true"), LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(maint["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(maint["nodes"][0]["name"], "c-n2");
    let none = s
        .get(
            &format!("/v1/chassis/{}/nodes", empty["uuid"].as_str().unwrap()),
            NOVER,
        )
        .expect(200)
        .body
        .clone();
    assert_eq!(none["nodes"], json!([]));
    s.get("/v1/chassis/not-a-uuid/nodes", LATEST)
        .expect_fault(400, "Expected UUID");
    s.get(
        "/v1/chassis/1b4e28ba-2fa1-11d2-883f-0016d3cca427/nodes",
        LATEST,
    )
    .expect_fault(404, "could not be found");
    assert_eq!(
        s.get(
            &format!("/v1/chassis/{id}/nodes/detail?detail=true"),
            LATEST
        )
        .status,
        400
    );

    // A chassis that holds nodes is kept.
    let r = s.delete(&format!("/v1/chassis/{id}"), LATEST);
    r.expect_fault(400, "contains nodes");
    assert_eq!(s.get(&format!("/v1/chassis/{id}"), LATEST).status, 200);
    for n in &inside {
        s.patch(
            &format!("/v1/nodes/{n}"),
            LATEST,
            &json!([{"op": "remove", "path": "/chassis_uuid"}]),
        )
        .expect(200);
    }
    s.delete(&format!("/v1/chassis/{id}"), LATEST).expect(204);
}

#[test]
fn query_checks() {
    let s = Server::start();
    let c = chassis(&s, json!({"description": "q"}));
    let path = format!("/v1/chassis/{}", c["uuid"].as_str().unwrap());
    for (p, version, status) in [
        (format!("{path}?fields=description"), Some("1.7"), 406),
        (format!("{path}?fields=description"), Some("1.8"), 200),
        (format!("{path}?fields=colour"), LATEST, 400),
        ("/v1/chassis?fields=uuid".to_owned(), Some("1.7"), 406),
        ("/v1/chassis?detail=true".to_owned(), Some("1.42"), 400),
        ("/v1/chassis?detail=maybe".to_owned(), LATEST, 400),
        (
            "/v1/chassis?detail=true&fields=uuid".to_owned(),
            LATEST,
            400,
        ),
        ("/v1/chassis/detail?detail=true".to_owned(), LATEST, 400),
        ("/v1/chassis?colour=red".to_owned(), LATEST, 400),
        ("/v1/chassis?sort_key=extra".to_owned(), LATEST, 400),
        ("/v1/chassis?sort_key=description".to_owned(), LATEST, 200),
        ("/v1/chassis?sort_dir=up".to_owned(), LATEST, 400),
        ("/v1/chassis?limit=-1".to_owned(), LATEST, 400),
        ("/v1/chassis?marker=nope".to_owned(), LATEST, 400),
        (
            "/v1/chassis?marker=1b4e28ba-2fa1-11d2-883f-0016d3cca427".to_owned(),
            LATEST,
            404,
        ),
        ("/v1/chassis/not-a-uuid".to_owned(), LATEST, 400),
    ] {
        let r = s.get(&p, version);
        assert_eq!(r.status, status, "{p} at {version:?}: {}", r.text);
        if status >= 400 {
            assert_error_format(&r);
        }
    }
    // Methods a path does not serve.
    for (method, p) in [
        (reqwest::Method::PUT, "/v1/chassis".to_owned()),
        (reqwest::Method::DELETE, "/v1/chassis".to_owned()),
        (reqwest::Method::POST, format!("{path}/nodes")),
    ] {
        let r = s.request(method.clone(), &p, LATEST, &[], None);
        assert_eq!(r.status, 405, "{method} {p}: {}", r.text);
        assert_error_format(&r);
    }
}
