"""Run ``monerosim-actors run`` as a user would (a separate process), on addresses of this test area.

A local run's hosts have the addresses 127.10.0.1 upwards; these tests move them to a range of their
own with ``--first-address`` (:func:`first_address`), so that they never clash with other tests'
hosts, nor with the same tests run at the same time by another pytest (the third byte follows the pid).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
