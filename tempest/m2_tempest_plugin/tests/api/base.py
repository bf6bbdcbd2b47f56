"""Shared base class of m2's Bare Metal API tests."""

from tempest import config
from tempest.lib.common.utils import data_utils

from ironic_tempest_plugin.common import waiters
from ironic_tempest_plugin.tests.api import base as ironic_base

CONF = config.CONF


class M2BaremetalTest(ironic_base.BaseBaremetalTest):
    """Ironic's API test base (clients, skips, cleanup) plus m2's options.

    Skipped unless [service_available] ironic is true and [baremetal] driver
    is a fake driver (fake-hardware): these tests never touch real hardware.
    """

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.m2_conf = CONF.baremetal_m2

    @classmethod
    def wait_for_provision_state(cls, node_id, expected, timeout=None):
        """Poll the node until provision_state is in ``expected``.

        Fails at once when the node lands in an error state on the way.
        """
        waiters.wait_for_bm_node_status(
            cls.client,
            node_id,
            "provision_state",
            expected,
            timeout=timeout or cls.m2_conf.state_timeout,
            interval=cls.m2_conf.poll_interval,
            abort_on_error_state=True,
        )

    @classmethod
    def wait_for_power_state(cls, node_id, expected):
        waiters.wait_for_bm_node_status(
            cls.client,
            node_id,
            "power_state",
            expected,
            timeout=cls.m2_conf.state_timeout,
            interval=cls.m2_conf.poll_interval,
        )

    @classmethod
    def new_node(cls, **kwargs):
        """Create a node of the configured driver, deleted at class teardown."""
        _, node = cls.create_node(None, name=data_utils.rand_name("m2-node"), **kwargs)
        return node

    @classmethod
    def new_port(cls, node_id):
        _, port = cls.create_port(node_id, data_utils.rand_mac_address())
        return port


def parse_microversion(text):
    """'1.65' -> (1, 65)."""
    major, _, minor = text.strip().partition(".")
    return int(major), int(minor)


def format_microversion(version):
    return "%d.%d" % version
