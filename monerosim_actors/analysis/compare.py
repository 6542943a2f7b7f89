"""Several runs side by side: unique labels and one table of headline numbers, a column per run.

The plots compare runs themselves (one curve per run, as tornettools does for repeated
experiments); this module gives the numbers beside them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

HEADLINES: list[tuple[str, tuple[str, ...]]] = [
    ("messages", ("messages", "count")),
    ("messages delivered", ("messages", "delivered")),
    ("messages lost", ("messages", "lost")),
    ("latency p50 (ms)", ("messages", "latency_ms", "p50_ms")),
    ("latency p90 (ms)", ("messages", "latency_ms", "p90_ms")),
    ("latency p99 (ms)", ("messages", "latency_ms", "p99_ms")),
    ("latency max (ms)", ("messages", "latency_ms", "max_ms")),
    ("steady-state excess over the path p50 (ms)", ("network", "excess_ms", "p50_ms")),
    ("first-message excess over the path p50 (ms)", ("network", "first_excess_ms", "p50_ms")),
    ("blocks mined", ("blocks", "total")),
    ("blocks in the schedule", ("blocks", "schedule")),
    ("chi-square p (blocks vs shares)", ("blocks", "chi2_p")),
    ("stale blocks", ("stale", "blocks")),
    ("stale rate", ("stale", "rate")),
    ("stale rate predicted", ("stale", "predicted", "rate")),
    ("reorganisations", ("reorgs", "total")),
    ("payments sent", ("payments", "sent")),
    ("payments failed", ("payments", "failed")),
    ("payments confirmed", ("payments", "confirmed")),
    ("confirmation delay p50 (s)", ("payments", "confirmation_delay_s", "p50")),
    ("confirmation delay p90 (s)", ("payments", "confirmation_delay_s", "p90")),
    ("propagation p50 (s)", ("propagation_s", "p50")),
    ("propagation p90 (s)", ("propagation_s", "p90")),
]
"""Rows of the comparison: a name and the key path of the value in a summary."""


def unique_labels(names: Sequence[str]) -> list[str]:
    """Labels usable as folder names, made unique by a ``-2``, ``-3``... suffix when repeated."""
    out: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
        label, n = base, 1
        while label in out:
            n += 1
            label = f"{base}-{n}"
        out.append(label)
    return out


def comparison(summaries: Sequence[dict[str, Any]], labels: Sequence[str]) -> pd.DataFrame:
    """Headline numbers, one row per metric and one column per run (None where undefined)."""
    rows = {}
    for name, path in HEADLINES:
        rows[name] = [_get(s, path) for s in summaries]
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(labels),
                                  dtype=object).rename_axis("metric")


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``, or None where a run's summary has no such key (the stale figures of a
    run whose logs lack the blocks' parents)."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data
