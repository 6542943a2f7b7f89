"""`monerosim-actors analyze OUT [OUT2 ...]`: event logs in, tables, numbers, plots and report out.

pandas, matplotlib and scipy (the ``analysis`` extra) are imported only here, inside :func:`run`,
so the other stages never pay for them and work without them.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
from pathlib import Path

from monerosim_actors.defaults import REPORT_DIR
from monerosim_actors.errors import MonerosimError, OutputError

log = logging.getLogger(__name__)

NEEDS = ("pandas", "matplotlib", "scipy")


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such folder")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=_folder, metavar="OUT",
                        help="run folder(s): what `gen` wrote and a backend ran; or one sweep folder "
                             "(with sweep.json): per parameter point, means over seeds with 95%% intervals")
    parser.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="names of the runs in plots and tables (default: the folders' names)")
    parser.add_argument("-o", "--output", type=Path, metavar="REPORT_DIR",
                        help=f"where to write the report (default: OUT/{REPORT_DIR} of the first run)")


def run(opts: argparse.Namespace) -> int:
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise MonerosimError(f"analyze needs {', '.join(missing)}: install the analysis extra, "
                             "e.g. pip install 'monerosim-actors[analysis]'")
    from monerosim_actors.analysis import load_run, write_report
    from monerosim_actors.analysis.compare import unique_labels
    from monerosim_actors.sweep.index import is_sweep

    if any(is_sweep(p) for p in opts.runs):
        return _sweep(opts)

    if opts.labels is not None and len(opts.labels) != len(opts.runs):
        raise OutputError(f"--labels: {len(opts.labels)} label(s) for {len(opts.runs)} run(s)")
    names = opts.labels or [p.resolve().name for p in opts.runs]
    labels = unique_labels(names)
    runs = []
    for path, label in zip(opts.runs, labels):
        log.info("reading %s", path)
        runs.append(load_run(path, label))
    report = write_report(runs, opts.output or opts.runs[0] / REPORT_DIR)
    print(report)
    return 0


def _sweep(opts: argparse.Namespace) -> int:
    """A sweep folder: the analysis across its runs (:mod:`monerosim_actors.analysis.sweep`)."""
    from monerosim_actors.analysis.sweep import write_sweep_report

    if len(opts.runs) != 1 or opts.labels is not None:
        raise OutputError("a sweep folder is analysed alone and without --labels: "
                          f"monerosim-actors analyze {opts.runs[0]} [-o REPORT_DIR]")
    print(write_sweep_report(opts.runs[0], opts.output or opts.runs[0] / REPORT_DIR))
    return 0
