"""The public node: a monerod and the host runtime, no wallet (``network.agents.public_nodes``).

Its monerod relays blocks and transactions over the P2P network like every other node, and, when the
scenario says ``public: true`` (the default), serves the wallets of the ``node: remote`` hosts that
picked it: most people in the real network run a wallet on somebody else's node. The runtime
supervises the monerod (restarting it if it dies) and logs the chain it sees; the role itself has
nothing to decide.
"""

from __future__ import annotations

from monerosim_actors.role import RoleActor


class PublicNode(RoleActor):
    """The public (or relay-only) node role, ``public_node``. Parameter: ``public`` (set by the planner)."""

    public: bool = True
