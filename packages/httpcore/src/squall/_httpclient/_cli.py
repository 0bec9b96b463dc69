"""``python -m squall.httpclient [options] URL...``: fetch URLs and print them.

Options (parsed with `squall.options`, on the global parser as Tornado
does, so the logging options work too)::

    --print_headers=BOOL     print the response headers (default false)
    --print_body=BOOL        print the response body (default true)
    --follow_redirects=BOOL  follow redirects (default true)
    --validate_cert=BOOL     verify TLS certificates (default true)
    --proxy_host=HOST        an HTTP proxy
    --proxy_port=PORT        the proxy's port

A response with an error status is printed like any other.  The exit
status is 1 if some URL could not be fetched at all (the error goes to
stderr), 0 otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_OPTIONS: list[tuple[str, type, object, str]] = [
    ("print_headers", bool, False, "print the response headers"),
    ("print_body", bool, True, "print the response body"),
    ("follow_redirects", bool, True, "follow redirects"),
    ("validate_cert", bool, True, "verify the server's TLS certificate"),
    ("proxy_host", str, None, "HTTP proxy host"),
    ("proxy_port", int, None, "HTTP proxy port"),
]


def main(args: Sequence[str] | None = None) -> int:
    """Run the command line interface; return the exit status.

    `args` is the whole command line, program name first (``sys.argv`` by
    default).
    """
    from squall._httpclient._client import HTTPClient
    from squall._httpclient._errors import HTTPClientError
    from squall.options import define, options, parse_command_line

    for name, type_, default, help_text in _OPTIONS:
        if name not in options:
            define(name, type=type_, default=default, help=help_text, group="squall.httpclient")
    urls = parse_command_line(args)
    if not urls:
        print("usage: python -m squall.httpclient [options] URL...", file=sys.stderr)
        return 2
    status = 0
    client = HTTPClient()
    try:
        for url in urls:
            try:
                response = client.fetch(
                    url,
                    follow_redirects=options.follow_redirects,
                    validate_cert=options.validate_cert,
                    proxy_host=options.proxy_host,
                    proxy_port=options.proxy_port,
                )
            except HTTPClientError as exc:
                if exc.response is None or exc.code == 599:
                    print(f"Error fetching {url}: {exc}", file=sys.stderr)
                    status = 1
                    continue
                response = exc.response
            if options.print_headers:
                sys.stdout.write(f"HTTP/1.1 {response.code} {response.reason}\n")
                sys.stdout.write(str(response.headers))
                sys.stdout.write("\n")
            if options.print_body:
                sys.stdout.flush()
                sys.stdout.buffer.write(response.body)
                sys.stdout.buffer.flush()
    finally:
        client.close()
    return status
