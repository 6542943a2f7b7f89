"""The built-in agents of ``network.agents``: regular users, marketplaces, public nodes, mining pools;
and the checks that look across all agents (remote nodes to use, host names that do not collide).

Custom roles are read by :mod:`monerosim_actors.scenario.roles` with the helpers here.
"""

from __future__ import annotations

from typing import Any, get_args

from monerosim_actors import defaults
from monerosim_actors.scenario.checks import Checker, boolean, number, one_of, string, suggest
from monerosim_actors.scenario.model import (NODE_SELECTIONS, PUBLIC_NODE_PREFIX, CustomRoleSpec, MarketplacesSpec,
                                             NodeChoice, NodeMode, PoolSpec, PublicNodesSpec, TopologySpec,
                                             UsersSpec, host_name)
from monerosim_actors.scenario.network import read_region
from monerosim_actors.scenario.source import Path

MAX_HOSTS = 100_000
"""Hosts a scenario may have in all (ten times the largest we have generated); a typo such as
``count: 1000000000`` is reported instead of laying out a billion hosts."""
MAX_OUTPUTS_PER_USER = 1000
"""``regular_users.config.outputs_per_user``'s upper bound (the bootstrap's own limit,
``monerosim_actors.coordination.funding_plan.MAX_OUTPUTS_PER_USER``: a test checks that the two agree)."""
NODE_KEYS = ("node", "remote_node")
"""The keys of a role's config (of a custom role's entry) that say which monerod its wallet uses."""
_MAX_LABEL = 63
"""hostname(7)'s longest label."""
_SHARE_TOLERANCE = 1e-9


def read_count(chk: Checker, m: dict[str, Any] | None, path: Path) -> int | None:
    """A role's required ``count`` of hosts."""
    return chk.get(m, path, "count", number(ge=1, le=MAX_HOSTS, integer=True))


def read_users(chk: Checker, agents: dict[str, Any] | None, topo: TopologySpec | None) -> UsersSpec | None:
    """``regular_users`` (None when absent); a note when the balance allows only one payment."""
    if agents is None or agents.get("regular_users") is None:
        return None
    path: Path = ("network", "agents", "regular_users")
    m = chk.mapping(agents["regular_users"], path, ("count", "config", "region"), required=("count",))
    known = ("transaction_frequency", "wallet_initial_balance", "amount_min", "amount_max", "outputs_per_user",
             *NODE_KEYS)
    cfg = chk.section(m, path, "config", known, extras=True)
    cpath = path + ("config",)
    spec = UsersSpec(
        count=read_count(chk, m, path),  # type: ignore[arg-type]
        transaction_frequency=chk.get(cfg, cpath, "transaction_frequency", number(ge=0, le=1), 0.1),
        wallet_initial_balance=chk.get(cfg, cpath, "wallet_initial_balance", number(ge=0), 10.0),
        amount_min=chk.get(cfg, cpath, "amount_min", number(gt=0), 0.1),
        amount_max=chk.get(cfg, cpath, "amount_max", number(gt=0), 2.0),
        extra={k: v for k, v in (cfg or {}).items() if k not in known},
        region=read_region(chk, m, path, topo),
        outputs_per_user=chk.get(cfg, cpath, "outputs_per_user",
                                 number(ge=1, le=MAX_OUTPUTS_PER_USER, integer=True), None),
        node=read_node_choice(chk, cfg, cpath))
    if spec.amount_min is not None and spec.amount_max is not None and spec.amount_min > spec.amount_max:
        chk.fail(cpath + ("amount_min",),
                 f"must be <= amount_max ({spec.amount_max:g}), got {spec.amount_min:g}")
    if (spec.amount_min is not None and spec.wallet_initial_balance is not None
            and spec.wallet_initial_balance and spec.amount_min >= spec.wallet_initial_balance):
        chk.notes.append(f"regular users start with {spec.wallet_initial_balance:g} XMR and pay at "
                         f"least {spec.amount_min:g} XMR: they can make at most one payment")
    return spec


