"""``openstack baremetal m2 image ...``: m2's images (``/v1/images``)."""

import logging
import os
import sys

from osc_lib.cli import parseractions
from osc_lib.command import command
from osc_lib import exceptions

from m2client import progress as m2_progress
from m2client.osc.v1 import common

LOG = logging.getLogger(__name__)

FIELDS = (
    "uuid",
    "name",
    "status",
    "visibility",
    "owner",
    "shared_with",
    "disk_format",
    "size",
    "checksum",
    "source",
    "source_node",
    "rbd",
    "last_error",
    "extra",
    "created_at",
    "updated_at",
)
LIST_COLUMNS = ("UUID", "Name", "Status", "Visibility", "Size")
LONG_COLUMNS = LIST_COLUMNS + (
    "Owner",
    "Shared With",
    "Disk Format",
    "Checksum",
    "Source",
    "Source Node",
    "RBD",
    "Last Error",
    "Extra",
    "Created At",
    "Updated At",
)
VISIBILITIES = ("public", "private", "shared")
DISK_FORMATS = ("raw", "qcow2")


def _add_progress_options(parser, verb):
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="Show the %s progress on stderr even when it is not a "
        "terminal." % verb,
    )
    group.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="Never show the %s progress." % verb,
    )


def _add_image_fields(parser, creating):
    parser.add_argument("--name", metavar="<name>", help="Image name.")
    parser.add_argument(
        "--visibility",
        metavar="<visibility>",
        choices=VISIBILITIES,
        help="public, private (default: private) or shared (with the "
        "projects of --share-with).",
    )
    parser.add_argument(
        "--share-with",
        metavar="<project>",
        dest="shared_with",
        action="append",
        help="Project the image is shared with (repeat for more)%s."
        % ("" if creating else "; replaces the current list"),
    )
    parser.add_argument(
        "--owner", metavar="<project>", help="Project owning the image."
    )
    parser.add_argument(
        "--extra",
        metavar="<key=value>",
        action=parseractions.KeyValueAction,
        help="A key of the image's extra data (repeat for more); a value "
        "that parses as JSON is stored as such.",
    )


def _create_fields(parsed_args):
    fields = {
        "name": parsed_args.name,
        "visibility": parsed_args.visibility,
        "shared_with": parsed_args.shared_with,
        "owner": parsed_args.owner,
    }
    if parsed_args.extra:
        fields["extra"] = {
            k: common.extra_value(v) for k, v in parsed_args.extra.items()
        }
    return {k: v for k, v in fields.items() if v is not None}


def upload_file(client, image, path, show_progress):
    """Streams the file at ``path`` ('-': stdin) as the data of ``image``."""
    if path == "-":
        source = sys.stdin.buffer
        total = None
    else:
        try:
            source = open(path, "rb")
        except OSError as e:
            raise exceptions.CommandError("Cannot read %s: %s" % (path, e))
        total = os.fstat(source.fileno()).st_size or None
    try:
        bar = m2_progress.Progress(
            total,
            label="Uploading",
            enabled=m2_progress.wanted(show_progress),
        )
        with bar:
            chunks = m2_progress.reading(source, client.chunk_size, bar)
            return client.upload_image(image, chunks)
    finally:
        if source is not sys.stdin.buffer:
            source.close()


class ListImage(command.Lister):
    """List m2 images."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="<name>",
                            help="Only images with this name.")
        parser.add_argument(
            "--status",
            metavar="<status>",
            help="Only images in this status (queued, saving, active, error).",
        )
        parser.add_argument("--owner", metavar="<project>",
                            help="Only images of this project.")
        parser.add_argument("--visibility", metavar="<visibility>",
                            choices=VISIBILITIES,
                            help="Only images of this visibility.")
        common.add_list_options(parser, "image")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        images = common.m2(self).list_images(
            limit=parsed_args.limit,
            marker=parsed_args.marker,
            sort=parsed_args.sort,
            name=parsed_args.name,
            status=parsed_args.status,
            owner=parsed_args.owner,
            visibility=parsed_args.visibility,
        )
        labels = LONG_COLUMNS if parsed_args.long else LIST_COLUMNS
        return common.rows(images, labels)


class ShowImage(command.ShowOne):
    """Show an m2 image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image>",
                            help="UUID or name of the image.")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        return common.show(common.m2(self).get_image(parsed_args.image),
                           FIELDS)


