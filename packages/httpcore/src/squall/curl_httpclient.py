"""Non-blocking HTTP client implementation using libcurl (``squall-httpcore[curl]``).

`CurlAsyncHTTPClient` runs libcurl's multi interface on the IOLoop (its
socket and timer callbacks become IOLoop handlers and timeouts).  Select
it for every ``AsyncHTTPClient()``::

    from squall.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure("curl", max_clients=50)

    async def main():
        response = await AsyncHTTPClient().fetch("https://example.com/")

It behaves as `squall.simple_httpclient.SimpleAsyncHTTPClient`, plus
``prepare_curl_callback`` and ``network_interface``, minus
``body_producer``.  Transport failures are `CurlError` (an
`squall.httpclient.HTTPClientError` with code 599 and libcurl's ``errno``).

Importing this module without pycurl raises `ImportError` naming the extra
to install: ``pip install squall-httpcore[curl]``.
"""

from __future__ import annotations

from squall._curl._client import CurlAsyncHTTPClient
from squall._curl._errors import CurlError

__all__ = ["CurlAsyncHTTPClient", "CurlError"]
