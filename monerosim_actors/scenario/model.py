"""The scenario as the rest of gen sees it: frozen dataclasses, complete and checked.

:func:`monerosim_actors.scenario.load.load_scenario` builds a :class:`Scenario`; the planner reads it.
Nothing here checks anything: a value in these classes has passed its check already (defaults filled
in, times in seconds, paths absolute), so consumers never re-validate. The names agents and hosts get
are here too, because the checks and the planner must agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from monerosim_actors.vocabulary import BlockScheduleKind, LaunchMode, RandomxMode, TopologyKind

MAX_SEED = 2**32 - 1
"""Shadow's ``general.seed`` is a 32-bit unsigned integer (the CLI's --seed uses this bound too)."""

NodeMode = Literal["own", "remote"]
"""A role's ``node``: the host's own monerod, or a public node's (the host runs only the wallet)."""
NODE_SELECTIONS = ("random", "round_robin")
"""How a wallet-only host picks its public node, unless it names one (``public_node_3``)."""
PUBLIC_NODE_PREFIX = "public_node"
"""Agent ids of public nodes are ``public_node_0``, ``public_node_1``, ..."""


def host_name(agent_id: str) -> str:
    """The hostname(7) label of an agent id: lowercase, ``_`` becomes ``-`` (``user_0`` -> ``user-0``)."""
    return agent_id.lower().replace("_", "-")


@dataclass(frozen=True)
class NodeChoice:
    """Which monerod a role's wallets use: the host's own (``node: own``), or a public node's
    (``node: remote``: the host runs only monero-wallet-rpc, as most real users do)."""

    remote: bool = False
    selection: str = "random"
    """``random`` (seeded), ``round_robin``, or one public node's agent id."""


OWN_NODE = NodeChoice()


@dataclass(frozen=True)
class UsersSpec:
    """``network.agents.regular_users``."""

    count: int
    transaction_frequency: float
    """Probability per scenario minute that a user pays a marketplace."""
    wallet_initial_balance: float
    """XMR the bootstrap sends each user."""
    amount_min: float
    amount_max: float
    extra: dict[str, Any]
    """Keys of ``config`` beyond the known ones, passed to the role verbatim."""
    region: str | None
    outputs_per_user: int | None = None
    """Outputs the bootstrap splits each user's balance into; None: enough for the user's rate
    (the block controller's rule, :func:`monerosim_actors.coordination.funding_plan.outputs_for_rate`)."""
    node: NodeChoice = OWN_NODE


@dataclass(frozen=True)
class MarketplacesSpec:
    """``network.agents.marketplaces``."""

    count: int
    wallet_count: int
    extra: dict[str, Any]
    region: str | None
    node: NodeChoice = OWN_NODE


@dataclass(frozen=True)
class PublicNodesSpec:
    """``network.agents.public_nodes``: daemon-only hosts (a monerod and the runtime, no wallet) that
    relay blocks and transactions, and, when ``public``, serve the wallets of ``node: remote`` hosts."""

    count: int
    public: bool
    extra: dict[str, Any]
    region: str | None


@dataclass(frozen=True)
class PoolSpec:
    """One entry of ``network.agents.mining_pools``."""

    id: str
    hashrate_share: float
    """As written; the planner normalises the shares to sum to 1."""
    extra: dict[str, Any]
    region: str | None


@dataclass(frozen=True)
class CustomRoleSpec:
    """One entry of ``network.agents.custom``: a user-defined role."""

    name: str
    role_class: str
    """``package.module:Class`` (an entry point name is resolved to this)."""
    count: int
    monerod: bool
    wallet: bool
    config: dict[str, Any]
    region: str | None
    node: NodeChoice = OWN_NODE
    """With ``remote``, ``monerod`` is False and the wallet uses a public node."""
    talks_to: tuple[str, ...] = ()
    """The roles (built-in or custom, its own included) whose hosts this role sends bus messages to;
    their hosts listen, and each of this role's hosts is given their addresses."""
    wallet_initial_balance: float = 0.0
    """XMR the controller's bootstrap pays each host's wallet (0: none), as it pays regular users."""


@dataclass(frozen=True)
class ConsensusSpec:
    """``network.consensus``: how often blocks come, and how regularly."""

    block_time_s: float
    difficulty: int
    schedule: BlockScheduleKind


@dataclass(frozen=True)
class Place:
    """A graph node hosts can be placed on; ``name`` is what a role's ``region`` key refers to."""

    name: str
    node_id: int
    weight: float
    needs_host_bandwidth: bool
    """The node has no bandwidth of its own, so each host on it gets the topology's default."""


@dataclass(frozen=True)
class TopologySpec:
    """``network.topology``, resolved: the graph as Shadow will read it and where hosts may go."""

    kind: TopologyKind
    gml: str | None
    """GML text, one item per line (None for Shadow's built-in switch)."""
    places: tuple[Place, ...]
    host_bandwidth_down: str
    host_bandwidth_up: str
    use_shortest_path: bool


@dataclass(frozen=True)
class MoneroSpec:
    """``monero``: the binaries (absolute paths on this machine), extra flags, who starts them."""

    monerod: str
    wallet_rpc: str
    monerod_args: tuple[str, ...]
    wallet_args: tuple[str, ...]
    launch: LaunchMode
    randomx: RandomxMode = "stand_in"
    """``stand_in``: keyed Blake2b stands in for RandomX in every monerod (the same difficulty checked by
    every node, no RandomX memory, a microsecond a hash); ``shared``: RandomX, with one cache per machine
    mapped by every monerod and, at a high difficulty, fast mode on one shared dataset
    (:mod:`monerosim_actors.randomx`); ``private``: each monerod as Debian ships it."""


@dataclass(frozen=True)
class CoordinationSpec:
    """``coordination``: the services' patience, and where they run."""

    registration_timeout_s: float
    mine_timeout_s: float
    region: str | None


@dataclass(frozen=True)
class Scenario:
    """A complete, checked scenario."""

    path: str
    """Absolute path of the scenario file."""
    duration_s: float
    seed: int
    grace_period_s: float
    users: UsersSpec | None
    marketplaces: MarketplacesSpec | None
    public_nodes: PublicNodesSpec | None
    pools: tuple[PoolSpec, ...]
    custom: tuple[CustomRoleSpec, ...]
    consensus: ConsensusSpec
    topology: TopologySpec
    peer_count: int
    monero: MoneroSpec
    coordination: CoordinationSpec
    shadow_general: dict[str, Any]
    shadow_experimental: dict[str, Any]
    shadow_host_option_defaults: dict[str, Any]
    """Shadow's ``host_option_defaults`` (``log_level``, ``pcap_enabled``, ``pcap_capture_size``)."""
    shadow_compat_shim: bool
    """Whether every process under Shadow preloads the compatibility shim (monerosim_actors.shadow.shim)."""
    python: str
    notes: tuple[str, ...]
    """Things done on the user's behalf that they should know about (e.g. shares normalised)."""
    python_path: tuple[str, ...] = ()
    """The folders of this process's ``PYTHONPATH`` that hold a custom role's module: every host's
    runtime gets them as its ``PYTHONPATH`` (Shadow gives a process only the environment its config
    names), so a role found at ``validate`` is found on every host."""
