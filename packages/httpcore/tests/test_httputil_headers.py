"""Tests of squall.httputil.HTTPHeaders."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall._httputil import _headers
from squall.httputil import HTTPHeaders, HTTPInputError

# -- strategies ----------------------------------------------------------------

_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
names = st.text(alphabet=_TCHAR, min_size=1, max_size=12)
# Field values as a parser delivers them: no surrounding whitespace, no
# CR/LF/NUL, visible ASCII, obs-text and inner SP/HTAB.
_VCHAR = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f")
values = st.builds(
    lambda parts: " ".join(parts),
    st.lists(st.text(alphabet=_VCHAR, min_size=1, max_size=8), max_size=4),
)
pairs = st.lists(st.tuples(names, values), max_size=12)


def normalized(name: str) -> str:
    return "-".join(word.capitalize() for word in name.split("-"))


def grouped(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The get_all() order: names by first appearance, each name's values in order."""
    by_name: dict[str, list[str]] = {}
    for name, value in items:
        by_name.setdefault(normalized(name), []).append(value)
    return [(name, value) for name, vals in by_name.items() for value in vals]


# -- the documented behaviour ----------------------------------------------------


def test_documented_example() -> None:
    h = HTTPHeaders({"content-type": "text/html"})
    assert list(h.keys()) == ["Content-Type"]
    assert h["Content-Type"] == "text/html"
    h.add("Set-Cookie", "A=B")
    h.add("Set-Cookie", "C=D")
    assert h["set-cookie"] == "A=B,C=D"
    assert h.get_list("set-cookie") == ["A=B", "C=D"]
    assert sorted(h.get_all()) == [
        ("Content-Type", "text/html"),
        ("Set-Cookie", "A=B"),
        ("Set-Cookie", "C=D"),
    ]


def test_names_are_normalized_to_http_header_case() -> None:
    h = HTTPHeaders()
    h["x-CSRF-token"] = "1"
    h["WWW-authenticate"] = "2"
    h["content-md5"] = "3"
    assert list(h) == ["X-Csrf-Token", "Www-Authenticate", "Content-Md5"]
    for name in ("X-CSRF-TOKEN", "x-csrf-token", "X-Csrf-Token"):
        assert name in h
        assert h[name] == "1"
        assert h.get(name) == "1"
        assert h.get_list(name) == ["1"]


def test_normalization_cache_is_bounded() -> None:
    for i in range(_headers._NORMALIZED_CACHE_SIZE * 3):
        assert _headers._normalize_name(f"x-name-{i}") == f"X-Name-{i}"
    assert len(_headers._normalized) <= _headers._NORMALIZED_CACHE_SIZE
    assert _headers._normalize_name("content-type") == "Content-Type"


def test_dictionary_interface() -> None:
    h = HTTPHeaders(a="1")
    h.update({"B": "2"}, c="3")
    assert len(h) == 3
    assert dict(h) == {"A": "1", "B": "2", "C": "3"}
    assert list(h.values()) == ["1", "2", "3"]
    assert list(h.items()) == [("A", "1"), ("B", "2"), ("C", "3")]
    h["a"] = "x"  # replaces every value
    h.add("b", "y")
    h["b"] = "z"
    assert h.get_list("b") == ["z"]
    del h["C"]
    assert "c" not in h
    with pytest.raises(KeyError):
        h["c"]
    with pytest.raises(KeyError):
        del h["c"]
    assert h.get("c") is None
    assert h.get("c", "default") == "default"
    assert h.pop("a") == "x"
    assert h.setdefault("d", "4") == "4"
    assert h.setdefault("D", "5") == "4"
    assert 42 not in h
    h.clear()
    assert len(h) == 0
    assert h.get_list("b") == []


def test_constructor_forms() -> None:
    assert dict(HTTPHeaders([("a", "1"), ("A", "2")])) == {"A": "2"}  # like dict()
    original = HTTPHeaders()
    original.add("a", "1")
    original.add("a", "2")
    copied = HTTPHeaders(original)  # a copy keeps every value
    assert copied.get_list("a") == ["1", "2"]
    # Keywords, alone or after a mapping or pairs (a later value replaces).
    assert dict(HTTPHeaders(content_type="x")) == {"Content_type": "x"}
    assert dict(HTTPHeaders(arg="x")) == {"Arg": "x"}  # no parameter name is taken
    assert dict(HTTPHeaders({"a": "1"}, b="2")) == {"A": "1", "B": "2"}
    assert dict(HTTPHeaders([("a", "1")], a="2")) == {"A": "2"}
    assert HTTPHeaders(original, b="2").get_list("a") == ["1,2"]  # like update()
    assert dict(HTTPHeaders({})) == {}
    # What dict() refuses, HTTPHeaders() refuses.
    with pytest.raises(TypeError):
        HTTPHeaders(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        HTTPHeaders({"a": "1"}, {"b": "2"})  # type: ignore[call-arg]


def test_get_list_returns_a_copy() -> None:
    h = HTTPHeaders()
    h.add("a", "1")
    h.add("a", "2")
    h.get_list("a").append("3")
    assert h.get_list("a") == ["1", "2"]


def test_copies_are_independent() -> None:
    h = HTTPHeaders()
    h.add("Set-Cookie", "a")
    h.add("Set-Cookie", "b")
    for other in (h.copy(), copy.copy(h), copy.deepcopy(h), HTTPHeaders(h)):
        assert isinstance(other, HTTPHeaders)
        assert other == h
        other.add("Set-Cookie", "c")
        other["X"] = "y"
        assert h.get_list("Set-Cookie") == ["a", "b"]
        assert "X" not in h


def test_pickle() -> None:
    h = HTTPHeaders()
    h.add("Set-Cookie", "a")
    h.add("Set-Cookie", "b")
    h["Content-Type"] = "text/plain"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(h, protocol))
        assert restored == h
        assert list(restored.get_all()) == list(h.get_all())


