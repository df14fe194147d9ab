"""The lock model's prediction for one traced statement, and its comparison with what the
server did (:class:`b03lint.live.trace.Observed`).

One statement Alembic sends may hold several operations (``op.execute`` of a script of
statements; ``ALTER TABLE t ADD COLUMN c int REFERENCES u`` is an AddColumn and an
AddConstraint). The prediction is their union, named the way the trace names relations:
by the catalog as it was before the statement. So a table renamed by an earlier operation
of the same statement is named by its old name, and a relation an earlier operation
created is left out of the comparison (nobody else can see it before the transaction
commits, and the trace does not report locks on it). Rewrites and scans are compared per
relation: the statement rewrote (scanned) a table when one of its operations does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from b03lint.live.trace import RANK, Observed, strongest
from b03lint.pgmodel.locks import RANK as MODEL_RANK

if TYPE_CHECKING:
    from b03lint.operations import Operation
    from b03lint.pgmodel.locks import Effect
    from b03lint.schema.replay import Folder


def _either(values: Iterable[bool | None]) -> bool | None:
    """True when one says True; else None when one cannot tell; else False."""
    found = list(values)
    return True if True in found else None if None in found else False


@dataclass
class Statement:
    """The model's prediction for one statement: the effects of its operations, their
    relations named as before the statement."""

    effects: list[Effect] = field(default_factory=list)
    #: relations created by an operation of the statement (by every name they had in it)
    fresh: set[str] = field(default_factory=set)

    @property
    def modelled(self) -> bool:
        return bool(self.effects) and all(e.modelled for e in self.effects)

    def locks(self) -> dict[str, tuple[str, bool]]:
        """relation -> (strongest mode, whether that lock is only possibly taken)."""
        out: dict[str, tuple[str, bool]] = {}
        for e in self.effects:
            for lk in e.locks:
                if lk.relation in self.fresh:
                    continue
                prev = out.get(lk.relation)
                if prev is None or MODEL_RANK[lk.mode] > MODEL_RANK[prev[0]] or (
                        lk.mode == prev[0] and prev[1] and not lk.maybe):
                    out[lk.relation] = (lk.mode, lk.maybe)
        return out

    def index_names(self) -> set[str]:
        return {lk.relation for e in self.effects for lk in e.locks if lk.is_index}

    def targets(self) -> dict[str, tuple[bool | None, bool | None]]:
        """relation -> (rewrite, scan) of the relations the operations rewrite or scan."""
        found: dict[str, list[tuple[bool | None, bool | None]]] = {}
        for e in self.effects:
            if e.row is None:
                continue
            for lk in e.locks:
                if lk.role == e.row.scan_role and lk.relation not in self.fresh:
                    found.setdefault(lk.relation, []).append((e.rewrite, e.scan))
        return {t: (_either(r for r, _ in v), _either(s for _, s in v))
                for t, v in found.items()}

    @property
    def rewrite(self) -> bool | None:
        return _either(e.rewrite for e in self.effects)

    @property
    def scan(self) -> bool | None:
        return _either(e.scan for e in self.effects)

    def rewritten_tables(self) -> set[str]:
        return {t for t, (rewrite, _) in self.targets().items() if rewrite}


@dataclass(frozen=True)
class Disagreement:
    """Where the lock model and the server differ for one statement."""

    what: str  # "lock", "rewrite", "scan", "waits"
    relation: str | None
    predicted: str
    observed: str

    def message(self) -> str:
        on = f" on {self.relation}" if self.relation else ""
        return f"{self.what}{on}: the model says {self.predicted}, the server did {self.observed}"

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "relation": self.relation, "predicted": self.predicted,
                "observed": self.observed, "message": self.message()}


@dataclass
class Verdict:
    """The comparison of one statement: disagreements, what was verified, and what the
    server did that the model does not predict (listed, not counted against it)."""

    disagreements: list[Disagreement] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    unpredicted: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not self.disagreements

    def to_json(self) -> dict[str, Any]:
        return {"agrees": self.agrees,
                "disagreements": [d.to_json() for d in self.disagreements],
                "verified": self.verified, "unpredicted": self.unpredicted,
                "unverified": self.unverified}


#: unpredicted table locks this weak are listed, not disagreements: they stop no ordinary
#: read or write and no DDL (catalog lookups, foreign-key checks of a data change)
_INCIDENTAL = RANK["ROW EXCLUSIVE"]


def compare(prediction: Statement, observed: Observed) -> Verdict:
    v = Verdict()
    if not prediction.modelled:
        v.unpredicted += [f"{m} on {t}" for t, ms in sorted(observed.locks.items())
                          for m in [strongest(ms)]]
        v.unverified.append("the statement is not in the lock model")
        return v
    _locks(prediction, observed, v)
    _rewrites_and_scans(prediction, observed, v)
    waits = any(e.waits for e in prediction.effects)
    if observed.waited is None:
        if waits:
            v.unverified.append("waiting for other transactions")
    elif observed.waited != waits:
        v.disagreements.append(Disagreement(
            "waits", None, "waits for other transactions" if waits else "no wait",
            "waited" if observed.waited else "no wait"))
    elif waits:
        v.verified.append("waits for other transactions")
    return v


def _locks(prediction: Statement, observed: Observed, v: Verdict) -> None:
    predicted = prediction.locks()
    indexes = prediction.index_names()
    covered = max((MODEL_RANK[m] for e in prediction.effects for u in e.unnamed
                   for m in [u.split(" on ")[0]] if m in MODEL_RANK), default=-1)
    for relation, (mode, maybe) in sorted(predicted.items()):
        is_index = relation in indexes
        new = (observed.other_locks if is_index else observed.locks).get(relation, set())
        held = set() if is_index else observed.held.get(relation, set())
        top = strongest(new)
        if mode in new and top == mode:
            v.verified.append(f"{mode} on {relation}")
        elif mode in held and (top is None or RANK[top] <= RANK[mode]):
            v.verified.append(f"{mode} on {relation} (already held)")
        elif top is None and (maybe or not observed.complete):
            v.unverified.append(f"{mode} on {relation}" + (" (only if rows need it)"
                                                             if maybe else " (not seen)"))
        elif top is not None and not observed.complete and RANK[top] < RANK[mode]:
            v.unverified.append(f"{mode} on {relation} (seen {top} before letting go)")
        else:
            v.disagreements.append(Disagreement("lock", relation, mode, top or "no lock"))
    for relation, modes in sorted(observed.locks.items()):
        if relation in predicted or relation in prediction.fresh:
            continue
        top = strongest(modes)
        assert top is not None
        if RANK[top] <= _INCIDENTAL or RANK[top] <= covered:
            v.unpredicted.append(f"{top} on {relation}")
        else:
            v.disagreements.append(Disagreement("lock", relation, "no lock", top))
    for relation, modes in sorted(observed.other_locks.items()):
        if relation not in predicted:
            v.unpredicted.append(f"{strongest(modes)} on index {relation}")


def _rewrites_and_scans(prediction: Statement, observed: Observed, v: Verdict) -> None:
    targets = prediction.targets()
    for t, (rewrite, scan) in sorted(targets.items()):
        if rewrite is None:
            v.unverified.append(f"rewrite of {t}: the model cannot tell")
        elif rewrite != (t in observed.rewritten):
            v.disagreements.append(Disagreement(
                "rewrite", t, "a rewrite" if rewrite else "no rewrite",
                "a rewrite" if t in observed.rewritten else "no rewrite"))
        else:
            v.verified.append(("rewrite of " if rewrite else "no rewrite of ") + t)
        if t in observed.rewritten or rewrite:
            continue  # a rewrite reads every row; index rebuilds count as scans
        if observed.scanned is None or scan is None:
            v.unverified.append(f"scan of {t}")
        elif scan != (t in observed.scanned):
            v.disagreements.append(Disagreement(
                "scan", t, "a scan" if scan else "no scan",
                "a scan" if t in observed.scanned else "no scan"))
        else:
            v.verified.append(("scan of " if scan else "no scan of ") + t)
    v.unpredicted += [f"rewrite of {t}" for t in sorted(observed.rewritten - set(targets))
                      if t not in prediction.fresh]
    if observed.scanned:
        v.unpredicted += [f"scan of {t}" for t in sorted(observed.scanned - set(targets))
                          if t not in observed.rewritten and t not in prediction.fresh]


def predict(ops: Iterable[Operation], folder: Folder, version: int) -> Statement:
    """The lock model's :class:`Statement` for the operations of one statement, each judged
    on ``folder``'s running schema, which they are then applied to."""
    from b03lint.operations import (
        AddConstraint,
        CreateIndex,
        CreateTable,
        RenameIndex,
        RenameTable,
    )
    from b03lint.pgmodel.locks import effect, qualified
    from b03lint.schema.timeline import state_before

    out = Statement()
    #: a relation's name now -> its name before the statement
    before: dict[str, str] = {}
    for op in ops:
        e = effect(op, state_before(folder, op), version)
        out.effects.append(replace(e, locks=tuple(
            replace(lk, relation=before.get(lk.relation, lk.relation)) for lk in e.locks)))
        folder.apply(op)
        schema = getattr(op, "schema", None)
        if isinstance(op, CreateTable):
            out.fresh.add(qualified(op.table, schema))
        elif isinstance(op, CreateIndex) and op.name:
            out.fresh.add(op.name)
        elif isinstance(op, AddConstraint) and op.constraint.name and \
                op.constraint.kind in ("unique", "primary_key", "exclude"):
            out.fresh.add(op.constraint.name)
        elif isinstance(op, RenameTable | RenameIndex):
            old = qualified(op.table, schema) if isinstance(op, RenameTable) else op.name
            new = qualified(op.new_name, schema) if isinstance(op, RenameTable) \
                else op.new_name
            if old in out.fresh:
                out.fresh.add(new)
            else:
                before[new] = before.pop(old, old)
    return out
