"""``openstack baremetal m2 node ...``: m2's node operations.

- ``release``: undeploy keeping the node's disk as a volume
  (``{"target": "deleted", "keep_disk": true | "<name>"}``).
- ``recover``: boot a failed node's disk on a spare
  (``POST /v1/nodes/{node}/recover``).
- ``boot-volume``: deploy a node from a disk volume
  (``instance_info.volume``, then ``{"target": "active"}``).
"""

import json
import logging
import os
import time

from osc_lib.command import command
from osc_lib import exceptions

from m2client import client as m2_client
from m2client.osc.v1 import common

LOG = logging.getLogger(__name__)


def _wait(client, node, state, timeout):
    if timeout is None:
        return None
    return client.wait_for_provision_state(node, state, timeout=timeout)


def _config_drive(value):
    """A --config-drive: a file (JSON object, or Nova's gzipped base64
    image), a JSON object given inline, or the base64 text itself."""
    if value is None:
        return None
    if os.path.isfile(value):
        try:
            with open(value, "r", encoding="utf-8") as f:
                value = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise exceptions.CommandError(
                "Cannot read the config drive %s: %s" % (value, e))
    text = value.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as e:
            raise exceptions.CommandError(
                "The config drive is not a valid JSON object: %s" % e)
    return text


class ReleaseNode(command.Command):
    """Undeploy a node and keep its disk as an m2 volume.

    The volume belongs to the instance's project; deploy any compatible node
    from it later with 'openstack baremetal m2 node boot-volume'.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("node", metavar="<node>",
                            help="UUID or name of the node.")
        parser.add_argument(
            "--keep-disk",
            metavar="<volume-name>",
            help="Name of the volume the disk becomes (default: an unnamed "
            "volume).",
        )
        common.wait_option(parser, "the node is available again")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        client = common.m2(self)
        keep = parsed_args.keep_disk if parsed_args.keep_disk else True
        client.set_provision_state(parsed_args.node, "deleted", keep_disk=keep)
        _wait(client, parsed_args.node, "available", parsed_args.wait_timeout)


class RecoverNode(command.Command):
    """Boot a failed node's disk on a spare node.

    The failed node (active or deploy failed) is powered off, its iSCSI
    target revoked and it is left available in maintenance; the spare
    (available) deploys from the failed node's disk with its instance.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("node", metavar="<failed-node>",
                            help="UUID or name of the failed node.")
        parser.add_argument(
            "--spare",
            metavar="<spare-node>",
            required=True,
            help="UUID or name of the available node to boot the disk on.",
        )
        common.wait_option(
            parser, "the spare is active and the failed node available")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        client = common.m2(self)
        client.recover_node(parsed_args.node, parsed_args.spare)
        if parsed_args.wait_timeout is None:
            return
        deadline = time.monotonic() + parsed_args.wait_timeout
        _wait(client, parsed_args.spare, "active", parsed_args.wait_timeout)
        # The failed node settles (available, in maintenance) at about the
        # same time; the rest of the time-out applies to it.
        left = 0
        if parsed_args.wait_timeout:
            left = max(1, int(deadline - time.monotonic()))
        _wait(client, parsed_args.node, "available", left)


class BootVolume(command.Command):
    """Deploy a node from an m2 disk volume (a released or recovered disk,
    or a registered RBD image): it boots that disk, nothing copied.

    Sets instance_info.volume to the volume's UUID and deploys the node; when
    the deploy is refused, instance_info is put back as it was.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("node", metavar="<node>",
                            help="UUID or name of the node (available, m2 "
                            "deploy interface).")
        parser.add_argument("volume", metavar="<volume>",
                            help="UUID or name of the volume.")
        parser.add_argument(
            "--config-drive",
            metavar="<config-drive>",
            help="A config drive for the node: a JSON object (meta_data, "
            "network_data, user_data, vendor_data) or a gzipped base64 "
            "image, inline or in a file.",
        )
        common.wait_option(parser, "the node is active")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        client = common.m2(self)
        configdrive = _config_drive(parsed_args.config_drive)
        volume = client.get_volume(parsed_args.volume)
        node = client.get_node(parsed_args.node)
        previous = (node.get("instance_info") or {}).get("volume")
        client.update_node(node["uuid"], [{
            "op": "add", "path": "/instance_info/volume",
            "value": volume["uuid"],
        }])
        try:
            client.set_provision_state(node["uuid"], "active",
                                       configdrive=configdrive)
        except m2_client.ApiError:
            undo = ({"op": "remove", "path": "/instance_info/volume"}
                    if previous is None else
                    {"op": "add", "path": "/instance_info/volume",
                     "value": previous})
            try:
                client.update_node(node["uuid"], [undo])
            except m2_client.ApiError as e:
                LOG.warning("Could not put instance_info.volume of node %s "
                            "back: %s", node["uuid"], e)
            raise
        _wait(client, node["uuid"], "active", parsed_args.wait_timeout)
