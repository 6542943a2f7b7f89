"""Run ``monerosim-actors run`` as a user would (a separate process), on addresses of this test area.

A local run's hosts have the addresses 127.10.0.1 upwards; these tests move them to a range of their
own with ``--first-address`` (:func:`first_address`), so that they never clash with other tests'
hosts, nor with the same tests run at the same time by another pytest (the third byte follows the pid).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import SAFETY_S

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
QUICKSTART_TIME_SCALE = "6"
"""The README's time scale for the quickstart (scripts/quickstart.sh uses the same; a unit test checks)."""


def first_address(test: int) -> str:
    """The first host address of test number ``test`` (0 or 1) of this pytest process: 127.60.N.1,
    N in 10..249, inside this test area's range and away from the benchmarks' 127.60.250.x."""
    return f"127.60.{10 + (os.getpid() % 120) * 2 + test}.1"


def start_run(first_address: str, *args: str) -> subprocess.Popen[str]:
    """``monerosim-actors run ARGS`` with hosts from ``first_address`` up; stdout and stderr are pipes."""
    return subprocess.Popen([sys.executable, "-m", "monerosim_actors", "run", *args,
                             "--first-address", first_address], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_when(proc: subprocess.Popen[str], ready: Callable[[str], bool], what: str) -> tuple[str, str]:
    """Read the run's progress lines (one every ten seconds: stderr is not a terminal) until one is
    ``ready``, then send SIGINT as Ctrl-C would and wait for the run to end (``SAFETY_S`` is a net
    against a hang, not a budget). Fails the test if the run ends first, saying it never got to
    ``what``. Returns the run's stdout and the rest of its stderr."""
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if ready(line):
                break
        else:
            pytest.fail(f"the run ended before {what}: exit {proc.wait()}")
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=SAFETY_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
