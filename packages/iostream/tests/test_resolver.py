"""Tests for squall.netutil's resolvers.

One conformance suite runs over every implementation that can live in this
process (TwistedResolver installs Twisted's process-global reactor: its
suite runs in a subprocess, see test_platform_twisted.py).  The tests
depend on no network and on no particular /etc/hosts: "localhost" may
resolve to 127.0.0.1, ::1 or both, and ``.invalid`` names (RFC 6761)
resolve nowhere.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import re
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from squall.ioloop import IOLoop
from squall.netutil import (
    BlockingResolver,
    DefaultExecutorResolver,
    DefaultLoopResolver,
    ExecutorResolver,
    OverrideResolver,
    Resolver,
    ThreadedResolver,
)
from squall.util import PluginNotFoundError

HAS_PYCARES = importlib.util.find_spec("pycares") is not None
HAS_TWISTED = importlib.util.find_spec("twisted") is not None

LOOPBACK = {"127.0.0.1", "::1"}
INVALID_HOST = "nonexistent.invalid"


@pytest.fixture(autouse=True)
def restore_resolver_configuration() -> Iterator[None]:
    saved = Resolver._save_configuration()
    yield
    Resolver._restore_configuration(saved)


def _cares() -> Resolver:
    from squall.platform.caresresolver import CaresResolver

    return CaresResolver()


def _pooled_executor() -> Resolver:
    return ExecutorResolver(executor=concurrent.futures.ThreadPoolExecutor(2))


IMPLEMENTATIONS: dict[str, Callable[[], Resolver]] = {
    "default-loop": DefaultLoopResolver,
    "default-executor": DefaultExecutorResolver,
    "blocking": BlockingResolver,
    "threaded": ThreadedResolver,
    "executor-pool": _pooled_executor,
    "executor-dummy": ExecutorResolver,
    "override-empty": lambda: OverrideResolver(DefaultLoopResolver(), {}),
    "cares": _cares,
}


@pytest.fixture(params=list(IMPLEMENTATIONS))
def make_resolver(request: pytest.FixtureRequest) -> Callable[[], Resolver]:
    if request.param == "cares" and not HAS_PYCARES:
        pytest.skip("pycares is not installed")
    return IMPLEMENTATIONS[request.param]


def run(io_loop: IOLoop, make: Callable[[], Resolver], body: Callable[[Resolver], Any]) -> Any:
    """Create a resolver on the loop, run ``await body(resolver)``, close it."""

    async def main() -> Any:
        resolver = make()
        try:
            return await body(resolver)
        finally:
            resolver.close()

    return io_loop.run_sync(main, timeout=60)


def check_pairs(result: list[tuple[int, Any]], port: int) -> None:
    assert isinstance(result, list)
    assert result
    for family, address in result:
        assert family in (socket.AF_INET, socket.AF_INET6)
        assert isinstance(address, tuple)
        assert address[1] == port
        assert len(address) == (2 if family == socket.AF_INET else 4)
        # The address is usable as is.
        socket.inet_pton(family, address[0].partition("%")[0])


# -- conformance --------------------------------------------------------------


def test_resolve_localhost(io_loop: IOLoop, make_resolver: Callable[[], Resolver]) -> None:
    result = run(io_loop, make_resolver, lambda r: r.resolve("localhost", 8080))
    check_pairs(result, 8080)
    assert {address[0] for _, address in result} & LOOPBACK


def test_resolve_localhost_ipv4_only(
    io_loop: IOLoop, make_resolver: Callable[[], Resolver]
) -> None:
    result = run(io_loop, make_resolver, lambda r: r.resolve("localhost", 80, socket.AF_INET))
    check_pairs(result, 80)
    assert {family for family, _ in result} == {socket.AF_INET}
    assert ("127.0.0.1", 80) in {address for _, address in result}


def test_returns_an_asyncio_future(io_loop: IOLoop, make_resolver: Callable[[], Resolver]) -> None:
    async def body(resolver: Resolver) -> Any:
        future = resolver.resolve("localhost", 80)
        assert isinstance(future, asyncio.Future)
        return await future

    check_pairs(run(io_loop, make_resolver, body), 80)


@pytest.mark.parametrize(
    ("host", "family", "expected"),
    [
        ("127.0.0.1", socket.AF_UNSPEC, [(socket.AF_INET, ("127.0.0.1", 443))]),
        ("127.0.0.1", socket.AF_INET, [(socket.AF_INET, ("127.0.0.1", 443))]),
        ("::1", socket.AF_UNSPEC, [(socket.AF_INET6, ("::1", 443, 0, 0))]),
        ("::1", socket.AF_INET6, [(socket.AF_INET6, ("::1", 443, 0, 0))]),
        ("10.1.2.3", socket.AF_UNSPEC, [(socket.AF_INET, ("10.1.2.3", 443))]),
    ],
)
def test_resolve_ip_literal(
    io_loop: IOLoop,
    make_resolver: Callable[[], Resolver],
    host: str,
    family: socket.AddressFamily,
    expected: list[Any],
) -> None:
    assert run(io_loop, make_resolver, lambda r: r.resolve(host, 443, family)) == expected


def test_ip_literal_of_the_wrong_family(
    io_loop: IOLoop, make_resolver: Callable[[], Resolver]
) -> None:
    with pytest.raises(OSError, match=re.escape("'::1'")):
        run(io_loop, make_resolver, lambda r: r.resolve("::1", 80, socket.AF_INET))


def test_unresolvable_name_raises_oserror_naming_the_host(
    io_loop: IOLoop, make_resolver: Callable[[], Resolver]
) -> None:
    with pytest.raises(OSError, match=re.escape(repr(INVALID_HOST))) as info:
        run(io_loop, make_resolver, lambda r: r.resolve(INVALID_HOST, 80))
    assert isinstance(info.value, socket.gaierror)


@pytest.mark.parametrize(
    "host",
    ["a" * 70 + ".example.com", "x\0y.example", "bad..name.example"],
    ids=["long-label", "nul", "empty-label"],
)
def test_malformed_name_raises_oserror_naming_the_host(
    io_loop: IOLoop, make_resolver: Callable[[], Resolver], host: str
) -> None:
    with pytest.raises(OSError) as info:
        run(io_loop, make_resolver, lambda r: r.resolve(host, 80))
    assert repr(host) in str(info.value)


def test_concurrent_resolutions(io_loop: IOLoop, make_resolver: Callable[[], Resolver]) -> None:
    async def body(resolver: Resolver) -> list[Any]:
        futures = [resolver.resolve("localhost", port) for port in range(1000, 1010)]
        futures.append(resolver.resolve(INVALID_HOST, 80))
        return await asyncio.gather(*futures, return_exceptions=True)

    outcomes = run(io_loop, make_resolver, body)
    for port, result in zip(range(1000, 1010), outcomes, strict=False):
        check_pairs(result, port)
    assert isinstance(outcomes[-1], OSError)


def test_deprecated_callback(io_loop: IOLoop, make_resolver: Callable[[], Resolver]) -> None:
    results: list[Any] = []

    async def body(resolver: Resolver) -> Any:
        delivered = asyncio.Event()

        def callback(result: Any) -> None:
            results.append(result)
            delivered.set()

        with pytest.warns(DeprecationWarning, match="callback"):
            future = resolver.resolve("127.0.0.1", 80, callback=callback)
        await delivered.wait()
        return await future

    result = run(io_loop, make_resolver, body)
    assert results == [result] == [[(socket.AF_INET, ("127.0.0.1", 80))]]


def test_cancelled_resolution_leaves_the_resolver_usable(
    io_loop: IOLoop, make_resolver: Callable[[], Resolver]
) -> None:
    async def body(resolver: Resolver) -> Any:
        future = resolver.resolve("localhost", 80)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        return await resolver.resolve("localhost", 80)

    check_pairs(run(io_loop, make_resolver, body), 80)


# -- errors -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [DefaultExecutorResolver, BlockingResolver, ThreadedResolver])
def test_system_errors_name_the_host(
    io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch, cls: type[Resolver]
) -> None:
    original = OSError(24, "Too many open files")

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise original

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(OSError, match=re.escape("'example.com'")) as info:
        run(io_loop, cls, lambda r: r.resolve("example.com", 80))
    assert info.value.errno == 24
    assert "Too many open files" in str(info.value)
    assert info.value.__cause__ is original


def test_gaierror_keeps_its_code(io_loop: IOLoop) -> None:
    with pytest.raises(socket.gaierror) as info:
        run(io_loop, BlockingResolver, lambda r: r.resolve(INVALID_HOST, 80))
    assert info.value.errno in (socket.EAI_NONAME, socket.EAI_AGAIN, socket.EAI_FAIL)
    assert isinstance(info.value.__cause__, socket.gaierror)


# -- implementations ----------------------------------------------------------


def test_default_is_the_loop_resolver(io_loop: IOLoop) -> None:
    async def main() -> None:
        resolver = Resolver()
        assert type(resolver) is DefaultLoopResolver
        resolver.close()

    io_loop.run_sync(main)


def test_default_executor_resolver_uses_the_loops_executor(io_loop: IOLoop) -> None:
    class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
        submitted = 0

        def submit(self, *args: Any, **kwargs: Any) -> Any:
            CountingExecutor.submitted += 1
            return super().submit(*args, **kwargs)

    executor = CountingExecutor(1)
    io_loop.set_default_executor(executor)
    result = run(io_loop, DefaultExecutorResolver, lambda r: r.resolve("localhost", 80))
    check_pairs(result, 80)
    assert CountingExecutor.submitted == 1
    # IP literals need no thread.
    run(io_loop, DefaultExecutorResolver, lambda r: r.resolve("127.0.0.1", 80))
    assert CountingExecutor.submitted == 1


def test_blocking_resolver_runs_on_the_loop_thread(
    io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = socket.getaddrinfo

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)

    async def body(resolver: Resolver) -> Any:
        future = resolver.resolve("localhost", 80)
        # Resolved during the call, delivered on a later iteration.
        assert threads == [threading.current_thread()]
        return await future

    check_pairs(run(io_loop, BlockingResolver, body), 80)


def test_threaded_resolvers_share_one_pool(io_loop: IOLoop) -> None:
    async def main() -> None:
        first = ThreadedResolver(num_threads=3)
        second = ThreadedResolver(num_threads=5)
        assert first.executor is second.executor
        first.close()
        # close() leaves the shared pool running.
        check_pairs(await second.resolve("localhost", 80), 80)
        second.close()

    io_loop.run_sync(main)


def test_threaded_resolver_pool_is_recreated_after_fork(
    io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        before = ThreadedResolver()
        monkeypatch.setattr(ThreadedResolver, "_threadpool_pid", -1)
        after = ThreadedResolver()
        assert after.executor is not before.executor
        check_pairs(await after.resolve("localhost", 80), 80)
        # The old pool belongs to "the parent": shut it down ourselves.
        before.executor.shutdown()

    io_loop.run_sync(main)


def test_executor_resolver_closes_its_executor(io_loop: IOLoop) -> None:
    executor = concurrent.futures.ThreadPoolExecutor(1)
    resolver = ExecutorResolver(executor=executor)
    resolver.close()
    with pytest.raises(RuntimeError):
        executor.submit(print)


def test_executor_resolver_can_leave_its_executor_open(io_loop: IOLoop) -> None:
    executor = concurrent.futures.ThreadPoolExecutor(1)
    resolver = ExecutorResolver(executor=executor, close_executor=False)
    assert resolver.executor is executor
    resolver.close()
    assert executor.submit(int, "7").result() == 7
    executor.shutdown()


def test_executor_resolver_defaults_to_the_dummy_executor() -> None:
    from squall.concurrent import dummy_executor

    resolver = ExecutorResolver()
    assert resolver.executor is dummy_executor
    resolver.close()  # must not shut the shared dummy executor down
    assert dummy_executor.submit(int, "3").result() == 3


@pytest.mark.parametrize("cls", [ExecutorResolver, BlockingResolver, ThreadedResolver])
def test_io_loop_argument_is_deprecated(io_loop: IOLoop, cls: type[Resolver]) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        resolver = cls(io_loop=io_loop)
    resolver.close()


# -- OverrideResolver ---------------------------------------------------------


class RecordingResolver(Resolver):
    """A Tornado 6-style third-party resolver: ``async def resolve`` and no callback."""

    def initialize(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.closed = False

    async def resolve(  # type: ignore[override]
        self, host: str, port: int, family: int = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        self.calls.append((host, port, family))
        return [(socket.AF_INET, (host, port))]

    def close(self) -> None:
        self.closed = True


MAPPING: dict[Any, Any] = {
    "google.com": "127.0.0.1",
    ("host.example", 80): ("127.0.0.2", 8080),
    ("host.example", 443, socket.AF_INET6): ("::1", 8443),
    ("host.example", 443): ("127.0.0.3", 1443),
    "host.example": "127.0.0.4",
}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (("google.com", 80, socket.AF_UNSPEC), ("127.0.0.1", 80, socket.AF_UNSPEC)),
        (("google.com", 443, socket.AF_INET), ("127.0.0.1", 443, socket.AF_INET)),
        (("host.example", 80, socket.AF_UNSPEC), ("127.0.0.2", 8080, socket.AF_UNSPEC)),
        (("host.example", 443, socket.AF_INET6), ("::1", 8443, socket.AF_INET6)),
        (("host.example", 443, socket.AF_INET), ("127.0.0.3", 1443, socket.AF_INET)),
        (("host.example", 22, socket.AF_UNSPEC), ("127.0.0.4", 22, socket.AF_UNSPEC)),
        (("other.example", 80, socket.AF_UNSPEC), ("other.example", 80, socket.AF_UNSPEC)),
    ],
)
def test_override_mapping_forms(
    io_loop: IOLoop, request_: tuple[str, int, int], expected: tuple[str, int, int]
) -> None:
    inner = RecordingResolver()
    override = OverrideResolver(resolver=inner, mapping=MAPPING)
    result = run(io_loop, lambda: override, lambda r: r.resolve(*request_))
    assert inner.calls == [expected]
    assert result == [(socket.AF_INET, expected[:2])]


def test_override_closes_the_wrapped_resolver() -> None:
    inner = RecordingResolver()
    OverrideResolver(inner, {}).close()
    assert inner.closed


def test_override_with_a_real_resolver(io_loop: IOLoop) -> None:
    def make() -> Resolver:
        return OverrideResolver(BlockingResolver(), {INVALID_HOST: "127.0.0.1"})

    result = run(io_loop, make, lambda r: r.resolve(INVALID_HOST, 80))
    assert result == [(socket.AF_INET, ("127.0.0.1", 80))]


def test_override_keeps_the_callback_for_a_resolver_without_one(io_loop: IOLoop) -> None:
    results: list[Any] = []

    async def body(resolver: Resolver) -> Any:
        delivered = asyncio.Event()
        with pytest.warns(DeprecationWarning, match="callback"):
            future = resolver.resolve(
                "google.com", 80, callback=lambda r: (results.append(r), delivered.set())
            )
        await delivered.wait()
        return await future

    result = run(io_loop, lambda: OverrideResolver(RecordingResolver(), MAPPING), body)
    assert results == [result] == [[(socket.AF_INET, ("127.0.0.1", 80))]]


# -- configure ----------------------------------------------------------------


PLUGINS: dict[str, str] = {
    "default": "DefaultLoopResolver",
    "blocking": "BlockingResolver",
    "threaded": "ThreadedResolver",
    "cares": "CaresResolver",
}


@pytest.mark.parametrize("name", list(PLUGINS))
def test_configure_by_name(io_loop: IOLoop, name: str) -> None:
    if name == "cares" and not HAS_PYCARES:
        pytest.skip("pycares is not installed")
    Resolver.configure(name)
    assert Resolver.configured_class().__name__ == PLUGINS[name]

    async def main() -> Any:
        resolver = Resolver()
        try:
            assert type(resolver).__name__ == PLUGINS[name]
            return await resolver.resolve("localhost", 80)
        finally:
            resolver.close()

    result = io_loop.run_sync(main, timeout=60)
    assert {address[0] for _, address in result} & LOOPBACK


def test_twisted_plugin_is_registered() -> None:
    # Configuring it in this process would install Twisted's global reactor
    # on resolution: test_platform_twisted.py does that in a subprocess.
    from importlib.metadata import entry_points

    [entry_point] = [ep for ep in entry_points(group="squall.resolver") if ep.name == "twisted"]
    assert entry_point.value == "squall.platform.twisted:TwistedResolver [twisted]"


@pytest.mark.parametrize(
    "path", ["squall.netutil.ThreadedResolver", "squall.netutil:ThreadedResolver"]
)
def test_configure_by_path(path: str) -> None:
    Resolver.configure(path)
    assert Resolver.configured_class() is ThreadedResolver


def test_configure_passes_keyword_arguments(io_loop: IOLoop) -> None:
    executor = concurrent.futures.ThreadPoolExecutor(1)
    Resolver.configure(ExecutorResolver, executor=executor, close_executor=False)
    resolver = Resolver()
    assert isinstance(resolver, ExecutorResolver)
    assert resolver.executor is executor
    resolver.close()
    executor.shutdown()


def test_unknown_name_lists_the_installed_ones() -> None:
    with pytest.raises(PluginNotFoundError) as info:
        Resolver.configure("no-such-resolver")
    message = str(info.value)
    assert "'no-such-resolver'" in message
    for name in ("default", "blocking", "threaded", "cares", "twisted"):
        assert repr(name) in message
    assert isinstance(info.value, ValueError)


def test_configure_refuses_a_non_resolver() -> None:
    with pytest.raises(ValueError, match="not a subclass"):
        Resolver.configure("squall.ioloop.IOLoop")


def test_configure_none_restores_the_default() -> None:
    Resolver.configure("blocking")
    Resolver.configure(None)
    assert Resolver.configured_class() is DefaultLoopResolver
