"""Node trees to the Python source of one render function.

A template compiles to a single function, ``_tt_execute``, that appends
``str`` pieces to a local list through a bound ``append`` and joins and
encodes once::

    def _tt_execute():  # page.html:0
        _tt_buffer = []
        _tt_append = _tt_buffer.append
        _tt_e0 = _tt_escaper(xhtml_escape)  # page.html:3
        for row in rows:  # page.html:3
            _tt_t0 = _tt_e0(row.name)  # page.html:4
            _tt_append(f'<td>{_tt_t0}</td>\\n')  # page.html:4
        return ''.join(_tt_buffer).encode('utf-8', 'surrogateescape')

Speed comes from three choices, each measured: the escaping function is
looked up once per render and kept in a local; consecutive text and
expressions are written with one f-string and one ``append``; text is
``str`` and encoded once.  Inside a ``{% try %}`` body pieces are appended
one at a time instead, so output written before an exception is kept, as
the template says.

Every generated line carries a ``# file:line`` comment, and `Program.origins`
maps each line back to the template file and line it came from, for error
messages and tracebacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ._errors import ParseError
from ._nodes import (
    Apply,
    Block,
    Control,
    Expression,
    File,
    Include,
    Node,
    Statement,
    Text,
)
from ._runtime import ENCODE_ERRORS

__all__ = ["FUNCTION_NAME", "IncludeLoader", "Origin", "Program", "collect_blocks", "generate"]

FUNCTION_NAME = "_tt_execute"
_FINISH = f"return ''.join(_tt_buffer).encode('utf-8', {ENCODE_ERRORS!r})"
_INDENT = "    "

#: (template name, line) of a generated line.
Origin = tuple[str, int]
#: Returns the parsed file an ``{% include %}`` node names.
IncludeLoader = Callable[[Include], File]


@dataclass(slots=True, frozen=True)
class Program:
    """Generated source with its line map."""

    source: str
    #: origins[i] is where generated line i + 1 came from.
    origins: list[Origin]
    #: Autoescape expressions looked up once at the top of the function.
    hoisted_escapers: frozenset[str]


def collect_blocks(files: Iterable[File], include: IncludeLoader) -> dict[str, Block]:
    """Return the named blocks in force for an inheritance chain.

    `files` go from the root ancestor to the template itself, so a child's
    block replaces its parent's.  Blocks in included files count too.
    """
    blocks: dict[str, Block] = {}

    def walk(nodes: list[Node], including: tuple[str, ...]) -> None:
        for node in nodes:
            if isinstance(node, Block):
                blocks[node.name] = node
                walk(node.body, including)
            elif isinstance(node, Control):
                for clause in node.clauses:
                    walk(clause.body, including)
            elif isinstance(node, Apply):
                walk(node.body, including)
            elif isinstance(node, Include):
                target = include(node)
                if target.source.name in including:
                    raise _include_cycle(node, target, including)
                walk(target.body, (*including, target.source.name))

    for file in files:
        walk(file.body, (file.source.name,))
    return blocks


def _include_cycle(node: Include, target: File, including: tuple[str, ...]) -> ParseError:
    chain = " -> ".join((*including, target.source.name))
    return ParseError(f"include cycle: {chain}", node.source.name, node.line)


def _comment(origin: Origin) -> str:
    name = origin[0].replace("\r", " ").replace("\n", " ")
    return f"  # {name}:{origin[1]}"


def _fstring_body(text: str) -> str:
    """Return `text` as the inside of a single-quoted f-string literal."""
    literal = repr(text)
    body = literal[1:-1]
    if literal[0] == '"':
        # repr chose double quotes because text has ' but no ": escape it.
        body = body.replace("'", "\\'")
    return body.replace("{", "{{").replace("}", "}}")


class _Generator:
    def __init__(
        self,
        blocks: dict[str, Block],
        include: IncludeLoader,
        per_expression: frozenset[str],
    ) -> None:
        self.blocks = blocks
        self.include = include
        self.per_expression = per_expression
        self.lines: list[str] = []
        self.origins: list[Origin] = []
        self.indent = 1
        self.escapers: dict[str, tuple[str, Origin]] = {}
        self.applies = 0
        self.try_depth = 0
        self.block_stack: list[str] = []
        self.include_stack: list[str] = []

    # -- output ------------------------------------------------------------

    def write(self, code: str, origin: Origin) -> None:
        physical = code.split("\n")
        physical[-1] += _comment(origin)
        self.lines.append(_INDENT * self.indent + physical[0])
        self.origins.append(origin)
        name, line = origin
        # Continuation lines of a multi-line tag are inside brackets or a
        # string literal, where indentation must not be added.
        for offset, extra in enumerate(physical[1:], 1):
            self.lines.append(extra)
            self.origins.append((name, line + offset))

    def value(self, node: Expression) -> str:
        """Return Python for one expression's output text."""
        code = node.code
        if "\n" in code or "#" in code:
            code += "\n"  # a trailing comment must not swallow the ")"
        autoescape = node.source.autoescape
        if node.raw or autoescape is None:
            return f"_tt_text({code})"
        if autoescape in self.per_expression:
            return f"_tt_escaper({autoescape})({code})"
        entry = self.escapers.get(autoescape)
        if entry is None:
            entry = (f"_tt_e{len(self.escapers)}", (node.source.name, node.line))
            self.escapers[autoescape] = entry
        return f"{entry[0]}({code})"

    # -- nodes -------------------------------------------------------------

    def body(self, nodes: list[Node]) -> bool:
        """Generate `nodes`; return whether any line was written."""
        start = len(self.lines)
        run: list[Text | Expression] = []
        for node in nodes:
            if isinstance(node, Text | Expression):
                run.append(node)
                continue
            if run:
                self.run(run)
                run = []
            if isinstance(node, Statement):
                self.write(node.code, (node.source.name, node.line))
            elif isinstance(node, Control):
                self.control(node)
            elif isinstance(node, Block):
                self.block(node)
            elif isinstance(node, Include):
                self.include_file(node)
            else:
                self.apply(node)
        if run:
            self.run(run)
        return len(self.lines) > start

    def run(self, run: list[Text | Expression]) -> None:
        """Output consecutive text and expressions."""
        if self.try_depth or len(run) == 1:
            for node in run:
                origin = (node.source.name, node.line)
                if isinstance(node, Text):
                    self.write(f"_tt_append({node.value!r})", origin)
                else:
                    self.write(f"_tt_append({self.value(node)})", origin)
            return
        parts = []
        temps = 0
        for node in run:
            if isinstance(node, Text):
                parts.append(_fstring_body(node.value))
            else:
                temp = f"_tt_t{temps}"
                temps += 1
                self.write(f"{temp} = {self.value(node)}", (node.source.name, node.line))
                parts.append("{" + temp + "}")
        first = run[0]
        self.write(f"_tt_append(f'{''.join(parts)}')", (first.source.name, first.line))

    def body_or_pass(self, nodes: list[Node], origin: Origin) -> None:
        self.indent += 1
        if not self.body(nodes):
            self.write("pass", origin)
        self.indent -= 1

    def control(self, node: Control) -> None:
        name = node.source.name
        for clause in node.clauses:
            origin = (name, clause.line)
            self.write(clause.header + ":", origin)
            # Only exceptions from the try clause itself are caught here.
            in_try = clause.keyword == "try"
            self.try_depth += in_try
            self.body_or_pass(clause.body, origin)
            self.try_depth -= in_try

    def block(self, node: Block) -> None:
        if node.name in self.block_stack:
            raise ParseError(f"block {node.name!r} contains itself", node.source.name, node.line)
        target = self.blocks.get(node.name, node)
        self.block_stack.append(node.name)
        self.body(target.body)
        self.block_stack.pop()

    def include_file(self, node: Include) -> None:
        target = self.include(node)
        if target.source.name in self.include_stack:
            raise _include_cycle(node, target, tuple(self.include_stack))
        self.include_stack.append(target.source.name)
        self.body(target.body)
        self.include_stack.pop()

    def apply(self, node: Apply) -> None:
        origin = (node.source.name, node.line)
        function = f"_tt_apply{self.applies}"
        self.applies += 1
        self.write(f"def {function}():", origin)
        self.indent += 1
        self.write("_tt_buffer = []", origin)
        self.write("_tt_append = _tt_buffer.append", origin)
        # The nested function's output is discarded as a whole if it fails,
        # so an enclosing try does not matter inside it.
        try_depth, self.try_depth = self.try_depth, 0
        self.body(node.body)
        self.try_depth = try_depth
        self.write(_FINISH, origin)
        self.indent -= 1
        self.write(f"_tt_append(_tt_text({node.func}({function}())))", origin)


