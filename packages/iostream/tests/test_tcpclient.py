"""Tests for squall.tcpclient.

The happy-eyeballs logic (`_Connector`) is checked deterministically with
stub connection attempts and a fake clock; real loopback sockets (IPv4,
IPv6, TLS with the test CA) prove the wiring of `TCPClient.connect`.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from squall.ioloop import IOLoop
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.netutil import bind_sockets
from squall.tcpclient import _INITIAL_CONNECT_TIMEOUT, TCPClient, _Connector
from squall.tcpserver import TCPServer
from squall.util import TimeoutError

V4 = socket.AF_INET
V6 = socket.AF_INET6


async def settle() -> None:
    """Let callbacks scheduled with call_soon (done callbacks) run."""
    for _ in range(5):
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------
# The connector, with stubs
# ---------------------------------------------------------------------------


class FakeClock:
    """The timer methods of an IOLoop, fired by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: dict[int, tuple[float, Callable[[], object]]] = {}
        self._next = 0

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> object:
        self._next += 1
        self.timers[self._next] = (when, lambda: callback(*args))
        return self._next

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> object:
        return self.call_at(self.now + delay, callback, *args)

    def remove_timeout(self, timeout: object) -> None:
        assert isinstance(timeout, int)
        self.timers.pop(timeout, None)

    def advance(self, seconds: float) -> None:
        """Move the clock on, running the timers that fall due (in order)."""
        self.now += seconds
        while True:
            due = [(when, key) for key, (when, _) in self.timers.items() if when <= self.now]
            if not due:
                return
            _, key = min(due)
            _, callback = self.timers.pop(key)
            callback()


class FakeStream:
    def __init__(self, address: tuple[Any, ...]) -> None:
        self.address = address
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Attempts:
    """A stub connect function: records attempts; the test settles each one."""

    def __init__(self, fail_at_once: set[tuple[Any, ...]] | None = None) -> None:
        self.started: list[tuple[Any, ...]] = []
        self.streams: dict[tuple[Any, ...], FakeStream] = {}
        self.futures: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        self.fail_at_once = fail_at_once or set()

    def __call__(
        self, family: socket.AddressFamily, address: tuple[Any, ...]
    ) -> tuple[Any, asyncio.Future[Any]]:
        self.started.append(address)
        if address in self.fail_at_once:
            raise OSError(99, "Cannot assign requested address")
        stream = FakeStream(address)
        future = asyncio.get_running_loop().create_future()
        self.streams[address] = stream
        self.futures[address] = future
        return stream, future

    def succeed(self, address: tuple[Any, ...]) -> None:
        self.futures[address].set_result(self.streams[address])

    def fail(self, address: tuple[Any, ...], error: BaseException | None = None) -> None:
        if error is None:
            error = ConnectionRefusedError(111, "Connection refused")
        self.futures[address].set_exception(error)


P1 = ("10.0.0.1", 80)
P2 = ("10.0.0.2", 80)
S1 = ("2001:db8::1", 80, 0, 0)
S2 = ("2001:db8::2", 80, 0, 0)
MIXED = [(V4, P1), (V6, S1), (V4, P2), (V6, S2)]


@pytest.fixture
def run(io_loop: IOLoop) -> Callable[[Callable[[], Any]], Any]:
    return io_loop.run_sync


def make_connector(
    addrinfo: list[tuple[socket.AddressFamily, tuple[Any, ...]]],
    attempts: Attempts,
    clock: FakeClock,
) -> _Connector:
    return _Connector(addrinfo, attempts, "example.com port 80", clock)  # type: ignore[arg-type]


def test_split_keeps_order_within_families() -> None:
    primary, secondary = _Connector.split(MIXED)
    assert primary == [(V4, P1), (V4, P2)]
    assert secondary == [(V6, S1), (V6, S2)]
    primary, secondary = _Connector.split([(V6, S1), (V4, P1), (V6, S2)])
    assert primary == [(V6, S1), (V6, S2)]
    assert secondary == [(V4, P1)]


def test_empty_address_list_is_refused() -> None:
    with pytest.raises(ValueError, match="no address"):
        _Connector([], Attempts(), "example.com port 80", FakeClock())  # type: ignore[arg-type]


