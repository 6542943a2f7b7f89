"""The sweep file and its expansion: runs and their parameters, every problem at once with its line,
nothing written on refusal, the same files from the same sweep."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from monerosim_actors import cli
from monerosim_actors.errors import OutputError, ScenarioError
from monerosim_actors.sweep import expand, index
from monerosim_actors.sweep.spec import load_sweep, memory_mib, parse_key
from tests.unit.scenario_helpers import base_doc

GRID = {"network.consensus.block_time": [20, 40], "network.agents.regular_users.config.transaction_frequency": [0.3, 0.6]}


def write(tmp_path: Path, sweep: dict[str, Any], base: dict[str, Any] | None = None) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base or base_doc(), sort_keys=False))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"scenario": "base.yaml", **sweep}, sort_keys=False))
    return path


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with ``folder`` itself written as $DIR."""
    return {str(p.relative_to(folder)): p.read_bytes().replace(str(folder).encode(), b"$DIR")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_grid_with_seeds_becomes_one_run_per_point_and_seed(tmp_path: Path) -> None:
    path = write(tmp_path, {"seeds": [1, 2], "grid": GRID, "time_scale": 6})
    out = tmp_path / "sweep"
    assert cli.main(["sweep", str(path), "-o", str(out), "--expand-only"]) == 0
    sweep = index.read_index(out)
    assert [r.id for r in sweep.runs] == ["p00-s1", "p00-s2", "p01-s1", "p01-s2", "p02-s1", "p02-s2",
                                          "p03-s1", "p03-s2"]
    assert sweep.points[1] == ("p01", {"network.consensus.block_time": 20,
                                       "network.agents.regular_users.config.transaction_frequency": 0.6})
    assert len({r.first_address for r in sweep.runs}) == 8, "each run has addresses of its own"
    run = sweep.runs[7]
    scenario = yaml.safe_load((run.folder(out) / index.SCENARIO_FILE).read_text())
    assert scenario["network"]["consensus"]["block_time"] == 40
    assert scenario["network"]["agents"]["regular_users"]["config"]["transaction_frequency"] == 0.6
    assert scenario["simulation"]["seed"] == 2
    plan = json.loads((run.folder(out) / index.OUT_DIR / "plan.json").read_text())
    assert plan["seed"] == 2 and plan["hosts"][0]["ip"] == run.first_address
    assert (out / index.SWEEP_COPY).read_bytes() == path.read_bytes()


def test_the_same_sweep_file_gives_the_same_files(tmp_path: Path) -> None:
    path = write(tmp_path, {"seeds": [5, 6], "grid": GRID, "points": [{"network.peers.count": 1},
                                                                       {"network.peers.count": 2}]})
    first, second = tmp_path / "sweep-1", tmp_path / "sweep-2"
    expand.write(expand.expand_file(str(path), str(first)), str(first))
    expand.write(expand.expand_file(str(path), str(second)), str(second))
    assert tree(first) == tree(second)
    assert len(index.read_index(first).runs) == 16


def test_grid_points_are_combined_with_every_explicit_point(tmp_path: Path) -> None:
    path = write(tmp_path, {"seeds": [1], "grid": {"network.consensus.block_time": [20, 40]},
                            "points": [{"network.peers.count": 1, "network.consensus.difficulty": 2},
                                       {"network.consensus.difficulty": 3, "network.peers.count": 2}]})
    points = expand.points(load_sweep(path))
    assert [p.describe() for p in points] == [
        "network.consensus.block_time=20, network.peers.count=1, network.consensus.difficulty=2",
        "network.consensus.block_time=20, network.peers.count=2, network.consensus.difficulty=3",
        "network.consensus.block_time=40, network.peers.count=1, network.consensus.difficulty=2",
        "network.consensus.block_time=40, network.peers.count=2, network.consensus.difficulty=3"]


def test_a_value_in_a_list_is_set_by_its_index_and_missing_mappings_are_made(tmp_path: Path) -> None:
    base = base_doc()
    path = write(tmp_path, {"seeds": [1], "grid": {"network.agents.mining_pools[1].hashrate_share": [0.2],
                                                   "coordination.mine_timeout": [45]}}, base)
    run = expand.expand_file(str(path), str(tmp_path / "out")).runs[0]
    data = yaml.safe_load(run.scenario_text)
    assert data["network"]["agents"]["mining_pools"][1]["hashrate_share"] == 0.2
    assert data["coordination"] == {"mine_timeout": 45}


def test_relative_paths_of_the_base_scenario_stay_valid(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "monerod"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    base = base_doc()
    base["monero"]["monerod"] = "bin/monerod"
    path = write(tmp_path, {"seeds": [1]}, base)
    run = expand.expand_file(str(path), str(tmp_path / "out")).runs[0]
    assert yaml.safe_load(run.scenario_text)["monero"]["monerod"] == str(fake)


BAD = """\
scenario: base.yaml
seeds: [1, 1, -3]
grid:
  network.consensus.blok_time: [20, 40]
  network.consensus.block_time: [-5, 30]
  network.agents.mining_pools[5].hashrate_share: [0.5]
  simulation.seed: [3]
  network.agents.regular_users.config.amount_min: [0.5, 5]
points:
  - {network.peers.count: 0}
  - {network.peers.cnt: 2}
backend: locl
resources: {memory: lots, cors: 2}
"""


def test_every_problem_is_reported_at_once_with_its_line_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base_doc(), sort_keys=False))
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    f = str(path)
    assert err == [
        f"monerosim-actors sweep: {f}: 12 problems:",
        f"{f}:2: seeds[1]: seed 1 is given twice",
        f"{f}:2: seeds[2]: must be a whole number within 0..4294967295, got -3",
        f"{f}:4: network.consensus.blok_time: unknown key; did you mean 'block_time'?",
        f"{f}:5: network.consensus.block_time: must be > 0 s, got -5",
        f"{f}:6: network.agents.mining_pools[5].hashrate_share: cannot set item [5]: "
        "network.agents.mining_pools is a list of 2 in the base scenario",
        f"{f}:7: grid.simulation.seed: cannot be varied: vary it with 'seeds', which every point is run with",
        f"{f}:8: network.agents.regular_users.config.amount_min: must be <= amount_max (2), got 5",
        f"{f}:10: network.peers.count: must be >= 1, got 0",
        f"{f}:11: points[1]: gives network.peers.cnt, but the first point gives network.peers.count: every "
        "point must vary the same keys",
        f"{f}:12: backend: must be one of local, shadow, got 'locl'",
        f"{f}:13: resources.cors: unknown key; did you mean 'cores'?",
        f"{f}:13: resources.memory: must be 'auto', a number of MiB > 0, or a size like \"2 GiB\" or "
        "\"1500 MiB\", got 'lots'"]
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml", "base.yaml"]


