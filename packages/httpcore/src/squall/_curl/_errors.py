"""`CurlError`: a transfer libcurl could not complete (public via `squall.curl_httpclient`)."""

from __future__ import annotations

from typing import Any

from squall._httpclient._errors import TRANSPORT_ERROR, HTTPClientError

__all__ = ["CURLE_OPERATION_TIMEDOUT", "CurlError"]

#: libcurl's error number for an expired timeout (CURLE_OPERATION_TIMEDOUT).
CURLE_OPERATION_TIMEDOUT = 28


class CurlError(HTTPClientError):
    """libcurl failed the transfer (code 599): refused connection, timeout, TLS failure...

    ``errno`` is libcurl's error number (a ``CURLE_*`` constant, e.g. 7
    for a refused connection, 28 for a timeout) and ``message`` libcurl's
    description of the failure.
    """

    __module__ = "squall.curl_httpclient"

    def __init__(self, errno: int, message: str) -> None:
        super().__init__(TRANSPORT_ERROR, message or f"libcurl error {errno}")
        self.errno = errno

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errno, self.message))
