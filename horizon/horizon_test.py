#!/usr/bin/env python3
"""Horizon with the ironic-ui panel, in a real headless Chromium, against m2.

Started by horizon/run-horizon-test.sh with the Python of the Horizon venv
(<repo>/.venv-horizon: horizon, ironic-ui and selenium as pinned in
horizon/requirements.txt). Steps:

1. Horizon's configuration, once per venv (``--setup-only`` stops here):
   ironic-ui's ``enabled`` file copied into openstack_dashboard/local/enabled,
   a local_settings.py that takes the Keystone URL and the secret key from the
   environment, ``collectstatic`` and the offline ``compress``.
2. Keystone from .venv-keystone (SQLite, fernet, bootstrapped admin, region
   RegionOne) on a free port of 127.0.0.1, served by tests/keystone/serve.py.
3. ``m2 standalone`` with ``auth_strategy = keystone``; m2's service user
   (role ``service`` on project ``service``) and the ``baremetal`` service
   with public and internal endpoints at m2. Three fake-hardware nodes owned
   by project ``admin``: one enrolled, one available, one active.
4. Horizon (``django runserver --insecure``) on a free port, pointed at that
   Keystone.
5. Chromium (Debian's chromium + chromium-driver, headless, via selenium):
   logs in as admin, opens Admin > System > Ironic Bare Metal Provisioning,
   checks every node is listed with its state and saves a screenshot, opens a
   node's detail page and checks its UUID and provision state, then runs
   "Move to manageable" on the enrolled node and "Maintenance On" on the
   available one from the node list, and checks through m2's API (as the
   system-scoped admin) that both nodes changed.

Screenshots go to $M2_TEST_ARTIFACTS/horizon/ when that is set, else to
<repo>/target/horizon/; their paths are printed. Stops everything it started;
exits non-zero on any failure. The work directory (logs of Keystone, m2,
Horizon) is removed after a clean run and kept, its path printed, otherwise
or with --keep.
"""

from __future__ import annotations

import argparse
import ctypes
import filecmp
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
REGION = "RegionOne"
M2_VERSION_HEADER = "X-OpenStack-Ironic-API-Version"
NODE_PREFIX = "horizon-node-"
# Horizon's settings module; the local settings below live inside its package.
SETTINGS_MODULE = "openstack_dashboard.settings"

LOCAL_SETTINGS = '''\
# Horizon settings for m2's browser test (horizon/horizon_test.py writes this
# file; edits are overwritten). Per-run values come from the environment:
#   M2_HORIZON_KEYSTONE_URL   Keystone's v3 URL
#   M2_HORIZON_SECRET_KEY     Django's secret key (a random one when unset)
import os
import secrets
import sys

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECRET_KEY = os.environ.get("M2_HORIZON_SECRET_KEY") or secrets.token_urlsafe(48)

OPENSTACK_HOST = "127.0.0.1"
OPENSTACK_KEYSTONE_URL = os.environ.get(
    "M2_HORIZON_KEYSTONE_URL", "http://%s:5000/v3" % OPENSTACK_HOST)
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
OPENSTACK_ENDPOINT_TYPE = "publicURL"
OPENSTACK_SSL_NO_VERIFY = False

# One process, no memcached: sessions live in signed cookies (the catalog is
# small), the cache in memory.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Static files are collected and compressed ahead of time into the venv
# (manage.py collectstatic; manage.py compress), then served by
# "runserver --insecure".
STATIC_ROOT = os.path.join(sys.prefix, "m2-horizon-static")
COMPRESS_ENABLED = True
COMPRESS_OFFLINE = True

TIME_ZONE = "UTC"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
'''


def log(msg: str) -> None:
    print(f"[horizon-test] {msg}", file=sys.stderr, flush=True)


