"""Shared pieces of the m2 commands: output shaping, patches, errors."""

import functools
import json
import logging

from osc_lib.cli import format_columns
from osc_lib import exceptions

from m2client import client as m2_client

LOG = logging.getLogger(__name__)


def m2(command):
    """The m2 client of a command."""
    return command.app.client_manager.baremetal_m2


def clean_errors(method):
    """Turns m2's HTTP errors into CommandError carrying the faultstring.

    The openstack shell prints the message of a CommandError on stderr and
    exits with status 1, without a traceback (unless --debug).
    """

    @functools.wraps(method)
    def wrapper(self, parsed_args):
        try:
            return method(self, parsed_args)
        except (m2_client.ApiError, m2_client.WaitError) as e:
            raise exceptions.CommandError(str(e)) from e

    return wrapper


def formatted(value):
    """A value as the openstack formatters render it (tables and JSON)."""
    if isinstance(value, dict):
        return format_columns.DictColumn(value)
    if isinstance(value, list):
        return format_columns.ListColumn(value)
    return value


def show(resource, order):
    """(columns, values) of a resource for a ShowOne: the fields in ``order``
    first, then any other field the server added, without ``links``."""
    fields = [f for f in order if f in resource]
    fields += sorted(k for k in resource if k not in fields and k != "links")
    return tuple(fields), tuple(formatted(resource[f]) for f in fields)


def field_of(label):
    """The API field of a list column ("Node UUID" -> node_uuid)."""
    return label.lower().replace(" ", "_")


def rows(items, labels):
    """(labels, rows) of a Lister."""
    fields = [field_of(label) for label in labels]
    return labels, (
        tuple(formatted(item.get(f)) for f in fields) for item in items
    )


def add_list_options(parser, resource):
    parser.add_argument(
        "--limit",
        metavar="<limit>",
        type=int,
        help="At most this many %ss (default: all, page after page)."
        % resource,
    )
    parser.add_argument(
        "--marker",
        metavar="<uuid>",
        help="UUID of the last %s of the previous page." % resource,
    )
    parser.add_argument(
        "--sort",
        metavar="<key>[:<direction>]",
        help="Sort by a field, asc (default) or desc.",
    )
    parser.add_argument(
        "--long",
        action="store_true",
        default=False,
        help="Show every field.",
    )


def extra_value(text):
    """A --extra value: JSON when it parses as JSON, else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def set_ops(fields, extra=None):
    """Patch operations setting root fields and extra keys."""
    ops = [
        {"op": "add", "path": "/" + k, "value": v}
        for k, v in fields.items()
        if v is not None
    ]
    for key, value in (extra or {}).items():
        ops.append({
            "op": "add",
            "path": "/extra/" + m2_client.escape_pointer(key),
            "value": extra_value(value),
        })
    return ops


def unset_ops(fields, extra_keys=()):
    """Patch operations removing root fields and extra keys."""
    ops = [{"op": "remove", "path": "/" + f} for f in fields]
    ops += [
        {"op": "remove", "path": "/extra/" + m2_client.escape_pointer(k)}
        for k in extra_keys or ()
    ]
    return ops


def delete_all(kind, idents, delete):
    """Deletes each of ``idents``; one failure does not stop the others."""
    failures = []
    for ident in idents:
        try:
            delete(ident)
            print("Deleted %s %s" % (kind, ident))
        except m2_client.ApiError as e:
            if len(idents) > 1:
                LOG.error("Failed to delete %s %s: %s", kind, ident, e)
            failures.append((ident, e))
    if failures:
        if len(idents) == 1:
            raise exceptions.CommandError(str(failures[0][1]))
        raise exceptions.CommandError(
            "%d of %d %ss failed to delete."
            % (len(failures), len(idents), kind)
        )


def wait_option(parser, what):
    parser.add_argument(
        "--wait",
        type=int,
        dest="wait_timeout",
        default=None,
        metavar="<time-out>",
        const=0,
        nargs="?",
        help="Wait until %s, at most <time-out> seconds (0 or none: no "
        "limit)." % what,
    )
