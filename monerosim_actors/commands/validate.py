"""`monerosim-actors validate CONFIG`: check a scenario and say what it would generate.

Prints one summary line on success; on failure every problem goes to stderr (via the CLI's
handling of ScenarioError) and the exit code is 2. Nothing is written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter

from monerosim_actors.errors import ScenarioError
from monerosim_actors.plan.model import Plan
from monerosim_actors.scenario.model import MAX_SEED

log = logging.getLogger(__name__)

SUMMARY_OUT = "/monerosim-validate"
"""A stand-in output folder: validate lays the plan out fully (no I/O) to find every problem."""
EXIT_BAD_SCENARIO = 2


def seed_arg(text: str) -> int:
    """argparse type of ``--seed``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be within 0..{MAX_SEED}, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="the scenario YAML file")
    parser.add_argument("--seed", type=seed_arg, default=None, help="override simulation.seed")


def run(opts: argparse.Namespace) -> int:
    from monerosim_actors.plan.capacity import crowded_public_nodes
    from monerosim_actors.plan.planner import build_plan
    from monerosim_actors.role.params import check_role_config
    from monerosim_actors.scenario.load import load_scenario

    try:
        scenario = load_scenario(opts.config, role_config=check_role_config)
        plan = build_plan(scenario, seed=opts.seed, out_dir=SUMMARY_OUT)
    except ScenarioError as e:
        return report_problems("validate", opts.config, e)
    for note in (*scenario.notes, *crowded_public_nodes(plan)):
        log.warning("%s: %s", opts.config, note)
    print(f"OK {opts.config}: {summary(plan)}")
    return 0


def report_problems(stage: str, config: str, error: ScenarioError) -> int:
    """Every problem on stderr under one header line (each line ``FILE:LINE: key.path: message``); 2."""
    count = len(error.problems)
    print(f"monerosim-actors {stage}: {config}: {count} problem{'s' if count != 1 else ''}:", file=sys.stderr)
    for problem in error.problems:
        print(problem, file=sys.stderr)
    return EXIT_BAD_SCENARIO


def summary(plan: Plan) -> str:
    """``110 hosts (1 block_controller, 5 marketplace, ...), 3600 s + 120 s grace, seed 1, ...``."""
    roles = Counter(h.role for h in plan.hosts)
    listed = ", ".join(f"{n} {role}" for role, n in sorted(roles.items()))
    return (f"{len(plan.hosts)} hosts ({listed}), {plan.duration_s:g} s + "
            f"{plan.stop_time_s - plan.duration_s:g} s grace, seed {plan.seed}, "
            f"network {plan.network.kind}, launch {plan.launch_mode}")
