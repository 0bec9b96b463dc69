"""Non-blocking HTTP client with no dependency beyond the standard library and certifi.

`SimpleAsyncHTTPClient` is the default `squall.httpclient.AsyncHTTPClient`
implementation (plugin name ``"simple"``).  Unlike Tornado's, it keeps
HTTP/1.1 connections alive and reuses them (a bounded pool per scheme,
host and port), and supports HTTP proxies (with CONNECT tunnels for
``https``) and Digest authentication::

    from squall.simple_httpclient import SimpleAsyncHTTPClient

    async def main():
        client = SimpleAsyncHTTPClient(force_instance=True, max_clients=50)
        try:
            response = await client.fetch("https://example.com/")
        finally:
            client.close()

Its transport failures are `HTTPClientError` subclasses with code 599:
`HTTPTimeoutError` (connect, queue and request timeouts) and
`HTTPStreamClosedError` (the connection closed before the response was
complete); others (refused connections, TLS failures, malformed or too
large responses) are plain `HTTPClientError` (599) with the cause chained.
"""

from __future__ import annotations

from squall._httpclient._errors import HTTPStreamClosedError, HTTPTimeoutError
from squall._httpclient._simple import SimpleAsyncHTTPClient

__all__ = ["HTTPStreamClosedError", "HTTPTimeoutError", "SimpleAsyncHTTPClient"]
