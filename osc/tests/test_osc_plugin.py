"""The ``openstack baremetal m2 ...`` commands against a real m2.

Runs the real ``openstack`` program of this Python environment against an
``m2 standalone`` started here on 127.0.0.1 (port 0). The operations that
need Ceph (image data, volumes, snapshots, release, recovery, boot from a
volume) run on the one-host Ceph cluster and private tgtd of tests/harness/,
with fake-hardware nodes using the real m2 deploy interface: every disk is a
real RBD clone exported by a real tgtd. Without Ceph those parts are skipped
with the reason printed (in CI, where nothing may be skipped, they fail).

Environment: M2_BIN (the m2 binary, required), OPENSTACK_BIN (default: the
openstack program beside this Python), CI, M2_OSC_KEEP=1 (keep the temporary
directory with m2's log).

    M2_BIN=target/debug/m2 .venv/bin/python osc/tests/test_osc_plugin.py -v
"""

import hashlib
import importlib.util
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "harness"
CEPH_TOOLS = ("ceph", "ceph-mon", "ceph-mgr", "ceph-osd", "ceph-authtool",
              "monmaptool", "rbd", "uuidgen")
TGT_TOOLS = ("tgtd", "tgtadm")
START_TIMEOUT = 60
SETTLE = 120
VERSION_HEADER = "X-OpenStack-Ironic-API-Version"


def in_ci():
    v = os.environ.get("CI", "")
    return bool(v) and v != "0" and v.lower() != "false"


def missing_tools(tools):
    extra = ["/usr/sbin", "/sbin", "/usr/bin"]
    path = os.pathsep.join([os.environ.get("PATH", "")] + extra)
    return [t for t in tools if shutil.which(t, path=path) is None]


def require(available, reason):
    """Skips the calling test (or class) with a printed reason; fails in CI."""
    if available:
        return
    if in_ci():
        raise AssertionError("cannot run in CI: %s" % reason)
    print("\nSKIP: %s" % reason, file=sys.stderr, flush=True)
    raise unittest.SkipTest(reason)


def openstack_bin():
    explicit = os.environ.get("OPENSTACK_BIN")
    if explicit:
        return explicit
    # Beside this interpreter (a venv's bin/), without resolving its symlink.
    beside = Path(sys.executable).parent / "openstack"
    if beside.exists():
        return str(beside)
    return shutil.which("openstack")


