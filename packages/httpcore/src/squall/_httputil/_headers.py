"""`HTTPHeaders`: a case-insensitive, multi-valued dictionary of header fields.

Representation: ``_dict`` maps each normalized name (``Http-Header-Case``)
to its value, the values of a repeated field joined by ``,`` (what the
dictionary interface returns); ``_lists`` holds the separate values of only
those names that occur more than once.  Most fields occur once, so building
headers from a parsed request allocates one dictionary entry per field and
no lists.

Internal API: `HTTPHeaders._from_pairs` builds headers from the parser's
fields; the HTTP/1 writer (``squall._http1._writer``) reads ``_dict`` and
``_lists`` directly to serialize a header block without method calls, so
keep their meaning if the representation changes.
"""

from __future__ import annotations

import re
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, TypeVar, overload

from squall._httputil._errors import HTTPInputError, _snippet

__all__ = ["HTTPHeaders"]

_T = TypeVar("_T")
_H = TypeVar("_H", bound="HTTPHeaders")

# RFC 9110 §5.1 and §5.6.2: field-name = token.  Anything else (whitespace
# before the colon included, RFC 9112 §5.1) makes the line malformed.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 §5.5: CR, LF and NUL in a field value are invalid and dangerous
# (header injection, request smuggling); the message is rejected.
_BAD_VALUE_CHAR = re.compile(r"[\x00\r\n]")
# RFC 9110 §5.6.3: optional whitespace around values is SP / HTAB only (not
# Unicode whitespace, which str.strip() would remove).
_OWS = " \t"

#: Most distinct names the normalization cache holds.  Names come from the
#: peer, so the cache must be bounded; it is emptied when full, which costs
#: a few recomputations of the common names and never grows memory.
_NORMALIZED_CACHE_SIZE = 1000

# name as given -> Http-Header-Case.  Seeded with the canonical spellings so
# that code asking for "Content-Type" hits the cache at once.
_normalized: dict[str, str] = {}
# The names of `_normalized` that are their own normalized form: a mapping
# whose names all are in it (``keys() <= _canonical``, one C call) is copied
# as it is.
_canonical: set[str] = set()


#: The absent positional argument of ``HTTPHeaders()``.
_NO_ARGUMENT: Any = object()


def _normalize_name(name: str) -> str:
    """Return `name` in ``Http-Header-Case`` (``content-type`` -> ``Content-Type``).

    >>> _normalize_name("coNtent-TYPE")
    'Content-Type'
    """
    try:
        return _normalized[name]
    except KeyError:
        pass
    normalized = "-".join([word.capitalize() for word in name.split("-")])
    if len(_normalized) >= _NORMALIZED_CACHE_SIZE:
        _normalized.clear()
        _canonical.clear()
    _normalized[name] = normalized
    if normalized == name:
        _canonical.add(name)
    return normalized


for _name in (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "Cookie",
    "Date",
    "Etag",
    "Expect",
    "Host",
    "If-Modified-Since",
    "If-None-Match",
    "Keep-Alive",
    "Last-Modified",
    "Location",
    "Origin",
    "Referer",
    "Server",
    "Set-Cookie",
    "Transfer-Encoding",
    "Upgrade",
    "User-Agent",
    "Vary",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Real-Ip",
    "X-Scheme",
):
    _normalized[_name] = _name
    _normalized[_name.lower()] = _name
    _canonical.add(_name)
del _name


