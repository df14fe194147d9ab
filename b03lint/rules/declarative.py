"""Declarative rules: a project's conventions written in YAML (``rules/*.yaml``).

A rule file holds ``version: 1`` and a ``rules:`` list. Each rule is compiled into a
:class:`Rule` subclass, so the engine runs it exactly like a built-in rule (it sees each
operation once, in the same walk), ``b03lint rule CODE`` prints its documentation and the
test suite runs its examples. The format is described, with a worked example, in
``docs/writing-rules.md``; in short::

    version: 1
    rules:
      - code: SKD001                 # 1-4 capitals and 3 digits
        name: cents-column-integer   # kebab-case
        category: project            # default
        severity: blocking           # blocking | warning | info (default blocking)
        message: "{table}.{column} is {type}: money is integer cents"
        description: {what: ..., why: ..., example: ..., fix: ...}
        match:                       # one mapping, or a list of them (any may match)
          kind: [add_column, create_table]    # operation kinds (or `schema: tables`)
          where:
            column.name: {matches: '_cents$'}
            column.type: {not_in: [integer, bigint]}
        examples:
          invalid: [{upgrade: 'op.add_column(...)', line: 1}]
          valid: [{upgrade: 'op.add_column(...)'}]

Files are read strictly (:mod:`b03lint.yamlio`): an unknown key, a bad regular
expression, an unknown operation kind or field is a :class:`RegistryError` naming the file,
the line and the path inside the document.
"""

from __future__ import annotations

import re
import string
import textwrap
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.operations import (
    OPERATION_TYPES,
)
from b03lint.rules.base import (
    CATEGORIES,
    CODE_RE,
    DOC_HEADINGS,
    NAME_RE,
    PHASES,
    SEVERITIES,
    Example,
    RegistryError,
    Rule,
)
from b03lint.yamlio import Node, Reader, YamlError, parse

if TYPE_CHECKING:
    pass
from b03lint.rules.declarative_model import (
    EACH,
    FORMAT_VERSION,
    LIST_PREDICATES,
    NAME_OBJECT,
    NEW_NAME_OBJECT,
    SCALAR,
    SCALAR_PREDICATES,
    SUBJECT_OBJECT,
    SUBJECT_PATHS,
    TYPE_PATHS,
    Condition,
    DeclarativeRule,
    Match,
    Predicate,
    operation_paths,
)

# --------------------------------------------------------------------------- loading

_RULE_KEYS = ("code", "name", "message", "description", "match")
_RULE_OPTIONAL = ("category", "severity", "enabled", "phases", "fix", "examples")
_DESCRIPTION = {"what": "What it does", "why": "Why it matters", "example": "Example",
                "fix": "How to fix"}

#: the migration an ``upgrade:`` example is wrapped in; its body starts at line 11
EXAMPLE_HEAD = '''"""example"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = {revision!r}
down_revision = {down_revision!r}


def upgrade():
'''
EXAMPLE_TAIL = "\n\ndef downgrade():\n    pass\n"
EXAMPLE_BODY_LINE = EXAMPLE_HEAD.count("\n") + 1


def wrap_upgrade(body: str, revision: str = "example", down_revision: str | None = None) -> str:
    """A migration file whose ``upgrade()`` is ``body`` (written without indentation);
    line 1 of ``body`` is line :data:`EXAMPLE_BODY_LINE` of the file."""
    text = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") or "    pass"
    return (EXAMPLE_HEAD.format(revision=revision, down_revision=down_revision) + text
            + EXAMPLE_TAIL)


