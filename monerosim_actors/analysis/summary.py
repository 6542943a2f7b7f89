"""The headline numbers of one run, as plain JSON-ready data (``summary.json``).

Statistics of an empty set are None (JSON null), never NaN. Percentiles interpolate linearly
between samples (numpy's default). Milliseconds are rounded to 3 decimals, seconds to 6, shares to 6.

Latency against the network (``network``, and the ``excess_*`` and ``first*`` figures per message
type) is split in two: the first message on each connection (it can carry the TCP and ZMTP
handshakes, see :mod:`.connections`) and the rest, the steady state.

Durations are in scenario seconds. Event times are the hosts' ``time.time()``: under Shadow the
simulated clock (scenario seconds), under the local backend real time, during which ``time_scale``
(its ``--time-scale`` K, read from the host configs) scenario seconds pass per real second. So a
duration between two events is its real length times K; when K is not 1 each figure in seconds has a
``*_real_s`` sibling with the real length. Message latencies (``*_ms``) are the bus's own
time and are not scaled: they are real milliseconds (simulated ones under Shadow), whatever K is.

Blocks per pool are counted in the ``schedule`` phase only, the phase in which the controller picks
miners by hashrate share; the ``bootstrap`` blocks (mined to fund users) are reported beside them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from monerosim_actors.events.names import EventName

from . import prediction, races, transactions
from .paths import backend
from .run import Run
from .tables import select

CONFIDENCE = 0.95
"""Level of the binomial confidence interval of each pool's share of blocks."""
GAP_FACTOR = 10.0
"""A pause between two scheduled mine orders longer than this many mean block intervals is a gap
(the block controller was down, say): exponential intervals exceed it with probability e**-10."""


def summarize(run: Run) -> dict[str, Any]:
    """The summary of one run (the shape ``summary.json`` documents in docs/analysis.md)."""
    k = run.time_scale
    real = run.end - run.start if run.start is not None and run.end is not None else None
    return {
        "run": {"label": run.label, "start": run.start, "end": run.end, "time_scale": k,
                "duration_s": _round(real * k, 6) if real is not None else None,
                **({"duration_real_s": _round(real, 6)} if k != 1 else {})},
        "hosts": hosts_summary(run.hosts),
        "messages": messages_summary(run.messages),
        "network": network_summary(run),
        "blocks": blocks_summary(run.blocks, run.hosts) | orders_summary(run) | schedule_gaps(run),
        "stale": stale(run),
        "reorgs": races.reorgs_summary(run.reorgs, run.hosts.loc[run.hosts["has_node"], "host"].tolist()),
        "payments": payments_summary(run.payments, k) | payment_decisions(run.events),
        **seconds("propagation", run.block_seen.loc[~run.block_seen["is_miner"], "delay_s"],
                  (50, 90, 99), k),
        "nodes": {"final_heights": final_heights(run)},
        "transactions": transactions.transactions_summary(run.transactions, run.tx_seen, run.plan),
    }


def stats(values: pd.Series, percentiles: tuple[int, ...], unit: str) -> dict[str, float | None]:
    """``{"p50": .., "p90": .., "max": ..}`` (suffixed with ``_ms`` when unit is ``ms``)."""
    suffix = "_ms" if unit == "ms" else ""
    digits = 3 if unit == "ms" else 6
    v = values.dropna().to_numpy(dtype=float)
    out: dict[str, float | None] = {}
    for p in percentiles:
        out[f"p{p}{suffix}"] = _round(np.percentile(v, p), digits) if len(v) else None
    out[f"max{suffix}"] = _round(v.max(), digits) if len(v) else None
    return out


def seconds(name: str, real: pd.Series, percentiles: tuple[int, ...],
            time_scale: float) -> dict[str, dict[str, float | None]]:
    """``{NAME_s: stats in scenario seconds}``, and ``NAME_real_s`` (real seconds) when the time
    scale is not 1."""
    out = {f"{name}_s": stats(real * time_scale, percentiles, "s")}
    if time_scale != 1:
        out[f"{name}_real_s"] = stats(real, percentiles, "s")
    return out


def _round(x: float, digits: int) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), digits)


