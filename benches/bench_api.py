#!/usr/bin/env python3
"""Bare Metal (Ironic) API benchmark helpers, driven by benches/api-bench.sh.

Subcommands:
  run        measure one endpoint (enroll, list, show, RSS, deploy/undeploy)
             and write the figures as JSON
  table      print the side-by-side table of two `run` JSON files
  wait-up    wait (bounded) until GET / answers 200
  free-port  print a free TCP port on 127.0.0.1
  pids       print a PID and all its descendants

Timings are printed, never asserted: `run` exits non-zero only when the run
itself breaks (server unreachable, nodes cannot be created, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk-api.lua"

# Provision states a node can stop in after a failure.
ERROR_STATES = {
    "error",
    "deploy failed",
    "clean failed",
    "inspect failed",
    "rescue failed",
    "unrescue failed",
    "adopt failed",
    "service failed",
}


def log(msg: str = "") -> None:
    print(msg, flush=True)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-pct * len(ordered) // 100)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def fmt_ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f} ms"


# --------------------------------------------------------------------------
# Process helpers (RSS, descendants)
# --------------------------------------------------------------------------

def children_of(pid: int) -> list[int]:
    kids: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            try:
                text = (task / "children").read_text().split()
            except OSError:
                continue
            kids.extend(int(k) for k in text)
    except OSError:
        pass
    return kids


def with_descendants(pids: list[int]) -> list[int]:
    seen: list[int] = []
    todo = list(pids)
    while todo and len(seen) < 1000:
        p = todo.pop(0)
        if p in seen:
            continue
        seen.append(p)
        todo.extend(children_of(p))
    return seen


def proc_status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def kb_field(status: dict[str, str], key: str) -> int:
    value = status.get(key, "0 kB").split()
    return int(value[0]) if value else 0


def measure_rss(pids: list[int], include_children: bool) -> dict:
    if include_children:
        pids = with_descendants(pids)
    per_pid = []
    total_kb = 0
    peak_kb = 0
    for pid in pids:
        try:
            st = proc_status(pid)
        except OSError as exc:
            per_pid.append({"pid": pid, "error": str(exc)})
            continue
        rss = kb_field(st, "VmRSS")
        hwm = kb_field(st, "VmHWM")
        total_kb += rss
        peak_kb += hwm
        per_pid.append({"pid": pid, "name": st.get("Name", "?"), "rss_mb": rss / 1024, "hwm_mb": hwm / 1024})
    return {"total_mb": total_kb / 1024 if pids else None, "peak_sum_mb": peak_kb / 1024, "per_pid": per_pid}


# --------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------

class Api:
    """Thin aiohttp wrapper that adds the microversion header."""

    def __init__(self, base: str, version: str, limit: int, timeout: float):
        import aiohttp

        self.aiohttp = aiohttp
        self.base = base.rstrip("/")
        self.last_size = 0
        self.headers = {
            "X-OpenStack-Ironic-API-Version": version,
            "Accept": "application/json",
        }
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, force_close=False),
            timeout=aiohttp.ClientTimeout(total=timeout),
            headers=self.headers,
        )

    async def close(self) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, body=None) -> tuple[int, object, float]:
        """Return (status, parsed JSON body or text, latency seconds)."""
        url = path if path.startswith("http") else self.base + path
        t0 = time.perf_counter()
        async with self.session.request(method, url, json=body) as resp:
            raw = await resp.read()
            dt = time.perf_counter() - t0
            self.last_size = len(raw)
            data: object = None
            if raw:
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = raw.decode(errors="replace")[:500]
            return resp.status, data, dt

    async def list_all(self, query: str, max_pages: int = 100) -> list[dict]:
        """GET /v1/nodes?<query>, following `next` links (bounded)."""
        nodes: list[dict] = []
        path = f"/v1/nodes?{query}"
        for _ in range(max_pages):
            status, data, _ = await self.request("GET", path)
            if status != 200 or not isinstance(data, dict):
                raise RuntimeError(f"GET {path} -> {status}: {str(data)[:300]}")
            nodes.extend(data.get("nodes", []))
            nxt = data.get("next")
            if not nxt:
                break
            path = nxt
        return nodes


def error_text(data: object) -> str:
    if isinstance(data, dict):
        if "error_message" in data:
            inner = data["error_message"]
            try:
                inner = json.loads(inner).get("faultstring", inner)
            except (ValueError, AttributeError):
                pass
            return str(inner)[:200]
    return str(data)[:200]


async def run_pool(n_items: int, concurrency: int, worker_fn) -> None:
    """Run worker_fn(i) for i in range(n_items) with `concurrency` workers."""
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while next_i < n_items:
            i = next_i
            next_i += 1
            await worker_fn(i)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, max(n_items, 1)))))


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------

async def create_nodes(api: Api, prefix: str, count: int, concurrency: int) -> dict:
    latencies: list[float] = []
    uuids: list[str | None] = [None] * count
    errors: list[str] = []

    async def one(i: int) -> None:
        body = {"driver": "fake-hardware", "name": f"{prefix}-{i:05d}"}
        try:
            status, data, dt = await api.request("POST", "/v1/nodes", body)
        except Exception as exc:  # network error, timeout
            errors.append(f"{body['name']}: {type(exc).__name__}: {exc}")
            return
        if status == 201 and isinstance(data, dict) and "uuid" in data:
            latencies.append(dt)
            uuids[i] = data["uuid"]
        else:
            errors.append(f"{body['name']}: HTTP {status}: {error_text(data)}")

    t0 = time.perf_counter()
    await run_pool(count, concurrency, one)
    total = time.perf_counter() - t0
    ok = [u for u in uuids if u]
    return {
        "count": count,
        "created": len(ok),
        "total_s": total,
        "nodes_per_s": len(ok) / total if total > 0 else None,
        "p50_ms": (percentile(latencies, 50) or 0) * 1000 if latencies else None,
        "p99_ms": (percentile(latencies, 99) or 0) * 1000 if latencies else None,
        "errors": len(errors),
        "error_samples": errors[:5],
        "uuids": ok,
    }


async def delete_nodes(api: Api, uuids: list[str], concurrency: int, attempts: int = 5) -> dict:
    """DELETE nodes; a node that refuses (wrong state, locked) is put in
    maintenance and retried, a bounded number of times."""
    failed: list[str] = []
    unreachable = False

    async def one(i: int) -> None:
        nonlocal unreachable
        uuid = uuids[i]
        last = ""
        for attempt in range(attempts):
            if unreachable:
                failed.append(f"{uuid}: server unreachable")
                return
            try:
                status, data, _ = await api.request("DELETE", f"/v1/nodes/{uuid}")
            except api.aiohttp.ClientConnectorError as exc:
                unreachable = True  # server gone: no point in trying the others
                last = f"{type(exc).__name__}: {exc}"
                continue
            except Exception as exc:
                last = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.5)
                continue
            if status in (202, 204, 404):
                return
            last = f"HTTP {status}: {error_text(data)}"
            if status in (400, 409) and attempt == 0:
                # Not deletable in its state (e.g. active): maintenance allows it.
                try:
                    await api.request("PUT", f"/v1/nodes/{uuid}/maintenance", {"reason": "benchmark cleanup"})
                except Exception:
                    pass
            await asyncio.sleep(0.2 * (attempt + 1))
        failed.append(f"{uuid}: {last}")

    t0 = time.perf_counter()
    await run_pool(len(uuids), concurrency, one)
    return {"deleted": len(uuids) - len(failed), "total_s": time.perf_counter() - t0, "failed": failed}


async def set_target_all(api: Api, uuids: list[str], target: str, attempts: int = 20) -> dict:
    """Fire PUT .../states/provision for every node at once. 409 (node
    locked) and 503 (no free worker) are retried, bounded."""
    failed: dict[str, str] = {}
    retries = 0

    async def one(uuid: str) -> None:
        nonlocal retries
        last = ""
        for attempt in range(attempts):
            try:
                status, data, _ = await api.request(
                    "PUT", f"/v1/nodes/{uuid}/states/provision", {"target": target}
                )
            except Exception as exc:
                last = f"{type(exc).__name__}: {exc}"
                status, data = None, None
            if status == 202:
                return
            if status is not None:
                last = f"HTTP {status}: {error_text(data)}"
            if status in (None, 409, 503):
                retries += 1
                await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
                continue
            break
        failed[uuid] = last

    await asyncio.gather(*(one(u) for u in uuids))
    return {"failed": failed, "retries": retries}


async def wait_states(
    api: Api,
    uuids: list[str],
    want: str,
    interval: float,
    timeout: float,
    skip: set[str] | None = None,
) -> dict:
    """Poll GET /v1/nodes?fields=uuid,provision_state until every node is in
    `want` or in an error state, or until `timeout`."""
    pending = set(uuids) - (skip or set())
    states: dict[str, str] = {}
    polls = 0
    t0 = time.perf_counter()
    deadline = t0 + timeout
    done_at = None
    while True:
        nodes = await api.list_all("fields=uuid,provision_state")
        now = time.perf_counter()
        polls += 1
        for n in nodes:
            if n.get("uuid") in pending:
                states[n["uuid"]] = n.get("provision_state")
        unfinished = [u for u in pending if states.get(u) != want and states.get(u) not in ERROR_STATES]
        if not unfinished:
            done_at = now
            break
        if now > deadline:
            break
        await asyncio.sleep(interval)
    in_error = {u: states.get(u) for u in pending if states.get(u) in ERROR_STATES}
    stuck = {u: states.get(u) for u in pending if states.get(u) != want and u not in in_error}
    return {
        "done_at": done_at,
        "elapsed_s": (done_at or time.perf_counter()) - t0,
        "polls": polls,
        "in_error": in_error,
        "timed_out": stuck,
        "reached": sum(1 for u in pending if states.get(u) == want),
    }


async def last_errors(api: Api, uuids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for u in uuids[:10]:
        try:
            status, data, _ = await api.request("GET", f"/v1/nodes/{u}?fields=name,provision_state,last_error")
            if status == 200 and isinstance(data, dict):
                out[u] = f"{data.get('name')} {data.get('provision_state')}: {data.get('last_error')}"
        except Exception as exc:
            out[u] = f"{type(exc).__name__}: {exc}"
    return out


async def transition(api: Api, uuids: list[str], target: str, want: str, interval: float, timeout: float, timed: bool) -> dict:
    t0 = time.perf_counter()
    fired = await set_target_all(api, uuids, target)
    accepted_s = time.perf_counter() - t0
    w = await wait_states(api, uuids, want, interval, timeout, skip=set(fired["failed"]))
    total = (w["done_at"] - t0) if w["done_at"] is not None else None
    res = {
        "target": target,
        "want": want,
        "nodes": len(uuids),
        "total_s": total,
        "accepted_s": accepted_s,
        "reached": w["reached"],
        "polls": w["polls"],
        "put_retries": fired["retries"],
        "put_failed": fired["failed"],
        "in_error": w["in_error"],
        "timed_out": w["timed_out"],
    }
    if w["in_error"]:
        res["error_details"] = await last_errors(api, list(w["in_error"]))
    tag = "timed" if timed else "setup"
    line = (
        f"    {tag}: {target:8s} -> {want:11s} {res['reached']}/{len(uuids)} in "
        + (f"{total:.2f} s" if total is not None else f"(timed out after {timeout:.0f} s)")
        + f" (all PUTs accepted after {accepted_s:.2f} s, {w['polls']} polls"
        + (f", {fired['retries']} PUT retries" if fired["retries"] else "")
        + ")"
    )
    log(line)
    if fired["failed"]:
        log(f"      PUT rejected for {len(fired['failed'])} nodes, e.g. {next(iter(fired['failed'].values()))}")
    if w["in_error"]:
        log(f"      {len(w['in_error'])} nodes ended in an error state:")
        for u, text in res.get("error_details", {}).items():
            log(f"        {u} {text}")
    if w["timed_out"]:
        sample = list(w["timed_out"].items())[:3]
        log(f"      {len(w['timed_out'])} nodes did not reach {want!r}, e.g. {sample}")
    return res


async def run_wrk(url: str, duration: int, connections: int, threads: int, version: str, paths_file: str | None) -> dict:
    cmd = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
        "--timeout", "60s", "--latency", "-s", str(WRK_SCRIPT), url,
    ]
    if paths_file:
        cmd += ["--", paths_file]
    env = dict(os.environ, BENCH_API_VERSION=version)
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=duration + 120)
    finally:
        if proc.returncode is None:  # cancelled or timed out
            proc.kill()
            await proc.wait()
    out = stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {stderr.decode(errors='replace').strip()[:300]}")
    return parse_wrk(out) | {"raw": out}


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"cannot parse wrk duration {text!r}")
    return float(m.group(1)) * UNIT_MS[m.group(2)]


def parse_wrk(out: str) -> dict:
    res: dict = {"non2xx": 0, "socket_errors": 0, "timeouts": 0}
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    res["req_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    res["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s*{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = to_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["socket_errors"] = sum(int(x) for x in m.groups()[:3])
        res["timeouts"] = int(m.group(4))
    return res


def wrk_line(name: str, r: dict) -> str:
    errs = []
    if r.get("non2xx"):
        errs.append(f"{r['non2xx']} non-2xx")
    if r.get("socket_errors"):
        errs.append(f"{r['socket_errors']} socket errors")
    if r.get("timeouts"):
        errs.append(f"{r['timeouts']} timeouts")
    req_s = "n/a" if r.get("req_s") is None else f"{r['req_s']:.1f} req/s"
    return (
        f"{name}: {req_s}, p50 {fmt_ms(r.get('p50_ms'))}, p99 {fmt_ms(r.get('p99_ms'))}"
        f" ({r.get('requests')} requests" + (", " + ", ".join(errs) if errs else ", no errors") + ")"
    )


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------

def http_get_json(url: str, version: str, timeout: float = 30) -> tuple[int, object, int]:
    req = urllib.request.Request(url, headers={"X-OpenStack-Ironic-API-Version": version, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None, len(raw)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw), len(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace"), len(raw)


def check_version(target: str, version: str) -> str:
    status, data, _ = http_get_json(target + "/", "1.1", timeout=10)
    if status != 200 or not isinstance(data, dict):
        raise RuntimeError(f"GET {target}/ answered {status}: {str(data)[:200]}")
    maxv = None
    for v in data.get("versions", []) or [data.get("default_version", {})]:
        if isinstance(v, dict) and v.get("id") == "v1":
            maxv = v.get("version")
    if version == "latest":
        return maxv or "latest"
    if maxv:
        want = tuple(int(x) for x in version.split("."))
        have = tuple(int(x) for x in maxv.split("."))
        if have < want:
            raise RuntimeError(f"server's newest API version is {maxv}, benchmark needs {version}")
    return version


async def run_async(args) -> dict:
    import signal

    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
    target = args.target.rstrip("/")
    version = check_version(target, args.api_version)
    prefix = args.prefix or f"bench-{secrets.token_hex(4)}"
    result: dict = {
        "label": args.label,
        "target": target,
        "api_version": version,
        "prefix": prefix,
        "nodes": args.nodes,
        "deploy_nodes": args.deploy_nodes,
        "concurrency": args.concurrency,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "failures": [],
    }
    args.result = result  # still reachable if the run is interrupted
    log(f"== Bare Metal API benchmark: {args.label} at {target} "
        f"(API {version}, node name prefix {prefix}) ==")

    api = Api(target, version, limit=args.concurrency, timeout=args.request_timeout)
    deploy_api = Api(target, version, limit=max(args.deploy_nodes, 1) + 4, timeout=args.request_timeout)
    created: list[str] = []
    deploy_uuids: list[str] = []
    try:
        existing = await api.list_all("fields=uuid")
        if existing:
            log(f"note: the server already holds {len(existing)} nodes; the list figures include them")
        result["preexisting_nodes"] = len(existing)

        # 1. enroll
        log(f"[1] enroll {args.nodes} nodes (POST /v1/nodes, concurrency {args.concurrency})")
        enroll = await create_nodes(api, prefix, args.nodes, args.concurrency)
        created = enroll.pop("uuids")
        result["enroll"] = enroll
        log(f"    {enroll['created']}/{args.nodes} created in {enroll['total_s']:.2f} s, "
            f"{enroll['nodes_per_s']:.1f} nodes/s, p50 {fmt_ms(enroll['p50_ms'])}, "
            f"p99 {fmt_ms(enroll['p99_ms'])}, errors {enroll['errors']}")
        for e in enroll["error_samples"]:
            log(f"      {e}")
        if not created:
            raise RuntimeError("no node could be created")

        # 2. list detail
        list_url = f"{target}/v1/nodes?detail=True"
        status, data, _ = await api.request("GET", "/v1/nodes?detail=True")
        size = api.last_size
        if status != 200:
            raise RuntimeError(f"GET /v1/nodes?detail=True -> {status}: {error_text(data)}")
        count = len(data.get("nodes", [])) if isinstance(data, dict) else None
        log(f"[2] GET /v1/nodes?detail=True: {count} nodes per response, {size / 1e6:.2f} MB body "
            f"(wrk, {args.connections} connections, {args.duration} s)")
        lst = await run_wrk(list_url, args.duration, args.connections, args.threads, version, None)
        lst.update({"nodes_in_body": count, "body_bytes": size})
        result["list"] = {k: v for k, v in lst.items() if k != "raw"}
        log("    " + wrk_line("list", lst))

        # 3. show one node
        with tempfile.NamedTemporaryFile("w", prefix="bench-paths-", suffix=".txt", delete=False) as fh:
            fh.write("".join(f"/v1/nodes/{u}\n" for u in created))
            paths_file = fh.name
        try:
            log(f"[3] GET /v1/nodes/{{uuid}} over the {len(created)} nodes "
                f"(wrk, {args.connections} connections, {args.duration} s)")
            show = await run_wrk(f"{target}/v1/nodes/{created[0]}", args.duration, args.connections,
                           args.threads, version, paths_file)
        finally:
            os.unlink(paths_file)
        result["show"] = {k: v for k, v in show.items() if k != "raw"}
        log("    " + wrk_line("show", show))

        # 5. RSS with the nodes loaded
        if args.pids:
            rss = measure_rss(args.pids, args.rss_children)
            result["rss"] = rss
            parts = ", ".join(
                f"{p['pid']} {p.get('name', '?')} {p['rss_mb']:.1f} MB" if "rss_mb" in p else f"{p['pid']}: {p['error']}"
                for p in rss["per_pid"]
            )
            total = "n/a" if rss["total_mb"] is None else f"{rss['total_mb']:.1f} MB"
            log(f"[5] server RSS with {len(created)} nodes: {total} ({parts}); "
                f"sum of peaks {rss['peak_sum_mb']:.1f} MB")
        else:
            log("[5] server RSS: skipped (no --pids)")

        # clean the enrolled nodes before the deploy test (untimed figure)
        log(f"    deleting the {len(created)} enrolled nodes (concurrency {args.concurrency}) ...")
        d = await delete_nodes(api, created, args.concurrency)
        result["delete_enrolled"] = {"total_s": d["total_s"], "failed": len(d["failed"])}
        log(f"    deleted {d['deleted']}/{len(created)} in {d['total_s']:.2f} s"
            + (f"; failed: {d['failed'][:3]}" if d["failed"] else ""))
        if not d["failed"]:
            created = []

        # 4. deploy / undeploy at once
        n = args.deploy_nodes
        log(f"[4] {n} fake-hardware nodes deployed at once (poll every {args.poll_interval * 1000:.0f} ms)")
        mk = await create_nodes(api, f"{prefix}-d", n, args.concurrency)
        deploy_uuids = mk.pop("uuids")
        log(f"    setup: created {len(deploy_uuids)}/{n} nodes in {mk['total_s']:.2f} s"
            + (f" ({mk['errors']} errors: {mk['error_samples'][:2]})" if mk["errors"] else ""))
        if not deploy_uuids:
            raise RuntimeError("no node could be created for the deploy test")
        manage = await transition(deploy_api, deploy_uuids, "manage", "manageable", args.poll_interval, args.state_timeout, False)
        ready = [u for u in deploy_uuids if u not in manage["put_failed"] and u not in manage["in_error"] and u not in manage["timed_out"]]
        provide = await transition(deploy_api, ready, "provide", "available", args.poll_interval, args.state_timeout, False)
        ready = [u for u in ready if u not in provide["put_failed"] and u not in provide["in_error"] and u not in provide["timed_out"]]
        if len(ready) < len(deploy_uuids):
            result["failures"].append(f"{len(deploy_uuids) - len(ready)} nodes did not become available in setup")
        deploy = await transition(deploy_api, ready, "active", "active", args.poll_interval, args.state_timeout, True)
        result["deploy"] = summarize_transition(deploy)
        active = [u for u in ready if u not in deploy["put_failed"] and u not in deploy["in_error"] and u not in deploy["timed_out"]]
        undeploy = await transition(deploy_api, active, "deleted", "available", args.poll_interval, args.state_timeout, True)
        result["undeploy"] = summarize_transition(undeploy)
        for name, t in (("deploy", deploy), ("undeploy", undeploy)):
            bad = len(t["put_failed"]) + len(t["in_error"]) + len(t["timed_out"])
            if bad:
                result["failures"].append(f"{name}: {bad} nodes failed or in an error state")
    except Exception as exc:
        result["failures"].append(f"{type(exc).__name__}: {exc}")
        log(f"ERROR: {type(exc).__name__}: {exc}")
    except asyncio.CancelledError:
        result["failures"].append("interrupted")
        log("interrupted: deleting the benchmark nodes ...")
        main_task.uncancel()
    finally:
        leftovers = created + deploy_uuids
        try:
            # Anything else carrying our prefix (e.g. a create whose reply was lost).
            for node in await api.list_all("fields=uuid,name"):
                if (node.get("name") or "").startswith(prefix) and node["uuid"] not in leftovers:
                    leftovers.append(node["uuid"])
        except Exception as exc:
            log(f"cleanup: cannot list nodes: {exc}")
        if leftovers:
            d = await delete_nodes(api, leftovers, args.concurrency)
            log(f"cleanup: deleted {d['deleted']}/{len(leftovers)} benchmark nodes in {d['total_s']:.2f} s")
            if d["failed"]:
                log(f"cleanup: could not delete {len(d['failed'])} nodes, e.g. {d['failed'][:3]}")
                result["failures"].append(f"cleanup: {len(d['failed'])} nodes left behind")
        await api.close()
        await deploy_api.close()
    return result


def summarize_transition(t: dict) -> dict:
    return {
        "total_s": t["total_s"],
        "accepted_s": t["accepted_s"],
        "nodes": t["nodes"],
        "reached": t["reached"],
        "polls": t["polls"],
        "put_retries": t["put_retries"],
        "put_failed": len(t["put_failed"]),
        "in_error": t["in_error"],
        "error_details": t.get("error_details", {}),
        "timed_out": len(t["timed_out"]),
    }


def print_summary(r: dict) -> None:
    def g(section: str, key: str):
        return (r.get(section) or {}).get(key)

    def f(v, unit, digits=1):
        return "n/a" if v is None else f"{v:.{digits}f} {unit}"

    rows = [
        ("enroll total", f(g("enroll", "total_s"), "s", 2)),
        ("enroll rate", f(g("enroll", "nodes_per_s"), "nodes/s")),
        ("enroll p50 / p99", f"{f(g('enroll', 'p50_ms'), 'ms')} / {f(g('enroll', 'p99_ms'), 'ms')}"),
        ("list detail rate", f(g("list", "req_s"), "req/s")),
        ("list detail p50 / p99", f"{f(g('list', 'p50_ms'), 'ms')} / {f(g('list', 'p99_ms'), 'ms')}"),
        ("show node rate", f(g("show", "req_s"), "req/s")),
        ("show node p50 / p99", f"{f(g('show', 'p50_ms'), 'ms')} / {f(g('show', 'p99_ms'), 'ms')}"),
        ("RSS", f(g("rss", "total_mb"), "MB")),
        (f"deploy {r.get('deploy_nodes')} -> active", f(g("deploy", "total_s"), "s", 2)),
        (f"undeploy {r.get('deploy_nodes')} -> available", f(g("undeploy", "total_s"), "s", 2)),
    ]
    log(f"-- summary: {r.get('label')} --")
    for name, value in rows:
        log(f"  {name:28s} {value}")
    for fail in r.get("failures", []):
        log(f"  PROBLEM: {fail}")


def cmd_run(args) -> int:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        log("aiohttp is missing: run through benches/api-bench.sh, which sets up benches/.venv")
        return 2
    if not shutil.which("wrk"):
        log("wrk is missing: apt-get install -y wrk")
        return 2
    args.result = None
    try:
        result = asyncio.run(run_async(args))
    except KeyboardInterrupt:
        result = args.result or {"label": args.label, "failures": ["interrupted"]}
    except (OSError, RuntimeError, ValueError) as exc:  # e.g. the server does not answer GET /
        log(f"ERROR: {type(exc).__name__}: {exc}")
        result = args.result or {"label": args.label, "target": args.target, "failures": [str(exc)]}
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print_summary(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    # Figures are never judged here; only a broken run is an error.
    return 1 if result["failures"] else 0


# --------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------

def cmd_table(args) -> int:
    def load(path: str | None) -> dict:
        if not path or not Path(path).exists():
            return {}
        try:
            return json.loads(Path(path).read_text())
        except ValueError:
            return {}

    m2 = load(args.m2)
    ir = load(args.ironic)

    def g(r: dict, section: str, key: str):
        return (r.get(section) or {}).get(key)

    # (name, section, key, unit, digits, kind, target)
    #   kind "higher": ratio m2/Ironic; "lower": speedup Ironic/m2
    #   target: ("ratio", x) needs ratio >= x; ("max", v) needs m2 value <= v
    n = ir.get("nodes") or m2.get("nodes") or args.nodes or "?"
    d = ir.get("deploy_nodes") or m2.get("deploy_nodes") or args.deploy_nodes or "?"
    if m2 and ir and (m2.get("nodes"), m2.get("deploy_nodes")) != (ir.get("nodes"), ir.get("deploy_nodes")):
        log("WARNING: the two runs used different node counts; the ratios are not comparable")
    rows = [
        (f"[1] enroll {n} total", "enroll", "total_s", "s", 2, "lower", ("ratio", 10)),
        ("[1] enroll rate", "enroll", "nodes_per_s", "nodes/s", 1, "higher", ("ratio", 10)),
        ("[1] enroll p50", "enroll", "p50_ms", "ms", 1, "lower", None),
        ("[1] enroll p99", "enroll", "p99_ms", "ms", 1, "lower", None),
        ("[2] list detail rate", "list", "req_s", "req/s", 1, "higher", ("ratio", 20)),
        ("[2] list detail p50", "list", "p50_ms", "ms", 1, "lower", None),
        ("[2] list detail p99", "list", "p99_ms", "ms", 1, "lower", None),
        ("[3] show node rate", "show", "req_s", "req/s", 1, "higher", None),
        ("[3] show node p50", "show", "p50_ms", "ms", 2, "lower", None),
        ("[3] show node p99", "show", "p99_ms", "ms", 2, "lower", None),
        (f"[4] deploy {d} -> active", "deploy", "total_s", "s", 2, "lower", ("ratio", 10)),
        (f"[4] undeploy {d} -> available", "undeploy", "total_s", "s", 2, "lower", ("ratio", 10)),
        (f"[5] RSS, {n} nodes", "rss", "total_mb", "MB", 1, "lower-mem", ("max", 50)),
    ]
    head = f"{'figure':31s} {'m2':>14s} {'Ironic':>14s} {'ratio':>16s}  check"
    log(head)
    log("-" * len(head))
    for name, section, key, unit, digits, kind, target in rows:
        a, b = g(m2, section, key), g(ir, section, key)
        sa = "n/a" if a is None else f"{a:.{digits}f} {unit}"
        sb = "n/a" if b is None else f"{b:.{digits}f} {unit}"
        ratio = None
        if a is not None and b is not None and a > 0 and b > 0:
            ratio = a / b if kind in ("higher", "lower-mem") else b / a
        if ratio is None:
            sr = "n/a"
        elif kind == "higher":
            sr = f"{ratio:.1f}x m2/Ir"
        elif kind == "lower":
            sr = f"{ratio:.1f}x faster"
        else:
            sr = f"{ratio:.2f}x of Ir"
        check = "-"
        if target and target[0] == "ratio":
            check = "n/a" if ratio is None else ("PASS" if ratio >= target[1] else "FAIL")
            check += f" (>= {target[1]}x)"
        elif target and target[0] == "max":
            check = "n/a" if a is None else ("PASS" if a <= target[1] else "FAIL")
            check += f" (<= {target[1]} {unit})"
        log(f"{name:31s} {sa:>14s} {sb:>14s} {sr:>16s}  {check}")
    for label, r in (("m2", m2), ("Ironic", ir)):
        if not r:
            log(f"{label}: " + ("skipped" if label.lower() in (args.skipped or []) else "no result"))
            continue
        notes = []
        for section in ("enroll",):
            if g(r, section, "errors"):
                notes.append(f"{g(r, section, 'errors')} enroll errors")
        for section in ("list", "show"):
            for k in ("non2xx", "socket_errors", "timeouts"):
                if g(r, section, k):
                    notes.append(f"{section}: {g(r, section, k)} {k}")
            nb = g(r, "list", "nodes_in_body") if section == "list" else None
            if nb is not None and nb != r.get("nodes"):
                notes.append(f"list body held {nb} nodes, not {r.get('nodes')}")
        for section in ("deploy", "undeploy"):
            if g(r, section, "in_error"):
                notes.append(f"{section}: {len(g(r, section, 'in_error'))} nodes in an error state")
            for k in ("put_failed", "timed_out"):
                if g(r, section, k):
                    notes.append(f"{section}: {g(r, section, k)} {k}")
        notes.extend(r.get("failures", []))
        if notes:
            log(f"{label} problems: " + "; ".join(dict.fromkeys(notes)))
    return 0


# --------------------------------------------------------------------------
# small utilities for the shell script
# --------------------------------------------------------------------------

def cmd_wait_up(args) -> int:
    deadline = time.monotonic() + args.timeout
    last = ""
    url = args.url.rstrip("/") + args.path
    while time.monotonic() < deadline:
        if args.pid and not Path(f"/proc/{args.pid}").exists():
            log(f"process {args.pid} exited before answering ({last})")
            return 1
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                body = resp.read()
                if resp.status == 200 and (not args.contains or args.contains.encode() in body):
                    return 0
                last = f"HTTP {resp.status}" + (f", no {args.contains!r} yet" if resp.status == 200 else "")
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.25)
    log(f"{url} did not answer as expected within {args.timeout:.0f} s ({last})")
    return 1


def cmd_free_port(_args) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
    return 0


def cmd_pids(args) -> int:
    print(" ".join(str(p) for p in with_descendants(args.pid)))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="measure one endpoint")
    r.add_argument("--target", required=True)
    r.add_argument("--pids", type=int, nargs="*", default=[])
    r.add_argument("--rss-children", action="store_true", help="also count the descendants of --pids")
    r.add_argument("--label", default="target")
    r.add_argument("--json")
    r.add_argument("--api-version", default="1.46")
    r.add_argument("--prefix", help="node name prefix (default: bench-<random>)")
    r.add_argument("--nodes", type=int, default=1000)
    r.add_argument("--deploy-nodes", type=int, default=100)
    r.add_argument("--concurrency", type=int, default=8)
    r.add_argument("--connections", type=int, default=8)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--duration", type=int, default=10)
    r.add_argument("--poll-interval", type=float, default=0.05)
    r.add_argument("--state-timeout", type=float, default=300)
    r.add_argument("--request-timeout", type=float, default=120)
    r.set_defaults(func=cmd_run)

    t = sub.add_parser("table", help="side-by-side table of two run results")
    t.add_argument("--m2")
    t.add_argument("--ironic")
    t.add_argument("--nodes", type=int, help="node count, for the labels when a result is missing")
    t.add_argument("--deploy-nodes", type=int)
    t.add_argument("--skipped", nargs="*", default=[], help="sides not run on purpose (m2, ironic)")
    t.set_defaults(func=cmd_table)

    w = sub.add_parser("wait-up", help="wait until GET / answers 200")
    w.add_argument("url")
    w.add_argument("--timeout", type=float, default=60)
    w.add_argument("--pid", type=int, help="give up early if this process exits")
    w.add_argument("--path", default="/", help="path to GET (default /)")
    w.add_argument("--contains", help="also wait until the body contains this text")
    w.set_defaults(func=cmd_wait_up)

    f = sub.add_parser("free-port")
    f.set_defaults(func=cmd_free_port)

    d = sub.add_parser("pids", help="a PID and its descendants")
    d.add_argument("pid", type=int, nargs="+")
    d.set_defaults(func=cmd_pids)

    args = p.parse_args()
    if args.cmd == "run":
        if args.nodes < 1 or args.deploy_nodes < 1 or args.concurrency < 1:
            p.error("--nodes, --deploy-nodes and --concurrency must be >= 1")
        if not 1 <= args.duration <= 600:
            p.error("--duration must be 1..600 s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
