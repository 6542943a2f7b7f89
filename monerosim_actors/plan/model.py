"""The plan: every host of a simulation, resolved to plain data that both backends consume.

The planner turns a validated scenario into a :class:`Plan`; the generator writes it as
``OUT/plan.json`` and derives one :class:`HostConfig` per host (``OUT/hosts/HOST.json``), which is all
that host's runtime reads. The Shadow backend runs ``shadow.yaml`` written from the plan; the local
backend starts the same processes itself. Nothing in here does I/O beyond (de)serialising JSON, so
the plan is the single contract between the stages.

Times in the plan are scenario seconds (before any ``time_scale``); amounts are atomic units
(1 XMR = 10**12).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from monerosim_actors.vocabulary import Addressing, BlockScheduleKind, LaunchMode, RandomxMode, TopologyKind

PLAN_VERSION = 2
"""2: the host configs no longer hold the time scale, and the plan's addresses are always Shadow's
(the local backend moves them onto loopback when it runs). A folder of another version is generated
again, never run: its files would mean something else."""
ATOMIC_PER_XMR = 10**12


@dataclass(frozen=True)
class MonerodPlan:
    """One host's monerod: its ports (bound on the host's own address), peers and flags."""

    p2p_port: int
    rpc_port: int
    zmq_rpc_port: int
    zmq_pub_port: int
    """monerod publishes ``json-minimal-chain_main`` and ``json-minimal-txpool_add`` here."""
    difficulty: int
    peers: tuple[str, ...]
    """``IP:PORT`` of the nodes this one connects to, and the only ones it dials
    (``--add-exclusive-node``): without that, monerod also dials the public network's seed nodes."""
    extra_args: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    """What monerod runs with besides its host's environment: the RandomX sharing library preloaded
    and where its files are (:func:`monerosim_actors.randomx.share.monerod_environment`); an
    ``LD_PRELOAD`` here comes after the one it inherits."""


@dataclass(frozen=True)
class WalletPlan:
    """One host's monero-wallet-rpc, talking to the host's own monerod or to a public node's."""

    rpc_port: int
    daemon_address: str
    """``IP:PORT`` of the daemon RPC the wallet uses."""
    extra_args: tuple[str, ...] = ()
    trusted_daemon: bool = True
    """False for a wallet on a public node: ``--untrusted-daemon``, as a real light wallet runs."""
    environment: dict[str, str] = field(default_factory=dict)
    """What wallet-rpc runs with besides its host's environment: the wallet certificate library
    preloaded (:func:`monerosim_actors.wallet_cert.wallet_environment`)."""


@dataclass(frozen=True)
class NodeAccess:
    """The monerod a host uses (its own, or a public node's): whose it is and how to reach it."""

    host: str
    ip: str
    rpc_port: int
    zmq_pub_port: int

    @property
    def rpc_url(self) -> str:
        return f"http://{self.ip}:{self.rpc_port}"

    @property
    def chain_feed(self) -> str:
        """The node's ZMQ publisher, which the host's bus subscribes to for new blocks and transactions."""
        return f"tcp://{self.ip}:{self.zmq_pub_port}"


@dataclass(frozen=True)
class ProcessPlan:
    """A process the backend starts on a host (Shadow's ``hosts.H.processes[]`` entry)."""

    name: str
    """``runtime``, ``monerod`` or ``wallet``."""
    path: str
    args: tuple[str, ...]
    start_time_s: float
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceAddress:
    """Where a host's bus listens: its host and its ROUTER endpoint. Every host has the two
    coordination services' (:attr:`HostConfig.services`); a host whose role talks to other roles has
    theirs too (:attr:`HostConfig.contacts`)."""

    host: str
    ip: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.ip}:{self.port}"


@dataclass(frozen=True)
class HostPlan:
    """One simulated host: who it is, where it is, what it runs."""

    name: str
    """Valid hostname(7) label, e.g. ``user-0``; also the bus identity and the data folder name."""
    agent_id: str
    """The scenario's id for this participant, e.g. ``user_0`` or ``pool_alpha``."""
    role: str
    """Role name: ``regular_user``, ``marketplace``, ``mining_pool``, ``block_controller``,
    ``marketplace_directory`` or a user-defined role."""
    role_class: str
    """Import path of the class that plays the role, ``package.module:Class``."""
    ip: str
    network_node_id: int
    start_time_s: float
    seed: int
    """This host's seed, derived from the simulation seed and the host name."""
    params: dict[str, Any]
    """The role's parameters, defaults merged with the scenario's ``config``."""
    monerod: MonerodPlan | None
    wallet: WalletPlan | None
    bus_port: int | None
    """Port of the ROUTER socket when other hosts send to this one first: a coordination service, or
    a host of a role that some role ``talks_to``; else None (the host only answers on connections it
    opened itself)."""
    processes: tuple[ProcessPlan, ...]
    bandwidth_down: str | None = None
    bandwidth_up: str | None = None
    node: NodeAccess | None = None
    """The monerod the host's wallet, daemon client and chain feed use: its own, or (``node: remote``)
    a public node's; None for a host with neither."""
    talks_to: tuple[str, ...] = ()
    """The roles whose hosts this host's role may send to first (the scenario's ``talks_to``); their
    addresses are in its :attr:`HostConfig.contacts`."""

    @property
    def remote(self) -> bool:
        """The host has no monerod of its own but uses a public node's."""
        return self.node is not None and self.node.host != self.name


