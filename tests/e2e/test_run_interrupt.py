"""Ctrl-C (SIGINT to the runner) in the middle of a real local run: every host is stopped, no process
is left behind, and the runner exits non-zero saying so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import processes_matching, require_binary
from tests.e2e.run_cli import QUICKSTART, first_address, interrupt_when, start_run

pytestmark = pytest.mark.e2e


def test_sigint_mid_run_stops_everything_and_exits_130(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    out = tmp_path / "interrupted"
    proc = start_run(first_address(1), str(QUICKSTART), "-o", str(out), "--time-scale", "1")
    ready = re.compile(r"hosts ready (\d+)/(\d+)")

    def programs_running(line: str) -> bool:
        match = ready.search(line)
        return bool(match and int(match[1]) >= 3 and processes_matching(f"{out}/shadow.data/hosts/user-0/wallet")
                    and processes_matching(f"{out}/shadow.data/hosts/pool-alpha/monerod"))

    stdout, stderr = interrupt_when(proc, programs_running, "a pool's monerod and a user's wallet were running")
    assert proc.returncode == 130
    assert "interrupted by SIGINT; every host was stopped and no process is left" in stderr
    assert "run interrupted by SIGINT" in stdout
    assert processes_matching(str(out)) == []
