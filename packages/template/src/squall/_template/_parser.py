"""Tokens to a node tree: directives, block nesting and their errors.

Parsing keeps a stack of open blocks.  Which clauses may follow which inside
a control block is data (`_NEXT_CLAUSES`), not code, so the rules for
``if``/``elif``/``else``, ``for``/``else`` and ``try``/``except``/``else``/
``finally`` sit together in one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._errors import ParseError
from ._lexer import WHITESPACE_MODES, TokenKind, filter_whitespace, tokenize
from ._nodes import (
    Apply,
    Block,
    Clause,
    Control,
    Expression,
    File,
    Include,
    Node,
    Source,
    Statement,
    Text,
)

__all__ = ["parse"]

# For each control block kind: which clause keywords may follow the last one.
# A keyword missing from a kind's table may not appear in that block at all.
_NEXT_CLAUSES: dict[str, dict[str, frozenset[str]]] = {
    "if": {
        "if": frozenset({"elif", "else"}),
        "elif": frozenset({"elif", "else"}),
        "else": frozenset(),
    },
    "for": {"for": frozenset({"else"}), "else": frozenset()},
    "while": {"while": frozenset({"else"}), "else": frozenset()},
    "try": {
        "try": frozenset({"except", "finally"}),
        "except": frozenset({"except", "else", "finally"}),
        "else": frozenset({"finally"}),
        "finally": frozenset(),
    },
}
# Clause keywords, and the blocks each belongs to (for error messages).
_CLAUSE_PARENTS = {
    keyword: "/".join(kind for kind, table in _NEXT_CLAUSES.items() if keyword in table)
    for keyword in ("elif", "else", "except", "finally")
}
# Control blocks that need a clause before {% end %}, and what they need.
_UNFINISHED = {("try", "try"): "an except or finally clause"}
_LOOPS = frozenset({"for", "while"})
# Directives whose argument is required, and what the argument is called.
_REQUIRED_ARGUMENT = {
    "apply": "method name",
    "autoescape": "function name",
    "block": "name",
    "elif": "condition",
    "extends": "file path",
    "for": "loop header",
    "from": "statement",
    "if": "condition",
    "import": "statement",
    "include": "file path",
    "module": "expression",
    "raw": "expression",
    "set": "statement",
    "whitespace": "mode",
    "while": "condition",
}


@dataclass(slots=True, eq=False)
class _Frame:
    """An open block on the parser's stack."""

    kind: str  # "root", "block", "apply", or a control block kind
    line: int
    body: list[Node]
    in_loop: bool
    control: Control | None = None
    # Whether the enclosing frame is inside a loop (for else clauses).
    outer_in_loop: bool = False


