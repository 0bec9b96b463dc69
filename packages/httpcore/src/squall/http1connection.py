"""Client and server implementations of HTTP/1.x.

`HTTP1Connection` speaks one HTTP/1.x message exchange over an `IOStream`
(a client writes a request and reads the response; a server reads a
request and writes the response), `HTTP1ServerConnection` serves the
requests of one server-side connection in turn, and
`HTTP1ConnectionParameters` holds their limits.  `squall.httpserver` and
the HTTP clients are built on them.

The bytes are parsed by squall's sans-I/O HTTP/1.1 parser (on httptools
when it is installed, unless ``SQUALL_NO_EXTENSIONS=1``), strictly:
malformed requests are answered with 400 (or 413, 414, 431, 501, 505) and
``Connection: close``, and every buffer and wait is bounded.
"""

from __future__ import annotations

from squall._http1._connection import HTTP1Connection
from squall._http1._params import HTTP1ConnectionParameters
from squall._http1._server_conn import HTTP1ServerConnection

__all__ = ["HTTP1Connection", "HTTP1ConnectionParameters", "HTTP1ServerConnection"]
