"""m2's image library, /v1/images: what nodes deploy from."""

import hashlib

from tempest.lib.common.utils import data_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from m2_tempest_plugin.tests.api import base

IMAGE_FIELDS = {
    "uuid", "name", "status", "visibility", "owner", "shared_with", "disk_format",
    "size", "checksum", "source", "source_node", "rbd", "last_error", "extra",
    "created_at", "updated_at", "links",
}


class ImagesTest(base.M2BaremetalTest):
    """Records, lookups, updates and input checks of images (no data needed)."""

    # Images are served at every version; the nodes these tests make have names.
    min_microversion = "1.65"

    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a01")
    def test_create_show_list_update(self):
        name = data_utils.rand_name("m2-image")
        resp, image = self.m2.create_image(
            name=name, visibility="public", disk_format="qcow2",
            shared_with=[], extra={"os": "debian"})
        self.created_images.append(image["uuid"])
        self.assertEqual(IMAGE_FIELDS, set(image))
        self.assertTrue(resp["location"].endswith("/v1/images/%s" % image["uuid"]))
        self.assertEqual("queued", image["status"])
        self.assertEqual("upload", image["source"])
        self.assertEqual("public", image["visibility"])
        self.assertEqual("qcow2", image["disk_format"])
        self.assertEqual({"os": "debian"}, image["extra"])
        self.assertIsNone(image["size"])
        self.assertIsNone(image["last_error"])
        # Where the golden snapshot will be: pool/image@snapshot.
        self.assertRegex(image["rbd"], r"^[^/@]+/[^/@]+@[^/@]+$")

        for ident in (image["uuid"], name):
            _, shown = self.m2.show_image(ident)
            self.assertEqual(image["uuid"], shown["uuid"])

        _, listed = self.m2.list_images(name=name)
        self.assertEqual([image["uuid"]], [i["uuid"] for i in listed["images"]])
        _, listed = self.m2.list_images(status="queued", visibility="public")
        self.assertIn(image["uuid"], [i["uuid"] for i in listed["images"]])
        _, listed = self.m2.list_images(status="active", name=name)
        self.assertEqual([], listed["images"])

        new_name = data_utils.rand_name("m2-renamed")
        _, patched = self.m2.update_image(image["uuid"], [
            {"op": "replace", "path": "/name", "value": new_name},
            {"op": "add", "path": "/extra/release", "value": "12"},
            {"op": "replace", "path": "/visibility", "value": "private"},
        ])
        self.assertEqual(new_name, patched["name"])
        self.assertEqual({"os": "debian", "release": "12"}, patched["extra"])
        self.assertEqual("private", patched["visibility"])
        _, shown = self.m2.show_image(new_name)
        self.assertEqual(patched["extra"], shown["extra"])
        self.assertRaises(lib_exc.NotFound, self.m2.show_image, name)

    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a02")
    def test_list_pages(self):
        prefix = data_utils.rand_name("m2-page")
        made = sorted(self.new_image(name="%s-%d" % (prefix, i))["uuid"] for i in range(3))
        seen = []
        marker = None
        while True:
            params = {"limit": 2, "sort_key": "uuid", "sort_dir": "asc"}
            if marker:
                params["marker"] = marker
            _, page = self.m2.list_images(**params)
            uuids = [i["uuid"] for i in page["images"]]
            self.assertLessEqual(len(uuids), 2)
            seen += uuids
            if "next" not in page or not uuids:
                break
            marker = uuids[-1]
        self.assertEqual(seen, sorted(seen))
        for uuid in made:
            self.assertIn(uuid, seen)

    @decorators.attr(type="negative")
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a03")
    def test_create_rejects_bad_bodies(self):
        name = data_utils.rand_name("m2-bad")
        for body in (
            {"name": name, "colour": "red"},
            {"name": name, "visibility": "secret"},
            {"name": name, "disk_format": "vmdk"},
            {"name": data_utils.rand_uuid()},
            {"name": 5},
            {"name": name, "shared_with": "project-a"},
            {"name": name, "extra": ["not", "an", "object"]},
            {"name": name, "uuid": "not-a-uuid"},
            {"name": name, "flatten": True},
            {"name": name, "rbd": "pool/image", "node": data_utils.rand_uuid()},
        ):
            self.assertRaises(lib_exc.BadRequest, self.m2.create_image, **body)
        _, listed = self.m2.list_images(name=name)
        self.assertEqual([], listed["images"])

    @decorators.attr(type="negative")
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a04")
    def test_lookups(self):
        self.assertRaises(lib_exc.NotFound, self.m2.show_image, data_utils.rand_uuid())
        self.assertRaises(lib_exc.NotFound, self.m2.show_image, data_utils.rand_name("m2-none"))
        self.assertRaises(lib_exc.BadRequest, self.m2.list_images, colour="red")
        # Two images of one name: the name is ambiguous, the UUIDs are not.
        name = data_utils.rand_name("m2-twin")
        first = self.new_image(name=name)
        self.new_image(name=name)
        self.assertRaises(lib_exc.Conflict, self.m2.show_image, name)
        _, shown = self.m2.show_image(first["uuid"])
        self.assertEqual(name, shown["name"])
        # Capturing a node that does not exist.
        self.assertRaises(lib_exc.NotFound, self.m2.create_image,
                          name=data_utils.rand_name("m2-snap"), node=data_utils.rand_uuid())

    @decorators.attr(type="negative")
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a05")
    def test_update_rejects_bad_patches(self):
        image = self.new_image()
        for patch in (
            [{"op": "replace", "path": "/status", "value": "active"}],
            [{"op": "replace", "path": "/rbd", "value": "pool/other"}],
            [{"op": "remove", "path": "/visibility"}],
            [{"op": "replace", "path": "/visibility", "value": "everyone"}],
            [{"op": "replace", "path": "/name", "value": data_utils.rand_uuid()}],
        ):
            self.assertRaises(lib_exc.BadRequest, self.m2.update_image, image["uuid"], patch)
        _, shown = self.m2.show_image(image["uuid"])
        self.assertEqual(image["name"], shown["name"])
        self.assertEqual(image["visibility"], shown["visibility"])

    @decorators.attr(type="negative")
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a06")
    def test_snapshot_needs_an_m2_deployed_node(self):
        # A node deployed by the fake deploy interface has no disk in Ceph.
        node = self.active_node()
        exc = self.assertRaises(lib_exc.BadRequest, self.m2.create_image,
                                name=data_utils.rand_name("m2-snap"), node=node["uuid"])
        self.assertIn("has no disk in Ceph", base.fault_string(exc))
        self.assert_node_unchanged(node)

    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a07")
    def test_delete_queued_image(self):
        """An image that never got data has nothing in Ceph to remove."""
        image = self.new_image()
        self.m2.delete_image(image["uuid"])
        self.assertRaises(lib_exc.NotFound, self.m2.show_image, image["uuid"])

    @decorators.attr(type="negative")
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a08")
    def test_download_without_data(self):
        image = self.new_image()
        self.assertRaises(lib_exc.BadRequest, self.m2.download_image_data, image["uuid"])

    @base.without_ceph
    @decorators.attr(type="negative")
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a09")
    def test_no_ceph_is_a_clean_503(self):
        name = data_utils.rand_name("m2-rbd")
        exc = self.assertRaises(lib_exc.RestClientException, self.m2.create_image,
                                name=name, rbd="m2-images/%s" % name)
        self.assertEqual(503, exc.resp.status)
        _, listed = self.m2.list_images(name=name)
        self.assertEqual([], listed["images"])

        # An upload that cannot reach Ceph leaves the image in error.
        image = self.new_image()
        exc = self.assertRaises(lib_exc.RestClientException, self.m2.upload_image_data,
                                image["uuid"], b"\0" * 4096)
        self.assertEqual(503, exc.resp.status)
        _, shown = self.m2.show_image(image["uuid"])
        self.assertEqual("error", shown["status"])


