"""Wallet chores every role with a wallet shares: open its wallet file, or create it the first time.

A role's wallet survives restarts (the wallet process's, or the whole host's), so a role always tries
to open its named wallet before creating it.
"""

from __future__ import annotations

from monerosim_actors.errors import RpcResponseError
from monerosim_actors.runtime.rpc import WalletRpc


def open_or_create(wallet: WalletRpc, filename: str) -> bool:
    """Open ``filename`` in the wallet dir, creating it if it cannot be opened; True if created.

    Raises:
        RpcError: neither worked (the wallet process is down, say).
    """
    try:
        wallet.open_wallet(filename)
        return False
    except RpcResponseError:
        wallet.create_wallet(filename)
        return True


def subaddresses(wallet: WalletRpc, account_index: int = 0) -> dict[int, str]:
    """Every address of the account by subaddress index (0 is the primary address).

    ``WalletRpc.get_address`` returns only the primary address; a marketplace reopening its wallet
    after a restart needs the whole table, so this reads the full ``get_address`` answer.
    """
    answer = wallet._json_rpc("get_address", {"account_index": account_index}, idempotent=True)
    return {int(a["address_index"]): str(a["address"]) for a in answer.get("addresses") or ()}
