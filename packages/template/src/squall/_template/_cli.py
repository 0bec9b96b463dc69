"""``python -m squall.template``: render a template file to standard output.

Usage::

    python -m squall.template page.html --root templates -D title=Hi
    python -m squall.template page.html --json-args '{"items": [1, 2]}'
    python -m squall.template --demo

Exit status: 0 on success, 1 if the template cannot be loaded, compiled or
rendered, 2 for bad command-line arguments.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ._compiled import DEFAULT_AUTOESCAPE
from ._errors import ParseError
from ._lexer import WHITESPACE_MODES
from ._loader import BaseLoader, DictLoader, Loader

__all__ = ["DEMO_VARIABLES", "demo_templates", "main"]

PROG = "python -m squall.template"

#: What the demo page is rendered with.
DEMO_VARIABLES: dict[str, Any] = {
    "title": "squall.template demo",
    "user": "guest",
    "hostile": '<script>alert("x")</script>',
    "items": [
        {"name": "Plain text", "price": 3.5},
        {"name": "Tom & Jerry's <b>bold</b> cheese", "price": 4.25},
        {"name": '<img src=x onerror="alert(1)">', "price": 5},
    ],
}


class _UsageError(Exception):
    """A bad argument: reported with the usage line, exit status 2."""


def demo_templates() -> dict[str, str]:
    """Return the demo templates shipped in the package, by name."""
    folder = importlib.resources.files(__package__).joinpath("demo")
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".html")
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Render a squall (Tornado-syntax) template to standard output.",
    )
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="the template file; with --root, a path inside DIR or a name relative to it",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="template root for extends/include (default: the directory of FILE)",
    )
    parser.add_argument(
        "--autoescape",
        metavar="NAME|none",
        help=f"escaping function name, or 'none' (default: {DEFAULT_AUTOESCAPE})",
    )
    parser.add_argument(
        "--whitespace",
        choices=WHITESPACE_MODES,
        help="whitespace mode (default: single for .html/.js files, else all)",
    )
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a string variable (repeatable; wins over --json-args)",
    )
    parser.add_argument(
        "--json-args",
        metavar="FILE_OR_JSON",
        help="variables as a JSON object, given inline or as a file name",
    )
    parser.add_argument("--demo", action="store_true", help="render the built-in demo page")
    return parser


def _variables(args: argparse.Namespace) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if args.json_args is not None:
        raw = args.json_args
        try:
            if raw.lstrip().startswith("{"):
                loaded = json.loads(raw)
            else:
                with open(raw, encoding="utf-8") as f:
                    loaded = json.load(f)
        except (OSError, ValueError) as exc:
            raise _UsageError(f"--json-args: {exc}") from exc
        if not isinstance(loaded, dict):
            raise _UsageError("--json-args: expected a JSON object")
        variables.update(loaded)
    for define in args.defines:
        name, sep, value = define.partition("=")
        if not sep or not name.isidentifier():
            raise _UsageError(f"-D {define!r}: expected NAME=VALUE")
        variables[name] = value
    return variables


def _loader_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.autoescape is not None:
        options["autoescape"] = None if args.autoescape.lower() == "none" else args.autoescape
    if args.whitespace is not None:
        options["whitespace"] = args.whitespace
    return options


def _locate(file: str, root: str | None) -> tuple[str, str]:
    """Return (root directory, template name) for the FILE argument."""
    if root is None:
        path = os.path.abspath(file)
        return os.path.dirname(path), os.path.basename(path)
    real_root = os.path.realpath(root)
    real_file = os.path.realpath(file)
    if os.path.isfile(file) and os.path.commonpath([real_root, real_file]) == real_root:
        return root, os.path.relpath(real_file, real_root).replace(os.sep, "/")
    return root, file


def _fail(message: str, status: int) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.demo and args.file is not None:
            raise _UsageError("--demo takes no FILE")
        if not args.demo and args.file is None:
            raise _UsageError("FILE is required (or use --demo)")
        variables = _variables(args)
    except _UsageError as exc:
        parser.error(str(exc))
    loader: BaseLoader
    if args.demo:
        loader = DictLoader(demo_templates(), **_loader_options(args))
        name = "page.html"
        variables = {**DEMO_VARIABLES, **variables}
    else:
        root, name = _locate(args.file, args.root)
        loader = Loader(root, **_loader_options(args))
    try:
        template = loader.load(name)
    except ParseError as exc:
        _fail(str(exc), 1)
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"cannot load template {name!r}: {exc}", 1)
    try:
        output = template.generate(**variables)
    except Exception as exc:
        notes = "".join(f"\n{note}" for note in getattr(exc, "__notes__", ()))
        _fail(f"rendering {name!r} failed: {type(exc).__name__}: {exc}{notes}", 1)
    try:
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): not worth a traceback.  Point
        # stdout at devnull so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0