def test_a_bad_base_scenario_is_reported_at_its_own_lines(tmp_path: Path) -> None:
    base = base_doc()
    base["simulation"]["duration"] = -1
    path = write(tmp_path, {"seeds": [1]}, base)
    with pytest.raises(ScenarioError) as e:
        expand.expand_file(str(path), str(tmp_path / "out"))
    assert [str(p) for p in e.value.problems] == [f"{tmp_path / 'base.yaml'}:2: simulation.duration: must be > 0 s, got -1"]


def test_a_folder_that_is_not_empty_is_refused_and_a_sweep_folder_points_at_resume(tmp_path: Path) -> None:
    path = write(tmp_path, {"seeds": [1]})
    out = tmp_path / "out"
    expansion = expand.expand_file(str(path), str(out))
    expand.write(expansion, str(out))
    with pytest.raises(OutputError, match=f"not empty: give another folder; run what is missing of it with --resume {out}"):
        expand.write(expansion, str(out))


@pytest.mark.parametrize("text, expected", [
    ("a.b", ("a", "b")), ("network.agents.mining_pools[1].hashrate_share",
                          ("network", "agents", "mining_pools", 1, "hashrate_share")), ("a[0][2]", ("a", 0, 2))])
def test_key_paths(text: str, expected: tuple[str | int, ...]) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["", "a..b", "a[x]", "a b", ".a", "a[1"])
def test_bad_key_paths(text: str) -> None:
    with pytest.raises(ValueError, match="is not a key path"):
        parse_key(text)


@pytest.mark.parametrize("value, mib", [(1500, 1500), ("2 GiB", 2048), ("1500 MiB", 1500), ("1 GB", 954)])
def test_memory_sizes(value: object, mib: int) -> None:
    assert memory_mib(value) == mib


def test_local_runs_move_the_second_byte_of_the_first_address_on(tmp_path: Path) -> None:
    path = write(tmp_path, {"seeds": [1, 2, 3], "first_address": "127.200.7.1"})
    runs = expand.expand_file(str(path), str(tmp_path / "out")).index.runs
    assert [r.first_address for r in runs] == ["127.200.7.1", "127.201.7.1", "127.202.7.1"]
    assert expand.local_address("127.250.0.1", 5) == "127.250.0.1"  # 5 ranges from 250 to 254: wraps


@pytest.mark.parametrize("value", ["127.0.0.1", "10.1.0.1", "127.241.0.1", "localhost", 127])
def test_a_first_address_outside_the_loopback_ranges_is_refused(tmp_path: Path, value: object) -> None:
    path = write(tmp_path, {"seeds": [1], "first_address": value})
    with pytest.raises(ScenarioError, match=r"first_address: must be a loopback address 127\.B\.C\.D"):
        expand.expand_file(str(path), str(tmp_path / "out"))
