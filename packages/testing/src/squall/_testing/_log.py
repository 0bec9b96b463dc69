"""Controlling log output in tests: `ExpectLog`, and the deprecated `LogTrapTestCase`."""

from __future__ import annotations

import io
import logging
import re
import unittest
import warnings
from types import TracebackType
from typing import Any

__all__ = ["ExpectLog", "LogTrapTestCase", "suppressed_count"]

# How many of the messages an ExpectLog let through it quotes when the
# expected one never came: enough to spot a near miss, short enough to read.
_QUOTED_MESSAGES = 5
# Each quoted message is cut to this many characters.
_QUOTED_LENGTH = 200


class _Counter:
    # Records swallowed by any ExpectLog so far (see suppressed_count).
    value = 0


_suppressed = _Counter()


def suppressed_count() -> int:
    """Return how many log records ExpectLogs have swallowed so far in this process.

    The test supervisor compares it before and after logging an exception
    raised in a callback: a record an `ExpectLog` swallowed was expected,
    so the exception does not fail the test.
    """
    return _suppressed.value


class ExpectLog(logging.Filter):
    """Context manager that captures and suppresses expected log output.

    Useful to make tests of error conditions less noisy, while still
    leaving unexpected log entries visible::

        with ExpectLog("squall.application", "Uncaught exception"):
            error_response = self.fetch("/some_page")

    Records of the watched logger and of its descendants (``"squall"``
    covers ``"squall.application"``, even if it is created inside the
    block) whose message matches `regex` (with
    `re.match`, i.e. from its start) are swallowed and counted in
    `matched`; the others go through untouched.  An exception raised in a
    callback and logged by the IOLoop does not fail an `AsyncTestCase`
    when an ExpectLog swallows its record.

    On leaving the ``with`` block without an exception, a `required`
    ExpectLog that matched nothing raises `AssertionError` naming the
    logger, the pattern and a few of the messages that were logged instead.
    Not thread safe.

    :param logger: a `logging.Logger` or the name of one; ``""`` watches the
        root logger, hence every logger.
    :param regex: the regular expression messages must match.
    :param required: fail if nothing matched.
    :param level: a level (``logging.WARNING``...): only records of exactly
        this level match.  The logger's level is lowered for the duration
        of the block if needed, so that the message is emitted at all.

    Attributes: `matched`, the number of records swallowed (so
    ``if expect.matched:`` reads as before); `logged_stack`, true if any
    record seen carried an exception traceback.
    """

    __module__ = "squall.testing"

    def __init__(
        self,
        logger: logging.Logger | str,
        regex: str,
        required: bool = True,
        level: int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        self.logger = logger
        self.regex = re.compile(regex)
        self.required = required
        self.level = level
        #: How many records matched (and were swallowed).
        self.matched = 0
        #: True if any record seen had exception information.
        self.logged_stack = False
        self._let_through: list[str] = []
        self._watched: list[logging.Logger] = []
        self._handlers: list[logging.Handler] = []
        self._saved_level: int | None = None
        # A record reaches this filter once per logger or handler it passes:
        # the last one decided, so that it is counted once.
        self._last: tuple[logging.LogRecord, bool] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False (swallow) for a matching record, True otherwise."""
        last = self._last
        if last is not None and last[0] is record:
            return last[1]
        decision = self._decide(record)
        self._last = (record, decision)
        return decision

    def _decide(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            self.logged_stack = True
        message = record.getMessage()
        if self.regex.match(message) and (self.level is None or record.levelno == self.level):
            self.matched += 1
            _suppressed.value += 1
            return False
        if len(self._let_through) < _QUOTED_MESSAGES:
            self._let_through.append(
                f"{record.levelname} {record.name}: {message[:_QUOTED_LENGTH]!r}"
            )
        return True

    def __enter__(self) -> ExpectLog:
        if self.level is not None and self.logger.getEffectiveLevel() > self.level:
            self._saved_level = self.logger.level
            self.logger.setLevel(self.level)
        self._watched = [self.logger, *_descendants(self.logger)]
        for logger in self._watched:
            logger.addFilter(self)
        # Loggers created inside the block have no filter: their records are
        # caught at the handlers they propagate to.
        self._handlers = _handlers_reached(self.logger)
        for handler in self._handlers:
            handler.addFilter(self._filter_at_handler)
        return self

    def _filter_at_handler(self, record: logging.LogRecord) -> bool:
        # Handlers are shared: only records of the watched subtree are ours.
        name = self.logger.name
        watched = (
            self.logger is logging.getLogger()
            or record.name == name
            or record.name.startswith(name + ".")
        )
        return self.filter(record) if watched else True

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for logger in self._watched:
            logger.removeFilter(self)
        for handler in self._handlers:
            handler.removeFilter(self._filter_at_handler)
        self._watched = []
        self._handlers = []
        self._last = None
        if self._saved_level is not None:
            self.logger.setLevel(self._saved_level)
            self._saved_level = None
        if typ is None and self.required and not self.matched:
            raise AssertionError(self._missing_message())

    def _missing_message(self) -> str:
        where = self.logger.name if self.logger.name != "root" else "the root logger"
        level = f" at level {logging.getLevelName(self.level)}" if self.level is not None else ""
        text = (
            f"did not get expected log message: nothing logged to {where!r}{level} "
            f"matched {self.regex.pattern!r}"
        )
        if self._let_through:
            text += "; logged instead: " + "; ".join(self._let_through)
        return text


def _descendants(logger: logging.Logger) -> list[logging.Logger]:
    # Filters of a logger see only the records created on it, not those
    # propagated from its children: watch the existing children too.
    if logger is logging.getLogger():
        prefix = ""
    else:
        prefix = logger.name + "."
    return [
        child
        for name, child in list(logging.Logger.manager.loggerDict.items())
        if name.startswith(prefix) and isinstance(child, logging.Logger) and child is not logger
    ]


def _handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    # The handlers a record of `logger` (or of a descendant) propagates to.
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers.extend(current.handlers)
        current = current.parent if current.propagate else None
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    return handlers


class LogTrapTestCase(unittest.TestCase):
    """A test case that captures and discards log output if the test passes (deprecated).

    Deprecated: use `ExpectLog`, unittest's ``--buffer`` option, or
    pytest's log capture.  Defining a subclass warns.

    While each test runs, the output of the root logger's stream handlers
    goes to a buffer; if the test fails or errs, the buffer is written to
    the handlers' streams afterwards.  Safe to combine with `AsyncTestCase`
    through multiple inheritance
    (``class MyTestCase(AsyncHTTPTestCase, LogTrapTestCase)``).
    """

    __module__ = "squall.testing"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        warnings.warn(
            "LogTrapTestCase is deprecated; use ExpectLog, unittest's --buffer option "
            "or pytest's log capture",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init_subclass__(**kwargs)

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        root = logging.getLogger()
        trapped = [
            (handler, io.StringIO())
            for handler in root.handlers
            if type(handler) is logging.StreamHandler
        ]
        streams = [(handler, handler.setStream(buffer)) for handler, buffer in trapped]
        watcher = _FailureWatcher(result if result is not None else self.defaultTestResult())
        try:
            super().run(watcher)  # type: ignore[arg-type]
        finally:
            for (handler, stream), (_, buffer) in zip(streams, trapped, strict=True):
                handler.setStream(stream)
                if watcher.failed and stream is not None:
                    stream.write(buffer.getvalue())
        returned: unittest.TestResult = watcher.result
        return returned


class _FailureWatcher:
    """A proxy of a test result that notes whether the test failed."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.result, name)

    def addError(self, test: Any, err: Any) -> None:
        self.failed = True
        self.result.addError(test, err)

    def addFailure(self, test: Any, err: Any) -> None:
        self.failed = True
        self.result.addFailure(test, err)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            self.failed = True
        self.result.addSubTest(test, subtest, err)
