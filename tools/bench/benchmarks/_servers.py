"""The hello-world HTTP servers of the httpserver benchmark, one per process.

Run by ``bench_httpserver.py`` (and ``profile_httpserver.py``) in the bench
venv::

    python -m benchmarks._servers IMPL LOOP

``IMPL`` is ``squall`` or ``tornado`` (the library's ``HTTPServer`` with a
plain callback, the same code for both: they share the API), or ``raw`` (an
``asyncio.Protocol`` feeding httptools, the practical ceiling); ``LOOP`` is
``asyncio`` or ``uvloop``.  squall's parser is chosen by its environment
(``SQUALL_NO_EXTENSIONS=1``: pure Python) and its uvloop backend by
``SQUALL_IOLOOP=uvloop``, which the caller sets; Tornado gets uvloop's event
loop policy; the raw server creates its loop itself.

The server listens on 127.0.0.1 on a free port, then prints one JSON line on
stdout, ``{"port": ..., "loop": ..., "httptools_loaded": ..., "parser": ...}``
(``loop`` is the module of the running asyncio loop's class, so the caller
checks it got the loop it asked for; ``parser`` is squall's choice of HTTP/1
parser, ``"python"`` or ``"httptools"``, or null), and serves until it is
terminated.  If the library
cannot be imported it prints ``{"skip": reason}`` and exits with status 0.

Every server answers every request with the same response::

    HTTP/1.1 200 OK
    Content-Type: text/plain
    Content-Length: 12

    Hello, world
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any, cast

BODY = b"Hello, world"
CONTENT_TYPE = "text/plain"
IMPLS = ("squall", "tornado", "raw")
LOOPS = ("asyncio", "uvloop")


def _ready(port: int, loop: asyncio.AbstractEventLoop) -> None:
    info = {
        "port": port,
        "pid": os.getpid(),
        "loop": type(loop).__module__,
        "httptools_loaded": "httptools" in sys.modules,
        # squall's HTTP/1 parser, as chosen at import ("python" or "httptools").
        "parser": getattr(sys.modules.get("squall._http1"), "IMPLEMENTATION", None),
    }
    print(json.dumps(info), flush=True)


# --------------------------------------------------------------------------
# squall and tornado: HTTPServer with a plain callback
# --------------------------------------------------------------------------


def hello_callback(httputil: Any) -> Callable[[Any], None]:
    """The request callback, from the library's ``httputil``.

    The documented way for a plain callable: the response goes out through
    ``request.connection`` (headers and body in one ``write_headers`` call,
    then ``finish``).
    """
    start_line = httputil.ResponseStartLine("HTTP/1.1", 200, "OK")
    response_headers = httputil.HTTPHeaders
    length = str(len(BODY))

    def handle(request: Any) -> None:
        headers = response_headers({"Content-Type": CONTENT_TYPE, "Content-Length": length})
        request.connection.write_headers(start_line, headers, BODY)
        request.connection.finish()

    return handle


def make_library_server(package: str, loop_name: str) -> tuple[Any, Callable[[], int]]:
    """An IOLoop of `package` on `loop_name` and a function starting the server.

    The function (to run on the IOLoop) binds the server to 127.0.0.1 and
    returns the port.
    """
    if package == "tornado" and loop_name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if package == "squall":
        os.environ.setdefault("SQUALL_IOLOOP", loop_name)
    ioloop = importlib.import_module(f"{package}.ioloop")
    httpserver = importlib.import_module(f"{package}.httpserver")
    httputil = importlib.import_module(f"{package}.httputil")
    netutil = importlib.import_module(f"{package}.netutil")
    io_loop = ioloop.IOLoop()

    def listen() -> int:
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        server = httpserver.HTTPServer(hello_callback(httputil))
        server.add_sockets(sockets)
        return int(sockets[0].getsockname()[1])

    return io_loop, listen


def serve_library(package: str, loop_name: str) -> None:
    try:
        io_loop, listen = make_library_server(package, loop_name)
    except ImportError as exc:
        print(json.dumps({"skip": repr(exc)}), flush=True)
        return

    async def start() -> None:
        _ready(listen(), asyncio.get_running_loop())

    io_loop.run_sync(start)
    io_loop.start()


# --------------------------------------------------------------------------
# raw: asyncio.Protocol + httptools
# --------------------------------------------------------------------------

_HEAD = f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {len(BODY)}\r\n".encode()
RAW_RESPONSE = b"HTTP/1.1 200 OK\r\n" + _HEAD + b"\r\n" + BODY
#: To an HTTP/1.0 client that asked for keep-alive.
RAW_RESPONSE_10 = b"HTTP/1.1 200 OK\r\n" + _HEAD + b"Connection: keep-alive\r\n\r\n" + BODY
RAW_RESPONSE_CLOSE = b"HTTP/1.1 200 OK\r\n" + _HEAD + b"Connection: close\r\n\r\n" + BODY
RAW_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class RawProtocol(asyncio.Protocol):
    """Minimal but correct HTTP/1.x: keep-alive, pipelining, 400 on garbage.

    Request bodies are parsed (and ignored), so any request framing works.
    """

    def __init__(self) -> None:
        import httptools

        self._parser = httptools.HttpRequestParser(self)
        self._errors = (httptools.HttpParserError, httptools.HttpParserUpgrade)
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except self._errors:
            if self._transport is not None:
                self._transport.write(RAW_BAD_REQUEST)
                self._transport.close()
                self._transport = None

    # httptools callback
    def on_message_complete(self) -> None:
        transport = self._transport
        if transport is None:
            return
        parser = self._parser
        if not parser.should_keep_alive():
            transport.write(RAW_RESPONSE_CLOSE)
            transport.close()
            self._transport = None
        elif parser.get_http_version() == "1.0":
            transport.write(RAW_RESPONSE_10)
        else:
            transport.write(RAW_RESPONSE)


def new_raw_loop(loop_name: str) -> asyncio.AbstractEventLoop:
    if loop_name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve_raw(loop_name: str) -> None:
    try:
        import httptools  # noqa: F401

        loop = new_raw_loop(loop_name)
    except ImportError as exc:
        print(json.dumps({"skip": repr(exc)}), flush=True)
        return
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(RawProtocol, "127.0.0.1", 0))
    _ready(int(server.sockets[0].getsockname()[1]), loop)
    loop.run_forever()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in IMPLS or argv[1] not in LOOPS:
        print(f"usage: python -m benchmarks._servers {'|'.join(IMPLS)} {'|'.join(LOOPS)}")
        return 2
    impl, loop_name = argv
    if impl == "raw":
        serve_raw(loop_name)
    else:
        serve_library(impl, loop_name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
