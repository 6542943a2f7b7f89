"""Rules checked on the source text: YAML only through the safe loader, no subprocess given a shell,
no ``ipc://`` endpoints (Shadow cannot do them), each vocabulary (``Literal``) defined once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("monerosim_actors", "actors", "coordination", "bench")
FORBIDDEN = {
    "yaml.load without the safe loader": re.compile(r"yaml\.load\((?![^)]*Loader=(yaml\.)?C?SafeLoader)"),
    "yaml.unsafe_load": re.compile(r"\bunsafe_load\b|\bfull_load\b|\bFullLoader\b|\bUnsafeLoader\b"),
    "yaml.Loader (unsafe)": re.compile(r"\byaml\.(C?Loader|load_all)\b"),
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "os.system": re.compile(r"\bos\.system\("),
    "os.popen": re.compile(r"\bos\.popen\("),
    "ipc://": re.compile(r"ipc://"),
}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def _violations(text: str) -> list[str]:
    """Lines breaking a rule; comments and ````literals```` of docstrings (prose that names a rule,
    e.g. "never ``ipc://``") are not code."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        code = re.sub(r"``[^`]*``", "", line.split("#", 1)[0])
        found += [f"{n}: {rule}: {line.strip()}" for rule, pattern in FORBIDDEN.items() if pattern.search(code)]
    return found


def test_sources_exist() -> None:
    assert len(_sources()) > 30


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_unsafe_yaml_no_shell_no_ipc(path: Path) -> None:
    assert not _violations(path.read_text(encoding="utf-8")), _violations(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("line", [
    "data = yaml.load(text)", "yaml.load(f, Loader=yaml.Loader)", "yaml.unsafe_load(s)",
    "yaml.full_load(s)", "subprocess.run(cmd, shell=True)", "subprocess.Popen(c, shell = True)",
    "os.system('rm -rf /')", "os.popen('ls')", 'sock.bind("ipc:///tmp/x")'])
def test_the_rules_catch_what_they_are_meant_to(line: str) -> None:
    assert _violations(line)


@pytest.mark.parametrize("line", ["yaml.load(text, Loader=yaml.SafeLoader)", "yaml.safe_load(text)",
                                  "yaml.compose(text, Loader=_Loader)", "subprocess.run([python, '-c', x])"])
def test_the_rules_let_safe_code_pass(line: str) -> None:
    assert not _violations(line)


def _literal_sets(text: str) -> list[tuple[frozenset[object], int]]:
    """Every vocabulary a module defines: each ``Literal[...]`` and each module-level tuple of two or more
    strings (``BACKENDS = ("local", "shadow")``), as its set of words and its line."""
    tree = ast.parse(text)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            found.append((frozenset(ast.literal_eval(item) for item in items), node.lineno))
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if (isinstance(value, ast.Tuple) and len(value.elts) > 1
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)):
            found.append((frozenset(ast.literal_eval(value)), node.lineno))
    return found


def test_each_vocabulary_is_defined_once() -> None:
    """A closed set of words (the topology kinds, the block schedules, the backends, ...) is one
    ``Literal`` that the other modules import, so that adding a word cannot miss a module."""
    where: dict[frozenset[object], list[str]] = {}
    for path in _sources():
        for values, line in _literal_sets(path.read_text(encoding="utf-8")):
            where.setdefault(values, []).append(f"{path.relative_to(REPO)}:{line}")
    restated = {tuple(sorted(map(str, values))): places for values, places in where.items() if len(places) > 1}
    assert not restated, restated


def test_a_restated_vocabulary_is_found() -> None:
    text = 'A = Literal["x", "y"]\nB = Literal["y", "x"]\nC = Literal["z"]\nD = ("x", "z")\nE = ("x",)\n'
    found = [values for values, _ in _literal_sets(text)]
    assert found == [frozenset("xy"), frozenset("xy"), frozenset("z"), frozenset("xz")]
