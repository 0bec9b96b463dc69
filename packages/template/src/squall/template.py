"""A simple template system that compiles templates to Python code.

Basic usage looks like::

    t = template.Template("<html>{{ myvalue }}</html>")
    print(t.generate(myvalue="XXX"))

`Loader` is a class that loads templates from a root directory and caches
the compiled templates::

    loader = template.Loader("/home/btaylor")
    print(loader.load("test.html").generate(myvalue="XXX"))

The syntax is Tornado's: ``{{ expression }}`` (escaped by the autoescape
function, ``xhtml_escape`` by default), ``{% directive %}`` -- apply,
autoescape, block, comment, extends, for, from, if, import, include,
module, raw, set, try, while, whitespace, each block closed by
``{% end %}`` -- and ``{# comment #}``; ``{{!``, ``{%!`` and ``{#!``
write a literal ``{{``, ``{%`` or ``{#``.  Names starting with ``_tt_`` are
reserved.

>>> Template("<b>{{ name }}</b>").generate(name="<Tom & Jerry>")
b'<b>&lt;Tom &amp; Jerry&gt;</b>'

Run ``python -m squall.template --help`` to render a template file from the
command line, or ``python -m squall.template --demo`` for an example.
"""

from __future__ import annotations

from squall._template._compiled import Template
from squall._template._errors import ParseError
from squall._template._lexer import filter_whitespace
from squall._template._loader import BaseLoader, DictLoader, Loader

__all__ = ["BaseLoader", "DictLoader", "Loader", "ParseError", "Template", "filter_whitespace"]

for _obj in (BaseLoader, DictLoader, Loader, ParseError, Template, filter_whitespace):
    _obj.__module__ = "squall.template"  # where users import them from
del _obj

if __name__ == "__main__":
    import sys

    from squall._template._cli import main

    sys.exit(main())
