"""What every figure needs: interleaved rounds, percentiles, memory readings, result files.

These machines are noisy, so a figure is never one absolute time: the project's path (A) and its
baseline (B) run in alternating rounds (A B A B ...) in the same process and the figure is the median
over rounds, with the ratio A/B taken per pair of rounds and its median reported.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), nearest rank; ``samples`` need not be sorted."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def interleaved(rounds: int, project: Callable[[], dict[str, float]],
                baseline: Callable[[], dict[str, float]]) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Run ``project`` and ``baseline`` in alternating rounds (A B A B ...); each returns its metrics."""
    a: list[dict[str, float]] = []
    b: list[dict[str, float]] = []
    for _ in range(rounds):
        a.append(project())
        b.append(baseline())
    return a, b


def summarise(a: list[dict[str, float]], b: list[dict[str, float]], key: str) -> dict[str, float]:
    """Medians of ``key`` over the rounds of each side and the median of the per-round ratios A/B."""
    return {"project": statistics.median(r[key] for r in a),
            "baseline": statistics.median(r[key] for r in b),
            "ratio": statistics.median(x[key] / y[key] for x, y in zip(a, b, strict=True))}


def rss_mb(pid: int) -> float:
    """The resident set size of process ``pid`` (``VmRSS``), in MiB.

    Raises:
        psutil.NoSuchProcess: there is no such process.
    """
    return psutil.Process(pid).memory_info().rss / 2**20


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release(),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def row(figure: str, *, baseline: str, value: str, ratio: float | None, target: str,
        met: bool | None) -> dict[str, Any]:
    """One line of the BENCHMARKS.md table (``met`` None: no target)."""
    return {"figure": figure, "baseline": baseline, "value": value,
            "ratio": None if ratio is None else round(ratio, 3), "target": target, "met": met}


def write_result(name: str, what: str, rows: list[dict[str, Any]], data: dict[str, Any]) -> Path:
    """Write ``bench/results/NAME.json`` (the table rows, the raw data behind them, the machine) and
    print the rows."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"benchmark": name, "what": what, "rows": rows, "data": data, "machine": machine(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    for r in rows:
        print(f"{r['figure']}: {r['value']} vs {r['baseline']} (ratio {r['ratio']})")
    return path


def us(seconds: float) -> str:
    """A duration for the table, in microseconds or milliseconds."""
    return f"{seconds * 1e6:.0f} us" if seconds < 1e-2 else f"{seconds * 1e3:.1f} ms"
