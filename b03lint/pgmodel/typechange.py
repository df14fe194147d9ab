"""What ``ALTER TABLE ... ALTER COLUMN ... TYPE`` does to the rows, as PostgreSQL decides it.

PostgreSQL plans the conversion of the old value to the new type (``USING`` or the
assignment cast) and rewrites the table unless that plan is the column itself, possibly
relabelled (``ATColumnChangeRequiresRewrite`` in ``src/backend/commands/tablecmds.c``). Two
things make a plan trivial:

- a **binary-coercible** cast (``pg_cast.castmethod = 'b'``): ``varchar`` <-> ``text``,
  ``text``/``varchar`` -> ``char`` (before its length check), ``cidr`` -> ``inet``,
  ``xml`` -> ``text``, ``bit`` <-> ``varbit``, ``oid`` <-> ``integer``/``regclass``;
- a **length coercion that cannot change a value**, which the planner support function of
  the type removes (``varchar_support``, ``numeric_support``, ``timestamp_support``,
  ``time_support``, ``interval_support``, ``varbit_support``): a longer ``varchar(n)``, a
  ``numeric(p, s)`` of the same scale and no smaller precision, a finer
  ``timestamp(p)``/``time(p)``/``interval(p)``, a longer ``varbit(n)``, or dropping the
  modifier altogether. ``char(n)`` and ``bit(n)`` have no such function: any change of
  their length rewrites.

Everything else rewrites the table and its indexes under an ACCESS EXCLUSIVE lock. Of
those, some conversions keep every value (``integer`` -> ``bigint``, any type -> ``text``);
the others can reject rows (a narrower type, ``text`` -> ``integer``) or change them
(rounding, dropped precision, duplicate JSON keys).

``tests/test_pg_typechange.py`` proves every pair of :data:`PROVEN` against a real server:
``pg_class.relfilenode`` before and after, and for each lossy pair a row the new type
rejects or changes.

One simplification is inherited from :func:`b03lint.sqltypes.normalize_type`: ``timestamp(6)``
(the default precision) is read as ``timestamp``, so a change between the two is "no
change" although PostgreSQL rewrites when the modifier is added.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

Verdict = Literal["same", "no_rewrite", "rewrite", "may_lose", "unknown"]

#: base type pairs whose cast is binary coercible in assignment context (pg_cast, 'b')
BINARY: frozenset[tuple[str, str]] = frozenset({
    ("varchar", "text"), ("text", "varchar"), ("text", "char"), ("varchar", "char"),
    ("cidr", "inet"), ("xml", "text"), ("xml", "varchar"), ("xml", "char"),
    ("bit", "varbit"), ("varbit", "bit"),
    ("integer", "oid"), ("oid", "integer"), ("oid", "regclass"), ("regclass", "oid"),
    ("integer", "regclass"), ("regclass", "integer"),
})

#: types whose length coercion has a planner support function (no-op when wider)
_SUPPORTED_LENGTH = frozenset({"varchar", "numeric", "timestamp", "timestamptz", "time",
                               "timetz", "interval", "varbit"})
#: types whose length coercion always runs (no support function)
_UNSUPPORTED_LENGTH = frozenset({"char", "bit"})

_INT_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_INT_RANK = {"smallint": 0, "integer": 1, "bigint": 2}
#: exactly representable integers: real has a 24-bit mantissa, double precision 53
_FLOAT_EXACT = {"real": {"smallint"}, "double precision": {"smallint", "integer"}}
_STRINGS = frozenset({"text", "varchar", "char", "citext"})

#: lossless conversions that rewrite: (old base, new base) -> what PostgreSQL does
_LOSSLESS: dict[tuple[str, str], str] = {
    ("real", "double precision"): "every real is a double precision",
    ("date", "timestamp"): "every date is a timestamp at midnight",
    ("date", "timestamptz"): "every date is a timestamp at midnight (in the session's time zone)",
    ("time", "interval"): "every time of day is an interval",
    ("time", "timetz"): "each time gets the session's time zone offset",
    ("jsonb", "json"): "every jsonb value has a json text",
    ("timestamp", "timestamptz"):
        "each value is read in the session's time zone; PostgreSQL 12+ skips the rewrite "
        "only when that time zone is UTC",
    ("timestamptz", "timestamp"):
        "each value is converted to the session's time zone; PostgreSQL 12+ skips the "
        "rewrite only when that time zone is UTC",
}

#: lossy conversions with a named reason
_LOSSY: dict[tuple[str, str], str] = {
    ("json", "jsonb"): "jsonb rejects \\u0000 and keeps only the last of duplicate keys",
    ("inet", "cidr"): "cidr rejects addresses with bits set right of the mask",
    ("double precision", "real"): "values lose precision beyond real's 6 digits",
    ("timestamp", "date"): "the time of day is dropped",
    ("timestamptz", "date"): "the time of day is dropped",
    ("timestamp", "time"): "the date is dropped",
    ("timestamptz", "time"): "the date is dropped",
    ("timestamptz", "timetz"): "the date is dropped",
    ("timetz", "time"): "the time zone offset is dropped",
}

PROVEN: tuple[tuple[str, str, Verdict], ...] = (
    # the pairs tests/test_pg_typechange.py runs on a real server (old, new, verdict)
    ("varchar(50)", "varchar(100)", "no_rewrite"),
    ("varchar(50)", "varchar", "no_rewrite"),
    ("varchar(50)", "text", "no_rewrite"),
    ("text", "varchar", "no_rewrite"),
    ("varchar", "text", "no_rewrite"),
    ("numeric(10,2)", "numeric(12,2)", "no_rewrite"),
    ("numeric(10,2)", "numeric", "no_rewrite"),
    ("varbit(4)", "varbit(8)", "no_rewrite"),
    ("timestamp(0)", "timestamp(3)", "no_rewrite"),
    ("timestamptz(0)", "timestamptz", "no_rewrite"),
    ("time(0)", "time(3)", "no_rewrite"),
    ("interval(0)", "interval(3)", "no_rewrite"),
    ("cidr", "inet", "no_rewrite"),
    ("xml", "text", "no_rewrite"),
    ("varchar(100)", "varchar(50)", "may_lose"),
    ("text", "varchar(5)", "may_lose"),
    ("text", "integer", "may_lose"),
    ("numeric(10,2)", "numeric(10,1)", "may_lose"),
    ("numeric(10,2)", "numeric(5,2)", "may_lose"),
    ("bigint", "integer", "may_lose"),
    ("double precision", "integer", "may_lose"),
    ("timestamp(3)", "timestamp(0)", "may_lose"),
    ("json", "jsonb", "may_lose"),
    ("char(5)", "char(2)", "may_lose"),
    ("integer", "bigint", "rewrite"),
    ("smallint", "integer", "rewrite"),
    ("integer", "numeric", "rewrite"),
    ("integer", "text", "rewrite"),
    ("real", "double precision", "rewrite"),
    ("date", "timestamp", "rewrite"),
    ("char(2)", "char(5)", "rewrite"),
    ("numeric(10,2)", "numeric(12,4)", "rewrite"),
)


@record(frozen=True)
class TypeChange:
    """The verdict on one type change, and one sentence saying why."""

    verdict: Verdict
    why: str

    @property
    def rewrites(self) -> bool:
        return self.verdict in ("rewrite", "may_lose")

    @property
    def harmless(self) -> bool:
        """No rewrite and no value can be lost (info at most)."""
        return self.verdict in ("same", "no_rewrite")


@record(frozen=True)
class ParsedType:
    base: str
    mods: tuple[int, ...]
    array: int

    @property
    def unconstrained(self) -> bool:
        return not self.mods

    def __str__(self) -> str:
        mods = f"({','.join(map(str, self.mods))})" if self.mods else ""
        return f"{self.base}{mods}{'[]' * self.array}"


_PARSE_RE = re.compile(r"^(?P<base>[^()\[\]]+?)\s*(?:\((?P<mods>[^)]*)\))?(?P<array>(?:\[\])*)$")


def parse_type(normalized: str) -> ParsedType | None:
    """Split a type spelled by :func:`~b03lint.sqltypes.normalize_type` into its parts."""
    match = _PARSE_RE.match(normalized.strip())
    if match is None:
        return None
    mods: list[int] = []
    for part in (match.group("mods") or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            return None
        mods.append(int(part))
    base = match.group("base").strip()
    if base == "numeric" and len(mods) == 1:
        mods.append(0)  # numeric(p) is numeric(p, 0)
    return ParsedType(base, tuple(mods), match.group("array").count("[]"))


def _noop(base: str, old: ParsedType, new: ParsedType) -> bool:
    """Whether the planner support function of ``base`` removes the length coercion from
    ``old``'s modifier to ``new``'s (same base): the new limit is absent or no tighter."""
    if new.unconstrained:
        return True
    if old.unconstrained or len(old.mods) != len(new.mods):
        return False
    if base == "numeric":  # numeric_support: same scale, no smaller precision
        return new.mods[1] == old.mods[1] and new.mods[0] >= old.mods[0]
    return new.mods[0] >= old.mods[0]


def _keeps(base: str, old: ParsedType, new: ParsedType) -> bool:
    """Whether every value of ``old`` is a value of ``new`` unchanged (same base)."""
    if base == "numeric" and len(old.mods) == 2 and len(new.mods) == 2:
        (p1, s1), (p2, s2) = old.mods, new.mods
        return s2 >= s1 and p2 - s2 >= p1 - s1
    return _noop(base, old, new)


def _length_step(old: ParsedType, new: ParsedType, relabelled: bool) -> TypeChange:
    """The target type's length coercion after a binary relabel (or on the same type)."""
    base = new.base
    if new.unconstrained and base not in _UNSUPPORTED_LENGTH:
        return TypeChange("no_rewrite", f"no rewrite, no data loss: PostgreSQL relabels "
                          f"{old} as {new}" if relabelled else
                          f"no rewrite, no data loss: {new} has no limit")
    same = old.base == base
    if same and base in _SUPPORTED_LENGTH and _noop(base, old, new):
        return TypeChange("no_rewrite", f"no rewrite, no data loss: {new} holds every "
                          f"{old} value, so PostgreSQL skips the rewrite")
    if same and _keeps(base, old, new):
        why = ("has no length shortcut" if base in _UNSUPPORTED_LENGTH
               else "changes scale, which the shortcut does not cover")
        return _rewrite(f"{base} {why}, but every value is kept")
    if base == "numeric" and same and len(old.mods) == 2 and len(new.mods) == 2 \
            and new.mods[1] < old.mods[1]:
        reason = f"values are rounded to {new.mods[1]} decimal places"
    elif base in ("timestamp", "timestamptz", "time", "timetz", "interval"):
        reason = f"values are rounded to {new.mods[0] if new.mods else 6} fractional digits"
    elif base == "numeric":
        reason = "values with more integer digits than the new precision are rejected"
    elif base == "bit":
        reason = "values of another length are rejected"
    else:
        reason = "longer values are rejected"
    return _lossy(old, new, reason)


