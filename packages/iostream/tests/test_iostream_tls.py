"""SSLIOStream and IOStream.start_tls over real TLS on loopback (a trustme CA).

The stream behaviour shared with the other kinds is in
test_iostream_conformance.py; here: handshakes, verification, SNI, ALPN,
client certificates, the Tornado 4 ways of passing TLS settings.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest
import trustme

from squall.ioloop import IOLoop
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.netutil import ssl_wrap_socket

_T = TypeVar("_T")
WAIT = 10.0


async def wait(awaitable: Awaitable[_T]) -> _T:
    return await asyncio.wait_for(awaitable, WAIT)


def run(io_loop: IOLoop, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    async def main_then_settle() -> None:
        await main()
        for _ in range(5):  # let closing transports finish closing
            await asyncio.sleep(0)

    io_loop.run_sync(main_then_settle)


async def accept_pair(
    server_side: Callable[[socket.socket], IOStream],
    client_side: Callable[[tuple[str, int]], Awaitable[Any]],
) -> tuple[IOStream, Any]:
    """Connect with `client_side` to a listener; wrap the accepted socket with `server_side`."""
    loop = asyncio.get_running_loop()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        address = listener.getsockname()[:2]
        connecting = asyncio.ensure_future(client_side(address))
        conn, _ = await wait(loop.sock_accept(listener))
    server = server_side(conn)
    return server, connecting


def test_handshake_and_exchange(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True),
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        assert isinstance(server, SSLIOStream)
        # Written before the handshake: delivered after it.
        server.write(b"hello from the server\n")
        assert await wait(server.wait_for_handshake()) is server
        assert await wait(connecting) is client
        assert await wait(client.read_until(b"\n")) == b"hello from the server\n"
        await wait(client.write(b"and back\n"))
        assert await wait(server.read_until(b"\n")) == b"and back\n"
        # The socket answers the TLS questions, as an ssl.SSLSocket would.
        assert client.socket.version() in ("TLSv1.2", "TLSv1.3")
        assert client.socket.getpeercert()["subjectAltName"]
        assert server.socket.getpeercert() is None  # no client certificate
        assert server.get_ssl_certificate() is None
        assert client.get_ssl_certificate(binary_form=True)
        with pytest.raises(RuntimeError):
            server.wait_for_handshake()  # only once
        client.close()
        assert await wait(server.read_until_close()) == b""
        assert server.closed()

    run(io_loop, main)


def test_wait_for_handshake_callback_is_deprecated(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True),
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        assert isinstance(server, SSLIOStream)
        done = asyncio.get_running_loop().create_future()
        with pytest.deprecated_call():
            server.wait_for_handshake(callback=lambda: done.set_result(True))
        assert await wait(done)
        await wait(connecting)
        client.close()
        server.close()

    run(io_loop, main)


def test_hostname_mismatch_fails_the_client(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True),
            lambda address: client.connect(address, server_hostname="wrong.example"),
        )
        assert isinstance(server, SSLIOStream)
        with pytest.raises(StreamClosedError) as info:
            await wait(connecting)
        assert isinstance(info.value.real_error, ssl.SSLCertVerificationError)
        assert client.closed()
        assert client.error is info.value.real_error
        # The server sees the handshake fail too (the client gives up on it).
        with pytest.raises(StreamClosedError):
            await wait(server.wait_for_handshake())
        assert server.closed()

    run(io_loop, main)


def test_untrusting_client_fails_the_handshake(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        # The default client context trusts the system's CAs, not the test CA.
        client = SSLIOStream(socket.socket())
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True),
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        assert isinstance(server, SSLIOStream)
        server_handshake = server.wait_for_handshake()
        reading = server.read_until(b"\n")
        with pytest.raises(StreamClosedError) as info:
            await wait(connecting)
        assert isinstance(info.value.real_error, ssl.SSLCertVerificationError)
        with pytest.raises(StreamClosedError) as server_info:
            await wait(server_handshake)
        assert isinstance(server_info.value.real_error, (ssl.SSLError, ConnectionError))
        with pytest.raises(StreamClosedError):
            await wait(reading)

    run(io_loop, main)


def test_clear_text_client_fails_the_server_handshake(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        client = IOStream(socket.socket())
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True),
            lambda address: client.connect(address),
        )
        assert isinstance(server, SSLIOStream)
        await wait(connecting)
        await wait(client.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        with pytest.raises(StreamClosedError) as info:
            await wait(server.wait_for_handshake())
        assert isinstance(info.value.real_error, ssl.SSLError)
        assert server.closed()
        client.close()

    run(io_loop, main)


def test_sni_and_alpn(
    io_loop: IOLoop, tls_server_cert: trustme.LeafCert, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        names: list[str | None] = []
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_server_cert.configure_cert(server_context)
        server_context.set_alpn_protocols(["h2", "http/1.1"])
        server_context.sni_callback = lambda sslobj, name, context: names.append(name)
        client_ssl_context.set_alpn_protocols(["http/1.1"])
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_context, server_side=True),
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        assert isinstance(server, SSLIOStream)
        await wait(server.wait_for_handshake())
        await wait(connecting)
        assert names == ["localhost"]
        assert server.socket.selected_alpn_protocol() == "http/1.1"
        assert client.socket.selected_alpn_protocol() == "http/1.1"
        client.close()
        server.close()

    run(io_loop, main)


def test_client_certificate(
    io_loop: IOLoop,
    tls_ca: trustme.CA,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    async def main() -> None:
        server_ssl_context.verify_mode = ssl.CERT_REQUIRED
        tls_ca.configure_trust(server_ssl_context)
        tls_ca.issue_cert("client@example.com").configure_cert(client_ssl_context)
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True),
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        assert isinstance(server, SSLIOStream)
        await wait(server.wait_for_handshake())
        await wait(connecting)
        certificate = server.get_ssl_certificate()
        assert ("email", "client@example.com") in certificate["subjectAltName"]
        assert server.socket.getpeercert() == certificate
        client.close()
        server.close()

    run(io_loop, main)


def test_ssl_options_as_dicts(io_loop: IOLoop, tls_ca: trustme.CA, tls_server_cert: Any) -> None:
    async def main() -> None:
        with (
            tls_server_cert.private_key_and_cert_chain_pem.tempfile() as certfile,
            tls_ca.cert_pem.tempfile() as ca_certs,
        ):
            client = SSLIOStream(
                socket.socket(), ssl_options={"ca_certs": ca_certs, "cert_reqs": ssl.CERT_REQUIRED}
            )
            server, connecting = await accept_pair(
                lambda conn: SSLIOStream(conn, ssl_options={"certfile": certfile}),
                # server_hostname defaults to the host connected to.
                lambda address: client.connect(address),
            )
            assert isinstance(server, SSLIOStream)
            await wait(server.wait_for_handshake())
            await wait(connecting)
        await wait(server.write(b"ok"))
        assert await wait(client.read_bytes(2)) == b"ok"
        client.close()
        server.close()

    run(io_loop, main)


def test_tornado4_wrapped_socket(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        # Tornado 4 servers wrapped the accepted socket themselves, without
        # handshaking, then made an SSLIOStream of it.
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)

        def wrapped_server(conn: socket.socket) -> IOStream:
            wrapped = ssl_wrap_socket(
                conn, server_ssl_context, server_side=True, do_handshake_on_connect=False
            )
            return SSLIOStream(wrapped)

        server, connecting = await accept_pair(
            wrapped_server,
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        assert isinstance(server, SSLIOStream)
        await wait(server.wait_for_handshake())
        await wait(connecting)
        await wait(client.write(b"over TLS\n"))
        assert await wait(server.read_until(b"\n")) == b"over TLS\n"
        client.close()
        server.close()

    run(io_loop, main)


def test_connected_client_socket(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.setblocking(False)
            sock = socket.socket()
            sock.setblocking(False)
            connecting = asyncio.ensure_future(loop.sock_connect(sock, listener.getsockname()))
            conn, _ = await wait(loop.sock_accept(listener))
            await wait(connecting)
        server = SSLIOStream(conn, ssl_options=server_ssl_context, server_side=True)
        client = SSLIOStream(
            sock, ssl_options=client_ssl_context, server_side=False, server_hostname="localhost"
        )
        await wait(asyncio.gather(server.wait_for_handshake(), client.wait_for_handshake()))
        await wait(client.write(b"ping"))
        assert await wait(server.read_bytes(4)) == b"ping"
        client.close()
        server.close()

    run(io_loop, main)


# -- start_tls -------------------------------------------------------------------


async def _clear_text_pair() -> tuple[IOStream, IOStream]:
    client = IOStream(socket.socket())
    server, connecting = await accept_pair(IOStream, lambda address: client.connect(address))
    await wait(connecting)
    return server, client


@pytest.mark.parametrize("server_pauses", [False, True])
def test_start_tls_on_both_sides(
    io_loop: IOLoop,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
    server_pauses: bool,
) -> None:
    async def main() -> None:
        server, client = await _clear_text_pair()
        closed: list[str] = []
        server.set_close_callback(lambda: closed.append("server"))

        async def server_side() -> SSLIOStream:
            assert await wait(server.read_until(b"\r\n")) == b"STARTTLS\r\n"
            await wait(server.write(b"220 go ahead\r\n"))
            if server_pauses:
                # The client's ClientHello arrives (and is read by the clear-text
                # stream) before the server switches: it must not be lost.
                while not server._buffered():
                    await asyncio.sleep(0.001)
            return await wait(server.start_tls(True, server_ssl_context))

        async def client_side() -> SSLIOStream:
            await wait(client.write(b"STARTTLS\r\n"))
            assert await wait(client.read_until(b"\r\n")) == b"220 go ahead\r\n"
            return await wait(client.start_tls(False, client_ssl_context, "localhost"))

        tls_server, tls_client = await wait(asyncio.gather(server_side(), client_side()))
        assert isinstance(tls_server, SSLIOStream)
        assert isinstance(tls_client, SSLIOStream)
        # start_tls's Future resolves after the handshake.
        assert await wait(tls_server.wait_for_handshake()) is tls_server
        await wait(tls_client.write(b"secret\n"))
        assert await wait(tls_server.read_until(b"\n")) == b"secret\n"
        assert tls_client.socket.version() is not None
        # The close callback moved to the new stream.
        tls_client.close()
        with pytest.raises(StreamClosedError):
            await wait(tls_server.read_bytes(1))
        while not closed:
            await asyncio.sleep(0.001)
        assert closed == ["server"]

    run(io_loop, main)


def test_start_tls_verification_failure(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        server, client = await _clear_text_pair()
        upgrading_server = server.start_tls(True, server_ssl_context)
        with pytest.raises(StreamClosedError) as info:
            await wait(client.start_tls(False, client_ssl_context, "wrong.example"))
        assert isinstance(info.value.real_error, ssl.SSLCertVerificationError)
        with pytest.raises(StreamClosedError):
            await wait(upgrading_server)

    run(io_loop, main)


async def _tasks_settled() -> None:
    """Wait (bounded) until no task but the caller's is left running."""
    caller = asyncio.current_task()

    async def poll() -> None:
        while asyncio.all_tasks() - {caller, asyncio.current_task()}:
            await asyncio.sleep(0.001)

    await wait(poll())


