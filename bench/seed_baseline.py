"""The seed's coordination, as ``monerosim-architecture-v2.md`` describes it: a signal file polled every second.

The block controller picks a pool with ``random()`` against the cumulative hashrate shares and writes
``/shared/mining_signals/<pool_id>.signal`` containing ``mine``; every mining pool runs
``while True: if should_mine(): mine_block(); time.sleep(1)``, where ``should_mine`` reads its signal
file and ``mine_block`` mines and removes the file. Here ``/shared`` is a temporary directory, the
loop can be stopped, and ``mine`` is a callable that returns at once, so what is measured is the
coordination alone.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL_S = 1.0
"""The seed's ``time.sleep(1)`` in the pool's mining loop."""


class SeedController:
    """The seed's ``BlockController.select_miner`` and ``signal_pool_to_mine``."""

    def __init__(self, shared: Path, pools: dict[str, float], rng: random.Random) -> None:
        self.shared = shared
        self.pools = pools
        self.rng = rng

    def select_miner(self) -> str:
        rand = self.rng.random()
        cumulative = 0.0
        for pool_id, share in self.pools.items():
            cumulative += share
            if rand <= cumulative:
                self.signal_pool_to_mine(pool_id)
                return pool_id
        raise ValueError(f"hashrate shares sum to {cumulative} < {rand}")

    def signal_pool_to_mine(self, pool_id: str) -> None:
        os.makedirs(self.shared / "mining_signals", exist_ok=True)
        with open(self.shared / "mining_signals" / f"{pool_id}.signal", "w") as f:
            f.write("mine")


class SeedPool:
    """The seed's ``MiningPool.run`` loop on a thread; ``mine(pool_id)`` stands in for ``generateblocks``."""

    def __init__(self, shared: Path, pool_id: str, mine: Callable[[str], None]) -> None:
        self.shared = shared
        self.pool_id = pool_id
        self.mine = mine
        self._stop = False
        self._thread = threading.Thread(target=self.run, name=f"seed-{pool_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run(self) -> None:
        while not self._stop:
            if self.should_mine():
                self.mine_block()
            time.sleep(POLL_S)

    def should_mine(self) -> bool:
        try:
            with open(self.shared / "mining_signals" / f"{self.pool_id}.signal") as f:
                return f.read().strip() == "mine"
        except OSError:
            return False

    def mine_block(self) -> None:
        self.mine(self.pool_id)
        os.remove(self.shared / "mining_signals" / f"{self.pool_id}.signal")

    def stop(self) -> None:
        """Ends the loop after its current sleep."""
        self._stop = True
        self._thread.join()
