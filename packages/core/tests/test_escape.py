"""Tests for squall.escape."""

from __future__ import annotations

import doctest
import json
import re
import types
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall import escape
from squall.escape import (
    json_decode,
    json_encode,
    linkify,
    native_str,
    parse_qs_bytes,
    recursive_unicode,
    squeeze,
    to_basestring,
    to_unicode,
    url_escape,
    url_unescape,
    utf8,
    xhtml_escape,
    xhtml_unescape,
)

# Hypothesis text without lone surrogates, which no codec can encode.
valid_text = st.text(st.characters(codec="utf-8"))


def test_all_is_sorted_and_complete() -> None:
    assert escape.__all__ == sorted(escape.__all__)
    public = {
        name
        for name, value in vars(escape).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", None) == "squall.escape"
    }
    assert public == set(escape.__all__)
    for name in escape.__all__:
        assert hasattr(escape, name)


def test_doctests() -> None:
    result = doctest.testmod(escape)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------
# utf8 / to_unicode / native_str / to_basestring
# --------------------------------------------------------------------------


class TestConversions:
    def test_utf8(self) -> None:
        assert utf8("héllo") == "héllo".encode()
        assert utf8("") == b""
        assert utf8("\U0001f600") == b"\xf0\x9f\x98\x80"

    def test_utf8_passes_bytes_and_none_through(self) -> None:
        data = b"\xff\x00abc"
        assert utf8(data) is data
        assert utf8(None) is None

    @pytest.mark.parametrize("func", [utf8, to_unicode, native_str, to_basestring])
    @pytest.mark.parametrize("value", [1, 1.5, bytearray(b"x"), memoryview(b"x"), ["a"], object()])
    def test_other_types_raise_type_error(self, func: Any, value: object) -> None:
        with pytest.raises(TypeError, match=type(value).__name__):
            func(value)

    def test_to_unicode(self) -> None:
        assert to_unicode("héllo".encode()) == "héllo"
        assert to_unicode(b"") == ""
        text = "already text"
        assert to_unicode(text) is text
        assert to_unicode(None) is None

    def test_to_unicode_rejects_invalid_utf8(self) -> None:
        with pytest.raises(UnicodeDecodeError):
            to_unicode(b"\xff")

    def test_aliases(self) -> None:
        assert native_str(b"abc") == "abc"
        assert to_basestring(b"abc") == "abc"
        assert native_str(None) is None
        assert to_basestring("x") == "x"

    @given(valid_text)
    def test_round_trip(self, text: str) -> None:
        assert to_unicode(utf8(text)) == text

    def test_recursive_unicode(self) -> None:
        value = {
            b"key": [b"a", ("b", b"c"), {b"nested": b"\xc3\xa9"}],
            "text": 1,
            2: None,
        }
        assert recursive_unicode(value) == {
            "key": ["a", ("b", "c"), {"nested": "é"}],
            "text": 1,
            2: None,
        }

    def test_recursive_unicode_keeps_container_types(self) -> None:
        result = recursive_unicode([(b"a",), [b"b"]])
        assert type(result) is list
        assert type(result[0]) is tuple
        assert type(result[1]) is list

    def test_recursive_unicode_leaves_other_values(self) -> None:
        marker = object()
        assert recursive_unicode(marker) is marker
        assert recursive_unicode(b"x") == "x"
        assert recursive_unicode({1, 2}) == {1, 2}

    def test_recursive_unicode_does_not_mutate(self) -> None:
        value = {b"a": [b"b"]}
        recursive_unicode(value)
        assert value == {b"a": [b"b"]}


# --------------------------------------------------------------------------
# xhtml_escape / xhtml_unescape
# --------------------------------------------------------------------------


