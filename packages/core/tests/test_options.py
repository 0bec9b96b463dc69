"""Tests for squall.options."""

from __future__ import annotations

import datetime
import enum
import io
import logging
import pathlib
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import squall.log
import squall.options
from squall.options import Error, OptionParser

UTC = datetime.UTC


def parse(parser: OptionParser, *args: str, final: bool = True) -> list[str]:
    return parser.parse_command_line(["prog", *args], final=final)


@pytest.fixture
def parser() -> OptionParser:
    return OptionParser()


@pytest.fixture
def global_options(monkeypatch: pytest.MonkeyPatch) -> OptionParser:
    """Swap a fresh parser in as squall.options.options for the test."""
    fresh = OptionParser()
    monkeypatch.setattr(squall.options, "options", fresh)
    return fresh


def write_config(tmp_path: Path, text: str, name: str = "app.conf") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- module surface ------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(squall.options).items()
        if not name.startswith("_")
        and (
            isinstance(value, OptionParser)
            or (callable(value) and getattr(value, "__module__", None) == "squall.options")
        )
    }
    assert squall.options.__all__ == sorted(squall.options.__all__)
    assert set(squall.options.__all__) == public


def test_error_is_an_exception() -> None:
    assert issubclass(Error, Exception)


def test_global_parser_has_logging_options() -> None:
    options = squall.options.options
    assert isinstance(options, OptionParser)
    for name in (
        "help",
        "logging",
        "log_to_stderr",
        "log_file_prefix",
        "log_file_max_size",
        "log_file_num_backups",
        "log_rotate_when",
        "log_rotate_interval",
        "log_rotate_mode",
    ):
        assert name in options


def test_fresh_parser_only_has_help(parser: OptionParser) -> None:
    assert list(parser) == ["help"]
    assert parser.help is None


# -- define and read -------------------------------------------------------------


def test_default_value(parser: OptionParser) -> None:
    parser.define("port", default=8000)
    assert parser.port == 8000
    assert parser["port"] == 8000


def test_default_none(parser: OptionParser) -> None:
    parser.define("name")
    assert parser.name is None


def test_dashes_and_underscores_are_interchangeable(parser: OptionParser) -> None:
    parser.define("log-file_path", default="x")
    assert parser.log_file_path == "x"
    assert parser["log-file-path"] == "x"
    assert parser["log_file_path"] == "x"
    assert getattr(parser, "log-file-path") == "x"
    parser.log_file_path = "y"
    assert parser["log-file-path"] == "y"
    parser["log-file-path"] = "z"
    assert parser.log_file_path == "z"
    assert parse(parser, "--log_file-path=w") == []
    assert parser.log_file_path == "w"


@pytest.mark.parametrize("second", ["my_option", "my-option"])
def test_redefinition_is_an_error(parser: OptionParser, second: str) -> None:
    parser.define("my-option")
    with pytest.raises(Error, match=rf"'{second}' already defined in .*test_options\.py"):
        parser.define(second)


def test_redefining_help_is_an_error(parser: OptionParser) -> None:
    with pytest.raises(Error, match=r"'help' already defined in squall\.options"):
        parser.define("help")


def test_unknown_attribute(parser: OptionParser) -> None:
    with pytest.raises(AttributeError, match="Unrecognized option 'nope'"):
        _ = parser.nope
    assert not hasattr(parser, "nope")
    with pytest.raises(AttributeError, match="'nope'"):
        parser.nope = 1


def test_unknown_item(parser: OptionParser) -> None:
    with pytest.raises(KeyError, match="nope"):
        _ = parser["nope"]
    with pytest.raises(KeyError, match="nope"):
        parser["nope"] = 1


def test_dunder_lookup_is_not_an_option(parser: OptionParser) -> None:
    parser.define("__weird__", default=1)
    # Special-method lookups must fail normally (copy, pickle, ... probe them).
    assert not hasattr(parser, "__deepcopy__")
    assert parser["__weird__"] == 1


def test_group_defaults_to_defining_file(parser: OptionParser) -> None:
    parser.define("a")
    parser.define("b", group="application")
    assert parser.groups() == {"", __file__, "application"}


