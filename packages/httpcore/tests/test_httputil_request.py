"""Tests of squall.httputil.HTTPServerRequest (with in-memory fake connections)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

from squall.httputil import (
    HTTPConnection,
    HTTPFile,
    HTTPHeaders,
    HTTPServerRequest,
    RequestStartLine,
)


class FakeConnection(HTTPConnection):
    """Records what the deprecated request.write/finish send it."""

    def __init__(self, context: object = None, stream: object = None) -> None:
        self.context = context
        self.stream = stream
        self.written: list[bytes] = []
        self.callbacks: list[Callable[[], object]] = []
        self.finished = False

    def write(self, chunk: bytes, callback: Callable[[], object] | None = None) -> Any:
        self.written.append(chunk)
        if callback is not None:
            self.callbacks.append(callback)
        return "future"

    def finish(self) -> None:
        self.finished = True


def test_defaults() -> None:
    request = HTTPServerRequest()
    assert request.method == ""
    assert request.uri == ""
    assert request.path == ""
    assert request.query == ""
    assert request.version == "HTTP/1.0"
    assert request.headers == HTTPHeaders()
    assert request.body == b""
    assert request.remote_ip is None
    assert request.protocol == "http"
    assert request.host == "127.0.0.1"
    assert request.host_name == "127.0.0.1"
    assert request.arguments == {}
    assert request.query_arguments == {}
    assert request.body_arguments == {}
    assert request.files == {}
    assert request.connection is None
    assert request.server_connection is None
    assert request.cookies == {}


def test_attributes_from_start_line_headers_and_connection() -> None:
    context = types.SimpleNamespace(remote_ip="10.0.0.1", protocol="https")
    connection = FakeConnection(context)
    server_connection = object()
    headers = HTTPHeaders._from_pairs([("host", "Example.COM:8443")])
    request = HTTPServerRequest(
        start_line=RequestStartLine("POST", "/p/a?x=1&x=2&y=", "HTTP/1.1"),
        headers=headers,
        body=b"data",
        connection=connection,
        server_connection=server_connection,
    )
    assert (request.method, request.uri, request.version) == (
        "POST",
        "/p/a?x=1&x=2&y=",
        "HTTP/1.1",
    )
    assert request.path == "/p/a"
    assert request.query == "x=1&x=2&y="
    assert request.headers is headers
    assert request.body == b"data"
    assert request.remote_ip == "10.0.0.1"
    assert request.protocol == "https"
    assert request.host == "Example.COM:8443"
    assert request.host_name == "example.com"
    assert request.connection is connection
    assert request.server_connection is server_connection
    assert request.full_url() == "https://Example.COM:8443/p/a?x=1&x=2&y="
    assert request.query_arguments == {"x": [b"1", b"2"], "y": [b""]}
    assert request.arguments == {"x": [b"1", b"2"], "y": [b""]}


def test_context_without_attributes_and_keyword_overrides() -> None:
    request = HTTPServerRequest("GET", "/", connection=FakeConnection(object()))
    assert request.remote_ip is None
    assert request.protocol == "http"
    request = HTTPServerRequest(
        "GET",
        "/",
        connection=FakeConnection(types.SimpleNamespace(remote_ip="1.1.1.1", protocol="http")),
        remote_ip="2.2.2.2",
        protocol="https",
    )
    assert (request.remote_ip, request.protocol) == ("2.2.2.2", "https")


def test_host_argument_wins_over_header() -> None:
    request = HTTPServerRequest("GET", "/", headers=HTTPHeaders(Host="a.example"), host="b")
    assert request.host == "b"


def test_host_name_of_ipv6_and_assignment() -> None:
    request = HTTPServerRequest("GET", "/", headers=HTTPHeaders(Host="[::1]:8888"))
    assert request.host_name == "[::1]"
    request.host = "Other:1"
    assert request.host_name == "other"
    request.host_name = "forced"
    assert request.host_name == "forced"


def test_arguments_are_independent_of_query_arguments() -> None:
    request = HTTPServerRequest("GET", "/?a=1")
    request.arguments["a"].append(b"2")
    assert request.query_arguments == {"a": [b"1"]}
    request.query_arguments = {"z": [b"9"]}
    assert request.query_arguments == {"z": [b"9"]}
    request.arguments = {"q": []}
    assert request.arguments == {"q": []}


def _form_request(body: bytes, content_type: str, uri: str = "/?a=q") -> HTTPServerRequest:
    headers = HTTPHeaders({"Content-Type": content_type})
    return HTTPServerRequest("POST", uri, headers=headers, body=body)


@pytest.mark.parametrize("arguments_first", [False, True])
def test_parse_body_merges_into_arguments(arguments_first: bool) -> None:
    request = _form_request(b"a=b1&c=d", "application/x-www-form-urlencoded")
    if arguments_first:
        assert request.arguments == {"a": [b"q"]}
    request._parse_body()
    assert request.body_arguments == {"a": [b"b1"], "c": [b"d"]}
    assert request.query_arguments == {"a": [b"q"]}
    assert request.arguments == {"a": [b"q", b"b1"], "c": [b"d"]}


def test_parse_body_multipart_files() -> None:
    body = (
        b"--B\r\n"
        b'Content-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"hello\r\n"
        b"--B\r\n"
        b'Content-Disposition: form-data; name="field"\r\n\r\n'
        b"value\r\n"
        b"--B--\r\n"
    )
    request = _form_request(body, "multipart/form-data; boundary=B", uri="/")
    request._parse_body()
    assert request.files == {
        "f": [HTTPFile(filename="a.txt", body=b"hello", content_type="text/plain")]
    }
    assert request.body_arguments == {"field": [b"value"]}
    assert request.arguments == {"field": [b"value"]}


def test_parse_body_without_body_or_form() -> None:
    request = _form_request(b"", "application/x-www-form-urlencoded")
    request._parse_body()
    assert request.body_arguments == {}
    request = _form_request(b'{"a": 1}', "application/json")
    request._parse_body()
    assert request.body_arguments == {}
    assert request.arguments == {"a": [b"q"]}


def test_cookies() -> None:
    headers = HTTPHeaders()
    headers.add("Cookie", 'a=1; b="quoted \\"x\\""; bad name=2')
    request = HTTPServerRequest("GET", "/", headers=headers)
    cookies = request.cookies
    assert request.cookies is cookies  # parsed once
    assert cookies["a"].value == "1"
    assert cookies["b"].value == 'quoted "x"'
    assert "bad name" not in cookies  # refused by http.cookies, left out
    assert set(cookies) == {"a", "b"}


def test_request_time() -> None:
    request = HTTPServerRequest("GET", "/")
    elapsed = request.request_time()
    assert 0 <= elapsed < 60
    request._start_time = time.time() - 5
    assert request.request_time() >= 5
    request._finish_time = request._start_time + 2
    assert request.request_time() == pytest.approx(2)


def test_repr_leaves_out_headers() -> None:
    headers = HTTPHeaders({"Authorization": "Basic c2VjcmV0", "Host": "h"})
    request = HTTPServerRequest("GET", "/x", "HTTP/1.1", headers)
    text = repr(request)
    assert text == (
        "HTTPServerRequest(protocol='http', host='h', method='GET', uri='/x',"
        " version='HTTP/1.1', remote_ip=None)"
    )
    assert "c2VjcmV0" not in text


def test_supports_http_1_1_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="version"):
        assert HTTPServerRequest("GET", "/", "HTTP/1.1").supports_http_1_1()
    with pytest.warns(DeprecationWarning, match="supports_http_1_1"):
        assert not HTTPServerRequest("GET", "/", "HTTP/1.0").supports_http_1_1()


def test_legacy_write_and_finish() -> None:
    connection = FakeConnection()
    request = HTTPServerRequest("GET", "/", connection=connection)
    with pytest.warns(DeprecationWarning, match="connection"):
        assert request.write(b"HTTP/1.1 200 OK\r\n\r\n") == "future"
    done: list[int] = []
    with pytest.warns(DeprecationWarning, match="write"):
        request.write(b"more", lambda: done.append(1))
    assert connection.written == [b"HTTP/1.1 200 OK\r\n\r\n", b"more"]
    assert len(connection.callbacks) == 1
    with pytest.warns(DeprecationWarning, match="finish"):
        request.finish()
    assert connection.finished
    assert request._finish_time is not None
    with pytest.warns(DeprecationWarning, match="write"), pytest.raises(TypeError):
        request.write("text")  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match="finish"), pytest.raises(ValueError):
        HTTPServerRequest("GET", "/").finish()


class _Stream:
    def __init__(self, cert: Any = None, error: BaseException | None = None) -> None:
        self.cert = cert
        self.error = error

    def get_ssl_certificate(self, binary_form: bool = False) -> Any:
        if self.error is not None:
            raise self.error
        return b"DER" if binary_form else self.cert


class _SocketOnlyStream:
    def __init__(self) -> None:
        self.socket = types.SimpleNamespace(
            getpeercert=lambda binary_form=False: b"DER" if binary_form else {"subject": ()}
        )


def test_get_ssl_certificate() -> None:
    assert HTTPServerRequest("GET", "/").get_ssl_certificate() is None
    request = HTTPServerRequest("GET", "/", connection=FakeConnection(stream=_Stream({"a": 1})))
    assert request.get_ssl_certificate() == {"a": 1}
    assert request.get_ssl_certificate(binary_form=True) == b"DER"
    request = HTTPServerRequest("GET", "/", connection=FakeConnection(stream=_SocketOnlyStream()))
    assert request.get_ssl_certificate() == {"subject": ()}
    assert request.get_ssl_certificate(True) == b"DER"
    broken = FakeConnection(stream=_Stream(error=ssl.SSLError("gone")))
    assert HTTPServerRequest("GET", "/", connection=broken).get_ssl_certificate() is None
    plain = FakeConnection(stream=types.SimpleNamespace(socket=object()))
    assert HTTPServerRequest("GET", "/", connection=plain).get_ssl_certificate() is None


async def _tls_round_trip(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> Any:
    """A real TLS connection: the server side's squall SSLIOStream answers the request."""
    from squall.iostream import IOStream, SSLIOStream
    from squall.netutil import bind_sockets
    from squall.tcpserver import TCPServer

    loop = asyncio.get_running_loop()
    certs: asyncio.Future[Any] = loop.create_future()
    closed: asyncio.Future[None] = loop.create_future()

    class Server(TCPServer):
        async def handle_stream(self, stream: Any, address: Any) -> None:
            await stream.wait_for_handshake()
            connection = FakeConnection(stream=stream)
            request = HTTPServerRequest("GET", "/", connection=connection)
            certs.set_result((request.get_ssl_certificate(), request.get_ssl_certificate(True)))
            await stream.read_until_close()
            stream.close()
            closed.set_result(None)

    server = Server(ssl_options=server_ctx)
    [sock] = bind_sockets(0, "127.0.0.1")
    port = sock.getsockname()[1]
    server.add_sockets([sock])
    try:
        client = SSLIOStream(socket.socket(), ssl_options=client_ctx)
        await client.connect(("127.0.0.1", port), server_hostname="localhost")
        result = await asyncio.wait_for(certs, 10)
        client.close()
        await asyncio.wait_for(closed, 10)
        assert isinstance(client, IOStream)
        return result
    finally:
        server.stop()


