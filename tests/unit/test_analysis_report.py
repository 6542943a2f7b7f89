"""``monerosim-actors analyze``: the report folder, several runs, and the command's errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monerosim_actors import cli
from monerosim_actors.commands import analyze

GOLDEN = Path(__file__).parents[1] / "golden" / "analysis"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PICTURES = ["latency_cdf", "latency_heatmap", "blocks_per_pool", "payment_delay", "chain_height",
            "propagation_cdf"]


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > 10_000, f"{path}: only {len(data)} bytes"


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden run analysed by the command with its default report folder (OUT/report)."""
    out = tmp_path_factory.mktemp("single") / "quick"
    shutil.copytree(GOLDEN / "run", out)
    assert cli.main(["analyze", str(out)]) == 0
    return out / "report"


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("several") / "cmp"
    code = cli.main(["analyze", str(GOLDEN / "run"), str(GOLDEN / "empty"), str(GOLDEN / "run"),
                     "--labels", "a", "b", "a", "-o", str(report)])
    assert code == 0
    return report


def test_one_run_writes_summary_tables_pictures_and_report(single: Path) -> None:
    summary = json.loads((single / "summary.json").read_text())
    assert summary["messages"]["count"] == 18
    for name in ("messages", "links", "blocks", "block_seen", "payments", "hosts"):
        assert (single / f"{name}.csv").read_text() == \
            (GOLDEN / "expected" / f"{name}.csv").read_text()
    for name in PICTURES:
        assert_png(single / f"{name}.png")
    report = (single / "report.md").read_text()
    for name in PICTURES:
        assert f"]({name}.png)" in report
    assert "Missing logs: pool-beta." in report
    assert "Logs cut mid-line (crash): user-1." in report
    assert "| mine_blocks | 4 | 3 | 1 | 45 | 49 | 49.9 | 50 | 10 | 0 | n/a |" in report
    assert "chi-square p-value of the counts against the configured shares: 0.813664" in report


def test_several_runs_are_compared_run_by_run(several: Path) -> None:
    summary = json.loads((several / "summary.json").read_text())
    assert list(summary["runs"]) == ["a", "b", "a-2"]
    assert summary["runs"]["b"]["messages"]["count"] == 0
    for label in ("a", "b", "a-2"):
        assert (several / label / "messages.csv").is_file()
        assert (several / label / "summary.json").is_file()
    lines = (several / "comparison.csv").read_text().splitlines()
    assert lines[0] == "metric,a,b,a-2"
    assert "messages,18,0,18" in lines
    assert "latency p50 (ms),40.0,,40.0" in lines
    assert "steady-state excess over the path p50 (ms),15.0,,15.0" in lines
    for name in PICTURES:
        assert_png(several / f"{name}.png")
    report = (several / "report.md").read_text()
    assert "## Run b" in report and "[`a-2/messages.csv`](a-2/messages.csv)" in report


def test_a_run_without_data_gets_a_report_that_says_so(tmp_path: Path) -> None:
    assert cli.main(["analyze", str(GOLDEN / "empty"), "-o", str(tmp_path)]) == 0
    assert not list(tmp_path.glob("*.png"))
    report = (tmp_path / "report.md").read_text()
    assert "No picture: no message was delivered." in report
    assert "No picture: no payment reached a marketplace." in report
    assert "No picture: no block was mined in the schedule phase." in report


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is not a run folder: it has no plan.json" in err
    assert "Traceback" not in err


def test_labels_must_match_the_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", str(GOLDEN / "run"), "--labels", "a", "b"]) == 2
    assert "--labels: 2 label(s) for 1 run(s)" in capsys.readouterr().err


def test_without_the_analysis_extra_it_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = analyze.importlib.util.find_spec
    monkeypatch.setattr(analyze.importlib.util, "find_spec",
                        lambda name: None if name == "matplotlib" else real(name))
    assert cli.main(["analyze", str(GOLDEN / "run")]) == 2
    assert "install the analysis extra" in capsys.readouterr().err


def test_other_stages_do_not_import_the_analysis_libraries() -> None:
    code = ("import sys; from monerosim_actors import cli; cli.build_parser(); "
            "print(sorted({'pandas', 'matplotlib', 'scipy'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
