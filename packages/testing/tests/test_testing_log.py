"""ExpectLog and the deprecated LogTrapTestCase."""

from __future__ import annotations

import io
import logging
import unittest
from collections.abc import Iterator

import pytest

from squall.testing import ExpectLog, LogTrapTestCase


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("squall.test_expectlog")
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.setLevel(logging.NOTSET)


def test_matching_records_are_swallowed_and_counted(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with ExpectLog(logger, "expected") as expect:
        logger.error("expected once")
        logger.warning("expected twice")
        logger.error("something else")
    assert expect.matched == 2
    assert [r.getMessage() for r in caplog.records] == ["something else"]
    assert not expect.logged_stack


def test_regex_matches_from_the_start_of_the_message(logger: logging.Logger) -> None:
    with pytest.raises(AssertionError), ExpectLog(logger, "middle"):
        logger.error("in the middle of it")
    with ExpectLog(logger, r".*middle") as expect:
        logger.error("in the middle of it")
    assert expect.matched == 1


def test_logger_by_name_and_its_descendants(caplog: pytest.LogCaptureFixture) -> None:
    child = logging.getLogger("squall.test_expectlog.child")
    with ExpectLog("squall.test_expectlog", "from the child"):
        child.error("from the child")
    assert caplog.records == []


def test_root_logger_by_empty_name(caplog: pytest.LogCaptureFixture) -> None:
    with ExpectLog("", "anywhere") as expect:
        logging.getLogger("squall.test_expectlog.elsewhere").error("anywhere at all")
        logging.getLogger().error("anywhere, on the root")
    assert expect.matched == 2
    assert caplog.records == []


def test_required_and_not_matched_fails_clearly(logger: logging.Logger) -> None:
    with pytest.raises(AssertionError) as info, ExpectLog(logger, "never said"):
        logger.error("said instead")
    message = str(info.value)
    assert "did not get expected log message" in message
    assert "'squall.test_expectlog'" in message
    assert "'never said'" in message
    assert "said instead" in message  # what came instead


def test_not_required(logger: logging.Logger) -> None:
    with ExpectLog(logger, "never said", required=False) as expect:
        pass
    assert expect.matched == 0


def test_an_exception_in_the_block_is_not_masked(logger: logging.Logger) -> None:
    with pytest.raises(KeyError), ExpectLog(logger, "never said"):
        raise KeyError


def test_logged_stack(logger: logging.Logger) -> None:
    with ExpectLog(logger, "oops") as expect:
        try:
            raise ValueError
        except ValueError:
            logger.exception("oops")
    assert expect.logged_stack


def test_level_must_match_exactly(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with ExpectLog(logger, "message", level=logging.WARNING) as expect:
        logger.warning("message at warning")
        logger.error("message at error")
    assert expect.matched == 1
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_level_lowers_the_logger_level_for_the_block(logger: logging.Logger) -> None:
    with ExpectLog(logger, "debug detail", level=logging.DEBUG) as expect:
        logger.debug("debug detail")
    assert expect.matched == 1
    assert logger.level == logging.INFO


def test_required_level_names_the_level(logger: logging.Logger) -> None:
    with (
        pytest.raises(AssertionError, match="at level ERROR"),
        ExpectLog(logger, "x", level=logging.ERROR),
    ):
        logger.warning("x")


def test_loggers_created_inside_the_block_are_watched(caplog: pytest.LogCaptureFixture) -> None:
    with ExpectLog("squall.test_expectlog_new", "from a new logger") as expect:
        logging.getLogger("squall.test_expectlog_new.created_now").error("from a new logger")
        logging.getLogger("squall.test_expectlog_newer").error("from a new logger")  # not ours
    assert expect.matched == 1
    assert [r.name for r in caplog.records] == ["squall.test_expectlog_newer"]


def test_filters_are_removed_afterwards(logger: logging.Logger) -> None:
    with ExpectLog(logger, "x", required=False):
        pass
    assert logger.filters == []
    assert logging.getLogger("squall.test_expectlog.child").filters == []


def test_expectlog_is_public_in_squall_testing() -> None:
    assert ExpectLog.__module__ == "squall.testing"
    assert isinstance(ExpectLog("x", "y"), logging.Filter)


# -- LogTrapTestCase --------------------------------------------------------------------


@pytest.fixture
def root_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def make_log_trap_case() -> type[unittest.TestCase]:
    with pytest.warns(DeprecationWarning, match="LogTrapTestCase is deprecated"):

        class Case(LogTrapTestCase):
            def test_passes(self) -> None:
                logging.getLogger("squall.test_logtrap").error("noise of a passing test")

            def test_fails(self) -> None:
                logging.getLogger("squall.test_logtrap").error("clue of a failing test")
                raise AssertionError("failing")

    return Case


def test_log_trap_discards_the_output_of_passing_tests(root_stream: io.StringIO) -> None:
    case = make_log_trap_case()
    result = unittest.TestResult()
    case("test_passes").run(result)
    assert result.wasSuccessful()
    assert root_stream.getvalue() == ""


def test_log_trap_shows_the_output_of_failing_tests(root_stream: io.StringIO) -> None:
    case = make_log_trap_case()
    result = unittest.TestResult()
    case("test_fails").run(result)
    assert len(result.failures) == 1
    assert "clue of a failing test" in root_stream.getvalue()


def test_log_trap_returns_a_result_when_given_none(root_stream: io.StringIO) -> None:
    case = make_log_trap_case()
    result = case("test_passes").run()
    assert result is not None
    assert result.testsRun == 1


def test_log_trap_combines_with_async_test_case(root_stream: io.StringIO) -> None:
    from squall.testing import AsyncTestCase, gen_test

    with pytest.warns(DeprecationWarning, match="LogTrapTestCase"):

        class Case(AsyncTestCase, LogTrapTestCase):
            @gen_test
            async def test_it(self) -> None:
                logging.getLogger("squall.test_logtrap").error("trapped")

    result = unittest.TestResult()
    Case("test_it").run(result)
    assert result.wasSuccessful(), result.errors
    assert root_stream.getvalue() == ""