def test_get_ssl_certificate_over_tls(io_loop: Any, tls_ca: Any, tls_server_cert: Any) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_server_cert.configure_cert(server_ctx)
    tls_ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context()
    tls_ca.configure_trust(client_ctx)
    client_cert = tls_ca.issue_cert("client@example.com")
    client_cert.configure_cert(client_ctx)
    cert, der = io_loop.run_sync(lambda: _tls_round_trip(server_ctx, client_ctx))
    assert isinstance(cert, dict)
    assert "subject" in cert
    assert isinstance(der, bytes)
    assert der == ssl.PEM_cert_to_DER_cert(client_cert.cert_chain_pems[0].bytes().decode())


def test_module_is_the_public_one() -> None:
    assert HTTPServerRequest.__module__ == "squall.httputil"


def test_partial_context_and_plain_mapping_headers() -> None:
    context = types.SimpleNamespace(remote_ip="1.2.3.4")
    request = HTTPServerRequest("GET", "/", connection=FakeConnection(context))
    assert (request.remote_ip, request.protocol) == ("1.2.3.4", "http")
    context = types.SimpleNamespace(remote_ip="1.2.3.4", protocol="https")
    request = HTTPServerRequest(
        "GET", "/", connection=FakeConnection(context), remote_ip="5.6.7.8"
    )
    assert (request.remote_ip, request.protocol) == ("5.6.7.8", "https")
    request = HTTPServerRequest("GET", "/", connection=FakeConnection(context), protocol="http")
    assert (request.remote_ip, request.protocol) == ("1.2.3.4", "http")
    # Older code passed plain dictionaries as headers.
    request = HTTPServerRequest("GET", "/", headers={"Host": "h.example"})  # type: ignore[arg-type]
    assert request.host == "h.example"


