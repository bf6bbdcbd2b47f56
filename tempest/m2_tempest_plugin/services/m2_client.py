"""REST client of m2's own resources, on top of Ironic's Bare Metal client.

m2 serves Ironic's API plus images (/v1/images), disk volumes (/v1/volumes),
node recovery (POST /v1/nodes/{node}/recover) and the keep_disk extension of
the provision body. Everything else comes from ironic-tempest-plugin's
BaremetalClient, so one client covers a whole test.
"""

from http import client as http_client

from oslo_serialization import jsonutils as json

from ironic_tempest_plugin.services.baremetal.v1.json import baremetal_client


class M2Client(baremetal_client.BaremetalClient):
    """Bare Metal client with m2's images, volumes and recovery."""

    # --- images ---------------------------------------------------------

    def create_image(self, **body):
        """POST /v1/images: a queued record, a registered RBD image (rbd=)
        or a capture of a deployed node's disk (node=)."""
        return self._create_request("images", body)

    def list_images(self, **params):
        return self._list_request("images", **params)

    def show_image(self, ident):
        return self._show_request("images", ident)

    def update_image(self, ident, patch):
        return self._patch_request("images", ident, patch)

    def delete_image(self, ident):
        return self._delete_request("images", ident)

    def upload_image_data(self, ident, data):
        """PUT /v1/images/{image}/file with raw or qcow2 data."""
        headers = self.get_headers()
        headers["Content-Type"] = "application/octet-stream"
        resp, body = self.put("%s/images/%s/file" % (self.uri_prefix, ident), data, headers=headers)
        self.expected_success(http_client.OK, resp.status)
        return resp, self.deserialize(body)

    def download_image_data(self, ident):
        """GET /v1/images/{image}/file: the raw bytes."""
        headers = self.get_headers()
        headers["Accept"] = "application/octet-stream"
        resp, body = self.get("%s/images/%s/file" % (self.uri_prefix, ident), headers=headers)
        self.expected_success(http_client.OK, resp.status)
        return resp, body

    # --- disk volumes ---------------------------------------------------

    def create_volume(self, **body):
        """POST /v1/volumes: registers an existing RBD image (rbd=pool/image)."""
        return self._create_request("volumes", body)

    def list_volumes(self, **params):
        return self._list_request("volumes", **params)

    def show_volume(self, ident):
        return self._show_request("volumes", ident)

    def update_volume(self, ident, patch):
        return self._patch_request("volumes", ident, patch)

    def delete_volume(self, ident):
        return self._delete_request("volumes", ident)

    # --- nodes ----------------------------------------------------------

    def provision(self, node_ident, body):
        """PUT /v1/nodes/{node}/states/provision with a body as given, for
        m2's extensions (keep_disk) and for malformed bodies."""
        resp, body = self.put(
            "%s/nodes/%s/states/provision" % (self.uri_prefix, node_ident),
            json.dumps(body),
        )
        self.expected_success(http_client.ACCEPTED, resp.status)
        return resp, body

    def recover_node(self, node_ident, body):
        """POST /v1/nodes/{node}/recover; body as given (normally {"spare": ...})."""
        resp, body = self.post(
            "%s/nodes/%s/recover" % (self.uri_prefix, node_ident),
            json.dumps(body),
        )
        self.expected_success(http_client.ACCEPTED, resp.status)
        return resp, body
