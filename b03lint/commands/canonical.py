"""`b03lint canonical export|hash`: the canonical schema's YAML mirror and checksums."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from b03lint.commands.common import add_project_arguments, chain_config

if TYPE_CHECKING:
    from b03lint.config import Config

HELP = ("the canonical schema: `export` writes the YAML mirror from the canonical SQL, "
        "`hash` prints the SHA-256 of the canonical files (guide section 7.2)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True,
                           parser_class=type(p))
    export = sub.add_parser(
        "export", help="write the canonical YAML from the canonical SQL",
        description="Write the canonical YAML (format 1) from the canonical SQL to the "
                    "configured canonical_yaml (or --output FILE; `-o -` prints it). The "
                    "`invariants:` section of the existing YAML (the file written, else the "
                    "configured canonical_yaml) is kept as written.")
    export.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write to FILE instead of the configured canonical_yaml "
                             "(`-` for standard output)")
    digest = sub.add_parser("hash", help="print `sha256  path` of the canonical SQL and YAML",
                            description="Print `sha256  path` of the canonical SQL and YAML, "
                                        "the checksum the baseline truth statement records.")
    for q in (export, digest):
        q.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of internal errors")
        add_project_arguments(q)


def print_error(message: str, path: str | None = None, line: int | None = None,
                severity: str = "error") -> None:
    """``path:line: error: message`` on standard error (``severity`` may be ``warning``);
    shared by the schema commands."""
    from b03lint.findings import ToolError

    text = str(ToolError(message, path, line))
    if severity != "error":
        text = text.replace("error: ", f"{severity}: ", 1)
    print(text, file=sys.stderr)


def invariants_section(text: str, shown: str) -> tuple[str, int]:
    """The ``invariants:`` section of a canonical YAML document exactly as written (with
    the comment lines right above it) and the line it starts at; ``("", 0)`` when there is
    none. Raises ``YamlError`` for invalid YAML."""
    from b03lint.yamlio import parse

    root = parse(text, shown)
    if not isinstance(root.value, dict) or "invariants" not in root.value:
        return "", 0
    start = root.value["invariants"].line
    after = [n.line for k, n in root.value.items() if k != "invariants" and n.line > start]
    lines = text.splitlines()
    end = min(after) - 1 if after else len(lines)
    first = start - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    section = lines[first:end]
    if after:  # comments right above the next key belong to it
        while section and (not section[-1].strip() or section[-1].lstrip().startswith("#")):
            section.pop()
    while section and not section[-1].strip():
        section.pop()
    return "\n".join(section) + "\n", first + 1


def yaml_mirror(config: Config, sql_path: Path, keep_from: Path | None,
                shown_out: str) -> str | None:
    """The canonical YAML of the canonical SQL at ``sql_path``, with the ``invariants:``
    section of ``keep_from`` (when it exists) kept as written; None after printing why not
    (``path:line: error: ...``)."""
    from b03lint.paths import display_path
    from b03lint.schema.canonical import CanonicalError, load_sql
    from b03lint.schema.canonical_yaml import check_invariants, load_canonical_yaml
    from b03lint.schema.emit import schema_to_yaml
    from b03lint.yamlio import YamlError

    shown_sql = display_path(sql_path)
    try:
        schema, diagnostics, conflicts = load_sql(sql_path, shown_sql)
    except CanonicalError as exc:
        print_error(str(exc), exc.path, exc.line)
        return None
    failed = False
    for d in diagnostics:
        print_error(d.message, d.loc.path, d.loc.line,
                    "error" if d.severity == "blocking" else "warning")
        failed |= d.severity == "blocking"
    for c in conflicts:
        print_error(c.message, c.loc.path, c.loc.line)
        failed = True
    if failed:
        return None
    kept, kept_line, shown_source = "", 0, ""
    if keep_from is not None and keep_from.is_file():
        shown_source = display_path(keep_from)
        try:
            kept, kept_line = invariants_section(keep_from.read_text(encoding="utf-8-sig"),
                                                 shown_source)
        except (OSError, UnicodeDecodeError) as exc:
            print_error(f"cannot read the existing YAML: {exc}", shown_source)
            return None
        except YamlError as exc:
            print_error(f"cannot keep its invariants: {exc}", exc.path, exc.line)
            return None
    text = schema_to_yaml(schema, invariants=False)
    kept_at = 0  # the line the kept section starts at in the new text
    if kept:
        text += "\n"
        kept_at = text.count("\n") + 1
        text += kept
    try:
        result = load_canonical_yaml(text, shown_out)
    except CanonicalError as exc:
        path, line = exc.path, exc.line
        if kept and line is not None and line >= kept_at:
            # a kept invariant no longer fits the SQL: point at it where it is written
            path, line = shown_source, line - kept_at + kept_line
        print_error(f"the exported YAML would not be valid, nothing written: {exc}", path,
                    line)
        return None
    tenant = str(config.get("tenant_column"))
    for inv, problem in check_invariants(schema, result.invariants, tenant_column=tenant):
        line = inv.origin.loc.line if inv.origin else None
        print_error(f"invariant {inv.id} does not hold on the canonical SQL: {problem}",
                    shown_out, line, "warning")
    return text


def _export(args: argparse.Namespace) -> int:
    from b03lint.paths import display_path

    config = chain_config(args)
    sql_path = config.path("canonical_sql")
    if sql_path is None:
        print_error("canonical_sql is not configured (set it in [tool.b03lint] or pass "
                    "--canonical-sql)")
        return 2
    to_stdout = args.output is not None and str(args.output) == "-"
    target: Path | None = None if to_stdout else (args.output or config.path("canonical_yaml"))
    if target is None and not to_stdout:
        print_error("canonical_yaml is not configured: set it in [tool.b03lint], or pass "
                    "-o FILE (-o - for standard output)")
        return 2
    source = target if target is not None and target.is_file() else \
        config.path("canonical_yaml")
    shown_out = display_path(target) if target is not None else "<stdout>"
    text = yaml_mirror(config, sql_path, source, shown_out)
    if text is None:
        return 2
    if target is None:
        sys.stdout.write(text)
        return 0
    try:
        unchanged = target.is_file() and target.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        unchanged = False
    if not unchanged:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            print_error(f"cannot write: {exc.strerror}", shown_out)
            return 2
    print(f"{shown_out}: {'unchanged' if unchanged else 'written'} "
          f"(canonical YAML of {display_path(sql_path)})")
    return 0


def _hash(args: argparse.Namespace) -> int:
    from b03lint.paths import display_path
    from b03lint.schema.canonical import sha256_of

    config = chain_config(args)
    code = 0
    printed = 0
    for key in ("canonical_sql", "canonical_yaml"):
        path = config.path(key)
        if path is None:
            continue
        shown = display_path(path)
        try:
            digest = sha256_of(path)
        except OSError as exc:
            print_error(f"cannot read {key}: {exc.strerror or exc}", shown)
            code = 2
            continue
        print(f"{digest}  {shown}")
        printed += 1
    if not printed and code == 0:
        print_error("neither canonical_sql nor canonical_yaml is configured")
        return 2
    return code


def run(args: argparse.Namespace) -> int:
    if args.action == "export":
        return _export(args)
    return _hash(args)