def test_building_a_request_makes_few_function_calls() -> None:
    # The server builds headers and a request for every request: a budget of
    # calls (Python and C, counted by a profile hook), not a timing.
    import sys

    pairs = [("Host", "localhost"), ("User-Agent", "wrk"), ("Accept", "*/*")]
    context = types.SimpleNamespace(remote_ip="127.0.0.1", protocol="http")
    connection = FakeConnection(context)
    start_line = RequestStartLine("GET", "/hello?a=1", "HTTP/1.1")
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    HTTPHeaders._from_pairs(pairs)  # the steady state: names in the normalization cache
    sys.setprofile(count)
    try:
        headers = HTTPHeaders._from_pairs(pairs)
        request = HTTPServerRequest(
            connection=connection, start_line=start_line, headers=headers, server_connection=None
        )
    finally:
        sys.setprofile(None)
    assert request.host == "localhost"
    assert calls <= 10, calls


def _server_request(uri: str, fields: list[tuple[str, str]]) -> HTTPServerRequest:
    context = types.SimpleNamespace(remote_ip="10.0.0.1", protocol="https")
    return HTTPServerRequest._for_server(
        FakeConnection(context), "GET", uri, "HTTP/1.1", fields, "server", "10.0.0.1", "https"
    )


def test_server_request_makes_what_it_left_out_on_first_use() -> None:
    # The server's constructor leaves headers, host, path, query, files and
    # body_arguments to first use: each is what __init__ would have made.
    fields = [("host", "Example.com:8080"), ("X-A", "1"), ("x-a", "2")]
    request = _server_request("/p/q?a=1&b=", fields)
    expected = HTTPServerRequest(
        "GET",
        "/p/q?a=1&b=",
        "HTTP/1.1",
        HTTPHeaders._from_pairs(fields),
        connection=request.connection,
        server_connection="server",
    )
    for name in ("path", "query", "host", "host_name", "files", "body_arguments", "body"):
        assert getattr(request, name) == getattr(expected, name), name
    assert request.headers.get_list("X-A") == ["1", "2"]
    assert (request.remote_ip, request.protocol) == ("10.0.0.1", "https")
    assert request.full_url() == "https://Example.com:8080/p/q?a=1&b="
    assert request.arguments == {"a": [b"1"], "b": [b""]}
    # Made once: the same objects afterwards.
    assert request.headers is request.headers
    assert request.files is request.files


