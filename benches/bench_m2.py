"""Figures of benches/m2-bench.sh (see there). Python standard library only."""

import argparse
import json
import re
import statistics
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

H = {"X-OpenStack-Ironic-API-Version": "latest", "Content-Type": "application/json"}
BASE = ""


def call(method, path, body=None, data=None, headers=None):
    hdrs = dict(H, **(headers or {}))
    payload = data if data is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(BASE + path, method=method, headers=hdrs, data=payload)
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ok(st, body, want, what):
    if st != want:
        sys.exit("%s: HTTP %s %s" % (what, st, body))
    return body


def provision(uuid, target, **extra):
    for _ in range(600):
        st, body = call("PUT", "/v1/nodes/%s/states/provision" % uuid, dict(target=target, **extra))
        if st == 202:
            return
        if st not in (409, 503):
            sys.exit("provision %s %s: HTTP %s %s" % (uuid, target, st, body))
        time.sleep(0.05)
    sys.exit("provision %s %s: still locked" % (uuid, target))


def wait_all(uuids, state, timeout=600):
    deadline = time.time() + timeout
    want = set(uuids)
    while True:
        st, body = call("GET", "/v1/nodes?fields=uuid,provision_state,last_error&limit=1000")
        ok(st, body, 200, "list nodes")
        seen = {n["uuid"]: n for n in body["nodes"] if n["uuid"] in want}
        bad = [n for n in seen.values() if "fail" in n["provision_state"] or n["provision_state"] == "error"]
        if bad:
            sys.exit("nodes failed: %s" % bad[:3])
        if all(seen.get(u, {}).get("provision_state") == state for u in want):
            return
        if time.time() > deadline:
            sys.exit("not all %s after %ss" % (state, timeout))
        time.sleep(0.05)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_nodes(n, prefix):
    def one(i):
        mac = "52:54:%02x:%02x:%02x:%02x" % (hash(prefix) & 0xFF, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)
        node = ok(*call("POST", "/v1/nodes", {
            "name": "%s-%d" % (prefix, i), "driver": "fake-hardware",
            "deploy_interface": "m2", "boot_interface": "ipxe"}), 201, "create node")
        ok(*call("POST", "/v1/ports", {"address": mac, "node_uuid": node["uuid"]}), 201, "create port")
        return node["uuid"]
    with ThreadPoolExecutor(8) as ex:
        uuids = list(ex.map(one, range(n)))
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda u: provision(u, "manage"), uuids))
    wait_all(uuids, "manageable")
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda u: provision(u, "provide"), uuids))
    wait_all(uuids, "available")
    return uuids


def set_info(uuid, **info):
    ops = [{"op": "add", "path": "/instance_info/%s" % k, "value": v} for k, v in info.items()]
    ok(*call("PATCH", "/v1/nodes/%s" % uuid, ops), 200, "patch")


def deploy_all(uuids, **extra):
    with ThreadPoolExecutor(min(len(uuids), 32)) as ex:
        list(ex.map(lambda u: provision(u, "active", **extra), uuids))
    wait_all(uuids, "active")


def undeploy_all(uuids, **extra):
    with ThreadPoolExecutor(min(len(uuids), 32)) as ex:
        list(ex.map(lambda u: provision(u, "deleted", **extra), uuids))
    wait_all(uuids, "available")


def log_fields(path, message, since):
    """Numeric *_ms fields of the log lines carrying `message`, after byte `since`."""
    out = []
    with open(path, "rb") as f:
        f.seek(since)
        for line in f.read().decode(errors="replace").splitlines():
            if message in line:
                out.append({k: int(v) for k, v in re.findall(r"(\w+_ms)=(\d+)", line)})
    return out


def log_size(path):
    with open(path, "rb") as f:
        return f.seek(0, 2)


def summary(values):
    values = sorted(values)
    return "median %7.3f  min %7.3f  max %7.3f" % (statistics.median(values), values[0], values[-1])


