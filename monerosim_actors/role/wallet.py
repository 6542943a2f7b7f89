"""Wallet chores every role with a wallet shares: open its wallet file, or create it the first time.

A role's wallet survives restarts (the wallet process's, or the whole host's), so a role creates its
named wallet and opens it when it already exists. Create comes first because a first start is the
common case, and a failing ``open_wallet`` is not cheap: on a loaded machine it took over 60 s.
"""

from __future__ import annotations

from monerosim_actors.errors import RpcError, RpcResponseError
from monerosim_actors.runtime.rpc import WalletRpc


WALLET_ALREADY_EXISTS = -21
"""monero-wallet-rpc's error code when ``create_wallet`` finds the file."""
SUBADDRESS_ROUNDS = 5
"""Create-and-read rounds before :func:`subaddresses` gives up (a table that does not grow)."""


def open_or_create(wallet: WalletRpc, filename: str) -> bool:
    """Create ``filename`` in the wallet dir (which also opens it), or open it if it exists;
    True if created.

    Raises:
        RpcError: neither worked (the wallet process is down, say).
    """
    try:
        wallet.create_wallet(filename)
        return True
    except RpcResponseError as e:
        if e.code != WALLET_ALREADY_EXISTS:
            raise
    wallet.open_wallet(filename)
    return False


def subaddresses(wallet: WalletRpc, count: int, label: str) -> dict[int, str]:
    """Subaddresses 1..``count`` of account 0, created where the wallet does not have them yet.

    A subaddress is a function of the keys and its index, so index ``i`` is the same address after
    any restart. What the table holds is not: a wallet reopened after ``kill -9`` may have lost its
    cache, and while it rescans, a payment its look-ahead finds to subaddress 1 adds index 1 to the
    table, concurrently with this call (the fault test saw ``create_address`` answer index 2, and
    the marketplace fail on the missing 1). So this creates what was missing when it looked and reads
    the table again until every index is there; an extra entry at the end is harmless.

    Raises:
        RpcError: an RPC failed, or the table still lacks indices after :data:`SUBADDRESS_ROUNDS`
            rounds (the role tries again later, as after any failed RPC).
    """
    known = wallet.get_addresses()
    rounds = 0
    while not all(i in known for i in range(1, count + 1)):
        if rounds == SUBADDRESS_ROUNDS:
            raise RpcError("create_address", f"the wallet's table still lacks some of subaddresses 1..{count} "
                                             f"after {rounds} rounds")
        wallet.create_address(label=label, count=max(1, count + 1 - len(known)))
        known = wallet.get_addresses()
        rounds += 1
    return {i: known[i] for i in range(1, count + 1)}
