"""The exceptions of `squall.client`.

::

    HttpRequestException            anything that went wrong with a request
    ├── HttpConnectionError         no (complete) response: refused, reset,
    │   │                           malformed or truncated answer
    │   ├── HttpTimeout             connect or request timeout
    │   └── SSLError                TLS handshake or certificate failure
    ├── HTTPError                   raise_for_status(): a 4xx or 5xx answer
    ├── TooManyRedirects            more than max_redirects redirects
    └── StreamConsumedError         the body of a response was read already

The lower layer's `squall.httpclient.HTTPClientError` never leaks out: it is
translated by `translate` and chained as ``__cause__``.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from squall._httpclient._errors import HTTPClientError, HTTPTimeoutError

if TYPE_CHECKING:
    from squall._client._response import HttpResponse

__all__ = [
    "HTTPError",
    "HttpConnectionError",
    "HttpRequestException",
    "HttpTimeout",
    "SSLError",
    "StreamConsumedError",
    "TooManyRedirects",
    "translate",
]


class HttpRequestException(Exception):
    """Base class of the errors of `squall.client`.

    ``response`` is the `HttpResponse` concerned, when there is one.
    """

    __module__ = "squall.client"

    def __init__(self, message: str = "", response: HttpResponse | None = None) -> None:
        super().__init__(message)
        self.response = response


class HttpConnectionError(HttpRequestException):
    """No complete response: the connection failed, was reset or the answer was malformed."""

    __module__ = "squall.client"


class HttpTimeout(HttpConnectionError):
    """The connect or request timeout expired."""

    __module__ = "squall.client"


class SSLError(HttpConnectionError):
    """The TLS handshake failed (an unverifiable certificate, a protocol error...)."""

    __module__ = "squall.client"


class HTTPError(HttpRequestException):
    """Raised by `HttpResponse.raise_for_status` for a 4xx or 5xx status."""

    __module__ = "squall.client"


class TooManyRedirects(HttpRequestException):
    """More redirects than ``max_redirects``; ``response`` is the last one."""

    __module__ = "squall.client"


class StreamConsumedError(HttpRequestException):
    """The streamed body of a response (``response.raw``) was consumed already."""

    __module__ = "squall.client"


def _is_tls_failure(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 8:  # a bounded walk down the chain
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def translate(exc: BaseException, response: HttpResponse | None = None) -> HttpRequestException:
    """Return the `squall.client` error standing for the lower layer's `exc`.

    The caller raises it ``from exc``.
    """
    if isinstance(exc, HTTPTimeoutError):
        return HttpTimeout(str(exc), response)
    if _is_tls_failure(exc):
        return SSLError(str(exc), response)
    if isinstance(exc, HTTPClientError | OSError):
        return HttpConnectionError(str(exc), response)
    return HttpRequestException(str(exc), response)
