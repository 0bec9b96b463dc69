"""Tornado 3's ``httpserver.HTTPConnection``: one connection served with a callback (deprecated).

Tornado 3 applications built this object themselves in a `TCPServer`'s
``handle_stream`` and wrote raw responses through it.  It is kept as a thin
layer over `HTTPServer`'s machinery: the same parser, limits and keep-alive
rules serve the stream.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from squall._http1._server import HTTPServer
from squall.concurrent import Future
from squall.httputil import HTTPConnection as _RequestConnection
from squall.httputil import HTTPMessageDelegate
from squall.iostream import IOStream

__all__ = ["HTTPConnection"]


class _OneStreamServer(HTTPServer):
    """An `HTTPServer` that never listens: it serves the one stream it is given."""

    _legacy: HTTPConnection

    def start_request(
        self, server_conn: object, request_conn: _RequestConnection
    ) -> HTTPMessageDelegate:
        self._legacy._current = request_conn
        return super().start_request(server_conn, request_conn)

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        callback, self._legacy._close_callback = self._legacy._close_callback, None
        if callback is not None:
            callback()


class HTTPConnection:
    """Handles a connection to an HTTP client, executing HTTP requests (deprecated).

    Parses requests from `stream` and runs ``request_callback`` with each
    `HTTPServerRequest` until the connection closes.  Use `HTTPServer`
    (and its ``handle_stream``) instead.
    """

    __module__ = "squall.httpserver"

    def __init__(
        self,
        stream: IOStream,
        address: Any,
        request_callback: Callable[..., Any],
        no_keep_alive: bool = False,
        xheaders: bool = False,
        protocol: str | None = None,
    ) -> None:
        warnings.warn(
            "squall.httpserver.HTTPConnection is deprecated; use HTTPServer",
            DeprecationWarning,
            stacklevel=2,
        )
        self.stream = stream
        self.address = address
        self.request_callback = request_callback
        self.no_keep_alive = no_keep_alive
        self.xheaders = xheaders
        self._current: _RequestConnection | None = None
        self._close_callback: Callable[[], object] | None = None
        server = _OneStreamServer(
            request_callback, no_keep_alive=no_keep_alive, xheaders=xheaders, protocol=protocol
        )
        server._legacy = self
        server.handle_stream(stream, address)

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Run `callback` (no arguments) once the connection is closed."""
        self._close_callback = callback

    def write(self, chunk: bytes, callback: Callable[[], object] | None = None) -> Future[None]:
        """Write a chunk of output (the raw response, head included) for the current request."""
        connection = self._request_connection()
        with warnings.catch_warnings():
            # The raw write's own warning repeats this class's.
            warnings.simplefilter("ignore", DeprecationWarning)
            return connection.write(chunk, callback)

    def finish(self) -> None:
        """Finish the current request."""
        self._request_connection().finish()

    def _request_connection(self) -> _RequestConnection:
        if self._current is None:
            raise RuntimeError("HTTPConnection has no request being served")
        return self._current