def read_marketplaces(chk: Checker, agents: dict[str, Any] | None,
                      topo: TopologySpec | None) -> MarketplacesSpec | None:
    """``marketplaces`` (None when absent)."""
    if agents is None or agents.get("marketplaces") is None:
        return None
    path: Path = ("network", "agents", "marketplaces")
    m = chk.mapping(agents["marketplaces"], path, ("count", "config", "region"), required=("count",))
    known = ("wallet_count", *NODE_KEYS)
    cfg = chk.section(m, path, "config", known, extras=True)
    return MarketplacesSpec(
        count=read_count(chk, m, path),  # type: ignore[arg-type]
        wallet_count=chk.get(cfg, path + ("config",), "wallet_count", number(ge=1, integer=True), 10),
        extra={k: v for k, v in (cfg or {}).items() if k not in known},
        region=read_region(chk, m, path, topo),
        node=read_node_choice(chk, cfg, path + ("config",)))


def read_public_nodes(chk: Checker, agents: dict[str, Any] | None,
                      topo: TopologySpec | None) -> PublicNodesSpec | None:
    """``public_nodes`` (None when absent)."""
    if agents is None or agents.get("public_nodes") is None:
        return None
    path: Path = ("network", "agents", "public_nodes")
    m = chk.mapping(agents["public_nodes"], path, ("count", "public", "config", "region"),
                    required=("count",))
    cfg = chk.section(m, path, "config", (), extras=True)
    return PublicNodesSpec(
        count=read_count(chk, m, path),  # type: ignore[arg-type]
        public=chk.get(m, path, "public", boolean, True),
        extra=dict(cfg or {}),
        region=read_region(chk, m, path, topo))


def read_node_choice(chk: Checker, cfg: dict[str, Any] | None, path: Path) -> NodeChoice:
    """``node`` and ``remote_node`` of a role's config (or, for a custom role, its entry)."""
    node = chk.get(cfg, path, "node", one_of(get_args(NodeMode)), "own")
    selection = chk.get(cfg, path, "remote_node", string, "random")
    if cfg is not None and "remote_node" in cfg and node != "remote":
        chk.fail(path + ("remote_node",), "only a host with node: remote uses a public node; "
                                          "set node: remote or remove remote_node")
    return NodeChoice(remote=node == "remote", selection=selection or "random")


def check_remote_nodes(chk: Checker, users: UsersSpec | None, markets: MarketplacesSpec | None,
                       custom: list[CustomRoleSpec], public: PublicNodesSpec | None) -> None:
    """Every ``node: remote`` has a public node to use, and a named one exists."""
    agents: Path = ("network", "agents")
    choices: list[tuple[Path, NodeChoice]] = []
    if users is not None:
        choices.append((agents + ("regular_users", "config"), users.node))
    if markets is not None:
        choices.append((agents + ("marketplaces", "config"), markets.node))
    choices += [(agents + ("custom", i), role.node) for i, role in enumerate(custom)]
    serving = public.count if public is not None and public.public and public.count else 0
    ids = [f"{PUBLIC_NODE_PREFIX}_{i}" for i in range(serving)]
    for path, choice in choices:
        if not choice.remote:
            continue
        if not serving:
            why = ("its public nodes have public: false" if public is not None and public.count
                   else "there are none")
            chk.fail(path + ("node",), f"'remote' needs a public node to use, but {why}: add "
                                       "network.agents.public_nodes (count: N)")
        elif choice.selection not in NODE_SELECTIONS and choice.selection not in ids:
            chk.fail(path + ("remote_node",),
                     f"must be {' or '.join(NODE_SELECTIONS)} or a public node's id "
                     f"({ids[0]} to {ids[-1]}), got {choice.selection!r}{suggest(choice.selection, ids)}")


