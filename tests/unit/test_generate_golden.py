"""Golden files: each scenario in ``configs/`` generates exactly the files kept in ``tests/golden/gen/``.

Kept per config: ``shadow.yaml``, ``plan.json``, ``network.gml`` (when generated) and the host configs
of the two services and of the first host of every role (``plan.json`` holds every host anyway).
Machine-specific absolute paths are replaced before comparing: the output folder by ``$OUT``, the
Python interpreter by ``$PYTHON`` and the repository by ``$REPO``.

When a change to the output is intended, regenerate them and review the diff:

    MONEROSIM_REGEN_GOLDEN=1 .venv/bin/pytest tests/unit/test_generate_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from monerosim_actors import defaults
from monerosim_actors.shadow.write import write_output
from monerosim_actors.plan.model import Plan
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.randomx import share as randomx_share
from monerosim_actors.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "gen"
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
REGENERATE = os.environ.get("MONEROSIM_REGEN_GOLDEN") == "1"


def _kept_files(plan: Plan) -> list[str]:
    first_of_role: dict[str, str] = {}
    for host in plan.hosts:
        first_of_role.setdefault(host.role, host.name)
    names = [defaults.SHADOW_FILE, defaults.PLAN_FILE]
    if plan.network.gml is not None:
        names.append(defaults.GML_FILE)
    return names + [f"{defaults.HOSTS_DIR}/{name}.json" for name in first_of_role.values()]


def _normalised(text: str, out: Path, python: str) -> str:
    return (text.replace(str(out), "$OUT").replace(python, "$PYTHON").replace(str(REPO), "$REPO")
            .replace(str(randomx_share.files_dir()), "$RANDOMX_FILES"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_generated_files_match_the_golden_ones(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = build_plan(load_scenario(config), out_dir=str(out))
    write_output(plan, str(out))
    expected_dir = GOLDEN / config.stem
    kept = _kept_files(plan)
    if REGENERATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for name in kept:
            target = expected_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_normalised((out / name).read_text(), out, plan.binaries.python))
        return
    assert expected_dir.is_dir(), f"no golden files for {config.name}; run with MONEROSIM_REGEN_GOLDEN=1"
    stored = sorted(str(p.relative_to(expected_dir)) for p in expected_dir.rglob("*") if p.is_file())
    assert stored == sorted(kept)
    for name in kept:
        actual = _normalised((out / name).read_text(), out, plan.binaries.python)
        assert actual == (expected_dir / name).read_text(), f"{config.stem}/{name} differs from the golden file"