class TestFailure(Exception):
    """A check of the test failed, or something it needs did not start."""


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _own_group_dying_with_parent() -> None:
    """In a child: lead a process group of its own, and get SIGTERM when the
    test process dies, even by SIGKILL."""
    os.setpgrp()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Processes:
    """What this run started; each is stopped through its own process group."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list, log_path: Path, env: dict | None = None,
              stdout=None) -> subprocess.Popen:
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else out,
                stderr=out,
                env=env,
                preexec_fn=_own_group_dying_with_parent,
            )
        self.started.append((name, proc))
        return proc

    def adopt(self, name: str, pid: int) -> None:
        """A process started elsewhere (chromedriver) in a group of its own."""
        self.started.append((name, _Pid(pid)))

    def stop_all(self) -> None:
        for name, proc in reversed(self.started):
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing its process group")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.started.clear()


class _Pid:
    """The part of Popen that stop_all uses, for a child of another Popen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self):
        try:
            os.killpg(self.pid, 0)
            return None
        except ProcessLookupError:
            return 0

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 30):
    """(status, headers, parsed JSON or text or None)."""
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
            return r.status, r.headers, _parse(raw)
    except urllib.error.HTTPError as e:
        return e.code, e.headers, _parse(e.read())


def _parse(raw: bytes):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def wait_http(url: str, proc: subprocess.Popen, what: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise TestFailure(f"{what} exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            status, _, _ = http("GET", url, timeout=10)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TestFailure(f"{what} does not answer at {url} after {timeout:.0f}s:\n{tail(log_path)}")
        time.sleep(0.3)


def wait_until(what: str, check, timeout: float = 60, interval: float = 0.5):
    """Calls check() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Horizon's configuration (once per venv)
# ---------------------------------------------------------------------------


def site_dirs() -> tuple[Path, Path]:
    import ironic_ui
    import openstack_dashboard

    return Path(openstack_dashboard.__file__).parent, Path(ironic_ui.__file__).parent


def django_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env.update(extra or {})
    return env


def manage(args: list[str], log_path: Path | None = None) -> None:
    """``manage.py ARGS`` of Horizon (python -m django with its settings)."""
    cmd = [sys.executable, "-m", "django", *args]
    r = subprocess.run(cmd, env=django_env(), capture_output=True, text=True)
    if log_path:
        with open(log_path, "a") as f:
            f.write(f"$ manage.py {' '.join(args)}\n{r.stdout}{r.stderr}\n")
    if r.returncode != 0:
        raise TestFailure(f"manage.py {' '.join(args)} failed ({r.returncode}):\n{(r.stdout + r.stderr)[-3000:]}")


def setup_horizon() -> None:
    """Enables ironic-ui, writes local_settings.py, collects and compresses the
    static files. Does each part only when it is not already in place."""
    dashboard, ironic_ui = site_dirs()
    enabled_dir = dashboard / "local" / "enabled"
    enabled_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    # As ironic-ui's installation guide says: its enabled files go beside
    # Horizon's local ones.
    for src in sorted((ironic_ui / "enabled").glob("_*.py")):
        dst = enabled_dir / src.name
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            shutil.copyfile(src, dst)
            copied.append(src.name)
    if copied:
        log(f"enabled the ironic-ui panel: {', '.join(copied)} -> {enabled_dir}")

    settings = dashboard / "local" / "local_settings.py"
    if not settings.exists() or settings.read_text() != LOCAL_SETTINGS:
        settings.write_text(LOCAL_SETTINGS)
        log(f"wrote {settings}")

    # The compressed bundles depend on the settings, the enabled panels and
    # the installed packages: redo them when any of these changes.
    digest = hashlib.sha256()
    digest.update(LOCAL_SETTINGS.encode())
    for f in sorted(enabled_dir.glob("_*.py")):
        digest.update(f.name.encode() + f.read_bytes())
    from importlib.metadata import version

    for dist in ("horizon", "ironic-ui", "Django", "django-compressor"):
        digest.update(f"{dist}={version(dist)}".encode())
    stamp_value = digest.hexdigest()
    static_root = Path(sys.prefix) / "m2-horizon-static"
    stamp = static_root / ".m2-horizon-stamp"
    if stamp.exists() and stamp.read_text().strip() == stamp_value:
        log(f"Horizon static files: present ({static_root})")
        return
    started = time.monotonic()
    log(f"collecting and compressing Horizon's static files into {static_root}")
    if static_root.exists():
        shutil.rmtree(static_root)
    static_root.mkdir(parents=True)
    build_log = Path(sys.prefix) / "m2-horizon-static.log"
    build_log.write_text("")
    manage(["collectstatic", "--noinput", "--clear", "-v", "0"], build_log)
    manage(["compress", "--force"], build_log)
    stamp.write_text(stamp_value + "\n")
    log(f"Horizon static files ready in {time.monotonic() - started:.0f}s")


# ---------------------------------------------------------------------------
# Keystone
# ---------------------------------------------------------------------------


class Keystone:
    def __init__(self, venv: Path, workdir: Path, procs: Processes) -> None:
        self.venv = venv
        self.dir = workdir / "keystone"
        self.procs = procs
        self.url = f"http://127.0.0.1:{free_port()}"
        self.admin_password = "admin-" + secrets.token_hex(8)
        self._admin_token: str | None = None

    def start(self) -> None:
        started = time.monotonic()
        d = self.dir
        d.mkdir(parents=True)
        conf = d / "keystone.conf"
        conf.write_text(
            f"[DEFAULT]\nlog_file = {d}/keystone.log\n"
            f"[database]\nconnection = sqlite:///{d}/keystone.db\n"
            "[token]\nprovider = fernet\nexpiration = 7200\n"
            f"[fernet_tokens]\nkey_repository = {d}/fernet-keys\n"
            f"[fernet_receipts]\nkey_repository = {d}/fernet-receipts\n"
            f"[credential]\nkey_repository = {d}/credential-keys\n"
        )
        v3 = f"{self.url}/v3"
        who = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
        for args in (
            ["db_sync"],
            ["fernet_setup", *who],
            ["credential_setup", *who],
            ["bootstrap", "--bootstrap-password", self.admin_password,
             "--bootstrap-admin-url", v3, "--bootstrap-internal-url", v3,
             "--bootstrap-public-url", v3, "--bootstrap-region-id", REGION],
        ):
            r = subprocess.run([str(self.venv / "bin" / "keystone-manage"), "--config-file", str(conf), *args],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise TestFailure(f"keystone-manage {args[0]} failed ({r.returncode}):\n{r.stderr[-3000:]}")
        serve_log = d / "serve.log"
        proc = self.procs.start(
            "keystone",
            [self.venv / "bin" / "python", REPO_ROOT / "tests" / "keystone" / "serve.py", self.url.rsplit(":", 1)[1]],
            serve_log, env={**os.environ, "KEYSTONE_CONFIG": str(conf)},
        )
        wait_http(v3, proc, "Keystone", serve_log, timeout=120)
        log(f"Keystone on {self.url} ({time.monotonic() - started:.1f}s)")

    def token(self, user: str, password: str, scope: dict) -> str:
        status, headers, body = http("POST", f"{self.url}/v3/auth/tokens?nocatalog", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": scope}})
        if status != 201:
            raise TestFailure(f"Keystone refused a token for {user}: {status} {body}")
        return headers["X-Subject-Token"]

    def system_admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.token("admin", self.admin_password, {"system": {"all": True}})
        return self._admin_token

    def admin(self, method: str, path: str, body=None):
        status, _, answer = http(method, f"{self.url}/v3{path}", body,
                                 {"X-Auth-Token": self.system_admin_token()})
        if not 200 <= status < 300:
            raise TestFailure(f"Keystone: {method} {path}: {status} {answer}")
        return answer

    def find(self, kind: str, name: str) -> str:
        found = self.admin("GET", f"/{kind}?name={name}")[kind]
        if not found:
            raise TestFailure(f"Keystone has no {kind[:-1]} named {name}")
        return found[0]["id"]

    def add_service_user(self, name: str, password: str) -> None:
        """Project ``service`` and a user with the ``service`` role on it."""
        project = self.admin("POST", "/projects", {"project": {"name": "service", "domain_id": "default"}})
        user = self.admin("POST", "/users", {"user": {"name": name, "password": password,
                                                      "domain_id": "default"}})
        self.admin("PUT", f"/projects/{project['project']['id']}/users/{user['user']['id']}"
                          f"/roles/{self.find('roles', 'service')}")

    def register_baremetal(self, url: str) -> None:
        service = self.admin("POST", "/services", {"service": {
            "type": "baremetal", "name": "ironic", "description": "m2 Bare Metal"}})
        for interface in ("public", "internal"):
            self.admin("POST", "/endpoints", {"endpoint": {
                "service_id": service["service"]["id"], "interface": interface,
                "url": url, "region_id": REGION}})


# ---------------------------------------------------------------------------
# m2
# ---------------------------------------------------------------------------


class M2:
    def __init__(self, binary: Path, workdir: Path, procs: Processes, keystone: Keystone) -> None:
        self.binary = binary
        self.dir = workdir / "m2"
        self.procs = procs
        self.keystone = keystone
        self.url = ""

    def start(self) -> None:
        d = self.dir
        d.mkdir(parents=True)
        password = "m2-" + secrets.token_hex(8)
        self.keystone.add_service_user("m2", password)
        ks = self.keystone.url
        conf = d / "m2.conf"
        conf.write_text(
            "[DEFAULT]\nhost = horizon-conductor\nauth_strategy = keystone\n"
            "enabled_hardware_types = fake-hardware\n"
            "[api]\nhost_ip = 127.0.0.1\nport = 0\n"
            "[conductor]\nsync_power_state_interval = 0\n"
            f"[keystone_authtoken]\nwww_authenticate_uri = {ks}\nauth_type = password\n"
            f"auth_url = {ks}\nusername = m2\npassword = {password}\nproject_name = service\n"
            "user_domain_name = Default\nproject_domain_name = Default\n"
            # No Ceph cluster here: a ceph.conf that does not exist makes any
            # Ceph call fail at once (fake-hardware makes none).
            f"[ceph]\nconffile = {d}/no-ceph/ceph.conf\nconnect_timeout = 2\nop_timeout = 5\n"
        )
        m2_log = d / "m2.log"
        proc = self.procs.start(
            "m2", [self.binary, "--config-file", conf, "standalone", "--data-dir", d / "data"],
            m2_log, env={**os.environ, "NO_COLOR": "1"}, stdout=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            if "m2 listening on" in line:
                self.url = line.rsplit(" ", 1)[-1].rstrip("/")
                if "://" not in self.url:
                    self.url = "http://" + self.url
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            raise TestFailure(f"m2 did not print its listening line:\n{tail(m2_log)}")
        # Keep reading stdout so that m2 never blocks on a full pipe.
        _drain(proc.stdout, m2_log)
        wait_http(f"{self.url}/", proc, "m2", m2_log, timeout=60)
        self.keystone.register_baremetal(self.url)
        log(f"m2 on {self.url} ({self.binary}), registered as service type baremetal")

    def call(self, method: str, path: str, body=None, expect: tuple = (200, 201, 202, 204)):
        status, _, answer = http(method, self.url + path, body, {
            "X-Auth-Token": self.keystone.system_admin_token(), M2_VERSION_HEADER: "latest"})
        if status not in expect:
            raise TestFailure(f"m2: {method} {path}: {status} {answer}")
        return answer

    def node(self, ident: str) -> dict:
        return self.call("GET", f"/v1/nodes/{ident}")

    def wait_state(self, ident: str, state: str, timeout: float = 60) -> dict:
        def check():
            n = self.node(ident)
            if n["provision_state"] == state and not n.get("target_provision_state"):
                return n
            return None
        return wait_until(f"node {ident} to reach {state}", check, timeout)

    def set_state(self, ident: str, verb: str, state: str) -> None:
        self.call("PUT", f"/v1/nodes/{ident}/states/provision", {"target": verb})
        self.wait_state(ident, state)


def _drain(stream, log_path: Path) -> None:
    import threading

    def run():
        with open(log_path, "ab") as f:
            for chunk in iter(lambda: stream.readline(), b""):
                f.write(chunk)
                f.flush()

    threading.Thread(target=run, daemon=True).start()


def make_nodes(m2: M2, owner: str) -> list[dict]:
    """Three fake-hardware nodes owned by ``owner``: enroll, available, active."""
    nodes = []
    for i in range(3):
        n = m2.call("POST", "/v1/nodes", {
            "name": f"{NODE_PREFIX}{i}", "driver": "fake-hardware", "owner": owner,
            "properties": {"cpus": 4, "memory_mb": 8192, "local_gb": 40, "cpu_arch": "x86_64"},
        })
        nodes.append(n)
    m2.call("POST", "/v1/ports", {"node_uuid": nodes[1]["uuid"], "address": "52:54:00:12:34:56"})
    for verb, state in (("manage", "manageable"), ("provide", "available")):
        m2.set_state(nodes[1]["uuid"], verb, state)
        m2.set_state(nodes[2]["uuid"], verb, state)
    m2.call("PATCH", f"/v1/nodes/{nodes[2]['uuid']}", [
        {"op": "add", "path": "/instance_info/image_source", "value": "horizon-test-image"}])
    m2.set_state(nodes[2]["uuid"], "active", "active")
    return [m2.node(n["uuid"]) for n in nodes]


# ---------------------------------------------------------------------------
# Horizon
# ---------------------------------------------------------------------------


def start_horizon(workdir: Path, procs: Processes, keystone: Keystone) -> str:
    d = workdir / "horizon"
    d.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    horizon_log = d / "horizon.log"
    proc = procs.start(
        "horizon",
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--insecure", "--noreload"],
        horizon_log,
        env=django_env({
            "M2_HORIZON_KEYSTONE_URL": f"{keystone.url}/v3",
            "M2_HORIZON_SECRET_KEY": secrets.token_urlsafe(48),
            "PYTHONUNBUFFERED": "1",
        }),
    )
    started = time.monotonic()
    wait_http(f"{url}/auth/login/", proc, "Horizon", horizon_log, timeout=120)
    log(f"Horizon on {url} ({time.monotonic() - started:.1f}s)")
    return url


# ---------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------


def first_existing(*paths: str | None) -> str | None:
    for p in paths:
        if p and Path(p).exists():
            return p
    return None


class Browser:
    def __init__(self, procs: Processes, workdir: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        chromium = first_existing(os.environ.get("M2_CHROMIUM"), "/usr/bin/chromium")
        driver = first_existing(os.environ.get("M2_CHROMEDRIVER"), "/usr/bin/chromedriver")
        if not chromium or not driver:
            raise TestFailure("chromium or chromedriver is missing (scripts/install-test-deps.sh horizon)")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1440,900", "--lang=en-US", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking",
                    f"--user-data-dir={workdir / 'chromium-profile'}"):
            options.add_argument(arg)
        service = Service(executable_path=driver, log_output=str(workdir / "chromedriver.log"),
                          popen_kw={"preexec_fn": _own_group_dying_with_parent})
        self.driver = webdriver.Chrome(service=service, options=options)
        procs.adopt("chromedriver", service.process.pid)
        self.driver.set_page_load_timeout(120)
        version = self.driver.capabilities.get("browserVersion", "?")
        log(f"headless Chromium {version} ({chromium}, {driver})")

    def quit(self) -> None:
        try:
            self.driver.quit()
        except Exception as e:  # noqa: BLE001 - the processes are stopped anyway
            log(f"closing the browser: {e}")


def wait_for(driver, what: str, condition, timeout: float = 60):
    from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                            TimeoutException)
    from selenium.webdriver.support.ui import WebDriverWait

    # Angular redraws the table on every refresh: an element found a moment
    # ago may be gone; the condition is then simply tried again.
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
                             ).until(condition)
    except TimeoutException:
        raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what} on {driver.current_url}") from None


def body_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def login(b: Browser, horizon: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    d = b.driver
    d.get(f"{horizon}/auth/login/")
    wait_for(d, "the login form", lambda d: d.find_elements(By.ID, "id_username"))
    d.find_element(By.ID, "id_username").send_keys("admin")
    d.find_element(By.ID, "id_password").send_keys(password)
    d.find_element(By.ID, "loginBtn").click()
    wait_for(d, "the login to finish", lambda d: "/auth/login" not in d.current_url, timeout=90)
    wait_for(d, "the signed-in user menu", lambda d: any(
        e.text.strip() == "admin" for e in d.find_elements(By.CSS_SELECTOR, ".user-menu .user-name")))
    log(f"logged in as admin; landed on {d.current_url}")


def node_row(d, name: str):
    from selenium.webdriver.common.by import By

    rows = d.find_elements(By.XPATH, f"//table//tbody/tr[.//a[normalize-space()='{name}']]")
    return rows[0] if rows else None


_ROWS_JS = """
const rows = {};
for (const tr of document.querySelectorAll("table tbody tr")) {
  const link = tr.querySelector("td a");
  if (!link) continue;
  rows[link.textContent.trim()] =
    Array.from(tr.querySelectorAll("td")).map(td => td.innerText.trim());
}
return rows;
"""


def table_rows(d) -> dict[str, list[str]]:
    """The node table as {node name: [cell texts]}, read in one step."""
    return d.execute_script(_ROWS_JS) or {}


def open_node_list(b: Browser, horizon: str, nodes: list[dict]) -> None:
    """Admin > System > Ironic Bare Metal Provisioning, through the menu."""
    from selenium.webdriver.common.by import By

    d = b.driver
    d.get(f"{horizon}/admin/")
    link = wait_for(d, "the Ironic panel in the Admin menu", lambda d: next(
        (a for a in d.find_elements(By.CSS_SELECTOR, "#sidebar a[href$='/admin/ironic/']")), None))
    if not link.is_displayed():
        # The panel sits in the side menu's "System" group: expand it first.
        group = wait_for(d, "the System group of the Admin menu", lambda d: next(
            (a for a in d.find_elements(By.XPATH, "//*[@id='sidebar']//a[normalize-space()='System']")
             if a.is_displayed()), None))
        group.click()
        wait_for(d, "the Ironic panel to show in the menu", lambda d: link.is_displayed(), timeout=10)
    link.click()
    wait_for(d, "the node list page", lambda d: d.current_url.rstrip("/").endswith("/admin/ironic"))
    wait_for(d, "every node in the list",
             lambda d: all(n["name"] in table_rows(d) for n in nodes), timeout=90)


def check_node_list(b: Browser, nodes: list[dict]) -> None:
    d = b.driver
    for n in nodes:
        cells = wait_for(d, f"{n['name']}'s row to show {n['provision_state']}",
                         lambda d, n=n: (c := table_rows(d).get(n["name"]))
                         and n["provision_state"] in c and c)
        if "fake-hardware" not in cells:
            raise TestFailure(f"{n['name']}: the driver column does not say fake-hardware: {cells}")
        log(f"listed: {' | '.join(cells[1:-1])}")
    title = d.title
    if "Ironic" not in title and "Bare Metal" not in title:
        raise TestFailure(f"unexpected page title {title!r}")


def screenshot(b: Browser, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not b.driver.save_screenshot(str(path)):
        raise TestFailure(f"Chromium could not write the screenshot {path}")
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            raise TestFailure(f"{path} is not a PNG")
    print(f"screenshot: {path}", flush=True)


def check_node_detail(b: Browser, horizon: str, node: dict, shot: Path) -> None:
    """Opens the node from the list: its Overview tab shows the name and the
    provision state (screenshot), its Configuration tab the UUID."""
    from selenium.webdriver.common.by import By

    d = b.driver
    row = node_row(d, node["name"])
    row.find_element(By.XPATH, f".//a[normalize-space()='{node['name']}']").click()
    wait_for(d, f"{node['name']}'s detail page", lambda d: node["uuid"] in d.current_url)
    wait_for(d, f"{node['name']}'s name and provision state on its Overview tab",
             lambda d: detail_value(d, "Name") == node["name"]
             and detail_value(d, "Provision State") == node["provision_state"])
    screenshot(b, shot)
    tab = wait_for(d, "the Configuration tab", lambda d: next(
        (a for a in d.find_elements(By.XPATH, "//a[normalize-space()='Configuration']") if a.is_displayed()), None))
    tab.click()
    wait_for(d, f"{node['name']}'s UUID on its Configuration tab",
             lambda d: detail_value(d, "Node ID") == node["uuid"])
    log(f"detail page of {node['name']}: UUID {node['uuid']}, provision state {node['provision_state']}")


def detail_value(d, label: str) -> str | None:
    """The visible <dd> after the <dt> named ``label`` on a detail page."""
    from selenium.webdriver.common.by import By

    for dd in d.find_elements(By.XPATH, f"//dt[normalize-space()='{label}']/following-sibling::dd[1]"):
        if dd.is_displayed():
            return dd.text.strip()
    return None


def row_menu_item(b: Browser, node: dict, label: str):
    """Opens a node row's action menu and returns its item named ``label``."""
    from selenium.webdriver.common.by import By

    xpath = f".//a[@role='menuitem'][normalize-space()='{label}']"

    def attempt(d):
        row = node_row(d, node["name"])
        if row is None:
            return None
        items = [a for a in row.find_elements(By.XPATH, xpath) if a.is_displayed()]
        if items:
            return items[0]
        toggle = row.find_element(By.CSS_SELECTOR, "action-list .dropdown-toggle")
        if toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        return None
    return wait_for(b.driver, f"'{label}' in {node['name']}'s action menu", attempt, timeout=30)


def toast(b: Browser, fragment: str) -> str:
    from selenium.webdriver.common.by import By

    def check(d):
        for el in d.find_elements(By.CSS_SELECTOR, ".alert, toast, .toast"):
            try:
                if fragment in el.text:
                    return el.text.strip()
            except Exception:  # noqa: BLE001 - a toast that went away meanwhile
                continue
        return None
    return wait_for(b.driver, f"a message containing {fragment!r}", check, timeout=30)


def refresh_list(b: Browser) -> None:
    from selenium.webdriver.common.by import By

    d = b.driver
    buttons = [x for x in d.find_elements(By.XPATH, "//button[normalize-space()='Refresh']") if x.is_displayed()]
    if buttons:
        buttons[0].click()
    else:
        d.refresh()


def provision_action(b: Browser, m2: M2, node: dict) -> None:
    """"Move to manageable" on an enrolled node, from its row's menu."""
    item = row_menu_item(b, node, "Move to manageable")
    item.click()
    message = toast(b, "provisioning state")
    log(f"Horizon says: {message}")
    after = m2.wait_state(node["uuid"], "manageable")
    log(f"m2: {node['name']} is {after['provision_state']} (was {node['provision_state']})")
    refresh_list(b)
    wait_for(b.driver, f"{node['name']}'s row to show manageable",
             lambda d: "manageable" in table_rows(d).get(node["name"], []))


def maintenance_action(b: Browser, m2: M2, node: dict, reason: str) -> None:
    """"Maintenance On" with a reason, from the node's row menu and its dialog."""
    from selenium.webdriver.common.by import By

    item = row_menu_item(b, node, "Maintenance On")
    item.click()
    d = b.driver
    field = wait_for(d, "the maintenance dialog", lambda d: next(
        (e for e in d.find_elements(By.CSS_SELECTOR, ".modal-dialog input[type='text']") if e.is_displayed()), None))
    field.send_keys(reason)
    d.find_element(By.XPATH, "//div[contains(@class,'modal-dialog')]//button"
                             "[normalize-space()='Put Node(s) Into Maintenance Mode']").click()
    after = wait_until(f"m2 to show {node['name']} in maintenance",
                       lambda: (n := m2.node(node["uuid"]))["maintenance"] and n, timeout=30)
    if after.get("maintenance_reason") != reason:
        raise TestFailure(f"maintenance reason {after.get('maintenance_reason')!r}, expected {reason!r}")
    log(f"m2: {node['name']} is in maintenance, reason {after['maintenance_reason']!r}")
    refresh_list(b)
    wait_for(d, f"{node['name']}'s row to show maintenance Yes",
             lambda d: "Yes" in table_rows(d).get(node["name"], []))


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def artifacts_dir() -> Path:
    base = os.environ.get("M2_TEST_ARTIFACTS")
    return Path(base) / "horizon" if base else REPO_ROOT / "target" / "horizon"


def find_m2(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("M2_BIN"), REPO_ROOT / "target" / "debug" / "m2",
                      REPO_ROOT / "target" / "release" / "m2"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    raise TestFailure("no m2 binary: set M2_BIN or build it (cargo build)")


def run(args: argparse.Namespace, workdir: Path, procs: Processes) -> None:
    keystone_venv = Path(os.environ.get("M2_TEST_KEYSTONE_VENV", REPO_ROOT / ".venv-keystone"))
    if not (keystone_venv / "bin" / "keystone-manage").exists():
        raise TestFailure(f"no Keystone in {keystone_venv} (scripts/install-test-deps.sh keystone)")
    m2_bin = find_m2(args.m2_bin)
    out = artifacts_dir()
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    keystone = Keystone(keystone_venv, workdir, procs)
    keystone.start()
    m2 = M2(m2_bin, workdir, procs, keystone)
    m2.start()
    admin_project = keystone.find("projects", "admin")
    t1 = time.monotonic()
    nodes = make_nodes(m2, admin_project)
    log(f"nodes made in {time.monotonic() - t1:.1f}s")
    log("nodes: " + ", ".join(f"{n['name']} ({n['provision_state']})" for n in nodes))
    horizon = start_horizon(workdir, procs, keystone)
    log(f"services up in {time.monotonic() - t0:.1f}s")

    b = Browser(procs, workdir)
    try:
        login(b, horizon, keystone.admin_password)
        open_node_list(b, horizon, nodes)
        check_node_list(b, nodes)
        screenshot(b, out / "node-list.png")
        check_node_detail(b, horizon, nodes[0], out / "node-detail.png")
        open_node_list(b, horizon, nodes)
        provision_action(b, m2, nodes[0])
        maintenance_action(b, m2, nodes[1], "horizon test " + secrets.token_hex(3))
        screenshot(b, out / "node-list-after-actions.png")
    except Exception:
        try:
            screenshot(b, out / "failure.png")
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        raise
    finally:
        b.quit()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setup-only", action="store_true",
                    help="configure Horizon (enabled panel, local settings, static files) and stop")
    ap.add_argument("--m2-bin", help="the m2 binary (default: $M2_BIN, else target/debug/m2, target/release/m2)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    started = time.monotonic()
    try:
        setup_horizon()
    except TestFailure as e:
        log(f"FAILED: {e}")
        return 1
    if args.setup_only:
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="m2-horizon-"))
    procs = Processes()
    ok = False

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        run(args, workdir, procs)
        ok = True
    except TestFailure as e:
        log(f"FAILED: {e}")
    except KeyboardInterrupt as e:
        log(f"interrupted ({e})")
    except Exception:  # noqa: BLE001 - reported, then the exit status says it
        log("FAILED with an unexpected error:\n" + traceback.format_exc())
    finally:
        procs.stop_all()
    elapsed = time.monotonic() - started
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"work directory kept: {workdir} (keystone/, m2/m2.log, horizon/horizon.log, chromedriver.log)")
    log(f"{'passed' if ok else 'FAILED'} in {elapsed:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
