"""`parse_cookie`: the ``Cookie`` request header, read as browsers write it."""

from __future__ import annotations

import re

__all__ = ["parse_cookie"]

# The escapes http.cookies puts in quoted values: a backslash and three
# octal digits (a byte), or a backslash and any character (itself).  One
# pass of re.sub over the value: linear time whatever the input.
_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    octal = match[1]
    if octal is not None:
        return chr(int(octal, 8))
    return match[2]


def _unquote_cookie(value: str) -> str:
    """Undo the quoting of ``http.cookies`` (``"a\\"b"`` -> ``a"b``); unquoted values pass."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return _ESCAPE.sub(_unescape, value[1:-1])


def parse_cookie(cookie: str) -> dict[str, str]:
    """Parse a ``Cookie`` HTTP header into a dict of name/value pairs.

    This function attempts to mimic browser cookie parsing behavior; it
    specifically does not follow any of the cookie-related RFCs (because
    browsers don't either).

    The algorithm used is identical to that used by Django version 1.9.10:
    split on ``;``, split each piece at its first ``=`` (a piece without
    ``=`` is a value with an empty name), strip whitespace, skip empty
    pieces, unquote values quoted as `http.cookies` quotes them; a later
    cookie of the same name wins.

    >>> parse_cookie('a=1; b="x y"; c')
    {'a': '1', 'b': 'x y', '': 'c'}

    Time is linear in the length of the header.
    """
    cookies: dict[str, str] = {}
    for chunk in cookie.split(";"):
        name, equals, value = chunk.partition("=")
        if not equals:
            # Assume an empty name, as browsers do for a bare value
            # (https://bugzilla.mozilla.org/show_bug.cgi?id=169091).
            name, value = "", name
        name = name.strip()
        value = value.strip()
        if name or value:
            cookies[name] = _unquote_cookie(value)
    return cookies
