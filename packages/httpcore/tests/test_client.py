"""Tests for squall.client: requests-style sessions against squall's own HTTPServer.

Real loopback sockets, TLS with the test CA of conftest.py; every wait is
bounded (``run_sync`` timeouts, the client's own timeouts) and nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import json
import shutil
import ssl
import subprocess
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from squall import client as client_module
from squall.client import (
    HTTPBasicAuth,
    HttpClient,
    HttpConnectionError,
    HTTPDigestAuth,
    HTTPError,
    HttpRequestException,
    HttpResponse,
    HttpTimeout,
    OAuth2,
    SSLError,
    StreamConsumedError,
    TooManyRedirects,
)
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPFile,
    HTTPHeaders,
    HTTPServerRequest,
    ResponseStartLine,
    parse_body_arguments,
)
from squall.ioloop import IOLoop
from squall.netutil import bind_sockets

# -- the server -------------------------------------------------------------

REALM = "squall-test"
NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093"


def respond(
    request: HTTPServerRequest,
    body: bytes = b"",
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
) -> None:
    fields = HTTPHeaders({"Content-Length": str(len(body))})
    for name, value in headers or []:
        fields.add(name, value)
    assert request.connection is not None
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", status, "Reason"), fields, body)
    request.connection.finish()


def echo_json(request: HTTPServerRequest) -> None:
    payload = {
        "method": request.method,
        "uri": request.uri,
        "headers": dict(request.headers.get_all()),
        "body": request.body.decode("latin-1"),
        "peer": list(getattr(getattr(request.connection, "context", None), "address", ())),
    }
    respond(request, json.dumps(payload).encode(), headers=[("Content-Type", "application/json")])


def digest_ok(request: HTTPServerRequest, user: str, password: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Digest "):
        return False
    fields = _digest_fields(header[7:])
    if fields.get("username") != user or fields.get("nonce") != NONCE:
        return False

    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = h(f"{user}:{REALM}:{password}")
    ha2 = h(f"{request.method}:{fields['uri']}")
    expected = h(f"{ha1}:{NONCE}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
    return fields.get("response") == expected


def _digest_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value.strip('"')
    return fields


async def app(request: HTTPServerRequest) -> None:
    """Routes of the test server."""
    path = request.path
    query = {name: values[-1].decode() for name, values in request.query_arguments.items()}
    if path == "/echo" or path.startswith("http://"):  # the absolute form: as a proxy
        echo_json(request)
    elif path == "/status":
        respond(request, b"status", int(query["code"]))
    elif path == "/redirect":
        respond(request, b"moved", int(query.get("code", "302")), [("Location", query["to"])])
    elif path == "/loop":
        respond(request, b"again", 302, [("Location", "/loop")])
    elif path == "/set-cookie":
        headers = [("Set-Cookie", f"{name}={value}; Path=/") for name, value in query.items()]
        respond(request, b"set", headers=headers)
    elif path == "/set-cookie-redirect":
        respond(request, b"", 302, [("Set-Cookie", "hop=1; Path=/"), ("Location", "/echo")])
    elif path == "/gzip":
        respond(
            request,
            gzip.compress(b"squeezed " * 100),
            headers=[("Content-Encoding", "gzip"), ("Content-Type", "text/plain")],
        )
    elif path == "/links":
        link = '<https://api.example/?page=2>; rel="next", <https://api.example/?page=9>; rel=last'
        respond(request, b"", headers=[("Link", link)])
    elif path == "/text":
        respond(
            request,
            "héllo".encode("latin-1"),
            headers=[("Content-Type", "text/plain; charset=latin-1")],
        )
    elif path == "/chunks":
        assert request.connection is not None
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Type": "text/plain"})
        )
        for index in range(5):
            await request.connection.write(f"chunk{index};".encode())
            await asyncio.sleep(0)
        request.connection.finish()
    elif path == "/basic":
        expected = "Basic " + base64.b64encode(b"user:pass").decode()
        if request.headers.get("Authorization") == expected:
            respond(request, b"welcome")
        else:
            respond(request, b"no", 401, [("WWW-Authenticate", f'Basic realm="{REALM}"')])
    elif path == "/digest":
        if digest_ok(request, "user", "pass"):
            respond(request, b"welcome digest")
        else:
            challenge = f'Digest realm="{REALM}", qop="auth", nonce="{NONCE}", opaque="x"'
            respond(request, b"no", 401, [("WWW-Authenticate", challenge)])
    elif path == "/form":
        arguments: dict[str, list[bytes]] = {}
        files: dict[str, list[HTTPFile]] = {}
        parse_body_arguments(
            request.headers.get("Content-Type", ""), request.body, arguments, files
        )
        payload = {
            "fields": {name: [v.decode() for v in values] for name, values in arguments.items()},
            "files": {
                name: [[f.filename, f.content_type, f.body.decode()] for f in items]
                for name, items in files.items()
            },
        }
        respond(
            request, json.dumps(payload).encode(), headers=[("Content-Type", "application/json")]
        )
    elif path == "/hang":
        await asyncio.sleep(60)  # ended by the client's timeout, then the server's close
    else:
        respond(request, b"not found", 404)


class Served:
    def __init__(self, port: int, scheme: str) -> None:
        self.port = port
        self.scheme = scheme

    def url(self, path: str = "/echo") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def serving(ssl_options: ssl.SSLContext | None = None) -> AsyncIterator[Served]:
    def handle(request: HTTPServerRequest) -> None:
        task = asyncio.ensure_future(app(request))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    tasks: set[asyncio.Task[None]] = set()
    server = HTTPServer(handle, ssl_options=ssl_options)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    try:
        yield Served(sockets[0].getsockname()[1], "https" if ssl_options else "http")
    finally:
        server.stop()
        for task in list(tasks):
            task.cancel()
        await server.close_all_connections()


def run(io_loop: IOLoop, main: Callable[[], Awaitable[None]], timeout: float = 30) -> None:
    io_loop.run_sync(main, timeout=timeout)


@contextlib.asynccontextmanager
async def session(**kwargs: Any) -> AsyncIterator[HttpClient]:
    kwargs.setdefault("trust_env", False)
    sessions = HttpClient(**kwargs)
    try:
        yield sessions
    finally:
        await sessions.aclose()


# -- the public surface ------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    assert client_module.__all__ == sorted(client_module.__all__)
    public = {
        name
        for name, value in vars(client_module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == "squall.client"
    }
    assert public == set(client_module.__all__)


# -- requests and bodies ------------------------------------------------------


def test_get_with_params_and_headers(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session(headers={"X-Session": "s"}) as sessions:
            response = await sessions.get(
                server.url(),
                params={"page": 2, "key": ["a", "b"]},
                headers={"X-Request": "r"},
            )
            assert isinstance(response, HttpResponse)
            assert response.status_code == 200
            assert repr(response) == "<Response [200]>"
            seen = response.json()
            assert seen["method"] == "GET"
            assert seen["uri"] == "/echo?page=2&key=a&key=b"
            assert response.url == server.url("/echo?page=2&key=a&key=b")
            assert seen["headers"]["X-Session"] == "s"
            assert seen["headers"]["X-Request"] == "r"
            assert seen["headers"]["User-Agent"].startswith("squall/")
            assert response.headers["Content-Type"] == "application/json"
            assert response.history == []
            assert response.request.method == "GET"
            # The lower layer sends its own fields (Host...) without adding
            # them to the request's headers, which it shares.
            assert "Host" not in response.request.headers
            assert response.request.headers["X-Request"] == "r"

    run(io_loop, main)


def test_every_method(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            for name in ("get", "options", "post", "put", "patch", "delete"):
                response = await getattr(sessions, name)(server.url())
                assert response.json()["method"] == name.upper()
            response = await sessions.head(server.url())
            assert response.status_code == 200
            assert response.content == b""
            response = await sessions.request("PROPFIND", server.url())
            assert response.json()["method"] == "PROPFIND"

    run(io_loop, main)


def test_data_dict_bytes_and_json(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            response = await sessions.post(
                server.url(), data={"entry1": "bla", "multi": ["1", "2"]}
            )
            seen = response.json()
            assert seen["body"] == "entry1=bla&multi=1&multi=2"
            assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
            response = await sessions.put(server.url(), data=b"\x00raw")
            assert response.json()["body"] == "\x00raw"
            response = await sessions.post(server.url(), json={"entry1": "bla"})
            seen = response.json()
            assert json.loads(seen["body"]) == {"entry1": "bla"}
            assert seen["headers"]["Content-Type"].startswith("application/json")
            with pytest.raises(ValueError, match="data or json"):
                await sessions.post(server.url(), data=b"x", json={})

    run(io_loop, main)


def test_wait_continue(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            response = await sessions.put(server.url(), data=b"after go-ahead", wait_continue=True)
            seen = response.json()
            assert seen["headers"]["Expect"] == "100-continue"
            assert seen["body"] == "after go-ahead"

    run(io_loop, main)


def test_streamed_bodies_from_generators(io_loop: IOLoop) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stream() -> Iterator[Any]:
            future: asyncio.Future[bytes] = loop.create_future()
            loop.call_soon(future.set_result, b"two")
            yield b"one"
            yield future
            yield "three"

        async def astream() -> AsyncIterator[bytes]:
            for index in range(3):
                await asyncio.sleep(0)
                yield f"a{index}".encode()

        async with serving() as server, session() as sessions:
            response = await sessions.post(server.url(), data=(b"blabla" for _ in range(3)))
            seen = response.json()
            assert seen["body"] == "blabla" * 3
            assert seen["headers"]["Transfer-Encoding"] == "chunked"
            response = await sessions.post(server.url(), data=stream())
            assert response.json()["body"] == "onetwothree"
            response = await sessions.post(server.url(), data=astream())
            assert response.json()["body"] == "a0a1a2"

    run(io_loop, main)


def test_files_multipart(io_loop: IOLoop, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_bytes(b"quarterly numbers")

    async def main() -> None:
        async with serving() as server, session() as sessions:
            with report.open("rb") as handle:
                response = await sessions.post(
                    server.url("/form"),
                    data={"field": "value"},
                    files={"file": handle, "other": ("notes.csv", b"a,b", "text/csv")},
                )
            seen = response.json()
            assert seen["fields"] == {"field": ["value"]}
            assert seen["files"]["file"] == [
                ["report.txt", "application/octet-stream", "quarterly numbers"]
            ]
            assert seen["files"]["other"] == [["notes.csv", "text/csv", "a,b"]]

    run(io_loop, main)


# -- responses ----------------------------------------------------------------


def test_response_helpers(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            response = await sessions.get(server.url("/text"))
            assert response.encoding == "iso8859-1"
            assert response.text() == "héllo"
            assert response.decode_content() == "héllo"
            assert (await sessions.get(server.url())).decode_content()["method"] == "GET"
            response = await sessions.get(server.url("/links"))
            assert response.links["next"] == {"url": "https://api.example/?page=2", "rel": "next"}
            assert response.links["last"]["url"] == "https://api.example/?page=9"
            assert isinstance(response.decode_content(), bytes)
            response = await sessions.get(server.url("/status?code=404"))
            assert response.status_code == 404
            assert not response.ok
            with pytest.raises(HTTPError, match="404 Client Error") as info:
                response.raise_for_status()
            assert info.value.response is response
            response = await sessions.get(server.url("/status?code=503"))
            with pytest.raises(HTTPError, match="503 Server Error"):
                response.raise_for_status()
            (await sessions.get(server.url())).raise_for_status()

    run(io_loop, main)


def test_decompress(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            response = await sessions.get(server.url("/gzip"))
            assert response.text() == "squeezed " * 100
            response = await sessions.get(server.url("/gzip"), decompress=False)
            assert gzip.decompress(response.content) == b"squeezed " * 100
        async with serving() as server, session(decompress=False) as sessions:
            seen = (await sessions.get(server.url())).json()
            assert "gzip" in seen["headers"]["Accept-Encoding"]  # asked for all the same
            response = await sessions.get(server.url("/gzip"))
            assert response.headers["Content-Encoding"] == "gzip"
            with pytest.raises(UnicodeDecodeError):
                response.text()

    run(io_loop, main)


# -- redirects ----------------------------------------------------------------


def test_redirects_and_history(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            to = urllib.parse.quote("/redirect?code=301&to=/echo")
            response = await sessions.post(server.url(f"/redirect?code=302&to={to}"), data=b"body")
            assert response.status_code == 200
            assert [r.status_code for r in response.history] == [302, 301]
            assert response.json()["method"] == "GET"  # 302 after POST
            assert response.url == server.url()
            response = await sessions.put(server.url("/redirect?code=307&to=/echo"), data=b"kept")
            assert response.json()["method"] == "PUT"
            assert response.json()["body"] == "kept"
            response = await sessions.get(server.url("/redirect?to=/echo"), allow_redirects=False)
            assert response.status_code == 302
            assert response.history == []
            response = await sessions.head(server.url("/redirect?to=/echo"))
            assert response.status_code == 302  # HEAD does not follow by default
            with pytest.raises(TooManyRedirects) as info:
                await sessions.get(server.url("/loop"), max_redirects=3)
            assert info.value.response is not None
            assert len(info.value.response.history) == 3

    run(io_loop, main)


# -- cookies ------------------------------------------------------------------


def test_cookies_kept_per_session(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session(cookies={"initial": "1"}) as sessions:
            response = await sessions.get(server.url("/set-cookie?flavour=oat"))
            assert response.cookies == {"flavour": "oat"}
            seen = (await sessions.get(server.url(), cookies={"extra": "x"})).json()
            cookies = dict(pair.split("=") for pair in seen["headers"]["Cookie"].split("; "))
            assert cookies == {"flavour": "oat", "initial": "1", "extra": "x"}
            response = await sessions.get(server.url("/set-cookie-redirect"))
            assert "hop=1" in response.json()["headers"]["Cookie"]
            async with session() as other:
                seen = (await other.get(server.url())).json()
                assert "Cookie" not in seen["headers"]
        async with serving() as server, session(store_cookies=False) as sessions:
            await sessions.get(server.url("/set-cookie?flavour=oat"))
            assert "Cookie" not in (await sessions.get(server.url())).json()["headers"]

    run(io_loop, main)


# -- authentication -----------------------------------------------------------


def test_basic_and_digest_auth(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            assert (await sessions.get(server.url("/basic"))).status_code == 401
            response = await sessions.get(server.url("/basic"), auth=("user", "pass"))
            assert response.content == b"welcome"
            response = await sessions.get(server.url("/basic"), auth=HTTPBasicAuth("user", "pass"))
            assert response.content == b"welcome"
            response = await sessions.get(
                server.url("/digest"), auth=HTTPDigestAuth("user", "pass")
            )
            assert response.status_code == 200
            assert response.content == b"welcome digest"
            response = await sessions.get(
                server.url("/digest"), auth=HTTPDigestAuth("user", "bad")
            )
            assert response.status_code == 401

    run(io_loop, main)


def test_oauth2_bearer(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            response = await sessions.get(server.url(), auth=OAuth2(access_token="tok"))
            assert response.json()["headers"]["Authorization"] == "Bearer tok"

    run(io_loop, main)


# -- streaming and events -----------------------------------------------------


def test_stream_raw_iterates_once(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session() as sessions:
            response = await sessions.get(server.url("/chunks"), stream=True)
            assert response.status_code == 200
            chunks = [chunk async for chunk in response.raw]
            assert b"".join(chunks) == b"".join(f"chunk{i};".encode() for i in range(5))
            with pytest.raises(StreamConsumedError):
                async for _ in response.raw:
                    pass
            with pytest.raises(StreamConsumedError):
                await response.raw.read()
            response = await sessions.get(server.url("/chunks"), stream=True)
            assert await response.raw.read() == b"".join(f"chunk{i};".encode() for i in range(5))
            assert response.text().startswith("chunk0;")
            response = await sessions.get(server.url("/chunks"))  # not streamed
            assert await response.raw.read() == response.content
            with pytest.raises(StreamConsumedError):
                await response.raw.read()
        async with serving() as server, session(stream=True) as sessions:
            response = await sessions.get(server.url("/redirect?to=/chunks"))
            assert [r.status_code for r in response.history] == [302]
            assert (await response.raw.read()).startswith(b"chunk0;")

    run(io_loop, main)


def test_events_per_session_and_per_request(io_loop: IOLoop) -> None:
    async def main() -> None:
        seen: list[str] = []
        chunks: list[bytes] = []

        def session_headers(response: HttpResponse, exc: BaseException | None = None) -> None:
            assert exc is None
            seen.append(f"session on_headers {response.status_code}")

        async def pre_request(response: HttpResponse, exc: BaseException | None = None) -> None:
            await asyncio.sleep(0)
            seen.append("pre_request")

        def post_request(response: HttpResponse, exc: BaseException | None = None) -> None:
            seen.append(f"post_request {exc is None}")

        def data_processed(response: HttpResponse, data: bytes | None = None) -> None:
            assert data is not None
            chunks.append(response.recv_body())

        async with serving() as server, session() as sessions:
            sessions.event("on_headers").bind(session_headers)
            response = await sessions.get(
                server.url("/chunks"),
                pre_request=pre_request,
                post_request=[post_request],
                data_processed=data_processed,
                data_received=lambda response, data=None: (
                    seen.append("data") if seen[-1] != "data" else None
                ),
            )
            assert seen == ["pre_request", "session on_headers 200", "data", "post_request True"]
            assert b"".join(chunks) == b"".join(f"chunk{i};".encode() for i in range(5))
            assert response.content == b""  # recv_body() took it
            assert sessions.event("on_headers").unbind(session_headers)
            seen.clear()
            await sessions.get(server.url())
            assert seen == []
            with pytest.raises(HttpConnectionError):
                await sessions.get(server.url("/hang"), timeout=0.2, post_request=post_request)
            assert seen == ["post_request False"]
            with pytest.raises(ValueError, match="Unknown event"):
                client_module.Event("nope")

    run(io_loop, main)


# -- failures -----------------------------------------------------------------


def test_handler_errors_reach_the_caller(io_loop: IOLoop) -> None:
    class Boom(Exception):
        pass

    def explode(response: HttpResponse, **kwargs: Any) -> None:
        raise Boom("from a handler")

    async def main() -> None:
        async with serving() as server, session() as sessions:
            for event in ("pre_request", "on_headers", "data_received", "data_processed"):
                with pytest.raises(Boom):
                    await sessions.get(server.url("/chunks"), **{event: explode})

            async def stream_and_read() -> bytes:
                streamed: HttpResponse = await sessions.get(
                    server.url("/chunks"), stream=True, data_processed=explode
                )
                return await streamed.raw.read()

            with pytest.raises(Boom):  # from get() or from read(): when the data came
                await stream_and_read()
            assert (await sessions.get(server.url())).status_code == 200  # the session goes on

    run(io_loop, main)


def test_close_fails_requests_in_progress(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server:
            sessions = HttpClient(trust_env=False)
            pending = asyncio.ensure_future(sessions.get(server.url("/hang")))
            streamed = await sessions.get(server.url("/chunks"), stream=True)
            for _ in range(500):  # bounded: until the streamed body is all in
                if streamed.raw.done:
                    break
                await asyncio.sleep(0.01)
            assert not pending.done()
            await sessions.aclose()
            with pytest.raises(HttpConnectionError):
                await pending
            await streamed.raw.read()  # it was complete: unaffected
            with pytest.raises(RuntimeError, match="closed"):
                await sessions.get(server.url())

    run(io_loop, main)


def test_a_closed_lower_client_fails_requests_clearly(io_loop: IOLoop) -> None:
    # The session's own AsyncHTTPClient closed under it (not through the
    # session): the request fails as AsyncHTTPClient.fetch would, and the
    # session is not left waiting.
    async def main() -> None:
        async with serving() as server, session() as sessions:
            assert (await sessions.get(server.url())).status_code == 200
            lower = sessions._http
            assert lower is not None
            lower.close()
            with pytest.raises(RuntimeError, match="fetch\\(\\) called on closed AsyncHTTPClient"):
                await sessions.get(server.url())

    run(io_loop, main)


def test_cancelled_requests_free_their_slot(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server, session(pool_size=1) as sessions:
            for _ in range(3):  # each would hold the only slot forever (no timeout)
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(sessions.get(server.url("/hang")), 0.1)
            queued = asyncio.ensure_future(sessions.get(server.url("/hang")))
            behind = asyncio.ensure_future(sessions.get(server.url("/hang")))
            await asyncio.sleep(0.05)
            behind.cancel()  # cancelled while queued
            queued.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await queued
            response = await asyncio.wait_for(sessions.get(server.url()), 5)
            assert response.status_code == 200

    run(io_loop, main)


def test_timeout_and_connection_errors(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server:
            closed_port = server.port
            async with session(timeout=0.2) as sessions:
                with pytest.raises(HttpTimeout) as info:
                    await sessions.get(server.url("/hang"))
                assert isinstance(info.value, HttpRequestException)
                assert info.value.__cause__ is not None
        async with session() as sessions:
            with pytest.raises(HttpConnectionError):
                await sessions.get(f"http://127.0.0.1:{closed_port}/")
            with pytest.raises(ValueError, match="scheme"):
                await sessions.get("ftp://127.0.0.1/")
            with pytest.raises(ValueError):
                await sessions.get("http:///no-host")

    run(io_loop, main)


def test_request_the_lower_layer_cannot_send_raises_value_error(io_loop: IOLoop) -> None:
    # A field value that is not latin-1 fails when the head is encoded, in
    # the lower layer's exchange: the ValueError reaches the caller as it is.
    async def main() -> None:
        async with serving() as server, session() as sessions:
            with pytest.raises(ValueError, match="latin-1"):
                await sessions.get(server.url(), headers={"X-Name": "\u0100"})
            assert (await sessions.get(server.url())).status_code == 200

    run(io_loop, main)


# -- TLS ----------------------------------------------------------------------


def test_verify_and_cert(
    io_loop: IOLoop, tls_ca: trustme.CA, server_ssl_context: ssl.SSLContext, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))
    client_cert = tls_ca.issue_cert("client@example.org")
    client_file = tmp_path / "client.pem"
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(client_file))
    server_ssl_context.verify_mode = ssl.CERT_OPTIONAL
    tls_ca.configure_trust(server_ssl_context)

    async def main() -> None:
        async with serving(server_ssl_context) as server:
            async with session() as sessions:
                with pytest.raises(SSLError):
                    await sessions.get(server.url())  # the test CA is not in certifi's bundle
                response = await sessions.get(server.url(), verify=False)
                assert response.status_code == 200
                response = await sessions.get(server.url(), verify=str(ca_file))
                assert response.status_code == 200
            async with session(verify=str(ca_file), cert=str(client_file)) as sessions:
                assert sessions.cert == str(client_file)
                response = await sessions.get(server.url())
                assert response.status_code == 200

    run(io_loop, main)


def test_verify_with_a_ca_directory(
    io_loop: IOLoop, tls_ca: trustme.CA, server_ssl_context: ssl.SSLContext, tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to hash the CA directory")
    directory = tmp_path / "cas"
    directory.mkdir()
    tls_ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    subprocess.run([openssl, "rehash", str(directory)], check=True, capture_output=True)

    async def main() -> None:
        async with serving(server_ssl_context) as server, session() as sessions:
            response = await sessions.get(server.url(), verify=str(directory))
            assert response.status_code == 200
            with pytest.raises(SSLError):
                await sessions.get(server.url(), verify=str(tmp_path))  # no CA in there

    run(io_loop, main)


# -- synchronous mode ---------------------------------------------------------


def test_synchronous_mode() -> None:
    loop = asyncio.new_event_loop()
    try:
        server_holder: dict[str, Any] = {}

        async def start() -> None:
            context = serving()
            server_holder["served"] = await context.__aenter__()
            server_holder["context"] = context

        loop.run_until_complete(start())
        sessions = HttpClient(loop=loop, trust_env=False)
        response = sessions.get(server_holder["served"].url(), params={"sync": "1"})
        assert isinstance(response, HttpResponse)
        assert response.json()["uri"] == "/echo?sync=1"
        response = sessions.post(server_holder["served"].url(), json=[1])
        assert json.loads(response.json()["body"]) == [1]
        sessions.close()
        loop.run_until_complete(server_holder["context"].__aexit__(None, None, None))
    finally:
        loop.close()


# -- connections and proxies --------------------------------------------------


def test_pool_keep_alive_and_close_connections(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving() as server:
            async with session(pool_size=2, keep_alive=30) as sessions:
                responses = await asyncio.gather(*(sessions.get(server.url()) for _ in range(6)))
                assert all(response.status_code == 200 for response in responses)
                first = (await sessions.get(server.url())).json()["peer"]
                second = (await sessions.get(server.url())).json()["peer"]
                assert first == second  # the connection was kept alive and reused
            async with session(close_connections=True) as sessions:
                first_seen = (await sessions.get(server.url())).json()
                assert first_seen["headers"]["Connection"] == "close"
                second = (await sessions.get(server.url())).json()["peer"]
                assert first_seen["peer"] != second

    run(io_loop, main)


def test_proxies_and_trust_env(io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        async with serving() as proxy:
            proxy_url = f"http://127.0.0.1:{proxy.port}"
            async with session(proxies={"http": proxy_url}) as sessions:
                response = await sessions.get("http://origin.invalid/echo?x=1")
                assert response.json()["uri"] == "http://origin.invalid/echo?x=1"
                assert response.request.proxy == proxy_url
            monkeypatch.setenv("http_proxy", proxy_url)
            monkeypatch.setenv("no_proxy", "direct.invalid")
            async with session(trust_env=True) as sessions:
                response = await sessions.get("http://origin.invalid/echo")
                assert response.json()["uri"] == "http://origin.invalid/echo"
                assert sessions.proxy_for("http://direct.invalid/") is None
            async with session(trust_env=False) as sessions:
                assert sessions.proxy_for("http://origin.invalid/") is None

    run(io_loop, main)


@contextlib.asynccontextmanager
async def connect_proxy() -> AsyncIterator[tuple[int, list[str]]]:
    """A CONNECT-only forward proxy (RFC 9110 §9.3.6); yields its port and the targets."""
    targets: list[str] = []
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n")[0].decode().split(" ")
        assert method == "CONNECT"
        targets.append(target)
        host, _, port = target.rpartition(":")
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for task in (pipe(reader, upstream_writer), pipe(upstream_reader, writer)):
            pipes.add(asyncio.ensure_future(task))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], targets
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()


def test_https_through_a_connect_proxy(
    io_loop: IOLoop, tls_ca: trustme.CA, server_ssl_context: ssl.SSLContext, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))

    async def main() -> None:
        async with serving(server_ssl_context) as server, connect_proxy() as (port, targets):
            proxies = {"https": f"http://127.0.0.1:{port}"}
            async with session(proxies=proxies, verify=str(ca_file)) as sessions:
                response = await sessions.get(server.url("/echo?via=proxy"))
                assert response.json()["uri"] == "/echo?via=proxy"
                assert response.request.tunnel == proxies["https"]
            assert targets == [f"127.0.0.1:{server.port}"]

    run(io_loop, main)


def test_synchronous_mode_on_another_thread(io_loop: IOLoop) -> None:
    def blocking(url: str) -> tuple[int, str]:
        loop = asyncio.new_event_loop()
        try:
            with HttpClient(loop=loop, trust_env=False) as sessions:
                response = sessions.get(url, params={"from": "thread"})
                return response.status_code, response.json()["uri"]
        finally:
            loop.close()

    async def main() -> None:
        async with serving() as server:
            loop = asyncio.get_running_loop()
            code, uri = await loop.run_in_executor(None, blocking, server.url())
            assert (code, uri) == (200, "/echo?from=thread")

    run(io_loop, main)
