"""The block controller: miner choice by share, intervals, schedule outcomes, registration, authorization."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from scipy import stats

from monerosim_actors.actors.mining_pool import MiningPool
from monerosim_actors.coordination.block_controller import BlockController
from monerosim_actors.coordination.messages import (BlocksMined, MineBlocks, RegisterPool,
                                                    RegistrationRequested, RequestFunds)
from monerosim_actors.coordination.schedule import BlockSchedule, PoolShare, expected_shares
from monerosim_actors.testing import FakeNet, deliver

N = 10_000
POOLS = [PoolShare("pool_alpha", "pool-alpha", 0.4), PoolShare("pool_beta", "pool-beta", 0.3),
         PoolShare("pool_gamma", "pool-gamma", 0.3)]


def test_miner_choice_matches_the_shares() -> None:
    sched = BlockSchedule(POOLS, random.Random(2024), schedule="exponential", block_time_s=120)
    counts = Counter(sched.next_pool().pool_id for _ in range(N))
    shares = expected_shares(POOLS)
    chi = stats.chisquare([counts[p.pool_id] for p in POOLS], [N * shares[p.pool_id] for p in POOLS])
    assert chi.pvalue > 0.01


def test_the_chi_square_test_can_fail() -> None:
    """Choices drawn uniformly are rejected against the 0.4/0.3/0.3 shares."""
    rng = random.Random(2024)
    counts = Counter(rng.choice(POOLS).pool_id for _ in range(N))
    chi = stats.chisquare([counts[p.pool_id] for p in POOLS], [N * 0.4, N * 0.3, N * 0.3])
    assert chi.pvalue < 0.01


def test_exponential_intervals_have_the_block_time_as_mean() -> None:
    sched = BlockSchedule(POOLS, random.Random(7), schedule="exponential", block_time_s=120)
    draws = [sched.next_interval() for _ in range(N)]
    assert stats.kstest(draws, stats.expon(scale=120).cdf).pvalue > 0.01


def test_fixed_intervals_draw_nothing() -> None:
    rng = random.Random(7)
    sched = BlockSchedule(POOLS, rng, schedule="fixed", block_time_s=60)
    state = rng.getstate()
    assert {sched.next_interval() for _ in range(10)} == {60.0}
    assert rng.getstate() == state


def test_same_seed_same_sequence() -> None:
    def seq(seed: int) -> list[tuple[float, str]]:
        s = BlockSchedule(POOLS, random.Random(seed), schedule="exponential", block_time_s=120)
        return [(i, p.pool_id) for i, p in (s.next_block() for _ in range(200))]
    assert seq(5) == seq(5)
    assert seq(5) != seq(6)


@pytest.mark.parametrize("bad", [dict(pools=[]), dict(pools=[PoolShare("a", "a", 0)]),
                                 dict(schedule="poisson"), dict(block_time_s=0)])
def test_schedule_refuses_bad_settings(bad: dict[str, Any]) -> None:
    args: dict[str, Any] = dict(pools=POOLS, schedule="exponential", block_time_s=120)
    args.update(bad)
    with pytest.raises(ValueError):
        BlockSchedule(args.pop("pools"), random.Random(1), **args)


# --- the controller with fake pools -----------------------------------------------------------

def _params(**over: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(
        pools=[{"pool_id": p.pool_id, "host": p.host, "hashrate_share": p.hashrate_share} for p in POOLS],
        users=[], marketplaces=[], registration_timeout_s=30, mine_timeout_s=20, schedule="exponential",
        block_time_s=120)
    params.update(over)
    return params


def _net(pools: list[PoolShare] = POOLS, seed: int = 42, data_dir: str | None = None,
         **over: Any) -> tuple[FakeNet, BlockController]:
    net = FakeNet(data_dir=data_dir)
    controller = net.add(BlockController, "block-controller", "block_controller", _params(**over), seed=seed)
    for p in pools:
        net.add(MiningPool, p.host, "mining_pool", {"pool_id": p.pool_id, "hashrate_share": p.hashrate_share})
    return net, controller


def test_schedule_mines_blocks_by_share_and_records_outcomes() -> None:
    net, controller = _net()
    net.start()
    net.run(until=120 * 300)
    ev = net.events("block-controller")
    done = [e for e in ev.named("mine_completed") if e["phase"] == "schedule"]
    assert 250 < len(done) < 350
    assert all(len(e["hashes"]) == 1 and e["elapsed_ms"] >= 0 for e in done)
    assert [e["height"] for e in done] == sorted(e["height"] for e in done)
    counts = Counter(e["pool_id"] for e in done)
    chi = stats.chisquare([counts[p.pool_id] for p in POOLS], [len(done) * s for s in (0.4, 0.3, 0.3)])
    assert chi.pvalue > 0.01
    mined = [e for name, e in net.all_events("block_mined") if e["phase"] == "schedule"]
    assert {e["hash"] for e in mined} == {h for e in done for h in e["hashes"]}


def _choices(net: FakeNet) -> list[str]:
    ev = net.events("block-controller")
    chosen = [(e["pool_id"]) for e in ev.named("mine_ordered") if e["phase"] == "schedule"]
    return chosen


def test_choices_do_not_depend_on_which_pools_answer() -> None:
    """Same seed, one pool missing: the same sequence of choices, the missing one logged as skipped."""
    net_a, _ = _net()
    net_a.start()
    net_a.run(until=120 * 50)
    net_b, _ = _net(pools=POOLS[:2])
    net_b.start()
    net_b.run(until=120 * 50)
    ev_b = net_b.events("block-controller")
    merged = sorted([(t, e["pool_id"]) for t, e in _timed(net_b, "mine_ordered") if e["phase"] == "schedule"] +
                    [(t, e["pool_id"]) for t, e in _timed(net_b, "mine_skipped")])
    a = [e["pool_id"] for e in net_a.events("block-controller").named("mine_ordered") if e["phase"] == "schedule"]
    assert [p for _, p in merged][:len(a)] == a[:len(merged)]
    assert ev_b.named("registration_closed")[0]["missing"] == ["pool_gamma"]
    assert {e["pool_id"] for e in ev_b.named("mine_skipped")} == {"pool_gamma"}


def _timed(net: FakeNet, event: str) -> list[tuple[int, dict[str, Any]]]:
    lines = net.events("block-controller").lines
    return [(i, f) for i, (_, e, f) in enumerate(lines) if e == event]


def test_registration_closes_as_soon_as_all_pools_registered() -> None:
    net, controller = _net()
    net.start()
    net.run(until=1)
    assert controller.phase != "registration"
    closed = net.events("block-controller").named("registration_closed")
    assert closed == [{"registered": ["pool_alpha", "pool_beta", "pool_gamma"], "missing": []}]


def test_controller_asks_every_expected_pool_and_asks_again_while_missing() -> None:
    net, controller = _net(pools=[])
    net.start()
    net.run(until=25)
    asked = Counter(e.dst for e in net.sent if isinstance(e.body, RegistrationRequested))
    assert asked == {"pool-alpha": 3, "pool-beta": 3, "pool-gamma": 3}  # at 0, 10 and 20 s
    net.run(until=60)
    assert controller.phase == "schedule"
    assert Counter(e.dst for e in net.sent if isinstance(e.body, RegistrationRequested)) == asked


def test_a_pool_that_does_not_answer_times_out_and_the_schedule_goes_on() -> None:
    net, controller = _net(schedule="fixed", block_time_s=100)
    net.start()
    net.run(until=1)
    # pool-beta's actor disappears: orders to it are never answered
    net.hosts.pop("pool-beta")
    net.run(until=100 * 40)
    ev = net.events("block-controller")
    timeouts = ev.named("mine_timeout")
    assert timeouts and {t["pool_id"] for t in timeouts} == {"pool_beta"}
    assert len(ev.named("mine_ordered")) >= 39
    assert len(ev.named("mine_completed")) == len(ev.named("mine_ordered")) - len(timeouts)


def test_register_pool_only_from_planned_hosts() -> None:
    net, controller = _net(pools=[])
    net.start()
    deliver(net, "user-0", "block-controller", RegisterPool(pool_id="pool_alpha", hashrate_share=1.0, address="x"))
    deliver(net, "pool-beta", "block-controller", RegisterPool(pool_id="pool_alpha", hashrate_share=1.0, address="x"))
    deliver(net, "pool-beta", "block-controller", RegisterPool(pool_id="pool_beta", hashrate_share=0.9, address="b"))
    net.run(until=1)
    rejected = net.events("block-controller").named("msg_rejected")
    assert [(r["src"], r["reason"]) for r in rejected] == [("user-0", "not_a_planned_pool"),
                                                           ("pool-beta", "not_a_planned_pool")]
    assert set(controller.registered) == {"pool_beta"}
    assert controller.registered["pool_beta"].share.hashrate_share == 0.3  # the plan's share wins


def test_request_funds_only_from_planned_users() -> None:
    users = [{"user_id": "user_0", "host": "user-0", "wallet_initial_balance": 1.0}]
    net, controller = _net(users=users)
    net.start()
    deliver(net, "user-1", "block-controller", RequestFunds(user_id="user_0", address="a", amount=1))
    deliver(net, "user-0", "block-controller", RequestFunds(user_id="user_1", address="a", amount=1))
    net.run(until=0.5)
    rejected = net.events("block-controller").named("msg_rejected")
    assert [(r["src"], r["reason"]) for r in rejected] == [("user-1", "not_a_planned_user"),
                                                           ("user-0", "not_a_planned_user")]


def test_answers_only_from_the_pool_that_got_the_order() -> None:
    net, controller = _net(schedule="fixed", block_time_s=100)
    net.start()
    net.run(until=1)
    net.hosts.pop("pool-alpha")
    net.hosts.pop("pool-beta")
    net.hosts.pop("pool-gamma")
    net.run(until=150)
    order = [e for e in net.sent if isinstance(e.body, MineBlocks) and e.body.phase == "schedule"][0]
    other = next(p.host for p in POOLS if p.host != order.dst)
    deliver(net, other, "block-controller", BlocksMined(order=order.body.order, height=5, hashes=("h",),
                                                        elapsed_ms=1.0))
    deliver(net, order.dst, "block-controller", BlocksMined(order=999, height=5, hashes=("h",), elapsed_ms=1.0))
    net.run(until=1)
    rejected = net.events("block-controller").named("msg_rejected")
    assert [(r["src"], r["reason"]) for r in rejected] == [(other, "unknown_order"), (order.dst, "unknown_order")]


def test_a_late_answer_is_recorded_as_late() -> None:
    net, controller = _net(schedule="fixed", block_time_s=1000, mine_timeout_s=5)
    net.start()
    net.run(until=1)
    net.hosts.pop("pool-alpha"), net.hosts.pop("pool-beta"), net.hosts.pop("pool-gamma")
    net.run(until=1010)
    order = [e for e in net.sent if isinstance(e.body, MineBlocks)][0]
    deliver(net, order.dst, "block-controller", BlocksMined(order=order.body.order, height=5, hashes=("h",),
                                                            elapsed_ms=1.0))
    net.run(until=1)
    ev = net.events("block-controller")
    assert ev.named("mine_timeout")[0]["order"] == order.body.order
    assert ev.named("mine_completed")[0]["late"] is True


def test_pools_that_register_while_the_faucet_is_still_opening_are_kept() -> None:
    from monerosim_actors.errors import RpcTimeout
    net, controller = _net()
    faucet = net.hosts["block-controller"].wallet
    assert faucet is not None
    real_create = faucet.create_wallet
    calls = []

    def slow_create(filename: str, password: str = "", language: str = "English") -> None:
        calls.append(filename)
        if len(calls) == 1:
            raise RpcTimeout("create_wallet", "no answer in 60 s")
        real_create(filename, password, language)
    faucet.create_wallet = slow_create  # type: ignore[method-assign]
    net.start()
    net.run(until=1)
    assert len(controller.registered) == 3 and controller.phase == "registration"
    net.run(until=controller.setup_retry_s)
    assert controller.phase != "registration" and controller.bootstrap.faucet_address == "faucet/0"
    assert net.events("block-controller").named("registration_closed")[0]["missing"] == []


def test_each_users_outputs_follow_its_rate_unless_the_scenario_sets_them() -> None:
    users = [{"user_id": "user_0", "host": "user-0", "wallet_initial_balance": 10.0, "transaction_frequency": 0.5},
             {"user_id": "user_1", "host": "user-1", "wallet_initial_balance": 10.0, "transaction_frequency": 0.1},
             {"user_id": "user_2", "host": "user-2", "wallet_initial_balance": 10.0}]
    _, controller = _net(users=users, block_time_s=30)
    assert [u.outputs for u in controller.users] == [10, 4, 4]  # 3.5 payments per lock period; 0.5; no rate
    _, controller = _net(users=users, block_time_s=120)
    assert [u.outputs for u in controller.users] == [24, 7, 4]
    _, controller = _net(users=users, block_time_s=30, outputs_per_user=12)
    assert [u.outputs for u in controller.users] == [12, 12, 12]
