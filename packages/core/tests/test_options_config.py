"""Tests for squall.options beyond the command line: setting values, callbacks, config files.

Also the help, mockable(), the module-level functions on the global parser,
and edge cases.  Defining options and the command line are in
test_options.py; the shared fixtures and helpers in options_helpers.py.
"""

from __future__ import annotations

import datetime
import io
import logging
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from options_helpers import (
    Color,
    global_options_fixture,  # noqa: F401
    parse,
    parser_fixture,  # noqa: F401
    td,
)

import squall.log
import squall.options
from squall.options import Error, OptionParser


def write_config(tmp_path: Path, text: str, name: str = "app.conf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- setting values ---------------------------------------------------------------------------


def test_set_by_attribute_and_item(parser: OptionParser) -> None:
    parser.define("port", default=80)
    parser.port = 8000
    assert parser.port == 8000
    parser["port"] = 8001
    assert parser["port"] == 8001


def test_set_none_is_allowed(parser: OptionParser) -> None:
    parser.define("port", default=80)
    parser.port = None
    assert parser.port is None


@pytest.mark.parametrize(
    ("option_type", "value"),
    [
        (int, "80"),
        (int, 8.0),
        (str, 5),
        (str, b"bytes"),
        (bool, 1),
        (float, "1.5"),
        (datetime.datetime, "2024-01-01"),
        (datetime.timedelta, 5),
        (Color, "red"),
    ],
)
def test_set_wrong_type(parser: OptionParser, option_type: type, value: Any) -> None:
    parser.define("opt", type=option_type)
    with pytest.raises(Error, match="Option 'opt' must be"):
        parser.opt = value
    with pytest.raises(Error, match="Option 'opt' must be"):
        parser["opt"] = value
    assert parser.opt is None


def test_set_int_for_float_is_stored_as_float(parser: OptionParser) -> None:
    parser.define("ratio", type=float)
    parser.ratio = 2
    assert parser.ratio == 2.0
    assert isinstance(parser.ratio, float)


def test_set_subclass_instance(parser: OptionParser) -> None:
    parser.define("when", type=datetime.datetime)
    parser.when = datetime.datetime(2024, 1, 1)
    parser.define("count", type=int)
    parser.count = True  # bool is an int
    assert parser.count is True


def test_set_converter_typed_option_accepts_anything(parser: OptionParser) -> None:
    parser.define("upper", type=str.upper)
    parser.upper = 5
    assert parser.upper == 5


def test_set_multiple(parser: OptionParser) -> None:
    parser.define("ports", type=int, multiple=True)
    parser.ports = [1, 2]
    assert parser.ports == [1, 2]
    parser.ports = (3, 4)
    assert parser.ports == [3, 4]
    for bad in (5, "1,2", ["1"], [1, "2"], None):
        with pytest.raises(Error, match="Option 'ports' must be a list of int"):
            parser.ports = bad
    assert parser.ports == [3, 4]


def test_set_multiple_copies_the_list(parser: OptionParser) -> None:
    parser.define("names", multiple=True)
    names = ["a"]
    parser.names = names
    names.append("b")
    assert parser.names == ["a"]


def test_set_multiple_float_coerces_ints(parser: OptionParser) -> None:
    parser.define("ratios", type=float, multiple=True)
    parser.ratios = [1, 2.5]
    assert parser.ratios == [1.0, 2.5]
    assert all(isinstance(x, float) for x in parser.ratios)


# -- callbacks -----------------------------------------------------------------------------------


def test_option_callback_on_parse_and_set(parser: OptionParser) -> None:
    seen: list[Any] = []
    parser.define("port", default=80, callback=seen.append)
    parser.define("ports", type=int, multiple=True, callback=seen.append)
    assert seen == []  # defining does not call it
    parse(parser, "--port=81", "--ports=1:2")
    parser.port = 82
    parser["port"] = None
    assert seen == [81, [1, 2], 82, None]


def test_option_callback_not_called_on_bad_value(parser: OptionParser) -> None:
    seen: list[Any] = []
    parser.define("port", default=80, callback=seen.append)
    with pytest.raises(Error):
        parse(parser, "--port=x")
    with pytest.raises(Error):
        parser.port = "x"
    assert seen == []


def test_parse_callbacks(parser: OptionParser) -> None:
    calls: list[str] = []
    parser.add_parse_callback(lambda: calls.append("first"))
    parser.add_parse_callback(lambda: calls.append("second"))
    parse(parser, final=False)
    assert calls == []
    parse(parser)
    assert calls == ["first", "second"]
    parser.run_parse_callbacks()
    assert calls == ["first", "second"] * 2


def test_parse_callbacks_run_after_all_options_are_set(parser: OptionParser) -> None:
    parser.define("a", default=0)
    parser.define("b", default=0)
    seen: list[tuple[int, int]] = []
    parser.add_parse_callback(lambda: seen.append((parser.a, parser.b)))
    parse(parser, "--a=1", "--b=2")
    assert seen == [(1, 2)]


def test_parse_callbacks_not_run_on_error(parser: OptionParser) -> None:
    calls: list[int] = []
    parser.add_parse_callback(lambda: calls.append(1))
    with pytest.raises(Error):
        parse(parser, "--unknown")
    assert calls == []


# -- config files -------------------------------------------------------------------------------


def test_config_file(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("port", default=80)
    parser.define("name", default="x")
    parser.define("hosts", multiple=True)
    parser.define("delay", type=datetime.timedelta)
    path = write_config(
        tmp_path,
        "import datetime\n"
        "port = 8000 + 1\n"
        "name = 'web'\n"
        "hosts = ['a', 'b']\n"
        "delay = datetime.timedelta(seconds=3)\n"
        "unrelated = 'ignored'\n"
        "def helper(): pass\n",
    )
    parser.parse_config_file(str(path))
    assert parser.port == 8001
    assert parser.name == "web"
    assert parser.hosts == ["a", "b"]
    assert parser.delay == td(seconds=3)
    assert "unrelated" not in parser


def test_config_file_accepts_path_objects(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("port", default=80)
    parser.parse_config_file(write_config(tmp_path, "port = 1\n"))
    assert parser.port == 1


def test_config_file_dunder_file(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("here", type=str)
    (tmp_path / "sub").mkdir()
    path = write_config(tmp_path / "sub", "import os\nhere = os.path.dirname(__file__)\n")
    relative = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    parser.parse_config_file(str(relative))
    assert parser.here == str(tmp_path / "sub")


def test_config_file_is_utf8(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("greeting", type=str)
    path = tmp_path / "u.conf"
    path.write_bytes("greeting = 'héllo ☃'\n".encode())
    parser.parse_config_file(path)
    assert parser.greeting == "héllo ☃"


def test_config_file_with_byte_order_mark(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("greeting", type=str)
    path = tmp_path / "bom.conf"
    path.write_bytes("\ufeffgreeting = 'é'\n".encode())
    parser.parse_config_file(path)
    assert parser.greeting == "é"


def test_config_file_dashes_and_underscores(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("log-level", default="info")
    parser.parse_config_file(write_config(tmp_path, "log_level = 'debug'\n"))
    assert parser.log_level == "debug"


def test_config_file_strings_are_parsed(parser: OptionParser, tmp_path: Path) -> None:
    parser.define("port", default=80)
    parser.define("debug", default=False)
    parser.define("delay", type=datetime.timedelta)
    parser.define("ports", type=int, multiple=True)
    parser.define("hosts", multiple=True)
    parser.define("name", type=str)
    text = (
        "port = '81'\ndebug = 'yes'\ndelay = '1h'\nports = '1,5:6'\nhosts = 'a, b'\nname = '7'\n"
    )
    parser.parse_config_file(write_config(tmp_path, text))
    assert parser.port == 81
    assert parser.debug is True
    assert parser.delay == td(hours=1)
    assert parser.ports == [1, 5, 6]
    assert parser.hosts == ["a", "b"]
    assert parser.name == "7"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = 'eighty'\n", "Option 'port': invalid int value 'eighty'"),
        ("port = 8.5\n", "Option 'port' must be int or None, not float"),
        ("ports = 5\n", "Option 'ports' must be a list of int"),
        ("ports = [1, 'x']\n", "Option 'ports' must be a list of int"),
        ("name = 5\n", "Option 'name' must be str or None, not int"),
    ],
)
def test_config_file_type_errors(
    parser: OptionParser, tmp_path: Path, text: str, message: str
) -> None:
    parser.define("port", default=80)
    parser.define("ports", type=int, multiple=True)
    parser.define("name", type=str)
    with pytest.raises(Error, match=message):
        parser.parse_config_file(write_config(tmp_path, text))


def test_config_file_code_errors_propagate(parser: OptionParser, tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        parser.parse_config_file(write_config(tmp_path, "x = 1 / 0\n"))
    with pytest.raises(SyntaxError) as info:
        parser.parse_config_file(write_config(tmp_path, "x = (\n", name="bad.conf"))
    assert info.value.filename is not None
    assert info.value.filename.endswith("bad.conf")


def test_config_file_missing(parser: OptionParser, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        parser.parse_config_file(tmp_path / "missing.conf")


def test_config_file_callbacks(parser: OptionParser, tmp_path: Path) -> None:
    seen: list[Any] = []
    parser.define("port", default=80, callback=seen.append)
    parser.add_parse_callback(lambda: seen.append("parsed"))
    path = write_config(tmp_path, "port = 1\n")
    parser.parse_config_file(path, final=False)
    assert seen == [1]
    parser.parse_config_file(path)
    assert seen == [1, 1, "parsed"]


def test_config_option_on_command_line(parser: OptionParser, tmp_path: Path) -> None:
    # The documented pattern: options from --config override earlier flags,
    # later flags override the file.
    parser.define("port", default=80)
    parser.define("name", default="x")
    parser.define("debug", default=False)
    parser.define(
        "config",
        type=str,
        help="path to config file",
        callback=lambda path: parser.parse_config_file(path, final=False),
    )
    path = write_config(tmp_path, "port = 1\nname = 'file'\ndebug = True\n")
    parse(parser, "--port=2", "--name=cli", f"--config={path}", "--debug=false")
    assert (parser.port, parser.name, parser.debug) == (1, "file", False)


# -- help --------------------------------------------------------------------------------------


def help_text(parser: OptionParser) -> str:
    out = io.StringIO()
    parser.print_help(out)
    return out.getvalue()


def test_help_layout(parser: OptionParser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/bin/server.py"])
    parser.define("port", default=8000, help="Port to listen on", metavar="PORT")
    parser.define("address", help="Address to bind")
    parser.define("hosts", default=["a", "b"], multiple=True, group="net")
    parser.define("debug", default=False, group="dev", help="Debug mode")
    parser.define("quiet", group="dev")
    assert help_text(parser) == (
        "Usage: server.py [OPTIONS]\n"
        "\n"
        "Options:\n"
        "\n"
        "  --help                           Show this help information\n"
        f"\n{__file__} options:\n"
        "\n"
        "  --address                        Address to bind\n"
        "  --port=PORT                      Port to listen on (default 8000)\n"
        "\n"
        "dev options:\n"
        "\n"
        "  --debug                          Debug mode (default False)\n"
        "  --quiet\n"
        "\n"
        "net options:\n"
        "\n"
        "  --hosts                          (default a,b)\n"
        "\n"
    )


def test_help_groups_are_sorted(parser: OptionParser) -> None:
    for group in ("zeta", "alpha", "mu"):
        parser.define(f"opt_{group}", group=group)
    text = help_text(parser)
    assert text.index("alpha options:") < text.index("mu options:") < text.index("zeta options:")


def test_help_options_sorted_and_dashed(parser: OptionParser) -> None:
    parser.define("zz_top", group="g")
    parser.define("aa_first", group="g")
    text = help_text(parser)
    assert "--zz-top" in text
    assert text.index("--aa-first") < text.index("--zz-top")


def test_help_wraps_long_descriptions(parser: OptionParser) -> None:
    parser.define("verbose", help="word " * 30, group="g")
    lines = help_text(parser).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  --verbose"))
    assert lines[start][:35] == "  --verbose".ljust(35)
    assert lines[start][35:].startswith("word")
    assert lines[start + 1].startswith(" " * 35 + "word")
    assert all(len(line) <= 79 for line in lines)


def test_help_long_name_on_its_own_line(parser: OptionParser) -> None:
    parser.define("x" * 31, help="the description", group="g")
    lines = help_text(parser).splitlines()
    index = lines.index("  --" + "x" * 31)
    assert lines[index + 1] == " " * 35 + "the description"


def test_help_hides_empty_defaults(parser: OptionParser) -> None:
    parser.define("a", default="", help="A", group="g")
    parser.define("b", default=[], multiple=True, help="B", group="g")
    parser.define("c", default=0, help="C", group="g")
    text = help_text(parser)
    assert "A (default" not in text
    assert "B (default" not in text
    assert "C (default 0)" in text


def test_help_defaults_to_stderr(parser: OptionParser, capsys: pytest.CaptureFixture[str]) -> None:
    parser.print_help()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--help" in captured.err


def test_help_option_exits(parser: OptionParser, capsys: pytest.CaptureFixture[str]) -> None:
    parser.define("port", default=1, help="the port")
    with pytest.raises(SystemExit) as info:
        parse(parser, "--help", "--port=2")
    assert info.value.code == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Usage:" in captured.err
    assert "the port (default 1)" in captured.err
    assert parser.port == 1


def test_help_false_does_not_exit(parser: OptionParser) -> None:
    parse(parser, "--help=no")
    assert parser.help is False


def test_names_are_case_sensitive(parser: OptionParser) -> None:
    parser.define("port", default=1)
    parser.define("PORT", default=2)
    assert (parser.port, parser.PORT) == (1, 2)
    with pytest.raises(Error, match="Unrecognized"):
        parse(parser, "--Port=3")


def test_global_help_lists_logging_options() -> None:
    text = help_text(squall.options.options)
    assert "log.py options:" in text
    assert "--logging=debug|info|warning|error|none" in text
    assert "--log-file-prefix=PATH" in text


# -- mockable ---------------------------------------------------------------------------------


def test_mockable_patch_object(parser: OptionParser) -> None:
    parser.define("port", default=80)
    with mock.patch.object(parser.mockable(), "port", 8000):
        assert parser.port == 8000
    assert parser.port == 80


def test_mockable_restores_set_value(parser: OptionParser) -> None:
    parser.define("port", default=80)
    parser.port = 81
    mockable = parser.mockable()
    with mock.patch.object(mockable, "port", 8000):
        assert parser.port == 8000
        assert mockable.port == 8000
    assert parser.port == 81


def test_mockable_nested(parser: OptionParser) -> None:
    parser.define("port", default=80)
    mockable = parser.mockable()
    with mock.patch.object(mockable, "port", 1):
        with mock.patch.object(mockable, "port", 2):
            assert parser.port == 2
        assert parser.port == 1
        with mock.patch.object(parser.mockable(), "port", 3):
            assert parser.port == 3
        assert parser.port == 1
    assert parser.port == 80


def test_mockable_restores_on_exception(parser: OptionParser) -> None:
    parser.define("port", default=80)
    with pytest.raises(RuntimeError), mock.patch.object(parser.mockable(), "port", 1):
        raise RuntimeError
    assert parser.port == 80


def test_mockable_as_decorator(parser: OptionParser) -> None:
    parser.define("debug", default=False)

    @mock.patch.object(parser.mockable(), "debug", True)
    def check() -> bool:
        return bool(parser.debug)

    assert check() is True
    assert parser.debug is False


def test_mockable_type_checks(parser: OptionParser) -> None:
    parser.define("port", default=80)
    with pytest.raises(Error, match="'port'"), mock.patch.object(parser.mockable(), "port", "x"):
        pass  # pragma: no cover
    assert parser.port == 80


def test_mockable_unknown_name(parser: OptionParser) -> None:
    with pytest.raises(AttributeError), mock.patch.object(parser.mockable(), "nope", 1):
        pass  # pragma: no cover
    mockable = parser.mockable()
    with pytest.raises(AttributeError):
        del mockable.nope


def test_mockable_dashed_names(parser: OptionParser) -> None:
    parser.define("log-level", default="info")
    with mock.patch.object(parser.mockable(), "log_level", "debug"):
        assert parser["log-level"] == "debug"
    assert parser.log_level == "info"


def test_mockable_on_global_options() -> None:
    options = squall.options.options
    before = options.logging
    with mock.patch.object(options.mockable(), "logging", "none"):
        assert options.logging == "none"
    assert options.logging == before


# -- module-level functions on the global parser ----------------------------------------


def test_module_functions_use_the_global_parser(
    global_options: OptionParser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    squall.options.define("port", default=80, help="the port")
    squall.options.define("name", default="x")
    squall.options.add_parse_callback(lambda: calls.append("parsed"))

    assert squall.options.parse_command_line(["prog", "--port=81", "rest"], final=False) == [
        "rest"
    ]
    assert global_options.port == 81
    assert calls == []

    squall.options.parse_config_file(write_config(tmp_path, "name = 'conf'\n"))
    assert global_options.name == "conf"
    assert calls == ["parsed"]

    squall.options.parse_command_line(["prog"])
    assert calls == ["parsed", "parsed"]

    out = io.StringIO()
    squall.options.print_help(out)
    assert "the port (default 80)" in out.getvalue()
    squall.options.print_help()
    assert "the port (default 80)" in capsys.readouterr().err


def test_global_parse_configures_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real global parser: --logging reaches the root logger after parsing.
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [logging.NullHandler()])
    monkeypatch.setattr(root, "level", root.level)
    options = squall.options.options
    mockable = options.mockable()
    with mock.patch.object(mockable, "logging", "info"):
        assert squall.options.parse_command_line(["prog", "--logging=error", "x"]) == ["x"]
        assert root.level == logging.ERROR
    assert len(root.handlers) == 1  # handlers exist, so no stderr handler was added


def test_logging_none_leaves_logging_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.CRITICAL)
    parser = OptionParser()
    squall.log.define_logging_options(parser)
    parse(parser, "--logging=none")
    assert root.handlers == []
    assert root.level == logging.CRITICAL
    parser.logging = None
    parse(parser)
    assert root.handlers == []


# -- edge cases ------------------------------------------------------------------------------


def test_option_named_like_a_method_is_shadowed(parser: OptionParser) -> None:
    # Methods win attribute lookup; item access still reaches the option.
    parser.define("items", default=3)
    assert callable(parser.items)
    assert parser["items"] == 3


def test_parsers_are_independent() -> None:
    first, second = OptionParser(), OptionParser()
    first.define("port", default=1)
    second.define("port", default=2)
    parse(first, "--port=3")
    assert (first.port, second.port) == (3, 2)
    assert "port" not in OptionParser()


def test_error_messages_truncate_long_values(parser: OptionParser) -> None:
    parser.define("port", type=int)
    with pytest.raises(Error) as info:
        parse(parser, "--port=" + "x" * 10_000)
    assert len(str(info.value)) < 300
    with pytest.raises(Error) as info:
        parser.port = "y" * 10_000
    assert len(str(info.value)) < 300
