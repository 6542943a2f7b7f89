"""How transactions spread (:mod:`monerosim_actors.analysis.transactions`): the spy's guesses against
the peer graph, the laws a correct run obeys, and a run whose nodes logged no ``tx_seen``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from monerosim_actors.analysis import load_run
from monerosim_actors.analysis.transactions import law_violations, peers_of, spy_view, transactions_summary

GOLDEN = Path(__file__).parents[1] / "golden" / "analysis" / "run"


def _with_peers(plan, peers: dict[str, tuple[str, ...]]):  # type: ignore[no-untyped-def]
    ips = {h.name: h.ip for h in plan.hosts}
    hosts = tuple(dataclasses.replace(h, monerod=dataclasses.replace(
        h.monerod, peers=tuple(f"{ips[p]}:18080" for p in peers.get(h.name, ())))) if h.monerod else h
        for h in plan.hosts)
    return dataclasses.replace(plan, hosts=hosts)


def test_a_first_sighting_on_a_peer_of_the_senders_node_is_counted_near_not_right() -> None:
    run = load_run(GOLDEN)
    plan = _with_peers(run.plan, {"user-1": ("pool-alpha",), "user-0": ("marketplace-0",)})
    assert peers_of(plan)["pool-alpha"] == {"user-1"}, "a peer either way"
    view = spy_view(run.transactions, run.tx_seen, plan)
    assert (view["precision"], view["sender_or_peer"]) == (0.0, 1.0), "both first sightings are the sender's peer"
    watched = spy_view(run.transactions, run.tx_seen, plan, watched={"user-0"})
    assert watched["transactions"] == 1 and watched["sender_or_peer"] == 0.0, "user-0 saw only tx02, from user-1"


def test_the_laws_hold_on_the_hand_written_run_and_a_broken_one_is_named() -> None:
    run = load_run(GOLDEN)
    assert law_violations(run.transactions, run.tx_seen, run.plan) == []
    early = run.tx_seen.assign(seen_at=run.tx_seen["seen_at"] - 1.0)
    problems = law_violations(run.transactions, early, run.plan)
    assert problems and all("sooner than" in p for p in problems)
    swapped = run.transactions.assign(reach_50_s=0.1)
    assert any("out of order" in p for p in law_violations(swapped, run.tx_seen, run.plan))


def test_a_run_without_tx_seen_says_why_its_transactions_are_not_known() -> None:
    run = load_run(GOLDEN)
    s = transactions_summary(run.transactions, run.tx_seen.iloc[0:0], run.plan)
    assert s["available"] is False and "tx_seen" in s["why"] and s["transactions"] == 2
    assert isinstance(run.transactions, pd.DataFrame)
