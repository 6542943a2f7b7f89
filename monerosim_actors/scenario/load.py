"""The scenario: one YAML file turned into frozen dataclasses, every problem in it reported at once.

``load_scenario(path)`` is the only entry. It reads the file with the safe loader (keeping lines,
see :mod:`monerosim_actors.scenario.source`), checks every key it knows, suggests a spelling for the keys
it does not, and raises one :class:`ScenarioError` listing all problems, each with the file, the line
and the key path. A scenario that loads is complete: defaults filled in, times in seconds, paths
absolute, the network graph checked, agent ids mapped to valid host names. README's
``scenario-reference`` section documents every key; keep the two in step.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import importlib.util
import lzma
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from monerosim_actors import defaults
from monerosim_actors.scenario import topology
from monerosim_actors.errors import Problem, ScenarioError
from monerosim_actors.plan.model import BlockScheduleKind, LaunchMode, TopologyKind
from monerosim_actors.scenario.topology import Link, Region
from monerosim_actors.scenario.units import is_bandwidth, parse_time
from monerosim_actors.scenario.source import Path, Source, YamlSyntaxError, format_path, load_text

ROLES_GROUP = "monerosim_actors.roles"
"""Entry point group naming role classes; a custom role's ``class`` may be one of its names."""
BUILTIN_ROLE_CLASSES = {
    "regular_user": "monerosim_actors.actors.regular_user:RegularUser",
    "marketplace": "monerosim_actors.actors.marketplace:Marketplace",
    "mining_pool": "monerosim_actors.actors.mining_pool:MiningPool",
    "block_controller": "monerosim_actors.coordination.block_controller:BlockController",
    "marketplace_directory": "monerosim_actors.coordination.marketplace_directory:MarketplaceDirectory",
    "public_node": "monerosim_actors.actors.public_node:PublicNode",
}
"""The built-in roles, as registered in pyproject.toml's entry points (a test keeps them equal)."""
BUILTIN_ROLES = tuple(BUILTIN_ROLE_CLASSES)

SHADOW_GENERAL_OWNED = {
    "stop_time": "it is simulation.duration plus simulation.grace_period",
    "data_directory": "gen puts it at OUT/shadow.data so that every host's data folder is known",
    "seed": "set simulation.seed (or gen --seed)",
}
SHADOW_GENERAL = {"bootstrap_end_time", "heartbeat_interval", "log_level",
                  "model_unblocked_syscall_latency", "parallelism", "progress", "template_directory"}
SHADOW_EXPERIMENTAL = {
    "interface_qdisc", "max_unapplied_cpu_latency", "native_preemption_enabled",
    "native_preemption_native_interval", "native_preemption_sim_interval", "report_errors_to_stderr",
    "runahead", "scheduler", "socket_recv_autotune", "socket_recv_buffer", "socket_send_autotune",
    "socket_send_buffer", "strace_logging_mode", "unblocked_syscall_latency", "unblocked_vdso_latency",
    "use_cpu_pinning", "use_dynamic_runahead", "use_memory_manager", "use_new_tcp",
    "use_object_counters", "use_preload_libc", "use_preload_openssl_crypto", "use_preload_openssl_rng",
    "use_sched_fifo", "use_syscall_counters", "use_worker_spinning"}
SHADOW_LOG_LEVELS = ("error", "warning", "info", "debug", "trace")
SHADOW_HOST_OPTIONS = {"log_level", "pcap_enabled", "pcap_capture_size"}

_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?")
"""An agent id (matched whole: ``$`` would let a trailing newline into host and file names)."""
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_LISTEN_FLAG = re.compile(r"^--.*(bind|ipv6|anonymous-inbound|zmq-pub)")
"""monerod / wallet flags that open (or move) a listening socket: ``--rpc-restricted-bind-port`` would
listen on 127.0.0.1, ``--p2p-use-ipv6`` on ``::``; the host's own sockets are set by monero_args."""
_MAX_LABEL = 63
MAX_HOSTS = 100_000
"""Hosts a scenario may have in all (ten times the largest we have generated); a typo such as
``count: 1000000000`` is reported instead of laying out a billion hosts."""
MAX_OUTPUTS_PER_USER = 1000
"""``regular_users.config.outputs_per_user``'s upper bound (the bootstrap's own limit,
``monerosim_actors.coordination.bootstrap.MAX_OUTPUTS_PER_USER``: a test checks that the two agree)."""
MAX_SEED = 2**32 - 1
"""Shadow's ``general.seed`` is a 32-bit unsigned integer (the CLI's --seed checks the same)."""
_SHARE_TOLERANCE = 1e-9
_NODE_KEYS = ("node", "remote_node")


