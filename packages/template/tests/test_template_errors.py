"""ParseError for every syntax error; render errors that name the template line."""

from __future__ import annotations

import pickle
import traceback

import pytest

from squall.template import DictLoader, ParseError, Template


def parse_error(source: str, name: str = "page.html") -> ParseError:
    with pytest.raises(ParseError) as info:
        Template(source, name=name)
    return info.value


# -- the exception itself --------------------------------------------------


def test_parse_error_attributes_and_str() -> None:
    error = ParseError("Something wrong", "page.html", 3)
    assert error.message == "Something wrong"
    assert error.filename == "page.html"
    assert error.lineno == 3
    assert str(error) == "Something wrong at page.html:3"


def test_parse_error_defaults() -> None:
    error = ParseError("oops")
    assert (error.filename, error.lineno) == (None, 0)
    assert str(error) == "oops"
    assert str(ParseError("oops", lineno=2)) == "oops at line 2"


def test_parse_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(ParseError("m", "f.html", 7)))
    assert (error.message, error.filename, error.lineno) == ("m", "f.html", 7)
    assert str(error) == "m at f.html:7"


def test_parse_error_is_an_exception() -> None:
    assert issubclass(ParseError, Exception)


# -- syntax errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\n{{ x", "Missing end expression }}", 2),
        ("a\n\n{% if x", "Missing end block %}", 3),
        ("{# never closed", "Missing end comment #}", 1),
        ("{{ }}", "Empty expression", 1),
        ("{{}}", "Empty expression", 1),
        ("x\n{% %}", "Empty block tag ({% %})", 2),
        ("{% frobnicate x %}", "unknown operator: 'frobnicate'", 1),
        ("{% end %}", "Extra {% end %} block", 1),
        ("{% if x %}{% end %}\n{% end %}", "Extra {% end %} block", 2),
        ("line1\nline2\n{% if x %}\nbody", "Missing {% end %} block for if", 3),
        ("{% for x in y %}", "Missing {% end %} block for for", 1),
        ("{% while x %}", "Missing {% end %} block for while", 1),
        ("{% try %}", "Missing {% end %} block for try", 1),
        ("{% block b %}", "Missing {% end %} block for block", 1),
        ("{% apply f %}", "Missing {% end %} block for apply", 1),
        ("{% if a %}\n{% for b in c %}\n{% end %}", "Missing {% end %} block for if", 1),
        ("{% else %}", "else outside if/for/while/try block", 1),
        ("{% elif x %}", "elif outside if block", 1),
        ("{% except %}", "except outside try block", 1),
        ("{% finally %}", "finally outside try block", 1),
        ("{% for x in y %}{% elif z %}{% end %}", "elif outside if block", 1),
        ("{% while x %}{% except %}{% end %}", "except outside try block", 1),
        ("{% block b %}{% else %}{% end %}", "else outside if/for/while/try block", 1),
        ("{% if x %}{% apply f %}{% else %}{% end %}{% end %}", "else outside", 1),
        ("{% if x %}{% else %}{% elif y %}{% end %}", "elif cannot follow else in if block", 1),
        ("{% if x %}{% else %}{% else %}{% end %}", "else cannot follow else in if block", 1),
        ("{% for x in y %}{% else %}{% else %}{% end %}", "else cannot follow else", 1),
        ("{% try %}{% else %}{% end %}", "else cannot follow try in try block", 1),
        ("{% try %}{% finally %}{% except %}{% end %}", "except cannot follow finally", 1),
        ("{% try %}x{% end %}", "try block needs an except or finally clause", 1),
        ("{% extends %}", "extends missing file path", 1),
        ("{% include %}", "include missing file path", 1),
        ("{% block %}{% end %}", "block missing name", 1),
        ("{% apply %}{% end %}", "apply missing method name", 1),
        ("{% if %}{% end %}", "if missing condition", 1),
        ("{% if x %}{% elif %}{% end %}", "elif missing condition", 1),
        ("{% for %}{% end %}", "for missing loop header", 1),
        ("{% while %}{% end %}", "while missing condition", 1),
        ("{% set %}", "set missing statement", 1),
        ("{% import %}", "import missing statement", 1),
        ("{% from %}", "from missing statement", 1),
        ("{% raw %}", "raw missing expression", 1),
        ("{% module %}", "module missing expression", 1),
        ("{% autoescape %}", "autoescape missing function name", 1),
        ("{% whitespace %}", "whitespace missing mode", 1),
        ("{% whitespace compact %}", "invalid whitespace mode 'compact'", 1),
        ("{% break %}", "break outside for/while block", 1),
        ("{% continue %}", "continue outside for/while block", 1),
        ("{% if x %}{% break %}{% end %}", "break outside for/while block", 1),
        ("{% for x in y %}{% else %}{% break %}{% end %}", "break outside for/while", 1),
        ("{% for x in y %}{% apply f %}{% break %}{% end %}{% end %}", "break outside", 1),
        ("{% for x in y %}{% break now %}{% end %}", "break takes no argument", 1),
        ("{% if x %}{% extends 'b.html' %}{% end %}", "extends must be at the top level", 1),
        ("{% extends 'a' %}{% extends 'b' %}", "only one extends is allowed", 1),
    ],
)
def test_syntax_errors(source: str, message: str, line: int) -> None:
    error = parse_error(source)
    assert message in error.message
    assert error.filename == "page.html"
    assert error.lineno == line
    assert str(error) == f"{error.message} at page.html:{line}"


