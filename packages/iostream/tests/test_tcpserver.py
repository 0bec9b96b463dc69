"""Tests for squall.tcpserver, over real loopback sockets and real TLS."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from squall import gen
from squall.ioloop import IOLoop
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.netutil import bind_sockets
from squall.tcpclient import TCPClient
from squall.tcpserver import TCPServer


class EchoServer(TCPServer):
    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        try:
            while True:
                await stream.write(await stream.read_until(b"\n"))
        except StreamClosedError:
            pass


class GenEchoServer(TCPServer):
    @gen.coroutine
    def handle_stream(self, stream: IOStream, address: Any) -> Any:
        try:
            while True:
                data = yield stream.read_until(b"\n")
                yield stream.write(data)
        except StreamClosedError:
            pass


class GreetingServer(TCPServer):
    """A synchronous handle_stream: greets, then closes."""

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        stream.write(b"hello\n").add_done_callback(lambda _: stream.close())


class FailingServer(TCPServer):
    """Fails on the first connection (sync or async), then echoes."""

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.calls = 0

    def handle_stream(self, stream: IOStream, address: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            if self.mode == "sync":
                raise ZeroDivisionError("handler bug")
            return self._fail()
        return EchoServer.handle_stream(self, stream, address)  # type: ignore[arg-type]

    async def _fail(self) -> None:
        await asyncio.sleep(0)
        raise ZeroDivisionError("handler bug")


def serve(server: TCPServer, address: str = "127.0.0.1") -> int:
    sockets = bind_sockets(0, address)
    server.add_sockets(sockets)
    port: int = sockets[0].getsockname()[1]
    return port


async def roundtrip(port: int, data: bytes = b"ping\n", host: str = "127.0.0.1") -> bytes:
    client = TCPClient()
    stream = await client.connect(host, port)
    try:
        await stream.write(data)
        return await stream.read_until(b"\n")
    finally:
        stream.close()
        client.close()


async def read_all(port: int) -> bytes:
    client = TCPClient()
    stream = await client.connect("127.0.0.1", port)
    try:
        return await stream.read_until_close()
    finally:
        stream.close()
        client.close()


async def shut_down(server: TCPServer) -> None:
    """Stop `server` and wait (boundedly) for its handlers to see their peers go."""
    server.stop()
    for _ in range(500):
        if not server._tasks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"handlers still running: {server._tasks}")


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("server_class", [EchoServer, GenEchoServer])
def test_coroutine_handle_stream(io_loop: IOLoop, server_class: type[TCPServer]) -> None:
    async def main() -> None:
        server = server_class()
        port = serve(server)
        try:
            assert await roundtrip(port) == b"ping\n"
            assert await roundtrip(port, b"pong\n") == b"pong\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_synchronous_handle_stream(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = GreetingServer()
        port = serve(server)
        try:
            assert await read_all(port) == b"hello\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_many_concurrent_clients(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        port = serve(server)
        try:
            replies = await asyncio.gather(
                *(roundtrip(port, b"client %d\n" % i) for i in range(100))
            )
            assert replies == [b"client %d\n" % i for i in range(100)]
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=30)


def test_listen_on_port_zero_ipv4_and_ipv6(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        server.listen(0, "localhost")
        try:
            sockets = list(server._sockets.values())
            assert sockets
            port = sockets[0].getsockname()[1]
            for sock in sockets:
                host = sock.getsockname()[0]
                assert await roundtrip(port, host=host) == b"ping\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_listen_several_times(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        server.listen(0, "::1", family=socket.AF_INET6)
        try:
            addresses = [sock.getsockname() for sock in server._sockets.values()]
            assert len(addresses) == 2
            for address in addresses:
                assert await roundtrip(address[1], host=address[0]) == b"ping\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_add_socket(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        (sock,) = bind_sockets(0, "127.0.0.1")
        server.add_socket(sock)
        try:
            assert await roundtrip(sock.getsockname()[1]) == b"ping\n"
        finally:
            await shut_down(server)
        assert sock.fileno() == -1  # the server owned it

    io_loop.run_sync(main, timeout=10)


def test_bind_and_start_in_one_process(io_loop: IOLoop) -> None:
    server = EchoServer()
    server.bind(0, "127.0.0.1")
    (sock,) = server._pending_sockets
    port = sock.getsockname()[1]

    async def main() -> None:
        server.start(1)
        try:
            assert await roundtrip(port) == b"ping\n"
            with pytest.raises(RuntimeError, match="twice"):
                server.start()
            # bind() after start() listens at once.
            server.bind(0, "127.0.0.1")
            (later,) = [s for s in server._sockets.values() if s is not sock]
            assert await roundtrip(later.getsockname()[1]) == b"ping\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_stop_closes_listeners_but_not_connections(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        port = serve(server)
        client = TCPClient()
        stream = await client.connect("127.0.0.1", port)
        try:
            await stream.write(b"one\n")
            assert await stream.read_until(b"\n") == b"one\n"
            server.stop()
            server.stop()  # harmless
            # The connection accepted before goes on...
            await stream.write(b"two\n")
            assert await stream.read_until(b"\n") == b"two\n"
            # ... but new ones are refused.
            with pytest.raises(OSError):
                await client.connect("127.0.0.1", port)
        finally:
            stream.close()
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_tornado4_positional_reuse_port() -> None:
    server = EchoServer()
    # Tornado 4.5's bind(port, address, family, backlog, reuse_port).
    server.bind(0, "127.0.0.1", socket.AF_INET, 128, True)  # type: ignore[arg-type]
    (sock,) = server._pending_sockets
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    finally:
        server.stop()


def test_stop_closes_sockets_bound_but_not_started() -> None:
    server = EchoServer()
    server.bind(0, "127.0.0.1")
    (sock,) = server._pending_sockets
    server.stop()
    assert sock.fileno() == -1


def test_handle_stream_is_required(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = TCPServer()
        port = serve(server)
        try:
            assert await read_all(port) == b""  # logged, and the connection closed
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)
    assert any(
        record.exc_info and record.exc_info[0] is NotImplementedError for record in caplog.records
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_handle_stream_errors_are_logged_and_not_fatal(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    async def main() -> None:
        server = FailingServer(mode)
        port = serve(server)
        try:
            assert await read_all(port) == b""  # closed by the server
            assert await roundtrip(port) == b"ping\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "squall.application"
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError
    assert "127.0.0.1" in record.getMessage()


def test_peer_disconnect_in_handler_is_quiet(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    done: asyncio.Future[None]

    class Reader(TCPServer):
        async def handle_stream(self, stream: IOStream, address: Any) -> None:
            try:
                await stream.read_until(b"\n")  # the peer hangs up instead
            finally:
                done.set_result(None)

    async def main() -> None:
        nonlocal done
        done = asyncio.get_running_loop().create_future()
        server = Reader()
        port = serve(server)
        try:
            with socket.create_connection(("127.0.0.1", port)):
                pass
            await done
            await asyncio.sleep(0.01)
        finally:
            await shut_down(server)

    caplog.set_level(logging.DEBUG)
    io_loop.run_sync(main, timeout=10)
    assert errors(caplog) == []


def test_io_loop_argument_is_deprecated(io_loop: IOLoop) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        server = EchoServer(io_loop=io_loop)
    assert server.ssl_options is None
    # Tornado 4's positional order: (io_loop, ssl_options, max_buffer_size, ...).
    with pytest.warns(DeprecationWarning, match="io_loop"):
        server = EchoServer(io_loop, None, 1000)  # type: ignore[arg-type]
    assert server.max_buffer_size == 1000
    assert server.ssl_options is None


def test_max_buffer_size_and_read_chunk_size_reach_the_stream(io_loop: IOLoop) -> None:
    streams: list[IOStream] = []

    class Keeper(TCPServer):
        def handle_stream(self, stream: IOStream, address: Any) -> None:
            streams.append(stream)
            stream.close()

    async def main() -> None:
        server = Keeper(max_buffer_size=4096, read_chunk_size=512)
        port = serve(server)
        try:
            assert await read_all(port) == b""
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)
    (stream,) = streams
    assert stream.max_buffer_size == 4096
    assert stream.read_chunk_size == 512


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


@pytest.fixture
def cert_files(tmp_path: Path, tls_ca: trustme.CA) -> tuple[str, str]:
    cert = tls_ca.issue_cert("localhost", "127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(certfile)
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(certfile, append=True)
    cert.private_key_pem.write_to_path(keyfile)
    return str(certfile), str(keyfile)


async def tls_roundtrip(port: int, context: ssl.SSLContext) -> bytes:
    client = TCPClient()
    stream = await client.connect("localhost", port, af=socket.AF_INET, ssl_options=context)
    try:
        assert isinstance(stream, SSLIOStream)
        await stream.write(b"secret\n")
        return await stream.read_until(b"\n")
    finally:
        stream.close()
        client.close()


def test_tls_with_ssl_context(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    seen: list[IOStream] = []

    class TLSEcho(EchoServer):
        async def handle_stream(self, stream: IOStream, address: Any) -> None:
            seen.append(stream)
            await super().handle_stream(stream, address)

    async def main() -> None:
        server = TLSEcho(ssl_options=server_ssl_context)
        port = serve(server)
        try:
            assert await tls_roundtrip(port, client_ssl_context) == b"secret\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)
    assert isinstance(seen[0], SSLIOStream)


def test_tls_handle_stream_can_wait_for_the_handshake(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    class Versioned(TCPServer):
        async def handle_stream(self, stream: IOStream, address: Any) -> None:
            assert isinstance(stream, SSLIOStream)
            await stream.wait_for_handshake()
            await stream.write(stream.socket.version().encode() + b"\n")
            await stream.read_until_close()  # the client hangs up first

    async def main() -> None:
        server = Versioned(ssl_options=server_ssl_context)
        port = serve(server)
        client = TCPClient()
        try:
            stream = await client.connect(
                "localhost", port, af=socket.AF_INET, ssl_options=client_ssl_context
            )
            assert (await stream.read_until(b"\n")).startswith(b"TLSv1.")
            stream.close()
        finally:
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_tls_with_ssl_options_dict(
    io_loop: IOLoop, cert_files: tuple[str, str], client_ssl_context: ssl.SSLContext
) -> None:
    certfile, keyfile = cert_files

    async def main() -> None:
        server = EchoServer(ssl_options={"certfile": certfile, "keyfile": keyfile})
        port = serve(server)
        try:
            assert await tls_roundtrip(port, client_ssl_context) == b"secret\n"
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_ssl_options_are_checked_early(tmp_path: Path, cert_files: tuple[str, str]) -> None:
    certfile, keyfile = cert_files
    with pytest.raises(ValueError, match="certfile"):
        TCPServer(ssl_options={"keyfile": keyfile})
    with pytest.raises(ValueError, match=r"certfile.*not found"):
        TCPServer(ssl_options={"certfile": str(tmp_path / "missing.pem")})
    with pytest.raises(ValueError, match=r"keyfile.*not found"):
        TCPServer(ssl_options={"certfile": certfile, "keyfile": str(tmp_path / "missing.pem")})
    with pytest.raises(ValueError, match="bogus"):
        TCPServer(ssl_options={"certfile": certfile, "keyfile": keyfile, "bogus": 1})
    with pytest.raises(TypeError, match="SSLContext"):
        TCPServer(ssl_options="cert.pem")  # type: ignore[arg-type]
    server = TCPServer(ssl_options={"certfile": certfile, "keyfile": keyfile})
    assert server.ssl_options == {"certfile": certfile, "keyfile": keyfile}


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",  # a TLS record header, then nonsense
        bytes(range(256)) * 4,
        b"",  # connect and hang up
    ],
)
def test_tls_garbage_is_quiet_and_not_fatal(
    io_loop: IOLoop,
    caplog: pytest.LogCaptureFixture,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
    garbage: bytes,
) -> None:
    async def main() -> None:
        server = EchoServer(ssl_options=server_ssl_context)
        port = serve(server)
        try:
            client = TCPClient()
            stream = await client.connect("127.0.0.1", port)
            await stream.write(garbage)
            if garbage:
                # The server gives up on the handshake and hangs up.
                assert await asyncio.wait_for(stream.read_until_close(), 5) is not None
            stream.close()
            client.close()
            # ... and goes on serving others.
            assert await tls_roundtrip(port, client_ssl_context) == b"secret\n"
            await asyncio.sleep(0.01)
        finally:
            await shut_down(server)

    caplog.set_level(logging.DEBUG)
    io_loop.run_sync(main, timeout=10)
    assert errors(caplog) == []
    for record in caplog.records:
        assert len(record.getMessage()) < 1000
    # One line at info level names the peer and the reason, without a traceback.
    infos = [record for record in caplog.records if record.levelno >= logging.INFO]
    if garbage:
        assert len(infos) == 1
        (record,) = infos
        assert record.name == "squall.general"
        assert record.levelno == logging.INFO
        message = record.getMessage()
        assert re.match(r"TLS handshake with 127\.0\.0\.1:\d+ failed: \S", message)
        assert "\n" not in message
        assert len(message) < 300
        assert record.exc_info is None
    else:  # connecting and hanging up is not worth an info line
        assert infos == []


def test_tls_failed_client_verification_is_quiet(
    io_loop: IOLoop,
    caplog: pytest.LogCaptureFixture,
    server_ssl_context: ssl.SSLContext,
) -> None:
    async def main() -> None:
        server = EchoServer(ssl_options=server_ssl_context)
        port = serve(server)
        try:
            # A client that does not trust the server's CA aborts the handshake.
            untrusting = ssl.create_default_context(cafile=None)
            untrusting.load_verify_locations(cadata=trustme.CA().cert_pem.bytes().decode())
            client = TCPClient()
            with pytest.raises((ssl.SSLError, StreamClosedError)):
                await client.connect("localhost", port, af=socket.AF_INET, ssl_options=untrusting)
            client.close()
            await asyncio.sleep(0.05)
        finally:
            await shut_down(server)

    caplog.set_level(logging.DEBUG)
    io_loop.run_sync(main, timeout=10)
    assert errors(caplog) == []
    # One line: the client's refusal arrives as an alert (info) or as a
    # reset of the connection (debug), depending on the event loop.
    (record,) = [r for r in caplog.records if r.getMessage().startswith("TLS handshake with")]
    assert record.levelno in (logging.DEBUG, logging.INFO)
    assert record.exc_info is None


# ---------------------------------------------------------------------------
# Forking: start(2), in a subprocess of its own
# ---------------------------------------------------------------------------

FORKING_SERVER = textwrap.dedent(
    """
    import os, sys, time
    from squall.ioloop import IOLoop
    from squall.tcpserver import TCPServer

    class PidServer(TCPServer):
        def handle_stream(self, stream, address):
            # Busy for a moment, so that the other worker accepts meanwhile.
            time.sleep(0.02)
            stream.write(b"%d\\n" % os.getpid()).add_done_callback(lambda _: stream.close())

    server = PidServer()
    server.bind(0, "127.0.0.1")
    port = server._pending_sockets[0].getsockname()[1]
    print(port, flush=True)
    server.start(2)
    IOLoop.current().start()
    """
)


@pytest.fixture
def forking_server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = dict(os.environ)
    # Children import squall from where this process found it.
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    process = subprocess.Popen(
        [sys.executable, "-c", FORKING_SERVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # one process group: the parent and its workers
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            _, stderr = process.communicate(timeout=10)
            pytest.fail(f"the forking server did not start:\n{stderr}")
        yield process, int(line)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate(timeout=10)


def test_start_forks_workers(forking_server: tuple[subprocess.Popen[str], int]) -> None:
    process, port = forking_server
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        connections = []
        for _ in range(10):
            connections.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        for connection in connections:
            with connection, connection.makefile("rb") as reader:
                line = reader.readline()
                if line:
                    pids.add(int(line))
    assert len(pids) == 2, pids
    assert process.pid not in pids  # the parent only supervises
