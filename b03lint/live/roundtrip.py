"""The downgrade/upgrade round trip (guide section 6) on a scratch database.

The revisions to test are the last N of the path to the target (default: down to the
configured ``baseline_revision`` included, else all), following single parents. First the
upgrade path builds a reference schema at each of them, one revision at a time
(:func:`build_references`). Then (:func:`walk`) each revision is downgraded, one step at a
time from the top, and the schema compared with the reference at its parent; then they are
upgraded again, one at a time, and compared with the reference at each revision. A step that
raises is a :class:`~b03lint.live.MigrationFailure`; a difference is a residue.
Both name the revision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from b03lint.live import MigrationFailure
from b03lint.live.compare import reword, two_way
from b03lint.live.evidence import Evidence
from b03lint.schema.model import Schema

BASE = "base"


@dataclass(frozen=True)
class Step:
    """One revision of the round trip and the revision its downgrade returns to."""

    revision: str
    parent: str


@dataclass
class Residue:
    """After ``phase`` of ``revision``, the schema differs from the reference at
    ``at`` (the parent after a downgrade, the revision itself after the re-upgrade)."""

    revision: str
    phase: Literal["downgrade", "upgrade"]
    at: str
    differences: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)

    def message(self) -> str:
        if self.phase == "downgrade":
            head = (f"downgrade of {self.revision} does not restore the schema the upgrade "
                    f"path built at {self.at}")
        else:
            head = (f"upgrading {self.revision} again after its downgrade does not rebuild "
                    "the schema it built the first time")
        return f"{head}: {'; '.join(self.differences)}"


def plan(parents: Callable[[str], tuple[str, ...]], target: str, steps: int | None,
         baseline: str | None) -> list[Step]:
    """The revisions to round-trip, newest first. ``parents(rev)`` gives a revision's
    parents (``()`` for a base). The walk stops at a merge (several parents), at the base,
    after ``steps`` revisions, or after ``baseline`` (included) when ``steps`` is None."""
    out: list[Step] = []
    rev: str | None = target
    while rev is not None and rev != BASE:
        if steps is not None and len(out) >= steps:
            break
        ps = parents(rev)
        if len(ps) > 1:
            break
        parent = ps[0] if ps else BASE
        out.append(Step(rev, parent))
        if steps is None and baseline is not None and rev == baseline:
            break
        rev = parent
    return out


Migrate = Callable[[str, str], None]
Snapshot = Callable[[], Schema]


def build_references(plan_steps: list[Step], migrate: Migrate, snapshot: Snapshot,
                     ev: Evidence) -> dict[str, Schema]:
    """Upgrade from the current (empty) database to the bottom of the plan and then one
    revision at a time to its top, introspecting after each step."""
    refs: dict[str, Schema] = {}
    if not plan_steps:
        return refs
    bottom = plan_steps[-1].parent
    if bottom != BASE:
        migrate("upgrade", bottom)
    refs[bottom] = snapshot()
    for step in reversed(plan_steps):
        migrate("upgrade", step.revision)
        refs[step.revision] = snapshot()
    ev.note(f"reference schemas built by the upgrade path at {', '.join(refs)}")
    return refs


def _compare(got: Schema, want: Schema, at: str,
             reported: set[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The differences of ``got`` from ``want`` not reported before (a residue is reported
    once, at the step that left it)."""
    texts: list[str] = []
    objects: list[str] = []
    for dev, flipped in two_way(got, want):
        key = (dev.kind, dev.object)
        if key in reported:
            continue
        reported.add(key)
        texts.append(reword(dev.message, flipped, f"the schema at {at}",
                            "the database after the round trip step"))
        objects.append(dev.object)
    return texts, objects


def walk(plan_steps: list[Step], refs: dict[str, Schema], migrate: Migrate,
         snapshot: Snapshot, ev: Evidence) -> tuple[list[Residue], list[MigrationFailure]]:
    """Downgrade each planned revision from the top and upgrade them again, comparing with
    the references. A failing step stops the walk down (the walk then goes back up as far
    as it can) or up; residues and failures are returned, anything else propagates."""
    residues: list[Residue] = []
    failures: list[MigrationFailure] = []
    reported: set[tuple[str, str]] = set()
    done: list[Step] = []
    for step in plan_steps:
        ev.note(f"round trip: downgrade {step.revision} -> {step.parent}", roundtrip=True)
        try:
            migrate("downgrade", step.parent)
        except MigrationFailure as exc:
            failures.append(exc)
            ev.note(f"FAILED: downgrade of {step.revision}: {exc.detail}", roundtrip=True)
            break
        done.append(step)
        texts, objects = _compare(snapshot(), refs[step.parent], step.parent, reported)
        if texts:
            residues.append(Residue(step.revision, "downgrade", step.parent, texts, objects))
            ev.note(f"RESIDUE after downgrade of {step.revision}: {'; '.join(texts)}",
                    roundtrip=True)
        else:
            ev.note(f"schema after downgrade of {step.revision} == schema at {step.parent}",
                    roundtrip=True)
    for step in reversed(done):
        ev.note(f"round trip: upgrade {step.parent} -> {step.revision}", roundtrip=True)
        try:
            migrate("upgrade", step.revision)
        except MigrationFailure as exc:
            failures.append(exc)
            ev.note(f"FAILED: upgrade of {step.revision}: {exc.detail}", roundtrip=True)
            break
        texts, objects = _compare(snapshot(), refs[step.revision], step.revision, reported)
        if texts:
            residues.append(Residue(step.revision, "upgrade", step.revision, texts, objects))
            ev.note(f"RESIDUE after upgrading {step.revision} again: {'; '.join(texts)}",
                    roundtrip=True)
        else:
            ev.note(f"schema after upgrading {step.revision} again == schema before",
                    roundtrip=True)
    return residues, failures
