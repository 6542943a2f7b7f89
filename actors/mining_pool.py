"""The mining pool: a node and a coinbase address, mining only when the block controller says so.

Under Shadow a RandomX mining loop would never block (simulated time would stand still), so blocks
are found on order: the controller draws the miner by hashrate share and sends ``MineBlocks``; the
pool calls ``generateblocks`` on its own regtest monerod and answers ``BlocksMined`` (or
``MineFailed``). Each block is logged with its parent (one ``get_block_header_by_hash`` on the
pool's own node), so that ``analyze`` can tell the main chain from the blocks that lost a race. A node that is not synchronised yet answers ``BUSY``; the pool retries a few times
with a short back-off (scheduled, never slept) before it gives up. Large orders are mined a few
blocks per call (:data:`BLOCKS_PER_CALL`), so no single RPC call outlasts its timeout.

The pool's wallet (named after the pool, reopened after restarts) gives the coinbase address it
registers. It registers on start, again whenever the controller sends ``RegistrationRequested``, and
keeps retrying until the controller acknowledges. Mine orders are accepted only from the block
controller's host.
"""

from __future__ import annotations

from typing import Any

from monerosim_actors.coordination.messages import (BlocksMined, BootstrapDone, MineBlocks, MineFailed,
                                                    PoolRegistered, RegisterPool, RegistrationRequested)
from monerosim_actors.role import (STATUS_BUSY, Envelope, EventName, Message, RoleActor, RpcError,
                                   RpcResponseError)

BUSY_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)
"""Scenario seconds between attempts while monerod answers ``BUSY``; then the order fails."""
BLOCKS_PER_CALL = 5
"""A large order (the bootstrap's 80 blocks) is mined in calls of at most this many blocks: one
RandomX block took up to 6 s on the loaded test machine, and one call must end within the RPC
client's timeout."""


class MiningPool(RoleActor):
    """The mining pool role (``mining_pool``). Parameters: ``pool_id``, ``hashrate_share``."""

    pool_id: str = ""
    hashrate_share: float = 0.0
    register_retry_s: float = 10.0
    """Re-send ``RegisterPool`` this often until the controller acknowledges (real seconds: it waits on a service starting)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.pool_id = str(self.pool_id or ctx.config.host.agent_id)
        self.address = ""
        self.registered = False
        self._registration = self.until_acknowledged(self.controller, self._registration_message,
                                                     every_s=float(self.register_retry_s))

    def wallet_name(self) -> str:
        return self.pool_id

    def on_wallet_open(self) -> None:
        assert self.ctx.wallet is not None
        self.address = self.ctx.wallet.get_address()

    def setup(self) -> None:
        self._registration.start()

    @property
    def controller(self) -> str:
        return self.service_host("block_controller")

    # --- registration ---------------------------------------------------------------------------

    def _registration_message(self) -> RegisterPool:
        return RegisterPool(pool_id=self.pool_id, hashrate_share=float(self.hashrate_share), address=self.address)

    # --- messages -------------------------------------------------------------------------------

    def on_message(self, body: Message, env: Envelope) -> None:
        if env.src != self.controller:
            self.reject(env, "not_the_block_controller")
            return
        match body:
            case MineBlocks():
                self._mine(body, attempt=0)
            case RegistrationRequested():
                self.registered = False
                self._registration.start()
            case PoolRegistered(accepted=accepted, reason=reason):
                self.registered = accepted
                if accepted:
                    self._registration.stop()
                else:  # asked again on the timer, as if it had not arrived
                    self.emit(EventName.REGISTRATION_REFUSED, pool_id=self.pool_id, reason=reason)
            case BootstrapDone():
                pass
            case _:
                self.reject(env, "unexpected_type")

    def _mine(self, order: MineBlocks, attempt: int) -> None:
        """Carry out an order, at most :data:`BLOCKS_PER_CALL` blocks per ``generateblocks`` call."""
        assert self.ctx.daemon is not None
        started = self.ctx.clock.now()
        hashes: list[str] = []
        height = 0
        try:
            while len(hashes) < order.count:
                chunk = min(BLOCKS_PER_CALL, order.count - len(hashes))
                height, new = self.ctx.daemon.generateblocks(chunk, order.address)
                first = height - len(new) + 1
                for i, block_hash in enumerate(new):
                    self.emit(EventName.BLOCK_MINED, pool_id=self.pool_id, order=order.order, height=first + i,
                              hash=block_hash, prev=self._parent(block_hash), phase=order.phase)
                hashes += new
        except RpcResponseError as e:
            if e.rpc_message == STATUS_BUSY and not hashes and attempt < len(BUSY_RETRY_DELAYS_S):
                self.after(BUSY_RETRY_DELAYS_S[attempt], self._mine, order, attempt + 1)
                return
            self._fail(order, f"{e.rpc_message or e}")
            return
        except RpcError as e:
            self._fail(order, f"{type(e).__name__}: {e}")
            return
        elapsed_ms = round((self.ctx.clock.now() - started) * 1000, 3)
        self.send(self.controller, BlocksMined(order=order.order, height=height, hashes=tuple(hashes),
                                               elapsed_ms=elapsed_ms))

    def _parent(self, block_hash: str) -> str:
        """The parent of a block just mined, as the pool's own node has it: the analysis needs it to
        tell the main chain from stale blocks (a pool may mine on a tip another block has already
        replaced elsewhere). Empty when the node cannot say: the block is mined all the same."""
        assert self.ctx.daemon is not None
        try:
            return self.ctx.daemon.get_block_header_by_hash(block_hash).prev_hash
        except RpcError:
            return ""

    def _fail(self, order: MineBlocks, reason: str) -> None:
        self.emit(EventName.MINE_FAILED, pool_id=self.pool_id, order=order.order, reason=reason, phase=order.phase)
        self.send(self.controller, MineFailed(order=order.order, reason=reason))
