"""Rules checked on the source text: YAML only through the safe loader, no subprocess given a shell,
no ``ipc://`` endpoints (Shadow cannot do them)."""

from __future__ import annotations

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
