"""Every piece of template syntax, rendered."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall.template import DictLoader, Template


def render(source: str, **kwargs: Any) -> bytes:
    return Template(source).generate(**kwargs)


# -- expressions -----------------------------------------------------------


def test_plain_text_is_returned_as_utf8() -> None:
    assert render("héllo wörld ☃") == "héllo wörld ☃".encode()


def test_empty_template() -> None:
    assert render("") == b""


def test_expression() -> None:
    assert render("<html>{{ myvalue }}</html>", myvalue="XXX") == b"<html>XXX</html>"


def test_expression_is_any_python() -> None:
    source = "{{ ', '.join(p['n'] for p in people if p['age'] > 23) }}"
    people = [{"n": "a", "age": 30}, {"n": "b", "age": 20}, {"n": "c", "age": 40}]
    assert render(source, people=people) == b"a, c"


def test_functions_passed_in() -> None:
    assert render("{{ add(1, 2) }}", add=lambda x, y: x + y) == b"3"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, b"1"),
        (-3, b"-3"),
        (1.5, b"1.5"),
        (None, b"None"),
        (True, b"True"),
        (b"bytes", b"bytes"),
        ("caf\u00e9", "caf\u00e9".encode()),
        ("caf\u00e9".encode(), "caf\u00e9".encode()),
        ([1, "<"], b"[1, &#39;&lt;&#39;]"),
    ],
)
def test_expression_values_are_converted(value: object, expected: bytes) -> None:
    assert render("{{ value }}", value=value) == expected


def test_str_subclass_is_escaped_as_text() -> None:
    class Markup(str):
        def __str__(self) -> str:
            return "overridden"

    assert render("{{ v }}", v=Markup("<b>")) == b"&lt;b&gt;"
    assert render("{% raw v %}", v=Markup("<b>")) == b"<b>"


def test_object_with_str() -> None:
    class Thing:
        def __str__(self) -> str:
            return "<thing>"

    assert render("{{ t }}", t=Thing()) == b"&lt;thing&gt;"
    assert render("{% raw t %}", t=Thing()) == b"<thing>"


def test_expression_with_string_literals_and_comments() -> None:
    assert render('{{ "a}b" }}') == b"a}b"
    assert render("{{ 1 + 1 # a comment }}") == b"2"
    assert render("{{ '#' }}") == b"#"


def test_multiline_expression() -> None:
    assert render("{{ add(1,\n 2) }}", add=lambda x, y: x + y) == b"3"
    assert render("{{ [1,\n 2,\n 3][-1] }}") == b"3"


def test_unicode_literals_in_expressions() -> None:
    assert render("{{ 'é' }}{{ \"\\u2603\" }}") == "é☃".encode()


def test_non_ascii_name_and_source_as_bytes() -> None:
    template = Template("Ünïcode {{ x }}".encode(), name="tëmplate.html")
    assert template.generate(x="ö") == "Ünïcode ö".encode()


def test_invalid_utf8_bytes_pass_through_raw() -> None:
    assert render("a{% raw v %}b", v=b"\xff\xfe") == b"a\xff\xfeb"


def test_generate_twice_is_independent() -> None:
    template = Template("{% set y = x + 1 %}{{ y }}")
    assert template.generate(x=1) == b"2"
    assert template.generate(x=5) == b"6"


def test_code_attribute_is_generated_python() -> None:
    template = Template("hi {{ name }}")
    assert "def _tt_execute():" in template.code
    assert "name" in template.code
    compile(template.code, "x", "exec")


# -- literal escapes and comments -----------------------------------------


def test_literal_tag_escapes() -> None:
    assert render("{{!") == b"{{"
    assert render("{%!") == b"{%"
    assert render("{#!") == b"{#"
    assert render("{{! x }}") == b"{{ x }}"
    assert render("{%! if x %}") == b"{% if x %}"
    assert render("{#! not a comment #}") == b"{# not a comment #}"


def test_stray_braces_are_text() -> None:
    assert render("{ } }} %} #} {") == b"{ } }} %} #} {"
    assert render("a{b") == b"a{b"


def test_three_braces_use_the_innermost_pair() -> None:
    assert render("{{{ x }}}", x=1) == b"{1}"
    assert render(r"\frac{{{ a }}}{2}", a="x") == b"\\frac{x}{2}"


def test_comment() -> None:
    assert render("a{# comment {{ x }} {% if %} #}b") == b"ab"
    assert render("a{# multi\nline #}b") == b"ab"


def test_comment_directive() -> None:
    assert render("a{% comment this is ignored %}b") == b"ab"
    assert render("a{% comment %}b") == b"ab"


# -- control flow ----------------------------------------------------------


def test_if_elif_else() -> None:
    source = "{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% end %}"
    assert [render(source, x=x) for x in (1, 2, 3, 4)] == [b"one", b"two", b"three", b"many"]


def test_empty_blocks_are_allowed() -> None:
    assert render("{% if True %}{% end %}x") == b"x"
    assert render("{% for i in [] %}{% else %}{% end %}") == b""
    assert render("{% try %}{% except %}{% end %}") == b""
    assert render("{% while False %}{% end %}") == b""
    assert render("{% block b %}{% end %}") == b""
    assert render("{% apply bytes.upper %}{% end %}") == b""


def test_for_loop() -> None:
    assert render("{% for i in range(3) %}{{ i }},{% end %}") == b"0,1,2,"


def test_for_with_tuple_target() -> None:
    source = "{% for k, v in sorted(d.items()) %}{{ k }}={{ v }};{% end %}"
    assert render(source, d={"b": 2, "a": 1}) == b"a=1;b=2;"


def test_for_else() -> None:
    source = "{% for i in items %}{{ i }}{% else %}empty{% end %}"
    assert render(source, items=[]) == b"empty"
    assert render(source, items=[1]) == b"1empty"


def test_nested_loops() -> None:
    source = "{% for row in t %}<{% for c in row %}{{ c }}{% end %}>{% end %}"
    assert render(source, t=[[1, 2], [3]]) == b"<12><3>"


def test_while_loop() -> None:
    source = "{% set i = 0 %}{% while i < 3 %}{{ i }}{% set i += 1 %}{% end %}"
    assert render(source) == b"012"


def test_break_and_continue() -> None:
    source = (
        "{% for i in range(10) %}"
        "{% if i == 2 %}{% continue %}{% end %}"
        "{% if i == 5 %}{% break %}{% end %}"
        "{{ i }}"
        "{% end %}"
    )
    assert render(source) == b"0134"


def test_break_in_while_and_inside_try() -> None:
    source = (
        "{% set i = 0 %}{% while True %}{% set i += 1 %}"
        "{% try %}{% if i > 2 %}{% break %}{% end %}{% finally %}.{% end %}"
        "{{ i }}{% end %}"
    )
    assert render(source) == b".1.2."


def test_break_in_block_inside_loop() -> None:
    source = (
        "{% for i in range(5) %}"
        "{% block b %}{% if i == 2 %}{% break %}{% end %}{% end %}{{ i }}"
        "{% end %}"
    )
    assert render(source) == b"01"


def test_try_except_else_finally() -> None:
    source = (
        "{% try %}a{{ 1 / x }}b"
        "{% except ZeroDivisionError as e %}[{{ type(e).__name__ }}]"
        "{% else %}[ok]"
        "{% finally %}[finally]{% end %}"
    )
    assert render(source, x=0) == b"a[ZeroDivisionError][finally]"
    assert render(source, x=1) == b"a1.0b[ok][finally]"


def test_try_keeps_output_written_before_the_exception() -> None:
    source = "{% try %}<{{ a }}|{{ 1 / b }}>{% except %}!{% end %}"
    assert render(source, a="x", b=0) == b"<x|!"
    nested = (
        "{% try %}{% for i in range(3) %}({{ i }}{{ 1 / (1 - i) }}){% end %}{% except %}!{% end %}"
    )
    assert render(nested) == b"(01.0)(1!"


def test_multiple_excepts_and_bare_finally() -> None:
    source = (
        "{% try %}{{ x[0] }}{% except KeyError %}key{% except IndexError %}index{% end %}"
        "{% try %}t{% finally %}f{% end %}"
    )
    assert render(source, x=[]) == b"indextf"
    assert render(source, x={}) == b"keytf"


def test_multiline_directive() -> None:
    source = "{% for i in [\n  1,\n  2,\n] %}{{ i }}{% end %}"
    assert render(source) == b"12"
    assert render("{% if\nTrue %}yes{% end %}") == b"yes"


# -- statements ------------------------------------------------------------


def test_set() -> None:
    assert render("{% set x = 5 %}{{ x * 2 }}") == b"10"
    assert render("{% set a, b = 1, 2 %}{{ a + b }}") == b"3"


def test_set_multiline() -> None:
    assert render('{% set d = {\n "a": 1,\n} %}{{ d["a"] }}') == b"1"


def test_import() -> None:
    assert render("{% import math %}{{ math.floor(2.5) }}") == b"2"
    assert render("{% import os.path %}{{ os.path.join('a', 'b') }}") == b"a/b"


def test_from_import() -> None:
    assert render("{% from math import floor, ceil %}{{ floor(2.5) }}{{ ceil(2.5) }}") == b"23"


# -- raw, module, apply ----------------------------------------------------


def test_raw() -> None:
    assert render("{% raw x %}|{{ x }}", x="<b>") == b"<b>|&lt;b&gt;"
    assert render("{% raw 1 + 1 %}") == b"2"
    assert render("{% raw None %}") == b"None"


def test_module_calls_tt_modules() -> None:
    class Modules:
        def Hello(self, name: str) -> str:
            return f"<b>hello {name}</b>"

    source = "{% module Hello('<world>') %}"
    assert render(source, _tt_modules=Modules()) == b"<b>hello <world></b>"


def test_module_works_with_a_variable_named_modules() -> None:
    class Modules:
        def Thing(self) -> bytes:
            return b"thing"

    assert render("{% module Thing() %}", modules=None, _tt_modules=Modules()) == b"thing"


def test_apply() -> None:
    assert render("{% apply upper %}a{{ x }}b{% end %}", x="<y>", upper=bytes.upper) == (
        b"A&LT;Y&GT;B"
    )


def test_apply_gets_utf8_bytes_and_may_return_str_or_bytes() -> None:
    seen: list[object] = []

    def to_str(value: bytes) -> str:
        seen.append(value)
        return value.decode()[::-1]

    def to_bytes(value: bytes) -> bytes:
        return value * 2

    assert render("{% apply f %}ab{% end %}", f=to_str) == b"ba"
    assert seen == [b"ab"]
    assert render("{% apply f %}é{% end %}", f=to_bytes) == "éé".encode()


def test_apply_linkify() -> None:
    source = "{% apply linkify %}{{ name }} said: see http://example.com/{% end %}"
    assert render(source, name="bob") == (
        b'bob said: see <a href="http://example.com/">http://example.com/</a>'
    )


def test_nested_apply() -> None:
    source = "{% apply f %}a{% apply g %}b{% end %}c{% end %}"
    f = bytes.upper

    def g(value: bytes) -> bytes:
        return value + b"!"

    assert render(source, f=f, g=g) == b"AB!C"


def test_apply_inside_loop_and_loop_inside_apply() -> None:
    up = bytes.upper
    assert render("{% for c in 'ab' %}{% apply up %}{{ c }}{% end %}{% end %}", up=up) == b"AB"
    source = (
        "{% apply up %}{% for c in 'ab' %}"
        "{% if c == 'b' %}{% break %}{% end %}{{ c }}"
        "{% end %}{% end %}"
    )
    assert render(source, up=up) == b"A"


def test_apply_sees_outer_variables() -> None:
    source = "{% set x = 'v' %}{% apply f %}{{ x }}{% end %}"
    assert render(source, f=bytes.upper) == b"V"


def test_apply_inside_try_block() -> None:
    source = "{% try %}a{% apply f %}b{{ 1 / 0 }}{% end %}{% except %}c{% end %}"
    assert render(source, f=bytes.upper) == b"ac"


# -- autoescape ------------------------------------------------------------


def test_default_autoescape_is_xhtml_escape() -> None:
    assert render("{{ x }}", x='<a href="x">Tom & Jerry\'s</a>') == (
        b"&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
    )


def test_autoescape_none() -> None:
    assert render("{% autoescape None %}{{ x }}", x="<b>") == b"<b>"


def test_autoescape_applies_to_the_whole_file() -> None:
    assert render("{{ x }}{% autoescape None %}{{ x }}", x="<b>") == b"<b><b>"


def test_autoescape_other_function() -> None:
    assert render("{% autoescape url_escape %}{{ x }}", x="a b&c") == b"a+b%26c"


def test_autoescape_custom_function_gets_bytes() -> None:
    calls: list[object] = []

    def shout(value: bytes) -> bytes:
        calls.append(value)
        return value.upper()

    source = "{% autoescape shout %}{{ x }}{{ 5 }}{{ b }}"
    assert render(source, x="a<", b=b"z", shout=shout) == b"A<5Z"
    assert calls == [b"a<", b"5", b"z"]


def test_autoescape_function_returning_str() -> None:
    assert render("{% autoescape f %}{{ 1 }}", f=lambda v: "<" + v.decode() + ">") == b"<1>"


def test_autoescape_dotted_name() -> None:
    class Escapes:
        @staticmethod
        def star(value: bytes) -> bytes:
            return b"*" + value

    assert render("{% autoescape esc.star %}{{ 1 }}", esc=Escapes) == b"*1"


def test_autoescape_name_imported_by_the_template() -> None:
    source = "{% autoescape quote %}{% from urllib.parse import quote %}{{ x }}"
    assert render(source, x="a b") == b"a%20b"


def test_autoescape_name_set_inside_apply() -> None:
    source = "{% autoescape f %}{% apply str %}{% set f = g %}{{ 1 }}{% end %}"
    assert render(source, g=lambda b: b + b"!") == b"b'1!'"


def test_autoescape_arbitrary_expression() -> None:
    source = "{% autoescape (lambda v: v[::-1]) %}{{ 'abc' }}"
    assert render(source) == b"cba"


def test_autoescape_function_overridden_by_kwargs() -> None:
    assert render("{{ x }}", x="<", xhtml_escape=lambda v: b"[" + v + b"]") == b"[<]"


def test_autoescape_constructor_argument() -> None:
    assert Template("{{ x }}", autoescape=None).generate(x="<") == b"<"
    assert Template("{{ x }}", autoescape="url_escape").generate(x="<") == b"%3C"
    template = Template("{{ x }}{% autoescape None %}", autoescape="url_escape")
    assert template.autoescape is None


def test_raw_ignores_autoescape() -> None:
    assert render("{% autoescape url_escape %}{% raw x %}", x="a b") == b"a b"


def test_autoescape_missing_function_raises_name_error() -> None:
    with pytest.raises(NameError, match="nope"):
        render("{% autoescape nope %}{{ 1 }}")


# -- namespace -------------------------------------------------------------


def test_default_namespace() -> None:
    source = (
        "{{ escape('<') }}|{{ xhtml_escape('&') }}|{% raw url_escape('a b') %}|"
        "{% raw json_encode({'a': 1}) %}|{{ squeeze('a   b') }}|"
        "{% raw linkify('http://x.org') %}|{{ datetime.date(2020, 1, 2) }}|"
        "{{ _tt_utf8('u') }}|{{ isinstance('s', _tt_string_types) }}"
    )
    assert render(source) == (
        b'&amp;lt;|&amp;amp;|a+b|{"a": 1}|a b|'
        b'<a href="http://x.org">http://x.org</a>|2020-01-02|u|True'
    )


def test_namespace_dunder_entries() -> None:
    template = Template("{{ __name__ }}", name="page.html")
    assert template.generate() == b"page_html"
    template = Template("{{ __loader__.get_source(__name__) == code }}", name="t")
    assert template.generate(code=template.code) == b"True"


def test_kwargs_override_defaults() -> None:
    assert render("{{ datetime }}", datetime="not a module") == b"not a module"


def test_unknown_variable_is_name_error() -> None:
    with pytest.raises(NameError):
        render("{{ missing }}")


def test_datetime_is_the_module() -> None:
    assert render("{{ datetime is dt }}", dt=datetime) == b"True"


# -- extends/include without a loader --------------------------------------


def test_block_without_extends_renders_its_body() -> None:
    assert render("a{% block b %}B{{ 1 }}{% end %}c") == b"aB1c"


def test_dict_loader_smoke() -> None:
    loader = DictLoader({"a.html": "{% include 'b.html' %}!", "b.html": "{{ x }}"})
    assert loader.load("a.html").generate(x="<") == b"&lt;!"


# -- properties ------------------------------------------------------------

_plain_text = st.text(st.characters(blacklist_characters="{", blacklist_categories=("Cs",)))


@given(_plain_text)
def test_text_without_braces_renders_verbatim(text: str) -> None:
    assert Template(text, whitespace="all").generate() == text.encode()


@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_any_expression_value_is_escaped_exactly(value: str) -> None:
    expected = (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )
    assert Template("[{{ v }}]").generate(v=value) == f"[{expected}]".encode()


@given(st.lists(st.one_of(st.text(st.characters(blacklist_categories=("Cs",))), st.integers())))
def test_text_and_expressions_interleave(parts: list[str | int]) -> None:
    source = "".join(
        f"{{{{ v[{i}] }}}}" if isinstance(part, int) else part.replace("{", "(")
        for i, part in enumerate(parts)
    )
    expected = "".join(
        str(part) if isinstance(part, int) else part.replace("{", "(") for part in parts
    )
    assert Template(source, whitespace="all").generate(v=parts) == expected.encode()


def test_a_variable_may_be_called_self() -> None:
    assert render("{{ self }}", self="me") == b"me"
