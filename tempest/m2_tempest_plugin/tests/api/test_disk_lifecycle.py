"""A node's disk with a VM's lifecycle: snapshot, release (undeploy with
keep_disk), re-acquire (deploy from a volume) and recovery onto a spare.

The input checks run with any deploy interface; the scenarios need Ceph and
tgtd ([baremetal_m2] ceph_available) and deploy fake-hardware nodes with the
m2 deploy and ipxe boot interfaces (fake power: nothing boots, the disks and
targets are real).
"""

from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from m2_tempest_plugin.tests.api import base

CONF = config.CONF


class ReleaseValidationTest(base.M2BaremetalTest):
    """keep_disk, m2's extension of the provision body, is checked before anything moves."""

    # keep_disk goes with "deleted"; nodes by name need 1.5.
    min_microversion = "1.65"

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.node = cls.active_node()

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a01")
    def test_bad_keep_disk_values(self):
        for value in (5, "", "  ", data_utils.rand_uuid(), "x" * 256, ["a"], {"name": "a"}):
            exc = self.assertRaises(lib_exc.BadRequest, self.m2.provision, self.node["uuid"],
                                    {"target": "deleted", "keep_disk": value})
            self.assertIn("keep_disk", base.fault_string(exc))
        self.assert_node_unchanged(self.node)

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a02")
    def test_keep_disk_only_with_deleted(self):
        for target in ("active", "rebuild", "manage"):
            exc = self.assertRaises(lib_exc.BadRequest, self.m2.provision, self.node["uuid"],
                                    {"target": target, "keep_disk": True})
            self.assertIn("only valid when setting target provision state to deleted",
                          base.fault_string(exc))
        self.assert_node_unchanged(self.node)

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a03")
    def test_keep_disk_needs_a_disk_in_ceph(self):
        # The fake deploy interface made no disk: nothing to keep.
        for value in (True, data_utils.rand_name("m2-kept")):
            exc = self.assertRaises(lib_exc.BadRequest, self.m2.provision, self.node["uuid"],
                                    {"target": "deleted", "keep_disk": value})
            self.assertIn("no disk in Ceph", base.fault_string(exc))
        self.assert_node_unchanged(self.node)
        _, listed = self.m2.list_volumes(name=value)
        self.assertEqual([], listed["volumes"])

    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a04")
    def test_keep_disk_false_is_a_plain_undeploy(self):
        node = self.active_node()
        self.m2.provision(node["uuid"], {"target": "deleted", "keep_disk": False})
        self.wait_for_provision_state(node["uuid"], "available",
                                      timeout=CONF.baremetal_m2.deploy_timeout)
        self.deployed_nodes.discard(node["uuid"])


class RecoveryValidationTest(base.M2BaremetalTest):
    """POST /v1/nodes/{node}/recover refuses unsuitable requests and nodes, changing nothing."""

    min_microversion = "1.65"

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.failed = cls.active_node()
        cls.spare = cls.available_node()

    def assert_both_unchanged(self):
        self.assert_node_unchanged(self.failed)
        self.assert_node_unchanged(self.spare)

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a11")
    def test_bad_bodies(self):
        for body in ({}, {"spare": 5}, {"spare": ""}, {"spare": None},
                     {"spare": self.spare["uuid"], "force": True}):
            self.assertRaises(lib_exc.BadRequest, self.m2.recover_node,
                              self.failed["uuid"], body)
        self.assert_both_unchanged()

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a12")
    def test_unknown_nodes(self):
        self.assertRaises(lib_exc.NotFound, self.m2.recover_node,
                          data_utils.rand_uuid(), {"spare": self.spare["uuid"]})
        self.assertRaises(lib_exc.NotFound, self.m2.recover_node,
                          self.failed["uuid"], {"spare": data_utils.rand_uuid()})
        self.assert_both_unchanged()

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a13")
    def test_unsuitable_nodes(self):
        # Onto itself.
        exc = self.assertRaises(lib_exc.BadRequest, self.m2.recover_node,
                                self.failed["uuid"], {"spare": self.failed["uuid"]})
        self.assertIn("onto itself", base.fault_string(exc))
        # A node the fake deploy interface deployed has no disk to move.
        exc = self.assertRaises(lib_exc.BadRequest, self.m2.recover_node,
                                self.failed["uuid"], {"spare": self.spare["uuid"]})
        self.assertIn("no disk in Ceph", base.fault_string(exc))
        # Only active or deploy failed nodes are recovered.
        exc = self.assertRaises(lib_exc.BadRequest, self.m2.recover_node,
                                self.spare["uuid"], {"spare": self.failed["uuid"]})
        self.assertIn("only active or deploy failed", base.fault_string(exc))
        self.assert_both_unchanged()

    @decorators.attr(type="negative")
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a14")
    def test_only_post(self):
        exc = self.assertRaises(lib_exc.UnexpectedResponseCode, self.m2.get,
                                "v1/nodes/%s/recover" % self.failed["uuid"])
        self.assertEqual(405, exc.resp.status)


