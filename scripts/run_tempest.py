"""Runs tempest against m2 with a real Keystone, everything on 127.0.0.1.

Started by scripts/run-tempest.sh with the Python of .venv-tempest. Steps:

1. Keystone from .venv-keystone: SQLite and fernet keys in the work directory,
   bootstrapped (user ``admin`` with the admin role on project ``admin`` and on
   the system), served one request at a time on a free port by this file
   (``--serve-keystone PORT``, run with the Keystone venv's Python).
2. What m2 and tempest need in Keystone: project ``service`` and m2's service
   user (role ``service``), the ``baremetal`` service with its endpoints at m2.
3. ``m2 standalone`` with ``auth_strategy = keystone``, fake-hardware, SQLite,
   no Ceph (with --with-ceph: the Ceph cluster and tgtd of tests/harness).
4. A tempest workspace (``tempest init``) and its tempest.conf: dynamic
   credentials made by the system-scoped admin, [enforce_scope] ironic = True,
   the microversion range m2 advertises.
5. ``tempest run`` of ironic-tempest-plugin's API tests minus the regexes of
   tempest/ironic-api-skips.txt, then of m2's own tests (tempest/) minus
   those of tempest/m2-skips.txt.

Prints the counts of each suite and exits non-zero when a test failed, a skip
list entry matches no test, or something could not start. Stops everything it
started. The work directory is removed after a clean run and kept (its path
printed) otherwise, or always with --keep.
"""

import argparse
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SKIP_LIST = REPO_ROOT / "tempest" / "ironic-api-skips.txt"
M2_SKIP_LIST = REPO_ROOT / "tempest" / "m2-skips.txt"
IRONIC_REGEX = r"^ironic_tempest_plugin\.tests\.api\."
M2_REGEX = r"^m2_tempest_plugin\.tests\.api\."
REGION = "RegionOne"


def log(msg):
    print(f"[run-tempest] {msg}", file=sys.stderr, flush=True)


class SetupError(Exception):
    """Something the tests need could not be started."""


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child: receive SIGTERM when the runner dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setpgrp()