def test_missing_end_message_matches_docs_example() -> None:
    error = parse_error("<ul>\n\n{% if x %}\n<li>", name="page.html")
    assert str(error) == "Missing {% end %} block for if at page.html:3"


def test_break_in_nested_loop_else_is_fine() -> None:
    source = "{% for a in 'xy' %}{% for b in '' %}{% else %}{% break %}{% end %}{{ a }}{% end %}!"
    assert Template(source).generate() == b"!"


# -- invalid Python inside tags -------------------------------------------


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("ok\n{{ 1 + }}", 2),
        ("{% if x = 1 %}{% end %}", 1),
        ("a\nb\n{% set x = = 1 %}", 3),
        ("{% for in y %}{% end %}", 1),
        ("{% import 1 %}", 1),
        ("{% try x %}{% finally %}{% end %}", 1),
    ],
)
def test_python_syntax_errors_become_parse_errors(source: str, line: int) -> None:
    error = parse_error(source)
    assert error.message.startswith("invalid Python in template:")
    assert (error.filename, error.lineno) == ("page.html", line)
    assert isinstance(error.__cause__, SyntaxError)


def test_python_syntax_error_in_included_file_names_that_file() -> None:
    loader = DictLoader({"a.html": "x\n{% include 'b.html' %}", "b.html": "\n\n{{ ) }}"})
    with pytest.raises(ParseError) as info:
        loader.load("a.html")
    assert (info.value.filename, info.value.lineno) == ("b.html", 3)


def test_syntax_error_in_multiline_tag_points_at_the_inner_line() -> None:
    error = parse_error("{% set x = [\n1,\n2 3] %}")
    assert error.lineno == 3


def test_parse_errors_of_parent_and_included_templates() -> None:
    loader = DictLoader(
        {
            "child.html": "{% extends 'base.html' %}",
            "base.html": "\n{% if %}",
            "inc.html": "{% include 'bad.html' %}",
            "bad.html": "{{ x",
        }
    )
    with pytest.raises(ParseError, match=r"if missing condition at base\.html:2"):
        loader.load("child.html")
    with pytest.raises(ParseError, match=r"Missing end expression \}\} at bad\.html:1"):
        loader.load("inc.html")


# -- errors while rendering ------------------------------------------------