def test_module_level_define_records_the_caller(global_options: OptionParser) -> None:
    squall.options.define("port", default=1, help="the port", metavar="N")
    assert global_options.port == 1
    assert global_options.groups() == {"", __file__}
    with pytest.raises(Error, match=r"already defined in .*test_options\.py"):
        squall.options.define("port")


# -- dict-like access ----------------------------------------------------------------


@pytest.fixture
def populated(parser: OptionParser) -> OptionParser:
    parser.define("template_path", default="tpl", group="application")
    parser.define("static-path", default="static", group="application")
    parser.define("port", default=80)
    parser.define("debug", default=False, group="dev")
    return parser


def test_contains(populated: OptionParser) -> None:
    assert "port" in populated
    assert "static_path" in populated
    assert "template-path" in populated
    assert "nope" not in populated
    assert 3 not in populated


def test_iter_gives_names_as_defined(populated: OptionParser) -> None:
    assert list(populated) == ["help", "template_path", "static-path", "port", "debug"]


def test_items(populated: OptionParser) -> None:
    populated.port = 81
    assert populated.items() == [
        ("help", None),
        ("template_path", "tpl"),
        ("static-path", "static"),
        ("port", 81),
        ("debug", False),
    ]


def test_groups(populated: OptionParser) -> None:
    assert populated.groups() == {"", "application", __file__, "dev"}


def test_group_dict(populated: OptionParser) -> None:
    assert populated.group_dict("application") == {"template_path": "tpl", "static-path": "static"}
    assert populated.group_dict("dev") == {"debug": False}
    assert populated.group_dict(__file__) == {"port": 80}
    assert populated.group_dict("missing") == {}


def test_group_dict_of_empty_group_is_everything(populated: OptionParser) -> None:
    assert populated.group_dict("") == populated.as_dict()


def test_group_dict_feeds_keyword_arguments(populated: OptionParser) -> None:
    def application(template_path: str, **settings: Any) -> tuple[str, dict[str, Any]]:
        return template_path, settings

    parse(populated, "--template-path=/srv/tpl")
    assert application(**populated.group_dict("application")) == (
        "/srv/tpl",
        {"static-path": "static"},
    )


def test_as_dict(populated: OptionParser) -> None:
    assert populated.as_dict() == {
        "help": None,
        "template_path": "tpl",
        "static-path": "static",
        "port": 80,
        "debug": False,
    }


# -- command line: syntax ------------------------------------------------------------------


def test_equals_syntax(parser: OptionParser) -> None:
    parser.define("name", type=str)
    parser.define("port", type=int)
    parser.define("ratio", type=float)
    assert parse(parser, "--name=web", "--port=8080", "--ratio=0.5") == []
    assert (parser.name, parser.port, parser.ratio) == ("web", 8080, 0.5)


def test_single_dash_is_accepted(parser: OptionParser) -> None:
    parser.define("port", default=1)
    parse(parser, "-port=2")
    assert parser.port == 2


def test_value_may_contain_equals_and_be_empty(parser: OptionParser) -> None:
    parser.define("expr", default="x")
    parse(parser, "--expr=a=b")
    assert parser.expr == "a=b"
    parse(parser, "--expr=")
    assert parser.expr == ""


def test_later_value_wins(parser: OptionParser) -> None:
    parser.define("port", default=1)
    parse(parser, "--port=2", "--port=3")
    assert parser.port == 3


def test_program_name_is_skipped(parser: OptionParser) -> None:
    parser.define("port", default=1)
    assert parser.parse_command_line(["--port=5"]) == []
    assert parser.port == 1


def test_defaults_to_sys_argv(parser: OptionParser, monkeypatch: pytest.MonkeyPatch) -> None:
    parser.define("port", default=1)
    monkeypatch.setattr(sys, "argv", ["prog", "--port=9", "rest"])
    assert parser.parse_command_line() == ["rest"]
    assert parser.port == 9


def test_remaining_arguments(parser: OptionParser) -> None:
    parser.define("port", default=1)
    parser.define("debug", default=False)
    assert parse(parser, "--port=2", "run", "--debug", "x") == ["run", "--debug", "x"]
    assert parser.port == 2
    assert parser.debug is False


