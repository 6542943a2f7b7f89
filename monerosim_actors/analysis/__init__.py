"""Analysis of runs: event logs in, tables, numbers, plots and a report out.

Needs the ``analysis`` extra (pandas, matplotlib, scipy); the CLI imports this package only for
``analyze``. The notebook API::

    from monerosim_actors.analysis import load_run, summarize
    run = load_run("out/quickstart")      # tables as DataFrames: run.messages, run.blocks, ...
    summarize(run)["messages"]["by_type"]
    faster_than_path(run.messages)        # under Shadow: empty, or the network model is broken
"""

from .checks import check_consistency
from .paths import faster_than_path
from .report import write_report
from .run import Run, load_run
from .summary import summarize

__all__ = ["Run", "check_consistency", "faster_than_path", "load_run", "summarize", "write_report"]