class Processes:
    """The processes this run started; each is stopped by its own id."""

    def __init__(self):
        self.started = []

    def start(self, name, argv, log_path, **kwargs):
        out = open(log_path, "ab")
        proc = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=kwargs.pop("stdout", out),
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            **kwargs,
        )
        out.close()
        self.started.append((name, proc))
        return proc

    def stop_all(self):
        for name, proc in reversed(self.started):
            if proc.poll() is not None:
                continue
            # Each child leads its own process group (setpgrp): stop the group,
            # which holds the child and whatever it started, and nothing else.
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing it")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.started.clear()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def http(method, url, body=None, headers=None, timeout=30):
    """(status, headers, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, r.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return e.code, e.headers, parsed


def wait_http(url, proc, what, log_path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SetupError(f"{what} exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            status, _, _ = http("GET", url, timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SetupError(f"{what} does not answer at {url} after {timeout}s:\n{tail(log_path)}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------
# Keystone
# ---------------------------------------------------------------------------


class Keystone:
    """A Keystone of this run, configured like the Rust tests' (tests/common/keystone.rs)
    but served by serve_keystone below."""

    def __init__(self, venv, workdir, procs):
        self.venv = Path(venv)
        self.dir = workdir / "keystone"
        self.procs = procs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_password = "admin-" + secrets.token_hex(8)
        self._admin_token = None

    def start(self):
        d = self.dir
        d.mkdir(parents=True)
        conf = d / "keystone.conf"
        conf.write_text(
            f"[DEFAULT]\nlog_file = {d}/keystone.log\n"
            f"[database]\nconnection = sqlite:///{d}/keystone.db\n"
            # Tokens outlive the run: tempest keeps one per credential.
            "[token]\nprovider = fernet\nexpiration = 14400\n"
            # Tempest makes two users and a token or more for each test class:
            # bcrypt's cheapest cost keeps that from dominating the run.
            "[identity]\npassword_hash_rounds = 4\n"
            "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n"
            f"[fernet_tokens]\nkey_repository = {d}/fernet-keys\n"
            f"[fernet_receipts]\nkey_repository = {d}/fernet-receipts\n"
            f"[credential]\nkey_repository = {d}/credential-keys\n"
        )
        v3 = f"{self.url}/v3"
        who = ["--keystone-user", "root", "--keystone-group", "root"]
        if os.getuid() != 0:
            who = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
        for args in (
            ["db_sync"],
            ["fernet_setup", *who],
            ["credential_setup", *who],
            [
                "bootstrap",
                "--bootstrap-password", self.admin_password,
                "--bootstrap-admin-url", v3,
                "--bootstrap-internal-url", v3,
                "--bootstrap-public-url", v3,
                "--bootstrap-region-id", REGION,
            ],
        ):
            r = subprocess.run(
                [self.venv / "bin" / "keystone-manage", "--config-file", conf, *args],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                raise SetupError(f"keystone-manage {args[0]} failed ({r.returncode}):\n{r.stderr[-3000:]}")
        serve_log = d / "serve.log"
        # Served by this file (serve_keystone below) with the Keystone venv's Python.
        proc = self.procs.start(
            "keystone",
            [self.venv / "bin" / "python", Path(__file__).resolve(), "--serve-keystone", self.port],
            serve_log,
            env={**os.environ, "KEYSTONE_CONFIG": str(conf)},
        )
        wait_http(v3, proc, "Keystone", serve_log, timeout=120)
        log(f"Keystone on {self.url}")

    def token(self, user, password, scope):
        status, headers, body = http(
            "POST",
            f"{self.url}/v3/auth/tokens?nocatalog",
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
                    },
                    "scope": scope,
                }
            },
        )
        if status != 201:
            raise SetupError(f"Keystone refused a token for {user}: {status} {body}")
        return headers["X-Subject-Token"]

    def admin(self, method, path, body=None):
        if self._admin_token is None:
            self._admin_token = self.token("admin", self.admin_password, {"system": {"all": True}})
        status, _, answer = http(method, f"{self.url}/v3{path}", body, {"X-Auth-Token": self._admin_token})
        if not 200 <= status < 300:
            raise SetupError(f"Keystone: {method} {path}: {status} {answer}")
        return answer

    def role_id(self, name):
        roles = self.admin("GET", f"/roles?name={name}")["roles"]
        if not roles:
            raise SetupError(f"Keystone has no role {name}")
        return roles[0]["id"]

    def prepare_m2(self, m2_url, m2_password):
        """Project service, m2's service user, the baremetal service and its endpoints."""
        project = self.admin("POST", "/projects", {"project": {"name": "service", "domain_id": "default"}})
        user = self.admin(
            "POST",
            "/users",
            {"user": {"name": "m2", "password": m2_password, "domain_id": "default"}},
        )
        self.admin(
            "PUT",
            f"/projects/{project['project']['id']}/users/{user['user']['id']}/roles/{self.role_id('service')}",
        )
        service = self.admin(
            "POST",
            "/services",
            {"service": {"type": "baremetal", "name": "ironic", "description": "m2 Bare Metal"}},
        )
        for interface in ("public", "internal", "admin"):
            self.admin(
                "POST",
                "/endpoints",
                {
                    "endpoint": {
                        "service_id": service["service"]["id"],
                        "interface": interface,
                        "url": m2_url,
                        "region_id": REGION,
                    }
                },
            )


