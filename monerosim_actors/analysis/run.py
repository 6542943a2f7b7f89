"""One analysed run: the plan, the raw events and the derived tables, loaded with one call.

For notebooks::

    from monerosim_actors.analysis import load_run
    run = load_run("out/quickstart")
    run.messages.groupby("type")["latency_ms"].describe()
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from monerosim_actors.plan.model import Plan

from . import load, races, tables, transactions


@dataclass(frozen=True)
class Run:
    """A run folder's plan, events and tables (every table is a pandas DataFrame)."""

    out_dir: Path
    label: str
    """How plots and reports name this run (the folder's name unless given)."""
    plan: Plan
    time_scale: float
    """The local backend's ``--time-scale`` K (1 under Shadow): scenario seconds = real seconds * K.
    Event times are real seconds locally, so every duration between events is multiplied by K to be
    said in scenario seconds (under Shadow the two are equal)."""
    events: dict[str, pd.DataFrame]
    """Raw events by name (``msg_sent``, ``block_seen``, ...): ``t``, ``host``, ``actor``,
    ``event`` and the event's fields, as logged."""
    hosts: pd.DataFrame
    """One row per plan host, with its role and what reading its log found (``log``)."""
    messages: pd.DataFrame
    """One row per bus message: id, type, src, dst, sent_at, recv_at, latency_ms, path_ms,
    excess_ms, first_on_connection, status, groups."""
    blocks: pd.DataFrame
    """One row per mined block: hash, height, pool_id, miner, phase, mined_at, sightings, parent, and
    whether it is on the final main chain (else the block that beat it, and by how long)."""
    block_seen: pd.DataFrame
    """One row per (block, node): when the node first saw the block, and the delay since mined."""
    reorgs: pd.DataFrame
    """One row per reorganisation a node logged: node, t, height, depth, top_before, dropped, hash."""
    payments: pd.DataFrame
    """One row per payment: the user's send (or failure), the marketplace's receipt and
    confirmation, and the delays between them."""

    @cached_property
    def links(self) -> pd.DataFrame:
        """One row per (src, dst) host pair: message counts, latency percentiles, the path latency
        and the excess over it (first messages on a connection apart)."""
        return tables.links_table(self.messages)

    @cached_property
    def tx_seen(self) -> pd.DataFrame:
        """One row per (transaction, node) first public sighting, with the delay since the send
        (:mod:`.transactions`)."""
        return transactions.tx_seen_table(self.events, self.plan, self.time_scale)

    @cached_property
    def transactions(self) -> pd.DataFrame:
        """One row per transaction a user sent: its first public sighting, how long until 50%, 90%
        and all nodes showed it, and its confirmation (:mod:`.transactions`)."""
        return transactions.transactions_table(self.events, self.tx_seen, self.payments, self.plan,
                                               self.time_scale)

    @cached_property
    def start(self) -> float | None:
        """The earliest event time of the run (the origin of the plots' time axes), or None."""
        times = [df["t"].min() for df in self.events.values() if len(df)]
        return float(min(times)) if times else None

    @cached_property
    def end(self) -> float | None:
        """The latest event time of the run, or None."""
        times = [df["t"].max() for df in self.events.values() if len(df)]
        return float(max(times)) if times else None


def load_run(out_dir: str | Path, label: str | None = None) -> Run:
    """Read a run folder (``plan.json`` and every host's ``events.jsonl``) into tables.

    Raises:
        OutputError: the folder is not a run, or nothing in it has been run.
    """
    out = Path(out_dir)
    plan = load.read_plan(out)
    events, logs = load.read_events(out, plan)
    plan, time_scale = load.run_choices(plan, events)
    hosts = tables.hosts_table(plan, logs)
    sightings = tables.first_sightings(events)
    blocks = races.mark_main_chain(tables.blocks_table(events, hosts, sightings))
    return Run(
        out_dir=out,
        label=label or out.resolve().name,
        plan=plan,
        time_scale=time_scale,
        events=events,
        hosts=hosts,
        messages=tables.messages_table(events, hosts, plan),
        blocks=blocks,
        block_seen=tables.block_seen_table(sightings, blocks),
        reorgs=races.reorgs_table(events),
        payments=tables.payments_table(events),
    )
