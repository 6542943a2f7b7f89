"""`monerosim-actors run CONFIG|OUT [--backend local|shadow] [--time-scale K] ...`: run a simulation.

``run OUT`` runs a folder ``gen`` wrote, as it is, on either backend; ``run CONFIG`` is ``gen CONFIG
-o OUT`` followed by ``run OUT`` (OUT defaults to ``runs/<scenario file's name>``). ``local`` runs
every host on this machine with a live progress line, placing the plan on loopback from
``--first-address`` and pacing it at ``--time-scale`` K, both chosen here and handed to the host
runtimes, never written into OUT; ``shadow`` runs the ``shadow`` binary on ``OUT/shadow.yaml``.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from pathlib import Path

from monerosim_actors.commands.gen import FORCE_HELP
from monerosim_actors.commands.validate import seed_arg, summary
from monerosim_actors.plan.addresses import FIRST_ADDRESS
from monerosim_actors.plan.model import Plan

log = logging.getLogger(__name__)

RUNS_DIR = "runs"
SHORT_RUN_S = 120.0
"""Below this many real seconds, a local run is mostly start-up and bootstrap: say so."""


def time_scale_arg(text: str) -> float:
    """argparse type of ``--time-scale``: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def first_address_arg(text: str) -> str:
    """argparse type of ``--first-address``: a loopback address outside 127.0.0.0/24."""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None
    if not address.is_loopback or address in ipaddress.IPv4Network("127.0.0.0/24"):
        raise argparse.ArgumentTypeError(f"must be a loopback address (127.x.y.z) outside 127.0.0.0/24, got {text}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="CONFIG|OUT",
                        help="a scenario YAML file (generated into OUT first, as gen does), or a folder gen "
                             "wrote (run as it is)")
    parser.add_argument("--backend", choices=("local", "shadow"), default="local",
                        help="run on this machine (local, the default) or under Shadow")
    parser.add_argument("--time-scale", metavar="K", type=time_scale_arg, default=1.0,
                        help="local backend: divide every interval and duration of the scenario by K "
                             "(block time, payment rates, the duration); the bootstrap runs as fast as "
                             "it can (default: 1)")
    parser.add_argument("--first-address", metavar="IP", type=first_address_arg, default=FIRST_ADDRESS["loopback"],
                        help="local backend: the first host's address; the others follow it (default: "
                             f"{FIRST_ADDRESS['loopback']}). Give two runs at once different ranges, e.g. "
                             "127.20.0.1")
    parser.add_argument("--skip-memory-check", action="store_true",
                        help="local backend: start even when the memory estimate exceeds what is available")
    parser.add_argument("--shadow-bin", metavar="PATH", default=None,
                        help="shadow backend: the Shadow binary (default: shadow on PATH)")
    generate = parser.add_argument_group("with CONFIG only (an OUT is run as gen wrote it)")
    generate.add_argument("-o", "--out", metavar="OUT", default=None,
                          help=f"the folder to write and run in (default: {RUNS_DIR}/<CONFIG's name>)")
    generate.add_argument("--seed", metavar="N", type=seed_arg, default=None, help="override simulation.seed")
    generate.add_argument("--force", action="store_true", help=FORCE_HELP)


def run(opts: argparse.Namespace) -> int:
    if opts.backend == "shadow" and opts.time_scale != 1.0:
        return _refuse("--time-scale applies to the local backend only "
                       "(Shadow's clock is simulated: its runs take the scenario's own time)")
    if os.path.isdir(opts.target):
        return _run_generated(opts)
    if not os.path.exists(opts.target):
        return _refuse(f"{opts.target}: no such scenario file or generated folder")
    return _generate_and_run(opts)


def _refuse(message: str) -> int:
    print(f"monerosim-actors run: {message}", file=sys.stderr)
    return 2


def _run_generated(opts: argparse.Namespace) -> int:
    """``run OUT``: check that OUT is a fresh gen output, then run it."""
    from monerosim_actors.defaults import DATA_DIR
    from monerosim_actors.shadow.write import ensure_randomx_files, read_output

    given = [flag for flag, value in (("-o", opts.out), ("--seed", opts.seed), ("--force", opts.force))
             if value not in (None, False)]
    if given:
        return _refuse(f"{', '.join(given)} apply to run CONFIG only: {opts.target} is a generated folder, run "
                       "as gen wrote it (generate it again to change it)")
    out = os.path.abspath(opts.target)
    plan = read_output(out)
    data = os.path.join(out, DATA_DIR)
    if os.path.lexists(data):
        return _refuse(f"{data} already exists: {out} holds the output of an earlier run. Generate it again "
                       "(`monerosim-actors gen CONFIG -o OUT --force`) or remove that folder to run it anew")
    if opts.backend == "local":
        problem = _local_problem(plan, opts)
        if problem:
            return _refuse(problem)
    ensure_randomx_files(plan)  # deleted since gen, or generated on another machine
    return _run(plan, out, opts)


