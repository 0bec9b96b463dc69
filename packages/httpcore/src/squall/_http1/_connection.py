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

import asyncio
import functools
import re
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import squall._http1 as _http1_pkg
from squall._http1._deadline import Deadline
from squall._http1._decompress import BodyTooLargeError, GzipMessageDelegate
from squall._http1._events import (
    EOF,
    Body,
    EndOfMessage,
    Limits,
    ParseError,
    ParserProtocol,
    RequestHead,
    ResponseHead,
)
from squall._http1._params import HTTP1ConnectionParameters
from squall._http1._writer import (
    CONTINUE_RESPONSE,
    LAST_CHUNK,
    encode_head,
    frame_chunk,
    reason_phrase,
    serialize_fields,
)
from squall.gen import convert_yielded
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPOutputError,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import IOStream, StreamClosedError
from squall.log import app_log

if TYPE_CHECKING:
    from squall._http1._server_conn import HTTP1ServerConnection

__all__ = ["HTTP1Connection", "parser_limits"]

_DEFAULT_PARAMS = HTTP1ConnectionParameters()

#: Longest request line accepted (414 beyond it): what nginx and Apache
#: accept by default.
_MAX_START_LINE = 8 * 1024

# RFC 9110 §8.6: Content-Length = 1*DIGIT.
_DIGITS = re.compile(r"[0-9]+")
# RFC 9112 §3: the method is a token and the target has no whitespace or
# controls (what the application writes into a request line).
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(r"[^\x00-\x20\x7f]+")
_CONNECTION_CLOSE = re.compile(rb"(?im)^connection:[ \t]*close[ \t]*\r?$")

# Methods whose requests get a chunked body when no length is given
# (others are assumed to have none).
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))

# The states of the write side.
_IDLE, _WRITING, _FINISHED = 0, 1, 2

_new_tuple = tuple.__new__


def parser_limits(params: HTTP1ConnectionParameters) -> Limits:
    """The parser limits that implement `params`."""
    return Limits(
        max_start_line=min(_MAX_START_LINE, params.max_header_size),
        max_header_size=params.max_header_size,
    )


def _closed_future(loop: asyncio.AbstractEventLoop, error: BaseException | None) -> Any:
    future = loop.create_future()
    future.set_exception(StreamClosedError(real_error=error))
    future.exception()  # the caller need not retrieve it
    return future


