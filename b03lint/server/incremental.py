"""Folding the chain again from the revision being edited, not from the base.

Two folds walk the whole chain on every lint: the contract's replay (the schema at head,
:func:`b03lint.contract.project_replay`) and the timeline of the schema just before each
operation (:class:`b03lint.schema.timeline.Timeline`, for the rules that judge an
operation by what it changes). On a 1,000-revision chain each takes about 30 ms; an edit
of one revision changes neither fold before that revision.

So each fold keeps, for the few files being edited ("hot" files), a copy of its state just
before that file's revision (:class:`Checkpoint`), together with the exact files the fold
had read up to there. The next fold starts from a copy of the latest checkpoint whose
files are still the same objects in the same order (any change before it, a new file, a
changed ``down_revision`` makes it unusable, and the fold starts from the base again).

The timeline also says which other files an edit reached: a file after the edited one
whose operations now see a different schema-before must be checked again
(:attr:`IncrementalTimeline.changed_paths`); every other file's findings are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from b03lint.graph import RevisionGraph
from b03lint.operations import Location, MigrationFile, Operation, Unresolved
from b03lint.schema.model import Schema
from b03lint.schema.replay import Folder, Replay
from b03lint.schema.timeline import Before, Timeline
from b03lint.server.snapshot import copy_folder

#: checkpoints kept per fold (each is a copy of the schema: a few MB on a large chain)
MAX_CHECKPOINTS = 4


def ops_of(mf: MigrationFile) -> list[Operation]:
    """What a fold applies for one file (as the contract's replay and the timeline do: an
    unreadable file is one unresolved operation)."""
    if not mf.readable:
        return [Unresolved(loc=Location(mf.path, 1, 0), reason="the file could not be read")]
    return list(mf.upgrade_ops)


@dataclass
class Checkpoint:
    """A fold's state just before position ``position`` of the graph order."""

    path: str
    position: int
    #: the files folded before it, in order (compared by identity)
    prefix: list[MigrationFile]
    folder: Folder
    #: what else the fold depended on (base schema, knowable names, kinds, ...)
    basis: object

    def usable(self, files: list[MigrationFile], basis: object) -> bool:
        if self.position > len(files) or basis != self.basis:
            return False
        return all(a is b for a, b in zip(self.prefix, files, strict=False))


@dataclass
class Checkpoints:
    """The checkpoints of one fold, most recently used last."""

    items: list[Checkpoint] = field(default_factory=list)

    def best(self, files: list[MigrationFile], basis: object) -> Checkpoint | None:
        usable = [c for c in self.items if c.usable(files, basis)]
        return max(usable, key=lambda c: c.position, default=None)

    def keep(self, point: Checkpoint) -> None:
        self.items = [c for c in self.items if c.path != point.path][-(MAX_CHECKPOINTS - 1):]
        self.items.append(point)

    def clear(self) -> None:
        self.items.clear()


def _order_files(graph: RevisionGraph, revisions: Iterable[str]) -> list[MigrationFile]:
    return [graph.nodes[rev] for rev in revisions]


# --------------------------------------------------------------------------- replay


class AskedNames(set[str]):
    """The names the contract's replay may report missing (``knowable``: what the chain
    or its base creates), remembering every name the fold asked about and the answer it
    got. Adding a table anywhere changes the set; a checkpoint stays usable as long as
    every answer its part of the fold was given is still the same."""

    def __init__(self, names: Iterable[str] = (), asked: dict[str, bool] | None = None):
        super().__init__(names)
        self.asked: dict[str, bool] = dict(asked or {})

    def __contains__(self, name: object) -> bool:
        found = super().__contains__(name)
        if isinstance(name, str):
            self.asked[name] = found
        return found

    def agrees(self, asked: dict[str, bool]) -> bool:
        return all(set.__contains__(self, n) == answer for n, answer in asked.items())


@dataclass
class ReplayMemo:
    """What the contract's replay keeps between lints of one chain."""

    checkpoints: Checkpoints = field(default_factory=Checkpoints)
    #: the fold started at this position of the order last time (0: from the base)
    resumed_at: int = 0


def replay_to_head(graph: RevisionGraph, base: Schema | None, knowable: set[str],
                   memo: ReplayMemo, hot: set[str]) -> Replay:
    """The replay of every revision in order, as :func:`b03lint.contract.replay_chain`
    gives it for ``revision=None``, resumed from a checkpoint where one is usable;
    checkpoints are taken before the revisions of the ``hot`` paths."""
    files = _order_files(graph, graph.order)
    basis = id(base)
    names = AskedNames(knowable)
    usable = [c for c in memo.checkpoints.items if c.usable(files, basis)
              and isinstance(c.folder.knowable, AskedNames)
              and names.agrees(c.folder.knowable.asked)]
    point = max(usable, key=lambda c: c.position, default=None)
    if point is not None:
        folder = copy_folder(point.folder)
        assert isinstance(point.folder.knowable, AskedNames)
        names.asked = dict(point.folder.knowable.asked)
        start = point.position
    else:
        folder = Folder("migrations at head", base, None)
        start = 0
    folder.knowable = names
    memo.resumed_at = start
    for i in range(start, len(files)):
        mf = files[i]
        if mf.path in hot and (point is None or point.path != mf.path or i != start):
            taken = copy_folder(folder)
            # the answers given so far are the checkpoint's own
            taken.knowable = AskedNames((), names.asked)
            memo.checkpoints.keep(Checkpoint(mf.path, i, files[:i], taken, basis))
        folder.revision = mf.revision
        for op in ops_of(mf):
            folder.apply(op)
    return Replay(folder.schema, folder.conflicts, folder.unknown_tables,
                  folder.unknown_anywhere, folder.external_tables)


