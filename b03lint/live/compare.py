"""Live schemas -> findings that look exactly like the static ones.

- :func:`contract_findings`: a live schema vs the canonical schema, each deviation
  classified against the drift register (:func:`b03lint.contract.classify`) and reported by
  the contract rule that reports it statically (``C001`` enum-mismatch, ``C002``
  index-shape, ...), with the configured selection and severities;
- :func:`replay_findings`: a live schema vs b03lint's static replay of the chain at the
  same revision; every difference is ``M001`` replay-model-mismatch (the replay is wrong).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from b03lint.config import Config
from b03lint.contract import ContractState, analyze, classify
from b03lint.engine import Project, RuleSet
from b03lint.findings import Finding, ToolError
from b03lint.operations import Location, Severity
from b03lint.rules.base import Rule
from b03lint.rules.contract import ContractRule
from b03lint.rules.registry import Registry, RegistryError, build_registry
from b03lint.schema.diff import Deviation, diff
from b03lint.schema.model import Schema
from b03lint.schema.replay import Replay

#: a tenant column no table has: the replay comparison must not invent RLS expectations
_NO_TENANT = "\x00"


@dataclass
class Context:
    """The static side of a live run: configuration, rules, chain and contract."""

    config: Config
    registry: Registry
    ruleset: RuleSet
    project: Project
    errors: list[ToolError] = field(default_factory=list)

    @property
    def state(self) -> ContractState:
        return analyze(self.project)

    def rule(self, code: str) -> Rule | None:
        """The enabled, configured instance of rule ``code`` (None when disabled)."""
        return next((r for r in self.ruleset.rules if r.code == code), None)

    def finding(self, code: str, loc: Location, message: str, *, object: str | None = None,
                severity: Severity | None = None, data: dict[str, object] | None = None,
                fix: str | None = None) -> Finding | None:
        """A finding of rule ``code`` at its configured severity (None when disabled)."""
        rule = self.rule(code)
        if rule is None:
            return None
        out = rule.finding(loc, message, object=object, fix=fix, data=data)
        if severity is not None and severity != rule.default_severity:
            out = out.with_severity(severity)
        return out


def load_context(config: Config, rev: str | None = None) -> Context:
    """Read the chain (statically) and the rules of the run (built-ins, project rules, rule
    packs, as ``check`` has them); the contract is computed on first use. A configuration
    the rules cannot use raises :class:`ConfigError`."""
    from b03lint.config import ConfigError
    from b03lint.engine import load_project

    try:
        registry = build_registry(config)
    except RegistryError as exc:
        if exc.path is not None:
            raise ConfigError(str(exc), exc.path, exc.line) from None
        raise _config_error(config, str(exc), ("rule_modules", "rule_dirs")) from None
    try:
        ruleset = RuleSet.from_config(registry, config)
    except (KeyError, ValueError) as exc:
        raise _config_error(config, f"configuration: {exc.args[0] if exc.args else exc}",
                            ("select", "ignore", "severity", "options")) from None
    project = load_project(config, rev, registry)
    return Context(config, registry, ruleset, project, project.errors)


def _config_error(config: Config, message: str, keys: tuple[str, ...]) -> Exception:
    """A :class:`ConfigError` at the line of ``pyproject.toml`` it is about: the line that
    quotes the name the message quotes, else the first of ``keys``, else the table."""
    from b03lint.config import ConfigError

    if config.pyproject is None:
        return ConfigError(message)
    path = str(config.pyproject)
    try:
        lines = config.pyproject.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ConfigError(message, path)
    start = next((i for i, t in enumerate(lines) if t.strip() == "[tool.b03lint]"), 0)
    quoted = [q for pair in re.findall(r"'([^']+)'|\"([^\"]+)\"", message) for q in pair if q]
    wanted: list[re.Pattern[str]] = [re.compile(rf"[\"']{re.escape(q)}[\"']") for q in quoted]
    wanted += [re.compile(rf"^\s*{re.escape(k)}\s*=") for k in keys]
    for pattern in wanted:
        for number in range(start, len(lines)):
            if number > start and lines[number].lstrip().startswith("[") and not \
                    lines[number].lstrip().startswith("[tool.b03lint"):
                break
            if pattern.search(lines[number]):
                return ConfigError(message, path, number + 1)
    return ConfigError(message, path, start + 1)


def _contract_rules(ctx: Context) -> dict[str, ContractRule]:
    out: dict[str, ContractRule] = {}
    for rule in ctx.ruleset.rules:
        if isinstance(rule, ContractRule):
            for kind in rule.deviation_kinds:
                out[kind] = rule
    return out


def contract_findings(ctx: Context, live: Schema, revision: str | None) -> list[Finding]:
    """``live`` vs the canonical schema, classified as of ``revision`` (None: every
    revision of the chain is applied)."""
    state = ctx.state
    canonical = state.canonical.schema
    if canonical is None:
        return []
    tenant = str(ctx.config.get("tenant_column"))
    rules = _contract_rules(ctx)
    out: list[Finding] = []
    for dev in diff(live, canonical, tenant_column=tenant):
        rule = rules.get(dev.kind)
        if rule is None:
            continue
        item = classify(dev, state.register, ctx.project.graph, revision)
        out.append(rule.to_finding(item, ctx.project))
    return out


def two_way(actual: Schema, expected: Schema,
            unknown: set[str] | None = None) -> list[tuple[Deviation, bool]]:
    """Every difference between two schemas of the same database's history, each once,
    with whether it was only seen from ``expected``'s side: ``diff`` is asymmetric (RLS,
    policies), so it runs both ways and the reverse direction keeps what the forward one
    missed (missing/extra kinds and actual/expected origins swapped back). No tenant
    heuristics: only facts are compared."""
    forward = [d for d in diff(actual, expected, tenant_column=_NO_TENANT,
                               unknown_tables=unknown) if d.kind != "unknown-object"]
    seen: set[str] = set()
    for d in forward:
        seen |= d.names()
    backward = [d for d in diff(expected, actual, tenant_column=_NO_TENANT,
                                unknown_tables=unknown)
                if d.kind != "unknown-object" and not d.names() & seen]
    out = [(d, False) for d in forward]
    out += [(Deviation(_FLIP.get(d.kind, d.kind), d.object, d.message, d.expected, d.actual,
                       d.aliases, d.details), True) for d in backward]
    return out


def reword(message: str, flipped: bool, expected_name: str,
           actual_name: str = "the live database") -> str:
    """The diff calls its expected side "canonical": name the real one. Forward, the
    subject is ``actual_name`` and "canonical" is ``expected_name``; flipped, the reverse."""
    other = actual_name if flipped else expected_name
    text = re.sub(r"\b(the )?canonical( schema)?\b", other, message)
    return f"in {expected_name}, {text}" if flipped else text


_FLIP = {k: v for a, b in (("missing-table", "extra-table"), ("missing-column", "extra-column"),
                           ("missing-index", "extra-index"),
                           ("missing-constraint", "extra-constraint"),
                           ("missing-policy", "extra-policy"), ("rls-disabled", "rls-enabled"),
                           ("rls-not-forced", "rls-forced"))
         for k, v in ((a, b), (b, a))}


def replay_findings(ctx: Context, live: Schema, replay: Replay, revision: str | None,
                    label: str) -> list[Finding]:
    """``M001`` for every difference between the live schema and the static replay at
    ``revision``; informational when an unresolved operation may explain it."""
    unexplained = not replay.unknown_anywhere
    at = revision or "head"
    out: list[Finding] = []
    for dev, flipped in two_way(live, replay.schema, replay.unknown_tables):
        replay_side = dev.expected
        live_side = dev.actual
        loc = (replay_side.loc if replay_side is not None else
               live_side.loc if live_side is not None else Location(label, 0, 0))
        where_live = f" (live: {live_side.loc.path})" if live_side is not None else ""
        message = (f"the live database differs from b03lint's static replay at {at}: "
                   f"{reword(dev.message, flipped, 'the static replay')}{where_live}")
        data: dict[str, object] = {"deviation": dev.kind, "revision": at, **dev.details}
        if replay_side is not None and replay_side.revision:
            data["replay_revision"] = replay_side.revision
        severity: Severity | None = None
        if not unexplained:
            op = replay.unknown_anywhere[0]
            message += (f" [an unresolved operation ({op.loc.path}:{op.loc.line}) may explain "
                        "it]")
            severity = "info"
        finding = ctx.finding("M001", loc, message, object=dev.object, severity=severity,
                              data=data)
        if finding is not None:
            out.append(finding)
    return out
