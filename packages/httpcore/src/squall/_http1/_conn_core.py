"""The state and shared machinery of `HTTP1Connection` (see `squall._http1._connection`).

`HTTP1Connection` is put together from three parts over this core: the
server side's reading (`_conn_serving`), the client side's (`_conn_client`)
and writing (`_conn_writing`).  The core holds the per-message state (class
attributes at their initial values: a server makes a connection object per
request, and an instance stores only what changes), the event pump both
sides read with, waiting for a delegate's awaitable, and the failure paths.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from squall._http1._deadline import Deadline
from squall._http1._decompress import BodyTooLargeError
from squall._http1._events import (
    EOF,
    Body,
    EndOfMessage,
    Headers,
    Limits,
    ParseError,
    ParserProtocol,
    RequestHead,
    ResponseHead,
)
from squall._http1._params import HTTP1ConnectionParameters
from squall.gen import convert_yielded
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import IOStream, StreamClosedError
from squall.log import app_log

if TYPE_CHECKING:
    from squall._http1._server_conn import HTTP1ServerConnection

__all__ = [
    "_FINISHED",
    "_IDLE",
    "_WRITING",
    "ConnectionCore",
    "closed_future",
    "parser_limits",
    "with_callback",
]

#: Longest request line accepted (414 beyond it): what nginx and Apache
#: accept by default.
_MAX_START_LINE = 8 * 1024

# The states of the write side.
_IDLE, _WRITING, _FINISHED = 0, 1, 2


def parser_limits(params: HTTP1ConnectionParameters) -> Limits:
    """The parser limits that implement `params`."""
    return Limits(
        max_start_line=min(_MAX_START_LINE, params.max_header_size),
        max_header_size=params.max_header_size,
    )


def closed_future(loop: asyncio.AbstractEventLoop, error: BaseException | None) -> Any:
    future = loop.create_future()
    future.set_exception(StreamClosedError(real_error=error))
    future.exception()  # the caller need not retrieve it
    return future


def with_callback(
    future: asyncio.Future[None], callback: Callable[[], object]
) -> asyncio.Future[None]:
    warnings.warn(
        "The callback argument is deprecated; await the returned Future instead",
        DeprecationWarning,
        stacklevel=3,
    )

    def run(done: asyncio.Future[None]) -> None:
        if not done.cancelled() and done.exception() is None:
            callback()

    future.add_done_callback(run)
    return future


class ConnectionCore(HTTPConnection):
    """What every part of `HTTP1Connection` shares (see the module)."""

    # Per-message state, at its initial values.  Class attributes: a server
    # makes a connection object per request, and most of these never change
    # from their defaults (an instance only stores what does).
    _close_callback: Callable[[], object] | None = None
    # The write side.
    _write_state = _IDLE
    _chunking = False
    _remaining: int | None = None  # body bytes the declared length still expects
    _bodiless = False  # a response that cannot have a body (1xx, 204, 304, HEAD)
    _drop_body = False  # a HEAD response: body bytes are not sent
    _last_write: asyncio.Future[None] | None = None
    _disconnect_on_finish = False
    _switching = False  # a 101 response: the stream changes hands after it
    _write_flushed = False
    # The read side.
    _delegate: HTTPMessageDelegate | None = None
    _head_delivered = False  # the delegate's headers_received was called
    _reading = False  # events may be pulled
    _read_finished = False
    _abandoned = False  # finished answering before the body was read
    _has_body = False
    _body_bytes = 0
    _pending = b""  # body not yet delivered (the delegate is busy)
    _detached = False
    _done = False  # read and write both over
    _server: HTTP1ServerConnection | None = None
    _request_head: RequestHead | None = None
    # Client side.
    _response_head: ResponseHead | None = None
    _future: asyncio.Future[bool] | None = None
    _deadline: Deadline | None = None
    _eof = False

    _loop: asyncio.AbstractEventLoop  # client side only
    _parser: ParserProtocol

    is_client: bool
    stream: IOStream
    params: HTTP1ConnectionParameters
    context: object
    no_keep_alive: bool
    _max_body_size: int
    _body_timeout: float | None

    if TYPE_CHECKING:
        # Defined by the other parts of HTTP1Connection.
        def _on_response_head(self, head: ResponseHead) -> None: ...
        def _finish_response(self) -> None: ...
        def _fail(self, error: BaseException) -> None: ...
        def _on_eof_between_messages(self) -> None: ...
        def _write(self, data: bytes) -> asyncio.Future[None]: ...
        def _request_head_bytes(
            self, start_line: RequestStartLine, headers: HTTPHeaders
        ) -> bytes: ...

    def _body_limit(self) -> int:
        return self._max_body_size

    # ------------------------------------------------------------------
    # Reading: both sides
    # ------------------------------------------------------------------

    def _pump(self) -> None:
        """Pull and dispatch the parser's events until it needs more data or must wait."""
        parser = self._parser
        while self._reading:
            try:
                event = parser.next_event()
            except ParseError as exc:
                self._fail_input(exc)
                return
            if event is None:
                return
            kind = type(event)
            if kind is Body:
                self._on_body(event.data)  # type: ignore[union-attr]
            elif kind is EndOfMessage:
                self._on_end_of_message()
            elif kind is ResponseHead:
                self._on_response_head(event)  # type: ignore[arg-type]
            elif event is EOF:
                self._on_eof_between_messages()
                return
            else:  # pragma: no cover - a request head inside a message
                self._fail_input(ParseError("Unexpected message head"))
                return

    def _dispatch(self, event: object) -> None:
        """Dispatch one event pulled by someone else as `_pump` would (not on the hot path)."""
        kind = type(event)
        if kind is Body:
            self._on_body(event.data)  # type: ignore[attr-defined]
        elif kind is EndOfMessage:
            self._on_end_of_message()
        elif kind is ResponseHead:
            self._on_response_head(event)  # type: ignore[arg-type]
        elif event is EOF:
            self._reading = False
            self._on_eof_between_messages()
        else:
            self._fail_input(ParseError("Unexpected message head"))

    def _on_body(self, data: bytes) -> None:
        self._body_bytes += len(data)
        if self._body_bytes > self._max_body_size:
            self._fail_input(BodyTooLargeError("Body too large"))
            return
        self._deliver(data)

    def _deliver(self, data: bytes) -> None:
        """Pass `data` to the delegate in pieces of at most ``chunk_size`` bytes."""
        size = self.params.chunk_size
        delegate = self._delegate
        assert delegate is not None
        while data:
            if len(data) > size:
                piece, data = data[:size], data[size:]
            else:
                piece, data = data, b""
            try:
                result = delegate.data_received(piece)
            except Exception as exc:
                self._delegate_failed(exc)
                return
            if result is not None and not self._wait(result, self._continue_body):
                # Flow control: the rest waits until the delegate is ready.
                self._reading = False
                self._pending = data
                return

    def _continue_body(self) -> None:
        """The delegate is ready for more body (the caller pumps)."""
        self._reading = True
        data, self._pending = self._pending, b""
        if data:
            self._deliver(data)

    def _on_end_of_message(self) -> None:
        head = self._response_head if self.is_client else None
        if head is not None and 100 <= head.code < 200 and head.code != 101:
            # An interim response (RFC 9110 §15.2): the final one follows.
            self._response_head = None
            self._parser.start_next_message()
            assert self._deadline is not None
            self._deadline.set_in(self.params.header_timeout)
            return
        self._reading = False
        self._read_finished = True
        if self.is_client:
            self._finish_response()
            return
        server = self._server
        assert server is not None
        if self._has_body and self._body_timeout:
            server._deadline.at = None
        delegate = self._delegate
        assert delegate is not None
        try:
            delegate.finish()
        except Exception as exc:
            self._delegate_failed(exc)
            return
        if self._write_flushed and not self._done:
            self._done = True
            server._request_done(self)

    # ------------------------------------------------------------------
    # Waiting for delegates, failures
    # ------------------------------------------------------------------

    def _deliver_head(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        fields: Headers,
        then: Callable[[], None],
    ) -> bool:
        """Give the delegate the message's head (``headers_received``), then go on with `then`.

        Returns True to go on at once; False if the delegate failed, or
        returned an awaitable that is not complete yet (`then` runs once it
        is).
        """
        delegate = self._delegate
        assert delegate is not None
        try:
            result = delegate.headers_received(start_line, HTTPHeaders._from_pairs(fields))
        except Exception as exc:
            self._delegate_failed(exc)
            return False
        return result is None or self._wait(result, then)

    def _wait(self, result: Awaitable[None], then: Callable[[], None]) -> bool:
        """Wait for a delegate's `result` before going on with `then`.

        Returns True if it is already complete (go on at once), False if
        `then` will be called once it is (or the connection failed).
        """
        try:
            future: asyncio.Future[Any] = convert_yielded(result)
        except Exception as exc:
            self._delegate_failed(exc)
            return False
        if future.done():
            if future.cancelled() or future.exception() is not None:
                self._waited(then, future)
                return False
            return True
        future.add_done_callback(functools.partial(self._waited, then))
        return False

    def _waited(self, then: Callable[[], None], future: asyncio.Future[Any]) -> None:
        if self._done or self._detached:
            if not future.cancelled():
                future.exception()  # retrieved: the connection is gone anyway
            return
        if future.cancelled():
            self._delegate_failed(asyncio.CancelledError("A delegate's awaitable was cancelled"))
            return
        exc = future.exception()
        if exc is not None:
            self._delegate_failed(exc)
            return
        server = self._server
        if server is not None:
            server._run(self._resume, then)
        else:
            self._resume(then)

    def _resume(self, then: Callable[[], None]) -> None:
        then()
        if self._reading:
            self._pump()

    def _delegate_failed(self, exc: BaseException) -> None:
        """A delegate method (or its awaitable) raised `exc`."""
        if isinstance(exc, HTTPInputError):
            self._fail_input(exc)
            return
        if self.is_client:
            self._fail(exc)
            return
        app_log.error(
            "Uncaught exception in HTTP delegate (%s), closing the connection",
            self.context,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        server = self._server
        assert server is not None
        server.close()

    def _fail_input(self, exc: Exception) -> None:
        """The peer sent something invalid (or too large): end this connection."""
        self._reading = False
        if self.is_client:
            if self._eof and isinstance(exc, ParseError):
                # The connection closed in the middle of the response.
                self._fail(StreamClosedError(real_error=self.stream.error))
            elif isinstance(exc, HTTPInputError):
                self._fail(exc)
            else:
                self._fail(HTTPInputError(f"Malformed HTTP response: {exc}"))
            return
        server = self._server
        assert server is not None
        if isinstance(exc, ParseError):
            status = exc.status
        elif isinstance(exc, BodyTooLargeError):
            status = 413
        else:
            status = 400
        server._reject(status, exc, answer=self._write_state == _IDLE)

    def _notify_close(self) -> None:
        """The connection closed: tell the close callback and an unfinished delegate."""
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            try:
                callback()
            except Exception:
                app_log.error("Exception in connection close callback", exc_info=True)
        delegate = self._delegate
        if (
            delegate is not None
            and self._head_delivered
            and not self._read_finished
            and not self._detached
        ):
            self._read_finished = True
            self._reading = False
            try:
                delegate.on_connection_close()
            except Exception:
                app_log.error("Exception in on_connection_close", exc_info=True)

    def _on_connection_close(self) -> None:
        """Server side: the connection closed while this request was active."""
        self._done = True
        self._reading = False
        self._notify_close()
