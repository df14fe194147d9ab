"""What the registry knows of every built-in rule before importing its module: code, name,
category, whether it is enabled by default, and the module that defines it.

Importing every rule module (and what they import: the lock model, the fix planner, the
schema helpers) was a tenth of a pre-commit run; with this table a run imports only the
modules of the rules it runs, and ``select``, ``ignore``, severities, options,
``per_file_ignores`` and suppressions are resolved from the table alone. The table is kept
true by ``tests/test_registry_catalog.py``, which imports every module of
:data:`BUILTIN_MODULES` and compares (run
``python -m b03lint.rules.catalog`` to print the table the modules define).
"""

from __future__ import annotations

#: modules holding built-in rules, each exporting ``RULES``
BUILTIN_MODULES = (
    "b03lint.rules.input",
    "b03lint.rules.graph",
    "b03lint.rules.destructive",
    "b03lint.rules.dropped",
    "b03lint.rules.contract",
    "b03lint.rules.live",
    "b03lint.rules.locks",
    "b03lint.rules.timeouts",
    "b03lint.rules.blocking",
    "b03lint.rules.runtime",
    "b03lint.rules.robust",
    "b03lint.rules.conventions",
    "b03lint.rules.suppression",
)

#: code -> (name, category, default_enabled, module)
BUILTIN: dict[str, tuple[str, str, bool, str]] = {
    "I000": ("internal-reader-error", "input", True, "b03lint.rules.input"),
    "I001": ("python-syntax-error", "input", True, "b03lint.rules.input"),
    "I002": ("undecodable-file", "input", True, "b03lint.rules.input"),
    "I003": ("sql-syntax-error", "input", True, "b03lint.rules.input"),
    "I004": ("unresolved-operation", "input", True, "b03lint.rules.input"),
    "I005": ("missing-revision", "input", True, "b03lint.rules.input"),
    "I006": ("not-a-revision", "input", True, "b03lint.rules.input"),
    "I007": ("operation-cannot-run", "input", True, "b03lint.rules.input"),
    "D020": ("waiver-without-adr", "destructive", True, "b03lint.rules.input"),
    "D021": ("waiver-unknown-adr", "destructive", True, "b03lint.rules.input"),
    "D022": ("unused-waiver", "destructive", True, "b03lint.rules.input"),
    "G001": ("multiple-heads", "graph", True, "b03lint.rules.graph"),
    "G002": ("revision-cycle", "graph", True, "b03lint.rules.graph"),
    "G003": ("unknown-parent", "graph", True, "b03lint.rules.graph"),
    "G004": ("duplicate-revision", "graph", True, "b03lint.rules.graph"),
    "D001": ("drop-table", "destructive", True, "b03lint.rules.destructive"),
    "D002": ("drop-column", "destructive", True, "b03lint.rules.destructive"),
    "D003": ("drop-schema", "destructive", True, "b03lint.rules.destructive"),
    "D004": ("drop-type", "destructive", True, "b03lint.rules.destructive"),
    "D005": ("truncate", "destructive", True, "b03lint.rules.destructive"),
    "D006": ("delete-without-where", "destructive", True, "b03lint.rules.destructive"),
    "D007": ("rename-table", "destructive", True, "b03lint.rules.destructive"),
    "D008": ("rename-column", "destructive", True, "b03lint.rules.destructive"),
    "D009": ("alter-column-type", "destructive", True, "b03lint.rules.destructive"),
    "D012": ("rename-type", "destructive", True, "b03lint.rules.destructive"),
    "D013": ("rename-enum-value", "destructive", True, "b03lint.rules.destructive"),
    "D014": ("drop-database", "destructive", True, "b03lint.rules.destructive"),
    "D010": ("drop-index", "destructive", True, "b03lint.rules.dropped"),
    "D011": ("drop-constraint", "destructive", True, "b03lint.rules.dropped"),
    "C001": ("enum-mismatch", "contract", True, "b03lint.rules.contract"),
    "C002": ("index-shape", "contract", True, "b03lint.rules.contract"),
    "C003": ("missing-object", "contract", True, "b03lint.rules.contract"),
    "C004": ("extra-object", "contract", True, "b03lint.rules.contract"),
    "C005": ("column-renamed", "contract", True, "b03lint.rules.contract"),
    "C006": ("column-definition", "contract", True, "b03lint.rules.contract"),
    "C007": ("constraint-mismatch", "contract", True, "b03lint.rules.contract"),
    "C008": ("rls-disabled", "contract", True, "b03lint.rules.contract"),
    "R001": ("tenant-rls-recommended", "security", True, "b03lint.rules.contract"),
    "C009": ("policy-mismatch", "contract", True, "b03lint.rules.contract"),
    "C010": ("invariant-violated", "contract", True, "b03lint.rules.contract"),
    "C011": ("canonical-disagreement", "contract", True, "b03lint.rules.contract"),
    "C012": ("stale-drift-entry", "contract", True, "b03lint.rules.contract"),
    "C013": ("replay-conflict", "contract", True, "b03lint.rules.contract"),
    "C014": ("unknown-object", "contract", True, "b03lint.rules.contract"),
    "M001": ("replay-model-mismatch", "contract", True, "b03lint.rules.live"),
    "M002": ("probe-failed", "contract", True, "b03lint.rules.live"),
    "M003": ("migration-failed", "safety", True, "b03lint.rules.live"),
    "M004": ("roundtrip-residue", "safety", True, "b03lint.rules.live"),
    "M005": ("lock-model-mismatch", "safety", True, "b03lint.rules.live"),
    "M006": ("fails-with-rows", "safety", True, "b03lint.rules.live"),
    "L001": ("index-without-concurrently", "locks", False, "b03lint.rules.locks"),
    "L002": ("drop-index-without-concurrently", "locks", False, "b03lint.rules.locks"),
    "L003": ("constraint-without-not-valid", "locks", False, "b03lint.rules.locks"),
    "L004": ("set-not-null", "locks", False, "b03lint.rules.locks"),
    "L005": ("not-null-column-without-default", "locks", False, "b03lint.rules.locks"),
    "L006": ("volatile-default", "locks", False, "b03lint.rules.locks"),
    "L007": ("unique-constraint-in-place", "locks", False, "b03lint.rules.locks"),
    "L008": ("lock-timeout-missing", "locks", False, "b03lint.rules.timeouts"),
    "L009": ("statement-timeout-missing", "locks", False, "b03lint.rules.timeouts"),
    "L012": ("reindex-without-concurrently", "locks", False, "b03lint.rules.blocking"),
    "L013": ("detach-partition-without-concurrently", "locks", False, "b03lint.rules.blocking"),
    "L014": ("rewriting-maintenance", "locks", False, "b03lint.rules.blocking"),
    "L019": ("add-column-rewrite", "locks", False, "b03lint.rules.blocking"),
    "L020": ("drop-not-null", "locks", False, "b03lint.rules.blocking"),
    "L010": ("concurrently-outside-autocommit", "locks", False, "b03lint.rules.runtime"),
    "L011": ("validate-in-same-transaction", "locks", False, "b03lint.rules.runtime"),
    "L015": ("enum-value-in-transaction", "locks", False, "b03lint.rules.runtime"),
    "L016": ("new-enum-value-used", "locks", False, "b03lint.rules.runtime"),
    "L017": ("transaction-control-in-migration", "locks", False, "b03lint.rules.runtime"),
    "L018": ("identifier-too-long", "locks", False, "b03lint.rules.runtime"),
    "L021": ("prefer-robust-statements", "locks", False, "b03lint.rules.robust"),
    "P001": ("char-type", "conventions", False, "b03lint.rules.conventions"),
    "P002": ("integer-primary-key", "conventions", False, "b03lint.rules.conventions"),
    "P003": ("serial-column", "conventions", False, "b03lint.rules.conventions"),
    "P004": ("timestamp-without-time-zone", "conventions", False, "b03lint.rules.conventions"),
    "P005": ("varchar-length", "conventions", False, "b03lint.rules.conventions"),
    "S001": ("suppression-without-reason", "suppression", True, "b03lint.rules.suppression"),
    "S002": ("unknown-rule-in-suppression", "suppression", True, "b03lint.rules.suppression"),
    "S003": ("unused-suppression", "suppression", True, "b03lint.rules.suppression"),
    "S004": ("stale-baseline-entry", "suppression", True, "b03lint.rules.suppression"),
    "S005": ("suppression-not-allowed", "suppression", True, "b03lint.rules.suppression"),
}


def table_from_modules() -> dict[str, tuple[str, str, bool, str]]:
    """The table as the rule modules define it (imports all of them)."""
    import importlib

    out: dict[str, tuple[str, str, bool, str]] = {}
    for module in BUILTIN_MODULES:
        for rule in importlib.import_module(module).RULES:
            out[rule.code] = (rule.name, rule.category, bool(rule.default_enabled), module)
    return out


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    for code, entry in table_from_modules().items():
        print(f"    {code!r}: {entry!r},".replace("'", '"'))
