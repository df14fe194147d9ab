"""Arguments shared by the commands that read a project."""

from __future__ import annotations

import argparse
from pathlib import Path

from b03lint.config import Config, ConfigError, load_config

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
    p.add_argument("--env", action="append", default=[], metavar="NAME",
                   help="the environment (chain) to read, when the project has several "
                        "(`b03lint config` lists them)")


def project_config(args: argparse.Namespace) -> Config:
    config = load_config(explicit=args.config)
    for flag, key in PATH_FLAGS.items():
        value = getattr(args, key, None)
        if value is None:
            continue
        # flags are relative to the working directory, not to the config's folder
        value = str(Path(value).resolve())
        tables = config.get("environments")
        if key == "migrations" and tables:
            # --migrations replaces the folders of one environment (and keeps its settings)
            names = list(getattr(args, "env", None) or [])
            if len(tables) > 1 and len(names) != 1:
                raise ConfigError("--migrations gives the folder of one chain, and the "
                                  f"project has {len(tables)} environments: choose which "
                                  "with --env NAME")
            chosen = names[0] if names else tables[0]["name"]
            config.set("environments", [
                {**{k: v for k, v in t.items() if k not in ("alembic_section", "alembic_ini")},
                 "migrations": value} if t["name"] == chosen else t for t in tables],
                f"flag {flag} (environment {chosen})")
            continue
        config.set(key, value, f"flag {flag}")
    return config


def chain_config(args: argparse.Namespace) -> Config:
    """The configuration of the one chain a command reads: ``--env NAME``, or the only
    environment (several without ``--env`` is an error that lists them)."""
    names = list(getattr(args, "env", None) or [])
    if len(names) > 1:
        raise ConfigError("this command reads one environment: give --env once")
    return project_config(args).chain(names[0] if names else None)


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
