"""The client side's reading of `HTTP1Connection`: `read_response` (see `_connection`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import NamedTuple

import squall._http1 as _http1_pkg
from squall._http1._conn_core import (
    _FINISHED,
    _IDLE,
    ConnectionCore,
    closed_future,
    parser_limits,
)
from squall._http1._conn_writing import _parse_length
from squall._http1._deadline import Deadline
from squall._http1._decompress import BodyTooLargeError, GzipMessageDelegate
from squall._http1._events import ParserProtocol, ResponseHead
from squall._http1._writer import encode_head, serialize_fields
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPOutputError,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import StreamClosedError

__all__ = ["ClientSide", "RequestHead"]

_new_tuple = tuple.__new__

# RFC 9112 §3: the method is a token and the target has no whitespace or
# controls (what the application writes into a request line).
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(r"[^\x00-\x20\x7f]+")

# Methods whose requests get a chunked body when no length is given
# (others are assumed to have none).
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


class ClientSide(ConnectionCore):
    """`HTTP1Connection`'s client side: writing a request's head, reading the response."""

    def _client_parser(self) -> ParserProtocol:
        """The client side's parser: a new one (a subclass may reuse one per stream)."""
        return _http1_pkg.Parser(client=True, limits=parser_limits(self.params))

    # ------------------------------------------------------------------
    # Reading: the server side (driven by HTTP1ServerConnection)
    # ------------------------------------------------------------------

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
        deadline = self._deadline
        if deadline is None:
            # (A subclass reusing the connection object keeps its deadline,
            # cancelled at the end of every response.)
            deadline = self._deadline = Deadline(self._loop, self._on_client_timeout)
        if self.params.header_timeout is not None:
            deadline.set_in(self.params.header_timeout)
        self._start_receiving()
        return future

    #: Called with `read_response`'s Future as soon as it is done, from
    #: the connection's own call (not a done callback from the loop): a
    #: subclass's way to handle the response a loop iteration earlier.
    _on_read_done: Callable[[asyncio.Future[bool]], object] | None = None

    # How a client connection receives: the stream feeds `_on_client_data`
    # for the time of the response, and reports its closing to
    # `_on_client_stream_close`.  A subclass may override both to keep one
    # sink and one close callback installed for the stream's life instead
    # (the simple client's pooled connections: switching the transport's
    # protocol costs a few us per switch).
    def _start_receiving(self) -> None:
        stream = self.stream
        stream.set_close_callback(self._on_client_stream_close)
        stream._start_feeding(self._on_client_data)

    def _stop_receiving(self) -> None:
        stream = self.stream
        stream._stop_feeding()
        stream.set_close_callback(None)

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
        self._reading = False
        self._head_delivered = True
        if self._deliver_head(start_line, head.headers, self._start_response_body):
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
        deadline = self._deadline
        assert deadline is not None
        assert self._delegate is not None
        if deadline.armed_at is not None:
            deadline.cancel()
        else:
            deadline.at = None  # no timer to cancel: `cancel`, without its call
        try:
            self._delegate.finish()
        except Exception as exc:
            self._delegate_failed(exc)
            return
        self._done = True
        head = self._response_head
        assert head is not None
        self._release_stream()
        # After a 101 the stream carries the new protocol: its owner decides.
        if not head.upgrade and (
            not head.keep_alive or self._disconnect_on_finish or self.no_keep_alive
        ):
            self.stream.close()
        self._resolve(True)

    def _release_stream(self) -> None:
        """Stop reading; put what the parser did not consume back into the stream's buffer."""
        stream = self.stream
        self._stop_receiving()
        leftover = self._parser.trailing_data()
        if leftover:
            stream._on_data(leftover)

    def _resolve(self, value: bool) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_result(value)
            if self._on_read_done is not None:
                self._on_read_done(future)

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
            if self._on_read_done is not None:
                self._on_read_done(future)

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

    def _request_head_bytes(self, start_line: RequestStartLine, headers: HTTPHeaders) -> bytes:
        method = start_line.method
        head = RequestHead.of(method, start_line.path, headers)
        self._parser.set_request_method(method)
        extra = ""
        if head.content_length is not None:
            self._remaining = _parse_length(head.content_length)
        elif head.chunked:
            self._chunking = True
            extra = "Transfer-Encoding: chunked\r\n"
        if head.close:
            self._disconnect_on_finish = True
        return encode_head(f"{head.text}{extra}\r\n")

    def write_request(self, method: str, head: bytes, body: bytes | None) -> asyncio.Future[None]:
        """Write a whole request: `head`, a `RequestHead`'s ``data``, and its `body`.

        ``write_headers`` (with the body) and `finish` in one, for a head
        serialized (and checked) once and reused: one whose body, if any,
        has the ``Content-Length`` it declares, and whose connection stays
        open (``RequestHead.reusable``).  Returns the write's Future, as
        ``write_headers`` does.

        :raises HTTPOutputError: if headers were already written.
        """
        if self._write_state != _IDLE:
            raise HTTPOutputError("write_headers() called twice")
        self._parser.set_request_method(method)
        self._write_state = _FINISHED
        try:
            future = self.stream.write(head + body if body else head)
        except StreamClosedError as exc:
            future = closed_future(self._loop, exc.real_error)
        self._last_write = future
        return future


class RequestHead(NamedTuple):
    """A request's head as written: its text, checked, and what it says about the body.

    See `RequestHead.of`.
    """

    #: The request line and the header fields, each line with its CRLF,
    #: without the empty line that ends the head.
    text: str
    content_length: str | None  #: the Content-Length field's value
    #: Without Content-Length or Transfer-Encoding, a method whose body is
    #: sent chunked (POST, PUT, PATCH): ``Transfer-Encoding: chunked`` is added.
    chunked: bool
    close: bool  #: ``Connection: close``

    @classmethod
    def of(cls, method: str, path: str, headers: HTTPHeaders) -> RequestHead:
        """Serialize and check a request head.

        :raises HTTPOutputError: if the method is not a token, the target
            has whitespace or controls, a field name is not a token or a
            value contains CR, LF or NUL.
        """
        if _METHOD.fullmatch(method) is None or _TARGET.fullmatch(path) is None:
            raise HTTPOutputError(f"Invalid request line: {method[:32]!r} {path[:64]!r}")
        block, content_length, transfer_encoding, connection = serialize_fields(headers, False)
        return _new_tuple(
            cls,
            (
                f"{method} {path} HTTP/1.1\r\n{block}",
                content_length,
                content_length is None and transfer_encoding is None and method in _BODY_METHODS,
                connection is not None and "close" in connection.lower(),
            ),
        )

    @property
    def data(self) -> bytes:
        """The whole head on the wire (for `write_request`).

        :raises HTTPOutputError: if it is not latin-1.
        """
        return encode_head(f"{self.text}\r\n")

    def reusable(self, body: bytes | None) -> bool:
        """Whether `write_request` may send this head with `body` (see there)."""
        if self.chunked or self.close:
            return False
        if body is None:
            return self.content_length is None
        return self.content_length == str(len(body))
