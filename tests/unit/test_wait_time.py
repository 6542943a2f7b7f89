"""Wait-time factories: ranges, distributions (KS tests) and the scenario forms."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from monerosim_actors.role.wait_time import (MAX_PROBABILITY_PER_MINUTE, between, constant, exponential, from_param,
                                        per_minute_probability, per_minute_probability_rate)

N = 10_000


def test_constant_draws_nothing() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert constant(3)(rng) == 3.0
    assert rng.getstate() == state


def test_between_is_uniform_in_range() -> None:
    rng = random.Random(2)
    draws = [between(2, 5)(rng) for _ in range(N)]
    assert min(draws) >= 2 and max(draws) <= 5
    assert stats.kstest(draws, stats.uniform(loc=2, scale=3).cdf).pvalue > 0.01


def test_exponential_matches_its_mean() -> None:
    rng = random.Random(3)
    draws = [exponential(mean_s=600)(rng) for _ in range(N)]
    assert stats.kstest(draws, stats.expon(scale=600).cdf).pvalue > 0.01
    assert abs(sum(draws) / N - 600) < 600 * 0.05


def test_a_wrong_distribution_is_detected() -> None:
    """The KS test above can fail: a mean 20% off is rejected."""
    rng = random.Random(3)
    draws = [exponential(mean_s=720)(rng) for _ in range(N)]
    assert stats.kstest(draws, stats.expon(scale=600).cdf).pvalue < 0.01


def test_same_seed_same_draws() -> None:
    wt = exponential(mean_s=10)
    a, b = random.Random(9), random.Random(9)
    assert [wt(a) for _ in range(50)] == [wt(b) for _ in range(50)]


@pytest.mark.parametrize("p", [0.01, 0.1, 0.5, 0.9])
def test_per_minute_probability_keeps_the_chance_per_minute(p: float) -> None:
    """P(at least one event in a minute) of the exponential process equals p."""
    rate = per_minute_probability_rate(p)
    assert 1 - math.exp(-rate * 60) == pytest.approx(p)
    wt = per_minute_probability(p)
    assert wt is not None
    rng = random.Random(4)
    draws = [wt(rng) for _ in range(N)]
    assert stats.kstest(draws, stats.expon(scale=1 / rate).cdf).pvalue > 0.01
    # measured: the share of gaps shorter than a minute is p
    assert sum(d < 60 for d in draws) / N == pytest.approx(p, abs=0.02)


def test_per_minute_probability_edges() -> None:
    assert per_minute_probability(0) is None
    assert per_minute_probability(-1) is None
    assert per_minute_probability_rate(1.0) == per_minute_probability_rate(5.0) == \
        per_minute_probability_rate(MAX_PROBABILITY_PER_MINUTE)
    with pytest.raises(ValueError):
        per_minute_probability(float("nan"))


@pytest.mark.parametrize(("value", "expected"), [
    (30, constant(30)),
    ({"constant": 3}, constant(3)),
    ({"between": [2, 5]}, between(2, 5)),
    ({"between": {"a": 1, "b": 2}}, between(1, 2)),
    ({"exponential": {"mean_s": 600}}, exponential(600)),
    ({"exponential": 60}, exponential(60)),
])
def test_from_param(value: object, expected: object) -> None:
    assert from_param(value) == expected


@pytest.mark.parametrize("value", [{"poisson": 3}, {"between": [5, 2]}, {"exponential": 0}, "fast", True,
                                   {"constant": -1}, {"a": 1, "b": 2}])
def test_from_param_refuses(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        from_param(value)
