"""Render ``BENCHMARKS.md`` from ``bench/results/*.json``: one table of figure, baseline, value, ratio, target.

The suite's own figures write their table rows into their JSON (``rows``, see
:func:`bench.common.row`); the figures other issues measure (idle syscalls, monerod, generator and
analysis scale) have their own JSON layouts, read here by one small function each. A figure whose
file is missing is listed as "not measured"; one whose file cannot be read says so. Results kept in
``bench/results/before/`` (a figure before a fix) are shown beside the current ones, and
``bench/findings.md``, the written account of what was profiled and fixed, is appended.

Run: ``.venv/bin/python -m bench report`` (``python -m bench`` renders it after the figures).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, row

Row = dict[str, Any]


def _own(data: dict[str, Any]) -> list[Row]:
    return list(data["rows"])


def _idle_host(data: dict[str, Any]) -> list[Row]:
    target = data.get("target_per_minute", 100)
    hosts = data["hosts"]
    measured = {name: h for name, h in hosts.items() if not name.startswith("control")}
    worst = max(h["per_minute"] for h in measured.values())
    control = {name: h["per_minute"] for name, h in hosts.items() if name.startswith("control")}
    baseline = ", ".join(f"{name}: {v:g}/min" for name, v in control.items()) or "-"
    per_host = ", ".join(f"{name} {h['per_minute']:g}" for name, h in measured.items())
    return [row("Idle host syscalls per minute (strace, runtime only)", baseline=baseline,
                value=f"{worst:g}/min ({per_host})", ratio=None, target=f"<= {target}/min",
                met=worst <= target)]


def _monerod(data: dict[str, Any]) -> list[Row]:
    m = data["median"]
    per_host = m["monerod_after_100_blocks_rss_mb"] + m["wallet_after_100_blocks_rss_mb"]
    return [
        row("monerod start-up (regtest, to RPC answering)", baseline="-", value=f"{m['monerod_ready_s']:.1f} s",
            ratio=None, target="(reported)", met=None),
        row("monerod RSS idle / after 100 blocks", baseline="-",
            value=f"{m['monerod_idle_rss_mb']:.0f} MB / {m['monerod_after_100_blocks_rss_mb']:.0f} MB",
            ratio=None, target="(bounds hosts per GB)", met=None),
        row("wallet-rpc RSS idle / after 100 blocks", baseline="-",
            value=f"{m['wallet_idle_rss_mb']:.0f} MB / {m['wallet_after_100_blocks_rss_mb']:.0f} MB",
            ratio=None, target="(reported)", met=None),
        row("Node hosts per GB (monerod + wallet after 100 blocks)", baseline="-",
            value=f"{1024 / per_host:.1f}", ratio=None, target="(reported)", met=None),
    ]


def _cpu(seconds: float | None) -> str:
    """`` (N s CPU)`` beside a wall time measured on a loaded machine, when the result has it."""
    return "" if seconds is None else f" ({seconds:.1f} s CPU)"


def _gen_scale(data: dict[str, Any]) -> list[Row]:
    """One figure per working folder measured (``by_workdir``: the disk or memory), or one in all."""
    runs = data["by_workdir"] if "by_workdir" in data else {"": data}
    rows = []
    for where, run in runs.items():
        place = f", in {where}" if where else ""
        sizes = sorted(run["sizes"], key=lambda s: s["users"])
        met = run.get("meets_targets", {})
        largest = sizes[-1]
        rows.append(row(f"gen, {largest['users']:,} users ({largest['hosts']:,} hosts){place}", baseline="-",
                        value=f"{largest['wall_s']:.1f} s{_cpu(largest.get('cpu_s'))}, {largest['peak_rss_mb']:.0f} MB",
                        ratio=None,
                        target="< 5 s and < 300 MB", met=bool(met.get("wall")) and bool(met.get("memory"))))
        if "ratio_10k_over_1k_wall" in run:
            rows.append(row(f"gen time growth, 1,000 -> 10,000 users{place}", baseline="-",
                            value=f"x{run['ratio_10k_over_1k_wall']:g}", ratio=run["ratio_10k_over_1k_wall"],
                            target="linear (<= 12)", met=met.get("linear")))
    return rows


def _analyze_scale(data: dict[str, Any]) -> list[Row]:
    target = data["target"]
    rows = []
    for r in sorted(data["results"], key=lambda r: r["message_events"]):
        at_target = r["message_events"] >= target["message_events"]
        rows.append(row(f"analyze, {r['message_events']:,} message events", baseline="-",
                        value=f"{r['seconds']:.1f} s{_cpu(r.get('cpu_seconds'))}, {r['peak_rss_mb']:.0f} MB", ratio=None,
                        target=f"< {target['seconds']} s and < {target['peak_rss_mb']} MB" if at_target else "(reported)",
                        met=(r["seconds"] < target["seconds"] and r["peak_rss_mb"] < target["peak_rss_mb"])
                        if at_target else None))
    return rows


SOURCES: dict[str, tuple[str, Callable[[dict[str, Any]], list[Row]]]] = {
    "bus_latency": ("Bus latency", _own),
    "bus_throughput": ("Bus throughput", _own),
    "coordination": ("Coordination vs the seed", _own),
    "host_footprint": ("Host footprint", _own),
    "idle_host": ("Idle cost", _idle_host),
    "monerod_footprint": ("monerod", _monerod),
    "local_growth": ("Local run growth", _own),
    "gen_scale": ("Generator scale", _gen_scale),
    "analyze_scale": ("Analysis scale", _analyze_scale),
    "shadow_speed": ("Under Shadow", _own),
    "randomx_sharing": ("RandomX shared", _own),
    "shadow_scale": ("Shadow at scale", _own),
}
"""Result file stem -> (section name, reader), in the table's order."""


