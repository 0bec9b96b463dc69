"""`HTTPServer`: a `TCPServer` that serves HTTP/1.x on each connection it accepts."""

from __future__ import annotations

import asyncio
import functools
import ssl
import types
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from squall._http1._params import HTTP1ConnectionParameters
from squall._http1._server_conn import HTTP1ServerConnection
from squall._http1._xheaders import HTTPRequestContext, ProxyAdapter
from squall.gen import convert_yielded
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.iostream import IOStream
from squall.log import app_log
from squall.tcpserver import TCPServer
from squall.util import Configurable

__all__ = ["HTTPServer"]

#: How long a keep-alive connection may wait for its next request when the
#: server is not told (Tornado's default).
DEFAULT_IDLE_CONNECTION_TIMEOUT = 3600.0

#: How long a client may take to send a request head once it has started
#: (nginx's ``client_header_timeout`` default): a slow client cannot hold a
#: connection by trickling header bytes.
DEFAULT_HEADER_TIMEOUT = 60.0

_RequestCallback = Callable[[HTTPServerRequest], object]


class HTTPServer(TCPServer, Configurable, HTTPServerConnectionDelegate):
    r"""A non-blocking, single-threaded HTTP server.

    A server is defined by a subclass of `.HTTPServerConnectionDelegate`,
    or, for backwards compatibility, a callback that takes an
    `.HTTPServerRequest` as an argument.  The delegate is usually a
    ``squall.web.Application``.  A callback answers through
    ``request.connection`` (``write_headers``, ``write``, ``finish``); it
    may be a coroutine function (its exceptions are logged and close the
    connection)::

        def handle(request):
            body = b"Hello"
            request.connection.write_headers(
                ResponseStartLine("HTTP/1.1", 200, "OK"),
                HTTPHeaders({"Content-Length": str(len(body))}),
                body,
            )
            request.connection.finish()

        server = HTTPServer(handle)
        server.listen(8888)

    `HTTPServer` supports keep-alive connections by default (automatically
    for HTTP/1.1, or for HTTP/1.0 when the client requests
    ``Connection: keep-alive``).

    If ``xheaders`` is ``True``, we support the ``X-Real-Ip``/``X-Forwarded-For``
    and ``X-Scheme``/``X-Forwarded-Proto`` headers, which override the
    remote IP and URI scheme/protocol for all requests.  These headers are
    useful when running behind a reverse proxy or load balancer.  The
    ``protocol`` argument can also be set to ``https`` if the server runs
    behind an SSL-decoding proxy that does not set one of the supported
    ``xheaders``.

    By default, when parsing the ``X-Forwarded-For`` header, the last (i.e.,
    the closest) address on the list of hosts is taken as the remote host IP
    address.  To select the next server in the chain, a list of trusted
    downstream hosts may be passed as the ``trusted_downstream`` argument.
    These hosts will be skipped when parsing the ``X-Forwarded-For`` header.

    To make this server serve SSL traffic, send the ``ssl_options`` keyword
    argument with an `ssl.SSLContext` object (or a dictionary of keyword
    arguments for ``ssl.wrap_socket``)::

        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(os.path.join(data_dir, "mydomain.crt"),
                                os.path.join(data_dir, "mydomain.key"))
        HTTPServer(application, ssl_options=ssl_ctx)

    `HTTPServer` initialization follows one of three patterns (the
    initialization methods are defined on `squall.tcpserver.TCPServer`):
    ``listen`` (single process), ``bind`` + ``start(n)`` (forks ``n``
    processes), ``add_sockets`` (with `squall.process.fork_processes`).

    The other arguments: ``no_keep_alive`` (close after every response),
    ``decompress_request`` (decode ``Content-Encoding: gzip`` request
    bodies), ``chunk_size`` (largest piece of body handed to the
    application), ``max_header_size`` (431 beyond it), ``max_body_size``
    (413 beyond it; default ``max_buffer_size``, 100 MiB),
    ``idle_connection_timeout`` (seconds a keep-alive connection may wait
    for its next request, default 3600), ``body_timeout`` (seconds to
    receive a request body, default unlimited), ``max_buffer_size``.  The
    squall extension ``header_timeout`` bounds the time from the first
    byte of a request head to its end (default: the smaller of
    ``idle_connection_timeout`` and 60 seconds).  The deprecated ``io_loop``
    argument (also Tornado 4's third positional argument) is ignored.

    Malformed requests are answered with 400, 414, 431, 501 or 505 (oversized
    bodies with 413, timeouts with 408) and ``Connection: close``; only
    that connection closes.
    """

    __module__ = "squall.httpserver"

    request_callback: HTTPServerConnectionDelegate | _RequestCallback
    conn_params: HTTP1ConnectionParameters

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Configurable.__new__ already called initialize(); Python then calls
        # __init__ with the same arguments, which must not reach TCPServer.
        pass

    def initialize(
        self,
        request_callback: HTTPServerConnectionDelegate | _RequestCallback,
        no_keep_alive: bool = False,
        xheaders: bool = False,
        ssl_options: Mapping[str, Any] | ssl.SSLContext | None = None,
        protocol: str | None = None,
        decompress_request: bool = False,
        chunk_size: int | None = None,
        max_header_size: int | None = None,
        idle_connection_timeout: float | None = None,
        body_timeout: float | None = None,
        max_body_size: int | None = None,
        max_buffer_size: int | None = None,
        trusted_downstream: Iterable[str] | None = None,
        io_loop: IOLoop | None = None,
        header_timeout: float | None = None,
    ) -> None:
        first: object = xheaders
        if isinstance(first, IOLoop):
            # Tornado 4's positional order: (callback, no_keep_alive,
            # io_loop, xheaders, ssl_options, protocol, ...).
            io_loop = first
            shifted: tuple[Any, ...] = (
                ssl_options,
                protocol,
                decompress_request,
                chunk_size,
                max_header_size,
                idle_connection_timeout,
                body_timeout,
                max_body_size,
                max_buffer_size,
                trusted_downstream,
            )
            (
                xheaders,
                ssl_options,
                protocol,
                decompress_request,
                chunk_size,
                max_header_size,
                idle_connection_timeout,
                body_timeout,
                max_body_size,
                max_buffer_size,
            ) = shifted
            trusted_downstream = None
        if io_loop is not None:
            warnings.warn(
                "The io_loop argument of HTTPServer is deprecated; the current IOLoop is used",
                DeprecationWarning,
                stacklevel=3,
            )
        self.request_callback = request_callback
        self.xheaders = xheaders
        self.protocol = protocol
        idle = idle_connection_timeout or DEFAULT_IDLE_CONNECTION_TIMEOUT
        if header_timeout is None:
            header_timeout = min(idle, DEFAULT_HEADER_TIMEOUT)
        self.conn_params = HTTP1ConnectionParameters(
            decompress=decompress_request,
            chunk_size=chunk_size,
            max_header_size=max_header_size,
            header_timeout=header_timeout,
            max_body_size=max_body_size,
            body_timeout=body_timeout,
            no_keep_alive=no_keep_alive,
            idle_timeout=idle,
        )
        TCPServer.__init__(
            self,
            ssl_options=ssl_options,
            max_buffer_size=max_buffer_size,
            read_chunk_size=chunk_size,
        )
        self._connections: set[HTTP1ServerConnection] = set()
        self.trusted_downstream = trusted_downstream
        start_request = getattr(request_callback, "start_request", None)
        self._delegate_start_request: Callable[..., HTTPMessageDelegate] | None = (
            start_request
            if isinstance(request_callback, HTTPServerConnectionDelegate)
            or (start_request is not None and not isinstance(request_callback, types.FunctionType))
            else None
        )

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return HTTPServer

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return HTTPServer

    async def close_all_connections(self) -> None:
        """Close all open connections and asynchronously wait for them to finish.

        This method is used in combination with `~.TCPServer.stop` to
        support clean shutdowns (especially for unittests).  Typical usage
        would call ``stop()`` first to stop accepting new connections, then
        ``await close_all_connections()`` to wait for existing connections
        to finish.  Requests being served are cut short (their delegates'
        ``on_connection_close`` is called).

        This method does not close connections that have been detached
        (e.g. websockets).
        """
        while self._connections:
            # Each close removes the connection from the set (on_close).
            conn = next(iter(self._connections))
            self._connections.discard(conn)
            await conn.close()

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        context = HTTPRequestContext(stream, address, self.protocol, self.trusted_downstream)
        conn = HTTP1ServerConnection(stream, self.conn_params, context)
        self._connections.add(conn)
        conn.start_serving(self)

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        start_request = self._delegate_start_request
        if start_request is not None:
            delegate = start_request(server_conn, request_conn)
            # The application's delegate has seen this connection: it gets
            # the connection's on_close too.
            if isinstance(server_conn, HTTP1ServerConnection):
                server_conn._app_saw = True
        else:
            delegate = _CallableAdapter(self.request_callback, request_conn, server_conn)  # type: ignore[arg-type]
        if self.xheaders:
            delegate = ProxyAdapter(delegate, request_conn)
        return delegate

    def _plain_callback(
        self,
    ) -> tuple[_RequestCallback, Callable[[object, HTTPServerRequest], None]] | None:
        """The request callback and its result's watcher, when `start_request` serves it plainly.

        What `HTTP1ServerConnection` uses to serve a request without a body
        without the `_CallableAdapter` round trip (the same calls, in the
        same order); None when `start_request` would do more (a delegate,
        ``xheaders``, a subclass's own ``start_request``).
        """
        if (
            self._delegate_start_request is not None
            or self.xheaders
            or type(self).start_request is not HTTPServer.start_request
        ):
            return None
        return self.request_callback, _watch  # type: ignore[return-value]

    def on_close(self, server_conn: object) -> None:
        if isinstance(server_conn, HTTP1ServerConnection):
            self._connections.discard(server_conn)
        callback = self.request_callback
        if getattr(server_conn, "_app_saw", False) and isinstance(
            callback, HTTPServerConnectionDelegate
        ):
            callback.on_close(server_conn)