def _with_callback(
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


class HTTP1Connection(HTTPConnection):
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

    def _client_parser(self) -> ParserProtocol:
        """The client side's parser: a new one (a subclass may reuse one per stream)."""
        return _http1_pkg.Parser(client=True, limits=parser_limits(self.params))

    # ------------------------------------------------------------------
    # Reading: the server side (driven by HTTP1ServerConnection)
    # ------------------------------------------------------------------

    def _serve_request(
        self, server: HTTP1ServerConnection, delegate: HTTPMessageDelegate, head: RequestHead
    ) -> None:
        """Deliver request `head` and then its body to `delegate`."""
        self._server = server
        self._parser = server._parser
        self._request_head = head
        self._has_body = head.chunked or bool(head.content_length)
        if self.params.decompress:
            delegate = GzipMessageDelegate(delegate, self.params.chunk_size, self._body_limit)
        self._delegate = delegate
        # tuple.__new__ is the NamedTuples' constructor without its Python frame.
        start_line: RequestStartLine = _new_tuple(
            RequestStartLine, (head.method, head.target, head.version)
        )
        self._head_delivered = True
        try:
            result = delegate.headers_received(start_line, HTTPHeaders._from_pairs(head.headers))
        except Exception as exc:
            self._delegate_failed(exc)
            return
        if result is not None and not self._wait(result, self._start_body):
            return
        if self._has_body:
            self._start_body()
            if self._reading:
                self._pump()
        elif not self._done and not self._detached:
            self._reading = True
            self._pump()

    def _start_body(self) -> None:
        """The delegate has the head: start reading the body (the caller pumps)."""
        if self._done or self._detached or self._read_finished:
            return
        head = self._request_head
        assert head is not None
        if self._has_body:
            length = head.content_length
            if length is not None and length > self._max_body_size:
                self._fail_input(BodyTooLargeError("Content-Length too large"))
                return
            server = self._server
            assert server is not None
            if head.expect_continue and self._write_state == _IDLE and not self._parser.buffered:
                # RFC 9110 §10.1.1: the client waits for this before sending
                # the body; an application that answered already (e.g. 413
                # or 401 in headers_received) never gets the body.
                self._write(CONTINUE_RESPONSE)
            if self._body_timeout:
                server._deadline.set_in(self._body_timeout)
        self._reading = True

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
    # Reading: the client side
    # ------------------------------------------------------------------

    def read_response(self, delegate: HTTPMessageDelegate) -> asyncio.Future[bool]:
        """Read a single HTTP response.

        Typical client-mode usage is to write a request using
        `write_headers`, `write`, and `finish`, and then call
        ``read_response``.

        :param delegate: a `HTTPMessageDelegate`

        Returns a Future that resolves to True after the full response has
        been read, or to False if the delegate called `detach` (during
        ``headers_received``) or a ``header_timeout`` / ``body_timeout``
        expired (the connection is then closed).  Interim (1xx) responses
        are passed to ``headers_received`` too, before the final one.  The
        Future fails with `~squall.iostream.StreamClosedError` if the
        connection closes before the response is complete, with
        `~squall.httputil.HTTPInputError` if the response is malformed or
        its body exceeds ``max_body_size``, and with whatever a delegate
        method raised; in each case the connection is closed (and the
        delegate's ``on_connection_close`` called if its
        ``headers_received`` was).

        Bytes received after the response stay in the stream's read buffer,
        so a keep-alive connection can be used for another request; when
        the response does not allow that the stream is closed.
        """
        if not self.is_client:
            raise RuntimeError("read_response is for client connections")
        if self._future is not None and not self._future.done():
            raise RuntimeError("A response is already being read")
        if self.params.decompress:
            delegate = GzipMessageDelegate(delegate, self.params.chunk_size, self._body_limit)
        self._delegate = delegate
        future = self._future = self._loop.create_future()
        self._reading = True
        self._deadline = Deadline(self._loop, self._on_client_timeout)
        if self.params.header_timeout is not None:
            self._deadline.set_in(self.params.header_timeout)
        self.stream.set_close_callback(self._on_client_stream_close)
        self._start_receiving()
        return future

    # How a client connection receives: the stream feeds `_on_client_data`
    # for the time of the response.  A subclass may override both to keep
    # one sink installed for the stream's life instead (the simple client's
    # pooled connections: switching the transport's protocol costs a few
    # us per switch).
    def _start_receiving(self) -> None:
        self.stream._start_feeding(self._on_client_data)

    def _stop_receiving(self) -> None:
        self.stream._stop_feeding()

    def _on_client_data(self, data: bytes) -> None:
        if not data:
            self._eof = True
        self._parser.receive(data)
        if self._reading:
            self._pump()

    def _on_response_head(self, head: ResponseHead) -> None:
        assert self._deadline is not None
        self._deadline.at = None
        self._response_head = head
        code = head.code
        interim = 100 <= code < 200 and code != 101
        self._has_body = not interim and (head.chunked or head.content_length != 0)
        start_line: ResponseStartLine = _new_tuple(
            ResponseStartLine, (head.version, code, head.reason)
        )
        delegate = self._delegate
        assert delegate is not None
        self._reading = False
        self._head_delivered = True
        try:
            result = delegate.headers_received(start_line, HTTPHeaders._from_pairs(head.headers))
        except Exception as exc:
            self._delegate_failed(exc)
            return
        if result is not None and not self._wait(result, self._start_response_body):
            return
        self._start_response_body()

    def _start_response_body(self) -> None:
        if self._detached or self._done:
            return
        head = self._response_head
        assert head is not None
        assert self._deadline is not None
        if head.content_length is not None and head.content_length > self._max_body_size:
            self._fail_input(BodyTooLargeError("Content-Length too large"))
            return
        if self._has_body and self._body_timeout:
            self._deadline.set_in(self._body_timeout)
        self._reading = True

    def _finish_response(self) -> None:
        assert self._deadline is not None
        assert self._delegate is not None
        self._deadline.cancel()
        try:
            self._delegate.finish()
        except Exception as exc:
            self._delegate_failed(exc)
            return
        self._done = True
        head = self._response_head
        assert head is not None
        stream = self.stream
        self._release_stream()
        # After a 101 the stream carries the new protocol: its owner decides.
        if not head.upgrade and (
            not head.keep_alive or self._disconnect_on_finish or self.no_keep_alive
        ):
            stream.close()
        self._resolve(True)

    def _release_stream(self) -> None:
        """Stop reading; put what the parser did not consume back into the stream's buffer."""
        stream = self.stream
        self._stop_receiving()
        stream.set_close_callback(None)
        leftover = self._parser.trailing_data()
        if leftover:
            stream._on_data(leftover)

    def _resolve(self, value: bool) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_result(value)

    def _fail(self, error: BaseException) -> None:
        """Client: fail the pending read with `error` and close the connection."""
        self._done = True
        self._reading = False
        if self._deadline is not None:
            self._deadline.cancel()
        self.stream.set_close_callback(None)
        self.stream.close()
        self._notify_close()
        future = self._future
        if future is not None and not future.done():
            future.set_exception(error)

    def _on_eof_between_messages(self) -> None:
        # Only the client side gets here: the server's parser reports EOF
        # between requests to HTTP1ServerConnection.
        self._fail(StreamClosedError(real_error=self.stream.error))

    def _on_client_stream_close(self) -> None:
        if not self._done:
            self._fail(StreamClosedError(real_error=self.stream.error))

    def _on_client_timeout(self) -> None:
        if self._done:
            return
        self._done = True
        self._reading = False
        self.stream.set_close_callback(None)
        self.stream.close()
        self._notify_close()
        self._resolve(False)

    # ------------------------------------------------------------------
    # Waiting for delegates, failures
    # ------------------------------------------------------------------

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

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
        callback: Callable[[], object] | None = None,
    ) -> asyncio.Future[None]:
        """Implements `.HTTPConnection.write_headers`.

        Server side: the status line is always ``HTTP/1.1``.  Without a
        ``Content-Length`` (and ``Transfer-Encoding``) the body is sent
        chunked to an HTTP/1.1 client, and to an HTTP/1.0 client it ends
        when the connection closes.  ``Connection: close`` is added when
        the connection will close after this response (``no_keep_alive``,
        the client asked for it, or an HTTP/1.0 body without a length),
        ``Connection: keep-alive`` for an HTTP/1.0 client that keeps it
        open.  1xx and 204 responses are sent without ``Content-Length``
        and ``Transfer-Encoding``; the body of a HEAD response is not sent.

        Client side: POST, PUT and PATCH requests without a length are sent
        chunked.

        :raises HTTPOutputError: if a header name is not a token, a value
            (or the reason or request line) contains CR, LF or NUL, the
            ``Content-Length`` is not a number, headers were already
            written, or `chunk` is longer than the ``Content-Length``.
        """
        if self._write_state != _IDLE:
            raise HTTPOutputError("write_headers() called twice")
        if self.is_client:
            data = self._request_head_bytes(start_line, headers)  # type: ignore[arg-type]
        else:
            data = self._response_head_bytes(start_line, headers)  # type: ignore[arg-type]
        self._write_state = _WRITING
        if chunk:
            remaining = self._remaining
            size = len(chunk)
            if remaining is not None and not self._chunking and size <= remaining:
                # The common case (a whole response with its length), inline.
                self._remaining = remaining - size
                data += chunk
            else:
                data += self._frame(chunk)
        try:
            future = self.stream.write(data)
        except StreamClosedError as exc:
            future = _closed_future(self.stream.io_loop.asyncio_loop, exc.real_error)
        self._last_write = future
        if callback is not None:
            return _with_callback(future, callback)
        return future

    def _response_head_bytes(self, start_line: ResponseStartLine, headers: HTTPHeaders) -> bytes:
        head = self._request_head
        assert head is not None
        code = start_line.code
        block, content_length, transfer_encoding, connection = serialize_fields(
            headers, code < 200 or code == 204
        )
        version = head.version
        disconnect = (
            self.no_keep_alive
            or not head.keep_alive
            or (connection is not None and "close" in connection.lower())
        )
        extra = ""
        if code < 200 or code == 204 or code == 304 or head.method == "HEAD":
            # No body (RFC 9110 §6.4.1): not even for a declared length.
            self._remaining = 0
            self._bodiless = True
            self._drop_body = head.method == "HEAD"
            self._switching = code == 101
        elif content_length is not None:
            if content_length in _lengths:
                self._remaining = _lengths[content_length]
            else:
                self._remaining = _parse_length(content_length)
        elif transfer_encoding is not None:
            pass  # the application frames the body itself
        elif version == "HTTP/1.1":
            self._chunking = True
            extra = "Transfer-Encoding: chunked\r\n"
        else:
            disconnect = True  # RFC 9112 §6.3: the body ends when the connection does
        if disconnect:
            self._disconnect_on_finish = True
            if version == "HTTP/1.1" and connection is None:
                extra += "Connection: close\r\n"
        elif version == "HTTP/1.0" and connection is None:
            extra += "Connection: keep-alive\r\n"
        reason = start_line.reason or reason_phrase(code)
        if "\r" in reason or "\n" in reason or "\0" in reason:
            raise HTTPOutputError("Unsafe reason phrase (CR, LF or NUL)")
        try:
            # %d: the code may be an IntEnum (http.HTTPStatus).
            return ("HTTP/1.1 %d %s\r\n%s%s\r\n" % (code, reason, block, extra)).encode(  # noqa: UP031
                "latin-1"
            )
        except UnicodeEncodeError:
            return encode_head(f"{reason}{block}")  # raises the HTTPOutputError

    def _request_head_bytes(self, start_line: RequestStartLine, headers: HTTPHeaders) -> bytes:
        method, path = start_line.method, start_line.path
        if _METHOD.fullmatch(method) is None or _TARGET.fullmatch(path) is None:
            raise HTTPOutputError(f"Invalid request line: {method[:32]!r} {path[:64]!r}")
        block, content_length, transfer_encoding, connection = serialize_fields(headers, False)
        self._parser.set_request_method(method)
        extra = ""
        if content_length is not None:
            self._remaining = _parse_length(content_length)
        elif transfer_encoding is None and method in _BODY_METHODS:
            self._chunking = True
            extra = "Transfer-Encoding: chunked\r\n"
        if connection is not None and "close" in connection.lower():
            self._disconnect_on_finish = True
        return encode_head(f"{method} {path} HTTP/1.1\r\n{block}{extra}\r\n")

    def write(
        self, chunk: bytes, callback: Callable[[], object] | None = None
    ) -> asyncio.Future[None]:
        """Implements `.HTTPConnection.write`.

        For backwards compatibility it is allowed but deprecated to skip
        `write_headers` and instead call `write()` with a pre-encoded header
        block (the whole response, framed by the application; a
        ``Connection: close`` in it closes the connection after `finish`).

        Returns a Future that resolves once the data has been handed to the
        operating system (flow control); it fails with `StreamClosedError`
        if the connection is closed.

        :raises HTTPOutputError: if this would exceed the ``Content-Length``
            (the connection is closed: the response cannot be completed), or
            after `finish`.
        """
        state = self._write_state
        if state != _WRITING:
            if state == _FINISHED:
                raise HTTPOutputError("write() after finish()")
            data = self._legacy_raw_write(chunk)
        else:
            data = self._frame(chunk)
        future = self._write(data)
        if callback is not None:
            return _with_callback(future, callback)
        return future

    def _legacy_raw_write(self, chunk: bytes) -> bytes:
        warnings.warn(
            "Writing a response without write_headers() is deprecated; "
            "use write_headers(), write() and finish()",
            DeprecationWarning,
            stacklevel=3,
        )
        self._write_state = _WRITING
        if not self.is_client and _CONNECTION_CLOSE.search(bytes(chunk).partition(b"\r\n\r\n")[0]):
            self._disconnect_on_finish = True
        head = self._request_head
        if head is not None and (not head.keep_alive or self.no_keep_alive):
            self._disconnect_on_finish = True
        return chunk

    def _frame(self, chunk: bytes) -> bytes:
        """Account for body `chunk` and frame it as it goes on the wire."""
        remaining = self._remaining
        if remaining is not None:
            size = len(chunk)
            if size > remaining:
                if self._drop_body:
                    return b""
                self.stream.close()
                raise HTTPOutputError(
                    "This response must not have a body"
                    if self._bodiless
                    else "Tried to write more data than Content-Length"
                )
            self._remaining = remaining - size
        if self._chunking and chunk:
            return frame_chunk(chunk)
        return chunk

    def _write(self, data: bytes) -> asyncio.Future[None]:
        try:
            future = self.stream.write(data)
        except StreamClosedError as exc:
            future = _closed_future(self.stream.io_loop.asyncio_loop, exc.real_error)
        self._last_write = future
        return future

    def finish(self) -> None:
        """Implements `.HTTPConnection.finish`.

        Server side: once the response has been sent (and the request read)
        the connection reads the next request, or closes.  If the request's
        body has not been read completely, the rest is not delivered and the
        connection closes after the response.

        :raises HTTPOutputError: if fewer bytes were written than the
            ``Content-Length`` declared (the connection is closed), if no
            headers were written, or if called twice.
        """
        state = self._write_state
        if state != _WRITING:
            if state == _FINISHED:
                raise HTTPOutputError("finish() called twice")
            raise HTTPOutputError("finish() before write_headers()")
        remaining = self._remaining
        if remaining and not self._drop_body:
            self.stream.close()
            raise HTTPOutputError(f"Tried to write {remaining} bytes less than Content-Length")
        self._write_state = _FINISHED
        if self._chunking:
            self._write(LAST_CHUNK)
        if self.is_client:
            return
        self._close_callback = None
        if not self._read_finished and self._has_body:
            # Answered before the body was read: the rest of it is not
            # delivered, and the connection cannot be reused (RFC 9112 §9.6).
            self._abandoned = True
            self._disconnect_on_finish = True
            self._reading = False
        future = self._last_write
        if future is None or future.done():
            self._write_flushed = True
            if (self._read_finished or self._abandoned) and not self._done:
                self._done = True
                server = self._server
                assert server is not None
                server._request_done(self)
        else:
            server = self._server
            assert server is not None
            # A peer that does not read must not hold the connection forever.
            server._deadline.set_in(server._idle_timeout)
            future.add_done_callback(self._on_flushed)

    def _on_flushed(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled():
            future.exception()
        self._write_flushed = True
        server = self._server
        assert server is not None
        server._run(self._maybe_done)

    def _maybe_done(self) -> None:
        if self._done or not self._write_flushed or not (self._read_finished or self._abandoned):
            return
        self._done = True
        server = self._server
        assert server is not None
        server._request_done(self)

    # ------------------------------------------------------------------
    # The rest of the interface
    # ------------------------------------------------------------------

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


# Content-Length values seen, parsed (a server sends the same few again and
# again); bounded: emptied when full.
_lengths: dict[object, int] = {}
_LENGTHS_CACHED = 1000


def _parse_length(value: object) -> int:
    if value in _lengths:
        return _lengths[value]
    text = str(value)  # e.g. an int stored in the headers
    if _DIGITS.fullmatch(text) is None:
        raise HTTPOutputError(f"Invalid Content-Length {text[:32]!r}")
    if len(_lengths) >= _LENGTHS_CACHED:
        _lengths.clear()
    length = _lengths[value] = int(text)
    return length
