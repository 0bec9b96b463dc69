"""Tests for squall.log: loggers, LogFormatter and enable_pretty_logging."""

from __future__ import annotations

import ast
import io
import logging
import logging.config
import logging.handlers
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import squall.log
import squall.options
from squall.log import LogFormatter, define_logging_options, enable_pretty_logging
from squall.options import Error, OptionParser

PREFIX = re.compile(r"^\[([DIWEC]) (\d{6} \d\d:\d\d:\d\d) (\S+):(\d+)\] ")


# -- helpers -----------------------------------------------------------------


class FakeTerminal(io.StringIO):
    """A stderr replacement that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def ansi_terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Return a function that makes sys.stderr an ANSI terminal (no curses).

    In-process tests take the ANSI path because curses reads the terminal
    description only once per process; curses itself is tested in child
    processes on a real pseudo-terminal (format_on_pty).  The function is
    called from the test body because pytest's output capture replaces
    sys.stderr again between fixture set-up and the test call.
    """
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(squall.log, "_HAVE_CURSES", False)

    def install() -> None:
        monkeypatch.setattr(sys, "stderr", FakeTerminal())

    return install


def make_record(
    msg: Any = "hello %s",
    args: tuple[Any, ...] | None = ("world",),
    level: int = logging.INFO,
    exc_info: Any = None,
    sinfo: str | None = None,
) -> logging.LogRecord:
    return logging.LogRecord(
        "squall.test", level, "/src/app/module_x.py", 42, msg, args, exc_info, sinfo=sinfo
    )


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A private logger; its handlers are closed and removed afterwards.

    It is created outside logging's registry: pytest (9.2+) attaches its capture
    handlers to every registered non-propagating logger, which would hide the
    handlers enable_pretty_logging adds.
    """
    log = logging.Logger(f"squall.test.{request.node.name}")
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.setLevel(logging.NOTSET)
    log.propagate = True


def logging_options(**values: Any) -> OptionParser:
    parser = OptionParser()
    define_logging_options(parser)
    for name, value in values.items():
        setattr(parser, name, value)
    return parser


# -- module surface ------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(squall.log).items()
        if not name.startswith("_")
        and (
            isinstance(value, logging.Logger)
            or (callable(value) and getattr(value, "__module__", None) == "squall.log")
        )
    }
    assert squall.log.__all__ == sorted(squall.log.__all__)
    assert set(squall.log.__all__) == public


def test_logger_names() -> None:
    assert squall.log.access_log is logging.getLogger("squall.access")
    assert squall.log.app_log is logging.getLogger("squall.application")
    assert squall.log.gen_log is logging.getLogger("squall.general")


def test_documented_defaults() -> None:
    assert LogFormatter.DEFAULT_FORMAT == (
        "%(color)s[%(levelname)1.1s %(asctime)s %(module)s:%(lineno)d]%(end_color)s %(message)s"
    )
    assert LogFormatter.DEFAULT_DATE_FORMAT == "%y%m%d %H:%M:%S"
    assert LogFormatter.DEFAULT_COLORS == {40: 1, 10: 4, 20: 2, 30: 3}


# -- LogFormatter: text ----------------------------------------------------------


def test_default_format() -> None:
    text = LogFormatter(color=False).format(make_record())
    match = PREFIX.match(text)
    assert match is not None, text
    assert match.groups()[0] == "I"
    assert match.group(3, 4) == ("module_x", "42")
    assert text[match.end() :] == "hello world"


@pytest.mark.parametrize(
    ("level", "letter"),
    [
        (logging.DEBUG, "D"),
        (logging.INFO, "I"),
        (logging.WARNING, "W"),
        (logging.ERROR, "E"),
        (logging.CRITICAL, "C"),
    ],
)
def test_level_letter(level: int, letter: str) -> None:
    assert LogFormatter(color=False).format(make_record(level=level)).startswith(f"[{letter} ")


def test_custom_fmt_and_datefmt() -> None:
    formatter = LogFormatter(
        fmt="%(levelname)s|%(asctime)s|%(message)s", datefmt="%Y", color=False
    )
    record = make_record()
    assert formatter.format(record) == f"INFO|{record.asctime}|hello world"
    assert re.fullmatch(r"\d{4}", record.asctime)


def test_brace_style() -> None:
    formatter = LogFormatter(fmt="{color}<{levelname}> {message}{end_color}", style="{")
    assert formatter.format(make_record()) == "<INFO> hello world"


def test_dollar_style() -> None:
    formatter = LogFormatter(fmt="$levelname: $message", style="$", color=False)
    assert formatter.format(make_record()) == "INFO: hello world"


def test_invalid_style_is_rejected() -> None:
    with pytest.raises(ValueError):
        LogFormatter(style="?")  # type: ignore[arg-type]


def test_utf8_bytes_message_is_decoded() -> None:
    text = LogFormatter(color=False).format(make_record("caf\xc3\xa9".encode("latin-1"), None))
    assert text.endswith("] café")


def test_undecodable_bytes_message_shows_repr() -> None:
    text = LogFormatter(color=False).format(make_record(b"\xff\xfe", None))
    assert text.endswith(r"] b'\xff\xfe'")


def test_bytes_message_with_args() -> None:
    text = LogFormatter(color=False).format(make_record(b"n=%d", (5,)))
    assert text.endswith("] n=5")


def test_non_ascii_text_message() -> None:
    text = LogFormatter(color=False).format(make_record("snowman %s", ("☃",)))
    assert text.endswith("] snowman ☃")


def test_bad_message_does_not_raise() -> None:
    text = LogFormatter(color=False).format(make_record("%d items", ("many",)))
    assert "] Bad message (TypeError(" in text
    assert "'msg': '%d items'" in text


def test_too_few_arguments_is_a_bad_message() -> None:
    text = LogFormatter(color=False).format(make_record("%s and %s", ("one",)))
    assert "Bad message" in text


def test_exception_is_appended_and_indented() -> None:
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        record = make_record("failed", None, level=logging.ERROR, exc_info=sys.exc_info())
    text = LogFormatter(color=False).format(record)
    first, *rest = text.split("\n")
    assert first.endswith("] failed")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert rest[-2:] == ["    RuntimeError: boom", "    second line"]
    # The traceback text is cached on the record for other handlers.
    assert record.exc_text is not None
    assert record.exc_text.startswith("Traceback")


def test_cached_exc_text_is_used() -> None:
    record = make_record("failed", None)
    record.exc_text = "Traceback: cached\nline two"
    text = LogFormatter(color=False).format(record)
    assert text.split("\n")[1:] == ["    Traceback: cached", "    line two"]


def test_stack_info_is_appended() -> None:
    record = make_record("here", None, sinfo="Stack (most recent call last):\n  frame")
    text = LogFormatter(color=False).format(record)
    assert text.split("\n")[1:] == ["    Stack (most recent call last):", "      frame"]


def test_multiline_message_is_indented() -> None:
    text = LogFormatter(color=False).format(make_record("one\ntwo", None))
    assert text.endswith("] one\n    two")


def test_works_through_a_logger(logger: logging.Logger) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogFormatter(color=False))
    logger.addHandler(handler)
    logger.warning("value %r", b"\x00")
    line = stream.getvalue()
    assert PREFIX.match(line) is not None
    assert line.endswith("] value b'\\x00'\n")


def test_dict_config_compatible() -> None:
    # dictConfig configures loggers by name, so this one must be registered.
    name = "squall.test.dict_config"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "squall": {
                    "class": "squall.log.LogFormatter",
                    "format": "%(color)s%(levelname)s%(end_color)s %(message)s",
                    "datefmt": "%H",
                    "style": "%",
                }
            },
            "handlers": {"memory": {"class": "logging.NullHandler", "formatter": "squall"}},
            "loggers": {name: {"handlers": ["memory"], "level": "DEBUG"}},
        }
    )
    logger = logging.getLogger(name)
    try:
        handlers = [h for h in logger.handlers if isinstance(h, logging.NullHandler)]
        (handler,) = handlers
        assert isinstance(handler.formatter, LogFormatter)
        assert handler.formatter.datefmt == "%H"
        assert handler.formatter.format(make_record()) == "INFO hello world"
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


# -- LogFormatter: colour ----------------------------------------------------------


def test_ansi_color(ansi_terminal: Callable[[], None]) -> None:
    ansi_terminal()
    text = LogFormatter().format(make_record(level=logging.ERROR))
    assert text.startswith("\x1b[31m[E ")
    assert text.endswith("]\x1b[0m hello world")


@pytest.mark.parametrize(
    ("level", "code"),
    [(logging.DEBUG, 4), (logging.INFO, 2), (logging.WARNING, 3), (logging.ERROR, 1)],
)
def test_default_colors_per_level(
    ansi_terminal: Callable[[], None], level: int, code: int
) -> None:
    ansi_terminal()
    assert LogFormatter().format(make_record(level=level)).startswith(f"\x1b[3{code}m[")


def test_unmapped_level_is_not_colored(ansi_terminal: Callable[[], None]) -> None:
    ansi_terminal()
    text = LogFormatter().format(make_record(level=logging.CRITICAL))
    assert text.startswith("[C ")
    assert "\x1b" not in text


def test_custom_colors(ansi_terminal: Callable[[], None]) -> None:
    ansi_terminal()
    formatter = LogFormatter(colors={logging.INFO: 5})
    assert formatter.format(make_record()).startswith("\x1b[35m[I ")
    assert "\x1b" not in formatter.format(make_record(level=logging.ERROR))


def test_color_false_on_terminal(ansi_terminal: Callable[[], None]) -> None:
    ansi_terminal()
    assert "\x1b" not in LogFormatter(color=False).format(make_record())


def test_no_color_environment(
    ansi_terminal: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    ansi_terminal()
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in LogFormatter().format(make_record())


def test_color_is_decided_at_construction(ansi_terminal: Callable[[], None]) -> None:
    plain = LogFormatter()
    ansi_terminal()
    assert "\x1b" not in plain.format(make_record())


CHILD = """
import logging
from squall.log import LogFormatter
formatter = LogFormatter()
for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
    record = logging.LogRecord("x", level, "/m.py", 1, "hi", None, None)
    print(repr(formatter.format(record)))