class _Compiler:
    def __init__(self, shown: str):
        self.shown = shown
        self.r = Reader(shown)

    def error(self, node: Node, message: str) -> YamlError:
        return self.r.error(node, message)

    def free_mapping(self, node: Node) -> dict[str, Node]:
        """A mapping whose keys are the author's (field paths, file names); empty if null."""
        if node.value is None:
            return {}
        if not isinstance(node.value, dict):
            raise self.error(node, "expected a mapping")
        return dict(node.value)

    # ------------------------------------------------------------------ file

    def file(self, root: Node) -> list[type[Rule]]:
        doc = self.r.mapping(root, required=("version", "rules"))
        version = self.r.integer(doc["version"])
        if version != FORMAT_VERSION:
            raise self.error(doc["version"], f"unsupported rule file version {version} "
                                             f"(expected {FORMAT_VERSION})")
        rules: list[type[Rule]] = []
        for item in self.r.sequence(doc["rules"]):
            rules.append(self.rule(item))
        return rules

    # ------------------------------------------------------------------ one rule

    def rule(self, node: Node) -> type[Rule]:
        r = self.r
        spec = r.mapping(node, required=_RULE_KEYS, optional=_RULE_OPTIONAL)
        code = r.string(spec["code"])
        if not CODE_RE.match(code):
            raise self.error(spec["code"], f"code {code!r} must be 1-4 capital letters and "
                                           "3 digits, like SKD001")
        name = r.string(spec["name"])
        if not NAME_RE.match(name):
            raise self.error(spec["name"], f"name {name!r} must be kebab-case, like "
                                           "cents-column-integer")
        category = r.choice(spec["category"], CATEGORIES) if "category" in spec else "project"
        severity = r.choice(spec["severity"], SEVERITIES) if "severity" in spec else "blocking"
        enabled = r.boolean(spec["enabled"]) if "enabled" in spec else True
        phases = frozenset({"upgrade"})
        if "phases" in spec:
            phases = frozenset(r.choice(n, PHASES) for n in r.sequence(spec["phases"]))
        doc = self.description(spec["description"])
        match_node = spec["match"]
        match_nodes = r.sequence(match_node) if isinstance(match_node.value, list) else [
            match_node]
        if not match_nodes:
            raise self.error(match_node, "match needs at least one entry")
        message_node = spec["message"]
        message = r.string(message_node)
        try:
            parsed = list(string.Formatter().parse(message))
        except ValueError as exc:
            raise self.error(message_node, f"bad message template: {exc}") from None
        parts: list[tuple[str, str | None, str]] = []
        fields: list[str] = []
        for literal, field_name, spec_text, conversion in parsed:
            if field_name is not None and (not field_name or conversion or "[" in field_name
                                           or field_name[0].isdigit()):
                raise self.error(message_node, "message fields are written {field.path}, "
                                               "without positions or conversions")
            if field_name:
                fields.append(field_name)
            parts.append((literal, field_name or None, spec_text or ""))
        matches = tuple(self.match(n, fields, message_node) for n in match_nodes)
        fix = r.optional_string(spec.get("fix"))
        if fix is None:
            fix = " ".join(doc["How to fix"].split("\n\n")[0].split())
        valid, invalid = self.examples(spec.get("examples"))
        origin = f"{self.shown}:{node.line}"
        kinds = frozenset(k for m in matches for k in m.kinds)
        attrs: dict[str, Any] = {
            "__doc__": "\n\n".join(f"{h}:\n{textwrap.indent(doc[h], '    ')}"
                                   for h in DOC_HEADINGS),
            "__module__": __name__,
            "__qualname__": f"DeclarativeRule[{code}]",
            "code": code, "name": name, "category": category, "default_severity": severity,
            "default_enabled": enabled, "operation_kinds": kinds, "phases": phases,
            "valid": valid, "invalid": invalid, "origin": origin, "matches": matches,
            "message_parts": tuple(parts), "fix_hint": fix,
        }
        cls = type(f"DeclarativeRule[{code}]", (DeclarativeRule,), attrs)
        return typing.cast("type[Rule]", cls)

    def description(self, node: Node) -> dict[str, str]:
        spec = self.r.mapping(node, required=tuple(_DESCRIPTION))
        out: dict[str, str] = {}
        for key, heading in _DESCRIPTION.items():
            text = textwrap.dedent(self.r.string(spec[key])).strip()
            if not text:
                raise self.error(spec[key], f"description.{key} is empty")
            out[heading] = text
        return out

    # ------------------------------------------------------------------ match

    def match(self, node: Node, message_fields: list[str], message_node: Node) -> Match:
        r = self.r
        spec = r.mapping(node, optional=("kind", "schema", "where"))
        if ("kind" in spec) == ("schema" in spec):
            raise self.error(node, "a match names either `kind` (operation kinds) or "
                                   "`schema` (tables, columns, indexes, constraints, "
                                   "policies), not both")
        where = self.free_mapping(spec["where"]) if "where" in spec else {}
        roots = {p.split(".")[0] for p in [*where, *message_fields]}
        catalogue: dict[str, dict[str, str]] = {}
        kinds: list[str] = []
        subject: str | None = None
        each: list[tuple[str, str]] = []
        if "kind" in spec:
            kind_node = spec["kind"]
            kind_nodes = (r.sequence(kind_node) if isinstance(kind_node.value, list)
                          else [kind_node])
            for kn in kind_nodes:
                kind = r.string(kn)
                if kind not in OPERATION_TYPES:
                    raise self.error(kn, f"unknown operation kind {kind!r} (known: "
                                         f"{', '.join(sorted(OPERATION_TYPES))})")
                walk = None
                if kind == "create_table":
                    wanted = [plural for plural, one in EACH.items()
                              if one in roots or (one == "column" and "type" in roots)]
                    if len(wanted) > 1:
                        raise self.error(node, "a create_table match can look at its columns "
                                               "or at its constraints, not both")
                    walk = wanted[0] if wanted else None
                    if walk is not None:
                        each.append((kind, walk))
                kinds.append(kind)
                catalogue[kind] = operation_paths(kind, walk)
        else:
            subject = r.choice(spec["schema"], tuple(SUBJECT_PATHS))
            catalogue[f"schema {subject}"] = SUBJECT_PATHS[subject]
        conditions: list[Condition] = []
        for path, pnode in where.items():
            shape = self.check_path(path, pnode, catalogue)
            conditions.append(Condition(path, self.predicates(path, shape, pnode, kinds,
                                                              subject)))
        for field_name in message_fields:
            self.check_path(field_name, message_node, catalogue, in_message=True)
        return Match(frozenset(kinds), subject, tuple(conditions), tuple(each), node.line)

    def check_path(self, path: str, node: Node, catalogue: dict[str, dict[str, str]],
                   in_message: bool = False) -> str:
        shapes = set()
        for source, paths in catalogue.items():
            if path not in paths:
                where = "message field" if in_message else "field"
                raise self.error(node, f"unknown {where} {path!r} for {source} "
                                       f"(fields: {', '.join(sorted(paths))})")
            shapes.add(paths[path])
        if len(shapes) > 1:
            raise self.error(node, f"field {path!r} is a list for some of the kinds and a "
                                   "single value for others: split the match")
        return shapes.pop()

    def predicates(self, path: str, shape: str, node: Node, kinds: list[str],
                   subject: str | None) -> tuple[Predicate, ...]:
        r = self.r
        value = node.value
        if not isinstance(value, dict):
            if isinstance(value, list):
                raise self.error(node, f"{path}: a list is ambiguous; write {{in: [...]}} "
                                       "or {contains: value}")
            value_node = node
            return (self.predicate("equals", value_node, path, shape, kinds, subject),)
        allowed = SCALAR_PREDICATES if shape == SCALAR else LIST_PREDICATES
        spec = r.mapping(node, optional=(*SCALAR_PREDICATES, *LIST_PREDICATES))
        if not spec:
            raise self.error(node, f"{path}: no predicate (one of: {', '.join(allowed)})")
        out = []
        for op, pnode in spec.items():
            if op not in allowed:
                what = "a single value" if shape == SCALAR else "a list"
                raise self.error(pnode, f"predicate {op!r} does not apply to {path!r}, which "
                                        f"is {what} (use one of: {', '.join(allowed)})")
            out.append(self.predicate(op, pnode, path, shape, kinds, subject))
        return tuple(out)

    def predicate(self, op: str, node: Node, path: str, shape: str, kinds: list[str],
                  subject: str | None) -> Predicate:
        r = self.r
        norm = _normalize_type if path in TYPE_PATHS else (lambda v: v)
        if op in ("exists", "empty"):
            return Predicate(op, r.boolean(node))
        if op in ("matches", "not_matches"):
            pattern = r.string(node)
            try:
                return Predicate(op, re.compile(pattern))
            except re.error as exc:
                raise self.error(node, f"bad regular expression {pattern!r}: {exc}") from None
        if op in ("in", "not_in"):
            return Predicate(op, tuple(norm(self.scalar(n)) for n in r.sequence(node)))
        if op == "exists_in_canonical":
            targets = {_canonical_target(k, path) for k in kinds} if kinds else {
                _canonical_target(f"schema {subject}", path)}
            if None in targets or len(targets) != 1:
                raise self.error(node, f"exists_in_canonical does not apply to {path!r} here "
                                       "(it applies to a table, column, index, constraint, "
                                       "policy or enum type name)")
            return Predicate(op, r.boolean(node), targets.pop())
        return Predicate(op, norm(self.scalar(node)))

    def scalar(self, node: Node) -> Any:
        if isinstance(node.value, dict | list):
            raise self.error(node, "expected a single value (string, number, true/false or "
                                   "null)")
        return node.value

    # ------------------------------------------------------------------ examples

    def examples(self, node: Node | None) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
        if node is None or node.value is None:
            return (), ()
        spec = self.r.mapping(node, optional=("valid", "invalid"))
        valid = tuple(self.example(n, invalid=False)
                      for n in self.r.sequence(spec["valid"])) if "valid" in spec else ()
        invalid = tuple(self.example(n, invalid=True)
                        for n in self.r.sequence(spec["invalid"])) if "invalid" in spec else ()
        return valid, invalid

    def example(self, node: Node, *, invalid: bool) -> Example:
        r = self.r
        spec = r.mapping(node, optional=("source", "upgrade", "down_revision", "line",
                                         "files", "config", "rev", "title"))
        if ("source" in spec) == ("upgrade" in spec):
            raise self.error(node, "an example has either `source` (a whole migration file) "
                                   "or `upgrade` (the body of upgrade()), not both")
        line = r.integer(spec["line"]) if "line" in spec and spec["line"].value is not None \
            else None
        if line is not None and not invalid:
            raise self.error(spec["line"], "only examples that must trigger the rule have "
                                           "a line")
        if "upgrade" in spec:
            source = wrap_upgrade(r.string(spec["upgrade"]),
                                  down_revision=r.optional_string(spec.get("down_revision")))
            if line is not None:
                line += EXAMPLE_BODY_LINE - 1
        else:
            if "down_revision" in spec:
                raise self.error(spec["down_revision"], "down_revision goes with `upgrade`; "
                                                        "a `source` example writes its own")
            source = r.string(spec["source"])
        files: dict[str, str] = {}
        if "files" in spec:
            for rel, fnode in self.free_mapping(spec["files"]).items():
                files[rel] = r.string(fnode)
        config: dict[str, Any] = {}
        if "config" in spec:
            cfg = self.free_mapping(spec["config"])
            config = {k: v.plain() for k, v in cfg.items()}
        return Example(source, line=line, files=files, config=config,
                       rev=r.optional_string(spec.get("rev")),
                       title=r.optional_string(spec.get("title")) or "")


