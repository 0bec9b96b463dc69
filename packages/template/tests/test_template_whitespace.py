"""filter_whitespace, the whitespace modes and how a template picks one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall.template import DictLoader, Template, filter_whitespace

SAMPLE = "  <ul>\n\n    <li>a  \t b</li>\n  </ul>  "


def test_filter_whitespace_all() -> None:
    assert filter_whitespace("all", SAMPLE) == SAMPLE


def test_filter_whitespace_single() -> None:
    assert filter_whitespace("single", SAMPLE) == " <ul>\n<li>a b</li>\n</ul> "


def test_filter_whitespace_oneline() -> None:
    assert filter_whitespace("oneline", SAMPLE) == " <ul> <li>a b</li> </ul> "


def test_filter_whitespace_unknown_mode() -> None:
    with pytest.raises(ValueError, match="'compact'"):
        filter_whitespace("compact", "x")


@given(st.text())
def test_single_mode_properties(text: str) -> None:
    result = filter_whitespace("single", text)
    assert result.split() == text.split()
    assert result.count("\n") <= text.count("\n")
    assert "  " not in result
    assert ("\n" in result) == ("\n" in text)


@given(st.text())
def test_oneline_mode_properties(text: str) -> None:
    result = filter_whitespace("oneline", text)
    assert result.split() == text.split()
    assert "\n" not in result
    assert "  " not in result


@given(st.text(), st.sampled_from(["all", "single", "oneline"]))
def test_modes_are_idempotent(text: str, mode: str) -> None:
    once = filter_whitespace(mode, text)
    assert filter_whitespace(mode, once) == once


# -- which mode a template uses -------------------------------------------

TEXT = "a  \n\n  b"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("page.html", b"a\nb"),
        ("script.js", b"a\nb"),
        ("page.txt", TEXT.encode()),
        ("<string>", TEXT.encode()),
        ("page.html.txt", TEXT.encode()),
    ],
)
def test_default_mode_depends_on_the_name(name: str, expected: bytes) -> None:
    assert Template(TEXT, name=name).generate() == expected


@pytest.mark.parametrize(
    ("mode", "expected"), [("all", TEXT.encode()), ("single", b"a\nb"), ("oneline", b"a b")]
)
def test_whitespace_argument(mode: str, expected: bytes) -> None:
    assert Template(TEXT, name="page.html", whitespace=mode).generate() == expected


def test_whitespace_argument_unknown_mode() -> None:
    with pytest.raises(ValueError, match="'bogus'"):
        Template("x", whitespace="bogus")


def test_whitespace_applies_only_to_text_not_to_values() -> None:
    template = Template("  {{ v }}  ", whitespace="oneline")
    assert template.generate(v="a   \n b") == b" a   \n b "


def test_compress_whitespace_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="compress_whitespace"):
        template = Template(TEXT, name="x.txt", compress_whitespace=True)
    assert template.generate() == b"a\nb"
    with pytest.warns(DeprecationWarning, match="compress_whitespace"):
        template = Template(TEXT, name="x.html", compress_whitespace=False)
    assert template.generate() == TEXT.encode()


def test_explicit_whitespace_wins_over_compress_whitespace() -> None:
    with pytest.warns(DeprecationWarning, match="compress_whitespace"):
        template = Template(TEXT, compress_whitespace=True, whitespace="oneline")
    assert template.generate() == b"a b"


def test_loader_whitespace_overrides_the_name_default() -> None:
    loader = DictLoader({"a.html": TEXT, "b.txt": TEXT}, whitespace="oneline")
    assert loader.load("a.html").generate() == b"a b"
    assert loader.load("b.txt").generate() == b"a b"
    loader = DictLoader({"a.html": TEXT}, whitespace="all")
    assert loader.load("a.html").generate() == TEXT.encode()


def test_template_argument_overrides_the_loader() -> None:
    loader = DictLoader({}, whitespace="oneline")
    assert Template(TEXT, loader=loader, whitespace="all").generate() == TEXT.encode()


def test_loader_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="'bogus'"):
        DictLoader({}, whitespace="bogus")


def test_whitespace_directive_applies_to_the_rest_of_the_file() -> None:
    source = "a  b\n\n{% whitespace oneline %}c  \n  d{% whitespace all %}e  \n  f"
    assert Template(source, name="x.html").generate() == b"a b\nc de  \n  f"


def test_whitespace_directive_does_not_leak_into_includes_or_parents() -> None:
    loader = DictLoader(
        {
            "page.html": "{% whitespace oneline %}x  \n  {% include 'inc.html' %}",
            "inc.html": "y  \n\n  z",
        }
    )
    assert loader.load("page.html").generate() == b"x y\nz"


def test_each_file_uses_its_own_default_mode() -> None:
    loader = DictLoader({"page.html": "a  \n  {% include 'inc.txt' %}", "inc.txt": "b  \n  c"})
    assert loader.load("page.html").generate() == b"a\nb  \n  c"


def test_text_containing_pre_is_kept() -> None:
    source = "<pre>\n  keep   this\n</pre>{% if True %}  \n  x{% end %}"
    assert Template(source, name="a.html").generate() == b"<pre>\n  keep   this\n</pre>\nx"


def test_whitespace_around_comments_is_filtered_per_chunk() -> None:
    assert Template("a  {# c #}  b", name="a.html").generate() == b"a  b"
