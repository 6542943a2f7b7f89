"""Plan -> ``shadow.yaml``: Shadow 3.x's configuration for the plan, following SHADOW_NOTES.md.

Choices (docs/shadow.md explains them to users):

- ``general.stop_time`` is the scenario's duration plus its grace period; ``data_directory`` is the
  absolute ``OUT/shadow.data``, so each host's data folder is known when the plan is made;
  ``model_unblocked_syscall_latency: true`` (monerod's start-up spins without it) and
  ``experimental.use_memory_manager: false`` (the runtime forks monerod).
- Every process preloads the compatibility shim that gen copies into OUT (``LD_PRELOAD``, unless
  the scenario sets ``shadow.compat_shim: false``): monerosim_actors/shadow/shim says why.
- The host runtime has no ``shutdown_time``: it ends itself at the scenario's end and exits 0, so
  its expected final state is ``{exited: 0}``.
- With ``launch: shadow``, Shadow starts monerod and the wallet itself and stops them with SIGTERM
  during the grace period (the wallet first, at a third of it; monerod at two thirds); both exit 0
  on SIGTERM.

The YAML is written by a small emitter of our own, not PyYAML's dumper: it is fast for 10,000
hosts and its output does not depend on whether libyaml is installed.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from monerosim_actors import defaults
from monerosim_actors.plan.model import HostPlan, Plan, ProcessPlan
from monerosim_actors.scenario.units import shadow_time

SHUTDOWN_SIGNAL = "SIGTERM"


def shadow_config(plan: Plan, out_dir: str) -> dict[str, Any]:
    """The configuration as plain data (what :func:`render` writes)."""
    general: dict[str, Any] = {
        "stop_time": shadow_time(plan.stop_time_s),
        "seed": plan.seed,
        "data_directory": os.path.join(out_dir, defaults.DATA_DIR),
        **{k: plan.shadow_general[k] for k in sorted(plan.shadow_general)},
    }
    if plan.network.kind == "switch":
        network: dict[str, Any] = {"graph": {"type": "1_gbit_switch"}}
    else:
        network = {"graph": {"type": "gml", "file": {"path": os.path.join(out_dir, defaults.GML_FILE)}}}
    if not plan.network.use_shortest_path:
        network["use_shortest_path"] = False
    config: dict[str, Any] = {
        "general": general,
        "experimental": {k: plan.shadow_experimental[k] for k in sorted(plan.shadow_experimental)},
        "network": network,
    }
    if plan.shadow_host_option_defaults:
        options = plan.shadow_host_option_defaults
        config["host_option_defaults"] = {k: options[k] for k in sorted(options)}
    shim = os.path.join(out_dir, defaults.SHIM_FILE) if plan.shadow_compat_shim else None
    config["hosts"] = {h.name: _host(plan, h, shim) for h in plan.hosts}
    return config


def render(plan: Plan, out_dir: str) -> str:
    """``shadow.yaml``'s text."""
    return dump_yaml(shadow_config(plan, out_dir))


def _host(plan: Plan, host: HostPlan, shim: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"network_node_id": host.network_node_id, "ip_addr": host.ip}
    if host.bandwidth_down is not None:
        entry["bandwidth_down"] = host.bandwidth_down
    if host.bandwidth_up is not None:
        entry["bandwidth_up"] = host.bandwidth_up
    entry["processes"] = [_process(plan, p, shim) for p in host.processes]
    return entry


def _process(plan: Plan, proc: ProcessPlan, shim: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": proc.path, "args": list(proc.args)}
    environment = dict(proc.environment)
    if shim:  # first: the shim answers calls every process makes from its first moment
        environment["LD_PRELOAD"] = " ".join(p for p in (shim, environment.get("LD_PRELOAD")) if p)
    if environment:
        entry["environment"] = {k: environment[k] for k in sorted(environment)}
    entry["start_time"] = shadow_time(proc.start_time_s)
    shutdown = shutdown_time_s(plan, proc)
    if shutdown is not None:
        entry["shutdown_time"] = shadow_time(shutdown)
        entry["shutdown_signal"] = SHUTDOWN_SIGNAL
    entry["expected_final_state"] = {"exited": 0}
    return entry


def shutdown_time_s(plan: Plan, proc: ProcessPlan) -> float | None:
    """When Shadow stops a process it started itself; None for the runtime, which ends on its own."""
    grace = plan.stop_time_s - plan.duration_s
    fraction = {"wallet": 1 / 3, "monerod": 2 / 3}.get(proc.name)
    if fraction is None:
        return None
    return round(plan.duration_s + grace * fraction, 3)


# --- a minimal block-style YAML emitter for str/int/float/bool/None, lists and mappings ---

_PLAIN = re.compile(r"^(?:[A-Za-z/]|-[-A-Za-z])[A-Za-z0-9/_.:@+=,-]*$")
_RESERVED = re.compile(r"^(?:y|n|yes|no|on|off|true|false|null|~)$", re.IGNORECASE)


def dump_yaml(data: Any) -> str:
    """Block-style YAML for plain data; strings are quoted unless YAML reads them back as the same."""
    lines: list[str] = []
    _emit(data, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if "." in text or "n" in text else text.replace("e", ".0e", 1)
    if isinstance(value, str):
        if _PLAIN.match(value) and not _RESERVED.match(value) and ": " not in value:
            return value
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            label = f"{pad}{_scalar(str(key))}:"
            if isinstance(item, (dict, list)) and item:
                lines.append(label)
                _emit(item, indent + 1, lines)
            else:
                lines.append(f"{label} {_empty_or_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                first = True
                for key, sub in item.items():
                    lead = f"{pad}- " if first else f"{pad}  "
                    first = False
                    label = f"{lead}{_scalar(str(key))}:"
                    if isinstance(sub, (dict, list)) and sub:
                        lines.append(label)
                        _emit(sub, indent + 2, lines)
                    else:
                        lines.append(f"{label} {_empty_or_scalar(sub)}")
            elif isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}-")
                _emit(item, indent + 1, lines)
            else:
                lines.append(f"{pad}- {_empty_or_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")


def _empty_or_scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)
