"""A role that lives outside the project, run for real: the tippers (``tests/outside_roles/``) on the
local backend, with real monerod, wallets and ZeroMQ, found through ``PYTHONPATH`` as a researcher's
own role is. They are funded by the controller's bootstrap, tip vendors, and tell each other over the
bus (``talks_to: [tipper]``): each tipper must hear another's tip, and ``analyze`` must show those
messages with their latency.

The scenario's duration is made long enough never to end the run: the test waits for the events it
needs (their bound is a net against a hang, not a budget), then interrupts the run with SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import processes_matching, require_binary
from tests.e2e.conftest import SAFETY_S, wait_for_event
from tests.e2e.run_cli import ROOT, first_address

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3 * SAFETY_S)]

OUTSIDE = ROOT / "tests" / "outside_roles"
TIPPERS = ["tipper-0", "tipper-1", "tipper-2"]


def test_tippers_from_outside_the_project_tip_and_tell_each_other(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    scenario = yaml.safe_load((OUTSIDE / "tippers.yaml").read_text())
    scenario["simulation"]["duration"] = 10**6  # never reached: the test ends the run
    config = tmp_path / "tippers.yaml"
    config.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "tippers"
    env = {**os.environ, "PYTHONPATH": str(OUTSIDE)}
    proc = subprocess.Popen([sys.executable, "-m", "monerosim_actors", "run", str(config), "-o", str(out),
                             "--time-scale", "3", "--first-address", first_address(0)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for tipper in TIPPERS:
            wait_for_event(out / "shadow.data" / "hosts" / tipper / "events.jsonl", "tip_heard",
                           timeout=2 * SAFETY_S)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=SAFETY_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, f"run failed:\n{stdout}\n{stderr[-4000:]}"
    assert processes_matching(str(out)) == [], "processes outlived the run"

    analyzed = subprocess.run([sys.executable, "-m", "monerosim_actors", "analyze", str(out)], cwd=ROOT,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    assert analyzed.returncode == 0, analyzed.stderr[-3000:]
    from monerosim_actors.analysis import load_run

    run = load_run(out)
    tips = run.messages[run.messages["type"] == "tipper_tip_sent"]
    delivered = tips[tips["recv_at"].notna()]
    assert set(delivered["dst"]) == set(TIPPERS), "every tipper received a tip message"
    assert (delivered["latency_ms"] >= 0).all()
    assert "tipper_tip_sent" in (out / "report" / "report.md").read_text(), "the report shows their latency"
    funded = run.events["funds_received"]
    assert set(funded["host"]) == set(TIPPERS), "the bootstrap funded every tipper"
