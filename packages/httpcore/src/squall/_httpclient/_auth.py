"""HTTP authentication for the clients: Basic (RFC 7617) and Digest (RFC 7616).

Sans-I/O: functions from credentials and challenges to header values.

- `basic_authorization` builds a ``Basic`` credential, sent preemptively.
- `parse_challenges` reads ``WWW-Authenticate`` / ``Proxy-Authenticate``
  fields (RFC 9110 §11.6.1), `DigestChallenge.from_params` takes the
  ``Digest`` one, and `digest_authorization` answers it.

Everything is linear in the size of its input; header values built here
never contain CR, LF or other control characters (a credential holding one
raises `ValueError`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from squall.escape import utf8

__all__ = [
    "DigestChallenge",
    "basic_authorization",
    "digest_authorization",
    "parse_challenges",
]

#: The schemes `HTTPRequest.auth_mode` and ``proxy_auth_mode`` accept.
AUTH_MODES = frozenset({"basic", "digest"})

# RFC 9110 §5.6.2 token; §11.2 token68.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 9110 §5.6.4 quoted-string: qdtext or quoted-pair, no control characters
# but HTAB.
_QUOTED_RE = re.compile(r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*)"')
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _check_no_controls(what: str, value: str) -> None:
    if _CONTROL_RE.search(value):
        raise ValueError(f"{what} must not contain control characters (CR, LF...)")


def basic_authorization(username: str, password: str) -> str:
    """Return the ``Authorization`` value for Basic authentication (RFC 7617).

    The credentials are encoded as UTF-8 (RFC 7617 §2.1's ``charset``).

    >>> basic_authorization("Aladdin", "open sesame")
    'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='
    """
    token = base64.b64encode(utf8(username) + b":" + utf8(password)).decode("ascii")
    return "Basic " + token


class Challenge(NamedTuple):
    """One challenge of an ``*-Authenticate`` field."""

    scheme: str  #: lower-cased, e.g. ``"digest"``
    params: dict[str, str]  #: parameter names lower-cased, values unquoted
    token68: str | None  #: the token68 form (``Negotiate abc==``), if used


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` or ``Proxy-Authenticate`` field values.

    Each value holds one or more comma-separated challenges (RFC 9110
    §11.6.1).  Malformed parts end the parsing of their value: what was
    understood before them is returned (a client only needs the one scheme
    it supports).
    """
    challenges: list[Challenge] = []
    for value in values:
        _parse_value(value, challenges)
    return challenges


def _parse_value(value: str, out: list[Challenge]) -> None:
    end = len(value)
    pos = 0
    current: Challenge | None = None
    while True:
        while pos < end and value[pos] in " \t,":
            pos += 1
        match = _TOKEN_RE.match(value, pos)
        if match is None:
            return  # the end, or something malformed
        look = _skip_ows(value, match.end())
        if current is not None and current.token68 is None and look < end and value[look] == "=":
            # auth-param = token BWS "=" BWS ( token / quoted-string )
            param_value, pos = _param_value(value, _skip_ows(value, look + 1))
            if param_value is None:
                return
            current.params.setdefault(match.group().lower(), param_value)
            continue
        # challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
        current = Challenge(match.group().lower(), {}, None)
        out.append(current)
        pos = match.end()
        if pos < end and value[pos] == " ":
            pos = _skip_ows(value, pos)
            token68 = _TOKEN68_RE.match(value, pos)
            if token68 is not None:
                after = _skip_ows(value, token68.end())
                # "realm=x" also matches token68 ("realm="), but goes on.
                if after >= end or value[after] == ",":
                    out[-1] = current = Challenge(current.scheme, {}, token68.group())
                    pos = after


def _skip_ows(value: str, pos: int) -> int:
    end = len(value)
    while pos < end and value[pos] in " \t":
        pos += 1
    return pos


def _param_value(value: str, pos: int) -> tuple[str | None, int]:
    if pos < len(value) and value[pos] == '"':
        quoted = _QUOTED_RE.match(value, pos)
        if quoted is None:
            return None, pos
        return _QUOTED_PAIR_RE.sub(r"\1", quoted.group(1)), quoted.end()
    token = _TOKEN_RE.match(value, pos)
    if token is None:
        return None, pos
    return token.group(), token.end()


# ---------------------------------------------------------------------------
# Digest (RFC 7616)
# ---------------------------------------------------------------------------

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data).hexdigest(),
}


