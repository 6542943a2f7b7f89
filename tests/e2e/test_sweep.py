"""A sweep of two real local runs (the fault tests' small network, two seeds) through
``monerosim-actors sweep`` and ``analyze``: both runs at once on a Dask cluster of this machine,
real monerod, wallets and ZeroMQ, every process gone at the end, intervals over the two seeds.

The runs last the scenario's duration divided by the time scale (75 s of real time each, start-up
and bootstrap included); the test waits for the command to end (``SAFETY_S`` is a net against a
hang, not a budget) and checks what the runs logged, not how far they got in that time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import assert_no_process_left, require_binary
from tests.e2e.conftest import SAFETY_S

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).parent / "scenarios" / "faults.yaml"


def test_a_sweep_of_two_local_runs_runs_both_at_once_and_is_analysed(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    pytest.importorskip("distributed")
    base = yaml.safe_load(SCENARIO.read_text())
    base["simulation"]["duration"] = 600
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({
        "scenario": "base.yaml", "seeds": [1, 2], "backend": "local", "time_scale": 8,
        # a range of this pytest's own (the third byte of tests' other runs follows the pid too)
        "first_address": f"127.{150 + os.getpid() % 80}.0.1"}))
    out = tmp_path / "sweep"
    sweep = subprocess.run([sys.executable, "-m", "monerosim_actors", "sweep", str(tmp_path / "sweep.yaml"),
                            "-o", str(out), "--workers", "2"], cwd=ROOT, capture_output=True, text=True,
                           timeout=SAFETY_S)
    assert sweep.returncode == 0, sweep.stderr[-4000:]
    assert "2 at once" in sweep.stderr and "2 of 2 runs done, 0 failed" in sweep.stderr
    assert_no_process_left(str(out))
    runs = {p.name: json.loads((p / "run.json").read_text()) for p in (out / "runs").iterdir()}
    assert {k: (v["status"], v["exit_code"]) for k, v in runs.items()} == {"p00-s1": ("done", 0),
                                                                          "p00-s2": ("done", 0)}
    first, second = runs["p00-s1"], runs["p00-s2"]
    assert first["started"] < second["ended"] and second["started"] < first["ended"], "the runs overlapped"
    for name in runs:
        plan = json.loads((out / "runs" / name / "out" / "plan.json").read_text())
        assert plan["seed"] == int(name[-1])
        stops = [json.loads(line) for log in (out / "runs" / name / "out" / "shadow.data" / "hosts").glob("*/events.jsonl")
                 for line in log.read_text().splitlines() if '"host_stopped"' in line]
        assert len(stops) == len(plan["hosts"]) and all(e["exit_code"] == 0 for e in stops)

    analyze = subprocess.run([sys.executable, "-m", "monerosim_actors", "analyze", str(out)], cwd=ROOT,
                             capture_output=True, text=True, timeout=SAFETY_S)
    assert analyze.returncode == 0, analyze.stderr[-4000:]
    latency = pd.read_csv(out / "report" / "latency.csv")
    both = latency[(latency["seeds"] == 2) & latency["ci95_low"].notna()]
    assert not both.empty, f"no message type with a latency in both runs:\n{latency}"
    assert (both["ci95_low"] <= both["mean"]).all() and (both["mean"] <= both["ci95_high"]).all()
    assert (out / "report" / "report.md").is_file()
