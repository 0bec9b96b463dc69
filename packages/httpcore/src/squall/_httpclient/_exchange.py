"""One request and its response over one connection (an `HTTP1Connection`).

`Exchange.run` writes the request (head and body: bytes, a
``body_producer``, or held back for ``Expect: 100-continue``), reads the
response through itself as the `HTTPMessageDelegate`, decodes the body
(`ContentDecoder`), applies the size limit, runs the streaming and header
callbacks, and says whether the connection may be reused.

Whether a response is *delivered* (to the callbacks and the caller) or
*consumed* (a redirect to follow, an authentication challenge to answer:
its body is drained and dropped) is decided from its head by the caller's
`Decide` function.

Every failure is raised from `run` as an `HTTPClientError` (599) with the
cause chained, except those of the application's own callbacks, which are
raised as they are, and `StaleConnectionError` (a reused connection closed
before any response: the caller may retry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from squall._http1._deadline import Deadline
from squall._http1._decompress import BodyTooLargeError as ConnectionBodyTooLargeError
from squall._httpclient._decode import (
    BodyTooLargeError,
    ContentDecoder,
    DecodeError,
    parse_codings,
)
from squall._httpclient._errors import TRANSPORT_ERROR, HTTPClientError, HTTPStreamClosedError
from squall._httpclient._pool import PooledConnection
from squall._httpclient._request import HTTPRequest
from squall._httpclient._route import Route
from squall.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from squall.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPOutputError,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import StreamClosedError

__all__ = ["Decide", "Exchange", "StaleConnectionError"]

#: How long to wait for ``100 Continue`` before sending the body anyway
#: (RFC 9110 §10.1.1: a client need not wait indefinitely; curl waits 1 s).
CONTINUE_WAIT = 1.0

#: ``decide(code, headers)``: what the caller will do with a final
#: response of status 300 or more (below, it is always delivered), from its
#: head: None to deliver it, or anything else (the next request, a
#: challenge...) to consume it.  Kept in `Exchange.action`.
Decide = Callable[[int, HTTPHeaders], object]


#: `Exchange.headers` before a final response's head (never modified).
_NO_HEADERS = HTTPHeaders()


class _PooledHTTP1Connection(HTTP1Connection):
    """The client side of `HTTP1Connection` for a pooled connection, reused for its exchanges.

    The stream keeps feeding `PooledConnection.receive` between exchanges
    (see `squall._httpclient._pool`), and keeps its close callback,
    instead of switching the transport's protocol (and the callback) at
    the start and the end of every response.

    One object per pooled connection (and parameters): `for_exchange`
    returns it to its state after construction for the next exchange,
    instead of a new connection object, parser and deadline per exchange.
    It is only reused after a complete exchange (the caller puts back in
    the pool only a connection whose response was read in full and whose
    request was sent), so nothing of the previous exchange is pending.
    """

    def __init__(self, connection: PooledConnection, params: HTTP1ConnectionParameters) -> None:
        self._pooled = connection
        super().__init__(connection.stream, True, params)
        self._deadline = Deadline(self._loop, self._on_client_timeout)
        # The state to return to (itself included, as `reuse` clears all).
        initial = dict(self.__dict__)
        initial["_initial"] = initial
        self._initial = initial

    @classmethod
    def for_exchange(
        cls, connection: PooledConnection, params: HTTP1ConnectionParameters
    ) -> _PooledHTTP1Connection:
        """`connection`'s connection object for a new exchange with `params`."""
        h1: _PooledHTTP1Connection | None = connection.h1
        if h1 is None or h1.params is not params:
            h1 = connection.h1 = cls(connection, params)
            return h1
        initial = h1._initial
        state = h1.__dict__
        state.clear()
        state.update(initial)
        # After a response the parser is at the end of a message with
        # nothing buffered (what followed went back to the stream, which
        # closes on it), so it can read the next response.
        h1._parser.start_next_message()
        return h1

    def _start_receiving(self) -> None:
        pooled = self._pooled
        pooled.on_close = self._on_client_stream_close
        if pooled._feeding:
            pooled._target = self._on_client_data  # `feed`, without its call
        else:
            pooled.feed(self._on_client_data)

    def _stop_receiving(self) -> None:
        pooled = self._pooled
        pooled.on_close = None
        pooled._target = pooled._unsolicited  # `unfeed`, without its call


