"""``analyze DIR`` on a sweep folder: per point, the mean over seeds with a Student t 95% interval,
one table per metric, pictures against each swept parameter; runs not done are left out and listed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from monerosim_actors import cli
from monerosim_actors.analysis import sweep as across
from monerosim_actors.sweep import execute, index
from tests.unit.scenario_helpers import base_doc
from tests.unit.test_sweep_execute import FakeRunner

pytest.importorskip("scipy")


def test_the_interval_is_students_t_over_the_seeds() -> None:
    mean, low, high = across.interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert low == pytest.approx(2.0 - 4.302653 / 3**0.5, abs=1e-6)  # t(0.975, 2) x sd 1 / sqrt(3)
    assert high == pytest.approx(2.0 + 4.302653 / 3**0.5, abs=1e-6)
    assert across.interval([5.0]) == (5.0, None, None)
    assert across.interval([]) == (None, None, None)


def test_the_share_error_is_the_total_variation_distance() -> None:
    summary = {"blocks": {"schedule": 10, "by_pool": {
        "a": {"share": 0.7, "expected_share": 0.6}, "b": {"share": 0.3, "expected_share": 0.4}}}}
    assert across.share_error(summary) == {(): 0.1}
    assert across.share_error({"blocks": {"schedule": 0, "by_pool": {}}}) == {(): None}


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """A sweep of 2 points x 2 seeds whose runs are the golden run (receipts ``seed`` ms later), p01-s2 not run."""
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base_doc(), sort_keys=False))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({
        "scenario": "base.yaml", "seeds": [1, 2], "grid": {"network.consensus.block_time": [20, 40]},
        "resources": {"memory": 10}}))
    out = tmp_path / "sweep"
    assert cli.main(["sweep", str(tmp_path / "sweep.yaml"), "-o", str(out), "--expand-only"]) == 0
    sweep = index.read_index(out)
    for job in execute.jobs(str(out), sweep, [r for r in sweep.runs if r.id != "p01-s2"], session="test"):
        assert execute.execute_run(job, FakeRunner())["status"] == index.DONE
    return out


def test_a_sweep_folder_gets_one_table_per_metric_with_intervals_and_pictures(
        sweep_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", str(sweep_dir)]) == 0
    report = sweep_dir / "report"
    assert capsys.readouterr().out.strip() == str(report / "report.md")
    latency = pd.read_csv(report / "latency.csv")
    assert list(latency.columns) == ["point", "network.consensus.block_time", "type", "statistic", "seeds", "mean",
                                     "ci95_low", "ci95_high"]
    row = latency[(latency["point"] == "p00") & (latency["type"] == "get_vendors") & (latency["statistic"] == "p50")]
    # golden p50 12.5 ms, receipts 1 and 2 ms later: 13.5 and 14.5; t(0.975, 1) = 12.706 x sd 0.7071 / sqrt(2)
    assert row[["network.consensus.block_time", "seeds", "mean"]].values.tolist() == [[20, 2, 14.0]]
    assert row["ci95_low"].item() == pytest.approx(14.0 - 6.353102, abs=1e-5)
    assert row["ci95_high"].item() == pytest.approx(14.0 + 6.353102, abs=1e-5)
    one_seed = latency[(latency["point"] == "p01") & (latency["type"] == "get_vendors") & (latency["statistic"] == "p99")]
    assert one_seed["seeds"].item() == 1 and one_seed["ci95_low"].isna().item()
    for name in ("blocks_share_error", "confirmation_delay", "propagation"):
        table = pd.read_csv(report / f"{name}.csv")
        assert set(table["point"]) == {"p00", "p01"} and table["seeds"].max() == 2
    stale = pd.read_csv(report / "stale_rate.csv").set_index(["point", "statistic"])
    # the golden run's logs have no parents: no measured rate, but its latencies predict one
    assert stale.loc[("p00", "measured"), "seeds"] == 0
    assert stale.loc[("p00", "predicted"), "seeds"] == 2 and stale.loc[("p00", "predicted"), "mean"] > 0
    runs = pd.read_csv(report / "runs.csv")
    assert runs.loc[runs["run"] == "p01-s2", "left_out"].item() == "not done (never started)"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["runs"] == {"total": 4, "analysed": 3, "left_out": {"p01-s2": "not done (never started)"}}
    for picture in ("latency_vs_network_consensus_block_time.png", "outcomes_vs_network_consensus_block_time.png"):
        assert (report / picture).stat().st_size > 10_000
    text = (report / "report.md").read_text()
    assert "Left out: p01-s2 (not done (never started))." in text
    assert "![latency_vs_network_consensus_block_time](latency_vs_network_consensus_block_time.png)" in text


def test_a_sweep_folder_is_analysed_alone(sweep_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = sweep_dir / "runs" / "p00-s1" / "out"
    assert cli.main(["analyze", str(sweep_dir), str(other)]) == 2
    assert "a sweep folder is analysed alone" in capsys.readouterr().err


def test_the_stale_rate_is_taken_where_the_run_could_tell_it() -> None:
    from monerosim_actors.analysis.sweep import stale_rate

    told = {"stale": {"available": True, "rate": 0.04, "predicted": {"available": True, "rate": 0.05}}}
    assert stale_rate(told) == {("measured",): 0.04, ("predicted",): 0.05}
    untold = {"stale": {"available": False, "predicted": {"available": False}}}
    assert stale_rate(untold) == {("measured",): None, ("predicted",): None}
