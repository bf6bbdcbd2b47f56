"""A small REST client for m2's own resources, over a keystoneauth1 session.

Every request carries ``X-OpenStack-Ironic-API-Version``; m2's resources are
served at every microversion, and node names in paths need 1.5 or later.
Errors are raised as :class:`ApiError` carrying the ``faultstring`` of
Ironic's error body (a JSON document inside a JSON string).
"""

import json
import time
from urllib.parse import quote

from keystoneauth1 import adapter as ks_adapter

from m2client import __version__

SERVICE_TYPE = "baremetal"
VERSION_HEADER = "X-OpenStack-Ironic-API-Version"
DEFAULT_MICROVERSION = "latest"

# Provision states a node settles in after a failed operation.
FAILED_STATES = frozenset(
    {
        "error",
        "deploy failed",
        "clean failed",
        "inspect failed",
        "rescue failed",
        "unrescue failed",
        "adopt failed",
    }
)


class ApiError(Exception):
    """An HTTP error answered by m2."""

    def __init__(self, status, message, request_id=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.request_id = request_id

    def __str__(self):
        return "%s (HTTP %d)" % (self.message, self.status)


class WaitError(Exception):
    """A node did not reach the state waited for."""


def fault_message(resp):
    """The human message of an error response.

    Ironic's body is ``{"error_message": "<JSON document>"}`` whose document
    holds ``faultstring`` (handler errors) or ``description``/``title``
    (routing errors). Anything else is returned as text.
    """
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error_message" in body:
        inner = body["error_message"]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                return inner.strip() or _reason(resp)
        if isinstance(inner, dict):
            for key in ("faultstring", "description", "title"):
                value = inner.get(key)
                if value:
                    return str(value)
    text = (resp.text or "").strip()
    return text or _reason(resp)


def _reason(resp):
    return resp.reason or "HTTP %d" % resp.status_code


def _path(*parts):
    return "/v1/" + "/".join(quote(str(p), safe="") for p in parts)


def base_endpoint(url):
    """The API root: the service catalog may name it with or without /v1."""
    url = url.rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def escape_pointer(key):
    """A key as one JSON pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


class Client:
    """m2's images, volumes and node operations.

    :param session: a keystoneauth1 session (authentication, TLS).
    :param endpoint: the API root, e.g. ``http://127.0.0.1:6385``.
    :param microversion: the value of ``X-OpenStack-Ironic-API-Version``.
    """

    def __init__(
        self,
        session,
        endpoint,
        microversion=DEFAULT_MICROVERSION,
        region_name=None,
        interface=None,
        chunk_size=1 << 20,
    ):
        self.endpoint = base_endpoint(endpoint)
        self.microversion = microversion or DEFAULT_MICROVERSION
        self.chunk_size = chunk_size
        self._http = ks_adapter.Adapter(
            session,
            service_type=SERVICE_TYPE,
            region_name=region_name,
            interface=interface,
            endpoint_override=self.endpoint,
            additional_headers={VERSION_HEADER: self.microversion},
            client_name="python-m2client",
            client_version=__version__,
        )

    # ------------------------------------------------------------------
    # HTTP
    # ------------------------------------------------------------------
    def request(self, method, path, body=None, **kwargs):
        """One request; an answer of 400 or more raises :class:`ApiError`."""
        headers = kwargs.pop("headers", {})
        headers.setdefault("Accept", "application/json")
        if body is not None:
            kwargs["json"] = body
        resp = self._http.request(
            path, method, headers=headers, raise_exc=False, **kwargs
        )
        if resp.status_code >= 400:
            message = fault_message(resp)
            resp.close()
            raise ApiError(
                resp.status_code,
                message,
                resp.headers.get("x-openstack-request-id"),
            )
        return resp

    def _json(self, method, path, body=None, **kwargs):
        resp = self.request(method, path, body=body, **kwargs)
        if not resp.content:
            return None
        return resp.json()

    def _list(self, collection, filters, limit=None, marker=None, sort=None):
        """Every item of a collection, page after page (``limit`` caps)."""
        params = {k: v for k, v in (filters or {}).items() if v is not None}
        if sort:
            key, _, direction = sort.partition(":")
            params["sort_key"] = key
            if direction:
                params["sort_dir"] = direction
        items = []
        while True:
            page = dict(params)
            if limit:
                page["limit"] = limit - len(items)
            if marker:
                page["marker"] = marker
            body = self._json("GET", _path(collection), params=page)
            got = body.get(collection, [])
            items.extend(got)
            if not got or not body.get("next"):
                break
            if limit and len(items) >= limit:
                break
            marker = got[-1]["uuid"]
        return items[:limit] if limit else items

    # ------------------------------------------------------------------
    # Images
    # ------------------------------------------------------------------
    def list_images(self, limit=None, marker=None, sort=None, **filters):
        return self._list("images", filters, limit, marker, sort)

    def get_image(self, image):
        return self._json("GET", _path("images", image))

    def create_image(self, **fields):
        return self._json("POST", _path("images"), fields)

    def snapshot_node(self, node, flatten=False, **fields):
        fields["node"] = node
        if flatten:
            fields["flatten"] = True
        return self.create_image(**fields)

    def update_image(self, image, patch):
        return self._json("PATCH", _path("images", image), patch)

    def delete_image(self, image):
        self.request("DELETE", _path("images", image))

    def upload_image(self, image, chunks):
        """Streams ``chunks`` (an iterable of bytes) as the image's data.

        The body goes out with chunked transfer encoding as it is read.
        """
        return self._json(
            "PUT",
            _path("images", image, "file"),
            data=chunks,
            headers={"Content-Type": "application/octet-stream"},
        )

    def download_image(self, image):
        """The streamed response of the image's data (``iter_content``)."""
        return self.request(
            "GET",
            _path("images", image, "file"),
            headers={"Accept": "application/octet-stream"},
            stream=True,
        )

    # ------------------------------------------------------------------
    # Volumes
    # ------------------------------------------------------------------
    def list_volumes(self, limit=None, marker=None, sort=None, **filters):
        return self._list("volumes", filters, limit, marker, sort)

    def get_volume(self, volume):
        return self._json("GET", _path("volumes", volume))

    def create_volume(self, rbd, **fields):
        fields["rbd"] = rbd
        return self._json("POST", _path("volumes"), fields)

    def update_volume(self, volume, patch):
        return self._json("PATCH", _path("volumes", volume), patch)

    def delete_volume(self, volume):
        self.request("DELETE", _path("volumes", volume))

    # ------------------------------------------------------------------
    # Nodes
    # ------------------------------------------------------------------
    def get_node(self, node):
        return self._json("GET", _path("nodes", node))

    def update_node(self, node, patch):
        return self._json("PATCH", _path("nodes", node), patch)

    def set_provision_state(self, node, target, **extra):
        body = {"target": target}
        body.update({k: v for k, v in extra.items() if v is not None})
        self.request(
            "PUT", _path("nodes", node, "states", "provision"), body
        )

    def recover_node(self, node, spare):
        self.request(
            "POST", _path("nodes", node, "recover"), {"spare": spare}
        )

    def wait_for_provision_state(
        self, node, state, timeout=0, poll_interval=1.0, sleep=time.sleep
    ):
        """Polls until the node settles in ``state``; returns the node.

        ``timeout`` 0 waits forever. Raises :class:`WaitError` when the node
        settles in a failed state or the time runs out.
        """
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            n = self.get_node(node)
            current = n.get("provision_state")
            settled = not n.get("target_provision_state")
            if settled and current == state:
                return n
            if settled and current in FAILED_STATES and current != state:
                raise WaitError(
                    "Node %s ended in provision state %r instead of %r: %s"
                    % (n.get("uuid", node), current, state,
                       n.get("last_error") or "no error recorded")
                )
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitError(
                    "Node %s did not reach provision state %r within %s s "
                    "(now %r)" % (n.get("uuid", node), state, timeout, current)
                )
            sleep(poll_interval)
