"""Request bodies and query strings: params, form data, JSON, multipart files, streams.

Sans-I/O except for the streaming producer: `encode_body` turns the
``data``/``files``/``json`` arguments of a request into bytes (or a body
producer for generators) and the ``Content-Type`` that goes with them.
"""

from __future__ import annotations

import inspect
import json as jsonlib
import os
import urllib.parse
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from squall._httpclient._request import BodyProducer
from squall.escape import utf8

__all__ = ["BodyProducer", "add_params", "encode_body", "encode_multipart"]

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


def _pairs(values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Iterator[tuple[str, str]]:
    """``{k: v | [v, ...]}`` or ``[(k, v), ...]`` as flat (name, value) pairs, None dropped."""
    items = values.items() if isinstance(values, Mapping) else values
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            for one in value:
                if one is not None:
                    yield str(name), _text(one)
        else:
            yield str(name), _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def add_params(url: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> str:
    """`url` with `params` appended to its query (lists give repeated names).

    >>> add_params("http://bla.com", {"key1": "value1", "key2": ["value2", "value3"]})
    'http://bla.com?key1=value1&key2=value2&key2=value3'
    """
    if not params:
        return url
    query = urllib.parse.urlencode(list(_pairs(params)))
    if not query:
        return url
    scheme, netloc, path, old, fragment = urllib.parse.urlsplit(url)
    query = f"{old}&{query}" if old else query
    return urllib.parse.urlunsplit((scheme, netloc, path, query, fragment))


def encode_body(
    data: Any = None,
    files: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    json: Any = None,
    charset: str = "utf-8",
) -> tuple[bytes | BodyProducer | None, str | None]:
    """Return the body of a request and its ``Content-Type`` (None: leave it to the caller).

    - `files`: ``multipart/form-data`` (RFC 7578) with `data`'s fields first;
    - `json`: the JSON text, ``application/json``;
    - `data` a dict or a list of pairs: ``application/x-www-form-urlencoded``
      (list values give repeated names);
    - `data` bytes or str (encoded with `charset`): as it is;
    - `data` a generator, an iterator or an async iterable of bytes or str
      (a synchronous one may also yield awaitables of them): streamed
      (chunked, unless the caller sets ``Content-Length``).

    :raises ValueError: if both `data` and `json` are given, or `files`
        with a `data` that is not a dict or list of pairs.
    """
    if json is not None:
        if data is not None:
            raise ValueError("Give either data or json, not both")
        if files:
            raise ValueError("Give either files or json, not both")
        return jsonlib.dumps(json).encode(charset), f"{JSON_TYPE}; charset={charset}"
    if files:
        if data is not None and not _is_form(data):
            raise ValueError("With files, data must be a dict or a list of pairs")
        fields = list(_pairs(data)) if data is not None else []
        body, boundary = encode_multipart(fields, files, charset)
        return body, f"multipart/form-data; boundary={boundary}"
    if data is None:
        return None, None
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data), None
    if isinstance(data, str):
        return data.encode(charset), None
    if _is_form(data):
        return urllib.parse.urlencode(list(_pairs(data)), encoding=charset).encode(
            "ascii"
        ), FORM_TYPE
    if isinstance(data, AsyncIterable | Iterable):
        return _producer(data, charset), None
    if hasattr(data, "read"):  # a file object
        return utf8(data.read()), None
    raise TypeError(f"Unsupported type for data: {type(data).__name__}")


def _is_form(data: Any) -> bool:
    if isinstance(data, Mapping):
        return True
    return isinstance(data, list) and all(
        isinstance(item, tuple) and len(item) == 2 for item in data
    )


def _producer(data: Iterable[Any] | AsyncIterable[Any], charset: str) -> BodyProducer:
    async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:
        if isinstance(data, AsyncIterable):
            async for chunk in data:
                await _write(write, chunk, charset)
        else:
            for chunk in data:
                if inspect.isawaitable(chunk):
                    chunk = await chunk
                await _write(write, chunk, charset)

    return produce


async def _write(write: Callable[[bytes], Awaitable[None]], chunk: Any, charset: str) -> None:
    if isinstance(chunk, str):
        chunk = chunk.encode(charset)
    elif not isinstance(chunk, bytes | bytearray | memoryview):
        raise TypeError(f"A streamed body yields bytes or str, not {type(chunk).__name__}")
    if chunk:  # an empty chunk would end a chunked body early
        await write(bytes(chunk))


def _quote(value: str) -> str:
    # The HTML form encoding of names in Content-Disposition (what browsers
    # send, RFC 7578 §4.2): no raw quote or line break can end the field.
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode_multipart(
    fields: Iterable[tuple[str, str]],
    files: Mapping[str, Any] | Iterable[tuple[str, Any]],
    charset: str = "utf-8",
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """Return a ``multipart/form-data`` body (RFC 7578) and its boundary.

    Each file is a file object (its ``name``'s base name is the file name),
    bytes or str, or a tuple ``(filename, content[, content_type[, headers]])``
    where content is one of those.
    """
    boundary = boundary or uuid.uuid4().hex
    delimiter = f"--{boundary}\r\n".encode("ascii")
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(delimiter)
        parts.append(
            f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode(charset)
        )
        parts.append(value.encode(charset) + b"\r\n")
    items = files.items() if isinstance(files, Mapping) else files
    for name, spec in items:
        filename, content, content_type, headers = _file_spec(name, spec)
        parts.append(delimiter)
        disposition = f'Content-Disposition: form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
        lines = [disposition, f"Content-Type: {content_type}"]
        lines.extend(f"{key}: {val}" for key, val in headers.items())
        for line in lines:
            if "\r" in line or "\n" in line:
                raise ValueError(f"Line break in a multipart header: {line!r}")
        parts.append(("\r\n".join(lines) + "\r\n\r\n").encode(charset))
        parts.append(content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts), boundary


def _file_spec(name: str, spec: Any) -> tuple[str | None, bytes, str, Mapping[str, str]]:
    content_type = "application/octet-stream"
    headers: Mapping[str, str] = {}
    if isinstance(spec, tuple):
        filename, content = spec[0], spec[1]
        if len(spec) > 2 and spec[2]:
            content_type = spec[2]
        if len(spec) > 3 and spec[3]:
            headers = spec[3]
    else:
        filename, content = None, spec
        path = getattr(spec, "name", None)
        if isinstance(path, str | bytes) and not isinstance(spec, str | bytes):
            filename = os.path.basename(os.fsdecode(path))
        if filename is None:
            filename = name
    if hasattr(content, "read"):
        content = content.read()
    body = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return filename, body, content_type, headers
