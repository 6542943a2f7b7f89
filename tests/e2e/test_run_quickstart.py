"""The quickstart through ``monerosim-actors run`` with real monerod, wallets and ZeroMQ, at the
README's time scale: every role at work, everything stopped cleanly.

How long it takes is not checked here (a loaded machine only makes it slower): the run stops itself
at the scenario's end, and a timing figure belongs in ``bench/``."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import processes_matching, require_binary
from tests.e2e.conftest import SAFETY_S
from tests.e2e.run_cli import QUICKSTART, QUICKSTART_TIME_SCALE, first_address, start_run

pytestmark = pytest.mark.e2e


def load_events(out: Path) -> dict[str, list[dict]]:
    by_host: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((out / "shadow.data" / "hosts").glob("*/events.jsonl")):
        by_host[path.parent.name] = [json.loads(line) for line in path.read_text().splitlines()]
    return by_host


def test_quickstart_runs_every_role_and_stops_cleanly(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    out = tmp_path / "quickstart"
    proc = start_run(first_address(0), str(QUICKSTART), "-o", str(out), "--time-scale", QUICKSTART_TIME_SCALE)
    try:
        stdout, stderr = proc.communicate(timeout=SAFETY_S)  # the run ends itself: a net against a hang
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert processes_matching(str(out)) == [], "processes outlived the run"
    assert proc.returncode == 0, f"run failed:\n{stdout}\n{stderr[-4000:]}"

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
    assert "run finished" in stdout and f"monerosim-actors analyze {out}" in stdout
