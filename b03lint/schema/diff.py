"""Schema x Schema -> deviations. ``actual`` is what the chain (or a live database)
produces; ``expected`` is the canonical schema. One diff serves every comparison."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

from b03lint.operations import IndexElement
from b03lint.schema.model import Constraint, Index, Origin, Policy, Schema, Table


@dataclass(frozen=True)
class Deviation:
    """One way ``actual`` differs from ``expected``.

    ``kind`` names the contract rule that reports it (see b03lint.rules.contract);
    ``object`` is the schema object (``dead_events.remediation_status``,
    ``idx_allocations_channel_performance``), ``aliases`` other names it goes by (a drift
    register entry may use any). ``actual``/``expected`` say where each side got its shape.
    """

    kind: str
    object: str
    message: str
    actual: Origin | None = None
    expected: Origin | None = None
    aliases: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def names(self) -> set[str]:
        return {self.object, *self.aliases}


_T = TypeVar("_T")


@lru_cache(maxsize=4096)
def _norm_expr(text: str | None, enum_types: frozenset[str] = frozenset(),
               text_columns: frozenset[str] = frozenset()) -> str | None:
    """An expression after PostgreSQL's own normalisation (see ``normalize_expression``):
    without the casts it adds to literals of an enum type (``'new'::status``) and to text
    columns (``(email)::text`` of a varchar column)."""
    if text is None:
        return None
    from b03lint.readers.sql import normalize_expression
    from b03lint.schema.expressions import drop_literal_casts

    try:
        return str(normalize_expression(drop_literal_casts(text, enum_types),
                                        text_columns=text_columns))
    except Exception:
        return " ".join(text.split())


_TEXTLIKE = ("text", "varchar", "citext", "char(", "character varying")


def _text_columns(*tables: Table | None) -> frozenset[str]:
    return frozenset(c.name for t in tables if t is not None for c in t.columns.values()
                     if c.type is not None and c.type.startswith(_TEXTLIKE))


@lru_cache(maxsize=4096)
def _norm_default(text: str | None, column_type: str | None = None,
                  enum_types: frozenset[str] = frozenset()) -> str | None:
    """A default as PostgreSQL stores it: ``nextval('public.s')`` is
    ``nextval('s'::regclass)``, a literal cast to an enum type is the literal."""
    if text is None:
        return None
    from b03lint.readers.sql import normalize_default
    from b03lint.schema.expressions import canonical_nextval, drop_literal_casts

    try:
        text = drop_literal_casts(canonical_nextval(text), enum_types)
        return str(normalize_default(text, column_type=column_type))
    except Exception:
        return " ".join(text.split())


def describe_index(idx: Index) -> str:
    def el(e: IndexElement) -> str:
        text = e.expression + (" DESC" if e.descending else "")
        return text + (f" NULLS {e.nulls.upper()}" if e.nulls else "")

    out = ("UNIQUE " if idx.unique else "") + f"({', '.join(el(e) for e in idx.elements)})"
    if idx.method != "btree":
        out = f"USING {idx.method} " + out
    if idx.include:
        out += f" INCLUDE ({', '.join(idx.include)})"
    if idx.where:
        out += f" WHERE {idx.where}"
    return out


Norm = Callable[[str | None], str | None]


def _raw(text: str | None) -> str | None:
    return text


def _same(a: _T, b: _T, shape: Callable[[_T, Norm], tuple[Any, ...]],
          norm: Norm = _norm_expr) -> bool:
    """Equal shapes. Texts equal as written need no parser: normalising (which loads
    pglast) is only paid for when the written forms differ."""
    return shape(a, _raw) == shape(b, _raw) or shape(a, norm) == shape(b, norm)


def _index_shape(idx: Index, norm: Norm = _norm_expr) -> tuple[Any, ...]:
    elements = tuple(
        (norm(e.expression) if e.is_expression else e.expression, e.descending,
         e.nulls or ("first" if e.descending else "last"), e.is_expression)
        for e in idx.elements)
    return (elements, idx.include, idx.unique, norm(idx.where), idx.method.lower())


def _constraint_shape(c: Constraint, norm: Norm = _norm_expr) -> tuple[Any, ...]:
    ref = c.references
    # a CHECK is its expression: written inline it names its column, at table level not
    columns = () if c.kind == "check" else c.columns
    return (c.kind, columns,
            norm(c.expression) if c.enum_values is None else tuple(sorted(c.enum_values)),
            (ref.table, ref.columns, (ref.on_delete or "").lower() or None) if ref else None)


def _q(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class _Differ:
    def __init__(self, actual: Schema, expected: Schema, tenant_column: str,
                 unknown_tables: set[str]):
        self.a = actual
        self.e = expected
        self.tenant_column = tenant_column
        self.unknown = unknown_tables
        self.out: list[Deviation] = []
        self.enum_types = frozenset(actual.enums) | frozenset(expected.enums)
        self._norms: dict[str, Norm] = {}

    def norm_for(self, table: str) -> Norm:
        """The normalisation of ``table``'s expressions (its text columns known)."""
        norm = self._norms.get(table)
        if norm is None:
            norm = self._norms[table] = partial(
                _norm_expr, enum_types=self.enum_types, text_columns=_text_columns(
                    self.a.tables.get(table), self.e.tables.get(table)))
        return norm

    def add(self, kind: str, obj: str, message: str, actual: Origin | None,
            expected: Origin | None, aliases: tuple[str, ...] = (), **details: Any) -> None:
        self.out.append(Deviation(kind, obj, message, actual, expected, aliases, details))

    # ------------------------------------------------------------------ tables

    def run(self) -> list[Deviation]:
        for name, et in self.e.tables.items():
            at = self.a.tables.get(name)
            if at is None:
                if name in self.unknown:
                    self.add("unknown-object", name, f"table {name}: state unknown (an "
                             "unresolved operation may create it)", None, et.origin)
                else:
                    self.add("missing-table", name, f"table {name} is missing", None, et.origin)
                continue
            if at.unknown or et.unknown or name in self.unknown:
                # an unresolved operation of the chain, or of the expected schema's own
                # SQL (a canonical DO block's IF), may have changed it: never guess
                self.add("unknown-object", name, f"table {name}: state unknown after an "
                         "unresolved operation; not compared", at.origin, et.origin)
                continue
            self.table(at, et)
        for name, at in self.a.tables.items():
            if name not in self.e.tables:
                self.add("extra-table", name, f"table {name} is not in the canonical schema",
                         at.origin, None)
        self.indexes()
        self.enums()
        return self.out

    def table(self, at: Table, et: Table) -> None:
        t = et.name
        missing = [c for c in et.columns if c not in at.columns]
        extra = [c for c in at.columns if c not in et.columns]
        renames: dict[str, str] = {}
        for canon in list(missing):
            ecol = et.columns[canon]
            same_type = [x for x in extra if at.columns[x].type == ecol.type]
            if len(same_type) == 1:
                new = same_type[0]
                renames[new] = canon
                missing.remove(canon)
                extra.remove(new)
                self.add("column-renamed", f"{t}.{canon}",
                         f"column {t}.{canon} appears renamed to {new} (both {ecol.type})",
                         at.columns[new].origin, ecol.origin, aliases=(f"{t}.{new}",),
                         canonical=canon, actual_name=new)
        for c in missing:
            self.add("missing-column", f"{t}.{c}", f"column {t}.{c} is missing "
                     f"(canonical: {et.columns[c].type})", at.origin, et.columns[c].origin)
        for c in extra:
            self.add("extra-column", f"{t}.{c}",
                     f"column {t}.{c} is not in the canonical schema", at.columns[c].origin,
                     None)
        for name, ecol in et.columns.items():
            acol = at.columns.get(name)
            if acol is None:
                actual_name = next((n for n, c in renames.items() if c == name), None)
                acol = at.columns.get(actual_name) if actual_name else None
            if acol is None:
                continue
            obj = f"{t}.{name}"
            if ecol.type is not None and acol.type is not None and acol.type != ecol.type:
                self.add("column-type", obj, f"column {obj} is {acol.type}, canonical says "
                         f"{ecol.type}", acol.origin, ecol.origin,
                         actual_type=acol.type, expected_type=ecol.type)
            if acol.nullable != ecol.nullable:
                want = "nullable" if ecol.nullable else "NOT NULL"
                got = "nullable" if acol.nullable else "NOT NULL"
                self.add("column-nullability", obj, f"column {obj} is {got}, canonical says "
                         f"{want}", acol.origin, ecol.origin)
            if acol.generated != ecol.generated and self.norm_for(t)(
                    acol.generated) != self.norm_for(t)(ecol.generated):
                got = f"generated as {acol.generated}" if acol.generated else "not generated"
                want = (f"generated as {ecol.generated}" if ecol.generated
                        else "a plain column")
                self.add("column-default", obj, f"column {obj} is {got}, canonical says "
                         f"{want}", acol.origin, ecol.origin)
            elif acol.default != ecol.default and _norm_default(
                    acol.default, ecol.type, self.enum_types) != _norm_default(
                    ecol.default, ecol.type, self.enum_types) and not (
                    acol.identity or ecol.identity):
                self.add("column-default", obj,
                         f"column {obj} defaults to {acol.default or 'nothing'}, canonical "
                         f"says {ecol.default or 'no default'}", acol.origin, ecol.origin)
        self.constraints(at, et)
        self.rls(at, et)
        self.policies(at, et)

    # ------------------------------------------------------------------ constraints

    def constraints(self, at: Table, et: Table) -> None:
        t = et.name
        unmatched_a = {n: c for n, c in at.constraints.items() if n not in et.constraints}
        unmatched_e = {n: c for n, c in et.constraints.items() if n not in at.constraints}
        for name, ec in et.constraints.items():
            ac = at.constraints.get(name)
            if ac is not None:
                self.compare_constraint(t, ac, ec)
        # the same constraint under another name
        for en, ec in list(unmatched_e.items()):
            twin = next((an for an, ac in unmatched_a.items()
                         if _same(ac, ec, _constraint_shape, self.norm_for(t))), None)
            if twin is not None:
                ac = unmatched_a.pop(twin)
                del unmatched_e[en]
                self.add("constraint-name", en, f"constraint {en} on {t} exists as {twin}",
                         ac.origin, ec.origin, aliases=(twin, f"{t}.{en}"))
        for en, ec in unmatched_e.items():
            self.add("missing-constraint", en,
                     f"{ec.kind.replace('_', ' ')} constraint {en} on {t} is missing",
                     at.origin, ec.origin, aliases=self._con_aliases(t, ec))
        for an, ac in unmatched_a.items():
            self.add("extra-constraint", an,
                     f"{ac.kind.replace('_', ' ')} constraint {an} on {t} is not in the "
                     "canonical schema", ac.origin, None, aliases=self._con_aliases(t, ac))

    @staticmethod
    def _con_aliases(t: str, c: Constraint) -> tuple[str, ...]:
        out = [f"{t}.{c.name}"]
        cols = (c.enum_column,) if c.enum_column else c.columns
        if len(cols) == 1 and cols[0]:
            out.append(f"{t}.{cols[0]}")
        return tuple(out)

    def compare_constraint(self, t: str, ac: Constraint, ec: Constraint) -> None:
        aliases = self._con_aliases(t, ec)
        if ac.kind != ec.kind:
            self.add("constraint-differs", ec.name, f"constraint {ec.name} on {t} is a "
                     f"{ac.kind}, canonical says {ec.kind}", ac.origin, ec.origin, aliases)
            return
        if ec.enum_values is not None and ac.enum_values is not None:
            missing = [v for v in ec.enum_values if v not in ac.enum_values]
            extra = [v for v in ac.enum_values if v not in ec.enum_values]
            if missing or extra:
                column = ec.enum_column or (ec.columns[0] if ec.columns else ec.name)
                parts = []
                if missing:
                    parts.append(f"missing {_q(missing)}")
                if extra:
                    parts.append(f"extra {_q(extra)}")
                self.add("enum-values", f"{t}.{column}",
                         f"CHECK {ec.name} allows ({_q(ac.enum_values)}); canonical allows "
                         f"({_q(ec.enum_values)}): {'; '.join(parts)}",
                         ac.origin, ec.origin, aliases=(ec.name, f"{t}.{ec.name}"),
                         missing=missing, extra=extra, constraint=ec.name)
            return
        if not _same(ac, ec, _constraint_shape, self.norm_for(t)):
            what = ec.expression or ", ".join(ec.columns)
            self.add("constraint-differs", ec.name,
                     f"constraint {ec.name} on {t} differs from canonical ({what})",
                     ac.origin, ec.origin, aliases)

    # ------------------------------------------------------------------ RLS, policies

    def rls(self, at: Table, et: Table) -> None:
        """What the canonical schema declares is the contract (``rls-disabled``,
        ``rls-not-forced``). A tenant-scoped table whose RLS the canonical schema leaves
        off or unforced is a recommendation (``rls-recommended``) that cites no canonical
        line, since none says it."""
        t = et.name
        scoped = et.is_tenant_scoped(self.tenant_column)
        actual = at.rls_origin or at.origin
        if et.rls_enabled and not at.rls_enabled:
            self.add("rls-disabled", t, f"row level security is not enabled on {t} "
                     "(canonical enables it)", actual, et.rls_origin or et.origin)
        elif scoped and not et.rls_enabled and not at.rls_enabled:
            self.add("rls-recommended", t, f"tenant-scoped table {t} has row level security "
                     "disabled, so every role that can read it reads every tenant's rows "
                     "(the canonical schema does not enable it either)", actual, None)
        if et.rls_forced and at.rls_enabled and not at.rls_forced:
            self.add("rls-not-forced", t, f"row level security is not forced on {t} "
                     "(canonical forces it)", actual, et.rls_origin or et.origin)
        elif scoped and at.rls_enabled and not at.rls_forced and not et.rls_forced:
            self.add("rls-recommended", t, f"row level security on tenant-scoped table {t} "
                     "is not forced, so the table's owner bypasses its policies (the "
                     "canonical schema does not force it either)", actual, None)
        if scoped and not at.policies and not et.policies:
            self.add("missing-policy", f"{t}.*", f"tenant-scoped table {t} has no policy",
                     at.origin, et.origin, aliases=(t,))

    def policies(self, at: Table, et: Table) -> None:
        t = et.name
        for name, ep in et.policies.items():
            ap = at.policies.get(name)
            if ap is None:
                self.add("missing-policy", f"{t}.{name}", f"policy {name} on {t} is missing",
                         at.rls_origin or at.origin, ep.origin, aliases=(name,))
            elif not _same(ap, ep, _policy_shape, self.norm_for(t)):
                self.add("policy-differs", f"{t}.{name}", f"policy {name} on {t} differs "
                         f"from canonical (USING {ep.using})", ap.origin, ep.origin,
                         aliases=(name,))
        for name, ap in at.policies.items():
            if name not in et.policies:
                self.add("extra-policy", f"{t}.{name}", f"policy {name} on {t} is not in the "
                         "canonical schema", ap.origin, None, aliases=(name,))

    # ------------------------------------------------------------------ indexes, enums

    def indexes(self) -> None:
        """Indexes compare literally: a renamed column is its own deviation, and an index
        still on the old name is a deviation of the index too (as SCHEMA-DRIFT-001 was)."""
        ea = self.e.indexes
        aa = {n: i for n, i in self.a.indexes.items()
              if i.table not in self.unknown and i.table in self.e.tables}
        for name, ei in ea.items():
            if ei.table in self.unknown or ei.table not in self.a.tables:
                continue
            ai = aa.get(name)
            if ai is None:
                twin = next((n for n, i in aa.items() if n not in ea and i.table == ei.table
                             and _same(i, ei, _index_shape, self.norm_for(ei.table))), None)
                if twin is not None:
                    self.add("index-name", name, f"index {name} exists as {twin}",
                             aa.pop(twin).origin, ei.origin, aliases=(twin,))
                    continue
                table = self.a.tables[ei.table]
                self.add("missing-index", name, f"index {name} on {ei.table} "
                         f"{describe_index(ei)} is missing", table.origin, ei.origin)
                continue
            if ai.table != ei.table or not _same(ai, ei, _index_shape,
                                                 self.norm_for(ei.table)):
                self.add("index-shape", name,
                         f"index {name} is {describe_index(ai)} on {ai.table}; canonical: "
                         f"{describe_index(ei)} on {ei.table}", ai.origin, ei.origin,
                         actual_shape=describe_index(ai), expected_shape=describe_index(ei))
        for name, ai in aa.items():
            if name not in ea:
                self.add("extra-index", name, f"index {name} on {ai.table} "
                         f"{describe_index(ai)} is not in the canonical schema", ai.origin, None)

    def enums(self) -> None:
        for name, values in self.e.enums.items():
            got = self.a.enums.get(name)
            if got is None:
                self.add("missing-enum", name, f"enum type {name} is missing", None, None)
            elif tuple(got) != tuple(values):
                self.add("enum-values", name, f"enum type {name} has ({_q(got)}); canonical: "
                         f"({_q(values)})", None, None)


def _policy_shape(p: Policy, norm: Norm = _norm_expr) -> tuple[Any, ...]:
    return (p.command.lower(), p.permissive, tuple(sorted(p.roles)), norm(p.using),
            norm(p.with_check))


def diff(actual: Schema, expected: Schema, *, tenant_column: str = "tenant_id",
         unknown_tables: set[str] | None = None) -> list[Deviation]:
    return _Differ(actual, expected, tenant_column, unknown_tables or set()).run()