@pytest.mark.parametrize("side", ["client", "server"])
def test_cancelling_start_tls_aborts_the_handshake(
    io_loop: IOLoop,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
    side: str,
) -> None:
    async def main() -> None:
        server, client = await _clear_text_pair()
        # The peer stays in clear text and never answers the handshake.
        upgrading, peer = (
            (client.start_tls(False, client_ssl_context, "localhost"), server)
            if side == "client"
            else (server.start_tls(True, server_ssl_context), client)
        )
        if side == "client":
            # The ClientHello reaches the peer: the handshake is under way.
            await wait(peer.read_bytes(1))
        else:
            for _ in range(10):
                await asyncio.sleep(0)
        assert not upgrading.done()
        upgrading.cancel()
        # The new stream closed the connection: the peer sees it end...
        await wait(peer.read_until_close())
        assert peer.closed()
        # ...and nothing is left running.
        await _tasks_settled()

    run(io_loop, main)


def test_start_tls_needs_an_idle_stream(
    io_loop: IOLoop, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        server, client = await _clear_text_pair()
        reading = client.read_bytes(1)
        with pytest.raises(ValueError):
            client.start_tls(False, client_ssl_context, "localhost")
        client.close()
        with pytest.raises(StreamClosedError):
            await reading
        with pytest.raises(StreamClosedError):
            client.start_tls(False, client_ssl_context, "localhost")
        server.close()

    run(io_loop, main)


def test_big_tls_writes_resolve_once_sent(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        limit = 64 * 1024
        client = SSLIOStream(socket.socket(), ssl_options=client_ssl_context)
        server, connecting = await accept_pair(
            lambda conn: SSLIOStream(
                conn, ssl_options=server_ssl_context, server_side=True, max_buffer_size=limit
            ),
            lambda address: client.connect(address, server_hostname="localhost"),
        )
        await wait(connecting)
        # 32 MiB is more than loopback's socket buffers hold while the
        # server, not reading, has paused at 64 KiB: the write cannot have
        # been passed to the kernel yet.
        data = b"0123456789abcdef" * (2 * 1024 * 1024)
        written = client.write(data)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not written.done()
        assert client.writing()
        received = bytearray()
        while len(received) < len(data):
            received += await wait(server.read_bytes(limit, partial=True))
        assert received == data
        await wait(written)
        assert not client.writing()
        client.close()
        server.close()

    run(io_loop, main)
