"""A requests-style asynchronous HTTP client with sessions.

`HttpClient` keeps a pool of keep-alive connections and a cookie jar, and
sends requests with an API close to the ``requests`` library::

    from squall.client import HttpClient

    async def main():
        sessions = HttpClient()
        try:
            response = await sessions.get("http://bla.com", params={"page": 2})
            print(response.status_code, response.headers["Content-Type"])
            data = response.json()
            response = await sessions.post("http://bla.com/items", json={"name": "x"})
            response.raise_for_status()
        finally:
            sessions.close()

Bodies: ``data`` (a dict is form-encoded; bytes or str as they are; a sync
or async generator is streamed), ``json``, ``files`` (multipart).
Authentication: ``auth=(user, password)``, `HTTPBasicAuth`,
`HTTPDigestAuth`, `OAuth1`, `OAuth2`.  Streaming: ``stream=True`` returns
the response once its head is in; iterate ``response.raw`` (once) or
``await response.raw.read()``.  Events (`Event`): ``pre_request``,
``on_headers``, ``post_request`` once per response; ``data_received`` and
``data_processed`` for each chunk of the body; bound for the session
(``sessions.event("on_headers").bind(handler)``) or for one request
(``sessions.get(url, on_headers=handler)``).

Synchronous mode: ``HttpClient(loop=asyncio.new_event_loop())`` runs that
loop in each call (when it is not running) and returns the response.

Errors::

    HttpRequestException
    ├── HttpConnectionError (HttpTimeout, SSLError)
    ├── HTTPError (raise_for_status)
    ├── TooManyRedirects
    └── StreamConsumedError
"""

from __future__ import annotations

from squall._client._auth import Auth, HTTPBasicAuth, HTTPDigestAuth, OAuth1, OAuth2
from squall._client._errors import (
    HttpConnectionError,
    HTTPError,
    HttpRequestException,
    HttpTimeout,
    SSLError,
    StreamConsumedError,
    TooManyRedirects,
)
from squall._client._events import Event
from squall._client._request import HttpRequest
from squall._client._response import HttpResponse, HttpStream
from squall._client._session import HttpClient

__all__ = [
    "Auth",
    "Event",
    "HTTPBasicAuth",
    "HTTPDigestAuth",
    "HTTPError",
    "HttpClient",
    "HttpConnectionError",
    "HttpRequest",
    "HttpRequestException",
    "HttpResponse",
    "HttpStream",
    "HttpTimeout",
    "OAuth1",
    "OAuth2",
    "SSLError",
    "StreamConsumedError",
    "TooManyRedirects",
]
