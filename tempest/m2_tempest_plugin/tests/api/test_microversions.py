"""Version discovery and microversion negotiation of the Bare Metal API."""

from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from ironic_tempest_plugin.tests.api.admin import api_microversion_fixture
from m2_tempest_plugin.tests.api import base

CONF = config.CONF

VERSION_HEADER = "X-OpenStack-Ironic-API-Version"
MIN_HEADER = "X-OpenStack-Ironic-API-Minimum-Version"
MAX_HEADER = "X-OpenStack-Ironic-API-Maximum-Version"


class MicroversionNegotiationTest(base.M2BaremetalTest):
    """The version headers Ironic clients (ironicclient, openstacksdk) rely on."""

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        _, root = cls.client.get_api_description()
        version = root["default_version"]
        cls.api_min = base.parse_microversion(version["min_version"])
        cls.api_max = base.parse_microversion(version["version"])
        _, cls.node = cls.create_node(None)

    def setUp(self):
        super().setUp()
        # These tests send their own version headers: stop the client from
        # adding (and checking) the class's default microversion.
        self.useFixture(api_microversion_fixture.APIMicroversionFixture(None))

    def _get(self, path, version=None):
        headers = self.client.get_raw_headers()
        if version is not None:
            headers[VERSION_HEADER] = version
        resp, body = self.client.get(path, headers=headers)
        return resp, self.client.deserialize(body)

    def _assert_range_headers(self, resp):
        self.assertEqual(base.format_microversion(self.api_min), resp[MIN_HEADER.lower()])
        self.assertEqual(base.format_microversion(self.api_max), resp[MAX_HEADER.lower()])

    @decorators.idempotent_id("7282757e-52f5-48e9-bd49-48ac81c6282e")
    def test_root_advertises_the_range(self):
        _, root = self.client.get_api_description()
        self.assertEqual("v1", root["default_version"]["id"])
        self.assertEqual("CURRENT", root["default_version"]["status"])
        self.assertIn("v1", [v["id"] for v in root["versions"]])
        self.assertEqual((1, 1), self.api_min)
        self.assertGreaterEqual(self.api_max, self.api_min)
        configured_max = CONF.baremetal.max_microversion
        if configured_max and configured_max != "latest":
            self.assertGreaterEqual(self.api_max, base.parse_microversion(configured_max))
        expected = self.m2_conf.expected_max_microversion
        if expected:
            self.assertEqual(base.parse_microversion(expected), self.api_max)

    @decorators.idempotent_id("0969c826-f0de-4612-afda-291775834813")
    def test_negotiated_version_is_echoed(self):
        max_text = base.format_microversion(self.api_max)
        cases = [
            (None, "1.1"),  # no header: the minimum
            ("1.1", "1.1"),
            (max_text, max_text),
            ("latest", max_text),
        ]
        for requested, expected in cases:
            resp, _ = self._get("v1/nodes", requested)
            self.assertEqual(expected, resp[VERSION_HEADER.lower()],
                             "requested %r" % (requested,))
            self._assert_range_headers(resp)

    @decorators.attr(type="negative")
    @decorators.idempotent_id("876999d3-c4a4-4714-81dc-e46266593944")
    def test_unsupported_versions_are_not_acceptable(self):
        too_new = base.format_microversion((self.api_max[0], self.api_max[1] + 1))
        for requested in (too_new, "2.0", "1.0", "not-a-version"):
            exc = self.assertRaises(lib_exc.NotAcceptable, self._get, "v1/nodes", requested)
            if requested != "not-a-version":
                self._assert_range_headers(exc.resp)

    @decorators.idempotent_id("289068cd-9a54-4c70-a552-2a21e05329fb")
    def test_fields_follow_the_requested_version(self):
        path = "v1/nodes/%s" % self.node["uuid"]
        _, old = self._get(path, "1.1")
        # name appeared in 1.5, resource_class in 1.21: not shown at 1.1.
        self.assertNotIn("name", old)
        self.assertNotIn("resource_class", old)
        self.assertEqual(self.node["uuid"], old["uuid"])
        _, new = self._get(path, "latest")
        self.assertIn("name", new)
        if self.api_max >= (1, 21):
            self.assertIn("resource_class", new)