class HTTPHeaders(MutableMapping[str, str]):
    """A dictionary that maintains ``Http-Header-Case`` for all keys.

    Supports multiple values per key via a pair of new methods, `add` and
    `get_list`.  The regular dictionary interface returns a single value per
    key, with multiple values joined by a comma.

    >>> h = HTTPHeaders({"content-type": "text/html"})
    >>> list(h.keys())
    ['Content-Type']
    >>> h["Content-Type"]
    'text/html'

    >>> h.add("Set-Cookie", "A=B")
    >>> h.add("Set-Cookie", "C=D")
    >>> h["set-cookie"]
    'A=B,C=D'
    >>> h.get_list("set-cookie")
    ['A=B', 'C=D']

    >>> for (k,v) in sorted(h.get_all()):
    ...    print('%s: %s' % (k,v))
    ...
    Content-Type: text/html
    Set-Cookie: A=B
    Set-Cookie: C=D

    The constructor takes what `dict` takes (a mapping, an iterable of pairs,
    keyword arguments; a later value for a name replaces an earlier one), or
    another `HTTPHeaders`, which it copies with all its values.  Instances
    compare equal to any mapping with the same (normalized) names and joined
    values; they can be copied with `copy`, `copy.copy`, `copy.deepcopy`
    and pickled.  Values are not checked here: whoever writes headers to the
    wire rejects CR/LF in them.
    """

    __module__ = "squall.httputil"
    __slots__ = ("_dict", "_last_key", "_lists")

    _dict: dict[str, str]
    _lists: dict[str, list[str]]
    _last_key: str | None

    def __init__(self, arg: Any = _NO_ARGUMENT, /, **kwargs: str) -> None:
        # (One optional positional argument, as dict takes: a signature
        # without *args costs less per call than one with it.)
        self._lists = {}
        self._last_key = None
        if type(arg) is dict and not kwargs:
            # The common case (a response's first headers): no per-item call
            # (and no ABC isinstance check) for names already normalized once.
            if arg.keys() <= _canonical:
                self._dict = arg.copy()  # the names are normalized already
                return
            cache = _normalized
            joined: dict[str, str] = {}
            for name, value in arg.items():
                joined[cache[name] if name in cache else _normalize_name(name)] = value
            self._dict = joined
            return
        self._dict = {}
        if arg is _NO_ARGUMENT:
            if kwargs:
                self.update(**kwargs)
            return
        if not kwargs and isinstance(arg, HTTPHeaders):
            self._copy_from(arg)
            return
        self.update(arg, **kwargs)

    @classmethod
    def _from_pairs(cls: type[_H], pairs: Iterable[tuple[str, str]]) -> _H:
        """Build headers from received ``(name, value)`` pairs, without checks.

        The fast constructor of the HTTP/1 connection: `pairs` are the
        fields as squall's parser returns them (`squall._http1._events`:
        names in the case received, values latin-1 decoded and without
        surrounding whitespace), in order.  Names are normalized (cached);
        repeated names keep every value, as `add` would.  Nothing is
        validated: the parser already did (RFC 9110 §5), so only pass it
        pairs that are valid field lines.
        """
        self = cls.__new__(cls)
        joined: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        cache = _normalized
        for name, value in pairs:
            try:
                norm = cache[name]
            except KeyError:
                norm = _normalize_name(name)
            if norm in joined:
                # RFC 9110 §5.3: repeated fields combine as one comma-separated list.
                previous = lists.get(norm)
                if previous is None:
                    lists[norm] = [joined[norm], value]
                else:
                    previous.append(value)
                joined[norm] = joined[norm] + "," + value
            else:
                joined[norm] = value
        self._dict = joined
        self._lists = lists
        self._last_key = None
        return self

    def _copy_from(self, other: HTTPHeaders) -> None:
        self._dict = other._dict.copy()
        self._lists = {name: values.copy() for name, values in other._lists.items()}

    # -- the multi-valued interface ---------------------------------------

    def add(self, name: str, value: str) -> None:
        """Add a new value for the given key (keeping the values already there)."""
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        self._last_key = norm
        joined = self._dict
        if norm in joined:
            values = self._lists.get(norm)
            if values is None:
                self._lists[norm] = [joined[norm], value]
            else:
                values.append(value)
            joined[norm] = joined[norm] + "," + value
        else:
            joined[norm] = value

    def get_list(self, name: str) -> list[str]:
        """Return all values for the given header as a (new) list; ``[]`` if absent."""
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        values = self._lists.get(norm)
        if values is not None:
            return values.copy()
        value = self._dict.get(norm)
        return [] if value is None else [value]

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Return an iterable of all (name, value) pairs.

        If a header has multiple values, multiple pairs will be returned with
        the same name, in the order they were added; names come in the order
        they first appeared.
        """
        lists = self._lists
        for name, value in self._dict.items():
            values = lists.get(name)
            if values is None:
                yield name, value
            else:
                for item in values:
                    yield name, item

    def parse_line(self, line: str) -> None:
        """Update the dictionary with a single header line.

        >>> h = HTTPHeaders()
        >>> h.parse_line("Content-Type: text/html")
        >>> h.get('content-type')
        'text/html'

        A line starting with SP or HTAB continues the previous field's value
        (obsolete line folding, RFC 9112 §5.2), joined with a single space.

        :raises HTTPInputError: if the line is empty, has no colon, has a
            name that is not a token (whitespace before the colon included),
            a value containing NUL, CR or LF, or is a continuation line with
            no field before it.
        """
        if not line:
            raise HTTPInputError("empty header line")
        if line[0] in _OWS:
            self._continue_line(line.strip(_OWS))
            return
        name, colon, value = line.partition(":")
        if not colon:
            raise HTTPInputError(f"no colon in header line: {_snippet(line)}")
        if _FIELD_NAME.fullmatch(name) is None:
            raise HTTPInputError(f"invalid header name: {_snippet(name)}")
        value = value.strip(_OWS)
        if _BAD_VALUE_CHAR.search(value) is not None:
            raise HTTPInputError(f"invalid character in header {name} value")
        self.add(name, value)

    def _continue_line(self, part: str) -> None:
        last = self._last_key
        if last is None or last not in self._dict:
            raise HTTPInputError("first header line cannot start with whitespace")
        if _BAD_VALUE_CHAR.search(part) is not None:
            raise HTTPInputError(f"invalid character in header {last} value")
        if not part:
            return
        values = self._lists.get(last)
        current = self._dict[last] if values is None else values[-1]
        if current:
            part = " " + part
        if values is not None:
            values[-1] += part
        self._dict[last] += part

    @classmethod
    def parse(cls: type[_H], headers: str | bytes) -> _H:
        """Return a dictionary from HTTP header text.

        >>> h = HTTPHeaders.parse("Content-Type: text/html\\r\\nContent-Length: 42\\r\\n")
        >>> sorted(h.items())
        [('Content-Length', '42'), ('Content-Type', 'text/html')]

        Lines end with CRLF or a bare LF (RFC 9112 §2.2); empty lines are
        skipped; continuation lines are handled as by `parse_line`.  Time is
        linear in the length of `headers` (continuations are joined once).
        ``bytes`` are decoded as latin-1.

        :raises HTTPInputError: on a malformed line (see `parse_line`) or a
            bare CR.
        """
        if isinstance(headers, bytes):
            headers = headers.decode("latin-1")
        self = cls()
        pending: str | None = None
        continuation: list[str] = []
        for line in headers.split("\n"):
            if line and line[-1] == "\r":
                line = line[:-1]
            if not line:
                continue
            if line[0] in _OWS:
                if pending is None:
                    raise HTTPInputError("first header line cannot start with whitespace")
                part = line.strip(_OWS)
                if part:
                    continuation.append(part)
                continue
            if pending is not None:
                self._parse_field(pending, continuation)
                continuation = []
            pending = line
        if pending is not None:
            self._parse_field(pending, continuation)
        return self

    def _parse_field(self, line: str, continuation: list[str]) -> None:
        if continuation:
            line = line.rstrip(_OWS) + " " + " ".join(continuation)
        self.parse_line(line)

    # -- the dictionary interface -----------------------------------------

    def __setitem__(self, name: str, value: str) -> None:
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        self._dict[norm] = value
        if self._lists:
            self._lists.pop(norm, None)

    def __getitem__(self, name: str) -> str:
        try:
            return self._dict[name]
        except KeyError:
            # Not there as given; a non-normalized spelling may be.
            pass
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        return self._dict[norm]

    def __delitem__(self, name: str) -> None:
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        del self._dict[norm]
        if self._lists:
            self._lists.pop(norm, None)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name in self._dict:
            return True
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        return norm in self._dict

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, /, default: str) -> str: ...
    @overload
    def get(self, name: str, /, default: _T) -> str | _T: ...
    def get(self, name: str, /, default: Any = None) -> Any:
        """Return the (joined) value of header `name`, or `default` if absent."""
        value = self._dict.get(name)
        if value is not None:
            return value
        try:
            norm = _normalized[name]
        except KeyError:
            norm = _normalize_name(name)
        return self._dict.get(norm, default)

    def __len__(self) -> int:
        return len(self._dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def keys(self) -> KeysView[str]:
        return self._dict.keys()

    def items(self) -> ItemsView[str, str]:
        return self._dict.items()

    def values(self) -> ValuesView[str]:
        return self._dict.values()

    def clear(self) -> None:
        self._dict.clear()
        self._lists.clear()
        self._last_key = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HTTPHeaders):
            return self._dict == other._dict
        if isinstance(other, Mapping):
            return self._dict == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    # -- copies, text -------------------------------------------------------

    def copy(self: _H) -> _H:
        """Return a copy with every value (the copies are independent)."""
        new = self.__class__.__new__(self.__class__)
        new._copy_from(self)
        new._last_key = None
        return new

    def __copy__(self: _H) -> _H:
        return self.copy()

    def __deepcopy__(self: _H, memo: dict[int, Any]) -> _H:
        # Names and values are immutable strings: a copy is a deep copy.
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__._from_pairs, (list(self.get_all()),))

    def __str__(self) -> str:
        """The header block as it is written: ``Name: value\\r\\n`` per value."""
        return "".join([f"{name}: {value}\r\n" for name, value in self.get_all()])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({list(self.get_all())!r})"
