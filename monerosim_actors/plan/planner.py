"""Scenario -> Plan: every host named, addressed, placed, seeded, started and wired to its peers.

Everything here is a pure function of the scenario, the seed, the addressing mode and the output
folder: no I/O, no clock, no dict-order or hash-seed dependence, so the same inputs give the same
plan byte for byte. Host order (= start order = address order): the block controller, the
marketplace directory, the public nodes, the mining pools, the marketplaces, the regular users, the
custom roles. Public nodes start before everyone whose wallet may use them.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from typing import Any

from monerosim_actors import defaults, wallet_cert
from monerosim_actors.plan import monero_args
from monerosim_actors.plan.addresses import FIRST_ADDRESS, addresses
from monerosim_actors.randomx import share as randomx_share
from monerosim_actors.errors import Problem, ScenarioError
from monerosim_actors.plan.model import (
    PLAN_VERSION, Addressing, Binaries, ConsensusPlan, HostPlan, MonerodPlan, NetworkPlan, NodeAccess, Plan,
    ProcessPlan, ServiceAddress, WalletPlan)
from monerosim_actors.scenario.model import OWN_NODE, PUBLIC_NODE_PREFIX, NodeChoice, Place, Scenario, host_name
from monerosim_actors.scenario.roles import BUILTIN_ROLE_CLASSES

STAGGER_BATCH = 100
"""Hosts of one role start in batches of this many, one batch per second, so that thousands of
monerods do not all start in the same simulated instant."""
GROUP_GAP_S = 1.0
"""Each role group starts this long after the previous group's last batch."""
WALLET_DELAY_S = 1.0
"""With ``launch: shadow`` the wallet starts this long after its monerod."""
RUNTIME_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0"}

CHORD_TRIES = 8
"""Random draws per wanted chord before the peer graph falls back to listing the candidates left."""

SERVICE_BLOCK_CONTROLLER = "block_controller"
SERVICE_MARKETPLACE_DIRECTORY = "marketplace_directory"


@dataclass(frozen=True)
class _Agent:
    """One host to be: who plays it and what it runs, before addresses and peers are known."""

    agent_id: str
    role: str
    role_class: str
    region: str | None
    monerod: bool
    wallet: bool
    params: dict[str, Any]
    node: NodeChoice = OWN_NODE
    public: bool = False
    """A public node whose RPC serves the wallets of ``node: remote`` hosts."""
    talks_to: tuple[str, ...] = ()
    funded: bool = False
    """A custom role's host that the controller's bootstrap pays (``wallet_initial_balance``)."""