# --------------------------------------------------------------------------- timeline


@dataclass
class TimelineMemo:
    """What the timeline keeps between lints of one chain."""

    checkpoints: Checkpoints = field(default_factory=Checkpoints)
    #: id(op) -> (op, its Before) of the last walk (the op is kept so the id stays its own)
    before: dict[int, tuple[Operation, Before]] = field(default_factory=dict)
    resumed_at: int = 0


class IncrementalTimeline(Timeline):
    """The :class:`Timeline` of every file of the chain, walked from a checkpoint; the
    files after it whose schema-before changed are in :attr:`changed_paths`."""

    def __init__(self, graph: RevisionGraph, kinds: Iterable[str], memo: TimelineMemo,
                 hot: set[str]):
        super().__init__(graph, kinds)
        self.memo = memo
        self.hot = hot
        #: files (display paths) with an operation whose schema-before is new or changed
        self.changed_paths: set[str] = set()
        self._before = {}
        self._walk()

    def _walk(self) -> None:
        assert self._before is not None
        graph, memo = self.graph, self.memo
        files = _order_files(graph, graph.order)
        position = {rev: i for i, rev in enumerate(graph.order)}
        last = max((position[r] for r in self.wanted if r in position), default=-1)
        bits: dict[str, int] = {}
        for i, rev in enumerate(graph.order[:last + 1]):
            mask = 1 << i
            for parent in graph.parents.get(rev, ()):
                mask |= bits.get(parent, 0)
            bits[rev] = mask
        basis = (self.kinds, self.complete)
        point = memo.checkpoints.best(files, basis)
        start = point.position if point is not None else 0
        # the hot files' places: the fold goes on to the last one (for its checkpoint)
        # even past the last revision asked for
        hot_at = {i for i, mf in enumerate(files) if mf.path in self.hot}
        far = max((i for i in hot_at if i > start), default=-1)
        applying = start <= last or far > start
        folder = Folder("timeline") if point is None else \
            copy_folder(point.folder) if applying else point.folder
        memo.resumed_at = start
        # what was before the checkpoint is what it was
        previous = memo.before
        for mf in files[:min(start, last + 1)]:
            for op in mf.upgrade_ops:
                kept = previous.get(id(op))
                if kept is not None and kept[0] is op:
                    self._before[id(op)] = kept[1]
        for i in range(start, len(files)):
            rev = graph.order[i]
            mf = files[i]
            if i in hot_at and (point is None or point.path != mf.path or i != start):
                memo.checkpoints.keep(Checkpoint(mf.path, i, files[:i], copy_folder(folder),
                                                 basis))
            if i > last and i >= far:
                break
            if rev in self.wanted:
                if bits[rev].bit_count() != i + 1:  # a branch: its own ancestors' fold
                    self._record(self._replay_ancestors(rev, bits), rev, mf)
                else:
                    self._record(folder, rev, mf)
                    continue  # _record applied the operations to the running fold
            folder.revision = rev
            for op in ops_of(mf):
                folder.apply(op)
        # which files now see another schema-before than last time
        for mf in files[start:last + 1]:
            for op in mf.upgrade_ops:
                now = self._before.get(id(op))
                kept = previous.get(id(op))
                if now is None and (kept is None or kept[0] is not op):
                    continue
                if kept is None or kept[0] is not op or now is None or kept[1] != now:
                    self.changed_paths.add(mf.path)
                    break
        by_id = {id(op): op for mf in files[:last + 1] for op in mf.upgrade_ops}
        memo.before = {k: (by_id[k], b) for k, b in self._before.items() if k in by_id}


class FileTimeline(Timeline):
    """The :class:`Timeline` of one file's operations, of any ``kinds``, started from the
    chain's checkpoint before that file when one is usable (the hover's lock judgement:
    one copy instead of a fold of every revision before it)."""

    def __init__(self, graph: RevisionGraph, kinds: Iterable[str], mf: MigrationFile,
                 memo: TimelineMemo):
        super().__init__(graph, kinds, [mf])
        self.file = mf
        self.point: Checkpoint | None = None
        rev = mf.revision
        if rev is None or graph.nodes.get(rev) is not mf:
            return
        position = graph.order.index(rev)
        # the running fold is the schema this revision starts from only when every
        # revision before it is one of its ancestors
        if len(graph.ancestors(rev)) != position + 1:
            return
        files = _order_files(graph, graph.order)
        for c in memo.checkpoints.items:
            if c.path == mf.path and c.position == position and c.usable(files, c.basis):
                self.point = c

    def _walk(self) -> None:
        if self.point is None or self.file.revision is None:
            super()._walk()
            return
        self._record(copy_folder(self.point.folder), self.file.revision, self.file)