def hosts_summary(hosts: pd.DataFrame) -> dict[str, Any]:
    """How many hosts run a node and how many use a public node's (and how many each public node
    serves); which hosts' logs could not be read whole."""
    remote = hosts[hosts["node"].notna() & ~hosts["has_node"]]
    return {
        "total": len(hosts),
        "with_node": int(hosts["has_node"].sum()),
        "wallet_only": len(remote),
        "served_by_public_node": {str(k): int(v) for k, v in remote["node"].value_counts().sort_index().items()},
        "missing_logs": hosts.loc[hosts["log"] == "missing", "host"].tolist(),
        "truncated_logs": hosts.loc[hosts["log"] == "truncated", "host"].tolist(),
        "bad_lines": {h: int(n) for h, n in zip(hosts["host"], hosts["bad_lines"]) if n},
    }


def messages_summary(messages: pd.DataFrame) -> dict[str, Any]:
    """Counts and one-way latency per message type.

    ``count`` = ``delivered`` + ``lost``; ``lost_before_connect`` counts the lost ones sent before
    the receiver's runtime had started (its status in messages.csv); ``receipt_only`` counts the delivered messages whose
    send is not in any log (the sender's log is missing or cut).
    """
    by_type = {}
    for kind, group in messages.groupby("type", sort=True):
        received = group["recv_at"].notna()
        first = group["first_on_connection"]
        by_type[str(kind)] = {"count": len(group), "delivered": int(received.sum()),
                              "lost": int((~received).sum()),
                              **stats(group["latency_ms"], (50, 90, 99), "ms"),
                              "first": int(first.sum()),
                              "first_excess_p50_ms": _p50(group.loc[first, "excess_ms"]),
                              **{f"excess_{k}": v for k, v in
                                 stats(group.loc[received & ~first, "excess_ms"], (50, 90),
                                       "ms").items()}}
    delivered = int(messages["recv_at"].notna().sum())
    return {
        "count": len(messages),
        "delivered": delivered,
        "lost": len(messages) - delivered,
        "lost_before_connect": int((messages["status"] == "lost_before_connect").sum()),
        "receipt_only": int((messages["status"] == "receipt_only").sum()),
        "latency_ms": stats(messages["latency_ms"], (50, 90, 99), "ms"),
        "by_type": by_type,
        "by_group": group_latency(messages),
    }


def network_summary(run: Run) -> dict[str, Any]:
    """Latency against the network path: the backend and graph, the excess over the path of the
    first messages on a connection and of the steady state, and both per path latency.

    ``by_path`` has one entry per distinct path latency, in increasing order: the links (host
    pairs) that delivered a message over such a path, the steady-state messages with their
    latency's p50, the excess's p50 in ms and as a percentage of the path (None for a 0 ms path),
    and the first messages with their excess's p50.
    """
    m = run.messages[run.messages["recv_at"].notna()]
    first = m["first_on_connection"]
    by_path = []
    for path, group in m[m["path_ms"].notna()].groupby("path_ms", sort=True):
        steady = group[~group["first_on_connection"]]
        excess = _p50(steady["excess_ms"])
        by_path.append({
            "path_ms": float(path),
            "links": len(group[["src", "dst"]].drop_duplicates()),
            "steady": len(steady),
            "p50_ms": _p50(steady["latency_ms"]),
            "excess_p50_ms": excess,
            "excess_p50_pct": _round(100 * excess / path, 3) if excess is not None and path else None,
            "first": int(group["first_on_connection"].sum()),
            "first_excess_p50_ms": _p50(group.loc[group["first_on_connection"], "excess_ms"]),
        })
    return {
        "backend": backend(run.plan),
        "graph": run.plan.network.kind,
        "use_shortest_path": run.plan.network.use_shortest_path,
        "first": int(first.sum()),
        "steady": int((~first).sum()),
        "first_excess_ms": stats(m.loc[first, "excess_ms"], (50, 90), "ms"),
        "excess_ms": stats(m.loc[~first, "excess_ms"], (50, 90, 99), "ms"),
        "by_path": by_path,
    }


def _p50(values: pd.Series) -> float | None:
    return stats(values, (50,), "ms")["p50_ms"]


