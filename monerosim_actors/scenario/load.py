"""The scenario: one YAML file turned into frozen dataclasses, every problem in it reported at once.

``load_scenario(path)`` is the only entry. It reads the file with the safe loader (keeping lines,
see :mod:`monerosim_actors.scenario.source`), checks every key it knows, suggests a spelling for the keys
it does not, and raises one :class:`ScenarioError` listing all problems, each with the file, the line
and the key path. A scenario that loads is complete: defaults filled in, times in seconds, paths
absolute, the network graph checked, agent ids mapped to valid host names. docs/scenarios.md
documents every key (a test keeps the two equal).

This module walks the document and reads the small sections itself (``simulation``, ``consensus``,
``peers``, ``coordination``); each larger section has its own module: :mod:`.network`,
:mod:`.agents`, :mod:`.roles`, :mod:`.programs`, :mod:`.shadow_options`, all on the machinery of
:mod:`.checks`. The result's classes are in :mod:`.model`.
"""

from __future__ import annotations

import os
from typing import Any, get_args

from monerosim_actors.errors import Problem, ScenarioError
from monerosim_actors.vocabulary import BlockScheduleKind
from monerosim_actors.scenario.agents import (check_host_names, check_remote_nodes, read_marketplaces, read_pools,
                                              read_public_nodes, read_users)
from monerosim_actors.scenario.checks import Checker, number, one_of, seconds
from monerosim_actors.scenario.model import MAX_SEED, ConsensusSpec, CoordinationSpec, Scenario, TopologySpec
from monerosim_actors.scenario.network import read_region, read_topology
from monerosim_actors.scenario.programs import read_monero, read_python
from monerosim_actors.scenario.roles import RoleConfigCheck, check_talks_to, read_custom_roles, role_python_path
from monerosim_actors.scenario.shadow_options import read_shadow
from monerosim_actors.scenario.source import YamlSyntaxError, load_text


def load_scenario(path: str | os.PathLike[str], *, role_config: RoleConfigCheck | None = None) -> Scenario:
    """Read and check a scenario file; with ``role_config``, each custom role's ``config`` against
    its class too (the commands pass :func:`monerosim_actors.role.params.check_role_config`).

    Raises:
        ScenarioError: listing every problem found (the file unreadable, not YAML, or wrong).
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem(file, None, "", f"cannot read the scenario: {e}")]) from None
    try:
        src = load_text(text)
    except YamlSyntaxError as e:
        raise ScenarioError([Problem(file, e.line, "", str(e))]) from None
    return _read(Checker(file, src), role_config)


def _read(chk: Checker, role_config: RoleConfigCheck | None) -> Scenario:
    """The whole document, section by section; raises once, with every problem, sorted by line."""
    chk.report_duplicates()
    data = chk.src.data
    if data is None:
        chk.fail((), "the scenario is empty; it needs at least simulation.duration and "
                     "network.agents.mining_pools")
        raise ScenarioError(chk.problems)
    root = chk.mapping(data, (), ("simulation", "network", "monero", "coordination", "shadow", "python"),
                       required=("simulation", "network"))
    if root is None:
        raise ScenarioError(chk.problems)
    # A missing required section is one problem, not one more per key it would have held.
    sim = chk.section(root if "simulation" in root else None, (), "simulation",
                      ("duration", "seed", "grace_period"))
    duration = chk.get(sim, ("simulation",), "duration", seconds())
    seed = chk.get(sim, ("simulation",), "seed", number(ge=0, le=MAX_SEED, integer=True), 1)
    grace = chk.get(sim, ("simulation",), "grace_period", seconds(minimum=10, inclusive=True), 120.0)

    net = chk.section(root if "network" in root else None, (), "network",
                      ("agents", "consensus", "topology", "peers"), required=("agents",))
    topo = read_topology(chk, net)
    agents = chk.section(net, ("network",), "agents",
                         ("regular_users", "marketplaces", "mining_pools", "public_nodes", "custom"),
                         required=("mining_pools",))
    users = read_users(chk, agents, topo)
    markets = read_marketplaces(chk, agents, topo)
    public_nodes = read_public_nodes(chk, agents, topo)
    pools = read_pools(chk, agents, topo)
    custom = read_custom_roles(chk, agents, topo, role_config)
    check_remote_nodes(chk, users, markets, custom, public_nodes)
    present = {"regular_user": users, "marketplace": markets, "public_node": public_nodes}
    check_talks_to(chk, custom, {
        **{role: spec.count or 0 for role, spec in present.items() if spec is not None},
        "mining_pool": len(pools), **{role.name: role.count or 0 for role in custom if role.name is not None}})
    if users is not None and (agents or {}).get("marketplaces") is None:
        chk.fail(("network", "agents", "regular_users"),
                 "regular users pay marketplaces, but network.agents.marketplaces is not given")
    consensus = _consensus(chk, net)
    peers = chk.section(net, ("network",), "peers", ("count",))
    peer_count = chk.get(peers, ("network", "peers"), "count", number(ge=1, integer=True), 3)

    monero = read_monero(chk, root)
    coordination = _coordination(chk, root, topo)
    general, experimental, host_options, compat_shim = read_shadow(chk, root)
    python = read_python(chk, root)
    check_host_names(chk, users, markets, public_nodes, pools, custom)

    if chk.problems:
        unique = list(dict.fromkeys(chk.problems))
        raise ScenarioError(sorted(unique, key=lambda p: (p.line is None, p.line or 0)))
    return Scenario(
        path=os.path.abspath(chk.file), duration_s=duration, seed=seed, grace_period_s=grace,
        users=users, marketplaces=markets, public_nodes=public_nodes, pools=tuple(pools), custom=tuple(custom),
        consensus=consensus, topology=topo, peer_count=peer_count, monero=monero,  # type: ignore[arg-type]
        coordination=coordination, shadow_general=general, shadow_experimental=experimental,
        shadow_host_option_defaults=host_options, shadow_compat_shim=compat_shim,
        python=python,  # type: ignore[arg-type]
        notes=tuple(chk.notes), python_path=role_python_path(custom))


def _consensus(chk: Checker, net: dict[str, Any] | None) -> ConsensusSpec:
    path = ("network", "consensus")
    m = chk.section(net, ("network",), "consensus", ("block_time", "difficulty", "schedule"))
    return ConsensusSpec(
        block_time_s=chk.get(m, path, "block_time", seconds(), 120.0),
        difficulty=chk.get(m, path, "difficulty", number(ge=1, integer=True), 1),
        schedule=chk.get(m, path, "schedule", one_of(get_args(BlockScheduleKind)), "exponential"))


def _coordination(chk: Checker, root: dict[str, Any], topo: TopologySpec | None) -> CoordinationSpec:
    path = ("coordination",)
    m = chk.section(root, (), "coordination", ("registration_timeout", "mine_timeout", "region"))
    return CoordinationSpec(
        registration_timeout_s=chk.get(m, path, "registration_timeout", seconds(), 300.0),
        mine_timeout_s=chk.get(m, path, "mine_timeout", seconds(), 60.0),
        region=read_region(chk, m, path, topo))
