"""Escaping and unescaping for HTML, JSON and URLs, and string conversions.

The escaping functions (`xhtml_escape`, `url_escape`, `json_encode`...) are
what templates and request handlers use to put untrusted values into HTML,
URLs and ``<script>`` blocks.  The byte/text conversions (`utf8`,
`to_unicode`...) are used throughout squall to accept either ``str`` or
``bytes`` at API boundaries.

>>> xhtml_escape('<a href="x">Tom & Jerry\\'s</a>')
'&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;'
>>> url_escape("a b/c")
'a+b%2Fc'
>>> json_encode({"html": "</script>"})
'{"html": "<\\\\/script>"}'
"""

from __future__ import annotations

import html.entities
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, overload

__all__ = [
    "json_decode",
    "json_encode",
    "linkify",
    "native_str",
    "parse_qs_bytes",
    "recursive_unicode",
    "squeeze",
    "to_basestring",
    "to_unicode",
    "url_escape",
    "url_unescape",
    "utf8",
    "xhtml_escape",
    "xhtml_unescape",
]


# --------------------------------------------------------------------------
# Byte/unicode conversions
# --------------------------------------------------------------------------


@overload
def utf8(value: None) -> None: ...
@overload
def utf8(value: str | bytes) -> bytes: ...
def utf8(value: str | bytes | None) -> bytes | None:
    """Convert a string argument to a byte string.

    Returns ``bytes`` and ``None`` unchanged and encodes ``str`` as UTF-8.

    :raises TypeError: for any other type.
    """
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"expected str, bytes or None; got {type(value).__name__}")


@overload
def to_unicode(value: None) -> None: ...
@overload
def to_unicode(value: str | bytes) -> str: ...
def to_unicode(value: str | bytes | None) -> str | None:
    """Convert a string argument to a unicode string.

    Returns ``str`` and ``None`` unchanged and decodes ``bytes`` as UTF-8.

    :raises TypeError: for any other type.
    :raises UnicodeDecodeError: if the bytes are not valid UTF-8.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError(f"expected str, bytes or None; got {type(value).__name__}")


def _as_text(value: str | bytes) -> str:
    """Like `to_unicode`, but None is a TypeError too."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError(f"expected str or bytes; got {type(value).__name__}")


# On Python 3 the native string type is str, so both historical aliases are
# to_unicode itself (not wrappers: they sit on hot paths).
native_str = to_unicode
"""Convert a byte or unicode string to ``str`` (the same as `to_unicode`)."""

to_basestring = to_unicode
"""Convert a byte or unicode string to ``str`` (the same as `to_unicode`)."""


