#!/usr/bin/env python3
"""Authentication benchmark, driven by benches/auth-bench.sh (see benches/README.md).

1. Starts a local Keystone (tests/keystone/local_keystone.py), creates m2's
   service user and a project with a member.
2. Enrolls N nodes owned by that project in m2 standalone (noauth), then copies
   the data directory: the noauth and the keystone server serve the same data.
3. Measures GET /v1/nodes with wrk, alternating noauth / keystone (a cached
   project member token) / keystone (a cached system admin token), R rounds;
   prints each run and the medians, and keystone's ratio to noauth.
4. Cold tokens: K tokens m2 has never seen, each used once (m2 asks Keystone)
   and then again (cached): latency of both, beside Keystone's own validation.

Prints figures; exits non-zero only when the run itself breaks.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "keystone"))
sys.path.insert(0, str(HERE))

from bench_api import parse_wrk, percentile, wrk_line  # noqa: E402
from local_keystone import LocalKeystone  # noqa: E402

VERSION = "1.50"  # owner (1.50) is set on the enrolled nodes


def log(msg: str = "") -> None:
    print(msg, flush=True)


class M2:
    """One `m2 standalone` on a free port of 127.0.0.1."""

    def __init__(self, binary: Path, workdir: Path, data: Path, extra: str):
        workdir.mkdir(parents=True, exist_ok=True)
        conf = workdir / "m2.conf"
        conf.write_text(
            "[api]\nhost_ip = 127.0.0.1\nport = 0\n"
            "[conductor]\nsync_power_state_interval = 0\n" + extra
        )
        self.log = open(workdir / "m2.log", "w")
        self.proc = subprocess.Popen(
            [str(binary), "--config-file", str(conf), "standalone", "--data-dir", str(data)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        self.url = None
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:
            if "m2 listening on" in line:
                addr = line.strip().rsplit(" ", 1)[-1].rstrip("/")
                self.url = addr if "://" in addr else f"http://{addr}"
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.stop()
            raise RuntimeError(f"m2 did not start; see {workdir / 'm2.log'}")

    def get(self, path: str, token: str | None = None) -> tuple[int, float]:
        req = urllib.request.Request(self.url + path, headers={"X-OpenStack-Ironic-API-Version": VERSION})
        if token:
            req.add_header("X-Auth-Token", token)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            e.read()
            status = e.code
        return status, (time.perf_counter() - started) * 1000

    def post(self, path: str, body: dict) -> int:
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"X-OpenStack-Ironic-API-Version": VERSION, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            return r.status

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(url: str, token: str | None, connections: int, duration: int) -> dict:
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency",
           "-H", f"X-OpenStack-Ironic-API-Version: {VERSION}"]
    if token:
        cmd += ["-H", f"X-Auth-Token: {token}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m2-bin", type=Path, default=REPO / "target" / "release" / "m2")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--path", default="/v1/nodes", help="what wrk requests (default /v1/nodes)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cold", type=int, default=50, help="cold tokens measured")
    ap.add_argument("--keep-workdir", action="store_true")
    args = ap.parse_args()
    if not args.m2_bin.exists():
        log(f"auth-bench: {args.m2_bin} is missing (cargo build --release)")
        return 2

    work = Path(tempfile.mkdtemp(prefix="m2-auth-bench-"))
    ks = servers = None
    try:
        log(f"workdir {work}")
        t = time.monotonic()
        ks = LocalKeystone.start(work / "keystone")
        log(f"Keystone up at {ks.url} ({time.monotonic() - t:.1f} s)")
        service = ks.create_project("service")
        m2user = ks.create_user("m2", "m2-secret")
        ks.grant(service, m2user, "service")
        project = ks.create_project("bench")
        member = ks.create_user("member", "member-pw")
        ks.grant(project, member, "member")
        member_token = ks.token("member", "member-pw", {"project": {"id": project}})
        admin_token = ks.admin_token()
        service_token = ks.token("m2", "m2-secret", {"project": {"id": service}})

        # Same data for both servers: enroll once, copy the data directory.
        seed = M2(args.m2_bin, work / "seed", work / "data-noauth", "")
        t = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: seed.post("/v1/nodes", {"driver": "fake-hardware", "name": f"n{i}",
                                                             "owner": project}), range(args.nodes)))
        log(f"enrolled {args.nodes} nodes owned by project 'bench' ({time.monotonic() - t:.1f} s)")
        seed.stop()
        shutil.copytree(work / "data-noauth", work / "data-keystone")

        noauth = M2(args.m2_bin, work / "noauth", work / "data-noauth", "")
        keystone = M2(args.m2_bin, work / "keystone-m2", work / "data-keystone",
                      "[DEFAULT]\nauth_strategy = keystone\n"
                      f"[keystone_authtoken]\nwww_authenticate_uri = {ks.url}\nauth_url = {ks.url}\n"
                      "username = m2\npassword = m2-secret\nproject_name = service\n"
                      "user_domain_name = Default\nproject_domain_name = Default\n")
        servers = [noauth, keystone]
        for token in (member_token, admin_token):
            status, _ = keystone.get(args.path, token)
            if status != 200:
                raise RuntimeError(f"keystone m2 answered {status} to a valid token")
        listed = json.loads(urllib.request.urlopen(urllib.request.Request(
            keystone.url + "/v1/nodes?fields=uuid", headers={"X-Auth-Token": member_token,
                                                            "X-OpenStack-Ironic-API-Version": VERSION})).read())
        log(f"the member's list holds {len(listed['nodes'])} nodes, the same as noauth's")

        runs: dict[str, list[dict]] = {"noauth": [], "keystone member": [], "keystone system admin": []}
        log(f"\nGET {args.path}: wrk {args.connections} connections, {args.duration} s, {args.rounds} rounds")
        for r in range(args.rounds):
            for name, server, token in (("noauth", noauth, None),
                                        ("keystone member", keystone, member_token),
                                        ("keystone system admin", keystone, admin_token)):
                res = wrk(server.url + args.path, token, args.connections, args.duration)
                if res.get("non2xx"):
                    raise RuntimeError(f"{name}: {res['non2xx']} non-2xx answers")
                runs[name].append(res)
                log("  round %d %s" % (r + 1, wrk_line(name, res)))
        med = {name: statistics.median(x["req_s"] for x in rs) for name, rs in runs.items()}
        log("\nmedians:")
        for name, v in med.items():
            p50 = statistics.median(x["p50_ms"] for x in runs[name])
            p99 = statistics.median(x["p99_ms"] for x in runs[name])
            ratio = v / med["noauth"]
            log(f"  {name:24s} {v:9.1f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
                f"{ratio * 100:6.1f} % of noauth ({(ratio - 1) * 100:+.1f} %)")

        # Cold tokens: first use asks Keystone, the second comes from the cache.
        tokens = [ks.token("member", "member-pw", {"project": {"id": project}}) for _ in range(args.cold)]
        cold, warm, direct = [], [], []
        probe = "/v1/nodes?limit=1"
        for tok in tokens:
            t = time.perf_counter()
            status = ks.validate(service_token, tok)
            direct.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"Keystone answered {status} to a fresh token")
        tokens = [ks.token("member", "member-pw", {"project": {"id": project}}) for _ in range(args.cold)]
        for tok in tokens:
            status, ms = keystone.get(probe, tok)
            if status != 200:
                raise RuntimeError(f"cold token: {status}")
            cold.append(ms)
            status, ms = keystone.get(probe, tok)
            warm.append(ms)
        noauth_ms = [noauth.get(probe)[1] for _ in range(args.cold)]
        log(f"\ncold tokens ({args.cold}, GET {probe}, one at a time):")
        for name, xs in (("first use (m2 asks Keystone)", cold), ("second use (cached)", warm),
                         ("noauth, same request", noauth_ms),
                         ("Keystone's own validation", direct)):
            log(f"  {name:30s} p50 {percentile(xs, 50):7.2f} ms  p99 {percentile(xs, 99):7.2f} ms")
        return 0
    finally:
        for s in servers or []:
            s.stop()
        if ks:
            ks.stop()
        if args.keep_workdir:
            log(f"workdir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