class DiskLifecycleTest(base.M2BaremetalTest):
    """Snapshot, release, re-acquire and recovery of m2-deployed nodes."""

    min_microversion = "1.65"

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        if not CONF.baremetal_m2.ceph_available:
            return
        image = cls.new_image(disk_format="raw")
        # A small raw disk: an MBR signature is enough for m2, which never
        # looks inside.
        data = bytearray(4 << 20)
        data[510:512] = b"\x55\xaa"
        _, cls.image = cls.m2.upload_image_data(image["uuid"], bytes(data))

    @classmethod
    def m2_node(cls, **kwargs):
        """An available fake-hardware node that deploys the M2 way."""
        node = cls.available_node(deploy_interface="m2", boot_interface="ipxe", **kwargs)
        cls.new_port(node["uuid"])
        return node

    def set_instance_info(self, node, **instance_info):
        self.client.update_node(node["uuid"], [
            {"op": "add", "path": "/instance_info/%s" % k, "value": v}
            for k, v in instance_info.items()])

    def deploy(self, node, **instance_info):
        self.set_instance_info(node, **instance_info)
        self.client.set_node_provision_state(node["uuid"], "active")
        self.deployed_nodes.add(node["uuid"])
        self.wait_for_provision_state(node["uuid"], "active",
                                      timeout=CONF.baremetal_m2.deploy_timeout)
        _, shown = self.client.show_node(node["uuid"])
        self.assertIsNone(shown["last_error"])
        return shown

    def undeploy(self, node, **extra):
        self.m2.provision(node["uuid"], dict({"target": "deleted"}, **extra))
        self.wait_for_provision_state(node["uuid"], "available",
                                      timeout=CONF.baremetal_m2.deploy_timeout)
        self.deployed_nodes.discard(node["uuid"])

    @base.requires_ceph
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a21")
    def test_snapshot_release_reacquire(self):
        n1 = self.m2_node()
        deployed = self.deploy(n1, image_source=self.image["uuid"])
        self.assertIn("sanboot", deployed["driver_internal_info"])

        # Snapshot: the node's disk becomes an image at once.
        snap = self.new_image(node=n1["uuid"])
        self.assertEqual("active", snap["status"])
        self.assertEqual("node", snap["source"])
        self.assertEqual(n1["uuid"], snap["source_node"])
        # While a disk is cloned from it, an image cannot go.
        self.assertRaises(lib_exc.Conflict, self.m2.delete_image, self.image["uuid"])

        n2 = self.m2_node()
        self.deploy(n2, image_source=snap["uuid"])
        self.assertRaises(lib_exc.Conflict, self.m2.delete_image, snap["uuid"])
        self.undeploy(n2)
        self.m2.delete_image(snap["uuid"])
        self.created_images.remove(snap["uuid"])

        # Release: undeploy keeping the disk as a named volume.
        kept = data_utils.rand_name("m2-kept")
        self.undeploy(n1, keep_disk=kept)
        _, volume = self.m2.show_volume(kept)
        self.created_volumes.append(volume["uuid"])
        self.assertEqual("available", volume["status"])
        self.assertEqual("release", volume["source"])
        self.assertEqual(n1["uuid"], volume["source_node"])
        self.assertIsNone(volume["node_uuid"])
        _, n1_after = self.client.show_node(n1["uuid"])
        self.assertNotIn("sanboot", n1_after["driver_internal_info"])

        # Re-acquire it on another node; it is in use meanwhile.
        n3 = self.m2_node()
        self.deploy(n3, volume=kept)
        _, volume = self.m2.show_volume(kept)
        self.assertEqual("in-use", volume["status"])
        self.assertEqual(n3["uuid"], volume["node_uuid"])
        self.assertRaises(lib_exc.Conflict, self.m2.delete_volume, kept)
        # A volume in use cannot be deployed twice.
        n4 = self.m2_node()
        self.set_instance_info(n4, volume=kept)
        self.assertRaises(lib_exc.BadRequest, self.client.set_node_provision_state,
                          n4["uuid"], "active")

        # Undeploying a volume's node gives the volume back, data intact.
        self.undeploy(n3)
        _, volume = self.m2.show_volume(kept)
        self.assertEqual("available", volume["status"])
        self.assertIsNone(volume["node_uuid"])
        self.m2.delete_volume(kept)
        self.created_volumes.remove(volume["uuid"])
        self.assertRaises(lib_exc.NotFound, self.m2.show_volume, kept)

    @base.requires_ceph
    @decorators.idempotent_id("5b8f6a10-0c2d-4a7e-9f31-6d2e8c4b1a22")
    def test_recovery_onto_a_spare(self):
        failed = self.m2_node()
        instance_uuid = data_utils.rand_uuid()
        self.client.update_node(failed["uuid"], instance_uuid=instance_uuid)
        self.deploy(failed, image_source=self.image["uuid"])
        spare = self.m2_node()

        # A spare in maintenance is refused.
        self.client.update_node(spare["uuid"], maintenance=True)
        self.assertRaises(lib_exc.BadRequest, self.m2.recover_node,
                          failed["uuid"], {"spare": spare["uuid"]})
        self.client.update_node(spare["uuid"], maintenance=False)

        resp, _ = self.m2.recover_node(failed["uuid"], {"spare": spare["uuid"]})
        self.assertTrue(resp["location"].endswith("/v1/nodes/%s/states" % spare["uuid"]))
        self.deployed_nodes.add(spare["uuid"])
        self.wait_for_provision_state(spare["uuid"], "active",
                                      timeout=CONF.baremetal_m2.deploy_timeout)
        self.wait_for_provision_state(failed["uuid"], "available",
                                      timeout=CONF.baremetal_m2.deploy_timeout)
        self.deployed_nodes.discard(failed["uuid"])

        _, failed_after = self.client.show_node(failed["uuid"])
        self.assertTrue(failed_after["maintenance"])
        self.assertIsNone(failed_after["instance_uuid"])
        self.assertNotIn("sanboot", failed_after["driver_internal_info"])
        _, spare_after = self.client.show_node(spare["uuid"])
        self.assertEqual(instance_uuid, spare_after["instance_uuid"])
        self.assertEqual(failed["uuid"], spare_after["instance_info"]["m2_recovered_from"])
        self.assertIn("sanboot", spare_after["driver_internal_info"])

        # The disk is a volume the spare uses; undeploying the spare frees it.
        _, volumes = self.m2.list_volumes(status="in-use")
        ours = [v for v in volumes["volumes"] if v["node_uuid"] == spare["uuid"]]
        self.assertEqual(1, len(ours))
        self.assertEqual(failed["uuid"], ours[0]["source_node"])
        self.undeploy(spare)
        self.m2.delete_volume(ours[0]["uuid"])
        self.client.update_node(failed["uuid"], maintenance=False)
