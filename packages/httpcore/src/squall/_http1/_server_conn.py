"""`HTTP1ServerConnection`: the request loop of one server-side connection.

The stream feeds every received chunk to the connection's parser
(``stream._start_feeding``); the connection pulls request heads from it,
makes an `HTTP1Connection` per request and lets it deliver the body and
write the response.  Once a response is sent and its request read, the
next request is taken from what is already buffered (pipelining) in the
same call, or the connection waits for more data, or closes.

Bounds (DESIGN.md §5), all enforced here or by the parser:

- heads: ``max_header_size`` (431), request line (414), the parser's other
  rules (400, 501, 505), each answered with ``Connection: close``;
- time: one lazily re-armed timer per connection (`Deadline`) carries the
  idle, head and body deadlines in turn, so no timer is created per
  request; a head or body timeout is answered with 408;
- memory: while the application is busy with a request, received data
  waits in the parser; beyond a bound, reading pauses (TCP pushes back on
  the client) until the connection pulls events again.

After an error response the connection does not close at once ("lingering
close"): it half-closes (the client sees the end of the response) and reads
and discards what the client is still sending, for a moment (bounded in
time and bytes), because closing a socket with unread data makes the kernel
reset the connection, and the reset can destroy the response before the
client reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import squall._http1 as _http1_pkg
from squall._http1._conn_core import _IDLE, ConnectionCore, parser_limits
from squall._http1._connection import HTTP1Connection
from squall._http1._deadline import Deadline
from squall._http1._events import ParseError, ParserProtocol, RequestHead
from squall._http1._params import HTTP1ConnectionParameters
from squall._http1._writer import error_response
from squall.httputil import HTTPServerConnectionDelegate, HTTPServerRequest
from squall.iostream import IOStream, StreamClosedError
from squall.log import app_log, gen_log

__all__ = ["HTTP1ServerConnection"]

_new_object = object.__new__
_for_server = HTTPServerRequest._for_server

#: Unparsed data a connection holds while the application is busy before it
#: stops reading (at least ``chunk_size``): enough for a burst of pipelined
#: requests, small enough that a thousand connections cost little.
_PAUSE_AT = 64 * 1024

#: What serving a request sets on its HTTP1Connection on the usual path
#: (see ``_conn_state``).
_PER_REQUEST_FIELDS = (
    "_request_head",
    "_head_delivered",
    "_read_finished",
    "_write_state",
    "_remaining",
    "_last_write",
    "_close_callback",
    "_write_flushed",
    "_done",
)

#: After an error response, how long to keep reading (and discarding) what
#: the client still sends, and how much of it, before closing.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1024 * 1024

#: Longest slice of a parse error's message that is logged (the message may
#: quote the peer's input; DESIGN.md §5).
_MAX_LOGGED = 200


class HTTP1ServerConnection:
    """An HTTP/1.x server.

    :param stream: an `IOStream`
    :param params: a `HTTP1ConnectionParameters` or None
    :param context: an opaque application-defined object that is accessible
        as ``connection.context``
    """

    __module__ = "squall.http1connection"

    _loop: asyncio.AbstractEventLoop
    _parser: ParserProtocol
    _deadline: Deadline
    _delegate: HTTPServerConnectionDelegate

    def __init__(
        self,
        stream: IOStream,
        params: HTTP1ConnectionParameters | None = None,
        context: object = None,
    ) -> None:
        self.stream = stream
        self.params = params if params is not None else HTTP1ConnectionParameters()
        self.context = context
        self._conn: HTTP1Connection | None = None  # the request being served
        self._started = False
        self._closed = False
        self._detached = False
        self._driving = False  # inside the request loop (no re-entry)
        self._paused = False
        self._eof = False
        self._head_started = False  # bytes of the next head have arrived
        self._discarded = 0
        self._reported = False  # the delegate's on_close was called
        self._linger_timer: asyncio.TimerHandle | None = None
        self._app_saw = False  # HTTPServer: its application's delegate started a request

    def start_serving(self, delegate: HTTPServerConnectionDelegate) -> None:
        """Starts serving requests on this connection.

        :param delegate: a `.HTTPServerConnectionDelegate`; its
            ``start_request`` is called when a request's head has arrived,
            and its ``on_close`` once this connection is closed or detached.
        """
        params = self.params
        stream = self.stream
        self._started = True
        self._delegate = delegate
        self._loop = stream.io_loop.asyncio_loop
        self._parser = _http1_pkg.Parser(client=False, limits=parser_limits(params))
        idle = params.idle_timeout
        # With an idle timeout of its own, the header timeout starts with
        # the head's first byte; otherwise it covers the wait for it too.
        self._separate_head_timeout = idle is not None and params.header_timeout is not None
        self._idle_timeout = idle if idle is not None else params.header_timeout
        self._pause_at = max(params.chunk_size, _PAUSE_AT)
        self._deadline = Deadline(self._loop, self._on_timeout)
        # The state every request's HTTP1Connection starts with (what its
        # __init__ and _serve_request would set), copied in one call.  The
        # per-message fields every request sets are in it too, at their
        # class defaults: the copy is then the instance's whole dict, which
        # never has to grow (half the cost of filling a smaller one).
        self._conn_state: dict[str, object] = {
            "is_client": False,
            "stream": stream,
            "params": params,
            "context": self.context,
            "no_keep_alive": params.no_keep_alive,
            "_max_body_size": params.max_body_size or stream.max_buffer_size,
            "_body_timeout": params.body_timeout,
            "_server": self,
            "_parser": self._parser,
            **{name: getattr(HTTP1Connection, name) for name in _PER_REQUEST_FIELDS},
        }
        self._plain_state = {**self._conn_state, "_head_delivered": True, "_read_finished": True}
        # HTTPServer with a plain callback: bodiless requests skip the
        # delegate round trip (see _serve).
        plain = getattr(delegate, "_plain_callback", None)
        served = plain() if plain is not None and not params.decompress else None
        # The peer, as every request of the connection tells it (the plain
        # path has no xheaders to change it per request).
        remote_ip, protocol = HTTPServerRequest._from_context(self, None, None)
        self._remote_ip = remote_ip
        self._protocol = protocol or "http"
        self._plain: Callable[[HTTPServerRequest], object] | None = None
        self._watch: Callable[[object, HTTPServerRequest], None] | None = None
        if served is not None:
            self._plain, self._watch = served
        if self._idle_timeout is not None:
            self._deadline.set_in(self._idle_timeout)
        stream.set_close_callback(self._on_stream_close)
        stream._start_feeding(self._on_data)

    def close(self) -> asyncio.Future[None]:
        """Closes the connection.

        Returns a Future that resolves after the serving loop has exited
        (at once: the request being served, if any, is told with its
        delegate's ``on_connection_close``).  After `detach` the stream
        belongs to someone else and is left open.
        """
        if not self._detached:
            self.stream.close()
        self._on_stream_close()
        future: asyncio.Future[None] = self.stream.io_loop.asyncio_loop.create_future()
        future.set_result(None)
        return future

    # ------------------------------------------------------------------
    # The request loop
    # ------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        """The stream's sink: `data` was received (b"": the peer's EOF)."""
        parser = self._parser
        parser.receive(data)
        conn = self._conn
        if not data:
            self._eof = True
            if conn is not None and conn._read_finished and not parser.buffered:
                # The client closed while its request is being handled (and
                # sent nothing more): it is gone, as far as HTTP can tell
                # (RFC 9112 §9.6); tell the application (long polls...).
                self.close()
                return
        if conn is None:
            self._serve()
        elif conn._reading:
            self._run(conn._pump)
        elif not self._paused and parser.buffered > self._pause_at:
            # The application is busy with a request: stop reading until
            # it is done (pipelined requests, or a body it is slow to take).
            self._paused = True
            self.stream._pause_feeding()

    def _serve(self) -> None:
        """Serve the buffered requests, as far as the data goes."""
        if self._driving or self._closed:
            return
        if self._paused:
            self._paused = False
            self.stream._resume_feeding()
        self._driving = True
        parser = self._parser
        plain = self._plain
        try:
            while True:
                try:
                    head = parser.next_event()
                except ParseError as exc:
                    self._reject(exc.status, exc)
                    break
                if head is None:
                    if self._separate_head_timeout and not self._head_started and parser.buffered:
                        # Part of a head is here: from now on the header
                        # timeout runs.
                        self._head_started = True
                        self._deadline.set_in(self.params.header_timeout)
                    break
                if type(head) is not RequestHead:
                    # EOF between requests: the client is done.
                    self.close()
                    break
                # Start serving the request (inline: once per request).
                self._head_started = False
                self._deadline.at = None
                # HTTP1Connection(self.stream, False, self.params, self.context),
                # without running __init__'s Python code per request.
                conn: HTTP1Connection = _new_object(HTTP1Connection)
                if plain is None or head.content_length or head.chunked:
                    conn.__dict__ = self._conn_state.copy()
                    self._conn = conn
                    self._start_request(conn, head)
                else:
                    # A request without a body for HTTPServer's plain
                    # callback: what its start_request adapter and
                    # HTTP1Connection would do (build the request at the
                    # head, call the callback at the end of the message,
                    # which comes at once), in one place.  The parser skips
                    # the EndOfMessage at start_next_message.
                    conn.__dict__ = self._plain_state.copy()  # the head read
                    conn._request_head = head
                    self._conn = conn
                    request = _for_server(
                        conn,
                        head.method,
                        head.target,
                        head.version,
                        head.headers,
                        self,
                        self._remote_ip,
                        self._protocol,
                    )
                    try:
                        result = plain(request)
                    except Exception as exc:
                        conn._delegate_failed(exc)
                    else:
                        # Its finish() has ended the request, or will.
                        if result is not None:
                            assert self._watch is not None
                            self._watch(result, request)
                # (mypy keeps self._conn narrowed across the calls above.)
                if self._closed or self._conn is not None:
                    break
                if not parser.buffered and not self._eof:  # type: ignore[unreachable]
                    break  # served what was here (the usual case)
        finally:
            self._driving = False

    def _start_request(self, conn: HTTP1Connection, head: RequestHead) -> None:
        """Serve the request whose `head` has arrived on `conn` through the delegate."""
        try:
            delegate = self._delegate.start_request(self, conn)
        except Exception:
            app_log.error("Uncaught exception in start_request (%s)", self.context, exc_info=True)
            self.close()
            return
        conn._serve_request(self, delegate, head)

    def _run(self, function: Callable[..., None], *args: Any) -> None:
        """Run `function` (a step of the current request) inside the request loop."""
        if self._closed:
            return
        if self._driving:
            function(*args)
            return
        if self._paused:
            self._paused = False
            self.stream._resume_feeding()
        self._driving = True
        try:
            function(*args)
        finally:
            self._driving = False
        if self._conn is None and not self._closed:
            self._serve()

    def _request_done(self, conn: ConnectionCore) -> None:
        """`conn`'s request has been read and its response sent."""
        if conn is not self._conn or self._closed:
            return
        if conn._switching:
            # 101 Switching Protocols: the stream is the new protocol's once
            # the application detaches it; nothing more is parsed as HTTP.
            self._deadline.set_in(self._idle_timeout)
            return
        if conn._disconnect_on_finish:
            if conn._abandoned or self._parser.buffered:
                self._linger()
            else:
                self.close()
            return
        self._conn = None
        self._parser.start_next_message()
        idle = self._idle_timeout
        if idle is not None:
            deadline = self._deadline
            at = deadline.clock() + idle
            armed_at = deadline.armed_at
            if armed_at is not None and armed_at <= at:
                deadline.at = at  # the armed timer re-arms itself for it
            else:
                deadline.set(at)
        if not self._driving:
            self._serve()

    # ------------------------------------------------------------------
    # Failures, timeouts, the end
    # ------------------------------------------------------------------

    def _reject(self, status: int, error: object, *, answer: bool = True) -> None:
        """The request cannot be served: answer `status` (if `answer`) and close."""
        if self._closed:
            return
        message = str(error)
        if len(message) > _MAX_LOGGED:
            message = message[:_MAX_LOGGED] + "..."
        # A client that closed in the middle of a request is not news.
        log = gen_log.debug if self._eof else gen_log.info
        log("Bad HTTP request from %s (%d): %s", self.context, status, message)
        if answer:
            try:
                self.stream.write(error_response(status))
            except StreamClosedError:
                pass
        self._linger()

    def _on_timeout(self) -> None:
        if self._closed:
            return
        conn = self._conn
        if conn is None:
            if self._head_started or self._parser.buffered:
                self._reject(408, "timed out reading the request head")
            else:
                gen_log.debug("Closing idle connection from %s", self.context)
                self.close()
        elif not conn._read_finished and not conn._abandoned:
            self._reject(
                408, "timed out reading the request body", answer=conn._write_state == _IDLE
            )
        else:
            # The response does not drain, or a 101 was never detached.
            gen_log.debug("Timed out writing to %s", self.context)
            self.close()

    def _linger(self) -> None:
        """End serving, but read and discard what the client still sends before closing."""
        stream = self.stream
        paused = self._paused
        if not self._stop_serving() or stream.closed():
            return
        if self._eof:
            self.close()
            return
        if paused:
            stream._resume_feeding()
        # Half-close (after what is buffered has been sent) so that the client
        # sees the end of the response at once; TLS cannot half-close.
        transport: Any = getattr(stream, "_transport", None)
        if transport is not None and transport.can_write_eof():
            try:
                transport.write_eof()
            except (OSError, RuntimeError):
                self.close()
                return
        stream._start_feeding(self._discard)
        # The connection stays the server's (close_all_connections closes
        # it) until the stream closes.
        self._linger_timer = self._loop.call_later(_LINGER_SECONDS, self.close)

    def _discard(self, data: bytes) -> None:
        self._discarded += len(data)
        if not data or self._discarded > _LINGER_BYTES:
            self.close()

    def _stop_serving(self) -> bool:
        """Stop serving requests; tell the request being served.  False if already done."""
        if self._closed:
            return False
        self._closed = True
        if self._started:
            self._deadline.cancel()
            conn, self._conn = self._conn, None
            if conn is not None:
                conn._on_connection_close()
        return True

    def _on_stream_close(self) -> None:
        """The stream's close callback (and the end of `close`): the connection is over."""
        self._stop_serving()
        if self._reported or not self._started:
            return
        self._reported = True
        timer = self._linger_timer
        if timer is not None:
            timer.cancel()
        try:
            self._delegate.on_close(self)
        except Exception:
            app_log.error("Exception in on_close (%s)", self.context, exc_info=True)

    def _detach(self, conn: HTTP1Connection) -> None:
        """`conn` takes the stream: stop serving, without closing it."""
        if conn is not self._conn or self._closed:
            raise RuntimeError("detach() of a request that is no longer being served")
        stream = self.stream
        self._detached = True
        stream._stop_feeding()
        stream.set_close_callback(None)
        if self._paused:
            self._paused = False
            stream._resume_feeding()
        leftover = self._parser.trailing_data()
        if leftover:
            # What arrived after the head belongs to the new owner.
            stream._on_data(leftover)
        self._conn = None
        self._on_stream_close()
