"""m2's disk volumes, /v1/volumes: node disks that outlive a deployment."""

from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from m2_tempest_plugin.tests.api import base

VOLUME_FIELDS = {
    "uuid", "name", "status", "owner", "size", "rbd", "source", "source_node",
    "node_uuid", "extra", "created_at", "updated_at", "links",
}


class VolumesTest(base.M2BaremetalTest):

    @decorators.attr(type="negative")
    @decorators.idempotent_id("7c1a9e80-5d0e-4d36-8a57-3c1f4b2d6e01")
    def test_register_rejects_bad_bodies(self):
        name = data_utils.rand_name("m2-vol")
        for body in (
            {"name": name},  # rbd is required
            {"name": name, "rbd": "volumes/x", "colour": "red"},
            {"name": data_utils.rand_uuid(), "rbd": "volumes/x"},
            {"name": name, "rbd": 3},
            {"name": name, "rbd": "volumes/x", "extra": []},
        ):
            self.assertRaises(lib_exc.BadRequest, self.m2.create_volume, **body)
        _, listed = self.m2.list_volumes(name=name)
        self.assertEqual([], listed["volumes"])

    @decorators.attr(type="negative")
    @decorators.idempotent_id("7c1a9e80-5d0e-4d36-8a57-3c1f4b2d6e02")
    def test_lookups(self):
        self.assertRaises(lib_exc.NotFound, self.m2.show_volume, data_utils.rand_uuid())
        self.assertRaises(lib_exc.NotFound, self.m2.show_volume, data_utils.rand_name("m2-none"))
        self.assertRaises(lib_exc.NotFound, self.m2.delete_volume, data_utils.rand_uuid())
        self.assertRaises(lib_exc.NotFound, self.m2.update_volume, data_utils.rand_uuid(),
                          [{"op": "replace", "path": "/name", "value": "x"}])
        self.assertRaises(lib_exc.BadRequest, self.m2.list_volumes, colour="red")
        _, listed = self.m2.list_volumes(status="in-use", name=data_utils.rand_name("m2-none"))
        self.assertEqual([], listed["volumes"])

    @base.without_ceph
    @decorators.attr(type="negative")
    @decorators.idempotent_id("7c1a9e80-5d0e-4d36-8a57-3c1f4b2d6e03")
    def test_register_without_ceph_is_a_clean_503(self):
        name = data_utils.rand_name("m2-vol")
        exc = self.assertRaises(lib_exc.RestClientException, self.m2.create_volume,
                                name=name, rbd="volumes/volume-%s" % data_utils.rand_uuid())
        self.assertEqual(503, exc.resp.status)
        _, listed = self.m2.list_volumes(name=name)
        self.assertEqual([], listed["volumes"])

    @base.requires_ceph
    @decorators.idempotent_id("7c1a9e80-5d0e-4d36-8a57-3c1f4b2d6e04")
    def test_register_update_forget(self):
        # Any existing RBD image will do: the data of an uploaded image.
        image = self.new_image(disk_format="raw")
        _, image = self.m2.upload_image_data(image["uuid"], b"\1" * (1 << 20))
        rbd_image = image["rbd"].split("@")[0]
        self.assertRaises(lib_exc.BadRequest, self.m2.create_volume,
                          name=data_utils.rand_name("m2-vol"), rbd="%s-ghost" % rbd_image)

        name = data_utils.rand_name("m2-vol")
        resp, volume = self.m2.create_volume(name=name, rbd=rbd_image, extra={"from": "tempest"})
        self.created_volumes.append(volume["uuid"])
        self.assertEqual(VOLUME_FIELDS, set(volume))
        self.assertEqual("available", volume["status"])
        self.assertEqual(rbd_image, volume["rbd"])
        self.assertIsNone(volume["node_uuid"])
        self.assertEqual(1 << 20, volume["size"])
        self.assertTrue(resp["location"].endswith("/v1/volumes/%s" % volume["uuid"]))
        # One RBD image is one volume.
        self.assertRaises(lib_exc.Conflict, self.m2.create_volume,
                          name=data_utils.rand_name("m2-vol"), rbd=rbd_image)

        _, shown = self.m2.show_volume(name)
        self.assertEqual(volume["uuid"], shown["uuid"])
        _, listed = self.m2.list_volumes(status="available", name=name)
        self.assertEqual([volume["uuid"]], [v["uuid"] for v in listed["volumes"]])
        new_name = data_utils.rand_name("m2-vol")
        _, patched = self.m2.update_volume(volume["uuid"], [
            {"op": "replace", "path": "/name", "value": new_name},
            {"op": "remove", "path": "/extra/from"},
        ])
        self.assertEqual(new_name, patched["name"])
        self.assertEqual({}, patched["extra"])
        self.assertRaises(lib_exc.BadRequest, self.m2.update_volume, volume["uuid"],
                          [{"op": "replace", "path": "/status", "value": "in-use"}])

        # A registered volume is only forgotten: its RBD image stays, so the
        # image it came from still downloads.
        self.m2.delete_volume(volume["uuid"])
        self.created_volumes.remove(volume["uuid"])
        self.assertRaises(lib_exc.NotFound, self.m2.show_volume, volume["uuid"])
        _, data = self.m2.download_image_data(image["uuid"])
        self.assertEqual(1 << 20, len(data))
