"""Command-line and config-file parsing, with options defined by each module.

Each module defines the options it needs in the global namespace::

    from squall.options import define, options

    define("mysql_host", default="127.0.0.1:3306", help="Main user DB")
    define("memcache_hosts", default="127.0.0.1:11011", multiple=True,
           help="Main user memcache servers")

    def connect():
        db = database.Connection(options.mysql_host)

The application's ``main()`` then parses the command line or a config file,
once every module that defines options has been imported::

    squall.options.parse_command_line()
    # or
    squall.options.parse_config_file("/etc/server.conf")

Command-line options look like ``--name=value`` (a bool option may be given
as just ``--name``).  Config files are Python files whose global names become
options::

    port = 8000
    memcache_hosts = ["10.0.0.1:11011", "10.0.0.2:11011"]

Option names treat dashes and underscores as the same character: an option
defined as ``log_file_prefix`` is ``--log-file-prefix`` on the command line
and ``options.log_file_prefix`` in code.

Values can be str, int, float, bool, :class:`datetime.datetime`,
:class:`datetime.timedelta` or any type that can be called with the text;
see :meth:`OptionParser.define` for the accepted syntax.

:data:`options` is the global :class:`OptionParser`; the module-level
functions call its methods.  Create more parsers for isolated sets of
options, such as subcommands.

The global parser has the logging options of
:func:`squall.log.define_logging_options`, so parsing configures the
:mod:`logging` module.  To leave logging alone, pass ``--logging=none`` or
set ``options.logging = None`` before parsing.
"""

from __future__ import annotations

import os
import reprlib
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from squall import _options_types as _types
from squall._options_types import OptionType
from squall.log import define_logging_options

__all__ = [
    "Error",
    "OptionParser",
    "add_parse_callback",
    "define",
    "options",
    "parse_command_line",
    "parse_config_file",
    "print_help",
]

# Layout of --help: option names are padded to this width, descriptions are
# wrapped to fit an 80-column terminal.
_HELP_NAME_WIDTH = 30
_HELP_WIDTH = 79


class Error(Exception):
    """Raised for any misuse of options: unknown or redefined names, and
    values that do not fit the option's type.  The message names the option."""


def _short(value: object) -> str:
    # Error messages end up in logs and terminals: keep huge values short.
    return reprlib.repr(value)


def _normalize(name: str) -> str:
    # Dashes are the canonical form because they are what users type.
    return name.replace("_", "-")


class _Unset:
    """Marker for an option that has not been set (its default applies)."""


_UNSET = _Unset()


class _Option:
    """One defined option: its description and current value."""

    __slots__ = (
        "_value",
        "callback",
        "default",
        "file_name",
        "group_name",
        "help",
        "metavar",
        "multiple",
        "name",
        "type",
    )

    def __init__(
        self,
        name: str,
        default: Any,
        option_type: OptionType,
        help: str | None,
        metavar: str | None,
        multiple: bool,
        file_name: str,
        group_name: str,
        callback: Callable[[Any], object] | None,
    ) -> None:
        if multiple:
            default = [] if default is None else list(default)
        self.name = name
        self.default = default
        self.type = option_type
        self.help = help
        self.metavar = metavar
        self.multiple = multiple
        self.file_name = file_name
        self.group_name = group_name
        self.callback = callback
        self._value: Any = _UNSET

    def value(self) -> Any:
        return self.default if self._value is _UNSET else self._value

    def parse(self, text: str) -> Any:
        """Set the option from its text form; return the new value.

        :raises Error: if *text* is not valid for the option's type.
        """
        try:
            if self.multiple:
                value: Any = _types.parse_multiple(self.type, text)
            else:
                value = _types.parse_value(self.type, text)
        except ValueError as exc:
            kind = _types.type_name(self.type)
            if self.multiple:
                kind = f"list of {kind}"
            reason = _short(str(exc))[1:-1]  # the reason may quote the text too
            raise Error(
                f"Option {self.name!r}: invalid {kind} value {_short(text)} ({reason})"
            ) from exc
        self._store(value)
        return value

    def set(self, value: Any) -> None:
        """Set the option to an already-typed value.

        :raises Error: if *value* is not of the option's type (a list of them
            for a multiple option); None is allowed for single options.
        """
        kind = _types.type_name(self.type)
        if self.multiple:
            if not isinstance(value, list | tuple) or not all(
                _types.accepts(self.type, item) for item in value
            ):
                raise Error(
                    f"Option {self.name!r} must be a list of {kind}, "
                    f"not {type(value).__name__} {_short(value)}"
                )
            value = [_types.coerce(self.type, item) for item in value]
        elif value is not None:
            if not _types.accepts(self.type, value):
                raise Error(
                    f"Option {self.name!r} must be {kind} or None, "
                    f"not {type(value).__name__} {_short(value)}"
                )
            value = _types.coerce(self.type, value)
        self._store(value)

    def _store(self, value: Any) -> None:
        self._value = value
        if self.callback is not None:
            self.callback(value)


