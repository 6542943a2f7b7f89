"""The scenario as a YAML file: the line-keeping loader under it (values as the safe loader gives them,
plus lines), and what a user sees for a file that is not a scenario or has many problems at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from monerosim_actors.errors import ScenarioError
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.source import YamlSyntaxError, format_path, load_text

from scenario_helpers import EXE, base_doc, problems_of, write_doc


def test_values_and_lines() -> None:
    src = load_text("a:\n  b: 1\n  c: [x, 1.5, null, true]\n  d:\n    - e: 2\n5: five\n")
    assert src.data == {"a": {"b": 1, "c": ["x", 1.5, None, True], "d": [{"e": 2}]}, "5": "five"}
    assert src.lines[("a", "b")] == 2 and src.lines[("a", "d", 0, "e")] == 5 and src.lines[("5",)] == 6
    assert src.line(("a", "d", 0, "missing", "deeper")) == 5
    assert src.duplicates == []


def test_duplicate_keys_are_recorded_with_the_line_of_the_repeat() -> None:
    src = load_text("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert src.duplicates == [(("b", "c"), 4)]


@pytest.mark.parametrize(("text", "line"), [("a: [1\nb: 2\n", 2), ("a: !!python/name:os.system x\n", 1),
                                            ("a: !!python/tuple [1]\n", 1), ("a: !custom {}\n", 1)])
def test_unsafe_or_broken_yaml_is_refused_with_a_line(text: str, line: int) -> None:
    with pytest.raises(YamlSyntaxError) as e:
        load_text(text)
    assert e.value.line == line and str(e.value).startswith("not valid YAML")


def test_format_path() -> None:
    assert format_path(("network", "agents", "mining_pools", 1, "id")) == "network.agents.mining_pools[1].id"
    assert format_path(()) == "" and format_path((0, "a")) == "[0].a"


def test_every_problem_at_once_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "simulation:\n"
        "  duration: 600\n"
        "network:\n"
        "  agents:\n"
        "    regular_users:\n"
        "      count: -2\n"
        "    marketplaces:\n"
        "      count: 1\n"
        "    mining_pools:\n"
        "      - id: pool_alpha\n"
        "        hashrate_share: 0.7\n"
        "      - id: pool_beta\n"
        "        hashrate_share: -0.3\n"
        "  consensus:\n"
        "    blok_time: 60\n"
        f"monero: {{monerod: {EXE}, wallet_rpc: {EXE}}}\n")
    found = problems_of(path)
    rendered = [str(p) for p in found]
    assert f"{path}:6: network.agents.regular_users.count: must be >= 1, got -2" in rendered
    assert f"{path}:13: network.agents.mining_pools[1].hashrate_share: must be > 0, got -0.3" in rendered
    assert any(r.startswith(f"{path}:15: network.consensus.blok_time: unknown key; did you mean 'block_time'?")
               for r in rendered)
    assert len(found) == 3


def test_duplicate_yaml_key_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    text = write_doc(tmp_path, base_doc()).read_text() + "simulation:\n  duration: 60\n"
    path.write_text(text)
    (problem,) = problems_of(path)
    assert problem.path == "simulation" and "given twice" in problem.message
    assert problem.line == text.count("\n") - 1


@pytest.mark.parametrize(("text", "message", "line"), [
    ("simulation:\n  duration: [600\nnetwork: {}\n", "not valid YAML", 3),
    ("- a\n- b\n", "must be a mapping", 1),
    ("", "the scenario is empty", None),
    ("simulation: !!python/object/apply:os.system [ls]\n", "not valid YAML", 1),
], ids=["syntax", "list", "empty", "unsafe tag"])
def test_not_a_scenario(tmp_path: Path, text: str, message: str, line: int | None) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    (problem, *_) = problems_of(path)
    assert message in problem.message and problem.line == line


def test_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_scenario(tmp_path / "missing.yaml")


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "simulation: {duration: 600}\n"
        "network:\n"
        "  agents:\n"
        "    regular_users: {count: 2, config: &cfg {transaction_frequency: 0.3, amount_max: 1}}\n"
        "    marketplaces: {count: 1}\n"
        "    mining_pools:\n"
        "      - &pool {id: pool_a, hashrate_share: 0.5}\n"
        "      - {<<: *pool, id: pool_b}\n"
        "    custom:\n"
        "      - {name: x, class: 'json:loads', count: 1, config: *cfg}\n"
        f"monero: {{monerod: {EXE}, wallet_rpc: {EXE}}}\n")
    s = load_scenario(path)
    assert [(p.id, p.hashrate_share) for p in s.pools] == [("pool_a", 0.5), ("pool_b", 0.5)]
    assert s.custom[0].config == {"transaction_frequency": 0.3, "amount_max": 1}
    path.write_text(path.read_text().replace("{<<: *pool, id: pool_b}", "{<<: [1], id: pool_b}"))
    (problem,) = problems_of(path)
    assert "'<<' merges only mappings" in problem.message and problem.line == 8
