"""Text-to-value conversion for :mod:`squall.options` (private).

Pure functions: text in, value out, :class:`ValueError` on bad text.
:mod:`squall.options` turns those errors into :class:`squall.options.Error`
naming the option.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "OptionType",
    "accepts",
    "coerce",
    "parse_bool",
    "parse_datetime",
    "parse_multiple",
    "parse_timedelta",
    "parse_value",
    "type_name",
]

#: What ``define(type=...)`` accepts: a class, or any callable taking the
#: option's text (for example a converter function).
OptionType = type[Any] | Callable[[str], Any]

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})

# Tried in order by parse_datetime after datetime.fromisoformat, which already
# covers ISO 8601 dates and date-times ("2024-05-01", "2024-05-01 12:30",
# "2024-05-01T12:30:15", fractions and UTC offsets).
_DATETIME_FORMATS = (
    "%a %b %d %H:%M:%S %Y",  # time.ctime() / C asctime output
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%H:%M:%S",  # time of day only: the date part is 1900-01-01
    "%H:%M",
)

# Unit names (lower case) to datetime.timedelta keyword arguments.
_TIMEDELTA_UNITS: dict[str, str] = {}
for _keyword, _names in {
    "weeks": ("w", "wk", "wks", "week", "weeks"),
    "days": ("d", "day", "days"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "seconds": ("", "s", "sec", "secs", "second", "seconds"),
    "milliseconds": ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    "microseconds": ("us", "usec", "usecs", "microsecond", "microseconds"),
}.items():
    _TIMEDELTA_UNITS.update(dict.fromkeys(_names, _keyword))
del _keyword, _names

_FLOAT = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_TIMEDELTA_PART = re.compile(rf"\s*({_FLOAT})\s*([a-zA-Z]*)\s*")


def type_name(option_type: OptionType) -> str:
    """Return a short human name for *option_type*, for messages and help."""
    if option_type is datetime.datetime:
        return "datetime"
    if option_type is datetime.timedelta:
        return "timedelta"
    return str(getattr(option_type, "__name__", repr(option_type)))


def parse_bool(text: str) -> bool:
    """Parse a boolean.

    Accepts, case-insensitively and ignoring surrounding whitespace,
    ``true``/``t``/``yes``/``y``/``on``/``1`` and
    ``false``/``f``/``no``/``n``/``off``/``0``.

    :raises ValueError: for anything else.
    """
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0, t/f, y/n")


def parse_datetime(text: str) -> datetime.datetime:
    """Parse a date and time.

    Accepts ISO 8601 as understood by :meth:`datetime.datetime.fromisoformat`
    (``2024-05-01``, ``20240501``, ``2024-05-01 12:30``,
    ``2024-05-01T12:30:15.5+02:00``...), ``ctime`` output
    (``Wed May 01 12:30:15 2024``), ``20240501 12:30[:15]`` and a bare time
    of day ``12:30[:15]`` (dated 1900-01-01).

    :raises ValueError: if no format matches.
    """
    text = text.strip()
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ValueError("unrecognized date/time format")


def parse_timedelta(text: str) -> datetime.timedelta:
    """Parse a duration: one or more ``<number><unit>`` parts, summed.

    Numbers may be signed and fractional (``-1.5h``); units are ``w``/``week``,
    ``d``/``day``, ``h``/``hr``/``hour``, ``m``/``min``/``minute``,
    ``s``/``sec``/``second``, ``ms``/``millisecond``, ``us``/``microsecond``
    (plurals too, case-insensitive); a number without a unit is seconds.
    Examples: ``"10"``, ``"10s"``, ``"1h 30m"``, ``"2 days"``, ``"300ms"``.

    :raises ValueError: on any other text, or a duration too large.
    """
    total = datetime.timedelta()
    position = 0
    while position < len(text):
        match = _TIMEDELTA_PART.match(text, position)
        if match is None:
            break
        number, unit = match.groups()
        keyword = _TIMEDELTA_UNITS.get(unit.lower())
        if keyword is None:
            raise ValueError(f"unknown time unit {unit!r}")
        try:
            total += datetime.timedelta(**{keyword: float(number)})
        except OverflowError as exc:
            raise ValueError("duration out of range") from exc
        position = match.end()
    if position == 0 or position != len(text):
        raise ValueError("expected a duration such as '10s', '1h 30m' or '2 days'")
    return total


def parse_value(option_type: OptionType, text: str) -> Any:
    """Convert one command-line or config-file value to *option_type*.

    str, bool, :class:`datetime.datetime` and :class:`datetime.timedelta`
    have the parsers above; any other type is called with the text.

    :raises ValueError: if the text is not valid for the type (a
        :class:`TypeError` from a custom type is reported the same way).
    """
    # Compared as a plain object: mypy would narrow the union on each check.
    kind: object = option_type
    if kind is str:
        return text
    if kind is bool:
        return parse_bool(text)
    if kind is datetime.datetime:
        return parse_datetime(text)
    if kind is datetime.timedelta:
        return parse_timedelta(text)
    try:
        return option_type(text)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc


def parse_multiple(option_type: OptionType, text: str) -> list[Any]:
    """Parse a comma-separated list of values of *option_type*.

    Whitespace around items is dropped, and so are empty items (so ``""`` is
    the empty list).  For ``int``, an item ``lo:hi`` stands for every integer
    from lo to hi inclusive: ``"1,3:5"`` gives ``[1, 3, 4, 5]``.

    :raises ValueError: for an invalid item or a range whose end is below its
        start.
    """
    values: list[Any] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        # Look for the colon after the first character so "-3" stays a number.
        if option_type is int and ":" in item[1:]:
            split = item.index(":", 1)
            low, high = int(item[:split]), int(item[split + 1 :])
            if high < low:
                raise ValueError(f"range {item!r} ends before it starts")
            values.extend(range(low, high + 1))
        else:
            values.append(parse_value(option_type, item))
    return values


def accepts(option_type: OptionType, value: Any) -> bool:
    """Return True if *value* may be stored in an option of *option_type*.

    Only classes can be checked; an option whose type is a plain converter
    function accepts any value.  An ``int`` is accepted for ``float``, as in
    Python's numeric tower.
    """
    if not isinstance(option_type, type):
        return True
    if option_type is float and isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, option_type)


def coerce(option_type: OptionType, value: Any) -> Any:
    """Return *value* (already :func:`accepts`-checked) in its stored form."""
    if option_type is float and isinstance(value, int):
        return float(value)
    return value
