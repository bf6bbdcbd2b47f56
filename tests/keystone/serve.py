"""Serves Keystone's WSGI application on 127.0.0.1 for m2's tests.

Usage: python serve.py PORT (KEYSTONE_CONFIG names keystone.conf).
Keystone's configuration loader reads the process arguments, so they are
cleared before the application is built. Prints "listening on PORT" once
the socket is bound; runs until killed.
"""

import os
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature
        pass


def main():
    port = int(sys.argv[1])
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = os.environ["KEYSTONE_CONFIG"]
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi

    app = wsgi.initialize_public_application()
    server = make_server(
        "127.0.0.1", port, app, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