def _normalize_type(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    from b03lint.sqltypes import normalize_type

    return normalize_type(value)


def _canonical_target(source: str, path: str) -> str | None:
    """What kind of schema object the field ``path`` names, for ``exists_in_canonical``
    (``source`` is an operation kind or ``schema <subject>``)."""
    last = path.rsplit(".", 1)[-1]
    if last == "table":
        return "table"
    if path in ("column", "column.name"):
        return "column"
    if path in ("constraint", "constraint.name"):
        return "constraint"
    if source.startswith("schema "):
        return SUBJECT_OBJECT[source.split()[1]] if path == "name" else None
    if path == "name":
        return NAME_OBJECT.get(source)
    if path == "new_name":
        return NEW_NAME_OBJECT.get(source)
    return None


def load_rule_file(path: Path, shown: str) -> list[type[Rule]]:
    """Compile every rule of one YAML file. Raises :class:`RegistryError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read rule file: {exc.strerror}", shown) from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"rule file is not UTF-8: {exc.reason}", shown) from None
    try:
        return _Compiler(shown).file(parse(text, shown, max_bytes=5_000_000))
    except YamlError as exc:
        raise RegistryError(f"invalid rule file: {exc}", exc.path, exc.line) from None


def rule_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith("."))


def load_rule_dirs(root: Path, dirs: list[str], *, missing_ok: bool) -> list[type[Rule]]:
    """The YAML rules of every folder of ``rules_dirs`` (relative to the project root).
    A missing folder is an error unless ``missing_ok`` (the default ``rules``)."""
    from b03lint.paths import display_path

    out: list[type[Rule]] = []
    for name in dirs:
        folder = Path(name) if Path(name).is_absolute() else root / name
        if not folder.is_dir():
            if missing_ok:
                continue
            raise RegistryError(f"rules folder {name!r} (rules_dirs) not found",
                                display_path(folder))
        for path in rule_files(folder):
            out.extend(load_rule_file(path, display_path(path)))
    return out


__all__ = ["EXAMPLE_BODY_LINE", "DeclarativeRule", "load_rule_dirs", "load_rule_file",
           "operation_paths", "wrap_upgrade"]
