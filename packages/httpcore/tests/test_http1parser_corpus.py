"""The corpus of request-smuggling and malformed-message cases, over both parsers.

Each case of ``http1_corpus.py`` is fed whole and in small pieces to
`PyParser` and `HtParser`; all four runs must end with the case's status
(or parse without error).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from squall._http1 import EndOfMessage, ParseError
from squall._http1._htparser import HtParser
from squall._http1._pyparser import PyParser


def _load_corpus() -> ModuleType:
    # Test directories are not packages (--import-mode=importlib).
    path = Path(__file__).with_name("http1_corpus.py")
    spec = importlib.util.spec_from_file_location("_squall_http1_corpus", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # for the NamedTuple's dataclass-like machinery
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()


def outcome(parser: PyParser, data: bytes, eof: bool, pieces: int) -> int | None:
    """The status of the ParseError the stream raises, or None."""
    error: ParseError | None = None
    chunks = [data[i : i + pieces] for i in range(0, len(data), pieces)] if pieces else [data]
    if eof:
        chunks.append(b"")
    try:
        for chunk in chunks:
            parser.receive(chunk)
            while (event := parser.next_event()) is not None:
                if isinstance(event, EndOfMessage):
                    parser.start_next_message()
    except ParseError as exc:
        error = exc
    if error is None:
        return None
    assert len(str(error)) < 200  # bounded, whatever the input
    return error.status


def _pieces(data: bytes) -> list[int]:
    return [0, 1, 5] if len(data) < 2000 else [0, 997]


@pytest.mark.parametrize("parser_class", [PyParser, HtParser], ids=["python", "httptools"])
@pytest.mark.parametrize("case", corpus.REQUESTS, ids=[c.id for c in corpus.REQUESTS])
def test_request_corpus(parser_class: type[PyParser], case: Any) -> None:
    for pieces in _pieces(case.data):
        assert outcome(parser_class(False), case.data, case.eof, pieces) == case.status, pieces


@pytest.mark.parametrize("parser_class", [PyParser, HtParser], ids=["python", "httptools"])
@pytest.mark.parametrize("case", corpus.RESPONSES, ids=[c.id for c in corpus.RESPONSES])
def test_response_corpus(parser_class: type[PyParser], case: Any) -> None:
    for pieces in _pieces(case.data):
        assert outcome(parser_class(True), case.data, case.eof, pieces) == case.status, pieces


def test_corpus_ids_are_unique() -> None:
    for cases in (corpus.REQUESTS, corpus.RESPONSES):
        ids = [case.id for case in cases]
        assert len(ids) == len(set(ids))