def build_plan(scenario: Scenario, *, seed: int | None = None, addressing: Addressing = "shadow",
               first_address: str | None = None, out_dir: str) -> Plan:
    """Resolve a scenario into a plan whose files will live in ``out_dir`` (absolute).

    Hosts are addressed upwards from ``first_address`` (default: the addressing mode's
    :data:`FIRST_ADDRESS`), skipping x.y.z.0 and x.y.z.255.

    Raises:
        ValueError: ``out_dir`` is not absolute or ``addressing`` is unknown (programming errors).
        ScenarioError: the scenario cannot be laid out (its hosts would start after its end).
    """
    if not os.path.isabs(out_dir):
        raise ValueError(f"out_dir must be absolute, got {out_dir!r}")
    if addressing not in FIRST_ADDRESS:
        raise ValueError(f"addressing must be shadow or loopback, got {addressing!r}")
    out_dir = os.path.normpath(out_dir)
    seed = scenario.seed if seed is None else seed
    groups = _agents(scenario)
    agents = [a for group in groups for a in group]
    names = [host_name(a.agent_id) for a in agents]
    ips = list(addresses(first_address or FIRST_ADDRESS[addressing], len(agents)))
    starts = _start_times([len(g) for g in groups])
    if starts[-1] >= scenario.duration_s:
        raise ScenarioError([Problem(scenario.path, None, "simulation.duration",
                                     f"the last of {len(agents)} hosts starts at {starts[-1]:g} s (hosts start "
                                     f"in batches of {STAGGER_BATCH} per second): make the duration longer "
                                     f"than that, got {scenario.duration_s:g} s")])
    places = _placements(scenario.topology.places, agents)
    with_node = [i for i, a in enumerate(agents) if a.monerod]
    peers = _peer_graph(len(with_node), scenario.peer_count, random.Random(f"{seed}/peers"))
    peer_of = {host: [f"{ips[with_node[p]]}:{defaults.MONEROD_P2P_PORT}" for p in node_peers]
               for host, node_peers in zip(with_node, peers)}
    _fill_coordination_params(agents, names, scenario)
    nodes = _node_access(agents, names, ips, random.Random(f"{seed}/remote-nodes"))
    randomx_files, monerod_env = _randomx(scenario, out_dir)
    wallet_env = wallet_cert.wallet_environment(os.path.join(out_dir, defaults.WALLET_CERT_FILE))
    listening = {SERVICE_BLOCK_CONTROLLER, SERVICE_MARKETPLACE_DIRECTORY, *(r for a in agents for r in a.talks_to)}

    hosts = []
    for i, agent in enumerate(agents):
        name, ip, place = names[i], ips[i], places[i]
        node = nodes[i]
        fields: dict[str, Any] = dict(
            name=name, agent_id=agent.agent_id, role=agent.role, role_class=agent.role_class, ip=ip,
            network_node_id=place.node_id, start_time_s=starts[i], seed=host_seed(seed, name),
            params=agent.params,
            monerod=MonerodPlan(
                p2p_port=defaults.MONEROD_P2P_PORT, rpc_port=defaults.MONEROD_RPC_PORT,
                zmq_rpc_port=defaults.MONEROD_ZMQ_RPC_PORT, zmq_pub_port=defaults.MONEROD_ZMQ_PUB_PORT,
                difficulty=scenario.consensus.difficulty, peers=tuple(peer_of[i]),
                extra_args=scenario.monero.monerod_args,
                environment=monerod_env) if agent.monerod else None,
            wallet=WalletPlan(rpc_port=defaults.WALLET_RPC_PORT,
                              daemon_address=f"{node.ip}:{node.rpc_port}" if node else "",
                              extra_args=scenario.monero.wallet_args,
                              trusted_daemon=not agent.node.remote,
                              environment=wallet_env) if agent.wallet else None,
            node=node,
            bus_port=defaults.BUS_PORT if agent.role in listening else None, talks_to=agent.talks_to,
            bandwidth_down=scenario.topology.host_bandwidth_down if place.needs_host_bandwidth else None,
            bandwidth_up=scenario.topology.host_bandwidth_up if place.needs_host_bandwidth else None)
        processes = [_runtime_process(name, starts[i], scenario.python, out_dir, scenario.python_path)]
        if scenario.monero.launch == "shadow":
            processes += _monero_processes(HostPlan(**fields, processes=()), scenario, out_dir)
        hosts.append(HostPlan(**fields, processes=tuple(processes)))

    by_role = {h.role: h for h in hosts[:2]}
    services = {role: ServiceAddress(by_role[role].name, by_role[role].ip, defaults.BUS_PORT)
                for role in (SERVICE_BLOCK_CONTROLLER, SERVICE_MARKETPLACE_DIRECTORY)}
    topo = scenario.topology
    return Plan(
        version=PLAN_VERSION, scenario_path=scenario.path, seed=seed, duration_s=scenario.duration_s,
        stop_time_s=scenario.duration_s + scenario.grace_period_s, launch_mode=scenario.monero.launch,
        addressing=addressing,
        consensus=ConsensusPlan(scenario.consensus.block_time_s, scenario.consensus.difficulty,
                                scenario.consensus.schedule),
        binaries=Binaries(scenario.python, scenario.monero.monerod, scenario.monero.wallet_rpc),
        services=services,
        network=NetworkPlan(topo.kind, topo.gml, topo.use_shortest_path),
        shadow_general={"progress": True, **scenario.shadow_general, "model_unblocked_syscall_latency": True},
        shadow_experimental={**scenario.shadow_experimental,
                             "use_memory_manager": False},
        shadow_host_option_defaults=dict(scenario.shadow_host_option_defaults),
        shadow_compat_shim=scenario.shadow_compat_shim and addressing == "shadow",
        randomx=scenario.monero.randomx,
        randomx_files=randomx_files,
        message_modules=tuple(sorted({h.role_class.partition(":")[0] for h in hosts})),
        hosts=tuple(hosts))