def _generate_and_run(opts: argparse.Namespace) -> int:
    """``run CONFIG``: what ``gen`` writes, checked for this backend before anything is written, then run."""
    from monerosim_actors.commands.gen import plan_scenario
    from monerosim_actors.commands.validate import report_problems
    from monerosim_actors.errors import ScenarioError
    from monerosim_actors.shadow.write import write_output

    out = os.path.abspath(opts.out or os.path.join(RUNS_DIR, Path(opts.target).stem))
    try:
        plan = plan_scenario(opts.target, out, opts.seed)
    except ScenarioError as e:
        return report_problems("run", opts.target, e)
    if opts.backend == "local":
        problem = _local_problem(plan, opts)
        if problem:
            return _refuse(problem)
    write_output(plan, out, force=opts.force)
    print(f"wrote {out}: {summary(plan)}", file=sys.stderr)
    return _run(plan, out, opts)


def _run(plan: Plan, out: str, opts: argparse.Namespace) -> int:
    if opts.backend == "local":
        return _run_local(plan, out, opts.time_scale, opts.first_address)
    from monerosim_actors.backends import resources, shadow

    print(f"memory at peak, expected: {resources.estimate(plan).describe()}", file=sys.stderr)
    return shadow.run(out, opts.shadow_bin, sys.stderr, summary_stream=sys.stdout)


def _local_problem(plan: Plan, opts: argparse.Namespace) -> str | None:
    """Why the local backend cannot run ``plan`` here, placed from ``--first-address`` (memory,
    addresses), or None."""
    from monerosim_actors.backends import resources
    from monerosim_actors.backends.local import placed

    plan = placed(plan, opts.first_address)
    if not ipaddress.IPv4Address(plan.hosts[-1].ip).is_loopback:
        return (f"{len(plan.hosts)} hosts from {opts.first_address} upwards run past 127.255.255.254: "
                "give a lower --first-address")
    if not opts.skip_memory_check:
        problem = resources.shortage(plan, resources.mem_available_mb())
        if problem:
            return problem
    busy = resources.addresses_in_use(plan)
    if busy:
        more = f" (and {len(busy) - 1} more)" if len(busy) > 1 else ""
        return (f"{busy[0]}{more} is already in use: is another local run going on, or something left of "
                f"one? Stop it, or run this one on other addresses with --first-address (this run starts "
                f"at {plan.hosts[0].ip}), e.g. --first-address 127.20.0.1")
    return None


def _run_local(plan: Plan, out: str, time_scale: float, first_address: str) -> int:
    from monerosim_actors.backends import progress, resources
    from monerosim_actors.backends.local import RUNTIME, LocalBackend
    from monerosim_actors.backends.tail import EventTail
    from monerosim_actors.defaults import EVENTS_FILE, host_data_dir

    need = resources.estimate(plan)
    print(f"running {len(plan.hosts)} hosts locally at time scale {time_scale:g}: the scenario's "
          f"{plan.duration_s:g} s (start-up and bootstrap included) take "
          f"{progress.format_duration(plan.duration_s / time_scale)}; memory estimate {need.total_mb} MiB. "
          "Ctrl-C stops everything.", file=sys.stderr)
    if plan.duration_s / time_scale < SHORT_RUN_S:
        log.warning("the scenario lasts only %s at this time scale, but starting the hosts and the bootstrap "
                    "take a minute or two of real time: little or nothing may happen after them (use a "
                    "smaller --time-scale or a longer simulation.duration)",
                    progress.format_duration(plan.duration_s / time_scale))
    tally = progress.Tally.for_plan(plan)
    tail = EventTail({h.name: os.path.join(host_data_dir(out, h.name), EVENTS_FILE) for h in plan.hosts})
    display = progress.ProgressDisplay(tally, tail, sys.stderr, scenario_end_s=plan.duration_s / time_scale)
    result = LocalBackend(plan, out, time_scale=time_scale, first_address=first_address,
                          on_tick=display.update).run()
    display.finish()
    codes: dict[str, int | None] = {h.name: None for h in plan.hosts}
    codes.update({c.host: c.returncode for c in result.children if c.name == RUNTIME})
    interrupted = signal.Signals(result.interrupted).name if result.interrupted is not None else None
    print(progress.summary(tally, duration_s=result.duration_s, exit_codes=codes, out_dir=out,
                           failures=[str(f) for f in result.failures], interrupted=interrupted))
    if result.leftovers:
        print("monerosim-actors run: processes survived the clean-up: " + "; ".join(result.leftovers),
              file=sys.stderr)
    if interrupted:
        print(f"monerosim-actors run: interrupted by {interrupted}; every host was stopped"
              + ("" if result.leftovers else " and no process is left") + f". Partial output in {out}",
              file=sys.stderr)
    elif result.failures or tally.actor_failures:
        hosts = sorted({f.host for f in result.failures} | {host for host, _ in tally.actor_failures})
        print(f"monerosim-actors run: failed on {', '.join(hosts)} (see the failures above)", file=sys.stderr)
        return result.exit_code or 1
    return result.exit_code