class Env:
    """Ceph, tgtd and m2 for the whole module."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="m2-osc-"))
        self.m2 = None
        self.url = None
        self.ceph = None  # exported variables of ceph.sh
        self.tgt = None
        self.ceph_reason = None
        self.tgt_reason = None
        self.m2_log = self.dir / "m2.log"

    # -- services ---------------------------------------------------------
    def _service(self, script, name):
        out = subprocess.run(
            [str(HARNESS / script), "start", str(self.dir / name)],
            capture_output=True, text=True, timeout=300,
        )
        if out.returncode != 0:
            raise RuntimeError("%s start failed: %s" % (script, out.stderr))
        exported = {}
        for line in out.stdout.splitlines():
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                exported[k] = v
        return exported

    def start_storage(self):
        missing = missing_tools(CEPH_TOOLS)
        if missing:
            self.ceph_reason = "Ceph is not installed (missing %s)" % (
                ", ".join(missing))
        else:
            try:
                self.ceph = self._service("ceph.sh", "ceph")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                self.ceph_reason = (
                    "the test Ceph cluster did not start: %s" % e)
        if self.ceph is None:
            self.tgt_reason = self.ceph_reason
            return
        missing = missing_tools(TGT_TOOLS)
        if missing:
            self.tgt_reason = "tgt is not installed (missing %s)" % (
                ", ".join(missing))
            return
        try:
            self.tgt = self._service("tgtd.sh", "tgt")
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            self.tgt_reason = "the test tgtd did not start: %s" % e

    def config(self):
        lines = [
            "[DEFAULT]",
            "host = osc-test",
            "enabled_hardware_types = fake-hardware",
            "enabled_power_interfaces = fake",
            "enabled_management_interfaces = fake",
        ]
        if self.ceph and self.tgt:
            lines += [
                "enabled_boot_interfaces = ipxe,fake",
                "enabled_deploy_interfaces = m2,fake",
            ]
        lines += [
            "[api]",
            "host_ip = 127.0.0.1",
            "port = 0",
            "[conductor]",
            "sync_power_state_interval = 0",
            "automated_clean = false",
        ]
        if self.ceph:
            lines += ["[ceph]", "conffile = %s" % self.ceph["CEPH_CONF"]]
        if self.tgt:
            lines += [
                "[pxe]",
                "http_url = http://127.0.0.1",
                "[iscsi]",
                "portal = 127.0.0.1:%s" % self.tgt["M2_TGT_PORT"],
                "tgt_control_port = %s" % self.tgt["M2_TGT_CTL"],
                "tgtadm = tgtadm",
            ]
        return "\n".join(lines) + "\n"

    def start_m2(self, m2_bin):
        conf = self.dir / "m2.conf"
        conf.write_text(self.config())
        stdout = self.dir / "m2.out"
        env = dict(os.environ, NO_COLOR="1")
        env.pop("M2_CONFIG_FILE", None)
        env.pop("M2_DATA_DIR", None)
        with open(stdout, "wb") as out, open(self.m2_log, "wb") as err:
            self.m2 = subprocess.Popen(
                [m2_bin, "--config-file", str(conf), "standalone",
                 "--data-dir", str(self.dir / "data")],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in stdout.read_text(errors="replace").splitlines():
                if line.startswith("m2 listening on "):
                    addr = line[len("m2 listening on "):].strip()
                    if "://" not in addr:
                        addr = "http://" + addr
                    self.url = addr.rstrip("/")
                    return
            if self.m2.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("m2 did not start:\n%s" % self.log_tail())

    def log_tail(self, n=40):
        try:
            lines = self.m2_log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self):
        if self.m2 is not None and self.m2.poll() is None:
            self.m2.send_signal(signal.SIGTERM)
            try:
                self.m2.wait(30)
            except subprocess.TimeoutExpired:
                self.m2.kill()
                self.m2.wait()
        for script, name, started in (("tgtd.sh", "tgt", self.tgt),
                                      ("ceph.sh", "ceph", self.ceph)):
            if started is not None:
                subprocess.run([str(HARNESS / script), "stop",
                                str(self.dir / name)],
                               capture_output=True, timeout=120)
        if os.environ.get("M2_OSC_KEEP"):
            print("kept %s" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- HTTP, for setting the scene ---------------------------------------
    def api(self, method, path, body=None, expect=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={VERSION_HEADER: "latest",
                     "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if expect is not None and status != expect:
            raise AssertionError("%s %s: HTTP %d, expected %d: %s"
                                 % (method, path, status, expect, text))
        return json.loads(text) if text else None

    def node(self, ident):
        return self.api("GET", "/v1/nodes/%s" % ident, expect=200)

    def wait_state(self, ident, state, timeout=SETTLE):
        deadline = time.monotonic() + timeout
        while True:
            n = self.node(ident)
            if (n["provision_state"] == state
                    and not n["target_provision_state"]):
                return n
            if time.monotonic() > deadline:
                raise AssertionError(
                    "node %s did not become %s: %s (%s)\n%s"
                    % (ident, state, n["provision_state"], n["last_error"],
                       self.log_tail()))
            time.sleep(0.3)

    def provision(self, ident, target, **extra):
        body = dict(extra, target=target)
        self.api("PUT", "/v1/nodes/%s/states/provision" % ident, body,
                 expect=202)

    def make_node(self, name, m2_deploy, mac=None, deploy=False, image=None):
        """A fake-hardware node, available (or active with ``deploy``)."""
        body = {"name": name, "driver": "fake-hardware"}
        if m2_deploy:
            body.update(deploy_interface="m2", boot_interface="ipxe")
        n = self.api("POST", "/v1/nodes", body, expect=201)
        if mac:
            self.api("POST", "/v1/ports",
                     {"address": mac, "node_uuid": n["uuid"]}, expect=201)
        self.provision(n["uuid"], "manage")
        self.wait_state(n["uuid"], "manageable")
        self.provision(n["uuid"], "provide")
        self.wait_state(n["uuid"], "available")
        if image:
            self.api("PATCH", "/v1/nodes/%s" % n["uuid"],
                     [{"op": "add", "path": "/instance_info/image_source",
                       "value": image}], expect=200)
        if deploy:
            self.provision(n["uuid"], "active")
            self.wait_state(n["uuid"], "active")
        return n["uuid"]

    def rbd(self, *args, check=True):
        env = dict(os.environ, CEPH_CONF=self.ceph["CEPH_CONF"])
        out = subprocess.run(["rbd", "--id", "m2", *args], env=env,
                             capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise AssertionError("rbd %s: %s" % (" ".join(args), out.stderr))
        return out


ENV = None
OPENSTACK = None


def setUpModule():
    global ENV, OPENSTACK
    m2_bin = os.environ.get("M2_BIN")
    if not m2_bin:
        raise unittest.SkipTest("M2_BIN (the m2 binary) is not set")
    OPENSTACK = openstack_bin()
    if not OPENSTACK:
        raise unittest.SkipTest("no openstack program beside %s"
                                % sys.executable)
    if importlib.util.find_spec("m2client") is None:
        raise unittest.SkipTest("python-m2client is not installed beside %s"
                                % sys.executable)
    ENV = Env()
    try:
        ENV.start_storage()
        ENV.start_m2(m2_bin)
    except BaseException:
        ENV.stop()
        raise
    for reason in sorted({r for r in (ENV.ceph_reason, ENV.tgt_reason) if r}):
        print("\n%s: the tests that need it skip" % reason, file=sys.stderr,
              flush=True)


def tearDownModule():
    if ENV is not None:
        ENV.stop()


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self):
        return "rc=%s\nstdout:\n%s\nstderr:\n%s" % (
            self.rc, self.stdout, self.stderr)


def clean_env():
    """The environment without the caller's cloud settings."""
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("OS_") or k.startswith("CLIFF_"))}