class TestXhtml:
    @pytest.mark.parametrize(
        ("raw", "escaped"),
        [
            ("", ""),
            ("plain", "plain"),
            ("<foo>", "&lt;foo&gt;"),
            ("<>&\"'", "&lt;&gt;&amp;&quot;&#39;"),
            ("&amp;", "&amp;amp;"),
            ("Tom & Jerry's", "Tom &amp; Jerry&#39;s"),
            ("héllo <é>", "héllo &lt;é&gt;"),
            ("\U0001f600&", "\U0001f600&amp;"),
        ],
    )
    def test_escape(self, raw: str, escaped: str) -> None:
        assert xhtml_escape(raw) == escaped
        assert xhtml_escape(raw.encode()) == escaped

    def test_escape_returns_str(self) -> None:
        assert type(xhtml_escape(b"<")) is str

    def test_escape_rejects_other_types(self) -> None:
        with pytest.raises(TypeError):
            xhtml_escape(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            xhtml_escape(5)  # type: ignore[arg-type]

    def test_escape_str_subclass(self) -> None:
        class Markup(str):
            pass

        assert xhtml_escape(Markup("<b>")) == "&lt;b&gt;"

    @pytest.mark.parametrize(
        ("escaped", "raw"),
        [
            ("&lt;&gt;&amp;&quot;&#39;", "<>&\"'"),
            ("&apos;", "'"),
            ("&eacute;&Eacute;&nbsp;&copy;", "éÉ\xa0©"),
            ("&#65;&#x41;&#X41;&#0000065;", "AAAA"),
            ("&#x1F600;", "\U0001f600"),
            ("&amp;amp;", "&amp;"),
            ("no entities", "no entities"),
            ("", ""),
        ],
    )
    def test_unescape(self, escaped: str, raw: str) -> None:
        assert xhtml_unescape(escaped) == raw
        assert xhtml_unescape(escaped.encode()) == raw

    @pytest.mark.parametrize(
        "text",
        [
            "&bogus;",  # unknown name
            "&eAcute;",  # names are case-sensitive
            "&amp",  # no semicolon
            "& amp;",
            "&;",
            "&#;",
            "&#x;",
            "&#xZZ;",
            "&#1a;",
            "&#1114112;",  # one past U+10FFFF
            "&#x110000;",
            "&#xD800;",  # a surrogate is not a character
            "&#99999999999999999999999999999999999999999999999999;",
            "&#" + "9" * 5000 + ";",  # larger than int() accepts by default
            "&",
            "a & b",
        ],
    )
    def test_unescape_leaves_unknown_references(self, text: str) -> None:
        assert xhtml_unescape(text) == text

    def test_unescape_mixed(self) -> None:
        assert xhtml_unescape("&lt;b&gt; &bogus; &#39;x&#39; &") == "<b> &bogus; 'x' &"

    def test_unescape_does_not_double_unescape(self) -> None:
        assert xhtml_unescape("&amp;lt;") == "&lt;"

    def test_unescape_largest_code_point(self) -> None:
        assert xhtml_unescape("&#x10FFFF;") == "\U0010ffff"
        assert xhtml_unescape("&#0;") == "\x00"

    def test_unescape_rejects_other_types(self) -> None:
        with pytest.raises(TypeError):
            xhtml_unescape(None)  # type: ignore[arg-type]

    @given(st.text())
    def test_round_trip(self, text: str) -> None:
        assert xhtml_unescape(xhtml_escape(text)) == text

    @given(st.text())
    def test_escaped_has_no_markup(self, text: str) -> None:
        escaped = xhtml_escape(text)
        assert not set("<>\"'") & set(escaped)


# --------------------------------------------------------------------------
# url_escape / url_unescape / parse_qs_bytes
# --------------------------------------------------------------------------


class TestUrl:
    @pytest.mark.parametrize(
        ("raw", "plus", "escaped"),
        [
            ("a b", True, "a+b"),
            ("a b", False, "a%20b"),
            ("a+b", True, "a%2Bb"),
            ("a+b", False, "a%2Bb"),
            ("a/b", True, "a%2Fb"),
            ("a/b", False, "a/b"),
            ("é", True, "%C3%A9"),
            ("?&=#%", True, "%3F%26%3D%23%25"),
            ("safe-_.~", True, "safe-_.~"),
            ("", True, ""),
        ],
    )
    def test_escape(self, raw: str, plus: bool, escaped: str) -> None:
        assert url_escape(raw, plus=plus) == escaped
        assert url_escape(raw.encode(), plus=plus) == escaped

    def test_escape_bytes_are_not_reencoded(self) -> None:
        assert url_escape(b"\xff\x00") == "%FF%00"

    def test_escape_plus_is_positional(self) -> None:
        assert url_escape("a b", False) == "a%20b"

    def test_escape_rejects_other_types(self) -> None:
        with pytest.raises(TypeError):
            url_escape(None)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("escaped", "plus", "raw"),
        [
            ("a+b", True, "a b"),
            ("a+b", False, "a+b"),
            ("a%2Bb", True, "a+b"),
            ("a%20b", False, "a b"),
            ("%C3%A9", True, "é"),
            ("%c3%a9", True, "é"),
            ("é%20", True, "é "),
            ("100%", True, "100%"),
            ("%zz", True, "%zz"),
            ("", True, ""),
        ],
    )
    def test_unescape(self, escaped: str, plus: bool, raw: str) -> None:
        assert url_unescape(escaped, plus=plus) == raw
        assert url_unescape(escaped.encode(), plus=plus) == raw

    def test_unescape_to_bytes(self) -> None:
        assert url_unescape("a+%C3%A9%FF", encoding=None) == b"a \xc3\xa9\xff"
        assert url_unescape(b"a+%FF", encoding=None) == b"a \xff"
        assert url_unescape(b"a+%FF", None, False) == b"a+\xff"
        assert url_unescape("é", encoding=None) == "é".encode()

    def test_unescape_other_encoding(self) -> None:
        assert url_unescape("%E9", encoding="latin-1") == "é"
        assert url_unescape(b"%E9+x", encoding="latin-1") == "é x"

    def test_unescape_invalid_sequences_are_replaced(self) -> None:
        assert url_unescape("%FF") == "\ufffd"
        assert url_unescape(b"%FF") == "\ufffd"

    def test_unescape_rejects_other_types(self) -> None:
        with pytest.raises(TypeError):
            url_unescape(None)  # type: ignore[call-overload]

    @given(valid_text, st.booleans())
    def test_round_trip(self, text: str, plus: bool) -> None:
        assert url_unescape(url_escape(text, plus=plus), plus=plus) == text

    @given(st.binary(), st.booleans())
    def test_round_trip_bytes(self, data: bytes, plus: bool) -> None:
        assert url_unescape(url_escape(data, plus=plus), encoding=None, plus=plus) == data

    @given(valid_text)
    def test_escape_matches_urllib_form_encoding(self, text: str) -> None:
        assert urllib.parse.parse_qs("k=" + url_escape(text)) == ({"k": [text]} if text else {})


