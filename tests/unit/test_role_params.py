"""A custom role's ``config`` is checked against its class by ``validate`` and ``gen`` (file, line,
key path, did-you-mean), by the same rules the actor applies when it starts
(:mod:`monerosim_actors.role.params`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monerosim_actors import cli
from monerosim_actors.actors.example_browser import Browser
from monerosim_actors.errors import ScenarioError
from monerosim_actors.role.params import check_role_config, param_problems
from monerosim_actors.scenario.load import load_scenario

SCENARIO = """\
simulation: {duration: 600}
network:
  agents:
    mining_pools: [{id: pool_a, hashrate_share: 1}]
    custom:
      - name: browser
        class: %s
        count: 2
        monerod: false
        wallet: false
        config:
%s
"""
BROWSER = "monerosim_actors.actors.example_browser:Browser"


def _problems(tmp_path: Path, config: str, role_class: str = BROWSER) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO % (role_class, config))
    try:
        load_scenario(path, role_config=check_role_config)
    except ScenarioError as e:
        return [f"{p.line}: {p.path}: {p.message}" for p in e.problems]
    return []


@pytest.mark.parametrize("config, expected", [
    ("          wait_time: {exponential: {mean: 30}}",
     "12: network.agents.custom[0].config.wait_time: exponential takes mean_s, not 'mean'; did you mean 'mean_s'?"),
    ("          task_weights: {brwse: 3}",
     "12: network.agents.custom[0].config.task_weights.brwse: Browser has no task 'brwse'; did you mean 'browse'?"),
    ("          task_weights: {browse: -1}", "a weight is a number >= 0, got -1"),
    ("          greting: hi", "12: network.agents.custom[0].config.greting: Browser has no setting 'greting'; "
                              "did you mean 'greeting'?"),
    ("          start_after_s: soon", "config.start_after_s: must be a number, got 'soon'"),
    ("          greeting: 3", "config.greeting: must be a string, got 3"),
])
def test_a_config_the_class_cannot_take_is_named_at_its_line(tmp_path: Path, config: str, expected: str) -> None:
    problems = _problems(tmp_path, config)
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_config_it_can_take_passes_and_extra_keys_reach_the_role(tmp_path: Path) -> None:
    assert _problems(tmp_path, "          wait_time: {between: [1, 5]}\n          greeting: hi\n"
                               "          my_own_knob: 7") == []


def test_a_class_that_cannot_be_imported_is_named_at_class(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, "          greeting: hi", role_class="monerosim_actors.actors.example_browser:Nope")
    assert "network.agents.custom[0].class" in problem and "cannot be imported" in problem


def test_validate_and_gen_both_refuse_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO % (BROWSER, "          task_weights: {brwse: 3}"))
    assert cli.main(["validate", str(path)]) == 2
    assert cli.main(["gen", str(path), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("did you mean 'browse'") == 2
    assert not (tmp_path / "out").exists()


def test_the_actor_applies_the_same_rules() -> None:
    assert param_problems(Browser, {"task_weights": {"brwse": 1}}) == [
        (("task_weights", "brwse"), "Browser has no task 'brwse'; did you mean 'browse'? "
                                    "(tasks: browse, ping_controller, share_tip)")]