class DigestChallenge(NamedTuple):
    """A ``Digest`` challenge (RFC 7616 §3.3)."""

    realm: str
    nonce: str
    opaque: str | None
    algorithm: str  #: upper-cased, e.g. ``"MD5"``, ``"SHA-256-SESS"``
    qop: tuple[str, ...]  #: the qop options offered (lower-cased), possibly none
    stale: bool
    userhash: bool

    @classmethod
    def from_params(cls, params: dict[str, str]) -> DigestChallenge | None:
        """Build the challenge from a parsed ``Digest`` challenge's parameters.

        Returns None if it lacks ``realm`` or ``nonce``, or uses an algorithm
        or qop this client does not implement.
        """
        realm = params.get("realm")
        nonce = params.get("nonce")
        if realm is None or nonce is None:
            return None
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm.removesuffix("-SESS") not in _HASHES:
            return None
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        if qop and "auth" not in qop:
            return None  # only auth-int offered: the body would have to be hashed
        return cls(
            realm=realm,
            nonce=nonce,
            opaque=params.get("opaque"),
            algorithm=algorithm,
            qop=qop,
            stale=params.get("stale", "").lower() == "true",
            userhash=params.get("userhash", "").lower() == "true",
        )


def find_digest_challenge(values: Iterable[str]) -> DigestChallenge | None:
    """Return the first usable ``Digest`` challenge among `values`, or None.

    RFC 7616 §3.7: a server may offer several algorithms; the first one this
    client implements is used (servers list their preferred one first).
    """
    for challenge in parse_challenges(values):
        if challenge.scheme == "digest":
            digest = DigestChallenge.from_params(challenge.params)
            if digest is not None:
                return digest
    return None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_authorization(
    challenge: DigestChallenge,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """Return the ``Authorization`` value answering `challenge` (RFC 7616 §3.4).

    `uri` is the request target as sent (``/path?query``, or the absolute
    form through a proxy, or ``host:port`` for CONNECT); `nc` counts the
    requests made with this nonce.  A fresh random `cnonce` is made unless
    one is given (for tests).

    :raises ValueError: if a credential contains a control character.
    """
    _check_no_controls("the user name", username)
    _check_no_controls("the password", password)
    base = challenge.algorithm.removesuffix("-SESS")
    digest = _HASHES[base]
    session = challenge.algorithm.endswith("-SESS")
    if cnonce is None:
        cnonce = os.urandom(16).hex()
    ha1 = digest(utf8(f"{username}:{challenge.realm}:{password}"))
    if session:
        ha1 = digest(utf8(f"{ha1}:{challenge.nonce}:{cnonce}"))
    ha2 = digest(utf8(f"{method}:{uri}"))
    nc_value = f"{nc:08x}"
    if challenge.qop:
        response = digest(utf8(f"{ha1}:{challenge.nonce}:{nc_value}:{cnonce}:auth:{ha2}"))
    else:
        # RFC 2069 compatibility: a challenge without qop.
        response = digest(utf8(f"{ha1}:{challenge.nonce}:{ha2}"))
    user = digest(utf8(f"{username}:{challenge.realm}")) if challenge.userhash else username
    parts = [
        f"username={_quote(user)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"algorithm={challenge.algorithm}",
        f"response={_quote(response)}",
    ]
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    if challenge.qop:
        parts += ["qop=auth", f"nc={nc_value}", f"cnonce={_quote(cnonce)}"]
    if challenge.userhash:
        parts.append("userhash=true")
    header = "Digest " + ", ".join(parts)
    _check_no_controls("a Digest parameter", header)
    return header
