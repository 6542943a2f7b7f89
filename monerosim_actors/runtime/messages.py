"""What the runtime tells the role actor (``ref.tell(...)``); the role dispatches on them with ``match``.

Bus messages arrive already decoded and already logged as ``msg_received``; chain and pool news come
from the host's own monerod ZMQ publisher (the runtime has already logged ``block_seen``).
"""

from __future__ import annotations

from dataclasses import dataclass

from monerosim_actors.wire import Envelope


@dataclass(frozen=True, slots=True)
class Delivered:
    """A bus message addressed to this host (``envelope.body`` is the typed message)."""

    envelope: Envelope


@dataclass(frozen=True, slots=True)
class ChainAdvanced:
    """The host's monerod switched its main chain to include new blocks.

    ``height`` is the height of the newest block in ``hashes`` (the same number ``generateblocks``
    returns and ``block_seen`` logs; monerod's ``get_info.height`` counts blocks and is one more);
    the blocks have heights ``height - len(hashes) + 1`` ... ``height``, oldest first.
    """

    height: int
    hashes: tuple[str, ...]
    seen_at: float
    """``time.time()`` when the bus received the notification."""


@dataclass(frozen=True, slots=True)
class TxpoolAdded:
    """Transactions entered the host's monerod transaction pool."""

    txids: tuple[str, ...]
    seen_at: float


@dataclass(frozen=True, slots=True)
class ProcessRestarted:
    """``monerod`` or ``wallet`` died and was restarted and is ready again (reopen the wallet)."""

    name: str
