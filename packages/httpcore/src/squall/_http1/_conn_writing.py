"""Writing of `HTTP1Connection`: heads, bodies and the end of a message (see `_connection`)."""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import Callable

from squall._http1._conn_core import (
    _FINISHED,
    _IDLE,
    _WRITING,
    ConnectionCore,
    closed_future,
    with_callback,
)
from squall._http1._writer import (
    LAST_CHUNK,
    frame_chunk,
    reason_phrase,
    response_head,
    serialize_fields,
    unencodable,
)
from squall._http1._writer import usual_response as _usual_response
from squall.httputil import HTTPHeaders, HTTPOutputError, RequestStartLine, ResponseStartLine
from squall.iostream import StreamClosedError

__all__ = ["Writing"]

# RFC 9110 §8.6: Content-Length = 1*DIGIT.
_DIGITS = re.compile(r"[0-9]+")
_CONNECTION_CLOSE = re.compile(rb"(?im)^connection:[ \t]*close[ \t]*\r?$")


class Writing(ConnectionCore):
    """`HTTP1Connection`'s write side (both sides)."""

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
            data = self._request_head_bytes(start_line, headers)  # type: ignore[arg-type,unused-ignore]
        elif _usual_response is not None and type(headers) is HTTPHeaders and not headers._lists:
            # The usual response (a length, nothing to add, the connection
            # kept open: what _response_head_bytes would decide), its head
            # and body joined in C.
            usual = _usual_response(
                self._request_head, start_line, headers._dict, chunk, self.no_keep_alive
            )
            if usual is not None:
                data, self._remaining = usual
                chunk = None  # in data already
            else:
                data = self._response_head_bytes(start_line, headers)  # type: ignore[arg-type]
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
            future = closed_future(self.stream.io_loop.asyncio_loop, exc.real_error)
        self._last_write = future
        if callback is not None:
            return with_callback(future, callback)
        return future

    def _response_head_bytes(self, start_line: ResponseStartLine, headers: HTTPHeaders) -> bytes:
        """The bytes of a response head; sets how the body is framed.

        Everything is checked (names, values, the reason, the length)
        before the connection's state changes: after an `HTTPOutputError`
        the application may call ``write_headers`` again.
        """
        head = self._request_head
        assert head is not None
        code = start_line.code
        no_framing = code < 200 or code == 204
        reason = start_line.reason
        joined: dict[str, str] | None = None
        block: str | None = None
        if (
            response_head is None
            or type(headers) is not HTTPHeaders
            or headers._lists
            or (
                no_framing
                and ("Content-Length" in headers._dict or "Transfer-Encoding" in headers._dict)
            )
        ):
            block, content_length, transfer_encoding, connection = serialize_fields(
                headers, no_framing
            )
            if (
                content_length is not None
                and connection is None
                and head.keep_alive
                and head.version == "HTTP/1.1"
                and not no_framing
                and code != 304
                and head.method != "HEAD"
                and not self.no_keep_alive
                and reason in _checked_reasons
            ):
                # The usual response without the compiled module: a length,
                # nothing to add, the connection kept open (what the
                # general path below decides, in one test).
                length = (
                    _lengths[content_length]
                    if content_length in _lengths
                    else _parse_length(content_length)
                )
                try:
                    # %d: the code may be an IntEnum (http.HTTPStatus).
                    usual = ("HTTP/1.1 %d %s\r\n%s\r\n" % (code, reason, block)).encode(  # noqa: UP031
                        "latin-1"
                    )
                except UnicodeEncodeError as exc:
                    raise unencodable(exc) from None
                self._remaining = length
                return usual
        else:
            # The compiled module writes (and checks) the fields below.
            joined = headers._dict
            content_length = joined.get("Content-Length")
            transfer_encoding = joined.get("Transfer-Encoding")
            connection = joined.get("Connection")
        version = head.version
        disconnect = (
            self.no_keep_alive
            or not head.keep_alive
            or (connection is not None and "close" in str(connection).lower())
        )
        remaining: int | None = None
        bodiless = chunking = False
        extra = ""
        if code < 200 or code == 204 or code == 304 or head.method == "HEAD":
            # No body (RFC 9110 §6.4.1): not even for a declared length.
            remaining = 0
            bodiless = True
        elif content_length is not None:
            if content_length in _lengths:
                remaining = _lengths[content_length]
            else:
                remaining = _parse_length(content_length)
        elif transfer_encoding is not None:
            pass  # the application frames the body itself
        elif version == "HTTP/1.1":
            chunking = True
            extra = "Transfer-Encoding: chunked\r\n"
        else:
            disconnect = True  # RFC 9112 §6.3: the body ends when the connection does
        if disconnect:
            if version == "HTTP/1.1" and connection is None:
                extra += "Connection: close\r\n"
        elif version == "HTTP/1.0" and connection is None:
            extra += "Connection: keep-alive\r\n"
        if not reason:
            reason = reason_phrase(code)
        data: bytes | None = None
        if joined is not None:
            assert response_head is not None
            data = response_head(code, reason, joined, extra, None)
            if data is None:
                # Something for the Python code: raise the precise error, or
                # write what the compiled module leaves to it (a value that
                # is not a str, a status code of another length...).
                block = serialize_fields(headers, no_framing)[0]
        if data is None:
            if reason not in _checked_reasons:
                _check_reason(reason)
            try:
                # %d: the code may be an IntEnum (http.HTTPStatus).
                data = ("HTTP/1.1 %d %s\r\n%s%s\r\n" % (code, reason, block, extra)).encode(  # noqa: UP031
                    "latin-1"
                )
            except UnicodeEncodeError as exc:
                raise unencodable(exc) from None
        # Everything is checked: now the state.
        if remaining is not None:
            self._remaining = remaining
        if bodiless:
            self._bodiless = True
            self._drop_body = head.method == "HEAD"
            self._switching = code == 101
        if chunking:
            self._chunking = True
        if disconnect:
            self._disconnect_on_finish = True
        return data

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
            return with_callback(future, callback)
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
            future = closed_future(self.stream.io_loop.asyncio_loop, exc.real_error)
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


# Reason phrases already checked (bounded: emptied when full).
_checked_reasons: set[str] = {"OK"}
_REASONS_CHECKED = 100


def _check_reason(reason: str) -> None:
    """Raise HTTPOutputError if `reason` is unsafe; remember it if not."""
    if "\r" in reason or "\n" in reason or "\0" in reason:
        raise HTTPOutputError("Unsafe reason phrase (CR, LF or NUL)")
    if len(_checked_reasons) >= _REASONS_CHECKED:
        _checked_reasons.clear()
    _checked_reasons.add(reason)


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
