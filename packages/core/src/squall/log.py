"""Logging support.

squall logs to three named loggers, which can be configured independently
with the standard :mod:`logging` module (for example, to send access logs to
a file of their own):

``squall.access`` (:data:`access_log`)
    One line per request served by squall's HTTP servers.
``squall.application`` (:data:`app_log`)
    Errors from application code, such as uncaught exceptions in callbacks
    and request handlers.
``squall.general`` (:data:`gen_log`)
    Everything else, including errors and warnings from squall itself.

:func:`enable_pretty_logging` installs :class:`LogFormatter` on the root
logger; :func:`squall.options.parse_command_line` and
:func:`squall.options.parse_config_file` call it for you unless
``--logging=none`` is given.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

try:
    import curses

    _HAVE_CURSES = True
except ImportError:  # pragma: no cover - Windows and minimal builds
    # Without curses we cannot ask terminfo for the colour sequences;
    # _terminal_colors falls back to plain ANSI escapes.
    _HAVE_CURSES = False

if TYPE_CHECKING:
    from squall.options import OptionParser

__all__ = [
    "LogFormatter",
    "access_log",
    "app_log",
    "define_logging_options",
    "enable_pretty_logging",
    "gen_log",
]

access_log = logging.getLogger("squall.access")
app_log = logging.getLogger("squall.application")
gen_log = logging.getLogger("squall.general")

# Plain ANSI/ECMA-48 sequences, used when curses cannot describe the terminal
# (no curses module, as on Windows, where modern consoles understand ANSI).
_ANSI_FOREGROUND = "\033[3%dm"
_ANSI_NORMAL = "\033[0m"


class _LoggingOptions(Protocol):
    """What :func:`enable_pretty_logging` reads: the options of
    :func:`define_logging_options` (an OptionParser, or any object with
    these attributes, such as an :class:`argparse.Namespace`)."""

    @property
    def logging(self) -> str | None: ...
    @property
    def log_to_stderr(self) -> bool | None: ...
    @property
    def log_file_prefix(self) -> str | None: ...
    @property
    def log_file_max_size(self) -> int: ...
    @property
    def log_file_num_backups(self) -> int: ...
    @property
    def log_rotate_mode(self) -> str: ...
    @property
    def log_rotate_when(self) -> str: ...
    @property
    def log_rotate_interval(self) -> int: ...


def _stream_supports_color(stream: Any) -> bool:
    """Return True if *stream* is a terminal we should write colours to.

    Never raises: a stream without ``isatty`` (some test runners and
    services replace ``sys.stderr``) or a terminal curses cannot describe
    simply gets no colour.  The ``NO_COLOR`` convention (no-color.org) is
    honoured.
    """
    if os.environ.get("NO_COLOR"):
        return False
    try:
        if not stream.isatty():
            return False
    except Exception:
        return False
    if not _HAVE_CURSES:
        return True
    try:
        curses.setupterm(fd=stream.fileno())
        return bool(curses.tigetnum("colors") > 0)
    except Exception:
        return False


def _terminal_colors(colors: Mapping[int, int]) -> tuple[dict[int, str], str]:
    """Map log levels to terminal escape sequences, plus the reset sequence.

    Must only be called after :func:`_stream_supports_color` returned True,
    so that curses (if present) has been set up for the terminal.
    """
    if _HAVE_CURSES:
        # setaf is the ANSI colour capability; setf is the older one some
        # terminals still describe instead.
        fg = curses.tigetstr("setaf") or curses.tigetstr("setf")
        normal = curses.tigetstr("sgr0")
        if fg is not None and normal is not None:
            return (
                {
                    level: curses.tparm(fg, code).decode("ascii", "replace")
                    for level, code in colors.items()
                },
                normal.decode("ascii", "replace"),
            )
    return {level: _ANSI_FOREGROUND % code for level, code in colors.items()}, _ANSI_NORMAL


def _safe_text(value: Any) -> str:
    """Decode *value* as UTF-8 if it is bytes; return its repr if that fails."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return repr(value)
    return str(value)


