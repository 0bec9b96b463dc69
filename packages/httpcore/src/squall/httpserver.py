"""A non-blocking, single-threaded HTTP server.

Typical applications have little direct interaction with the `HTTPServer`
class except to start a server at the beginning of the process (and even
that is often done indirectly via ``squall.web.Application.listen``).

A hello-world server with a plain callback::

    from squall.httpserver import HTTPServer
    from squall.httputil import HTTPHeaders, ResponseStartLine
    from squall.ioloop import IOLoop

    def handle(request):
        body = b"You requested " + request.uri.encode()
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        request.connection.finish()

    server = HTTPServer(handle)
    server.listen(8888)
    IOLoop.current().start()

The ``HTTPRequest`` class that used to live in this module has moved to
`squall.httputil.HTTPServerRequest`; the old name remains as a deprecated
alias.  Tornado 3's ``HTTPConnection(stream, address, request_callback,
no_keep_alive, xheaders, protocol)``, which served one stream with a
callback, is here too, deprecated (use `HTTPServer`).
"""

from __future__ import annotations

import warnings
from typing import Any

from squall._http1._server import HTTPServer
from squall.httputil import HTTPServerRequest

# HTTPRequest is not exported: importing it (not the module) warns.
__all__ = ["HTTPServer"]


def __getattr__(name: str) -> Any:
    if name == "HTTPConnection":
        from squall._http1._legacy_conn import HTTPConnection

        return HTTPConnection  # it warns when made
    if name == "HTTPRequest":
        warnings.warn(
            "squall.httpserver.HTTPRequest is deprecated; use squall.httputil.HTTPServerRequest",
            DeprecationWarning,
            stacklevel=2,
        )
        return HTTPServerRequest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
