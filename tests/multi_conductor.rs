//! m2 as separate processes: `m2 api` and several `m2 conductor`, talking through a
//! RabbitMQ node, sharing a PostgreSQL database, both private to the test (see
//! `common::backends`). Covers the distribution of nodes over conductors, take-over
//! when a conductor dies or stops, and broker and database faults.
//!
//! Each test skips (loudly; fails in CI) when RabbitMQ or PostgreSQL is not
//! installed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::backends::{Postgres, RabbitMq, signal};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Settings every process of a test cluster shares: short heartbeats and intervals,
/// so that take-overs happen within seconds.
fn base_config(mq: &RabbitMq, pg: &Postgres, extra: &str) -> String {
    format!(
        "[DEFAULT]\n\
         rpc_transport = amqp\n\
         transport_url = {}\n\
         rpc_response_timeout = 10\n\
         hash_ring_reset_interval = 1\n\
         [conductor]\n\
         automated_clean = false\n\
         heartbeat_interval = 1\n\
         heartbeat_timeout = 5\n\
         check_provision_state_interval = 2\n\
         sync_local_state_interval = 2\n\
         graceful_shutdown_timeout = 15\n\
         [database]\n\
         connection = {}\n\
         {extra}",
        mq.url(),
        pg.url()
    )
}

/// A `m2 conductor` process.
struct Conductor {
    host: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Conductor {
    fn start(host: &str, config: &str) -> Conductor {
        let dir = tempfile::Builder::new()
            .prefix("m2-conductor-")
            .tempdir()
            .unwrap();
        let conf = write_config(dir.path(), &format!("{config}\n[DEFAULT]\nhost = {host}\n"));
        let stderr = std::fs::File::create(dir.path().join("m2.stderr")).unwrap();
        let mut child = Command::new(M2)
            .arg("--config-file")
            .arg(&conf)
            .arg("conductor")
            .env("NO_COLOR", "1")
            .env_remove("M2_CONFIG_FILE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn m2 conductor");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("m2 conductor ") {
                    let _ = tx.send(());
                }
            }
        });
        let mut c = Conductor {
            host: host.to_owned(),
            child: Some(child),
            dir,
        };
        if rx.recv_timeout(START_TIMEOUT).is_err() {
            let log = c.log();
            c.kill();
            panic!("conductor {host} did not start:\n{log}");
        }
        c
    }

    fn log(&self) -> String {
        strip_ansi(&std::fs::read_to_string(self.dir.path().join("m2.stderr")).unwrap_or_default())
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the process to exit, at most `limit`.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Conductor {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "--- conductor {} stderr (last 60 lines) ---\n{}",
                self.host,
                lines[lines.len().saturating_sub(60)..].join("\n")
            );
        }
        self.kill();
    }
}

/// One API, some conductors, a broker and a database.
struct Cluster {
    // Dropped in this order: processes first, then the services.
    api: Arc<Server>,
    conductors: Vec<Conductor>,
    /// The configuration every process got (without its host).
    config: String,
    mq: RabbitMq,
    pg: Postgres,
}

impl Cluster {
    /// Starts the services, `m2 dbsync`, `conductors` conductors named c1, c2, ...
    /// and one API, with `extra` (INI text) in every configuration. `None` when
    /// RabbitMQ or PostgreSQL is not installed (the test is skipped).
    fn start(test: &str, conductors: usize, extra: &str) -> Option<Cluster> {
        let Some(mq) = RabbitMq::start() else {
            skip(test, "rabbitmq-server is not installed");
            return None;
        };
        let Some(pg) = Postgres::start() else {
            skip(test, "PostgreSQL is not installed");
            return None;
        };
        let config = base_config(&mq, &pg, extra);
        let dir = tempfile::tempdir().unwrap();
        let conf = write_config(dir.path(), &config);
        let (ok, out, err) = run_m2(&conf, &["dbsync"]);
        assert!(ok, "dbsync failed:\n{out}\n{err}");
        let conductors: Vec<Conductor> = (1..=conductors)
            .map(|i| Conductor::start(&format!("c{i}"), &config))
            .collect();
        let api = Arc::new(Server::start_command(
            &format!("{config}\n[DEFAULT]\nhost = api-1\n"),
            |_| vec!["api".into()],
        ));
        let cluster = Cluster {
            api,
            conductors,
            config,
            mq,
            pg,
        };
        let hosts: Vec<String> = cluster.conductors.iter().map(|c| c.host.clone()).collect();
        cluster.wait_alive(&hosts, Duration::from_secs(60));
        Some(cluster)
    }