def _lossy(old: ParsedType, new: ParsedType, reason: str) -> TypeChange:
    return TypeChange("may_lose", f"can reject or change existing values ({reason}) and "
                      f"rewrites the table under an ACCESS EXCLUSIVE lock")


def _rewrite(reason: str) -> TypeChange:
    return TypeChange("rewrite", "rewrites the table and its indexes under an ACCESS "
                      f"EXCLUSIVE lock; {reason} (no data loss)")


def _classify_bases(old: ParsedType, new: ParsedType, enums: frozenset[str]) -> TypeChange:
    a, b = old.base, new.base
    if a == b:
        return _length_step(old, new, relabelled=False)
    if (a, b) in BINARY:
        return _length_step(old, new, relabelled=True)
    if a in _INT_RANK and b in _INT_RANK:
        if _INT_RANK[b] > _INT_RANK[a]:
            return _rewrite(f"every {a} fits in {b}")
        return _lossy(old, new, f"values outside the range of {b} are rejected")
    if a in _INT_DIGITS and b == "numeric":
        if new.unconstrained or new.mods[0] - new.mods[1] >= _INT_DIGITS[a]:
            return _rewrite(f"every {a} fits in {new}")
        return _lossy(old, new, f"{new} cannot hold every {a}")
    if a in _INT_DIGITS and b in _FLOAT_EXACT:
        if a in _FLOAT_EXACT[b]:
            return _rewrite(f"every {a} is exact in {b}")
        return _lossy(old, new, f"large {a} values lose precision in {b}")
    if a in ("numeric", "real", "double precision") and b in _INT_DIGITS:
        return _lossy(old, new, "fractions are rounded and large values rejected")
    if a == "numeric" and b in ("real", "double precision"):
        return _lossy(old, new, f"values lose precision in {b}")
    if (a, b) in _LOSSLESS and not new.mods:
        return _rewrite(_LOSSLESS[a, b])
    if (a, b) in _LOSSY:
        return _lossy(old, new, _LOSSY[a, b])
    if b in ("text", "varchar") and new.unconstrained and a not in _STRINGS:
        what = "enum label" if a in enums else f"{a} value"
        return _rewrite(f"every {what} is written out as text")
    if b in _STRINGS and a not in _STRINGS:
        return _lossy(old, new, f"text forms longer than {new} are rejected")
    if a in _STRINGS:
        return _lossy(old, new, f"every value must be a valid {b}; others are rejected")
    return _lossy(old, new, f"b03lint knows no lossless conversion from {a} to {b}")


