"""The drift register (``db/schema/drift_register.yaml``): every known deviation between
the chain and the canonical schema, as the guide's SCHEMA-DRIFT-### table (section 3.2).

A deviation matching an **open** entry is a warning carrying the entry's id. A deviation
matching a **resolved** entry is expected only before the entry's resolving revision;
at or after it, the deviation is blocking ("registered as resolved, still present"). A
deviation with no entry is blocking. An entry that describes no real deviation is stale.
"""

from __future__ import annotations

import re
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.yamlio import Reader, YamlError, parse

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

ID_RE = re.compile(r"^SCHEMA-DRIFT-(\d{3,})$")
STATUSES = ("open", "resolved")
ENTRY_KEYS = ("id", "object", "also", "drift_type", "canonical_truth", "migration_state",
              "resolution", "status", "status_note", "adr", "revisions")


@record(frozen=True)
class DriftEntry:
    id: str
    object: str
    also: tuple[str, ...]
    drift_type: str
    canonical_truth: str
    migration_state: str
    resolution: str
    status: str
    status_note: str
    adr: str | None
    revisions: tuple[str, ...]
    path: str
    line: int

    def names(self) -> set[str]:
        return {_strip(self.object), *(_strip(a) for a in self.also)}

    @property
    def resolving_revision(self) -> str | None:
        return self.revisions[-1] if self.status == "resolved" and self.revisions else None


def _strip(name: str) -> str:
    return name.strip().strip("`").strip()


@record
class Register:
    entries: list[DriftEntry] = field(default_factory=list)
    path: str | None = None

    def match(self, names: set[str]) -> DriftEntry | None:
        for entry in self.entries:
            if entry.names() & names:
                return entry
        return None

    def next_ids(self, count: int) -> list[str]:
        numbers = [int(m.group(1)) for e in self.entries if (m := ID_RE.match(e.id))]
        start = max(numbers, default=0) + 1
        return [f"SCHEMA-DRIFT-{n:03d}" for n in range(start, start + count)]


def load_register(path: Path, shown: str) -> Register:
    """Read and validate a register strictly; raises :class:`YamlError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise YamlError("drift register not found (`b03lint drift init` writes an empty "
                        "one)", shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(f"cannot read drift register: {exc}", shown) from None
    return parse_register(text, shown)


def parse_register(text: str, shown: str) -> Register:
    r = Reader(shown)
    root = parse(text, shown)
    top = r.mapping(root, required=("version", "entries"))
    if r.integer(top["version"]) != 1:
        raise r.error(top["version"], "unsupported drift register version (expected 1)")
    register = Register(path=shown)
    seen: dict[str, int] = {}
    for node in r.sequence(top["entries"]):
        m = r.mapping(node, required=("id", "object", "status"), optional=ENTRY_KEYS)
        ident = r.string(m["id"])
        if not ID_RE.match(ident):
            raise r.error(m["id"], f"id {ident!r} is not of the form SCHEMA-DRIFT-###")
        if ident in seen:
            raise r.error(m["id"], f"id {ident} is used twice (first at line {seen[ident]})")
        seen[ident] = m["id"].line
        status = r.choice(m["status"], STATUSES)
        revisions = r.strings(m.get("revisions"))
        if status == "resolved" and not revisions:
            raise r.error(m["status"], f"{ident} is resolved but names no resolving "
                                       "revision under `revisions`")
        register.entries.append(DriftEntry(
            id=ident, object=r.string(m["object"]), also=r.strings(m.get("also")),
            drift_type=r.optional_string(m.get("drift_type")) or "",
            canonical_truth=r.optional_string(m.get("canonical_truth")) or "",
            migration_state=r.optional_string(m.get("migration_state")) or "",
            resolution=r.optional_string(m.get("resolution")) or "",
            status=status, status_note=r.optional_string(m.get("status_note")) or "",
            adr=r.optional_string(m.get("adr")), revisions=revisions, path=shown,
            line=node.line,
        ))
    return register


_PATH_RE = re.compile(r"(?<![`\w/.-])((?:[\w.-]+/)+[\w.-]+\.\w+)(?![`\w/])")


def markdown_table(register: Register) -> str:
    """The guide's section 3.2 table: status cells spelled as the guide spells them
    (``✅ Resolved (note)``, ``⚠️ Open``, an en dash, ``note``), file paths in backticks, and the entry's
    ADR named in the resolution decision when the decision does not name it already."""
    def cell(text: str) -> str:
        text = " ".join(text.replace("|", "\\|").split())
        return _PATH_RE.sub(r"`\1`", text)

    rows = ["| ID | Object | Drift Type | Canonical Truth | Migration State | "
            "Resolution Decision | Status |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in register.entries:
        if e.status == "resolved":
            status = "✅ Resolved" + (f" ({e.status_note})" if e.status_note else "")
        else:
            status = "⚠️ Open" + (f" \u2013 {e.status_note}" if e.status_note else "")
        resolution = e.resolution
        if e.adr and e.adr not in resolution:
            resolution = f"{resolution} ({e.adr})" if resolution else e.adr
        rows.append(f"| {e.id} | `{_strip(e.object)}` | {cell(e.drift_type)} | "
                    f"{cell(e.canonical_truth)} | {cell(e.migration_state)} | "
                    f"{cell(resolution)} | {cell(status)} |")
    return "\n".join(rows) + "\n"
