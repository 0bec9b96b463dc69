"""Where a regex search may resume when more data arrives (`search_overlap`).

``read_until_regex`` searches the buffer each time data arrives.  Searching
it all again would make reading a long header in small pieces quadratic,
so for patterns where it is safe the search resumes near the end of what
was already searched.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["search_overlap"]

# Opcodes whose matches depend only on the characters they consume.
_PLAIN = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN"})
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


@functools.lru_cache(maxsize=256)
def search_overlap(regex: re.Pattern[bytes]) -> int | None:
    """How far before the end of a buffer without a match the next search must start.

    A buffer that holds no match of `regex` can only gain one that ends in
    the new data; if no match is longer than ``w`` bytes it starts within
    the last ``w - 1`` bytes searched, which is what this returns.  None
    means the search must start from the beginning again: a match may be
    unbounded, or depend on what comes before it (anchors, lookarounds,
    word boundaries, back-references).
    """
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(regex.pattern, regex.flags)
        if not _is_plain(parsed):
            return None
        _, longest = parsed.getwidth()
        if longest >= _constants.MAXREPEAT:
            return None
        return max(int(longest) - 1, 0)
    except Exception:  # an unfamiliar parser (another Python version): be safe
        return None


def _is_plain(items: Any) -> bool:
    for op, av in items:
        name = getattr(op, "name", str(op))
        if name in _PLAIN:
            continue
        if name in _REPEATS:
            if not _is_plain(av[2]):
                return False
        elif name == "SUBPATTERN":
            if not _is_plain(av[3]):
                return False
        elif name == "BRANCH":
            if not all(_is_plain(branch) for branch in av[1]):
                return False
        elif name == "ATOMIC_GROUP":
            if not _is_plain(av):
                return False
        else:
            return False
    return True