def test_equality() -> None:
    a = HTTPHeaders({"Content-Type": "text/html"})
    assert a == HTTPHeaders({"content-type": "text/html"})
    assert a == {"Content-Type": "text/html"}
    assert a != {"Content-Type": "text/plain"}
    assert a != HTTPHeaders()
    assert a != "Content-Type: text/html"
    assert isinstance(a, Mapping)
    with pytest.raises(TypeError):
        hash(a)


def test_str_and_repr() -> None:
    h = HTTPHeaders()
    h.add("content-type", "text/html")
    h.add("set-cookie", "a=1")
    h.add("set-cookie", "b=2")
    assert str(h) == "Content-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    assert repr(h) == (
        "HTTPHeaders([('Content-Type', 'text/html'), ('Set-Cookie', 'a=1'),"
        " ('Set-Cookie', 'b=2')])"
    )


def test_module_is_the_public_one() -> None:
    assert HTTPHeaders.__module__ == "squall.httputil"


# -- _from_pairs ---------------------------------------------------------------


def test_from_pairs() -> None:
    h = HTTPHeaders._from_pairs(
        [("host", "example.com"), ("Set-Cookie", "a=1"), ("set-COOKIE", "b=2"), ("X-A", "")]
    )
    assert type(h) is HTTPHeaders
    assert list(h.get_all()) == [
        ("Host", "example.com"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("X-A", ""),
    ]
    assert h["set-cookie"] == "a=1,b=2"
    h.add("Set-Cookie", "c=3")
    assert h.get_list("Set-Cookie") == ["a=1", "b=2", "c=3"]
    h.add("Host", "other")
    assert h.get_list("host") == ["example.com", "other"]


@given(pairs)
def test_from_pairs_matches_add(items: list[tuple[str, str]]) -> None:
    added = HTTPHeaders()
    for name, value in items:
        added.add(name, value)
    built = HTTPHeaders._from_pairs(items)
    assert built == added
    assert list(built.get_all()) == list(added.get_all()) == grouped(items)
    for name, _ in items:
        assert built.get_list(name) == added.get_list(name)


# -- parse and parse_line ------------------------------------------------------


def test_parse_documented_example() -> None:
    h = HTTPHeaders.parse("Content-Type: text/html\r\nContent-Length: 42\r\n")
    assert sorted(h.items()) == [("Content-Length", "42"), ("Content-Type", "text/html")]


def test_parse_line_documented_example() -> None:
    h = HTTPHeaders()
    h.parse_line("Content-Type: text/html")
    assert h.get("content-type") == "text/html"


def test_parse_bare_lf_bytes_and_empty_lines() -> None:
    h = HTTPHeaders.parse(b"A: 1\nB:2\r\n\r\nC:  \t3 \t\n")
    assert list(h.get_all()) == [("A", "1"), ("B", "2"), ("C", "3")]
    assert HTTPHeaders.parse("") == HTTPHeaders()


def test_parse_repeated_fields() -> None:
    h = HTTPHeaders.parse("Set-Cookie: a\r\nX: 1\r\nset-cookie: b\r\n")
    assert h.get_list("Set-Cookie") == ["a", "b"]
    assert list(h.get_all()) == [("Set-Cookie", "a"), ("Set-Cookie", "b"), ("X", "1")]


def test_parse_continuation_lines() -> None:
    # RFC 9112 §5.2: obs-fold is replaced by a single space.
    h = HTTPHeaders.parse("Foo: bar\r\n  baz\r\n\tqux\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n c\r\n")
    assert h["Foo"] == "bar baz qux"
    assert h.get_list("Set-Cookie") == ["a", "b c"]
    assert h["Set-Cookie"] == "a,b c"
    h2 = HTTPHeaders()
    h2.parse_line("Foo: bar")
    h2.parse_line("   baz")
    h2.add("Set-Cookie", "a")
    h2.add("Set-Cookie", "b")
    h2.parse_line(" c")
    assert h2["Foo"] == "bar baz"
    assert h2.get_list("Set-Cookie") == ["a", "b c"]
    assert h2["Set-Cookie"] == "a,b c"


def test_parse_many_continuation_lines() -> None:
    # Joined once at the end: linear, not one string copy per line.
    text = "Foo: x\r\n" + " y\r\n" * 100_000
    h = HTTPHeaders.parse(text)
    assert h["Foo"] == "x" + " y" * 100_000


def test_unicode_line_separators_are_not_line_breaks() -> None:
    h = HTTPHeaders.parse("Foo: bar\u2028baz\x85qux\r\n")
    assert h["Foo"] == "bar\u2028baz\x85qux"


@pytest.mark.parametrize(
    "text",
    [
        "no colon here\r\n",
        ": empty name\r\n",
        "Name : space before the colon\r\n",
        "Na me: space in the name\r\n",
        "Na\x00me: nul in the name\r\n",
        "Name: bare\rCR\r\n",
        "Name: nul\x00in value\r\n",
        " starts with whitespace\r\n",
        "Foo: bar\r\n continued\rbad\r\n",
        "Nämé: non-token name\r\n",
    ],
)
def test_parse_rejects_malformed_lines(text: str) -> None:
    with pytest.raises(HTTPInputError):
        HTTPHeaders.parse(text)


def test_parse_line_rejects() -> None:
    h = HTTPHeaders()
    with pytest.raises(HTTPInputError):
        h.parse_line("")
    with pytest.raises(HTTPInputError):
        h.parse_line(" continuation first")
    with pytest.raises(HTTPInputError):
        h.parse_line("x" * 10_000)


def test_error_messages_are_bounded() -> None:
    with pytest.raises(HTTPInputError) as info:
        HTTPHeaders.parse("x" * 100_000 + "\r\n")
    assert len(str(info.value)) < 200


@given(pairs)
def test_parse_round_trips_str(items: list[tuple[str, str]]) -> None:
    h = HTTPHeaders._from_pairs(items)
    parsed = HTTPHeaders.parse(str(h))
    assert parsed == h
    assert list(parsed.get_all()) == grouped(items)


@given(pairs, st.sampled_from(["\r\n", "\n"]), st.sampled_from(["", " ", "\t", " \t "]))
def test_parse_with_any_line_ending_and_padding(
    items: list[tuple[str, str]], eol: str, pad: str
) -> None:
    text = "".join(f"{name}:{pad}{value}{pad}{eol}" for name, value in items)
    assert list(HTTPHeaders.parse(text).get_all()) == grouped(items)


@given(st.text(alphabet=st.sampled_from("ab: \t\r\n\x00-é"), max_size=60))
def test_parse_arbitrary_text_either_parses_or_raises_input_error(text: str) -> None:
    try:
        h = HTTPHeaders.parse(text)
    except HTTPInputError:
        return
    # Whatever was accepted is clean, and reparses to the same headers.
    for name, value in h.get_all():
        assert name
        assert ":" not in name
        assert not any(c in value for c in "\r\n\x00")
    assert HTTPHeaders.parse(str(h)) == h


def test_continuation_of_an_empty_value() -> None:
    assert HTTPHeaders.parse("Foo:\r\n bar\r\n")["Foo"] == "bar"
    h = HTTPHeaders()
    h.parse_line("Foo:")
    h.parse_line(" bar")
    assert h["Foo"] == "bar"
    h.add("Foo", "")
    h.parse_line(" baz")
    assert h.get_list("Foo") == ["bar", "baz"]
    assert h["Foo"] == "bar,baz"


def test_constructor_from_dict_normalizes_and_replaces() -> None:
    h = HTTPHeaders({"content-type": "a", "Content-Type": "b", "x-y": "c"})
    assert list(h.get_all()) == [("Content-Type", "b"), ("X-Y", "c")]
    h.add("X-Y", "d")
    assert h.get_list("x-y") == ["c", "d"]


def test_from_a_dict_the_headers_are_a_copy_with_normalized_names() -> None:
    given = {"Content-Type": "text/plain", "Content-Length": "12"}
    headers = HTTPHeaders(given)
    given["Content-Type"] = "changed"
    assert headers["Content-Type"] == "text/plain"
    headers["X-A"] = "1"
    assert "X-A" not in given
    # Names not yet in normalized form are normalized, known or not.
    mixed = HTTPHeaders({"content-type": "a", "x-unheard-of-NAME": "b"})
    assert list(mixed.keys()) == ["Content-Type", "X-Unheard-Of-Name"]
    assert HTTPHeaders({"X-Unheard-Of-Name": "c"}).get_list("x-unheard-of-name") == ["c"]
