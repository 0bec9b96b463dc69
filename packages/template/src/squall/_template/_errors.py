"""The template engine's exception.

Every problem found while turning template text into a compiled function
(syntax errors, unknown directives, unbalanced blocks, invalid Python inside
a tag, an ``{% include %}`` or ``{% extends %}`` that cannot be loaded) is a
`ParseError` naming the template file and line.  Errors raised while a
compiled template renders are the application's own exceptions, left
untouched except for a note naming the template line.
"""

from __future__ import annotations

__all__ = ["ParseError"]


class ParseError(Exception):
    """Raised for template syntax errors.

    ``filename`` and ``lineno`` say where the error is; ``str()`` of the
    exception ends with ``at <filename>:<lineno>``, for example
    ``Missing {% end %} block for if at page.html:3``.
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int = 0) -> None:
        # All three go to args so the exception survives pickling (for
        # example when it crosses a process pool).
        super().__init__(message, filename, lineno)
        self.message = message
        self.filename = filename
        self.lineno = lineno

    def __str__(self) -> str:
        if self.filename is None:
            return f"{self.message} at line {self.lineno}" if self.lineno else self.message
        return f"{self.message} at {self.filename}:{self.lineno}"
