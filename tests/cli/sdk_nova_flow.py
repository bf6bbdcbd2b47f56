#!/usr/bin/env python3
"""Drive a Bare Metal API endpoint through openstacksdk the way Nova does.

Nova's ironic virt driver talks to the Bare Metal service with openstacksdk.
This script replays the calls it makes over an instance's life on a
fake-hardware node: enrolment and cleaning by the operator, then the
compute side (claim with instance_uuid, instance_info, VIF attach, validate,
deploy with a config drive, power actions, tear down, VIF detach), checking
every answer. It works against any Ironic-compatible endpoint without
authentication (m2 standalone, or Ironic with auth_strategy = noauth).

Usage:
    sdk_nova_flow.py --endpoint http://127.0.0.1:6385 [--timeout 60]
                     [--api-version 1.NN] [--network-interface NAME] [--debug]

The last line on stdout is a JSON summary, {"result": "ok", ...} or
{"result": "fail", "step": ..., "error": ...}. Exit status: 0 when every
check passed, 1 on a mismatch, 2 on an unexpected error.
"""

import argparse
import base64
import gzip
import io
import json
import logging
import sys
import time
import uuid

import openstack
from openstack import exceptions as sdk_exc
from openstack import utils
from openstack.baremetal.v1 import node as _node

# The fields Nova asks for when it lists or polls nodes.
NOVA_NODE_FIELDS = (
    "uuid",
    "power_state",
    "target_power_state",
    "provision_state",
    "target_provision_state",
    "last_error",
    "maintenance",
    "properties",
    "instance_uuid",
    "traits",
    "resource_class",
    "owner",
    "lessee",
    "conductor_group",
)

NODE_PROPERTIES = {"cpus": 4, "memory_mb": 8192, "local_gb": 40, "cpu_arch": "x86_64"}
RESOURCE_CLASS = "baremetal-m2-test"


class FlowError(Exception):
    """A response that differs from what a Nova-compatible service returns."""


def check(condition, message):
    if not condition:
        raise FlowError(message)


def expect_equal(what, actual, expected):
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def make_config_drive():
    """A small config drive the way Nova sends it: a gzipped, base64 ISO image.

    The content only needs to look like an ISO 9660 volume (the "CD001"
    descriptor at sector 16); fake-hardware never writes it anywhere.
    """
    image = bytearray(64 * 1024)
    descriptor = 16 * 2048
    image[descriptor : descriptor + 6] = b"\x01CD001"
    image[descriptor + 40 : descriptor + 46] = b"config"
    meta = json.dumps({"uuid": str(uuid.uuid4()), "hostname": "m2-test"}).encode()
    image[20 * 2048 : 20 * 2048 + len(meta)] = meta
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(bytes(image))
    return base64.b64encode(buf.getvalue()).decode("ascii")


