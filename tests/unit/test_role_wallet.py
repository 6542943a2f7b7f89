"""A role's vendor subaddresses come out right however the wallet's table was left by a restart."""

from __future__ import annotations

import pytest

from monerosim_actors.errors import RpcError
from monerosim_actors.role.wallet import subaddresses
from monerosim_actors.runtime.rpc import NewAddress


class RescanningWallet:
    """A wallet whose table holds only the primary address after a restart, and whose rescan adds
    entries (as a payment to a subaddress found by the look-ahead does) while the caller works."""

    def __init__(self, known: int, found_by_rescan: int) -> None:
        self.table = [f"addr{i}" for i in range(known)]
        self.found_by_rescan = found_by_rescan

    def get_addresses(self, account_index: int = 0) -> dict[int, str]:
        return dict(enumerate(self.table))

    def create_address(self, account_index: int = 0, label: str = "", count: int = 1) -> NewAddress:
        while len(self.table) < self.found_by_rescan + 1:  # the rescan got there first
            self.table.append(f"addr{len(self.table)}")
        first = len(self.table)
        self.table += [f"addr{i}" for i in range(first, first + count)]
        return NewAddress(self.table[first], first)


def test_a_rescan_adding_subaddresses_meanwhile_leaves_no_gap() -> None:
    """The fault test's case: index 1 came back by the rescan, ``create_address`` answered 2."""
    wallet = RescanningWallet(known=1, found_by_rescan=1)
    assert subaddresses(wallet, 3, "vendor") == {1: "addr1", 2: "addr2", 3: "addr3"}  # type: ignore[arg-type]


def test_a_complete_table_is_read_not_extended() -> None:
    wallet = RescanningWallet(known=5, found_by_rescan=0)
    assert subaddresses(wallet, 3, "vendor") == {1: "addr1", 2: "addr2", 3: "addr3"}  # type: ignore[arg-type]
    assert len(wallet.table) == 5


def test_a_table_that_never_grows_is_an_rpc_error_not_a_hang() -> None:
    class Stuck(RescanningWallet):
        def create_address(self, account_index: int = 0, label: str = "", count: int = 1) -> NewAddress:
            return NewAddress("addr?", 1)

    with pytest.raises(RpcError, match="still lacks"):
        subaddresses(Stuck(known=1, found_by_rescan=0), 2, "vendor")  # type: ignore[arg-type]
