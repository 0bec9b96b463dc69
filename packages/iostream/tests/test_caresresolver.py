"""Tests for squall.platform.caresresolver (the common suite is in test_resolver.py).

No network is needed: "localhost" is answered by c-ares itself (RFC 6761 /
/etc/hosts), ``.invalid`` names by the configured server or the lack of
one, and the timeout and cancellation tests use a local UDP "DNS server"
that never answers.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

pycares = pytest.importorskip("pycares")

from squall.ioloop import IOLoop  # noqa: E402
from squall.netutil import Resolver  # noqa: E402
from squall.platform.asyncio import AsyncIOLoop  # noqa: E402
from squall.platform.caresresolver import CaresResolver  # noqa: E402

LOOPBACK = {"127.0.0.1", "::1"}


@pytest.fixture
def silent_dns_server() -> Iterator[str]:
    """The address of a UDP socket that receives DNS queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        yield f"{host}:{port}"


def test_resolves_localhost(io_loop: IOLoop) -> None:
    async def main() -> Any:
        resolver = CaresResolver()
        try:
            return await resolver.resolve("localhost", 80)
        finally:
            resolver.close()

    result = io_loop.run_sync(main, timeout=30)
    assert {address[0] for _, address in result} & LOOPBACK
    for family, address in result:
        assert isinstance(address[0], str)  # pycares gives bytes
        assert address[1] == 80
        assert family in (socket.AF_INET, socket.AF_INET6)


def test_ip_literals_need_no_query(io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> Any:
        resolver = CaresResolver()
        monkeypatch.setattr(resolver.channel, "getaddrinfo", None)  # any query would fail
        try:
            return [
                await resolver.resolve("127.0.0.1", 80),
                await resolver.resolve("::1", 81, socket.AF_INET6),
            ]
        finally:
            resolver.close()

    assert io_loop.run_sync(main, timeout=30) == [
        [(socket.AF_INET, ("127.0.0.1", 80))],
        [(socket.AF_INET6, ("::1", 81, 0, 0))],
    ]


def test_invalid_name_names_the_host_and_the_cares_error(io_loop: IOLoop) -> None:
    async def main() -> Any:
        resolver = CaresResolver()
        try:
            return await resolver.resolve("nonexistent.invalid", 80)
        finally:
            resolver.close()

    with pytest.raises(socket.gaierror, match=re.escape("'nonexistent.invalid'")) as info:
        io_loop.run_sync(main, timeout=60)
    assert "ARES_" in str(info.value)


def test_nul_in_the_name_is_refused(io_loop: IOLoop) -> None:
    # c-ares would resolve "localhost" for "localhost\0.evil.example".
    async def main() -> Any:
        resolver = CaresResolver()
        try:
            return await resolver.resolve("localhost\0.evil.example", 80)
        finally:
            resolver.close()

    with pytest.raises(socket.gaierror, match="NUL"):
        io_loop.run_sync(main, timeout=30)


def test_unanswered_query_times_out(io_loop: IOLoop, silent_dns_server: str) -> None:
    async def main() -> Any:
        resolver = CaresResolver(servers=[silent_dns_server], timeout=0.2, tries=1)
        try:
            return await resolver.resolve("host.example", 80)
        finally:
            resolver.close()

    with pytest.raises(socket.gaierror, match=re.escape("'host.example'")) as info:
        io_loop.run_sync(main, timeout=60)
    assert "ARES_ETIMEOUT" in str(info.value)
    assert info.value.errno == socket.EAI_AGAIN


def test_close_fails_pending_resolutions(io_loop: IOLoop, silent_dns_server: str) -> None:
    async def main() -> Any:
        resolver = CaresResolver(servers=[silent_dns_server], timeout=30.0, tries=1)
        task = asyncio.ensure_future(resolver.resolve("host.example", 80))
        await asyncio.sleep(0)
        resolver.close()
        return await task

    with pytest.raises(socket.gaierror, match=re.escape("'host.example'")) as info:
        io_loop.run_sync(main, timeout=60)
    assert "ARES_E" in str(info.value)


def test_channel_options_are_passed_on() -> None:
    resolver = CaresResolver(servers=["127.0.0.1:5353"], tries=2)
    try:
        assert resolver.channel.servers == ["127.0.0.1:5353"]
    finally:
        resolver.close()


def test_io_loop_argument_is_deprecated(io_loop: IOLoop) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        resolver = CaresResolver(io_loop=io_loop)
    resolver.close()


def test_configure_by_name(io_loop: IOLoop) -> None:
    saved = Resolver._save_configuration()
    try:
        Resolver.configure("cares", tries=2)

        async def main() -> Any:
            resolver = Resolver()
            assert isinstance(resolver, CaresResolver)
            try:
                return await resolver.resolve("localhost", 80, socket.AF_INET)
            finally:
                resolver.close()

        assert ("127.0.0.1", 80) in {a for _, a in io_loop.run_sync(main, timeout=30)}
    finally:
        Resolver._restore_configuration(saved)


LOOP_CLASSES = ["asyncio", "uvloop"]


@pytest.mark.parametrize("loop_name", LOOP_CLASSES)
def test_works_on_every_loop(loop_name: str) -> None:
    if loop_name == "uvloop":
        pytest.importorskip("uvloop")
        from squall.platform.uvloop import UVLoop

        loop: IOLoop = UVLoop(make_current=False)
    else:
        loop = AsyncIOLoop(make_current=False)

    async def main() -> Any:
        resolver = CaresResolver()
        try:
            return await asyncio.gather(
                resolver.resolve("localhost", 80),
                resolver.resolve("nonexistent.invalid", 80),
                return_exceptions=True,
            )
        finally:
            resolver.close()

    try:
        found, failure = loop.run_sync(main, timeout=60)
    finally:
        loop.close()
    assert {address[0] for _, address in found} & LOOPBACK
    assert isinstance(failure, socket.gaierror)