def read_pools(chk: Checker, agents: dict[str, Any] | None, topo: TopologySpec | None) -> list[PoolSpec]:
    """``mining_pools``: at least one (only pools mine), ids distinct; a note when the shares are rescaled."""
    if agents is None or "mining_pools" not in agents:
        return []
    path: Path = ("network", "agents", "mining_pools")
    items = agents["mining_pools"]
    if not isinstance(items, list) or not items:
        chk.fail(path, "must be a non-empty list of pools (- id: ..., hashrate_share: ...); "
                       "blocks are mined only by pools")
        return []
    pools = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        p = path + (i,)
        m = chk.mapping(item, p, ("id", "hashrate_share", "config", "region"),
                        required=("id", "hashrate_share"))
        if m is None:
            continue
        pool_id = chk.agent_id(m["id"], p + ("id",)) if "id" in m else None
        if pool_id is not None:
            if pool_id in seen:
                chk.fail(p + ("id",), f"duplicate pool id {pool_id!r} (also pool [{seen[pool_id]}])")
            seen.setdefault(pool_id, i)
        share = chk.get(m, p, "hashrate_share", number(gt=0))
        cfg = chk.section(m, p, "config", ("pool_id", "hashrate_share"), extras=True)
        for owned in ("pool_id", "hashrate_share"):
            if cfg and owned in cfg:
                chk.fail(p + ("config", owned), "is set from the pool entry itself; remove it here")
        pools.append(PoolSpec(pool_id, share, dict(cfg or {}), read_region(chk, m, p, topo)))  # type: ignore[arg-type]
    shares = [s.hashrate_share for s in pools if s.hashrate_share is not None]
    if len(shares) == len(items) and abs(sum(shares) - 1.0) > _SHARE_TOLERANCE:
        chk.notes.append(f"mining pool hashrate shares sum to {sum(shares):g}, not 1: "
                         "each is divided by the sum")
    return pools


def check_host_names(chk: Checker, users: UsersSpec | None, markets: MarketplacesSpec | None,
                     public: PublicNodesSpec | None, pools: list[PoolSpec], custom: list[CustomRoleSpec]) -> None:
    """Every agent's host name valid and distinct (from each other and from the services)."""
    counts = [users.count if users else None, markets.count if markets else None,
              public.count if public else None, len(pools), *(role.count for role in custom)]
    total = 2 + sum(c for c in counts if c)
    if total > MAX_HOSTS:
        chk.fail(("network", "agents"), f"{total} hosts in all (the services included); at most "
                                        f"{MAX_HOSTS} are allowed")
        return
    taken: dict[str, str] = {defaults.BLOCK_CONTROLLER_HOST: "the block controller",
                             defaults.MARKETPLACE_DIRECTORY_HOST: "the marketplace directory"}
    for i in range(users.count if users and users.count else 0):
        taken[f"user-{i}"] = f"regular user user_{i}"
    for i in range(markets.count if markets and markets.count else 0):
        taken[f"marketplace-{i}"] = f"marketplace marketplace_{i}"
    for i in range(public.count if public and public.count else 0):
        taken[host_name(f"{PUBLIC_NODE_PREFIX}_{i}")] = f"public node {PUBLIC_NODE_PREFIX}_{i}"
    named: list[tuple[Path, list[str], str]] = []
    for i, pool in enumerate(pools):
        if pool.id is not None:
            named.append((("network", "agents", "mining_pools", i, "id"), [pool.id], f"pool {pool.id}"))
    for i, role in enumerate(custom):
        if role.name is not None and role.count is not None:
            named.append((("network", "agents", "custom", i, "name"),
                          [f"{role.name}_{j}" for j in range(role.count)], f"custom role {role.name}"))
    for path, agent_ids, who in named:
        for agent_id in agent_ids:
            name = host_name(agent_id)
            if len(name) > _MAX_LABEL:
                chk.fail(path, f"host name {name!r} is longer than {_MAX_LABEL} characters")
                break
            if name in taken:
                chk.fail(path, f"{agent_id!r} becomes host name {name!r}, which {taken[name]} already has")
                break
            taken[name] = who
