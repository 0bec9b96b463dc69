"""squall's pytest plugin: the ``pytest11`` entry point ``squall``.

Active wherever squall-testing is installed (``pytest -p no:squall``
disables it).  It provides:

- fixtures: ``io_loop`` (a fresh IOLoop per test, supervised like an
  `AsyncTestCase`'s), ``http_server`` (an HTTPServer on a free port serving
  the application of an ``app`` fixture the project defines, with the
  keyword arguments of ``http_server_options``), ``http_port``,
  ``base_url``, ``http_client`` and ``fetch``;
- ``async def`` tests run on the ``io_loop`` fixture's loop, with a
  timeout; ``@pytest.mark.gen_test(timeout=...)`` sets it, and marks a test
  (even a plain one) to run on the loop;
- ``--async-test-timeout=SECONDS`` and the ``async_test_timeout`` ini
  setting for the default timeout.

Tests other plugins run are left to them: unittest test cases, and
coroutine tests marked ``asyncio`` (pytest-asyncio), ``anyio`` or ``trio``.
squall modules are imported only when a fixture or a test needs them.
"""

from __future__ import annotations

import functools
import inspect
import socket
import unittest
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from squall._testing._supervisor import TestLoop
    from squall.httpclient import AsyncHTTPClient, HTTPResponse
    from squall.httpserver import HTTPServer
    from squall.ioloop import IOLoop

#: Markers of other plugins that run coroutine tests themselves, and those plugins.
_FOREIGN_MARKERS = {"asyncio": "pytest-asyncio", "anyio": "anyio", "trio": "pytest-trio"}

_CLAIMED = pytest.StashKey[bool]()
_TEST_LOOP: pytest.StashKey[TestLoop] = pytest.StashKey()
_SAVED_SETTINGS: pytest.StashKey[tuple[float | None, float]] = pytest.StashKey()


# -- configuration -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("squall", "squall.testing")
    try:
        group.addoption(
            "--async-test-timeout",
            default=None,
            metavar="SECONDS",
            help="Timeout of each async test (default: ASYNC_TEST_TIMEOUT, the "
            "async_test_timeout ini setting, else 5).",
        )
    except ValueError:
        pass  # another plugin (pytest-tornado) defines the same option: share it
    parser.addini(
        "async_test_timeout",
        help="Default timeout in seconds of async tests when ASYNC_TEST_TIMEOUT is unset "
        "(squall.testing; default 5).",
        default=None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gen_test(timeout=None): run the test on the io_loop fixture's IOLoop "
        "(coroutine tests run there anyway), failing it after timeout seconds "
        "(squall.testing).",
    )
    from squall._testing._timeout import parse_timeout, settings

    config.stash[_SAVED_SETTINGS] = (settings.override, settings.fallback)
    try:
        option = config.getoption("async_test_timeout", None)
        if option is not None:
            settings.override = parse_timeout(str(option), "--async-test-timeout")
        ini = config.getini("async_test_timeout")
        if ini:
            settings.fallback = parse_timeout(str(ini), "async_test_timeout")
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not config.pluginmanager.hasplugin("base_url"):
        # pytest-base-url (used by pytest-playwright, pytest-selenium) owns
        # a base_url fixture; squall's is offered only without it.
        config.pluginmanager.register(_BaseUrlPlugin(), "squall-base-url")


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_SAVED_SETTINGS, None)
    if saved is not None:
        from squall._testing._timeout import settings

        settings.override, settings.fallback = saved


# -- which tests run on the loop ------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and _runs_on_io_loop(item):
            item.stash[_CLAIMED] = True
            if "io_loop" not in item.fixturenames:
                # First, so that the loop exists (and is current) before
                # the other fixtures are set up.
                item.fixturenames.insert(0, "io_loop")


def _runs_on_io_loop(item: pytest.Function) -> bool:
    if item.cls is not None and issubclass(item.cls, unittest.TestCase):
        return False  # unittest (and AsyncTestCase) run their own methods
    if item.get_closest_marker("gen_test") is not None:
        return True
    if _foreign_marker(item) is not None:
        return False
    return inspect.iscoroutinefunction(item.obj)


def _foreign_marker(node: pytest.Item | pytest.Collector) -> str | None:
    for name in _FOREIGN_MARKERS:
        if node.get_closest_marker(name) is not None:
            return name
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not pyfuncitem.stash.get(_CLAIMED, False):
        return None
    __tracebackhide__ = True
    from squall._testing._supervisor import TestLoop
    from squall._testing._timeout import get_async_test_timeout

    io_loop: IOLoop | None = pyfuncitem.funcargs.get("io_loop")  # type: ignore[assignment]
    if io_loop is None:
        raise RuntimeError(f"{pyfuncitem.nodeid} runs on the io_loop fixture, which is missing")
    timeout = _marker_timeout(pyfuncitem)
    if timeout is None:
        timeout = get_async_test_timeout()
    function = pyfuncitem.obj
    wanted = inspect.signature(function).parameters
    kwargs = {name: value for name, value in pyfuncitem.funcargs.items() if name in wanted}
    test = functools.partial(function, **kwargs)
    test_loop = pyfuncitem.stash.get(_TEST_LOOP, None)
    if test_loop is not None and test_loop.io_loop is io_loop:
        test_loop.run(test, timeout, pyfuncitem.name)
        return True
    # A project's own io_loop fixture overrides squall's: supervise its loop
    # while the test runs, and leave closing it to that fixture.
    test_loop = TestLoop(
        io_loop, owns=False, callback_errors_fail="caplog" not in pyfuncitem.fixturenames
    )
    try:
        test_loop.run(test, timeout, pyfuncitem.name)
    finally:
        test_loop.close()
    return True


