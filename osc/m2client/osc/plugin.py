"""openstack CLI plugin: ``openstack baremetal m2 ...`` for m2's own resources.

The client talks to the ``baremetal`` endpoint, found the way every
openstack command finds its service: ``--os-endpoint``/``OS_ENDPOINT`` with
``--os-auth-type none`` (the endpoint of the ``none`` auth plugin), a
``baremetal_endpoint_override`` in clouds.yaml, or the service catalog of a
Keystone token.
"""

import logging
import os

from osc_lib import exceptions
from osc_lib import utils

from m2client import client as m2_client

LOG = logging.getLogger(__name__)

API_NAME = "baremetal_m2"
API_VERSION_OPTION = "os_baremetal_m2_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "m2client.client.Client"}

MICROVERSION_ENV = "OS_BAREMETAL_M2_MICROVERSION"


def _microversion(instance):
    config = {}
    getter = getattr(instance, "get_configuration", None)
    if getter is not None:
        config = getter() or {}
    return (
        config.get("baremetal_m2_microversion")
        or os.environ.get(MICROVERSION_ENV)
        or m2_client.DEFAULT_MICROVERSION
    )


def make_client(instance):
    """The m2 client of an openstack ClientManager (called once, lazily)."""
    region = instance.region_name
    interface = instance.interface or "public"
    endpoint = instance.get_endpoint_for_service_type(
        m2_client.SERVICE_TYPE, region_name=region, interface=interface
    )
    if not endpoint:
        raise exceptions.CommandError(
            "No baremetal endpoint: give --os-endpoint (or OS_ENDPOINT) with "
            "--os-auth-type none, or authenticate against a Keystone whose "
            "catalog lists the baremetal service."
        )
    microversion = _microversion(instance)
    LOG.debug("m2 client: endpoint %s, microversion %s", endpoint,
              microversion)
    return m2_client.Client(
        instance.session,
        endpoint,
        microversion=microversion,
        region_name=region,
        interface=interface,
    )


def build_option_parser(parser):
    """Options of this plugin on the openstack command line."""
    parser.add_argument(
        "--os-baremetal-m2-api-version",
        metavar="<major-version>",
        default=utils.env("OS_BAREMETAL_M2_API_VERSION",
                          default=DEFAULT_API_VERSION),
        help="Version of the m2 command set, only %s (env "
        "OS_BAREMETAL_M2_API_VERSION)." % DEFAULT_API_VERSION,
    )
    parser.add_argument(
        "--os-baremetal-m2-microversion",
        metavar="<1.N|latest>",
        default=utils.env(MICROVERSION_ENV),
        help="X-OpenStack-Ironic-API-Version of m2 requests (default: %s; "
        "env %s)." % (m2_client.DEFAULT_MICROVERSION, MICROVERSION_ENV),
    )
    return parser
