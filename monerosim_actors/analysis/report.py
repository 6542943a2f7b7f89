"""Writing a report folder: summary.json, the CSV tables, the pictures and report.md.

One run: everything at the top of the folder. Several runs: each run's tables and summary in a
sub-folder named by its label, ``summary.json`` keyed by label, ``comparison.csv``, and pictures
with one curve per run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monerosim_actors.errors import OutputError

from . import compare
from .checks import check_consistency
from .plots import Picture, draw_all
from .run import Run
from .summary import summarize

log = logging.getLogger(__name__)

TABLES: list[tuple[str, str]] = [
    ("messages", "one row per bus message: send joined with receipt by id, latency, status"),
    ("links", "one row per (src, dst) host pair: messages, delivered, lost, latency percentiles"),
    ("blocks", "one row per mined block: pool, phase, when mined and first seen, by how many nodes"),
    ("block_seen", "one row per (block, node): when the node first saw it, delay since mined"),
    ("payments", "one row per payment: send or failure, receipt and confirmation, delays"),
    ("hosts", "one row per host: role, node, pool, whether its log was read whole"),
]
"""The CSV files of a run (``NAME.csv``, the :class:`Run` attribute of the same name)."""


def write_report(runs: Sequence[Run], out_dir: str | Path) -> Path:
    """Analyse the runs into ``out_dir``; returns the path of report.md.

    Raises:
        OutputError: the report folder cannot be written.
    """
    out = Path(out_dir)
    runs = list(runs)
    labels = [r.label for r in runs]
    if len(set(labels)) < len(labels):
        raise OutputError(f"runs must have different labels, got {labels}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        summaries = [summarize(r) for r in runs]
        if len(runs) == 1:
            _write_run(runs[0], summaries[0], out)
            table = None
        else:
            for run, summary in zip(runs, summaries):
                (out / run.label).mkdir(exist_ok=True)
                _write_run(run, summary, out / run.label)
            _write_json(out / "summary.json", {"runs": dict(zip((r.label for r in runs),
                                                                 summaries))})
            table = compare.comparison(summaries, [r.label for r in runs])
            table.to_csv(out / "comparison.csv")
        pictures = draw_all(runs, summaries, out)
        path = out / "report.md"
        path.write_text(render(runs, summaries, pictures, table), encoding="utf-8")
    except OSError as e:
        raise OutputError(f"{out}: cannot write the report: {e}") from e
    log.info("report written to %s", path)
    return path


def _write_run(run: Run, summary: dict[str, Any], out: Path) -> None:
    _write_json(out / "summary.json", summary)
    for name, _ in TABLES:
        getattr(run, name).to_csv(out / f"{name}.csv", index=False)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(runs: Sequence[Run], summaries: Sequence[dict[str, Any]], pictures: list[Picture],
           table: pd.DataFrame | None) -> str:
    """The text of report.md."""
    labels = ", ".join(r.label for r in runs)
    parts = [f"# monerosim-actors report: {labels}\n"]
    if table is not None:
        parts.append("## Comparison\n\nHeadline numbers of each run (`comparison.csv`); each run's "
                     "own tables and summary are in the folder named by its label.\n")
        parts.append(_table(["metric", *table.columns],
                            [[name, *(None if pd.isna(v) else v for v in row)]
                             for name, row in table.iterrows()]))
    for run, summary in zip(runs, summaries):
        if table is None:
            parts.append(_run_section(run, summary, prefix="", heading="##"))
        else:
            parts.append(f"## Run {run.label}\n")
            parts.append(_run_section(run, summary, prefix=f"{run.label}/", heading="###"))
    parts.append("## Pictures\n")
    for picture in pictures:
        if picture.path is not None:
            parts.append(f"### {picture.title}\n\n![{picture.title}]({picture.path.name})\n\n"
                         f"{picture.caption}\n")
        else:
            parts.append(f"### {picture.title}\n\nNo picture: {picture.no_data}.\n")
    return "\n".join(parts)


def _run_section(run: Run, s: dict[str, Any], prefix: str, heading: str) -> str:
    h = s["hosts"]
    m, b, p = s["messages"], s["blocks"], s["payments"]
    duration = (s["run"]["end"] - s["run"]["start"]) if s["run"]["start"] is not None else None
    out = [f"{heading} Hosts\n",
           f"Run folder `{run.out_dir}`: {h['total']} hosts, events over {_fmt(duration)} s. "
           f"Missing logs: {', '.join(h['missing_logs']) or 'none'}. "
           f"Logs cut mid-line (crash): {', '.join(h['truncated_logs']) or 'none'}.\n"]
    problems = check_consistency(run)
    out.append("Consistency: " + ("; ".join(problems) if problems else "the numbers agree with "
               "the logs (blocks mined = chain height gained, confirmed <= sent, every receipt "
               "has a send).") + "\n")
    out.append(f"{heading} Coordination messages\n")
    out.append(f"{m['count']} messages: {m['delivered']} delivered, {m['lost']} lost (sent, never "
               f"received), {m['receipt_only']} received without a logged send. One-way latency "
               f"`recv_at - sent_at` per type:\n")
    out.append(_table(["type", "count", "delivered", "lost", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                      [[k, v["count"], v["delivered"], v["lost"], v["p50_ms"], v["p90_ms"],
                        v["p99_ms"], v["max_ms"]] for k, v in m["by_type"].items()])
               if m["by_type"] else "No message was logged.\n")
    out.append(f"{heading} Blocks\n")
    out.append(f"{b['total']} blocks mined: {b['bootstrap']} in the bootstrap, {b['schedule']} in "
               f"the schedule. Shares are of the schedule's blocks; chi-square p-value of the "
               f"counts against the configured shares: {_fmt(b['chi2_p'])}.\n")
    out.append(_table(["pool", "blocks", "share", "95% interval", "expected share",
                       "bootstrap blocks"],
                      [[k, v["blocks"], v["share"],
                        "n/a" if v["share_ci95"] is None
                        else f"{v['share_ci95'][0]:.3f} to {v['share_ci95'][1]:.3f}",
                        v["expected_share"], v["bootstrap_blocks"]] for k, v in b["by_pool"].items()])
               if b["by_pool"] else "No mining pool in the plan.\n")
    out.append(f"{heading} Payments\n")
    cd, pd_ = p["confirmation_delay_s"], p["pool_delay_s"]
    out.append(f"{p['sent']} sent, {p['failed']} failed (after {p['failed_attempts']} failed "
               f"attempts in all), {p['received']} seen by a marketplace, "
               f"{p['confirmed']} confirmed. Delay from send to confirmation: p50 {_fmt(cd['p50'])} s, "
               f"p90 {_fmt(cd['p90'])} s, max {_fmt(cd['max'])} s; to the marketplace's pool: p50 "
               f"{_fmt(pd_['p50'])} s.\n")
    prop = s["propagation_s"]
    heights = s["nodes"]["final_heights"]
    out.append(f"{heading} Nodes\n")
    out.append(f"Block propagation (mining to first sight on another node): p50 {_fmt(prop['p50'])} s, "
               f"p90 {_fmt(prop['p90'])} s, max {_fmt(prop['max'])} s. Final heights:\n")
    out.append(_table(["node", "final height"], list(heights.items())) if heights
               else "No host runs a node.\n")
    out.append(f"{heading} Tables\n")
    out.append("\n".join(f"- [`{prefix}{name}.csv`]({prefix}{name}.csv): {what}"
                         for name, what in TABLES) + f"\n- [`{prefix}summary.json`]"
               f"({prefix}summary.json): the numbers above\n")
    return "\n".join(out)