class _Parser:
    def __init__(self, source: Source, whitespace: str) -> None:
        self.source = source
        self.name = source.name
        self.whitespace = whitespace
        self.file = File(source, [])
        self.stack = [_Frame("root", 0, self.file.body, in_loop=False)]

    def error(self, message: str, line: int) -> ParseError:
        return ParseError(message, self.name, line)

    def parse(self, text: str) -> File:
        for kind, value, line in tokenize(text, self.name):
            if kind is TokenKind.TEXT:
                self.text(value, line)
            elif kind is TokenKind.EXPRESSION:
                if not value:
                    raise self.error("Empty expression", line)
                self.stack[-1].body.append(Expression(value, line, self.source, raw=False))
            else:
                self.statement(value, line)
        frame = self.stack[-1]
        if frame.kind != "root":
            raise self.error(f"Missing {{% end %}} block for {frame.kind}", frame.line)
        return self.file

    def text(self, value: str, line: int) -> None:
        # Whitespace inside <pre> is content, so chunks holding one are kept.
        if self.whitespace != "all" and "<pre>" not in value:
            value = filter_whitespace(self.whitespace, value)
        if not value:
            return
        body = self.stack[-1].body
        if body and isinstance(body[-1], Text):
            body[-1].value += value
        else:
            body.append(Text(value, line, self.source))

    def statement(self, content: str, line: int) -> None:
        if not content:
            raise self.error("Empty block tag ({% %})", line)
        operator, *rest = content.split(None, 1)
        argument = rest[0] if rest else ""
        what = _REQUIRED_ARGUMENT.get(operator)
        if what is not None and not argument:
            raise self.error(f"{operator} missing {what}", line)
        handler = _HANDLERS.get(operator)
        # Directives spanning lines keep their inner newlines, but the
        # keyword and its argument are joined by one space for Python.
        header = f"{operator} {argument}" if argument else operator
        if handler is not None:
            handler(self, operator, argument, line)
        elif operator in _NEXT_CLAUSES:
            self.open_control(operator, header, line)
        elif operator in _CLAUSE_PARENTS:
            self.clause(operator, header, line)
        else:
            raise self.error(f"unknown operator: {operator!r}", line)

    # -- block structure ---------------------------------------------------

    def push(self, kind: str, line: int, body: list[Node], in_loop: bool) -> _Frame:
        frame = _Frame(kind, line, body, in_loop)
        self.stack.append(frame)
        return frame

    def open_control(self, operator: str, header: str, line: int) -> None:
        parent = self.stack[-1]
        clause = Clause(operator, header, line)
        control = Control([clause], line, self.source)
        parent.body.append(control)
        in_loop = parent.in_loop or operator in _LOOPS
        frame = self.push(operator, line, clause.body, in_loop)
        frame.control = control
        frame.outer_in_loop = parent.in_loop

    def clause(self, operator: str, header: str, line: int) -> None:
        frame = self.stack[-1]
        control = frame.control
        allowed = _NEXT_CLAUSES.get(frame.kind, {})
        if control is None or operator not in allowed:
            raise self.error(f"{operator} outside {_CLAUSE_PARENTS[operator]} block", line)
        last = control.clauses[-1].keyword
        if operator not in allowed[last]:
            raise self.error(f"{operator} cannot follow {last} in {frame.kind} block", line)
        clause = Clause(operator, header, line)
        control.clauses.append(clause)
        frame.body = clause.body
        # A loop's else clause runs after the loop: break there is the
        # enclosing loop's business.
        if frame.kind in _LOOPS:
            frame.in_loop = frame.outer_in_loop

    def end(self, operator: str, argument: str, line: int) -> None:
        if len(self.stack) == 1:
            raise self.error("Extra {% end %} block", line)
        frame = self.stack.pop()
        if frame.control is not None:
            need = _UNFINISHED.get((frame.kind, frame.control.clauses[-1].keyword))
            if need is not None:
                raise self.error(f"{frame.kind} block needs {need}", frame.line)

    def block(self, operator: str, argument: str, line: int) -> None:
        parent = self.stack[-1]
        node = Block(argument, line, self.source)
        parent.body.append(node)
        self.push("block", line, node.body, parent.in_loop)

    def apply(self, operator: str, argument: str, line: int) -> None:
        node = Apply(argument, line, self.source)
        self.stack[-1].body.append(node)
        # The body becomes a nested function: break/continue cannot reach
        # a loop outside it.
        self.push("apply", line, node.body, in_loop=False)

    # -- simple directives -------------------------------------------------

    def loop_jump(self, operator: str, argument: str, line: int) -> None:
        if not self.stack[-1].in_loop:
            raise self.error(f"{operator} outside for/while block", line)
        if argument:
            raise self.error(f"{operator} takes no argument", line)
        self.stack[-1].body.append(Statement(operator, line, self.source))

    def python_statement(self, operator: str, argument: str, line: int) -> None:
        code = argument if operator == "set" else f"{operator} {argument}"
        self.stack[-1].body.append(Statement(code, line, self.source))

    def output(self, operator: str, argument: str, line: int) -> None:
        code = f"_tt_modules.{argument}" if operator == "module" else argument
        self.stack[-1].body.append(Expression(code, line, self.source, raw=True))

    def extends(self, operator: str, argument: str, line: int) -> None:
        if len(self.stack) > 1:
            raise self.error("extends must be at the top level of the template", line)
        if self.file.extends is not None:
            raise self.error("only one extends is allowed per template", line)
        self.file.extends = (_unquote(argument), line)

    def include(self, operator: str, argument: str, line: int) -> None:
        self.stack[-1].body.append(Include(_unquote(argument), line, self.source))

    def autoescape(self, operator: str, argument: str, line: int) -> None:
        self.source.autoescape = None if argument == "None" else argument

    def set_whitespace(self, operator: str, argument: str, line: int) -> None:
        if argument not in WHITESPACE_MODES:
            raise self.error(f"invalid whitespace mode {argument!r}", line)
        self.whitespace = argument

    def comment(self, operator: str, argument: str, line: int) -> None:
        pass


def _unquote(name: str) -> str:
    return name.strip('"').strip("'")


_HANDLERS: dict[str, Callable[[_Parser, str, str, int], None]] = {
    "end": _Parser.end,
    "block": _Parser.block,
    "apply": _Parser.apply,
    "break": _Parser.loop_jump,
    "continue": _Parser.loop_jump,
    "set": _Parser.python_statement,
    "import": _Parser.python_statement,
    "from": _Parser.python_statement,
    "raw": _Parser.output,
    "module": _Parser.output,
    "extends": _Parser.extends,
    "include": _Parser.include,
    "autoescape": _Parser.autoescape,
    "whitespace": _Parser.set_whitespace,
    "comment": _Parser.comment,
}


def parse(text: str, name: str, whitespace: str, autoescape: str | None) -> File:
    """Parse template `text` named `name` into a `File`.

    `whitespace` is the initial whitespace mode and `autoescape` the
    file's escaping function name (None for none); directives in the file
    can change both.

    :raises ParseError: for any syntax error, naming `name` and the line.
    """
    return _Parser(Source(name, autoescape), whitespace).parse(text)
