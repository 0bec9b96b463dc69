"""The parsed form of one template file.

The parser turns a file into a `File` whose body is a list of nodes; the
code generator walks those lists.  Nodes are plain data and know the file
they came from (`Source`), so code generated for a block inherited from a
parent or for an included file still reports its own file, line and
autoescape setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Apply",
    "Block",
    "Clause",
    "Control",
    "Expression",
    "File",
    "Include",
    "Node",
    "Source",
    "Statement",
    "Text",
]


@dataclass(slots=True, eq=False)
class Source:
    """Per-file settings shared by every node of that file."""

    name: str
    #: Expression naming the escaping function, or None for no escaping.
    #: ``{% autoescape %}`` changes it for the whole file (the last one wins).
    autoescape: str | None


@dataclass(slots=True, eq=False)
class Text:
    """Literal output (already whitespace-filtered)."""

    value: str
    line: int
    source: Source


@dataclass(slots=True, eq=False)
class Expression:
    """``{{ code }}`` (escaped), or ``{% raw %}`` / ``{% module %}`` (raw)."""

    code: str
    line: int
    source: Source
    raw: bool


@dataclass(slots=True, eq=False)
class Statement:
    """A simple Python statement: set, import, from, break, continue."""

    code: str
    line: int
    source: Source


@dataclass(slots=True, eq=False)
class Clause:
    """One part of a control block: ``if x``, ``elif y``, ``else``..."""

    keyword: str
    header: str
    line: int
    body: list[Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Control:
    """if/for/while/try with their clauses, translated to Python as is."""

    clauses: list[Clause]
    line: int
    source: Source


@dataclass(slots=True, eq=False)
class Block:
    """``{% block name %}``: replaceable by a same-named block in a child."""

    name: str
    line: int
    source: Source
    body: list[Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Apply:
    """``{% apply func %}``: `func` is applied to the body's output."""

    func: str
    line: int
    source: Source
    body: list[Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Include:
    """``{% include name %}``: another file's body, inlined."""

    name: str
    line: int
    source: Source


Node = Text | Expression | Statement | Control | Block | Apply | Include


@dataclass(slots=True, eq=False)
class File:
    """A whole parsed template file."""

    source: Source
    body: list[Node]
    #: ``{% extends %}``: the parent's name and the directive's line.
    extends: tuple[str, int] | None = None
