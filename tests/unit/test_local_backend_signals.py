"""SIGINT / SIGTERM to a runner process (the real signal path: handlers, wake-up fd) with fake hosts:
every host is stopped, nothing is left, and the exit code says which signal it was."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monerosim_actors.backends import groups

RUNNER = textwrap.dedent("""
    import sys
    from monerosim_actors.backends.local import LocalBackend
    from tests.unit.local_backend_plans import FakeHost, fake_plan

    out, modes = sys.argv[1], sys.argv[2:]
    plan = fake_plan([FakeHost(f"h{i}", mode=m) for i, m in enumerate(modes)],
                     duration_s=600, stop_time_s=660)
    announced = []

    def announce():
        if not announced and all(
                __import__("os").path.exists(f"{out}/shadow.data/hosts/h{i}/events.jsonl")
                for i in range(len(modes))):
            announced.append(1)
            print("STARTED", flush=True)

    result = LocalBackend(plan, out, tick_s=0.05, term_timeout_s=2.0, on_tick=announce).run()
    print("RESULT", result.exit_code, len(result.failures), len(result.leftovers), flush=True)
    sys.exit(result.exit_code)
""")


def host_pids(out: Path, count: int) -> list[int]:
    pids = []
    for i in range(count):
        first = (out / "shadow.data" / "hosts" / f"h{i}" / "events.jsonl").read_text().splitlines()[0]
        pids.append(json.loads(first)["pid"])
    return pids


@pytest.mark.parametrize(("sig", "modes"), [
    (signal.SIGINT, ["hang", "hang", "hang"]),
    (signal.SIGTERM, ["hang", "stubborn"]),
])
def test_a_signal_to_the_runner_stops_every_host_and_leaves_nothing(tmp_path: Path, sig: int,
                                                                      modes: list[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path), *modes], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "STARTED"
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, err
    assert rest.split() == ["RESULT", str(128 + sig), str(modes.count("stubborn")), "0"]
    assert f"{signal.Signals(sig).name} received: stopping every host" in err
    for pid in host_pids(tmp_path, len(modes)):
        info = groups.read_proc(pid)
        assert info is None or info.zombie, f"host process {pid} survived"
        assert not groups.group_alive(pid)
