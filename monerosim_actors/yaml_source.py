"""Load a YAML file with the safe loader and remember the line of every key and value.

PyYAML's ``safe_load`` forgets where things were, and a user needs ``file:line`` to act on a
problem. So the file is *composed* (parsed into nodes, each with a start mark) with the safe loader,
and the node tree is turned into plain Python values here, recording the line of each key path on
the way. Only the safe loader's tags are constructed (anchors, aliases and ``<<`` merges work);
duplicate keys, where PyYAML silently lets the last one win, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
"""A key path: mapping keys and list indexes, e.g. ``("network", "agents", "mining_pools", 1)``."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        src.data = _build(node, (), src, yaml.constructor.SafeConstructor())
    except yaml.constructor.ConstructorError as e:
        mark = e.problem_mark
        raise YamlSyntaxError(f"not valid YAML: {e.problem}", mark.line + 1 if mark else None) from e
    return src


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _build(node: yaml.Node, path: Path, src: Source, ctor: yaml.constructor.SafeConstructor) -> Any:
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in (_MAP_TAG, _SEQ_TAG):
        raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag!r} is not allowed",
                                                node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                value = _build(value_node, path, src, ctor)
                merged += value if isinstance(value, list) else [value]
                continue
            if isinstance(key_node, yaml.ScalarNode):
                raw = ctor.construct_object(key_node)
                key = raw if isinstance(raw, str) else str(raw)
            else:
                key = "<complex key>"
            child = path + (key,)
            if key in out:
                src.duplicates.append((child, key_node.start_mark.line + 1))
            src.lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, src, ctor)
        for base in merged:
            if not isinstance(base, dict):
                raise yaml.constructor.ConstructorError(None, None, "'<<' merges only mappings",
                                                        node.start_mark)
            for key, value in base.items():
                out.setdefault(key, value)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            src.lines[path + (i,)] = item.start_mark.line + 1
            items.append(_build(item, path + (i,), src, ctor))
        return items
    return ctor.construct_object(node)
