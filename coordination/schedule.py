"""The block schedule's decisions: when the next block is due and which pool finds it.

Pure logic, no I/O, so the distributions can be tested over many draws. Every decision comes from the
controller's seeded RNG in a fixed order (for block n: the interval before it, then its miner), and the
miner is chosen among the pools the PLAN expects, weighted by their planned share; whether a pool has
registered or answers in time is handled by the caller and never changes the sequence of draws. So
the same seed gives the same sequence of (interval, pool) whatever the messages do.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from monerosim_actors.vocabulary import BlockScheduleKind


@dataclass(frozen=True)
class PoolShare:
    pool_id: str
    host: str
    hashrate_share: float


class BlockSchedule:
    """Draws (interval, pool) for each next block from one RNG.

    Args:
        pools: the expected pools, in plan order (the order matters for determinism).
        rng: the controller's seeded RNG.
        schedule: ``exponential`` (proof-of-work: memoryless gaps with mean ``block_time_s``) or
            ``fixed`` (every ``block_time_s``; no RNG draw).
        block_time_s: the mean (or fixed) interval, scenario seconds.

    Raises:
        ValueError: no pool, a share that is not > 0, an unknown schedule or a bad block time.
    """

    def __init__(self, pools: Sequence[PoolShare], rng: random.Random, *, schedule: BlockScheduleKind,
                 block_time_s: float) -> None:
        if not pools:
            raise ValueError("the schedule needs at least one pool")
        if any(not (p.hashrate_share > 0) or not math.isfinite(p.hashrate_share) for p in pools):
            raise ValueError("every hashrate share must be a finite number > 0")
        if schedule not in get_args(BlockScheduleKind):
            raise ValueError(f"schedule must be one of {', '.join(get_args(BlockScheduleKind))}, got {schedule!r}")
        if not (block_time_s > 0) or not math.isfinite(block_time_s):
            raise ValueError(f"block_time_s must be > 0, got {block_time_s}")
        self.pools = tuple(pools)
        self._cum = list(itertools.accumulate(p.hashrate_share for p in self.pools))
        self._rng = rng
        self.schedule = schedule
        self.block_time_s = float(block_time_s)

    def next_interval(self) -> float:
        """Scenario seconds until the next block is due."""
        if self.schedule == "fixed":
            return self.block_time_s
        return self._rng.expovariate(1.0 / self.block_time_s)

    def next_pool(self) -> PoolShare:
        """The pool that finds the next block, with probability proportional to its share."""
        (pool,) = self._rng.choices(self.pools, cum_weights=self._cum)
        return pool

    def next_block(self) -> tuple[float, PoolShare]:
        """The next block's interval and miner, drawn in that order."""
        interval = self.next_interval()
        return interval, self.next_pool()


def expected_shares(pools: Sequence[PoolShare]) -> dict[str, float]:
    """Each pool's probability of being chosen (its share over the sum of shares)."""
    total = sum(p.hashrate_share for p in pools)
    return {p.pool_id: p.hashrate_share / total for p in pools}
