"""One spelling for every PostgreSQL type, whoever wrote it.

SQLAlchemy (``sa.String(100)``), SQL (``character varying(100)``, ``VARCHAR(100)``),
pglast (``pg_catalog.varchar`` with typmods) and the live catalog (``format_type``) all
normalise to the same short lower-case form, so a diff compares like with like.
"""

from __future__ import annotations

import re

# name as written (lower case, pg_catalog. stripped) -> canonical short name
_ALIASES: dict[str, str] = {
    "int": "integer",
    "int4": "integer",
    "integer": "integer",
    "serial": "integer",
    "serial4": "integer",
    "int8": "bigint",
    "bigint": "bigint",
    "bigserial": "bigint",
    "serial8": "bigint",
    "int2": "smallint",
    "smallint": "smallint",
    "smallserial": "smallint",
    "serial2": "smallint",
    "bool": "boolean",
    "boolean": "boolean",
    "varchar": "varchar",
    "character varying": "varchar",
    "string": "varchar",
    "unicode": "varchar",
    "char": "char",
    "character": "char",
    "bpchar": "char",
    "nchar": "char",
    "text": "text",
    "unicodetext": "text",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "jsonb",
    "date": "date",
    "time": "time",
    "time without time zone": "time",
    "timetz": "timetz",
    "time with time zone": "timetz",
    "timestamp": "timestamp",
    "timestamp without time zone": "timestamp",
    "datetime": "timestamp",
    "timestamptz": "timestamptz",
    "timestamp with time zone": "timestamptz",
    "interval": "interval",
    "numeric": "numeric",
    "decimal": "numeric",
    "float4": "real",
    "real": "real",
    "float8": "double precision",
    "double precision": "double precision",
    "double": "double precision",
    "float": "double precision",
    "bytea": "bytea",
    "largebinary": "bytea",
    "bit varying": "varbit",
    "varbit": "varbit",
    "bit": "bit",
    "inet": "inet",
    "cidr": "cidr",
    "citext": "citext",
    "money": "money",
    "tsvector": "tsvector",
    "oid": "oid",
}

_SERIAL = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}

_TYPE_RE = re.compile(
    r"^\s*(?P<name>[a-z_][a-z0-9_ .\"]*?)\s*(?:\((?P<args>[^)]*)\))?\s*"
    r"(?P<tz>with(?:out)? time zone)?\s*(?P<array>(?:\[\s*\d*\s*\])*)\s*$"
)


def normalize_type(name: str, args: tuple[int | str, ...] = (), *, timezone: bool = False) -> str:
    """Normalise a type name and its modifiers.

    >>> normalize_type("character varying", (100,))
    'varchar(100)'
    >>> normalize_type("TIMESTAMP WITH TIME ZONE")
    'timestamptz'
    >>> normalize_type("DateTime", timezone=True)
    'timestamptz'
    >>> normalize_type("numeric(5, 4)")
    'numeric(5,4)'
    >>> normalize_type("int4[]")
    'integer[]'
    """
    text = " ".join(name.strip().lower().replace('"', "").split())
    array = ""
    match = _TYPE_RE.match(text)
    if match:
        text = match.group("name").strip()
        if match.group("args") and not args:
            args = tuple(a.strip() for a in match.group("args").split(",") if a.strip())
        if match.group("tz"):
            text = f"{text} {match.group('tz')}"
        array = "[]" * match.group("array").count("[")
    if text.startswith("pg_catalog."):
        text = text[len("pg_catalog.") :]
    for prefix in ("sa.", "sqlalchemy.", "postgresql.", "types.", "dialects.postgresql."):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text.startswith("_") and text[1:] in _ALIASES:  # pg's array type names: _int4
        text, array = text[1:], array or "[]"
    base = _ALIASES.get(text, text)
    if text == "float" and args and str(args[0]).strip().isdigit() and int(args[0]) <= 24:
        base = "real"  # float(1)..float(24) is real, float(25)..float(53) double precision
    if base == "timestamp" and (timezone or text.endswith("with time zone")):
        base = "timestamptz"
    if base == "time" and timezone:
        base = "timetz"
    mods = [str(a).strip() for a in args]
    if text in _SERIAL or base in {"integer", "bigint", "smallint", "boolean", "text", "uuid",
                                   "jsonb", "json", "date", "bytea", "real",
                                   "double precision"}:
        mods = []
    if base in {"timestamp", "timestamptz", "time", "timetz"} and mods == ["6"]:
        mods = []  # the default precision
    if base in {"char", "bit"} and not mods:
        mods = ["1"]  # char and bit without a length are char(1) and bit(1)
    suffix = f"({','.join(mods)})" if mods else ""
    return f"{base}{suffix}{array}"


def is_serial(name: str) -> bool:
    """Whether ``name`` is a serial pseudo-type (it implies a sequence default)."""
    return name.strip().lower() in _SERIAL


def serial_default(schema: str | None, table: str, column: str) -> str:
    """The default PostgreSQL stores for a serial column: ``nextval('<t>_<c>_seq'::regclass)``,
    with ChooseRelationName's truncation to 63 characters (a clash with an existing name,
    which PostgreSQL resolves with a number, cannot be known statically)."""
    avail = 63 - len("seq") - 2
    n1, n2 = len(table), len(column)
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    seq = f"{table[:n1]}_{column[:n2]}_seq"
    if schema and schema != "public":
        seq = f"{schema}.{seq}"
    return f"nextval('{seq.replace(chr(39), chr(39) * 2)}'::regclass)"
