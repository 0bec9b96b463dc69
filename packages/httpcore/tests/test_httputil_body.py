"""Tests of squall.httputil's form bodies (urlencoded, multipart) and parse_cookie."""

from __future__ import annotations

import http.cookies
import logging
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall._httputil import _body
from squall.httputil import (
    HTTPFile,
    HTTPHeaders,
    parse_body_arguments,
    parse_cookie,
    parse_multipart_form_data,
)

Arguments = dict[str, list[bytes]]
Files = dict[str, list[HTTPFile]]


def parse(body: bytes, boundary: bytes = b"1234") -> tuple[Arguments, Files]:
    arguments: Arguments = {}
    files: Files = {}
    parse_multipart_form_data(boundary, body, arguments, files)
    return arguments, files


# -- multipart/form-data -----------------------------------------------------------


def test_file_upload() -> None:
    data = b"""\
--1234
Content-Disposition: form-data; name="files"; filename="ab.txt"

Foo
--1234--""".replace(b"\n", b"\r\n")
    arguments, files = parse(data)
    assert arguments == {}
    file = files["files"][0]
    assert file.filename == "ab.txt"
    assert file["filename"] == "ab.txt"
    assert file.body == b"Foo"
    assert file.content_type == "application/unknown"
    assert HTTPFile.__module__ == "squall.httputil"


def test_unquoted_names_and_content_type() -> None:
    data = b"""\
--1234
Content-Disposition: form-data; name=files; filename=ab.txt
Content-Type: text/plain

Foo
--1234--""".replace(b"\n", b"\r\n")
    _, files = parse(data)
    assert files["files"][0].filename == "ab.txt"
    assert files["files"][0].content_type == "text/plain"


@pytest.mark.parametrize(
    ("header_value", "expected"),
    [
        ('"a;b.txt"', "a;b.txt"),
        ('"a\\"b.txt"', 'a"b.txt'),
        ('"a\\\\b.txt"', "a\\b.txt"),
        ('"C:\\dir\\x.txt"', "C:\\dir\\x.txt"),  # old IE: a Windows path, unescaped
        ('"a b.txt"', "a b.txt"),
        ('"unterminated', "unterminated"),
    ],
)
def test_special_filenames(header_value: str, expected: str) -> None:
    data = (
        b'--1234\r\nContent-Disposition: form-data; name="files"; filename='
        + header_value.encode()
        + b"\r\n\r\nFoo\r\n--1234--\r\n"
    )
    _, files = parse(data)
    assert files["files"][0].filename == expected


def test_rfc8187_filename_star_wins() -> None:
    data = (
        b'--1234\r\nContent-Disposition: form-data; name="files"; filename="euro.txt";'
        b" filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\nFoo\r\n--1234--\r\n"
    )
    _, files = parse(data)
    assert files["files"][0].filename == "€ rates.txt"
    latin = data.replace(b"UTF-8''%e2%82%ac", b"iso-8859-1'en'%a3")
    assert parse(latin)[1]["files"][0].filename == "£ rates.txt"
    unknown = data.replace(b"UTF-8", b"x-unknown")
    assert parse(unknown)[1]["files"][0].filename == "euro.txt"
    invalid = data.replace(b"%e2%82%ac", b"%ff")
    assert parse(invalid)[1]["files"][0].filename == "euro.txt"


def test_utf8_and_latin1_part_headers() -> None:
    data = (
        '--1234\r\nContent-Disposition: form-data; name="ф"; filename="é.txt"\r\n\r\nx\r\n--1234--'
    )
    _, files = parse(data.encode("utf-8"))
    assert files["ф"][0].filename == "é.txt"
    latin = (
        b'--1234\r\nContent-Disposition: form-data; name="f"; filename="\xe9.txt"\r\n'
        b"\r\nx\r\n--1234--"
    )
    assert parse(latin)[1]["f"][0].filename == "é.txt"


def test_quoted_boundary() -> None:
    data = b'--1234\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--1234--\r\n'
    assert parse(data, b'"1234"')[0] == {"a": [b"b"]}