def test_double_dash_ends_options(parser: OptionParser) -> None:
    parser.define("debug", default=False)
    assert parse(parser, "--", "--debug") == ["--debug"]
    assert parser.debug is False
    assert parse(parser, "--debug", "--", "--", "a") == ["--", "a"]
    assert parser.debug is True


def test_lone_dash_is_an_argument(parser: OptionParser) -> None:
    parser.define("debug", default=False)
    assert parse(parser, "-", "--debug") == ["-", "--debug"]


def test_empty_command_line(parser: OptionParser) -> None:
    assert parser.parse_command_line([]) == []
    assert parse(parser) == []


def test_unknown_option(parser: OptionParser) -> None:
    with pytest.raises(Error, match="Unrecognized command line option: '--no-such'"):
        parse(parser, "--no_such=1")


def test_missing_value(parser: OptionParser) -> None:
    parser.define("port", default=1)
    with pytest.raises(Error, match="'port' requires a value"):
        parse(parser, "--port")


def test_bare_bool_flag_is_true(parser: OptionParser) -> None:
    parser.define("debug", default=False)
    parse(parser, "--debug")
    assert parser.debug is True


@pytest.mark.parametrize("text", ["true", "True", "TRUE", "t", "T", "yes", "Y", "y", "on", "1"])
def test_bool_true_spellings(parser: OptionParser, text: str) -> None:
    parser.define("debug", default=False)
    parse(parser, f"--debug={text}")
    assert parser.debug is True


@pytest.mark.parametrize("text", ["false", "False", "f", "F", "no", "N", "n", "off", "OFF", "0"])
def test_bool_false_spellings(parser: OptionParser, text: str) -> None:
    parser.define("debug", default=True)
    parse(parser, f"--debug={text}")
    assert parser.debug is False


@pytest.mark.parametrize("text", ["", "2", "maybe", "truthy", "-1"])
def test_bool_invalid(parser: OptionParser, text: str) -> None:
    parser.define("debug", default=False)
    with pytest.raises(Error, match=r"Option 'debug': invalid bool value"):
        parse(parser, f"--debug={text}")


@pytest.mark.parametrize(
    ("option_type", "text"),
    [(int, "eighty"), (int, "1.5"), (int, ""), (float, "fast"), (float, "")],
)
def test_invalid_number(parser: OptionParser, option_type: type, text: str) -> None:
    parser.define("num", type=option_type)
    with pytest.raises(Error, match=rf"Option 'num': invalid {option_type.__name__} value"):
        parse(parser, f"--num={text}")


def test_numbers(parser: OptionParser) -> None:
    parser.define("count", type=int)
    parser.define("scale", type=float)
    parse(parser, "--count=-12", "--scale=1e3")
    assert parser.count == -12
    assert parser.scale == 1000.0


def test_type_inferred_from_default(parser: OptionParser) -> None:
    parser.define("port", default=80)
    parser.define("ratio", default=0.5)
    parser.define("debug", default=False)
    parser.define("name")
    parse(parser, "--port=81", "--ratio=2", "--debug", "--name=9")
    assert parser.port == 81
    assert parser.ratio == 2.0
    assert isinstance(parser.ratio, float)
    assert parser.debug is True
    assert parser.name == "9"