def test_render_error_note_names_template_and_line() -> None:
    template = Template("line 1\nline 2\n{{ 1 / x }}", name="page.html")
    with pytest.raises(ZeroDivisionError) as info:
        template.generate(x=0)
    assert info.value.__notes__ == ["  in template 'page.html', line 3"]


def test_render_error_in_statement_and_control_lines() -> None:
    template = Template("a\n{% set y = 1 / 0 %}", name="t.txt")
    with pytest.raises(ZeroDivisionError) as info:
        template.generate()
    assert info.value.__notes__ == ["  in template 't.txt', line 2"]
    template = Template("a\n\n{% for i in 5 %}{% end %}", name="t.txt")
    with pytest.raises(TypeError) as type_info:
        template.generate()
    assert type_info.value.__notes__ == ["  in template 't.txt', line 3"]


def test_render_error_in_multiline_tag() -> None:
    template = Template("{{ [\n1,\n2][x]\n}}", name="t")
    with pytest.raises(IndexError) as info:
        template.generate(x=5)
    assert info.value.__notes__[0].startswith("  in template 't', line ")


def test_render_error_in_included_and_parent_templates() -> None:
    loader = DictLoader(
        {
            "page.html": "{% extends 'base.html' %}{% block body %}\n\n{{ 1 / 0 }}{% end %}",
            "base.html": "<body>\n{% block body %}{% end %}\n{% include 'foot.html' %}",
            "foot.html": "\n{{ missing }}",
            "inc.html": "a\n{% include 'foot.html' %}",
        }
    )
    with pytest.raises(ZeroDivisionError) as info:
        loader.load("page.html").generate()
    assert info.value.__notes__ == ["  in template 'page.html', line 3"]
    with pytest.raises(NameError) as name_info:
        loader.load("inc.html").generate()
    assert name_info.value.__notes__ == [
        "  in template 'foot.html', line 2 (rendering 'inc.html')"
    ]


def test_render_error_inside_apply() -> None:
    template = Template("{% apply f %}\n{{ 1 / 0 }}{% end %}", name="t")
    with pytest.raises(ZeroDivisionError) as info:
        template.generate(f=bytes.upper)
    assert info.value.__notes__ == ["  in template 't', line 2"]


def test_error_from_a_called_function_points_at_the_calling_line() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    template = Template("\n\n\n{{ boom() }}", name="t")
    with pytest.raises(RuntimeError) as info:
        template.generate(boom=boom)
    assert info.value.__notes__ == ["  in template 't', line 4"]


def test_nested_templates_each_add_a_note() -> None:
    inner = Template("\n{{ 1 / 0 }}", name="inner.html")
    outer = Template("{{ render() }}", name="outer.html")
    with pytest.raises(ZeroDivisionError) as info:
        outer.generate(render=lambda: inner.generate())
    assert info.value.__notes__ == [
        "  in template 'inner.html', line 2",
        "  in template 'outer.html', line 1",
    ]


def test_traceback_shows_generated_source_with_template_line() -> None:
    template = Template("hello\n{{ user.nmae }}", name="page.html")
    with pytest.raises(AttributeError) as info:
        template.generate(user=object())
    text = "".join(traceback.format_exception(info.value))
    assert 'File "page.html.generated.py"' in text
    assert "user.nmae" in text
    assert "# page.html:2" in text
    assert "in template 'page.html', line 2" in text


def test_exception_caught_inside_the_template_gets_no_note() -> None:
    template = Template(
        "{% try %}{{ 1 / 0 }}{% except ZeroDivisionError as e %}{% set c = e %}{% end %}"
    )
    assert template.generate() == b""


def test_generate_reraises_the_original_exception_object() -> None:
    error = KeyError("k")

    def fail() -> None:
        raise error

    with pytest.raises(KeyError) as info:
        Template("{{ fail() }}").generate(fail=fail)
    assert info.value is error
