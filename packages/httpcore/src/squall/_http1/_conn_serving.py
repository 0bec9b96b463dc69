"""The server side's reading of `HTTP1Connection`: a request's head and body.

Driven by `HTTP1ServerConnection`; see `squall._http1._connection`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from squall._http1._conn_core import _IDLE, ConnectionCore
from squall._http1._decompress import BodyTooLargeError, GzipMessageDelegate
from squall._http1._events import RequestHead
from squall._http1._writer import CONTINUE_RESPONSE
from squall.httputil import HTTPMessageDelegate, RequestStartLine

if TYPE_CHECKING:
    from squall._http1._server_conn import HTTP1ServerConnection

__all__ = ["ServerSide"]

_new_tuple = tuple.__new__


class ServerSide(ConnectionCore):
    """`HTTP1Connection`'s server side: delivering a request to its delegate."""

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
        if not self._deliver_head(start_line, head.headers, self._start_body):
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