def test_preamble_epilogue_padding_and_empty_values() -> None:
    data = (
        b"This is the preamble.\r\n--1234 \t\r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\n'
        b"\r\n"
        b"--1234\r\n"
        b'Content-Disposition: form-data; name="b"\r\n\r\n'
        b"line1\r\nline2\r\n\r\n"
        b"--1234--\r\nThis is the epilogue, --1234 ignored.\r\n"
    )
    assert parse(data)[0] == {"a": [b""], "b": [b"line1\r\nline2\r\n"]}


def test_empty_filename_is_an_argument() -> None:
    # What browsers send for a file input left empty.
    data = (
        b'--1234\r\nContent-Disposition: form-data; name="f"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--1234--\r\n"
    )
    assert parse(data) == ({"f": [b""]}, {})


def test_values_are_appended_to_existing_lists() -> None:
    arguments: Arguments = {"a": [b"0"]}
    files: Files = {}
    data = b'--1234\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--1234--'
    parse_multipart_form_data(b"1234", data, arguments, files)
    assert arguments == {"a": [b"0", b"1"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'--1234\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n', "final boundary"),
        (b'Content-Disposition: form-data; name="a"\r\n\r\nb\r\n', "no boundary"),
        (b'--1234junk\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--1234--', "delim"),
        (b"--12345678", "delimiter"),
    ],
)
def test_malformed_bodies_are_logged_and_ignored_whole(
    data: bytes, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="squall.general"):
        assert parse(data) == ({}, {})
    assert message in caplog.text


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (b"\r\nno headers", "missing headers"),
        (b'Content-Disposition: form-data; name="x"\r\nno blank line', "missing headers"),
        (b'Content-Disposition: attachment; name="x"\r\n\r\nv', "not form-data"),
        (b"Content-Disposition: form-data\r\n\r\nv", "missing name"),
        (b'Content-Disposition: form-data; name=""\r\n\r\nv', "missing name"),
        (b'Bad Header: x\r\nContent-Disposition: form-data; name="x"\r\n\r\nv', "malformed"),
    ],
)
def test_bad_parts_are_skipped(
    part: bytes, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = (
        b"--1234\r\n"
        + part
        + b'\r\n--1234\r\nContent-Disposition: form-data; name="ok"\r\n\r\nyes\r\n--1234--'
    )
    with caplog.at_level(logging.WARNING, logger="squall.general"):
        assert parse(data) == ({"ok": [b"yes"]}, {})
    assert message in caplog.text


def test_part_count_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    part = b'--1234\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n'
    limit = _body.MAX_MULTIPART_PARTS
    arguments, _ = parse(part * limit + b"--1234--")
    assert len(arguments["a"]) == limit
    with caplog.at_level(logging.WARNING, logger="squall.general"):
        assert parse(part * (limit + 1) + b"--1234--") == ({}, {})
    assert "parts" in caplog.text


def test_large_pathological_inputs_stay_linear() -> None:
    # Would be quadratic with a rescan per delimiter or per escaped quote.
    header = 'form-data; name="x"' + '; a="\\"' * 50_000
    params = _body._parse_params(header, header.find(";"))
    assert params["name"] == "x"
    data = (
        b'--1234\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
        + b"\r\n--123" * 100_000
        + b"\r\n--1234--"
    )
    assert parse(data) == ({"a": [b"\r\n--123" * 100_000]}, {})


# -- property tests ---------------------------------------------------------------

field_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\'),
    min_size=1,
    max_size=10,
)
contents = st.binary(max_size=40)
fields = st.lists(
    st.tuples(
        field_names,
        contents,
        st.one_of(st.none(), field_names),
        st.sampled_from(["text/plain", "application/octet-stream", "image/png"]),
    ),
    max_size=6,
)
boundaries = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=?",
    min_size=1,
    max_size=40,
)


def encode_multipart(
    boundary: str, items: list[tuple[str, bytes, str | None, str]], preamble: bytes = b""
) -> bytes:
    out = [preamble + b"\r\n" if preamble else b""]
    for name, content, filename, content_type in items:
        out.append(b"--" + boundary.encode() + b"\r\n")
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
            out.append(f"Content-Disposition: {disposition}\r\n".encode())
            out.append(f"Content-Type: {content_type}\r\n\r\n".encode())
        else:
            out.append(f"Content-Disposition: {disposition}\r\n\r\n".encode())
        out.append(content + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out)


