"""``python -m bench [FIGURE ...] [-- ARGS]``: measure the figures, then render BENCHMARKS.md.

Without a figure, every figure runs, one after the other, each in its own process (so one figure's
threads and memory do not colour the next, and a failure is reported without stopping the rest);
the whole suite takes about 15 minutes on the 2-CPU development machine. With one figure name, that
figure runs in this process and passes any further arguments to it (``python -m bench bus_latency
--rounds 4``); ``report`` only renders BENCHMARKS.md. The figures owned by other issues are their
scripts in ``bench/``, run with the arguments listed in :data:`SCRIPTS`.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time

from bench import report
from bench.common import ROOT

MODULES = ("bus_latency", "bus_throughput", "coordination", "host_footprint", "local_growth", "shadow_speed")
"""Figures of this suite: ``bench.NAME.main(argv)``."""
ON_REQUEST = ("shadow_scale", "randomx_sharing")
"""Figures run only when named (shadow_scale: an hour or more; randomx_sharing: two local quickstarts
per round): ``python -m bench shadow_scale``."""
SCRIPTS: dict[str, tuple[str, ...]] = {
    "idle_host": ("--seconds", "60"),
    "monerod_footprint": ("--repeat", "1"),
    "gen_scale": ("--repeat", "1"),
    "analyze_scale": (),
}
"""Figures measured by other issues' scripts, ``bench/NAME.py``, with the suite's arguments."""
ORDER = ("bus_latency", "bus_throughput", "coordination", "host_footprint", "idle_host", "monerod_footprint",
         "local_growth", "gen_scale", "analyze_scale", "shadow_speed")


def command(name: str) -> list[str]:
    if name in MODULES:
        return [sys.executable, "-m", "bench", name]
    return [sys.executable, str(ROOT / "bench" / f"{name}.py"), *SCRIPTS[name]]


def run_all() -> int:
    failed = []
    started = time.monotonic()
    for name in ORDER:
        if name in SCRIPTS and not (ROOT / "bench" / f"{name}.py").exists():
            print(f"== {name}: bench/{name}.py does not exist (yet): not measured", flush=True)
            continue
        print(f"== {name} ({time.monotonic() - started:.0f} s into the suite)", flush=True)
        code = subprocess.run(command(name), cwd=ROOT).returncode
        if code != 0:
            failed.append(f"{name} (exit {code})")
    report.main([])
    print(f"suite took {time.monotonic() - started:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv:
        return run_all()
    name, rest = argv[0], argv[1:]
    if name == "report":
        return report.main(rest)
    if name in MODULES or name in ON_REQUEST:
        return int(importlib.import_module(f"bench.{name}").main(rest))
    if name in SCRIPTS:
        return subprocess.run([*command(name)[:2], *rest] if rest else command(name), cwd=ROOT).returncode
    print(f"unknown figure {name!r}; figures: {', '.join(ORDER)}, or report", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