def _infer_type(default: Any, multiple: bool) -> OptionType:
    if multiple:
        if isinstance(default, list | tuple) and default:
            return type(default[0])
        return str
    return str if default is None else type(default)


def _defining_file() -> str:
    """Return the file of the code that called ``define``, or "" for squall.options.

    The stack is: this function, OptionParser.define, then either the caller
    or the module-level define() and then the caller.
    """
    frame = sys._getframe(2)
    if (
        frame.f_code.co_name == "define"
        and frame.f_code.co_filename == __file__
        and frame.f_back is not None
    ):
        frame = frame.f_back
    file_name = frame.f_code.co_filename
    return "" if file_name == __file__ else file_name


def _describe_default(default: Any) -> str:
    if isinstance(default, list):
        return ",".join(str(item) for item in default)
    return str(default)


class OptionParser:
    """A collection of options: define them, parse them, read and set them.

    Normally used through the module-level functions, which act on the global
    instance :data:`options`.  Options are read and set as attributes or
    items (``options.port``, ``options["port"] = 80``); setting checks the
    type.  ``name in parser`` tests whether an option is defined, iterating
    yields the option names as defined.

    Every parser defines ``--help``, which prints :meth:`print_help` to stderr
    and exits with status 0.
    """

    def __init__(self) -> None:
        # __setattr__ is reserved for option values, so set our own state directly.
        object.__setattr__(self, "_options", {})
        object.__setattr__(self, "_parse_callbacks", [])
        self._options: dict[str, _Option]
        self._parse_callbacks: list[Callable[[], object]]
        self.define(
            "help", type=bool, help="Show this help information", callback=self._help_callback
        )

    # -- access ------------------------------------------------------------

    def _find(self, name: str) -> _Option | None:
        # Via __dict__ so that lookups on a half-built instance (copy,
        # pickle) cannot recurse into __getattr__.
        known: dict[str, _Option] = self.__dict__.get("_options", {})
        return known.get(_normalize(name))

    def _get(self, name: str, *, attribute: bool) -> _Option:
        """Return option *name*, raising as attribute or item access does."""
        if attribute:
            # Special-method probes (copy, pickle) must fail the normal way.
            option = None if name.startswith("__") else self._find(name)
            if option is None:
                raise AttributeError(f"Unrecognized option {name!r}")
            return option
        option = self._find(name)
        if option is None:
            raise KeyError(name)
        return option

    def __getattr__(self, name: str) -> Any:
        """Return the value of option *name*.

        :raises AttributeError: if no such option is defined.
        """
        return self._get(name, attribute=True).value()

    def __setattr__(self, name: str, value: Any) -> None:
        """Set option *name* to *value* and run its callback.

        :raises AttributeError: if no such option is defined.
        :raises Error: if *value* does not fit the option's type.
        """
        self._get(name, attribute=True).set(value)

    def __getitem__(self, name: str) -> Any:
        """Return the value of option *name*.

        :raises KeyError: if no such option is defined.
        """
        return self._get(name, attribute=False).value()

    def __setitem__(self, name: str, value: Any) -> None:
        """Set option *name* to *value* and run its callback.

        :raises KeyError: if no such option is defined.
        :raises Error: if *value* does not fit the option's type.
        """
        self._get(name, attribute=False).set(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter([option.name for option in self._options.values()])

    def items(self) -> list[tuple[str, Any]]:
        """Return ``(name, value)`` pairs for every option, in definition order."""
        return [(option.name, option.value()) for option in self._options.values()]

    def groups(self) -> set[str]:
        """Return the set of group names (defining file names, unless ``group`` was given)."""
        return {option.group_name for option in self._options.values()}

    def group_dict(self, group: str) -> dict[str, Any]:
        """Return the names and values of the options in *group* (all options if empty).

        Useful for copying options into Application settings::

            define("template_path", group="application")
            define("static_path", group="application")
            parse_command_line()
            application = Application(handlers, **options.group_dict("application"))
        """
        return {
            option.name: option.value()
            for option in self._options.values()
            if not group or option.group_name == group
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the names and values of all options."""
        return {option.name: option.value() for option in self._options.values()}

    # -- definition --------------------------------------------------------

    def define(
        self,
        name: str,
        default: Any = None,
        type: OptionType | None = None,
        help: str | None = None,
        metavar: str | None = None,
        multiple: bool = False,
        group: str | None = None,
        callback: Callable[[Any], object] | None = None,
    ) -> None:
        """Define a new option.

        :param name: option name; dashes and underscores are interchangeable.
        :param default: value until the option is set (``[]`` if None and
            *multiple*).
        :param type: ``str``, ``int``, ``float``, ``bool``,
            :class:`datetime.datetime`, :class:`datetime.timedelta`, or any
            callable that converts the text (an Enum, ``pathlib.Path``...).
            If None it is the type of *default* (of its first item if
            *multiple*), or ``str`` if that is None or empty.
        :param help: description for :meth:`print_help`.
        :param metavar: placeholder shown in help, as in ``--name=METAVAR``.
        :param multiple: the value is a list, given as comma-separated items;
            for ``int`` an item ``lo:hi`` is the inclusive range.
        :param group: heading under which :meth:`print_help` lists the
            option, and the key of :meth:`group_dict`; defaults to the file
            that called ``define``.
        :param callback: called with the new value whenever the option is
            set, by parsing or by assignment.  For example, to read a config
            file named on the command line, overriding earlier flags but
            overridden by later ones::

                define("config", type=str, help="path to config file",
                       callback=lambda path: parse_config_file(path, final=False))

        Text values are parsed as follows: bool accepts
        ``true/false, t/f, yes/no, y/n, on/off, 1/0`` (any case); datetime
        accepts ISO 8601 (``2024-05-01``, ``2024-05-01 12:30``,
        ``2024-05-01T12:30:15``...), ``ctime`` output and ``HH:MM[:SS]``;
        timedelta accepts summed ``<number><unit>`` parts such as ``10s``,
        ``1h 30m``, ``-1.5h``, ``2 days``, ``1w``, ``300ms``, ``50us`` (no
        unit means seconds).

        :raises Error: if an option of that name (in either spelling) is
            already defined; the message names the file that defined it.
        """
        normalized = _normalize(name)
        existing = self._options.get(normalized)
        if existing is not None:
            where = existing.file_name or "squall.options"
            raise Error(f"Option {name!r} already defined in {where}")
        file_name = _defining_file()
        if type is None:
            type = _infer_type(default, multiple)
        self._options[normalized] = _Option(
            name,
            default=default,
            option_type=type,
            help=help,
            metavar=metavar,
            multiple=multiple,
            file_name=file_name,
            group_name=group or file_name,
            callback=callback,
        )

    # -- parsing -----------------------------------------------------------

    def parse_command_line(
        self, args: Sequence[str] | None = None, final: bool = True
    ) -> list[str]:
        """Parse options from the command line (default ``sys.argv``).

        ``args[0]`` is skipped as the program name.  Options must come first,
        as ``--name=value`` (or ``-name=value``); a bool option may be given
        as just ``--name``, meaning true.  Parsing stops at ``--`` (which is
        dropped) or at the first argument that does not start with ``-``
        (a lone ``-`` counts as such an argument).

        :param final: run the parse callbacks (:meth:`add_parse_callback`)
            afterwards; pass False when more sources will be parsed.
        :returns: the remaining arguments, which are not options.
        :raises Error: for an unknown option, a non-bool option without a
            value, or a value invalid for the option's type.
        """
        if args is None:
            args = sys.argv
        remaining: list[str] = []
        for index in range(1, len(args)):
            arg = args[index]
            if arg == "--":
                remaining = list(args[index + 1 :])
                break
            if not arg.startswith("-") or arg == "-":
                remaining = list(args[index:])
                break
            name, equals, text = arg.lstrip("-").partition("=")
            option = self._find(name)
            if option is None:
                raise Error(f"Unrecognized command line option: {'--' + _normalize(name)!r}")
            if not equals:
                if option.type is not bool:
                    raise Error(f"Option {option.name!r} requires a value: --{name}=VALUE")
                text = "true"
            option.parse(text)
        if final:
            self.run_parse_callbacks()
        return remaining

    def parse_config_file(self, path: str | os.PathLike[str], final: bool = True) -> None:
        """Load options from the Python file at *path*.

        The file is decoded as UTF-8 and executed with ``__file__`` set to its
        absolute path.  Every global name it leaves that matches a defined
        option sets that option; other names are ignored.  A string value
        for a non-str or multiple option is parsed as on the command line
        (so ``ports = "80,8000:8002"`` works); any other value must already
        have the option's type (a list or tuple for a multiple option).

        :param final: run the parse callbacks afterwards.
        :raises Error: for a value that does not fit its option.
        :raises OSError: if the file cannot be read; exceptions raised by
            the file's code (including :class:`SyntaxError`) propagate.
        """
        path = os.fspath(path)
        with open(path, "rb") as f:
            # utf-8-sig: tolerate the byte order mark some editors write.
            source = f.read().decode("utf-8-sig")
        namespace: dict[str, Any] = {"__file__": os.path.abspath(path)}
        exec(compile(source, path, "exec"), namespace)
        for name, value in namespace.items():
            if name.startswith("__"):
                continue
            option = self._find(name)
            if option is None:
                continue
            if isinstance(value, str) and (option.multiple or option.type is not str):
                option.parse(value)
            else:
                option.set(value)
        if final:
            self.run_parse_callbacks()

    def add_parse_callback(self, callback: Callable[[], object]) -> None:
        """Add *callback* to run (with no arguments) when a final parse is done."""
        self._parse_callbacks.append(callback)

    def run_parse_callbacks(self) -> None:
        """Run all parse callbacks, in the order they were added."""
        for callback in list(self._parse_callbacks):
            callback()

    # -- help --------------------------------------------------------------

    def print_help(self, file: IO[str] | None = None) -> None:
        """Print every option, grouped and sorted, to *file* (default ``sys.stderr``).

        Each line reads ``--name=METAVAR  help (default value)``.  Options
        defined by squall itself (``--help``) come first; the other groups
        follow in name order under a ``<group> options:`` heading.
        """
        out = sys.stderr if file is None else file
        program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
        print(f"Usage: {program} [OPTIONS]", file=out)
        print("\nOptions:\n", file=out)
        by_group: dict[str, list[_Option]] = {}
        for option in self._options.values():
            by_group.setdefault(option.group_name, []).append(option)
        for group in sorted(by_group):
            if group:
                print(f"\n{os.path.normpath(group)} options:\n", file=out)
            for option in sorted(by_group[group], key=lambda o: _normalize(o.name)):
                print(self._help_entry(option), file=out)
        print(file=out)

    @staticmethod
    def _help_entry(option: _Option) -> str:
        prefix = _normalize(option.name)
        if option.metavar:
            prefix += "=" + option.metavar
        description = option.help or ""
        if option.default not in (None, "", []):
            description += f" (default {_describe_default(option.default)})"
        lines = textwrap.wrap(description.strip(), _HELP_WIDTH - _HELP_NAME_WIDTH - 5) or [""]
        if len(prefix) > _HELP_NAME_WIDTH:
            # Too long to share a line with its description.
            lines.insert(0, "")
        indent = " " * (_HELP_NAME_WIDTH + 5)
        first = f"  --{prefix:<{_HELP_NAME_WIDTH}} {lines[0]}".rstrip()
        return "\n".join([first, *(indent + line for line in lines[1:])])

    def _help_callback(self, value: bool) -> None:
        if value:
            self.print_help()
            sys.exit(0)

    # -- testing -----------------------------------------------------------

    def mockable(self) -> _Mockable:
        """Return a wrapper of this parser usable with :func:`unittest.mock.patch.object`.

        ``mock.patch`` cannot patch the parser itself, which overrides
        ``__getattr__`` and ``__setattr__``; patch the wrapper instead::

            with mock.patch.object(options.mockable(), "name", value):
                assert options.name == value
        """
        return _Mockable(self)


class _Mockable:
    """Attribute proxy for an OptionParser that can restore patched values.

    ``mock.patch`` sets an attribute and later deletes it; deleting restores
    the value that was current when it was set.  A stack per name lets
    patches of the same option nest.
    """

    __slots__ = ("_originals", "_parser")

    def __init__(self, parser: OptionParser) -> None:
        object.__setattr__(self, "_parser", parser)
        object.__setattr__(self, "_originals", {})
        self._parser: OptionParser
        self._originals: dict[str, list[Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        previous = getattr(self._parser, name)
        setattr(self._parser, name, value)
        self._originals.setdefault(name, []).append(previous)

    def __delattr__(self, name: str) -> None:
        stack = self._originals.get(name)
        if not stack:
            # mock.patch deletes even when its set failed (a type error):
            # nothing to restore then.
            if name in self._parser:
                return
            raise AttributeError(name)
        setattr(self._parser, name, stack.pop())
        if not stack:
            del self._originals[name]


options = OptionParser()
"""The global option parser; every defined option is an attribute of it."""


def define(
    name: str,
    default: Any = None,
    type: OptionType | None = None,
    help: str | None = None,
    metavar: str | None = None,
    multiple: bool = False,
    group: str | None = None,
    callback: Callable[[Any], object] | None = None,
) -> None:
    """Define an option of the global :data:`options`; see :meth:`OptionParser.define`.

    :raises Error: if the option is already defined.
    """
    options.define(
        name,
        default=default,
        type=type,
        help=help,
        metavar=metavar,
        multiple=multiple,
        group=group,
        callback=callback,
    )


def parse_command_line(args: Sequence[str] | None = None, final: bool = True) -> list[str]:
    """Parse the global options from the command line; see
    :meth:`OptionParser.parse_command_line`.

    :returns: the arguments that are not options.
    :raises Error: for an unknown option or an invalid value.
    """
    return options.parse_command_line(args, final=final)


def parse_config_file(path: str | os.PathLike[str], final: bool = True) -> None:
    """Parse the global options from a config file; see
    :meth:`OptionParser.parse_config_file`.

    :raises Error: for a value that does not fit its option.
    """
    options.parse_config_file(path, final=final)


def print_help(file: IO[str] | None = None) -> None:
    """Print help for the global options to *file* (default ``sys.stderr``)."""
    options.print_help(file)


def add_parse_callback(callback: Callable[[], object]) -> None:
    """Run *callback* when the global options have been parsed (with ``final=True``)."""
    options.add_parse_callback(callback)


define_logging_options(options)
