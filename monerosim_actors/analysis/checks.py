"""Consistency checks between the tables and what the logs must imply, for end-to-end tests.

Each check states a law a correct run obeys; a broken one names what is off, so a test can
``assert check_consistency(run) == []`` and print the reasons when it fails.
"""

from __future__ import annotations

import pandas as pd

from monerosim_actors.events.names import EventName

from .races import unavailable
from .run import Run
from .summary import mined_heights
from .tables import select


def check_consistency(run: Run) -> list[str]:
    """What is inconsistent in a run's numbers (empty when nothing is).

    - the heights at which blocks were mined equal the chain height the nodes gained (highest
      minus lowest height seen, plus one), when any node saw a block; a height mined twice (two
      pools racing, one block orphaned) counts once;
    - when the logs give every block's parent: the main chain holds one block per height, and each
      stale block lost to a main-chain block at its own height;
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
    problems += main_chain_problems(run.blocks)
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


def main_chain_problems(blocks: pd.DataFrame) -> list[str]:
    """What is off in the main chain's marking (nothing when it cannot be told)."""
    if unavailable(blocks) is not None or not len(blocks):
        return []
    problems = []
    main = blocks[blocks["main_chain"] == True]  # noqa: E712 (a nullable column)
    twice = main["height"][main["height"].duplicated()]
    if len(twice):
        problems.append(f"blocks: the main chain has two blocks at height {int(twice.iloc[0])}")
    lost = blocks[(blocks["main_chain"] == False) & blocks["beaten_by"].isna()]  # noqa: E712
    if len(lost):
        problems.append(f"blocks: {len(lost)} stale block(s) with no main-chain block at their height "
                        f"(first: {lost['hash'].iloc[0]} at {lost['height'].iloc[0]})")
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
