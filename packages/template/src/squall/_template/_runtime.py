"""Helpers that compiled templates call while rendering.

Generated code builds the page as a list of ``str`` pieces and encodes it to
UTF-8 once at the end, so escaping works on text and nothing is encoded
twice.  Each expression costs one call: `text` for raw output, or the
function `escaper` returns for escaped output.  For the default
``xhtml_escape`` that is a specialised function with the same output (it
checks for the five special characters before replacing anything); any other
escaping function is called the way Tornado calls it, with UTF-8 bytes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from squall import escape

__all__ = ["ENCODE_ERRORS", "base_namespace", "escaper", "text"]

#: How the finished page is encoded.  ``bytes`` values are decoded with the
#: same handler, so invalid UTF-8 written with {% raw %} passes through
#: byte for byte, as it would if the page were built from bytes.
ENCODE_ERRORS = "surrogateescape"

Escaper = Callable[[Any], str]


def text(value: Any) -> str:
    """Return `value` as output text without escaping.

    ``str`` is returned as is, ``bytes`` are decoded as UTF-8 and anything
    else goes through ``str()`` (so ``{% raw 1 %}`` writes ``1`` and
    ``None`` writes ``None``).
    """
    if value.__class__ is str:
        result: str = value
        return result
    if isinstance(value, bytes):
        return value.decode("utf-8", ENCODE_ERRORS)
    if isinstance(value, str):
        return str.__str__(value)
    return str(value)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else str(value)).encode("utf-8", ENCODE_ERRORS)


def _make_fast_xhtml_escape() -> Escaper | None:
    """Build an escaper with exactly `escape.xhtml_escape`'s output, faster.

    The entities are read from `escape.xhtml_escape` itself and the result
    is checked on a probe string, so the two can never disagree; if the
    probe fails (the function is not a plain five-character replacement)
    there is no fast path.
    """
    reference = escape.xhtml_escape
    amp, lt, gt, quot, apos = (reference(char) for char in "&<>\"'")
    probe = "a&b<c>d\"e'f\u00e9\u2028 &amp;"
    expected = (
        probe.replace("&", amp)
        .replace("<", lt)
        .replace(">", gt)
        .replace('"', quot)
        .replace("'", apos)
    )
    if reference(probe) != expected or reference(b"<") != lt:
        return None

    def xhtml_escape(value: Any, _str: type[str] = str, _int: type[int] = int) -> str:
        cls = value.__class__
        s: str
        if cls is _str:
            s = value
            # Most values need no escaping; five "in" tests are cheaper
            # than five replace() calls.
            if not ("&" in s or "<" in s or ">" in s or '"' in s or "'" in s):
                return s
        elif cls is _int:
            return _str(value)  # digits and "-" only
        elif isinstance(value, bytes):
            s = value.decode("utf-8")
        elif isinstance(value, _str):
            s = _str.__str__(value)
        else:
            s = _str(value)
        return (
            s.replace("&", amp)
            .replace("<", lt)
            .replace(">", gt)
            .replace('"', quot)
            .replace("'", apos)
        )

    return xhtml_escape


_FAST_XHTML_ESCAPE = _make_fast_xhtml_escape()


def escaper(func: Callable[[Any], Any]) -> Escaper:
    """Return a function writing a value escaped by `func` as output text.

    Like Tornado, the value is converted to UTF-8 bytes (``str()`` first for
    anything but ``str`` and ``bytes``) before `func` sees it, and `func`
    may return ``str`` or ``bytes``.  The default ``xhtml_escape`` gets an
    equivalent fast path.
    """
    if func is escape.xhtml_escape and _FAST_XHTML_ESCAPE is not None:
        return _FAST_XHTML_ESCAPE

    def escape_with(value: Any) -> str:
        return text(func(_as_bytes(value)))

    return escape_with


def base_namespace() -> dict[str, Any]:
    """Return a new dict of what every template sees before its loader's
    namespace and the keyword arguments of ``generate()``."""
    return {
        "escape": escape.xhtml_escape,
        "xhtml_escape": escape.xhtml_escape,
        "url_escape": escape.url_escape,
        "json_encode": escape.json_encode,
        "squeeze": escape.squeeze,
        "linkify": escape.linkify,
        "datetime": datetime,
        "_tt_utf8": escape.utf8,
        "_tt_string_types": (str, bytes),
        "_tt_escaper": escaper,
        "_tt_text": text,
    }
