"""The guide cannot rot: the site builds with warnings as errors (broken links, pages left out of
the index), the scenario reference names every key the scenario reader knows and no other, and the
commands the docs show that run in seconds print what the docs say they print."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monerosim_actors.scenario import checks
from monerosim_actors.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCENARIOS_FOR_KEYS = [*sorted((ROOT / "configs").glob("*.yaml")), ROOT / "tests" / "outside_roles" / "tippers.yaml"]
"""Scenarios that together use every section of the reader (list items are read only when present)."""


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=os.path.dirname(sys.executable)) or shutil.which("mkdocs")
    if mkdocs is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs is not installed: scripts/setup.sh installs it with the test extra")
        pytest.skip("mkdocs is not installed (pip install -e '.[test]')")
    done = subprocess.run([mkdocs, "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    built = {p.relative_to(DOCS).as_posix() for p in DOCS.glob("*.md")}
    assert {f"{Path(p).stem}/index.html" if p != "index.md" else "index.html" for p in built} <= {
        p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("index.html")}


def _known_keys(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """(parent, key) of every key the reader accepts, as it reads the scenarios above."""
    known: set[tuple[str, str]] = set()
    real = checks.Checker.mapping

    def recording(self: checks.Checker, value: object, path: checks.Path, keys: object, **kwargs: object) -> object:
        keys = list(keys)  # type: ignore[call-overload]
        parent = next((str(p) for p in reversed(path) if not isinstance(p, int)), "")
        known.update((parent, str(k)) for k in keys)
        return real(self, value, path, keys, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checks.Checker, "mapping", recording)
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "outside_roles"))
    for scenario in SCENARIOS_FOR_KEYS:
        load_scenario(scenario)
    return known


def _documented_keys() -> list[str]:
    """The key column of the scenario reference: every code span in each row's first cell."""
    keys = []
    for line in (DOCS / "scenarios.md").read_text().splitlines():
        if line.startswith("| `"):
            keys += re.findall(r"`([^`]+)`", line.split("|")[1])
    return keys


def _parent_and_key(documented: str) -> tuple[str, str]:
    parts = [p for p in documented.replace("...", "").replace("[]", "").split(".") if p]
    return (parts[-2] if len(parts) > 1 else "", parts[-1])


def test_the_scenario_reference_is_the_readers_keys_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    known = _known_keys(monkeypatch)
    documented = [d for d in _documented_keys() if not d.endswith(".*")]
    wildcards = {_parent_and_key(d[:-2])[1] for d in _documented_keys() if d.endswith(".*")}
    pairs = {_parent_and_key(d) for d in documented}
    bare = {d for d in documented if "." not in d.replace("...", "")}  # `remote_node` beside `...node`
    containers = {segment for d in _documented_keys() for segment in
                  d.replace("...", "").replace("[]", "").split(".")[:-1]}
    undocumented = sorted(f"{p}.{k}" if p else k for p, k in known
                          if (p, k) not in pairs and k not in bare and k not in containers and p not in wildcards)
    assert not undocumented, f"keys the reader accepts that docs/scenarios.md does not name: {undocumented}"
    known_keys = {k for _, k in known}
    unknown = sorted(d for d in documented if _parent_and_key(d) not in known and _parent_and_key(d)[1] not in known_keys)
    assert not unknown, f"keys docs/scenarios.md names that the reader does not accept: {unknown}"


def _shown_commands() -> list[tuple[str, str, str]]:
    """``(page, command, output)`` of every ``console`` block of the guide: ``$ command`` lines, each
    followed by the lines it prints."""
    found = []
    for page in sorted([*DOCS.glob("*.md"), ROOT / "README.md"]):
        for indent, block in re.findall(r"^( *)```console\n(.*?)^ *```", page.read_text(), flags=re.S | re.M):
            command, output = None, []
            for line in (line[len(indent):] for line in block.splitlines()):
                if line.startswith("$ "):
                    if command is not None:
                        found.append((page.name, command, "\n".join(output)))
                    command, output = line[2:], []
                else:
                    output.append(line)
            if command is not None:
                found.append((page.name, command, "\n".join(output)))
    return found


@pytest.mark.parametrize("page, command, output", _shown_commands(), ids=lambda v: str(v)[:60])
def test_a_command_the_docs_show_prints_what_they_say(page: str, command: str, output: str,
                                                      tmp_path: Path) -> None:
    words = command.split()
    assert words[0] == "monerosim-actors", f"{page}: only monerosim-actors commands are shown as console blocks"
    words = [w.replace("OUT", str(tmp_path / "out")) for w in words]
    done = subprocess.run([sys.executable, "-m", "monerosim_actors", *words[1:]], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    printed = (done.stdout + done.stderr).replace(str(tmp_path / "out"), "OUT")
    for line in output.splitlines():
        if line.strip() and line.strip() != "...":
            assert line.rstrip() in printed, f"{page}: `{command}` no longer prints:\n{line}\nit printed:\n{printed}"