NodeMode = Literal["own", "remote"]
"""A role's ``node``: the host's own monerod, or a public node's (the host runs only the wallet)."""
NODE_SELECTIONS = ("random", "round_robin")
"""How a wallet-only host picks its public node, unless it names one (``public_node_3``)."""
PUBLIC_NODE_PREFIX = "public_node"
"""Agent ids of public nodes are ``public_node_0``, ``public_node_1``, ..."""


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
    (the block controller's rule, :func:`monerosim_actors.coordination.bootstrap.outputs_for_rate`)."""
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


@dataclass(frozen=True)
class ConsensusSpec:
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
    kind: TopologyKind
    gml: str | None
    """GML text, one item per line (None for Shadow's built-in switch)."""
    places: tuple[Place, ...]
    host_bandwidth_down: str
    host_bandwidth_up: str
    use_shortest_path: bool


@dataclass(frozen=True)
class MoneroSpec:
    monerod: str
    wallet_rpc: str
    monerod_args: tuple[str, ...]
    wallet_args: tuple[str, ...]
    launch: LaunchMode


@dataclass(frozen=True)
class CoordinationSpec:
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


def host_name(agent_id: str) -> str:
    """The hostname(7) label of an agent id: lowercase, ``_`` becomes ``-`` (``user_0`` -> ``user-0``)."""
    return agent_id.lower().replace("_", "-")


@functools.cache
def role_classes() -> dict[str, str]:
    """Role name -> ``module:Class``: the built-in roles and every ``monerosim_actors.roles`` entry point.

    Read once per process: scanning the installed distributions takes ~80 ms (more on a busy disk),
    and the scenario fuzz tests load thousands of scenarios in one process. Do not mutate the result.
    """
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ROLES_GROUP)}
    return {**BUILTIN_ROLE_CLASSES, **found}


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario file.

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
    return _Reader(file, src).scenario()


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Bad(Exception):
    """A value failed its check; the message is for the user."""


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            type(None): "nothing (null)"}.get(type(value), type(value).__name__)


# --- value checks: each returns the checked value or raises _Bad(message) ---

def _number(*, gt: float | None = None, ge: float | None = None, le: float | None = None,
            integer: bool = False) -> Callable[[object], Any]:
    def check(value: object) -> Any:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (integer and not isinstance(value, int)):
            kind = "a whole number" if integer else "a number"
            got = repr(value) if numeric else f"{_type_name(value)} {value!r}"
            raise _Bad(f"must be {kind}, got {got}")
        if value != value or value in (float("inf"), float("-inf")):
            raise _Bad(f"must be a finite number, got {value!r}")
        if gt is not None and not value > gt:
            raise _Bad(f"must be > {_fmt(gt)}, got {value!r}")
        if ge is not None and not value >= ge:
            raise _Bad(f"must be >= {_fmt(ge)}, got {value!r}")
        if le is not None and not value <= le:
            raise _Bad(f"must be <= {_fmt(le)}, got {value!r}")
        return value if integer else float(value)
    return check


def _fmt(bound: float) -> str:
    """A bound as the user wrote it: ``0``, ``0.5``, ``4294967295`` (never ``4.29497e+09``)."""
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def _time(*, minimum: float = 0.0, inclusive: bool = False) -> Callable[[object], float]:
    def check(value: object) -> float:
        try:
            seconds = parse_time(value)
        except ValueError as e:
            raise _Bad(str(e)) from None
        if seconds < minimum or (seconds == minimum and not inclusive):
            op = ">=" if inclusive else ">"
            raise _Bad(f"must be {op} {minimum:g} s, got {value!r}")
        return seconds
    return check


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false, got {value!r}")
    return value


def _string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _Bad(f"must be a non-empty string, got {_type_name(value)} {value!r}")
    return value


def _choice(*options: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in options:
            hint = _suggest(value, options) if isinstance(value, str) else ""
            raise _Bad(f"must be one of {', '.join(options)}, got {value!r}{hint}")
        return value  # type: ignore[return-value]
    return check


def _string_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"must be a list of strings, got {value!r}")
    return tuple(value)


def _bandwidth(value: object) -> str:
    if not is_bandwidth(value):
        raise _Bad(f"must be a bandwidth like \"100 Mbit\" or \"1 Gbit\", got {value!r}")
    return str(value).strip()