class CreateImage(command.ShowOne):
    """Create an m2 image: upload data, or register an existing RBD image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_image_fields(parser, creating=True)
        parser.add_argument("--uuid", metavar="<uuid>",
                            help="UUID of the new image.")
        parser.add_argument(
            "--disk-format",
            metavar="<format>",
            choices=DISK_FORMATS,
            help="Format of the data to upload: raw or qcow2 (stored raw).",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--file",
            metavar="<path>",
            help="Upload this file ('-': standard input) as the image's "
            "data. Without --file or --rbd the image waits (queued) for "
            "'image upload'.",
        )
        source.add_argument(
            "--rbd",
            metavar="<pool>/<image>[@<snapshot>]",
            help="Register this existing RBD image instead of uploading.",
        )
        _add_progress_options(parser, "upload")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        client = common.m2(self)
        fields = _create_fields(parsed_args)
        if parsed_args.uuid:
            fields["uuid"] = parsed_args.uuid
        if parsed_args.disk_format:
            fields["disk_format"] = parsed_args.disk_format
        if parsed_args.rbd:
            fields["rbd"] = parsed_args.rbd
        image = client.create_image(**fields)
        if parsed_args.file:
            try:
                image = upload_file(client, image["uuid"], parsed_args.file,
                                    parsed_args.progress)
            except Exception as e:
                raise exceptions.CommandError(
                    "Image %s was created, but its upload failed: %s"
                    % (image["uuid"], e)
                ) from e
        return common.show(image, FIELDS)


class UploadImage(command.ShowOne):
    """Upload the data (raw or qcow2) of a queued m2 image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image>",
                            help="UUID or name of the image.")
        parser.add_argument("file", metavar="<file>",
                            help="The data to upload ('-': standard input).")
        _add_progress_options(parser, "upload")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        image = upload_file(common.m2(self), parsed_args.image,
                            parsed_args.file, parsed_args.progress)
        return common.show(image, FIELDS)


class DownloadImage(command.Command):
    """Download the data of an m2 image, as a raw disk image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image>",
                            help="UUID or name of the image.")
        parser.add_argument(
            "--file",
            metavar="<path>",
            help="Write the data here (default: standard output, when it is "
            "not a terminal).",
        )
        _add_progress_options(parser, "download")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        to_stdout = parsed_args.file in (None, "-")
        if to_stdout and sys.stdout.isatty():
            raise exceptions.CommandError(
                "Refusing to write a disk image to a terminal: give --file "
                "or redirect the output."
            )
        resp = common.m2(self).download_image(parsed_args.image)
        try:
            total = int(resp.headers.get("Content-Length") or 0) or None
        except ValueError:
            total = None
        out = sys.stdout.buffer if to_stdout else None
        partial = None
        try:
            if out is None:
                partial = parsed_args.file
                try:
                    out = open(parsed_args.file, "wb")
                except OSError as e:
                    raise exceptions.CommandError(
                        "Cannot write %s: %s" % (parsed_args.file, e))
            bar = m2_progress.Progress(
                total, label="Downloading",
                enabled=m2_progress.wanted(parsed_args.progress),
            )
            written = 0
            with bar:
                for chunk in resp.iter_content(common.m2(self).chunk_size):
                    out.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
            if total is not None and written != total:
                raise exceptions.CommandError(
                    "The download of image %s stopped after %d of %d bytes."
                    % (parsed_args.image, written, total)
                )
            out.flush()
            partial = None
        finally:
            resp.close()
            if out is not None and not to_stdout:
                out.close()
            if partial is not None:
                try:
                    os.unlink(partial)
                except OSError:
                    pass


class SetImage(command.Command):
    """Set properties of an m2 image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image>",
                            help="UUID or name of the image.")
        _add_image_fields(parser, creating=False)
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        fields = {
            "name": parsed_args.name,
            "visibility": parsed_args.visibility,
            "shared_with": parsed_args.shared_with,
            "owner": parsed_args.owner,
        }
        ops = common.set_ops(fields, parsed_args.extra)
        if not ops:
            raise exceptions.CommandError("Nothing to set.")
        common.m2(self).update_image(parsed_args.image, ops)


class UnsetImage(command.Command):
    """Unset properties of an m2 image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image>",
                            help="UUID or name of the image.")
        parser.add_argument("--name", action="store_true",
                            help="Remove the image's name.")
        parser.add_argument("--owner", action="store_true",
                            help="Remove the image's owner.")
        parser.add_argument("--shared-with", action="store_true",
                            help="Share the image with no project.")
        parser.add_argument(
            "--extra", metavar="<key>", action="append",
            help="Remove this key of the extra data (repeat for more).",
        )
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        fields = [f for f in ("name", "owner", "shared_with")
                  if getattr(parsed_args, f)]
        ops = common.unset_ops(fields, parsed_args.extra)
        if not ops:
            raise exceptions.CommandError("Nothing to unset.")
        common.m2(self).update_image(parsed_args.image, ops)


class DeleteImage(command.Command):
    """Delete m2 images (refused while node disks are cloned from one)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("images", metavar="<image>", nargs="+",
                            help="UUIDs or names of the images.")
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        common.delete_all("image", parsed_args.images,
                          common.m2(self).delete_image)


class SnapshotNode(command.ShowOne):
    """Capture a deployed node's disk as a new m2 image (no copy)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "node", metavar="<node>",
            help="UUID or name of a node deployed with the m2 deploy "
            "interface.",
        )
        _add_image_fields(parser, creating=True)
        parser.add_argument(
            "--flatten",
            action="store_true",
            default=False,
            help="Detach the image from the node's disk in the background "
            "(extra.m2_flatten tells how it went).",
        )
        return parser

    @common.clean_errors
    def take_action(self, parsed_args):
        image = common.m2(self).snapshot_node(
            parsed_args.node, flatten=parsed_args.flatten,
            **_create_fields(parsed_args)
        )
        return common.show(image, FIELDS)