class Harness:
    """A one-host Ceph cluster and a tgtd from tests/harness, for --with-ceph."""

    def __init__(self, workdir):
        self.dir = workdir / "harness"
        self.env = {}
        self.started = []

    def _script(self, name, *args):
        script = REPO_ROOT / "tests" / "harness" / name
        r = subprocess.run([script, *map(str, args)], capture_output=True, text=True)
        if r.returncode != 0:
            raise SetupError(f"{script.name} {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr[-3000:]}")
        return r.stdout

    def start(self):
        import shlex

        for name in ("ceph", "tgtd"):
            out = self._script(f"{name}.sh", "start", self.dir / name)
            self.started.append(name)
            for line in out.splitlines():
                words = shlex.split(line)
                if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                    key, _, value = words[1].partition("=")
                    self.env[key] = value
        log(f"Ceph ({self.env['CEPH_CONF']}) and tgtd (127.0.0.1:{self.env['M2_TGT_PORT']})")

    def m2_sections(self):
        return (
            "[ceph]\n"
            f"conffile = {self.env['CEPH_CONF']}\n"
            f"client_id = {self.env.get('M2_CEPH_USER', 'm2')}\n"
            f"keyring = {self.env['M2_CEPH_KEYRING']}\n"
            "[iscsi]\n"
            f"portal = 127.0.0.1:{self.env['M2_TGT_PORT']}\n"
            f"tgt_control_port = {self.env['M2_TGT_CTL']}\n"
        )

    def stop(self):
        for name in reversed(self.started):
            try:
                self._script(f"{name}.sh", "stop", self.dir / name)
            except SetupError as e:
                log(f"WARNING: {e}")
        self.started.clear()


def serve_keystone(port):
    """Serves Keystone's WSGI application on 127.0.0.1:port, one request at a time.

    Runs in the Keystone venv. Keystone's SQLite database refuses concurrent
    writers ("database is locked"), so requests are handled in turn: threads
    accept connections, one lock runs the application. Keystone's configuration
    loader reads the process arguments, so they are cleared first.
    """
    import socketserver
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    os.environ["OS_KEYSTONE_CONFIG_FILES"] = os.environ["KEYSTONE_CONFIG"]
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi

    app = wsgi.initialize_public_application()
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 128

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature
            pass

    server = make_server("127.0.0.1", port, serialized, server_class=Server, handler_class=QuietHandler)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------------
# m2
# ---------------------------------------------------------------------------


def m2_config(workdir, port, keystone, m2_password, harness):
    d = workdir / "m2"
    storage = (
        harness.m2_sections()
        if harness
        # No cluster: a ceph.conf that does not exist, so that Ceph calls fail at
        # once instead of waiting for monitors.
        else f"[ceph]\nconffile = {d}/no-ceph/ceph.conf\nconnect_timeout = 2\nop_timeout = 5\n"
    )
    return (
        "[DEFAULT]\n"
        "host = tempest-conductor\n"
        "auth_strategy = keystone\n"
        # ipmi beside fake-hardware: Ironic's tests of interface reset need a
        # second hardware type. No node of the run talks to a BMC.
        "enabled_hardware_types = fake-hardware,ipmi\n"
        "enabled_boot_interfaces = fake,ipxe\n"
        "enabled_deploy_interfaces = fake,m2\n"
        "enabled_management_interfaces = fake,ipmitool\n"
        "enabled_power_interfaces = fake,ipmitool\n"
        "[api]\n"
        "host_ip = 127.0.0.1\n"
        f"port = {port}\n"
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {keystone.url}\n"
        "auth_type = password\n"
        f"auth_url = {keystone.url}\n"
        "username = m2\n"
        f"password = {m2_password}\n"
        "project_name = service\n"
        "user_domain_name = Default\n"
        "project_domain_name = Default\n" + storage
    )


