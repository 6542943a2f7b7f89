"""`monerosim-actors run`: its options, its default OUT, the memory refusal, and the shadow backend
with a fake ``shadow`` on PATH (the local backend itself is tested with fake hosts and end to end)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from monerosim_actors import cli
from monerosim_actors.backends import resources

SCENARIO = """\
simulation:
  duration: 600
network:
  agents:
    regular_users:
      count: 2
    marketplaces:
      count: 1
    mining_pools:
      - id: pool_a
        hashrate_share: 0.5
      - id: pool_b
        hashrate_share: 0.5
  consensus:
    block_time: 60
    difficulty: 1
"""

FAKE_SHADOW = """\
#!{python}
import json, os, sys
print("fake shadow starting", flush=True)
print("progress: 50%", file=sys.stderr, flush=True)
os.makedirs("shadow.data/hosts")
with open("{record}", "w") as f:
    json.dump({{"argv": sys.argv[1:], "cwd": os.getcwd()}}, f)
sys.exit(int(os.environ.get("FAKE_SHADOW_EXIT", "0")))
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def fake_shadow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``shadow`` on PATH that records how it was called; returns where it records."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "shadow-called.json"
    script = bindir / "shadow"
    script.write_text(FAKE_SHADOW.format(python=sys.executable, record=record))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return record


