"""The coordination services' message types, beside the services that speak them.

The block controller (``block_controller.py``, ``bootstrap.py``) and the marketplace directory
(``marketplace_directory.py``) speak these with the pools, users and marketplaces; the wire format
and the registry are :mod:`monerosim_actors.wire`. Commands are imperative (``MineBlocks``), facts
past tense (``BlocksMined``); amounts are atomic units (1 XMR = 10**12).
"""

from __future__ import annotations

from dataclasses import dataclass

from monerosim_actors.wire import Message


# --- block controller ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterPool(Message, kind="register_pool"):
    """A pool asks the block controller to include it in the schedule."""

    pool_id: str
    hashrate_share: float
    address: str
    """The pool's coinbase address."""


@dataclass(frozen=True, slots=True)
class PoolRegistered(Message, kind="pool_registered"):
    """The controller's answer to :class:`RegisterPool`."""

    pool_id: str
    accepted: bool
    reason: str


@dataclass(frozen=True, slots=True)
class RegistrationRequested(Message, kind="registration_requested"):
    """The controller (restarted, or still waiting) asks a pool to register (again)."""


@dataclass(frozen=True, slots=True)
class MineBlocks(Message, kind="mine_blocks"):
    """The controller tells a pool to mine ``count`` blocks paying ``address``."""

    order: int
    """Sequence number of the order, unique per controller run; the answer carries it back."""
    count: int
    address: str
    phase: str
    """``bootstrap`` or ``schedule``."""


@dataclass(frozen=True, slots=True)
class BlocksMined(Message, kind="blocks_mined"):
    """A pool's answer to :class:`MineBlocks`: the height reached and the new blocks' hashes."""

    order: int
    height: int
    """Height of the newest block mined (``generateblocks``' answer; the genesis block is 0)."""
    hashes: tuple[str, ...]
    """Oldest first."""
    elapsed_ms: float
    """How long ``generateblocks`` took on the pool."""


@dataclass(frozen=True, slots=True)
class MineFailed(Message, kind="mine_failed"):
    """A pool could not carry out a :class:`MineBlocks` order."""

    order: int
    reason: str


@dataclass(frozen=True, slots=True)
class RequestFunds(Message, kind="request_funds"):
    """A user asks the controller's faucet for its initial balance during the bootstrap."""

    user_id: str
    address: str
    amount: int


@dataclass(frozen=True, slots=True)
class FundsSent(Message, kind="funds_sent"):
    """The faucet paid a user; the funds are unlocked once ``unlock_height`` is reached."""

    amount: int
    txid: str
    unlock_height: int
    """Top block height from which the funds are spendable at the earliest (mined in the next block)."""


@dataclass(frozen=True, slots=True)
class BootstrapDone(Message, kind="bootstrap_done"):
    """The controller tells every agent that the bootstrap is over and the schedule starts."""

    height: int
    failed: str = ""
    """Why the bootstrap failed (e.g. ``mining_failed``), empty when every user is funded: a user
    told of a failure does not start paying on this message."""


# --- marketplace directory -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterVendors(Message, kind="register_vendors"):
    """A marketplace publishes its vendor addresses; a new registration replaces the old one."""

    marketplace_id: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VendorsRegistered(Message, kind="vendors_registered"):
    marketplace_id: str
    count: int


@dataclass(frozen=True, slots=True)
class VendorsRequested(Message, kind="vendors_requested"):
    """The directory (restarted, with an empty registry) asks a marketplace to register again."""


@dataclass(frozen=True, slots=True)
class GetVendors(Message, kind="get_vendors"):
    """A user asks for the current vendor addresses."""

    request: int


@dataclass(frozen=True, slots=True)
class VendorList(Message, kind="vendor_list"):
    request: int
    addresses: tuple[str, ...]
