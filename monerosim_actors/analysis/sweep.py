"""Analysis across the runs of a sweep: per parameter point, the mean over seeds and its 95% interval.

Each run that is done is read and summarised as ``analyze`` does one run (:func:`summarize`; a run
carried out by a worker that could not see the sweep folder was summarised there, and its
``summary.json`` sent home is read instead); from
each summary a few numbers are taken (:data:`METRICS`): the coordination latency p50/p90/p99 of every
message type, the blocks-share error, the payment confirmation delay, the block propagation delay,
the stale rate (measured and predicted), and how transactions spread (the
first public sighting, every node, and the first spy's precision).
Per point (one combination of the swept values) their mean over the seeds is given with a Student t
95% confidence interval (the seeds are independent replications; with one seed there is no
interval). One CSV table per metric, ``summary.json``, pictures of each metric against each swept
parameter with the intervals drawn, and ``report.md``. Runs that are not done, or whose logs cannot
be read, are left out and listed.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats as sps

from monerosim_actors import defaults
from monerosim_actors.errors import OutputError
from monerosim_actors.sweep import index

from .run import load_run
from .summary import summarize

log = logging.getLogger(__name__)

CONFIDENCE = 0.95
DPI = 150
PANEL_COLUMNS = 4
Series = tuple[str, ...]
"""What a value is of within a metric, e.g. ``("get_vendors", "p90_ms")``; ``()`` for a single value."""


def latency(summary: dict[str, Any]) -> dict[Series, float | None]:
    """One-way bus latency of each message type, p50/p90/p99 in ms."""
    return {(kind, stat): values.get(f"{stat}_ms")
            for kind, values in summary["messages"]["by_type"].items() for stat in ("p50", "p90", "p99")}


def share_error(summary: dict[str, Any]) -> dict[Series, float | None]:
    """How far the schedule's blocks per pool are from the configured hashrate shares: the total
    variation distance, ½ Σ |share − expected share| over the pools (0: exactly the shares; else the
    fraction of blocks that would have to change pool). None without a schedule block."""
    pools = summary["blocks"]["by_pool"].values()
    if not summary["blocks"]["schedule"] or any(p["expected_share"] is None for p in pools):
        return {(): None}
    return {(): round(0.5 * sum(abs(p["share"] - p["expected_share"]) for p in pools), 6)}


def confirmation_delay(summary: dict[str, Any]) -> dict[Series, float | None]:
    """Delay from a payment's send to its confirmation, p50/p90 in scenario seconds."""
    delay = summary["payments"]["confirmation_delay_s"]
    return {(stat,): delay.get(stat) for stat in ("p50", "p90")}


def propagation(summary: dict[str, Any]) -> dict[Series, float | None]:
    """Delay from a block's mining to its first sighting on another node, p50/p90/p99 in scenario seconds."""
    return {(stat,): summary["propagation_s"].get(stat) for stat in ("p50", "p90", "p99")}


def stale_rate(summary: dict[str, Any]) -> dict[Series, float | None]:
    """Stale blocks over the schedule's blocks mined (measured), and the rate the run's own
    latencies predict (docs/analysis.md). None where the logs lack the blocks' parents or no block
    was mined in the schedule."""
    st = summary.get("stale", {})
    pred = st.get("predicted", {})
    return {("measured",): st.get("rate") if st.get("available") else None,
            ("predicted",): pred.get("rate") if pred.get("available") else None}


def tx_spread(summary: dict[str, Any]) -> dict[Series, float | None]:
    """How transactions spread (docs/analysis.md, "Transactions"): the time from the send to the
    first public sighting and to every node (p50, scenario seconds), and the first spy's precision and
    how often the first sighting is the sender's node or a peer of it. None where no node logged
    ``tx_seen``."""
    t = summary.get("transactions", {})
    if not t.get("available"):
        return {(name,): None for name in ("first_public_p50", "reach_all_p50", "spy_precision",
                                          "spy_sender_or_peer")}
    return {("first_public_p50",): t["first_public_s"]["p50"], ("reach_all_p50",): t["reach_all_s"]["p50"],
            ("spy_precision",): t["spy_all_nodes"]["precision"],
            ("spy_sender_or_peer",): t["spy_all_nodes"]["sender_or_peer"]}


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    unit: str
    columns: tuple[str, ...]
    """Names of the parts of a :data:`Series` (the table's columns before the statistics)."""
    extract: Callable[[dict[str, Any]], dict[Series, float | None]]
    plotted: Callable[[Series], bool]
    """Which series the pictures show (all of them are in the table)."""