def _trivial_using(using: str, column: str | None, new: str) -> bool:
    """``USING col`` or ``USING col::newtype``: PostgreSQL plans it as the implicit cast."""
    from b03lint.sqltypes import normalize_type

    text = " ".join(using.replace('"', "").split()).lower()
    col = (column or "").lower()
    if text == col:
        return True
    for pattern in (rf"^\(?{re.escape(col)}\)?\s*::\s*(?P<t>.+)$",
                    rf"^cast\s*\(\s*{re.escape(col)}\s+as\s+(?P<t>.+)\)$"):
        match = re.match(pattern, text) if col else None
        if match and normalize_type(match.group("t")) == new:
            return True
    return False


def classify(old: str | None, new: str | None, *, using: str | None = None,
             column: str | None = None, enums: frozenset[str] = frozenset()) -> TypeChange:
    """What changing a column from type ``old`` to ``new`` does (both normalised by
    :func:`~b03lint.sqltypes.normalize_type`; None when unknown)."""
    if new is None:
        return TypeChange("unknown", "the new type is not known statically, so the change "
                          "may rewrite the table or reject values")
    if using is not None and not _trivial_using(using, column, new):
        return TypeChange("may_lose", "rewrites the table under an ACCESS EXCLUSIVE lock, "
                          "and the USING expression computes every value (values may "
                          "change or be rejected)")
    if old is None:
        return TypeChange("unknown", "the column's current type is not known here, so the "
                          "change may rewrite the table or reject values")
    if old == new:
        return TypeChange("same", "the type does not change (no rewrite, no data loss)")
    po, pn = parse_type(old), parse_type(new)
    if po is None or pn is None:
        return TypeChange("unknown", f"b03lint cannot read {old if po is None else new}, so "
                          "the change may rewrite the table or reject values")
    if po.array != pn.array:
        return _lossy(po, pn, "the array dimensions change")
    if po.array:
        inner = _classify_bases(ParsedType(po.base, po.mods, 0),
                                ParsedType(pn.base, pn.mods, 0), enums)
        if inner.verdict == "no_rewrite" and pn.unconstrained and (po.base, pn.base) in BINARY:
            return inner
        if inner.verdict in ("no_rewrite", "rewrite"):
            return _rewrite("each element is converted")
        return inner
    return _classify_bases(po, pn, enums)
