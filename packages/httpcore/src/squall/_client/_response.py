"""`HttpResponse` and its streamed body `HttpStream` (``response.raw``).

A response is filled by its session as the lower layer reports: the head
at once (`_head`), the body chunk by chunk (`_feed`), then the
end (`_finish`).  Without ``stream=True`` the body is kept in the response
(``content``); with it, chunks go to ``raw`` for the caller to iterate.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import json as jsonlib
import re
from collections.abc import AsyncIterator
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from squall._client._errors import HTTPError, StreamConsumedError
from squall.httputil import HTTPHeaders

if TYPE_CHECKING:
    from squall._client._events import Handler
    from squall._client._request import HttpRequest

__all__ = ["HIGH_WATER", "HttpResponse", "HttpStream", "parse_links"]

#: Bytes of a streamed body buffered before `HttpStream` asks the
#: connection to wait (it resumes below half of it): a few socket reads'
#: worth, so that a slow consumer does not make the body pile up in memory.
HIGH_WATER = 1 << 20


class HttpStream:
    """The body of a response as it arrives: an async iterable of bytes, consumable once.

    ``async for chunk in response.raw`` yields the chunks in order;
    ``await response.raw.read()`` returns the whole body.  Either consumes
    the stream: a second iteration or read raises `StreamConsumedError`.
    A failure of the transfer (reset, timeout) is raised by the iteration.
    """

    __module__ = "squall.client"

    def __init__(self, response: HttpResponse) -> None:
        self.response = response
        self._chunks: collections.deque[bytes] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._consumed = False
        self._buffered = 0  # bytes in _chunks
        self._drained: asyncio.Future[None] | None = None

    @property
    def done(self) -> bool:
        """Whether the whole body has arrived (or the transfer failed)."""
        return self._done

    def _put(self, chunk: bytes) -> asyncio.Future[None] | None:
        """Buffer `chunk`; past `HIGH_WATER`, return a Future resolved once drained.

        The Future is flow control for the connection: a lower layer that
        waits for what its ``streaming_callback`` returns stops reading
        until the consumer has caught up.
        """
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        self._wake()
        if self._buffered > HIGH_WATER and self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        return self._drained

    def _taken(self, chunk: bytes) -> bytes:
        self._buffered -= len(chunk)
        drained = self._drained
        if drained is not None and self._buffered <= HIGH_WATER // 2:
            self._drained = None
            if not drained.done():
                drained.set_result(None)
        return chunk

    def _finish(self, error: BaseException | None) -> None:
        self._done = True
        self._error = error
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _consume(self) -> None:
        if self._consumed:
            raise StreamConsumedError("The body of this response was read already", self.response)
        self._consumed = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._consume()
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if not self.response.request.stream:
            # Not streamed: the body is in the response; it is given whole.
            await self._wait_done()
            if self.response._content:
                yield bytes(self.response._content)
            return
        chunks = self._chunks
        while True:
            while chunks:
                yield self._taken(chunks.popleft())
            if self._done:
                if self._error is not None:
                    raise self._error
                return
            await self._wait()

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def _wait_done(self) -> None:
        while not self._done:
            await self._wait()
        if self._error is not None:
            raise self._error

    async def read(self) -> bytes:
        """The whole (rest of the) body, once it has arrived.

        :raises StreamConsumedError: if the stream was iterated or read.
        """
        self._consume()
        parts = [chunk async for chunk in self._iterate()]
        content = b"".join(parts)
        if self.response.request.stream:
            self.response._content = bytearray(content)
        return content


class HttpResponse:
    """The answer to a request of an `HttpClient`.

    ``status_code``, ``reason``, ``headers`` (an `HTTPHeaders`) are set when
    the head arrives; ``content`` holds the body (unless streamed through
    ``raw``).  ``history`` lists the redirect responses that led here,
    oldest first; ``request`` is the `HttpRequest` that got this answer.
    """

    __module__ = "squall.client"

    def __init__(self, request: HttpRequest, history: list[HttpResponse] | None = None) -> None:
        self.request = request
        self.history: list[HttpResponse] = list(history) if history else []
        self.status_code: int | None = None
        self.reason = ""
        self.version = "HTTP/1.1"
        self.headers = HTTPHeaders()
        self.raw = HttpStream(self)
        self._content = bytearray()
        self._head_done = False
        self._cookies: dict[str, str] | None = None
        self.handlers: dict[str, list[Handler]] = {}
        #: The first exception raised by an event handler run as data arrived.
        self.handler_error: Exception | None = None
        # What identifies the lower layer's fetch (see _session._abort).
        self._abort_key: object = None
        # Resolved by the session when the transfer is over (the error, if
        # any, is raw's).
        self._done: asyncio.Future[None]

    @property
    def url(self) -> str:
        """The URL of the request (after its query parameters were added)."""
        return self.request.url

    @property
    def ok(self) -> bool:
        """Whether the status is below 400."""
        return self.status_code is not None and self.status_code < 400

    def get_status(self) -> str:
        """``"200 OK"``: the status code and reason."""
        return f"{self.status_code} {self.reason}".strip()

    # -- filled by the session -------------------------------------------

    def _head(self, version: str, code: int, reason: str, headers: HTTPHeaders) -> None:
        """Take the head (the lower layer's, as it arrives: its headers object becomes ours)."""
        self.version = version
        self.status_code = code
        self.reason = reason
        self.headers = headers
        self._head_done = True

    def _feed(self, chunk: bytes) -> asyncio.Future[None] | None:
        if self.handler_error is not None:
            return None  # a handler failed: the rest of the body is dropped
        drained = None
        try:
            for handler in self.handlers.get("data_received", ()):
                handler(self, data=chunk)
            if self.request.stream:
                drained = self.raw._put(chunk)
            else:
                self._content += chunk
            for handler in self.handlers.get("data_processed", ()):
                handler(self, data=chunk)
        except Exception as exc:
            # Raised to the caller as it is, not as a transport failure.
            self.handler_error = exc
        return drained

    # -- the body ---------------------------------------------------------

    @property
    def content(self) -> bytes:
        """The body received (of a streamed response: once ``raw.read()`` returned)."""
        return bytes(self._content)

    def recv_body(self) -> bytes:
        """The body received since the last call, which is removed from the response.

        For streaming through the ``data_processed`` event without keeping
        the whole body in memory.
        """
        body = bytes(self._content)
        self._content.clear()
        return body

    @property
    def encoding(self) -> str | None:
        """The ``charset`` of the ``Content-Type``, if any."""
        content_type = self.headers.get("Content-Type", "")
        match = re.search(r";\s*charset\s*=\s*\"?([\w.:-]+)", content_type, re.IGNORECASE)
        if match is None:
            return None
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            return None

    def text(self, charset: str | None = None, errors: str = "strict") -> str:
        """The body decoded as `charset`, by default that of the ``Content-Type``, else UTF-8."""
        return self.content.decode(charset or self.encoding or "utf-8", errors)

    def json(self) -> Any:
        """The body parsed as JSON.

        :raises ValueError: if it is not JSON.
        """
        return jsonlib.loads(self.text())

    def decode_content(self) -> Any:
        """The best representation of the body: JSON as objects, text as str, else bytes."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            return self.json()
        if content_type.startswith("text/") or self.encoding is not None:
            return self.text(errors="replace")
        return self.content

    # -- the head ---------------------------------------------------------

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this response sets (``Set-Cookie``), name to value."""
        if self._cookies is None:
            cookies: dict[str, str] = {}
            for header in self.headers.get_list("Set-Cookie"):
                parsed: SimpleCookie = SimpleCookie()
                try:
                    parsed.load(header)
                except CookieError:
                    continue
                for name, morsel in parsed.items():
                    cookies[name] = morsel.value
            self._cookies = cookies
        return self._cookies

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The ``Link`` header (RFC 8288): each link by its ``rel`` (or URL).

        >>> # Link: <https://api/?page=2>; rel="next"
        >>> # response.links["next"]["url"] == "https://api/?page=2"
        """
        links: dict[str, dict[str, str]] = {}
        for header in self.headers.get_list("Link"):
            for link in parse_links(header):
                links[link.get("rel") or link["url"]] = link
        return links

    def info(self) -> _Info:
        """The headers, in the form `http.cookiejar.CookieJar` asks for."""
        return _Info(self.headers)

    def raise_for_status(self) -> None:
        """Raise `HTTPError` if the status is 4xx or 5xx."""
        code = self.status_code
        if code is not None and 400 <= code < 600:
            kind = "Client" if code < 500 else "Server"
            raise HTTPError(f"{code} {kind} Error: {self.reason} for url: {self.url}", self)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class _Info:
    """What `http.cookiejar.CookieJar.extract_cookies` reads of a response."""

    def __init__(self, headers: HTTPHeaders) -> None:
        self._headers = headers

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        return self._headers.get_list(name) or default


_LINK = re.compile(r"\s*<([^>]*)>")
_PARAM = re.compile(r'\s*;\s*([^\s=;,]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,]*))?')
_SEPARATOR = re.compile(r"\s*,")


def parse_links(header: str) -> list[dict[str, str]]:
    """The links of a ``Link`` header value (RFC 8288 §3), each a dict with ``url``.

    Parsing stops at the first malformed link (what came before is kept).
    """
    links: list[dict[str, str]] = []
    position = 0
    while True:
        match = _LINK.match(header, position)
        if match is None:
            break
        link = {"url": match.group(1).strip()}
        position = match.end()
        while (param := _PARAM.match(header, position)) is not None:
            name, value = param.group(1), (param.group(2) or "").strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            link.setdefault(name.lower(), value)
            position = param.end()
        links.append(link)
        separator = _SEPARATOR.match(header, position)
        if separator is None:
            break
        position = separator.end()
    return links