class TestParseQsBytes:
    def test_basic(self) -> None:
        assert parse_qs_bytes("a=1&b=2&a=3") == {"a": [b"1", b"3"], "b": [b"2"]}
        assert parse_qs_bytes(b"a=1&b=2&a=3") == {"a": [b"1", b"3"], "b": [b"2"]}

    def test_values_are_raw_bytes(self) -> None:
        assert parse_qs_bytes("a=%C3%A9&b=%FF") == {"a": ["é".encode()], "b": [b"\xff"]}
        assert parse_qs_bytes(b"a=\xc3\xa9") == {"a": [b"\xc3\xa9"]}
        assert parse_qs_bytes("x=a+b%2B") == {"x": [b"a b+"]}

    def test_names_are_latin1(self) -> None:
        assert parse_qs_bytes(b"%C3%A9=1") == {"\xc3\xa9": [b"1"]}
        assert parse_qs_bytes(b"\xe9=1") == {"é": [b"1"]}

    def test_str_is_latin1_characters(self) -> None:
        # HTTP start lines are decoded as latin-1, so a latin-1 str must give
        # back the original bytes rather than being encoded a second time.
        assert parse_qs_bytes("a=\xc3\xa9") == {"a": [b"\xc3\xa9"]}

    def test_str_beyond_latin1_is_utf8(self) -> None:
        assert parse_qs_bytes("a=€") == {"a": ["€".encode()]}

    def test_blank_values(self) -> None:
        assert parse_qs_bytes("a=&b=1") == {"b": [b"1"]}
        assert parse_qs_bytes("a=&b=1", keep_blank_values=True) == {"a": [b""], "b": [b"1"]}
        assert parse_qs_bytes("a=&b=1", True) == {"a": [b""], "b": [b"1"]}

    def test_empty(self) -> None:
        assert parse_qs_bytes("") == {}
        assert parse_qs_bytes(b"") == {}

    def test_semicolon_is_not_a_separator(self) -> None:
        assert parse_qs_bytes("a=1;b=2") == {"a": [b"1;b=2"]}

    def test_strict_parsing(self) -> None:
        assert parse_qs_bytes("a&b=1") == {"b": [b"1"]}
        with pytest.raises(ValueError):
            parse_qs_bytes("a&b=1", strict_parsing=True)

    @given(st.dictionaries(st.text(min_size=1), st.lists(st.binary(min_size=1), min_size=1)))
    def test_round_trip(self, fields: dict[str, list[bytes]]) -> None:
        query = "&".join(
            f"{url_escape(name.encode('latin-1', 'replace'))}={url_escape(value)}"
            for name, values in fields.items()
            for value in values
        )
        expected: dict[str, list[bytes]] = {}
        for name, values in fields.items():
            key = name.encode("latin-1", "replace").decode("latin-1")
            expected.setdefault(key, []).extend(values)
        assert parse_qs_bytes(query) == expected