@given(boundaries, fields, st.binary(max_size=20))
def test_multipart_round_trip(
    boundary: str, items: list[tuple[str, bytes, str | None, str]], preamble: bytes
) -> None:
    delimiter = b"--" + boundary.encode()
    body = encode_multipart(boundary, items, preamble)
    # A sender picks a boundary that occurs in none of the contents (RFC 2046 §5.1.1).
    if any(delimiter in content + b"\r\n" for _, content, _, _ in items) or delimiter in preamble:
        return
    if b"\r\n" + delimiter in b"\r\n" + preamble:
        return
    expected_arguments: Arguments = {}
    expected_files: Files = {}
    for name, content, filename, content_type in items:
        if filename:
            expected_files.setdefault(name, []).append(
                HTTPFile(filename=filename, body=content, content_type=content_type)
            )
        else:
            expected_arguments.setdefault(name, []).append(content)
    assert parse(body, boundary.encode()) == (expected_arguments, expected_files)
    content_type = f'multipart/form-data; boundary="{boundary}"'
    arguments: Arguments = {}
    files: Files = {}
    parse_body_arguments(content_type, body, arguments, files)
    assert (arguments, files) == (expected_arguments, expected_files)


@given(st.binary(max_size=200), boundaries)
def test_multipart_never_raises(data: bytes, boundary: str) -> None:
    logging.getLogger("squall.general").disabled = True
    try:
        arguments, files = parse(data, boundary.encode())
    finally:
        logging.getLogger("squall.general").disabled = False
    assert all(isinstance(v, bytes) for values in arguments.values() for v in values)
    assert all(isinstance(f, HTTPFile) for values in files.values() for f in values)


@given(fields, st.data())
def test_multipart_mutations_never_raise(
    items: list[tuple[str, bytes, str | None, str]], data: st.DataObject
) -> None:
    body = bytearray(encode_multipart("xyz", items))
    for _ in range(data.draw(st.integers(0, 4))):
        if not body:
            break
        index = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        byte = data.draw(st.sampled_from(b'\r\n-"; =x\\'))
        if action == "delete":
            del body[index]
        elif action == "insert":
            body.insert(index, byte)
        else:
            body[index] = byte
    logging.getLogger("squall.general").disabled = True
    try:
        parse(bytes(body), b"xyz")
    finally:
        logging.getLogger("squall.general").disabled = False


# -- parse_body_arguments -------------------------------------------------------


def test_urlencoded() -> None:
    arguments: Arguments = {"a": [b"0"]}
    files: Files = {}
    parse_body_arguments(
        "application/x-www-form-urlencoded; charset=UTF-8",
        b"a=1&b=%C3%A9&c=&d=+x",
        arguments,
        files,
    )
    assert arguments == {"a": [b"0", b"1"], "b": ["é".encode()], "c": [b""], "d": [b" x"]}
    assert files == {}


@given(st.lists(st.tuples(st.text(min_size=1), st.binary()), max_size=8))
def test_urlencoded_round_trip(pairs: list[tuple[str, bytes]]) -> None:
    encoded = "&".join(
        urllib.parse.quote_plus(name.encode("utf-8")) + "=" + urllib.parse.quote_plus(value)
        for name, value in pairs
    )
    arguments: Arguments = {}
    parse_body_arguments("application/x-www-form-urlencoded", encoded.encode(), arguments, {})
    expected: Arguments = {}
    for name, value in pairs:
        expected.setdefault(name.encode("utf-8").decode("latin-1"), []).append(value)
    assert arguments == expected


