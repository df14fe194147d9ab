"""Database targets: parse a URL (or libpq conninfo) once, name it without secrets, connect
with psycopg 3, and turn every psycopg/libpq failure into one clear :class:`LiveError`.

Every password met here is remembered by :mod:`b03lint.live.redact` before anything can
print it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from b03lint.live import LiveError, require
from b03lint.live.redact import (
    describe_parse_error,
    remember,
    remember_pgpass,
    remember_unparsable,
    remember_url,
    scrub,
)

if TYPE_CHECKING:
    import psycopg

#: libpq keywords that go in a URL's authority/path rather than its query string
_URL_PARTS = ("user", "password", "host", "port", "dbname")
#: how long a connection attempt may take (seconds)
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Target:
    """A PostgreSQL server and database, as libpq keywords."""

    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str, source: str = "the database URL") -> Target:
        """``postgresql://`` / ``postgres://`` / ``postgresql+driver://`` URLs and libpq
        ``key=value`` strings. ``source`` names where it came from (``--database-url``,
        ``$DATABASE_URL``) for messages, which never quote the URL itself."""
        remember_url(url)
        remember(os.environ.get("PGPASSWORD"))
        remember_pgpass()
        require("psycopg")
        from psycopg.conninfo import conninfo_to_dict

        text = url.strip()
        scheme, sep, rest = text.partition("://")
        if sep:
            base = scheme.lower().split("+", 1)[0]
            if base not in ("postgresql", "postgres"):
                remember_unparsable(text)
                raise LiveError(f"{source} is not a PostgreSQL URL: its scheme must be "
                                "postgresql:// (the URL is not shown: it may hold a password)")
            authority = rest.split("?", 1)[0]
            userinfo = authority[: authority.rfind("@")] if "@" in authority else ""
            if "@" in userinfo or "/" in userinfo.partition(":")[2]:
                remember_unparsable(text)
                raise LiveError(
                    f"cannot parse {source}: its password holds an unencoded '@' or '/' "
                    "(percent-encode the password: @ is %40, / is %2F, : is %3A, # is %23, "
                    "% is %25); the URL is not shown")
            text = f"postgresql://{rest}"
        try:
            parsed = conninfo_to_dict(text)
        except Exception as exc:
            remember_unparsable(url)
            raise LiveError(f"cannot parse {source} ({describe_parse_error(str(exc))}); the "
                            "URL is not shown: it may hold a password") from None
        params = {k: str(v) for k, v in parsed.items() if v is not None}
        remember(params.get("password"))
        if params.get("passfile"):
            remember_pgpass(params["passfile"])
        return cls(params)

    @property
    def dbname(self) -> str:
        return self.params.get("dbname") or self.params.get("user") or os.environ.get(
            "PGDATABASE", "postgres")

    def with_dbname(self, dbname: str) -> Target:
        return Target({**self.params, "dbname": dbname})

    def url(self) -> str:
        """A ``postgresql://`` URL (for ``DATABASE_URL``); sockets go in the query."""
        p = self.params
        auth = ""
        if p.get("user"):
            auth = quote(p["user"], safe="")
            if p.get("password"):
                auth += ":" + quote(p["password"], safe="")
            auth += "@"
        host = p.get("host", "")
        netloc = ""
        query = {k: v for k, v in p.items() if k not in _URL_PARTS}
        if host and not host.startswith("/") and "," not in host:
            netloc = f"[{host}]" if ":" in host else host
            if p.get("port"):
                netloc += f":{p['port']}"
        else:
            if host:
                query["host"] = host
            if p.get("port"):
                query["port"] = p["port"]
        tail = "&".join(f"{quote(k, safe='')}={quote(v, safe='/')}" for k, v in query.items())
        return (f"postgresql://{auth}{netloc}/{quote(p.get('dbname', ''), safe='')}"
                + (f"?{tail}" if tail else ""))

    def label(self) -> str:
        """``postgresql://host[:port]/dbname``: no user, no password, no options."""
        host = self.params.get("host") or os.environ.get("PGHOST") or "localhost"
        if host.startswith("/"):
            host = "localhost"
        port = self.params.get("port")
        where = f"{host}:{port}" if port else host
        return scrub(f"postgresql://{where}/{self.dbname}")

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        require("psycopg")
        import psycopg

        kwargs: dict[str, Any] = dict(self.params)
        kwargs.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
        kwargs.setdefault("application_name", "b03lint")
        try:
            return psycopg.connect(autocommit=autocommit, **kwargs)
        except psycopg.Error as exc:
            raise explain(exc, f"cannot connect to {self.label()}") from None


def explain(exc: BaseException, doing: str) -> LiveError:
    """One clear, password-free line for a database failure while ``doing`` something."""
    import psycopg
    from psycopg import errors

    detail = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, errors.QueryCanceled):
        why = "statement timeout exceeded (raise --statement-timeout or find the lock)"
        if "statement timeout" not in detail:
            why = "the statement was cancelled"
        return LiveError(scrub(f"{doing}: {why}: {detail}"))
    if isinstance(exc, errors.InsufficientPrivilege):
        return LiveError(scrub(f"{doing}: missing privilege: {detail}"))
    if isinstance(exc, errors.AdminShutdown | errors.CrashShutdown | errors.CannotConnectNow):
        return LiveError(scrub(f"{doing}: the server went away (session terminated or server "
                               f"shut down): {detail}"))
    if isinstance(exc, psycopg.OperationalError):
        lowered = detail.lower()
        if any(s in lowered for s in ("server closed the connection", "terminating connection",
                                      "consuming input failed", "connection is lost",
                                      "the connection is closed", "eof detected")):
            return LiveError(scrub(f"{doing}: the server went away (session terminated or "
                                   f"server shut down): {detail}"))
    return LiveError(scrub(f"{doing}: {detail}"))
