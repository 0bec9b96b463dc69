"""Tests for squall.options: defining and reading options, and the command line.

Setting values, callbacks, config files, help and the global parser are in
test_options_config.py; the shared fixtures and helpers in options_helpers.py.
"""

from __future__ import annotations

import datetime
import pathlib
import sys
from typing import Any

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

UTC = datetime.UTC


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
