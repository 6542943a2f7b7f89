"""The report's pictures (PNG), for one run or several compared (one curve per run).

Figures are drawn on ``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot, so no
display and no global state is involved. A picture whose data is empty in every run is not
written; :func:`draw_all` says why, and the report shows that sentence instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from monerosim_actors.events.names import EventName

from .run import Run

DPI = 150
CDF_POINTS = 2000
"""A CDF of more samples is drawn through this many quantiles (the same curve, a lighter file)."""
PANEL_MIN_MESSAGES = 3
"""A message type with fewer delivered messages than this gets no latency panel of its own: such
types share one ``other`` panel."""


@dataclass(frozen=True)
class Picture:
    """One plot of the report: where it is, or why there is none."""

    name: str
    title: str
    caption: str
    """One line that says what the picture shows, for report.md."""
    path: Path | None
    no_data: str | None
    """Why the picture was not drawn (None when it was)."""


Drawer = Callable[[Figure, list[Run], list[dict[str, Any]]], bool]
"""Draws on a figure; returns False when there is nothing to draw."""


def draw_all(runs: list[Run], summaries: list[dict[str, Any]], out_dir: Path) -> list[Picture]:
    """Draw every picture of the report into ``out_dir`` (``NAME.png``)."""
    pictures = []
    for name, title, caption, no_data, draw in PICTURES:
        fig = Figure(figsize=(8, 5), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        if draw(fig, runs, summaries):
            fig.suptitle(title)
            path = out_dir / f"{name}.png"
            fig.savefig(path)
            pictures.append(Picture(name, title, caption, path, None))
        else:
            pictures.append(Picture(name, title, caption, None, no_data))
    return pictures


def _cdf(ax: Any, values: pd.Series, label: str, **style: Any) -> None:
    v = np.sort(values.dropna().to_numpy(dtype=float))
    if len(v) > CDF_POINTS:
        q = np.linspace(0, 1, CDF_POINTS + 1)
        ax.plot(np.quantile(v, q), q, label=label, **style)
    else:
        ax.step(np.concatenate([[v[0]], v]), np.arange(len(v) + 1) / len(v), where="post",
                label=label, **style)


def _label(run: Run, runs: list[Run], values: pd.Series) -> str:
    n = int(values.notna().sum())
    return f"{run.label} (n={n})" if len(runs) > 1 else f"n={n}"


def _grid(fig: Figure, n: int) -> list[Any]:
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig.set_size_inches(4 * cols, 3 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


def latency_panels(delivered: list[pd.DataFrame]) -> list[tuple[str, list[str]]]:
    """(title, message types) of each latency panel: one per type with at least
    :data:`PANEL_MIN_MESSAGES` delivered messages (in all runs together), then one ``other`` panel
    for the rest, if any."""
    counts: dict[str, int] = {}
    for m in delivered:
        for kind, n in m["type"].value_counts().items():
            counts[str(kind)] = counts.get(str(kind), 0) + int(n)
    kinds = sorted(counts)
    own = [k for k in kinds if counts[k] >= PANEL_MIN_MESSAGES]
    rest = [k for k in kinds if counts[k] < PANEL_MIN_MESSAGES]
    panels = [(k, [k]) for k in own]
    if rest:
        panels.append((f"other ({len(rest)} types of < {PANEL_MIN_MESSAGES} messages)", rest))
    return panels


def latency_cdf(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """One panel per message type, one curve per run; the types with fewer than
    :data:`PANEL_MIN_MESSAGES` messages share one ``other`` panel."""
    delivered = [r.messages[r.messages["latency_ms"].notna()] for r in runs]
    panels = latency_panels(delivered)
    if not panels:
        return False
    for ax, (title, kinds) in zip(_grid(fig, len(panels)), panels):
        for run, m in zip(runs, delivered):
            values = m.loc[m["type"].isin(kinds), "latency_ms"]
            if len(values):
                _cdf(ax, values, _label(run, runs, values))
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("one-way latency (ms)")
        ax.set_ylabel("fraction of messages")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return True


def latency_heatmap(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """Median latency per (sender group, receiver group); one panel per run."""
    delivered = [r.messages[r.messages["latency_ms"].notna()] for r in runs]
    if not any(len(m) for m in delivered):
        return False
    groups = sorted(set().union(*(set(m["src_group"]) | set(m["dst_group"]) for m in delivered)))
    cells = [m.groupby(["src_group", "dst_group"])["latency_ms"].agg(["median", "count"])
             for m in delivered]
    top = max(float(c["median"].max()) for c in cells if len(c))
    fig.set_size_inches(max(6, 1.1 * len(groups) + 2) * len(runs), 1.0 * len(groups) + 3)
    axes = fig.subplots(1, len(runs), squeeze=False).ravel()
    for ax, run, cell in zip(axes, runs, cells):
        grid = np.full((len(groups), len(groups)), np.nan)
        for (src, dst), row in cell.iterrows():
            i, j = groups.index(src), groups.index(dst)
            grid[i, j] = row["median"]
            dark = row["median"] > 0.6 * (top or 1)
            ax.text(j, i, f"{row['median']:.1f}\n(n={int(row['count'])})", ha="center",
                    va="center", fontsize="x-small", color="white" if dark else "black")
        if not len(cell):
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
        image = ax.imshow(grid, cmap="viridis_r", vmin=0, vmax=top or 1, alpha=0.85)
        ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize="small")
        ax.set_yticks(range(len(groups)), groups, fontsize="small")
        ax.set_xlabel("receiver group (role)")
        ax.set_ylabel("sender group (role)")
        if len(runs) > 1:
            ax.set_title(run.label, fontsize="medium")
    fig.colorbar(image, ax=list(axes), label="median one-way latency (ms)")
    return True


def blocks_per_pool(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """Share of schedule-phase blocks per pool with its 95% interval, against the expected share."""
    pools = list(dict.fromkeys(p for s in summaries for p in s["blocks"]["by_pool"]))
    if not pools or not any(s["blocks"]["schedule"] for s in summaries):
        return False
    ax = fig.subplots()
    width = 0.8 / len(runs)
    x = np.arange(len(pools))
    for k, (run, summary) in enumerate(zip(runs, summaries)):
        rows = [summary["blocks"]["by_pool"].get(p) for p in pools]
        share = [r["share"] if r and r["share"] is not None else np.nan for r in rows]
        low = [s - r["share_ci95"][0] if r and r["share_ci95"] else 0 for s, r in zip(share, rows)]
        high = [r["share_ci95"][1] - s if r and r["share_ci95"] else 0 for s, r in zip(share, rows)]
        label = (f"{run.label} " if len(runs) > 1 else "") + \
            f"observed ({summary['blocks']['schedule']} blocks, 95% CI)"
        ax.bar(x - 0.4 + width * (k + 0.5), share, width * 0.9, yerr=[low, high], capsize=4,
               label=label)
    expected = [next((s["blocks"]["by_pool"][p]["expected_share"] for s in summaries
                      if p in s["blocks"]["by_pool"]), None) for p in pools]
    ax.hlines([np.nan if e is None else e for e in expected], x - 0.45, x + 0.45, color="black",
              linewidth=2, zorder=3, label="expected (hashrate share)")
    ax.set_xticks(x, pools)
    ax.set_xlabel("mining pool")
    ax.set_ylabel("share of schedule-phase blocks")
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    return True


def payment_delay(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """CDF of the delay from a payment's send to its confirmation (solid) and its sight in the
    marketplace's pool (dashed)."""
    if not any(r.payments["received_at"].notna().any() for r in runs):
        return False
    ax = fig.subplots()
    for k, run in enumerate(runs):
        color = f"C{k}"
        prefix = f"{run.label}: " if len(runs) > 1 else ""
        for column, what, style in (("confirmation_delay_s", "confirmed", "-"),
                                    ("pool_delay_s", "seen in pool", "--")):
            values = run.payments[column]
            if values.notna().any():
                _cdf(ax, values, f"{prefix}{what} (n={int(values.notna().sum())})", color=color,
                     linestyle=style)
    ax.set_xlabel("delay since the payment was sent (s)")
    ax.set_ylabel("fraction of the payments that got there")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return True