def group_latency(messages: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Latency per (source group, destination group), keyed ``"src_group -> dst_group"``."""
    out = {}
    delivered = messages[messages["latency_ms"].notna()]
    for (src, dst), group in delivered.groupby(["src_group", "dst_group"], sort=True):
        out[f"{src} -> {dst}"] = {"count": len(group), **stats(group["latency_ms"], (50, 90, 99),
                                                               "ms")}
    return out


def expected_shares(hosts: pd.DataFrame) -> dict[str, float]:
    """Each pool's configured hashrate share, normalised to sum to 1, by pool id."""
    pools = hosts[hosts["pool_id"].notna()]
    total = pools["hashrate_share"].sum()
    if not total > 0:
        return {}
    return {str(p): float(s) / total for p, s in zip(pools["pool_id"], pools["hashrate_share"])}


def blocks_summary(blocks: pd.DataFrame, hosts: pd.DataFrame) -> dict[str, Any]:
    """Blocks mined, per pool against the expected share, with a chi-square goodness of fit.

    A pool's ``blocks`` and ``share`` are of the schedule's blocks it mined, stale ones included:
    the controller's choice, which the chi-square tests. ``main_chain_blocks`` and
    ``main_chain_share`` are of the schedule's blocks on the final main chain: what the pool is paid
    for (None when the logs lack the parents that tell the main chain, :mod:`.races`).

    ``orphaned`` counts the blocks beyond one per height (pools that raced at the same height).

    ``chi2_p`` is None when fewer than two pools are planned or no block was mined in the schedule.
    """
    from scipy import stats as sps

    schedule = blocks[blocks["phase"] == "schedule"]
    expected = expected_shares(hosts)
    pools = list(expected) + sorted(set(blocks["pool_id"].dropna()) - set(expected))
    n = len(schedule)
    paid = races.main_chain_shares(blocks, pools)
    by_pool = {}
    for pool in pools:
        k = int((schedule["pool_id"] == pool).sum())
        ci = sps.binomtest(k, n).proportion_ci(CONFIDENCE) if n else None
        by_pool[pool] = {
            "blocks": k,
            "share": _round(k / n, 6) if n else None,
            "expected_share": _round(expected[pool], 6) if pool in expected else None,
            "share_ci95": [_round(ci.low, 6), _round(ci.high, 6)] if ci else None,
            "bootstrap_blocks": int(((blocks["phase"] == "bootstrap")
                                     & (blocks["pool_id"] == pool)).sum()),
            **paid[pool],
        }
    chi2_p = None
    if len(expected) >= 2 and n and set(pools) == set(expected):
        observed = [by_pool[p]["blocks"] for p in pools]
        chi2_p = _round(sps.chisquare(observed, [expected[p] * n for p in pools]).pvalue, 6)
    return {"total": len(blocks), "schedule": n,
            "bootstrap": int((blocks["phase"] == "bootstrap").sum()),
            "orphaned": len(blocks) - mined_heights(blocks),
            "by_pool": by_pool, "chi2_p": chi2_p}


def stale(run: Run) -> dict[str, Any]:
    """Stale blocks (:func:`.races.stale_summary`) and, beside them, the count and rate the run's
    own latencies predict (``predicted``, :mod:`.prediction`)."""
    shares = expected_shares(run.hosts)
    pools = list(shares) + sorted(set(run.blocks["pool_id"].dropna()) - set(shares))
    out = races.stale_summary(run.blocks, pools, run.time_scale)
    mined = int((run.blocks["phase"] == "schedule").sum())
    out["predicted"] = prediction.predicted_summary(run, shares, out.get("schedule_blocks"), mined)
    return out


def mined_heights(blocks: pd.DataFrame) -> int:
    """How many heights blocks were mined at: a block whose height another block also has lost a
    race (it is orphaned) and adds no height; a block of unknown height counts as one."""
    return int(blocks["height"].nunique() + blocks["height"].isna().sum())


def orders_summary(run: Run) -> dict[str, int]:
    """How the controller's mining orders went (its own ``mine_*`` events)."""
    controllers = run.hosts.loc[run.hosts["role"] == "block_controller", "host"]

    def count(name: str) -> int:
        df = run.events.get(name)
        return 0 if df is None else int(df["host"].isin(controllers).sum())

    return {"orders": count(EventName.MINE_ORDERED), "orders_failed": count(EventName.MINE_FAILED),
            "orders_timed_out": count(EventName.MINE_TIMEOUT)}


def schedule_gaps(run: Run) -> dict[str, Any]:
    """Pauses in the controller's schedule (``mine_ordered`` of phase ``schedule``): those during which
    the controller's host started again (it was killed or stopped) and those longer than
    :data:`GAP_FACTOR` mean intervals (the block time), in scenario seconds since the run's start
    (and each gap's real length when the time scale is not 1); and how often a restarted controller resumed (``controller_resumed``)."""
    controllers = set(run.hosts.loc[run.hosts["role"] == "block_controller", "host"])

    def of_controller(name: str) -> pd.DataFrame:
        df = run.events.get(name)
        return df[df["host"].isin(controllers)] if df is not None else pd.DataFrame()

    started = of_controller(EventName.HOST_STARTED)
    k = run.time_scale
    mean = run.plan.consensus.block_time_s / k  # real seconds, like the event times
    ordered = of_controller(EventName.MINE_ORDERED)
    times = (sorted(ordered.loc[ordered["phase"] == "schedule", "t"].dropna()) if len(ordered) else [])
    restarts = list(started["t"].dropna()) if len(started) else []
    origin = run.start or 0.0
    gaps = [{"from_s": _round((a - origin) * k, 6), "to_s": _round((b - origin) * k, 6),
             "duration_s": _round((b - a) * k, 6),
             **({"duration_real_s": _round(b - a, 6)} if k != 1 else {}),
             "restart": any(a < r < b for r in restarts)}
            for a, b in zip(times, times[1:])
            if b - a > GAP_FACTOR * mean or any(a < r < b for r in restarts)]
    return {"schedule_gaps": gaps, "controller_resumed": len(of_controller(EventName.CONTROLLER_RESUMED))}


def payments_summary(payments: pd.DataFrame, time_scale: float = 1.0) -> dict[str, Any]:
    """Payments sent, failed, seen in a marketplace's pool, confirmed, and the delays from send.

    ``failed`` counts payments (decisions) that were never sent; ``failed_attempts`` every failed try,
    including those of payments a retry then sent.
    """
    sent = int((payments["status"] == "sent").sum())
    return {
        "sent": sent,
        "failed": int((payments["status"] == "failed").sum()),
        "failed_attempts": int(payments["attempts"].sum()) - sent,
        "received": int(payments["received_at"].notna().sum()),
        "confirmed": int(payments["confirmed_at"].notna().sum()),
        "receipt_only": int((payments["status"] == "receipt_only").sum()),
        **seconds("pool_delay", payments["pool_delay_s"], (50, 90), time_scale),
        **seconds("confirmation_delay", payments["confirmation_delay_s"], (50, 90), time_scale),
    }


def payment_decisions(events: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Payment decisions and their failures, as the run's end summary counts them (the same
    definitions as :class:`monerosim_actors.backends.progress.Tally`).

    A decision is one ``payment_id`` (``payment_intent``, ``payment_sent`` or ``payment_failed``).
    (``failed``, from :func:`payments_summary`, counts the decisions with a ``payment_failed`` and never
    a ``payment_sent``: given up, or still waiting for a retry when the run ended.) ``retried``: ``payment_failed`` events with
    ``will_retry`` true (attempts that failed and were to be tried again). ``failed_by_reason``: every
    ``payment_failed`` event by its ``reason``.
    """
    def ids(name: str) -> set[str]:
        df = select(events, name, {"payment_id": "object"})
        return {str(v) for v in df["payment_id"].dropna()}

    sent, failed = ids(EventName.PAYMENT_SENT), ids(EventName.PAYMENT_FAILED)
    tries = select(events, EventName.PAYMENT_FAILED, {"reason": "object", "will_retry": "object"})
    reasons = tries["reason"].fillna("?").astype(str).value_counts()
    return {
        "decisions": len(ids(EventName.PAYMENT_INTENT) | sent | failed),
        "retried": int((tries["will_retry"] == True).sum()),  # noqa: E712 (an object column)
        "failed_by_reason": {str(r): int(n) for r, n in sorted(reasons.items())},
    }


def final_heights(run: Run) -> dict[str, int | None]:
    """The highest block each node saw, for every planned host that runs a node (None: none seen)."""
    top = run.block_seen.groupby("node")["height"].max()
    return {h: (int(top[h]) if h in top.index and not pd.isna(top[h]) else None)
            for h in run.hosts.loc[run.hosts["has_node"], "host"]}
