"""Scenario files, valid and broken, thrown at ``validate`` and ``gen``: never a traceback (exit 0 or 2,
a message on stderr), and a refused scenario never leaves files behind.

The examples start from the scenarios in ``configs/`` and mutate them: as data (wrong types, missing
and extra keys, negative, huge and odd values, unicode) and as text (cut, spliced, YAML syntax
characters and random bytes inserted), plus hand-written nasty documents (alias bombs, recursive
aliases, unsafe tags, deep nesting, non-UTF-8 bytes), in-process for speed and a few through the
real ``monerosim-actors`` process.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.fuzz_helpers import FUZZ, check_validate_and_gen, files_under

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
SEED_TEXTS = {p.name: p.read_text() for p in sorted(CONFIGS.glob("*.yaml"))}
SEED_DOCS = {name: yaml.safe_load(text) for name, text in SEED_TEXTS.items()}
SIDE_FILES = [p for p in CONFIGS.iterdir() if p.suffix != ".yaml"]
"""Files the scenarios refer to (the GML graph), copied next to every mutated scenario."""
MEMORY_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
"""Examples write thousands of small files: in memory the busy shared disk does not set the pace."""

ODD_STRINGS = ["", " ", "..", "../../etc/passwd", "/", "a/b", "-rf", "--rpc-bind-ip=0.0.0.0", "ünïcødé",
               "日本語", "☃", "A" * 300, "1e400", "-5", "-1 s", "10 parsecs", "1e9 h", "0x10", "nan",
               ".inf", "\x00", "line\nbreak", "null", "~", "yes", "100 Mbit", "-100 Mbit",
               "block_controller", "BLOCK-CONTROLLER", "pool_alpha", "Pool_Alpha", "pool-alpha",
               "exponential", "regions", "gml", "switch", "shadow", "sys:exit", "os:system"]


def _keys(value: Any) -> Iterator[str]:
    """Every mapping key in a document (mutations reuse them so that extra keys look plausible)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


KNOWN_KEYS = sorted({k for doc in SEED_DOCS.values() for k in _keys(doc)})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 2, 10**6, 10**9, 2**32, 2**63, -(2**63)]),
    st.floats(), st.text(max_size=20), st.sampled_from(ODD_STRINGS))
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated_docs(draw: st.DrawFn) -> Any:
    """A scenario from configs/ with one to three mutations of its data."""
    doc = copy.deepcopy(SEED_DOCS[draw(st.sampled_from(sorted(SEED_DOCS)))])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add_key", "rename_key"]))
        if not path:
            doc = draw(values) if op == "replace" else doc
            continue
        parent, key = _at(doc, path[:-1]), path[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "delete":
            del parent[key]
        elif op == "add_key" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=12))] = draw(values)
        elif op == "add_key":
            parent.append(draw(values))
        elif isinstance(parent, dict):
            new = draw(st.sampled_from(KNOWN_KEYS) | st.text(min_size=1, max_size=12))
            parent[new] = parent.pop(key)
    return doc


YAML_BITS = [":", ": ", "-", "- ", "&a ", "*a", "!!python/object:os.system ", "!!binary ", "!!set ", "!x ",
             "{", "}", "[", "]", "'", '"', "\t", "\n", "#", "<<: ", "%YAML 1.1\n", "|", ">", "? ", "---\n",
             "\ufeff", "\x00", "\u2028", "é", "1e400", "-9999999999999999999999"]


