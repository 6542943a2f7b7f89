"""The closed sets of words the scenario, the plan and the stages after them share, defined once.

The scenario's error messages list the allowed values from these (``typing.get_args``), the plan's
fields are typed with them, and ``tests/unit/test_source_rules.py`` refuses a second definition of
any of them. They sit at the bottom of the house so that every floor can use them.
"""

from __future__ import annotations

from typing import Literal

LaunchMode = Literal["runtime", "shadow"]
RandomxMode = Literal["stand_in", "shared", "private"]
"""``monero.randomx``: one RandomX cache per machine for every monerod (and fast mining), or one each."""
"""Who starts monerod and the wallet: the host runtime (``runtime``) or Shadow itself (``shadow``)."""

Addressing = Literal["shadow", "loopback"]
"""Where host addresses come from: a simulated range for Shadow, or 127.x.y.z for the local backend."""

BlockScheduleKind = Literal["exponential", "fixed"]
"""How the block controller spaces blocks: memoryless gaps around the block time (``exponential``, as
proof-of-work does) or exactly the block time (``fixed``)."""

Backend = Literal["local", "shadow"]
"""What runs a generated folder: the local backend (real processes on this machine, hosts on loopback
addresses) or Shadow."""

TopologyKind = Literal["switch", "gml", "regions"]
"""The simulated network: Shadow's built-in switch, a user's GML graph, or one generated from regions."""


MANAGED_MONEROD_FLAGS = frozenset({
    "--regtest", "--keep-fakechain", "--fixed-difficulty", "--data-dir", "--log-file", "--no-igd",
    "--hide-my-port", "--p2p-bind-ip", "--p2p-bind-port", "--rpc-bind-ip", "--rpc-bind-port",
    "--zmq-rpc-bind-ip", "--zmq-rpc-bind-port", "--zmq-pub", "--disable-dns-checkpoints",
    "--check-updates", "--rpc-ssl", "--non-interactive", "--confirm-external-bind", "--allow-local-ip",
    "--max-connections-per-ip"})
"""The monerod flags ``plan/monero_args.py`` sets for every host (peers aside): a scenario's
``monero.monerod_args`` may not set them again (a test checks this set against the command line)."""

MANAGED_WALLET_FLAGS = frozenset({
    "--wallet-dir", "--shared-ringdb-dir", "--log-file", "--daemon-address", "--trusted-daemon",
    "--untrusted-daemon", "--rpc-bind-ip", "--rpc-bind-port", "--rpc-ssl", "--daemon-ssl",
    "--confirm-external-bind", "--disable-rpc-login", "--non-interactive"})
"""The same for monero-wallet-rpc and ``monero.wallet_args``."""
