"""How each payment's transaction spread: where it started, where it first became public, how long
it took to reach every node, and what a spy watching the nodes' pools would conclude.

Rows come from the users' ``payment_sent`` (the transaction, its sender and when the wallet sent it)
and the nodes' ``tx_seen`` (the first time each node's pool feed showed it). The sender's node is the
user's own monerod, or the public node its wallet uses (``plan``: the host's ``node``).

What the figures can see: monerod 0.18 publishes a transaction on its ``txpool_add`` feed when it
receives it *fluffed* (or in a block): ``core::handle_incoming_txs`` publishes only the ``legacy``
relay category. A copy it holds as its own wallet's (``local``) or on a Dandelion++ stem is not
public, and is published when the fluff reaches the node (the copy is upgraded then). The node that
fluffed the transaction never receives it fluffed, so it alone never shows it: when every node but
one showed a transaction, that one is the node that fluffed it (``fluffed_by``). The stem itself (its
nodes, its length) cannot be seen; the time from the send to the first public sighting bounds it.

**The first-spy view.** A spy watching the pools of a set of nodes guesses that the first node to
show a transaction is its sender's node. Its precision is how often that guess is right, with an
exact 95% interval; beside it, how often the first sighting is the sender's node or one of its peers
(the nodes it dials or that dial it: ``plan``'s ``monerod.peers``). What Dandelion++'s constants
predict, on the model of the protocol's paper (the sender always stems, each stem hop fluffs with
probability ``CRYPTONOTE_DANDELIONPP_FLUFF_PROBABILITY`` = 0.2): the fluffer is the sender's own stem
peer with probability 0.2, and then the sender is one of the fluffer's peers, the first of them to show
it with probability 1 / (the fluffer's peers); deeper in the stem it is not a peer. So the predicted
precision is 0.2 / mean number of peers, and the predicted share of transactions the sender's node
fluffs itself is 0; the report sets the measured figures beside them.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats as sps

from monerosim_actors.events.names import EventName
from monerosim_actors.plan.model import Plan

from .paths import host_path_ms
from .tables import select

CONFIDENCE = 0.95
FLUFF_PROBABILITY = 0.20
"""monerod 0.18's ``CRYPTONOTE_DANDELIONPP_FLUFF_PROBABILITY`` (20 out of 100)."""
SPY_FRACTION = 0.5
"""The partial spy watches this fraction of the nodes (drawn with a generator seeded by the run's seed)."""
REACH = (0.5, 0.9, 1.0)


def node_of(plan: Plan) -> dict[str, str]:
    """Host -> the host whose monerod it uses (its own, or its public node's)."""
    return {h.name: h.node.host for h in plan.hosts if h.node is not None}


def peers_of(plan: Plan) -> dict[str, set[str]]:
    """Node host -> the node hosts it is connected to (it dials them, or they dial it)."""
    by_ip = {h.ip: h.name for h in plan.hosts if h.monerod is not None}
    peers: dict[str, set[str]] = {h.name: set() for h in plan.hosts if h.monerod is not None}
    for h in plan.hosts:
        if h.monerod is None:
            continue
        for address in h.monerod.peers:
            other = by_ip.get(address.rsplit(":", 1)[0])
            if other is not None:
                peers[h.name].add(other)
                peers[other].add(h.name)
    return peers


def tx_seen_table(events: dict[str, pd.DataFrame], plan: Plan, time_scale: float) -> pd.DataFrame:
    """One row per (transaction, node) first sighting: when, the delay since its send (scenario
    seconds; empty for a transaction no user's log sent), and whether the node is the sender's or one
    of its peers."""
    seen = select(events, EventName.TX_SEEN, {"txid": "object", "host": "object", "t": "float64"})
    seen = seen.rename(columns={"host": "node", "t": "seen_at"}).sort_values(["seen_at", "node"], kind="stable")
    seen = seen.drop_duplicates(["txid", "node"]).reset_index(drop=True)
    sent = _sends(events, plan)
    s = seen.merge(sent[["txid", "sender_node", "sent_at"]], on="txid", how="left")
    s["delay_s"] = ((s["seen_at"] - s["sent_at"]) * time_scale).round(6)
    peers = peers_of(plan)
    s["is_sender_node"] = s["node"] == s["sender_node"]
    s["is_sender_peer"] = [node in peers.get(sender, ()) for node, sender in zip(s["node"], s["sender_node"])]
    return s[["txid", "node", "seen_at", "delay_s", "is_sender_node", "is_sender_peer"]]


