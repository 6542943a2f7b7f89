"""The host's clocks: ``time.time()`` for event times, and the pace of scenario time.

Under Shadow ``time.time()`` is the simulated clock every host shares. The local backend may run a
scenario K times faster than written (``run --time-scale K``): a run-time choice it hands to every
host runtime in the environment variable :data:`TIME_SCALE_ENV`, never in a generated file. The
runtime reads it once (:func:`time_scale_from`); :func:`clock_seconds` is the one place that turns
scenario seconds into seconds of this host's clock (the scheduler's timers, the runtime's end). Roles
only ever deal in scenario seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Protocol

from monerosim_actors.errors import MonerosimError

TIME_SCALE_ENV = "MONEROSIM_TIME_SCALE"
"""K, set by the local backend on each host runtime it starts; unset (K = 1) under Shadow."""


class Clock(Protocol):
    """Anything with ``now()``; tests pass a fake."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock seconds since the epoch (simulated seconds under Shadow)."""

    def now(self) -> float:
        return time.time()


def time_scale_from(environ: Mapping[str, str]) -> float:
    """K from the runtime's environment (1 when the variable is unset).

    Raises:
        MonerosimError: the variable is set but is not a finite number > 0.
    """
    text = environ.get(TIME_SCALE_ENV)
    if text is None:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise MonerosimError(f"{TIME_SCALE_ENV}={text!r}: the time scale must be a number > 0")
    return value


def clock_seconds(scenario_s: float, time_scale: float) -> float:
    """Seconds of the host's clock that ``scenario_s`` scenario seconds take at time scale K."""
    return scenario_s / time_scale
