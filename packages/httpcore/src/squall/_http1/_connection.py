"""`HTTP1Connection`: one HTTP/1.x message exchange over an `IOStream`.

On the server side a connection object serves one request: the
`HTTP1ServerConnection` reads the request's head, makes the connection and
hands it the head and its delegate; the connection delivers the body to the
delegate and writes the application's response.  On the client side the
application writes a request (`write_headers`, `write`, `finish`) and reads
the response with `read_response`.

Reading is event-driven, never a coroutine: the stream hands every received
chunk to the parser (`squall._http1.Parser`) and the connection pulls events
as far as it can, synchronously.  A request whose bytes are already buffered
and whose handler answers at once is read, dispatched and answered without
a Future or a Task.  A delegate method may return an awaitable instead of
None: no more events are pulled until it is done (flow control).

Writing: the head is serialized once (`_writer`); a body chunk passed to
``write_headers`` goes out in the same transport write, and a response
whose ``Content-Length`` is complete after it is finished without another
write.  When the length is unknown an HTTP/1.1 body is sent chunked (RFC
9112 §7.1); for an HTTP/1.0 peer the connection closes after the body
instead (RFC 9112 §6.3).

Errors: what the peer sends wrong becomes a response with the parser's
status and ``Connection: close`` (server) or an `HTTPInputError` (client);
what the application writes wrong raises `HTTPOutputError`; what a delegate
raises is logged to ``squall.application`` and closes the connection.
"""

from __future__ import annotations

from collections.abc import Callable

from squall._http1._conn_client import ClientSide
from squall._http1._conn_core import parser_limits
from squall._http1._conn_serving import ServerSide
from squall._http1._conn_writing import Writing
from squall._http1._params import HTTP1ConnectionParameters
from squall.iostream import IOStream

__all__ = ["HTTP1Connection", "parser_limits"]

_DEFAULT_PARAMS = HTTP1ConnectionParameters()


class HTTP1Connection(Writing, ServerSide, ClientSide):
    """Implements the HTTP/1.x protocol.

    This class can be on its own for clients, or via `HTTP1ServerConnection`
    for servers.

    :param stream: an `IOStream`
    :param is_client: client or server
    :param params: a `HTTP1ConnectionParameters` instance or None
    :param context: an opaque application-defined object that can be
        accessed as ``connection.context``.

    A server-side connection serves one request (`HTTP1ServerConnection`
    makes one per request); a client-side one writes one request and reads
    its response with `read_response`.
    """

    __module__ = "squall.http1connection"

    def __init__(
        self,
        stream: IOStream,
        is_client: bool,
        params: HTTP1ConnectionParameters | None = None,
        context: object = None,
    ) -> None:
        if params is None:
            params = _DEFAULT_PARAMS
        self.is_client = is_client
        self.stream = stream
        self.params = params
        self.context = context
        self.no_keep_alive = params.no_keep_alive
        self._max_body_size = params.max_body_size or stream.max_buffer_size
        self._body_timeout = params.body_timeout
        if is_client:
            self._loop = stream.io_loop.asyncio_loop
            self._parser = self._client_parser()

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Sets a callback that will be run when the connection is closed.

        Only until the response is finished: `finish` clears it.

        .. deprecated:: 4.0
            Use `.HTTPMessageDelegate.on_connection_close` instead.
        """
        self._close_callback = callback
        if callback is not None and self.stream.closed() and not self._detached:
            self._close_callback = None
            self.stream.io_loop.asyncio_loop.call_soon(callback)

    def detach(self) -> IOStream:
        """Take control of the underlying stream.

        Returns the underlying `IOStream` object and stops all further HTTP
        processing.  May only be called during
        `.HTTPMessageDelegate.headers_received` (or, on a server, right
        after finishing a ``101 Switching Protocols`` response).  Intended
        for implementing protocols like websockets that tunnel over an HTTP
        handshake.  Bytes received but not parsed as part of the message
        (e.g. the first frames of the new protocol) are put back into the
        stream's read buffer, where its read methods find them.
        """
        self._detached = True
        self._reading = False
        self._close_callback = None
        if self.is_client:
            assert self._deadline is not None
            self._deadline.cancel()
            self._release_stream()
            self._resolve(False)
        else:
            server = self._server
            assert server is not None
            server._detach(self)
        return self.stream

    def set_body_timeout(self, timeout: float) -> None:
        """Sets the body timeout for a single request.

        Overrides the value from `HTTP1ConnectionParameters`.
        """
        self._body_timeout = timeout

    def set_max_body_size(self, max_body_size: int) -> None:
        """Sets the body size limit for a single request.

        Overrides the value from `HTTP1ConnectionParameters`.
        """
        self._max_body_size = max_body_size