def run(*args, endpoint=None, env=None, input=None, options=()):
    """``openstack [options] baremetal <args>`` against m2."""
    cmd = [OPENSTACK, *options]
    if env is None:
        cmd += ["--os-auth-type", "none",
                "--os-endpoint", endpoint or ENV.url]
    cmd += ["baremetal", *args]
    proc = subprocess.run(
        cmd, capture_output=True, input=input, timeout=600,
        env=dict(clean_env(), **(env or {})),
    )
    return Run(proc)


class CliCase(unittest.TestCase):
    maxDiff = None

    def ok(self, *args, **kw):
        r = run(*args, **kw)
        self.assertEqual(r.rc, 0, "openstack baremetal %s: %r\nm2 log:\n%s"
                         % (" ".join(args), r, ENV.log_tail()))
        return r

    def js(self, *args, **kw):
        r = self.ok(*args, "-f", "json", **kw)
        try:
            return json.loads(r.stdout)
        except ValueError:
            self.fail("not JSON: %r" % r)

    def fails(self, needle, *args, **kw):
        """Runs a command that m2 refuses: exit status 1 and the
        faultstring on stderr, cleanly (no JSON body, no traceback)."""
        r = run(*args, **kw)
        self.assertEqual(r.rc, 1, "openstack baremetal %s: %r"
                         % (" ".join(args), r))
        err = r.stderr.decode()
        self.assertIn(needle, err)
        self.assertNotIn("error_message", err)
        self.assertNotIn("faultstring", err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(r.stdout, b"")
        return err.strip()


class ErrorOutputTest(CliCase):
    """Errors print m2's faultstring and exit 1; the endpoint and the
    microversion reach m2 as the options say."""

    def test_missing_image(self):
        err = self.fails("could not be found", "m2", "image", "show",
                         "no-such-image")
        self.assertEqual(err,
                         "Image no-such-image could not be found. (HTTP 404)")

    def test_missing_volume(self):
        err = self.fails("could not be found", "m2", "volume", "show",
                         "no-such-volume")
        self.assertEqual(
            err, "Volume no-such-volume could not be found. (HTTP 404)")

    def test_bad_request(self):
        name = str(uuid.uuid4())
        err = self.fails("An image name may not be a UUID", "m2", "image",
                         "create", "--name", name)
        self.assertTrue(err.endswith("(HTTP 400)"), err)

    def test_unreachable_endpoint(self):
        r = run("m2", "image", "list", endpoint="http://127.0.0.1:1")
        self.assertEqual(r.rc, 1, repr(r))
        self.assertNotIn(b"Traceback", r.stderr)
        self.assertTrue(r.stderr.strip(), repr(r))

    def test_environment_and_v1_suffix(self):
        images = self.js("m2", "image", "list", env={
            "OS_AUTH_TYPE": "none", "OS_ENDPOINT": ENV.url + "/v1/"})
        self.assertIsInstance(images, list)

    def test_microversion(self):
        r = self.ok("m2", "image", "list", options=("--debug",))
        self.assertIn(b"X-OpenStack-Ironic-API-Version: latest", r.stderr)
        r = self.ok("m2", "image", "list", options=(
            "--debug", "--os-baremetal-m2-microversion", "1.65"))
        self.assertIn(b"X-OpenStack-Ironic-API-Version: 1.65", r.stderr)
        self.fails("Version 1.999 was requested", "m2", "image", "list",
                   options=("--os-baremetal-m2-microversion", "1.999"))


class QueuedImageTest(CliCase):
    """Image records without data: no Ceph needed until the data or the
    deletion."""

    def test_create_show_list_set_unset(self):
        name = "queued-%s" % uuid.uuid4().hex[:8]
        img = self.js("m2", "image", "create", "--name", name,
                      "--visibility", "shared", "--share-with", "p1",
                      "--extra", "team=ops", "--extra", "n=3",
                      "--disk-format", "raw")
        self.assertEqual(img["name"], name)
        self.assertEqual(img["status"], "queued")
        self.assertEqual(img["visibility"], "shared")
        self.assertEqual(img["shared_with"], ["p1"])
        self.assertEqual(img["extra"], {"team": "ops", "n": 3})
        self.assertNotIn("links", img)

        shown = self.js("m2", "image", "show", img["uuid"])
        self.assertEqual(shown, img)

        listed = self.js("m2", "image", "list", "--name", name)
        self.assertEqual(listed, [{
            "UUID": img["uuid"], "Name": name, "Status": "queued",
            "Visibility": "shared", "Size": None,
        }])
        long = self.js("m2", "image", "list", "--name", name, "--long")
        self.assertEqual(long[0]["Shared With"], ["p1"])
        self.assertEqual(long[0]["Extra"], {"team": "ops", "n": 3})
        table = self.ok("m2", "image", "list", "--status", "queued").stdout
        self.assertIn(img["uuid"].encode(), table)

        r = self.ok("m2", "image", "set", name, "--name", name + "-b",
                    "--share-with", "p2", "--share-with", "p3",
                    "--extra", "team=dev", "--extra", "a/b=1")
        self.assertEqual(r.stdout, b"")
        shown = self.js("m2", "image", "show", name + "-b")
        self.assertEqual(shown["shared_with"], ["p2", "p3"])
        self.assertEqual(shown["extra"], {"team": "dev", "n": 3, "a/b": 1})

        self.ok("m2", "image", "unset", name + "-b", "--extra", "n",
                "--extra", "a/b", "--shared-with")
        shown = self.js("m2", "image", "show", name + "-b")
        self.assertEqual(shown["extra"], {"team": "dev"})
        self.assertEqual(shown["shared_with"], [])

        self.fails("Nothing to set", "m2", "image", "set", name + "-b")

    def test_download_without_data(self):
        img = self.js("m2", "image", "create", "--name",
                      "empty-%s" % uuid.uuid4().hex[:8])
        target = ENV.dir / ("dl-%s" % img["uuid"])
        self.fails("has no data", "m2", "image", "download", img["uuid"],
                   "--file", str(target))
        self.assertFalse(target.exists())

    def test_bad_visibility_is_a_usage_error(self):
        r = run("m2", "image", "create", "--visibility", "everyone")
        self.assertEqual(r.rc, 2, repr(r))


class NodeValidationTest(CliCase):
    """release, recover, snapshot and boot-volume refused by m2's checks on
    fake-hardware nodes that have no disk in Ceph."""

    @classmethod
    def setUpClass(cls):
        cls.enrolled = ENV.api("POST", "/v1/nodes", {
            "name": "val-enroll", "driver": "fake-hardware"}, expect=201
        )["uuid"]
        cls.active = ENV.make_node("val-active", m2_deploy=False,
                                   deploy=True)
        cls.spare = ENV.make_node("val-spare", m2_deploy=False)

    def test_release(self):
        self.fails('can not be performed on node "%s" while it is in state '
                   '"enroll"' % self.enrolled,
                   "m2", "node", "release", "val-enroll")
        self.fails("Invalid keep_disk", "m2", "node", "release",
                   "val-active", "--keep-disk", str(uuid.uuid4()))
        self.fails("has no disk in Ceph to keep", "m2", "node", "release",
                   "val-active", "--keep-disk", "kept")
        self.assertEqual(ENV.node(self.active)["provision_state"], "active")

    def test_recover(self):
        self.fails("Node no-such-node could not be found", "m2", "node",
                   "recover", "val-active", "--spare", "no-such-node")
        self.fails("only active or deploy failed nodes can be recovered",
                   "m2", "node", "recover", "val-enroll", "--spare",
                   "val-spare")
        self.fails("has no disk in Ceph", "m2", "node", "recover",
                   "val-active", "--spare", "val-spare")
        self.assertEqual(ENV.node(self.spare)["provision_state"],
                         "available")

    def test_snapshot(self):
        self.fails("has no disk in Ceph to capture", "m2", "image",
                   "snapshot", "val-active", "--name", "val-snap")

    def test_boot_volume(self):
        self.fails("Volume no-such-volume could not be found", "m2", "node",
                   "boot-volume", "val-spare", "no-such-volume")
        n = ENV.node(self.spare)
        self.assertNotIn("volume", n["instance_info"])
        self.assertEqual(n["provision_state"], "available")


class CephImageTest(CliCase):
    """Image data through the CLI: streamed upload (with and without the
    progress bar), download compared byte for byte, deletion."""

    @classmethod
    def setUpClass(cls):
        require(ENV.ceph, ENV.ceph_reason or "")
        cls.data = os.urandom(3 * 1024 * 1024 + 123)
        cls.file = ENV.dir / "image.raw"
        cls.file.write_bytes(cls.data)
        cls.digest = hashlib.sha256(cls.data).hexdigest()

    def check_stored(self, img):
        self.assertEqual(img["status"], "active", img)
        self.assertEqual(img["size"], len(self.data))
        self.assertEqual(img["checksum"], self.digest)

    def test_upload_list_show_download_delete(self):
        name = "up-%s" % uuid.uuid4().hex[:8]
        img = self.js("m2", "image", "create", "--name", name,
                      "--visibility", "public")
        self.assertEqual(img["status"], "queued")

        # Upload with the progress bar asked for (stderr is not a terminal).
        r = self.ok("m2", "image", "upload", name, str(self.file),
                    "--progress", "-f", "json")
        stored = json.loads(r.stdout)
        self.check_stored(stored)
        progress = r.stderr.decode()
        total = len(self.data)
        self.assertIn("Uploading", progress)
        self.assertIn("100%", progress)
        self.assertIn("(%d/%d bytes)" % (total, total), progress)
        self.assertIn("(0/%d bytes)" % total, progress)

        # Uploading again is refused: the image is not waiting for data.
        self.fails("(HTTP 409)", "m2", "image", "upload", name,
                   str(self.file))

        # create --file in one step; no progress on a redirected stderr.
        one = self.js("m2", "image", "create", "--name", name + "-one",
                      "--file", str(self.file))
        self.check_stored(one)
        r = self.ok("m2", "image", "create", "--name", name + "-quiet",
                    "--file", str(self.file), "-f", "value", "-c", "uuid")
        self.assertEqual(r.stderr, b"")
        quiet = r.stdout.decode().strip()

        # From standard input, size unknown.
        piped = self.js("m2", "image", "create", "--name", name + "-pipe")
        r = self.ok("m2", "image", "upload", piped["uuid"], "-",
                    "--progress", "-f", "json", input=self.data)
        self.check_stored(json.loads(r.stdout))
        self.assertIn("(%d bytes)" % total, r.stderr.decode())

        listed = self.js("m2", "image", "list", "--status", "active")
        by_uuid = {i["UUID"]: i for i in listed}
        for uid in (img["uuid"], one["uuid"], quiet, piped["uuid"]):
            self.assertEqual(by_uuid[uid]["Size"], total)
        self.assertEqual(by_uuid[img["uuid"]]["Visibility"], "public")
        page = self.js("m2", "image", "list", "--limit", "2", "--sort",
                       "created_at:desc")
        self.assertEqual(len(page), 2)

        shown = self.js("m2", "image", "show", name)
        self.assertEqual(shown["uuid"], img["uuid"])
        self.assertTrue(shown["rbd"].startswith("m2-images/"), shown)

        out = ENV.dir / "download.raw"
        r = self.ok("m2", "image", "download", name, "--file", str(out),
                    "--progress")
        self.assertEqual(out.read_bytes(), self.data)
        self.assertIn("Downloading", r.stderr.decode())
        self.assertIn("100%", r.stderr.decode())
        r = self.ok("m2", "image", "download", one["uuid"])
        self.assertEqual(r.stdout, self.data)
        self.assertEqual(r.stderr, b"")

        r = self.ok("m2", "image", "delete", name, name + "-one", quiet,
                    piped["uuid"])
        self.assertEqual(r.stdout.decode().count("Deleted image"), 4)
        self.fails("could not be found", "m2", "image", "show", name)

        # One failure does not stop the other deletions; the exit status
        # tells.
        last = self.js("m2", "image", "create", "--name", name + "-last")
        r = run("m2", "image", "delete", name + "-nope", last["uuid"])
        self.assertEqual(r.rc, 1, repr(r))
        self.assertEqual(r.stdout.decode().strip(),
                         "Deleted image %s" % last["uuid"])
        err = r.stderr.decode()
        self.assertIn("Failed to delete image %s-nope: Image %s-nope could "
                      "not be found. (HTTP 404)" % (name, name), err)
        self.assertIn("1 of 2 images failed to delete.", err)
        self.assertNotIn("Traceback", err)

    def test_progress_on_a_terminal(self):
        """A terminal on stderr gets the bar without --progress;
        --no-progress silences it."""
        name = "tty-%s" % uuid.uuid4().hex[:8]
        self.js("m2", "image", "create", "--name", name)
        out, rc = self.on_terminal("m2", "image", "upload", name,
                                   str(self.file), "-f", "value", "-c",
                                   "status")
        self.assertEqual(rc, 0, out)
        self.assertIn("Uploading", out)
        self.assertIn("100%", out)
        target = ENV.dir / "tty.raw"
        out, rc = self.on_terminal("m2", "image", "download", name,
                                   "--file", str(target), "--no-progress")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.strip(), "")
        self.assertEqual(target.read_bytes(), self.data)
        self.ok("m2", "image", "delete", name)

    @staticmethod
    def on_terminal(*args):
        """Runs the CLI with stderr on a pseudo-terminal; returns what the
        terminal got and the exit status."""
        master, slave = pty.openpty()
        cmd = [OPENSTACK, "--os-auth-type", "none", "--os-endpoint",
               ENV.url, "baremetal", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=slave, stdin=subprocess.DEVNULL,
                                env=clean_env())
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            got += chunk
        os.close(master)
        return got.decode(errors="replace"), proc.wait(timeout=600)

    def test_bad_data(self):
        img = self.js("m2", "image", "create", "--name",
                      "bad-%s" % uuid.uuid4().hex[:8], "--disk-format",
                      "qcow2")
        err = self.fails("(HTTP 400)", "m2", "image", "upload", img["uuid"],
                         str(self.file))
        self.assertNotIn("Traceback", err)
        self.assertEqual(self.js("m2", "image", "show",
                                 img["uuid"])["status"], "error")
        self.ok("m2", "image", "delete", img["uuid"])


