"""The helpers compiled templates call: escaping and text conversion."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall import escape
from squall._template import _codegen, _runtime
from squall.template import BaseLoader, DictLoader, ParseError, Template


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",))),
    st.binary().filter(_decodes),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)


def _reference(value: Any) -> str:
    if not isinstance(value, str | bytes):
        value = str(value)
    return escape.xhtml_escape(value)


@given(_values)
def test_fast_escaper_matches_xhtml_escape(value: Any) -> None:
    fast = _runtime.escaper(escape.xhtml_escape)
    assert fast(value) == _reference(value)


def test_fast_escaper_is_used_for_the_default_function() -> None:
    assert _runtime.escaper(escape.xhtml_escape) is _runtime._FAST_XHTML_ESCAPE
    assert _runtime._FAST_XHTML_ESCAPE is not None


def test_no_fast_path_if_xhtml_escape_is_not_a_plain_replacement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(escape, "xhtml_escape", lambda value: "x")
    assert _runtime._make_fast_xhtml_escape() is None


def test_escaper_for_other_functions_passes_utf8_bytes() -> None:
    seen: list[object] = []

    def func(value: bytes) -> bytes:
        seen.append(value)
        return value

    wrapped = _runtime.escaper(func)
    assert wrapped("é") == "é"
    assert wrapped(b"b") == "b"
    assert wrapped(7) == "7"
    assert seen == ["é".encode(), b"b", b"7"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("s", "s"), (b"b", "b"), (1, "1"), (None, "None"), (b"\xff", "\udcff")],
)
def test_text(value: object, expected: str) -> None:
    assert _runtime.text(value) == expected


def test_text_of_str_subclass_is_a_plain_str() -> None:
    class Sub(str):
        pass

    result = _runtime.text(Sub("x"))
    assert result == "x"
    assert type(result) is str


def test_null_byte_in_an_expression_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="invalid Python"):
        Template("{{ '\0' }}")


def test_include_cycle_through_a_loader_without_cycle_detection() -> None:
    # A loader that hands back an already compiled template for any name,
    # including a template that includes that same name.
    inner = Template("{% include 'x' %}", name="t", loader=DictLoader({"x": "leaf"}))

    class Same(BaseLoader):
        def load(self, name: str, parent_path: str | None = None) -> Template:
            return inner

    with pytest.raises(ParseError, match="include cycle: top -> t -> t"):
        Template("{% include 'y' %}", name="top", loader=Same())


@given(st.text())
def test_fstring_body_round_trips(text: str) -> None:
    literal = "f'" + _codegen._fstring_body(text) + "'"
    assert eval(literal) == text


def test_braces_and_quotes_next_to_expressions() -> None:
    source = "{a} }'\"\\n\\{{ x }}{ '''\"\"\"{{ x }}}"
    assert Template(source).generate(x=1) == b"{a} }'\"\\n\\1{ '''\"\"\"1}"
