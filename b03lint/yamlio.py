"""Strict YAML for b03lint's own files (canonical YAML, drift register, rule files).

Values come back as plain Python data plus a line for every mapping key and sequence item,
so an error can name file, line and the path inside the document
(``tables.dead_events.columns[3].type``). Aliases and anchors are refused: they are what a
"billion laughs" document is built from, and none of our formats needs them. The C loader
is used when PyYAML has it. PyYAML itself is imported by the first :func:`parse` (12 ms):
a project without YAML files never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml


class YamlError(Exception):
    def __init__(self, message: str, path: str, line: int | None = None, where: str = ""):
        super().__init__(message)
        self.path = path
        self.line = line
        self.where = where

    def __str__(self) -> str:
        inside = f" (at {self.where})" if self.where else ""
        return f"{self.args[0]}{inside}"


@dataclass
class Node:
    """A YAML value with its position: ``value`` is a str/int/float/bool/None, a
    ``dict[str, Node]`` or a ``list[Node]``."""

    value: Any
    line: int
    where: str

    def plain(self) -> Any:
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def loader_class() -> Any:
    """PyYAML's C safe loader when it was built with libyaml, else the pure one."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def __getattr__(name: str) -> Any:
    if name == "_Loader":  # the loader, named as before PyYAML was imported lazily
        return loader_class()
    raise AttributeError(name)


def parse(text: str, path: str, max_bytes: int = 20_000_000) -> Node:
    if len(text) > max_bytes:
        raise YamlError(f"file is larger than {max_bytes} bytes", path)
    import yaml

    _Loader = loader_class()
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise YamlError("YAML anchors and aliases are not allowed in this file", path,
                                mark.line + 1 if mark else None)
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            return Node(None, 1, "")
        # constructing scalars can fail too (an unknown tag, a ``<<`` merge key)
        return _convert(root, path, "", _Loader(""))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(f"invalid YAML: {exc.problem or exc}", path,
                        mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, ...)
        line = text.count("\n", 0, exc.position) + 1 if exc.position is not None else None
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        raise YamlError(f"invalid YAML: {exc.reason} ({shown})", path, line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", path) from None


#: deepest nesting of mappings and lists accepted (our formats need a handful of levels;
#: a deeper document is refused before it can exhaust the interpreter's stack)
MAX_DEPTH = 64


def _convert(node: yaml.Node, path: str, where: str, loader: Any, depth: int = 0) -> Node:
    import yaml

    line = node.start_mark.line + 1
    if depth > MAX_DEPTH:
        raise YamlError(f"the document is nested more than {MAX_DEPTH} levels deep", path,
                        line, where if len(where) <= 60 else where[:57] + "...")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlError("YAML merge keys (<<) are not allowed in this file", path,
                                key_node.start_mark.line + 1, where)
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("a mapping key must be a plain value, not a list or mapping",
                                path, key_node.start_mark.line + 1, where)
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", path, key_node.start_mark.line + 1,
                                where)
            child = f"{where}.{key}" if where else key
            converted = _convert(value_node, path, child, loader, depth + 1)
            # a mapping entry is located at its key, where an author looks for it
            out[key] = Node(converted.value, key_node.start_mark.line + 1, child)
        return Node(out, line, where)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, path, f"{where}[{i}]", loader, depth + 1)
                     for i, item in enumerate(node.value)], line, where)
    return Node(loader.construct_object(node, deep=True), line, where)


class Reader:
    """Typed access to a parsed document with precise errors."""

    def __init__(self, path: str):
        self.path = path

    def error(self, node: Node, message: str) -> YamlError:
        return YamlError(message, self.path, node.line, node.where)

    def mapping(self, node: Node, *, required: tuple[str, ...] = (),
                optional: tuple[str, ...] = ()) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            raise self.error(node, f"expected a mapping, found {_kind(node.value)}")
        allowed = set(required) | set(optional)
        for key, child in node.value.items():
            if key not in allowed:
                raise self.error(child, f"unknown key {key!r} (expected one of: "
                                        f"{', '.join(sorted(allowed))})")
        for key in required:
            if key not in node.value:
                raise self.error(node, f"missing required key {key!r}")
        return dict(node.value)

    def sequence(self, node: Node) -> list[Node]:
        if not isinstance(node.value, list):
            raise self.error(node, f"expected a list, found {_kind(node.value)}")
        return list(node.value)

    def string(self, node: Node, *, allow_none: bool = False) -> str:
        if node.value is None and allow_none:
            return ""
        if isinstance(node.value, bool) or not isinstance(node.value, str | int | float):
            raise self.error(node, f"expected a string, found {_kind(node.value)}")
        return str(node.value)

    def optional_string(self, node: Node | None) -> str | None:
        if node is None or node.value is None:
            return None
        return self.string(node)

    def boolean(self, node: Node) -> bool:
        if not isinstance(node.value, bool):
            raise self.error(node, f"expected true or false, found {_kind(node.value)}")
        return node.value

    def integer(self, node: Node) -> int:
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.error(node, f"expected an integer, found {_kind(node.value)}")
        return node.value

    def strings(self, node: Node | None) -> tuple[str, ...]:
        if node is None or node.value is None:
            return ()
        return tuple(self.string(n) for n in self.sequence(node))

    def choice(self, node: Node, choices: tuple[str, ...]) -> str:
        value = self.string(node)
        if value not in choices:
            raise self.error(node, f"expected one of {', '.join(choices)}, found {value!r}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
