"""Tests for squall.netutil's sockets and TLS helpers (resolvers: test_resolver.py)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from squall import netutil
from squall.ioloop import IOLoop
from squall.netutil import (
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
    ssl_options_to_context,
    ssl_wrap_socket,
)


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")


@pytest.fixture
def closing() -> Iterator[list[socket.socket]]:
    """A list whose sockets are closed after the test."""
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


# -- bind_sockets -------------------------------------------------------------


def test_bind_ipv4_port_zero(closing: list[socket.socket]) -> None:
    sockets = bind_sockets(0, "127.0.0.1")
    closing += sockets
    assert len(sockets) == 1
    [sock] = sockets
    host, port = sock.getsockname()
    assert host == "127.0.0.1"
    assert port > 0
    assert sock.family == socket.AF_INET
    assert sock.type == socket.SOCK_STREAM
    assert not sock.getblocking()
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    with socket.create_connection(("127.0.0.1", port)):
        pass


@needs_ipv6
def test_bind_ipv6(closing: list[socket.socket]) -> None:
    closing += bind_sockets(0, "::1")
    [sock] = closing
    assert sock.family == socket.AF_INET6
    assert sock.getsockname()[0] == "::1"
    assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
    with socket.create_connection(("::1", sock.getsockname()[1])):
        pass


@needs_ipv6
@pytest.mark.parametrize("address", [None, ""])
def test_dual_stack_shares_one_port(address: str | None, closing: list[socket.socket]) -> None:
    closing += bind_sockets(0, address)
    families = sorted(sock.family for sock in closing)
    assert families == [socket.AF_INET, socket.AF_INET6]
    ports = {sock.getsockname()[1] for sock in closing}
    assert len(ports) == 1
    [port] = ports
    # Both families accept connections on the one port.
    for host in ("127.0.0.1", "::1"):
        with socket.create_connection((host, port)):
            pass


@needs_ipv6
def test_family_restricts_the_sockets(closing: list[socket.socket]) -> None:
    closing += bind_sockets(0, None, family=socket.AF_INET6)
    assert [sock.family for sock in closing] == [socket.AF_INET6]


def test_family_inet(closing: list[socket.socket]) -> None:
    closing += bind_sockets(0, None, family=socket.AF_INET)
    assert [sock.family for sock in closing] == [socket.AF_INET]
    assert closing[0].getsockname()[0] == "0.0.0.0"


def test_explicit_port(closing: list[socket.socket]) -> None:
    [probe] = bind_sockets(0, "127.0.0.1")
    port = probe.getsockname()[1]
    probe.close()
    closing += bind_sockets(port, "127.0.0.1")
    assert closing[0].getsockname()[1] == port


def test_port_in_use_raises_and_leaks_nothing(closing: list[socket.socket]) -> None:
    closing += bind_sockets(0, "127.0.0.1")
    port = closing[0].getsockname()[1]
    with pytest.raises(OSError) as info:
        bind_sockets(port, "127.0.0.1")
    assert info.value.errno == errno.EADDRINUSE


def test_reuse_port(closing: list[socket.socket]) -> None:
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT")
    closing += bind_sockets(0, "127.0.0.1", reuse_port=True)
    port = closing[0].getsockname()[1]
    closing += bind_sockets(port, "127.0.0.1", reuse_port=True)
    assert [sock.getsockname()[1] for sock in closing] == [port, port]
    for sock in closing:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


def test_reuse_port_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket, "SO_REUSEPORT", raising=False)
    with pytest.raises(ValueError, match="SO_REUSEPORT"):
        bind_sockets(0, "127.0.0.1", reuse_port=True)


def test_backlog_is_passed_to_listen(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    backlogs: list[int] = []
    real_listen = socket.socket.listen

    def listen(self: socket.socket, backlog: int = 0) -> None:
        backlogs.append(backlog)
        real_listen(self, backlog)

    monkeypatch.setattr(socket.socket, "listen", listen)
    closing += bind_sockets(0, "127.0.0.1", backlog=7)
    closing += bind_sockets(0, "127.0.0.1")
    assert backlogs == [7, netutil._DEFAULT_BACKLOG]


def test_flags_go_to_getaddrinfo(closing: list[socket.socket]) -> None:
    flags = socket.AI_PASSIVE | socket.AI_NUMERICHOST
    closing += bind_sockets(0, "127.0.0.1", flags=flags)
    assert closing[0].getsockname()[0] == "127.0.0.1"
    # AI_NUMERICHOST refuses names.
    with pytest.raises(socket.gaierror):
        bind_sockets(0, "localhost", flags=flags)


def test_hostname_binds_each_address_once(closing: list[socket.socket]) -> None:
    closing += bind_sockets(0, "localhost")
    addresses = [sock.getsockname()[:2] for sock in closing]
    assert len(addresses) == len(set(addresses))
    assert {address[0] for address in addresses} <= {"127.0.0.1", "::1"}


def test_duplicate_addresses_are_skipped(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    real = socket.getaddrinfo

    def doubled(*args: Any, **kwargs: Any) -> list[Any]:
        infos = real(*args, **kwargs)
        return infos + infos

    monkeypatch.setattr(socket, "getaddrinfo", doubled)
    closing += bind_sockets(0, "127.0.0.1")
    assert len(closing) == 1


def test_port_zero_retries_when_the_other_family_has_the_port_taken(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    # Two IPv4 addresses stand in for "0.0.0.0 and ::": the kernel's choice
    # for the first is taken on the second by someone else on the first try.
    blockers: list[socket.socket] = []
    real_bind = socket.socket.bind

    def bind(self: socket.socket, address: Any) -> None:
        if address[0] == "127.0.0.2" and not blockers:
            blocker = socket.socket()
            blockers.append(blocker)
            real_bind(blocker, address)
            blocker.listen()
        real_bind(self, address)

    infos = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 0)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos)
    monkeypatch.setattr(socket.socket, "bind", bind)
    try:
        closing += bind_sockets(0, "localhost")
    finally:
        for blocker in blockers:
            blocker.close()
    assert len(blockers) == 1
    assert [sock.getsockname()[0] for sock in closing] == ["127.0.0.1", "127.0.0.2"]
    assert len({sock.getsockname()[1] for sock in closing}) == 1


def test_link_local_addresses_of_a_name_are_skipped(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    # Some systems resolve "localhost" to fe80::1%lo0 besides ::1.
    infos = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1", 0, 0, 1)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos)
    closing += bind_sockets(0, "localhost")
    assert [sock.family for sock in closing] == [socket.AF_INET]


def test_unavailable_ipv6_address_of_a_name_is_skipped(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    # "localhost" -> ::1 in a container whose loopback has IPv6 disabled.
    infos = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0)),
    ]
    real_bind = socket.socket.bind

    def bind(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_INET6:
            raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
        real_bind(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos)
    monkeypatch.setattr(socket.socket, "bind", bind)
    closing += bind_sockets(0, "localhost")
    assert [sock.family for sock in closing] == [socket.AF_INET]
    # An explicit IPv6 address that cannot be bound is an error.
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos[:1])
    with pytest.raises(OSError) as info:
        bind_sockets(0, "::1")
    assert info.value.errno == errno.EADDRNOTAVAIL
    # So is a name none of whose addresses can be bound.
    with pytest.raises(OSError) as info:
        bind_sockets(0, "localhost")
    assert info.value.errno == errno.EADDRNOTAVAIL


def test_unsupported_family_is_skipped(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    real_socket = socket.socket

    class NoIPv6Socket(real_socket):
        def __init__(self, family: int = -1, *args: Any, **kwargs: Any) -> None:
            if family == socket.AF_INET6:
                raise OSError(errno.EAFNOSUPPORT, "Address family not supported")
            super().__init__(family, *args, **kwargs)

    infos = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::", 0, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos)
    monkeypatch.setattr(socket, "socket", NoIPv6Socket)
    closing += bind_sockets(0, None)
    assert [sock.family for sock in closing] == [socket.AF_INET]
    # With nothing else to bind, the error is raised rather than returning [].
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: infos[:1])
    with pytest.raises(OSError) as info:
        bind_sockets(0, None)
    assert info.value.errno == errno.EAFNOSUPPORT


def test_unresolvable_address() -> None:
    with pytest.raises(socket.gaierror):
        bind_sockets(0, "nonexistent.invalid")


# -- bind_unix_socket ---------------------------------------------------------


@pytest.fixture
def socket_path(tmp_path: Path) -> str:
    # AF_UNIX paths are limited to ~100 bytes; pytest's tmp_path may be long.
    if len(str(tmp_path)) > 80:  # pragma: no cover - depends on the machine
        pytest.skip("temporary directory path too long for a unix socket")
    return str(tmp_path / "sock")


def test_unix_socket(socket_path: str, closing: list[socket.socket]) -> None:
    sock = bind_unix_socket(socket_path)
    closing.append(sock)
    assert sock.family == socket.AF_UNIX
    assert not sock.getblocking()
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    mode = os.stat(socket_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(socket_path)


def test_unix_socket_mode(socket_path: str, closing: list[socket.socket]) -> None:
    closing.append(bind_unix_socket(socket_path, mode=0o660))
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660


def test_unix_socket_backlog(
    socket_path: str, monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    backlogs: list[int] = []
    real_listen = socket.socket.listen

    def listen(self: socket.socket, backlog: int = 0) -> None:
        backlogs.append(backlog)
        real_listen(self, backlog)

    monkeypatch.setattr(socket.socket, "listen", listen)
    closing.append(bind_unix_socket(socket_path, backlog=3))
    assert backlogs == [3]


def test_stale_unix_socket_is_replaced(socket_path: str, closing: list[socket.socket]) -> None:
    # A server that died without removing its socket file.
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(socket_path)
    dead.close()
    assert stat.S_ISSOCK(os.stat(socket_path).st_mode)
    closing.append(bind_unix_socket(socket_path))
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(socket_path)


def test_live_unix_socket_is_refused(socket_path: str, closing: list[socket.socket]) -> None:
    live = bind_unix_socket(socket_path)
    closing.append(live)
    with pytest.raises(OSError, match="listening") as info:
        bind_unix_socket(socket_path)
    assert info.value.errno == errno.EADDRINUSE
    assert socket_path in str(info.value)
    # The live server still works.
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(socket_path)


def test_live_unix_socket_with_full_backlog_is_refused(
    socket_path: str, closing: list[socket.socket]
) -> None:
    live = socket.socket(socket.AF_UNIX)
    closing.append(live)
    live.bind(socket_path)
    live.listen(0)
    # Fill the backlog so that a further connect would block (EAGAIN).
    for _ in range(8):
        client = socket.socket(socket.AF_UNIX)
        client.setblocking(False)
        closing.append(client)
        try:
            client.connect(socket_path)
        except BlockingIOError:
            break
    with pytest.raises(OSError) as info:
        bind_unix_socket(socket_path)
    assert info.value.errno == errno.EADDRINUSE
    assert socket_path in str(info.value)


def test_regular_file_is_refused(socket_path: str) -> None:
    Path(socket_path).write_text("precious")
    with pytest.raises(ValueError, match="not a socket") as info:
        bind_unix_socket(socket_path)
    assert socket_path in str(info.value)
    assert Path(socket_path).read_text() == "precious"


def test_unix_socket_in_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        bind_unix_socket(str(tmp_path / "missing" / "sock"))


@pytest.mark.skipif(not os.path.exists("/proc/net/unix"), reason="Linux abstract sockets")
def test_abstract_unix_socket(closing: list[socket.socket]) -> None:
    name = f"\0squall-test-{os.getpid()}-{id(closing)}"
    closing.append(bind_unix_socket(name))
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(name)


# -- add_accept_handler -------------------------------------------------------


def test_accept_handler_accepts_every_client(
    io_loop: IOLoop, closing: list[socket.socket]
) -> None:
    [listener] = bind_sockets(0, "127.0.0.1", backlog=64)
    closing.append(listener)
    accepted: list[tuple[socket.socket, Any]] = []
    clients_count = 20

    async def main() -> None:
        done = asyncio.Event()

        def on_connection(connection: socket.socket, address: Any) -> None:
            closing.append(connection)
            accepted.append((connection, address))
            if len(accepted) == clients_count:
                done.set()

        remove = add_accept_handler(listener, on_connection)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(clients_count)]
        closing.extend(clients)
        await done.wait()
        remove()
        assert {address for _, address in accepted} == {c.getsockname() for c in clients}

    io_loop.run_sync(main, timeout=30)


def test_accept_handler_remove_stops_accepting(
    io_loop: IOLoop, closing: list[socket.socket]
) -> None:
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    accepted: list[socket.socket] = []

    async def main() -> None:
        first = asyncio.Event()

        def on_connection(connection: socket.socket, address: Any) -> None:
            closing.append(connection)
            accepted.append(connection)
            first.set()

        remove = add_accept_handler(listener, on_connection)
        closing.append(socket.create_connection(listener.getsockname()))
        await first.wait()
        remove()
        remove()  # harmless the second time
        # A new client waits in the backlog; nobody accepts it.
        closing.append(socket.create_connection(listener.getsockname()))
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(accepted) == 1
        # The listener can be handed to a new handler.
        second = asyncio.Event()
        remove = add_accept_handler(listener, lambda c, a: (closing.append(c), second.set()))
        await second.wait()
        remove()

    io_loop.run_sync(main, timeout=30)


def test_accept_handler_removed_by_its_callback(
    io_loop: IOLoop, closing: list[socket.socket]
) -> None:
    # Several clients are pending; the callback removes the handler at the
    # first one, and no further connection is accepted in that same batch.
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    accepted: list[socket.socket] = []
    closing.extend(socket.create_connection(listener.getsockname()) for _ in range(3))

    async def main() -> None:
        got_one = asyncio.Event()
        remove: Any = None

        def on_connection(connection: socket.socket, address: Any) -> None:
            closing.append(connection)
            accepted.append(connection)
            remove()
            got_one.set()

        remove = add_accept_handler(listener, on_connection)
        await got_one.wait()
        for _ in range(20):
            await asyncio.sleep(0)

    io_loop.run_sync(main, timeout=30)
    assert len(accepted) == 1


class _FakeListener:
    """A listening socket whose accept() follows a script."""

    def __init__(self, sock: socket.socket, script: list[Any]) -> None:
        self._sock = sock
        self.script = script

    def fileno(self) -> int:
        return self._sock.fileno()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def accept(self) -> tuple[Any, Any]:
        step = self.script.pop(0) if self.script else BlockingIOError()
        if isinstance(step, BaseException):
            raise step
        return step  # type: ignore[no-any-return]


def test_accept_handler_bounds_each_batch(io_loop: IOLoop, closing: list[socket.socket]) -> None:
    # An endless supply of connections must not keep the loop in one handler.
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    closing.append(socket.create_connection(listener.getsockname()))  # makes it readable
    fake = _FakeListener(listener, [])
    fake.accept = lambda: ("connection", ("127.0.0.1", 1))  # type: ignore[method-assign]
    batches: list[int] = []

    async def main() -> None:
        count = 0
        seen_other_work = asyncio.Event()

        def on_connection(connection: Any, address: Any) -> None:
            nonlocal count
            count += 1

        async def other_work() -> None:
            batches.append(count)
            seen_other_work.set()

        remove = add_accept_handler(fake, on_connection)  # type: ignore[arg-type]
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(other_work()))
        await seen_other_work.wait()
        remove()
        batches.append(count)

    io_loop.run_sync(main, timeout=30)
    assert batches[-1] % netutil._DEFAULT_BACKLOG == 0
    assert batches[-1] < 10 * netutil._DEFAULT_BACKLOG


def test_accept_handler_skips_aborted_connections(
    io_loop: IOLoop, closing: list[socket.socket]
) -> None:
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    closing.append(socket.create_connection(listener.getsockname()))
    real_connection, real_address = listener.accept()
    closing.append(real_connection)
    closing.append(socket.create_connection(listener.getsockname()))  # readable again
    fake = _FakeListener(listener, [ConnectionAbortedError(), (real_connection, real_address)])
    accepted: list[Any] = []

    async def main() -> None:
        done = asyncio.Event()
        remove = add_accept_handler(
            fake,  # type: ignore[arg-type]
            lambda c, a: (accepted.append((c, a)), done.set()),
        )
        await done.wait()
        remove()

    io_loop.run_sync(main, timeout=30)
    assert accepted == [(real_connection, real_address)]


def test_accept_handler_pauses_when_out_of_file_descriptors(
    io_loop: IOLoop, closing: list[socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    closing.append(socket.create_connection(listener.getsockname()))
    real_connection, real_address = listener.accept()
    closing.append(real_connection)
    closing.append(socket.create_connection(listener.getsockname()))  # readable again
    emfile = OSError(errno.EMFILE, "Too many open files")
    fake = _FakeListener(listener, [emfile, (real_connection, real_address)])
    accepted: list[Any] = []

    async def main() -> None:
        done = asyncio.Event()
        remove = add_accept_handler(
            fake,  # type: ignore[arg-type]
            lambda c, a: (accepted.append((c, a)), done.set()),
        )
        await done.wait()
        remove()

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main, timeout=30)
    assert accepted == [(real_connection, real_address)]
    assert any("Too many open files" in record.getMessage() for record in caplog.records)


def test_accept_handler_removed_while_paused(
    io_loop: IOLoop, closing: list[socket.socket]
) -> None:
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    closing.append(socket.create_connection(listener.getsockname()))
    fake = _FakeListener(listener, [OSError(errno.ENFILE, "File table overflow")])

    async def main() -> None:
        remove = add_accept_handler(fake, lambda c, a: None)  # type: ignore[arg-type]
        while fake.script:
            await asyncio.sleep(0)
        remove()  # cancels the pending resume; the listener has no handler
        io_loop.add_handler(listener, lambda fd, events: None, IOLoop.READ)
        io_loop.remove_handler(listener)

    logging.getLogger("squall.application").disabled = True
    try:
        io_loop.run_sync(main, timeout=30)
    finally:
        logging.getLogger("squall.application").disabled = False


def test_accept_handler_io_loop_argument_is_deprecated(
    io_loop: IOLoop, closing: list[socket.socket]
) -> None:
    [listener] = bind_sockets(0, "127.0.0.1")
    closing.append(listener)
    with pytest.warns(DeprecationWarning, match="io_loop"):
        remove = add_accept_handler(listener, lambda c, a: None, io_loop=io_loop)
    remove()


def test_accept_handler_on_a_unix_socket(
    io_loop: IOLoop, socket_path: str, closing: list[socket.socket]
) -> None:
    listener = bind_unix_socket(socket_path)
    closing.append(listener)

    async def main() -> None:
        done = asyncio.Event()
        remove = add_accept_handler(listener, lambda c, a: (closing.append(c), done.set()))
        client = socket.socket(socket.AF_UNIX)
        closing.append(client)
        client.connect(socket_path)
        await done.wait()
        remove()

    io_loop.run_sync(main, timeout=30)


# -- is_valid_ip --------------------------------------------------------------


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "4.4.4.4",
        "0.0.0.0",
        "255.255.255.255",
        "::1",
        "::",
        "2620:0:1cfe:face:b00c::3",
        "::ffff:127.0.0.1",
        "fe80::1%eth0",
    ],
)
def test_valid_ips(ip: str) -> None:
    assert is_valid_ip(ip)


@pytest.mark.parametrize(
    "ip",
    [
        "",
        "\0",
        "127.0.0.1\0",
        "www.google.com",
        "localhost",
        "4.4.4.4<",
        " 127.0.0.1",
        "127.0.0.1 ",
        "256.0.0.1",
        "127.1",
        "0x7f.0.0.1",
        "127.000.000.001",
        "1::2::3",
        "[::1]",
        "::1/128",
        "fe80::1%",
    ],
)
def test_invalid_ips(ip: str) -> None:
    assert not is_valid_ip(ip)


def test_is_valid_ip_rejects_non_strings() -> None:
    assert not is_valid_ip(1)  # type: ignore[arg-type]
    assert not is_valid_ip(b"127.0.0.1")  # type: ignore[arg-type]
    assert not is_valid_ip(None)  # type: ignore[arg-type]


def test_is_valid_ip_makes_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("getaddrinfo called")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    assert is_valid_ip("::1")
    assert not is_valid_ip("example.com")


# -- ssl_options_to_context ---------------------------------------------------


@pytest.fixture
def cert_files(tmp_path: Path, tls_ca: trustme.CA, tls_server_cert: trustme.LeafCert) -> Any:
    class Files:
        certfile = str(tmp_path / "cert.pem")
        keyfile = str(tmp_path / "key.pem")
        ca_certs = str(tmp_path / "ca.pem")

    tls_server_cert.cert_chain_pems[0].write_to_path(Files.certfile)
    tls_server_cert.private_key_pem.write_to_path(Files.keyfile)
    tls_ca.cert_pem.write_to_path(Files.ca_certs)
    return Files


def test_context_passes_through(server_ssl_context: ssl.SSLContext) -> None:
    assert ssl_options_to_context(server_ssl_context) is server_ssl_context
    assert ssl_options_to_context(server_ssl_context, server_side=True) is server_ssl_context


def test_server_context_from_dict(cert_files: Any) -> None:
    options = {"certfile": cert_files.certfile, "keyfile": cert_files.keyfile}
    context = ssl_options_to_context(options, server_side=True)
    assert isinstance(context, ssl.SSLContext)
    assert context.protocol == ssl.PROTOCOL_TLS_SERVER
    assert context.verify_mode == ssl.CERT_NONE
    assert context.options & ssl.OP_NO_COMPRESSION
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_client_context_from_dict_verifies(cert_files: Any) -> None:
    context = ssl_options_to_context({"ca_certs": cert_files.ca_certs}, server_side=False)
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.get_ca_certs()


def test_client_context_without_ca_uses_the_system_store() -> None:
    context = ssl_options_to_context({}, server_side=False)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_cert_none_turns_off_host_name_checks() -> None:
    context = ssl_options_to_context({"cert_reqs": ssl.CERT_NONE}, server_side=False)
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname


def test_server_requiring_client_certificates(cert_files: Any) -> None:
    options = {
        "certfile": cert_files.certfile,
        "keyfile": cert_files.keyfile,
        "cert_reqs": ssl.CERT_REQUIRED,
        "ca_certs": cert_files.ca_certs,
    }
    context = ssl_options_to_context(options, server_side=True)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.get_ca_certs()


def test_side_unknown_has_wrap_socket_defaults(cert_files: Any) -> None:
    context = ssl_options_to_context(
        {"certfile": cert_files.certfile, "keyfile": cert_files.keyfile}
    )
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    assert context.options & ssl.OP_NO_COMPRESSION


def test_ciphers_and_version() -> None:
    context = ssl_options_to_context(
        {"ciphers": "ECDHE+AESGCM", "ssl_version": ssl.PROTOCOL_TLS_CLIENT}
    )
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT
    names = {cipher["name"] for cipher in context.get_ciphers()}
    assert names
    assert all("ECDHE" in name or name.startswith("TLS_") for name in names)
    with pytest.raises(ssl.SSLError):
        ssl_options_to_context({"ciphers": "no-such-cipher"}, server_side=True)


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ValueError, match="'bogus'") as info:
        ssl_options_to_context({"certfile": "x", "bogus": 1, "server_side": True})
    assert "'server_side'" in str(info.value)
    assert "certfile" in str(info.value)  # the accepted keys are listed


def test_missing_certificate_file(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        ssl_options_to_context({"certfile": str(tmp_path / "missing.pem")}, server_side=True)


# -- ssl_wrap_socket ----------------------------------------------------------


def _handshake(server: ssl.SSLSocket, client: ssl.SSLSocket) -> None:
    """Run both handshakes of a socketpair, the server's in a thread."""
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.do_handshake()
            server.sendall(server.recv(5).upper())
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        client.do_handshake()
        client.sendall(b"hello")
        assert client.recv(5) == b"HELLO"
    finally:
        thread.join(30)
    if errors:
        raise errors[0]