def generate(
    root: File,
    blocks: dict[str, Block],
    include: IncludeLoader,
    per_expression: frozenset[str] = frozenset(),
) -> Program:
    """Generate the render function for `root`'s body.

    `blocks` replace same-named blocks (see `collect_blocks`); `include`
    loads included files.  Escaping functions named in `per_expression`
    are looked up at every use rather than once per render (needed when
    the template itself assigns the name, e.g. with ``{% import %}``).

    :raises ParseError: for include cycles or self-containing blocks.
    """
    generator = _Generator(blocks, include, per_expression)
    generator.include_stack.append(root.source.name)
    generator.body(root.body)
    start = (root.source.name, 0)
    lines = [f"def {FUNCTION_NAME}():{_comment(start)}"]
    origins = [start]
    for code, origin in (
        ("_tt_buffer = []", start),
        ("_tt_append = _tt_buffer.append", start),
        *(
            (f"{local} = _tt_escaper({expression})", origin)
            for expression, (local, origin) in generator.escapers.items()
        ),
    ):
        lines.append(_INDENT + code + _comment(origin))
        origins.append(origin)
    lines += generator.lines
    origins += generator.origins
    lines.append(_INDENT + _FINISH + _comment(start))
    origins.append(start)
    return Program("\n".join(lines) + "\n", origins, frozenset(generator.escapers))
