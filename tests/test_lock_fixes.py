"""Every lock rule suggests the safe rewrite in Alembic's Python form (issue #16, item 4):
each invalid example's finding carries a fix whose code part is Python that compiles, names
the migration's own table, and has no placeholder; the three rewrites the issue names are
spelled out (``postgresql_concurrently=True`` inside ``autocommit_block()``; NOT VALID, then
VALIDATE in a later revision; add nullable, backfill, SET NOT NULL after a validated CHECK)."""

from __future__ import annotations

import pytest

from b03lint.rules.base import Example, Rule
from b03lint.rules.registry import default_registry
from b03lint.testing import run_example, triggered

LOCK_RULES = default_registry().select("locks")
#: the fix is a name, not code (an identifier longer than 63 bytes)
NAMING = {"L018"}
CASES = [(rule, example) for rule in LOCK_RULES for example in rule.invalid]

#: what the issue's rewrites must contain, by rule
MUST = {
    "L001": ("with op.get_context().autocommit_block():", "postgresql_concurrently=True"),
    "L002": ("with op.get_context().autocommit_block():", "postgresql_concurrently=True"),
    "L003": ("postgresql_not_valid=True", "# in a later revision", "VALIDATE CONSTRAINT"),
    "L004": ("IS NOT NULL", "postgresql_not_valid=True", "# in a later revision",
             "VALIDATE CONSTRAINT", "nullable=False"),
    "L005": ("nullable=True", "UPDATE events SET", "IS NOT NULL", "postgresql_not_valid=True",
             "# in a later revision", "VALIDATE CONSTRAINT", "nullable=False"),
    "L006": ("nullable=True", "server_default=", "= DEFAULT WHERE"),
    "L007": ("postgresql_concurrently=True", "USING INDEX"),
    "L010": ("with op.get_context().autocommit_block():",),
    "L011": ("# in a later revision", "VALIDATE CONSTRAINT"),
    "L012": ("with op.get_context().autocommit_block():", "CONCURRENTLY"),
    "L013": ("with op.get_context().autocommit_block():", "CONCURRENTLY"),
    "L015": ("with op.get_context().autocommit_block():", "ADD VALUE"),
    "L016": ("with op.get_context().autocommit_block():", "ADD VALUE"),
    "L017": ("with op.get_context().autocommit_block():",),
    "L021": ("with op.get_context().autocommit_block():", "EXISTS"),
}


def _code(fix: str) -> str:
    """The code of a fix: what follows its first line (the sentence that says what to do)."""
    return fix.split("\n", 1)[1] if "\n" in fix else ""


@pytest.mark.parametrize(("rule", "example"), CASES,
                         ids=[f"{r.code}-{i}" for i, (r, _) in enumerate(CASES)])
def test_every_lock_finding_has_the_safe_rewrite(rule: type[Rule], example: Example) -> None:
    found = triggered(rule, run_example(rule, example))
    assert found, f"{rule.code}: the invalid example does not trigger"
    for finding in found:
        assert finding.fix, f"{rule.code} has no fix"
        if rule.code in NAMING:
            assert "63 bytes" in finding.fix
            continue
        code = _code(finding.fix)
        assert "op." in code, finding.fix
        compile(code, f"{rule.code} fix", "exec")
        assert "..." not in code, finding.fix
        for needed in MUST.get(rule.code, ()):
            assert needed in code or needed in code.upper(), (rule.code, needed, finding.fix)


def test_every_lock_rule_is_covered() -> None:
    """Each lock rule has an invalid example, so the test above judges its fix."""
    assert {r.code for r, _ in CASES} == {r.code for r in LOCK_RULES}
    assert set(MUST) | NAMING <= {r.code for r in LOCK_RULES}
