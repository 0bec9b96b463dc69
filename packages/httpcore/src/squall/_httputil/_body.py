"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Both parsers take attacker input, so both run in time linear in the body
(every byte is looked at a bounded number of times: ``bytes.find`` from a
position that only moves forward) and ``multipart/form-data`` is bounded in
its number of parts.  A malformed body is logged (with a fixed message,
never the input) and ignored, as Tornado documents: the request goes on
without its form arguments.
"""

from __future__ import annotations

import re
import urllib.parse

from squall._httputil._errors import HTTPInputError
from squall._httputil._headers import HTTPHeaders
from squall.escape import parse_qs_bytes
from squall.log import gen_log
from squall.util import ObjectDict

__all__ = [
    "MAX_MULTIPART_PARTS",
    "HTTPFile",
    "parse_body_arguments",
    "parse_multipart_form_data",
]

#: Most parts a ``multipart/form-data`` body may have; a body with more is
#: ignored whole.  Each part costs a header parse and dictionary entries, so
#: a body of many tiny parts would cost far more than its size suggests.
#: Real forms have tens of fields; Werkzeug and Starlette also stop at 1000.
MAX_MULTIPART_PARTS = 1000


class HTTPFile(ObjectDict):
    """Represents a file uploaded via a form.

    For backwards compatibility, its instance attributes are also
    accessible as dictionary keys.

    * ``filename``
    * ``body``
    * ``content_type``
    """

    __module__ = "squall.httputil"

    filename: str
    body: bytes
    content_type: str


def _media_type(content_type: str) -> str:
    # RFC 9110 §8.3.1: type and subtype are case-insensitive.
    return content_type.partition(";")[0].strip(" \t").lower()


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
) -> None:
    """Parses a form request body.

    Supports ``application/x-www-form-urlencoded`` and
    ``multipart/form-data``.  The ``content_type`` parameter should be a
    string and ``body`` should be a byte string.  The ``arguments`` and
    ``files`` parameters are dictionaries that will be updated with the
    parsed contents (values appended to the lists already there).

    Any other content type is left alone.  If ``headers`` has a
    ``Content-Encoding`` other than ``identity`` (a body the server did
    not decompress), the body is not parsed: a warning is logged.  A
    malformed body is logged and ignored; nothing raises.
    """
    media_type = _media_type(content_type)
    if media_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return
    if headers is not None:
        encoding = headers.get("Content-Encoding")
        if encoding is not None and encoding.strip(" \t").lower() not in ("", "identity"):
            gen_log.warning("Unsupported Content-Encoding of a form body; not parsed")
            return
    if media_type == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs_bytes(body, keep_blank_values=True)
        except Exception:
            gen_log.warning("Invalid x-www-form-urlencoded body")
            return
        for name, values in parsed.items():
            arguments.setdefault(name, []).extend(values)
        return
    params = _parse_params(content_type, content_type.find(";"))
    boundary = params.get("boundary")
    if not boundary:
        gen_log.warning("Invalid multipart/form-data: no boundary in the Content-Type")
        return
    try:
        raw_boundary = boundary.encode("latin-1")
    except UnicodeEncodeError:
        raw_boundary = boundary.encode("utf-8")
    parse_multipart_form_data(raw_boundary, body, arguments, files)


def parse_multipart_form_data(
    boundary: bytes,
    data: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
) -> None:
    """Parses a ``multipart/form-data`` body.

    The ``boundary`` and ``data`` parameters are both byte strings.  The
    dictionaries given in the arguments and files parameters will be
    updated with the contents of the body.

    The boundary may be given quoted (as it may appear in the
    ``Content-Type``).  Parts (RFC 7578) with a ``filename`` (or RFC 8187
    ``filename*``, which wins) in their ``Content-Disposition`` go to
    `files` as `HTTPFile` (``content_type`` defaulting to
    ``application/unknown``), the others to `arguments`.  A body whose
    structure is broken (no opening or closing delimiter, a delimiter line
    with garbage after the boundary) or with more than `MAX_MULTIPART_PARTS`
    parts is logged and ignored whole; a part without headers, without a
    ``form-data`` disposition or without a name is logged and skipped.
    """
    # RFC 2046 §5.1.1 allows a quoted boundary parameter (some clients send it).
    if len(boundary) >= 2 and boundary[:1] == b'"' and boundary[-1:] == b'"':
        boundary = boundary[1:-1]
    if not boundary:
        gen_log.warning("Invalid multipart/form-data: empty boundary")
        return
    spans = _split_parts(boundary, data)
    if spans is None:
        return
    new_arguments: list[tuple[str, bytes]] = []
    new_files: list[tuple[str, HTTPFile]] = []
    for start, end in spans:
        _parse_part(data[start:end], new_arguments, new_files)
    for name, value in new_arguments:
        arguments.setdefault(name, []).append(value)
    for name, file in new_files:
        files.setdefault(name, []).append(file)


def _split_parts(boundary: bytes, data: bytes) -> list[tuple[int, int]] | None:
    """Return the (start, end) offsets of each part's bytes (headers and content).

    None (after logging why) when the body's structure is broken.
    RFC 2046 §5.1.1: the first delimiter is ``--boundary`` at the very start
    or after the preamble's CRLF; every later one is ``CRLF--boundary`` (the
    CRLF belongs to the delimiter, not to the part before it); a delimiter
    is followed by optional whitespace and CRLF, the last one by ``--``.
    """
    dash_boundary = b"--" + boundary
    if data.startswith(dash_boundary):
        position = len(dash_boundary)
    else:
        found = data.find(b"\r\n" + dash_boundary)
        if found < 0:
            gen_log.warning("Invalid multipart/form-data: no boundary in the body")
            return None
        position = found + 2 + len(dash_boundary)
    delimiter = b"\r\n" + dash_boundary
    spans: list[tuple[int, int]] = []
    while True:
        if data.startswith(b"--", position):
            return spans
        line_end = data.find(b"\r\n", position)
        if line_end < 0 or data[position:line_end].strip(b" \t"):
            gen_log.warning("Invalid multipart/form-data: malformed delimiter line")
            return None
        start = line_end + 2
        end = data.find(delimiter, start)
        if end < 0:
            gen_log.warning("Invalid multipart/form-data: no final boundary")
            return None
        if len(spans) >= MAX_MULTIPART_PARTS:
            gen_log.warning("Invalid multipart/form-data: more than %d parts", MAX_MULTIPART_PARTS)
            return None
        spans.append((start, end))
        position = end + len(delimiter)


def _parse_part(
    part: bytes, arguments: list[tuple[str, bytes]], files: list[tuple[str, HTTPFile]]
) -> None:
    if part.startswith(b"\r\n"):
        gen_log.warning("multipart/form-data part missing headers")
        return
    end_of_headers = part.find(b"\r\n\r\n")
    if end_of_headers < 0:
        gen_log.warning("multipart/form-data part missing headers")
        return
    raw_headers = part[:end_of_headers]
    try:
        # RFC 7578 §5.1: browsers send UTF-8 field and file names; very old
        # clients sent latin-1, which every byte sequence decodes as.
        text = raw_headers.decode("utf-8")
    except UnicodeDecodeError:
        text = raw_headers.decode("latin-1")
    try:
        headers = HTTPHeaders.parse(text)
    except HTTPInputError:
        gen_log.warning("multipart/form-data part with malformed headers")
        return
    disposition_header = headers.get("Content-Disposition", "")
    semicolon = disposition_header.find(";")
    disposition = (disposition_header if semicolon < 0 else disposition_header[:semicolon]).strip(
        " \t"
    )
    if disposition.lower() != "form-data":
        gen_log.warning("Invalid multipart/form-data part: not form-data")
        return
    params = _parse_params(disposition_header, semicolon)
    name = params.get("name")
    if not name:
        gen_log.warning("multipart/form-data value missing name")
        return
    value = part[end_of_headers + 4 :]
    filename = params.get("filename")
    extended = params.get("filename*")
    if extended is not None:
        decoded = _decode_ext_value(extended)
        if decoded is not None:
            filename = decoded
    if filename:
        content_type = headers.get("Content-Type", "application/unknown")
        files.append((name, HTTPFile(filename=filename, body=value, content_type=content_type)))
    else:
        arguments.append((name, value))


# A quoted-string's end: the closing quote, or a backslash escaping the next
# character (RFC 9110 §5.6.4).
_QUOTE_OR_ESCAPE = re.compile(r'["\\]')
# Optional whitespace (RFC 9110 §5.6.3); matches everywhere, maybe empty.
_OWS_RUN = re.compile(r"[ \t]*")


def _parse_params(header: str, semicolon: int) -> dict[str, str]:
    """Parse the ``; name=value`` parameters of a header from index `semicolon` on.

    Names are lower-cased; values may be tokens or quoted strings (quotes
    removed, ``\\"`` and ``\\\\`` unescaped; other backslashes kept, since
    browsers send Windows paths unescaped).  Malformed pieces are skipped.
    The first occurrence of a name wins.  Linear time: the position only
    moves forward.
    """
    params: dict[str, str] = {}
    if semicolon < 0:
        return params
    length = len(header)
    position = semicolon + 1
    while position < length:
        next_semicolon = header.find(";", position)
        if next_semicolon < 0:
            next_semicolon = length
        equals = header.find("=", position, next_semicolon)
        if equals < 0:
            position = next_semicolon + 1
            continue
        name = header[position:equals].strip(" \t").lower()
        ows = _OWS_RUN.match(header, equals + 1)
        value_start = equals + 1 if ows is None else ows.end()
        if value_start < length and header[value_start] == '"':
            value, position = _read_quoted(header, value_start + 1)
            # Skip whatever follows the closing quote up to the next parameter.
            after = header.find(";", position)
            position = length if after < 0 else after + 1
        else:
            value = header[value_start:next_semicolon].strip(" \t")
            position = next_semicolon + 1
        if name and name not in params:
            params[name] = value
    return params


def _read_quoted(header: str, position: int) -> tuple[str, int]:
    """Read a quoted string's content from `position` (after the opening quote).

    Return the unescaped content and the index after the closing quote (the
    end of the header if the quote is never closed).
    """
    pieces: list[str] = []
    length = len(header)
    while position < length:
        match = _QUOTE_OR_ESCAPE.search(header, position)
        if match is None:
            break
        index = match.start()
        pieces.append(header[position:index])
        if header[index] == '"':
            return "".join(pieces), index + 1
        escaped = header[index + 1 : index + 2]
        if escaped in ('"', "\\"):
            pieces.append(escaped)
        else:
            pieces.append(header[index : index + 2])
        position = index + 2
    pieces.append(header[position:])
    return "".join(pieces), length


def _decode_ext_value(value: str) -> str | None:
    """Decode an RFC 8187 ``ext-value`` (``UTF-8''%e2%82%ac.txt``); None if invalid.

    Only the two charsets RFC 8187 §3.2.1 requires are understood.
    """
    charset, quote, rest = value.partition("'")
    if not quote:
        return None
    _language, quote, encoded = rest.partition("'")
    if not quote:
        return None
    charset = charset.lower()
    if charset not in ("utf-8", "iso-8859-1"):
        return None
    try:
        return urllib.parse.unquote(encoded, encoding=charset, errors="strict")
    except UnicodeDecodeError:
        return None