class ImageDataTest(base.M2BaremetalTest):
    """Images with data: upload, download, registration of RBD images."""

    @base.requires_ceph
    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a10")
    def test_upload_download_delete(self):
        data = bytes(range(256)) * 4096  # 1 MiB, raw
        image = self.new_image(disk_format="raw")
        _, stored = self.m2.upload_image_data(image["uuid"], data)
        self.assertEqual("active", stored["status"])
        self.assertEqual(len(data), stored["size"])
        self.assertEqual(hashlib.sha256(data).hexdigest(), stored["checksum"])
        # Uploading again is refused: the image is not waiting for data.
        self.assertRaises(lib_exc.Conflict, self.m2.upload_image_data, image["uuid"], data)
        _, body = self.m2.download_image_data(image["uuid"])
        self.assertEqual(len(data), len(body))
        self.assertEqual(hashlib.sha256(data).hexdigest(), hashlib.sha256(body).hexdigest())

        # The RBD image behind it is registered already.
        rbd_image = stored["rbd"].split("@")[0]
        self.assertRaises(lib_exc.Conflict, self.m2.create_image,
                          name=data_utils.rand_name("m2-again"), rbd=rbd_image)
        # An RBD image that does not exist cannot be registered.
        self.assertRaises(lib_exc.BadRequest, self.m2.create_image,
                          name=data_utils.rand_name("m2-ghost"),
                          rbd="%s-ghost" % rbd_image)

        self.m2.delete_image(image["uuid"])
        self.created_images.remove(image["uuid"])
        self.assertRaises(lib_exc.NotFound, self.m2.show_image, image["uuid"])


class ImageVisibilityTest(base.M2BaremetalTest):
    """A project sees its own images and public ones, not another project's."""

    credentials = ["admin", "system_admin", "project_member", "project_alt_member"]

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.member = cls.os_project_member.m2.M2Client()
        cls.alt_member = cls.os_project_alt_member.m2.M2Client()

    @decorators.idempotent_id("0f7f9d51-3f0a-4b52-9a2e-2b3f0c1d7a11")
    def test_projects_see_their_own_images(self):
        project = self.os_project_member.credentials.project_id
        private = self.new_image(client=self.member)
        self.assertEqual(project, private["owner"])
        public = self.new_image(client=self.member, visibility="public")
        alt_project = self.os_project_alt_member.credentials.project_id
        shared = self.new_image(client=self.member, visibility="shared",
                                shared_with=[alt_project])

        _, mine = self.member.list_images()
        mine = {i["uuid"] for i in mine["images"]}
        self.assertTrue({private["uuid"], public["uuid"], shared["uuid"]} <= mine)

        _, theirs = self.alt_member.list_images()
        theirs = {i["uuid"] for i in theirs["images"]}
        self.assertNotIn(private["uuid"], theirs)
        self.assertIn(public["uuid"], theirs)
        self.assertIn(shared["uuid"], theirs)
        self.assertRaises(lib_exc.NotFound, self.alt_member.show_image, private["uuid"])
        self.alt_member.show_image(public["uuid"])

        # The system administrator sees them all.
        for image in (private, public, shared):
            self.m2.show_image(image["uuid"])
