"""Secrets never reach callers: BMC passwords, iSCSI CHAP credentials of a
node's boot target, volume target credentials.

m2 masks secret values (``******``) in driver_info, instance_info and
driver_internal_info for everyone, and Ironic's policy hides whole fields
from projects: the lessee sees neither driver_info nor driver_internal_info,
and only system readers (or admins) see volume target properties.
"""

import json

from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib import decorators

from m2_tempest_plugin.tests.api import base

CONF = config.CONF

BMC_PASSWORD = "bmc-" + data_utils.rand_password(12)
CHAP_SECRET = "chap-" + data_utils.rand_password(12)
TARGET_PASSWORD = "target-" + data_utils.rand_password(12)


class SecretsTest(base.M2BaremetalTest):
    """A node owned by one project and leased to another, seen by each persona."""

    # owner (1.50) and lessee (1.65).
    min_microversion = "1.65"
    credentials = ["admin", "system_admin", "project_member", "project_reader",
                   "project_alt_member"]

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.owner_member = cls.os_project_member.m2.M2Client()
        cls.owner_reader = cls.os_project_reader.m2.M2Client()
        cls.lessee_member = cls.os_project_alt_member.m2.M2Client()

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.owner = cls.os_project_member.credentials.project_id
        cls.lessee = cls.os_project_alt_member.credentials.project_id

    def leased_node(self, **kwargs):
        node = self.new_node(owner=self.owner, lessee=self.lessee, **kwargs)
        self.client.update_node(node["uuid"], [
            {"op": "add", "path": "/driver_info/ipmi_address", "value": "192.0.2.10"},
            {"op": "add", "path": "/driver_info/ipmi_password", "value": BMC_PASSWORD},
            {"op": "add", "path": "/instance_info/iscsi_chap_secret", "value": CHAP_SECRET},
            {"op": "add", "path": "/instance_info/root_gb", "value": 10},
        ])
        return node

    def assert_no_secret(self, body):
        text = json.dumps(body)
        for secret in (BMC_PASSWORD, CHAP_SECRET, TARGET_PASSWORD):
            self.assertNotIn(secret, text)

    @decorators.idempotent_id("e6f7a8b9-2c3d-4e5f-9a0b-1c2d3e4f5a01")
    def test_node_secrets_are_masked_for_everyone(self):
        node = self.leased_node()
        for client in (self.client, self.owner_member, self.owner_reader):
            _, shown = client.show_node(node["uuid"])
            self.assert_no_secret(shown)
            self.assertEqual(base.MASK, shown["driver_info"]["ipmi_password"])
            self.assertEqual("192.0.2.10", shown["driver_info"]["ipmi_address"])
            self.assertEqual(base.MASK, shown["instance_info"]["iscsi_chap_secret"])
            self.assertEqual(10, shown["instance_info"]["root_gb"])
            _, listed = client.list_nodes(detail=True)
            self.assert_no_secret(listed)
            self.assertIn(node["uuid"], [n["uuid"] for n in listed["nodes"]])

    @decorators.idempotent_id("e6f7a8b9-2c3d-4e5f-9a0b-1c2d3e4f5a02")
    def test_lessee_sees_no_driver_fields(self):
        node = self.leased_node()
        _, shown = self.lessee_member.show_node(node["uuid"])
        self.assert_no_secret(shown)
        for field in ("driver_info", "driver_internal_info"):
            self.assertNotIn("ipmi_address", shown[field])
            self.assertNotIn("sanboot", shown[field])
            self.assertIn("Redacted", json.dumps(shown[field]))
        # instance_info is the lessee's own business, its secrets still masked.
        self.assertEqual(base.MASK, shown["instance_info"]["iscsi_chap_secret"])

    @decorators.idempotent_id("e6f7a8b9-2c3d-4e5f-9a0b-1c2d3e4f5a03")
    def test_iscsi_target_password_is_masked(self):
        node = self.leased_node()
        _, target = self.create_volume_target(
            node["uuid"], volume_type="iscsi", volume_id=data_utils.rand_uuid(), boot_index=0,
            properties={"target_iqn": "iqn.2010-10.org.openstack:volume-1",
                        "target_portal": "192.0.2.20:3260", "target_lun": 1,
                        "auth_method": "CHAP", "auth_username": "chap-user",
                        "auth_password": TARGET_PASSWORD})
        self.assert_no_secret(target)
        _, shown = self.client.show_volume_target(target["uuid"])
        self.assert_no_secret(shown)
        self.assertEqual(base.MASK, shown["properties"]["auth_password"])
        self.assertEqual("iqn.2010-10.org.openstack:volume-1", shown["properties"]["target_iqn"])

    @decorators.idempotent_id("e6f7a8b9-2c3d-4e5f-9a0b-1c2d3e4f5a04")
    def test_projects_see_no_volume_target_properties(self):
        """baremetal:volume:view_target_properties: system readers and admins only."""
        node = self.leased_node()
        _, target = self.create_volume_target(
            node["uuid"], volume_type="iscsi", volume_id=data_utils.rand_uuid(), boot_index=0,
            properties={"target_iqn": "iqn.2010-10.org.openstack:volume-2",
                        "target_portal": "192.0.2.20:3260", "target_lun": 1,
                        "auth_method": "CHAP", "auth_username": "chap-user",
                        "auth_password": TARGET_PASSWORD})
        for client in (self.owner_member, self.owner_reader):
            _, shown = client.show_volume_target(target["uuid"])
            self.assert_no_secret(shown)
            for key in ("auth_username", "auth_password", "target_iqn", "target_portal"):
                self.assertNotIn(key, shown["properties"])
            _, listed = client.list_volume_targets(node=node["uuid"], detail=True)
            self.assertEqual([target["uuid"]], [t["uuid"] for t in listed["targets"]])
            for t in listed["targets"]:
                self.assertNotIn("auth_username", t["properties"])

    @base.requires_ceph
    @decorators.idempotent_id("e6f7a8b9-2c3d-4e5f-9a0b-1c2d3e4f5a05")
    def test_boot_target_chap_credentials(self):
        """The CHAP credentials m2 makes for a deployed node's target."""
        # Public: the node deploys it for its owner's project.
        image = self.new_image(disk_format="raw", visibility="public")
        self.m2.upload_image_data(image["uuid"], b"\0" * (1 << 20))
        node = self.leased_node(deploy_interface="m2", boot_interface="ipxe")
        self.new_port(node["uuid"])
        self.client.set_node_provision_state(node["uuid"], "manage")
        self.wait_for_provision_state(node["uuid"], "manageable")
        self.client.set_node_provision_state(node["uuid"], "provide")
        self.wait_for_provision_state(node["uuid"], "available")
        self.client.update_node(node["uuid"], [
            {"op": "add", "path": "/instance_info/image_source", "value": image["uuid"]}])
        self.client.set_node_provision_state(node["uuid"], "active")
        self.deployed_nodes.add(node["uuid"])
        self.wait_for_provision_state(node["uuid"], "active",
                                      timeout=CONF.baremetal_m2.deploy_timeout)

        for client in (self.client, self.owner_member, self.owner_reader):
            _, shown = client.show_node(node["uuid"])
            sanboot = shown["driver_internal_info"]["sanboot"]
            self.assertTrue(sanboot["target_iqn"])
            for key, value in sanboot.items():
                if "chap" in key:
                    self.assertEqual(base.MASK, value, key)
        _, shown = self.lessee_member.show_node(node["uuid"])
        self.assertNotIn("sanboot", shown["driver_internal_info"])