class CephVolumeTest(CliCase):
    """Registered RBD images as volumes: create, list, show, set, unset,
    delete (which forgets the volume and leaves the RBD image alone)."""

    @classmethod
    def setUpClass(cls):
        require(ENV.ceph, ENV.ceph_reason or "")
        cls.image = "volumes/osc-%s" % uuid.uuid4().hex[:8]
        ENV.rbd("create", "--size", "8M", cls.image)

    @classmethod
    def tearDownClass(cls):
        ENV.rbd("rm", "--no-progress", cls.image, check=False)

    def test_volume_lifecycle(self):
        name = "vm-disk-%s" % uuid.uuid4().hex[:8]
        vol = self.js("m2", "volume", "create", "--rbd", self.image,
                      "--name", name, "--extra", "from=cinder")
        self.assertEqual(vol["status"], "available")
        self.assertEqual(vol["rbd"], self.image)
        self.assertEqual(vol["size"], 8 * 1024 * 1024)
        self.assertEqual(vol["source"], "register")
        self.assertIsNone(vol["node_uuid"])
        self.assertEqual(vol["extra"], {"from": "cinder"})

        self.fails("(HTTP 409)", "m2", "volume", "create", "--rbd",
                   self.image)

        listed = self.js("m2", "volume", "list", "--name", name)
        self.assertEqual(listed, [{
            "UUID": vol["uuid"], "Name": name, "Status": "available",
            "Size": 8 * 1024 * 1024, "Node UUID": None,
        }])
        long = self.js("m2", "volume", "list", "--long", "--status",
                       "available")
        mine = [v for v in long if v["UUID"] == vol["uuid"]]
        self.assertEqual(mine[0]["RBD"], self.image)

        self.assertEqual(self.js("m2", "volume", "show", vol["uuid"]), vol)

        self.ok("m2", "volume", "set", name, "--name", name + "-b",
                "--owner", "project-1", "--extra", "size_gb=8")
        shown = self.js("m2", "volume", "show", name + "-b")
        self.assertEqual(shown["owner"], "project-1")
        self.assertEqual(shown["extra"], {"from": "cinder", "size_gb": 8})
        self.ok("m2", "volume", "unset", name + "-b", "--owner", "--extra",
                "from")
        shown = self.js("m2", "volume", "show", name + "-b")
        self.assertIsNone(shown["owner"])
        self.assertEqual(shown["extra"], {"size_gb": 8})

        r = self.ok("m2", "volume", "delete", name + "-b")
        self.assertIn(b"Deleted volume", r.stdout)
        self.fails("could not be found", "m2", "volume", "show", vol["uuid"])
        # m2 only forgets a registered image.
        self.assertEqual(ENV.rbd("info", self.image).returncode, 0)

    def test_missing_rbd_image(self):
        self.fails("(HTTP 400)", "m2", "volume", "create", "--rbd",
                   "volumes/no-such-image-%s" % uuid.uuid4().hex[:8])

    def test_rbd_is_required(self):
        r = run("m2", "volume", "create", "--name", "x")
        self.assertEqual(r.rc, 2, repr(r))