class StaleConnectionError(Exception):
    """A reused keep-alive connection closed before any response to this request.

    The server probably closed it as idle while the request was on its way
    (RFC 9112 §9.3.1); an idempotent request may be retried on a new
    connection.
    """


class Exchange(HTTPMessageDelegate):
    """Send `request` on `connection` and read the response (see the module docstring).

    `headers` is the header block to send, or the whole request head
    already encoded (`squall._httpclient._route.request_head`).  After
    `run`: ``code``, ``reason``, ``headers``, ``body`` (the joined chunks
    unless a streaming callback took them), ``action`` (from `Decide`) and
    ``first_byte`` (the loop time the head arrived).
    """

    def __init__(
        self,
        request: HTTPRequest,
        route: Route,
        connection: PooledConnection,
        headers: HTTPHeaders | bytes,
        params: HTTP1ConnectionParameters,
        body_limit: int,
        decide: Decide,
        reused: bool,
        clock: Callable[[], float],
    ) -> None:
        self.request = request
        self.route = route
        self.connection = connection
        self.send_headers = headers
        self.params = params
        self.body_limit = body_limit
        self.decide = decide
        self.reused = reused
        self.clock = clock
        self._chunks: list[bytes] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The connection's event loop (once `begin` made the connection object).

        Only for the rarer paths (a held-back body, a body producer).
        """
        assert self._h1 is not None
        return self._h1._loop

    # The state of an exchange at its start.  Class attributes: an exchange
    # is made per request, and an instance only stores what changes.
    code = 0
    reason = ""
    headers = _NO_HEADERS  # until the final response's head
    action: object = None
    first_byte: float | None = None
    _size = 0
    _decoder: ContentDecoder | None = None
    _h1: HTTP1Connection | None = None
    # The request body: sent (and flushed), in flight, held back.
    _body_complete = False
    _body_task: asyncio.Task[None] | None = None
    _last_write: asyncio.Future[None] | None = None
    _awaiting_continue = False
    _continue_timer: asyncio.TimerHandle | None = None
    _head_received = False

    @property
    def body(self) -> bytes:
        return b"".join(self._chunks)

    # -- running ---------------------------------------------------------------

    async def run(self) -> bool:
        """Exchange the request and response; return whether the connection is reusable.

        :raises HTTPClientError: (599) for transport failures, malformed or
            too large responses.
        :raises StaleConnectionError: see the class.
        :raises ValueError: if the request cannot be written (bad header).
        :raises Exception: whatever the application's callbacks or
            ``body_producer`` raised.
        """
        read = self.begin()
        try:
            await read
        except BaseException:
            if not read.done() or read.cancelled():
                self._stop_writing()  # the caller was cancelled
                raise
        return self.end(read)

    def begin(
        self, on_done: Callable[[asyncio.Future[bool]], object] | None = None
    ) -> asyncio.Future[bool]:
        """Write the request and start reading the response: `run` without waiting.

        The returned Future is `HTTP1Connection.read_response`'s: once it
        is done, `end` says whether the connection is reusable (or raises
        as `run`).  `on_done`, if given, is called with it once done: from
        the connection as it completes the response (a loop iteration
        before a done callback would run), or, if that happened within
        `begin`, as a done callback.

        :raises ValueError: if the request cannot be written (bad header).
        """
        request = self.request
        h1 = self._h1 = _PooledHTTP1Connection.for_exchange(self.connection, self.params)
        body = request._body
        producer = request.body_producer
        send = self.send_headers
        try:
            if isinstance(send, bytes):
                # The whole head, ready (`request_head`): written with the body.
                written = self._last_write = h1.write_request(request.method, send, body)
                if not written.done():  # (`_write`, without its calls)
                    written.add_done_callback(_retrieve)
                elif not written.cancelled():
                    written.exception()
                self._body_complete = True
            else:
                start_line = RequestStartLine(request.method, self.route.target, "HTTP/1.1")
                if "Expect" in send:
                    self._write(h1.write_headers(start_line, send))
                    self._awaiting_continue = True
                    self._continue_timer = self.loop.call_later(CONTINUE_WAIT, self._send_body)
                elif producer is None:
                    self._write(h1.write_headers(start_line, send, body or None))
                    h1.finish()
                    self._body_complete = True
                else:
                    self._write(h1.write_headers(start_line, send))
        except HTTPOutputError as exc:
            self.connection.stream.close()
            raise ValueError(f"invalid request: {exc}") from exc
        read = h1.read_response(self)
        if producer is not None and not self._awaiting_continue:
            self._start_producer()
        if on_done is not None:
            if read.done():
                read.add_done_callback(on_done)
            else:
                h1._on_read_done = on_done
        return read

    def end(self, read: asyncio.Future[bool]) -> bool:
        """After `begin`'s Future is done: whether the connection is reusable (raises as `run`)."""
        try:
            keep = read.result()
        except StreamClosedError as exc:
            self._stop_writing()
            raise self._closed_error(exc) from exc.real_error or exc
        except HTTPInputError as exc:
            self._stop_writing()
            raise self._input_error(exc) from exc
        except BaseException:
            self._stop_writing()
            raise
        if self._continue_timer is not None or self._body_task is not None:
            self._stop_writing()  # (only then anything to stop)
        return keep and self._reusable()

    def _write(self, future: asyncio.Future[None]) -> None:
        self._last_write = future
        if future.done():
            _retrieve(future)  # written at once (the usual case): no callback
        else:
            future.add_done_callback(_retrieve)

    def _send_body(self) -> None:
        """Send the held-back body (``100 Continue`` came, or the wait is over)."""
        self._continue_timer = None
        if not self._awaiting_continue:
            return
        self._awaiting_continue = False
        h1 = self._h1
        assert h1 is not None
        if self.request.body_producer is not None:
            self._start_producer()
            return
        try:
            if self.request.body:
                self._write(h1.write(self.request.body))
            h1.finish()
        except (HTTPOutputError, StreamClosedError):
            return  # the connection is closing: the read reports why
        self._body_complete = True

    def _start_producer(self) -> None:
        self._body_task = self.loop.create_task(self._produce())
        self._body_task.add_done_callback(self._produced)

    async def _produce(self) -> None:
        h1 = self._h1
        producer = self.request.body_producer
        assert h1 is not None
        assert producer is not None

        def write(chunk: bytes) -> asyncio.Future[None]:
            future = h1.write(chunk)
            self._write(future)
            return future

        result = producer(write)
        if result is not None:
            await result
        h1.finish()
        self._body_complete = True

    def _produced(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self._h1 is not None:
            # The body cannot be completed: the request fails with the
            # producer's error (unless the response is already complete).
            self._producer_error = exc
            self.connection.stream.close()

    _producer_error: BaseException | None = None

    def _stop_writing(self) -> None:
        if self._continue_timer is not None:
            self._continue_timer.cancel()
            self._continue_timer = None
        self._awaiting_continue = False
        task = self._body_task
        if task is not None and not task.done():
            task.cancel()  # the response is complete (or failed): stop sending

    def _reusable(self) -> bool:
        """Whether the connection can serve another request."""
        last = self._last_write
        if self.code == 101 or (self.request.method == "CONNECT" and 200 <= self.code < 300):
            return False  # the connection now speaks another protocol
        return (
            self._body_complete
            and (
                last is None or (last.done() and not last.cancelled() and last.exception() is None)
            )
            and not self.connection.stream.closed()
        )

    # -- errors ------------------------------------------------------------------

    def _where(self) -> str:
        route = self.route
        if route.via_proxy or route.tunnel:
            proxy = f"{route.connect_host}:{route.connect_port}"
            return f"{route.host}:{route.port} (through the proxy {proxy})"
        return f"{route.host}:{route.port}"

    def _closed_error(self, exc: StreamClosedError) -> BaseException:
        if self._producer_error is not None:
            return self._producer_error
        if self.reused and not self._head_received:
            return StaleConnectionError(self._where())
        real = exc.real_error
        why = f": {real}" if real is not None else ""
        if not self._head_received:
            return HTTPStreamClosedError(
                f"Connection closed by {self._where()} before the response{why}"
            )
        return HTTPStreamClosedError(
            f"Connection closed by {self._where()} before the end of the response{why}"
        )

    def _input_error(self, exc: HTTPInputError) -> HTTPClientError:
        if isinstance(exc, ConnectionBodyTooLargeError):
            return HTTPClientError(
                TRANSPORT_ERROR,
                f"Response body from {self._where()} larger than max_body_size "
                f"({self.body_limit} bytes)",
            )
        return HTTPClientError(
            TRANSPORT_ERROR, f"Malformed HTTP response from {self._where()}: {exc}"
        )

    # -- the delegate ------------------------------------------------------------

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, ResponseStartLine)
        code = start_line.code
        if code < 200 and code != 101:
            # Interim responses (RFC 9110 §15.2): 100 releases a held-back body.
            if code == 100 and self._awaiting_continue:
                if self._continue_timer is not None:
                    self._continue_timer.cancel()
                self._send_body()
            return None
        self._head_received = True
        self.first_byte = self.clock()
        if self._awaiting_continue:
            # A final answer without 100 Continue: the body is not sent
            # (RFC 9110 §10.1.1), so the connection cannot be reused.
            self._awaiting_continue = False
        self.code = code
        self.reason = start_line.reason
        self.headers = headers
        # Below 300 there is neither a redirect nor a challenge: no call.
        self.action = self.decide(code, headers) if code >= 300 else None
        if self.action is not None:
            return None  # consumed: its body is drained and dropped
        request = self.request
        if request.decompress_response:
            coding = headers.get("Content-Encoding")
            codings = parse_codings(coding) if coding else None
            if codings is not None:
                self._decoder = ContentDecoder(codings, self.body_limit)
                # As Tornado does: the body is no longer in that coding.
                headers["X-Consumed-Content-Encoding"] = headers["Content-Encoding"]
                del headers["Content-Encoding"]
        if request._head_callback is not None:
            request._head_callback(start_line, headers)
        callback = request.header_callback
        if callback is not None:
            callback(f"{start_line.version} {code} {start_line.reason}\r\n")
            for name, value in headers.get_all():
                callback(f"{name}: {value}\r\n")
            callback("\r\n")
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.action is not None:
            return None
        decoder = self._decoder
        if decoder is not None:
            try:
                chunk = decoder.decode(chunk)
            except DecodeError as exc:
                raise HTTPClientError(
                    TRANSPORT_ERROR, f"Invalid compressed response from {self._where()}: {exc}"
                ) from exc
            except BodyTooLargeError as exc:
                raise self._too_large() from exc
            if not chunk:
                return None
        self._size += len(chunk)
        if self._size > self.body_limit:
            raise self._too_large()
        streaming = self.request.streaming_callback
        if streaming is not None:
            result = streaming(chunk)
            if result is not None and hasattr(result, "__await__"):
                # Flow control: the connection reads no more until it is done.
                return cast(Awaitable[None], result)
        else:
            self._chunks.append(chunk)
        return None

    def _too_large(self) -> HTTPClientError:
        return HTTPClientError(
            TRANSPORT_ERROR,
            f"Response body from {self._where()} larger than max_body_size "
            f"({self.body_limit} bytes, after decompression)",
        )

    def finish(self) -> None:
        decoder = self._decoder
        if decoder is not None and self.action is None:
            try:
                decoder.finish()
            except DecodeError as exc:
                raise HTTPClientError(
                    TRANSPORT_ERROR, f"Invalid compressed response from {self._where()}: {exc}"
                ) from exc

    def on_connection_close(self) -> None:
        pass  # run() reports the failure of read_response


def _retrieve(future: asyncio.Future[Any]) -> None:
    # A failed write fails the read too (the connection closes), which is
    # what reports it; the write's own exception is not needed.
    if not future.cancelled():
        future.exception()