def test_primary_wins_without_starting_secondary(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        connector = make_connector(MIXED, attempts, clock)
        future = connector.start()
        assert attempts.started == [P1]
        # The secondary family's head-start timer is armed, at 0.3 s.
        assert [when for when, _ in clock.timers.values()] == [100.0 + _INITIAL_CONNECT_TIMEOUT]
        attempts.succeed(P1)
        await settle()
        family, address, stream = future.result()
        assert (family, address, stream) == (V4, P1, attempts.streams[P1])
        assert not stream.closed
        assert clock.timers == {}  # the timer is cancelled
        clock.advance(10)
        assert attempts.started == [P1]

    run(main)


def test_secondary_starts_after_delay_and_loser_is_closed(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector(MIXED, attempts, clock).start()
        clock.advance(_INITIAL_CONNECT_TIMEOUT / 2)
        assert attempts.started == [P1]
        clock.advance(_INITIAL_CONNECT_TIMEOUT / 2)
        assert attempts.started == [P1, S1]  # raced, the primary still pending
        attempts.succeed(S1)
        await settle()
        assert future.result()[1] == S1
        # The primary attempt still in flight is abandoned: closed.
        assert attempts.streams[P1].closed
        assert not attempts.streams[S1].closed
        # A loser that connects after all is closed too, and changes nothing.
        attempts.succeed(P1)
        await settle()
        assert future.result()[1] == S1
        assert attempts.streams[P1].closed
        assert attempts.started == [P1, S1]

    run(main)


def test_late_winner_after_result_is_closed(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector(MIXED, attempts, clock).start()
        clock.advance(1)
        assert attempts.started == [P1, S1]
        attempts.succeed(P1)
        attempts.succeed(S1)  # both connect in the same iteration
        await settle()
        assert future.result()[1] == P1
        assert not attempts.streams[P1].closed
        assert attempts.streams[S1].closed

    run(main)


def test_primary_failure_starts_secondary_at_once(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector(MIXED, attempts, clock).start()
        attempts.fail(P1)
        await settle()
        # Both the next primary and the first secondary, without waiting.
        assert attempts.started == [P1, P2, S1]
        assert clock.timers == {}
        attempts.succeed(S1)
        await settle()
        assert future.result()[1] == S1
        assert attempts.streams[P2].closed

    run(main)


def test_addresses_of_a_family_are_tried_one_by_one(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        addrinfo = [(V4, ("10.0.0.1", 80)), (V4, ("10.0.0.2", 80)), (V4, ("10.0.0.3", 80))]
        future = make_connector(addrinfo, attempts, clock).start()
        assert clock.timers == {}  # one family: nothing to race
        assert attempts.started == [("10.0.0.1", 80)]
        attempts.fail(("10.0.0.1", 80))
        await settle()
        assert attempts.started == [("10.0.0.1", 80), ("10.0.0.2", 80)]
        attempts.fail(("10.0.0.2", 80), TimeoutError("slow"))
        await settle()
        attempts.succeed(("10.0.0.3", 80))
        await settle()
        assert future.result()[1] == ("10.0.0.3", 80)

    run(main)


def test_all_failing_raises_last_error_naming_everything_tried(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector([(V4, P1), (V6, S1)], attempts, clock).start()
        attempts.fail(P1, StreamClosedError(real_error=ConnectionResetError(104, "reset")))
        await settle()
        attempts.fail(S1)
        await settle()
        with pytest.raises(ConnectionRefusedError) as info:
            future.result()
        message = str(info.value)
        assert info.value.errno == 111
        assert "example.com port 80" in message
        assert "10.0.0.1:80: [Errno 104] Connection reset by peer" in message
        assert "[2001:db8::1]:80: [Errno 111] Connection refused" in message
        assert isinstance(info.value.__cause__, ConnectionRefusedError)
        assert clock.timers == {}

    run(main)


def test_last_stream_closed_error_keeps_its_class(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector([(V4, P1)], attempts, clock).start()
        refused = ConnectionRefusedError(111, "Connection refused")
        attempts.fail(P1, StreamClosedError(real_error=refused))
        await settle()
        with pytest.raises(StreamClosedError) as info:
            future.result()
        assert info.value.real_error is refused
        assert "10.0.0.1:80: [Errno 111] Connection refused" in str(info.value)

    run(main)


def test_synchronous_failure_counts_as_an_attempt(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(fail_at_once={P1}), FakeClock()
        future = make_connector(MIXED, attempts, clock).start()
        # P1 could not even start (say, binding source_ip failed): go on.
        assert attempts.started == [P1, P2, S1]
        attempts.succeed(P2)
        await settle()
        assert future.result()[1] == P2
        assert attempts.streams[S1].closed

        attempts, clock = Attempts(fail_at_once={P1, S1}), FakeClock()
        future = make_connector([(V4, P1), (V6, S1)], attempts, clock).start()
        with pytest.raises(OSError, match="Cannot assign requested address") as info:
            future.result()
        assert "10.0.0.1:80" in str(info.value)
        assert "[2001:db8::1]:80" in str(info.value)
        assert clock.timers == {}

    run(main)


def test_deadline_fails_with_timeout_and_closes_everything(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector(MIXED, attempts, clock).start(connect_timeout=clock.now + 5)
        attempts.fail(P1)
        await settle()
        clock.advance(5)
        with pytest.raises(TimeoutError) as info:
            future.result()
        assert "example.com port 80" in str(info.value)
        assert "10.0.0.1:80" in str(info.value)  # what had failed by then
        assert attempts.streams[P2].closed
        assert attempts.streams[S1].closed
        assert clock.timers == {}
        # Attempts finishing afterwards are closed and ignored.
        attempts.succeed(S1)
        attempts.fail(P2)
        await settle()
        assert attempts.started == [P1, P2, S1]

    run(main)


def test_cancelling_abandons_the_race(run: Any) -> None:
    async def main() -> None:
        attempts, clock = Attempts(), FakeClock()
        future = make_connector(MIXED, attempts, clock).start(connect_timeout=clock.now + 5)
        clock.advance(1)
        future.cancel()
        await settle()
        assert attempts.streams[P1].closed
        assert attempts.streams[S1].closed
        assert clock.timers == {}
        attempts.succeed(P1)
        await settle()
        assert attempts.started == [P1, S1]

    run(main)


# ---------------------------------------------------------------------------
# TCPClient over real sockets
# ---------------------------------------------------------------------------


class EchoServer(TCPServer):
    """Echoes lines; remembers each peer's address."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.peers: list[Any] = []

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        self.peers.append(address)
        try:
            while True:
                await stream.write(await stream.read_until(b"\n"))
        except StreamClosedError:
            pass


async def shut_down(server: TCPServer) -> None:
    """Stop `server` and wait (boundedly) for its handlers to see their peers go."""
    server.stop()
    for _ in range(500):
        if not server._tasks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"handlers still running: {server._tasks}")


def serve(server: TCPServer, address: str, family: socket.AddressFamily = V4) -> int:
    sockets = bind_sockets(0, address, family=family)
    server.add_sockets(sockets)
    port: int = sockets[0].getsockname()[1]
    return port


class StaticResolver:
    """A resolver answering every question with the same addresses (of the family asked)."""

    def __init__(self, addrinfo: list[tuple[socket.AddressFamily, tuple[Any, ...]]]) -> None:
        self.addrinfo = addrinfo
        self.questions: list[tuple[str, int, socket.AddressFamily]] = []
        self.closed = False

    def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> asyncio.Future[list[tuple[socket.AddressFamily, tuple[Any, ...]]]]:
        self.questions.append((host, port, family))
        future = asyncio.get_running_loop().create_future()
        future.set_result(
            [(af, address) for af, address in self.addrinfo if family in (af, socket.AF_UNSPEC)]
        )
        return future

    def close(self) -> None:
        self.closed = True


class SilentResolver(StaticResolver):
    """A resolver that never answers."""

    def __init__(self) -> None:
        super().__init__([])
        self.pending: list[asyncio.Future[Any]] = []

    def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> asyncio.Future[list[tuple[socket.AddressFamily, tuple[Any, ...]]]]:
        future = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future


def refused_port(family: socket.AddressFamily = V4) -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(family) as sock:
        sock.bind(("::1" if family == V6 else "127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def blackhole() -> Iterator[tuple[str, int]]:
    """A loopback address whose SYNs go unanswered: a listener with a full backlog."""
    listener = socket.socket(V4)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        # Fill the accept queue until a connection attempt hangs.
        for _ in range(8):
            filler = socket.socket(V4)
            fillers.append(filler)
            filler.settimeout(0.2)
            try:
                filler.connect(address)
            except (TimeoutError, OSError):
                break
        else:
            pytest.skip("could not fill the listen backlog")
        yield address
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def echo(stream: IOStream, data: bytes = b"ping\n") -> bytes:
    await stream.write(data)
    return await stream.read_until(b"\n")


@pytest.mark.parametrize(("host", "family"), [("127.0.0.1", V4), ("::1", V6)])
def test_connect_ipv4_and_ipv6(io_loop: IOLoop, host: str, family: socket.AddressFamily) -> None:
    async def main() -> None:
        server = EchoServer()
        port = serve(server, host, family)
        client = TCPClient()
        stream = await client.connect(host, port)
        try:
            assert isinstance(stream, IOStream)
            assert not isinstance(stream, SSLIOStream)
            assert await echo(stream) == b"ping\n"
        finally:
            stream.close()
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_connect_by_name_to_a_dual_stack_listener(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        sockets = bind_sockets(0, "localhost")
        server.add_sockets(sockets)
        client = TCPClient()
        stream = await client.connect("localhost", sockets[0].getsockname()[1])
        try:
            assert await echo(stream) == b"ping\n"
        finally:
            stream.close()
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_af_restricts_the_family(io_loop: IOLoop) -> None:
    async def main() -> None:
        resolver = StaticResolver([])
        client = TCPClient(resolver=resolver)  # type: ignore[arg-type]
        with pytest.raises(OSError, match=r"'example\.com' has no address of family AF_INET6"):
            await client.connect("example.com", 80, af=V6)
        assert resolver.questions == [("example.com", 80, V6)]

    io_loop.run_sync(main, timeout=10)


def test_source_ip_and_source_port(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        port = serve(server, "127.0.0.1")
        client = TCPClient()
        try:
            stream = await client.connect("127.0.0.1", port, source_ip="127.0.0.1")
            assert await echo(stream) == b"ping\n"
            stream.close()
            assert server.peers[-1][0] == "127.0.0.1"

            for _ in range(5):  # a free port may be taken before we bind it
                source_port = refused_port()
                try:
                    stream = await client.connect("127.0.0.1", port, source_port=source_port)
                except OSError:
                    continue
                break
            else:
                pytest.fail("no free source port")
            assert stream.socket.getsockname()[1] == source_port
            assert await echo(stream) == b"ping\n"
            assert server.peers[-1][1] == source_port
            stream.close()
        finally:
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_source_ip_chooses_the_family(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        port = serve(server, "::1", V6)
        resolver = StaticResolver([(V4, ("127.0.0.1", port)), (V6, ("::1", port, 0, 0))])
        client = TCPClient(resolver=resolver)  # type: ignore[arg-type]
        try:
            # The name resolves to 127.0.0.1 first, but an IPv6 source
            # address limits the attempts to IPv6, which the listener has.
            stream = await client.connect("dual.test", port, source_ip="::1")
            assert resolver.questions == [("dual.test", port, V6)]
            assert await echo(stream) == b"ping\n"
            assert stream.socket.family == V6
            stream.close()
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_unbindable_source_ip_fails_naming_the_attempt(io_loop: IOLoop) -> None:
    async def main() -> None:
        client = TCPClient()
        try:
            with pytest.raises(OSError) as info:
                # 192.0.2.1 (TEST-NET-1) is not an address of this machine.
                await client.connect("127.0.0.1", refused_port(), source_ip="192.0.2.1")
            assert "127.0.0.1" in str(info.value)
        finally:
            client.close()

    io_loop.run_sync(main, timeout=10)


def test_connection_refused_names_what_was_tried(io_loop: IOLoop) -> None:
    async def main() -> None:
        v4, v6 = refused_port(V4), refused_port(V6)
        resolver = StaticResolver([(V6, ("::1", v6, 0, 0)), (V4, ("127.0.0.1", v4))])
        client = TCPClient(resolver=resolver)  # type: ignore[arg-type]
        with pytest.raises(OSError) as info:
            await client.connect("nowhere.test", 1234)
        message = str(info.value)
        assert "nowhere.test port 1234" in message
        assert f"[::1]:{v6}" in message
        assert f"127.0.0.1:{v4}" in message
        assert "refused" in message.lower()
        client.close()
        assert not resolver.closed  # not ours to close

    io_loop.run_sync(main, timeout=10)


def test_happy_eyeballs_on_loopback(io_loop: IOLoop, blackhole: tuple[str, int]) -> None:
    async def main() -> None:
        server = EchoServer()
        port6 = serve(server, "::1", V6)
        port4 = serve(server, "127.0.0.1", V4)
        try:
            # Primary (v6) refused: the secondary is tried at once.
            resolver = StaticResolver(
                [(V6, ("::1", refused_port(V6), 0, 0)), (V4, ("127.0.0.1", port4))]
            )
            stream = await TCPClient(resolver=resolver).connect("dual.test", 1)  # type: ignore[arg-type]
            assert stream.socket.getpeername()[1] == port4
            assert await echo(stream) == b"ping\n"
            stream.close()

            # Primary (v4) never answers: the secondary joins after the delay.
            resolver = StaticResolver([(V4, blackhole), (V6, ("::1", port6, 0, 0))])
            stream = await TCPClient(resolver=resolver).connect("dual.test", 1)  # type: ignore[arg-type]
            assert stream.socket.getpeername()[1] == port6
            assert await echo(stream) == b"ping\n"
            stream.close()
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_timeout_while_connecting(io_loop: IOLoop, blackhole: tuple[str, int]) -> None:
    async def main() -> None:
        client = TCPClient()
        try:
            with pytest.raises(TimeoutError, match=r"127\.0\.0\.1"):
                await client.connect(blackhole[0], blackhole[1], timeout=0.2)
            with pytest.raises(TimeoutError):
                await client.connect(
                    blackhole[0], blackhole[1], timeout=datetime.timedelta(milliseconds=200)
                )
        finally:
            client.close()

    io_loop.run_sync(main, timeout=10)


def test_timeout_while_resolving(io_loop: IOLoop) -> None:
    async def main() -> None:
        resolver = SilentResolver()
        client = TCPClient(resolver=resolver)  # type: ignore[arg-type]
        with pytest.raises(TimeoutError, match=r"resolving slow\.test"):
            await client.connect("slow.test", 80, timeout=0.05)
        assert resolver.pending[0].cancelled()

    io_loop.run_sync(main, timeout=10)


def test_cancelling_connect_cancels_resolution(io_loop: IOLoop) -> None:
    async def main() -> None:
        resolver = SilentResolver()
        future = TCPClient(resolver=resolver).connect("slow.test", 80)  # type: ignore[arg-type]
        await settle()
        future.cancel()
        await settle()
        assert resolver.pending[0].cancelled()

    io_loop.run_sync(main, timeout=10)


def test_tls_client(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        server = EchoServer(ssl_options=server_ssl_context)
        port = serve(server, "127.0.0.1")
        client = TCPClient()
        try:
            stream = await client.connect("localhost", port, af=V4, ssl_options=client_ssl_context)
            assert isinstance(stream, SSLIOStream)
            assert await echo(stream) == b"ping\n"
            stream.close()
        finally:
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_tls_client_checks_the_host_name(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def main() -> None:
        server = EchoServer(ssl_options=server_ssl_context)
        port = serve(server, "127.0.0.1")
        resolver = StaticResolver([(V4, ("127.0.0.1", port))])
        client = TCPClient(resolver=resolver)  # type: ignore[arg-type]
        try:
            with pytest.raises(StreamClosedError) as info:
                await client.connect("wrong.example", port, ssl_options=client_ssl_context)
            assert isinstance(info.value.real_error, ssl.SSLCertVerificationError)
            assert "wrong.example" in str(info.value.real_error)
            # The failed connection is closed, nothing is left running.
            assert asyncio.all_tasks() <= {asyncio.current_task(), *server._tasks}
        finally:
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_timeout_in_tls_handshake(io_loop: IOLoop, client_ssl_context: ssl.SSLContext) -> None:
    async def main() -> None:
        # A plain TCP server that never answers the ClientHello.
        class Mute(TCPServer):
            def __init__(self) -> None:
                super().__init__()
                self.streams: list[IOStream] = []

            def handle_stream(self, stream: IOStream, address: Any) -> None:
                self.streams.append(stream)

        server = Mute()
        port = serve(server, "127.0.0.1")
        client = TCPClient()
        try:
            with pytest.raises(TimeoutError, match="TLS handshake"):
                await client.connect(
                    "localhost", port, af=V4, ssl_options=client_ssl_context, timeout=0.3
                )
            # The abandoned handshake closes the connection: the server's
            # stream sees it end, and nothing is left running.
            assert len(server.streams) == 1
            await asyncio.wait_for(server.streams[0].read_until_close(), 10)
            caller = asyncio.current_task()

            async def settled() -> None:
                while asyncio.all_tasks() - {caller, asyncio.current_task()}:
                    await asyncio.sleep(0.001)

            await asyncio.wait_for(settled(), 10)
        finally:
            for stream in server.streams:
                stream.close()
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_max_buffer_size_reaches_the_stream(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = EchoServer()
        port = serve(server, "127.0.0.1")
        client = TCPClient()
        try:
            stream = await client.connect("127.0.0.1", port, max_buffer_size=1234)
            assert stream.max_buffer_size == 1234
            stream.close()
        finally:
            client.close()
            await shut_down(server)

    io_loop.run_sync(main, timeout=10)


def test_default_resolver_is_closed_with_the_client() -> None:
    client = TCPClient()
    closed: list[bool] = []
    client.resolver.close = lambda: closed.append(True)  # type: ignore[method-assign]
    client.close()
    assert closed == [True]


def test_io_loop_argument_is_deprecated(io_loop: IOLoop) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        client = TCPClient(io_loop=io_loop)
    client.close()
