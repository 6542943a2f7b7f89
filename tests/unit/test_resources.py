"""The memory estimate of a local run, and the refusal when the machine does not have it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from monerosim_actors.backends import resources
from monerosim_actors.plan.model import MonerodPlan, Plan, WalletPlan
from tests.unit.local_backend_plans import FakeHost, fake_plan


def plan_with(nodes: int, wallets: int, bare: int, miners: int = 0) -> Plan:
    """``nodes`` hosts with a monerod (the first ``miners`` of them pools), ``wallets`` of them with a
    wallet, and ``bare`` hosts with neither."""
    plan = fake_plan([FakeHost(f"h{i}") for i in range(nodes + bare)])
    hosts = []
    for i, h in enumerate(plan.hosts):
        node = MonerodPlan(18080, 18081, 18082, 18083, 1, ()) if i < nodes else None
        wallet = WalletPlan(18088, f"{h.ip}:18081") if i < wallets else None
        role = "mining_pool" if i < miners else "regular_user"
        hosts.append(replace(h, monerod=node, wallet=wallet, role=role))
    return replace(plan, hosts=tuple(hosts))


def test_the_estimate_counts_a_runtime_per_host_and_each_monerod_and_wallet() -> None:
    need = resources.estimate(plan_with(nodes=6, wallets=4, bare=2, miners=2))
    assert (need.hosts, need.miners, need.nodes, need.wallets) == (8, 2, 4, 4)
    assert need.total_mb == (8 * (resources.RUNTIME_MB + resources.HOST_OVERHEAD_MB) + resources.RUNTIME_SHARED_MB
                             + 2 * resources.MINER_OWN_MB + 4 * resources.NODE_OWN_MB
                             + (2 * resources.MINER_CACHES + 4) * resources.RANDOMX_CACHE_MB
                             + 4 * resources.WALLET_MB + resources.WALLET_SHARED_MB)
    assert need.describe().startswith(f"{need.total_mb} MiB: 2 mining monerod")
    assert "8 host runtimes" in need.describe()


def test_shared_randomx_counts_its_cache_once_and_the_dataset_once() -> None:
    plan = plan_with(nodes=6, wallets=4, bare=2, miners=2)
    private = resources.estimate(plan)
    shared = resources.estimate(replace(plan, randomx_files=("cache",)))
    fast = resources.estimate(replace(plan, randomx_files=("cache", "dataset")))
    assert private.randomx_mb == (2 * 2 + 4) * 256 and shared.randomx_mb == 256
    assert private.total_mb - shared.total_mb == 7 * 256
    assert fast.total_mb - shared.total_mb == resources.RANDOMX_DATASET_MB
    assert "RandomX 256 MiB shared by all" in shared.describe()


def test_randomx_stand_in_counts_every_monerod_alike_and_no_randomx_memory() -> None:
    plan = plan_with(nodes=6, wallets=4, bare=2, miners=2)
    private, stand_in = resources.estimate(plan), resources.estimate(replace(plan, randomx="stand_in"))
    assert stand_in.monerod_mb == 6 * resources.STAND_IN_MONEROD_MB
    assert private.total_mb - stand_in.total_mb == private.monerod_mb - 6 * resources.STAND_IN_MONEROD_MB
    assert f"6 monerod x {resources.STAND_IN_MONEROD_MB} MiB (RandomX's stand-in)" in stand_in.describe()


def test_shared_code_is_counted_once() -> None:
    one, hundred = (resources.estimate(plan_with(nodes=0, wallets=n, bare=n)) for n in (1, 100))
    assert hundred.wallet_mb - one.wallet_mb == 99 * resources.WALLET_MB
    assert hundred.runtime_mb - 100 * one.runtime_mb == -99 * resources.RUNTIME_SHARED_MB


def test_the_constants_are_not_below_the_measured_footprint() -> None:
    measured = json.loads((Path(__file__).parents[2] / "bench/results/monerod_footprint.json").read_text())
    median = measured["median"]
    with_caches = resources.MINER_OWN_MB + resources.MINER_CACHES * resources.RANDOMX_CACHE_MB
    assert with_caches >= median["monerod_after_100_blocks_rss_mb"]
    assert resources.NODE_OWN_MB + resources.RANDOMX_CACHE_MB >= median["monerod_follower_after_100_blocks_rss_mb"]
    assert resources.WALLET_MB + resources.WALLET_SHARED_MB >= median["wallet_after_100_blocks_rss_mb"]
    assert resources.RUNTIME_MB + resources.RUNTIME_SHARED_MB >= median["python_runtime_floor_rss_mb"]


def test_a_run_that_fits_is_not_refused() -> None:
    plan = plan_with(nodes=2, wallets=2, bare=1)
    need = resources.estimate(plan).total_mb + resources.RESERVE_MB
    assert resources.shortage(plan, need) is None


def test_a_run_that_does_not_fit_is_refused_with_numbers_and_what_to_do() -> None:
    plan = plan_with(nodes=2, wallets=2, bare=1, miners=1)
    need = resources.estimate(plan).total_mb + resources.RESERVE_MB
    message = resources.shortage(plan, need - 1)
    assert message is not None
    assert f"only {need - 1} MiB is available" in message
    assert f"1 mining monerod x {resources.MINER_OWN_MB} MiB, 1 other monerod x {resources.NODE_OWN_MB} MiB" in message
    for hint in ("node: remote", "public_nodes", "--skip-memory-check"):
        assert hint in message


def test_mem_available_is_meminfos() -> None:
    with open("/proc/meminfo", encoding="ascii") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    assert abs(resources.mem_available_mb() - kib // 1024) < 512  # the machine's use moves meanwhile
