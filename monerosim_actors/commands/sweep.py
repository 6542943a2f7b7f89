"""`monerosim-actors sweep SWEEP.yaml -o DIR` / `sweep --resume DIR`: many runs over parameters and seeds.

Expands the sweep file into DIR (one scenario and generated folder per point and seed, ``sweep.json``
naming each run's parameters; a bad sweep file is refused with every problem and nothing written),
then runs what is not done on Dask: a cluster on this machine sized by memory and cores, or the one
at ``--scheduler``. Dask is imported only here (the ``sweep`` extra).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from typing import TYPE_CHECKING

from monerosim_actors.errors import MonerosimError, ScenarioError
from monerosim_actors.sweep import expand, index

if TYPE_CHECKING:
    from monerosim_actors.sweep.execute import Runner

log = logging.getLogger(__name__)

EXIT_FAILED_RUNS = 1


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", metavar="SWEEP", nargs="?", help="the sweep file (YAML)")
    parser.add_argument("-o", "--out", metavar="DIR", help="the sweep folder to write (must be new or empty)")
    parser.add_argument("--resume", metavar="DIR", help="run the runs of an earlier sweep that are not done")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the Dask cluster of this scheduler (tcp://HOST:8786) instead of a "
                             "cluster on this machine; workers that do not see DIR send each run's results home")
    parser.add_argument("--workers", metavar="N", type=_workers,
                        help="on this machine: at most N runs at once (default: as many as memory and cores allow)")
    parser.add_argument("--skip-memory-check", action="store_true",
                        help="on this machine: start even when a run's memory claim exceeds what is available")
    parser.add_argument("--expand-only", action="store_true", help="write DIR and stop, without running anything")


def run(opts: argparse.Namespace, runner: Runner | None = None) -> int:
    """Expand (unless resuming) and run; ``runner`` carries out one run (tests pass a fake)."""
    from monerosim_actors.commands.validate import report_problems

    if bool(opts.resume) == bool(opts.sweep):
        raise MonerosimError("give either SWEEP (with -o DIR) or --resume DIR")
    expansion: expand.Expansion | None = None
    if opts.resume:
        sweep_dir = os.path.abspath(opts.resume)
        sweep = index.read_index(sweep_dir)
    else:
        if not opts.out:
            raise MonerosimError("-o DIR is required with SWEEP: the folder to write the runs into")
        sweep_dir = os.path.abspath(opts.out)
        expand.refuse_non_empty(sweep_dir)
        try:
            expansion = expand.expand_file(opts.sweep, sweep_dir)
        except ScenarioError as e:
            return report_problems("sweep", opts.sweep, e)
        sweep = expansion.index
        if opts.expand_only:
            _write(expansion, sweep_dir)
            return 0
    from monerosim_actors.sweep.execute import to_do

    todo = list(sweep.runs) if expansion else to_do(sweep_dir, sweep)
    if not todo:
        print(f"sweep {sweep_dir}: all {len(sweep.runs)} runs are done", file=sys.stderr)
        return 0
    if importlib.util.find_spec("distributed") is None:
        raise MonerosimError("sweep runs on Dask: install the sweep extra, e.g. pip install "
                             "'monerosim-actors[sweep]' (the folder is written; run it with --resume "
                             f"{sweep_dir})")
    return _execute(opts, sweep_dir, sweep, todo, runner, expansion)


def _write(expansion: expand.Expansion, sweep_dir: str) -> None:
    expand.write(expansion, sweep_dir)
    sweep = expansion.index
    print(f"wrote {sweep_dir}: {len(sweep.runs)} runs ({len(sweep.points)} points x {len(sweep.seeds)} "
          f"seeds), backend {sweep.backend}"
          + (f" at time scale {sweep.time_scale:g}" if sweep.backend == "local" else ""), file=sys.stderr)


def _execute(opts: argparse.Namespace, sweep_dir: str, sweep: index.SweepIndex, todo: list[index.RunEntry],
             runner: Runner | None, expansion: expand.Expansion | None) -> int:
    """Open the cluster (a scheduler that does not answer, has no worker able to take the runs, or
    workers that lack what the sweep needs stop it here, before DIR is written), write DIR when it
    is a new sweep, then run."""
    from monerosim_actors.backends.progress import format_duration
    from monerosim_actors.backends.resources import RESERVE_MB, mem_available_mb
    from monerosim_actors.sweep import execute
    from monerosim_actors.sweep.progress import SweepProgress

    import distributed  # noqa: F401 (it sets its loggers' levels when imported: quiet them after)

    if not getattr(opts, "verbose", False):
        logging.getLogger("distributed").setLevel(logging.ERROR)
    claims = [r.memory_mb for r in todo]
    if opts.scheduler:
        cluster = execute.remote_cluster(opts.scheduler, max(claims), sweep.cores, sweep.backend, sweep.shadow_bin)
        where = f"the Dask cluster at {opts.scheduler}"
    else:
        available = (max(claims) * len(todo) + RESERVE_MB if opts.skip_memory_check else mem_available_mb())
        slots = execute.local_slots(claims, sweep.cores, available, os.cpu_count() or 1, opts.workers)
        per_worker = max(max(claims), (available - RESERVE_MB) // slots)
        cluster = execute.local_cluster(slots, per_worker, sweep.cores)
        where = (f"this machine, {slots} at once ({per_worker} MiB and {sweep.cores} core(s) each; the largest "
                 f"run claims {max(claims)} MiB)")
    progress = SweepProgress(len(todo), sys.stderr)
    try:
        with cluster as client:
            if expansion is not None:
                _write(expansion, sweep_dir)
            dashboard = execute.dashboard(client)
            print(f"sweep {sweep_dir}: running {len(todo)} of {len(sweep.runs)} runs on {where}"
                  + (f"; Dask's dashboard: {dashboard}" if dashboard else ""), file=sys.stderr)
            outcome = execute.run_all(client, sweep_dir, sweep, todo, runner or execute.subprocess_runner,
                                      progress)
    except KeyboardInterrupt:
        progress.finish()
        print(f"monerosim-actors sweep: interrupted; the runs in progress were told to stop. Run what is not "
              f"done with: monerosim-actors sweep --resume {sweep_dir}", file=sys.stderr)
        return 130
    progress.finish()
    print(f"sweep {sweep_dir}: {len(outcome.done)} of {len(todo)} runs done, {len(outcome.failed)} failed, "
          f"in {format_duration(outcome.wall_s)}", file=sys.stderr)
    if outcome.failed:
        for run_id, reason in sorted(outcome.failed):
            folder = os.path.join(sweep_dir, index.RUNS_DIR, run_id)
            print(f"  failed: {run_id} ({reason}): {folder}, output in {os.path.join(folder, index.LOG_FILE)}",
                  file=sys.stderr)
        print(f"run them again with: monerosim-actors sweep --resume {sweep_dir}", file=sys.stderr)
        return EXIT_FAILED_RUNS
    print(f"analyse it with: monerosim-actors analyze {sweep_dir}", file=sys.stderr)
    return 0
