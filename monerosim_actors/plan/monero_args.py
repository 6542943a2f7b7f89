"""Command lines of monerod and monero-wallet-rpc for one host, built in one place.

The host runtime uses them when it starts the programs itself; the generator uses them when Shadow
starts the programs (``launch: shadow``). Every socket binds to the host's own address, never
0.0.0.0. The same command line runs on either backend: ``--allow-local-ip`` lets monerod dial
peers on loopback when the local backend has placed the plan there
(:mod:`monerosim_actors.plan.addresses`), and changes nothing on Shadow's public addresses.
"""

from __future__ import annotations

import os

from monerosim_actors.defaults import MONEROD_DIR, WALLET_DIR
from monerosim_actors.plan.model import HostPlan


MAX_CONNECTIONS_PER_IP = 65535
"""monerod's ``--max-connections-per-ip``, lifted from its default of 1 so that it never binds.

monerod binds its outgoing p2p sockets to 0.0.0.0 (``public_connect`` in monero 0.18's
src/p2p/net_node.inl), so on loopback every node of a local run dials from 127.0.0.1: with the
default, a node accepted one incoming connection from the whole network and refused every other
("CONNECTION FROM 127.0.0.1 REFUSED, too many connections from the same address", once a second per
refused link). quickstart at time scale 3 kept 7 of its plan's 14 links, and user-0 had no outgoing
connection at all. A monerod killed and restarted (``kill -9``, :mod:`monerosim_actors.runtime.process`)
found the slots of its exclusive peers taken within the second by the peers' other dialers, which
redial every second; with no node dialing it back it stayed without peers, not synchronised, and
answered ``BUSY`` to ``generateblocks`` until a slot freed. Nothing else held it back: monerod dials
its exclusive peers every second regardless of earlier failures (``connect_to_peerlist`` skips
``is_addr_recently_failed``), a refusal is no host fail (``P2P_IP_FAILS_BEFORE_BLOCK`` is not reached,
no ban), and the peers see a killed node's connections close at once (the kernel closes them).
65535 is the most connections one source address can open to one port. Under Shadow every host has an
address of its own and dials each peer once, so the limit only ever refused a second connection of
the same node; the peer graph is the plan's on both backends.
"""


def monerod_argv(binary: str, host: HostPlan, data_dir: str) -> list[str]:
    """argv of the host's monerod; ``data_dir`` is the host's (absolute) data folder."""
    node = host.monerod
    if node is None:
        raise ValueError(f"host {host.name} runs no monerod")
    ip = host.ip
    node_dir = os.path.join(data_dir, MONEROD_DIR)
    argv = [
        binary,
        "--regtest", "--keep-fakechain",
        "--fixed-difficulty", str(node.difficulty),
        "--data-dir", node_dir,
        "--log-file", os.path.join(node_dir, "monerod.log"),
        "--no-igd", "--hide-my-port",
        "--p2p-bind-ip", ip, "--p2p-bind-port", str(node.p2p_port),
        "--rpc-bind-ip", ip, "--rpc-bind-port", str(node.rpc_port),
        "--zmq-rpc-bind-ip", ip, "--zmq-rpc-bind-port", str(node.zmq_rpc_port),
        "--zmq-pub", f"tcp://{ip}:{node.zmq_pub_port}",
        "--disable-dns-checkpoints", "--check-updates", "disabled",
        # Plain HTTP: with the default (autodetect) monerod makes an RSA certificate at every start,
        # 1 to 5 s of CPU, more than the rest of its start-up (bench/local_growth.py).
        "--rpc-ssl", "disabled",
        "--non-interactive", "--confirm-external-bind", "--allow-local-ip",
        "--max-connections-per-ip", str(MAX_CONNECTIONS_PER_IP),
    ]
    # Exclusive, not priority, peers: with priority peers monerod also dials the public network's
    # hard-coded seed nodes whenever its peer list is short (always, in a small network): real
    # internet addresses from a local run, and under Shadow ~15,000 failed connects per node per
    # simulated half hour. Other nodes still connect in, so the graph is the plan's peers both ways.
    for peer in node.peers:
        argv += ["--add-exclusive-node", peer]
    argv += list(node.extra_args)
    return argv


def wallet_argv(binary: str, host: HostPlan, data_dir: str) -> list[str]:
    """argv of the host's monero-wallet-rpc (no ``--regtest``: regtest wallets use mainnet addresses).

    A wallet on a public node runs with ``--untrusted-daemon``, as a light wallet does: it asks the
    node for no private data and verifies what it is sent.

    The ring database is kept per host: the default (~/.shared-ringdb) would be shared by every
    wallet of a local run.
    """
    wallet = host.wallet
    if wallet is None:
        raise ValueError(f"host {host.name} runs no wallet")
    wallet_dir = os.path.join(data_dir, WALLET_DIR)
    return [
        binary,
        "--wallet-dir", wallet_dir,
        "--shared-ringdb-dir", os.path.join(wallet_dir, "ringdb"),
        "--log-file", os.path.join(wallet_dir, "wallet-rpc.log"),
        "--daemon-address", wallet.daemon_address,
        "--trusted-daemon" if wallet.trusted_daemon else "--untrusted-daemon",
        "--rpc-bind-ip", host.ip, "--rpc-bind-port", str(wallet.rpc_port),
        "--rpc-ssl", "disabled", "--daemon-ssl", "disabled",  # no certificate made at start (as monerod)
        "--confirm-external-bind",
        "--disable-rpc-login",
        "--non-interactive",
        *wallet.extra_args,
    ]
