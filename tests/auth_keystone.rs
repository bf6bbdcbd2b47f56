//! `auth_strategy = keystone` against a real Keystone (tests/common/keystone.rs): the
//! real `m2` binary validates tokens with it, and Ironic's default policy decides
//! what each caller may see and do. Keystone is bootstrapped once for the whole
//! scenario, which runs as one test; the tests that need no Keystone run apart.

mod common;

use std::process::Command;

use common::keystone::{self, Keystone};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The m2 configuration for a Keystone at `url`, with m2's service user.
fn keystone_config(url: &str, extra: &str) -> String {
    format!(
        "[DEFAULT]\n\
         auth_strategy = keystone\n\
         [keystone_authtoken]\n\
         www_authenticate_uri = {url}\n\
         auth_type = password\n\
         auth_url = {url}\n\
         username = m2\n\
         password = m2-secret\n\
         project_name = service\n\
         user_domain_name = Default\n\
         project_domain_name = Default\n\
         {extra}"
    )
}

/// A request with a token.
fn call(s: &Server, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
    s.request(
        method,
        path,
        LATEST,
        &[("X-Auth-Token", token)],
        body.map(|b| serde_json::to_vec(&b).unwrap()),
    )
}

fn get(s: &Server, token: &str, path: &str) -> Resp {
    call(s, token, Method::GET, path, None)
}

