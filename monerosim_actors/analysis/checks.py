"""Consistency checks between the tables and what the logs must imply, for end-to-end tests.

Each check states a law a correct run obeys; a broken one names what is off, so a test can
``assert check_consistency(run) == []`` and print the reasons when it fails.
"""

from __future__ import annotations

from .run import Run
from .summary import mined_heights


def check_consistency(run: Run) -> list[str]:
    """What is inconsistent in a run's numbers (empty when nothing is).

    - the heights at which blocks were mined equal the chain height the nodes gained (highest
      minus lowest height seen, plus one), when any node saw a block; a height mined twice (two
      pools racing, one block orphaned) counts once;
    - payments confirmed are at most those sent;
    - every received message has a logged send, unless its sender's log is missing or cut.
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
    return problems
