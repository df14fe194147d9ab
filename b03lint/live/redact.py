"""Passwords never leave the process: every text live mode prints, logs or writes goes
through :func:`scrub`.

Three layers, so that a password is caught however it is spelled:

1. URLs: ``scheme://user:secret@host`` -> ``scheme://user:***@host``;
2. keyword settings: ``password=secret`` / ``password='a b'`` (libpq conninfo, query strings)
   and ``PGPASSWORD=...`` -> ``password=***``;
3. every password b03lint has seen in a URL or conninfo (:func:`remember_url`), raw and
   percent-decoded, wherever it appears (an error message that quotes it without context).
   Secrets shorter than :data:`MIN_SECRET` characters are masked only by the first two
   layers: blanking every ``ab`` in a report would destroy it.

"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
MIN_SECRET = 4

_SECRETS: set[str] = set()
_URL_RE = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^@\s'\"]*@")
_KEYWORD_RE = re.compile(
    r"(?P<head>\b(?:password|passwd|pgpassword)\s*[=:]\s*)"
    r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]+)",
    re.IGNORECASE,
)


def remember(secret: str | None) -> None:
    """Mask ``secret`` (and its percent-decoded form) in everything scrubbed from now on."""
    if not secret:
        return
    for form in {secret, unquote(secret)}:
        if len(form) >= MIN_SECRET:
            _SECRETS.add(form)


def remember_url(url: str | None) -> None:
    """Remember the password of a database URL or libpq conninfo string, if it has one."""
    if not url:
        return
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
            value = value[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        remember(value)


def scrub(text: str) -> str:
    """``text`` with every password masked."""
    if not text:
        return text
    out = _URL_RE.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    out = _KEYWORD_RE.sub(lambda m: f"{m.group('head')}{MASK}", out)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in out:
            out = out.replace(secret, MASK)
    return out
