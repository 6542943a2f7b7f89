"""`monerosim-actors gen CONFIG -o OUT [--seed N] [--force]`: write a simulation either backend runs.

Loads and checks the scenario, lays out the plan on Shadow's network and writes OUT atomically
(see :mod:`monerosim_actors.shadow.write`). ``shadow OUT/shadow.yaml`` runs it, and so does
``monerosim-actors run OUT`` on either backend: the local backend places the same plan on loopback
and sets the time scale when it runs, so nothing in OUT depends on either. Bad input never
produces a partial OUT.
"""

from __future__ import annotations

import argparse
import logging
import os

from monerosim_actors.commands.validate import report_problems, seed_arg, summary
from monerosim_actors.errors import ScenarioError
from monerosim_actors.plan.model import Plan

log = logging.getLogger(__name__)

FORCE_HELP = ("replace OUT if gen wrote it: its generated.json lists gen's files, and runs may have added "
              "shadow.data/, shadow.log and report/; a folder that holds anything else is refused, never "
              "deleted")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="the scenario YAML file")
    parser.add_argument("-o", "--out", metavar="OUT", required=True, help="the folder to write")
    parser.add_argument("--seed", type=seed_arg, default=None, help="override simulation.seed")
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def plan_scenario(config: str, out: str, seed: int | None) -> Plan:
    """The plan of the scenario file ``config`` for the folder ``out`` (absolute); logs the
    scenario's notes.

    Raises:
        ScenarioError: every problem of the scenario.
    """
    from monerosim_actors.plan.capacity import crowded_public_nodes
    from monerosim_actors.plan.planner import build_plan
    from monerosim_actors.role.params import check_role_config
    from monerosim_actors.scenario.load import load_scenario

    scenario = load_scenario(config, role_config=check_role_config)
    plan = build_plan(scenario, seed=seed, addressing="shadow", out_dir=out)
    for note in (*scenario.notes, *crowded_public_nodes(plan)):
        log.warning("%s: %s", config, note)
    return plan


def run(opts: argparse.Namespace) -> int:
    from monerosim_actors import defaults
    from monerosim_actors.backends import resources
    from monerosim_actors.shadow.write import write_output

    out = os.path.abspath(opts.out)
    try:
        plan = plan_scenario(opts.config, out, opts.seed)
    except ScenarioError as e:
        return report_problems("gen", opts.config, e)
    write_output(plan, out, force=opts.force)
    print(f"wrote {out}: {summary(plan)}")
    print(f"  memory at peak, expected: {resources.estimate(plan).describe()}")
    print(f"  {os.path.join(out, defaults.SHADOW_FILE)}  (run: monerosim-actors run {out} [--backend shadow], "
          f"or shadow {os.path.join(out, defaults.SHADOW_FILE)})")
    print(f"  {os.path.join(out, defaults.PLAN_FILE)}")
    print(f"  {os.path.join(out, defaults.HOSTS_DIR)}/  ({len(plan.hosts)} host configs)")
    if plan.network.gml is not None:
        print(f"  {os.path.join(out, defaults.GML_FILE)}")
    return 0