"""


def format_on_pty(term: str) -> list[str]:
    """Format one record per level in a child process whose stderr is a real
    pseudo-terminal of type *term*; return the texts."""
    import pty  # POSIX only

    controller, terminal_fd = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = term
    env["PYTHONPATH"] = str(Path(squall.log.__file__).parent.parent)
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD],
            stderr=terminal_fd,
            stdout=subprocess.PIPE,
            env=env,
            check=True,
            text=True,
        )
    finally:
        os.close(terminal_fd)
        os.close(controller)
    texts = [ast.literal_eval(line) for line in result.stdout.splitlines()]
    assert all(isinstance(text, str) for text in texts)
    return texts


needs_pty = pytest.mark.skipif(
    not hasattr(os, "openpty") or not squall.log._HAVE_CURSES,
    reason="needs a pseudo-terminal and curses",
)


@needs_pty
def test_curses_terminal_colors() -> None:
    # xterm-256color's terminfo: setaf gives ESC [ 3<n> m, sgr0 ESC ( B ESC [ m.
    normal = "\x1b(B\x1b[m"
    debug, info, warning, error, critical = format_on_pty("xterm-256color")
    assert debug.startswith("\x1b[34m[D ")
    assert info.startswith("\x1b[32m[I ")
    assert warning.startswith("\x1b[33m[W ")
    assert error.startswith("\x1b[31m[E ")
    assert all(text.endswith(f"]{normal} hi") for text in (debug, info, warning, error))
    assert critical.startswith("[C ")
    assert critical.endswith("] hi")


@needs_pty
@pytest.mark.parametrize("term", ["dumb", "no-such-terminal-type"])
def test_terminal_without_colors(term: str) -> None:
    for text in format_on_pty(term):
        assert "\x1b" not in text


def test_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert "\x1b" not in LogFormatter().format(make_record())


def test_stderr_without_isatty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", object())
    assert "\x1b" not in LogFormatter().format(make_record())


def test_stderr_isatty_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    monkeypatch.setattr(sys, "stderr", Closed())
    assert "\x1b" not in LogFormatter().format(make_record())


# -- enable_pretty_logging -------------------------------------------------------------


def test_default_configuration_adds_stderr_handler(logger: logging.Logger) -> None:
    enable_pretty_logging(logging_options(), logger)
    assert logger.level == logging.INFO
    (handler,) = logger.handlers
    assert type(handler) is logging.StreamHandler
    assert isinstance(handler.formatter, LogFormatter)


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("debug", logging.DEBUG),
        ("INFO", logging.INFO),
        ("Warning", logging.WARNING),
        ("error", logging.ERROR),
        ("critical", logging.CRITICAL),
    ],
)
def test_level_names(logger: logging.Logger, name: str, level: int) -> None:
    enable_pretty_logging(logging_options(logging=name), logger)
    assert logger.level == level


@pytest.mark.parametrize("value", [None, "none", "None", "NONE"])
def test_logging_none_changes_nothing(logger: logging.Logger, value: str | None) -> None:
    enable_pretty_logging(logging_options(logging=value, log_to_stderr=True), logger)
    assert logger.level == logging.NOTSET
    assert logger.handlers == []


def test_unknown_level(logger: logging.Logger) -> None:
    with pytest.raises(ValueError, match="'loud'"):
        enable_pretty_logging(logging_options(logging="loud"), logger)


def test_existing_handlers_suppress_stderr(logger: logging.Logger) -> None:
    existing = logging.NullHandler()
    logger.addHandler(existing)
    enable_pretty_logging(logging_options(), logger)
    assert logger.handlers == [existing]


def test_log_to_stderr_true_forces_handler(logger: logging.Logger) -> None:
    logger.addHandler(logging.NullHandler())
    enable_pretty_logging(logging_options(log_to_stderr=True), logger)
    assert len(logger.handlers) == 2
    assert type(logger.handlers[1]) is logging.StreamHandler


def test_log_to_stderr_false(logger: logging.Logger) -> None:
    enable_pretty_logging(logging_options(log_to_stderr=False), logger)
    assert logger.handlers == []
    assert logger.level == logging.INFO


def test_size_rotation(logger: logging.Logger, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    options = logging_options(
        log_file_prefix=str(path), log_file_max_size=300, log_file_num_backups=2
    )
    enable_pretty_logging(options, logger)
    (handler,) = logger.handlers  # a log file means no automatic stderr handler
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.baseFilename == str(path)
    assert handler.maxBytes == 300
    assert handler.backupCount == 2
    assert isinstance(handler.formatter, LogFormatter)

    for n in range(40):
        logger.info("line %d é", n)
    handler.flush()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["app.log", "app.log.1", "app.log.2"]
    text = path.read_text("utf-8")
    assert "line 39 é" in text
    assert "\x1b" not in text
    assert all(PREFIX.match(line) for line in text.splitlines())


def test_size_rotation_defaults(logger: logging.Logger, tmp_path: Path) -> None:
    enable_pretty_logging(logging_options(log_file_prefix=str(tmp_path / "x.log")), logger)
    (handler,) = logger.handlers
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 100 * 1000 * 1000
    assert handler.backupCount == 10


def test_time_rotation(logger: logging.Logger, tmp_path: Path) -> None:
    path = tmp_path / "timed.log"
    options = logging_options(
        log_file_prefix=str(path),
        log_rotate_mode="time",
        log_rotate_when="H",
        log_rotate_interval=3,
        log_file_num_backups=4,
    )
    enable_pretty_logging(options, logger)
    (handler,) = logger.handlers
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert handler.baseFilename == str(path)
    assert handler.when == "H"
    assert handler.interval == 3 * 60 * 60
    assert handler.backupCount == 4
    logger.warning("written")
    handler.flush()
    assert "written" in path.read_text("utf-8")


def test_time_rotation_defaults(logger: logging.Logger, tmp_path: Path) -> None:
    options = logging_options(log_file_prefix=str(tmp_path / "t.log"), log_rotate_mode="time")
    enable_pretty_logging(options, logger)
    (handler,) = logger.handlers
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert handler.when == "MIDNIGHT"
    assert handler.interval == 24 * 60 * 60


def test_file_and_stderr(logger: logging.Logger, tmp_path: Path) -> None:
    options = logging_options(log_file_prefix=str(tmp_path / "a.log"), log_to_stderr=True)
    enable_pretty_logging(options, logger)
    assert [type(h) for h in logger.handlers] == [
        logging.handlers.RotatingFileHandler,
        logging.StreamHandler,
    ]


def test_bad_rotate_mode(logger: logging.Logger, tmp_path: Path) -> None:
    options = logging_options(log_file_prefix=str(tmp_path / "a.log"), log_rotate_mode="daily")
    with pytest.raises(ValueError, match="'daily'"):
        enable_pretty_logging(options, logger)
    assert logger.handlers == []


def test_duck_typed_options(logger: logging.Logger, tmp_path: Path) -> None:
    options = types.SimpleNamespace(
        logging="debug",
        log_to_stderr=None,
        log_file_prefix=str(tmp_path / "d.log"),
        log_file_max_size=1000,
        log_file_num_backups=1,
        log_rotate_mode="size",
        log_rotate_when="midnight",
        log_rotate_interval=1,
    )
    enable_pretty_logging(options, logger)
    assert logger.level == logging.DEBUG
    (handler,) = logger.handlers
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 1000


def test_global_options_by_default(logger: logging.Logger) -> None:
    mock_options = squall.options.options.mockable()
    from unittest import mock

    with (
        mock.patch.object(mock_options, "logging", "error"),
        mock.patch.object(mock_options, "log_to_stderr", False),
    ):
        enable_pretty_logging(logger=logger)
    assert logger.level == logging.ERROR
    assert logger.handlers == []


def test_root_logger_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    enable_pretty_logging(logging_options(logging="warning"))
    assert root.level == logging.WARNING
    (handler,) = root.handlers
    assert isinstance(handler.formatter, LogFormatter)


# -- define_logging_options ---------------------------------------------------------


def test_define_logging_options_defaults() -> None:
    parser = OptionParser()
    define_logging_options(parser)
    assert {name: parser[name] for name in parser if name != "help"} == {
        "logging": "info",
        "log_to_stderr": None,
        "log_file_prefix": None,
        "log_file_max_size": 100 * 1000 * 1000,
        "log_file_num_backups": 10,
        "log_rotate_when": "midnight",
        "log_rotate_interval": 1,
        "log_rotate_mode": "size",
    }
    assert parser.groups() == {"", squall.log.__file__}


def test_define_logging_options_types() -> None:
    parser = logging_options()
    parser.parse_command_line(
        [
            "prog",
            "--logging=none",
            "--log-to-stderr",
            "--log-file-max-size=5",
            "--log_file_num_backups=2",
            "--log-rotate-interval=7",
        ]
    )
    assert parser.log_to_stderr is True
    assert parser.log_file_max_size == 5
    assert parser.log_file_num_backups == 2
    assert parser.log_rotate_interval == 7
    with pytest.raises(Error):
        parser.log_file_max_size = "big"


def test_parse_runs_enable_pretty_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(squall.log, "enable_pretty_logging", calls.append)
    parser = logging_options()
    parser.parse_command_line(["prog"], final=False)
    assert calls == []
    parser.parse_command_line(["prog", "--logging=debug"])
    assert calls == [parser]


def test_parse_configures_root_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    parser = logging_options()
    parser.parse_command_line(["prog", "--logging=debug"])
    assert root.level == logging.DEBUG
    assert len(root.handlers) == 1


def test_define_logging_options_twice() -> None:
    parser = logging_options()
    with pytest.raises(Error, match=r"'logging' already defined in .*log\.py"):
        define_logging_options(parser)


def test_define_logging_options_defaults_to_global() -> None:
    # The global parser already has them, so defining them again must fail.
    assert "log_file_prefix" in squall.options.options
    with pytest.raises(Error, match="already defined"):
        define_logging_options()