def test_wrap_socket_dict_options(cert_files: Any) -> None:
    a, b = socket.socketpair()
    server = ssl_wrap_socket(
        a,
        {"certfile": cert_files.certfile, "keyfile": cert_files.keyfile},
        server_side=True,
        do_handshake_on_connect=False,
    )
    client = ssl_wrap_socket(
        b,
        {"ca_certs": cert_files.ca_certs},
        server_hostname="localhost",
        server_side=False,
        do_handshake_on_connect=False,
    )
    with server, client:
        assert isinstance(server, ssl.SSLSocket)
        assert server.server_side
        assert not client.server_side
        _handshake(server, client)
        assert client.getpeercert() is not None
        assert client.server_hostname == "localhost"


def test_wrap_socket_contexts(
    server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    a, b = socket.socketpair()
    server = ssl_wrap_socket(
        a, server_ssl_context, server_side=True, do_handshake_on_connect=False
    )
    client = ssl_wrap_socket(
        b, client_ssl_context, server_hostname="localhost", do_handshake_on_connect=False
    )
    with server, client:
        _handshake(server, client)


def test_wrap_socket_checks_the_host_name(
    server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    a, b = socket.socketpair()
    server = ssl_wrap_socket(
        a, server_ssl_context, server_side=True, do_handshake_on_connect=False
    )
    client = ssl_wrap_socket(
        b, client_ssl_context, server_hostname="example.com", do_handshake_on_connect=False
    )
    with server, client, pytest.raises(ssl.SSLCertVerificationError):
        _handshake_client_only(server, client)


def _handshake_client_only(server: ssl.SSLSocket, client: ssl.SSLSocket) -> None:
    def serve() -> None:
        try:
            server.do_handshake()
        except (ssl.SSLError, OSError):
            pass  # the client rejects the certificate

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        client.do_handshake()
    finally:
        client.close()
        thread.join(30)


def test_wrap_socket_legacy_side_unknown(cert_files: Any) -> None:
    # Tornado 4 style: a dict without server_side, sides told by wrap_socket.
    a, b = socket.socketpair()
    server_context = ssl_options_to_context(
        {"certfile": cert_files.certfile, "keyfile": cert_files.keyfile}
    )
    server = server_context.wrap_socket(a, server_side=True, do_handshake_on_connect=False)
    client = ssl_wrap_socket(b, {}, do_handshake_on_connect=False)
    with server, client:
        _handshake(server, client)


def test_wrap_socket_bad_options() -> None:
    a, b = socket.socketpair()
    with a, b, pytest.raises(ValueError, match="'keyfiles'"):
        ssl_wrap_socket(a, {"keyfiles": "x"})
