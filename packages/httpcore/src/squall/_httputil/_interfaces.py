"""The interfaces between HTTP implementations and applications.

How a server uses them: for each request, `HTTPServerConnectionDelegate.
start_request` gets the request's `HTTPConnection` and returns an
`HTTPMessageDelegate`; the connection then calls the delegate's
`~HTTPMessageDelegate.headers_received`, `~HTTPMessageDelegate.data_received`
(any number of times) and `~HTTPMessageDelegate.finish`, or
`~HTTPMessageDelegate.on_connection_close` if the connection is lost first.
The application answers through the connection: `~HTTPConnection.
write_headers`, `~HTTPConnection.write`, `~HTTPConnection.finish`.  A
client uses the same `HTTPMessageDelegate` for the response it reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncio import Future

    from squall._httputil._headers import HTTPHeaders
    from squall._httputil._lines import RequestStartLine, ResponseStartLine

__all__ = ["HTTPConnection", "HTTPMessageDelegate", "HTTPServerConnectionDelegate"]


class HTTPServerConnectionDelegate:
    """Implement this interface to handle requests from `~squall.httpserver.HTTPServer`."""

    __module__ = "squall.httputil"

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        """This method is called by the server when a new request has started.

        :arg server_conn: is an opaque object representing the long-lived
            (e.g. tcp-level) connection.
        :arg request_conn: is a `HTTPConnection` object for a single
            request/response exchange.

        This method should return a `HTTPMessageDelegate`.
        """
        raise NotImplementedError()

    def on_close(self, server_conn: object) -> None:
        """This method is called when a connection has been closed.

        :arg server_conn: is a server connection that has previously been
            passed to ``start_request``.
        """


class HTTPMessageDelegate:
    """Implement this interface to handle an HTTP request or response.

    Every method does nothing by default.  An exception raised by one of
    them is logged by the connection, which then closes.
    """

    __module__ = "squall.httputil"

    def headers_received(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
    ) -> Awaitable[None] | None:
        """Called when the HTTP headers have been received and parsed.

        :arg start_line: a `RequestStartLine` or `ResponseStartLine`
            depending on whether this is a client or server message.
        :arg headers: a `HTTPHeaders` instance.

        Some `HTTPConnection` methods can only be called during
        ``headers_received``.

        May return a `~asyncio.Future` (any awaitable); if it does the body
        will not be read until it is done.
        """
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Called when a chunk of data has been received.

        May return an awaitable for flow control: no more data is delivered
        until it is done.
        """
        return None

    def finish(self) -> None:
        """Called after the last chunk of data has been received."""

    def on_connection_close(self) -> None:
        """Called if the connection is closed without finishing the request.

        If ``headers_received`` is called, either ``finish`` or
        ``on_connection_close`` will be called, but not both.
        """


class HTTPConnection:
    """Applications use this interface to write their responses.

    The Futures returned by the write methods are for flow control: they
    resolve when the data has been handed to the transport and writing may
    go on, and fail with `~squall.iostream.StreamClosedError` if the
    connection closed first.
    """

    __module__ = "squall.httputil"

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
        callback: Callable[[], object] | None = None,
    ) -> Future[None]:
        """Write an HTTP header block.

        :arg start_line: a `RequestStartLine` or `ResponseStartLine`.
        :arg headers: a `HTTPHeaders` instance.
        :arg chunk: the first (optional) chunk of data.  This is an
            optimization so that small responses can be written in the same
            call as their headers.
        :arg callback: deprecated (Tornado 4): run when the write is
            complete; await the returned Future instead.

        The ``version`` field of ``start_line`` is ignored.

        Returns a Future for flow control.

        :raises HTTPOutputError: if a header value contains CR or LF, or the
            headers contradict the message (see the implementation).
        """
        raise NotImplementedError()

    def write(self, chunk: bytes, callback: Callable[[], object] | None = None) -> Future[None]:
        """Writes a chunk of body data.

        ``callback`` is deprecated (Tornado 4): await the returned Future.

        Returns a Future for flow control.
        """
        raise NotImplementedError()

    def finish(self) -> None:
        """Indicates that the last body data has been written.

        :raises HTTPOutputError: if fewer body bytes were written than the
            ``Content-Length`` declared.
        """
        raise NotImplementedError()
