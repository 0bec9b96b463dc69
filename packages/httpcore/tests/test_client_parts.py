"""Unit tests of squall.client parts that need no network: bodies, links, auth, events."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import urllib.parse

import pytest

from squall._client._auth import OAuth1, OAuth2, as_auth, signature_base_string
from squall._client._body import add_params, encode_body, encode_multipart
from squall._client._errors import translate
from squall._client._events import Event, as_handlers
from squall._client._response import HIGH_WATER, HttpResponse, parse_links
from squall._httpclient._errors import HTTPClientError, HTTPTimeoutError
from squall.client import (
    HTTPBasicAuth,
    HttpClient,
    HttpConnectionError,
    HTTPDigestAuth,
    HttpRequest,
    HttpTimeout,
    SSLError,
)
from squall.httputil import HTTPFile, HTTPHeaders, parse_body_arguments


def make_request(
    url: str = "http://example.com/", method: str = "GET", **kwargs: object
) -> HttpRequest:
    return HttpRequest(HttpClient(trust_env=False), url, method, **kwargs)  # type: ignore[arg-type]


# -- params and bodies --------------------------------------------------------


def test_add_params() -> None:
    assert (
        add_params("http://bla.com", {"page": 2, "key": "foo"}) == "http://bla.com?page=2&key=foo"
    )
    assert (
        add_params("http://bla.com", {"key1": "value1", "key2": ["value2", "value3"]})
        == "http://bla.com?key1=value1&key2=value2&key2=value3"
    )
    assert add_params("http://bla.com/p?a=1#f", [("b", "x y")]) == "http://bla.com/p?a=1&b=x+y#f"
    assert add_params("http://bla.com", {"none": None}) == "http://bla.com"
    assert add_params("http://bla.com", None) == "http://bla.com"


def test_encode_body_kinds() -> None:
    assert encode_body() == (None, None)
    assert encode_body(b"raw") == (b"raw", None)
    assert encode_body("é") == ("é".encode(), None)
    body, content_type = encode_body({"a": ["1", "2"], "b": "é"})
    assert body == b"a=1&a=2&b=%C3%A9"
    assert content_type == "application/x-www-form-urlencoded"
    assert encode_body([("a", "1")])[0] == b"a=1"
    body, content_type = encode_body(json={"k": [1]})
    assert body == b'{"k": [1]}'
    assert content_type == "application/json; charset=utf-8"
    producer, content_type = encode_body(iter([b"a", "b"]))
    assert callable(producer)
    assert content_type is None
    with pytest.raises(ValueError, match="data or json"):
        encode_body(b"x", json=1)
    with pytest.raises(ValueError, match="dict or a list of pairs"):
        encode_body(b"x", files={"f": b"1"})
    with pytest.raises(TypeError):
        encode_body(3.5)


def test_producer_writes_chunks_and_awaits_futures() -> None:
    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        loop.call_soon(future.set_result, b"late")
        producer, _ = encode_body(iter([b"one", b"", future, "two"]))
        written: list[bytes] = []

        async def write(chunk: bytes) -> None:
            written.append(chunk)

        assert callable(producer)
        done = producer(write)
        assert done is not None
        await done
        return written

    assert asyncio.run(main()) == [b"one", b"late", b"two"]


def test_multipart_round_trip_through_the_server_parser() -> None:
    handle = io.BytesIO(b"file body")
    handle.name = "/tmp/dir/report.xls"
    body, boundary = encode_multipart(
        [("field", "va\u00e9lue")],
        {"upload": handle, "tuple": ('a"b.txt', "text", "text/plain"), "plain": b"bytes"},
    )
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_body_arguments(f"multipart/form-data; boundary={boundary}", body, arguments, files)
    assert arguments == {"field": ["va\u00e9lue".encode()]}
    assert files["upload"][0].filename == "report.xls"
    assert files["upload"][0].body == b"file body"
    assert files["tuple"][0].filename == "a%22b.txt"  # a quote cannot end the field
    assert files["tuple"][0].content_type == "text/plain"
    assert files["plain"][0].filename == "plain"
    with pytest.raises(ValueError, match="Line break"):
        encode_multipart([], {"f": ("x", b"1", "text/plain", {"X-Bad": "a\r\nb"})})


# -- requests -----------------------------------------------------------------


def test_request_headers_and_auth() -> None:
    request = make_request(headers={"X-A": "1"}, auth=("user", "pass"))
    assert request.has_header("X-A")
    assert (
        request.get_header("Authorization") == "Basic " + base64.b64encode(b"user:pass").decode()
    )
    request.remove_header("X-A")
    assert request.get_header("X-A") is None
    assert request.headers["User-Agent"].startswith("squall/")
    digest = make_request(auth=HTTPDigestAuth("u", "p"))
    lower = digest.to_httprequest()
    assert (lower.auth_username, lower.auth_password, lower.auth_mode) == ("u", "p", "digest")
    assert lower.follow_redirects is False
    with pytest.raises(TypeError, match="Unexpected"):
        make_request(nonsense=1)
    with pytest.raises(ValueError, match="scheme"):
        make_request("ftp://example.com/")
    with pytest.raises(ValueError, match="user name"):
        make_request(auth=HTTPBasicAuth("a:b", "c"))
    with pytest.raises(TypeError):
        as_auth(42)


def test_request_tls_and_timeout_options() -> None:
    lower = make_request(
        "https://example.com/", verify="/ca.pem", cert=("/c.pem", "/k.pem"), timeout=3
    )
    assert lower.to_httprequest().ca_certs == "/ca.pem"
    assert lower.to_httprequest().validate_cert is True
    assert (lower.to_httprequest().client_cert, lower.to_httprequest().client_key) == (
        "/c.pem",
        "/k.pem",
    )
    assert lower.to_httprequest().request_timeout == 3
    unverified = make_request(
        "https://example.com/", verify=False, cert="/both.pem"
    ).to_httprequest()
    assert unverified.validate_cert is False
    assert (unverified.client_cert, unverified.client_key) == ("/both.pem", None)
    assert make_request().to_httprequest().request_timeout == 0  # none


def test_redirected_requests() -> None:
    request = make_request(
        "http://a.example/x", "POST", data=b"body", auth=("u", "p"), allow_redirects=True
    )
    request.headers["Cookie"] = "c=1"
    follow = request.redirected(303, "/y")
    assert follow is not None
    assert (follow.method, follow.url, follow.body) == ("GET", "http://a.example/y", None)
    assert "Authorization" in follow.headers
    assert "Cookie" not in follow.headers  # recomputed from the jar
    other = request.redirected(307, "http://b.example/z")
    assert other is not None
    assert (other.method, other.body) == ("POST", b"body")
    assert "Authorization" not in other.headers
    assert request.redirected(200, "/y") is None
    assert make_request(allow_redirects=False).redirected(302, "/y") is None


def test_proxy_for() -> None:
    sessions = HttpClient(proxies={"http": "proxy:3128", "no": "local.test"}, trust_env=False)
    assert sessions.proxy_for("http://example.com/") == "http://proxy:3128"
    assert sessions.proxy_for("https://example.com/") is None
    assert sessions.proxy_for("http://local.test/") is None
    request = make_request("http://example.com/", proxies={"http": "http://u:p%40@px:8080"})
    lower = request.to_httprequest()
    assert (lower.proxy_host, lower.proxy_port) == ("px", 8080)
    assert (lower.proxy_username, lower.proxy_password) == ("u", "p@")


# -- OAuth --------------------------------------------------------------------

# RFC 5849 §3.4.1.1's example request.
RFC_URL = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"
RFC_BASE = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D"
    "%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a"
    "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token"
    "%3Dkkk9d7dh3k39sjv7"
)


def test_oauth1_signature_base_string_rfc5849_example() -> None:
    params = [
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("realm", "Example"),
        ("oauth_signature", "ignored"),
    ]
    params += urllib.parse.parse_qsl(urllib.parse.urlsplit(RFC_URL).query, keep_blank_values=True)
    params += urllib.parse.parse_qsl("c2&a3=2+q", keep_blank_values=True)
    assert signature_base_string("POST", RFC_URL, params) == RFC_BASE
    assert (
        signature_base_string("get", "HTTPS://Example.COM:443/", [])
        == "GET&https%3A%2F%2Fexample.com%2F&"
    )
    assert signature_base_string("GET", "http://e.com:8080", []).startswith(
        "GET&http%3A%2F%2Fe.com%3A8080%2F&"
    )


def test_oauth1_header_signs_the_request() -> None:
    auth = OAuth1(
        "9djdj82h48djs9d2",
        client_secret="j49sk3j29djd",
        resource_owner_key="kkk9d7dh3k39sjv7",
        resource_owner_secret="dh893hdasih9",
        nonce="7d8f3e4a",
        timestamp="137131201",
        realm="Example",
    )
    request = make_request(RFC_URL, "POST", data=[("c2", ""), ("a3", "2 q")], auth=auth)
    header = request.headers["Authorization"]
    assert header.startswith('OAuth realm="Example", ')
    fields = dict(part.split("=", 1) for part in header[6:].split(", "))
    fields = {name: urllib.parse.unquote(value.strip('"')) for name, value in fields.items()}
    assert fields["oauth_version"] == "1.0"
    params = [(name, value) for name, value in fields.items() if name != "realm"]
    params += urllib.parse.parse_qsl(urllib.parse.urlsplit(RFC_URL).query, keep_blank_values=True)
    params += [("c2", ""), ("a3", "2 q")]
    base = signature_base_string("POST", RFC_URL, params)
    key = b"j49sk3j29djd&dh893hdasih9"
    expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
    assert fields["oauth_signature"] == expected
    plain = OAuth1("key", client_secret="s&", signature_method="PLAINTEXT")
    assert plain.signature("GET", "http://e.com/", []) == "s%26&"
    with pytest.raises(ValueError, match="signature method"):
        OAuth1("key", signature_method="RSA-SHA1")


def test_oauth1_without_version_matches_the_rfc_signature() -> None:
    # Recomputed signature of RFC 5849 §3.4.1.1's example with the §3.1
    # credentials (the RFC's printed value is a known erratum).
    auth = OAuth1(
        "9djdj82h48djs9d2", client_secret="j49sk3j29djd", resource_owner_secret="dh893hdasih9"
    )
    params = [
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
    ]
    params += urllib.parse.parse_qsl(urllib.parse.urlsplit(RFC_URL).query, keep_blank_values=True)
    params += [("c2", ""), ("a3", "2 q")]
    assert auth.signature("POST", RFC_URL, params) == "r6/TJjbCOr97/+UU0NsvSne7s5g="


def test_oauth2() -> None:
    class Client:
        access_token = "abc"
        token_type = "MAC"

    assert make_request(auth=OAuth2(access_token="t")).headers["Authorization"] == "Bearer t"
    assert make_request(auth=OAuth2(client=Client())).headers["Authorization"] == "MAC abc"
    with pytest.raises(ValueError, match="access token"):
        make_request(auth=OAuth2())


# -- responses ----------------------------------------------------------------


def test_parse_links() -> None:
    header = '<https://a/?p=2>; rel="next"; title="x, y", <https://a/?p=5>; rel=last,<https://a/>'
    assert parse_links(header) == [
        {"url": "https://a/?p=2", "rel": "next", "title": "x, y"},
        {"url": "https://a/?p=5", "rel": "last"},
        {"url": "https://a/"},
    ]
    assert parse_links("garbage") == []


def test_response_parts_without_network() -> None:
    response = HttpResponse(make_request())
    headers = HTTPHeaders({"Content-Type": "application/vnd.x+json"})
    headers.add("Set-Cookie", "a=1; Path=/")
    headers.add("Set-Cookie", 'b="two"; HttpOnly')
    headers.add("Set-Cookie", "\x00bad")
    response._head("HTTP/1.1", 201, "Created", headers)
    assert response.headers is headers
    response._feed(json.dumps({"ok": True}).encode())
    assert response.status_code == 201
    assert response.get_status() == "201 Created"
    assert response.decode_content() == {"ok": True}
    assert response.cookies == {"a": "1", "b": "two"}
    assert response.info().get_all("Set-Cookie", []) == [
        "a=1; Path=/",
        'b="two"; HttpOnly',
        "\x00bad",
    ]
    assert response.info().get_all("X-None", None) is None
    assert response.recv_body() == b'{"ok": true}'
    assert response.content == b""
    assert isinstance(response.headers, HTTPHeaders)


# -- events and errors --------------------------------------------------------


def test_events() -> None:
    event = Event("on_headers")
    handler = print
    event.bind(handler)
    assert event.handlers() == [handler]
    assert repr(event) == "Event('on_headers', 1 handlers)"
    assert event.unbind(handler)
    assert not event.unbind(handler)
    with pytest.raises(TypeError):
        event.bind("nope")  # type: ignore[arg-type]
    assert as_handlers(None) == []
    assert as_handlers(print) == [print]
    with pytest.raises(TypeError):
        as_handlers([1])  # type: ignore[list-item]
    assert HttpClient(trust_env=False).event("data_processed").name == "data_processed"
    with pytest.raises(KeyError):
        HttpClient(trust_env=False).event("nope")


def test_translate() -> None:
    assert isinstance(translate(HTTPTimeoutError("slow")), HttpTimeout)
    tls = HTTPClientError(599, "handshake")
    import ssl

    tls.__cause__ = ssl.SSLCertVerificationError("bad cert")
    assert isinstance(translate(tls), SSLError)
    assert type(translate(HTTPClientError(599, "reset"))) is HttpConnectionError
    assert type(translate(ConnectionRefusedError())) is HttpConnectionError


def test_client_options() -> None:
    with pytest.raises(NotImplementedError):
        HttpClient(websocket_handler=object())
    with pytest.raises(ValueError, match="version"):
        HttpClient(version="HTTP/2")
    with pytest.raises(ValueError, match="pool_size"):
        HttpClient(pool_size=0)
    sessions = HttpClient(headers={"Accept": "text/html"}, client_version="me/1", verify=False)
    assert sessions.headers["Accept"] == "text/html"
    assert sessions.headers["User-Agent"] == "me/1"
    assert sessions.verify is False
    assert HttpClient().verify is True
    assert "Connection" in HttpClient.DEFAULT_HTTP_HEADERS


def test_request_encode_and_tunnel() -> None:
    request = make_request("http://u:p@example.com:8080/p?q=1", "POST", data={"a": "b"})
    head, _, body = request.encode().partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /p?q=1 HTTP/1.1"
    assert "Host: example.com:8080" in lines
    assert "Content-Length: 3" in lines
    assert body == b"a=b"
    proxied = make_request("https://example.com/", proxies={"https": "http://px:3128"})
    assert proxied.tunnel == "http://px:3128"
    assert make_request(proxies={"http": "http://px:3128"}).tunnel is None


def test_request_header_none_removes_a_session_header() -> None:
    request = make_request(headers={"Accept": None, "X-New": "1"})
    assert "Accept" not in request.headers
    assert request.headers["X-New"] == "1"


def test_stream_flow_control_futures() -> None:
    async def main() -> None:
        response = HttpResponse(make_request(stream=True))
        raw = response.raw
        quarter = b"x" * (HIGH_WATER // 4 + 1)
        for _ in range(3):
            assert raw._put(quarter) is None
        drained = raw._put(quarter)  # past the high-water mark
        assert drained is not None
        assert raw._put(b"more") is drained  # one Future until drained
        chunks = raw.__aiter__()
        for _ in range(2):
            await chunks.__anext__()
            assert not drained.done()
        await chunks.__anext__()
        assert drained.done()  # below half of the high-water mark
        raw._finish(None)
        assert [chunk async for chunk in chunks] == [quarter, b"more"]

    asyncio.run(main())
