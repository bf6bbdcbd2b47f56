"""Shared base class of m2's Bare Metal API tests."""

import functools
import json
import time

from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import exceptions as lib_exc

from ironic_tempest_plugin.services.baremetal import base as ironic_client_base
from ironic_tempest_plugin.tests.api import base as ironic_base

CONF = config.CONF

# What m2 shows instead of a secret value.
MASK = "******"


def requires_ceph(test):
    """Skips a test unless [baremetal_m2] ceph_available (Ceph and tgtd)."""

    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        if not CONF.baremetal_m2.ceph_available:
            self.skipTest("needs Ceph and tgtd ([baremetal_m2] ceph_available)")
        return test(self, *args, **kwargs)

    return wrapper


def without_ceph(test):
    """Skips a test when [baremetal_m2] ceph_available: it checks m2's answers
    when no cluster can be reached."""

    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        if CONF.baremetal_m2.ceph_available:
            self.skipTest("checks m2 without Ceph ([baremetal_m2] ceph_available is set)")
        return test(self, *args, **kwargs)

    return wrapper


def fault_string(exc):
    """The faultstring of Ironic's error body carried by a tempest exception
    (those of 400, 404, 409: tempest keeps no body for a 503)."""
    body = exc.resp_body
    if isinstance(body, (bytes, str)):
        body = json.loads(body)
    return json.loads(body["error_message"])["faultstring"]


class M2BaremetalTest(ironic_base.BaseBaremetalTest):
    """Ironic's API test base (clients, skips, cleanup) plus m2's options and
    m2's client (``cls.m2``: images, volumes, recovery, keep_disk).

    Skipped unless [service_available] ironic is true and [baremetal] driver
    is a fake driver (fake-hardware): these tests never touch real hardware.
    """

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        creds = cls.os_system_admin if CONF.enforce_scope.ironic else cls.os_admin
        cls.m2 = creds.m2.M2Client()

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        # What the class makes before its tests uses the class's version too
        # (each test sets it again in setUp).
        ironic_client_base.set_baremetal_api_microversion(cls.request_microversion)
        cls.m2_conf = CONF.baremetal_m2
        cls.created_images = []
        cls.created_volumes = []

    @classmethod
    def resource_cleanup(cls):
        # Nodes first (a deployed node holds its volume and the clone of its
        # image), then volumes, then images (newest first: snapshots before
        # the images they come from).
        ironic_client_base.set_baremetal_api_microversion(cls.request_microversion)
        for node in list(cls.deployed_nodes):
            try:
                cls.client.set_node_provision_state(node, "deleted")
                cls.wait_for_provision_state(node, ["available", None],
                                             timeout=CONF.baremetal_m2.deploy_timeout)
            except lib_exc.TempestException:
                pass
        cls.deployed_nodes.clear()
        for ident in reversed(cls.created_volumes):
            try:
                cls.m2.delete_volume(ident)
            except lib_exc.TempestException:
                pass
        for ident in reversed(cls.created_images):
            try:
                cls.m2.delete_image(ident)
            except lib_exc.TempestException:
                # Without Ceph an image cannot always be deleted; the run's
                # m2 goes with its data directory.
                pass
        super().resource_cleanup()

    @classmethod
    def wait_for_node(cls, node_id, field, expected, timeout=None, abort_on_error=False):
        """Poll the node every [baremetal_m2] poll_interval seconds until
        ``field`` is one of ``expected`` (a value or a list of values).

        With ``abort_on_error`` it fails at once when the node lands in a
        failed provision state on the way.
        """
        expected = expected if isinstance(expected, (list, tuple, set)) else [expected]
        timeout = timeout or CONF.baremetal_m2.state_timeout
        deadline = time.monotonic() + timeout
        while True:
            _, node = cls.client.show_node(node_id)
            if node[field] in expected:
                return node
            state = node.get("provision_state") or ""
            if abort_on_error and (state.endswith("failed") or state == "error"):
                raise lib_exc.TempestException(
                    "node %s is %s, waiting for %s %s: %s"
                    % (node_id, state, field, expected, node.get("last_error")))
            if time.monotonic() > deadline:
                raise lib_exc.TimeoutException(
                    "node %s: %s is %r after %ss, expected one of %s"
                    % (node_id, field, node[field], timeout, expected))
            time.sleep(CONF.baremetal_m2.poll_interval)

    @classmethod
    def wait_for_provision_state(cls, node_id, expected, timeout=None):
        """Poll the node until provision_state is in ``expected``, failing at
        once on a failed state; returns the node as last read."""
        return cls.wait_for_node(node_id, "provision_state", expected, timeout=timeout,
                                 abort_on_error=True)

    @classmethod
    def wait_for_power_state(cls, node_id, expected):
        return cls.wait_for_node(node_id, "power_state", expected)

    @classmethod
    def new_node(cls, **fields):
        """Create a node of the configured driver with any fields (owner,
        lessee, *_interface, ...), deleted at class teardown."""
        body = {"driver": CONF.baremetal.driver,
                "properties": {"cpu_arch": "x86_64", "cpus": 2, "local_gb": 10,
                               "memory_mb": 1024}}
        if parse_microversion(cls.request_microversion or "1.1") >= (1, 5):
            body["name"] = data_utils.rand_name("m2-node")
        body.update(fields)
        _, node = cls.client.create_node_raw(**body)
        cls.created_objects["node"].add(node["uuid"])
        return node

    @classmethod
    def new_port(cls, node_id):
        _, port = cls.create_port(node_id, data_utils.rand_mac_address())
        return port

    @classmethod
    def available_node(cls, **kwargs):
        """A node taken through manage and provide to 'available'."""
        node = cls.new_node(**kwargs)
        cls.client.set_node_provision_state(node["uuid"], "manage")
        cls.wait_for_provision_state(node["uuid"], "manageable")
        cls.client.set_node_provision_state(node["uuid"], "provide")
        return cls.wait_for_provision_state(node["uuid"], "available")

    @classmethod
    def active_node(cls, **kwargs):
        """An 'available' node deployed to 'active' (fake deploy unless told)."""
        node = cls.available_node(**kwargs)
        cls.client.set_node_provision_state(node["uuid"], "active")
        cls.deployed_nodes.add(node["uuid"])
        return cls.wait_for_provision_state(node["uuid"], "active",
                                            timeout=CONF.baremetal_m2.deploy_timeout)

    @classmethod
    def new_image(cls, client=None, **body):
        """POST /v1/images; the image is deleted at class teardown."""
        body.setdefault("name", data_utils.rand_name("m2-image"))
        _, image = (client or cls.m2).create_image(**body)
        cls.created_images.append(image["uuid"])
        return image

    def assert_node_unchanged(self, before):
        """The node's provision and power state are what they were."""
        _, after = self.client.show_node(before["uuid"])
        for field in ("provision_state", "target_provision_state", "power_state",
                      "maintenance", "instance_uuid", "last_error"):
            self.assertEqual(before[field], after[field], field)


def parse_microversion(text):
    """'1.65' -> (1, 65)."""
    major, _, minor = text.strip().partition(".")
    return int(major), int(minor)


def format_microversion(version):
    return "%d.%d" % version
