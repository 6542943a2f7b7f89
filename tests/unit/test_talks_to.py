"""``talks_to``: a custom role's scenario key, checked by ``validate``, laid out by the plan (the
target hosts listen, the talkers get their addresses, on either backend's addresses), and the
``PYTHONPATH`` a custom role was found through, passed on to every host; ``wallet_initial_balance``
of a custom role puts its hosts on the controller's funding list."""

from __future__ import annotations

from pathlib import Path

import pytest

from monerosim_actors.errors import ScenarioError
from monerosim_actors.plan.addresses import Relocation
from monerosim_actors.plan.model import host_config
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.roles import role_python_path

BASE = """
simulation: {duration: 600}
network:
  agents:
    marketplaces: {count: 1}
    mining_pools: [{id: pool_a, hashrate_share: 1}]
    custom:
      - name: browser
        class: monerosim_actors.actors.example_browser:Browser
        count: 3
%s
"""
NO_PROGRAMS = "        monerod: false\n        wallet: false\n"


def _load(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "s.yaml"
    path.write_text(BASE % (extra if "monerod" in extra else NO_PROGRAMS + extra))
    return load_scenario(path)


@pytest.mark.parametrize("extra, message", [
    ("        talks_to: [browsr]", "no role 'browsr' in this scenario.*did you mean 'browser'"),
    ("        talks_to: [regular_user]", "no role 'regular_user'"),
    ("        talks_to: [block_controller]", "coordination service"),
    ("        talks_to: browser", "must be a list of strings"),
    ("        wallet_initial_balance: 2", "runs none"),
])
def test_bad_talks_to_and_funding_are_named_with_their_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as err:
        _load(tmp_path, extra)
    assert "network.agents.custom[0]" in str(err.value)


def test_the_talked_to_hosts_listen_and_the_talkers_know_them(tmp_path: Path) -> None:
    scenario = _load(tmp_path, "        talks_to: [browser, marketplace]")
    plan = build_plan(scenario, out_dir=str(tmp_path / "out"))
    by_role = {h.role: [x for x in plan.hosts if x.role == h.role] for h in plan.hosts}
    assert all(h.bus_port for h in by_role["browser"] + by_role["marketplace"])
    assert not any(h.bus_port for h in by_role["mining_pool"])
    browser = by_role["browser"][0]
    config = host_config(plan, browser)
    assert [a.host for a in config.contacts["browser"]] == ["browser-1", "browser-2"], "itself left out"
    assert [(a.host, a.ip) for a in config.contacts["marketplace"]] == [("marketplace-0", by_role["marketplace"][0].ip)]
    assert host_config(plan, by_role["marketplace"][0]).contacts == {}, "a marketplace talks to no role"
    moved = Relocation(plan.hosts[0].ip, "127.40.0.1").config(config)
    assert moved.contacts["browser"][0].ip.startswith("127.40.0.")


def test_a_funded_custom_role_is_on_the_controllers_list(tmp_path: Path) -> None:
    scenario = _load(tmp_path, "        wallet: true\n        monerod: true\n        wallet_initial_balance: 2.5")
    plan = build_plan(scenario, out_dir=str(tmp_path / "out"))
    controller = plan.hosts[0]
    funded = [u for u in controller.params["users"] if u["host"].startswith("browser-")]
    assert [u["wallet_initial_balance"] for u in funded] == [2.5, 2.5, 2.5]
    assert plan.host("browser-0").params["wallet_initial_balance"] == 2.5


def test_the_pythonpath_folder_holding_a_custom_role_is_passed_on(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "tipper.py").write_text("")
    (tmp_path / "other").mkdir()
    environ = {"PYTHONPATH": f"{tmp_path / 'other'}:{tmp_path / 'mine'}"}
    scenario = _load(tmp_path, "")
    roles = [type(r)(**{**r.__dict__, "role_class": "tipper:Tipper"}) for r in scenario.custom]  # type: ignore[attr-defined]
    assert role_python_path(roles, environ) == (str(tmp_path / "mine"),)
    assert role_python_path(roles, {}) == ()