@dataclass(frozen=True)
class ConsensusPlan:
    block_time_s: float
    difficulty: int
    schedule: BlockScheduleKind = "exponential"


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of the programs every host runs."""

    python: str
    monerod: str
    wallet_rpc: str


@dataclass(frozen=True)
class NetworkPlan:
    kind: TopologyKind
    gml: str | None
    """The graph's GML text (written to ``OUT/network.gml``), None for Shadow's built-in switch."""
    use_shortest_path: bool = True


@dataclass(frozen=True)
class Plan:
    """The whole resolved simulation."""

    version: int
    scenario_path: str
    seed: int
    duration_s: float
    stop_time_s: float
    """Shadow's ``general.stop_time``: the duration plus a grace period for a clean shutdown."""
    launch_mode: LaunchMode
    addressing: Addressing
    consensus: ConsensusPlan
    binaries: Binaries
    services: dict[str, ServiceAddress]
    """``block_controller`` and ``marketplace_directory``."""
    network: NetworkPlan
    shadow_general: dict[str, Any]
    shadow_experimental: dict[str, Any]
    hosts: tuple[HostPlan, ...]
    """In start order."""
    shadow_host_option_defaults: dict[str, Any] = field(default_factory=dict)
    """Shadow's ``host_option_defaults`` (pcap capture, per-host log level); empty: Shadow's own."""
    shadow_compat_shim: bool = False
    """Every process in ``shadow.yaml`` preloads the compatibility shim gen copies into OUT
    (:data:`monerosim_actors.defaults.SHIM_FILE`); only for plans laid out for Shadow."""
    randomx: RandomxMode = "private"
    """``monero.randomx``: unless ``private``, every monerod preloads the RandomX library gen copies into
    OUT (:data:`monerosim_actors.defaults.RANDOMX_FILE`)."""
    randomx_files: tuple[str, ...] = ()
    """The shared RandomX files the run's monerods map (``cache``, and ``dataset`` when pools mine in
    fast mode): gen and run write them where they are missing."""
    message_modules: tuple[str, ...] = ()
    """The modules of every role class in the plan. Each host imports them all before its role
    starts, so it can decode every message type of the run, including a custom role's own."""

    def host(self, name: str) -> HostPlan:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def to_json(self) -> str:
        return dumps(self)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return from_dict(cls, json.loads(text))


@dataclass(frozen=True)
class HostConfig:
    """Everything one host's runtime reads (``OUT/hosts/HOST.json``), nothing more."""

    version: int
    host: HostPlan
    duration_s: float
    """The runtime stops itself this many scenario seconds after the simulation's start (the local
    backend's time scale, a run-time choice, is not in here: see :mod:`monerosim_actors.runtime.clock`)."""
    launch_mode: LaunchMode
    consensus: ConsensusPlan
    binaries: Binaries
    services: dict[str, ServiceAddress]
    message_modules: tuple[str, ...] = ()
    """:attr:`Plan.message_modules`."""
    contacts: dict[str, tuple[ServiceAddress, ...]] = field(default_factory=dict)
    """Role -> where the bus of each of that role's hosts listens (this host left out), for every role
    in :attr:`HostPlan.talks_to`, in plan order: the hosts the role may send to besides the services
    and the hosts that wrote to it."""

    def to_json(self) -> str:
        return dumps(self)

    @classmethod
    def from_json(cls, text: str) -> HostConfig:
        return from_dict(cls, json.loads(text))


def host_config(plan: Plan, host: HostPlan) -> HostConfig:
    """The config one host's runtime needs, cut from the plan."""
    return HostConfig(
        version=PLAN_VERSION,
        host=host,
        duration_s=plan.duration_s,
        launch_mode=plan.launch_mode,
        consensus=plan.consensus,
        binaries=plan.binaries,
        services=plan.services,
        message_modules=plan.message_modules,
        contacts={role: tuple(ServiceAddress(h.name, h.ip, h.bus_port) for h in plan.hosts
                              if h.role == role and h.name != host.name and h.bus_port is not None)
                  for role in host.talks_to},
    )


PlanFile = TypeVar("PlanFile", "Plan", "HostConfig")


def read_json_file(cls: type[PlanFile], path: str) -> PlanFile:
    """A :class:`Plan` or :class:`HostConfig` from the file ``gen`` wrote.

    Raises:
        ValueError: the file cannot be read, is not that shape, or is of another version; the
            message names the file and says what is wrong (the caller says what to do).
    """
    try:
        with open(path, encoding="utf-8") as f:
            obj = cls.from_json(f.read())
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} cannot be read as a {cls.__name__} ({type(e).__name__}: {e})") from None
    if obj.version != PLAN_VERSION:
        raise ValueError(f"{path} has version {obj.version}, this monerosim-actors reads {PLAN_VERSION}")
    return obj


def dumps(obj: Any) -> str:
    """Deterministic JSON for a plan dataclass: sorted keys, two-space indent, trailing newline."""
    return json.dumps(_plain(obj), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    """What ``dataclasses.asdict`` returns, several times faster (gen writes 10,000 host configs):
    no deep copies of leaves, and the field names of each class looked up once."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def from_dict(cls: Any, data: Any) -> Any:
    """Rebuild a (nested) plan dataclass from the plain data :func:`dumps` wrote."""
    return _convert(cls, data)


def _convert(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _convert(hints[f.name], value[f.name])
                     for f in dataclasses.fields(tp) if f.name in value})
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner, value)
    if origin is tuple:
        (inner, _) = typing.get_args(tp)
        return tuple(_convert(inner, v) for v in value)
    if origin is dict:
        _, inner = typing.get_args(tp)
        return {k: _convert(inner, v) for k, v in value.items()}
    return value