def _marker_timeout(item: pytest.Function) -> float | None:
    marker = item.get_closest_marker("gen_test")
    if marker is None:
        return None
    if marker.args or set(marker.kwargs) - {"timeout"}:
        raise TypeError(
            "@pytest.mark.gen_test takes only a keyword argument timeout=SECONDS, "
            f"not {marker.args or ''}{marker.kwargs or ''}"
        )
    timeout: float | None = marker.kwargs.get("timeout")
    return timeout


# -- fixtures --------------------------------------------------------------------


@pytest.fixture
def io_loop(request: pytest.FixtureRequest) -> Iterator[IOLoop]:
    """A new IOLoop for the test, current meanwhile, closed (with its fds) afterwards.

    Supervised like an `AsyncTestCase`'s loop: an exception raised in a
    callback fails the test unless an `ExpectLog` swallowed its record (or
    the test uses ``caplog``: it then checks the logs itself), and
    tasks, transports or handlers left behind are closed and reported with
    a `RuntimeWarning`.  Drive it with ``io_loop.run_sync(...)`` in a
    plain test, or write the test as ``async def``.
    """
    from squall._testing._supervisor import TestLoop
    from squall.ioloop import IOLoop

    foreign = _foreign_marker(request.node)
    if foreign is not None:
        pytest.fail(
            f"squall's io_loop fixture cannot serve {request.node.name}: the test is marked "
            f"{foreign!r}, so {_FOREIGN_MARKERS[foreign]} runs it on another event loop. "
            "Let squall run it: remove the marker (with pytest-asyncio, also use its strict "
            "mode, the default, not asyncio_mode=auto, which marks every coroutine test).",
            pytrace=False,
        )
    # A test that captures logs (caplog) checks them itself: there, an
    # exception in a callback is only logged, as it is outside tests.
    test_loop = TestLoop(
        IOLoop(make_current=True), callback_errors_fail="caplog" not in request.fixturenames
    )
    request.node.stash[_TEST_LOOP] = test_loop
    try:
        yield test_loop.io_loop
    finally:
        del request.node.stash[_TEST_LOOP]
        test_loop.close(_location(request.node))


@pytest.fixture
def http_server_options() -> dict[str, Any]:
    """Keyword arguments for the ``http_server`` fixture's HTTPServer; override it."""
    return {}


@pytest.fixture
def _squall_http_socket() -> Iterator[tuple[socket.socket, int]]:
    from squall._testing._ports import bind_unused_port

    sock, port = bind_unused_port()
    try:
        yield sock, port
    finally:
        sock.close()


@pytest.fixture
def http_port(_squall_http_socket: tuple[socket.socket, int]) -> int:
    """The port ``http_server`` listens on, on 127.0.0.1 (bound before the server starts)."""
    return _squall_http_socket[1]


@pytest.fixture
def http_server(
    io_loop: IOLoop,
    app: Any,
    http_server_options: dict[str, Any],
    _squall_http_socket: tuple[socket.socket, int],
) -> Iterator[HTTPServer]:
    """An HTTPServer serving the ``app`` fixture on 127.0.0.1:``http_port``.

    The project defines ``app`` (an ``Application``, or any HTTPServer
    request callback).  After the test the server stops and its
    connections are closed, within the async test timeout.
    """
    from squall._testing._timeout import get_async_test_timeout
    from squall.httpserver import HTTPServer

    server = HTTPServer(app, **http_server_options)
    server.add_sockets([_squall_http_socket[0]])
    try:
        yield server
    finally:
        server.stop()
        io_loop.run_sync(server.close_all_connections, timeout=get_async_test_timeout())


@pytest.fixture
def http_client(io_loop: IOLoop) -> Iterator[AsyncHTTPClient]:
    """A private AsyncHTTPClient on the test's loop, closed after the test."""
    from squall.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True)
    try:
        yield client
    finally:
        client.close()


class _BaseUrlPlugin:
    """The ``base_url`` fixture, registered unless pytest-base-url provides one."""

    @pytest.fixture
    def base_url(self, http_server: HTTPServer, http_port: int) -> str:
        """``http://127.0.0.1:PORT`` of the running ``http_server``, without a trailing slash."""
        return f"http://127.0.0.1:{http_port}"


@pytest.fixture
def fetch(
    http_client: AsyncHTTPClient, http_server: HTTPServer, http_port: int
) -> Callable[..., Awaitable[HTTPResponse]]:
    """``fetch(path, raise_error=False, **kwargs)``: fetch a path from ``http_server``.

    Returns the client's Future of the response (await it in an ``async
    def`` test).  `path` is appended to the server's URL unless it is an
    absolute http(s) URL; like `AsyncHTTPTestCase.fetch`, a non-200
    response is returned rather than raised unless ``raise_error=True``.
    """
    base = f"http://127.0.0.1:{http_port}"

    def fetch(path: str, raise_error: bool = False, **kwargs: Any) -> Awaitable[HTTPResponse]:
        url = path if path.lower().startswith(("http://", "https://")) else base + path
        return http_client.fetch(url, raise_error=raise_error, **kwargs)

    return fetch


def _location(node: pytest.Item | pytest.Collector) -> tuple[str, int] | None:
    function = getattr(node, "obj", None)
    code = getattr(inspect.unwrap(function), "__code__", None) if function else None
    if code is None:
        return None
    return code.co_filename, code.co_firstlineno
