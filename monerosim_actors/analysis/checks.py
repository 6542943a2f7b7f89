"""Consistency checks between the tables and what the logs must imply, for end-to-end tests.

Each check states a law a correct run obeys; a broken one names what is off, so a test can
``assert check_consistency(run) == []`` and print the reasons when it fails.
"""

from __future__ import annotations

import pandas as pd

from monerosim_actors.events.names import EventName

from .run import Run
from .summary import mined_heights
from .tables import select


def check_consistency(run: Run) -> list[str]:
    """What is inconsistent in a run's numbers (empty when nothing is).

    - the heights at which blocks were mined equal the chain height the nodes gained (highest
      minus lowest height seen, plus one), when any node saw a block; a height mined twice (two
      pools racing, one block orphaned) counts once;
    - payments confirmed are at most those sent;
    - every received message has a logged send, unless its sender's log is missing or cut;
    - every host's runtime stopped with exit code 0, and no actor (``actor_failed``) or bus thread
      (``bus_failed``) of it died: one problem per host, naming what failed.
    """
    problems = []
    heights = run.block_seen["height"].dropna()
    if len(heights):
        gained = int(heights.max()) - int(heights.min()) + 1
        mined = mined_heights(run.blocks)
        if mined != gained:
            problems.append(f"blocks: mined at {mined} heights, but the chain grew by {gained} "
                            f"(heights {int(heights.min())}..{int(heights.max())})")
    sent = int((run.payments["status"] == "sent").sum())
    confirmed = int(run.payments["confirmed_at"].notna().sum())
    if confirmed > sent:
        problems.append(f"payments: {confirmed} confirmed, but only {sent} sent")
    incomplete = set(run.hosts.loc[run.hosts["log"] != "ok", "host"])
    orphans = run.messages[(run.messages["status"] == "receipt_only")
                           & ~run.messages["src"].isin(incomplete)]
    if len(orphans):
        problems.append(f"messages: {len(orphans)} received with no send logged by a sender "
                        f"whose log is whole (first: {orphans['id'].iloc[0]})")
    problems += host_failures(run)
    return problems


def host_failures(run: Run) -> list[str]:
    """One line per host (in plan order) whose actor or bus thread died or whose runtime exited
    non-zero: ``host H: actor A failed: KeyError: 'x'; stopped with exit code 3 (actor_failed)``."""
    found: dict[str, list[str]] = {}
    died: set[str] = set()
    actors = select(run.events, EventName.ACTOR_FAILED, {"host": "object", "actor": "object",
                                                  "error_type": "object", "error": "object"})
    for row in actors.itertuples(index=False):
        found.setdefault(str(row.host), []).append(
            f"actor {_text(row.actor)} failed: {_text(row.error_type)}: {_text(row.error)}")
        died.add(str(row.host))
    bus = select(run.events, EventName.BUS_FAILED, {"host": "object", "error": "object"})
    for row in bus.itertuples(index=False):
        found.setdefault(str(row.host), []).append(f"bus thread failed: {_text(row.error)}")
        died.add(str(row.host))
    stopped = select(run.events, EventName.HOST_STOPPED, {"host": "object", "reason": "object",
                                                   "exit_code": "Int64", "detail": "object"})
    for row in stopped.itertuples(index=False):
        if pd.isna(row.exit_code) or row.exit_code == 0:
            continue
        why = _text(row.reason)
        if str(row.host) not in died and not pd.isna(row.detail):  # else the line above says it
            why += f": {_text(row.detail)}"
        found.setdefault(str(row.host), []).append(f"stopped with exit code {row.exit_code} ({why})")
    order = {host: i for i, host in enumerate(run.hosts["host"])}
    return [f"host {host}: {'; '.join(what)}"
            for host, what in sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]


def _text(value: object) -> str:
    """A logged field as text; an absent one is ``?``, a long one is cut."""
    return "?" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)[:300]