def start_m2(m2_bin, workdir, keystone, procs, harness):
    d = workdir / "m2"
    d.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    password = "m2-" + secrets.token_hex(8)
    keystone.prepare_m2(url, password)
    conf = d / "m2.conf"
    conf.write_text(m2_config(workdir, port, keystone, password, harness))
    m2_log = d / "m2.log"
    proc = procs.start(
        "m2",
        [m2_bin, "--config-file", conf, "standalone", "--data-dir", d / "data"],
        m2_log,
        env={**os.environ, "NO_COLOR": "1"},
    )
    # The root document is public: it answers once the API listens.
    wait_http(f"{url}/", proc, "m2", m2_log, timeout=60)
    _, _, root = http("GET", f"{url}/")
    version = root["default_version"]
    log(f"m2 on {url}: API {version['min_version']} to {version['version']} ({m2_bin})")
    return url, version["min_version"], version["version"]


# ---------------------------------------------------------------------------
# tempest
# ---------------------------------------------------------------------------


def tempest_conf(workdir, keystone, min_version, max_version, ceph_available):
    """The tempest.conf of the run; tempest/README.md explains each part."""
    t = workdir / "tempest"
    return f"""[DEFAULT]
log_file = {t}/tempest.log

[auth]
use_dynamic_credentials = True
create_isolated_networks = False
admin_username = admin
admin_password = {keystone.admin_password}
admin_project_name = admin
admin_domain_name = Default
admin_system = all

[identity]
uri_v3 = {keystone.url}/v3
region = {REGION}

[service_available]
ironic = True
cinder = False
glance = False
neutron = False
nova = False
swift = False

[enforce_scope]
ironic = True

[baremetal]
driver = fake-hardware
min_microversion = {min_version}
max_microversion = {max_version}
enabled_hardware_types = fake-hardware,ipmi
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake,ipxe
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake,m2
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake,ipmitool
enabled_power_interfaces = fake,ipmitool
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
power_timeout = 60
unprovision_timeout = 60
active_timeout = 60
association_timeout = 30

[baremetal_feature_enabled]
ipxe_enabled = False
adoption = False
software_raid = False
deploy_time_raid = False

[baremetal_m2]
expected_max_microversion = {max_version}
ceph_available = {ceph_available}
"""


def read_skip_list(path):
    """[(regex, reason)] from lines 'regex  # reason'."""
    entries = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        regex, sep, reason = line.partition("#")
        regex = regex.strip()
        if not sep or not reason.strip():
            raise SetupError(f"{path}:{n}: an entry needs a reason after '#': {raw}")
        re.compile(regex)
        entries.append((regex, reason.strip()))
    return entries


TOTALS = {
    "ran": re.compile(r"^Ran: (\d+) tests?"),
    "passed": re.compile(r"^ - Passed: (\d+)"),
    "skipped": re.compile(r"^ - Skipped: (\d+)"),
    "xfail": re.compile(r"^ - Expected Fail: (\d+)"),
    "uxsuccess": re.compile(r"^ - Unexpected Success: (\d+)"),
    "failed": re.compile(r"^ - Failed: (\d+)"),
}


