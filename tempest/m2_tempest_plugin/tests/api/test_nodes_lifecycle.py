"""A fake-hardware node through its whole life, as an operator and Nova see it."""

import base64
import gzip

from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from m2_tempest_plugin.tests.api import base


def _config_drive():
    """A small gzipped, base64-encoded image, the form Nova sends."""
    image = bytearray(32 * 1024)
    image[16 * 2048:16 * 2048 + 6] = b"\x01CD001"
    return base64.b64encode(gzip.compress(bytes(image), mtime=0)).decode("ascii")


class NodeLifecycleTest(base.M2BaremetalTest):
    """enroll -> manage -> provide -> deploy -> undeploy -> delete."""

    # "enroll" as the initial state needs 1.11, listing ports by node 1.16.
    min_microversion = "1.16"

    @decorators.idempotent_id("4358dc20-d26f-4626-95ea-a5b385f873a8")
    def test_enroll_deploy_undeploy_delete(self):
        node = self.new_node()
        node_id = node["uuid"]
        self.assertEqual("enroll", node["provision_state"])
        self.assertIsNone(node["target_provision_state"])
        self.assertFalse(node["maintenance"])
        self.assertIsNone(node["instance_uuid"])

        port = self.new_port(node_id)
        _, ports = self.client.list_ports(node=node_id)
        self.assertEqual([port["uuid"]], [p["uuid"] for p in ports["ports"]])

        self.client.set_node_provision_state(node_id, "manage")
        self.wait_for_provision_state(node_id, "manageable")
        self.client.set_node_provision_state(node_id, "provide")
        self.wait_for_provision_state(node_id, "available")

        _, validation = self.client.validate_driver_interface(node_id)
        for iface in ("boot", "deploy", "management", "power"):
            self.assertIn(iface, validation)
            self.assertTrue(validation[iface]["result"],
                            "%s interface invalid: %s" % (iface, validation[iface].get("reason")))

        # What Nova does before deploying: claim the node for an instance.
        instance_uuid = data_utils.rand_uuid()
        _, claimed = self.client.update_node(node_id, instance_uuid=instance_uuid)
        self.assertEqual(instance_uuid, claimed["instance_uuid"])

        self.client.set_node_provision_state(node_id, "active", configdrive=_config_drive())
        self.deployed_nodes.add(node_id)
        self.wait_for_provision_state(node_id, "active", timeout=self.m2_conf.deploy_timeout)
        _, deployed = self.client.show_node(node_id)
        self.assertIsNone(deployed["target_provision_state"])
        self.assertIsNone(deployed["last_error"])
        self.assertEqual(instance_uuid, deployed["instance_uuid"])

        # A deployed node cannot be deleted (outside maintenance).
        self.assertRaises(lib_exc.Conflict, self.client.delete_node, node_id)

        self.client.set_node_power_state(node_id, "power off")
        self.wait_for_power_state(node_id, "power off")
        self.client.set_node_power_state(node_id, "power on")
        self.wait_for_power_state(node_id, "power on")

        self.client.set_node_provision_state(node_id, "deleted")
        self.wait_for_provision_state(node_id, "available", timeout=self.m2_conf.deploy_timeout)
        self.deployed_nodes.discard(node_id)
        _, undeployed = self.client.show_node(node_id)
        self.assertIsNone(undeployed["instance_uuid"])
        self.assertIsNone(undeployed["last_error"])

        self.client.delete_node(node_id)
        self.created_objects["node"].discard(node_id)
        self.assertRaises(lib_exc.NotFound, self.client.show_node, node_id)
        # Ports go with their node.
        self.assertRaises(lib_exc.NotFound, self.client.show_port, port["uuid"])

    @decorators.idempotent_id("e1ca45b1-543c-4caf-9c2f-871a61cb5cc0")
    def test_maintenance_round_trip(self):
        node = self.new_node()
        node_id = node["uuid"]
        _, body = self.client.update_node(node_id, maintenance=True)
        self.assertTrue(body["maintenance"])
        _, body = self.client.update_node(node_id, maintenance=False)
        self.assertFalse(body["maintenance"])
        self.assertIsNone(body["maintenance_reason"])

    @decorators.attr(type="negative")
    @decorators.idempotent_id("196e5d86-48fd-473e-b4fa-7b721690b03c")
    def test_deploy_from_enroll_is_rejected(self):
        node = self.new_node()
        node_id = node["uuid"]
        self.assertRaises(lib_exc.BadRequest,
                          self.client.set_node_provision_state, node_id, "active")
        _, body = self.client.show_node(node_id)
        self.assertEqual("enroll", body["provision_state"])
        self.assertIsNone(body["target_provision_state"])

    @decorators.attr(type="negative")
    @decorators.idempotent_id("4201ad32-df20-44e8-b304-523b6982271e")
    def test_unknown_node_is_not_found(self):
        self.assertRaises(lib_exc.NotFound, self.client.show_node, data_utils.rand_uuid())
