"""Load a YAML file with the safe loader and remember the line of every key and value.

PyYAML's ``safe_load`` forgets where things were, and a user needs ``file:line`` to act on a
problem. So the file is *composed* (parsed into nodes, each with a start mark) with the safe loader,
and the node tree is turned into plain Python values here, recording the line of each key path on
the way. Only the safe loader's tags are constructed (anchors, aliases and ``<<`` merges work);
duplicate keys, where PyYAML silently lets the last one win, are reported.

The file is untrusted input: an alias that contains itself, nesting deeper than
:data:`MAX_DEPTH` and documents that expand (through aliases) to more than :data:`MAX_NODES` values
(a "billion laughs" bomb) are refused as :class:`YamlSyntaxError`, never a RecursionError or a hang.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
"""A key path: mapping keys and list indexes, e.g. ``("network", "agents", "mining_pools", 1)``."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
"""Nesting levels a scenario may have (it needs fewer than ten)."""
MAX_NODES = 50_000
"""Values a document may expand to, aliases counted each time they are used."""


def format_path(path: Path) -> str:
    """``("network", "agents", "mining_pools", 1, "id")`` -> ``network.agents.mining_pools[1].id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Source:
    """A loaded YAML document: its data and the 1-based line of every key path in it."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int]] = field(default_factory=list)
    """Keys given twice in one mapping: (path, line of the repeat)."""

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that is in the file (None for none)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


class YamlSyntaxError(Exception):
    """The text is not YAML; ``line`` is 1-based (None when PyYAML gives no position)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def load_text(text: str) -> Source:
    """Parse YAML text into a :class:`Source`.

    Raises:
        YamlSyntaxError: the text is not (safe) YAML.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(f"not valid YAML: {e.problem or e}", line) from e
    except yaml.YAMLError as e:
        raise YamlSyntaxError(f"not valid YAML: {e}", None) from e
    src = Source(data=None)
    if node is None:
        return src
    src.lines[()] = node.start_mark.line + 1
    try:
        src.data = _Builder(src).build(node, ())
    except yaml.constructor.ConstructorError as e:
        mark = e.problem_mark
        raise YamlSyntaxError(f"not valid YAML: {e.problem}", mark.line + 1 if mark else None) from e
    return src


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Builder:
    """Turns composed nodes into values, refusing cycles, deep nesting and alias bombs."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.ctor = yaml.constructor.SafeConstructor()
        self.open: set[int] = set()
        """ids of the nodes being built (an alias to one of them is a cycle)."""
        self.count = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _refuse(f"the document expands to more than {MAX_NODES} values (aliases counted "
                          "each time they are used)", node)
        if len(path) > MAX_DEPTH:
            raise _refuse(f"nested deeper than {MAX_DEPTH} levels", node)
        if id(node) in self.open:
            raise _refuse("an alias refers to a node that contains it", node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in (_MAP_TAG, _SEQ_TAG):
            raise _refuse(f"the tag {node.tag!r} is not allowed", node)
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self.ctor.construct_object(node)
        self.open.add(id(node))
        try:
            return self._mapping(node, path) if isinstance(node, yaml.MappingNode) else self._sequence(node, path)
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        src = self.src
        out: dict[str, Any] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                value = self.build(value_node, path)
                merged += value if isinstance(value, list) else [value]
                continue
            if isinstance(key_node, yaml.ScalarNode):
                raw = self.ctor.construct_object(key_node)
                key = raw if isinstance(raw, str) else str(raw)
            else:
                key = "<complex key>"
            child = path + (key,)
            if key in out:
                src.duplicates.append((child, key_node.start_mark.line + 1))
            src.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child)
        for base in merged:
            if not isinstance(base, dict):
                raise _refuse("'<<' merges only mappings", node)
            for key, value in base.items():
                out.setdefault(key, value)
        return out

    def _sequence(self, node: yaml.SequenceNode, path: Path) -> list[Any]:
        items = []
        for i, item in enumerate(node.value):
            self.src.lines[path + (i,)] = item.start_mark.line + 1
            items.append(self.build(item, path + (i,)))
        return items


def _refuse(problem: str, node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