def recursive_unicode(obj: Any) -> Any:
    """Return `obj` with every ``bytes`` inside it decoded as UTF-8.

    Walks dicts (keys and values), lists and tuples, returning new containers
    of the same kind; any other value is returned unchanged.

    :raises UnicodeDecodeError: if some bytes are not valid UTF-8.
    """
    if isinstance(obj, dict):
        return {recursive_unicode(k): recursive_unicode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [recursive_unicode(i) for i in obj]
    if isinstance(obj, tuple):
        return tuple(recursive_unicode(i) for i in obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    return obj


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------


def xhtml_escape(value: str | bytes) -> str:
    """Escape a string so that it is valid within HTML or XML.

    Escapes ``<``, ``>``, ``"``, ``'`` and ``&`` (the apostrophe becomes
    ``&#39;``).  When used in attribute values the result must be enclosed
    in quotes.  ``bytes`` are decoded as UTF-8 first.  Returns ``str``.

    :raises TypeError: if `value` is neither ``str`` nor ``bytes``.
    """
    if type(value) is not str:
        value = _as_text(value)
    # Measured with timeit: chained str.replace beats a single str.translate
    # and a re.sub callback by 2-5x on short and markup-heavy strings, which
    # is what templates escape.  "&" must go first.
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


# A character reference: decimal, hexadecimal or named.  Each alternative
# stops at the first character it cannot contain, so scanning is linear.
_CHAR_REF_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")

# More digits than this (after leading zeros) is beyond U+10FFFF in any base;
# checking the length first keeps int() away from huge attacker strings.
_MAX_CHAR_REF_DIGITS = 7


def _unescape_ref(match: re.Match[str]) -> str:
    ref = match.group(1)
    if ref[0] != "#":
        # html5 maps "name;" to its replacement; it covers the HTML 4 names
        # plus the XML ones like "apos".
        return html.entities.html5.get(ref + ";", match.group(0))
    if ref[1] in "xX":
        digits, base = ref[2:], 16
    else:
        digits, base = ref[1:], 10
    digits = digits.lstrip("0") or "0"
    if len(digits) > _MAX_CHAR_REF_DIGITS:
        return match.group(0)
    codepoint = int(digits, base)
    # Surrogates and values past U+10FFFF are not characters: a lone
    # surrogate would make the text unencodable later on.
    if codepoint > 0x10FFFF or 0xD800 <= codepoint <= 0xDFFF:
        return match.group(0)
    return chr(codepoint)


def xhtml_unescape(value: str | bytes) -> str:
    """Un-escape an XML-escaped string.

    Replaces named entities (``&amp;``, ``&eacute;``, ``&apos;``...),
    decimal (``&#39;``) and hexadecimal (``&#x27;``) character references.
    References that are unknown or do not name a character are left as they
    are.  ``bytes`` are decoded as UTF-8 first.  Returns ``str``.

    :raises TypeError: if `value` is neither ``str`` nor ``bytes``.
    """
    value = _as_text(value)
    if "&" not in value:
        return value
    return _CHAR_REF_RE.sub(_unescape_ref, value)


# --------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------


def url_escape(value: str | bytes, plus: bool = True) -> str:
    """Return a URL-encoded version of `value`.

    ``str`` is encoded as UTF-8 first.  If `plus` is true (the default),
    spaces become ``+`` and ``/`` is escaped, as in form-encoded query
    strings.  If `plus` is false, spaces become ``%20`` and ``/`` is kept,
    which suits the path component of a URL.  Note that this default is the
    reverse of Python's `urllib.parse.quote`.

    :raises TypeError: if `value` is neither ``str`` nor ``bytes``.
    """
    if plus:
        return urllib.parse.quote_plus(utf8(value))
    return urllib.parse.quote(utf8(value))


@overload
def url_unescape(value: str | bytes, encoding: None, plus: bool = True) -> bytes: ...
@overload
def url_unescape(value: str | bytes, encoding: str = "utf-8", plus: bool = True) -> str: ...
def url_unescape(
    value: str | bytes, encoding: str | None = "utf-8", plus: bool = True
) -> str | bytes:
    """Decode `value` (``str`` or ``bytes``) from a URL.

    If `encoding` is None the result is ``bytes``; otherwise it is ``str``,
    with the percent-decoded bytes decoded in that encoding (invalid
    sequences become U+FFFD, as in `urllib.parse.unquote`).

    If `plus` is true (the default), ``+`` is decoded as a space (a literal
    plus must be written ``%2B``), as in query strings and form-encoded
    values but not in URL paths.  Note that this default is the reverse of
    Python's `urllib.parse.unquote`.

    :raises TypeError: if `value` is neither ``str`` nor ``bytes``.
    """
    if isinstance(value, str):
        if plus:
            value = value.replace("+", " ")
        if encoding is None:
            return urllib.parse.unquote_to_bytes(value)
        # unquote keeps characters that were not percent-encoded as they are.
        return urllib.parse.unquote(value, encoding=encoding)
    if isinstance(value, bytes):
        if plus:
            value = value.replace(b"+", b" ")
        raw = urllib.parse.unquote_to_bytes(value)
        if encoding is None:
            return raw
        return raw.decode(encoding, "replace")
    raise TypeError(f"expected str or bytes; got {type(value).__name__}")


def parse_qs_bytes(
    qs: str | bytes, keep_blank_values: bool = False, strict_parsing: bool = False
) -> dict[str, list[bytes]]:
    """Parse a query string into a dict of names to lists of byte values.

    Like `urllib.parse.parse_qs`, but the values are returned as ``bytes``
    because their encoding is not known yet (the application may choose it
    later).  Names are ``str``, decoded as latin-1 so that every byte maps
    to one character.  A ``str`` argument is taken as latin-1 characters
    (as HTTP start lines are decoded); if it holds characters beyond
    latin-1 it is encoded as UTF-8 instead.  Only ``&`` separates fields.

    :raises ValueError: if `strict_parsing` is true and the query is
        malformed.
    """
    if isinstance(qs, str):
        try:
            raw = qs.encode("latin-1")
        except UnicodeEncodeError:
            raw = qs.encode("utf-8")
    else:
        raw = qs
    # latin-1 maps bytes 0-255 to U+0000-U+00FF one to one, so decoding and
    # re-encoding the values gives back exactly the percent-decoded bytes.
    parsed = urllib.parse.parse_qs(
        raw.decode("latin-1"),
        keep_blank_values=keep_blank_values,
        strict_parsing=strict_parsing,
        encoding="latin-1",
        errors="strict",
    )
    return {name: [v.encode("latin-1") for v in values] for name, values in parsed.items()}


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------


def json_encode(value: Any) -> str:
    """JSON-encode `value`, safe to embed in an HTML ``<script>`` block.

    ``</`` is written as ``<\\/`` (an equivalent JSON string escape) so that
    a string like ``"</script>"`` cannot end the script element early.
    Non-ASCII characters are written as ``\\u`` escapes.

    :raises TypeError: if `value` is not JSON-serializable (``bytes`` is not).
    """
    return json.dumps(value).replace("</", "<\\/")


def json_decode(value: str | bytes) -> Any:
    """Return the Python object for the JSON document `value`.

    ``bytes`` may be UTF-8, UTF-16 or UTF-32, as `json.loads` accepts.

    :raises json.JSONDecodeError: (a `ValueError`) if `value` is not JSON.
    """
    return json.loads(value)


# --------------------------------------------------------------------------
# Miscellaneous
# --------------------------------------------------------------------------


def squeeze(value: str) -> str:
    """Replace every run of whitespace with one space and strip both ends.

    Whitespace is what `str.split` splits on (Unicode whitespace).
    """
    return " ".join(value.split())


# A URL candidate: an explicit "scheme:" or a bare "www." host, then every
# character up to whitespace or HTML-significant punctuation.  The scheme is
# bounded so that long hyphenated words cannot make the scan quadratic, and
# has no "." so that "www.example.com:8080" is read as a bare www host.
_LINK_RE = re.compile(
    r"""\b(?:(?P<scheme>[A-Za-z][A-Za-z0-9+\-]{0,31}):|(?P<www>www[0-9]{0,3}\.))[^\s<>"]+"""
)

# Punctuation that ends a sentence rather than a URL ("see http://x.org.").
_TRAILING_PUNCTUATION = frozenset(".,;:!?'*")
_CLOSERS = {")": "(", "]": "["}

# Displayed URLs longer than this are cut when linkify(shorten=True).
_SHORTEN_MAX_LENGTH = 30


def _trim_link(url: str) -> str:
    """Strip trailing punctuation that belongs to the surrounding prose.

    A closing bracket is kept when it balances an opening one in the URL,
    as in ``http://en.wikipedia.org/wiki/Pipe_(Unix)``.
    """
    # Counts are kept up to date rather than recounted, to stay linear.
    opened = {closer: url.count(opener) for closer, opener in _CLOSERS.items()}
    closed = {closer: url.count(closer) for closer in _CLOSERS}
    end = len(url)
    while end:
        char = url[end - 1]
        if char in _CLOSERS:
            if closed[char] <= opened[char]:
                break
            closed[char] -= 1
        elif char not in _TRAILING_PUNCTUATION:
            break
        end -= 1
    return url[:end]


def _shorten_link(url: str, scheme: str | None) -> str:
    """Return a shorter text to display for `url` (which is not escaped)."""
    display = url
    if scheme is not None:
        display = url[len(scheme) + 1 :].lstrip("/")
    if len(display) <= _SHORTEN_MAX_LENGTH:
        return display
    # Prefer cutting at a path separator after the host, so that what is
    # shown is a recognisable prefix of the link.
    host_end = display.find("/")
    cut = display.rfind("/", 0, _SHORTEN_MAX_LENGTH)
    if host_end == -1 or cut <= host_end:
        return display[:_SHORTEN_MAX_LENGTH] + "..."
    return display[: cut + 1] + "..."


def linkify(
    text: str | bytes,
    shorten: bool = False,
    extra_params: str | Callable[[str], str] = "",
    require_protocol: bool = False,
    permitted_protocols: Iterable[str] = ("http", "https"),
) -> str:
    """Convert plain text into HTML with links.

    >>> linkify("Hello http://tornadoweb.org!")
    'Hello <a href="http://tornadoweb.org">http://tornadoweb.org</a>!'

    The whole result is HTML-escaped, link targets included, so it can be
    inserted into a page as is.  ``bytes`` are decoded as UTF-8 first.

    :param shorten: display URLs longer than 30 characters without their
        ``scheme://`` and cut, with the full URL in a ``title`` attribute.
    :param extra_params: extra text to put in each ``<a>`` tag, such as
        ``'rel="nofollow" class="external"'``, or a callable that takes the
        link's URL and returns that text.  It is inserted verbatim.
    :param require_protocol: only link URLs that have a scheme.  If false,
        URLs such as ``www.example.com`` are linked too (to ``http://``).
    :param permitted_protocols: schemes that may be linked, compared
        case-insensitively.  It is very unsafe to include protocols such as
        ``javascript``.
    :raises TypeError: if `text` is neither ``str`` nor ``bytes``.
    """
    text = _as_text(text)
    permitted = {p.lower() for p in permitted_protocols}
    parts: list[str] = []
    pos = 0
    for match in _LINK_RE.finditer(text):
        scheme = match.group("scheme")
        url = _trim_link(match.group(0))
        if scheme is not None:
            if scheme.lower() not in permitted or not url[len(scheme) + 1 :].strip("/"):
                continue
            href = url
        else:
            if require_protocol or len(url) <= len(match.group("www")):
                continue
            href = "http://" + url
        parts.append(xhtml_escape(text[pos : match.start()]))
        pos = match.start() + len(url)

        params = extra_params(href) if callable(extra_params) else extra_params
        params = " " + params.strip() if params and params.strip() else ""
        display = url
        if shorten and len(url) > _SHORTEN_MAX_LENGTH:
            params += f' title="{xhtml_escape(href)}"'
            display = _shorten_link(url, scheme)
        parts.append(f'<a href="{xhtml_escape(href)}"{params}>{xhtml_escape(display)}</a>')
    parts.append(xhtml_escape(text[pos:]))
    return "".join(parts)