@st.composite
def mutated_texts(draw: st.DrawFn) -> bytes:
    """A scenario file from configs/ with its text cut, spliced or sprinkled with YAML syntax."""
    text = SEED_TEXTS[draw(st.sampled_from(sorted(SEED_TEXTS)))]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "truncate", "duplicate"]))
        if op == "insert":
            text = text[:at] + draw(st.sampled_from(YAML_BITS) | st.text(max_size=5)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif op == "truncate":
            text = text[:at]
        else:
            end = min(len(text), at + draw(st.integers(1, 200)))
            text = text[:end] + text[at:end] + text[end:]
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    return raw


def _laughs(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nsimulation: {{duration: *l{levels - 1}}}\n"


NASTY: dict[str, bytes] = {
    "billion_laughs": _laughs(9, 10).encode(),
    "recursive_alias": b"simulation: &a {duration: [*a]}\nnetwork: *a\n",
    "recursive_merge": b"a: &a {<<: *a}\n",
    "python_object_tag": b"!!python/object/apply:os.system ['touch PWNED']\n",
    "python_tag_in_value": b"simulation: {duration: !!python/object/apply:os.system ['touch PWNED']}\n",
    "custom_tag_on_mapping": b"simulation: !thing {duration: 1}\n",
    "set_tag": b"simulation: !!set {duration: null}\n",
    "binary_value": b"simulation: {duration: !!binary aGVsbG8=}\nnetwork: {agents: {mining_pools: []}}\n",
    "timestamp_value": b"simulation: {duration: 2001-12-14t21:59:43.10-05:00}\n",
    "deep_lists": b"[" * 5000 + b"]" * 5000,
    "deep_maps": ("".join(" " * i + "a:\n" for i in range(200))).encode(),
    "tabs": b"simulation:\n\tduration: 1\n",
    "two_documents": b"simulation: {duration: 60}\n---\nnetwork: {}\n",
    "yaml_directive": b"%YAML 9.9\n---\nsimulation: {duration: 60}\n",
    "empty": b"",
    "only_a_comment": b"# nothing here\n",
    "null_document": b"~\n",
    "a_list": b"- simulation\n- network\n",
    "a_scalar": b"hello\n",
    "latin1": "simulation: {duration: 60}\n# caf\u00e9\n".encode("latin-1"),
    "utf16": "simulation: {duration: 60}\n".encode("utf-16"),
    "nul_bytes": b"simulation:\x00 {duration: 60}\n",
    "random_binary": bytes(range(256)) * 4,
    "huge_count": b"simulation: {duration: 60}\nnetwork: {agents: {regular_users: {count: 1000000000},"
                  b" marketplaces: {count: 1}, mining_pools: [{id: p, hashrate_share: 1}]}}\n",
    "huge_custom_count": b"simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: p, hashrate_share: 1}],"
                         b" custom: [{name: c, class: regular_user, count: 99999999999999999999}]}}\n",
    "trailing_newline_id": b'simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: "pool\\n",'
                           b' hashrate_share: 1}]}}\n',
    "dot_dot_id": b"simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: ../../x, hashrate_share: 1}]}}\n",
    "gml_file_escape": b"simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: p, hashrate_share: 1}]},"
                       b" topology: {type: gml, file: /etc/passwd}}\n",
    "gml_file_nul": b'simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: p, hashrate_share: 1}]},'
                    b' topology: {type: gml, file: "a\\0b"}}\n',
    "binary_nul": b'simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: p, hashrate_share: 1}]}}\n'
                  b'monero: {monerod: "/usr/bin/\\0monerod"}\n',
    "role_class_newline": b'simulation: {duration: 60}\nnetwork: {agents: {mining_pools: [{id: p, hashrate_share: 1}],'
                          b' custom: [{name: c, class: "monerosim_actors.actors.regular_user:RegularUser\\n", count: 1}]}}\n',
}
"""Hand-written inputs that each once broke a loader somewhere; all must be refused with exit 2."""


@contextlib.contextmanager
def scenario_dir() -> Iterator[Path]:
    """A fresh folder holding the scenario's side files, also the working directory meanwhile (so a
    relative write by mistake would show up in it)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-scenario-", dir=MEMORY_DIR) as tmp:
        root = Path(tmp)
        for side in SIDE_FILES:
            shutil.copy(side, root / side.name)
        with contextlib.chdir(root):
            yield root


def check_bytes(raw: bytes) -> int:
    with scenario_dir() as root:
        scenario = root / "scenario.yaml"
        scenario.write_bytes(raw)
        return check_validate_and_gen(root, scenario).code


@pytest.mark.parametrize("name", sorted(SEED_TEXTS))
def test_the_example_configs_pass(name: str) -> None:
    """The seeds themselves pass (otherwise every mutation would be refused and prove little)."""
    assert check_bytes(SEED_TEXTS[name].encode()) == 0


@settings(FUZZ, max_examples=100)
@given(doc=mutated_docs())
def test_mutated_scenarios_exit_0_or_2_and_leave_nothing_when_refused(doc: Any) -> None:
    check_bytes(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode())


@settings(FUZZ, max_examples=100)
@given(raw=mutated_texts())
def test_mutated_texts_exit_0_or_2_and_leave_nothing_when_refused(raw: bytes) -> None:
    check_bytes(raw)


@settings(FUZZ, max_examples=25)
@given(raw=st.binary(max_size=300))
def test_random_bytes_are_refused(raw: bytes) -> None:
    check_bytes(raw)


@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_documents_are_refused_with_a_message(name: str) -> None:
    assert check_bytes(NASTY[name]) == 2


@pytest.mark.parametrize("name", ["billion_laughs", "python_object_tag", "trailing_newline_id"])
@pytest.mark.parametrize("stage", ["validate", "gen"])
def test_nasty_documents_through_the_real_command(tmp_path: Path, name: str, stage: str) -> None:
    """The installed command line: exit 2, one clear message naming the file, no traceback, no OUT."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_bytes(NASTY[name])
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "monerosim_actors", stage, str(scenario)] + (["-o", str(out)] if stage == "gen" else [])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), check=False)
    assert result.returncode == 2, result
    assert result.stderr.startswith(f"monerosim-actors {stage}: {scenario}"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert files_under(tmp_path) == {"scenario.yaml"}
