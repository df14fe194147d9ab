"""Soundness of the revision graph: one head unless declared, no cycles, no dangling
parents, no duplicate ids."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from b03lint.findings import Finding
from b03lint.operations import Location, MigrationFile
from b03lint.rules.base import Example, Rule

if TYPE_CHECKING:
    from b03lint.project import Project


def _rev(rev: str, down: str | None, body: str = "    pass", extra: str = "") -> str:
    down_text = "None" if down is None else (down if down.startswith("(") else repr(down))
    return (f'"""revision {rev}"""\nfrom alembic import op\n\nrevision = {rev!r}\n'
            f"down_revision = {down_text}\n{extra}\n\ndef upgrade():\n{body}\n\n\n"
            "def downgrade():\n    pass\n")


def _loc(mf: MigrationFile, which: str = "revision") -> Location:
    loc = mf.down_revision_loc if which == "down" else mf.revision_loc
    return loc or Location(mf.path, 1, 0)


#: how many revisions or files a graph finding names; every finding names them, so a chain
#: of 20,000 heads would otherwise print 20,000 x 20,000 ids
NAMED = 10


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:NAMED])
    return shown if len(items) <= NAMED else f"{shown}, ... and {len(items) - NAMED} more"


class MultipleHeads(Rule):
    """
    What it does:
        Reports a chain with more than one head (revisions nothing builds on), unless the
        heads are declared: a branch label on each, or ``expected_heads`` in the
        configuration.

    Why it matters:
        ``alembic upgrade head`` refuses to run with several heads, and the baseline
        revision the guide declares (section 4.1) is no longer the one tip of the chain.

    Example:
        Two new revisions that both set ``down_revision = "202511171200"``.

    How to fix:
        Run ``alembic merge heads`` to create a merge revision, or re-point one revision's
        ``down_revision`` at the other.
    """

    code = "G001"
    name = "multiple-heads"
    category = "graph"
    invalid = (Example(_rev("b1", "a1"), line=4,
                       files={"alembic/versions/a1.py": _rev("a1", None),
                              "alembic/versions/b2.py": _rev("b2", "a1")}),)
    valid = (Example(_rev("m1", "('b1', 'b2')"), files={
        "alembic/versions/a1.py": _rev("a1", None),
        "alembic/versions/b1.py": _rev("b1", "a1"),
        "alembic/versions/b2.py": _rev("b2", "a1")}, title="merged"),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        graph = project.graph
        declared = set(project.config.get("expected_heads"))
        undeclared = [h for h in graph.heads
                      if h not in declared and not graph.nodes[h].branch_labels]
        if len(graph.heads) > 1 and undeclared:
            names = _named(graph.heads)
            # a revision whose down_revision is computed at run time (I004) sits in the
            # graph as a base, which leaves its real parent looking like a head: say so.
            # It stays blocking: one head cannot be proven, and a PASS means "checked".
            unknown = sorted(r for r, mf in graph.nodes.items() if mf.down_revisions is None)
            note = (f"; revisions with a computed down_revision ({_named(unknown)}) may "
                    "explain it" if unknown else "")
            for head in undeclared:
                yield self.finding(
                    _loc(graph.nodes[head]),
                    f"revision {head} is one of {len(graph.heads)} heads ({names}){note}",
                    object=head, fix="create a merge revision: alembic merge heads",
                    data={"heads": graph.heads[:NAMED], "count": len(graph.heads)},
                )


class RevisionCycle(Rule):
    """
    What it does:
        Reports revisions whose ``down_revision`` links form a cycle (including a revision
        that names itself).

    Why it matters:
        Alembic cannot order such revisions and fails on every command; none of their
        operations can be checked against the canonical schema.

    Example:
        ``a1`` revises ``b1`` and ``b1`` revises ``a1``.

    How to fix:
        Point the oldest revision of the cycle at its true parent (or ``None``).
    """

    code = "G002"
    name = "revision-cycle"
    category = "graph"
    invalid = (Example(_rev("a1", "b1"), line=5,
                       files={"alembic/versions/b1.py": _rev("b1", "a1")}),)
    valid = (Example(_rev("a1", None), files={"alembic/versions/b1.py": _rev("b1", "a1")}),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        graph = project.graph
        for cycle in graph.cycles:
            ring = (" -> ".join([*cycle, cycle[0]]) if len(cycle) <= NAMED else
                    " -> ".join(cycle[:NAMED]) + f" -> ... ({len(cycle)} revisions) -> {cycle[0]}")
            for rev in cycle:
                yield self.finding(
                    _loc(graph.nodes[rev], "down"),
                    f"revision {rev} is in a cycle of down_revision links: {ring}",
                    object=rev, data={"cycle": cycle[:NAMED], "count": len(cycle)},
                )


class UnknownParent(Rule):
    """
    What it does:
        Reports a ``down_revision`` (or ``depends_on``) naming a revision that no file in
        the migrations folder defines.

    Why it matters:
        Alembic fails to build the chain ("Revision X referenced from Y is not present").

    Example:
        ``down_revision = "2025111"`` with a typo in the id.

    How to fix:
        Correct the id, or restore the missing revision file.
    """

    code = "G003"
    name = "unknown-parent"
    category = "graph"
    invalid = (Example(_rev("b1", "zz9"), line=5,
                       files={"alembic/versions/a1.py": _rev("a1", None)}),)
    valid = (Example(_rev("b1", "a1"), files={"alembic/versions/a1.py": _rev("a1", None)}),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        for mf, parent in project.graph.unknown_parents:
            yield self.finding(
                _loc(mf, "down"),
                f"revision {mf.revision} revises {parent!r}, which no migration defines",
                object=mf.revision, data={"parent": parent},
            )


class DuplicateRevision(Rule):
    """
    What it does:
        Reports two migration files (in any of the nested folders) that define the same
        revision id.

    Why it matters:
        Alembic refuses to load the chain, and which file's operations run is undefined.

    Example:
        A copied migration file whose ``revision`` was not changed.

    How to fix:
        Give the newer file a fresh revision id (``alembic revision`` generates one).
    """

    code = "G004"
    name = "duplicate-revision"
    category = "graph"
    invalid = (Example(_rev("a1", None), line=4,
                       files={"alembic/versions/sub/a1_copy.py": _rev("a1", None)}),)
    valid = (Example(_rev("a1", None), files={"alembic/versions/sub/b1.py": _rev("b1", "a1")}),)

    def check_project(self, project: Project) -> Iterable[Finding]:
        for rev, files in project.graph.duplicates.items():
            paths = _named([f.path for f in files])
            for mf in files:
                yield self.finding(
                    _loc(mf), f"revision id {rev} is defined by {len(files)} files: {paths}",
                    object=rev, data={"files": [f.path for f in files[:NAMED]],
                                      "count": len(files)},
                )


RULES: tuple[type[Rule], ...] = (MultipleHeads, RevisionCycle, UnknownParent, DuplicateRevision)
