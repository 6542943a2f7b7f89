"""The quickstart through ``monerosim-actors run`` with real monerod, wallets and ZeroMQ, at the
README's time scale: every role at work, everything stopped cleanly.

The scenario's duration is made long enough never to end the run: the test waits, on the runner's
progress lines (counts of the hosts' events), until every pool has mined, every user was funded and a
payment was confirmed, then interrupts the run with SIGINT. A fixed duration would be a wall-clock
budget that a loaded machine can exhaust before the first payment (the bootstrap alone took 430 s at a
load average of 35); how long it takes is a figure for ``bench/``."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from tests.conftest import processes_matching, require_binary
from tests.e2e.run_cli import QUICKSTART, QUICKSTART_TIME_SCALE, first_address, interrupt_when, start_run

pytestmark = pytest.mark.e2e


def load_events(out: Path) -> dict[str, list[dict]]:
    by_host: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((out / "shadow.data" / "hosts").glob("*/events.jsonl")):
        by_host[path.parent.name] = [json.loads(line) for line in path.read_text().splitlines()]
    return by_host


ROLES_AT_WORK = re.compile(r"blocks \d+ \(pool_alpha:\d+ pool_beta:\d+\) \| funded 3 \| "
                           r"payments \d+ sent, [1-9]\d* confirmed")
"""A progress line saying both pools mined, the 3 users were funded and a payment was confirmed."""


def test_quickstart_runs_every_role_and_stops_cleanly(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    scenario = yaml.safe_load(QUICKSTART.read_text())
    scenario["simulation"]["duration"] = 10**6  # never reached: the test ends the run (see above)
    config = tmp_path / "quickstart.yaml"
    config.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "quickstart"
    proc = start_run(first_address(0), str(config), "-o", str(out), "--time-scale", QUICKSTART_TIME_SCALE)
    stdout, stderr = interrupt_when(proc, lambda line: ROLES_AT_WORK.search(line) is not None,
                                    "every role was at work")
    assert processes_matching(str(out)) == [], "processes outlived the run"
    assert proc.returncode == 130, f"run failed:\n{stdout}\n{stderr[-4000:]}"

    plan = json.loads((out / "plan.json").read_text())
    events = load_events(out)
    hosts = {h["name"]: h for h in plan["hosts"]}
    assert set(events) == set(hosts)
    for host, log in events.items():
        stops = [e for e in log if e["event"] == "host_stopped"]
        assert stops and stops[-1]["exit_code"] == 0, f"{host} did not stop cleanly"
        assert not [e for e in log if e["event"] == "actor_failed"], f"an actor failed on {host}"
    flat = [e for log in events.values() for e in log]
    pools = {h["agent_id"] for h in plan["hosts"] if h["role"] == "mining_pool"}
    users = {h["agent_id"] for h in plan["hosts"] if h["role"] == "regular_user"}
    mined = {e["pool_id"] for e in flat if e["event"] == "block_mined"}
    assert mined == pools, f"pools that mined: {mined}, expected {pools}"
    funded = {e["user_id"] for e in flat if e["event"] == "user_funded"}
    assert funded == users
    assert [e for e in flat if e["event"] == "payment_confirmed"], "no payment was confirmed"
    assert "run interrupted by SIGINT" in stdout and f"monerosim-actors analyze {out}" in stdout