@pytest.mark.parametrize("value", ["0", "-2", "abc", "inf"])
def test_time_scale_must_be_a_positive_number(value: str, scenario: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", str(scenario), "--time-scale", value])
    assert exit_info.value.code == 2
    assert "--time-scale" in capsys.readouterr().err


def test_shadow_backend_runs_shadow_in_out_and_streams_its_output(
        scenario: Path, fake_shadow: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli.main(["run", str(scenario), "-o", str(out), "--backend", "shadow"]) == 0
    called = json.loads(fake_shadow.read_text())
    assert called == {"argv": ["shadow.yaml"], "cwd": str(out)}
    captured = capfd.readouterr()
    err = captured.err
    assert "fake shadow starting" in err and "progress: 50%" in err
    assert f"next:   monerosim-actors analyze {out}" in captured.out, "the summary goes to stdout, as locally"
    assert "fake shadow starting" in (out / "shadow.log").read_text()
    assert "time_scale" not in json.loads((out / "hosts" / "user-0.json").read_text())
    assert json.loads((out / "plan.json").read_text())["addressing"] == "shadow"


def test_run_config_writes_what_gen_writes(scenario: Path, fake_shadow: Path, tmp_path: Path) -> None:
    """``run CONFIG`` is ``gen`` then ``run OUT``: the same files, whichever backend runs them."""
    assert cli.main(["gen", str(scenario), "-o", str(tmp_path / "gen")]) == 0
    assert cli.main(["run", str(scenario), "-o", str(tmp_path / "run"), "--backend", "shadow"]) == 0
    for name in ("shadow.yaml", "hosts/user-0.json", "hosts/block-controller.json"):
        ours = (tmp_path / "run" / name).read_text().replace(str(tmp_path / "run"), "OUT")
        assert ours == (tmp_path / "gen" / name).read_text().replace(str(tmp_path / "gen"), "OUT"), name


def test_run_out_runs_a_generated_folder_without_planning_again(
        scenario: Path, fake_shadow: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monerosim_actors.plan import planner

    out = tmp_path / "out"
    assert cli.main(["gen", str(scenario), "-o", str(out)]) == 0
    written = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    scenario.unlink()  # run OUT reads only OUT

    def no_planning(*args: object, **kwargs: object) -> None:
        raise AssertionError("run OUT planned again")

    monkeypatch.setattr(planner, "build_plan", no_planning)
    assert cli.main(["run", str(out), "--backend", "shadow"]) == 0
    assert json.loads(fake_shadow.read_text()) == {"argv": ["shadow.yaml"], "cwd": str(out)}
    assert {p: p.read_bytes() for p in written} == written, "gen's files are run as they are"


def test_run_out_on_the_local_backend_places_the_plan_and_paces_it_at_run_time(
        scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monerosim_actors.backends import local

    out = tmp_path / "out"
    assert cli.main(["gen", str(scenario), "-o", str(out)]) == 0
    seen: dict[str, object] = {}

    class Recorded:
        def __init__(self, plan: object, out_dir: str, **kwargs: object) -> None:
            seen.update(kwargs, out_dir=out_dir, plan=plan)

        def run(self) -> local.RunResult:
            return local.RunResult(children=[], failures=[], duration_s=0.0)

    monkeypatch.setattr(local, "LocalBackend", Recorded)
    assert cli.main(["run", str(out), "--time-scale", "10", "--first-address", "127.62.0.1",
                     "--skip-memory-check"]) == 0
    assert seen["out_dir"] == str(out) and seen["time_scale"] == 10.0 and seen["first_address"] == "127.62.0.1"
    placed = local.placed(seen["plan"], "127.62.0.1")  # type: ignore[arg-type]
    assert placed.hosts[0].ip == "127.62.0.1" and placed.addressing == "loopback"


def test_run_out_refuses_a_folder_gen_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "plan.json").write_text("{}")
    assert cli.main(["run", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder} is not a folder `monerosim-actors gen` wrote: it has no shadow.yaml and no hosts/" in err


def test_run_out_refuses_an_incomplete_or_moved_folder(scenario: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli.main(["gen", str(scenario), "-o", str(out)]) == 0
    (out / "hosts" / "user-1.json").unlink()
    assert cli.main(["run", str(out)]) == 2
    assert f"{out} is incomplete: it has no hosts/user-1.json" in capsys.readouterr().err
    out.rename(tmp_path / "moved")
    assert cli.main(["run", str(tmp_path / "moved")]) == 2
    assert "the plan was built for another folder" in capsys.readouterr().err


def test_run_out_refuses_a_folder_that_was_run_already(scenario: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli.main(["gen", str(scenario), "-o", str(out)]) == 0
    (out / "shadow.data").mkdir()
    assert cli.main(["run", str(out), "--skip-memory-check"]) == 2
    assert f"{out}/shadow.data already exists" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["-o", "elsewhere"], ["--seed", "3"], ["--force"]])
def test_run_out_refuses_the_options_of_generating(scenario: Path, tmp_path: Path, flags: list[str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli.main(["gen", str(scenario), "-o", str(out)]) == 0
    assert cli.main(["run", str(out), *flags]) == 2
    assert f"{flags[0]} apply to run CONFIG only" in capsys.readouterr().err


def test_run_of_nothing_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(tmp_path / "absent")]) == 2
    assert "no such scenario file or generated folder" in capsys.readouterr().err


def test_shadow_backend_reports_shadows_failure(scenario: Path, fake_shadow: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FAKE_SHADOW_EXIT", "7")
    out = tmp_path / "out"
    assert cli.main(["run", str(scenario), "-o", str(out), "--backend", "shadow"]) == 1
    assert f"Shadow failed (exit code 7); see {out}/shadow.log" in capfd.readouterr().err


def test_without_shadow_it_says_how_to_get_it(scenario: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "--backend", "shadow"]) == 2
    err = capsys.readouterr().err
    assert "Shadow is not installed" in err
    assert "https://shadow.github.io/docs/guide/install_shadow.html" in err
    assert "--backend local" in err


def test_a_shadow_bin_that_is_not_a_program_is_refused(scenario: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "--backend", "shadow",
                     "--shadow-bin", str(tmp_path / "no-shadow")])
    assert code == 2
    assert f"({tmp_path / 'no-shadow'} is not an executable)" in capsys.readouterr().err


def test_time_scale_is_refused_with_the_shadow_backend(scenario: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "--backend", "shadow",
                     "--time-scale", "10"])
    assert code == 2
    assert "--time-scale applies to the local backend only" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_out_defaults_to_runs_and_the_scenarios_name(scenario: Path, fake_shadow: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(scenario), "--backend", "shadow"]) == 0
    assert (tmp_path / "runs" / "tiny" / "shadow.yaml").exists()


def test_a_non_empty_out_is_not_replaced_without_force(scenario: Path, fake_shadow: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert cli.main(["run", str(scenario), "-o", str(out), "--backend", "shadow"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_a_local_run_that_does_not_fit_in_memory_is_refused_before_anything_is_written(
        scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(resources, "mem_available_mb", lambda: 100)
    out = tmp_path / "out"
    assert cli.main(["run", str(scenario), "-o", str(out), "--time-scale", "10"]) == 2
    err = capsys.readouterr().err
    assert "only 100 MiB is available" in err and "--skip-memory-check" in err
    assert not out.exists()


def test_a_local_run_on_addresses_already_in_use_is_refused_before_anything_is_written(
        scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a second local run of the same scenario meets: the first run's sockets."""
    import socket

    out = tmp_path / "out"
    with socket.socket() as held:  # the third host's (the first pool's) monerod RPC port, held by "another run"
        held.bind(("127.61.0.3", 18081))
        held.listen()
        assert cli.main(["run", str(scenario), "-o", str(out), "--first-address", "127.61.0.1",
                         "--skip-memory-check"]) == 2
    err = capsys.readouterr().err
    assert "127.61.0.3:18081 (pool-a) is already in use" in err and "--first-address" in err
    assert not out.exists()


@pytest.mark.parametrize("address, message", [
    ("10.0.0.1", "must be a loopback address"), ("127.0.0.5", "outside 127.0.0.0/24"),
    ("127.1.2", "is not an IPv4 address"),
])
def test_first_address_must_be_a_loopback_address_of_our_own(
        scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], address: str, message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "--first-address", address])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_hosts_past_the_end_of_the_loopback_range_are_refused(
        scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "--first-address", "127.255.255.252",
                     "--skip-memory-check"]) == 2
    assert "run past 127.255.255.254" in capsys.readouterr().err


def test_the_readme_the_quickstart_script_and_the_e2e_test_use_one_time_scale() -> None:
    import re

    from tests.e2e.run_cli import QUICKSTART_TIME_SCALE

    root = Path(__file__).resolve().parents[2]
    script = (root / "scripts" / "quickstart.sh").read_text()
    readme = (root / "README.md").read_text()
    assert re.findall(r"--time-scale (\S+)", script) == [QUICKSTART_TIME_SCALE]
    assert f"time scale {QUICKSTART_TIME_SCALE}" in script
    assert f"--time-scale {QUICKSTART_TIME_SCALE}" in readme
    assert readme.index("bash scripts/quickstart.sh") < readme.index("bash scripts/test.sh")


def test_a_local_run_too_short_for_the_bootstrap_is_warned_about(
        scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from monerosim_actors.backends import local

    class NoRun:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def run(self) -> local.RunResult:
            return local.RunResult(children=[], failures=[], duration_s=0.0)

    monkeypatch.setattr(local, "LocalBackend", NoRun)
    from tests.e2e.run_cli import first_address  # a range of this test's own: a local run may hold 127.10.0.x

    assert cli.main(["run", str(scenario), "-o", str(tmp_path / "out"), "--time-scale", "10",
                     "--skip-memory-check", "--first-address", first_address(1)]) == 0
    assert "the scenario lasts only 1m00s at this time scale" in caplog.text
