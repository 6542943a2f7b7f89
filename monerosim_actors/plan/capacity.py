"""Whether each public node can serve the wallets the plan puts on it.

monerod 0.18 accepts at most ``--rpc-max-connections`` RPC connections (100 by default) and refuses
the rest, as a real public node does. Each wallet on a public node holds one connection (wallet-rpc
keeps its daemon connection open), and the node's own host runtime holds two (its supervisor's probe
and its role's client; the runtimes of wallet-only hosts close theirs after each call). A public node
with more wallets than that leaves the rest without a daemon: their refreshes and payments fail for
the whole run. That is what the network would do, so it is allowed, but said at ``gen`` and
``validate`` time rather than found in the logs of a finished run.
"""

from __future__ import annotations

from collections import Counter

from monerosim_actors.plan.model import HostPlan, Plan
from monerosim_actors.scenario.monero_options import parse

RPC_MAX_CONNECTIONS_OPTION = "--rpc-max-connections"
RPC_MAX_CONNECTIONS_DEFAULT = 100
"""monerod 0.18's default for ``--rpc-max-connections``."""
OWN_RUNTIME_CONNECTIONS = 2
"""The public node's own host runtime: its supervisor's readiness probe and its role's client."""


def rpc_max_connections(extra_args: tuple[str, ...]) -> int:
    """The ``--rpc-max-connections`` that monerod runs with, from its extra arguments (checked by the
    scenario already; an unambiguous prefix counts, and the last one given wins, as monerod reads them)."""
    found, _ = parse("monerod", extra_args)
    limit = RPC_MAX_CONNECTIONS_DEFAULT
    for arg in found:
        if arg.option == RPC_MAX_CONNECTIONS_OPTION:
            item = extra_args[arg.index]
            value = item.partition("=")[2] if "=" in item else extra_args[arg.index + 1]
            limit = int(value)
    return limit


def crowded_public_nodes(plan: Plan) -> list[str]:
    """One note per public node that has more wallets than its monerod accepts RPC connections."""
    served = Counter(h.node.host for h in plan.hosts if h.remote and h.wallet is not None and h.node is not None)
    return [_note(host, served[host.name]) for host in plan.hosts
            if host.monerod is not None and host.name in served
            and served[host.name] + OWN_RUNTIME_CONNECTIONS > rpc_max_connections(host.monerod.extra_args)]


def _note(node: HostPlan, wallets: int) -> str:
    assert node.monerod is not None
    limit = rpc_max_connections(node.monerod.extra_args)
    return (f"{node.name} serves {wallets} wallets, but its monerod accepts {limit} RPC connections "
            f"({RPC_MAX_CONNECTIONS_OPTION}; {OWN_RUNTIME_CONNECTIONS} are its own runtime's), as a real "
            f"public node would: {wallets + OWN_RUNTIME_CONNECTIONS - limit} wallets will get no answer "
            f"from it. Add public nodes, or raise the limit with monero.monerod_args: "
            f"[{RPC_MAX_CONNECTIONS_OPTION}, N]")
