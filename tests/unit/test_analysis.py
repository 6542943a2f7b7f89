"""The analysis tables and summary against hand-written golden event logs.

``tests/golden/analysis/run`` is a small run written by hand: two pools (pool-beta's log is missing),
two users (user-1's log ends mid-line), one marketplace, the controller and the directory; messages
delivered, lost and received without a logged send; blocks in both phases; a payment retried then
sent, received and confirmed, one failed, one never confirmed. Its plan puts the hosts on a
three-region graph: the services, the marketplace and user-0 in europe (self-loop 5 ms), pool-alpha
in north-america (reached over asia: 10 + 25 = 35 ms, not the direct 50 ms edge), pool-beta and
user-1 in asia (10 ms). ``expected/`` holds the CSV rows and summary worked out by hand from those
logs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from monerosim_actors.analysis import Run, check_consistency, load_run, summarize
from monerosim_actors.analysis import load
from monerosim_actors.analysis.report import TABLES
from monerosim_actors.errors import OutputError
from monerosim_actors.events import read

GOLDEN = Path(__file__).parents[1] / "golden" / "analysis"


@pytest.fixture(scope="module")
def run() -> Run:
    return load_run(GOLDEN / "run")


@pytest.mark.parametrize("table", [name for name, _ in TABLES])
def test_tables_match_the_hand_written_rows(run: Run, table: str, tmp_path: Path) -> None:
    path = tmp_path / f"{table}.csv"
    getattr(run, table).to_csv(path, index=False)
    assert path.read_text() == (GOLDEN / "expected" / f"{table}.csv").read_text()


def test_summary_matches_the_hand_worked_numbers(run: Run) -> None:
    expected = json.loads((GOLDEN / "expected" / "summary.json").read_text())
    assert summarize(run) == expected


def test_summary_has_the_shape_the_issue_asks_for(run: Run) -> None:
    s = summarize(run)
    assert {"count", "delivered", "lost", "by_type"} <= set(s["messages"])
    assert set(s["messages"]["by_type"]["mine_blocks"]) >= {"count", "p50_ms", "p90_ms", "p99_ms",
                                                             "max_ms"}
    assert {"total", "by_pool", "chi2_p"} <= set(s["blocks"])
    assert set(s["blocks"]["by_pool"]["pool_alpha"]) >= {"blocks", "share", "expected_share"}
    assert {"sent", "failed", "received", "confirmed", "confirmation_delay_s"} <= set(s["payments"])
    assert set(s["payments"]["confirmation_delay_s"]) == {"p50", "p90", "max"}
    assert {"p50", "p90", "max"} <= set(s["propagation_s"])
    assert "final_heights" in s["nodes"]


def test_the_python_api_gives_dataframes(run: Run) -> None:
    for name in ("hosts", "messages", "blocks", "block_seen", "payments"):
        assert isinstance(getattr(run, name), pd.DataFrame)
    assert isinstance(run.events["msg_sent"], pd.DataFrame)
    assert run.label == "run"
    assert run.plan.host("pool-alpha").params["pool_id"] == "pool_alpha"
    assert run.messages.loc[run.messages["id"] == "pool-alpha:1", "latency_ms"].item() == 50.0


def test_golden_run_is_consistent(run: Run) -> None:
    assert check_consistency(run) == []


def test_consistency_names_what_is_off(run: Run) -> None:
    extra_block = run.blocks.iloc[:1].assign(hash="cc06", height=6)
    confirmed = run.payments.assign(confirmed_at=1.0, status="failed")
    orphan = run.messages.assign(status="receipt_only")
    broken = dataclasses.replace(run, blocks=pd.concat([run.blocks, extra_block]),
                                 payments=confirmed, messages=orphan)
    problems = check_consistency(broken)
    assert len(problems) == 3
    assert problems[0] == "blocks: mined at 6 heights, but the chain grew by 5 (heights 1..5)"
    assert problems[1] == "payments: 3 confirmed, but only 0 sent"
    assert problems[2].startswith("messages: 15 received with no send logged")


def test_an_empty_run_gives_nulls_not_nan() -> None:
    empty = load_run(GOLDEN / "empty")
    s = summarize(empty)
    text = json.dumps(s, allow_nan=False)
    assert "NaN" not in text
    assert s["messages"]["count"] == 0 and s["messages"]["by_type"] == {}
    assert s["blocks"]["chi2_p"] is None
    assert s["blocks"]["by_pool"]["pool_alpha"] == {"blocks": 0, "share": None, "expected_share": 1.0,
                                                     "share_ci95": None, "bootstrap_blocks": 0,
                                                     "main_chain_blocks": 0, "main_chain_share": None}
    assert (s["stale"]["blocks"], s["stale"]["rate"], s["stale"]["rate_ci95"]) == (0, None, None)
    assert s["payments"]["confirmation_delay_s"] == {"p50": None, "p90": None, "max": None}
    assert s["propagation_s"]["p50"] is None
    assert s["nodes"]["final_heights"] == {"pool-alpha": None, "user-0": None}
    assert check_consistency(empty) == []


def test_a_folder_without_a_plan_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a run folder"):
        load_run(tmp_path)
    (tmp_path / "plan.json").write_text("{not json")
    with pytest.raises(OutputError, match="not a plan"):
        load_run(tmp_path)


def test_a_run_that_was_never_run_says_so(tmp_path: Path) -> None:
    shutil.copy(GOLDEN / "run" / "plan.json", tmp_path / "plan.json")
    with pytest.raises(OutputError, match="has this run been run"):
        load_run(tmp_path)


def test_damaged_lines_are_skipped_in_any_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "CHUNK_BYTES", 150)
    lines = [json.dumps({"t": float(i), "host": "h", "actor": "a", "event": "tick", "n": i})
             for i in range(10)]
    lines[4] = '{"t": 4.0, "host": "h", "ev'
    lines[7] = '{"t": "7", "host": "h", "actor": "a", "event": "tick"}'
    lines[2] = '[1, 2]'
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    frames, host_log = load.read_host_log(path, "h")
    ticks = pd.concat(frames["tick"], ignore_index=True)
    assert ticks["n"].tolist() == [0, 1, 3, 5, 6, 8, 9]
    assert host_log == load.HostLog("h", "ok", 7, 3)


def test_a_log_cut_after_a_whole_event_keeps_it_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"t": 1.0, "host": "h", "actor": "a", "event": "tick"}\n'
                    '{"t": 2.0, "host": "h", "actor": "a", "event": "tick"}')
    frames, host_log = load.read_host_log(path, "h")
    assert sum(len(f) for f in frames["tick"]) == 2
    assert host_log == load.HostLog("h", "truncated", 2, 0)


def test_statistics_of_one_value() -> None:
    from monerosim_actors.analysis.summary import stats
    assert stats(pd.Series([7.0, math.nan]), (50, 99), "ms") == {"p50_ms": 7.0, "p99_ms": 7.0,
                                                                 "max_ms": 7.0}


def test_messages_sent_at_the_same_time_are_ordered_by_id(run: Run) -> None:
    from monerosim_actors.analysis import tables
    sent = pd.DataFrame({"t": [5.0, 5.0, 1.0], "id": ["h:10", "h:2", "h:9"], "type": "ping",
                         "src": "h", "dst": "g", "sent_at": [5.0, 5.0, 1.0]})
    received = sent.assign(recv_at=sent["sent_at"] + 0.5).iloc[[1]]
    hosts = pd.DataFrame({"host": ["h", "g"], "role": ["a", "b"]})
    m = tables.messages_table({"msg_sent": sent, "msg_received": received}, hosts, run.plan)
    assert m["id"].tolist() == ["h:9", "h:10", "h:2"]
    assert m["status"].tolist() == ["lost", "lost", "delivered"]


def test_a_block_that_lost_a_race_is_orphaned_not_inconsistent(run: Run) -> None:
    rival = run.blocks[run.blocks["hash"] == "aa04"].assign(hash="bb04", pool_id="pool_beta",
                                                             miner="pool-beta")
    raced = dataclasses.replace(run, blocks=pd.concat([run.blocks, rival], ignore_index=True))
    assert check_consistency(raced) == []
    blocks = summarize(raced)["blocks"]
    assert (blocks["total"], blocks["orphaned"]) == (6, 1)
    assert blocks["by_pool"]["pool_beta"]["blocks"] == 2


def test_fields_of_the_wrong_type_become_empty_cells() -> None:
    from monerosim_actors.analysis import tables
    seen = pd.DataFrame({"t": [1.0, 2.0, 3.0], "host": "n", "actor": "runtime", "event": "block_seen",
                         "height": [1, "x", 2.5], "hash": ["a", "b", "c"]})
    first = tables.first_sightings({"block_seen": seen})
    assert first["height"].tolist() == [1, pd.NA, pd.NA]


def _scaled_copy(tmp_path: Path, time_scale: float) -> Path:
    """The golden run as if the local backend ran it with ``--time-scale`` time_scale."""
    out = tmp_path / "scaled"
    shutil.copytree(GOLDEN / "run", out)
    for log in out.glob("shadow.data/hosts/*/events.jsonl"):  # the runtime logs K in host_started
        text = log.read_text()
        assert '"time_scale": 1.0' in text
        log.write_text(text.replace('"time_scale": 1.0', f'"time_scale": {time_scale}'))
    return out


def test_durations_are_scenario_seconds_with_the_real_ones_beside(run: Run, tmp_path: Path) -> None:
    from monerosim_actors.analysis.report import render

    scaled = load_run(_scaled_copy(tmp_path, 10.0))
    assert scaled.time_scale == 10.0 and run.time_scale == 1.0
    s, one = summarize(scaled), summarize(run)
    assert s["run"]["time_scale"] == 10.0
    assert s["run"]["duration_s"] == 595.0 and s["run"]["duration_real_s"] == 59.5
    assert "duration_real_s" not in one["run"] and "propagation_real_s" not in one
    assert s["propagation_real_s"] == one["propagation_s"]
    assert s["propagation_s"]["max"] == pytest.approx(10 * one["propagation_s"]["max"])
    assert s["payments"]["confirmation_delay_s"]["p50"] == pytest.approx(62.0)
    assert s["payments"]["confirmation_delay_real_s"]["p50"] == 6.2
    assert s["messages"]["latency_ms"] == one["messages"]["latency_ms"]  # the bus's own real time
    text = render([scaled], [s], [], None)
    assert "Time scale 10 (the local backend's `--time-scale`)" in text
    assert "events over 595 s (59.5 real s)" in text
    assert "p50 62 s (6.2 real s)" in text
    assert "Time scale 1:" in render([run], [one], [], None)


def test_a_message_sent_before_its_receiver_started_is_lost_before_connect(tmp_path: Path) -> None:
    out = tmp_path / "early"
    shutil.copytree(GOLDEN / "run", out)
    log = out / "shadow.data" / "hosts" / "marketplace-directory" / "events.jsonl"
    early = {"t": 946684800.6, "host": "marketplace-directory", "actor": "bus", "event": "msg_sent",
             "id": "marketplace-directory:99", "type": "vendor_list", "src": "marketplace-directory",
             "dst": "user-1", "sent_at": 946684800.6}  # user-1's runtime starts at .9
    log.write_text(log.read_text() + json.dumps(early) + "\n")
    run = load_run(out)
    status = dict(zip(run.messages["id"], run.messages["status"]))
    assert status["marketplace-directory:99"] == "lost_before_connect"
    assert status["marketplace-directory:3"] == "lost"  # user-1 had started by then
    assert status["block-controller:2"] == "lost"  # pool-beta's log is missing: nothing known
    s = summarize(run)["messages"]
    assert (s["lost"], s["lost_before_connect"]) == (4, 1)
    from monerosim_actors.analysis.report import render
    assert "4 lost (sent, never received; 1 of them `lost_before_connect`" in render([run], [summarize(run)], [], None)


def test_latency_types_with_fewer_than_3_messages_share_one_other_panel(run: Run) -> None:
    from matplotlib.figure import Figure

    from monerosim_actors.analysis import plots

    delivered = [run.messages[run.messages["latency_ms"].notna()]]
    panels = plots.latency_panels(delivered)
    assert panels == [("blocks_mined", ["blocks_mined"]), ("mine_blocks", ["mine_blocks"]),
                      ("other (6 types of < 3 messages)",
                       ["get_vendors", "pool_registered", "register_pool", "register_vendors",
                        "vendor_list", "vendors_registered"])]
    fig = Figure()
    assert plots.latency_cdf(fig, [run], [])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [t for t, _ in panels]


def test_chain_height_draws_the_nodes_spread_and_the_end_of_the_bootstrap(run: Run) -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    from monerosim_actors.analysis import plots

    heights = plots.node_heights(run.block_seen.dropna(subset=["height"]))
    assert (heights.max(axis=1) >= heights.min(axis=1)).all()
    assert plots.bootstrap_end(run) == 946684804.0
    fig = Figure()
    assert plots.chain_height(fig, [run], [])
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["median node", "bootstrap done"]
    assert list(ax.get_lines()[1].get_xdata()) == [3.5, 3.5]  # 946684804.0 - the run's start
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # lowest to highest node


def test_hosts_summary_counts_wallet_only_hosts_by_public_node() -> None:
    from monerosim_actors.analysis.summary import hosts_summary

    hosts = pd.DataFrame({
        "host": ["public-node-0", "public-node-1", "user-0", "user-1", "user-2", "marketplace-directory"],
        "has_node": [True, True, False, False, False, False],
        "node": ["public-node-0", "public-node-1", "public-node-1", "public-node-0", "public-node-1", None],
        "log": ["ok"] * 6, "bad_lines": [0] * 6})
    s = hosts_summary(hosts)
    assert (s["with_node"], s["wallet_only"]) == (2, 3)
    assert s["served_by_public_node"] == {"public-node-0": 1, "public-node-1": 2}
