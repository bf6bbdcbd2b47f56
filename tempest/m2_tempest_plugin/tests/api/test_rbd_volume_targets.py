"""Boot from an RBD volume: volume targets of volume_type rbd, as Nova passes
a Ceph-backed Cinder volume, with the rbd storage interface."""

from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from m2_tempest_plugin.tests.api import base


class RbdVolumeTargetsTest(base.M2BaremetalTest):

    # Volume targets appeared in 1.32, storage_interface in 1.33.
    min_microversion = "1.33"

    @decorators.idempotent_id("a3d4c5e6-1b2f-4c3d-8e9f-0a1b2c3d4e01")
    def test_rbd_boot_target(self):
        node = self.new_node(storage_interface="rbd")
        self.assertEqual("rbd", node["storage_interface"])
        volume_id = data_utils.rand_uuid()
        properties = {"name": "volumes/volume-%s" % volume_id, "auth_username": "cinder",
                      "hosts": ["127.0.0.1"], "ports": ["6789"]}
        _, target = self.create_volume_target(
            node["uuid"], volume_type="rbd", volume_id=volume_id, boot_index=0,
            properties=properties)
        self.assertEqual("rbd", target["volume_type"])
        self.assertEqual(properties, target["properties"])

        _, shown = self.client.show_volume_target(target["uuid"])
        self.assertEqual(properties["name"], shown["properties"]["name"])
        _, listed = self.client.list_volume_targets(node=node["uuid"])
        self.assertEqual([target["uuid"]], [t["uuid"] for t in listed["targets"]])

        # Boot index 0 is the node's boot volume: one per node.
        self.assertRaises(lib_exc.Conflict, self.create_volume_target, node["uuid"],
                          volume_type="rbd", volume_id=data_utils.rand_uuid(), boot_index=0,
                          properties={"name": "volumes/other"})

        # Targets change only while the node is powered off.
        self.client.set_node_power_state(node["uuid"], "power off")
        self.wait_for_power_state(node["uuid"], "power off")
        new_name = "volumes/volume-%s" % data_utils.rand_uuid()
        _, patched = self.client.update_volume_target(
            target["uuid"], [{"op": "replace", "path": "/properties/name", "value": new_name}])
        self.assertEqual(new_name, patched["properties"]["name"])

        _, validation = self.client.validate_driver_interface(node["uuid"])
        self.assertTrue(validation["storage"]["result"], validation["storage"])

        self.client.delete_volume_target(target["uuid"])
        self.assertRaises(lib_exc.NotFound, self.client.show_volume_target, target["uuid"])

    @decorators.idempotent_id("a3d4c5e6-1b2f-4c3d-8e9f-0a1b2c3d4e02")
    def test_storage_interface_rbd(self):
        node = self.new_node()
        _, node = self.client.update_node(
            node["uuid"], [{"op": "replace", "path": "/storage_interface", "value": "rbd"}])
        self.assertEqual("rbd", node["storage_interface"])
        self.assertRaises(lib_exc.BadRequest, self.client.update_node, node["uuid"],
                          [{"op": "replace", "path": "/storage_interface", "value": "no-such"}])
        _, node = self.client.update_node(
            node["uuid"], [{"op": "replace", "path": "/storage_interface", "value": "noop"}])
        self.assertEqual("noop", node["storage_interface"])

    @decorators.idempotent_id("a3d4c5e6-1b2f-4c3d-8e9f-0a1b2c3d4e03")
    def test_secret_properties_are_masked(self):
        """Cinder's rbd connection properties can carry a key: never shown."""
        node = self.new_node(storage_interface="rbd")
        _, target = self.create_volume_target(
            node["uuid"], volume_type="rbd", volume_id=data_utils.rand_uuid(), boot_index=0,
            properties={"name": "volumes/v", "keyring": "AQBsecret==", "secret_uuid": "s-1"})
        for shown in (target, self.client.show_volume_target(target["uuid"])[1]):
            self.assertEqual("volumes/v", shown["properties"]["name"])
            self.assertEqual(base.MASK, shown["properties"]["keyring"])
            self.assertEqual(base.MASK, shown["properties"]["secret_uuid"])
