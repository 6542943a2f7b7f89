"""The marketplace: ``wallet_count`` vendors who receive payments, and who watch them arrive.

Vendors are subaddresses 1..``wallet_count`` of ONE wallet, not separate wallets: a
monero-wallet-rpc serves one open wallet at a time, so separate wallets would mean one wallet process
per vendor (thousands of processes in a large run) or switching wallets for every check; subaddresses
are what real shops use to tell payers apart, and a single ``get_transfers`` sees every vendor. The
vendor number in events is the subaddress index.

The marketplace registers the addresses with the directory and re-sends until it is acknowledged,
and again when the directory asks (``VendorsRequested``, after a restart of the directory). It
watches its payments on events, without a polling loop:

- ``TxpoolAdded`` (its node saw new transactions): ``get_transfers(pool)``; each new incoming txid is
  logged once as ``payment_received``.
- ``ChainAdvanced`` (new blocks): ``refresh`` and ``get_transfers(in)`` from the last height seen; each
  newly confirmed txid is logged as ``payment_confirmed`` (preceded by ``payment_received`` if the pool
  phase was missed, e.g. the transaction arrived in a block first).
"""

from __future__ import annotations

from typing import Any

from monerosim_actors.coordination.messages import (BootstrapDone, RegisterVendors, VendorsRegistered,
                                                    VendorsRequested)
from monerosim_actors.role import (ChainAdvanced, Envelope, Message, RoleActor, TransferEntry, TxpoolAdded,
                                   subaddresses)

RESCAN_BLOCKS = 10
"""Each scan re-reads this many blocks below the last one, so transfers re-mined by a short
reorganisation (or added by a wallet that was behind) are not missed; known txids are skipped."""


class Marketplace(RoleActor):
    """The marketplace role (``marketplace``). Parameter: ``wallet_count`` (vendors)."""

    wallet_count: int = 10
    register_retry_s: float = 10.0
    """Re-send ``RegisterVendors`` this often until the directory acknowledges (real seconds: it waits on a service starting)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.marketplace_id = str(ctx.config.host.agent_id)
        self.vendors: dict[str, int] = {}
        """address -> vendor (subaddress index)."""
        self.registered = False
        self.received: set[str] = set()
        self.confirmed: set[str] = set()
        self._scanned_to = 0
        """Chain height of the last scan; the next one starts a few blocks below it."""
        self._retry: Any = None

    def wallet_name(self) -> str:
        return self.marketplace_id

    def on_wallet_open(self) -> None:
        assert self.ctx.wallet is not None
        self.vendors = {address: i for i, address in subaddresses(self.ctx.wallet, int(self.wallet_count), "vendor").items()}

    def setup(self) -> None:
        self._register()

    def teardown(self) -> None:
        if self._retry is not None:
            self._retry.cancel()

    # --- the directory --------------------------------------------------------------------------

    def _register(self) -> None:
        self._retry = None
        if self.registered:
            return
        self.send(self.service_host("marketplace_directory"),
                  RegisterVendors(marketplace_id=self.marketplace_id, addresses=tuple(self.vendors)))
        self._retry = self.timeout(self.register_retry_s, self._register)

    def on_message(self, body: Message, env: Envelope) -> None:
        match body:
            case VendorsRegistered(count=count) if env.src == self.service_host("marketplace_directory"):
                self.registered = True
                if self._retry is not None:
                    self._retry.cancel()
                    self._retry = None
                self.emit("vendors_registered", marketplace_id=self.marketplace_id, count=count)
            case VendorsRequested() if env.src == self.service_host("marketplace_directory"):
                self.registered = False
                if self._retry is not None:
                    self._retry.cancel()
                self._register()
            case BootstrapDone() if env.src == self.service_host("block_controller"):
                pass
            case _:
                self.reject(env, "unexpected_message")

    # --- watching payments ----------------------------------------------------------------------

    def on_txpool_added(self, msg: TxpoolAdded) -> None:
        assert self.ctx.wallet is not None
        for t in self.ctx.wallet.get_transfers(in_=False, out=False, pending=False, pool=True):
            self._seen(t)

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        wallet = self.ctx.wallet
        assert wallet is not None
        wallet.refresh()
        entries = wallet.get_transfers(in_=True, out=False, pending=False, pool=False,
                                       min_height=max(0, self._scanned_to - RESCAN_BLOCKS - 1))
        for t in sorted(entries, key=lambda e: (e.height, e.txid)):
            if t.txid in self.confirmed or t.address not in self.vendors:
                continue
            self._seen(t)
            self.confirmed.add(t.txid)
            self.emit("payment_confirmed", txid=t.txid, amount=t.amount, address=t.address,
                      vendor=self.vendors[t.address], height=t.height)
        self._scanned_to = max(self._scanned_to, msg.height)

    def _seen(self, t: TransferEntry) -> None:
        if t.txid in self.received or t.address not in self.vendors:
            return
        self.received.add(t.txid)
        self.emit("payment_received", txid=t.txid, amount=t.amount, address=t.address,
                  vendor=self.vendors[t.address])
