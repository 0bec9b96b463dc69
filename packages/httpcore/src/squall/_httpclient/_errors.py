"""The exceptions of the HTTP clients (public via `squall.httpclient` and
`squall.simple_httpclient`).

::

    Exception
     └── HTTPClientError (alias HTTPError)   code, message, response
          ├── HTTPTimeoutError               599: a connect, queue or request timeout
          └── HTTPStreamClosedError          599: the connection closed or was reset
                                             before the response was complete

Code 599 means that no (complete, valid) HTTP response was received: the
server could not be reached, the TLS handshake failed, the response was
malformed, truncated or too large, or a timeout expired.  The lower-level
exception (an `OSError`, a `ssl.SSLError`, a parse error...) is chained as
``__cause__``; it never escapes on its own.
"""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from squall._httpclient._response import HTTPResponse

__all__ = ["HTTPClientError", "HTTPStreamClosedError", "HTTPTimeoutError"]

#: The pseudo status of transport failures (no HTTP response was received).
TRANSPORT_ERROR = 599


class HTTPClientError(Exception):
    """An unsuccessful HTTP request.

    - ``code``: the HTTP status (e.g. 404), or 599 when no HTTP response was
      received (connection refused, timeout, malformed response...);
    - ``message``: a description; by default the status' reason phrase;
    - ``response``: the `HTTPResponse`, if any.

    With ``follow_redirects=False`` (or once ``max_redirects`` is reached),
    a redirect becomes an HTTPClientError: its destination is in
    ``error.response.headers["Location"]``.

    ``HTTPError`` is another name for this class (its Tornado 4 name).
    Instances can be copied (`copy.copy`) and have a `repr` that never fails.
    """

    __module__ = "squall.httpclient"

    def __init__(
        self, code: int, message: str | None = None, response: HTTPResponse | None = None
    ) -> None:
        self.code = code
        self.message = message or http.client.responses.get(code, "Unknown")
        self.response = response
        super().__init__(code, message, response)

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"

    # The default repr would show the args; this one names the class.
    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.response))


class HTTPTimeoutError(HTTPClientError):
    """A timeout expired (code 599); the message says in which phase.

    Raised by `squall.simple_httpclient.SimpleAsyncHTTPClient` for the
    ``connect_timeout`` (including the time spent waiting in the
    ``max_clients`` queue) and the ``request_timeout``.
    """

    __module__ = "squall.simple_httpclient"

    def __init__(self, message: str) -> None:
        super().__init__(TRANSPORT_ERROR, message or "Timeout")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))


class HTTPStreamClosedError(HTTPClientError):
    """The connection closed before the response was complete (code 599).

    The server closed or reset it (``__cause__`` holds the `OSError` when
    there is one), or the client itself closed it (`AsyncHTTPClient.close`).
    """

    __module__ = "squall.simple_httpclient"

    def __init__(self, message: str) -> None:
        super().__init__(TRANSPORT_ERROR, message or "Stream closed")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))
