"""Unit tests of the simple client's sans-I/O parts: auth, decoding, redirects, pool.

No sockets and no event loop: the pool runs over fake streams and a fake
clock.  The wiring is tested over loopback in test_simple_httpclient.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import socket
import ssl
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall._http1._conn_client import RequestHead
from squall._httpclient._auth import (
    DigestChallenge,
    basic_authorization,
    digest_authorization,
    find_digest_challenge,
    parse_challenges,
)
from squall._httpclient._decode import (
    BodyTooLargeError,
    ContentDecoder,
    DecodeError,
    parse_codings,
)
from squall._httpclient._pool import ConnectionKey, ConnectionPool, PooledConnection
from squall._httpclient._redirect import redirect_request
from squall._httpclient._route import request_head, request_headers, route
from squall._httpclient._tls import request_ssl_context
from squall.httpclient import HTTPRequest
from squall.httputil import HTTPHeaders, HTTPOutputError

# ---------------------------------------------------------------------------
# Basic and Digest authentication
# ---------------------------------------------------------------------------


def test_basic_authorization_rfc7617_example() -> None:
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_basic_authorization_utf8() -> None:
    value = basic_authorization("test", "123\u00a3")
    assert base64.b64decode(value.split()[1]) == "test:123\u00a3".encode()


def test_parse_challenges_several_in_one_field() -> None:
    challenges = parse_challenges(
        ['Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"']
    )
    assert [c.scheme for c in challenges] == ["newauth", "basic"]
    assert challenges[0].params == {"realm": "apps", "type": "1", "title": 'Login to "apps"'}
    assert challenges[1].params == {"realm": "simple"}


def test_parse_challenges_token68_and_fields() -> None:
    challenges = parse_challenges(["Negotiate abc+/==", 'Digest realm="r", nonce="n"'])
    assert challenges[0].token68 == "abc+/=="
    assert challenges[1].params == {"realm": "r", "nonce": "n"}


def test_parse_challenges_malformed_stops_quietly() -> None:
    assert [c.scheme for c in parse_challenges(['Basic realm="unterminated'])] == ["basic"]
    assert parse_challenges(["", ",,", "=oops"]) == []


@given(st.text(max_size=200))
def test_parse_challenges_never_fails(value: str) -> None:
    parse_challenges([value])


def rfc7616_challenge(algorithm: str) -> DigestChallenge:
    challenge = find_digest_challenge(
        [
            'Digest realm="http-auth@example.org", qop="auth, auth-int", '
            f"algorithm={algorithm}, "
            'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
            'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
        ]
    )
    assert challenge is not None
    return challenge


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        # RFC 7616 §3.9.1 (its example's response values).
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_rfc7616_example(algorithm: str, expected: str) -> None:
    header = digest_authorization(
        rfc7616_challenge(algorithm),
        "Mufasa",
        "Circle of Life",
        "GET",
        "/dir/index.html",
        nc=1,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert f'response="{expected}"' in header
    assert "qop=auth" in header
    assert "nc=00000001" in header
    assert 'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"' in header
    assert header.startswith('Digest username="Mufasa", realm="http-auth@example.org"')


def test_digest_without_qop_rfc2069() -> None:
    challenge = DigestChallenge.from_params({"realm": "r", "nonce": "n"})
    assert challenge is not None
    header = digest_authorization(challenge, "u", "p", "GET", "/x")
    ha1 = hashlib.md5(b"u:r:p").hexdigest()
    ha2 = hashlib.md5(b"GET:/x").hexdigest()
    assert f'response="{hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()}"' in header
    assert "qop" not in header


def test_digest_sess_and_userhash() -> None:
    challenge = DigestChallenge.from_params(
        {"realm": "r", "nonce": "n", "qop": "auth", "algorithm": "MD5-sess", "userhash": "true"}
    )
    assert challenge is not None
    header = digest_authorization(challenge, "u", "p", "GET", "/", cnonce="c")
    ha1 = hashlib.md5((hashlib.md5(b"u:r:p").hexdigest() + ":n:c").encode()).hexdigest()
    ha2 = hashlib.md5(b"GET:/").hexdigest()
    response = hashlib.md5(f"{ha1}:n:00000001:c:auth:{ha2}".encode()).hexdigest()
    assert f'response="{response}"' in header
    assert f'username="{hashlib.md5(b"u:r").hexdigest()}"' in header
    assert "userhash=true" in header


def test_digest_unsupported_challenges() -> None:
    assert DigestChallenge.from_params({"realm": "r"}) is None
    assert DigestChallenge.from_params({"realm": "r", "nonce": "n", "algorithm": "SHA-1"}) is None
    assert DigestChallenge.from_params({"realm": "r", "nonce": "n", "qop": "auth-int"}) is None
    # The first usable one is chosen among several.
    found = find_digest_challenge(
        ['Digest realm="a", nonce="1", algorithm=UNKNOWN, Digest realm="b", nonce="2"']
    )
    assert found is not None
    assert found.realm == "b"


def test_digest_rejects_control_characters() -> None:
    challenge = DigestChallenge.from_params({"realm": "r", "nonce": "n"})
    assert challenge is not None
    with pytest.raises(ValueError, match="control"):
        digest_authorization(challenge, "u\r\nX-Evil: 1", "p", "GET", "/")


def test_digest_quotes_are_escaped() -> None:
    challenge = DigestChallenge.from_params({"realm": 'a"b', "nonce": "n"})
    assert challenge is not None
    header = digest_authorization(challenge, 'x"y', "p", "GET", "/")
    assert 'username="x\\"y"' in header
    assert 'realm="a\\"b"' in header
    # And the client side's parser reads them back.
    params = parse_challenges([header])[0].params
    assert params["username"] == 'x"y'


# ---------------------------------------------------------------------------
# Content decoding
# ---------------------------------------------------------------------------


def decode_all(codings: list[str], data: bytes, limit: int = 10**9, piece: int = 7) -> bytes:
    decoder = ContentDecoder(codings, limit)
    out = b"".join(decoder.decode(data[i : i + piece]) for i in range(0, len(data), piece))
    decoder.finish()
    return out


def test_parse_codings() -> None:
    assert parse_codings(None) is None
    assert parse_codings("") is None
    assert parse_codings("identity") is None
    assert parse_codings("gzip") == ["gzip"]
    assert parse_codings("X-Gzip") == ["x-gzip"]
    assert parse_codings("deflate, gzip") == ["deflate", "gzip"]
    assert parse_codings("br") is None
    assert parse_codings("gzip, br") is None


def test_gzip_and_deflate_formats() -> None:
    payload = b"hello world " * 1000
    assert decode_all(["gzip"], gzip.compress(payload)) == payload
    assert decode_all(["deflate"], zlib.compress(payload)) == payload
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(payload) + raw.flush()
    assert decode_all(["deflate"], raw_deflate) == payload
    chained = gzip.compress(zlib.compress(payload))
    assert decode_all(["deflate", "gzip"], chained) == payload


def test_multi_member_gzip() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second")
    assert decode_all(["gzip"], data, piece=3) == b"first second"
    assert decode_all(["gzip"], data, piece=len(data)) == b"first second"


def test_empty_coded_body_is_fine() -> None:
    assert decode_all(["gzip"], b"") == b""
    assert decode_all(["deflate"], b"") == b""


def test_truncated_and_invalid() -> None:
    data = gzip.compress(b"x" * 10000)
    with pytest.raises(DecodeError, match="truncated"):
        decode_all(["gzip"], data[:-10])
    with pytest.raises(DecodeError, match="gzip"):
        decode_all(["gzip"], b"this is not gzip at all")
    with pytest.raises(DecodeError):
        decode_all(["deflate"], b"\x78")


def test_limit_applies_after_decompression() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(BodyTooLargeError):
        decode_all(["gzip"], bomb, limit=1_000_000, piece=len(bomb))
    assert decode_all(["gzip"], gzip.compress(b"a" * 100), limit=100) == b"a" * 100
    with pytest.raises(BodyTooLargeError):
        decode_all(["gzip"], gzip.compress(b"a" * 101), limit=100)


def test_decoder_never_holds_much_more_than_the_limit() -> None:
    decoder = ContentDecoder(["gzip"], 1000)
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BodyTooLargeError):
        decoder.decode(bomb)


@given(st.binary(max_size=3000), st.integers(1, 500), st.sampled_from(["gzip", "deflate"]))
def test_decoding_any_chunking(payload: bytes, piece: int, coding: str) -> None:
    data = gzip.compress(payload) if coding == "gzip" else zlib.compress(payload)
    assert decode_all([coding], data, piece=piece) == payload


# ---------------------------------------------------------------------------
# Redirects
# ---------------------------------------------------------------------------


def resolved(url: str, **kwargs: Any) -> HTTPRequest:
    return HTTPRequest(url, **kwargs)._with_defaults(HTTPRequest._DEFAULTS)


@pytest.mark.parametrize("code", [301, 302, 303])
def test_redirect_post_becomes_get(code: int) -> None:
    request = resolved(
        "http://a.example/form",
        method="POST",
        body=b"data",
        headers={"Content-Type": "text/plain", "X-Keep": "1", "Host": "a.example"},
    )
    new = redirect_request(request, code, "/done")
    assert new is not None
    assert new.url == "http://a.example/done"
    assert new.method == "GET"
    assert new.body is None
    assert "Content-Type" not in new.headers
    assert "Host" not in new.headers
    assert new.headers["X-Keep"] == "1"
    assert new.max_redirects == 4
    # The original is untouched.
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize("code", [307, 308])
def test_redirect_307_308_keep_method_and_body(code: int) -> None:
    request = resolved("http://a.example/x", method="POST", body=b"data")
    new = redirect_request(request, code, "http://a.example/y")
    assert new is not None
    assert (new.method, new.body) == ("POST", b"data")


def test_redirect_303_keeps_head_and_301_keeps_put() -> None:
    head = redirect_request(resolved("http://a/", method="HEAD"), 303, "/b")
    assert head is not None
    assert head.method == "HEAD"
    put = redirect_request(resolved("http://a/", method="PUT", body=b"x"), 301, "/b")
    assert put is not None
    assert (put.method, put.body) == ("PUT", b"x")
    delete = redirect_request(resolved("http://a/", method="DELETE"), 303, "/b")
    assert delete is not None
    assert delete.method == "GET"


def test_redirect_relative_resolution() -> None:
    request = resolved("http://a.example/dir/page?q=1")
    cases = {
        "other": "http://a.example/dir/other",
        "../up": "http://a.example/up",
        "//b.example/x": "http://b.example/x",
        "?r=2": "http://a.example/dir/page?r=2",
        "https://c.example:8443/": "https://c.example:8443/",
    }
    for location, expected in cases.items():
        new = redirect_request(request, 302, location)
        assert new is not None
        assert new.url == expected


def test_redirect_not_followed() -> None:
    request = resolved("http://a/")
    assert redirect_request(request, 200, "/x") is None
    assert redirect_request(request, 304, "/x") is None
    assert redirect_request(request, 302, None) is None
    assert redirect_request(request, 302, "") is None
    assert redirect_request(request, 302, "ftp://a/file") is None
    assert redirect_request(request, 302, "javascript:alert(1)") is None
    assert redirect_request(resolved("http://a/", follow_redirects=False), 302, "/x") is None
    assert redirect_request(resolved("http://a/", max_redirects=0), 302, "/x") is None


def test_redirect_to_other_origin_drops_credentials() -> None:
    request = resolved(
        "http://a.example/",
        auth_username="u",
        auth_password="p",
        headers={"Authorization": "Bearer t", "Cookie": "s=1", "X-Other": "1"},
    )
    same = redirect_request(request, 302, "/next")
    assert same is not None
    assert same.auth_username == "u"
    assert same.headers["Authorization"] == "Bearer t"
    for location in ("http://b.example/", "https://a.example/", "http://a.example:8080/"):
        other = redirect_request(request, 302, location)
        assert other is not None
        assert other.auth_username is None
        assert other.auth_password is None
        assert "Authorization" not in other.headers
        assert "Cookie" not in other.headers
        assert other.headers["X-Other"] == "1"
    explicit_port = redirect_request(request, 302, "http://a.example:80/")
    assert explicit_port is not None
    assert explicit_port.auth_username == "u"


# ---------------------------------------------------------------------------
# TLS contexts
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Request heads: encoded once, cached for the common requests
# ---------------------------------------------------------------------------


def usual_head(request: HTTPRequest, authorization: str | None = None) -> bytes:
    request_route = route(request)
    headers = request_headers(request, request_route, authorization, None)
    return RequestHead.of(request.method, request_route.target, headers).data


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"method": "HEAD", "user_agent": "agent/1"},
        {"method": "POST", "body": b"abc", "decompress_response": False},
        {"method": "DELETE", "allow_nonstandard_methods": True, "body": b""},
    ],
)
def test_request_head_is_the_usual_head(kwargs: dict[str, Any]) -> None:
    request = resolved("http://a.example:8080/p?q=1", **kwargs)
    head = request_head(request, route(request), None, None)
    assert head == usual_head(request)
    assert request_head(request, route(request), None, None) is head  # cached
    assert head is not None
    assert head.startswith(
        f"{request.method} /p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\n".encode()
    )


def test_request_head_depends_on_what_makes_it() -> None:
    plain = resolved("http://a.example/")
    head = request_head(plain, route(plain), None, None)
    with_auth = request_head(plain, route(plain), "Basic eDp5", None)
    assert with_auth == usual_head(plain, "Basic eDp5")
    assert with_auth != head
    other_agent = resolved("http://a.example/", user_agent="other")
    assert request_head(other_agent, route(other_agent), None, None) == usual_head(other_agent)
    longer = resolved("http://a.example/", method="POST", body=b"four")
    shorter = resolved("http://a.example/", method="POST", body=b"two")
    assert b"Content-Length: 4\r\n" in (request_head(longer, route(longer), None, None) or b"")
    assert b"Content-Length: 3\r\n" in (request_head(shorter, route(shorter), None, None) or b"")


def test_request_head_only_for_the_common_requests() -> None:
    def producer(write: Callable[[bytes], Any]) -> None:
        write(b"x")

    for request in (
        resolved("http://a.example/", headers={"Expect": "100-continue"}),
        resolved("http://a.example/", headers={"Connection": "close"}),
        resolved("http://a.example/", headers={"Content-Length": "3"}),  # without the body
        resolved("http://a.example/", method="POST", body_producer=producer),
        resolved("http://a.example/", method="POST", body=b"x", expect_100_continue=True),
        # Sent chunked (no length): not a whole request in one write.
        resolved("http://a.example/", method="POST", allow_nonstandard_methods=True),
        # Invalid: the usual path reports it.
        resolved("http://a.example/", method="GET", user_agent="bad\x85agent\u0100"),
    ):
        assert request_head(request, route(request), None, None) is None, request
    empty_headers = resolved("http://a.example/", headers={})
    assert request_head(empty_headers, route(empty_headers), None, None) == usual_head(
        empty_headers
    )


def test_request_head_with_header_fields_of_its_own() -> None:
    # Cached by the fields too: the same fields give the same head, others another.
    def head_of(headers: HTTPHeaders) -> bytes | None:
        request = resolved("http://a.example/", headers=headers)
        head = request_head(request, route(request), None, None)
        assert head == usual_head(request)
        return head

    fields = HTTPHeaders({"X-A": "1", "Host": "b.example", "User-Agent": "mine"})
    first = head_of(fields)
    assert first is not None
    assert b"Host: b.example\r\n" in first
    assert b"User-Agent: mine\r\n" in first
    assert head_of(HTTPHeaders(fields)) is first
    fields["X-A"] = "2"
    assert head_of(fields) != first
    fields.add("X-A", "3")  # a repeated field: a line each
    assert b"X-A: 2\r\nX-A: 3\r\n" in (head_of(fields) or b"")


def test_request_head_parts() -> None:
    head = RequestHead.of("POST", "/x", HTTPHeaders({"Host": "a", "Content-Length": "3"}))
    assert head == ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n", "3", False, False)
    assert head.data == b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"
    assert head.reusable(b"abc")
    assert not head.reusable(b"ab")
    assert not head.reusable(None)
    bodiless = RequestHead.of("GET", "/", HTTPHeaders({"Host": "a"}))
    assert bodiless.reusable(None)
    assert not bodiless.reusable(b"x")
    chunked = RequestHead.of("PUT", "/", HTTPHeaders({"Host": "a"}))
    assert chunked.chunked
    assert not chunked.reusable(None)
    closing = RequestHead.of("GET", "/", HTTPHeaders({"Connection": "Close"}))
    assert closing.close
    assert not closing.reusable(None)
    for method, path, headers in (
        ("GE T", "/", {}),
        ("GET", "/a b", {}),
        ("GET", "/", {"X": "a\r\nb"}),
        ("GET", "/", {"Bad Name": "v"}),
    ):
        with pytest.raises(HTTPOutputError):
            RequestHead.of(method, path, HTTPHeaders(headers))


def test_tls_contexts_are_shared_and_verify_by_default() -> None:
    first = request_ssl_context(resolved("https://a/"))
    assert first is request_ssl_context(resolved("https://b/"))
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname
    loose = request_ssl_context(resolved("https://a/", validate_cert=False))
    assert loose.verify_mode == ssl.CERT_NONE
    assert not loose.check_hostname
    mine = ssl.create_default_context()
    assert request_ssl_context(resolved("https://a/", ssl_options=mine)) is mine
    as_dict = {"cert_reqs": ssl.CERT_NONE}
    assert request_ssl_context(resolved("https://a/", ssl_options=as_dict)) is (
        request_ssl_context(resolved("https://a/", ssl_options=dict(as_dict)))
    )
    with pytest.raises(ValueError, match="ssl_options"):
        request_ssl_context(resolved("https://a/", ssl_options=42))


# ---------------------------------------------------------------------------
# The connection pool, over fake streams and a fake clock
# ---------------------------------------------------------------------------


class FakeStream:
    def __init__(self) -> None:
        self.is_closed = False
        self.close_callback: Callable[[], object] | None = None
        self.sink: Callable[[bytes], object] | None = None

    def closed(self) -> bool:
        return self.is_closed

    def close(self) -> None:
        if not self.is_closed:
            self.is_closed = True
            callback, self.close_callback = self.close_callback, None
            if callback is not None:
                callback()

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        self.close_callback = callback

    def _start_feeding(self, sink: Callable[[bytes], object]) -> None:
        self.sink = sink

    def _stop_feeding(self) -> None:
        self.sink = None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.timers: dict[int, tuple[float, Callable[[], object]]] = {}
        self._next = 0

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> object:
        self._next += 1
        self.timers[self._next] = (self.now + delay, lambda: callback(*args))
        return self._next

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


def key(host: str = "a", port: int = 80) -> ConnectionKey:
    return ConnectionKey("http", host, port, None, None, None, socket.AF_UNSPEC)


def connection(host: str = "a") -> PooledConnection:
    return PooledConnection(FakeStream(), key(host))


def test_pool_reuses_most_recent_first() -> None:
    clock = FakeClock()
    pool = ConnectionPool(clock, max_idle=10, idle_timeout=30)
    first, second = connection(), connection()
    pool.put(first)
    pool.put(second)
    assert len(pool) == 2
    assert pool.take(key()) is second
    assert pool.take(key()) is first
    assert pool.take(key()) is None
    assert pool.take(key("b")) is None
    # Taken connections are no longer watched by the pool; the stream keeps
    # feeding the connection, which passes the data to its exchange, and
    # keeps its close callback, which reports to the exchange's `on_close`.
    assert first.stream.sink == first.receive
    assert first.stream.close_callback == first._on_stream_closed
    received: list[bytes] = []
    first.feed(received.append)
    assert first.stream.sink(b"HTTP/1.1 200 OK\r\n") is None
    assert received == [b"HTTP/1.1 200 OK\r\n"]
    first.unfeed()
    # The pool's timer finds nothing to do.
    clock.advance(100)
    assert not clock.timers
    assert not first.stream.is_closed
    closes: list[str] = []
    first.on_close = lambda: closes.append("first")
    second.stream.close()  # taken, without an exchange reading: nobody to tell
    first.stream.close()
    assert closes == ["first"]
    assert len(pool) == 0


def test_pool_put_back_connection_is_watched_again() -> None:
    # A connection taken, used and put back: its stream closing (or the
    # server sending anything) discards it from the pool, not the exchange
    # that used it before.
    pool = ConnectionPool(FakeClock(), max_idle=10, idle_timeout=30)
    used, other = connection(), connection()
    pool.put(used)
    pool.put(other)
    assert pool.take(key()) is other
    assert pool.take(key()) is used
    closes: list[str] = []
    used.on_close = lambda: closes.append("exchange")
    used.feed(lambda data: None)
    pool.put(used)
    assert used.on_close is None
    pool.put(other)
    used.stream.close()
    assert closes == []
    assert len(pool) == 1
    assert pool.take(key()) is other
    assert other.stream.sink is not None
    other.stream.sink(b"x")  # data from the server while idle: closed
    pool.put(other)
    assert other.stream.is_closed
    assert len(pool) == 0


def test_pool_keys_do_not_mix() -> None:
    pool = ConnectionPool(FakeClock(), max_idle=10, idle_timeout=30)
    a, b = connection("a"), connection("b")
    pool.put(a)
    pool.put(b)
    assert pool.take(key("b")) is b
    assert pool.take(key("b")) is None
    assert pool.take(key("a", 8080)) is None
    assert pool.take(key("a")) is a


def test_pool_bound_evicts_least_recently_used() -> None:
    pool = ConnectionPool(FakeClock(), max_idle=2, idle_timeout=30)
    connections = [connection("a"), connection("b"), connection("c")]
    for c in connections:
        pool.put(c)
    assert len(pool) == 2
    assert connections[0].stream.is_closed
    assert pool.take(key("a")) is None
    assert pool.take(key("c")) is connections[2]


def test_pool_idle_timeout_closes() -> None:
    clock = FakeClock()
    pool = ConnectionPool(clock, max_idle=5, idle_timeout=30)
    old = connection()
    pool.put(old)
    clock.advance(20)
    new = connection()
    pool.put(new)
    clock.advance(15)
    assert old.stream.is_closed
    assert not new.stream.is_closed
    assert len(pool) == 1
    clock.advance(15)
    assert new.stream.is_closed
    assert len(pool) == 0
    assert not clock.timers


def test_pool_drops_connections_the_server_touches() -> None:
    pool = ConnectionPool(FakeClock(), max_idle=5, idle_timeout=30)
    talkative, eof, closed = connection(), connection(), connection()
    for c in (talkative, eof, closed):
        pool.put(c)
    assert talkative.stream.sink is not None
    talkative.stream.sink(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    assert eof.stream.sink is not None
    eof.stream.sink(b"")
    closed.stream.close()
    assert len(pool) == 0
    assert talkative.stream.is_closed
    assert eof.stream.is_closed
    assert pool.take(key()) is None


def test_pool_skips_streams_closed_without_notice() -> None:
    pool = ConnectionPool(FakeClock(), max_idle=5, idle_timeout=30)
    dead, alive = connection(), connection()
    pool.put(alive)
    pool.put(dead)
    dead.stream.is_closed = True  # closed, callback not (yet) run
    assert pool.take(key()) is alive


def test_pool_close_and_disabled_pool() -> None:
    pool = ConnectionPool(FakeClock(), max_idle=5, idle_timeout=30)
    idle = connection()
    pool.put(idle)
    pool.close()
    assert idle.stream.is_closed
    late = connection()
    pool.put(late)
    assert late.stream.is_closed
    off = ConnectionPool(FakeClock(), max_idle=0, idle_timeout=30)
    unpooled = connection()
    off.put(unpooled)
    assert unpooled.stream.is_closed


# ---------------------------------------------------------------------------
# The fetches' deadlines (one loop timer for all), over a fake loop
# ---------------------------------------------------------------------------


class FakeTimerLoop:
    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Callable[[], object], list[bool]]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> Any:
        cancelled = [False]
        self.timers.append((when, callback, cancelled))

        class Handle:
            def cancel(self) -> None:
                cancelled[0] = True

        return Handle()

    def pending(self) -> list[float]:
        return sorted(when for when, _, cancelled in self.timers if not cancelled[0])

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while True:
            due = [t for t in self.timers if t[0] <= self.now and not t[2][0]]
            if not due:
                return
            timer = min(due, key=lambda t: t[0])
            self.timers.remove(timer)
            timer[1]()


class FakeFetch:
    def __init__(self, deadlines: Any, log: list[str], name: str) -> None:
        self.deadline_token: int | None = None
        self.deadlines = deadlines
        self.log = log
        self.name = name
        self.then: Callable[[], object] | None = None

    def _on_timeout(self) -> None:
        self.log.append(self.name)
        if self.then is not None:
            self.then()


def test_deadlines_one_timer_in_order_and_removal() -> None:
    from squall._httpclient._simple import _Deadlines

    loop = FakeTimerLoop()
    deadlines = _Deadlines(loop)  # type: ignore[arg-type]
    log: list[str] = []
    a, b, c, d = (FakeFetch(deadlines, log, name) for name in "abcd")
    deadlines.add(a, 10)  # type: ignore[arg-type]
    deadlines.add(b, 5)  # type: ignore[arg-type]
    deadlines.add(c, 20)  # type: ignore[arg-type]
    assert loop.pending() == [5]  # one live timer, at the earliest deadline
    deadlines.remove(b)  # type: ignore[arg-type]
    # c's timeout adds d (a fetch starting from a callback).
    c.then = lambda: deadlines.add(d, 25)  # type: ignore[arg-type]
    loop.advance(5)
    assert log == []
    loop.advance(5)
    assert log == ["a"]
    assert a.deadline_token is None
    loop.advance(10)
    assert log == ["a", "c"]
    loop.advance(5)
    assert log == ["a", "c", "d"]
    assert loop.pending() == []
    deadlines.close()


def test_deadlines_drop_stale_entries() -> None:
    from squall._httpclient._simple import _Deadlines

    loop = FakeTimerLoop()
    deadlines = _Deadlines(loop)  # type: ignore[arg-type]
    log: list[str] = []
    slow = FakeFetch(deadlines, log, "slow")
    deadlines.add(slow, 1)  # type: ignore[arg-type]
    for i in range(1000):
        fast = FakeFetch(deadlines, log, str(i))
        deadlines.add(fast, 2 + i)  # type: ignore[arg-type]
        deadlines.remove(fast)  # type: ignore[arg-type]
    # The slow fetch keeps its entry at the top: the stale ones behind it
    # are compacted away rather than kept until it ends.
    assert len(deadlines._heap) <= 2 * 1 + 64 + 1
    loop.advance(2000)
    assert log == ["slow"]
    assert not deadlines._heap
