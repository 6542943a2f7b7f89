"""The ``monerosim-actors`` command line: one subcommand per stage, each imported only when used.

Every stage lives in ``monerosim_actors.commands.<name>`` and offers ``add_arguments(parser)`` and
``run(opts) -> int``. A :class:`MonerosimError` escaping a stage becomes a clear message on stderr and
exit code 2; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from monerosim_actors import __version__
from monerosim_actors.errors import MonerosimError

STAGES: dict[str, str] = {
    "validate": "check a scenario file and report every problem in it",
    "gen": "generate a Shadow simulation (shadow.yaml, network graph, per-host configs) from a scenario",
    "run": "run a folder gen wrote (run OUT), or generate and run a scenario (run CONFIG), on this machine "
           "(local backend) or under Shadow",
    "analyze": "turn the event logs of one or more runs (or of a sweep) into tables, plots and a report",
    "sweep": "run a scenario over a grid of parameters and seeds, on this machine or a Dask cluster",
}

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monerosim-actors",
        description="Simulate a Monero network in Shadow, every participant played by an actor.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug lines to stderr")
    # -v is also accepted after the stage (``run -v``); SUPPRESS keeps a -v given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log debug lines to stderr")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    for name, help_text in STAGES.items():
        stage = importlib.import_module(f"monerosim_actors.commands.{name}")
        stage_parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        stage.add_arguments(stage_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if opts.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    stage = importlib.import_module(f"monerosim_actors.commands.{opts.stage}")
    try:
        return int(stage.run(opts))
    except MonerosimError as e:
        print(f"monerosim-actors {opts.stage}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"monerosim-actors {opts.stage}: interrupted", file=sys.stderr)
        return 130
