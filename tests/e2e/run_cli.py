"""Run ``monerosim-actors run`` as a user would (a separate process), on addresses of this test area.

The planner gives a local run the addresses 127.10.0.1 upwards; these tests move them to a range of
their own (``first_address``), so that they never clash with other tests' hosts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
QUICKSTART_TIME_SCALE = "6"
"""The README's time scale for the quickstart (scripts/quickstart.sh uses the same; a unit test checks)."""

_WRAPPER = ("import sys, monerosim_actors.planner as p; p.FIRST_ADDRESS['loopback'] = sys.argv.pop(1); "
            "from monerosim_actors.cli import main; sys.exit(main())")


def start_run(first_address: str, *args: str) -> subprocess.Popen[str]:
    """``monerosim-actors run ARGS`` with hosts from ``first_address`` up; stdout and stderr are pipes."""
    return subprocess.Popen([sys.executable, "-c", _WRAPPER, first_address, "run", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