class CephLifecycleTest(CliCase):
    """A node's disk lives like a VM's, driven by the CLI: snapshot, release
    keeping the disk, boot of the volume on another node, recovery onto a
    spare. Nodes are fake-hardware with the m2 deploy interface: their disks
    are real RBD clones exported by a real tgtd."""

    @classmethod
    def setUpClass(cls):
        require(ENV.ceph, ENV.ceph_reason or "")
        require(ENV.tgt, ENV.tgt_reason or "")
        data = os.urandom(2 * 1024 * 1024)
        path = ENV.dir / "golden.raw"
        path.write_bytes(data)
        r = run("m2", "image", "create", "--name", "golden", "--visibility",
                "public", "--file", str(path), "-f", "json")
        assert r.rc == 0, repr(r)
        cls.golden = json.loads(r.stdout)["uuid"]

    def test_snapshot_release_boot_volume_recover(self):
        a = ENV.make_node("life-a", True, "52:54:00:0a:00:01", deploy=True,
                          image="golden")
        b = ENV.make_node("life-b", True, "52:54:00:0a:00:02")
        c = ENV.make_node("life-c", True, "52:54:00:0a:00:03")
        disk = ENV.node(a)["driver_internal_info"]["m2_disk"]
        self.assertEqual(ENV.rbd("info", disk).returncode, 0)

        snap = self.js("m2", "image", "snapshot", "life-a", "--name",
                       "life-a-snap")
        self.assertEqual(snap["status"], "active")
        self.assertEqual(snap["source"], "node")
        self.assertEqual(snap["source_node"], a)
        # Nodes deploy from the snapshot like from any image.
        self.assertEqual(
            self.js("m2", "image", "show", "life-a-snap")["uuid"],
            snap["uuid"])

        r = self.ok("m2", "node", "release", "life-a", "--keep-disk",
                    "life-a-data", "--wait", str(SETTLE))
        self.assertEqual(r.stdout, b"")
        self.assertEqual(ENV.node(a)["provision_state"], "available")
        vol = self.js("m2", "volume", "show", "life-a-data")
        self.assertEqual(vol["status"], "available")
        self.assertEqual(vol["source"], "release")
        self.assertEqual(vol["source_node"], a)
        self.assertTrue(vol["rbd"].startswith("m2-disks/"), vol)
        self.assertEqual(ENV.rbd("info", vol["rbd"]).returncode, 0)

        self.ok("m2", "node", "boot-volume", "life-b", "life-a-data",
                "--wait", str(SETTLE))
        nb = ENV.node(b)
        self.assertEqual(nb["provision_state"], "active")
        self.assertEqual(nb["instance_info"]["volume"], vol["uuid"])
        vol = self.js("m2", "volume", "show", "life-a-data")
        self.assertEqual(vol["status"], "in-use")
        self.assertEqual(vol["node_uuid"], b)

        # A volume in use elsewhere is refused; the node is left as it was.
        self.fails("is in use by node %s" % b, "m2", "node", "boot-volume",
                   "life-c", "life-a-data")
        nc = ENV.node(c)
        self.assertNotIn("volume", nc["instance_info"])
        self.assertEqual(nc["provision_state"], "available")
        self.fails("(HTTP 409)", "m2", "volume", "delete", "life-a-data")

        self.ok("m2", "node", "recover", "life-b", "--spare", "life-c",
                "--wait", str(SETTLE))
        nc = ENV.node(c)
        self.assertEqual(nc["provision_state"], "active")
        self.assertEqual(nc["instance_info"].get("m2_recovered_from"), b)
        nb = ENV.node(b)
        self.assertEqual(nb["provision_state"], "available")
        self.assertTrue(nb["maintenance"])
        vol = self.js("m2", "volume", "show", "life-a-data")
        self.assertEqual(vol["node_uuid"], c)

        # Undeploy the spare: the volume is available again, with its data.
        ENV.provision(c, "deleted")
        ENV.wait_state(c, "available")
        vol = self.js("m2", "volume", "show", "life-a-data")
        self.assertEqual(vol["status"], "available")
        self.assertIsNone(vol["node_uuid"])
        self.ok("m2", "volume", "delete", "life-a-data")
        self.assertNotEqual(ENV.rbd("info", vol["rbd"],
                                    check=False).returncode, 0)
        # The snapshot was flattened before its disk went.
        self.assertEqual(self.js("m2", "image", "show",
                                 "life-a-snap")["status"], "active")
        self.ok("m2", "image", "delete", "life-a-snap", "golden")

    def test_release_without_name(self):
        d = ENV.make_node("life-d", True, "52:54:00:0a:00:04", deploy=True,
                          image="golden")
        self.ok("m2", "node", "release", d, "--wait", str(SETTLE))
        vols = [v for v in self.js("m2", "volume", "list", "--long")
                if v["Source Node"] == d]
        self.assertEqual(len(vols), 1, vols)
        self.assertIsNone(vols[0]["Name"])
        self.ok("m2", "volume", "delete", vols[0]["UUID"])


if __name__ == "__main__":
    unittest.main()
