"""Fixtures and helpers shared by the squall.options tests (test_options*.py).

A module uses a fixture by importing it; its function is named ``*_fixture``
so that a test can take the fixture's name as an argument:

- ``parser``: a fresh OptionParser (``from options_helpers import parser_fixture``);
- ``global_options``: a fresh parser swapped in as squall.options.options for
  the test (``from options_helpers import global_options_fixture``).
"""

from __future__ import annotations

import datetime
import enum

import pytest

import squall.options
from squall.options import OptionParser

td = datetime.timedelta


def parse(parser: OptionParser, *args: str, final: bool = True) -> list[str]:
    return parser.parse_command_line(["prog", *args], final=final)


@pytest.fixture(name="parser")
def parser_fixture() -> OptionParser:
    return OptionParser()


@pytest.fixture(name="global_options")
def global_options_fixture(monkeypatch: pytest.MonkeyPatch) -> OptionParser:
    """Swap a fresh parser in as squall.options.options for the test."""
    fresh = OptionParser()
    monkeypatch.setattr(squall.options, "options", fresh)
    return fresh


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