def main():
    global BASE
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--nodes", default="1 10 100")
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    BASE = a.api

    img = ok(*call("POST", "/v1/images", {"name": "tiny", "visibility": "public"}), 201, "image")
    with open(a.image, "rb") as f:
        data = f.read()
    ok(*call("PUT", "/v1/images/%s/file" % img["uuid"], data=data,
             headers={"Content-Type": "application/octet-stream"}), 200, "upload")
    ok(*call("POST", "/v1/images", {"name": "big", "rbd": "m2-images/bench-8g"}), 201, "register 8G")

    print("== 1. control plane: N nodes deployed at once (fake power, real Ceph + tgtd)")
    print("%6s %10s %10s   per node, ms (median / max): %s" % (
        "nodes", "deploy s", "undeploy s", "attach(clone)  target  boot-config  power"))
    for n in [int(x) for x in a.nodes.split()]:
        uuids = make_nodes(n, "cp%d" % n)
        for u in uuids:
            set_info(u, image_source="tiny")
        mark = log_size(a.log)
        t_deploy = timed(lambda: deploy_all(uuids))
        steps = log_fields(a.log, "deployed without copying the image", mark)
        t_undeploy = timed(lambda: undeploy_all(uuids))
        cols = []
        for k in ("attach_ms", "export_ms", "boot_config_ms", "power_ms"):
            v = sorted(s.get(k, 0) for s in steps) or [0]
            cols.append("%5d/%-5d" % (statistics.median(v), v[-1]))
        print("%6d %10.2f %10.2f   %s" % (n, t_deploy, t_undeploy, "  ".join(cols)))
        for u in uuids:
            call("DELETE", "/v1/nodes/%s" % u)

    print("\n== 2. snapshot of a deployed node (POST /v1/images {\"node\": ...}), seconds")
    nodes = make_nodes(4, "life")
    for label, image in (("64 MiB image", "tiny"), ("8 GiB sparse disk", "big")):
        set_info(nodes[0], image_source=image)
        deploy_all(nodes[:1])
        times, split = [], []
        for i in range(a.repeat):
            mark = log_size(a.log)
            t = time.perf_counter()
            snap = ok(*call("POST", "/v1/images", {"name": "snap-%d" % i, "node": nodes[0]}), 201, "snapshot")
            times.append(time.perf_counter() - t)
            split += log_fields(a.log, "node disk captured as an image", mark)
            ok(*call("DELETE", "/v1/images/%s" % snap["uuid"]), 204, "delete snapshot")
        print("%-18s %s   (m2: disk snapshot %d ms, clone %d ms, medians)" % (
            label, summary(times),
            statistics.median(s.get("disk_snapshot_ms", 0) for s in split),
            statistics.median(s.get("clone_ms", 0) for s in split)))
        undeploy_all(nodes[:1])

    print("\n== 3. release -> re-acquire (keep the disk as a volume, deploy another node from it), seconds")
    set_info(nodes[0], image_source="tiny")
    deploy_all(nodes[:1])
    rel, acq = [], []
    holder = nodes[0]
    for i in range(a.repeat):
        name = "vol-%d" % i
        rel.append(timed(lambda: undeploy_all([holder], keep_disk=name)))
        nxt = nodes[(nodes.index(holder) + 1) % 2]
        set_info(nxt, volume=name)
        acq.append(timed(lambda: deploy_all([nxt])))
        holder = nxt
    print("release     %s" % summary(rel))
    print("re-acquire  %s" % summary(acq))
    print("sum         %s" % summary([r + q for r, q in zip(rel, acq)]))

    print("\n== 4. recovery onto a spare (call until the spare is active; fake power), seconds")
    rec = []
    failed = holder
    for i in range(a.repeat):
        spare = nodes[2] if failed != nodes[2] else nodes[3]
        t = time.perf_counter()
        ok(*call("POST", "/v1/nodes/%s/recover" % failed, {"spare": spare}), 202, "recover")
        wait_all([spare], "active")
        rec.append(time.perf_counter() - t)
        wait_all([failed], "available")
        ok(*call("DELETE", "/v1/nodes/%s/maintenance" % failed), 202, "unset maintenance")
        failed = spare
    print("recovery    %s" % summary(rec))


if __name__ == "__main__":
    main()
