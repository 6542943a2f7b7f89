"""The roles a scenario may name, and ``network.agents.custom``: user-defined roles.

A custom role's ``class`` is ``package.module:Class`` or the name of a role registered under the
``monerosim_actors.roles`` entry point group (the built-in roles are registered there too). Only its
module is looked for here; the class is imported on the hosts, which may run another Python.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from monerosim_actors.scenario.agents import NODE_KEYS, read_count, read_node_choice
from monerosim_actors.scenario.checks import Checker, boolean, number, string, string_list, suggest, type_name
from monerosim_actors.scenario.model import CustomRoleSpec, TopologySpec
from monerosim_actors.scenario.network import read_region
from monerosim_actors.scenario.source import Path

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
SERVICE_ROLES = ("block_controller", "marketplace_directory")
"""The coordination services: every host connects to both at start."""
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
"""``package.module:Class`` (``Class`` may be dotted: a nested class)."""


@functools.cache
def role_classes() -> dict[str, str]:
    """Role name -> ``module:Class``: the built-in roles and every ``monerosim_actors.roles`` entry point.

    Read once per process: scanning the installed distributions takes ~80 ms (more on a busy disk),
    and the scenario fuzz tests load thousands of scenarios in one process. Do not mutate the result.
    """
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ROLES_GROUP)}
    return {**BUILTIN_ROLE_CLASSES, **found}


RoleConfigCheck = Callable[[str, dict[str, Any]], list[tuple[tuple[str, ...], str]]]
"""``(module:Class, config) -> [(key path under config, problem)]``: a custom role's ``config`` read
against its class (``monerosim_actors.role.params.check_role_config``, passed in by the commands: the
scenario reader sits below the roles and never imports them). Raises ``LookupError`` saying why when
the class cannot be imported."""


def read_custom_roles(chk: Checker, agents: dict[str, Any] | None, topo: TopologySpec | None,
                      role_config: RoleConfigCheck | None = None) -> list[CustomRoleSpec]:
    """``network.agents.custom``: each role's class found, its programs consistent, its name free,
    and (with ``role_config``) its ``config`` one the class can take."""
    if agents is None or agents.get("custom") is None:
        return []
    path: Path = ("network", "agents", "custom")
    items = agents["custom"]
    if not isinstance(items, list):
        chk.fail(path, f"must be a list of roles (- name: ..., class: ..., count: ...), got "
                       f"{type_name(items)}")
        return []
    entry_points = role_classes()
    roles = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        p = path + (i,)
        m = chk.mapping(item, p, ("name", "class", "count", "monerod", "wallet", "config", "region",
                                  "talks_to", "wallet_initial_balance", *NODE_KEYS), required=("name", "class", "count"))
        if m is None:
            continue
        name = chk.agent_id(m["name"], p + ("name",)) if "name" in m else None
        if name is not None:
            if name in BUILTIN_ROLES:
                chk.fail(p + ("name",), f"{name!r} is a built-in role; give yours another name "
                                        f"(its class may still be {name!r})")
            elif name in seen:
                chk.fail(p + ("name",), f"duplicate custom role name {name!r}")
            seen.add(name)
        role_class = _role_class(chk, m, p, entry_points)
        node = read_node_choice(chk, m, p)
        monerod = chk.get(m, p, "monerod", boolean, not node.remote)
        wallet = chk.get(m, p, "wallet", boolean, monerod is not False or node.remote)
        if node.remote and monerod:
            chk.fail(p + ("monerod",), "a host with node: remote runs no monerod of its own; "
                                       "remove monerod: true or set node: own")
        elif node.remote and wallet is False:
            chk.fail(p + ("wallet",), "node: remote gives the host's wallet a public node; "
                                      "remove wallet: false or node: remote")
        elif wallet and monerod is False and not node.remote:
            chk.fail(p + ("wallet",), "a wallet needs a monerod: set monerod: true, node: remote "
                                      "(a public node's), or wallet: false")
        funds = chk.get(m, p, "wallet_initial_balance", number(ge=0), 0.0)
        if funds and wallet is False:
            chk.fail(p + ("wallet_initial_balance",), "the bootstrap pays into the host's wallet, but this role "
                                                      "runs none: remove wallet: false or the balance")
        cfg = m.get("config") or {}
        if not isinstance(cfg, dict):
            chk.fail(p + ("config",), f"must be a mapping, got {type_name(cfg)}")
        elif role_config is not None and role_class is not None:
            try:
                for key_path, problem in role_config(role_class, cfg):
                    chk.fail(p + ("config", *key_path), problem)
            except LookupError as e:
                chk.fail(p + ("class",), str(e))
        roles.append(CustomRoleSpec(name, role_class, read_count(chk, m, p), monerod, wallet,  # type: ignore[arg-type]
                                    dict(cfg) if isinstance(cfg, dict) else {},
                                    read_region(chk, m, p, topo), node,
                                    chk.get(m, p, "talks_to", string_list, ()) or (), funds or 0.0))
    return roles


def check_talks_to(chk: Checker, custom: list[CustomRoleSpec], present: dict[str, int]) -> None:
    """Each custom role's ``talks_to`` names roles of this scenario that have hosts.

    Args:
        present: role name -> how many hosts play it (built-in roles and custom ones).
    """
    for i, role in enumerate(custom):
        for j, target in enumerate(role.talks_to):
            path: Path = ("network", "agents", "custom", i, "talks_to", j)
            if target in SERVICE_ROLES:
                chk.fail(path, f"{target!r} is a coordination service, which every host reaches already "
                               f"(self.service_host({target!r})); remove it")
            elif target not in present:
                chk.fail(path, f"no role {target!r} in this scenario (roles: {', '.join(sorted(present))})"
                               f"{suggest(target, present)}")
            elif not present[target]:
                chk.fail(path, f"role {target!r} has no hosts (count 0): nothing to talk to")


def _role_class(chk: Checker, m: dict[str, Any], path: Path, entry_points: dict[str, str]) -> str | None:
    """The entry's ``class`` as ``module:Class``: an entry point's name resolved, else a path whose module
    this Python can find (it is imported only on the hosts)."""
    value = chk.get(m, path, "class", string)
    if value is None:
        return None
    if value in entry_points:
        return entry_points[value]
    if not _CLASS_PATH.fullmatch(value):
        chk.fail(path + ("class",), f"{value!r} is neither 'package.module:Class' nor a registered role "
                                    f"({', '.join(sorted(entry_points))}){suggest(value, entry_points)}")
        return None
    module = value.split(":", 1)[0]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        chk.fail(path + ("class",), f"module {module!r} cannot be found by {sys.executable}; install it "
                                    "or put it on PYTHONPATH")
        return None
    return value


def role_python_path(custom: list[CustomRoleSpec], environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The folders of ``PYTHONPATH`` (absolute, in its order) that hold the top-level package or
    module of a custom role's class: what the hosts need on theirs to import it too."""
    folders = [os.path.abspath(f) for f in (environ if environ is not None else os.environ).get(
        "PYTHONPATH", "").split(os.pathsep) if f]
    tops = {role.role_class.split(":", 1)[0].split(".", 1)[0] for role in custom if role.role_class}
    return tuple(dict.fromkeys(
        folder for folder in folders
        if any(os.path.isdir(os.path.join(folder, top)) or os.path.isfile(os.path.join(folder, f"{top}.py"))
               for top in tops)))