def test_server_request_attributes_can_be_set_before_first_use() -> None:
    request = _server_request("/a?b=1", [("Host", "h")])
    request.path = "/rewritten"
    request.headers = HTTPHeaders({"Host": "other"})
    request.files["f"] = []
    assert request.query == "b=1"  # the query alone, the path kept
    assert request.path == "/rewritten"
    assert request.host == "other"
    assert request.files == {"f": []}
    request.anything = 1  # type: ignore[attr-defined]
    assert request.anything == 1  # type: ignore[attr-defined]
    # Older code may put a plain mapping in place of the headers.
    request = _server_request("/", [("Host", "h")])
    request.headers = {"Host": "from-a-dict"}  # type: ignore[assignment]
    assert request.host == "from-a-dict"


def test_server_request_unknown_attribute_raises_attribute_error() -> None:
    request = _server_request("/", [])
    with pytest.raises(AttributeError, match="'HTTPServerRequest' object has no attribute 'nope'"):
        request.nope  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(request, "nope")
    assert getattr(request, "__deepcopy__", None) is None
    assert request.host == "127.0.0.1"  # no Host field
    # A plain HTTPServerRequest has every attribute set: nothing is made late.
    with pytest.raises(AttributeError):
        HTTPServerRequest().nope  # type: ignore[attr-defined]  # noqa: B018