METRICS = (
    Metric("latency", "coordination latency p50 per message type", "ms", ("type", "statistic"), latency,
           lambda s: s[1] == "p50"),
    Metric("blocks_share_error", "blocks-share error (total variation distance)", "", (), share_error,
           lambda s: True),
    Metric("confirmation_delay", "payment confirmation delay p50", "s", ("statistic",), confirmation_delay,
           lambda s: s[0] == "p50"),
    Metric("propagation", "block propagation delay p50", "s", ("statistic",), propagation,
           lambda s: s[0] == "p50"),
    Metric("stale_rate", "stale rate (measured)", "", ("statistic",), stale_rate,
           lambda s: s[0] == "measured"),
    Metric("tx_spread", "transaction spread: first public sighting p50", "", ("statistic",), tx_spread,
           lambda s: s[0] == "first_public_p50"),
)


def interval(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) of the Student t 95% confidence interval of the mean; the bounds are None
    with fewer than two values, everything None with none."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return None, None, None
    mean = float(v.mean())
    if len(v) < 2:
        return mean, None, None
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def _round(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 6)


def metric_table(metric: Metric, sweep: index.SweepIndex, summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (point, series): the point's parameters, the series, seeds with a value, mean, 95% CI."""
    by_point: dict[str, list[dict[Series, float | None]]] = {pid: [] for pid, _ in sweep.points}
    for run in sweep.runs:
        if run.id in summaries:
            by_point[run.point].append(metric.extract(summaries[run.id]))
    rows = []
    for pid, params in sweep.points:
        found = by_point[pid]
        series = sorted({s for values in found for s in values})
        for s in series or ([()] if not metric.columns else []):
            values = [v[s] for v in found if v.get(s) is not None]
            mean, low, high = interval(values)  # type: ignore[arg-type]
            rows.append({"point": pid, **{k: params.get(k) for k in sweep.parameters},
                         **dict(zip(metric.columns, s)), "seeds": len(values), "mean": _round(mean),
                         "ci95_low": _round(low), "ci95_high": _round(high)})
    columns = ["point", *sweep.parameters, *metric.columns, "seeds", "mean", "ci95_low", "ci95_high"]
    return pd.DataFrame(rows, columns=columns)


def read_summaries(sweep_dir: Path, sweep: index.SweepIndex) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each done run's summary by run id, and why each other run is left out."""
    summaries, skipped = {}, {}
    for run in sweep.runs:
        folder = run.folder(sweep_dir)
        status = (index.read_status(folder) or {}).get("status", "never started")
        if status != index.DONE:
            skipped[run.id] = f"not done ({status})"
            continue
        log.info("reading %s", folder)
        sent_home = folder / index.SUMMARY_FILE
        try:
            if not (folder / index.OUT_DIR / defaults.DATA_DIR).is_dir() and sent_home.is_file():
                summaries[run.id] = json.loads(sent_home.read_text(encoding="utf-8"))  # its worker analysed it
            else:
                summaries[run.id] = summarize(load_run(folder / index.OUT_DIR, run.id))
        except (OutputError, ValueError) as e:
            skipped[run.id] = f"cannot be read: {e}"
    return summaries, skipped


def write_sweep_report(sweep_dir: str | Path, out_dir: str | Path) -> Path:
    """Analyse a sweep folder into ``out_dir``; returns the path of report.md.

    Raises:
        OutputError: it is no sweep folder, no run of it can be analysed, or the report cannot be written.
    """
    root = Path(sweep_dir)
    sweep = index.read_index(root)
    summaries, skipped = read_summaries(root, sweep)
    if not summaries:
        raise OutputError(f"{root}: no run of the sweep can be analysed: "
                          + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tables = {m.name: metric_table(m, sweep, summaries) for m in METRICS}
        for name, table in tables.items():
            table.to_csv(out / f"{name}.csv", index=False)
        runs = pd.DataFrame([{"run": r.id, "point": r.point, "seed": r.seed, **r.params,
                              "analysed": r.id in summaries, "left_out": skipped.get(r.id)} for r in sweep.runs])
        runs.to_csv(out / "runs.csv", index=False)
        (out / defaults.REPORT_SUMMARY_FILE).write_text(json.dumps({
            "parameters": list(sweep.parameters), "seeds": list(sweep.seeds),
            "runs": {"total": len(sweep.runs), "analysed": len(summaries), "left_out": skipped},
            "confidence": CONFIDENCE,
            "metrics": {name: json.loads(t.to_json(orient="records")) for name, t in tables.items()},
            "summaries": summaries}, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        pictures = [p for parameter in sweep.parameters for p in draw(sweep, tables, parameter, out)]
        path = out / "report.md"
        path.write_text(render(root, sweep, tables, skipped, pictures), encoding="utf-8")
    except OSError as e:
        raise OutputError(f"{out}: cannot write the report: {e}") from e
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _positions(values: list[Any]) -> tuple[list[float], list[str] | None]:
    """x positions of a parameter's values: the numbers themselves, else 0, 1, ... with labels."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], None
    return [float(i) for i in range(len(values))], [str(v) for v in values]


def draw(sweep: index.SweepIndex, tables: dict[str, pd.DataFrame], parameter: str, out: Path) -> list[Path]:
    """Two pictures against ``parameter``: the latency per message type, and the other metrics; one
    line per combination of the other swept parameters, each mean with its 95% interval."""
    values = list(dict.fromkeys(params[parameter] for _, params in sweep.points))
    xs, labels = _positions(values)
    others = [p for p in sweep.parameters if p != parameter]
    panels: dict[str, list[tuple[str, Metric, pd.DataFrame]]] = {"latency": [], "outcomes": []}
    for metric in METRICS:
        table = tables[metric.name]
        plotted = table[[metric.plotted(tuple(row)) for row in table[list(metric.columns)].itertuples(index=False)]] \
            if metric.columns else table
        if metric.name == "latency":
            for kind, group in plotted.groupby("type", sort=True):
                panels["latency"].append((str(kind), metric, group))
        else:
            panels["outcomes"].append((metric.title, metric, plotted))
    paths = []
    for name, items in panels.items():
        items = [(t, m, g) for t, m, g in items if g["mean"].notna().any()]
        if not items:
            continue
        ncols = min(PANEL_COLUMNS, len(items))
        nrows = math.ceil(len(items) / ncols)
        fig = Figure(figsize=(3.6 * ncols + 1, 2.9 * nrows + 0.8), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (title, metric, group) in zip(axes, items):
            _panel(ax, group, parameter, values, xs, labels, others)
            ax.set_title(title, fontsize=9)
            ax.set_ylabel(metric.unit or metric.name, fontsize=8)
        for ax in axes[len(items):]:
            ax.set_visible(False)
        handles, legend = axes[0].get_legend_handles_labels()
        if others and handles:
            fig.legend(handles, legend, loc="outside lower center", ncols=min(4, len(legend)), fontsize=8)
        what = "coordination latency p50 per message type" if name == "latency" else "outcomes"
        fig.suptitle(f"{what} against {parameter} (mean over seeds, 95% CI)", fontsize=10)
        path = out / f"{name}_vs_{_slug(parameter)}.png"
        fig.savefig(path)
        paths.append(path)
    return paths


def _panel(ax: Any, group: pd.DataFrame, parameter: str, values: list[Any], xs: list[float],
           labels: list[str] | None, others: list[str]) -> None:
    lines = list(dict.fromkeys(tuple(row) for row in group[others].itertuples(index=False))) if others else [()]
    span = (max(xs) - min(xs)) or 1.0
    for j, key in enumerate(lines):
        rows = group
        for name, value in zip(others, key):
            rows = rows[rows[name].map(lambda v, value=value: v == value)]
        points = [(xs[values.index(v)], m, lo, hi) for v, m, lo, hi in
                  zip(rows[parameter], rows["mean"], rows["ci95_low"], rows["ci95_high"]) if pd.notna(m)]
        if not points:
            continue
        points.sort()
        shift = (j - (len(lines) - 1) / 2) * 0.02 * span  # a nudge, so intervals do not hide each other
        x = np.array([p[0] for p in points]) + shift
        mean = np.array([p[1] for p in points], dtype=float)
        low = np.array([p[1] if pd.isna(p[2]) else p[2] for p in points], dtype=float)
        high = np.array([p[1] if pd.isna(p[3]) else p[3] for p in points], dtype=float)
        label = ", ".join(f"{name.rsplit('.', 1)[-1]}={value}" for name, value in zip(others, key)) or None
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", markersize=3, capsize=3, label=label)
    ax.set_xlabel(parameter.rsplit(".", 1)[-1], fontsize=8)
    ax.set_xticks(xs, labels or [str(v) for v in values])  # the swept values, and only them
    ax.set_xlim(min(xs) - 0.1 * span, max(xs) + 0.1 * span)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _markdown(table: pd.DataFrame) -> str:
    header = ["point", *[c.rsplit(".", 1)[-1] for c in table.columns[1:]]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def render(root: Path, sweep: index.SweepIndex, tables: dict[str, pd.DataFrame], skipped: dict[str, str],
           pictures: list[Path]) -> str:
    """The text of report.md."""
    parts = [f"# monerosim-actors sweep report: {root.resolve().name}\n",
             f"{len(sweep.runs)} runs: {len(sweep.points)} points x {len(sweep.seeds)} seeds "
             f"({', '.join(map(str, sweep.seeds))}), backend {sweep.backend}"
             + (f", time scale {sweep.time_scale:g}" if sweep.backend == "local" else "")
             + f". Swept: {', '.join(sweep.parameters) or 'nothing (seeds only)'}. Each value is the mean over "
               "the seeds of a point, with the Student t 95% confidence interval of that mean "
               "(`ci95_low`, `ci95_high`; none with one seed).\n"]
    if skipped:
        parts.append("Left out: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()) + ".\n")
    for metric in METRICS:
        doc = (metric.extract.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        parts.append(f"## {metric.name} (`{metric.name}.csv`)\n\n{' '.join(doc.split())}\n")
        parts.append(_markdown(tables[metric.name]))
    parts.append("## Pictures\n")
    for path in pictures:
        parts.append(f"![{path.stem}]({path.name})\n")
    return "\n".join(parts)
