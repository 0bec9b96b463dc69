"""One fetch on a curl handle: what libcurl's header and write functions receive.

A `Transfer` follows a fetch through its hops (one libcurl transfer each:
redirects are followed by the client).  libcurl passes each header line of
every response it reads (interim 1xx, an authentication challenge it
answers itself, redirects, the final response) to `Transfer.on_header`,
and the body to `Transfer.on_write`.  The transfer keeps the final
response's status, reason, headers and body, and hands the caller's
``header_callback`` and ``streaming_callback`` only the final response:

- 1xx interim heads are dropped;
- a redirect that will be followed is dropped, body included;
- a 401 or 407 may be a challenge libcurl answers with a second request
  on the same transfer: its head and body are held back until the
  transfer ends (then they are the final response) or another status line
  arrives (then they were not).

Sans-I/O apart from the user callbacks: no loop, no socket.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from squall._httpclient._errors import TRANSPORT_ERROR, HTTPClientError
from squall._httpclient._redirect import REDIRECT_CODES, redirect_request
from squall._httpclient._request import HTTPRequest
from squall._httpclient._response import HTTPResponse
from squall.httputil import HTTPHeaders, HTTPInputError

__all__ = ["Transfer"]

#: libcurl's timers (curl_easy_getinfo) reported in ``time_info``, by name.
TIMERS = ("namelookup", "connect", "appconnect", "pretransfer", "starttransfer", "total")

#: Content codings libcurl decodes (with ``ACCEPT_ENCODING`` set, as it is
#: with ``decompress_response``).
_DECODED = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "identity"})

#: Statuses that may be a challenge libcurl answers itself (RFC 9110 §11.6).
_CHALLENGES = frozenset({401, 407})


class Transfer:
    """The state of one fetch: the current hop and what its responses said.

    `on_header` and `on_write` follow pycurl's protocol: they return None
    to go on, or 0 to make libcurl abort the transfer (CURLE_WRITE_ERROR);
    `error` then says why.
    """

    def __init__(
        self,
        request: HTTPRequest,
        callback: Callable[[HTTPResponse], None],
        enqueued: float,
        start_wall: float,
        max_body_size: int,
    ) -> None:
        self.request = request
        self.callback = callback
        self.enqueued = enqueued
        self.start_wall = start_wall
        self.max_body_size = max_body_size
        self.hop = request
        self.time_info: dict[str, float] = {}
        #: An exception raised by a user callback, or a limit exceeded.
        self.error: BaseException | None = None
        self.queue_timer: Any = None
        self.failed = False  # reported while queued (timeout, close)
        self.start_hop()

    # -- hops ---------------------------------------------------------------------

    def start_hop(self, hop: HTTPRequest | None = None) -> None:
        """Reset the per-response state for a new hop (`hop`, or the first)."""
        if hop is not None:
            self.hop = hop
        self.code: int | None = None
        self.reason: str | None = None
        self.headers = HTTPHeaders()
        self.buffer = io.BytesIO()
        self.body_size = 0
        self.next_hop: HTTPRequest | None = None  # a redirect to follow
        self._in_head = False
        self._head_done = False
        self._lines: list[str] = []
        self._held: list[bytes] | None = None  # a challenge's body, held back

    # -- libcurl's callbacks ------------------------------------------------------

    def on_header(self, raw: bytes) -> int | None:
        line = raw.decode("latin-1")
        if not self._in_head:
            if not line.startswith("HTTP/"):
                return None  # trailer fields of a chunked body: not kept
            self._status_line(line)
            return None
        self._lines.append(line)
        if line.strip():
            try:
                self.headers.parse_line(line.rstrip("\r\n"))
            except HTTPInputError:
                pass  # libcurl accepted the line; the simple client would not
            return None
        return self._end_of_head()

    def _status_line(self, line: str) -> None:
        if self._head_done:
            # Another response on the same transfer: the previous one was a
            # challenge libcurl answered, or something it read past.
            self.buffer = io.BytesIO()
            self.body_size = 0
            self._held = None
        parts = line.rstrip("\r\n").split(" ", 2)
        try:
            self.code = int(parts[1])
        except (IndexError, ValueError):
            self.code = None
        self.reason = parts[2] if len(parts) > 2 and parts[2] else None
        self.headers = HTTPHeaders()
        self._lines = [line]
        self._in_head = True
        self._head_done = False

    def _end_of_head(self) -> int | None:
        self._in_head = False
        code = self.code
        if code is not None and 100 <= code < 200:
            self._lines = []  # interim: the final response follows
            return None
        self._head_done = True
        self._mark_decoded()
        if code in REDIRECT_CODES:
            self.next_hop = redirect_request(self.hop, code, self.headers.get("Location"))
            if self.next_hop is not None:
                return None
        if code in _CHALLENGES:
            self._held = []
            return None
        return self._flush_head()

    def _mark_decoded(self) -> None:
        # As the simple client (and Tornado) do: the body libcurl hands over is
        # no longer in the coding the header names.
        headers = self.headers
        encoding = headers.get("Content-Encoding")
        if not encoding or not self.hop.decompress_response:
            return
        codings = {coding.strip().lower() for coding in encoding.split(",")}
        if codings <= _DECODED:
            headers["X-Consumed-Content-Encoding"] = encoding
            del headers["Content-Encoding"]

    def _flush_head(self) -> int | None:
        lines, self._lines = self._lines, []
        callback = self.hop.header_callback
        if callback is None:
            return None
        try:
            for line in lines:
                callback(line)
        except Exception as exc:
            self.error = exc
            return 0
        return None

    def on_write(self, chunk: bytes) -> int | None:
        if self.next_hop is not None:
            return None  # the body of a redirect that is followed
        if self._held is not None:
            self._held.append(chunk)
            return None
        return self._deliver(chunk)

    def _deliver(self, chunk: bytes) -> int | None:
        self.body_size += len(chunk)
        if self.body_size > self.max_body_size:
            self.error = HTTPClientError(
                TRANSPORT_ERROR, f"Response body larger than max_body_size ({self.max_body_size})"
            )
            return 0
        streaming = self.hop.streaming_callback
        if streaming is None:
            self.buffer.write(chunk)
            return None
        try:
            streaming(chunk)
        except Exception as exc:
            self.error = exc
            return 0
        return None

    def finish_body(self) -> BaseException | None:
        """The transfer ended well: release what was held back for a challenge.

        Returns `error` (set when a user callback raised meanwhile).
        """
        held, self._held = self._held, None
        if held is not None and self._flush_head() is None:
            for chunk in held:
                if self._deliver(chunk) is not None:
                    break
        return self.error

    # -- outcomes -----------------------------------------------------------------

    def response(self, now: float) -> HTTPResponse:
        """The final response (or, without a valid status line, a 599)."""
        code = self.code
        self.time_info["total"] = now - self.enqueued
        if code is None or not self._head_done:
            # libcurl accepts a head cut short by the end of the connection.
            what = "no status line" if code is None else "incomplete head"
            return self.error_response(
                HTTPClientError(TRANSPORT_ERROR, f"Malformed HTTP response: {what}"), now
            )
        hop = self.hop
        return HTTPResponse(
            self.request,
            code,
            reason=self.reason,
            headers=self.headers if hop.header_callback is None else HTTPHeaders(),
            buffer=self.buffer,
            effective_url=hop.url,
            request_time=now - self.enqueued,
            start_time=self.start_wall,
            time_info=self.time_info,
        )

    def error_response(self, error: BaseException, now: float) -> HTTPResponse:
        """A response with code 599 carrying `error`."""
        self.time_info["total"] = now - self.enqueued
        return HTTPResponse(
            self.request,
            TRANSPORT_ERROR,
            error=error,
            effective_url=self.hop.url,
            request_time=now - self.enqueued,
            start_time=self.start_wall,
            time_info=self.time_info,
        )