class Flow:
    def __init__(self, conn, timeout, network_interface=None):
        self.conn = conn
        self.network_interface = network_interface
        self.bm = conn.baremetal
        self.timeout = timeout
        self.node = None
        self.steps = {}
        self.step = "connect"

    def run_step(self, name, fn, *args):
        self.step = name
        started = time.monotonic()
        result = fn(*args)
        self.steps[name] = round((time.monotonic() - started) * 1000)
        return result

    def poll_nova_fields(self, node_id):
        """GET /v1/nodes/{id}?fields=... as Nova's state polling does."""
        node = self.bm.get_node(node_id, fields=NOVA_NODE_FIELDS)
        expect_equal("polled node id", node.id, node_id)
        return node

    # -- operator side ------------------------------------------------------

    def drivers(self):
        names = sorted(d.name for d in self.bm.drivers())
        check("fake-hardware" in names, f"driver list {names} lacks fake-hardware")
        return names

    def enroll(self):
        name = f"nova-flow-{uuid.uuid4().hex[:8]}"
        attrs = {}
        if self.network_interface:
            attrs["network_interface"] = self.network_interface
        node = self.bm.create_node(
            name=name,
            driver="fake-hardware",
            properties=NODE_PROPERTIES,
            resource_class=RESOURCE_CLASS,
            **attrs,
        )
        self.node = node
        check(node.id, "created node has no uuid")
        expect_equal("new node name", node.name, name)
        expect_equal("new node driver", node.driver, "fake-hardware")
        expect_equal("new node provision_state", node.provision_state, "enroll")
        expect_equal("new node resource_class", node.resource_class, RESOURCE_CLASS)
        expect_equal("new node properties", node.properties, NODE_PROPERTIES)
        check(node.instance_id is None, f"new node has instance_uuid {node.instance_id!r}")
        return node

    def create_port(self):
        mac = "52:54:00:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3])
        port = self.bm.create_port(node_id=self.node.id, address=mac)
        expect_equal("port node_uuid", port.node_id, self.node.id)
        expect_equal("port address", port.address, mac)
        ports = list(self.bm.ports(node=self.node.id, details=True))
        expect_equal("ports of node", [p.id for p in ports], [port.id])
        return port

    def manage(self):
        node = self.bm.set_node_provision_state(
            self.node, "manage", wait=True, timeout=self.timeout
        )
        expect_equal("provision_state after manage", node.provision_state, "manageable")

    def provide(self):
        node = self.bm.set_node_provision_state(
            self.node, "provide", wait=True, timeout=self.timeout
        )
        expect_equal("provision_state after provide", node.provision_state, "available")
        check(node.last_error is None, f"last_error after provide: {node.last_error!r}")

    # -- compute side -------------------------------------------------------

    def list_like_nova(self):
        """The resource tracker's periodic listing of all nodes."""
        nodes = list(self.bm.nodes(fields=NOVA_NODE_FIELDS))
        mine = [n for n in nodes if n.id == self.node.id]
        expect_equal("nodes with our uuid in the list", len(mine), 1)
        node = mine[0]
        expect_equal("listed provision_state", node.provision_state, "available")
        check(node.is_maintenance is False, f"listed maintenance={node.is_maintenance!r}")
        expect_equal("listed properties", node.properties, NODE_PROPERTIES)
        expect_equal("listed resource_class", node.resource_class, RESOURCE_CLASS)
        check(node.instance_id is None, f"listed instance_uuid {node.instance_id!r}")
        check(isinstance(node.traits, list), f"listed traits is {node.traits!r}, not a list")
        # Fields that were not asked for must not come back.
        check(node.driver is None, f"fields= ignored: driver={node.driver!r} returned")
        # Nova also looks nodes up by instance: none is associated yet.
        associated = list(self.bm.nodes(associated=True, fields=("uuid", "instance_uuid")))
        check(
            all(n.id != self.node.id for n in associated),
            "node listed as associated before any instance_uuid was set",
        )
        return len(nodes)

    def claim(self, instance_uuid):
        patch = [{"op": "add", "path": "/instance_uuid", "value": instance_uuid}]
        node = self.bm.patch_node(self.node, patch, retry_on_conflict=False)
        expect_equal("instance_uuid after claim", node.instance_id, instance_uuid)

    def second_claim_conflicts(self, instance_uuid):
        other = str(uuid.uuid4())
        patch = [{"op": "add", "path": "/instance_uuid", "value": other}]
        try:
            self.bm.patch_node(self.node, patch, retry_on_conflict=False)
        except sdk_exc.ConflictException:
            pass
        except sdk_exc.HttpException as exc:
            raise FlowError(
                f"second instance_uuid PATCH: expected HTTP 409, got {exc.status_code}: {exc}"
            ) from None
        else:
            raise FlowError("second instance_uuid PATCH with another uuid succeeded; expected HTTP 409")
        node = self.poll_nova_fields(self.node.id)
        expect_equal("instance_uuid after refused claim", node.instance_id, instance_uuid)

    def add_instance_info(self, instance_uuid):
        info = {
            "image_source": str(uuid.uuid4()),
            "root_gb": "10",
            "swap_mb": "0",
            "ephemeral_gb": "0",
            "display_name": "m2-test-instance",
            "vcpus": "4",
            "memory_mb": "8192",
            "local_gb": "40",
        }
        patch = [{"op": "add", "path": f"/instance_info/{k}", "value": v} for k, v in info.items()]
        node = self.bm.patch_node(self.node, patch, retry_on_conflict=False)
        for key, value in info.items():
            expect_equal(f"instance_info.{key}", node.instance_info.get(key), value)
        expect_equal("instance_uuid kept by instance_info PATCH", node.instance_id, instance_uuid)

    def attach_vif(self, vif_id):
        self.bm.attach_vif_to_node(self.node, vif_id, retry_on_conflict=False)
        vifs = self.bm.list_node_vifs(self.node)
        network_interface = self.bm.get_node(self.node.id, fields=("network_interface",)).network_interface
        if network_interface == "noop":
            # The noop network interface accepts VIFs without recording them
            # (Ironic's behaviour); an implementation may still record them.
            check(vifs in ([], [vif_id]), f"VIFs after attach on a noop network interface: {vifs!r}")
        else:
            expect_equal(f"VIFs after attach ({network_interface} network interface)", vifs, [vif_id])
        return {"network_interface": network_interface, "recorded": vifs == [vif_id]}

    def validate(self):
        result = self.bm.validate_node(self.node, required=("boot", "deploy", "power"))
        for iface in ("boot", "deploy", "power", "management"):
            check(iface in result, f"validate result lacks the {iface} interface: {sorted(result)}")
        for iface in ("boot", "deploy", "power"):
            check(result[iface].result, f"{iface} validation failed: {result[iface].reason}")
        return {k: bool(v.result) if v.result is not None else None for k, v in result.items()}

    def deploy(self, instance_uuid):
        node = self.bm.set_node_provision_state(
            self.node, "active", config_drive=make_config_drive(), wait=True, timeout=self.timeout
        )
        expect_equal("provision_state after deploy", node.provision_state, "active")
        check(node.target_provision_state is None, f"target_provision_state={node.target_provision_state!r} when active")
        check(node.last_error is None, f"last_error after deploy: {node.last_error!r}")
        polled = self.poll_nova_fields(self.node.id)
        expect_equal("polled provision_state", polled.provision_state, "active")
        # Ironic's fake deploy never touches power, so a fake-hardware node may
        # still report no power state; anything else than on is wrong.
        check(polled.power_state in (None, "power on"), f"polled power_state after deploy: {polled.power_state!r}")
        expect_equal("polled instance_uuid", polled.instance_id, instance_uuid)
        found = list(self.bm.nodes(instance_id=instance_uuid, fields=NOVA_NODE_FIELDS))
        expect_equal("nodes found by instance_uuid", [n.id for n in found], [self.node.id])

    def power_cycle(self):
        self.bm.set_node_power_state(self.node, "power off", wait=True, timeout=self.timeout)
        expect_equal("power_state after power off", self.poll_nova_fields(self.node.id).power_state, "power off")
        self.bm.set_node_power_state(self.node, "power on", wait=True, timeout=self.timeout)
        expect_equal("power_state after power on", self.poll_nova_fields(self.node.id).power_state, "power on")

    def undeploy(self):
        node = self.bm.set_node_provision_state(self.node, "deleted", wait=True, timeout=self.timeout)
        expect_equal("provision_state after undeploy", node.provision_state, "available")
        polled = self.poll_nova_fields(self.node.id)
        check(polled.instance_id is None, f"instance_uuid {polled.instance_id!r} left after undeploy")
        check(polled.last_error is None, f"last_error after undeploy: {polled.last_error!r}")

    def detach_vif(self, vif_id):
        detached = self.bm.detach_vif_from_node(self.node, vif_id, ignore_missing=False)
        check(detached, f"detach of VIF {vif_id} reported nothing detached")
        expect_equal("VIFs after detach", self.bm.list_node_vifs(self.node), [])

    def delete(self):
        self.bm.delete_node(self.node, ignore_missing=False)
        try:
            self.bm.get_node(self.node.id)
        except sdk_exc.NotFoundException:
            pass
        else:
            raise FlowError(f"node {self.node.id} still readable after delete")
        self.node = None

    # -- whole flow ---------------------------------------------------------

    def run(self):
        summary = {}
        summary["drivers"] = self.run_step("drivers", self.drivers)
        self.run_step("enroll", self.enroll)
        summary["node"] = self.node.id
        self.run_step("create_port", self.create_port)
        self.run_step("manage", self.manage)
        self.run_step("provide", self.provide)
        summary["nodes_listed"] = self.run_step("list_like_nova", self.list_like_nova)
        instance_uuid = str(uuid.uuid4())
        vif_id = str(uuid.uuid4())
        summary["instance_uuid"] = instance_uuid
        self.run_step("claim", self.claim, instance_uuid)
        self.run_step("second_claim_409", self.second_claim_conflicts, instance_uuid)
        self.run_step("instance_info", self.add_instance_info, instance_uuid)
        summary["vif"] = self.run_step("vif_attach", self.attach_vif, vif_id)
        summary["validate"] = self.run_step("validate", self.validate)
        self.run_step("deploy", self.deploy, instance_uuid)
        self.run_step("power_cycle", self.power_cycle)
        self.run_step("undeploy", self.undeploy)
        self.run_step("vif_detach", self.detach_vif, vif_id)
        self.run_step("delete", self.delete)
        return summary

    def cleanup(self):
        """Best effort removal of a node left behind by a failed run."""
        if self.node is None:
            return
        try:
            self.bm.set_node_maintenance(self.node, reason="sdk_nova_flow cleanup")
            self.bm.delete_node(self.node, ignore_missing=True)
        except Exception as exc:  # noqa: BLE001 - report, never mask the failure
            print(f"cleanup: could not delete node {self.node.id}: {exc}", file=sys.stderr)


