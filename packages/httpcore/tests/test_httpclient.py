"""Tests for squall.httpclient: the interface shared by the client implementations.

Most tests use `FakeClient`, an in-test `AsyncHTTPClient` implementation
that answers from a table without any network, so they check the
interface alone: argument handling, defaults, the per-IOLoop cache,
`configure` (by class, path and plugin name), errors and the deprecated
callback.  The blocking `HTTPClient` and the command line run against a
loopback server.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import io
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from squall import httpclient
from squall.httpclient import (
    AsyncHTTPClient,
    HTTPClient,
    HTTPClientError,
    HTTPError,
    HTTPRequest,
    HTTPResponse,
)
from squall.httputil import HTTPHeaders
from squall.ioloop import IOLoop
from squall.util import PluginNotFoundError


class FakeClient(AsyncHTTPClient):
    """Answers every request at once: 200 with the URL as the body, or per `routes`."""

    routes: dict[str, Callable[[HTTPRequest], HTTPResponse]]

    def initialize(  # type: ignore[override]
        self, defaults: dict[str, Any] | None = None, label: str = ""
    ) -> None:
        super().initialize(defaults=defaults)
        self.label = label
        self.requests: list[HTTPRequest] = []
        self.routes = {}
        self.closed = False

    def close(self) -> None:
        self.closed = True
        super().close()

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        self.requests.append(request)
        route = self.routes.get(request.url)
        if route is not None:
            callback(route(request))
            return
        callback(HTTPResponse(request, 200, buffer=io.BytesIO(request.url.encode())))


@pytest.fixture(autouse=True)
def restore_configuration() -> Iterator[None]:
    saved = AsyncHTTPClient._save_configuration()
    try:
        yield
    finally:
        AsyncHTTPClient._restore_configuration(saved)


def run(io_loop: IOLoop, func: Callable[[], Any]) -> Any:
    return io_loop.run_sync(func, timeout=10)


# ---------------------------------------------------------------------------
# HTTPRequest
# ---------------------------------------------------------------------------


def test_request_defaults_are_none_until_resolved() -> None:
    request = HTTPRequest("http://example.com/")
    assert request.method == "GET"
    assert request.connect_timeout is None
    assert request.follow_redirects is None
    assert request.expect_100_continue is False
    assert isinstance(request.headers, HTTPHeaders)
    assert not request.headers
    assert request.body is None
    resolved = request._with_defaults(HTTPRequest._DEFAULTS)
    assert resolved.connect_timeout == 20.0
    assert resolved.request_timeout == 20.0
    assert resolved.follow_redirects is True
    assert resolved.max_redirects == 5
    assert resolved.decompress_response is True
    assert resolved.validate_cert is True
    assert resolved.allow_nonstandard_methods is False
    assert resolved.proxy_password == ""
    # The original is untouched.
    assert request.connect_timeout is None


def test_request_explicit_values_beat_defaults() -> None:
    request = HTTPRequest("http://example.com/", connect_timeout=3, follow_redirects=False)
    resolved = request._with_defaults({"connect_timeout": 9, "follow_redirects": True})
    assert resolved.connect_timeout == 3
    assert resolved.follow_redirects is False


def test_request_defaults_fill_none_set_later_and_ignore_other_names() -> None:
    request = HTTPRequest("http://example.com/", request_timeout=5, method="PUT", body=b"x")
    request.request_timeout = None  # set to None after construction: the default applies
    resolved = request._with_defaults({"request_timeout": 7, "method": "GET", "unknown": 1})
    assert resolved.request_timeout == 7
    assert resolved.method == "PUT"
    assert not hasattr(resolved, "unknown")
    plain = HTTPRequest("http://example.com/")
    odd = plain._with_defaults({"method": "POST", "expect_100_continue": True, "url": "x"})
    assert (odd.method, odd.expect_100_continue, odd.url) == ("GET", False, "http://example.com/")
    with_body = plain._with_defaults({"body": "b", "connect_timeout": 1})
    assert (with_body.body, with_body.connect_timeout) == (b"b", 1)
    assert plain.body is None
    assert plain.connect_timeout is None
    # The usual path: the copy is independent of the original.
    usual = plain._with_defaults({"connect_timeout": 2})
    usual.max_redirects = 1
    assert plain.max_redirects is None
    assert usual.connect_timeout == 2


def test_request_headers_dict_and_body_conversion() -> None:
    request = HTTPRequest("http://x/", headers={"x-foo": "1"}, body="h\u00e9")
    assert isinstance(request.headers, HTTPHeaders)
    assert request.headers["X-Foo"] == "1"
    assert request.body == "h\u00e9".encode()
    request.body = "abc"  # type: ignore[assignment]
    assert request.body == b"abc"
    request.headers = {"a": "b"}  # type: ignore[assignment]
    assert isinstance(request.headers, HTTPHeaders)
    assert request.headers["A"] == "b"
    request.headers = None  # type: ignore[assignment]
    assert isinstance(request.headers, HTTPHeaders)
    assert not request.headers
    headers = HTTPHeaders({"k": "v"})
    assert HTTPRequest("http://x/", headers=headers).headers is headers


def test_request_without_headers_gets_its_own() -> None:
    # Made on first use: each request its own object, kept once made.
    first, second = HTTPRequest("http://x/"), HTTPRequest("http://x/")
    assert isinstance(first.headers, HTTPHeaders)
    assert first.headers is first.headers
    first.headers["X-A"] = "1"
    assert first.headers["X-A"] == "1"
    assert not second.headers
    assert first.headers is not second.headers


def test_request_if_modified_since() -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    request = HTTPRequest("http://x/", if_modified_since=when)
    assert request.headers["If-Modified-Since"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    stamp = HTTPRequest("http://x/", if_modified_since=when.timestamp())
    assert stamp.headers["If-Modified-Since"] == "Tue, 02 Jan 2024 03:04:05 GMT"


def test_request_use_gzip_alias() -> None:
    assert HTTPRequest("http://x/", use_gzip=False).decompress_response is False
    assert HTTPRequest("http://x/", use_gzip=False, decompress_response=True).use_gzip is True
    request = HTTPRequest("http://x/")
    request.use_gzip = False
    assert request.decompress_response is False
    assert request._with_defaults({"use_gzip": False}).decompress_response is False


def test_request_signature_matches_the_documentation() -> None:
    import inspect

    documented = [
        "url",
        "method",
        "headers",
        "body",
        "auth_username",
        "auth_password",
        "auth_mode",
        "connect_timeout",
        "request_timeout",
        "if_modified_since",
        "follow_redirects",
        "max_redirects",
        "user_agent",
        "use_gzip",
        "network_interface",
        "streaming_callback",
        "header_callback",
        "prepare_curl_callback",
        "proxy_host",
        "proxy_port",
        "proxy_username",
        "proxy_password",
        "proxy_auth_mode",
        "allow_nonstandard_methods",
        "validate_cert",
        "ca_certs",
        "allow_ipv6",
        "client_key",
        "client_cert",
        "body_producer",
        "expect_100_continue",
        "decompress_response",
        "ssl_options",
    ]
    parameters = list(inspect.signature(HTTPRequest).parameters)
    assert parameters == documented


def test_request_start_time_is_wall_clock() -> None:
    import time

    before = time.time()
    request = HTTPRequest("http://x/")
    assert before <= request.start_time <= time.time()


# ---------------------------------------------------------------------------
# HTTPResponse and HTTPClientError
# ---------------------------------------------------------------------------


def test_response_attributes() -> None:
    request = HTTPRequest("http://x/")
    response = HTTPResponse(request, 200, buffer=io.BytesIO(b"hello"), request_time=0.5)
    assert response.body == b"hello"
    assert response.body is response.body  # computed once
    assert response.reason == "OK"
    assert response.effective_url == "http://x/"
    assert response.error is None
    assert isinstance(response.headers, HTTPHeaders)
    assert response.time_info == {}
    response.rethrow()
    assert "code=200" in repr(response)


def test_response_without_buffer_has_empty_body() -> None:
    response = HTTPResponse(HTTPRequest("http://x/"), 204)
    assert response.body == b""


def test_received_response_buffer_made_on_first_use() -> None:
    request = HTTPRequest("http://x/")
    response = HTTPResponse._received(
        request, 200, "OK", HTTPHeaders(), b"body", "http://y/", 0.5, 1.0, {"total": 0.5}
    )
    assert (response.body, response.reason, response.error) == (b"body", "OK", None)
    assert (response.effective_url, response.request_time, response.start_time) == (
        "http://y/",
        0.5,
        1.0,
    )
    buffer = response.buffer
    assert isinstance(buffer, io.BytesIO)
    assert buffer.read() == b"body"
    assert response.buffer is buffer
    response.buffer = io.BytesIO(b"other")
    assert response.body == b"other"
    response.buffer = None
    assert response.body == b""
    failed = HTTPResponse._received(request, 500, "", HTTPHeaders(), b"", "http://x/", 0, 0, {})
    assert failed.reason == "Internal Server Error"
    assert isinstance(failed.error, HTTPClientError)
    assert failed.error.response is failed
    assert isinstance(failed.buffer, io.BytesIO)


def test_response_error_for_non_2xx() -> None:
    request = HTTPRequest("http://x/")
    response = HTTPResponse(request, 404, reason="Nope")
    assert isinstance(response.error, HTTPClientError)
    assert response.error.code == 404
    assert response.error.message == "Nope"
    assert response.error.response is response
    with pytest.raises(HTTPClientError, match="HTTP 404: Nope"):
        response.rethrow()
    assert HTTPResponse(request, 302).error is not None
    assert HTTPResponse(request, 101).error is not None


def test_response_given_error_is_kept() -> None:
    exc = OSError("boom")
    response = HTTPResponse(HTTPRequest("http://x/"), 599, error=exc)
    assert response.error is exc
    assert response.reason == "Unknown"


def test_http_error_alias_str_repr_copy_pickle() -> None:
    assert HTTPError is HTTPClientError
    error = HTTPClientError(404)
    assert error.message == "Not Found"
    assert str(error) == "HTTP 404: Not Found"
    assert "404" in repr(error)
    copied = copy.copy(error)
    assert (copied.code, copied.message) == (404, "Not Found")
    loaded = pickle.loads(pickle.dumps(HTTPClientError(599, "Timeout")))
    assert (loaded.code, loaded.message) == (599, "Timeout")
    with_response = HTTPClientError(500, response=HTTPResponse(HTTPRequest("http://x/"), 500))
    assert "500" in repr(with_response)


# ---------------------------------------------------------------------------
# AsyncHTTPClient: construction, cache, configure
# ---------------------------------------------------------------------------


def test_default_implementation_is_simple(io_loop: IOLoop) -> None:
    from squall.simple_httpclient import SimpleAsyncHTTPClient

    async def f() -> None:
        client = AsyncHTTPClient(force_instance=True)
        try:
            assert isinstance(client, SimpleAsyncHTTPClient)
        finally:
            client.close()

    run(io_loop, f)


def test_instance_cache_per_ioloop(io_loop: IOLoop) -> None:
    AsyncHTTPClient.configure(FakeClient)

    async def f() -> tuple[AsyncHTTPClient, AsyncHTTPClient]:
        first = AsyncHTTPClient()
        second = AsyncHTTPClient()
        assert first is second
        forced = AsyncHTTPClient(force_instance=True)
        assert forced is not first
        forced.close()
        return first, second

    first, _ = run(io_loop, f)
    other_loop = IOLoop(make_current=False)
    try:
        other = other_loop.run_sync(lambda: asyncio.sleep(0, AsyncHTTPClient()))
        assert other is not first
        other_loop.run_sync(lambda: asyncio.sleep(0, other.close()))
    finally:
        other_loop.close()

    async def g() -> None:
        assert AsyncHTTPClient() is first
        first.close()
        assert AsyncHTTPClient() is not first  # closing removed it from the cache
        AsyncHTTPClient().close()

    run(io_loop, g)


def test_cache_is_per_class(io_loop: IOLoop) -> None:
    AsyncHTTPClient.configure(FakeClient)

    async def f() -> None:
        base = AsyncHTTPClient()
        direct = FakeClient()
        assert base is not direct
        assert FakeClient() is direct
        base.close()
        direct.close()

    run(io_loop, f)


def test_configure_kwargs_and_caller_kwargs(io_loop: IOLoop) -> None:
    AsyncHTTPClient.configure(FakeClient, label="configured", defaults={"user_agent": "UA"})

    async def f() -> None:
        client = AsyncHTTPClient(force_instance=True)
        assert isinstance(client, FakeClient)
        assert client.label == "configured"
        assert client.defaults["user_agent"] == "UA"
        assert client.defaults["connect_timeout"] == 20.0
        client.close()
        other = AsyncHTTPClient(force_instance=True, label="mine")
        assert isinstance(other, FakeClient)
        assert other.label == "mine"
        other.close()

    run(io_loop, f)


def test_configure_by_path_and_plugin_name(io_loop: IOLoop) -> None:
    from squall.simple_httpclient import SimpleAsyncHTTPClient

    AsyncHTTPClient.configure(f"{__name__}:FakeClient")
    assert AsyncHTTPClient.configured_class().__name__ == "FakeClient"
    AsyncHTTPClient.configure("squall.simple_httpclient.SimpleAsyncHTTPClient")
    assert AsyncHTTPClient.configured_class() is SimpleAsyncHTTPClient
    AsyncHTTPClient.configure(None)
    AsyncHTTPClient.configure("simple")
    assert AsyncHTTPClient.configured_class() is SimpleAsyncHTTPClient
    AsyncHTTPClient.configure(None)
    assert AsyncHTTPClient.configured_class() is SimpleAsyncHTTPClient


def test_configure_unknown_name_lists_installed() -> None:
    with pytest.raises(PluginNotFoundError) as info:
        AsyncHTTPClient.configure("nosuchclient")
    assert "'simple'" in str(info.value)
    assert info.value.group == "squall.httpclient"


def test_configure_rejects_non_clients() -> None:
    with pytest.raises(ValueError):
        AsyncHTTPClient.configure(HTTPRequest)  # type: ignore[arg-type]


def test_io_loop_argument_is_deprecated(io_loop: IOLoop) -> None:
    AsyncHTTPClient.configure(FakeClient)

    async def f() -> None:
        with pytest.warns(DeprecationWarning, match="io_loop"):
            client = AsyncHTTPClient(io_loop=io_loop, force_instance=True)
        assert client.io_loop is io_loop
        client.close()

    run(io_loop, f)


def test_tornado6_positional_force_instance(io_loop: IOLoop) -> None:
    AsyncHTTPClient.configure(FakeClient)

    async def f() -> None:
        shared = AsyncHTTPClient()
        forced = AsyncHTTPClient(True)
        assert forced is not shared
        forced.close()
        shared.close()

    run(io_loop, f)


def test_close_twice_and_fetch_after_close(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True)
        client.close()
        client.close()
        with pytest.raises(RuntimeError, match="closed"):
            client.fetch("http://x/")

    run(io_loop, f)


# ---------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------


def test_fetch_url_with_kwargs_and_defaults(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True, defaults={"user_agent": "Agent/1"})
        response = await client.fetch("http://a/", method="POST", body=b"x", request_timeout=3)
        assert response.body == b"http://a/"
        sent = client.requests[-1]
        assert sent.method == "POST"
        assert sent.body == b"x"
        assert sent.request_timeout == 3
        assert sent.user_agent == "Agent/1"
        assert sent.connect_timeout == 20.0
        # The response carries the caller's request, not the resolved copy.
        assert response.request is not sent
        assert response.request.user_agent is None
        client.close()

    run(io_loop, f)


def test_fetch_request_object_rejects_kwargs(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True)
        request = HTTPRequest("http://a/")
        with pytest.raises(ValueError, match="kwargs"):
            client.fetch(request, method="POST")
        response = await client.fetch(request)
        assert response.request is request
        client.close()

    run(io_loop, f)


def test_fetch_raises_for_error_status(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True)
        client.routes["http://a/missing"] = lambda r: HTTPResponse(r, 404)
        with pytest.raises(HTTPClientError) as info:
            await client.fetch("http://a/missing")
        assert info.value.code == 404
        assert info.value.response is not None
        assert info.value.response.code == 404
        response = await client.fetch("http://a/missing", raise_error=False)
        assert response.code == 404
        assert response.error is not None
        client.close()

    run(io_loop, f)


def test_fetch_transport_error_code_599(io_loop: IOLoop) -> None:
    failure = HTTPClientError(599, "Connection refused")

    async def f() -> None:
        client = FakeClient(force_instance=True)
        client.routes["http://down/"] = lambda r: HTTPResponse(r, 599, error=failure)
        with pytest.raises(HTTPClientError) as info:
            await client.fetch("http://down/")
        assert info.value is failure
        # raise_error=False: the response is returned whatever happened.
        response = await client.fetch("http://down/", raise_error=False)
        assert response.code == 599
        assert response.error is failure
        client.close()

    run(io_loop, f)


def test_value_error_raised_even_without_raise_error(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True)
        client.routes["bad"] = lambda r: HTTPResponse(r, 599, error=ValueError("bad url"))
        with pytest.raises(ValueError, match="bad url"):
            await client.fetch("bad", raise_error=False)
        client.close()

    run(io_loop, f)


def test_fetch_impl_exception_fails_the_future(io_loop: IOLoop) -> None:
    class Broken(FakeClient):
        def fetch_impl(
            self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]
        ) -> None:
            raise ValueError("unsupported")

    async def f() -> None:
        client = Broken(force_instance=True)
        with pytest.raises(ValueError, match="unsupported"):
            await client.fetch("http://a/")
        client.close()

    run(io_loop, f)


def test_deprecated_callback(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True)
        client.routes["http://a/404"] = lambda r: HTTPResponse(r, 404)
        got: list[HTTPResponse] = []
        done = asyncio.Event()

        def callback(response: HTTPResponse) -> None:
            got.append(response)
            if len(got) == 2:
                done.set()

        with pytest.warns(DeprecationWarning, match="callback"):
            future = client.fetch("http://a/", callback)
        with pytest.warns(DeprecationWarning, match="callback"):
            failed = client.fetch("http://a/404", callback=callback)
        assert (await future).code == 200
        assert (await failed).code == 404  # no exception in the callback interface
        await asyncio.wait_for(done.wait(), 5)
        assert sorted(r.code for r in got) == [200, 404]
        client.close()

    run(io_loop, f)


def test_fetch_impl_may_answer_later(io_loop: IOLoop) -> None:
    class Later(FakeClient):
        def fetch_impl(
            self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]
        ) -> None:
            self.io_loop.call_later(0.01, callback, HTTPResponse(request, 201))

    async def f() -> None:
        client = Later(force_instance=True)
        assert (await client.fetch("http://a/")).code == 201
        client.close()

    run(io_loop, f)


# ---------------------------------------------------------------------------
# HTTPClient (blocking) and the command line, against a loopback server
# ---------------------------------------------------------------------------


class TinyServer:
    """A thread serving canned HTTP/1.1 responses on loopback (one per connection)."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                conn.sendall(self.response)

    def close(self) -> None:
        # shutdown() wakes the blocked accept() (close() alone does not).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)


