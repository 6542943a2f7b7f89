"""A real monero-wallet-rpc with the wallet certificate library, started by the runtime as a run
starts it: the wallet it creates works, and its certificate's key was the fixed one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from monerosim_actors import wallet_cert
from monerosim_actors.runtime.system import HostSystem
from tests.e2e.plans import host_plan, loopback

pytestmark = pytest.mark.e2e

GROUP = 25


def test_a_wallet_with_the_library_is_created_with_the_fixed_certificate_key_and_works(
        start_host: Callable[..., HostSystem]) -> None:
    plan = host_plan("wallet-cert", loopback(GROUP, 0))
    assert plan.wallet is not None
    wallet = dataclasses.replace(plan.wallet, environment=wallet_cert.wallet_environment(str(wallet_cert.build())))
    system = start_host(dataclasses.replace(plan, wallet=wallet))
    assert system.daemon is not None and system.wallet is not None

    system.wallet.create_wallet("w")
    address = system.wallet.get_address()
    system.daemon.generateblocks(2, address)
    system.wallet.refresh()
    assert system.wallet.get_balance().balance > 0
    said = Path(system.data_dir, "wallet.stderr").read_text()
    assert "the fixed 2048-bit key instead of a new 4096-bit one for the unused certificate" in said