class LogFormatter(logging.Formatter):
    """Log formatter used by squall.

    Key features:

    * colour on terminals that support it (``color=True`` and ``sys.stderr``
      is a colour-capable terminal, as determined by curses when available,
      else assumed to understand ANSI escapes; ``NO_COLOR`` disables it);
    * a timestamp on every line;
    * robust against encoding problems: a message given as bytes is decoded
      as UTF-8 (or shown as its repr if it is not valid UTF-8), and a
      message whose ``%`` formatting fails becomes a ``Bad message`` line
      instead of an exception;
    * exception tracebacks and stack information are appended with every
      line indented by four spaces.

    The constructor signature is compatible with :func:`logging.config.dictConfig`.

    :param fmt: log message format, applied to the attributes of the log
        record.  The text between ``%(color)s`` and ``%(end_color)s`` is
        coloured according to the record's level when colour is on.
    :param datefmt: format for the ``%(asctime)s`` placeholder.
    :param style: ``'%'``, ``'{'`` or ``'$'``, as for :class:`logging.Formatter`.
    :param color: enable colour support.
    :param colors: mapping from log level (exact ``levelno``) to terminal
        colour number (0-7); levels not listed are not coloured.

    Example::

        handler = logging.StreamHandler()
        handler.setFormatter(LogFormatter(color=False))
    """

    DEFAULT_FORMAT = (
        "%(color)s[%(levelname)1.1s %(asctime)s %(module)s:%(lineno)d]%(end_color)s %(message)s"
    )
    DEFAULT_DATE_FORMAT = "%y%m%d %H:%M:%S"
    DEFAULT_COLORS: dict[int, int] = {
        logging.DEBUG: 4,  # blue
        logging.INFO: 2,  # green
        logging.WARNING: 3,  # yellow
        logging.ERROR: 1,  # red
    }

    def __init__(
        self,
        fmt: str = DEFAULT_FORMAT,
        datefmt: str = DEFAULT_DATE_FORMAT,
        style: Literal["%", "{", "$"] = "%",
        color: bool = True,
        colors: Mapping[int, int] = DEFAULT_COLORS,
    ) -> None:
        super().__init__(fmt=fmt, datefmt=datefmt, style=style)
        self._colors: dict[int, str] = {}
        self._normal = ""
        if color and _stream_supports_color(sys.stderr):
            self._colors, self._normal = _terminal_colors(colors)

    def format(self, record: logging.LogRecord) -> str:
        """Return the formatted text of *record*; never raises for a bad message."""
        try:
            if isinstance(record.msg, bytes | bytearray):
                # str() of bytes would give "b'...'"; decode them instead.
                record.msg = _safe_text(record.msg)
            message = record.getMessage()
        except Exception as exc:
            message = f"Bad message ({exc!r}): {record.__dict__!r}"
        record.message = _safe_text(message)
        record.asctime = self.formatTime(record, self.datefmt)
        color = self._colors.get(record.levelno)
        if color is not None:
            record.color = color
            record.end_color = self._normal
        else:
            record.color = record.end_color = ""
        formatted = self.formatMessage(record)

        if record.exc_info and not record.exc_text:
            # Cache it like logging.Formatter does, for other handlers.
            record.exc_text = self.formatException(record.exc_info)
        extra = [_safe_text(text) for text in (record.exc_text, record.stack_info) if text]
        if extra:
            formatted = "\n".join([formatted.rstrip(), *(text.rstrip() for text in extra)])
        # Indent continuation lines so each record reads as one block.
        return formatted.replace("\n", "\n    ")


