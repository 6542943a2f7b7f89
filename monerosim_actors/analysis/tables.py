"""The derived tables: one row per host, message, block, payment and (block, node) first sight.

Each table joins events that different hosts logged about the same thing: a message's send and its
receipt by message id, a block's mining and its sightings by hash, a payment's send and the
marketplace's receipt and confirmation by txid. A side that is missing (a lost message, a crashed
host's log) leaves empty cells and a ``status`` that says so, never a dropped row.

Rows are in a deterministic order (time, then id) so that CSV files can be compared byte for byte.
Durations are rounded to the microsecond (``latency_ms`` to 3 decimals, ``*_s`` to 6), which is
finer than what a ``time.time()`` near 10**9 s can resolve; a path latency is exact (``path_ms`` to
6 decimals: Shadow's latencies are whole nanoseconds).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from monerosim_actors.events.names import EventName
from monerosim_actors.plan.model import Plan

from .connections import first_on_connection
from .load import HostLog
from .paths import host_path_ms

UNKNOWN_GROUP = "unknown"
"""Group of a host the plan does not know (a message to or from a stranger)."""


def select(events: dict[str, pd.DataFrame], name: str, columns: dict[str, str]) -> pd.DataFrame:
    """The given columns of one event's rows; absent columns (or an absent event) are empty.

    Args:
        columns: column name -> dtype (``float64``, ``Int64``, or ``object`` to keep as logged).
            A value that is not a number where one is expected becomes empty.
    """
    df = events.get(name, pd.DataFrame())
    out = {}
    for col, dtype in columns.items():
        series = df[col] if col in df else pd.Series([None] * len(df), index=df.index, dtype=object)
        if dtype != "object":
            series = pd.to_numeric(series, errors="coerce")
            if dtype == "Int64":
                series = series.where(series == series.round())
            series = series.astype(dtype)
        out[col] = series
    return pd.DataFrame(out, index=df.index)


def hosts_table(plan: Plan, logs: Iterable[HostLog]) -> pd.DataFrame:
    """One row per plan host: identity, role (its group in the plots), whether it runs a node, the
    host whose node it uses (its own, a public node's, or none), its pool id and configured hashrate
    share (pools only), and what reading its log found."""
    by_host = {h.host: h for h in logs}
    rows = []
    for h in plan.hosts:
        host_log = by_host[h.name]
        is_pool = "pool_id" in h.params
        rows.append({
            "host": h.name, "agent_id": h.agent_id, "role": h.role, "has_node": h.monerod is not None,
            "node": h.node.host if h.node is not None else None,
            "pool_id": h.params["pool_id"] if is_pool else None,
            "hashrate_share": float(h.params.get("hashrate_share", np.nan)) if is_pool else np.nan,
            "log": host_log.status, "events": host_log.lines, "bad_lines": host_log.bad_lines,
        })
    return pd.DataFrame(rows, columns=["host", "agent_id", "role", "has_node", "node", "pool_id",
                                       "hashrate_share", "log", "events", "bad_lines"])


def messages_table(events: dict[str, pd.DataFrame], hosts: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One row per bus message: send joined with receipt by id, and its latency against the network.

    ``status`` is ``delivered`` (both logged), ``lost`` (sent, never received),
    ``lost_before_connect`` (lost, and sent before the receiver's runtime had logged its first
    ``host_started``: nobody was there to take it) or ``receipt_only`` (received, but the sender's log
    has no send: its log is missing or cut). Latency is
    ``recv_at - sent_at``; the receipt carries ``sent_at`` too, so it is known for every receipt.
    ``path_ms`` is the latency of the network path between the two hosts (:mod:`.paths`),
    ``excess_ms`` the latency beyond it, and ``first_on_connection`` marks a client's first message
    delivered on its TCP connection to a service, which may carry the handshakes (:mod:`.connections`).
    """
    cols = {"id": "object", "type": "object", "src": "object", "dst": "object", "sent_at": "float64"}
    sent = select(events, EventName.MSG_SENT, cols).drop_duplicates("id")
    recv = select(events, EventName.MSG_RECEIVED, cols | {"recv_at": "float64"}).drop_duplicates("id")
    # An outer merge orders rows by id, so a stable sort by time gives (time, id) order without
    # sorting the ids again (the costliest step of a large run).
    m = sent.merge(recv, on="id", how="outer", suffixes=("", "_r"), indicator=True)
    for col in ("type", "src", "dst", "sent_at"):
        m[col] = m[col].where(m["_merge"] != "right_only", m[f"{col}_r"])
    m["latency_ms"] = ((m["recv_at"] - m["sent_at"]) * 1000).round(3)
    m["status"] = np.select([m["_merge"] == "both", m["_merge"] == "left_only"],
                            ["delivered", "lost"], "receipt_only")
    group = dict(zip(hosts["host"], hosts["role"]))
    m["src_group"] = m["src"].map(group).fillna(UNKNOWN_GROUP)
    m["dst_group"] = m["dst"].map(group).fillna(UNKNOWN_GROUP)
    m = m.sort_values("sent_at", kind="stable", ignore_index=True)
    m["path_ms"] = host_path_ms(plan, m["src"], m["dst"])
    m["excess_ms"] = (m["latency_ms"] - m["path_ms"]).round(3)
    starts = select(events, EventName.HOST_STARTED, {"host": "object", "t": "float64"})
    m["status"] = lost_before_connect(m, starts, hosts)
    m["first_on_connection"] = first_on_connection(m, {s.host for s in plan.services.values()},
                                                   starts, routes(plan))
    return m[["id", "type", "src", "dst", "sent_at", "recv_at", "latency_ms", "path_ms", "excess_ms",
              "first_on_connection", "status", "src_group", "dst_group"]]


def routes(plan: Plan) -> set[tuple[str, str]]:
    """``(src, dst)`` of every host whose role ``talks_to`` the role of ``dst``."""
    by_role: dict[str, list[str]] = {}
    for h in plan.hosts:
        by_role.setdefault(h.role, []).append(h.name)
    return {(h.name, dst) for h in plan.hosts for role in h.talks_to for dst in by_role.get(role, ())
            if dst != h.name}


def lost_before_connect(messages: pd.DataFrame, starts: pd.DataFrame,
                        hosts: pd.DataFrame) -> pd.Series:
    """The messages' ``status``, with ``lost`` turned into ``lost_before_connect`` for a message sent
    before its destination host's runtime first logged ``host_started`` (or that never logged it
    though its log was read): its bus had not connected yet. A destination whose log is missing
    says nothing, so its lost messages stay ``lost``."""
    first_start = starts.groupby("host")["t"].min()
    read = set(hosts.loc[hosts["log"] != "missing", "host"]) if "log" in hosts else set()
    started_at = messages["dst"].map(first_start)
    early = (messages["status"] == "lost") & messages["dst"].isin(read) & ~(
        started_at <= messages["sent_at"])
    return messages["status"].where(~early, "lost_before_connect")


def links_table(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per (src, dst) host pair: messages, delivered, lost, and latency percentiles (ms)
    of the delivered ones (empty when none was); then the path latency, the first messages on a
    connection (``first``) and the largest excess among them, and the steady-state messages (the
    other delivered ones) with percentiles of their excess over the path."""
    columns = ["src", "dst", "src_group", "dst_group", "count", "delivered", "lost", "p50_ms",
               "p90_ms", "p99_ms", "max_ms", "path_ms", "first", "first_excess_ms", "steady",
               "excess_p50_ms", "excess_p90_ms", "excess_max_ms"]
    if not len(messages):
        return pd.DataFrame(columns=columns)
    first = messages["first_on_connection"]
    steady = messages["recv_at"].notna() & ~first
    m = messages.assign(steady=steady, first_excess=messages["excess_ms"].where(first),
                        steady_excess=messages["excess_ms"].where(steady))
    by_link = m.groupby(["src", "dst"], sort=True)
    out = by_link.agg(src_group=("src_group", "first"), dst_group=("dst_group", "first"),
                      count=("id", "size"), delivered=("recv_at", "count"),
                      max_ms=("latency_ms", "max"), path_ms=("path_ms", "first"),
                      first=("first_on_connection", "sum"), first_excess_ms=("first_excess", "max"),
                      steady=("steady", "sum"), excess_max_ms=("steady_excess", "max"))
    out["lost"] = out["count"] - out["delivered"]
    quantiles = by_link["latency_ms"].quantile([0.5, 0.9, 0.99]).unstack()
    out["p50_ms"], out["p90_ms"], out["p99_ms"] = (quantiles[q] for q in (0.5, 0.9, 0.99))
    excess = by_link["steady_excess"].quantile([0.5, 0.9]).unstack()
    out["excess_p50_ms"], out["excess_p90_ms"] = (excess[q] for q in (0.5, 0.9))
    for col in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "first_excess_ms", "excess_p50_ms",
                "excess_p90_ms", "excess_max_ms"):
        out[col] = out[col].astype("float64").round(3)
    return out.reset_index()[columns]


def first_sightings(events: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The first ``block_seen`` of each (block, node): block, height, node, seen_at."""
    seen = select(events, EventName.BLOCK_SEEN, {"hash": "object", "height": "Int64", "host": "object",
                                         "t": "float64"})
    seen = seen.rename(columns={"hash": "block", "host": "node", "t": "seen_at"})
    seen = seen.sort_values("seen_at", kind="stable").drop_duplicates(["block", "node"])
    return seen.reset_index(drop=True)


def blocks_table(events: dict[str, pd.DataFrame], hosts: pd.DataFrame,
                 sightings: pd.DataFrame) -> pd.DataFrame:
    """One row per mined block, from the pools' ``block_mined`` or, when a pool's log lacks it,
    from the controller's ``mine_completed`` (``source`` says which).

    ``mined_at`` is when the miner's own node saw the block, else when the pool logged
    ``block_mined`` (``reported_at``), else the block's earliest sighting. The miner's sighting
    comes first because a pool logs ``block_mined`` only after its whole ``generateblocks`` call
    returns, and the first blocks of a long order reach other nodes before that. ``height`` is
    the pool's, else the one the nodes saw.
    """
    mined = select(events, EventName.BLOCK_MINED, {"hash": "object", "height": "Int64", "pool_id": "object",
                                           "host": "object", "phase": "object", "order": "Int64",
                                           "t": "float64"})
    mined = mined.rename(columns={"host": "miner", "t": "reported_at"}).drop_duplicates("hash")
    mined["source"] = "pool"
    done = select(events, EventName.MINE_COMPLETED, {"hashes": "object", "pool_id": "object",
                                             "phase": "object", "order": "Int64"})
    done = done.explode("hashes").rename(columns={"hashes": "hash"}).dropna(subset=["hash"])
    done = done[~done["hash"].isin(mined["hash"])].drop_duplicates("hash")
    pool_host = dict(zip(hosts["pool_id"].dropna(), hosts.loc[hosts["pool_id"].notna(), "host"]))
    done = done.assign(miner=done["pool_id"].map(pool_host), source="controller",
                       height=pd.array([pd.NA] * len(done), dtype="Int64"),
                       reported_at=np.full(len(done), np.nan))
    blocks = pd.concat([mined, done[mined.columns]], ignore_index=True) if len(done) else mined
    per_block = sightings.groupby("block").agg(first_seen_at=("seen_at", "min"),
                                               seen_by=("node", "nunique"),
                                               seen_height=("height", "min"))
    blocks = blocks.merge(per_block, left_on="hash", right_index=True, how="left")
    own = sightings.rename(columns={"block": "hash", "node": "miner", "seen_at": "mined_at"})
    blocks = blocks.merge(own[["hash", "miner", "mined_at"]], on=["hash", "miner"], how="left")
    blocks["height"] = blocks["height"].fillna(blocks["seen_height"]).astype("Int64")
    blocks["mined_at"] = blocks["mined_at"].fillna(blocks["reported_at"]).fillna(
        blocks["first_seen_at"])
    blocks["seen_by"] = blocks["seen_by"].fillna(0).astype("int64")
    blocks = blocks.sort_values(["height", "mined_at", "hash"], kind="stable", na_position="last",
                                ignore_index=True)
    return blocks[["hash", "height", "pool_id", "miner", "phase", "order", "mined_at",
                   "reported_at", "first_seen_at", "seen_by", "source"]]


def block_seen_table(sightings: pd.DataFrame, blocks: pd.DataFrame) -> pd.DataFrame:
    """One row per (block, node) first sighting, with the delay since the block was mined.

    A block no pool or controller logged is timed from its earliest sighting. ``is_miner`` marks
    the mining pool's own node, which propagation statistics leave out.
    """
    s = sightings.merge(blocks[["hash", "mined_at", "miner"]], left_on="block", right_on="hash",
                        how="left").drop(columns="hash")
    s["mined_at"] = s["mined_at"].fillna(s.groupby("block")["seen_at"].transform("min"))
    s["delay_s"] = (s["seen_at"] - s["mined_at"]).round(6)
    s["is_miner"] = s["node"] == s["miner"]
    s = s.sort_values(["height", "block", "seen_at", "node"], kind="stable", ignore_index=True)
    return s[["block", "height", "node", "seen_at", "delay_s", "is_miner"]]


def payments_table(events: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per payment a user sent or failed to send, joined by txid with the marketplace's
    first ``payment_received`` (seen in its pool) and ``payment_confirmed`` (in a block).

    ``status`` is ``sent``, ``failed`` (every attempt failed: the last failure is kept), or
    ``receipt_only`` (a marketplace logged a payment whose send is not in any log). ``attempts``
    counts the failed tries and the send. Delays are measured from the user's ``payment_sent``.
    """
    sent = select(events, EventName.PAYMENT_SENT, {"payment_id": "object", "host": "object", "txid": "object",
                                           "amount": "Int64", "fee": "Int64", "recipient": "object",
                                           "t": "float64"})
    sent = sent.rename(columns={"host": "user", "t": "sent_at"}).drop_duplicates("txid")
    recv = select(events, EventName.PAYMENT_RECEIVED, {"txid": "object", "host": "object",
                                               "vendor": "object", "t": "float64"})
    recv = recv.rename(columns={"host": "marketplace", "t": "received_at"})
    conf = select(events, EventName.PAYMENT_CONFIRMED, {"txid": "object", "height": "Int64",
                                                "t": "float64"})
    conf = conf.rename(columns={"height": "confirmed_height", "t": "confirmed_at"})
    recv = recv.sort_values("received_at", kind="stable").drop_duplicates("txid")
    conf = conf.sort_values("confirmed_at", kind="stable").drop_duplicates("txid")
    p = sent.merge(recv, on="txid", how="outer", indicator=True).merge(conf, on="txid", how="outer")
    p["status"] = np.where(p["_merge"].isin(["both", "left_only"]), "sent", "receipt_only")
    p["pool_delay_s"] = (p["received_at"] - p["sent_at"]).round(6)
    p["confirmation_delay_s"] = (p["confirmed_at"] - p["sent_at"]).round(6)
    tries = select(events, EventName.PAYMENT_FAILED, {"payment_id": "object", "host": "object",
                                              "amount": "Int64", "recipient": "object",
                                              "reason": "object", "t": "float64"})
    failures = tries["payment_id"].value_counts()
    p["attempts"] = p["payment_id"].map(failures).fillna(0) + p["payment_id"].notna()
    failed = tries[~tries["payment_id"].isin(sent["payment_id"])].sort_values("t", kind="stable")
    failed = failed.drop_duplicates("payment_id", keep="last")
    failed = failed.rename(columns={"host": "user", "t": "sent_at"}).assign(
        status="failed", attempts=failed["payment_id"].map(failures))
    columns = ["payment_id", "user", "status", "txid", "amount", "fee", "recipient", "marketplace",
               "vendor", "attempts", "sent_at", "received_at", "confirmed_at", "confirmed_height",
               "pool_delay_s", "confirmation_delay_s", "reason"]
    parts = [df.reindex(columns=columns) for df in (p, failed) if len(df)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    table = table.sort_values(["sent_at", "payment_id", "txid"], kind="stable", na_position="last",
                              ignore_index=True)
    for col in ("amount", "fee", "attempts", "confirmed_height"):
        table[col] = table[col].astype("Int64")
    for col in ("sent_at", "received_at", "confirmed_at", "pool_delay_s", "confirmation_delay_s"):
        table[col] = table[col].astype("float64")
    return table
