"""Host addresses: the sequence the planner hands out, and moving a plan onto other addresses.

``gen`` lays a plan out on Shadow's simulated network (11.0.0.1 upwards). The local backend cannot
use those addresses on this machine, so it places the same plan on loopback at run time, from
``run --first-address`` upwards: a run-time choice, like the time scale, that no generated file
holds. :class:`Relocation` is that move; the local backend applies it to the plan (to start the
processes Shadow would start, and to check its addresses) and hands it to every host runtime in
the environment variable :data:`RELOCATION_ENV`, and the runtime applies it to its host config
before anything reads an address.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from monerosim_actors.plan.model import HostConfig, HostPlan, Plan, ProcessPlan, ServiceAddress

FIRST_ADDRESS: dict[str, str] = {"shadow": "11.0.0.1", "loopback": "127.10.0.1"}
"""Hosts are addressed upwards from here in plan order (never 127.0.0.1 for loopback)."""
RELOCATION_ENV = "MONEROSIM_RELOCATION"
"""``FROM>TO``, set by the local backend on the host runtimes of a plan it moved; unset otherwise."""

_USABLE_PER_BLOCK = 254
"""x.y.z.1 to x.y.z.254: the planner never hands out x.y.z.0 or x.y.z.255."""
_ADDRESS_ARG = re.compile(r"^(?P<scheme>tcp://)?(?P<ip>\d{1,3}(?:\.\d{1,3}){3})(?P<port>:\d+)?$")
"""An argument that is an address: ``IP``, ``IP:PORT`` or ``tcp://IP:PORT`` (monerod's and the
wallet's command lines)."""


def addresses(first: str, count: int) -> Iterator[str]:
    """``count`` addresses upwards from ``first``, skipping x.y.z.0 and x.y.z.255."""
    start = _rank(int(ipaddress.IPv4Address(first)))
    for n in range(start, start + count):
        yield _address(n)


def _rank(value: int) -> int:
    """How many usable addresses lie below ``value`` (the position of a usable one)."""
    block, low = divmod(value, 256)
    return block * _USABLE_PER_BLOCK + max(0, min(low, 255) - 1)


def _address(rank: int) -> str:
    block, low = divmod(rank, _USABLE_PER_BLOCK)
    return str(ipaddress.IPv4Address(block * 256 + low + 1))


@dataclass(frozen=True)
class Relocation:
    """The n-th usable address upwards from ``source`` becomes the n-th upwards from ``target``;
    other addresses stay as they are."""

    source: str
    """The plan's first address (its first host's)."""
    target: str

    def __post_init__(self) -> None:
        for address in (self.source, self.target):
            ipaddress.IPv4Address(address)  # ValueError for anything else

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Relocation | None:
        """The relocation the local backend gave this runtime, or None.

        Raises:
            ValueError: the variable is not ``FROM>TO`` with two IPv4 addresses.
        """
        text = environ.get(RELOCATION_ENV)
        if text is None:
            return None
        source, sep, target = text.partition(">")
        if not sep:
            raise ValueError(f"{RELOCATION_ENV}={text!r} is not FROM>TO")
        return cls(source.strip(), target.strip())

    def to_environ(self) -> dict[str, str]:
        return {RELOCATION_ENV: f"{self.source}>{self.target}"}

    def ip(self, address: str) -> str:
        value = int(ipaddress.IPv4Address(address))
        offset = _rank(value) - _rank(int(ipaddress.IPv4Address(self.source)))
        if offset < 0 or value & 0xFF in (0, 0xFF):
            return address
        return _address(_rank(int(ipaddress.IPv4Address(self.target))) + offset)

    def arg(self, text: str) -> str:
        """A command-line argument, moved if it is an address (``IP``, ``IP:PORT``, ``tcp://IP:PORT``)."""
        m = _ADDRESS_ARG.match(text)
        if m is None:
            return text
        return f"{m['scheme'] or ''}{self.ip(m['ip'])}{m['port'] or ''}"

    def host(self, host: HostPlan) -> HostPlan:
        return dataclasses.replace(
            host, ip=self.ip(host.ip),
            monerod=host.monerod and dataclasses.replace(
                host.monerod, peers=tuple(self.arg(p) for p in host.monerod.peers)),
            wallet=host.wallet and dataclasses.replace(
                host.wallet, daemon_address=self.arg(host.wallet.daemon_address)),
            node=host.node and dataclasses.replace(host.node, ip=self.ip(host.node.ip)),
            processes=tuple(self._process(p) for p in host.processes))

    def _process(self, process: ProcessPlan) -> ProcessPlan:
        return dataclasses.replace(process, args=tuple(self.arg(a) for a in process.args))

    def _services(self, services: dict[str, ServiceAddress]) -> dict[str, ServiceAddress]:
        return {name: self._bus(s) for name, s in services.items()}

    def _bus(self, address: ServiceAddress) -> ServiceAddress:
        return dataclasses.replace(address, ip=self.ip(address.ip))

    def config(self, config: HostConfig) -> HostConfig:
        return dataclasses.replace(config, host=self.host(config.host), services=self._services(config.services),
                                   contacts={role: tuple(self._bus(a) for a in addresses)
                                             for role, addresses in config.contacts.items()})

    def plan(self, plan: Plan) -> Plan:
        """The plan on the new addresses; on loopback its ``addressing`` says so."""
        loopback = ipaddress.IPv4Address(self.target).is_loopback
        return dataclasses.replace(plan, hosts=tuple(self.host(h) for h in plan.hosts),
                                   services=self._services(plan.services),
                                   addressing="loopback" if loopback else plan.addressing)
