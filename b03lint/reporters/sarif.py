"""SARIF 2.1.0 (OASIS), for GitHub code scanning and other SARIF viewers.

One run: ``tool.driver`` lists the rules that have findings (id = code, name, short and
full description from the rule's documentation, default level); each result carries its
rule, level (blocking -> ``error``, warning -> ``warning``, info -> ``note``), message, a
physical location relative to ``%SRCROOT%`` (the working directory) and the baseline's
fingerprint as ``partialFingerprints``. Tool errors (exit code 2) are tool execution
notifications, and make ``executionSuccessful`` false. The output validates against the
official schema (``tests/data/sarif-schema-2.1.0.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.findings import Finding, ToolError
    from b03lint.reporters import ReportOptions
    from b03lint.rules.registry import Registry

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"blocking": "error", "warning": "warning", "info": "note"}
#: the key of b03lint's fingerprint in ``partialFingerprints`` (bump with the algorithm)
FINGERPRINT_KEY = "b03lintFingerprint/v1"
SRCROOT = "%SRCROOT%"


def _registry(options: ReportOptions) -> Registry | None:
    if options.registry is not None:
        return options.registry
    try:
        from b03lint.rules.registry import default_registry

        return default_registry()
    except Exception:  # a report is still written without rule documentation
        return None


def _artifact(path: str) -> dict[str, Any]:
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": quote(p.as_posix()), "uriBaseId": SRCROOT}


def _region(line: int, column: int | None, end_line: int | None = None,
            end_column: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(line, 1)}
    if column is not None:
        region["startColumn"] = max(column, 1)
    if end_line is not None and end_line >= region["startLine"]:
        region["endLine"] = end_line
        if (end_column is not None and end_column >= 1
                and (end_line > region["startLine"]
                     or end_column > region.get("startColumn", 1))):
            region["endColumn"] = end_column
    return region


def _rule_descriptor(f: Finding, registry: Registry | None) -> dict[str, Any]:
    rule = registry.get(f.code) if registry is not None else None
    if rule is None:
        return {"id": f.code, "name": f.rule, "shortDescription": {"text": f.rule},
                "defaultConfiguration": {"level": LEVELS[f.severity]}}
    doc = rule.documentation() or rule.summary() or rule.name
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary() or rule.name},
        "fullDescription": {"text": doc},
        "help": {"text": doc},
        "defaultConfiguration": {"level": LEVELS[rule.default_severity]},
        "properties": {"category": rule.category, "origin": rule.origin},
    }


def _notification(e: ToolError) -> dict[str, Any]:
    out: dict[str, Any] = {"level": "error", "message": {"text": e.message}}
    if e.path:
        physical: dict[str, Any] = {"artifactLocation": _artifact(e.path)}
        if e.line is not None:
            physical["region"] = _region(e.line, e.column)
        out["locations"] = [{"physicalLocation": physical}]
    return out


def render(result: Result, options: ReportOptions) -> str:
    from b03lint.baseline import SourceLines, fingerprint

    registry = _registry(options)
    root = Path(options.root)
    sources = SourceLines()
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for f in result.findings:
        if f.code not in index:
            index[f.code] = len(rules)
            rules.append(_rule_descriptor(f, registry))
        message = f.shown_message + (f" Fix: {f.fix}." if f.fix else "")
        entry: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVELS[f.severity],
            "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact(f.path),
                "region": _region(f.line, f.column, f.end_line, f.end_column),
            }}],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, root, sources)},
            "properties": {"severity": f.severity, "rule": f.rule},
        }
        if f.related:
            entry["relatedLocations"] = [
                {"id": k, "message": {"text": r.message}, "physicalLocation": {
                    "artifactLocation": _artifact(r.loc.path),
                    "region": _region(r.loc.line, r.loc.column + 1, r.loc.end_line,
                                      None if r.loc.end_column is None
                                      else r.loc.end_column + 1)}}
                for k, r in enumerate(f.related)
            ]
        if f.object:
            entry["properties"]["object"] = f.object
        if f.environment:
            entry["properties"]["environment"] = f.environment
        if f.data:
            entry["properties"]["data"] = f.data
        results.append(entry)
    notifications = [_notification(e) for e in result.errors]
    if result.skipped:
        notifications.append({"level": "note", "message": {"text": result.skipped}})
    invocation: dict[str, Any] = {"executionSuccessful": result.verdict != "ERROR",
                                  "exitCode": result.exit_code}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    driver: dict[str, Any] = {"name": "b03lint", "rules": rules}
    if options.tool_version:
        driver["version"] = options.tool_version
        driver["semanticVersion"] = options.tool_version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().resolve().as_uri().rstrip("/") + "/"}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"verdict": result.verdict},
    }
    doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
