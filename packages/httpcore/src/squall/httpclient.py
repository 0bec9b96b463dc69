"""Blocking and non-blocking HTTP client interfaces.

This module defines the interface shared by the HTTP client
implementations, `squall.simple_httpclient` (the default: no dependency
beyond the standard library and certifi, with pooled keep-alive
connections) and `squall.curl_httpclient` (libcurl, ``squall-httpcore[curl]``).
Applications either instantiate an implementation directly or use
`AsyncHTTPClient`, which selects the one chosen with
`AsyncHTTPClient.configure` (by class, path, or plugin name from the
``squall.httpclient`` entry-point group: ``"simple"``, ``"curl"``)::

    from squall.httpclient import AsyncHTTPClient

    async def main():
        response = await AsyncHTTPClient().fetch("https://example.com/")
        print(response.code, len(response.body))

`HTTPClient` is the blocking version, for scripts and tests.

Exceptions::

    Exception
     └── HTTPClientError (HTTPError)   a non-2xx status, or code 599: no response
          ├── simple_httpclient.HTTPTimeoutError
          └── simple_httpclient.HTTPStreamClosedError

Command line: ``python -m squall.httpclient [--print_headers]
[--print_body=false] [--follow_redirects=false] [--validate_cert=false]
[--proxy_host=H --proxy_port=P] URL...``
"""

from __future__ import annotations

from squall._httpclient._cli import main as _cli_main
from squall._httpclient._client import AsyncHTTPClient, HTTPClient
from squall._httpclient._errors import HTTPClientError
from squall._httpclient._request import HTTPRequest
from squall._httpclient._response import HTTPResponse

__all__ = [
    "AsyncHTTPClient",
    "HTTPClient",
    "HTTPClientError",
    "HTTPError",
    "HTTPRequest",
    "HTTPResponse",
    "main",
]

#: Tornado 4's name of `HTTPClientError`.
HTTPError = HTTPClientError


def main() -> None:
    """The command line interface: ``python -m squall.httpclient [options] URL...``.

    Fetches each URL and prints its body (and, with ``--print_headers``, its
    status line and headers).  Exits with status 1 if some URL could not be
    fetched at all.
    """
    status = _cli_main()
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    main()
