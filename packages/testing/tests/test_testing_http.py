"""AsyncHTTPTestCase and AsyncHTTPSTestCase, over loopback."""

from __future__ import annotations

import socket
import ssl
import unittest
from typing import Any

import pytest

from squall.httpclient import HTTPClientError
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.testing import AsyncHTTPSTestCase, AsyncHTTPTestCase, ExpectLog, gen_test
from squall.util import TimeoutError

# Every test here also checks that the server and client close cleanly: a
# leak would be a RuntimeWarning, an error here.
pytestmark = pytest.mark.filterwarnings("error")


def echo_app(request: HTTPServerRequest) -> None:
    """An HTTPServer callback: answers "METHOD URI BODY", 404 for /missing, never for /hang."""
    if request.path == "/hang":
        return
    status, reason = (404, "Not Found") if request.path == "/missing" else (200, "OK")
    body = f"{request.method} {request.uri} ".encode() + request.body
    body += f" {request.remote_ip}".encode()
    request.connection.write_headers(  # type: ignore[union-attr]
        ResponseStartLine("HTTP/1.1", status, reason),
        HTTPHeaders({"Content-Length": str(len(body))}),
        body,
    )
    request.connection.finish()  # type: ignore[union-attr]


def run(case: type[unittest.TestCase], name: str) -> unittest.TestResult:
    result = unittest.TestResult()
    case(name).run(result)
    assert result.testsRun == 1
    assert not result.failures, result.failures
    assert not result.errors, result.errors
    return result


class EchoCase(AsyncHTTPTestCase):
    __test__ = False  # run by the tests below, not collected on its own

    def get_app(self) -> Any:
        return echo_app


def test_fetch_a_relative_path() -> None:
    class Case(EchoCase):
        def test_it(self) -> None:
            response = self.fetch("/path?x=1")
            assert response.code == 200
            assert response.body == b"GET /path?x=1  127.0.0.1"
            assert response.effective_url == self.get_url("/path?x=1")

    run(Case, "test_it")


def test_fetch_passes_keyword_arguments_to_the_client() -> None:
    class Case(EchoCase):
        def test_it(self) -> None:
            response = self.fetch("/form", method="POST", body="a=1")
            assert response.body == b"POST /form a=1 127.0.0.1"

    run(Case, "test_it")


def test_fetch_an_absolute_url() -> None:
    class Case(EchoCase):
        def test_it(self) -> None:
            url = f"http://127.0.0.1:{self.get_http_port()}/absolute"
            assert self.fetch(url).body.startswith(b"GET /absolute")

    run(Case, "test_it")


def test_fetch_returns_error_responses_unless_raise_error() -> None:
    class Case(EchoCase):
        def test_it(self) -> None:
            assert self.fetch("/missing").code == 404
            with pytest.raises(HTTPClientError) as info:
                self.fetch("/missing", raise_error=True)
            assert info.value.code == 404

    run(Case, "test_it")


def test_fetch_times_out_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.2")

    class Case(EchoCase):
        def test_it(self) -> None:
            with pytest.raises(TimeoutError, match=r"fetch\('http://127.0.0.1:\d+/hang'\) timed"):
                self.fetch("/hang")

    run(Case, "test_it")


def test_url_port_and_protocol() -> None:
    ports: list[int] = []

    class Case(EchoCase):
        def test_it(self) -> None:
            port = self.get_http_port()
            ports.append(port)
            assert self.get_protocol() == "http"
            assert self.get_url("/a?b") == f"http://127.0.0.1:{port}/a?b"

    run(Case, "test_it")
    run(Case, "test_it")
    assert ports[0] != ports[1]


def test_coroutine_tests_use_the_client_and_server_directly() -> None:
    class Case(EchoCase):
        @gen_test
        async def test_it(self) -> None:
            response = await self.http_client.fetch(self.get_url("/direct"))
            assert response.body.startswith(b"GET /direct")
            assert self.http_server is not None

    run(Case, "test_it")


def test_httpserver_options_are_used() -> None:
    class Case(EchoCase):
        def get_httpserver_options(self) -> dict[str, Any]:
            return {"xheaders": True}

        def test_it(self) -> None:
            response = self.fetch("/", headers={"X-Real-Ip": "10.1.2.3"})
            assert response.body.endswith(b" 10.1.2.3")

    run(Case, "test_it")


def test_server_and_client_are_closed_after_the_test() -> None:
    seen: dict[str, Any] = {}

    class Case(EchoCase):
        def test_it(self) -> None:
            self.fetch("/")  # leaves a kept-alive connection behind
            seen["port"] = self.get_http_port()
            seen["case"] = self

    run(Case, "test_it")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", seen["port"]), timeout=5).close()
    assert not hasattr(seen["case"], "http_server")
    assert not hasattr(seen["case"], "http_client")


def test_get_app_must_be_overridden() -> None:
    class Case(AsyncHTTPTestCase):
        def test_it(self) -> None:
            pass

    result = unittest.TestResult()
    Case("test_it").run(result)
    assert "Case must override get_app()" in result.errors[0][1]


def test_an_application_error_is_logged_by_the_server_and_the_test_goes_on() -> None:
    def failing_app(request: HTTPServerRequest) -> None:
        raise ValueError("application bug")

    class Case(AsyncHTTPTestCase):
        def get_app(self) -> Any:
            return failing_app

        def test_it(self) -> None:
            with ExpectLog("squall.application", "Uncaught exception") as expect:
                response = self.fetch("/")
            assert response.code == 599  # the server closed the connection
            assert expect.logged_stack

    run(Case, "test_it")


# -- HTTPS ------------------------------------------------------------------------------------


class EchoSCase(AsyncHTTPSTestCase):
    __test__ = False

    def get_app(self) -> Any:
        return echo_app


def test_https_fetch() -> None:
    class Case(EchoSCase):
        def test_it(self) -> None:
            assert self.get_protocol() == "https"
            assert self.get_url("/").startswith("https://127.0.0.1:")
            response = self.fetch("/secure")
            assert response.code == 200
            assert response.body.startswith(b"GET /secure")

    run(Case, "test_it")


def test_https_serves_the_shipped_certificate_which_verifies_for_loopback() -> None:
    class Case(EchoSCase):
        def test_it(self) -> None:
            options = self.get_ssl_options()
            context = ssl.create_default_context(cafile=options["certfile"])
            port = self.get_http_port()

            def handshake(server_hostname: str) -> None:
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
                    assert tls.version() is not None

            # The server needs the loop to run while the blocking client shakes hands.
            for name in ("127.0.0.1", "localhost"):
                self.io_loop.run_sync(
                    lambda name=name: self.io_loop.run_in_executor(None, handshake, name)
                )

    run(Case, "test_it")


def test_https_with_other_ssl_options() -> None:
    class Case(EchoSCase):
        def get_ssl_options(self) -> Any:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(**AsyncHTTPSTestCase.default_ssl_options())
            return context

        def test_it(self) -> None:
            assert self.fetch("/ctx").body.startswith(b"GET /ctx")

    run(Case, "test_it")