def node_heights(seen: pd.DataFrame) -> pd.DataFrame:
    """The height each node had seen (column) at each time a node saw a block (index, as logged);
    NaN before a node's first block."""
    per_node = {node: rows.set_index("seen_at")["height"].astype(float).cummax()
                for node, rows in seen.groupby("node", sort=True)}
    times = np.sort(seen["seen_at"].unique())
    return pd.DataFrame({node: h[~h.index.duplicated(keep="last")].reindex(times).ffill()
                         for node, h in per_node.items()}, index=times)


def bootstrap_end(run: Run) -> float | None:
    """When the block controller logged ``bootstrap_done`` (its first), as event time; None if never."""
    done = run.events.get(EventName.BOOTSTRAP_DONE)
    if done is None or not len(done):
        return None
    controllers = set(run.hosts.loc[run.hosts["role"] == "block_controller", "host"])
    times = done.loc[done["host"].isin(controllers), "t"]
    return float(times.min()) if len(times) else None


def chain_height(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """One run: the median height the nodes had seen over time, with the band from the lowest to the
    highest node (nodes that agree draw one line, not lines on top of each other). Several runs: the
    highest height of any node, one curve per run. A dotted vertical line marks each run's
    ``bootstrap_done``. Time is scenario seconds since the run started."""
    if not any(len(r.block_seen) for r in runs):
        return False
    ax = fig.subplots()
    for k, run in enumerate(runs):
        seen = run.block_seen.dropna(subset=["height"]).sort_values("seen_at", kind="stable")
        if not len(seen):
            continue
        color = f"C{k}"
        prefix = f"{run.label}: " if len(runs) > 1 else ""
        heights = node_heights(seen)
        times = (np.append(heights.index.to_numpy(), run.end) - run.start) * run.time_scale

        def extend(values: np.ndarray) -> np.ndarray:
            return np.append(values, values[-1])

        top = extend(heights.max(axis=1).to_numpy())
        if len(runs) == 1:
            low = extend(heights.min(axis=1).to_numpy())
            ax.fill_between(times, low, top, step="post", color=color, alpha=0.25, lw=0,
                            label=f"lowest to highest node ({heights.shape[1]} nodes)")
            ax.step(times, extend(heights.median(axis=1).to_numpy()), where="post", color=color,
                    lw=1.5, label="median node")
        else:
            ax.step(times, top, where="post", color=color, lw=1.5, label=f"{run.label}: highest node")
        done = bootstrap_end(run)
        if done is not None:
            ax.axvline((done - run.start) * run.time_scale, color=color, linestyle=":", lw=1.2,
                       label=f"{prefix}bootstrap done")
    ax.set_xlabel("scenario time since the run started (s)")
    ax.set_ylabel("block height seen" if len(runs) == 1 else "highest block seen by any node")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return True


def propagation_cdf(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """CDF of the delay from a block's mining to its first sight on each other node."""
    delays = [r.block_seen.loc[~r.block_seen["is_miner"], "delay_s"] for r in runs]
    if not any(d.notna().any() for d in delays):
        return False
    ax = fig.subplots()
    for run, values in zip(runs, delays):
        if values.notna().any():
            _cdf(ax, values, _label(run, runs, values))
    ax.set_xlabel("delay from mining to first sight on a node (s)")
    ax.set_ylabel("fraction of (block, node) pairs")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return True


def tx_reach(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """CDF of the time from a transaction's send to its first public sighting and to 50%, 90% and
    all of the nodes."""
    known = [r for r in runs if r.transactions["first_seen_s"].notna().any()]
    if not known:
        return False
    ax = fig.subplots()
    for run in known:
        prefix = f"{run.label}: " if len(known) > 1 else ""
        for column, what in (("first_seen_s", "first public sighting"), ("reach_50_s", "50% of nodes"),
                             ("reach_90_s", "90% of nodes"), ("reach_all_s", "every node but the fluffer")):
            values = run.transactions[column]
            if values.notna().any():
                _cdf(ax, values, f"{prefix}{what}")
    ax.set_xlabel("time since the wallet sent the transaction (s)")
    ax.set_ylabel("fraction of transactions")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return True


def stale_rate(fig: Figure, runs: list[Run], summaries: list[dict[str, Any]]) -> bool:
    """Stale rate of each pool's schedule blocks with its 95% interval, and the run's measured and
    predicted rates across all pools (lines, the prediction's interval as a band)."""
    known = [(run, s["stale"]) for run, s in zip(runs, summaries) if s["stale"]["available"]]
    pools = list(dict.fromkeys(p for _, st in known for p in st["by_pool"]))
    if not pools or not any(st["rate"] is not None for _, st in known):
        return False
    ax = fig.subplots()
    width = 0.8 / len(known)
    x = np.arange(len(pools))
    for k, (run, st) in enumerate(known):
        rows = [st["by_pool"].get(p) for p in pools]
        rate = [r["rate"] if r and r["rate"] is not None else np.nan for r in rows]
        low = [v - r["rate_ci95"][0] if r and r["rate_ci95"] else 0 for v, r in zip(rate, rows)]
        high = [r["rate_ci95"][1] - v if r and r["rate_ci95"] else 0 for v, r in zip(rate, rows)]
        prefix = f"{run.label} " if len(known) > 1 else ""
        bars = ax.bar(x - 0.4 + width * (k + 0.5), rate, width * 0.9, yerr=[low, high], capsize=4,
                      label=f"{prefix}per pool (95% CI)")
        color = bars.patches[0].get_facecolor()
        ax.axhline(st["rate"], color=color, linestyle="-", linewidth=1.5,
                   label=f"{prefix}measured, all pools: {st['rate']:.4g}")
        pred = st["predicted"]
        if pred["available"] and pred["rate"] is not None:
            ax.axhline(pred["rate"], color=color, linestyle="--", linewidth=1.5,
                       label=f"{prefix}predicted: {pred['rate']:.4g}")
            ax.axhspan(*pred["rate_ci95"], color=color, alpha=0.15)
    ax.set_xticks(x, pools)
    ax.set_xlabel("mining pool")
    ax.set_ylabel("stale blocks / schedule blocks mined")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    return True


PICTURES: list[tuple[str, str, str, str, Drawer]] = [
    ("latency_cdf", "One-way latency of coordination messages, per message type",
     "CDF of `recv_at - sent_at` of every delivered bus message, one panel per message type; "
     "the types with fewer than 3 messages share the panel `other`.",
     "no message was delivered", latency_cdf),
    ("latency_heatmap", "Median one-way latency between host groups",
     "Median latency (ms) and message count per (sender role, receiver role).",
     "no message was delivered", latency_heatmap),
    ("blocks_per_pool", "Blocks per mining pool against the expected share",
     "Share of the schedule-phase blocks each pool mined, with its exact (Clopper-Pearson) 95% "
     "interval; the black mark is the pool's configured hashrate share.",
     "no block was mined in the schedule phase", blocks_per_pool),
    ("payment_delay", "Payment delays",
     "CDF of the time from `payment_sent` to the marketplace's `payment_confirmed` (solid) and "
     "`payment_received` (dashed, seen in its pool).",
     "no payment reached a marketplace", payment_delay),
    ("chain_height", "Chain height over time",
     "The median height the nodes had seen, with the band from the lowest to the highest node "
     "(several runs: the highest of any node), in scenario seconds since the run started; the "
     "dotted line is the end of the bootstrap (the block controller's `bootstrap_done`).",
     "no node logged a block", chain_height),
    ("propagation_cdf", "Block propagation",
     "CDF of the delay from a block's mining to its first sight on each node other than the "
     "miner's.",
     "no block was seen by a node other than its miner", propagation_cdf),
    ("stale_rate", "Stale blocks per mining pool",
     "Share of each pool's schedule blocks that are not on the final main chain, with its exact 95% "
     "interval; the solid line is the run's rate over all pools, the dashed line and band the rate "
     "its own latencies predict and its 95% interval (docs/analysis.md).",
     "the logs lack the blocks' parents, or no block was mined in the schedule", stale_rate),
    ("tx_reach", "How transactions spread",
     "CDF of the time from a wallet's send to the transaction's first public sighting (after its "
     "Dandelion++ stem) and until 50%, 90% and all of the nodes that can show it (every node but the "
     "one that fluffed it) had (docs/analysis.md).",
     "no node logged a transaction (`tx_seen`)", tx_reach),
]