class Tempest:
    def __init__(self, workdir, procs, concurrency):
        self.venv_bin = Path(sys.executable).parent
        self.dir = workdir / "tempest"
        self.procs = procs
        self.concurrency = concurrency
        self.env = {
            **os.environ,
            # A test that hangs fails instead of stalling the run.
            "OS_TEST_TIMEOUT": os.environ.get("OS_TEST_TIMEOUT", "300"),
        }

    def init(self, conf_text):
        r = subprocess.run(
            [
                self.venv_bin / "tempest",
                "init",
                "--name", f"m2-{self.dir.parent.name}",
                "--workspace-path", self.dir.parent / "workspace.yaml",
                self.dir,
            ],
            capture_output=True,
            text=True,
            env=self.env,
        )
        if r.returncode != 0:
            raise SetupError(f"tempest init failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        (self.dir / "etc" / "tempest.conf").write_text(conf_text)

    def base_cmd(self):
        return [self.venv_bin / "tempest", "run", "--config-file", self.dir / "etc" / "tempest.conf"]

    def list_tests(self, regex):
        r = subprocess.run(
            [*self.base_cmd(), "--list-tests", "--regex", regex],
            cwd=self.dir,
            capture_output=True,
            text=True,
            env=self.env,
        )
        if r.returncode != 0:
            raise SetupError(f"tempest run --list-tests failed ({r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        return [line.strip() for line in r.stdout.splitlines() if re.match(regex, line.strip())]

    def run(self, name, regex, exclude_list=None, timeout=None):
        """Runs the selected tests, streaming tempest's output; returns the totals."""
        cmd = [*self.base_cmd(), "--regex", regex, "--concurrency", str(self.concurrency)]
        if exclude_list:
            cmd += ["--exclude-list", exclude_list]
        out_path = self.dir / f"{name}.out"
        log(f"{name}: {' '.join(str(c) for c in cmd)}")
        started = time.monotonic()
        proc = self.procs.start(
            f"tempest ({name})", cmd, out_path, stdout=subprocess.PIPE, cwd=self.dir, env=self.env
        )
        totals = {}
        failures = []
        timed_out = threading.Event()

        def watchdog():
            if proc.wait_done.wait(timeout):
                return
            timed_out.set()
            log(f"{name}: still running after {timeout}s; stopping it")
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

        proc.wait_done = threading.Event()
        if timeout:
            threading.Thread(target=watchdog, daemon=True).start()
        with open(out_path, "a") as out:
            for line in iter(proc.stdout.readline, b""):
                text = line.decode(errors="replace")
                out.write(text)
                sys.stdout.write(text)
                sys.stdout.flush()
                stripped = text.rstrip("\n")
                for key, pattern in TOTALS.items():
                    m = pattern.match(stripped)
                    if m:
                        totals[key] = int(m.group(1))
                if "... FAILED" in stripped:
                    failures.append(re.sub(r"^\{\d+\}\s*", "", stripped.split(" ... FAILED")[0]))
        proc.wait()
        proc.wait_done.set()
        if timed_out.is_set():
            totals["timed_out"] = True
        totals["rc"] = proc.returncode
        totals["failures"] = failures
        totals["seconds"] = round(time.monotonic() - started)
        return totals


def summary(name, totals, listed=None, excluded=0, skip_file=None):
    ran = totals.get("ran", 0)
    failed = totals.get("failed", 0) + totals.get("uxsuccess", 0)
    skipped = totals.get("skipped", 0)
    text = (
        f"{name}: {ran} run, {totals.get('passed', 0)} passed, {skipped} skipped, "
        f"{failed} failed in {totals.get('seconds', 0)}s"
    )
    if listed is not None:
        text += f" ({listed} tests listed, {excluded} excluded by tempest/{skip_file})"
    if totals.get("timed_out"):
        text += " TIMED OUT"
    return text


def suite_ok(totals):
    return (
        totals.get("rc") == 0
        and not totals.get("timed_out")
        and "ran" in totals
        and totals.get("failed", 0) == 0
        and totals.get("uxsuccess", 0) == 0
    )


# ---------------------------------------------------------------------------


def find_m2(arg):
    for candidate in (
        arg,
        os.environ.get("M2_BIN"),
        REPO_ROOT / "target" / "debug" / "m2",
        REPO_ROOT / "target" / "release" / "m2",
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate).resolve()
    raise SetupError("no m2 binary: build it (cargo build) or name it with --m2 / M2_BIN")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-keystone":
        serve_keystone(int(sys.argv[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--m2", help="the m2 binary (default: $M2_BIN, target/debug/m2, target/release/m2)")
    p.add_argument("--suite", choices=["all", "ironic", "m2"], default="all")
    p.add_argument(
        "--concurrency",
        type=int,
        # One worker: on two cores it is as fast as two (Keystone serves one
        # request at a time and m2 is CPU-bound), and it keeps m2's SQLite
        # from refusing concurrent writes (see tempest/README.md).
        default=int(os.environ.get("M2_TEMPEST_CONCURRENCY", "1")),
        help="tempest workers (default 1, or $M2_TEMPEST_CONCURRENCY)",
    )
    p.add_argument("--regex", help="run only the tests of the chosen suites that also match this regex")
    p.add_argument(
        "--skipped-only",
        action="store_true",
        help="run only the tests of the skip lists, to find entries that pass now",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument(
        "--with-ceph",
        action="store_true",
        help="start a Ceph cluster and a tgtd (tests/harness) for m2, and run the "
        "tests that need them ([baremetal_m2] ceph_available)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=int(os.environ.get("M2_TEMPEST_TIMEOUT", "1500")),
        help="seconds one suite may run (default 1500)",
    )
    args = p.parse_args()

    keystone_venv = Path(os.environ.get("M2_TEST_KEYSTONE_VENV", REPO_ROOT / ".venv-keystone"))
    if not (keystone_venv / "bin" / "keystone-manage").exists():
        log(f"no Keystone in {keystone_venv} (scripts/install-test-deps.sh keystone)")
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="m2-tempest-"))
    procs = Processes()
    harness = None
    ok = False

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.monotonic()
    lines = []
    try:
        m2_bin = find_m2(args.m2)
        for path in (SKIP_LIST, M2_SKIP_LIST):
            read_skip_list(path)  # malformed lists fail before anything starts
        if args.with_ceph:
            harness = Harness(workdir)
            harness.start()
        keystone = Keystone(keystone_venv, workdir, procs)
        keystone.start()
        _, min_version, max_version = start_m2(m2_bin, workdir, keystone, procs, harness)
        tempest = Tempest(workdir, procs, args.concurrency)
        tempest.init(tempest_conf(workdir, keystone, min_version, max_version, harness is not None))

        ok = True
        suites = [
            ("ironic", IRONIC_REGEX, SKIP_LIST),
            ("m2", M2_REGEX, M2_SKIP_LIST),
        ]
        for name, suite_regex, skip_path in suites:
            if args.suite not in ("all", name):
                continue
            skips = read_skip_list(skip_path)
            listed = tempest.list_tests(suite_regex)
            stale = [r for r, _ in skips if not any(re.search(r, t) for t in listed)]
            if stale:
                log(f"{skip_path.name}: entries that match no test (remove them):\n  " + "\n  ".join(stale))
                ok = False
            if args.skipped_only:
                if not skips:
                    continue
                regex = "|".join(f"(?:{r})" for r, _ in skips)
                totals = tempest.run(f"{name}-skipped", f"(?={suite_regex})(?=.*(?:{regex}))", timeout=args.timeout)
                lines.append(summary(f"{name} (skip list only)", totals))
                lines += [f"  FAILED {f}" for f in totals["failures"]]
                continue
            excluded = sum(1 for t in listed if any(re.search(r, t) for r, _ in skips))
            regex = suite_regex if not args.regex else f"(?={suite_regex})(?=.*(?:{args.regex}))"
            totals = tempest.run(name, regex, exclude_list=skip_path if skips else None, timeout=args.timeout)
            lines.append(summary(name, totals, listed=len(listed), excluded=excluded, skip_file=skip_path.name))
            ok = suite_ok(totals) and ok
            lines += [f"  FAILED {f}" for f in totals["failures"]]
        if args.skipped_only:
            log("tests of a skip list that pass now: remove their entries")
    except SetupError as e:
        log(f"ERROR: {e}")
        ok = False
    finally:
        procs.stop_all()
        if harness:
            harness.stop()
        print("", flush=True)
        for line in lines:
            print(f"[run-tempest] {line}", flush=True)
        verdict = "PASS" if ok else "FAIL"
        print(f"[run-tempest] {verdict} in {round(time.monotonic() - started)}s", flush=True)
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"[run-tempest] logs kept in {workdir} (m2/m2.log, keystone/, tempest/*.out, tempest/tempest.log)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