def _sends(events: dict[str, pd.DataFrame], plan: Plan) -> pd.DataFrame:
    sent = select(events, EventName.PAYMENT_SENT, {"txid": "object", "host": "object", "t": "float64"})
    sent = sent.dropna(subset=["txid"]).sort_values("t", kind="stable").drop_duplicates("txid")
    sent = sent.rename(columns={"host": "sender", "t": "sent_at"})
    sent["sender_node"] = sent["sender"].map(node_of(plan))
    return sent.reset_index(drop=True)


def transactions_table(events: dict[str, pd.DataFrame], tx_seen: pd.DataFrame, payments: pd.DataFrame,
                       plan: Plan, time_scale: float) -> pd.DataFrame:
    """One row per transaction a user sent: sender, its node, when the wallet sent it, the first
    public sighting (when, where, how long after the send), how long until 50%, 90% and all of the
    nodes that can show it (every node but the one that fluffed it) had shown it, the node that fluffed it (the one node that never showed it, when every other
    did), and when it was confirmed (the marketplace's ``payment_confirmed``)."""
    columns = ["txid", "sender", "sender_node", "sent_at", "first_seen_at", "first_seen_node",
               "first_seen_s", "reach_50_s", "reach_90_s", "reach_all_s", "nodes_seen", "fluffed_by",
               "confirmed_at", "confirmed_height"]
    sent = _sends(events, plan)
    if not len(sent):
        return pd.DataFrame(columns=columns)
    node_names = {h.name for h in plan.hosts if h.monerod is not None}
    nodes = len(node_names)
    rows = []
    by_tx = dict(tuple(tx_seen.groupby("txid", sort=False)))
    for tx in sent.itertuples():
        seen = by_tx.get(tx.txid)
        times = np.sort(seen["seen_at"].to_numpy()) if seen is not None else np.array([])
        first = seen.sort_values(["seen_at", "node"]).iloc[0] if seen is not None else None
        reach = {}
        for fraction in REACH:  # of the nodes that can show it: all but the one that fluffed it
            need = max(1, int(np.ceil(fraction * max(1, nodes - 1))))
            reach[fraction] = round((times[need - 1] - tx.sent_at) * time_scale, 6) if len(times) >= need else np.nan
        rows.append({"txid": tx.txid, "sender": tx.sender, "sender_node": tx.sender_node, "sent_at": tx.sent_at,
                     "first_seen_at": first["seen_at"] if first is not None else np.nan,
                     "first_seen_node": first["node"] if first is not None else None,
                     "first_seen_s": round((first["seen_at"] - tx.sent_at) * time_scale, 6) if first is not None
                     else np.nan,
                     "reach_50_s": reach[0.5], "reach_90_s": reach[0.9], "reach_all_s": reach[1.0],
                     "nodes_seen": len(times), "fluffed_by": _fluffer(node_names, seen)})
    table = pd.DataFrame(rows, columns=columns[:-2])
    confirmed = payments.dropna(subset=["txid"]).drop_duplicates("txid")[["txid", "confirmed_at", "confirmed_height"]]
    return table.merge(confirmed, on="txid", how="left")[columns]


def _fluffer(nodes: set[str], seen: pd.DataFrame | None) -> str | None:
    """The one node that never showed a transaction every other node showed: the one that fluffed it."""
    missing = nodes - (set(seen["node"]) if seen is not None else set())
    return next(iter(missing)) if len(missing) == 1 else None


def _ci(k: int, n: int) -> list[float] | None:
    if n == 0:
        return None
    ci = sps.binomtest(k, n).proportion_ci(CONFIDENCE)
    return [round(float(ci.low), 6), round(float(ci.high), 6)]


def spy_view(transactions: pd.DataFrame, tx_seen: pd.DataFrame, plan: Plan,
             watched: set[str] | None = None) -> dict[str, Any]:
    """What a spy watching the pools of ``watched`` nodes (all, when None) guesses: the first node to
    show a transaction is its sender's. Precision with its 95% interval, and how often the first
    sighting is the sender's node or one of its peers."""
    peers = peers_of(plan)
    seen = tx_seen if watched is None else tx_seen[tx_seen["node"].isin(watched)]
    first = seen.sort_values(["seen_at", "node"], kind="stable").drop_duplicates("txid")
    guesses = transactions[["txid", "sender_node"]].merge(first[["txid", "node"]], on="txid", how="inner")
    right = int((guesses["node"] == guesses["sender_node"]).sum())
    near = int(sum(node == sender or node in peers.get(sender, ()) for node, sender
                   in zip(guesses["node"], guesses["sender_node"])))
    n = len(guesses)
    return {"nodes_watched": len(peers) if watched is None else len(watched), "transactions": n,
            "precision": round(right / n, 6) if n else None, "precision_ci": _ci(right, n),
            "sender_or_peer": round(near / n, 6) if n else None, "sender_or_peer_ci": _ci(near, n)}


