"""Rules about suppressions and the baseline.

The engine produces these findings (:mod:`b03lint.suppressions` and
:mod:`b03lint.baseline`); the classes here give each one its stable code, its name, its
documentation and its examples, so that they can be selected, ignored, re-graded and
looked up with ``b03lint rule`` like any other rule.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from b03lint.baseline import anchor_text
from b03lint.findings import Finding
from b03lint.operations import Severity
from b03lint.rules.base import Example, Option, Rule
from b03lint.rules.destructive import _ADR, _mig


class SuppressionWithoutReason(Rule):
    """
    What it does:
        Reports a ``# b03lint: ignore[CODE]`` suppression that gives no reason (nothing
        after ``--``), whose reason is still the ``<reason>`` placeholder that the
        editor's suppression fix writes, or whose reason does not match the
        ``reason-pattern`` option. Such a suppression suppresses nothing (one that still
        says ``<reason>`` suppresses nothing even with S001 ignored).

    Why it matters:
        A silenced finding with no stated reason is an unexplained exception: the next
        reader cannot tell a deliberate decision from a shortcut, and nobody can review it.

    Example:
        ``op.execute(build_sql())  # b03lint: ignore[I004]``

    How to fix:
        Say why after two dashes: ``# b03lint: ignore[I004] -- SQL is generated from the
        partition list at deploy time``. Teams that do not want reasons can
        ``ignore = ["S001"]``; then suppressions without one are accepted.

    Options:
        ``reason-pattern`` (string, default empty): a regular expression the reason must
        contain a match of, e.g. ``"[A-Z]+-[0-9]+"`` to require a ticket reference.
    """

    code = "S001"
    name = "suppression-without-reason"
    category = "suppression"
    default_severity = "warning"
    options: ClassVar[dict[str, Option]] = {
        "reason_pattern": Option("", str, "regular expression a suppression's reason must "
                                 "contain a match of (empty: any non-empty reason)"),
    }
    invalid = (
        Example(_mig("    op.execute(build_sql())  # b03lint: ignore[I004]"), line=10),
        Example(_mig("    op.execute(build_sql())  # b03lint: ignore[I004] -- see the wiki"),
                line=10, config={"options": {"S001": {"reason-pattern": "[A-Z]+-[0-9]+"}}},
                title="reason without the required ticket reference"),
        Example(_mig("    op.execute(build_sql())  # b03lint: ignore[I004] -- <reason>"),
                line=10, title="the placeholder of the suppression fix, not yet written"),
    )
    valid = (
        Example(_mig("    # b03lint: ignore[I004] -- partitions are listed at deploy time\n"
                     "    op.execute(build_sql())")),
        Example(_mig("    op.execute(build_sql())  # b03lint: ignore[I004] -- OPS-12 partitions"),
                config={"options": {"S001": {"reason-pattern": "[A-Z]+-[0-9]+"}}},
                title="reason with a ticket reference"),
    )

    def __init__(self, severity: Severity | None = None, options: dict[str, Any] | None = None):
        super().__init__(severity, options)
        try:
            re.compile(self.opts["reason_pattern"])
        except re.error as exc:
            raise ValueError(f"option 'reason-pattern' of rule {self.code} is not a valid "
                             f"regular expression: {exc}") from None


class UnknownRuleInSuppression(Rule):
    """
    What it does:
        Reports a code or rule name in ``# b03lint: ignore[...]`` that names no rule.

    Why it matters:
        A typo (``D0002``, ``drop-colum``) suppresses nothing, so the finding it was meant
        to silence is still reported, and the comment misleads the next reader.

    Example:
        ``# b03lint: ignore[X999] -- legacy``

    How to fix:
        Use a code or name that ``b03lint rules`` lists, or delete the suppression.
    """

    code = "S002"
    name = "unknown-rule-in-suppression"
    category = "suppression"
    default_severity = "warning"
    invalid = (Example(_mig("    op.execute(build_sql())  # b03lint: ignore[X999] -- legacy"),
                       line=10),)
    valid = (Example(_mig("    op.execute(build_sql())  # b03lint: ignore[unresolved-operation]"
                          " -- partitions are listed at deploy time")),)


class UnusedSuppression(Rule):
    """
    What it does:
        Reports a code in a ``# b03lint: ignore[...]`` suppression that suppresses nothing:
        no finding of that (enabled) rule is on the suppression's line or the next one.

    Why it matters:
        A stale suppression hides nothing today but silently hides the next finding that
        lands on that line. Suppressions of rules that are not enabled in the run are not
        reported (they cannot be judged).

    Example:
        ``op.add_column("t", sa.Column("a", sa.Text()))  # b03lint: ignore[I004] -- x``

    How to fix:
        Delete the suppression (or the unused code from its list).
    """

    code = "S003"
    name = "unused-suppression"
    category = "suppression"
    default_severity = "warning"
    invalid = (Example(_mig('    op.add_column("t", sa.Column("a", sa.Text()))  '
                            "# b03lint: ignore[I004] -- built at deploy time"),
                       line=10, config={"extend_select": ["I004"]}),)
    valid = (Example(_mig("    op.execute(build_sql())  # b03lint: ignore[I004] -- built at "
                          "deploy time"), config={"extend_select": ["I004"]}),)


def _baseline_file(path: str, line_text: str, code: str, obj: str) -> str:
    """A one-entry baseline file for the S004 examples."""
    probe = Finding(code=code, rule="", severity="blocking", message="", path=path, line=1,
                    object=obj)
    entry = {"code": code, "count": 1, "fingerprint": probe.fingerprint(anchor_text(line_text)),
             "line": 10, "message": "drop column t.a", "path": path, "rule": "drop-column"}
    return ('{\n  "version": 1,\n  "findings": [\n    ' + json.dumps(entry, sort_keys=True)
            + "\n  ]\n}\n")


#: where :mod:`b03lint.testing` writes an example's migration
_EXAMPLE_PATH = "alembic/versions/example.py"
_BASELINE = {".b03lint-baseline.json": _baseline_file(
    _EXAMPLE_PATH, 'op.drop_column("t", "a")', "D002", "t.a")}
_BASELINE_CONFIG: dict[str, Any] = {"baseline": ".b03lint-baseline.json",
                                    "extend_select": ["D002"]}


class StaleBaselineEntry(Rule):
    """
    What it does:
        Reports an entry of the baseline file (``b03lint baseline``) that no longer
        matches any finding: the problem it recorded was fixed, waived or moved to
        another file. Reported at the entry's line in the baseline file, as info.

    Why it matters:
        A baseline is a debt list; an entry that no longer occurs should leave it, or
        it would silently accept the same problem if it came back.

    Example:
        The baseline records ``D002`` for ``op.drop_column("t", "a")`` in ``x.py``, and
        that line was deleted.

    How to fix:
        Run ``b03lint baseline`` again to rewrite the file, and commit it.
    """

    code = "S004"
    name = "stale-baseline-entry"
    category = "suppression"
    default_severity = "info"
    invalid = (Example(_mig('    op.add_column("t", sa.Column("a", sa.Text()))'),
                       files=_BASELINE, config=_BASELINE_CONFIG),)
    valid = (Example(_mig('    op.drop_column("t", "a")'), files=_BASELINE,
                     config=_BASELINE_CONFIG),)


class SuppressionNotAllowed(Rule):
    """
    What it does:
        Reports a suppression that b03lint does not accept, which therefore suppresses
        nothing: a blanket ``# b03lint: ignore`` without codes, and a suppression of a
        destructive-DDL rule (category ``destructive``: ``D001``-``D022``) or of a
        suppression rule.

    Why it matters:
        A blanket ignore silences every present and future finding on the line. The
        guide makes ``# CI:DESTRUCTIVE_OK - See ADR-<id>`` the only waiver of destructive
        DDL, because it ties each one to a written decision; a generic suppression must
        not become a way around it.

    Example:
        ``op.drop_column("t", "a")  # b03lint: ignore[D002] -- legacy``

    How to fix:
        Name the codes: ``# b03lint: ignore[I004] -- reason``. For destructive DDL write
        the guide's waiver citing an ADR: ``# CI:DESTRUCTIVE_OK - See ADR-<id>``.
    """

    code = "S005"
    name = "suppression-not-allowed"
    category = "suppression"
    default_severity = "warning"
    invalid = (
        Example(_mig('    op.drop_column("t", "a")  # b03lint: ignore[D002] -- legacy'),
                line=10),
        Example(_mig("    op.execute(build_sql())  # b03lint: ignore -- legacy"), line=10,
                title="blanket ignore"),
    )
    valid = (Example(_mig('    op.drop_column("t", "a")  # CI:DESTRUCTIVE_OK - See ADR-007'),
                     files=_ADR),)


RULES: tuple[type[Rule], ...] = (
    SuppressionWithoutReason, UnknownRuleInSuppression, UnusedSuppression,
    StaleBaselineEntry, SuppressionNotAllowed,
)