class _CallableAdapter(HTTPMessageDelegate):
    """Serves a request with a plain callback: it gets the `HTTPServerRequest`, body and all."""

    __slots__ = ("_chunks", "connection", "request", "request_callback", "server_connection")

    def __init__(
        self,
        request_callback: _RequestCallback,
        request_conn: HTTPConnection,
        server_conn: object,
    ) -> None:
        self.connection = request_conn
        self.request_callback = request_callback
        self.server_connection = server_conn
        self.request: HTTPServerRequest | None = None
        self._chunks: list[bytes] = []

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        self.request = HTTPServerRequest(
            connection=self.connection,
            start_line=start_line,  # type: ignore[arg-type]
            headers=headers,
            server_connection=self.server_connection,
        )
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self._chunks.append(chunk)
        return None

    def finish(self) -> None:
        request = self.request
        assert request is not None
        chunks = self._chunks
        if chunks:
            request.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            request._parse_body()
        self._chunks = []
        result = self.request_callback(request)
        if result is not None:
            _watch(result, request)

    def on_connection_close(self) -> None:
        self._chunks = []


# Coroutine callbacks still running: asyncio keeps only weak references to
# tasks, and one waiting on something slow must not be collected mid-await.
_running: set[asyncio.Future[Any]] = set()


def _watch(result: object, request: HTTPServerRequest) -> None:
    """Run a coroutine callback's result; log what it raises and close its connection."""
    try:
        future = convert_yielded(result)
    except Exception:
        return  # not awaitable: a callback may return anything
    if future.done():
        _callback_done(request, future)
        return
    _running.add(future)
    future.add_done_callback(functools.partial(_callback_done, request))


def _callback_done(request: HTTPServerRequest, future: asyncio.Future[Any]) -> None:
    _running.discard(future)
    if future.cancelled():
        return
    exc = future.exception()
    if exc is None:
        return
    app_log.error(
        "Uncaught exception in request callback for %r",
        request,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    connection = request.connection
    stream = getattr(connection, "stream", None)
    if stream is not None:
        stream.close()
