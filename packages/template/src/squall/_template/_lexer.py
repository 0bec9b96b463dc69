"""Template text to tokens, and the whitespace modes.

The lexer knows only the three tag shapes -- ``{{ expression }}``,
``{% statement %}`` and ``{# comment #}`` -- and their literal escapes
``{{!``, ``{%!`` and ``{#!``.  It does not interpret statements (that is the
parser's job), so it yields plain text untouched; whitespace filtering
happens in the parser, where the current ``{% whitespace %}`` mode is known.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

from ._errors import ParseError

__all__ = ["WHITESPACE_MODES", "Token", "TokenKind", "filter_whitespace", "tokenize"]

#: The modes `filter_whitespace` accepts, in the order the docs list them.
WHITESPACE_MODES = ("all", "single", "oneline")

_SPACES_RE = re.compile(r"[\t ]+")
_NEWLINE_RUN_RE = re.compile(r"\s*\n\s*")
_ANY_SPACE_RE = re.compile(r"\s+")


def filter_whitespace(mode: str, text: str) -> str:
    """Transform whitespace in `text` according to `mode`.

    - ``all``: return all whitespace unmodified.
    - ``single``: collapse consecutive whitespace to a single whitespace
      character, preserving newlines (a run containing a newline becomes
      one newline, any other run of spaces and tabs one space).
    - ``oneline``: collapse every run of whitespace into a single space,
      removing all newlines.

    Returns the transformed text.

    :raises ValueError: if `mode` is not one of the modes above.
    """
    if mode == "all":
        return text
    if mode == "single":
        return _NEWLINE_RUN_RE.sub("\n", _SPACES_RE.sub(" ", text))
    if mode == "oneline":
        return _ANY_SPACE_RE.sub(" ", text)
    raise ValueError(f"invalid whitespace mode {mode!r} (expected one of: all, single, oneline)")


class TokenKind(enum.Enum):
    TEXT = "text"
    EXPRESSION = "expression"
    STATEMENT = "statement"


class Token(NamedTuple):
    kind: TokenKind
    #: The text, or the stripped contents of the tag.
    value: str
    #: 1-based line of the token's first character.
    line: int


# What closes each tag, keyed by the character after the opening "{", and
# the name used in "Missing end ..." errors.
_CLOSERS = {
    "{": ("}}", "expression"),
    "%": ("%}", "block"),
    "#": ("#}", "comment"),
}
_TAG_KINDS = {"{": TokenKind.EXPRESSION, "%": TokenKind.STATEMENT}


def tokenize(source: str, filename: str) -> list[Token]:
    """Split template `source` into text, expression and statement tokens.

    Comments are dropped; ``{{!``, ``{%!`` and ``{#!`` become the literal
    text ``{{``, ``{%`` and ``{#``.  Returns the tokens in order.

    :raises ParseError: for a tag that is never closed.
    """
    tokens: list[Token] = []
    append = tokens.append
    length = len(source)
    pos = 0  # start of the text not yet emitted
    line = 1  # line number at `pos`
    search = 0  # where to look for the next "{"
    while True:
        brace = source.find("{", search)
        if brace == -1 or brace + 1 >= length:
            break
        opener = source[brace + 1]
        if opener not in _CLOSERS:
            search = brace + 1
            continue
        if opener == "{" and brace + 2 < length and source[brace + 2] == "{":
            # "{{{": the innermost pair opens the tag, so that languages
            # with meaningful braces (LaTeX, JavaScript objects) can put an
            # expression right after a literal "{".
            search = brace + 1
            continue
        if brace > pos:
            append(Token(TokenKind.TEXT, source[pos:brace], line))
            line += source.count("\n", pos, brace)
        if brace + 2 < length and source[brace + 2] == "!":
            append(Token(TokenKind.TEXT, "{" + opener, line))
            pos = search = brace + 3
            continue
        closer, what = _CLOSERS[opener]
        end = source.find(closer, brace + 2)
        if end == -1:
            raise ParseError(f"Missing end {what} {closer}", filename, line)
        kind = _TAG_KINDS.get(opener)
        if kind is not None:
            append(Token(kind, source[brace + 2 : end].strip(), line))
        pos = search = end + 2
        line += source.count("\n", brace, pos)
    if pos < length:
        append(Token(TokenKind.TEXT, source[pos:], line))
    return tokens