@pytest.fixture
def tiny_server() -> Iterator[TinyServer]:
    server = TinyServer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\nConnection: close\r\n\r\nhello"
    )
    try:
        yield server
    finally:
        server.close()


def test_blocking_client(tiny_server: TinyServer) -> None:
    client = HTTPClient()
    try:
        response = client.fetch(f"http://127.0.0.1:{tiny_server.port}/path")
        assert response.code == 200
        assert response.body == b"hello"
        assert response.headers["X-Test"] == "yes"
        assert tiny_server.requests[0].startswith(b"GET /path HTTP/1.1\r\n")
    finally:
        client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.fetch("http://127.0.0.1/")


def test_blocking_client_does_not_change_current_ioloop(tiny_server: TinyServer) -> None:
    before = IOLoop.current(instance=False)
    client = HTTPClient()
    try:
        client.fetch(f"http://127.0.0.1:{tiny_server.port}/")
        assert IOLoop.current(instance=False) is before
    finally:
        client.close()


def test_blocking_client_errors() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = HTTPClient()
    try:
        with pytest.raises(HTTPClientError) as info:
            client.fetch(f"http://127.0.0.1:{port}/", connect_timeout=5)
        assert info.value.code == 599
        response = client.fetch(f"http://127.0.0.1:{port}/", raise_error=False)
        assert response.code == 599
        assert response.error is not None
    finally:
        client.close()


