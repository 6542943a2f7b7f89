"""A role that lives outside the project, under a real Shadow: the tippers (``tests/outside_roles/``),
found through ``PYTHONPATH`` at ``validate`` and, through the ``PYTHONPATH`` gen writes into
``shadow.yaml``, on every simulated host. Their messages to each other (``talks_to: [tipper]``) must
arrive, never sooner than the path between the two tippers allows, and show in the report.
Skipped where ``shadow`` is not on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.shadow.test_examples_under_shadow import ROOT, SHADOW, SHADOW_SKIP_REASON

pytestmark = [pytest.mark.shadow, pytest.mark.e2e, pytest.mark.skipif(SHADOW is None, reason=SHADOW_SKIP_REASON)]

OUTSIDE = ROOT / "tests" / "outside_roles"
TIPPERS = {"tipper-0", "tipper-1", "tipper-2"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monerosim_actors", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(OUTSIDE)}, capture_output=True, text=True, check=False)


@pytest.mark.timeout(1800)
def test_tippers_from_outside_the_project_tell_each_other_under_shadow(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    out = tmp_path / "tippers"
    ran = _cli("run", str(OUTSIDE / "tippers.yaml"), "-o", str(out), "--backend", "shadow")
    assert ran.returncode == 0, f"Shadow run failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    assert f"PYTHONPATH: {OUTSIDE}" in (out / "shadow.yaml").read_text()
    analyzed = _cli("analyze", str(out))
    assert analyzed.returncode == 0, analyzed.stderr[-3000:]

    from monerosim_actors.analysis import load_run
    from monerosim_actors.analysis.paths import faster_than_path

    run = load_run(out)
    stops = run.events["host_stopped"]
    assert sorted(stops["host"]) == sorted(h.name for h in run.plan.hosts) and set(stops["exit_code"]) == {0}
    assert set(run.events["funds_received"]["host"]) == TIPPERS, "the bootstrap funded every tipper"
    assert set(run.events["tip_heard"]["host"]) == TIPPERS, "every tipper heard another's tip"
    tips = run.messages[(run.messages["type"] == "tipper_tip_sent") & run.messages["recv_at"].notna()]
    assert set(tips["dst"]) == TIPPERS
    assert faster_than_path(run.messages).empty, "no message arrived sooner than its path allows"
    assert (tips["latency_ms"] >= tips["path_ms"]).all() and (tips["path_ms"] > 0).all()
    assert "tipper_tip_sent" in (out / "report" / "report.md").read_text()
