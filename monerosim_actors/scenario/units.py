"""Times and bandwidths as Shadow writes them: parsing the scenario's values and formatting ours.

A scenario may give a time as a number of seconds or as a Shadow-style string (``"1 h"``,
``"500 ms"``); everything inside the plan is float seconds, and it goes back out as the largest
Shadow unit that keeps the value an integer, because Shadow's time values are integers with a unit.
"""

from __future__ import annotations

import re

TIME_UNITS: dict[str, float] = {
    "ns": 1e-9, "nanosecond": 1e-9, "nanoseconds": 1e-9,
    "us": 1e-6, "μs": 1e-6, "microsecond": 1e-6, "microseconds": 1e-6,
    "ms": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
}
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zμ]*)\s*$")
_BANDWIDTH = re.compile(
    r"^\s*\d+\s*(bit|[KMGT]bit|[kmgt]ilobit|[mgt]egabit|gigabit|terabit|[KMGT]ibit|B|[KMGT]B|[KMGT]iB"
    r"|byte|bytes)\s*$")


def parse_time(value: object) -> float:
    """Seconds from a number of seconds or a string such as ``"2 min"``.

    Raises:
        ValueError: with a message fit for the user.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a number of seconds or a string like \"10 min\", got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    m = _TIME.match(value)
    if not m or (m.group(2) and m.group(2) not in TIME_UNITS):
        raise ValueError(f"{value!r} is not a time; write a number of seconds or e.g. \"500 ms\", "
                         "\"30 s\", \"10 min\", \"1 h\"")
    return float(m.group(1)) * TIME_UNITS[m.group(2) or "s"]


def is_bandwidth(value: object) -> bool:
    """Whether Shadow reads ``value`` as a bandwidth (``"100 Mbit"``, ``"1 Gbit"``, ``"10 MB"``)."""
    return isinstance(value, str) and bool(_BANDWIDTH.match(value))


def shadow_time(seconds: float) -> int | str:
    """Seconds as Shadow wants them: an integer of seconds, else the largest unit that is exact."""
    ns = round(seconds * 1e9)
    if ns % 10**9 == 0:
        return ns // 10**9
    for unit, per in (("ms", 10**6), ("us", 10**3)):
        if ns % per == 0:
            return f"{ns // per} {unit}"
    return f"{ns} ns"


def shadow_time_str(seconds: float) -> str:
    """Like :func:`shadow_time` but always a string with a unit (GML attributes are strings)."""
    value = shadow_time(seconds)
    return f"{value} s" if isinstance(value, int) else value
