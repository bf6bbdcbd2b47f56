//! The same service on each database m2 supports: SQLite (every other test), and here
//! PostgreSQL and MariaDB/MySQL. Each test makes a fresh database on the server named
//! by `M2_TEST_POSTGRES_URL` / `M2_TEST_MYSQL_URL`, migrates it with `m2 dbsync`, runs
//! the real binary on it and drops the database afterwards.

mod common;

use std::time::Duration;

use common::*;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// A database created for one test and dropped when the test ends.
struct TempDb {
    admin_url: String,
    name: String,
    /// The URL of the new database, in the oslo.db spelling an operator writes.
    oslo_url: String,
}

impl TempDb {
    fn create(admin_url: &str, oslo_scheme: &str) -> Option<TempDb> {
        let name = format!("m2_test_{}", random_suffix());
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let created = rt.block_on(async {
            let db = Database::connect(admin_url).await?;
            db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            db.close().await
        });
        if let Err(e) = created {
            eprintln!("cannot create a database on {admin_url}: {e}");
            return None;
        }
        // postgres://user@host:port/db -> <oslo_scheme>://user@host:port/<name>
        let rest = admin_url.split_once("://").map(|(_, r)| r).unwrap_or("");
        let server = rest.rsplit_once('/').map(|(s, _)| s).unwrap_or(rest);
        Some(TempDb {
            admin_url: admin_url.to_owned(),
            oslo_url: format!("{oslo_scheme}://{server}/{name}"),
            name,
        })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = rt.block_on(async move {
            let db = Database::connect(&url).await?;
            db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await?;
            db.close().await
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn backend(test: &str, env: &str, default: &str, oslo_scheme: &str) -> Option<TempDb> {
    let url = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    let db = TempDb::create(&url, oslo_scheme);
    if db.is_none() {
        skip(test, &format!("no database server at {url} (set {env})"));
    }
    db
}

/// The whole service on one database: migrations, node and port life, constraint
/// errors as Ironic's 409s, paging, a deploy, and data kept across a restart.
fn exercise(db: &TempDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let extra = format!("[database]\nconnection = {}\n", db.oslo_url);
    let conf = write_config(dir.path(), &extra);
    for _ in 0..2 {
        let (ok, out, err) = run_m2(&conf, &["dbsync"]);
        assert!(ok, "dbsync failed on {}:\n{out}\n{err}", db.oslo_url);
    }

    let mut s = Server::start_with(&extra);
    let mut uuids = Vec::new();
    for i in 0..25 {
        let n = s.create_node(json!({"name": format!("db-node-{i:02}"), "extra": {"i": i}}));
        uuids.push(n["uuid"].as_str().unwrap().to_owned());
    }
    // Unique constraints surface as Ironic's 409s on every backend.
    s.post(
        "/v1/nodes",
        LATEST,
        &json!({"driver": "fake-hardware", "name": "db-node-03"}),
    )
    .expect_fault(409, "already exists");
    s.post(
        "/v1/ports",
        LATEST,
        &json!({"node_uuid": uuids[0], "address": "52:54:00:12:34:56"}),
    )
    .expect(201);
    s.post(
        "/v1/ports",
        LATEST,
        &json!({"node_uuid": uuids[1], "address": "52:54:00:12:34:56"}),
    )
    .expect_fault(409, "already exists");

    // Paging by name, both directions, through `next` links.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/v1/nodes?limit=7&sort_key=name&sort_dir=desc".to_owned();
    loop {
        let page = s.get(&path, LATEST).expect(200).body.clone();
        for n in page["nodes"].as_array().unwrap() {
            seen.push(n["name"].as_str().unwrap().to_owned());
        }
        match page.get("next").and_then(Value::as_str) {
            Some(next) => path = next.trim_start_matches(&s.base).to_owned(),
            None => break,
        }
    }
    let mut want: Vec<String> = (0..25).map(|i| format!("db-node-{i:02}")).collect();
    want.reverse();
    assert_eq!(seen, want);

    // JSON columns round-trip; PATCH under the lock.
    let id = &uuids[5];
    s.patch(
        &format!("/v1/nodes/{id}"),
        LATEST,
        &json!([{"op": "add", "path": "/extra/rack", "value": {"row": 3, "tags": ["a", "b"]}}]),
    )
    .expect(200);
    assert_eq!(
        s.node(id)["extra"],
        json!({"i": 5, "rack": {"row": 3, "tags": ["a", "b"]}})
    );

    // A deploy and an undeploy with fake-hardware.
    for verb in ["manage", "provide"] {
        s.provision(id, json!({"target": verb}));
        s.wait_for(id, Duration::from_secs(30), |n| {
            n["target_provision_state"].is_null()
        })
        .unwrap_or_else(|n| panic!("{verb} did not settle: {n}"));
    }
    s.provision(id, json!({"target": "active"}));
    let n = s.wait_for_state(id, "provision_state", "active", Duration::from_secs(30));
    assert!(n["reservation"].is_null(), "{n}");
    let filtered = s
        .get("/v1/nodes?provision_state=active", LATEST)
        .expect(200)
        .body
        .clone();
    assert_eq!(filtered["nodes"].as_array().unwrap().len(), 1);
    s.provision(id, json!({"target": "deleted"}));
    s.wait_for_state(id, "provision_state", "available", Duration::from_secs(30));

    s.delete(&format!("/v1/nodes/{}", uuids[24]), LATEST)
        .expect(204);

    // Everything is still there after a restart.
    s.stop();
    let s = Server::start_with(&extra);
    assert_eq!(s.all_node_uuids().len(), 24);
    assert_eq!(s.node(id)["extra"]["rack"]["tags"], json!(["a", "b"]));
    assert_eq!(s.node(id)["provision_state"], "available");
}

#[test]
fn postgresql() {
    if let Some(db) = backend(
        "postgresql",
        "M2_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg2",
    ) {
        exercise(&db);
    }
}

#[test]
fn mariadb() {
    if let Some(db) = backend(
        "mariadb",
        "M2_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/test",
        "mysql+pymysql",
    ) {
        exercise(&db);
    }
}
