"""Private implementation of `squall.template`.

The public names live in `squall.template`; the modules here are split by
concept: `_lexer` (text to tokens, whitespace modes), `_parser` (tokens to a
node tree), `_nodes` (the tree), `_codegen` (tree to Python source),
`_runtime` (helpers the generated code calls), `_compiled` (`Template`),
`_loader` (template loaders) and `_cli` (``python -m squall.template``).
"""
