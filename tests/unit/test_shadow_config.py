"""Every generated shadow.yaml follows SHADOW_NOTES.md, checked here and by the independent checker.

The checks below restate SHADOW_NOTES.md: known keys only (Shadow rejects unknown fields), hostname(7)
host names, unique non-loopback addresses, absolute paths that exist, stop/shutdown times in order,
and a GML graph that is connected, has a self-loop on every node and one item per line. The
independent checker (``../shared/tools/shadow_check.py`` from the repository root, where CI has it)
runs on the same outputs when present.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monerosim_actors import defaults
from monerosim_actors.shadow.write import write_output
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.shadow_options import SHADOW_EXPERIMENTAL, SHADOW_GENERAL
from monerosim_actors.shadow.config import dump_yaml
from monerosim_actors.scenario.topology import check_graph, parse_gml
from monerosim_actors.scenario.units import parse_time
from tests.unit.scenario_helpers import base_doc, load_doc

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
CHECKER = REPO.parent / "shared" / "tools" / "shadow_check.py"

TOP = {"general", "network", "experimental", "host_option_defaults", "hosts"}
GENERAL = SHADOW_GENERAL | {"stop_time", "seed", "data_directory"}
HOST = {"network_node_id", "processes", "ip_addr", "bandwidth_down", "bandwidth_up", "host_options"}
PROCESS = {"path", "args", "environment", "start_time", "shutdown_time", "shutdown_signal", "expected_final_state"}
LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@pytest.fixture(scope="module", params=CONFIGS, ids=[c.stem for c in CONFIGS])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / request.param.stem
    write_output(build_plan(load_scenario(request.param), out_dir=str(out)), str(out))
    return out


def _seconds(value: Any) -> float:
    return parse_time(value)


def test_follows_shadow_notes(generated: Path) -> None:
    cfg = yaml.safe_load((generated / defaults.SHADOW_FILE).read_text())
    assert set(cfg) <= TOP and {"general", "network", "hosts"} <= set(cfg)
    general = cfg["general"]
    assert set(general) <= GENERAL
    assert general["model_unblocked_syscall_latency"] is True
    assert general["data_directory"] == str(generated / defaults.DATA_DIR)
    assert not (generated / defaults.DATA_DIR).exists(), "Shadow refuses an existing data directory"
    assert set(cfg["experimental"]) <= SHADOW_EXPERIMENTAL and cfg["experimental"]["use_memory_manager"] is False
    stop = _seconds(general["stop_time"])
    nodes = _graph_nodes(cfg["network"])
    ips: set[ipaddress.IPv4Address] = set()
    for name, host in cfg["hosts"].items():
        assert LABEL.match(name), name
        assert set(host) <= HOST
        assert host["network_node_id"] in nodes
        ip = ipaddress.IPv4Address(host["ip_addr"])
        assert not (ip.is_loopback or ip.is_multicast or ip.is_unspecified) and ip not in ips
        ips.add(ip)
        if not nodes[host["network_node_id"]]:
            assert host["bandwidth_down"] and host["bandwidth_up"]
        for proc in host["processes"]:
            assert set(proc) <= PROCESS
            assert os.path.isabs(proc["path"]) and os.access(proc["path"], os.X_OK)
            assert isinstance(proc["args"], list) and all(isinstance(a, str) for a in proc["args"])
            for arg in proc["args"]:
                if arg.endswith(".json"):
                    assert os.path.isabs(arg) and os.path.isfile(arg)
            start = _seconds(proc["start_time"])
            assert start < stop
            if "shutdown_time" in proc:
                assert start < _seconds(proc["shutdown_time"]) < stop
                assert proc["shutdown_signal"] == "SIGTERM"
            else:
                assert proc["args"][:2] == ["-m", "monerosim_actors.runtime.host"], "only the runtime ends by itself"
            assert proc["expected_final_state"] == {"exited": 0}
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in proc.get("environment", {}).items())


def _graph_nodes(network: dict[str, Any]) -> dict[int, bool]:
    """Node id -> whether the node carries bandwidths (the switch does)."""
    graph = network["graph"]
    if graph["type"] == "1_gbit_switch":
        return {0: True}
    assert graph["type"] == "gml" and set(graph) == {"type", "file"}
    path = graph["file"]["path"]
    assert os.path.isabs(path) and os.path.isfile(path)
    text = Path(path).read_text()
    for line in text.splitlines():
        stripped = line.strip()
        assert stripped == "]" or re.match(r'^\w+ (\[|"[^"]*"|[^\s"\[\]]+)$', stripped), line
    summary = check_graph(parse_gml(text))
    return {n: n in summary.nodes_with_bandwidth for n in summary.node_ids}


def test_independent_checker_accepts_it(generated: Path) -> None:
    if not CHECKER.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKER} is missing")
        pytest.skip(f"{CHECKER} is not here")
    result = subprocess.run([sys.executable, str(CHECKER), str(generated / defaults.SHADOW_FILE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


def test_host_option_defaults_are_passed_to_shadow(tmp_path: Path) -> None:
    """Packet capture on every host, say, to study the coordination traffic on the wire."""
    doc = base_doc()
    doc["shadow"] = {"host_option_defaults": {"pcap_enabled": True, "pcap_capture_size": 200, "log_level": "debug"}}
    out = tmp_path / "out"
    write_output(build_plan(load_doc(tmp_path, doc), out_dir=str(out)), str(out))
    cfg = yaml.safe_load((out / defaults.SHADOW_FILE).read_text())
    assert cfg["host_option_defaults"] == {"log_level": "debug", "pcap_capture_size": 200, "pcap_enabled": True}
    if CHECKER.exists():
        result = subprocess.run([sys.executable, str(CHECKER), str(out / defaults.SHADOW_FILE)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_launch_shadow_stops_wallet_then_monerod_in_the_grace_period(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = build_plan(load_scenario(REPO / "configs" / "gml_example.yaml"), out_dir=str(out))
    write_output(plan, str(out))
    cfg = yaml.safe_load((out / defaults.SHADOW_FILE).read_text())
    procs = cfg["hosts"]["user-0"]["processes"]
    assert [p["path"] for p in procs] == [plan.binaries.python, plan.binaries.monerod, plan.binaries.wallet_rpc]
    wallet_stop, monerod_stop = _seconds(procs[2]["shutdown_time"]), _seconds(procs[1]["shutdown_time"])
    assert plan.duration_s < wallet_stop < monerod_stop < plan.stop_time_s


@pytest.mark.parametrize("value", [
    {"a": "plain", "b": "needs: quoting", "c": "true", "d": "1.5", "e": "", "f": "-5", "g": "--flag",
     "h": "tcp://1.2.3.4:5", "i": "ünïcode", "j": "a #hash", "k": "yes", "l": "~", "m": "1 ms", "n": "x\ny"},
    {"nums": [1, 0, -3, 1.5, 1e-05, 2.0e20, True, False, None], "empty": {}, "none": []},
    {"nested": [{"a": [1, {"b": [2, 3]}], "c": {}}, [4, [5]], {"d": {"e": "f"}}]},
    {"0": "numeric key", "null": 1, "key with space": 2, "-dash": 3},
])
def test_yaml_emitter_round_trips(value: Any) -> None:
    assert yaml.safe_load(dump_yaml(value)) == value
