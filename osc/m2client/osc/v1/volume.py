"""``openstack baremetal m2 volume ...``: m2's disk volumes (``/v1/volumes``).

Node disks that outlive a deployment (kept on release, moved off a failed
node) and registered RBD images such as Cinder volumes.
"""

from osc_lib.cli import parseractions
from osc_lib.command import command
from osc_lib import exceptions

from m2client.osc.v1 import common

FIELDS = (
    "uuid",
    "name",
    "status",
    "owner",
    "size",
    "rbd",
    "source",
    "source_node",
    "node_uuid",
    "extra",
    "created_at",
    "updated_at",
)
LIST_COLUMNS = ("UUID", "Name", "Status", "Size", "Node UUID")
LONG_COLUMNS = LIST_COLUMNS + (
    "Owner",
    "RBD",
    "Source",
    "Source Node",
    "Extra",
    "Created At",
    "Updated At",
)


def _add_fields(parser):
    parser.add_argument("--name", metavar="<name>", help="Volume name.")
    parser.add_argument("--owner", metavar="<project>",
                        help="Project owning the volume.")
    parser.add_argument(
        "--extra",
        metavar="<key=value>",
        action=parseractions.KeyValueAction,
        help="A key of the volume's extra data (repeat for more); a value "
        "that parses as JSON is stored as such.",
    )


class ListVolume(command.Lister):
    """List m2 disk volumes."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>",
                            help="Only volumes with this name.")
        parser.add_argument("--status", metavar="<status>",
                            help="Only volumes in this status (available, "
                            "in-use).")
        parser.add_argument("--owner", metavar="<project>",
                            help="Only volumes of this project.")
        common.add_list_options(parser, "volume")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        volumes = common.m2(self).list_volumes(
            limit=parsed_args.limit,
            marker=parsed_args.marker,
            sort=parsed_args.sort,
            name=parsed_args.name,
            status=parsed_args.status,
            owner=parsed_args.owner,
        )
        labels = LONG_COLUMNS if parsed_args.long else LIST_COLUMNS
        return common.rows(volumes, labels)


class ShowVolume(command.ShowOne):
    """Show an m2 disk volume."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="<volume>",
                            help="UUID or name of the volume.")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        return common.show(common.m2(self).get_volume(parsed_args.volume),
                           FIELDS)


class CreateVolume(command.ShowOne):
    """Register an existing RBD image (a VM's volume) as an m2 disk volume."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--rbd",
            metavar="<pool>/<image>",
            required=True,
            help="The RBD image, e.g. volumes/volume-<id> for a Cinder "
            "volume.",
        )
        _add_fields(parser)
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        fields = {"name": parsed_args.name, "owner": parsed_args.owner}
        fields = {k: v for k, v in fields.items() if v is not None}
        if parsed_args.extra:
            fields["extra"] = {
                k: common.extra_value(v) for k, v in parsed_args.extra.items()
            }
        volume = common.m2(self).create_volume(parsed_args.rbd, **fields)
        return common.show(volume, FIELDS)


class SetVolume(command.Command):
    """Set properties of an m2 disk volume."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="<volume>",
                            help="UUID or name of the volume.")
        _add_fields(parser)
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        ops = common.set_ops(
            {"name": parsed_args.name, "owner": parsed_args.owner},
            parsed_args.extra,
        )
        if not ops:
            raise exceptions.CommandError("Nothing to set.")
        common.m2(self).update_volume(parsed_args.volume, ops)


class UnsetVolume(command.Command):
    """Unset properties of an m2 disk volume."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="<volume>",
                            help="UUID or name of the volume.")
        parser.add_argument("--name", action="store_true",
                            help="Remove the volume's name.")
        parser.add_argument("--owner", action="store_true",
                            help="Remove the volume's owner.")
        parser.add_argument(
            "--extra", metavar="<key>", action="append",
            help="Remove this key of the extra data (repeat for more).",
        )
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        fields = [f for f in ("name", "owner") if getattr(parsed_args, f)]
        ops = common.unset_ops(fields, parsed_args.extra)
        if not ops:
            raise exceptions.CommandError("Nothing to unset.")
        common.m2(self).update_volume(parsed_args.volume, ops)


class DeleteVolume(command.Command):
    """Delete m2 disk volumes.

    The data of volumes m2 made goes with them; registered RBD images are
    only forgotten. Refused while a node uses the volume.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("volumes", metavar="<volume>", nargs="+",
                            help="UUIDs or names of the volumes.")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        common.delete_all("volume", parsed_args.volumes,
                          common.m2(self).delete_volume)
