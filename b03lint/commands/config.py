"""`b03lint config`: the effective configuration, and where each value came from."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from b03lint.commands.common import add_project_arguments, project_config

HELP = "print the effective configuration and where each value came from"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_project_arguments(p)
    p.add_argument("--output-format", choices=("text", "json"), default="text")


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}"
                                for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if value is None:
        return "# (not set)"
    return json.dumps(value)


def run(args: argparse.Namespace) -> int:
    from b03lint.engine import RuleSet
    from b03lint.rules import registry as rules_registry

    config = project_config(args)
    # the rule codes of select/ignore/per-file-ignores/severity/options must name rules
    try:
        registry = rules_registry.build_registry(config)
        RuleSet.from_config(registry, config)
    except rules_registry.RegistryError as exc:
        print(exc.to_error(), file=sys.stderr)
        return 2
    except (KeyError, ValueError) as exc:
        where = f"{config.pyproject}: " if config.pyproject else ""
        print(f"{where}error: configuration: {exc.args[0] if exc.args else exc}",
              file=sys.stderr)
        return 2
    rows = config.describe()
    envs = config.environments()
    if args.output_format == "json":
        doc = {"pyproject": str(config.pyproject) if config.pyproject else None,
               "root": str(config.root),
               "values": {k: {"value": v, "source": src} for k, v, src in rows},
               "chains": [e.to_json() for e in envs]}
        print(json.dumps(doc, indent=2))
        return 0
    print(f"# configuration file: {config.pyproject or '(none found; defaults)'}")
    print(f"# project root: {config.root}")
    print("[tool.b03lint]")
    cells = [(f"{k} = {_toml(v)}" if v is not None else f"# {k} (not set)", src)
             for k, v, src in rows]
    width = min(max(len(c) for c, _ in cells), 60)
    for text, src in cells:
        print(f"{text:<{width}}  # {src}")
    from b03lint.paths import display_path

    print(f"# {len(envs)} chain(s), each checked with its own revision graph:")
    for e in envs:
        folders = ", ".join(display_path(f) for f in e.folders)
        nested = "with sub-folders" if e.recursive else "without sub-folders"
        print(f"#   {e.name}: {folders} ({nested}; from {e.source})")
        for key, value in e.settings.items():
            print(f"#     {key} = {_toml(value)}")
    return 0
