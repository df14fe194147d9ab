"""Arguments shared by the commands that read a project."""

from __future__ import annotations

import argparse
from pathlib import Path

from b03lint.config import Config, load_config

#: flag -> config key
PATH_FLAGS = {
    "--migrations": "migrations",
    "--canonical-sql": "canonical_sql",
    "--canonical-yaml": "canonical_yaml",
    "--drift-register": "drift_register",
    "--adr-dir": "adr_dir",
}


def add_project_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PYPROJECT", type=Path,
                   help="pyproject.toml to read [tool.b03lint] from "
                        "(default: the nearest one with that table, walking up)")
    for flag, key in PATH_FLAGS.items():
        p.add_argument(flag, dest=key, metavar="PATH", help=f"override `{key}`")


def project_config(args: argparse.Namespace) -> Config:
    config = load_config(explicit=args.config)
    for flag, key in PATH_FLAGS.items():
        value = getattr(args, key, None)
        if value is not None:
            # flags are relative to the working directory, not to the config's folder
            config.set(key, str(Path(value).resolve()), f"flag {flag}")
    return config


def write_output(text: str, output: Path | None) -> bool:
    """Write ``text`` to ``output``, or to standard output when None. False (with the
    error printed as ``path: error: ...``) when the file cannot be written."""
    import sys

    if output is None:
        sys.stdout.write(text)
        return True
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"{output}: error: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True