def _region_name(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Bad(f"must be a region name (or a GML node id), got {value!r}")
    return str(value)


_MISSING = object()


class _Reader:
    """Walks the document once, collecting problems; :meth:`scenario` raises if there are any."""

    def __init__(self, file: str, src: Source) -> None:
        self.file = file
        self.src = src
        self.base = os.path.dirname(os.path.abspath(file))
        self.problems: list[Problem] = []
        self.notes: list[str] = []

    # --- reporting and generic access ---

    def fail(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.src.line(path), format_path(path), message))

    def mapping(self, value: object, path: Path, known: Iterable[str], *, extras: bool = False,
                required: Iterable[str] = ()) -> dict[str, Any] | None:
        """``value`` checked to be a mapping with only ``known`` keys (and ``required`` ones present).

        With ``extras`` other keys are allowed unless they look like a misspelt known key.
        """
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping (key: value lines), got {_type_name(value)}")
            return None
        known = set(known)
        for key in value:
            if key in known:
                continue
            hint = _suggest(key, known)
            if not extras:
                self.fail(path + (key,), f"unknown key{hint or '; known keys: ' + ', '.join(sorted(known))}")
            elif hint:
                self.fail(path + (key,), f"unknown key{hint} (other keys are passed to the role; "
                                         "rename it if it is meant as one)")
        for key in required:
            if key not in value:
                self.fail(path, f"{key!r} is required")
        return value

    def section(self, parent: dict[str, Any] | None, path: Path, key: str, known: Iterable[str],
                *, extras: bool = False, required: Iterable[str] = ()) -> dict[str, Any] | None:
        """The mapping at ``parent[key]``; an absent (or null) section is an empty mapping."""
        if parent is None:
            return None
        value = parent.get(key)
        if value is None:
            value = {}
        return self.mapping(value, path + (key,), known, extras=extras, required=required)

    def get(self, m: dict[str, Any] | None, path: Path, key: str, check: Callable[[object], Any],
            default: Any = _MISSING) -> Any:
        """``check(m[key])``, or ``default`` when absent; None (after reporting) when it is wrong."""
        if m is None:
            return None
        if key not in m:
            if default is _MISSING:
                self.fail(path, f"{key!r} is required")
                return None
            return default
        try:
            return check(m[key])
        except _Bad as e:
            self.fail(path + (key,), str(e))
            return None

    def agent_id(self, value: object, path: Path) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {_type_name(value)} {value!r}")
            return None
        if not _ID.fullmatch(value):
            self.fail(path, f"{value!r} is not usable as a host name: use ASCII letters, digits, '_' and "
                            "'-' only, starting and ending with a letter or digit")
            return None
        return value

    def executable(self, value: str | None, path: Path) -> str | None:
        """An absolute path to an executable: absolute as given, relative to the scenario, or on PATH."""
        if value is None:
            return None
        if os.path.isabs(value):
            full = value
        elif "/" in value:
            full = os.path.normpath(os.path.join(self.base, value))
        else:
            found = shutil.which(value)
            if found is None:
                self.fail(path, f"{value!r} is not on PATH; give an absolute path")
                return None
            full = os.path.abspath(found)
        if not os.path.isfile(full) or not os.access(full, os.X_OK):
            self.fail(path, f"{full} is not an executable file on this machine")
            return None
        return full

    def interpreter(self, root: dict[str, Any]) -> str | None:
        """The hosts' Python: this one by default; another one must be able to import the runtime."""
        own = os.path.abspath(sys.executable)
        python = self.executable(self.get(root, (), "python", _string, own), ("python",))
        if python is None or python == own:
            return python
        try:
            result = subprocess.run([python, "-c", "import monerosim_actors.runtime.host"], capture_output=True,
                                    stdin=subprocess.DEVNULL, timeout=60, check=False)
            failed = result.returncode != 0
        except (OSError, subprocess.TimeoutExpired):
            failed = True
        if failed:
            self.fail(("python",), f"{python} cannot import monerosim_actors.runtime.host; install monerosim-actors "
                                   f"into that environment, or leave 'python' out to use {own}")
            return None
        return python

    # --- the document ---

    def scenario(self) -> Scenario:
        for dup_path, line in self.src.duplicates:
            self.problems.append(Problem(self.file, line, format_path(dup_path),
                                         "key given twice; only one is allowed"))
        data = self.src.data
        if data is None:
            self.fail((), "the scenario is empty; it needs at least simulation.duration and "
                          "network.agents.mining_pools")
            raise ScenarioError(self.problems)
        root = self.mapping(data, (), ("simulation", "network", "monero", "coordination", "shadow",
                                       "python"), required=("simulation", "network"))
        if root is None:
            raise ScenarioError(self.problems)
        # A missing required section is one problem, not one more per key it would have held.
        sim = self.section(root if "simulation" in root else None, (), "simulation",
                           ("duration", "seed", "grace_period"))
        duration = self.get(sim, ("simulation",), "duration", _time())
        seed = self.get(sim, ("simulation",), "seed", _number(ge=0, le=MAX_SEED, integer=True), 1)
        grace = self.get(sim, ("simulation",), "grace_period", _time(minimum=10, inclusive=True), 120.0)

        net = self.section(root if "network" in root else None, (), "network",
                           ("agents", "consensus", "topology", "peers"), required=("agents",))
        topo = self.topology(net)
        places = {p.name for p in topo.places} if topo else set()
        agents = self.section(net, ("network",), "agents",
                              ("regular_users", "marketplaces", "mining_pools", "public_nodes", "custom"),
                              required=("mining_pools",))
        users = self.users(agents, places, topo)
        markets = self.marketplaces(agents, places, topo)
        public_nodes = self.public_nodes(agents, places, topo)
        pools = self.pools(agents, places, topo)
        custom = self.custom_roles(agents, places, topo)
        self.remote_nodes_exist(users, markets, custom, public_nodes)
        if users is not None and (agents or {}).get("marketplaces") is None:
            self.fail(("network", "agents", "regular_users"),
                      "regular users pay marketplaces, but network.agents.marketplaces is not given")
        consensus = self.consensus(net)
        peers = self.section(net, ("network",), "peers", ("count",))
        peer_count = self.get(peers, ("network", "peers"), "count", _number(ge=1, integer=True), 3)

        monero = self.monero(root)
        coord_m = self.section(root, (), "coordination",
                               ("registration_timeout", "mine_timeout", "region"))
        coordination = CoordinationSpec(
            registration_timeout_s=self.get(coord_m, ("coordination",), "registration_timeout", _time(), 300.0),
            mine_timeout_s=self.get(coord_m, ("coordination",), "mine_timeout", _time(), 60.0),
            region=self.region(coord_m, ("coordination",), places, topo))
        general, experimental, host_options, compat_shim = self.shadow(root)
        python = self.interpreter(root)
        self.host_names(users, markets, public_nodes, pools, custom)

        if self.problems:
            unique = list(dict.fromkeys(self.problems))
            raise ScenarioError(sorted(unique, key=lambda p: (p.line is None, p.line or 0)))
        return Scenario(
            path=os.path.abspath(self.file), duration_s=duration, seed=seed, grace_period_s=grace,
            users=users, marketplaces=markets, public_nodes=public_nodes, pools=tuple(pools),
            custom=tuple(custom),
            consensus=consensus, topology=topo, peer_count=peer_count, monero=monero,  # type: ignore[arg-type]
            coordination=coordination, shadow_general=general, shadow_experimental=experimental,
            shadow_host_option_defaults=host_options, shadow_compat_shim=compat_shim, python=python,  # type: ignore[arg-type]
            notes=tuple(self.notes))

    def count(self, m: dict[str, Any] | None, path: Path) -> int | None:
        return self.get(m, path, "count", _number(ge=1, le=MAX_HOSTS, integer=True))

    def region(self, m: dict[str, Any] | None, path: Path, places: set[str],
               topo: TopologySpec | None) -> str | None:
        name = self.get(m, path, "region", _region_name, None)
        if name is None or topo is None:
            return None
        if topo.kind == "switch":
            self.fail(path + ("region",), "regions need network.topology.type 'regions' or 'gml' "
                                          "(the switch has a single node)")
        elif name not in places:
            what = "region" if topo.kind == "regions" else "GML node id"
            self.fail(path + ("region",), f"no {what} {name!r} in network.topology{_suggest(name, places)}")
        return name

    def users(self, agents: dict[str, Any] | None, places: set[str],
              topo: TopologySpec | None) -> UsersSpec | None:
        if agents is None or agents.get("regular_users") is None:
            return None
        path: Path = ("network", "agents", "regular_users")
        m = self.mapping(agents["regular_users"], path, ("count", "config", "region"), required=("count",))
        known = ("transaction_frequency", "wallet_initial_balance", "amount_min", "amount_max", "outputs_per_user",
                 *_NODE_KEYS)
        cfg = self.section(m, path, "config", known, extras=True)
        cpath = path + ("config",)
        spec = UsersSpec(
            count=self.count(m, path),  # type: ignore[arg-type]
            transaction_frequency=self.get(cfg, cpath, "transaction_frequency", _number(ge=0, le=1), 0.1),
            wallet_initial_balance=self.get(cfg, cpath, "wallet_initial_balance", _number(ge=0), 10.0),
            amount_min=self.get(cfg, cpath, "amount_min", _number(gt=0), 0.1),
            amount_max=self.get(cfg, cpath, "amount_max", _number(gt=0), 2.0),
            extra={k: v for k, v in (cfg or {}).items() if k not in known},
            region=self.region(m, path, places, topo),
            outputs_per_user=self.get(cfg, cpath, "outputs_per_user",
                                      _number(ge=1, le=MAX_OUTPUTS_PER_USER, integer=True), None),
            node=self.node_choice(cfg, cpath))
        if spec.amount_min is not None and spec.amount_max is not None and spec.amount_min > spec.amount_max:
            self.fail(cpath + ("amount_min",),
                      f"must be <= amount_max ({spec.amount_max:g}), got {spec.amount_min:g}")
        if (spec.amount_min is not None and spec.wallet_initial_balance is not None
                and spec.wallet_initial_balance and spec.amount_min >= spec.wallet_initial_balance):
            self.notes.append(f"regular users start with {spec.wallet_initial_balance:g} XMR and pay at "
                              f"least {spec.amount_min:g} XMR: they can make at most one payment")
        return spec

    def marketplaces(self, agents: dict[str, Any] | None, places: set[str],
                     topo: TopologySpec | None) -> MarketplacesSpec | None:
        if agents is None or agents.get("marketplaces") is None:
            return None
        path: Path = ("network", "agents", "marketplaces")
        m = self.mapping(agents["marketplaces"], path, ("count", "config", "region"), required=("count",))
        known = ("wallet_count", *_NODE_KEYS)
        cfg = self.section(m, path, "config", known, extras=True)
        return MarketplacesSpec(
            count=self.count(m, path),  # type: ignore[arg-type]
            wallet_count=self.get(cfg, path + ("config",), "wallet_count", _number(ge=1, integer=True), 10),
            extra={k: v for k, v in (cfg or {}).items() if k not in known},
            region=self.region(m, path, places, topo),
            node=self.node_choice(cfg, path + ("config",)))

    def public_nodes(self, agents: dict[str, Any] | None, places: set[str],
                     topo: TopologySpec | None) -> PublicNodesSpec | None:
        if agents is None or agents.get("public_nodes") is None:
            return None
        path: Path = ("network", "agents", "public_nodes")
        m = self.mapping(agents["public_nodes"], path, ("count", "public", "config", "region"),
                         required=("count",))
        cfg = self.section(m, path, "config", (), extras=True)
        return PublicNodesSpec(
            count=self.count(m, path),  # type: ignore[arg-type]
            public=self.get(m, path, "public", _bool, True),
            extra=dict(cfg or {}),
            region=self.region(m, path, places, topo))

    def node_choice(self, cfg: dict[str, Any] | None, path: Path) -> NodeChoice:
        """``node`` and ``remote_node`` of a role's config (or, for a custom role, its entry)."""
        node = self.get(cfg, path, "node", _choice(*get_args(NodeMode)), "own")
        selection = self.get(cfg, path, "remote_node", _string, "random")
        if cfg is not None and "remote_node" in cfg and node != "remote":
            self.fail(path + ("remote_node",), "only a host with node: remote uses a public node; "
                                               "set node: remote or remove remote_node")
        return NodeChoice(remote=node == "remote", selection=selection or "random")

    def remote_nodes_exist(self, users: UsersSpec | None, markets: MarketplacesSpec | None,
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
                self.fail(path + ("node",), f"'remote' needs a public node to use, but {why}: add "
                                            "network.agents.public_nodes (count: N)")
            elif choice.selection not in NODE_SELECTIONS and choice.selection not in ids:
                self.fail(path + ("remote_node",),
                          f"must be {' or '.join(NODE_SELECTIONS)} or a public node's id "
                          f"({ids[0]} to {ids[-1]}), got {choice.selection!r}{_suggest(choice.selection, ids)}")

    def pools(self, agents: dict[str, Any] | None, places: set[str],
              topo: TopologySpec | None) -> list[PoolSpec]:
        if agents is None or "mining_pools" not in agents:
            return []
        path: Path = ("network", "agents", "mining_pools")
        items = agents["mining_pools"]
        if not isinstance(items, list) or not items:
            self.fail(path, "must be a non-empty list of pools (- id: ..., hashrate_share: ...); "
                            "blocks are mined only by pools")
            return []
        pools = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            p = path + (i,)
            m = self.mapping(item, p, ("id", "hashrate_share", "config", "region"),
                             required=("id", "hashrate_share"))
            if m is None:
                continue
            pool_id = self.agent_id(m["id"], p + ("id",)) if "id" in m else None
            if pool_id is not None:
                if pool_id in seen:
                    self.fail(p + ("id",), f"duplicate pool id {pool_id!r} (also pool [{seen[pool_id]}])")
                seen.setdefault(pool_id, i)
            share = self.get(m, p, "hashrate_share", _number(gt=0))
            cfg = self.section(m, p, "config", ("pool_id", "hashrate_share"), extras=True)
            for owned in ("pool_id", "hashrate_share"):
                if cfg and owned in cfg:
                    self.fail(p + ("config", owned), "is set from the pool entry itself; remove it here")
            pools.append(PoolSpec(pool_id, share, dict(cfg or {}), self.region(m, p, places, topo)))  # type: ignore[arg-type]
        shares = [s.hashrate_share for s in pools if s.hashrate_share is not None]
        if len(shares) == len(items) and abs(sum(shares) - 1.0) > _SHARE_TOLERANCE:
            self.notes.append(f"mining pool hashrate shares sum to {sum(shares):g}, not 1: "
                              "each is divided by the sum")
        return pools

    def custom_roles(self, agents: dict[str, Any] | None, places: set[str],
                     topo: TopologySpec | None) -> list[CustomRoleSpec]:
        if agents is None or agents.get("custom") is None:
            return []
        path: Path = ("network", "agents", "custom")
        items = agents["custom"]
        if not isinstance(items, list):
            self.fail(path, f"must be a list of roles (- name: ..., class: ..., count: ...), got "
                            f"{_type_name(items)}")
            return []
        entry_points = role_classes()
        roles = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            p = path + (i,)
            m = self.mapping(item, p, ("name", "class", "count", "monerod", "wallet", "config", "region",
                                       *_NODE_KEYS), required=("name", "class", "count"))
            if m is None:
                continue
            name = self.agent_id(m["name"], p + ("name",)) if "name" in m else None
            if name is not None:
                if name in BUILTIN_ROLES:
                    self.fail(p + ("name",), f"{name!r} is a built-in role; give yours another name "
                                             f"(its class may still be {name!r})")
                elif name in seen:
                    self.fail(p + ("name",), f"duplicate custom role name {name!r}")
                seen.add(name)
            role_class = self.role_class(m, p, entry_points)
            node = self.node_choice(m, p)
            monerod = self.get(m, p, "monerod", _bool, not node.remote)
            wallet = self.get(m, p, "wallet", _bool, monerod is not False or node.remote)
            if node.remote and monerod:
                self.fail(p + ("monerod",), "a host with node: remote runs no monerod of its own; "
                                            "remove monerod: true or set node: own")
            elif node.remote and wallet is False:
                self.fail(p + ("wallet",), "node: remote gives the host's wallet a public node; "
                                           "remove wallet: false or node: remote")
            elif wallet and monerod is False and not node.remote:
                self.fail(p + ("wallet",), "a wallet needs a monerod: set monerod: true, node: remote "
                                           "(a public node's), or wallet: false")
            cfg = m.get("config") or {}
            if not isinstance(cfg, dict):
                self.fail(p + ("config",), f"must be a mapping, got {_type_name(cfg)}")
            roles.append(CustomRoleSpec(name, role_class, self.count(m, p), monerod, wallet,  # type: ignore[arg-type]
                                        dict(cfg) if isinstance(cfg, dict) else {},
                                        self.region(m, p, places, topo), node))
        return roles

    def role_class(self, m: dict[str, Any], path: Path, entry_points: dict[str, str]) -> str | None:
        value = self.get(m, path, "class", _string)
        if value is None:
            return None
        if value in entry_points:
            return entry_points[value]
        if not _CLASS_PATH.fullmatch(value):
            self.fail(path + ("class",), f"{value!r} is neither 'package.module:Class' nor a registered role "
                                         f"({', '.join(sorted(entry_points))}){_suggest(value, entry_points)}")
            return None
        module = value.split(":", 1)[0]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            self.fail(path + ("class",), f"module {module!r} cannot be found by {sys.executable}; install it "
                                         "or put it on PYTHONPATH")
            return None
        return value

    def consensus(self, net: dict[str, Any] | None) -> ConsensusSpec:
        path: Path = ("network", "consensus")
        m = self.section(net, ("network",), "consensus", ("block_time", "difficulty", "schedule"))
        return ConsensusSpec(
            block_time_s=self.get(m, path, "block_time", _time(), 120.0),
            difficulty=self.get(m, path, "difficulty", _number(ge=1, integer=True), 1),
            schedule=self.get(m, path, "schedule", _choice(*get_args(BlockScheduleKind)), "exponential"))

    def topology(self, net: dict[str, Any] | None) -> TopologySpec | None:
        path: Path = ("network", "topology")
        raw = (net or {}).get("topology") or {"type": "switch"}
        if not isinstance(raw, dict):
            self.fail(path, f"must be a mapping with a 'type' ({', '.join(get_args(TopologyKind))}), "
                            f"got {_type_name(raw)}")
            return None
        kind = self.get(raw, path, "type", _choice(*get_args(TopologyKind)), "switch")
        common = ("type", "host_bandwidth_down", "host_bandwidth_up")
        if kind == "switch":
            self.mapping(raw, path, ("type",))
            return TopologySpec("switch", None, (Place("switch", 0, 1.0, False),), "1 Gbit", "1 Gbit", True)
        if kind == "gml":
            m = self.mapping(raw, path, common + ("file", "use_shortest_path"), required=("file",))
            return self.gml_topology(m, path)
        if kind == "regions":
            m = self.mapping(raw, path, ("type", "regions", "links"), required=("regions",))
            return self.regions_topology(m, path)
        return None

    def gml_topology(self, m: dict[str, Any] | None, path: Path) -> TopologySpec | None:
        file = self.get(m, path, "file", _string)
        down = self.get(m, path, "host_bandwidth_down", _bandwidth, "1 Gbit")
        up = self.get(m, path, "host_bandwidth_up", _bandwidth, "1 Gbit")
        shortest = self.get(m, path, "use_shortest_path", _bool, True)
        if file is None:
            return None
        full = os.path.normpath(os.path.join(self.base, file))
        try:
            if full.endswith(".xz"):
                with lzma.open(full, "rt", encoding="utf-8") as f:
                    text = f.read()
            else:
                with open(full, encoding="utf-8") as f:
                    text = f.read()
        except (OSError, lzma.LZMAError, ValueError) as e:  # ValueError: a NUL in the name, not UTF-8
            self.fail(path + ("file",), f"cannot read the GML file {full}: {getattr(e, 'strerror', None) or e}")
            return None
        try:
            items = topology.parse_gml(text)
            summary = topology.check_graph(items)
        except topology.GmlError as e:
            self.fail(path + ("file",), f"{full}: {e}")
            return None
        if shortest is False and not summary.complete:
            self.fail(path + ("use_shortest_path",), "false needs a complete graph (an edge between every "
                                                     "pair of nodes, self-loops included)")
        places = tuple(Place(str(n), n, 1.0, n not in summary.nodes_with_bandwidth) for n in summary.node_ids)
        return TopologySpec("gml", topology.dump_gml(items), places, down, up, bool(shortest))

    def regions_topology(self, m: dict[str, Any] | None, path: Path) -> TopologySpec | None:
        if m is None:
            return None
        problems_before = len(self.problems)
        rpath = path + ("regions",)
        items = m.get("regions")
        if not isinstance(items, list) or not items:
            self.fail(rpath, "must be a non-empty list of regions (- name: ..., latency: ...)")
            return None
        regions: list[Region] = []
        for i, item in enumerate(items):
            p = rpath + (i,)
            r = self.mapping(item, p, ("name", "bandwidth_down", "bandwidth_up", "latency", "packet_loss",
                                       "weight"), required=("name",))
            name = self.agent_id(r["name"], p + ("name",)) if r and "name" in r else None
            if name is not None and any(x.name == name for x in regions):
                self.fail(p + ("name",), f"duplicate region name {name!r}")
                name = None
            region = Region(
                name=name,  # type: ignore[arg-type]
                bandwidth_down=self.get(r, p, "bandwidth_down", _bandwidth, "1 Gbit"),
                bandwidth_up=self.get(r, p, "bandwidth_up", _bandwidth, "1 Gbit"),
                latency_s=self.get(r, p, "latency", _time(), 0.001),
                packet_loss=self.get(r, p, "packet_loss", _number(ge=0, le=1), 0.0),
                weight=self.get(r, p, "weight", _number(ge=0), 1.0))
            if name is not None:
                regions.append(region)
        links = self.links(m, path, {r.name for r in regions})
        if len(regions) != len(items) or links is None:
            return None
        if all(r.weight == 0 for r in regions):
            self.fail(rpath, "every region has weight 0; at least one must take hosts")
        names = [r.name for r in regions]
        adjacent = {n: set() for n in names}
        for link in links:
            adjacent[link.a].add(link.b)
            adjacent[link.b].add(link.a)
        seen, todo = {names[0]}, [names[0]]
        while todo:
            for nxt in adjacent[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        cut = [n for n in names if n not in seen]
        if cut:
            self.fail(path + ("links",), f"regions {', '.join(cut)} cannot be reached from {names[0]}: "
                                         "add links so that the regions form one connected graph")
        if len(self.problems) > problems_before:
            return None
        places = tuple(Place(r.name, i, r.weight, False) for i, r in enumerate(regions))
        return TopologySpec("regions", topology.regions_gml(tuple(regions), tuple(links)), places,
                            "1 Gbit", "1 Gbit", True)

    def links(self, m: dict[str, Any], path: Path, names: set[str]) -> list[Link] | None:
        lpath = path + ("links",)
        items = m.get("links") or []
        if not isinstance(items, list):
            self.fail(lpath, f"must be a list of links (- between: [a, b], latency: ...), got {_type_name(items)}")
            return None
        links: list[Link] = []
        seen: set[frozenset[str]] = set()
        ok = True
        for i, item in enumerate(items):
            p = lpath + (i,)
            lm = self.mapping(item, p, ("between", "latency", "packet_loss"), required=("between", "latency"))
            latency = self.get(lm, p, "latency", _time())
            loss = self.get(lm, p, "packet_loss", _number(ge=0, le=1), 0.0)
            between = (lm or {}).get("between")
            if lm is not None and "between" in lm and not (
                    isinstance(between, list) and len(between) == 2 and all(isinstance(b, str) for b in between)):
                self.fail(p + ("between",), f"must be a list of two region names, got {between!r}")
                between = None
            elif isinstance(between, list):
                for j, b in enumerate(between):
                    if b not in names:
                        self.fail(p + ("between", j), f"no region {b!r}{_suggest(b, names)}")
                        between = None
                        break
            if isinstance(between, list):
                if between[0] == between[1]:
                    self.fail(p + ("between",), "a region's internal latency is its own 'latency' key, not a link")
                    between = None
                elif frozenset(between) in seen:
                    self.fail(p + ("between",), f"{between[0]} and {between[1]} are linked twice")
                    between = None
            if between is None or latency is None or loss is None:
                ok = False
                continue
            seen.add(frozenset(between))
            links.append(Link(between[0], between[1], latency, loss))
        return links if ok else None

    def monero(self, root: dict[str, Any]) -> MoneroSpec:
        path: Path = ("monero",)
        m = self.section(root, (), "monero", ("monerod", "wallet_rpc", "monerod_args", "wallet_args", "launch"))
        monerod = self.executable(self.get(m, path, "monerod", _string, "/usr/bin/monerod"), path + ("monerod",))
        wallet = self.executable(self.get(m, path, "wallet_rpc", _string, "/usr/bin/monero-wallet-rpc"),
                                 path + ("wallet_rpc",))
        monerod_args = self.get(m, path, "monerod_args", _string_list, ())
        wallet_args = self.get(m, path, "wallet_args", _string_list, ())
        for key, args, owned in (("monerod_args", monerod_args, _managed_flags("monerod")),
                                 ("wallet_args", wallet_args, _managed_flags("wallet"))):
            for i, arg in enumerate(args or ()):
                flag = arg.split("=", 1)[0]
                if flag in owned:
                    self.fail(path + (key, i), f"{flag} is set by monerosim-actors for every host; remove it")
                elif _LISTEN_FLAG.search(flag):
                    self.fail(path + (key, i), f"{flag} would open a socket on an address monerosim-actors does "
                                               "not choose (every socket binds to its host's own IPv4 address); "
                                               "remove it")
        return MoneroSpec(monerod, wallet, monerod_args, wallet_args,  # type: ignore[arg-type]
                          self.get(m, path, "launch", _choice(*get_args(LaunchMode)), "runtime"))

    def shadow(self, root: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bool]:
        """Shadow's ``general``, ``experimental`` and ``host_option_defaults``, checked, and whether
        processes preload the compatibility shim."""
        path: Path = ("shadow",)
        m = self.section(root, (), "shadow", ("general", "experimental", "host_option_defaults", "compat_shim"))
        compat_shim = self.get(m, path, "compat_shim", _bool, True)
        general = self.section(m, path, "general", SHADOW_GENERAL | set(SHADOW_GENERAL_OWNED)) or {}
        gpath = path + ("general",)
        for key, why in SHADOW_GENERAL_OWNED.items():
            if key in general:
                self.fail(gpath + (key,), f"is set by gen: {why}")
        if general.get("model_unblocked_syscall_latency", True) is not True:
            self.fail(gpath + ("model_unblocked_syscall_latency",),
                      "must stay true: monerod never finishes starting without it")
        self.get(general, gpath, "parallelism", _number(ge=0, integer=True), 0)
        self.get(general, gpath, "log_level", _choice(*SHADOW_LOG_LEVELS), "info")
        self.get(general, gpath, "progress", _bool, False)
        for key in ("bootstrap_end_time", "heartbeat_interval"):
            if general.get(key) is not None:
                self.get(general, gpath, key, _time(inclusive=True), 0)
        experimental = self.section(m, path, "experimental", SHADOW_EXPERIMENTAL) or {}
        if experimental.get("use_memory_manager", False) is not False:
            self.fail(path + ("experimental", "use_memory_manager"),
                      "must stay false: with it Shadow disables fork, and hosts start monerod")
        host_options = self.section(m, path, "host_option_defaults", SHADOW_HOST_OPTIONS) or {}
        hpath = path + ("host_option_defaults",)
        if "log_level" in host_options:
            self.get(host_options, hpath, "log_level", _choice(*SHADOW_LOG_LEVELS), "info")
        if "pcap_enabled" in host_options:
            self.get(host_options, hpath, "pcap_enabled", _bool, False)
        if "pcap_capture_size" in host_options:
            self.get(host_options, hpath, "pcap_capture_size", _number(ge=1, integer=True), 65535)
        return ({k: v for k, v in general.items() if k not in SHADOW_GENERAL_OWNED}, dict(experimental),
                dict(host_options), compat_shim)

    def host_names(self, users: UsersSpec | None, markets: MarketplacesSpec | None,
                   public: PublicNodesSpec | None, pools: list[PoolSpec], custom: list[CustomRoleSpec]) -> None:
        """Every agent's host name valid and distinct (from each other and from the services)."""
        counts = [users.count if users else None, markets.count if markets else None,
                  public.count if public else None, len(pools), *(role.count for role in custom)]
        total = 2 + sum(c for c in counts if c)
        if total > MAX_HOSTS:
            self.fail(("network", "agents"), f"{total} hosts in all (the services included); at most "
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
                    self.fail(path, f"host name {name!r} is longer than {_MAX_LABEL} characters")
                    break
                if name in taken:
                    self.fail(path, f"{agent_id!r} becomes host name {name!r}, which {taken[name]} already has")
                    break
                taken[name] = who


def _managed_flags(program: str) -> frozenset[str]:
    """The flags monero_args sets itself, found by building a command line for a stand-in host."""
    from monerosim_actors.plan import monero_args
    from monerosim_actors.plan.model import HostPlan, MonerodPlan, WalletPlan

    host = HostPlan(name="h", agent_id="h", role="r", role_class="m:C", ip="11.0.0.1", network_node_id=0,
                    start_time_s=0.0, seed=0, params={},
                    monerod=MonerodPlan(1, 2, 3, 4, 1, ("11.0.0.2:1",)),
                    wallet=WalletPlan(5, "11.0.0.1:2"), bus_port=None, processes=())
    argv = (monero_args.monerod_argv("monerod", host, "/d") if program == "monerod"
            else monero_args.wallet_argv("wallet", host, "/d"))
    managed = frozenset(a for a in argv if a.startswith("--") and a != "--add-exclusive-node")
    return managed | {"--untrusted-daemon"} if program != "monerod" else managed
