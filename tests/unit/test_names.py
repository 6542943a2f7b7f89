"""Untrusted names: pool ids and custom role names with '/', '..', spaces, non-ASCII, uppercase,
leading dashes, newlines, empty or very long strings, or names that collide once mapped to host
names. Each is either refused with a message that points at it, or becomes a hostname(7) label that
is also a safe file name; nothing is written outside OUT either way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monerosim_actors.errors import ScenarioError
from monerosim_actors.scenario.load import load_scenario
from monerosim_actors.scenario.model import host_name
from tests.unit.fuzz_helpers import FUZZ, check_validate_and_gen
from tests.unit.scenario_helpers import base_doc
from tests.unit.test_fuzz_scenario import scenario_dir

LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""A hostname(7) label: also a file name with nothing to escape."""
NASTY_NAMES = ["", ".", "..", "../x", "../../etc/passwd", "a/b", "/abs", "a b", " a", "a\n", "a\t", "-a", "a-",
               "_a", "a_", "pööl", "日本", "a\x00b", "A" * 64, "a" * 63, "a" * 62, "Pool_A", "POOL-A", "pool_a",
               "pool-a", "user_0", "user-0", "marketplace_0", "block_controller", "block-controller",
               "marketplace-directory", "MARKETPLACE_DIRECTORY", "browser_0", "regular_user"]
names = st.sampled_from(NASTY_NAMES) | st.text(st.sampled_from(list("aZ09_-./ \n\u00e9\u65e5")), max_size=66)


def _doc(pool_ids: list[Any], role: Any) -> dict[str, Any]:
    doc = base_doc()
    doc["network"]["agents"]["mining_pools"] = [{"id": p, "hashrate_share": 1} for p in pool_ids]
    doc["network"]["agents"]["custom"] = [{"name": role, "class": "regular_user", "count": 2,
                                           "monerod": False, "wallet": False}]
    return doc


def _hosts_are_labels(out: Path) -> None:
    plan = json.loads((out / "plan.json").read_text())
    hosts = [h["name"] for h in plan["hosts"]]
    assert len(set(hosts)) == len(hosts), hosts
    assert all(LABEL.fullmatch(h) for h in hosts), hosts
    assert sorted(p.name for p in (out / "hosts").iterdir()) == sorted(f"{h}.json" for h in hosts)


@settings(FUZZ, max_examples=100)
@given(pool_ids=st.lists(names, min_size=1, max_size=3), role=names)
def test_names_become_labels_or_are_refused_and_nothing_lands_outside_out(pool_ids: list[str], role: str) -> None:
    with scenario_dir() as root:
        scenario = root / "scenario.yaml"
        scenario.write_text(yaml.safe_dump(_doc(pool_ids, role), allow_unicode=True))
        result = check_validate_and_gen(root, scenario, inspect=_hosts_are_labels)
        if result.code == 2:
            assert re.search(r"network\.agents\.(mining_pools\[\d\]\.id|custom\[0\]\.name)", result.stderr), \
                result.stderr


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_a_pool_id_is_refused_or_mapped_to_a_label(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_doc([name, "pool_z"], "browser")))
    try:
        scenario = load_scenario(path)
    except ScenarioError as e:
        mine = [p for p in e.problems if p.path in ("network.agents.mining_pools[0].id",  # or the role it clashes with
                                                    "network.agents.custom[0].name")]
        assert mine, e.problems
        assert any(w in mine[0].message for w in ("not usable as a host name", "becomes host name",
                                                  "longer than 63", "must be a string")), mine[0]
        return
    assert scenario.pools[0].id == name
    assert LABEL.fullmatch(host_name(name)), host_name(name)


@pytest.mark.parametrize(("ids", "clash"), [(["Pool_A", "pool-a"], "pool-a"), (["block_controller"], "block-controller"),
                                            (["user_1"], "user-1"), (["browser_1"], "browser-1")])
def test_names_that_collide_after_mapping_are_refused(tmp_path: Path, ids: list[str], clash: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_doc(ids, "browser")))
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert any(f"becomes host name {clash!r}" in p.message for p in e.value.problems), e.value.problems
