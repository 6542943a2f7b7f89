"""Helpers shared by the scenario, planner and generator tests: a small valid scenario to start from."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from monerosim_actors.errors import ScenarioError
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.model import Scenario

EXE = sys.executable
"""An executable that surely exists, standing in for monerod and the wallet in unit tests."""


def base_doc() -> dict[str, Any]:
    """A small valid scenario (as data): 2 users, 1 marketplace, 2 pools, stand-in binaries."""
    return copy.deepcopy({
        "simulation": {"duration": 600},
        "network": {
            "agents": {
                "regular_users": {"count": 2},
                "marketplaces": {"count": 1},
                "mining_pools": [{"id": "pool_a", "hashrate_share": 0.5},
                                 {"id": "pool_b", "hashrate_share": 0.5}],
            },
        },
        "monero": {"monerod": EXE, "wallet_rpc": EXE},
    })


def write_doc(tmp_path: Path, doc: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def load_doc(tmp_path: Path, doc: Any) -> Scenario:
    return load_scenario(write_doc(tmp_path, doc))


def problems_of(path: Path) -> list[Any]:
    """The problems load_scenario reports for a file (failing the test if it loads)."""
    try:
        load_scenario(path)
    except ScenarioError as e:
        return e.problems
    raise AssertionError(f"{path} loaded without problems")
