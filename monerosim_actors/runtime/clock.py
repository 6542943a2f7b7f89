"""The host's clock: ``time.time()``, which under Shadow is the simulated clock every host shares."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now()``; tests pass a fake."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock seconds since the epoch (simulated seconds under Shadow)."""

    def now(self) -> float:
        return time.time()
