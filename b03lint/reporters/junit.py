"""JUnit XML, for CI systems that show test reports: one ``testsuite`` named ``b03lint``
with a ``testcase`` per checked file (and per other file a finding points at, such as the
canonical schema). Blocking findings are the testcase's ``failure``; warnings and info go
to its ``system-out``; tool errors (exit code 2) and an interrupted run (130) are ``error``
elements. The suite's ``verdict`` property is the run's verdict (``ERROR`` whenever it has an
error or was cut short). A CI-mode run that checked nothing is one skipped testcase."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b03lint.engine import Result
    from b03lint.findings import Finding
    from b03lint.reporters import ReportOptions

#: the testcase of errors that belong to no file
GLOBAL_CASE = "b03lint"


def _line(f: Finding) -> str:
    return f"{f.path}:{f.line}:{f.column}: {f.code} {f.severity} {f.shown_message}"


def render(result: Result, options: ReportOptions) -> str:
    paths: list[str] = list(result.checked)
    for f in result.findings:
        if f.path not in paths:
            paths.append(f.path)
    by_path: dict[str, list[Finding]] = {p: [] for p in paths}
    for f in result.findings:
        by_path[f.path].append(f)
    errors: dict[str, list[str]] = {}
    for e in result.errors:
        key = e.path if e.path in by_path else GLOBAL_CASE
        errors.setdefault(key, []).append(str(e))
    if result.interrupted:
        errors.setdefault(GLOBAL_CASE, []).append("the run was interrupted before it finished")

    suites = ET.Element("testsuites", name="b03lint")
    suite = ET.SubElement(suites, "testsuite", name="b03lint")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="verdict", value=result.verdict)
    cases = failures = n_errors = skipped = 0
    names = [*by_path, *([GLOBAL_CASE] if GLOBAL_CASE in errors else [])]
    if result.skipped:
        names = [GLOBAL_CASE]
    for name in names:
        cases += 1
        case = ET.SubElement(suite, "testcase", name=name, classname="b03lint")
        if name != GLOBAL_CASE:
            case.set("file", name)
        if result.skipped:
            ET.SubElement(case, "skipped", message=result.skipped)
            skipped += 1
            continue
        found = by_path.get(name, [])
        blocking = [f for f in found if f.blocking]
        if blocking:
            failures += 1
            codes = ", ".join(sorted({f.code for f in blocking}))
            failure = ET.SubElement(case, "failure", type=codes,
                                    message=f"{len(blocking)} blocking finding(s): {codes}")
            failure.text = "\n".join(_line(f) for f in blocking)
        if name in errors:
            n_errors += 1
            error = ET.SubElement(case, "error", message=errors[name][0])
            error.text = "\n".join(errors[name])
        rest = [f for f in found if not f.blocking]
        if rest:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(_line(f) for f in rest)
    for element in (suites, suite):
        element.set("tests", str(cases))
        element.set("failures", str(failures))
        element.set("errors", str(n_errors))
    suite.set("skipped", str(skipped))
    ET.indent(suites)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(suites, encoding="unicode") + "\n")