# --------------------------------------------------------------------------
# json_encode / json_decode
# --------------------------------------------------------------------------


class TestJson:
    def test_encode(self) -> None:
        assert json_encode({"a": [1, 2.5, None, True]}) == '{"a": [1, 2.5, null, true]}'
        assert json_encode("x") == '"x"'

    def test_encode_is_safe_in_script(self) -> None:
        encoded = json_encode("</script><script>alert(1)</script>")
        assert "</" not in encoded
        assert encoded == '"<\\/script><script>alert(1)<\\/script>"'
        assert json.loads(encoded) == "</script><script>alert(1)</script>"

    def test_encode_escapes_non_ascii(self) -> None:
        # U+2028/U+2029 end lines in older JavaScript parsers.
        assert json_encode("é\u2028\u2029") == '"\\u00e9\\u2028\\u2029"'

    def test_encode_rejects_bytes(self) -> None:
        with pytest.raises(TypeError):
            json_encode(b"x")

    def test_decode(self) -> None:
        assert json_decode('{"a": [1, "é"]}') == {"a": [1, "é"]}
        assert json_decode('{"a": "é"}'.encode()) == {"a": "é"}
        assert json_decode('"<\\/"') == "</"
        assert json_decode('"x"'.encode("utf-16")) == "x"

    def test_decode_invalid(self) -> None:
        with pytest.raises(ValueError):
            json_decode("{")
        with pytest.raises(ValueError):
            json_decode(b"")

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )

    @given(json_values)
    def test_round_trip(self, value: Any) -> None:
        encoded = json_encode(value)
        assert "</" not in encoded
        assert json_decode(encoded) == value
        assert json_decode(encoded.encode()) == value


# --------------------------------------------------------------------------
# squeeze
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "squeezed"),
    [
        ("", ""),
        ("a", "a"),
        ("  a  ", "a"),
        ("a \t\n\r\x0b\x0c b", "a b"),
        ("sequences     of    whitespace   chars", "sequences of whitespace chars"),
        ("é\u3000é", "é é"),
        ("\n\n", ""),
    ],
)
def test_squeeze(raw: str, squeezed: str) -> None:
    assert squeeze(raw) == squeezed


@given(st.text())
def test_squeeze_is_idempotent(text: str) -> None:
    once = squeeze(text)
    assert squeeze(once) == once
    assert "  " not in once
    assert once == once.strip()


# --------------------------------------------------------------------------
# linkify
# --------------------------------------------------------------------------


_TAG_RE = re.compile(r'<a href="[^"<>]*">|</a>')


def a(href: str, text: str | None = None, extra: str = "") -> str:
    return f'<a href="{href}"{extra}>{href if text is None else text}</a>'


