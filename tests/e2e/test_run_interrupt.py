"""Ctrl-C (SIGINT to the runner) in the middle of a real local run: every host is stopped, no process
is left behind, and the runner exits non-zero saying so."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.conftest import processes_matching, require_binary
from tests.e2e.conftest import SAFETY_S
from tests.e2e.run_cli import QUICKSTART, first_address, start_run

pytestmark = pytest.mark.e2e


def test_sigint_mid_run_stops_everything_and_exits_130(tmp_path: Path) -> None:
    require_binary("monerod")
    require_binary("monero-wallet-rpc")
    out = tmp_path / "interrupted"
    proc = start_run(first_address(1), str(QUICKSTART), "-o", str(out), "--time-scale", "1")
    try:
        assert proc.stderr is not None
        ready = re.compile(r"hosts ready (\d+)/(\d+)")
        for line in proc.stderr:  # a progress line every ten seconds (stderr is not a terminal)
            match = ready.search(line)
            if match and int(match[1]) >= 3 and processes_matching(f"{out}/shadow.data/hosts/user-0/wallet"):
                break
        else:
            pytest.fail(f"the run ended before it was interrupted: {proc.wait()}")
        assert processes_matching(f"{out}/shadow.data/hosts/pool-alpha/monerod")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=SAFETY_S)  # a net against a hang
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "interrupted by SIGINT; every host was stopped and no process is left" in stderr
    assert "run interrupted by SIGINT" in stdout
    assert processes_matching(str(out)) == []
