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

from monerosim_actors.plan.model import Plan
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
    given = [arg.value for arg in found if arg.option == RPC_MAX_CONNECTIONS_OPTION and arg.value is not None]
    return int(given[-1]) if given else RPC_MAX_CONNECTIONS_DEFAULT


def crowded_public_nodes(plan: Plan) -> list[str]:
    """One note per public node that has more wallets than its monerod accepts RPC connections."""
    served = Counter(h.node.host for h in plan.hosts if h.remote and h.wallet is not None and h.node is not None)
    notes = []
    for node in plan.hosts:
        if node.monerod is None or node.name not in served:
            continue
        wallets, limit = served[node.name], rpc_max_connections(node.monerod.extra_args)
        if wallets + OWN_RUNTIME_CONNECTIONS > limit:
            notes.append(f"{node.name} serves {wallets} wallets, but its monerod accepts {limit} RPC connections "
                         f"({RPC_MAX_CONNECTIONS_OPTION}; {OWN_RUNTIME_CONNECTIONS} are its own runtime's), as "
                         f"a real public node would: {wallets + OWN_RUNTIME_CONNECTIONS - limit} wallets will get "
                         f"no answer from it. Add public nodes, or raise the limit with monero.monerod_args: "
                         f"[{RPC_MAX_CONNECTIONS_OPTION}, N]")
    return notes