class TestLinkify:
    def test_documented_example(self) -> None:
        assert (
            linkify("Hello http://tornadoweb.org!")
            == 'Hello <a href="http://tornadoweb.org">http://tornadoweb.org</a>!'
        )

    @pytest.mark.parametrize(
        ("text", "html"),
        [
            ("", ""),
            ("no links here", "no links here"),
            ("http://example.com", a("http://example.com")),
            ("https://example.com/a/b?c=d#e", a("https://example.com/a/b?c=d#e")),
            ("HTTP://EXAMPLE.COM", a("HTTP://EXAMPLE.COM")),
            ("see http://example.com.", f"see {a('http://example.com')}."),
            ("http://example.com, and", f"{a('http://example.com')}, and"),
            ("is it http://example.com?", f"is it {a('http://example.com')}?"),
            ("(http://example.com)", f"({a('http://example.com')})"),
            ("[http://example.com]", f"[{a('http://example.com')}]"),
            (
                "http://en.wikipedia.org/wiki/Pipe_(Unix)",
                a("http://en.wikipedia.org/wiki/Pipe_(Unix)"),
            ),
            (
                "(http://en.wikipedia.org/wiki/Pipe_(Unix))",
                f"({a('http://en.wikipedia.org/wiki/Pipe_(Unix)')})",
            ),
            ("http://[::1]:8888/x", a("http://[::1]:8888/x")),
            ("'http://example.com'", f"&#39;{a('http://example.com')}&#39;"),
            ('"http://example.com"', f"&quot;{a('http://example.com')}&quot;"),
            ("<http://example.com>", f"&lt;{a('http://example.com')}&gt;"),
            ("a\thttp://x.org\nb", f"a\t{a('http://x.org')}\nb"),
            ("http://a.org http://b.org", f"{a('http://a.org')} {a('http://b.org')}"),
            ("http://é.example/ü", a("http://é.example/ü")),
            ("http://example.com:8080/", a("http://example.com:8080/")),
        ],
    )
    def test_links(self, text: str, html: str) -> None:
        assert linkify(text) == html
        assert linkify(text.encode()) == html

    def test_escapes_text_and_urls(self) -> None:
        assert linkify("<b> & http://x.org/?a=1&b='2' &") == (
            '&lt;b&gt; &amp; <a href="http://x.org/?a=1&amp;b=&#39;2">'
            "http://x.org/?a=1&amp;b=&#39;2</a>&#39; &amp;"
        )

    def test_url_cannot_break_out_of_attribute(self) -> None:
        result = linkify('http://x.org/"onmouseover="alert(1)')
        assert result == f"{a('http://x.org/')}&quot;onmouseover=&quot;alert(1)"

    @pytest.mark.parametrize(
        "text",
        [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>",
            "ftp://example.com",
            "mailto:a@example.com",
            "http://",
            "http:",
            "https:///",
            "http://.",
            "note: this",
            "localhost:8080",
            "xhttp://example.com",
        ],
    )
    def test_not_linked(self, text: str) -> None:
        assert linkify(text) == xhtml_escape(text)

    def test_permitted_protocols(self) -> None:
        assert linkify("ftp://x.org", permitted_protocols=["ftp"]) == a("ftp://x.org")
        assert linkify("mailto:a@b.org", permitted_protocols={"mailto"}) == a("mailto:a@b.org")
        assert linkify("http://x.org", permitted_protocols=["ftp"]) == "http://x.org"
        assert linkify("FTP://x.org", permitted_protocols=("FTP",)) == a("FTP://x.org")
        assert linkify("ftp://x.org", permitted_protocols=["FTP"]) == a("ftp://x.org")

    def test_www_without_protocol(self) -> None:
        assert linkify("go to www.example.com.") == (
            f"go to {a('http://www.example.com', 'www.example.com')}."
        )
        assert linkify("www2.example.com/x") == a(
            "http://www2.example.com/x", "www2.example.com/x"
        )
        assert linkify("www.example.com:8080/x") == (
            a("http://www.example.com:8080/x", "www.example.com:8080/x")
        )

    def test_www_requires_something_after_it(self) -> None:
        assert linkify("www.") == "www."
        assert linkify("www..") == "www.."
        assert linkify("awww.example.com") == "awww.example.com"

    def test_require_protocol(self) -> None:
        text = "www.example.com and http://example.com"
        assert linkify(text, require_protocol=True) == (
            f"www.example.com and {a('http://example.com')}"
        )
        assert linkify("www.example.com", False, "", True) == "www.example.com"

    def test_extra_params_string(self) -> None:
        result = linkify("http://x.org", extra_params='rel="nofollow" class="external"')
        assert result == a("http://x.org", extra=' rel="nofollow" class="external"')
        assert linkify("http://x.org", extra_params='  rel="nofollow" ') == (
            a("http://x.org", extra=' rel="nofollow"')
        )
        assert linkify("http://x.org", extra_params="   ") == a("http://x.org")

    def test_extra_params_callable(self) -> None:
        seen: list[str] = []

        def extra_params_cb(url: str) -> str:
            seen.append(url)
            if url.startswith("http://example.com"):
                return 'class="internal"'
            return 'class="external" rel="nofollow"'

        result = linkify(
            "http://example.com/a http://other.org www.example.com", extra_params=extra_params_cb
        )
        assert result == " ".join(
            [
                a("http://example.com/a", extra=' class="internal"'),
                a("http://other.org", extra=' class="external" rel="nofollow"'),
                a(
                    "http://www.example.com",
                    "www.example.com",
                    extra=' class="external" rel="nofollow"',
                ),
            ]
        )
        assert seen == ["http://example.com/a", "http://other.org", "http://www.example.com"]

    def test_extra_params_callable_returning_empty(self) -> None:
        assert linkify("http://x.org", extra_params=lambda url: "") == a("http://x.org")

    def test_rejects_other_types(self) -> None:
        with pytest.raises(TypeError):
            linkify(None)  # type: ignore[arg-type]

    def test_shorten_leaves_short_urls(self) -> None:
        assert linkify("http://x.org/a", shorten=True) == a("http://x.org/a")

    def test_shorten_at_path_boundary(self) -> None:
        url = "http://www.example.com/this/is/a/very/long/path/indeed?x=1"
        assert linkify(url, shorten=True) == a(
            url, "www.example.com/this/is/a/...", extra=f' title="{url}"'
        )

    def test_shorten_without_separator(self) -> None:
        url = "https://example.com/" + "a" * 50
        assert linkify(url, shorten=True) == a(
            url, "example.com/" + "a" * 18 + "...", extra=f' title="{url}"'
        )

    def test_shorten_strips_protocol_only(self) -> None:
        url = "http://example.com/abcdefghijklmnopq"
        assert len(url) > 30
        assert linkify(url, shorten=True) == a(url, url[7:], extra=f' title="{url}"')

    def test_shorten_escapes_title(self) -> None:
        url = "http://example.com/?q=x&y='z'" + "a" * 30
        result = linkify(url, shorten=True, extra_params='rel="x"')
        escaped = xhtml_escape(url)
        assert result.startswith(f'<a href="{escaped}" rel="x" title="{escaped}">')
        assert "&y" not in result

    def test_shorten_bare_www(self) -> None:
        text = "www.example.com/" + "b" * 40
        assert linkify(text, shorten=True) == a(
            "http://" + text, text[:30] + "...", extra=f' title="http://{text}"'
        )

    def test_long_hyphenated_words_are_linear(self) -> None:
        # Would take minutes with an unbounded scheme pattern.
        text = "a-" * 50_000
        assert linkify(text) == text

    @given(st.text())
    def test_output_is_text_plus_links(self, text: str) -> None:
        # Removing the generated tags must leave the escaped text itself:
        # nothing of the input can open markup or leave an attribute.
        html = linkify(text)
        content = _TAG_RE.sub("", html)
        assert not set("<>\"'") & set(content)
        assert xhtml_unescape(content) == text
        for href in re.findall(r'href="([^"]*)"', html):
            assert href.lower().startswith(("http://", "https://"))

    @given(st.text())
    def test_without_links_is_xhtml_escape(self, text: str) -> None:
        if ":" not in text and "www" not in text.lower():
            assert linkify(text) == xhtml_escape(text)
