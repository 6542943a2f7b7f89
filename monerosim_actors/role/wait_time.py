"""Wait-time distributions for roles: tiny factories that return ``f(rng) -> seconds``.

As in locust, a role says ``wait_time = exponential(mean_s=600)``; unlike locust, the callable takes
the actor's own seeded :class:`random.Random`, so every draw is reproducible from the simulation seed
and the host name. Times are scenario seconds.

A scenario may override a role's ``wait_time`` with a parameter (see :func:`from_param`)::

    wait_time: {exponential: {mean_s: 600}}
    wait_time: {between: [2, 5]}
    wait_time: {constant: 30}
"""

from __future__ import annotations

import difflib
import inspect
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

WaitTime = Callable[[random.Random], float]
"""A wait-time distribution: draws the next wait, in scenario seconds, from the given RNG."""


@dataclass(frozen=True)
class _Constant:
    s: float

    def __call__(self, rng: random.Random) -> float:
        return self.s


@dataclass(frozen=True)
class _Between:
    a: float
    b: float

    def __call__(self, rng: random.Random) -> float:
        return rng.uniform(self.a, self.b)


@dataclass(frozen=True)
class _Exponential:
    mean_s: float

    def __call__(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean_s)


# The factories return callable objects rather than lambdas: a lambda stored as a class attribute
# (``wait_time = between(1, 2)``) would be bound as a method and receive ``self``.

def constant(s: float) -> WaitTime:
    """Always ``s`` seconds (no draw; the RNG is left untouched)."""
    if not (s >= 0) or not math.isfinite(s):
        raise ValueError(f"constant wait must be a finite number >= 0, got {s}")
    return _Constant(float(s))


def between(a: float, b: float) -> WaitTime:
    """Uniform in ``[a, b]`` seconds."""
    if not (0 <= a <= b) or not math.isfinite(b):
        raise ValueError(f"between needs 0 <= a <= b, got a={a}, b={b}")
    return _Between(float(a), float(b))


def exponential(mean_s: float) -> WaitTime:
    """Exponential with mean ``mean_s`` seconds: the gaps of a Poisson process (memoryless)."""
    if not (mean_s > 0) or not math.isfinite(mean_s):
        raise ValueError(f"exponential needs a finite mean_s > 0, got {mean_s}")
    return _Exponential(float(mean_s))


MAX_PROBABILITY_PER_MINUTE = 0.999
"""Per-minute probabilities at or above 1 are clamped to this (about 6.9 events per minute)."""


def per_minute_probability_rate(p: float) -> float:
    """The Poisson rate (events per second) equivalent to "probability ``p`` per minute".

    Waking every minute and acting with probability ``p`` is a Bernoulli process; the continuous
    process with the same chance of at least one event in any minute has rate ``-ln(1 - p)`` per
    minute. ``p <= 0`` gives 0 (never). ``p >= 1`` would be an infinite rate, so it is clamped to
    :data:`MAX_PROBABILITY_PER_MINUTE`.
    """
    if not math.isfinite(p):
        raise ValueError(f"probability per minute must be finite, got {p}")
    if p <= 0:
        return 0.0
    p = min(p, MAX_PROBABILITY_PER_MINUTE)
    return -math.log1p(-p) / 60.0


def per_minute_probability(p: float) -> WaitTime | None:
    """Exponential waits equivalent to acting with probability ``p`` each minute; None if ``p <= 0``."""
    rate = per_minute_probability_rate(p)
    return exponential(mean_s=1.0 / rate) if rate > 0 else None


_FACTORIES: dict[str, Callable[..., WaitTime]] = {
    "constant": constant, "between": between, "exponential": exponential,
}


def from_param(value: Any) -> WaitTime:
    """A wait time from its scenario form.

    Accepted: a number (constant seconds), or a one-key mapping naming the factory with its
    arguments as a mapping (keywords), a list (positional) or a number (single argument).

    Raises:
        ValueError: the value names no factory or its arguments are wrong.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return constant(float(value))
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, args),) = value.items()
        factory = _FACTORIES.get(name)
        if factory is None:
            raise ValueError(f"unknown wait time {name!r}; use one of {sorted(_FACTORIES)}")
        if isinstance(args, Mapping):
            expected = list(inspect.signature(factory).parameters)
            unknown = [str(k) for k in args if k not in expected]
            if unknown:
                close = difflib.get_close_matches(unknown[0], expected, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{name} takes {', '.join(expected)}, not {unknown[0]!r}{hint}")
            return _call(name, factory, **args)
        if isinstance(args, (list, tuple)):
            return _call(name, factory, *args)
        return _call(name, factory, args)
    raise ValueError(f"a wait time is a number or a one-key mapping, got {value!r}")


def _call(name: str, factory: Callable[..., WaitTime], *args: Any, **kwargs: Any) -> WaitTime:
    """The factory's wait time; a wrong number or kind of arguments is a ValueError that says so."""
    try:
        return factory(*args, **kwargs)
    except TypeError as e:
        raise ValueError(f"{name}: {e} (it takes {', '.join(inspect.signature(factory).parameters)})") from None
