"""BENCHMARKS.md rendered from small fake result files (the benchmarks themselves never run in CI)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report
from bench.common import row


def _write(folder: Path, name: str, data: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(data))


def _table(text: str) -> dict[str, list[str]]:
    """First column -> the other cells, for the main table's rows."""
    rows = {}
    for line in text.split("## ")[0].splitlines():
        if line.startswith("| ") and not line.startswith("| Figure"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


def test_own_rows_others_layouts_missing_and_unreadable(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results, "bus_latency", {"rows": [
        row("Bus round trip p50 (small)", baseline="raw pyzmq 100 us", value="150 us", ratio=1.5,
            target="ratio <= 2.0", met=True),
        row("Bus round trip p99 (small)", baseline="raw pyzmq 300 us", value="900 us", ratio=3.0,
            target="(reported)", met=None)], "date": "2026-01-01T00:00:00Z", "machine": {"cpus": 2}})
    _write(results, "bus_throughput", {"rows": [
        row("Bus throughput", baseline="raw pyzmq 40,000 msg/s", value="8,000 msg/s", ratio=0.2,
            target="ratio >= 0.5", met=False)]})
    _write(results, "idle_host", {"target_per_minute": 100, "hosts": {
        "service": {"per_minute": 0.0}, "node": {"per_minute": 12.0},
        "control_sleep_1s_loop": {"per_minute": 60.0}}})
    _write(results, "monerod_footprint", {"median": {
        "monerod_ready_s": 4.3, "monerod_idle_rss_mb": 28.6, "monerod_after_100_blocks_rss_mb": 612.8,
        "wallet_idle_rss_mb": 33.8, "wallet_after_100_blocks_rss_mb": 34.0}})
    _write(results, "analyze_scale", {"target": {"message_events": 1_000_000, "seconds": 30, "peak_rss_mb": 2048},
                                      "results": [{"message_events": 1_000_000, "seconds": 20.0, "cpu_seconds": 18.0, "peak_rss_mb": 600.0},
                                                  {"message_events": 10_000, "seconds": 2.0, "peak_rss_mb": 150.0}]})
    (results / "coordination.json").write_text("{ not json")
    gen = {"meets_targets": {"wall": True, "memory": True, "linear": False}, "ratio_10k_over_1k_wall": 14.0,
           "sizes": [{"users": 10_000, "hosts": 10_010, "wall_s": 4.0, "peak_rss_mb": 170.0},
                     {"users": 1_000, "hosts": 1_010, "wall_s": 0.3, "peak_rss_mb": 40.0}]}
    _write(results, "gen_scale", {"by_workdir": {"/dev/shm": gen}})

    text = report.render(results)
    table = _table(text)

    assert table["Bus round trip p50 (small)"] == ["raw pyzmq 100 us", "150 us", "1.5", "ratio <= 2.0", "yes"]
    assert table["Bus round trip p99 (small)"][-1] == "-"
    assert table["Bus throughput"][2:] == ["0.2", "ratio >= 0.5", "**no**"]
    idle = table["Idle host syscalls per minute (strace, runtime only)"]
    assert idle[0] == "control_sleep_1s_loop: 60/min" and idle[1].startswith("12/min") and idle[-1] == "yes"
    assert table["monerod RSS idle / after 100 blocks"][1] == "29 MB / 613 MB"
    assert table["Node hosts per GB (monerod + wallet after 100 blocks)"][1] == f"{1024 / 646.8:.1f}"
    analyze = [k for k in table if k.startswith("analyze")]
    assert analyze == ["analyze, 10,000 message events", "analyze, 1,000,000 message events"]  # by size
    assert table["analyze, 1,000,000 message events"][1:] == ["20.0 s (18.0 s CPU), 600 MB", "-",
                                                              "< 30 s and < 2048 MB", "yes"]
    assert table["analyze, 10,000 message events"][-1] == "-"
    for missing in ("Host footprint", "Local run growth"):
        assert table[missing][1] == "not measured"
    assert table["Coordination vs the seed"][1].startswith("unreadable (JSONDecodeError")
    assert table["gen, 10,000 users (10,010 hosts), in /dev/shm"][1:] == ["4.0 s, 170 MB", "-", "< 5 s and < 300 MB", "yes"]
    assert table["gen time growth, 1,000 -> 10,000 users, in /dev/shm"][2:] == ["14", "linear (<= 12)", "**no**"]
    assert "| `bus_latency.json` | 2026-01-01T00:00:00Z | cpus 2 |" in text
    assert "Before and after" not in text


def test_before_after_and_findings(tmp_path: Path) -> None:
    results = tmp_path / "results"
    fig = "Bus throughput"
    _write(results / "before", "bus_throughput", {"rows": [
        row(fig, baseline="raw", value="2,000 msg/s", ratio=0.05, target="ratio >= 0.5", met=False)]})
    _write(results / "before", "bus_latency", {"rows": [
        row("Bus round trip p50", baseline="raw", value="3 ms", ratio=20.0, target="ratio <= 2.0", met=False)]})
    _write(results, "bus_throughput", {"rows": [
        row(fig, baseline="raw", value="20,000 msg/s", ratio=0.6, target="ratio >= 0.5", met=True)]})
    findings = tmp_path / "findings.md"
    findings.write_text("## Findings\n\nThe decoder resolved type hints per frame.\n")

    text = report.render(results, findings)

    assert "| Bus throughput | 2,000 msg/s | 0.05 | 20,000 msg/s | 0.6 |" in text
    assert "| Bus round trip p50 | 3 ms | 20 | not measured | - |" in text
    assert text.rstrip().endswith("The decoder resolved type hints per frame.")


def test_write_puts_the_file_where_asked(tmp_path: Path) -> None:
    out = report.write(results=tmp_path / "none", out=tmp_path / "BENCHMARKS.md", findings=tmp_path / "absent.md")
    text = out.read_text()
    assert text.startswith("# Benchmarks\n") and text.count("not measured") == len(report.SOURCES)