def test_blocking_client_with_custom_class_and_kwargs() -> None:
    client = HTTPClient(FakeClient, label="sync", defaults={"user_agent": "X"})
    try:
        assert isinstance(client._async_client, FakeClient)
        assert client._async_client.label == "sync"
        assert client.fetch("http://a/").body == b"http://a/"
    finally:
        client.close()
    assert client._async_client.closed


def test_blocking_client_inside_running_loop(tiny_server: TinyServer) -> None:
    # Tornado 4 allowed it (blocking the loop); it runs on a helper thread.
    async def f() -> int:
        client = HTTPClient()
        try:
            return client.fetch(f"http://127.0.0.1:{tiny_server.port}/").code
        finally:
            client.close()

    assert asyncio.run(f()) == 200


def test_command_line(tiny_server: TinyServer) -> None:
    url = f"http://127.0.0.1:{tiny_server.port}/"
    result = subprocess.run(
        [sys.executable, "-m", "squall.httpclient", url],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == b"hello"
    result = subprocess.run(
        [sys.executable, "-m", "squall.httpclient", "--print_headers", "--print_body=false", url],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"X-Test: yes" in result.stdout
    assert b"hello" not in result.stdout


def test_command_line_failure_exit_status() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "squall.httpclient", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert b"599" in result.stderr


def test_module_all_is_complete_and_sorted() -> None:
    public = {
        name
        for name, value in vars(httpclient).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == "squall.httpclient"
        and name != "annotations"
    }
    assert set(httpclient.__all__) >= public
    assert list(httpclient.__all__) == sorted(httpclient.__all__)


def test_positional_arguments_other_than_io_loop_are_rejected(io_loop: IOLoop) -> None:
    async def f() -> None:
        with pytest.raises(TypeError, match="keyword"):
            FakeClient(10)

    run(io_loop, f)


def test_tornado6_positional_raise_error(io_loop: IOLoop) -> None:
    async def f() -> None:
        client = FakeClient(force_instance=True)
        client.routes["http://a/404"] = lambda r: HTTPResponse(r, 404)
        response = await client.fetch("http://a/404", False)
        assert response.code == 404
        with pytest.raises(HTTPClientError):
            await client.fetch("http://a/404", True)
        client.close()

    run(io_loop, f)
