"""A scenario made to race, under a real Shadow: the measured stale count against its prediction.

``configs/racing.yaml`` puts three pools on three continents (paths of 40 to 60 ms) and draws a
block every second on average for a few hundred blocks, so some orders reach a pool before the
previous block has: two blocks compete for one height. ``analyze`` predicts the stale count from
the run's own latencies (``monerosim_actors/analysis/prediction.py``); the measured count must lie
within the prediction's 95% interval. Under Shadow the run is deterministic: one seed, one count.
Every stale block must also have been seen by fewer nodes than the block that beat it (the winner
ends on every node's main chain; the loser only on the nodes it reached first). Skipped where
``shadow`` is not on PATH.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.shadow.test_examples_under_shadow import SHADOW, SHADOW_SKIP_REASON

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "configs" / "racing.yaml"
MIN_SCHEDULE_BLOCKS = 200
"""A few hundred blocks: enough for a stale count of about ten, whose interval means something."""

pytestmark = [pytest.mark.shadow, pytest.mark.e2e, pytest.mark.skipif(SHADOW is None, reason=SHADOW_SKIP_REASON)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monerosim_actors", *args], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)


@pytest.mark.timeout(1800)
def test_the_measured_stale_count_lies_within_the_predicted_interval(tmp_path: Path) -> None:
    from monerosim_actors.analysis import check_consistency, load_run

    require_binary("monerod")
    out = tmp_path / "racing"
    ran = _cli("run", str(SCENARIO), "-o", str(out), "--backend", "shadow")
    assert ran.returncode == 0, f"Shadow run failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    analyzed = _cli("analyze", str(out))
    assert analyzed.returncode == 0, f"analyze failed:\n{analyzed.stderr[-3000:]}"
    summary = json.loads((out / "report" / "summary.json").read_text())
    run = load_run(out)
    assert check_consistency(run) == []

    stale, blocks = summary["stale"], summary["blocks"]
    assert stale["available"], stale.get("reason")
    assert blocks["schedule"] >= MIN_SCHEDULE_BLOCKS, f"only {blocks['schedule']} schedule blocks"
    predicted = stale["predicted"]
    low, high = predicted["stale_ci95"]
    assert low <= stale["schedule_blocks"] <= high, (
        f"measured {stale['schedule_blocks']} stale blocks, predicted {predicted['stale']} "
        f"(95% interval {low} to {high}) from the windows {predicted['pairs']}")
    assert predicted["measured_within"] is True
    assert stale["schedule_blocks"] > 0, "the scenario is made to race: no stale block means no race"

    for race in stale["races"]:
        assert race["winner_seen_by"] is not None and race["seen_by"] < race["winner_seen_by"], race
    report = (out / "report" / "report.md").read_text()
    assert "Stale blocks and reorganisations" in report and (out / "report" / "stale_rate.png").is_file()
