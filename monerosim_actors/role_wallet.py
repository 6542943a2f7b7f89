"""Wallet chores every role with a wallet shares: open its wallet file, or create it the first time.

A role's wallet survives restarts (the wallet process's, or the whole host's), so a role creates its
named wallet and opens it when it already exists. Create comes first because a first start is the
common case, and a failing ``open_wallet`` is not cheap: on a loaded machine it took over 60 s.
"""

from __future__ import annotations

from monerosim_actors.errors import RpcResponseError
from monerosim_actors.runtime.rpc import WalletRpc


WALLET_ALREADY_EXISTS = -21
"""monero-wallet-rpc's error code when ``create_wallet`` finds the file."""


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


def subaddresses(wallet: WalletRpc, account_index: int = 0) -> dict[int, str]:
    """Every address of the account by subaddress index (0 is the primary address).

    ``WalletRpc.get_address`` returns only the primary address; a marketplace reopening its wallet
    after a restart needs the whole table, so this reads the full ``get_address`` answer.
    """
    answer = wallet._json_rpc("get_address", {"account_index": account_index}, idempotent=True)
    return {int(a["address_index"]): str(a["address"]) for a in answer.get("addresses") or ()}
