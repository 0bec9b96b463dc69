"""`Template`: parse, resolve inheritance and includes, compile, render."""

from __future__ import annotations

import enum
import linecache
import types
import warnings
from typing import TYPE_CHECKING, Any, Final

from . import _runtime
from ._codegen import FUNCTION_NAME, Program, collect_blocks, generate
from ._errors import ParseError
from ._lexer import filter_whitespace
from ._nodes import File, Include
from ._parser import parse

if TYPE_CHECKING:
    from ._loader import BaseLoader

__all__ = ["DEFAULT_AUTOESCAPE", "UNSET", "Template", "Unset", "default_whitespace"]

#: The escaping function templates use unless told otherwise.
DEFAULT_AUTOESCAPE: Final = "xhtml_escape"


class Unset(enum.Enum):
    """Type of `UNSET`, the default of arguments whose absence matters."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET

_BASE_NAMESPACE = _runtime.base_namespace()


def default_whitespace(name: str) -> str:
    """Return the whitespace mode for a template called `name` when neither
    the template nor its loader chose one: ``single`` for ``.html`` and
    ``.js`` files, ``all`` otherwise."""
    return "single" if name.endswith((".html", ".js")) else "all"


class _SourceLoader:
    """The ``__loader__`` of a template's namespace: lets `linecache` (and
    so tracebacks) find the generated source of a render function."""

    __slots__ = ("_source",)

    def __init__(self, source: str) -> None:
        self._source = source

    def get_source(self, name: str) -> str:
        return self._source


class Template:
    """A compiled template.

    The template text is compiled into a Python function when the
    `Template` is created; `generate` runs it.

    :param template_string: the template text (``bytes`` are decoded as
        UTF-8).
    :param name: the file name the template was loaded from, used in error
        messages and to resolve relative ``{% extends %}`` and
        ``{% include %}`` paths.
    :param loader: the `BaseLoader` that resolves ``{% extends %}`` and
        ``{% include %}``; without one those directives are a `ParseError`.
    :param compress_whitespace: deprecated: ``True`` means
        ``whitespace="single"`` and ``False`` ``whitespace="all"``.
    :param autoescape: the name of a function in the template namespace,
        or ``None`` to disable escaping.  Defaults to the loader's setting,
        else ``"xhtml_escape"``.
    :param whitespace: a mode of `filter_whitespace`.  Defaults to the
        loader's setting, else ``single`` for names ending in ``.html`` or
        ``.js`` and ``all`` otherwise.
    :raises ParseError: for syntax errors, in this template or in any
        template it extends or includes.
    :raises ValueError: for an unknown whitespace mode.
    """

    def __init__(
        self,
        template_string: str | bytes,
        name: str = "<string>",
        loader: BaseLoader | None = None,
        compress_whitespace: bool | Unset = UNSET,
        autoescape: str | Unset | None = UNSET,
        whitespace: str | None = None,
    ) -> None:
        self.name = name
        if compress_whitespace is not UNSET:
            warnings.warn(
                "Template(compress_whitespace=...) is deprecated; "
                'use whitespace="single" or whitespace="all"',
                DeprecationWarning,
                stacklevel=2,
            )
            if whitespace is None:
                whitespace = "single" if compress_whitespace else "all"
        if whitespace is None:
            if loader is not None and loader.whitespace is not None:
                whitespace = loader.whitespace
            else:
                whitespace = default_whitespace(name)
        filter_whitespace(whitespace, "")  # raises ValueError for a bad mode
        self.whitespace = whitespace
        if autoescape is not UNSET:
            self.autoescape = autoescape
        elif loader is not None:
            self.autoescape = loader.autoescape
        else:
            self.autoescape = DEFAULT_AUTOESCAPE
        self.loader = loader
        self.namespace: dict[str, Any] = loader.namespace if loader is not None else {}
        if isinstance(template_string, bytes):
            template_string = template_string.decode("utf-8")
        self._file = parse(template_string, name, whitespace, self.autoescape)
        # {% autoescape %} applies to the whole file.
        self.autoescape = self._file.source.autoescape
        program, module = self._compile()
        #: The generated Python source of the render function.
        self.code = program.source
        self._origins = program.origins
        self._filename = _filename(name)
        self._function_code = next(
            const
            for const in module.co_consts
            if isinstance(const, types.CodeType) and const.co_name == FUNCTION_NAME
        )
        self._module_name = name.replace(".", "_")
        self._source_loader = _SourceLoader(self.code)

    # -- rendering ---------------------------------------------------------

    def generate(self, /, **kwargs: Any) -> bytes:
        """Render the template with `kwargs` as variables; return UTF-8 bytes.

        The template sees the default namespace (``escape``,
        ``xhtml_escape``, ``url_escape``, ``json_encode``, ``squeeze``,
        ``linkify``, ``datetime``), then its loader's namespace, then
        `kwargs`, later ones winning.

        :raises Exception: whatever the template code raises, with a note
            naming the template file and line where it happened.
        """
        namespace = {
            **_BASE_NAMESPACE,
            "__name__": self._module_name,
            "__loader__": self._source_loader,
            **self.namespace,
            **kwargs,
        }
        execute = types.FunctionType(self._function_code, namespace, FUNCTION_NAME)
        try:
            result: bytes = execute()
        except Exception as exc:
            self._annotate(exc)
            raise
        return result

    def _annotate(self, exc: Exception) -> None:
        """Add a note naming the template line where `exc` was raised, and
        make the generated source available to traceback printing."""
        lineno = 0
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                lineno = tb.tb_lineno
            tb = tb.tb_next
        if not 0 < lineno <= len(self._origins):
            return
        name, line = self._origins[lineno - 1]
        note = f"  in template {name!r}, line {line}"
        if name != self.name:
            note += f" (rendering {self.name!r})"
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)
        # A fresh entry, in case another template of the same name left one.
        lines = self.code.splitlines(keepends=True)
        linecache.cache[self._filename] = (len(self.code), None, lines, self._filename)

    # -- compiling ---------------------------------------------------------

    def _compile(self) -> tuple[Program, types.CodeType]:
        files = [self._file]
        while files[-1].extends is not None:
            parent_name, line = files[-1].extends
            parent = self._load(parent_name, files[-1].source.name, line, "extends")
            if parent._file in files:
                chain = " -> ".join(f.source.name for f in (*files, parent._file))
                raise ParseError(f"extends cycle: {chain}", files[-1].source.name, line)
            files.append(parent._file)
        blocks = collect_blocks(reversed(files), self._include)
        program = generate(files[-1], blocks, self._include)
        module = self._compile_program(program)
        # The escaping function is looked up once per render, at the top of
        # the function; if the template assigns that name itself (say with
        # {% import %}), look it up at each use instead, as written.
        local_names = _local_names(module)
        late = frozenset(
            expression
            for expression in program.hoisted_escapers
            if _root_name(expression) in local_names or _root_name(expression) is None
        )
        if late:
            program = generate(files[-1], blocks, self._include, per_expression=late)
            module = self._compile_program(program)
        return program, module

    def _compile_program(self, program: Program) -> types.CodeType:
        try:
            return compile(program.source, _filename(self.name), "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise self._python_error(program, exc.lineno or 0, exc.msg) from exc
        except ValueError as exc:  # NUL in the source (a SyntaxError since 3.12)
            raise self._python_error(program, 0, str(exc)) from exc

    def _python_error(self, program: Program, lineno: int, message: str) -> ParseError:
        """Return a ParseError for generated line `lineno`, naming the
        template line it came from and quoting the offending code."""
        if not 0 < lineno <= len(program.origins):
            return ParseError(f"invalid Python in template: {message}", self.name, 0)
        name, line = program.origins[lineno - 1]
        code = program.source.splitlines()[lineno - 1].rsplit("  # ", 1)[0].strip()
        return ParseError(f"invalid Python in template: {message} in {code!r}", name, line)

    def _include(self, node: Include) -> File:
        return self._load(node.name, node.source.name, node.line, "include")._file

    def _load(self, name: str, parent_path: str, line: int, directive: str) -> Template:
        if self.loader is None:
            raise ParseError(f"{directive} requires a template loader", parent_path, line)
        try:
            return self.loader.load(name, parent_path=parent_path)
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError(
                f"cannot load {name!r} for {{% {directive} %}}: {type(exc).__name__}: {exc}",
                parent_path,
                line,
            ) from exc


def _filename(name: str) -> str:
    # Not the template's own name: generated line numbers are not template
    # line numbers, and a real file of that name must not be shown instead.
    return f"{name}.generated.py"


def _root_name(expression: str) -> str | None:
    """Return the first name of a dotted name, None for other expressions."""
    parts = expression.split(".")
    if all(part.strip().isidentifier() for part in parts):
        return parts[0].strip()
    return None


def _local_names(code: types.CodeType) -> set[str]:
    """Return every name local to some function defined in `code`."""
    names: set[str] = set()
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(const.co_varnames, const.co_cellvars)
            names |= _local_names(const)
    return names