def load_rows(results: Path, name: str) -> list[Row]:
    """The table rows of one result file; a missing or unreadable file gives one row saying so."""
    title, reader = SOURCES.get(name, (name, _own))
    path = results / f"{name}.json"
    if not path.exists():
        return [row(title, baseline="", value="not measured", ratio=None, target="", met=None)]
    try:
        return reader(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError, IndexError) as e:
        return [row(title, baseline="", value=f"unreadable ({type(e).__name__}: {e})", ratio=None,
                    target="", met=None)]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[met]


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.3g}"


def render(results: Path, findings: Path | None = None) -> str:
    """The whole of BENCHMARKS.md."""
    lines = ["# Benchmarks", "",
             "Rendered by `python -m bench report` from `bench/results/*.json`; `python -m bench` measures "
             "every figure again (about 15 minutes) and renders this file. Each figure is measured side "
             "by side with its baseline in the same run, in alternating rounds; values are medians "
             "(or the percentile named), ratios are project / baseline. A target marked **no** is "
             "missed; see the findings below.", "",
             "| Figure | Baseline | Value | Ratio | Target | Met? |", "|---|---|---|---|---|---|"]
    for name in SOURCES:
        for r in load_rows(results, name):
            lines.append(f"| {_cell(r['figure'])} | {_cell(r['baseline'])} | {_cell(r['value'])} | "
                         f"{_ratio(r['ratio'])} | {_cell(r['target'])} | {_met(r['met'])} |")
    lines += _machines(results)
    lines += _before_after(results / "before", results)
    if findings is not None and findings.exists():
        lines += ["", findings.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def _machines(results: Path) -> list[str]:
    out = ["", "## Where and when", "", "| Result file | Date (UTC) | Machine |", "|---|---|---|"]
    for name in SOURCES:
        path = results / f"{name}.json"
        if not path.exists():
            continue
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        machine = data.get("machine", {})
        described = ", ".join(f"{k} {v}" for k, v in sorted(machine.items())) if isinstance(machine, dict) else str(machine)
        out.append(f"| `{name}.json` | {_cell(data.get('date', '-'))} | {_cell(described)} |")
    return out


def _before_after(before: Path, after: Path) -> list[str]:
    """Rows of figures kept from before a fix, beside the same rows now."""
    if not before.is_dir():
        return []
    out = ["", "## Before and after the fixes", "",
           "`bench/results/before/` keeps the figures measured before the fixes described below.", "",
           "| Figure | Before | Ratio before | After | Ratio after |", "|---|---|---|---|---|"]
    for path in sorted(before.glob("*.json")):
        now = {r["figure"]: r for r in load_rows(after, path.stem)}
        for old in load_rows(before, path.stem):
            new = now.get(old["figure"])
            out.append(f"| {_cell(old['figure'])} | {_cell(old['value'])} | {_ratio(old['ratio'])} | "
                       f"{_cell(new['value']) if new else 'not measured'} | "
                       f"{_ratio(new['ratio']) if new else '-'} |")
    return out


def write(results: Path = ROOT / "bench" / "results", out: Path = ROOT / "BENCHMARKS.md",
          findings: Path = ROOT / "bench" / "findings.md") -> Path:
    out.write_text(render(results, findings))
    return out


def main(argv: list[str] | None = None) -> int:
    print(f"wrote {write()}")
    return 0
