"""What ``b03lint show`` reports about one schema object: the result types of
:func:`b03lint.show.show`, each with its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from b03lint.findings import ToolError
from b03lint.pgmodel.locks import Effect

if TYPE_CHECKING:
    from b03lint.schema.drift import DriftEntry


KINDS = ("table", "column", "index", "constraint", "policy")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ObjectRef:
    """A schema object: ``table`` is its table (the table itself for a table), ``local``
    its name within the table (column, constraint, policy) or the index name."""

    kind: str
    table: str | None
    local: str

    @property
    def name(self) -> str:
        if self.kind in ("column", "policy"):
            return f"{self.table}.{self.local}"
        return self.local

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "table": self.table}


@dataclass(frozen=True)
class Fact:
    """One statement about the object in one schema, and where it comes from."""

    what: str
    text: str
    path: str | None = None
    line: int | None = None
    revision: str | None = None
    #: the allowed values of an enum-like CHECK
    values: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"what": self.what, "text": self.text, "path": self.path,
                               "line": self.line}
        if self.revision is not None:
            out["revision"] = self.revision
        if self.values is not None:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class Touch:
    """One upgrade operation of the chain that concerns the object."""

    revision: str
    path: str
    line: int
    what: str
    #: the ADR of a ``# CI:DESTRUCTIVE_OK`` waiver on the line, if any
    waiver: str | None = None
    #: what it locks, rewrites and scans (the lock model at ``postgres_version``)
    lock: Effect | None = None
    #: the table it touches was created earlier in the same migration (empty)
    new_table: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "path": self.path, "line": self.line,
                "what": self.what, "waiver": self.waiver,
                "lock": None if self.lock is None else {**self.lock.to_json(),
                                                        "new_table": self.new_table}}

    def lock_text(self) -> str:
        if self.lock is None:
            return ""
        return self.lock.summary() + (" (a table created in the same migration)"
                                      if self.new_table else "")


@dataclass(frozen=True)
class Mention:
    adr: str | None
    path: str
    line: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"adr": self.adr, "path": self.path, "line": self.line, "text": self.text}


@dataclass(frozen=True)
class DriftRef:
    id: str
    object: str
    status: str
    status_note: str
    resolving: str | None
    adr: str | None
    canonical_truth: str
    migration_state: str
    resolution: str
    path: str
    line: int

    @classmethod
    def of(cls, e: DriftEntry) -> DriftRef:
        return cls(e.id, e.object, e.status, e.status_note, e.resolving_revision, e.adr,
                   e.canonical_truth, e.migration_state, e.resolution, e.path, e.line)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": self.object, "status": self.status,
                "status_note": self.status_note, "resolving_revision": self.resolving,
                "adr": self.adr, "canonical_truth": self.canonical_truth,
                "migration_state": self.migration_state, "resolution": self.resolution,
                "path": self.path, "line": self.line}


@dataclass(frozen=True)
class DeviationInfo:
    kind: str
    object: str
    message: str
    severity: str
    #: where the deviating state was introduced (a migration), if known
    path: str | None
    line: int | None
    revision: str | None
    canonical: str | None
    drift_id: str | None
    drift_status: str | None
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "object": self.object, "message": self.message,
                "severity": self.severity, "path": self.path, "line": self.line,
                "revision": self.revision, "canonical": self.canonical,
                "drift_id": self.drift_id, "drift_status": self.drift_status,
                "note": self.note}


@dataclass
class ShowResult:
    object: ObjectRef
    #: the revision shown (None: every head of a chain with several, or an empty chain)
    revision: str | None
    heads: list[str]
    canonical_sql: list[Fact] = field(default_factory=list)
    canonical_yaml: list[Fact] = field(default_factory=list)
    canonical_sql_path: str | None = None
    canonical_yaml_path: str | None = None
    adrs: list[Mention] = field(default_factory=list)
    migrations: list[Touch] = field(default_factory=list)
    state: list[Fact] = field(default_factory=list)
    deviations: list[DeviationInfo] = field(default_factory=list)
    drift: list[DriftRef] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)

    @property
    def in_canonical(self) -> bool:
        return bool(self.canonical_sql or self.canonical_yaml)

    @property
    def exists(self) -> bool:
        return bool(self.state)

    @property
    def at_label(self) -> str:
        if self.revision is None:
            return "every head" if len(self.heads) > 1 else "head"
        return (f"head {self.revision}" if self.heads == [self.revision]
                else self.revision)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "object": self.object.to_json(),
            "revision": self.revision,
            "heads": self.heads,
            "canonical": {
                "sql": {"path": self.canonical_sql_path,
                        "facts": [f.to_json() for f in self.canonical_sql]},
                "yaml": {"path": self.canonical_yaml_path,
                         "facts": [f.to_json() for f in self.canonical_yaml]},
            },
            "adrs": [m.to_json() for m in self.adrs],
            "migrations": [t.to_json() for t in self.migrations],
            "state": {"exists": self.exists, "facts": [f.to_json() for f in self.state]},
            "deviations": [d.to_json() for d in self.deviations],
            "drift_register": [d.to_json() for d in self.drift],
            "errors": [e.to_json() for e in self.errors],
        }


class ObjectNotFound(Exception):
    """The name matches no object, or more than one; ``candidates`` are the closest names
    (or every match, when ambiguous)."""

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates
