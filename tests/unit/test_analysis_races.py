"""Stale blocks, reorganisations and the stale rate's prediction, on event logs built to race.

The run reuses the golden run's plan (two pools, three user/marketplace nodes) with logs written
here: pool_alpha mines aa03; 0.3 s later pool_beta, told to mine before aa03 reached it, mines bb03
on the same parent; every other node takes aa03, pool_beta's node switches to it when aa04 comes,
so bb03 is stale and seen by one node, its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monerosim_actors.analysis import check_consistency, load_run, summarize
from monerosim_actors.analysis.prediction import poisson_binomial_interval, predict, race_probability
from monerosim_actors.analysis.report import write_report

GOLDEN = Path(__file__).parents[1] / "golden" / "analysis" / "run"
T0 = 946684800.0
NODES = ("pool-alpha", "pool-beta", "marketplace-0", "user-0", "user-1")
CHAIN = [("aa01", 1, "g", "pool_alpha", 1, "bootstrap", 2.0), ("aa02", 2, "aa01", "pool_alpha", 1, "bootstrap", 2.1),
         ("aa03", 3, "aa02", "pool_alpha", 2, "schedule", 10.05), ("bb03", 3, "aa02", "pool_beta", 3, "schedule", 10.35),
         ("aa04", 4, "aa03", "pool_alpha", 4, "schedule", 20.05)]
"""(hash, height, parent, pool, order, phase, mined at)."""
ORDERS = [(1, "pool_alpha", 1.0, "bootstrap"), (2, "pool_alpha", 10.0, "schedule"), (3, "pool_beta", 10.3, "schedule"),
          (4, "pool_alpha", 20.0, "schedule")]


def _ev(t: float, host: str, event: str, **fields: Any) -> dict[str, Any]:
    return {"t": T0 + t, "host": host, "actor": "x", "event": event, **fields}


def write_raced_run(out: Path, *, parents: bool = True) -> Path:
    """A run folder whose logs hold two blocks at height 3 (``parents=False``: as logged before
    blocks carried their parent)."""
    shutil.copy(GOLDEN / "plan.json", out / "plan.json")
    logs: dict[str, list[dict[str, Any]]] = {h: [_ev(0.5, h, "host_started", ip="11.0.0.9", time_scale=1.0)]
                                              for h in ("block-controller", *NODES)}
    prev = (lambda p: {"prev": p}) if parents else (lambda p: {})
    for n, pool, t, phase in ORDERS:
        host = pool.replace("_", "-")
        logs["block-controller"].append(_ev(t, "block-controller", "mine_ordered", order=n, pool_id=pool,
                                            pool_host=host, count=1, phase=phase))
        logs["block-controller"].append(_ev(t, "block-controller", "msg_sent", id=f"c:{n}", type="mine_blocks",
                                            src="block-controller", dst=host, sent_at=T0 + t))
        logs[host].append(_ev(t + 0.04, host, "msg_received", id=f"c:{n}", type="mine_blocks",
                              src="block-controller", dst=host, sent_at=T0 + t, recv_at=T0 + t + 0.04))
    for block, height, parent, pool, order, phase, t in CHAIN:
        miner = pool.replace("_", "-")
        logs[miner].append(_ev(t + 0.01, miner, "block_mined", pool_id=pool, order=order, height=height, hash=block,
                               phase=phase, **prev(parent)))
        seen_by = [miner] if block == "bb03" else NODES
        for i, node in enumerate(seen_by):
            delay = 0.0 if node == miner else 0.5 + 0.1 * i
            logs[node].append(_ev(t + delay, node, "block_seen", height=height, hash=block, **prev(parent)))
    logs["pool-beta"].append(_ev(20.6, "pool-beta", "chain_reorganized", height=3, depth=1, top_before=3,
                                 dropped=["bb03"], hash="aa03"))
    for host, lines in logs.items():
        folder = out / "shadow.data" / "hosts" / host
        folder.mkdir(parents=True)
        lines.sort(key=lambda e: e["t"])
        (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return out


def test_a_stale_block_names_the_block_that_beat_it(tmp_path: Path) -> None:
    run = load_run(write_raced_run(tmp_path))
    b = run.blocks.set_index("hash")
    assert b["main_chain"].to_dict() == {"aa01": True, "aa02": True, "aa03": True, "bb03": False, "aa04": True}
    assert b.loc["bb03", "beaten_by"] == "aa03" and b.loc["bb03", "beaten_by_s"] == pytest.approx(0.3)
    assert b.loc["bb03", "parent"] == "aa02" and b.loc["bb03", "seen_by"] == 1 < b.loc["aa03", "seen_by"]
    assert check_consistency(run) == []


def test_the_summary_counts_stale_blocks_and_gives_the_shares_both_ways(tmp_path: Path) -> None:
    s = summarize(load_run(write_raced_run(tmp_path)))
    st = s["stale"]
    assert (st["available"], st["blocks"], st["schedule_blocks"], st["heights_raced"]) == (True, 1, 1, 1)
    assert st["rate"] == pytest.approx(1 / 3) and st["rate_ci95"][0] < 1 / 3 < st["rate_ci95"][1]
    assert st["by_pool"]["pool_beta"] == {"mined": 1, "stale": 1, "rate": 1.0, "rate_ci95": [0.025, 1.0]}
    assert st["races"] == [{"height": 3, "stale": "bb03", "pool": "pool_beta", "seen_by": 1, "beaten_by": "aa03",
                            "winner_pool": "pool_alpha", "winner_seen_by": 5, "gap_s": 0.3}]
    beta = s["blocks"]["by_pool"]["pool_beta"]
    assert (beta["blocks"], beta["share"], beta["main_chain_blocks"], beta["main_chain_share"]) == (1, 0.333333, 0, 0.0)
    assert s["blocks"]["by_pool"]["pool_alpha"]["main_chain_share"] == 1.0
    assert s["reorgs"]["total"] == 1 and s["reorgs"]["by_node"]["pool-beta"] == {
        "count": 1, "depths": [1], "max_depth": 1}
    pred = s["stale"]["predicted"]
    assert pred["available"] and pred["trials"] == 2 and pred["measured_within"] is not None
    (alpha_to_beta,) = [p for p in pred["pairs"] if (p["from"], p["to"]) == ("pool_alpha", "pool_beta")]
    # order to block 0.05 s, propagation to pool-beta's node 0.6 s, beta's signal 0.04 s
    assert alpha_to_beta["window_s"] == pytest.approx(0.05 + 0.6 - 0.04)


def test_the_report_names_the_stale_block_and_the_consistency_line_the_raced_heights(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    run = load_run(write_raced_run(tmp_path / "run"))
    text = write_report([run], tmp_path / "report").read_text()
    assert "1 of them raced by two or more blocks" in text
    assert "| 3 | bb03 | pool_beta | 1 | aa03 | pool_alpha | 5 | 0.3 |" in text
    assert "Reorganisations (a node switched tips; depth = blocks it dropped): 1 in all" in text
    assert (tmp_path / "report" / "stale_rate.png").is_file()
    assert "bb03" in (tmp_path / "report" / "blocks.csv").read_text()
    assert "pool-beta" in (tmp_path / "report" / "reorgs.csv").read_text()


def test_logs_without_parents_are_analysed_with_the_stale_figures_marked_unavailable(tmp_path: Path) -> None:
    run = load_run(write_raced_run(tmp_path, parents=False))
    s = summarize(run)
    assert s["stale"]["available"] is False and "no parent in the logs" in s["stale"]["reason"]
    assert s["stale"]["heights_raced"] == 1 and s["blocks"]["orphaned"] == 1
    assert s["blocks"]["by_pool"]["pool_beta"]["main_chain_share"] is None
    assert run.blocks["main_chain"].isna().all()
    assert check_consistency(run) == []
    text = write_report([run], tmp_path / "report").read_text()
    assert "Stale blocks: unavailable: 5 of 5 mined blocks have no parent" in text


def test_race_probability_of_each_schedule() -> None:
    assert race_probability(1.0, 10.0, "exponential") == pytest.approx(1 - np.exp(-0.1))
    assert race_probability(-1.0, 10.0, "exponential") == 0.0
    assert (race_probability(9.0, 10.0, "fixed"), race_probability(11.0, 10.0, "fixed")) == (0.0, 1.0)


def test_the_interval_is_the_binomials_when_every_chance_is_equal() -> None:
    from scipy import stats as sps

    low, high = sps.binom(300, 0.05).ppf([0.025, 0.975])
    assert poisson_binomial_interval([0.05] * 300) == (int(low), int(high))
    assert poisson_binomial_interval([0.0] * 4 + [1.0] * 3) == (3, 3)


def test_the_prediction_matches_a_simulated_schedule() -> None:
    """Draw the controller's schedule as it does (exponential interval, then the pool by share) and
    count the races the windows imply: their mean over many schedules is the predicted count, and
    about 95% of the schedules fall in the predicted interval."""
    rng = np.random.default_rng(26)
    shares = {"a": 0.5, "b": 0.3, "c": 0.2}
    windows = {(x, y): 0.02 + 0.01 * i for i, (x, y) in enumerate(
        (x, y) for x in shares for y in shares if x != y)}
    block_time, n = 1.0, 300
    counts, predictions = [], []
    for _ in range(400):
        pools = rng.choice(list(shares), size=n, p=list(shares.values()))
        gaps = rng.exponential(block_time, size=n)
        counts.append(sum(1 for i in range(n - 1) if pools[i + 1] != pools[i]
                          and gaps[i + 1] < windows[(pools[i], pools[i + 1])]))
        predictions.append(predict(list(pools), shares, windows, block_time, "exponential"))
    expected = np.mean([p.expected for p in predictions])
    assert np.mean(counts) == pytest.approx(expected, rel=0.05)
    inside = np.mean([p.low <= c <= p.high for p, c in zip(predictions, counts)])
    assert 0.9 <= inside <= 1.0


def test_the_comparison_of_runs_has_the_stale_rate_and_none_where_it_is_unavailable(tmp_path: Path) -> None:
    from monerosim_actors.analysis.compare import comparison

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = [load_run(write_raced_run(tmp_path / "a")), load_run(write_raced_run(tmp_path / "b", parents=False))]
    table = comparison([summarize(r) for r in runs], ["a", "b"])
    assert table.loc["stale blocks"].tolist() == [1, None]
    assert table.loc["reorganisations"].tolist() == [1, 1]


def test_a_local_report_says_why_its_prediction_is_too_high(tmp_path: Path) -> None:
    import dataclasses

    from monerosim_actors.analysis.report import LOCAL_PREDICTION_NOTE

    (tmp_path / "run").mkdir()
    run = load_run(write_raced_run(tmp_path / "run"))
    local = dataclasses.replace(run, plan=dataclasses.replace(run.plan, addressing="loopback"))
    assert LOCAL_PREDICTION_NOTE not in write_report([run], tmp_path / "shadow").read_text()
    assert LOCAL_PREDICTION_NOTE in write_report([local], tmp_path / "local").read_text()