def _version(pair):
    return ".".join(map(str, pair)) if pair else None


def connect(endpoint, api_version):
    # Without a cloud name, openstacksdk reads neither clouds.yaml nor OS_*
    # variables, so the caller's environment cannot redirect the run.
    kwargs = {
        "auth_type": "none",
        "baremetal_endpoint_override": endpoint,
        "app_name": "m2-sdk-nova-flow",
    }
    if api_version:
        kwargs["baremetal_api_version"] = api_version
    return openstack.connection.Connection(**kwargs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="Bare Metal API root, e.g. http://127.0.0.1:6385")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each state change")
    parser.add_argument("--api-version", default=None, help="pin the microversion instead of negotiating")
    parser.add_argument("--network-interface", default=None, help="create the node with this network interface")
    parser.add_argument("--debug", action="store_true", help="log every HTTP request and response")
    args = parser.parse_args(argv)

    if args.debug:
        openstack.enable_logging(debug=True, http_debug=True, stream=sys.stderr)
    else:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    started = time.monotonic()
    flow = None
    try:
        conn = connect(args.endpoint.rstrip("/"), args.api_version)
        flow = Flow(conn, args.timeout, args.network_interface)
        summary = flow.run()
        endpoint_data = conn.baremetal.get_endpoint_data()
        summary.update(
            result="ok",
            endpoint=args.endpoint,
            server_microversions=[_version(endpoint_data.min_microversion), _version(endpoint_data.max_microversion)],
            node_microversion=args.api_version
            or utils.maximum_supported_microversion(conn.baremetal, _node.Node._max_microversion),
            steps_ms=flow.steps,
            total_ms=round((time.monotonic() - started) * 1000),
        )
        print(json.dumps(summary, sort_keys=True))
        return 0
    except FlowError as exc:
        status, message = 1, str(exc)
    except sdk_exc.SDKException as exc:
        status, message = 2, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - anything else is a failure too
        status, message = 2, f"{type(exc).__name__}: {exc}"
    step = flow.step if flow else "connect"
    print(f"sdk_nova_flow: FAILED at step '{step}': {message}", file=sys.stderr)
    if flow:
        flow.cleanup()
    print(json.dumps({"result": "fail", "step": step, "error": message, "endpoint": args.endpoint}))
    return status


if __name__ == "__main__":
    sys.exit(main())
