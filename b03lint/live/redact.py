"""Passwords never leave the process: every text live mode prints, logs or writes goes
through :func:`scrub` (structured reports through :func:`scrub_data`, before they are
serialised, so that JSON escaping cannot hide a password from it).

This is the one masking routine of live mode. Three layers, so that a password is caught
however it is spelled:

1. URLs: ``scheme://user:secret@host`` -> ``scheme://user:***@host``, up to the *last* ``@``
   of the URL's authority, so that an unencoded ``@``, ``:``, ``/`` or ``#`` in a password
   (``postgresql://pat:P@ss/w#rd@host/db``, as users type them) is masked whole;
2. keyword settings: ``password=secret`` / ``password='a b'`` (libpq conninfo, query strings)
   and ``PGPASSWORD=...`` -> ``password=***``;
3. every password b03lint has seen (:func:`remember`: in a URL or conninfo string, in
   ``PGPASSWORD``, in a ``.pgpass`` file, in the environment of the migration process), in
   every spelling it may be printed in: raw, percent-decoded, percent-encoded (upper- and
   lower-case hex, ``+`` for spaces), doubled ``%%`` (configparser), JSON- and
   ``repr``-escaped, conninfo-quoted. Secrets shorter than :data:`MIN_SECRET` characters are
   masked only by the first two layers: blanking every ``ab`` in a report would destroy it.

A URL that cannot be parsed is never echoed: :func:`remember_unparsable` remembers the whole
text and the password it would have, and messages describe the problem without quoting it
(:func:`describe_parse_error`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_SECRET = 4

_SECRETS: set[str] = set()
_PATTERN: re.Pattern[str] | None = None

#: a URL up to whitespace, a quote or the start of its query
_URL_RE = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<rest>[^\s'\"<>?]*)")
_KEYWORD_RE = re.compile(
    r"(?P<head>\b(?:password|passwd|pgpassword)\s*[=:]\s*)"
    r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]+)",
    re.IGNORECASE,
)
_HEX = re.compile(r"%[0-9A-F]{2}")


def spellings(secret: str) -> set[str]:
    """Every way ``secret`` may be printed."""
    out: set[str] = set()
    for base in {secret, unquote(secret)}:
        encoded = {quote(base, safe=""), quote(base), quote_plus(base, safe="")}
        encoded |= {_HEX.sub(lambda m: m.group().lower(), e) for e in encoded}
        forms = {base, *encoded, json.dumps(base)[1:-1], repr(base)[1:-1],
                 base.replace("\\", "\\\\").replace("'", "\\'")}
        forms |= {f.replace("%", "%%") for f in forms}
        out |= forms
    return {f for f in out if len(f) >= MIN_SECRET}


def remember(secret: str | None) -> None:
    """Mask ``secret`` (in all its :func:`spellings`) in everything scrubbed from now on."""
    global _PATTERN
    if not secret:
        return
    new = spellings(secret) - _SECRETS
    if new:
        _SECRETS.update(new)
        _PATTERN = None


def _userinfo_password(url: str) -> str | None:
    """The password of ``scheme://user:password@host``, read greedily up to the last ``@``
    of the authority (so that unencoded ``@`` ``/`` ``#`` stay inside it)."""
    m = _URL_RE.search(url)
    if not m:
        return None
    rest = m.group("rest")
    at = rest.rfind("@")
    if at < 0:
        return None
    _user, sep, password = rest[:at].partition(":")
    return password if sep else None


def remember_url(url: str | None) -> None:
    """Remember the password of a database URL or libpq conninfo string, if it has one."""
    if not url:
        return
    remember(_userinfo_password(url))
    try:
        parts = urlsplit(url)
        if parts.password:
            remember(parts.password)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.lower() == "password":
                remember(value)
    except ValueError:
        pass
    for match in re.finditer(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", url, re.IGNORECASE):
        value = match.group(1)
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        remember(value)


def has_password(url: str) -> bool:
    """Whether a URL or conninfo string carries a password."""
    if _userinfo_password(url):
        return True
    return re.search(r"\bpassword\s*=", url, re.IGNORECASE) is not None


def remember_unparsable(text: str) -> None:
    """A database URL that could not be parsed: mask all of it, and its password."""
    remember_url(text)
    remember(text.strip())


def remember_pgpass(path: str | Path | None = None) -> None:
    """Remember every password of a libpq password file (``PGPASSFILE``, else
    ``~/.pgpass``): ``host:port:database:user:password`` lines, ``\\:`` and ``\\\\``
    escaped."""
    if path is None:
        path = os.environ.get("PGPASSFILE") or Path.home() / ".pgpass"
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields: list[str] = []
        current, escaped = "", False
        for ch in line:
            if escaped:
                current += ch
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == ":" and len(fields) < 4:
                fields.append(current)
                current = ""
            else:
                current += ch
        if len(fields) == 4:
            remember(current)


def remember_environment(environ: Mapping[str, str] | None = None) -> None:
    """``PGPASSWORD`` and the password of every variable that holds a database URL or a
    conninfo string (``APP_DATABASE_URL=postgresql://...``), seen or not."""
    env = os.environ if environ is None else environ
    remember(env.get("PGPASSWORD"))
    for value in env.values():
        if "://" in value or "password" in value.lower():
            remember_url(value)


def _secrets_pattern() -> re.Pattern[str] | None:
    global _PATTERN
    if _PATTERN is None and _SECRETS:
        ordered = sorted(_SECRETS, key=len, reverse=True)
        _PATTERN = re.compile("|".join(re.escape(s) for s in ordered))
    return _PATTERN


def _mask_url(m: re.Match[str]) -> str:
    rest = m.group("rest")
    at = rest.rfind("@")
    if at < 0:
        return m.group(0)
    user, sep, _password = rest[:at].partition(":")
    if not sep:
        return m.group(0)
    return f"{m.group('head')}{user}:{MASK}{rest[at:]}"


def scrub(text: str) -> str:
    """``text`` with every password masked."""
    if not text:
        return text
    pattern = _secrets_pattern()
    out = pattern.sub(MASK, text) if pattern is not None else text
    out = _URL_RE.sub(_mask_url, out)
    out = _KEYWORD_RE.sub(lambda m: f"{m.group('head')}{MASK}", out)
    return out


def scrub_data(value: Any) -> Any:
    """A JSON-able value with every string in it scrubbed (keys too)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub(str(k)): scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v) for v in value]
    return value


def describe_parse_error(detail: str) -> str:
    """A parser's complaint about a URL without the URL: quoted fragments are elided."""
    text = re.sub(r"\"[^\"]*\"|'[^']*'", '"..."', " ".join(detail.split()))
    return scrub(text)