def enable_pretty_logging(
    options: _LoggingOptions | None = None, logger: logging.Logger | None = None
) -> None:
    """Turn on formatted logging output as configured by *options*.

    Called automatically by :func:`squall.options.parse_command_line` and
    :func:`squall.options.parse_config_file`.

    :param options: an object with the attributes defined by
        :func:`define_logging_options` (``logging``, ``log_to_stderr``,
        ``log_file_prefix``, ``log_file_max_size``, ``log_file_num_backups``,
        ``log_rotate_mode``, ``log_rotate_when``, ``log_rotate_interval``);
        defaults to :data:`squall.options.options`.
    :param logger: the logger to configure; defaults to the root logger.

    Does nothing if ``options.logging`` is None or ``"none"``.  Otherwise it
    sets the logger's level, adds a rotating file handler if
    ``log_file_prefix`` is set (by size with
    :class:`~logging.handlers.RotatingFileHandler` for
    ``log_rotate_mode="size"``, by time with
    :class:`~logging.handlers.TimedRotatingFileHandler` for ``"time"``), and
    a colourised stderr handler if ``log_to_stderr`` is true, or if it is
    None and the logger has no handlers yet.

    :raises ValueError: if ``log_rotate_mode`` is neither ``"size"`` nor
        ``"time"``, or ``logging`` is not a level name.
    """
    if options is None:
        # Imported here: squall.options imports this module at import time.
        import squall.options

        options = squall.options.options
    level_name = options.logging
    if level_name is None or level_name.lower() == "none":
        return
    level = logging.getLevelName(level_name.upper())
    if not isinstance(level, int):
        raise ValueError(f"Unknown log level {level_name!r} for the 'logging' option")
    if logger is None:
        logger = logging.getLogger()
    logger.setLevel(level)

    if options.log_file_prefix:
        rotate_mode = options.log_rotate_mode
        handler: logging.Handler
        if rotate_mode == "size":
            handler = logging.handlers.RotatingFileHandler(
                filename=options.log_file_prefix,
                mode="a",
                maxBytes=options.log_file_max_size,
                backupCount=options.log_file_num_backups,
                encoding="utf-8",
            )
        elif rotate_mode == "time":
            handler = logging.handlers.TimedRotatingFileHandler(
                filename=options.log_file_prefix,
                when=options.log_rotate_when,
                interval=options.log_rotate_interval,
                backupCount=options.log_file_num_backups,
                encoding="utf-8",
            )
        else:
            raise ValueError(
                f"The value of the log_rotate_mode option must be 'size' or 'time', "
                f"not {rotate_mode!r}"
            )
        handler.setFormatter(LogFormatter(color=False))
        logger.addHandler(handler)

    if options.log_to_stderr or (options.log_to_stderr is None and not logger.handlers):
        stderr_handler = logging.StreamHandler()
        stderr_handler.setFormatter(LogFormatter())
        logger.addHandler(stderr_handler)


def define_logging_options(options: OptionParser | None = None) -> None:
    """Add the logging options to *options* (default: :data:`squall.options.options`).

    The global option parser already has them; call this only for an
    :class:`~squall.options.OptionParser` of your own.  Also registers a parse
    callback that calls :func:`enable_pretty_logging` with *options*.

    :raises squall.options.Error: if any of the options is already defined.
    """
    if options is None:
        # Imported here: squall.options imports this module at import time.
        import squall.options

        options = squall.options.options
    options.define(
        "logging",
        default="info",
        help="Set the Python log level. If 'none', squall won't touch the logging configuration.",
        metavar="debug|info|warning|error|none",
    )
    options.define(
        "log_to_stderr",
        type=bool,
        default=None,
        help=(
            "Send log output to stderr (colorized if possible). By default use stderr if "
            "--log-file-prefix is not set and no other logging is configured."
        ),
    )
    options.define(
        "log_file_prefix",
        type=str,
        default=None,
        metavar="PATH",
        help=(
            "Path prefix for log files. If you run several squall processes, each needs its "
            "own log_file_prefix (e.g. include the port number)."
        ),
    )
    options.define(
        "log_file_max_size",
        type=int,
        default=100 * 1000 * 1000,
        help="Max size of log files before rollover (with --log-rotate-mode=size)",
    )
    options.define(
        "log_file_num_backups", type=int, default=10, help="Number of log files to keep"
    )
    options.define(
        "log_rotate_when",
        type=str,
        default="midnight",
        help=(
            "When to rotate with --log-rotate-mode=time: one of the intervals of "
            "logging.handlers.TimedRotatingFileHandler ('S', 'M', 'H', 'D', 'W0'-'W6', "
            "'midnight')"
        ),
    )
    options.define(
        "log_rotate_interval",
        type=int,
        default=1,
        help="Number of log_rotate_when units between rotations (with --log-rotate-mode=time)",
    )
    options.define(
        "log_rotate_mode",
        type=str,
        default="size",
        help="How to rotate log files: 'size' or 'time'",
    )
    parser = options
    parser.add_parse_callback(lambda: enable_pretty_logging(parser))
