"""Shadow at scale: the seed's scenario with wallet-only users, and the largest wallet-only population.

Each scenario is generated, run under Shadow with its process tree sampled (``shadow_speed.measure``:
wall time, simulated/wall ratio by phase, CPU and peak memory by program kind), then analysed, and
recorded beside gen's memory estimate so that the estimate can be checked against what Shadow's
processes held. The per-user cost is the peak memory of one wallet-only user (its host runtime and
its wallet-rpc), from the peaks by kind divided by the number of such programs.

Not part of ``python -m bench``'s default suite: each run takes tens of minutes. The seed's scenario
runs at difficulty 1 (``bench/scenarios/seed_remote_difficulty1.yaml`` says why: the seed's 1000
costs 30-56 s of RandomX hashing per block here, wall time that Shadow does not hide).
Writes ``bench/results/shadow_scale.json``, keeping the scenarios not measured this time.

Run: ``.venv/bin/python -m bench shadow_scale --only seed_remote [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, row, write_result
from bench.shadow_speed import measure

SCENARIOS = {
    "seed_remote": ROOT / "bench" / "scenarios" / "seed_remote_difficulty1.yaml",
    "wallets": ROOT / "bench" / "scenarios" / "wallets_only.yaml",
}
PEAK_LIMIT_MB = {"seed_remote": 16 * 1024}
"""The issue's bound for the seed's scenario with remote users: below 16 GB."""


def analysed(out: Path) -> dict[str, Any]:
    """What ``analyze`` says of the run: blocks by pool against their shares, payments."""
    subprocess.run([sys.executable, "-m", "monerosim_actors", "analyze", str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    summary = json.loads((out / "analysis" / "summary.json").read_text())
    return {"blocks": summary.get("blocks"), "payments": summary.get("payments"),
            "payment_decisions": summary.get("payment_decisions")}


def estimate(out: Path) -> dict[str, Any]:
    from monerosim_actors.backends import resources
    from monerosim_actors.plan import Plan

    need = resources.estimate(Plan.from_json((out / "plan.json").read_text()))
    return {"total_mb": need.total_mb, "described": need.describe()}


def per_user_mb(run: dict[str, Any], plan: dict[str, Any]) -> float | None:
    """Peak runtime + wallet-rpc memory of a wallet-only host, if every host but the nodes is one."""
    wallets = sum(1 for h in plan["hosts"] if h["wallet"] is not None)
    hosts = len(plan["hosts"])
    peaks = run["peak_rss_mb_by_kind"]
    if not wallets:
        return None
    return round(peaks.get("runtime", 0) / hosts + peaks.get("wallet-rpc", 0) / wallets, 1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench shadow_scale")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (default: a temporary folder)")
    parser.add_argument("gen_args", nargs="*", help="extra arguments for gen (after --)")
    opts = parser.parse_args(argv)
    if shutil.which("shadow") is None:
        print("shadow_scale: skipped: Shadow is not installed (no `shadow` on PATH)")
        return 0
    path = RESULTS / "shadow_scale.json"
    try:
        runs: dict[str, Any] = dict(json.loads(path.read_text())["data"]["runs"])
    except (OSError, ValueError, KeyError):
        runs = {}
    workdir = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="shadow-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for name in opts.only or list(SCENARIOS):
            print(f"shadow_scale: {name} ...", flush=True)
            result = measure(name, SCENARIOS[name], workdir, opts.gen_args)
            out = workdir / name
            plan = json.loads((out / "plan.json").read_text())
            result["estimate"] = estimate(out)
            result["per_wallet_user_mb"] = per_user_mb(result, plan)
            result["roles"] = {r: sum(1 for h in plan["hosts"] if h["role"] == r)
                               for r in sorted({h["role"] for h in plan["hosts"]})}
            if result["exit_code"] == 0:
                result.update(analysed(out))
            runs[name] = result
            print(json.dumps(result, indent=1), flush=True)
    finally:
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    version = subprocess.run(["shadow", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    rows = []
    for name, r in runs.items():
        limit = PEAK_LIMIT_MB.get(name)
        rows.append(row(f"Shadow at scale: {name} ({r['hosts']} hosts, {r['simulated_s']:g} s simulated)",
                        baseline="gen's estimate " + f"{r['estimate']['total_mb']} MiB",
                        value=f"peak {r['peak_rss_mb']} MB, {r['wall_s']:g} s wall ({r['ratio']}x); "
                              f"{r['per_wallet_user_mb']} MB per wallet-only user",
                        ratio=round(r["peak_rss_mb"] / r["estimate"]["total_mb"], 2),
                        target=f"peak < {limit} MB" if limit else "more users per GB is progress",
                        met=(r["peak_rss_mb"] < limit and r["exit_code"] == 0) if limit else None))
    write_result("shadow_scale", "Scenarios at scale under Shadow: memory, wall time, per-user cost", rows,
                 {"shadow": version, "runs": runs})
    return 0 if all(r["exit_code"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
