"""Stale blocks and reorganisations: which mined blocks the final main chain holds, which lost a
race and to whom, and how often each node switched tips.

The main chain is followed by parents (``block_mined``'s ``prev``, else a node's ``block_seen``
``prev``) down from its tip: the highest mined block, the one seen by most nodes (then the earliest
mined) when two blocks share the top height. A mined block off that chain is **stale**: another
block won its height. Its winner is the main-chain block at the same height; ``beaten_by_s`` is
how much later (or, when negative, earlier) the stale block was mined, on the event clock.

Without every mined block's parent (logs written before blocks carried one) the main chain cannot
be told: ``main_chain`` stays empty and :func:`unavailable` says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monerosim_actors.events.names import EventName

from .tables import select

CONFIDENCE = 0.95


def unavailable(blocks: pd.DataFrame) -> str | None:
    """Why the stale figures cannot be had from these blocks, or None when they can."""
    missing = int(blocks["parent"].isna().sum())
    if not missing:
        return None
    return (f"{missing} of {len(blocks)} mined blocks have no parent in the logs (no `prev` in "
            f"`block_mined` or `block_seen`: logs written before blocks carried their parent), so "
            f"the main chain cannot be told from stale blocks")


def raced_heights(blocks: pd.DataFrame) -> int:
    """Heights at which more than one block was mined (they need no parents to be counted)."""
    return int((blocks["height"].value_counts() > 1).sum())


def mark_main_chain(blocks: pd.DataFrame) -> pd.DataFrame:
    """``blocks`` with ``main_chain`` (boolean; empty when :func:`unavailable`), ``beaten_by`` (the
    main-chain block at a stale block's height) and ``beaten_by_s`` (stale ``mined_at`` minus the
    winner's, event-clock seconds)."""
    out = blocks.assign(main_chain=pd.array([pd.NA] * len(blocks), dtype="boolean"),
                        beaten_by=pd.Series([None] * len(blocks), index=blocks.index, dtype=object),
                        beaten_by_s=np.full(len(blocks), np.nan))
    if not len(blocks) or unavailable(blocks) is not None:
        return out
    parent = dict(zip(blocks["hash"], blocks["parent"]))
    top = blocks.assign(neg_seen=-blocks["seen_by"]).sort_values(
        ["height", "neg_seen", "mined_at", "hash"], ascending=[False, True, True, True],
        kind="stable", na_position="last").iloc[0]["hash"]
    main: set[str] = set()
    block = top
    while block in parent and block not in main:
        main.add(block)
        block = parent[block]
    out["main_chain"] = out["hash"].isin(main).astype("boolean")
    winners = out[out["main_chain"]].drop_duplicates("height").set_index("height")
    stale = ~out["main_chain"]
    out.loc[stale, "beaten_by"] = out.loc[stale, "height"].map(winners["hash"])
    won_at = out.loc[stale, "height"].map(winners["mined_at"]).astype("float64")
    out.loc[stale, "beaten_by_s"] = (out.loc[stale, "mined_at"] - won_at).round(6)
    return out


def reorgs_table(events: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per ``chain_reorganized``: node, t, height (first of the new branch), depth (blocks
    dropped), top_before, dropped (hashes, ``;``-joined, lowest first), hash (the new block)."""
    r = select(events, EventName.CHAIN_REORGANIZED, {"host": "object", "t": "float64", "height": "Int64",
                                                     "depth": "Int64", "top_before": "Int64",
                                                     "dropped": "object", "hash": "object"})
    r = r.rename(columns={"host": "node"})
    r["dropped"] = r["dropped"].map(lambda d: ";".join(map(str, d)) if isinstance(d, list) else None)
    return r.sort_values(["t", "node"], kind="stable", ignore_index=True)[
        ["node", "t", "height", "depth", "top_before", "dropped", "hash"]]


def _ci(k: int, n: int) -> list[float | None] | None:
    from scipy import stats as sps

    if not n:
        return None
    ci = sps.binomtest(k, n).proportion_ci(CONFIDENCE)
    return [round(float(ci.low), 6), round(float(ci.high), 6)]


def stale_summary(blocks: pd.DataFrame, pools: list[str], time_scale: float) -> dict[str, Any]:
    """Stale blocks in all and per pool, and each race.

    ``rate`` is the schedule phase's stale blocks over its blocks mined, with a Clopper-Pearson 95%
    interval (the bootstrap is one pool mining alone: it cannot race). ``heights_raced`` counts the
    heights with more than one block (they need no parents). Each race names the stale block, its
    pool, the block that beat it, the time between them in scenario seconds (``gap_s``: the stale
    one's ``mined_at`` minus the winner's) and how many nodes saw each.
    """
    raced = raced_heights(blocks)
    why = unavailable(blocks)
    if why is not None:
        return {"available": False, "reason": why, "heights_raced": raced}
    schedule = blocks[blocks["phase"] == "schedule"]
    stale = blocks[blocks["main_chain"] == False]  # noqa: E712 (a nullable column)
    stale_schedule = int((schedule["main_chain"] == False).sum())  # noqa: E712
    n = len(schedule)
    seen_by = dict(zip(blocks["hash"], blocks["seen_by"]))
    pool_of = dict(zip(blocks["hash"], blocks["pool_id"]))
    by_pool = {}
    for pool in pools:
        mine = schedule[schedule["pool_id"] == pool]
        k = int((mine["main_chain"] == False).sum())  # noqa: E712
        by_pool[pool] = {"mined": len(mine), "stale": k,
                         "rate": round(k / len(mine), 6) if len(mine) else None, "rate_ci95": _ci(k, len(mine))}
    races = [{"height": int(row.height), "stale": row.hash, "pool": row.pool_id,
              "seen_by": int(row.seen_by), "beaten_by": row.beaten_by,
              "winner_pool": pool_of.get(row.beaten_by), "winner_seen_by": (
                  int(seen_by[row.beaten_by]) if row.beaten_by in seen_by else None),
              "gap_s": None if pd.isna(row.beaten_by_s) else round(float(row.beaten_by_s) * time_scale, 6)}
             for row in stale.itertuples(index=False)]
    return {"available": True, "reason": None, "blocks": len(stale), "schedule_blocks": stale_schedule,
            "heights_raced": raced, "rate": round(stale_schedule / n, 6) if n else None,
            "rate_ci95": _ci(stale_schedule, n), "by_pool": by_pool, "races": races}


def main_chain_shares(blocks: pd.DataFrame, pools: list[str]) -> dict[str, dict[str, Any]]:
    """Each pool's schedule blocks on the final main chain and its share of them (what it is paid
    for); None when the main chain cannot be told."""
    schedule = blocks[blocks["phase"] == "schedule"]
    known = unavailable(blocks) is None
    on_main = schedule[schedule["main_chain"] == True] if known else schedule.iloc[:0]  # noqa: E712
    total = len(on_main)
    out = {}
    for pool in pools:
        k = int((on_main["pool_id"] == pool).sum())
        out[pool] = {"main_chain_blocks": k if known else None,
                     "main_chain_share": round(k / total, 6) if known and total else None}
    return out


def reorgs_summary(reorgs: pd.DataFrame, nodes: list[str]) -> dict[str, Any]:
    """Reorganisations in all and per node (every node that runs one, in plan order), with depths."""
    by_node = {}
    for node in nodes:
        depths = [int(d) for d in reorgs.loc[reorgs["node"] == node, "depth"].dropna()]
        by_node[node] = {"count": len(depths), "depths": depths, "max_depth": max(depths, default=None)}
    return {"total": len(reorgs), "max_depth": (int(reorgs["depth"].max()) if reorgs["depth"].notna().any()
                                                else None), "by_node": by_node}