def _randomx(scenario: Scenario, out_dir: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The shared RandomX files a run needs and every monerod's environment: none with
    ``monero.randomx: private``, only the library with ``stand_in``."""
    if scenario.monero.randomx == "private":
        return (), {}
    library = os.path.join(out_dir, defaults.RANDOMX_FILE)
    if scenario.monero.randomx == "stand_in":
        return (), randomx_share.stand_in_environment(library)
    fast = scenario.consensus.difficulty >= randomx_share.FAST_FROM_DIFFICULTY
    files = (randomx_share.Kind.CACHE, randomx_share.Kind.DATASET) if fast else (randomx_share.Kind.CACHE,)
    return tuple(k.name.lower() for k in files), randomx_share.monerod_environment(library, fast=fast)


def host_seed(seed: int, host: str) -> int:
    """A host's own seed: 63 bits of sha256 over the simulation seed and the host name."""
    digest = hashlib.sha256(f"{seed}/{host}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _agents(scenario: Scenario) -> list[list[_Agent]]:
    """The hosts to be, in groups that start one after the other."""
    coord = scenario.coordination.region
    services = [
        _Agent(SERVICE_BLOCK_CONTROLLER, SERVICE_BLOCK_CONTROLLER,
               BUILTIN_ROLE_CLASSES[SERVICE_BLOCK_CONTROLLER], coord, True, True, {}),
        _Agent(SERVICE_MARKETPLACE_DIRECTORY, SERVICE_MARKETPLACE_DIRECTORY,
               BUILTIN_ROLE_CLASSES[SERVICE_MARKETPLACE_DIRECTORY], coord, False, False, {}),
    ]
    public = []
    if scenario.public_nodes is not None:
        n = scenario.public_nodes
        public = [_Agent(f"{PUBLIC_NODE_PREFIX}_{i}", "public_node", BUILTIN_ROLE_CLASSES["public_node"],
                         n.region, True, False, {**n.extra, "public": n.public}, public=n.public)
                  for i in range(n.count)]
    total_share = sum(p.hashrate_share for p in scenario.pools)
    pools = [_Agent(p.id, "mining_pool", BUILTIN_ROLE_CLASSES["mining_pool"], p.region, True, True,
                    {**p.extra, "pool_id": p.id, "hashrate_share": p.hashrate_share / total_share})
             for p in scenario.pools]
    markets = []
    if scenario.marketplaces is not None:
        m = scenario.marketplaces
        params = {**m.extra, "wallet_count": m.wallet_count}
        markets = [_Agent(f"marketplace_{i}", "marketplace", BUILTIN_ROLE_CLASSES["marketplace"], m.region,
                          not m.node.remote, True, params, m.node) for i in range(m.count)]
    users = []
    if scenario.users is not None:
        u = scenario.users
        params = {**u.extra, "transaction_frequency": u.transaction_frequency,
                  "wallet_initial_balance": u.wallet_initial_balance, "amount_min": u.amount_min,
                  "amount_max": u.amount_max}
        users = [_Agent(f"user_{i}", "regular_user", BUILTIN_ROLE_CLASSES["regular_user"], u.region,
                        not u.node.remote, True, params, u.node) for i in range(u.count)]
    custom = [_Agent(f"{c.name}_{i}", c.name, c.role_class, c.region, c.monerod, c.wallet,
                     {**c.config, "wallet_initial_balance": c.wallet_initial_balance} if c.wallet_initial_balance
                     else c.config, c.node, talks_to=c.talks_to, funded=c.wallet_initial_balance > 0)
              for c in scenario.custom for i in range(c.count)]
    return [g for g in (services, public, pools, markets, users, custom) if g]


def _node_access(agents: list[_Agent], names: list[str], ips: list[str],
                 rng: random.Random) -> list[NodeAccess | None]:
    """The monerod each host uses: its own, or for ``node: remote`` a public node picked by the role's
    selection: seeded ``random``, ``round_robin`` over the public nodes (in each role's own turn), or
    the one it names. The scenario has checked that a public node exists for every remote host."""
    def access(i: int) -> NodeAccess:
        return NodeAccess(names[i], ips[i], defaults.MONEROD_RPC_PORT, defaults.MONEROD_ZMQ_PUB_PORT)

    public = [i for i, a in enumerate(agents) if a.public]
    by_id = {agents[i].agent_id: i for i in public}
    turns: dict[str, int] = {}
    nodes: list[NodeAccess | None] = []
    for i, agent in enumerate(agents):
        if agent.monerod:
            nodes.append(access(i))
        elif not agent.node.remote:
            nodes.append(None)
        elif agent.node.selection == "random":
            nodes.append(access(public[rng.randrange(len(public))]))
        elif agent.node.selection == "round_robin":
            turn = turns.get(agent.role, 0)
            turns[agent.role] = turn + 1
            nodes.append(access(public[turn % len(public)]))
        else:
            nodes.append(access(by_id[agent.node.selection]))
    return nodes


def _fill_coordination_params(agents: list[_Agent], names: list[str], scenario: Scenario) -> None:
    """The services' params: who the pools, marketplaces and users are (they are the first two agents);
    the controller's ``users`` are every host it funds, custom roles with a balance included."""
    pools, users, markets = [], [], []
    for agent, name in zip(agents, names):
        if agent.role == "mining_pool":
            pools.append({"pool_id": agent.agent_id, "host": name,
                          "hashrate_share": agent.params["hashrate_share"]})
        elif agent.role == "regular_user":
            users.append({"user_id": agent.agent_id, "host": name,
                          "wallet_initial_balance": agent.params["wallet_initial_balance"],
                          "transaction_frequency": agent.params["transaction_frequency"]})
        elif agent.funded:  # paid as a user is; with no payment rate it gets the fewest outputs
            users.append({"user_id": agent.agent_id, "host": name,
                          "wallet_initial_balance": agent.params["wallet_initial_balance"]})
        elif agent.role == "marketplace":
            markets.append({"marketplace_id": agent.agent_id, "host": name})
    controller, directory = agents[0], agents[1]
    controller.params.update({
        "pools": pools, "users": users, "marketplaces": markets,
        "registration_timeout_s": scenario.coordination.registration_timeout_s,
        "mine_timeout_s": scenario.coordination.mine_timeout_s,
        "schedule": scenario.consensus.schedule, "block_time_s": scenario.consensus.block_time_s})
    if scenario.users is not None and scenario.users.outputs_per_user is not None:
        controller.params["outputs_per_user"] = scenario.users.outputs_per_user
    directory.params.update({
        "marketplaces": markets,
        "users": [{"user_id": u["user_id"], "host": u["host"]} for u in users]})


def _start_times(group_sizes: list[int]) -> list[float]:
    """Start times: the first group (the services) at 0, each later group after the previous one."""
    times: list[float] = []
    base = 0.0
    for size in group_sizes:
        group = [base + (i // STAGGER_BATCH) for i in range(size)]
        times += group
        base = group[-1] + GROUP_GAP_S
    return times


def _placements(places: tuple[Place, ...], agents: list[_Agent]) -> list[Place]:
    """The graph node of every host: its role's ``region`` if given, else the places in turn by weight."""
    by_name = {p.name: p for p in places}
    turn = _Turns([p for p in places if p.weight > 0])
    return [by_name[a.region] if a.region is not None else turn.next() for a in agents]


class _Turns:
    """Smooth weighted round robin (nginx's): deterministic, and spreads each place's turns evenly."""

    def __init__(self, places: list[Place]) -> None:
        self.places = places
        self.equal = len({p.weight for p in places}) == 1
        self.current = [0.0] * len(places)
        self.total = sum(p.weight for p in places)
        self.count = 0

    def next(self) -> Place:
        if self.equal:
            place = self.places[self.count % len(self.places)]
            self.count += 1
            return place
        best = 0
        for i, p in enumerate(self.places):
            self.current[i] += p.weight
            if self.current[i] > self.current[best]:
                best = i
        self.current[best] -= self.total
        return self.places[best]


def _peer_graph(n: int, count: int, rng: random.Random) -> list[list[int]]:
    """The nodes each node dials: a ring over a seeded shuffle (so the graph is connected) plus random
    chords up to ``count`` per node, never to a node that dials it back (unless ``n`` is 2).

    Two monerods that dial each other keep one connection, which leaves one of them without that
    outgoing connection; a node left with none cannot send its transactions on a Dandelion++ stem
    ("Unable to send transaction(s) via Dandelion++ stem"), and monerod 0.18.0 then never relays them,
    so blocks are mined without them. Without mutual pairs every node keeps all its outgoing
    connections (in a small network some get fewer than ``count``). O(n * count) for large ``n``.
    """
    if n < 2:
        return [[] for _ in range(n)]
    want = min(count, n - 1)
    order = list(range(n))
    rng.shuffle(order)
    peers: list[set[int]] = [set() for _ in range(n)]
    for pos, node in enumerate(order):
        peers[node].add(order[(pos + 1) % n])
    for node in range(n):
        chosen = peers[node]
        for _ in range(CHORD_TRIES * want):
            if len(chosen) >= want:
                break
            candidate = rng.randrange(n)
            if candidate != node and candidate not in chosen and node not in peers[candidate]:
                chosen.add(candidate)
        if len(chosen) < want:  # a small or dense graph: take what is left, in a seeded order
            left = [c for c in range(n) if c != node and c not in chosen and node not in peers[c]]
            chosen.update(rng.sample(left, min(want - len(chosen), len(left))))
    return [sorted(p) for p in peers]


def _runtime_process(host: str, start_s: float, python: str, out_dir: str,
                     python_path: tuple[str, ...]) -> ProcessPlan:
    """The host runtime, which every host runs: ``PYTHON -m monerosim_actors.runtime.host --config ...``,
    with ``PYTHONPATH`` when a custom role was found through it."""
    config = os.path.join(out_dir, defaults.HOSTS_DIR, f"{host}.json")
    env = {**RUNTIME_ENV, "PYTHONPATH": os.pathsep.join(python_path)} if python_path else dict(RUNTIME_ENV)
    return ProcessPlan("runtime", python, ("-m", "monerosim_actors.runtime.host", "--config", config), start_s, env)


def _monero_processes(host: HostPlan, scenario: Scenario, out_dir: str) -> list[ProcessPlan]:
    """With ``launch: shadow``: the host's monerod at its start, the wallet a little later."""
    data_dir = defaults.host_data_dir(out_dir, host.name)
    procs = []
    if host.monerod is not None:
        argv = monero_args.monerod_argv(scenario.monero.monerod, host, data_dir)
        procs.append(ProcessPlan("monerod", argv[0], tuple(argv[1:]), host.start_time_s, host.monerod.environment))
    if host.wallet is not None:
        argv = monero_args.wallet_argv(scenario.monero.wallet_rpc, host, data_dir)
        procs.append(ProcessPlan("wallet", argv[0], tuple(argv[1:]), host.start_time_s + WALLET_DELAY_S,
                                 host.wallet.environment))
    return procs
