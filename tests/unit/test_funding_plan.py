"""How many outputs the bootstrap gives each user, and how they are packed into transfers
(``coordination/funding_plan.py``): pure functions, checked against the documented rule."""

from __future__ import annotations

import math

import pytest

from monerosim_actors.coordination.funding_plan import (MAX_DESTINATIONS, MAX_OUTPUTS_PER_USER, MIN_OUTPUTS_PER_USER,
                                                        erlang_c, outputs_for_rate, pack_transfers, split_amount)


def test_outputs_for_rate_is_the_documented_rule() -> None:
    # the quickstart (p = 0.5 per minute, 30 s blocks): 3.47 payments per lock period -> 10 outputs
    assert outputs_for_rate(0.5, 30) == 10
    assert outputs_for_rate(0.1, 120) == 7  # the seed's example: 2.1 per lock period
    assert outputs_for_rate(0.0, 120) == outputs_for_rate(0.01, 30) == MIN_OUTPUTS_PER_USER
    assert outputs_for_rate(1.0, 120) == outputs_for_rate(0.999, 120) == 168  # p >= 1 is clamped, as the role does
    assert outputs_for_rate(0.999, 36_000) == MAX_OUTPUTS_PER_USER
    rates = [outputs_for_rate(p / 20, 60) for p in range(20)]
    assert rates == sorted(rates)  # more payments, more outputs
    # the bound the rule keeps: a payment finds all n outputs locked with probability <= 1%, and
    # with one output fewer it would not (above the minimum)
    for p, block in ((0.5, 30), (0.1, 120), (0.5, 120), (0.9, 60)):
        load = -math.log1p(-p) / 60 * 10 * block
        n = outputs_for_rate(p, block)
        assert erlang_c(n, load) <= 0.01 and (n == MIN_OUTPUTS_PER_USER or erlang_c(n - 1, load) > 0.01)


def test_erlang_c_known_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # two servers, load 1: an arrival waits 1 time in 3
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: the utilisation
    assert erlang_c(3, 3.0) == erlang_c(3, 5.0) == 1.0 and erlang_c(3, 0.0) == 0.0


def test_split_amount_and_pack_transfers() -> None:
    assert split_amount(10, 4) == [2, 2, 2, 4] and sum(split_amount(10**13, 7)) == 10**13
    assert split_amount(3, 8) == [1, 1, 1]  # never an output of 0
    # users of 10 outputs: one per transfer (two do not fit in 15)
    assert list(pack_transfers([("a", 10), ("b", 10)])) == [[("a", 10)], [("b", 10)]]
    # 4 outputs: 3 users per transfer
    assert [len(t) for t in pack_transfers((str(i), 4) for i in range(7))] == [3, 3, 1]
    # more than 15: whole transfers, and the rest shares one with the next users
    assert list(pack_transfers([("a", 4), ("b", 20), ("c", 5), ("d", 8)])) == [
        [("a", 4)], [("b", 15)], [("b", 5), ("c", 5)], [("d", 8)]]
    assert all(sum(n for _, n in t) <= MAX_DESTINATIONS for t in pack_transfers((str(i), i) for i in range(40)))
