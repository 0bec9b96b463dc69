"""`HTTPResponse`: the outcome of a fetch (public via `squall.httpclient`)."""

from __future__ import annotations

import http.client
import io
from typing import Any

from squall._httpclient._errors import HTTPClientError
from squall._httpclient._request import HTTPRequest
from squall.httputil import HTTPHeaders

__all__ = ["HTTPResponse"]


class HTTPResponse:
    """An HTTP response (or the failure to get one).

    Attributes:

    - ``request``: the `HTTPRequest` given to ``fetch``;
    - ``code``: the HTTP status, e.g. 200 or 404 (599 when no response was
      received);
    - ``reason``: the reason phrase sent by the server (or the standard one);
    - ``headers``: an `HTTPHeaders`;
    - ``effective_url``: the URL of the resource after any redirects;
    - ``buffer``: an `io.BytesIO` of the body, or None;
    - ``body``: the body as `bytes`, read on first access from ``buffer``
      (``b""`` without one);
    - ``error``: the exception of a failed request: an `HTTPClientError` for
      any status outside 2xx (built here when not given), or whatever
      prevented the response (code 599);
    - ``request_time``: seconds from the start of the request to its end;
    - ``start_time``: the wall-clock time (`time.time`) at which it started;
    - ``time_info``: timing details; ``time_info["queue"]`` is the time
      spent waiting for a ``max_clients`` slot.
    """

    __module__ = "squall.httpclient"

    error: BaseException | None
    _body: bytes | None
    _buffer: io.BytesIO | None
    # The body was given as bytes (`_received`): ``buffer`` is made from it
    # on first access (most callers only read ``body``).
    _lazy_buffer = False

    def __init__(
        self,
        request: HTTPRequest,
        code: int,
        headers: HTTPHeaders | None = None,
        buffer: io.BytesIO | None = None,
        effective_url: str | None = None,
        error: BaseException | None = None,
        request_time: float | None = None,
        time_info: dict[str, float] | None = None,
        reason: str | None = None,
        start_time: float | None = None,
    ) -> None:
        self.request = request
        self.code = code
        self.reason = reason or http.client.responses.get(code, "Unknown")
        self.headers = headers if headers is not None else HTTPHeaders()
        self._buffer = buffer
        self._body = None
        self.effective_url = request.url if effective_url is None else effective_url
        self.start_time = start_time
        self.request_time = request_time
        self.time_info = time_info if time_info is not None else {}
        if error is None and not 200 <= code < 300:
            error = HTTPClientError(code, message=self.reason, response=self)
        self.error = error

    @classmethod
    def _received(
        cls,
        request: HTTPRequest,
        code: int,
        reason: str,
        headers: HTTPHeaders,
        body: bytes,
        effective_url: str,
        request_time: float,
        start_time: float,
        time_info: dict[str, float],
    ) -> HTTPResponse:
        """A received response whose body is `body` (its ``buffer`` made when first used).

        What the constructor does, without its call (the simple client makes
        one per fetch).
        """
        response = cls.__new__(cls)
        response.request = request
        response.code = code
        response.reason = reason or http.client.responses.get(code, "Unknown")
        response.headers = headers
        response._buffer = None
        response._body = body
        response._lazy_buffer = True
        response.effective_url = effective_url
        response.start_time = start_time
        response.request_time = request_time
        response.time_info = time_info
        response.error = (
            None
            if 200 <= code < 300
            else HTTPClientError(code, message=response.reason, response=response)
        )
        return response

    @property
    def buffer(self) -> io.BytesIO | None:
        """An `io.BytesIO` of the body, or None."""
        if self._lazy_buffer:
            self._lazy_buffer = False
            self._buffer = io.BytesIO(self._body)  # type: ignore[arg-type]
        return self._buffer

    @buffer.setter
    def buffer(self, value: io.BytesIO | None) -> None:
        self._lazy_buffer = False
        self._buffer = value
        self._body = None

    @property
    def body(self) -> bytes:
        """The response body (``b""`` when there is no buffer)."""
        if self._body is None:
            self._body = b"" if self._buffer is None else self._buffer.getvalue()
        return self._body

    def rethrow(self) -> None:
        """Raise ``error`` if the request failed; do nothing otherwise."""
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        fields: dict[str, Any] = {
            "code": self.code,
            "reason": self.reason,
            "effective_url": self.effective_url,
            "error": self.error,
            "request_time": self.request_time,
        }
        inner = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        return f"HTTPResponse({inner})"