# -- command line: datetime and timedelta ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime.datetime(2024, 5, 1)),
        ("20240501", datetime.datetime(2024, 5, 1)),
        ("2024-05-01 12:30", datetime.datetime(2024, 5, 1, 12, 30)),
        ("2024-05-01 12:30:15", datetime.datetime(2024, 5, 1, 12, 30, 15)),
        ("2024-05-01T12:30", datetime.datetime(2024, 5, 1, 12, 30)),
        ("2024-05-01T12:30:15", datetime.datetime(2024, 5, 1, 12, 30, 15)),
        ("2024-05-01T12:30:15.250", datetime.datetime(2024, 5, 1, 12, 30, 15, 250000)),
        ("2024-05-01T12:30:15Z", datetime.datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)),
        (
            "2024-05-01T12:30:15+02:00",
            datetime.datetime(
                2024, 5, 1, 12, 30, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
        ),
        ("Wed May 01 12:30:15 2024", datetime.datetime(2024, 5, 1, 12, 30, 15)),
        ("20240501 12:30:15", datetime.datetime(2024, 5, 1, 12, 30, 15)),
        ("20240501 12:30", datetime.datetime(2024, 5, 1, 12, 30)),
        ("12:30:15", datetime.datetime(1900, 1, 1, 12, 30, 15)),
        ("12:30", datetime.datetime(1900, 1, 1, 12, 30)),
        (" 2024-05-01 ", datetime.datetime(2024, 5, 1)),
    ],
)
def test_datetime_formats(parser: OptionParser, text: str, expected: datetime.datetime) -> None:
    parser.define("when", type=datetime.datetime)
    parse(parser, f"--when={text}")
    assert parser.when == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "2024-05-01 25:00", "12"])
def test_datetime_invalid(parser: OptionParser, text: str) -> None:
    parser.define("when", type=datetime.datetime)
    with pytest.raises(Error, match="Option 'when': invalid datetime value"):
        parse(parser, f"--when={text}")


td = datetime.timedelta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", td(seconds=10)),
        ("2.5", td(seconds=2.5)),
        ("10s", td(seconds=10)),
        ("10 sec", td(seconds=10)),
        ("10 seconds", td(seconds=10)),
        ("1 second", td(seconds=1)),
        ("5m", td(minutes=5)),
        ("5min", td(minutes=5)),
        ("5 minutes", td(minutes=5)),
        ("1h", td(hours=1)),
        ("1hr", td(hours=1)),
        ("1 hour", td(hours=1)),
        ("2 days", td(days=2)),
        ("1d", td(days=1)),
        ("1w", td(weeks=1)),
        ("3 weeks", td(weeks=3)),
        ("300ms", td(milliseconds=300)),
        ("300 milliseconds", td(milliseconds=300)),
        ("50us", td(microseconds=50)),
        ("50 microseconds", td(microseconds=50)),
        ("1h 30m", td(hours=1, minutes=30)),
        ("1h30m", td(hours=1, minutes=30)),
        ("1d 2h 3m 4s 5ms", td(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("-1.5h", td(hours=-1.5)),
        ("+2m", td(minutes=2)),
        (".5s", td(milliseconds=500)),
        ("1e2s", td(seconds=100)),
        ("1H", td(hours=1)),
        ("  7s  ", td(seconds=7)),
        ("1h -30m", td(minutes=30)),
    ],
)
def test_timedelta_formats(parser: OptionParser, text: str, expected: datetime.timedelta) -> None:
    parser.define("delay", type=datetime.timedelta)
    parse(parser, f"--delay={text}")
    assert parser.delay == expected


@pytest.mark.parametrize("text", ["", " ", "s", "10 fortnights", "1h and 2m", "ten", "1e400d"])
def test_timedelta_invalid(parser: OptionParser, text: str) -> None:
    parser.define("delay", type=datetime.timedelta)
    with pytest.raises(Error, match="Option 'delay': invalid timedelta value"):
        parse(parser, f"--delay={text}")


def test_timedelta_type_inferred_from_default(parser: OptionParser) -> None:
    parser.define("timeout", default=td(seconds=30))
    parse(parser, "--timeout=1m")
    assert parser.timeout == td(minutes=1)


# -- command line: multiple -------------------------------------------------------------


def test_multiple_strings(parser: OptionParser) -> None:
    parser.define("hosts", multiple=True)
    assert parser.hosts == []
    parse(parser, "--hosts=a.example,b.example")
    assert parser.hosts == ["a.example", "b.example"]


