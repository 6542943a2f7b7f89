"""The stale rate a run's own figures predict, beside the one it measured.

A block races when the next pool is told to mine before the previous block has reached it. Pool
``a`` is ordered at time 0 and has its block ``w_a`` later (the mine signal's latency plus its
node's mining: the controller's ``mine_ordered`` to the block's ``mined_at``); the block reaches
pool ``b``'s node ``p_ab`` after that (propagation). The controller's next order comes after an
interval ``X`` and reaches ``b`` after ``s_b`` (the signal alone: ``b``'s node starts its template
when the order arrives). So ``b`` mines on the old tip, and one of the two blocks goes stale, when

    X < d_ab = w_a + p_ab - s_b        (and b != a: a pool never races itself)

The controller draws ``X`` exponential with mean ``T`` (the block time) or fixed at ``T``, and
``b`` by hashrate share ``s(b)``, independently. After each schedule block of pool ``a`` but the
last, the chance of a race is ``q_a = sum over b != a of s(b) P(X < d_ab)``, with
``P(X < d) = 1 - exp(-max(0, d) / T)`` (exponential) or ``[d > T]`` (fixed). The stale count is a
sum of such independent Bernoulli trials (Poisson-binomial): its mean is ``sum q``, and its 95%
interval is read off its exact distribution. Times are medians of the run's own measurements, in
scenario seconds (real seconds times the time scale locally).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monerosim_actors.events.names import EventName

from .run import Run
from .tables import select

CONFIDENCE = 0.95
MINE_ORDER_TYPE = "mine_blocks"
"""The wire type of the controller's order (``MineBlocks``)."""


@dataclass(frozen=True)
class Prediction:
    expected: float
    """Expected stale blocks."""
    low: int
    high: int
    """The central 95% interval of the stale count."""
    trials: int
    """Blocks after which a race could happen (schedule blocks but the last)."""


def race_probability(d_s: float, block_time_s: float, schedule: str) -> float:
    """P(X < d) for the controller's interval X (``exponential`` mean T, or ``fixed`` T)."""
    if schedule == "fixed":
        return 1.0 if d_s > block_time_s else 0.0
    return 1.0 - math.exp(-max(0.0, d_s) / block_time_s)


def poisson_binomial_interval(p: Sequence[float], confidence: float = CONFIDENCE) -> tuple[int, int]:
    """The central interval of the number of successes of independent trials with chances ``p``."""
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for i, q in enumerate(p):
        dist[1:i + 2] = dist[1:i + 2] * (1 - q) + dist[:i + 1] * q
        dist[0] *= 1 - q
    cdf = np.cumsum(dist)
    tail = (1 - confidence) / 2
    low = int(np.searchsorted(cdf, tail - 1e-12))
    high = int(np.searchsorted(cdf, 1 - tail - 1e-12))
    return low, min(high, len(p))


def predict(orders: Sequence[str], shares: Mapping[str, float], window_s: Mapping[tuple[str, str], float],
            block_time_s: float, schedule: str) -> Prediction:
    """The stale count predicted for a schedule of ``orders`` (pool ids, in order).

    Args:
        shares: each pool's chance of being drawn (summing to 1).
        window_s: ``d_ab`` per (pool a, pool b != a): how long after ``a``'s order the next order
            to ``b`` still races (scenario seconds). A missing pair never races.
    """
    chances = [sum(share * race_probability(window_s[(a, b)], block_time_s, schedule)
                   for b, share in shares.items() if b != a and (a, b) in window_s)
               for a in orders[:-1]]
    low, high = poisson_binomial_interval(chances)
    return Prediction(expected=float(sum(chances)), low=low, high=high, trials=len(chances))


def race_windows(run: Run) -> dict[str, Any]:
    """The measured ``w_a``, ``s_b``, ``p_ab`` and ``d_ab`` of a run (scenario seconds, medians), and
    the schedule's orders. A pair without a propagation of its own takes the run's median."""
    k = run.time_scale
    hosts = run.hosts[run.hosts["pool_id"].notna()]
    host_of = dict(zip(hosts["pool_id"], hosts["host"]))
    node_of = {p: (h if own else n) for p, h, own, n in zip(hosts["pool_id"], hosts["host"], hosts["has_node"],
                                                           hosts["node"])}
    controllers = set(run.hosts.loc[run.hosts["role"] == "block_controller", "host"])
    ordered = select(run.events, EventName.MINE_ORDERED, {"host": "object", "t": "float64", "order": "Int64",
                                                           "pool_id": "object", "phase": "object"})
    ordered = ordered[ordered["host"].isin(controllers) & (ordered["phase"] == "schedule")]
    ordered = ordered.sort_values(["t", "order"], kind="stable")
    blocks = run.blocks[run.blocks["phase"] == "schedule"].merge(
        ordered[["order", "t"]].rename(columns={"t": "ordered_at"}), on="order", how="inner")
    blocks = blocks.assign(w=(blocks["mined_at"] - blocks["ordered_at"]) * k)
    w = blocks.groupby("pool_id")["w"].median()
    m = run.messages[(run.messages["type"] == MINE_ORDER_TYPE) & run.messages["recv_at"].notna()]
    signal = (m.groupby("dst")["latency_ms"].median() / 1000 * k)
    seen = run.block_seen[~run.block_seen["is_miner"]].merge(
        run.blocks[["hash", "pool_id"]], left_on="block", right_on="hash")
    seen = seen.assign(delay=seen["delay_s"] * k)
    overall = seen["delay"].median()
    propagation = seen.groupby(["pool_id", "node"])["delay"].median()
    windows, rows = {}, []
    for a in host_of:
        for b in host_of:
            if a == b or a not in w.index or host_of[b] not in signal.index:
                continue
            p = propagation.get((a, node_of[b]), overall)
            if pd.isna(p):
                continue
            d = float(w[a] + p - signal[host_of[b]])
            windows[(a, b)] = d
            rows.append({"from": a, "to": b, "mined_s": round(float(w[a]), 6),
                         "propagation_s": round(float(p), 6),
                         "signal_s": round(float(signal[host_of[b]]), 6), "window_s": round(d, 6)})
    return {"orders": [str(p) for p in ordered["pool_id"]], "windows": windows, "pairs": rows}


def predicted_summary(run: Run, shares: Mapping[str, float], measured: int | None,
                      mined: int) -> dict[str, Any]:
    """The prediction beside the measurement: expected stale blocks and rate, their 95% interval,
    whether the measured count lies in it, and the windows it was made from."""
    found = race_windows(run)
    consensus = run.plan.consensus
    if not found["orders"] or not shares:
        return {"available": False, "reason": "no schedule order to predict from"}
    pred = predict(found["orders"], shares, found["windows"], consensus.block_time_s, consensus.schedule)

    def rate(count: float) -> float | None:
        return round(count / mined, 6) if mined else None

    return {"available": True, "schedule": consensus.schedule, "block_time_s": consensus.block_time_s,
            "trials": pred.trials, "stale": round(pred.expected, 6), "stale_ci95": [pred.low, pred.high],
            "rate": rate(pred.expected), "rate_ci95": [rate(pred.low), rate(pred.high)],
            "measured_within": None if measured is None else pred.low <= measured <= pred.high,
            "pairs": found["pairs"]}