/// Polls a node (as `token`'s caller) until its provision state is `want`.
fn wait_state(s: &Server, token: &str, node: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = get(s, token, &format!("/v1/nodes/{node}")).expect(200);
        if r.body["provision_state"] == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node {node} did not become {want}: {}",
            r.text
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn uuids(r: &Resp, key: &str) -> Vec<String> {
    let mut v: Vec<String> = r.body[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {}", r.text))
        .iter()
        .map(|n| n["uuid"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn missing_token_is_refused_before_keystone_is_asked() {
    // Nothing listens at this Keystone: a request without a token never reaches it.
    let s = Server::start_with(&keystone_config("http://127.0.0.1:9", ""));
    for path in ["/v1/nodes", "/v1/drivers", "/v1/nonexistent"] {
        let r = s.get(path, LATEST);
        r.expect_fault(401, "requires authentication");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Keystone uri='http://127.0.0.1:9'"),
            "{path}"
        );
        assert_error_format(&r);
    }
    // The version documents and the boot scripts stay public, as in Ironic.
    s.get("/", NOVER).expect(200);
    s.get("/v1", NOVER).expect(200);
    s.get("/v1/", NOVER).expect(200);
    let r = s.get("/boot/boot.ipxe", NOVER).expect(200);
    assert!(r.text.starts_with("#!ipxe"), "{}", r.text);
}

#[test]
fn unreachable_keystone_is_a_503() {
    let s = Server::start_with(&keystone_config(
        "http://127.0.0.1:9",
        "http_request_max_retries = 0\nhttp_connect_timeout = 2\n",
    ));
    let r = get(&s, "some-token", "/v1/nodes");
    r.expect_fault(503, "Identity service is unavailable");
    assert_error_format(&r);
}

#[test]
fn policy_file_is_read_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("policy.yaml");
    std::fs::write(
        &good,
        "# operator rules\n\"baremetal:node:delete\": \"role:admin\"\n",
    )
    .unwrap();
    let s = Server::start_with(&format!(
        "[oslo_policy]\npolicy_file = {}\n",
        good.display()
    ));
    s.get("/v1/nodes", LATEST).expect(200);
    // A broken policy file stops m2 with a message naming the file and the rule.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "\"baremetal:node:get\": \"role:admin or\"\n").unwrap();
    let started = std::panic::catch_unwind(|| {
        Server::start_with(&format!("[oslo_policy]\npolicy_file = {}\n", bad.display()))
    });
    let msg = match started {
        Ok(_) => panic!("m2 started with a broken policy file"),
        Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(
        msg.contains("bad.yaml") && msg.contains("baremetal:node:get"),
        "{msg}"
    );
}

/// Users of the scenario, each with the token of its scope.
struct Caller {
    token: String,
}

#[test]
fn keystone_tokens_and_ironic_policy() {
    let ks = match Keystone::start() {
        Ok(ks) => ks,
        Err(why) => {
            skip("keystone_tokens_and_ironic_policy", &why);
            return;
        }
    };
    // m2's service user, two projects and their users, as an operator would set up.
    let service = ks.create_project("service");
    let m2 = ks.create_user("m2", "m2-secret");
    ks.grant(&service, &m2, "service");
    let owner = ks.create_project("owner-a");
    let lessee = ks.create_project("lessee-b");
    let alice = ks.create_user("alice", "alice-pw");
    ks.grant(&owner, &alice, "member");
    let carol = ks.create_user("carol", "carol-pw");
    ks.grant(&owner, &carol, "reader");
    let bob = ks.create_user("bob", "bob-pw");
    ks.grant(&lessee, &bob, "manager");
    let project = |id: &str| json!({"project": {"id": id}});
    let admin = Caller {
        token: ks.admin_token(),
    };
    let alice = Caller {
        token: ks.token("alice", "alice-pw", project(&owner)),
    };
    let carol = Caller {
        token: ks.token("carol", "carol-pw", project(&owner)),
    };
    let bob = Caller {
        token: ks.token("bob", "bob-pw", project(&lessee)),
    };

    let s = Server::start_with(&keystone_config(&ks.url, ""));

    // --- 401: no token, a token Keystone does not know.
    for token in [None, Some("not-a-token"), Some("")] {
        let headers: Vec<(&str, &str)> = token.map(|t| ("X-Auth-Token", t)).into_iter().collect();
        let r = s.request(Method::GET, "/v1/nodes", LATEST, &headers, None);
        r.expect_fault(401, "requires authentication");
        assert_eq!(
            r.header("www-authenticate"),
            Some(format!("Keystone uri='{}'", ks.url).as_str())
        );
    }
    // A service token Keystone does not know is refused too.
    let r = s.request(
        Method::GET,
        "/v1/nodes",
        LATEST,
        &[("X-Auth-Token", &admin.token), ("X-Service-Token", "bogus")],
        None,
    );
    r.expect_fault(401, "requires authentication");

    // --- The system admin creates and sees everything.
    let node1 = call(
        &s,
        &admin.token,
        Method::POST,
        "/v1/nodes",
        Some(
            json!({"driver": "fake-hardware", "name": "node-1", "owner": owner,
                "lessee": lessee, "driver_info": {"ipmi_address": "10.0.0.1"}}),
        ),
    )
    .expect(201)
    .body["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let node2 = call(
        &s,
        &admin.token,
        Method::POST,
        "/v1/nodes",
        Some(json!({"driver": "fake-hardware", "name": "node-2"})),
    )
    .expect(201)
    .body["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut both = vec![node1.clone(), node2.clone()];
    both.sort();
    assert_eq!(
        uuids(&get(&s, &admin.token, "/v1/nodes").expect(200), "nodes"),
        both
    );
    get(&s, &admin.token, "/v1/drivers").expect(200);
    get(&s, &admin.token, "/v1/chassis").expect(200);
    get(&s, &admin.token, "/v1/conductors").expect(200);
    for (node, mac) in [(&node1, "52:54:00:00:00:01"), (&node2, "52:54:00:00:00:02")] {
        call(
            &s,
            &admin.token,
            Method::POST,
            "/v1/ports",
            Some(json!({"node_uuid": node, "address": mac})),
        )
        .expect(201);
    }
    let port2 = get(&s, &admin.token, "/v1/ports?address=52:54:00:00:00:02")
        .expect(200)
        .body["ports"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();

    // --- The owner project's member sees its node only; the other is concealed.
    let r = get(&s, &alice.token, "/v1/nodes").expect(200);
    assert_eq!(uuids(&r, "nodes"), vec![node1.clone()]);
    assert_eq!(
        uuids(
            &get(&s, &alice.token, "/v1/nodes/detail").expect(200),
            "nodes"
        ),
        vec![node1.clone()]
    );
    get(&s, &alice.token, &format!("/v1/nodes/{node1}")).expect(200);
    get(&s, &alice.token, "/v1/nodes/node-1").expect(200);
    get(&s, &alice.token, &format!("/v1/nodes/{node2}"))
        .expect_fault(404, &format!("Node {node2} could not be found"));
    get(&s, &alice.token, "/v1/nodes/node-2").expect_fault(404, "Node node-2 could not be found");
    // Asking for another project's nodes is refused.
    get(&s, &alice.token, &format!("/v1/nodes?owner={lessee}"))
        .expect_fault(403, "baremetal:node:list_all");
    // Its ports are those of its node.
    let r = get(&s, &alice.token, "/v1/ports").expect(200);
    assert_eq!(r.body["ports"].as_array().unwrap().len(), 1, "{}", r.text);
    get(&s, &alice.token, &format!("/v1/ports/{port2}")).expect_fault(404, "Port");
    get(&s, &alice.token, &format!("/v1/nodes/{node2}/ports")).expect_fault(404, "Node");
    // The owner's member manages its node, within its rights.
    call(
        &s,
        &alice.token,
        Method::PATCH,
        &format!("/v1/nodes/{node1}"),
        Some(json!([{"op": "add", "path": "/extra/team", "value": "a"}])),
    )
    .expect(200);
    call(
        &s,
        &alice.token,
        Method::PATCH,
        &format!("/v1/nodes/{node1}"),
        Some(json!([{"op": "replace", "path": "/owner", "value": "someone-else"}])),
    )
    .expect_fault(403, "baremetal:node:update:owner");
    call(
        &s,
        &alice.token,
        Method::PATCH,
        &format!("/v1/nodes/{node2}"),
        Some(json!([{"op": "add", "path": "/extra/x", "value": 1}])),
    )
    .expect_fault(404, "Node");
    call(
        &s,
        &alice.token,
        Method::DELETE,
        &format!("/v1/nodes/{node1}"),
        None,
    )
    .expect_fault(403, "baremetal:node:delete");
    // Nor power it, deploy it or put it in maintenance: it does not exist for her.
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/v1/nodes/{node2}/states/power"),
            json!({"target": "power on"}),
        ),
        (
            Method::PUT,
            format!("/v1/nodes/{node2}/states/provision"),
            json!({"target": "manage"}),
        ),
        (
            Method::PUT,
            format!("/v1/nodes/{node2}/maintenance"),
            json!({"reason": "x"}),
        ),
    ] {
        call(&s, &alice.token, method, &path, Some(body)).expect_fault(404, "Node");
    }
    // System resources are for system readers.
    get(&s, &alice.token, "/v1/chassis").expect_fault(403, "baremetal:chassis:get");
    get(&s, &alice.token, "/v1/drivers").expect_fault(403, "baremetal:driver:get");
    get(&s, &alice.token, "/v1/conductors").expect_fault(403, "baremetal:conductor:get");
    // A project member cannot create nodes for everyone.
    call(
        &s,
        &alice.token,
        Method::POST,
        "/v1/nodes",
        Some(json!({"driver": "fake-hardware"})),
    )
    .expect_fault(403, "baremetal:node:create");

    // --- A reader of the owner project sees but cannot change.
    get(&s, &carol.token, &format!("/v1/nodes/{node1}")).expect(200);
    get(&s, &carol.token, &format!("/v1/nodes/{node1}/states")).expect(200);
    call(
        &s,
        &carol.token,
        Method::PATCH,
        &format!("/v1/nodes/{node1}"),
        Some(json!([{"op": "add", "path": "/extra/x", "value": 1}])),
    )
    .expect_fault(403, "baremetal:node:update_extra");
    call(
        &s,
        &carol.token,
        Method::PUT,
        &format!("/v1/nodes/{node1}/states/power"),
        Some(json!({"target": "power on"})),
    )
    .expect_fault(403, "baremetal:node:set_power_state");
    call(
        &s,
        &carol.token,
        Method::PUT,
        &format!("/v1/nodes/{node1}/states/provision"),
        Some(json!({"target": "manage"})),
    )
    .expect_fault(403, "baremetal:node:set_provision_state");

    // --- The lessee's manager sees the node, deploys and powers it, cannot delete.
    assert_eq!(
        uuids(&get(&s, &bob.token, "/v1/nodes").expect(200), "nodes"),
        vec![node1.clone()]
    );
    get(&s, &bob.token, &format!("/v1/nodes/{node2}")).expect_fault(404, "Node");
    // The lessee does not see the BMC's details; the owner does.
    let seen = get(&s, &bob.token, &format!("/v1/nodes/{node1}")).expect(200);
    assert_eq!(
        seen.body["driver_info"],
        json!({"content": "** Redacted - requires baremetal:node:get:driver_info permission. **"})
    );
    let seen = get(&s, &alice.token, &format!("/v1/nodes/{node1}")).expect(200);
    assert_eq!(seen.body["driver_info"]["ipmi_address"], "10.0.0.1");
    // Nor may the lessee change the node's hardware configuration.
    for (path, rule) in [
        (
            "/driver_info/ipmi_address",
            "baremetal:node:update:driver_info",
        ),
        ("/properties/cpus", "baremetal:node:update:properties"),
        ("/owner", "baremetal:node:update:owner"),
    ] {
        call(
            &s,
            &bob.token,
            Method::PATCH,
            &format!("/v1/nodes/{node1}"),
            Some(json!([{"op": "add", "path": path, "value": "10.9.9.9"}])),
        )
        .expect_fault(403, rule);
    }
    let seen = get(&s, &alice.token, &format!("/v1/nodes/{node1}")).expect(200);
    assert_eq!(seen.body["driver_info"]["ipmi_address"], "10.0.0.1");
    for target in ["manage", "provide"] {
        call(
            &s,
            &bob.token,
            Method::PUT,
            &format!("/v1/nodes/{node1}/states/provision"),
            Some(json!({"target": target})),
        )
        .expect(202);
        let want = if target == "manage" {
            "manageable"
        } else {
            "available"
        };
        wait_state(&s, &admin.token, &node1, want);
    }
    call(
        &s,
        &bob.token,
        Method::PUT,
        &format!("/v1/nodes/{node1}/states/provision"),
        Some(json!({"target": "active"})),
    )
    .expect(202);
    wait_state(&s, &admin.token, &node1, "active");
    call(
        &s,
        &bob.token,
        Method::PUT,
        &format!("/v1/nodes/{node1}/states/power"),
        Some(json!({"target": "power off"})),
    )
    .expect(202);
    call(
        &s,
        &bob.token,
        Method::DELETE,
        &format!("/v1/nodes/{node1}"),
        None,
    )
    .expect_fault(403, "baremetal:node:delete");
    call(
        &s,
        &bob.token,
        Method::DELETE,
        &format!("/v1/nodes/{node2}"),
        None,
    )
    .expect_fault(404, "Node");

    // --- A project administrator holds a token of the wrong scope for system
    // resources (403) and still sees only its project's nodes.
    let dave = ks.create_user("dave", "dave-pw");
    ks.grant(&owner, &dave, "admin");
    let dave = ks.token("dave", "dave-pw", project(&owner));
    get(&s, &dave, "/v1/conductors").expect_fault(403, "baremetal:conductor:get");
    get(&s, &dave, "/v1/chassis").expect_fault(403, "baremetal:chassis:get");
    assert_eq!(
        uuids(&get(&s, &dave, "/v1/nodes").expect(200), "nodes"),
        vec![node1.clone()]
    );
    get(&s, &dave, &format!("/v1/nodes/{node2}")).expect_fault(404, "Node");

    // --- A validated token is cached: the answer does not change within the cache time.
    assert_eq!(
        uuids(&get(&s, &alice.token, "/v1/nodes").expect(200), "nodes"),
        vec![node1.clone()]
    );

    // --- The real CLI, with password authentication through Keystone's catalog.
    ks.register_endpoint("baremetal", &s.url(""));
    openstack_cli(
        &ks,
        &[("alice", "alice-pw", Some("owner-a"))],
        std::slice::from_ref(&node1),
    );
    openstack_cli(&ks, &[("admin", keystone::ADMIN_PASSWORD, None)], &both);
}

/// Runs `openstack baremetal node list` as a user (project-scoped when a project is
/// given, else system-scoped) and checks the nodes it lists.
fn openstack_cli(ks: &Keystone, who: &[(&str, &str, Option<&str>)], expected: &[String]) {
    let cli = clients_venv().join("bin/openstack");
    if !cli.exists() {
        skip(
            "keystone_tokens_and_ironic_policy (openstack CLI)",
            "no virtualenv with the OpenStack clients (run scripts/install-test-deps.sh)",
        );
        return;
    }
    for (user, password, project) in who {
        let mut cmd = Command::new(&cli);
        cmd.args(["baremetal", "node", "list", "-f", "json", "-c", "UUID"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir())
            .env("OS_AUTH_URL", format!("{}/v3", ks.url))
            .env("OS_AUTH_TYPE", "password")
            .env("OS_IDENTITY_API_VERSION", "3")
            .env("OS_USERNAME", user)
            .env("OS_PASSWORD", password)
            .env("OS_USER_DOMAIN_NAME", "Default")
            .env("OS_REGION_NAME", "RegionOne")
            .env("OS_INTERFACE", "public");
        match project {
            Some(p) => {
                cmd.env("OS_PROJECT_NAME", p)
                    .env("OS_PROJECT_DOMAIN_NAME", "Default");
            }
            None => {
                cmd.env("OS_SYSTEM_SCOPE", "all");
            }
        }
        let out = cmd.output().expect("run openstack");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "openstack baremetal node list as {user}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Value = serde_json::from_str(&stdout).expect("JSON from the CLI");
        let mut got: Vec<String> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                // The column is "UUID" in older clients, "uuid" in newer ones.
                n["UUID"]
                    .as_str()
                    .or(n["uuid"].as_str())
                    .unwrap_or_else(|| panic!("no UUID in the CLI's listing: {stdout}"))
                    .to_owned()
            })
            .collect();
        got.sort();
        assert_eq!(got, expected, "nodes listed by the CLI as {user}");
    }
}

/// Tokens that expire, are revoked, carry no scope; m2's own token renewed; Keystone
/// stopped. Keystone issues tokens for 10 s here, m2 caches answers for 2 s.
#[test]
fn expired_revoked_unscoped_tokens_and_keystone_down() {
    let mut ks = match Keystone::start_with_expiration(10) {
        Ok(ks) => ks,
        Err(why) => {
            skip("expired_revoked_unscoped_tokens_and_keystone_down", &why);
            return;
        }
    };
    let service = ks.create_project("service");
    let m2 = ks.create_user("m2", "m2-secret");
    ks.grant(&service, &m2, "service");
    let team = ks.create_project("team");
    let erin = ks.create_user("erin", "erin-pw");
    ks.grant(&team, &erin, "member");
    let scope = json!({"project": {"id": team}});
    let s = Server::start_with(&keystone_config(
        &ks.url,
        "token_cache_time = 2\ninvalid_token_cache_time = 1\n\
         http_request_max_retries = 0\nhttp_connect_timeout = 2\n",
    ));

    let first = ks.token("erin", "erin-pw", scope.clone());
    let issued = std::time::Instant::now();
    get(&s, &first, "/v1/nodes").expect(200);

    // Garbage and unscoped tokens.
    get(&s, "gAAAAABnot-a-fernet-token", "/v1/nodes").expect_fault(401, "requires authentication");
    let unscoped = ks.unscoped_token("erin", "erin-pw");
    get(&s, &unscoped, "/v1/nodes").expect_fault(403, "baremetal:node:list");

    // Revoked before its first use: refused at once.
    let revoked = ks.token("erin", "erin-pw", scope.clone());
    ks.revoke(&revoked);
    get(&s, &revoked, "/v1/nodes").expect_fault(401, "requires authentication");
    // Revoked after use: refused once the cached answer (2 s) has gone.
    let used = ks.token("erin", "erin-pw", scope.clone());
    get(&s, &used, "/v1/nodes").expect(200);
    ks.revoke(&used);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    get(&s, &used, "/v1/nodes").expect_fault(401, "requires authentication");

    // Expired: the first token's 10 s are over (m2's own token, also 10 s, was
    // renewed on the way: fresh tokens keep working).
    let left = std::time::Duration::from_secs(11).saturating_sub(issued.elapsed());
    std::thread::sleep(left);
    get(&s, &first, "/v1/nodes").expect_fault(401, "requires authentication");
    let fresh = ks.token("erin", "erin-pw", scope.clone());
    get(&s, &fresh, "/v1/nodes").expect(200);
    let unused = ks.token("erin", "erin-pw", scope);

    // Keystone stopped: nothing gets through once cached answers are gone: a token
    // never seen, one seen before, garbage: 503, never 200.
    ks.stop();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    for token in [unused.as_str(), fresh.as_str(), "garbage-token"] {
        let r = get(&s, token, "/v1/nodes");
        r.expect_fault(503, "Identity service is unavailable");
        assert_error_format(&r);
    }
    // Writes too.
    call(
        &s,
        &fresh,
        Method::POST,
        "/v1/nodes",
        Some(json!({"driver": "fake-hardware"})),
    )
    .expect_fault(503, "Identity service is unavailable");
}