def test_media_type_is_case_insensitive_and_exact() -> None:
    arguments: Arguments = {}
    parse_body_arguments("Application/X-WWW-Form-URLEncoded", b"a=1", arguments, {})
    assert arguments == {"a": [b"1"]}
    arguments = {}
    parse_body_arguments("application/x-www-form-urlencodedX", b"a=1", arguments, {})
    parse_body_arguments("text/plain", b"a=1", arguments, {})
    parse_body_arguments("", b"a=1", arguments, {})
    assert arguments == {}


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=1234"]
)
def test_content_encoding_is_logged_and_ignored(
    content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'--1234\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--1234--'
    if content_type.startswith("application"):
        body = b"a=b"
    arguments: Arguments = {}
    with caplog.at_level(logging.WARNING, logger="squall.general"):
        parse_body_arguments(
            content_type, body, arguments, {}, HTTPHeaders({"Content-Encoding": "gzip"})
        )
    assert arguments == {}
    assert "Content-Encoding" in caplog.text
    for identity in ("identity", "Identity "):
        parse_body_arguments(
            content_type, body, arguments, {}, HTTPHeaders({"Content-Encoding": identity})
        )
    assert arguments == {"a": [b"b", b"b"]}


def test_multipart_boundary_parameter(caplog: pytest.LogCaptureFixture) -> None:
    body = b'--a;b\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--a;b--'
    arguments: Arguments = {}
    parse_body_arguments('multipart/form-data; charset=x; BOUNDARY="a;b"', body, arguments, {})
    assert arguments == {"a": [b"b"]}
    with caplog.at_level(logging.WARNING, logger="squall.general"):
        parse_body_arguments("multipart/form-data", body, arguments, {})
        parse_body_arguments("multipart/form-data; boundary=", body, arguments, {})
    assert "no boundary" in caplog.text
    assert arguments == {"a": [b"b"]}


# -- parse_cookie --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # The cases Django's test suite documents for this algorithm.
        ("chips=ahoy; vienna=finger", {"chips": "ahoy", "vienna": "finger"}),
        (
            'keebler="E=mc2; L=\\"Loves\\"; fudge=\\012;"',
            {"keebler": '"E=mc2', "L": '\\"Loves\\"', "fudge": "\\012", "": '"'},
        ),
        ("keebler=E=mc2", {"keebler": "E=mc2"}),
        ("key:term=value:term", {"key:term": "value:term"}),
        ("a=b; c=[; d=r; f=h", {"a": "b", "c": "[", "d": "r", "f": "h"}),
        ("a=b; Domain=example.com", {"a": "b", "Domain": "example.com"}),
        ("a=b; h=i; a=c", {"a": "c", "h": "i"}),
        ("foo=bar; =; baz=qux", {"foo": "bar", "baz": "qux"}),
        ("a b c=d e = f; gh=i", {"a b c": "d e = f", "gh": "i"}),
        ('a   b,c<>@:/[]?{}=d  "  =e,f g', {"a   b,c<>@:/[]?{}": 'd  "  =e,f g'}),
        ("saint=André Bessette", {"saint": "André Bessette"}),
        ("  =  b  ;  ;  =  ;   c  =  ;  ", {"": "b", "c": ""}),
        ("unnamed", {"": "unnamed"}),
        ('a="quoted \\"x\\" \\101"', {"a": 'quoted "x" A'}),
        ("", {}),
    ],
)
def test_parse_cookie(header: str, expected: dict[str, str]) -> None:
    assert parse_cookie(header) == expected


cookie_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~", min_size=1, max_size=10
)
cookie_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20
)


@given(st.dictionaries(cookie_names, cookie_values, max_size=6))
def test_parse_cookie_reads_what_http_cookies_writes(cookies: dict[str, str]) -> None:
    jar = http.cookies.SimpleCookie()
    written = {}
    for name, value in cookies.items():
        try:
            jar[name] = value
        except http.cookies.CookieError:
            continue  # a reserved attribute name ("path", "expires"...)
        written[name] = value
    # http.cookies quotes values that need it, ";" included (as \073).
    header = "; ".join(morsel.OutputString() for morsel in jar.values())
    assert parse_cookie(header) == written


@given(st.text(max_size=100))
def test_parse_cookie_never_raises(header: str) -> None:
    parsed = parse_cookie(header)
    for name, value in parsed.items():
        assert name == name.strip()
        assert ";" not in name
        assert ";" not in value


def test_parse_cookie_is_linear() -> None:
    value = '"' + "\\" * 200_001 + '"'
    assert len(parse_cookie("a=" + value)["a"]) == 100_001
