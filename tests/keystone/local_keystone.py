"""A throw-away Keystone on 127.0.0.1 for benchmarks and scenario runs.

Configures Keystone (SQLite, fernet tokens) in a directory, bootstraps it
(user ``admin``, region ``RegionOne``) and serves it with ``serve.py``; the
process must run with the Python of the Keystone venv
(``scripts/install-test-deps.sh keystone`` makes ``<repo>/.venv-keystone``).
Only the standard library is used for HTTP.

    ks = LocalKeystone.start(workdir)
    project = ks.create_project("demo")
    ...
    ks.stop()
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADMIN_PASSWORD = "admin-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KeystoneError(RuntimeError):
    pass


class LocalKeystone:
    def __init__(self, proc: subprocess.Popen, url: str, workdir: Path):
        self.proc = proc
        self.url = url
        self.workdir = workdir

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def start(cls, workdir: Path, expiration: int = 3600, timeout: float = 120) -> "LocalKeystone":
        bindir = Path(sys.executable).parent
        manage = bindir / "keystone-manage"
        if not manage.exists():
            raise KeystoneError(f"{manage} is missing: run this with the Keystone venv's python")
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        conf = workdir / "keystone.conf"
        conf.write_text(
            f"[DEFAULT]\nlog_file = {workdir}/keystone.log\n"
            f"[database]\nconnection = sqlite:///{workdir}/keystone.db\n"
            f"[token]\nprovider = fernet\nexpiration = {expiration}\n"
            f"[fernet_tokens]\nkey_repository = {workdir}/fernet-keys\n"
            f"[fernet_receipts]\nkey_repository = {workdir}/fernet-receipts\n"
            f"[credential]\nkey_repository = {workdir}/credential-keys\n"
        )
        who = ["--keystone-user", "root", "--keystone-group", "root"]
        v3 = f"{url}/v3"
        for args in (
            ["db_sync"],
            ["fernet_setup", *who],
            ["credential_setup", *who],
            [
                "bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                "--bootstrap-admin-url", v3, "--bootstrap-internal-url", v3,
                "--bootstrap-public-url", v3, "--bootstrap-region-id", "RegionOne",
            ],
        ):
            out = subprocess.run(
                [str(manage), "--config-file", str(conf), *args],
                capture_output=True, text=True,
            )
            if out.returncode != 0:
                raise KeystoneError(f"keystone-manage {' '.join(args)}: {out.stderr[-2000:]}")
        log = open(workdir / "serve.log", "w")
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "serve.py"), str(port)],
            env=os.environ | {"KEYSTONE_CONFIG": str(conf)},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        ks = cls(proc, url, workdir)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(v3, timeout=5) as r:
                    if r.status == 200:
                        return ks
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                ks.stop()
                raise KeystoneError("Keystone did not start: see " + str(workdir / "serve.log"))
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- Identity API ------------------------------------------------------

    def request(self, method: str, path: str, body: object = None, token: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, object]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/v3{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("X-Auth-Token", token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
                return r.status, dict(r.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, dict(e.headers), raw.decode(errors="replace")

    def token(self, user: str, password: str, scope: dict | None = None) -> str:
        auth = {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}}}
        if scope is not None:
            auth["scope"] = scope
        status, headers, body = self.request("POST", "/auth/tokens?nocatalog", {"auth": auth})
        if status != 201:
            raise KeystoneError(f"token for {user}: {status} {body}")
        return headers["X-Subject-Token"]

    def admin_token(self) -> str:
        return self.token("admin", ADMIN_PASSWORD, {"system": {"all": True}})

    def admin(self, method: str, path: str, body: object = None) -> object:
        status, _, answer = self.request(method, path, body, token=self.admin_token())
        if not 200 <= status < 300:
            raise KeystoneError(f"{method} {path}: {status} {answer}")
        return answer

    def create_project(self, name: str) -> str:
        return self.admin("POST", "/projects", {"project": {"name": name, "domain_id": "default"}})["project"]["id"]

    def create_user(self, name: str, password: str) -> str:
        return self.admin("POST", "/users", {"user": {"name": name, "password": password,
                                                      "domain_id": "default"}})["user"]["id"]

    def grant(self, project_id: str, user_id: str, role: str) -> None:
        role_id = self.admin("GET", f"/roles?name={role}")["roles"][0]["id"]
        self.admin("PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")

    def validate(self, service_token: str, token: str) -> int:
        """Keystone's own answer to a validation (its status code)."""
        status, _, _ = self.request("GET", "/auth/tokens?nocatalog", token=service_token,
                                    headers={"X-Subject-Token": token})
        return status