def test_multiple_strips_whitespace_and_empty_items(parser: OptionParser) -> None:
    parser.define("hosts", multiple=True)
    parse(parser, "--hosts= a , b,,c, ")
    assert parser.hosts == ["a", "b", "c"]
    parse(parser, "--hosts=")
    assert parser.hosts == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", [1]),
        ("1,2", [1, 2]),
        ("1:3", [1, 2, 3]),
        ("1,3:5", [1, 3, 4, 5]),
        ("8000:8002,9000", [8000, 8001, 8002, 9000]),
        ("5:5", [5]),
        ("-3:-1", [-3, -2, -1]),
        ("-1:1", [-1, 0, 1]),
        (" 1 : 2 ", [1, 2]),
    ],
)
def test_multiple_int_ranges(parser: OptionParser, text: str, expected: list[int]) -> None:
    parser.define("ports", type=int, multiple=True)
    parse(parser, f"--ports={text}")
    assert parser.ports == expected


@pytest.mark.parametrize("text", ["5:3", "1:x", "a", "1:2:3", ":3"])
def test_multiple_int_invalid(parser: OptionParser, text: str) -> None:
    parser.define("ports", type=int, multiple=True)
    with pytest.raises(Error, match="Option 'ports': invalid list of int value"):
        parse(parser, f"--ports={text}")


def test_multiple_other_types(parser: OptionParser) -> None:
    parser.define("ratios", type=float, multiple=True)
    parser.define("flags", type=bool, multiple=True)
    parser.define("delays", type=datetime.timedelta, multiple=True)
    parser.define("days", type=datetime.datetime, multiple=True)
    parse(
        parser,
        "--ratios=0.5,1",
        "--flags=yes,off,1",
        "--delays=1s,2m",
        "--days=2024-01-01,2024-01-02",
    )
    assert parser.flags == [True, False, True]
    assert parser.delays == [td(seconds=1), td(minutes=2)]
    assert parser.days == [datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2)]
    assert parser.ratios == [0.5, 1.0]


def test_multiple_float_has_no_ranges(parser: OptionParser) -> None:
    parser.define("ratios", type=float, multiple=True)
    with pytest.raises(Error, match="'ratios'"):
        parse(parser, "--ratios=1:2")


def test_multiple_overwrites(parser: OptionParser) -> None:
    parser.define("ports", type=int, multiple=True)
    parse(parser, "--ports=1,2", "--ports=3")
    assert parser.ports == [3]


def test_multiple_type_inferred_from_default(parser: OptionParser) -> None:
    parser.define("ports", default=[80, 443], multiple=True)
    parser.define("names", default=[], multiple=True)
    parser.define("tags", default=("x",), multiple=True)
    assert parser.ports == [80, 443]
    assert parser.tags == ["x"]
    parse(parser, "--ports=1:2", "--names=1,2", "--tags=y")
    assert parser.ports == [1, 2]
    assert parser.names == ["1", "2"]
    assert parser.tags == ["y"]


def test_multiple_bare_bool_flag(parser: OptionParser) -> None:
    parser.define("flags", type=bool, multiple=True)
    parse(parser, "--flags")
    assert parser.flags == [True]


# -- command line: custom types ------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


def test_callable_types(parser: OptionParser) -> None:
    parser.define("root", type=pathlib.PurePosixPath)
    parser.define("color", type=Color, multiple=True)
    parser.define("upper", type=str.upper)
    parse(parser, "--root=/srv/www", "--color=red,green", "--upper=abc")
    assert parser.root == pathlib.PurePosixPath("/srv/www")
    assert parser.color == [Color.RED, Color.GREEN]
    assert parser.upper == "ABC"


def test_callable_type_inferred_from_default(parser: OptionParser) -> None:
    parser.define("color", default=Color.RED)
    parse(parser, "--color=green")
    assert parser.color is Color.GREEN


def test_callable_type_errors_name_the_option(parser: OptionParser) -> None:
    parser.define("color", type=Color)
    with pytest.raises(Error, match="Option 'color': invalid Color value 'blue'"):
        parse(parser, "--color=blue")

    def picky(text: str) -> str:
        raise TypeError("not my type")

    parser.define("picky", type=picky)
    with pytest.raises(Error, match="Option 'picky': invalid picky value 'x' \\(not my type\\)"):
        parse(parser, "--picky=x")


def test_parse_error_chains_the_cause(parser: OptionParser) -> None:
    parser.define("port", type=int)
    with pytest.raises(Error) as info:
        parse(parser, "--port=x")
    assert isinstance(info.value.__cause__, ValueError)


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