def _share(transactions: pd.DataFrame, column: str) -> dict[str, Any]:
    """Of the transactions whose fluffing node is known, the share the sender's node fluffed itself."""
    known = transactions.dropna(subset=[column])
    k, n = int((known[column] == known["sender_node"]).sum()), len(known)
    return {"known": n, "share": round(k / n, 6) if n else None, "ci": _ci(k, n)}


def transactions_summary(transactions: pd.DataFrame, tx_seen: pd.DataFrame, plan: Plan) -> dict[str, Any]:
    """The transaction figures of ``summary.json``; ``available: false`` with the reason when no node
    logged ``tx_seen`` (runs from before it, or only wallet-only users)."""
    if not len(tx_seen):
        why = ("no node logged `tx_seen`: the logs were written before nodes logged their pools, or no "
               "host in the run has a node of its own")
        return {"available": False, "why": why, "transactions": int(len(transactions))}
    nodes = sorted(h.name for h in plan.hosts if h.monerod is not None)
    watched = set(random.Random(f"{plan.seed}/spy").sample(nodes, max(1, round(SPY_FRACTION * len(nodes)))))
    delays = tx_seen["delay_s"].dropna()
    degrees = [len(p) for p in peers_of(plan).values()]
    mean_peers = sum(degrees) / len(degrees) if degrees else 0.0

    def pct(values: pd.Series) -> dict[str, float | None]:
        values = values.dropna()
        return {f"p{p}": (round(float(np.percentile(values, p)), 6) if len(values) else None) for p in (50, 90, 99)}

    return {
        "available": True, "transactions": int(len(transactions)), "nodes": len(nodes),
        "seen_by_all_but_the_fluffer": int((transactions["nodes_seen"] >= len(nodes) - 1).sum()),
        "first_public_s": pct(transactions["first_seen_s"]),
        "reach_50_s": pct(transactions["reach_50_s"]), "reach_90_s": pct(transactions["reach_90_s"]),
        "reach_all_s": pct(transactions["reach_all_s"]),
        "delay_to_node_s": pct(delays),
        "spy_all_nodes": spy_view(transactions, tx_seen, plan),
        "spy_fraction": {"fraction": SPY_FRACTION, **spy_view(transactions, tx_seen, plan, watched)},
        "fluffed_by_sender": _share(transactions, "fluffed_by"),
        "dandelion_prediction": {"precision": round(FLUFF_PROBABILITY / mean_peers, 6) if mean_peers else None,
                                 "fluffed_by_sender": 0.0, "fluff_probability": FLUFF_PROBABILITY,
                                 "mean_stem_hops": round(1 / FLUFF_PROBABILITY, 3),
                                 "mean_peers": round(mean_peers, 3)},
    }


def law_violations(transactions: pd.DataFrame, tx_seen: pd.DataFrame, plan: Plan) -> list[str]:
    """What a correct run cannot show: a node that saw a transaction before it was sent, or sooner
    after the send than the network path from the sender's node to it allows (a law under Shadow,
    whose clock all hosts share; locally every path is 0), and reach times out of order."""
    problems = []
    sent = transactions[["txid", "sender_node", "sent_at"]]
    s = tx_seen.merge(sent, on="txid", how="inner")
    s["path_s"] = host_path_ms(plan, s["sender_node"], s["node"]).to_numpy() / 1000
    fast = s[(s["seen_at"] - s["sent_at"]) < s["path_s"] - 1e-9]
    problems += [f"{r.node} saw {r.txid} {r.seen_at - r.sent_at:.6f} s after it was sent, sooner than the "
                 f"{r.path_s:.6f} s path from {r.sender_node}" for r in fast.itertuples()]
    for r in transactions.itertuples():
        values = [v for v in (r.first_seen_s, r.reach_50_s, r.reach_90_s, r.reach_all_s) if v == v]
        if values != sorted(values):
            problems.append(f"{r.txid}: times to first, 50%, 90% and all nodes out of order {values}")
    return problems
