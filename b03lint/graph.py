"""The revision graph, read statically from the ``revision`` / ``down_revision`` /
``branch_labels`` / ``depends_on`` literals of every migration file."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from b03lint.operations import MigrationFile


@dataclass
class RevisionGraph:
    files: list[MigrationFile]
    #: revision id -> the file that defines it (the first one, by path, for duplicates)
    nodes: dict[str, MigrationFile] = field(default_factory=dict)
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    #: revision id -> every file defining it, when more than one does
    duplicates: dict[str, list[MigrationFile]] = field(default_factory=dict)
    #: (file, missing parent id) for parents that name no known revision
    unknown_parents: list[tuple[MigrationFile, str]] = field(default_factory=list)
    #: each cycle as a list of revision ids, in order
    cycles: list[list[str]] = field(default_factory=list)
    #: every revision, parents before children (revisions in cycles are left out)
    order: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, files: Iterable[MigrationFile]) -> RevisionGraph:
        graph = cls(files=sorted(files, key=lambda f: f.path))
        for mf in graph.files:
            if mf.revision is None:
                continue
            if mf.revision in graph.nodes:
                graph.duplicates.setdefault(mf.revision, [graph.nodes[mf.revision]]).append(mf)
                continue
            graph.nodes[mf.revision] = mf
            for label in mf.branch_labels:
                graph.labels.setdefault(label, mf.revision)
        for rev, mf in graph.nodes.items():
            parents: list[str] = []
            for parent in (*(mf.down_revisions or ()), *mf.depends_on):
                target = parent if parent in graph.nodes else graph.labels.get(parent)
                if target is not None and (target == parent or parent in mf.depends_on):
                    if target not in parents:
                        parents.append(target)
                else:
                    graph.unknown_parents.append((mf, parent))
            graph.parents[rev] = tuple(parents)
            graph.children.setdefault(rev, [])
            for parent in parents:
                graph.children.setdefault(parent, []).append(rev)
        graph._sort()
        return graph

    def _sort(self) -> None:
        """Kahn's algorithm; ties broken by revision id so the order is deterministic."""
        indegree = {rev: len(ps) for rev, ps in self.parents.items()}
        ready = [rev for rev, n in indegree.items() if n == 0]
        heapq.heapify(ready)
        while ready:
            rev = heapq.heappop(ready)
            self.order.append(rev)
            for child in self.children.get(rev, ()):
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, child)
        left = {rev for rev, n in indegree.items() if n > 0}
        if left:
            self.cycles = _find_cycles(left, self.parents)
        self.heads = sorted(r for r in self.order if not self.children.get(r))
        self.bases = sorted(r for r in self.order if not self.parents[r])

    # ------------------------------------------------------------------ queries

    def resolve(self, ref: str) -> str:
        """A revision id, a unique prefix, a branch label, ``head`` or ``base``.
        Raises ``KeyError`` with a readable message otherwise."""
        if ref in ("head", "heads"):
            if len(self.heads) == 1:
                return self.heads[0]
            raise KeyError(f"'head' is ambiguous: the chain has {len(self.heads)} heads "
                           f"({', '.join(self.heads)})")
        if ref == "base":
            return "base"
        if ref in self.nodes:
            return ref
        if ref in self.labels:
            return self.labels[ref]
        matches = [r for r in self.nodes if r.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise KeyError(f"revision prefix {ref!r} is ambiguous: {', '.join(sorted(matches))}")
        raise KeyError(f"unknown revision {ref!r}")

    def ancestors(self, rev: str) -> set[str]:
        """``rev`` and every revision it depends on."""
        if rev == "base":
            return set()
        seen = {rev}
        stack = [rev]
        while stack:
            for parent in self.parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def upto(self, rev: str | None) -> list[str]:
        """The revisions to replay to reach ``rev`` (every revision when None), in order."""
        if rev is None:
            return list(self.order)
        keep = self.ancestors(rev)
        return [r for r in self.order if r in keep]

    def merges(self) -> list[str]:
        return [r for r in self.order if len(self.parents[r]) > 1]

    def branch_points(self) -> list[str]:
        return [r for r in self.order if len(self.children.get(r, ())) > 1]


def _find_cycles(left: set[str], parents: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Every elementary cycle among ``left`` found by walking parent links (iteratively)."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(left):
        if start in done:
            continue
        path: list[str] = []
        index: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in index:
                cycle = path[index[node]:]
                cycles.append(cycle)
                break
            index[node] = len(path)
            path.append(node)
            nxt = [p for p in parents.get(node, ()) if p in left]
            node = min(nxt) if nxt else None
        done.update(path)
    return cycles
