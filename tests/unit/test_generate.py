"""Writing OUT (all or nothing, never over a folder the user keeps) and the validate / gen commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monerosim_actors import defaults
from monerosim_actors.shadow import write as generate
from monerosim_actors.cli import main
from monerosim_actors.errors import OutputError
from monerosim_actors.plan.model import PLAN_VERSION, HostConfig, Plan, read_json_file
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.scenario.load import load_scenario

from scenario_helpers import base_doc, write_doc

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
QUICKSTART = REPO / "configs" / "quickstart.yaml"


def _plan(out: Path, config: Path = QUICKSTART) -> Plan:
    return build_plan(load_scenario(config), out_dir=str(out))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_writes_every_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = _plan(out)
    assert generate.write_output(plan, str(out)) == str(out)
    names = set(_tree(out))
    written = {defaults.SHADOW_FILE, defaults.PLAN_FILE, defaults.SHIM_FILE, defaults.RANDOMX_FILE,
               defaults.WALLET_CERT_FILE} | {
        f"hosts/{h.name}.json" for h in plan.hosts}
    assert names == written | {defaults.GEN_MARKER_FILE}
    marker = json.loads((out / defaults.GEN_MARKER_FILE).read_text())
    assert marker["files"] == sorted(written) and marker["plan_version"] == PLAN_VERSION
    assert os.listdir(tmp_path) == ["out"], "the temporary folder is renamed, not left behind"
    assert Plan.from_json((out / defaults.PLAN_FILE).read_text()) == plan
    config = HostConfig.from_json((out / "hosts" / "user-0.json").read_text())
    assert config.host == plan.host("user-0")
    assert config.services == plan.services


def test_gml_is_written_when_the_network_is_not_the_switch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = _plan(out, REPO / "configs" / "regions_example.yaml")
    generate.write_output(plan, str(out))
    assert (out / defaults.GML_FILE).read_text() == plan.network.gml


def test_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="is not empty; choose another folder or pass --force"):
        generate.write_output(_plan(out), str(out))
    with pytest.raises(OutputError, match="has no generated.json: it is not a folder gen wrote"):
        generate.write_output(_plan(out), str(out), force=True)
    assert _tree(out) == {"keep.txt": b"mine"} and os.listdir(tmp_path) == ["out"]


def test_force_never_deletes_a_folder_gen_did_not_write_even_one_with_a_shadow_yaml(tmp_path: Path) -> None:
    """A user's own Shadow experiment has a shadow.yaml (and maybe a plan.json): it is not gen's."""
    out = tmp_path / "out"
    out.mkdir()
    for name in (defaults.SHADOW_FILE, defaults.PLAN_FILE, "notes.txt"):
        (out / name).write_text(name)
    before = _tree(out)
    with pytest.raises(OutputError, match="has no generated.json"):
        generate.write_output(_plan(out), str(out), force=True)
    assert _tree(out) == before and os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize(("added", "named"), [("notes.txt", "notes.txt"), ("hosts/mine.json", "hosts/mine.json"),
                                              ("hosts/extra/x", "hosts/extra/"), ("mine/x", "mine/")])
def test_force_refuses_an_earlier_output_that_holds_a_file_of_the_users(tmp_path: Path, added: str,
                                                                       named: str) -> None:
    out = tmp_path / "out"
    generate.write_output(_plan(out), str(out))
    (out / added).parent.mkdir(parents=True, exist_ok=True)
    (out / added).write_text("mine")
    before = _tree(out)
    with pytest.raises(OutputError, match=f"holds what gen did not write: {named}; --force replaces only"):
        generate.write_output(_plan(out), str(out), force=True)
    assert _tree(out) == before and sorted(os.listdir(tmp_path)) == ["out"]


def test_a_broken_marker_is_not_trusted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate.write_output(_plan(out), str(out))
    (out / defaults.GEN_MARKER_FILE).write_text('{"files": "everything"}')
    with pytest.raises(OutputError, match="'files' is not a list of file names"):
        generate.write_output(_plan(out), str(out), force=True)
    (out / defaults.GEN_MARKER_FILE).write_text("{")
    with pytest.raises(OutputError, match="cannot be read as gen's list of files"):
        generate.write_output(_plan(out), str(out), force=True)


def test_force_replaces_an_earlier_output_with_its_runs_and_reports_entirely(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate.write_output(_plan(out), str(out))
    (out / defaults.DATA_DIR / "hosts" / "user-0").mkdir(parents=True)
    (out / defaults.DATA_DIR / "hosts" / "user-0" / defaults.EVENTS_FILE).write_text("{}\n")
    (out / defaults.SHADOW_LOG_FILE).write_text("shadow")
    (out / defaults.REPORT_DIR).mkdir()
    (out / defaults.REPORT_DIR / "report.md").write_text("# report")
    generate.write_output(_plan(out), str(out), force=True)
    assert not (out / defaults.DATA_DIR).exists(), "Shadow refuses to start with an existing data directory"
    assert not (out / defaults.SHADOW_LOG_FILE).exists() and not (out / defaults.REPORT_DIR).exists()
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_an_empty_folder_is_filled_and_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    generate.write_output(_plan(tmp_path / "empty"), str(tmp_path / "empty"))
    assert (tmp_path / "empty" / defaults.SHADOW_FILE).is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        generate.write_output(_plan(tmp_path / "file"), str(tmp_path / "file"))


def test_a_failure_while_writing_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(plan: Plan, out: str) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(generate.shadow_config, "render", broken)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left"):
        generate.write_output(_plan(out), str(out))
    assert os.listdir(tmp_path) == []


def test_parallel_writers_write_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    plan = _plan(out, REPO / "configs" / "seed_example.yaml")
    generate.write_output(plan, str(out))
    serial = _tree(out)
    monkeypatch.setattr(generate, "_workers", lambda hosts: 3)
    forks: list[int] = []
    real_fork = generate._fork
    monkeypatch.setattr(generate, "_fork", lambda job: forks.append(1) or real_fork(job))
    generate.write_output(plan, str(out), force=True)
    assert len(forks) == 2, "one child per worker but this process"
    assert _tree(out) == serial


def test_a_plan_built_for_another_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="was built for"):
        generate.write_output(_plan(tmp_path / "a"), str(tmp_path / "b"))
    assert os.listdir(tmp_path) == []


# --- the commands ---

@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_validate_accepts_every_example(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"OK {config}: ")


def test_validate_reports_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base_doc()
    doc["simulation"]["duration"] = "soon"
    doc["network"]["agents"]["mining_pools"][1]["hashrate_share"] = -0.3
    path = write_doc(tmp_path, doc)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"monerosim-actors validate: {path}: 2 problems:\n")
    assert f"{path}:2: simulation.duration: 'soon' is not a time" in err
    assert "network.agents.mining_pools[1].hashrate_share: must be > 0, got -0.3" in err
    assert "Traceback" not in err


def test_gen_writes_nothing_for_a_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base_doc()
    doc["network"]["agents"]["regular_users"]["count"] = 0
    out = tmp_path / "out"
    assert main(["gen", str(write_doc(tmp_path, doc)), "-o", str(out)]) == 2
    assert "must be >= 1, got 0" in capsys.readouterr().err
    assert not out.exists()


def test_gen_then_again_needs_force_and_seed_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["gen", str(QUICKSTART), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}: 8 hosts" in printed and f"shadow {out}/shadow.yaml" in printed
    assert main(["gen", str(QUICKSTART), "-o", str(out), "--seed", "5"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["gen", str(QUICKSTART), "-o", str(out), "--seed", "5", "--force"]) == 0
    assert Plan.from_json((out / defaults.PLAN_FILE).read_text()).seed == 5
    assert "general:\n  stop_time: 1560\n  seed: 5\n" in (out / defaults.SHADOW_FILE).read_text()


def test_gen_rejects_a_seed_shadow_cannot_take(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["gen", str(QUICKSTART), "-o", str(tmp_path / "o"), "--seed", "-1"])
    assert e.value.code == 2 and "must be within 0..4294967295" in capsys.readouterr().err


def test_output_is_byte_identical_whatever_the_hash_seed(tmp_path: Path) -> None:
    """The same config and seed give the same bytes, in separate processes with different hash seeds."""
    out = tmp_path / "out"
    trees = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "monerosim_actors", "gen", str(REPO / "configs" / "regions_example.yaml"),
                        "-o", str(out), "--force"], check=True, env=env, capture_output=True)
        trees.append(_tree(out))
    assert trees[0] == trees[1]


def test_no_traceback_reaches_the_user(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("simulation: [\n")
    result = subprocess.run([sys.executable, "-m", "monerosim_actors", "validate", str(bad)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}:2: not valid YAML" in result.stderr


def test_a_generated_folder_of_another_version_or_damaged_is_refused_saying_so(tmp_path: Path) -> None:
    """One reader for plan.json and the host configs: a damaged file or another version is named,
    with what is wrong, never a traceback."""
    out = tmp_path / "out"
    generate.write_output(build_plan(load_scenario(write_doc(tmp_path, base_doc())), out_dir=str(out)), str(out))
    plan_file, host_file = out / defaults.PLAN_FILE, next((out / defaults.HOSTS_DIR).glob("*.json"))
    assert generate.read_output(str(out)).hosts
    assert read_json_file(HostConfig, str(host_file)).host.name == host_file.stem
    host_file.write_text(host_file.read_text().replace(f'"version": {PLAN_VERSION}', '"version": 99'))
    with pytest.raises(ValueError, match=f"has version 99, this monerosim-actors reads {PLAN_VERSION}"):
        read_json_file(HostConfig, str(host_file))
    plan_file.write_text("{")
    with pytest.raises(OutputError, match=rf"{plan_file} cannot be read as a Plan .*: generate {out} again"):
        generate.read_output(str(out))
