"""What a rule is.

A rule is a small class. Its docstring is its documentation, written under fixed headings
(``What it does``, ``Why it matters``, ``Example``, ``How to fix``); its ``valid`` and
``invalid`` examples are run by the test suite. The engine walks every file once and hands
each operation to every operation rule; rules yield findings and never print.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Iterator
from dataclasses import field
from typing import TYPE_CHECKING, Any, ClassVar

from b03lint.findings import Finding, ToolError
from b03lint.operations import Location, MigrationFile, Operation, Severity

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

if TYPE_CHECKING:
    from b03lint.project import Project
    from b03lint.schema.timeline import Before

DOC_HEADINGS = ("What it does", "Why it matters", "Example", "How to fix")
CATEGORIES = ("input", "graph", "destructive", "contract", "security", "safety", "locks",
              "conventions", "suppression", "live", "project")
CODE_RE = re.compile(r"^[A-Z]{1,4}[0-9]{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SEVERITIES = ("blocking", "warning", "info")
PHASES = ("upgrade", "downgrade", "module")


class RegistryError(Exception):
    """Two rules share a code or a name, or a rule (or rule file) is malformed: the
    tool cannot run (exit code 2). ``path``/``line`` locate it when known. (Defined here,
    below the registry and the rule loaders that raise it, so that none imports another
    in a circle; ``b03lint.rules.registry`` re-exports it.)"""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line

    def to_error(self) -> ToolError:
        return ToolError(str(self), self.path, self.line)


@record(frozen=True)
class Example:
    """A migration (or several) that must, or must not, trigger a rule.

    ``source`` is the text of one migration file. ``files`` adds more files to the
    example project (relative path -> text): other migrations, a canonical schema
    (``db/schema/canonical_schema.sql``), ADRs (``docs/architecture/adr/ADR-001.md``).
    ``line`` is where an invalid example's finding must be (in ``source``).
    """

    source: str
    line: int | None = None
    files: dict[str, str] = field(default_factory=dict)
    #: extra ``[tool.b03lint]`` settings for this example
    config: dict[str, Any] = field(default_factory=dict)
    #: the revision to check at (``--rev``), if not the head
    rev: str | None = None
    title: str = ""


@record(frozen=True)
class Option:
    """An option a rule declares: its type, default and documentation."""

    default: Any
    type: type | tuple[type, ...]
    doc: str
    choices: tuple[Any, ...] = ()

    def validate(self, rule: str, name: str, value: Any) -> Any:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(t.__name__ for t in types)
            raise ValueError(f"option {name!r} of rule {rule} must be {expected}, "
                             f"not {type(value).__name__}")
        if self.choices and value not in self.choices:
            raise ValueError(f"option {name!r} of rule {rule} must be one of "
                             f"{', '.join(map(str, self.choices))}")
        return value


class FileContext:
    """What an operation rule may look at besides the operation itself."""

    def __init__(self, project: Project, mf: MigrationFile):
        self.project = project
        self.file = mf

    def ops_in_same_phase(self, op: Operation) -> list[Operation]:
        return self.file.upgrade_ops if op.phase == "upgrade" else self.file.downgrade_ops

    def before(self, op: Operation) -> Before | None:
        """The state of the table ``op`` touches just before it ran (upgrade operations of
        rules with ``uses_schema_before``), or None when the chain cannot tell."""
        if op.phase != "upgrade":
            return None
        return self.project.timeline.before(op)


class Rule:
    """Base class of every rule; see the module docstring."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    default_severity: ClassVar[Severity] = "blocking"
    default_enabled: ClassVar[bool] = True
    #: operation kinds this rule wants to see (empty: the rule has no operation hook)
    operation_kinds: ClassVar[frozenset[str]] = frozenset()
    #: which phases' operations it sees
    phases: ClassVar[frozenset[str]] = frozenset({"upgrade"})
    #: whether ``check_operation`` asks ``ctx.before(op)`` (the replayed schema just before
    #: the operation); the engine then folds the chain once for the kinds it sees
    uses_schema_before: ClassVar[bool] = False
    options: ClassVar[dict[str, Option]] = {}
    valid: ClassVar[tuple[Example, ...]] = ()
    invalid: ClassVar[tuple[Example, ...]] = ()
    #: why no static example can trigger the rule (a reader bug, a live-database check);
    #: only then may ``invalid`` be empty
    no_invalid_example: ClassVar[str] = ""
    #: where the rule came from (builtin, a YAML file, a module, an entry point)
    origin: ClassVar[str] = "builtin"

    def __init__(self, severity: Severity | None = None, options: dict[str, Any] | None = None):
        self.severity: Severity = severity or self.default_severity
        given = dict(options or {})
        self.opts: dict[str, Any] = {}
        for key, option in self.options.items():
            value = given.pop(key, given.pop(key.replace("_", "-"), option.default))
            self.opts[key] = option.validate(self.code, key, value)
        if given:
            raise ValueError(f"rule {self.code} ({self.name}) has no option "
                             f"{', '.join(map(repr, sorted(given)))}")

    # ----------------------------------------------------------------- hooks

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        """Called once per operation whose kind is in ``operation_kinds``."""
        return ()

    def check_file(self, ctx: FileContext) -> Iterable[Finding]:
        """Called once per linted migration file."""
        return ()

    def check_project(self, project: Project) -> Iterable[Finding]:
        """Called once per run, for chain-wide checks (graph, schema contract)."""
        return ()

    # ----------------------------------------------------------------- helpers

    def finding(
        self,
        loc: Location,
        message: str,
        *,
        object: str | None = None,
        fix: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding:
        return Finding.at(loc, code=self.code, rule=self.name, severity=self.severity,
                          message=message, object=object, fix=fix, data=data)

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        doc = cls.documentation()
        sections = doc_sections(doc)
        first = sections.get("What it does", doc).strip().split("\n\n")[0]
        return " ".join(first.split())

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this rule's definition (checked at load time and in tests)."""
        out: list[str] = []
        if not CODE_RE.match(cls.code):
            out.append(f"code {cls.code!r} is not like ABC123")
        if not NAME_RE.match(cls.name):
            out.append(f"name {cls.name!r} is not kebab-case")
        if cls.category not in CATEGORIES:
            out.append(f"category {cls.category!r} is not one of {', '.join(CATEGORIES)}")
        sections = doc_sections(cls.documentation())
        for heading in DOC_HEADINGS:
            if not sections.get(heading, "").strip():
                out.append(f"documentation lacks a '{heading}' section")
        if not cls.invalid and not cls.no_invalid_example:
            out.append("has no example that must trigger it")
        if not cls.valid:
            out.append("has no example that must not trigger it")
        return out


_HEADING_RE = re.compile(r"^(#+\s*)?(?P<h>[A-Z][A-Za-z ?]+?)\??:?\s*$")


def doc_sections(doc: str) -> dict[str, str]:
    """Split a rule docstring into its headed sections."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in doc.splitlines():
        m = _HEADING_RE.match(line.strip())
        heading = m.group("h").strip() if m else None
        if heading in DOC_HEADINGS:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = heading, []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections


def iter_ops(mf: MigrationFile, phases: frozenset[str]) -> Iterator[Operation]:
    if "upgrade" in phases:
        yield from mf.upgrade_ops
    if "downgrade" in phases:
        yield from mf.downgrade_ops