    /// Conductors `/v1/conductors` shows alive.
    fn alive(&self) -> Vec<String> {
        let r = self.api.get("/v1/conductors", LATEST);
        if r.status != 200 {
            return Vec::new();
        }
        let mut alive: Vec<String> = r.body["conductors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["alive"] == json!(true))
            .map(|c| c["hostname"].as_str().unwrap().to_owned())
            .collect();
        alive.sort();
        alive
    }

    /// Waits until exactly `hosts` are alive.
    #[track_caller]
    fn wait_alive(&self, hosts: &[String], limit: Duration) {
        let mut want = hosts.to_vec();
        want.sort();
        let deadline = Instant::now() + limit;
        loop {
            let alive = self.alive();
            if alive == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "alive conductors {alive:?}, expected {want:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every node, in full.
    fn nodes(&self) -> Vec<Value> {
        let r = self.api.get("/v1/nodes/detail?limit=1000", LATEST);
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["nodes"].as_array().unwrap().clone()
    }

    /// Creates `n` nodes and brings them to `available`.
    fn available_nodes(&self, n: usize) -> Vec<String> {
        let ids: Vec<String> = (0..n)
            .map(|i| {
                self.api.create_node(json!({"name": format!("node-{i}")}))["uuid"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        for id in &ids {
            self.api.provision(id, json!({"target": "manage"}));
        }
        self.wait_nodes("manageable", Duration::from_secs(60), |n| {
            n["provision_state"] == "manageable"
        });
        for id in &ids {
            self.api.provision(id, json!({"target": "provide"}));
        }
        self.wait_nodes("available", Duration::from_secs(60), |n| {
            n["provision_state"] == "available" && n["reservation"].is_null()
        });
        ids
    }

    /// Waits until `pred` holds for every node; returns them.
    #[track_caller]
    fn wait_nodes(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let nodes = self.nodes();
            if nodes.iter().all(&pred) {
                return nodes;
            }
            if Instant::now() >= deadline {
                let bad: Vec<String> = nodes
                    .iter()
                    .filter(|n| !pred(n))
                    .take(5)
                    .map(|n| {
                        format!(
                            "{} {} -> {} reservation={} conductor={} last_error={}",
                            n["uuid"],
                            n["provision_state"],
                            n["target_provision_state"],
                            n["reservation"],
                            n["conductor"],
                            n["last_error"]
                        )
                    })
                    .collect();
                panic!(
                    "not every node is {what} after {limit:?}; for example:\n{}",
                    bad.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn conductor(&mut self, host: &str) -> &mut Conductor {
        self.conductors
            .iter_mut()
            .find(|c| c.host == host)
            .expect("known conductor")
    }
}

/// Is the node at rest after a deploy: active or deploy failed (which keeps its
/// target, as in Ironic), not reserved?
fn settled_after_deploy(n: &Value) -> bool {
    let resting = (n["provision_state"] == "active" && n["target_provision_state"].is_null())
        || n["provision_state"] == "deploy failed";
    resting && n["reservation"].is_null()
}

/// Asks for a deploy of `id` until one was accepted, retrying on answers that say
/// "not now" (503, 409). A 400 after an earlier 503 means an earlier attempt was
/// accepted after all (the node moved on). Returns the longest time one request
/// took; `refused` counts the 503s.
fn deploy_until_accepted(
    api: &Server,
    id: &str,
    limit: Duration,
    refused: &AtomicUsize,
) -> Duration {
    let deadline = Instant::now() + limit;
    let mut slowest = Duration::ZERO;
    loop {
        let started = Instant::now();
        let r = api.put(
            &format!("/v1/nodes/{id}/states/provision"),
            LATEST,
            &json!({"target": "active"}),
        );
        slowest = slowest.max(started.elapsed());
        match r.status {
            202 => return slowest,
            503 | 409 | 400 => {
                assert_error_format(&r);
                if r.status == 503 {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
                let state = api.get(&format!("/v1/nodes/{id}"), LATEST);
                if state.status == 200 && state.body["provision_state"] != "available" {
                    return slowest;
                }
            }
            other => panic!("deploy of {id}: unexpected HTTP {other}: {}", r.text),
        }
        assert!(
            Instant::now() < deadline,
            "deploy of {id} never accepted within {limit:?}; last answer {}: {}",
            r.status,
            r.text
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Sends the deploys of `ids` from `workers` threads, one every `pace` per thread;
/// `tick` counts accepted ones, `refused` the 503 answers. Returns the longest time
/// one request took.
fn deploy_burst(
    api: &Arc<Server>,
    ids: &[String],
    workers: usize,
    pace: Duration,
    tick: &Arc<AtomicUsize>,
    refused: &Arc<AtomicUsize>,
) -> Duration {
    let chunks: Vec<Vec<String>> = ids
        .chunks(ids.len().div_ceil(workers))
        .map(|c| c.to_vec())
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (api, tick, refused) = (api.clone(), tick.clone(), refused.clone());
            std::thread::spawn(move || {
                let mut slowest = Duration::ZERO;
                for id in chunk {
                    let took = deploy_until_accepted(&api, &id, Duration::from_secs(180), &refused);
                    slowest = slowest.max(took);
                    tick.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(pace);
                }
                slowest
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("deploy worker"))
        .max()
        .unwrap_or_default()
}

/// How many "to=active" transitions a conductor logged.
fn activations(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("provision state change") && l.contains("to=active"))
        .count()
}

#[test]
fn two_conductors_share_fifty_deploys() {
    let Some(c) = Cluster::start(
        "two_conductors_share_fifty_deploys",
        2,
        "[fake]\ndeploy_delay = 0.5\n",
    ) else {
        return;
    };
    let ids = c.available_nodes(50);
    for id in &ids {
        c.api.provision(id, json!({"target": "active"}));
    }
    let nodes = c.wait_nodes("active", Duration::from_secs(120), |n| {
        n["provision_state"] == "active" && n["reservation"].is_null()
    });
    let on = |host: &str| nodes.iter().filter(|n| n["conductor"] == host).count();
    let (c1, c2) = (on("c1"), on("c2"));
    assert_eq!(c1 + c2, 50, "every node has a conductor");
    assert!(c1 >= 10 && c2 >= 10, "uneven share: c1 {c1}, c2 {c2}");
    // The conductor the API shows is the one that did the work.
    let (l1, l2) = (c.conductors[0].log(), c.conductors[1].log());
    assert_eq!(activations(&l1), c1, "deploys logged by c1");
    assert_eq!(activations(&l2), c2, "deploys logged by c2");
    for n in &nodes {
        let uuid = n["uuid"].as_str().unwrap();
        let log = if n["conductor"] == "c1" { &l1 } else { &l2 };
        assert!(
            log.contains(uuid),
            "node {uuid} not in the log of {}",
            n["conductor"]
        );
    }
}

#[test]
fn killed_conductor_nodes_are_taken_over() {
    let Some(mut c) = Cluster::start(
        "killed_conductor_nodes_are_taken_over",
        2,
        "[fake]\ndeploy_delay = 4\n",
    ) else {
        return;
    };
    let ids = c.available_nodes(50);
    for id in &ids {
        c.api.provision(id, json!({"target": "active"}));
    }
    let before = c.nodes();
    let on_c1: Vec<String> = before
        .iter()
        .filter(|n| n["conductor"] == "c1")
        .map(|n| n["uuid"].as_str().unwrap().to_owned())
        .collect();
    assert!(!on_c1.is_empty(), "c1 owns no node");
    std::thread::sleep(Duration::from_millis(500));
    let killed = Instant::now();
    let pid = c.conductor("c1").pid();
    signal(pid, "KILL", false);
    c.conductor("c1").wait_exit(Duration::from_secs(10));
    let nodes = c.wait_nodes("settled and owned by c2", Duration::from_secs(60), |n| {
        settled_after_deploy(n) && n["conductor"] == "c2"
    });
    eprintln!("settled {:?} after the kill", killed.elapsed());
    assert_eq!(nodes.len(), 50, "no node lost");
    for n in &nodes {
        let uuid = n["uuid"].as_str().unwrap();
        if on_c1.iter().any(|u| u == uuid) {
            // Mid-deploy on c1 when it died: failed, with a message naming c1.
            assert_eq!(n["provision_state"], "deploy failed", "{n}");
            let err = n["last_error"].as_str().unwrap_or("");
            assert!(err.contains("c1"), "last_error names c1: {err}");
        } else {
            assert_eq!(n["provision_state"], "active", "{n}");
        }
    }
    c.wait_alive(&["c2".to_owned()], Duration::from_secs(10));
    // The nodes can be deployed again, by the survivor.
    let again = &on_c1[0];
    c.api.provision(again, json!({"target": "active"}));
    c.api
        .wait_for_state(again, "provision_state", "active", Duration::from_secs(30));

    // c1 comes back: it takes its share again, adopting the active nodes mapped to
    // it, without changing any node's state.
    let states: Vec<(Value, Value)> = c
        .nodes()
        .iter()
        .map(|n| (n["uuid"].clone(), n["provision_state"].clone()))
        .collect();
    let config = c.config.clone();
    c.conductors[0] = Conductor::start("c1", &config);
    c.wait_alive(&["c1".to_owned(), "c2".to_owned()], Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let nodes = c.nodes();
        let on_c1 = nodes.iter().filter(|n| n["conductor"] == "c1").count();
        let adopted = c.conductors[0]
            .log()
            .lines()
            .filter(|l| l.contains("took over active node"))
            .count();
        if on_c1 > 0 && adopted > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "c1 back: owns {on_c1} nodes, adopted {adopted}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let after: Vec<(Value, Value)> = c
        .nodes()
        .iter()
        .map(|n| (n["uuid"].clone(), n["provision_state"].clone()))
        .collect();
    assert_eq!(states, after, "a node changed state when c1 came back");
}

#[test]
fn rabbitmq_restart_during_a_burst_of_deploys() {
    let Some(mut c) = Cluster::start(
        "rabbitmq_restart_during_a_burst_of_deploys",
        2,
        "[fake]\ndeploy_delay = 1\n",
    ) else {
        return;
    };
    let ids = c.available_nodes(100);
    let (tick, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let api = c.api.clone();
    let burst = {
        let (tick, refused) = (tick.clone(), refused.clone());
        // About 8 s of requests: the broker stops well inside the burst.
        let pace = Duration::from_millis(300);
        std::thread::spawn(move || deploy_burst(&api, &ids, 4, pace, &tick, &refused))
    };
    while tick.load(Ordering::SeqCst) < 12 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped_at = tick.load(Ordering::SeqCst);
    c.mq.stop();
    std::thread::sleep(Duration::from_secs(2));
    c.mq.start_again();
    let slowest = burst.join().expect("burst");
    assert!(
        slowest < Duration::from_secs(15),
        "a request took {slowest:?}"
    );
    // The restart did fall in the middle of the burst.
    let refused = refused.load(Ordering::SeqCst);
    eprintln!("{stopped_at} deploys accepted when the broker stopped; {refused} answers 503");
    assert!(refused > 0, "no request met the outage");
    let nodes = c.wait_nodes(
        "active or deploy failed",
        Duration::from_secs(120),
        settled_after_deploy,
    );
    assert_eq!(nodes.len(), 100);
}

#[test]
fn postgres_restart_under_load() {
    let Some(mut c) = Cluster::start(
        "postgres_restart_under_load",
        2,
        "[fake]\ndeploy_delay = 2\n",
    ) else {
        return;
    };
    let ids = c.available_nodes(60);
    let (tick, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let api = c.api.clone();
    let burst = {
        let (tick, refused) = (tick.clone(), refused.clone());
        let pace = Duration::from_millis(100);
        std::thread::spawn(move || deploy_burst(&api, &ids, 4, pace, &tick, &refused))
    };
    while tick.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Deploys are running (2 s each): their final writes meet the outage.
    c.pg.stop();
    let down = Instant::now();
    // Meanwhile the API answers, with 503, within a bound.
    let mut unavailable = 0;
    while down.elapsed() < Duration::from_secs(4) {
        let started = Instant::now();
        let r = c.api.get("/v1/nodes", LATEST);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(12), "GET took {took:?}");
        if r.status != 200 {
            assert_eq!(r.status, 503, "{}", r.text);
            assert_error_format(&r);
            unavailable += 1;
        }
    }
    assert!(
        unavailable > 0,
        "the API never noticed the database was down"
    );
    c.pg.start_again();
    let slowest = burst.join().expect("burst");
    assert!(
        slowest < Duration::from_secs(20),
        "a request took {slowest:?}"
    );
    let nodes = c.wait_nodes(
        "active or deploy failed",
        Duration::from_secs(120),
        settled_after_deploy,
    );
    assert_eq!(nodes.len(), 60);
    // The deploys that were running kept retrying their writes: none failed.
    let failed: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["provision_state"] != "active")
        .collect();
    assert!(failed.is_empty(), "deploys failed: {failed:?}");
}

#[test]
fn rabbitmq_down_fails_fast_and_reads_still_work() {
    let Some(mut c) = Cluster::start("rabbitmq_down_fails_fast_and_reads_still_work", 1, "") else {
        return;
    };
    let id = c.api.create_node(json!({"name": "n1"}))["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let power = format!("/v1/nodes/{id}/states/power");
    // Until the API's own connection to the bus is up it answers 503 too.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.api.put(&power, LATEST, &json!({"target": "power on"}));
        if r.status == 202 {
            break;
        }
        r.expect_fault(503, "message bus");
        assert!(Instant::now() < deadline, "the API never reached the bus");
        std::thread::sleep(Duration::from_millis(200));
    }
    c.mq.stop();
    // Give the API a moment to see the connection close.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..3 {
        let started = Instant::now();
        let r = c.api.put(&power, LATEST, &json!({"target": "power off"}));
        let took = started.elapsed();
        r.expect_fault(503, "message bus");
        assert_error_format(&r);
        assert!(took < Duration::from_secs(3), "503 took {took:?}");
        let list = c.api.get("/v1/nodes", LATEST).expect(200);
        assert_eq!(list.body["nodes"].as_array().unwrap().len(), 1);
        c.api.node(&id);
        c.api.get("/v1/conductors", LATEST).expect(200);
    }
    // Back to service once the broker is back: both sides reconnect.
    c.mq.start_again();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c.api.put(&power, LATEST, &json!({"target": "power off"}));
        if r.status == 202 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(Instant::now() < deadline, "no recovery: {}", r.text);
        std::thread::sleep(Duration::from_millis(500));
    }
    c.api
        .wait_for_state(&id, "power_state", "power off", Duration::from_secs(10));
}

#[test]
fn sigterm_conductor_deregisters_and_hands_over() {
    let Some(mut c) = Cluster::start(
        "sigterm_conductor_deregisters_and_hands_over",
        2,
        "[fake]\ndeploy_delay = 2\n",
    ) else {
        return;
    };
    let ids = c.available_nodes(30);
    for id in &ids[..20] {
        c.api.provision(id, json!({"target": "active"}));
    }
    c.wait_nodes("deployed", Duration::from_secs(60), |n| {
        n["provision_state"] != "deploying" && n["reservation"].is_null()
    });
    // More deploys, then SIGTERM to c1 while some of them run on it.
    for id in &ids[20..] {
        c.api.provision(id, json!({"target": "active"}));
    }
    let on_c1 = c.nodes().iter().filter(|n| n["conductor"] == "c1").count();
    assert!(on_c1 > 0, "c1 owns no node");
    let stopped = Instant::now();
    signal(c.conductor("c1").pid(), "TERM", false);
    // It goes offline at once (the ring moves), then finishes its deploys.
    c.wait_alive(&["c2".to_owned()], Duration::from_secs(5));
    let status = c
        .conductor("c1")
        .wait_exit(Duration::from_secs(40))
        .expect("c1 exits after SIGTERM");
    assert!(status.success(), "c1 exit status {status:?}");
    eprintln!("c1 stopped in {:?}", stopped.elapsed());
    let log = c.conductor("c1").log();
    assert!(log.contains("conductor stopping"), "{log}");
    assert!(log.contains("conductor stopped"), "{log}");
    // Its deploys finished within the grace period; c2 owns and adopted everything.
    let nodes = c.wait_nodes("active and owned by c2", Duration::from_secs(30), |n| {
        n["provision_state"] == "active" && n["reservation"].is_null() && n["conductor"] == "c2"
    });
    assert_eq!(nodes.len(), 30);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let adopted = c.conductors[1]
            .log()
            .lines()
            .filter(|l| l.contains("took over active node"))
            .count();
        if adopted >= on_c1.min(20) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "c2 adopted {adopted} nodes, c1 had {on_c1}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Requests for c1's former nodes reach c2.
    let r = c.api.request(
        Method::PUT,
        &format!("/v1/nodes/{}/states/power", ids[0]),
        LATEST,
        &[],
        Some(serde_json::to_vec(&json!({"target": "power off"})).unwrap()),
    );
    assert_eq!(r.status, 202, "{}", r.text);
}
