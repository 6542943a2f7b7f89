"""The checking machinery every section of the scenario uses: a collector of located problems and
small value checks whose messages are written for the user.

A :class:`Checker` walks one document and never stops at the first problem: each check that fails
records a :class:`~monerosim_actors.errors.Problem` (file, line from
:mod:`~monerosim_actors.scenario.source`, key path, message) and gives back None, so the walk goes on
and the user gets every problem in one run. A value check is a callable that returns the checked
value or raises :class:`BadValue`; :meth:`Checker.get` turns that into a problem at the key's path.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from collections.abc import Callable, Iterable
from typing import Any

from monerosim_actors.errors import Problem
from monerosim_actors.scenario.source import Path, Source, format_path
from monerosim_actors.scenario.units import is_bandwidth, parse_time

_AGENT_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?")
"""An agent id (matched whole: ``$`` would let a trailing newline into host and file names)."""
_MISSING = object()


class BadValue(Exception):
    """A value failed its check; the message is for the user."""


def suggest(word: str, options: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest option, or nothing when none is close."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(key: str, known: Iterable[str]) -> str:
    """The message for a key that is not one of ``known``: the closest known key, or all of them."""
    return f"unknown key{suggest(key, known) or '; known keys: ' + ', '.join(sorted(known))}"


def type_name(value: object) -> str:
    """What a YAML value is, in the user's words (``a mapping``, not ``dict``)."""
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            type(None): "nothing (null)"}.get(type(value), type(value).__name__)


# --- value checks: each returns the checked value or raises BadValue(message) ---

def number(*, gt: float | None = None, ge: float | None = None, le: float | None = None,
           integer: bool = False) -> Callable[[object], Any]:
    """A finite number within the bounds (a whole one with ``integer``); never a boolean."""
    def check(value: object) -> Any:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (integer and not isinstance(value, int)):
            kind = "a whole number" if integer else "a number"
            got = repr(value) if numeric else f"{type_name(value)} {value!r}"
            raise BadValue(f"must be {kind}, got {got}")
        if value != value or value in (float("inf"), float("-inf")):
            raise BadValue(f"must be a finite number, got {value!r}")
        if gt is not None and not value > gt:
            raise BadValue(f"must be > {_bound(gt)}, got {value!r}")
        if ge is not None and not value >= ge:
            raise BadValue(f"must be >= {_bound(ge)}, got {value!r}")
        if le is not None and not value <= le:
            raise BadValue(f"must be <= {_bound(le)}, got {value!r}")
        return value if integer else float(value)
    return check


def _bound(bound: float) -> str:
    """A bound as the user wrote it: ``0``, ``0.5``, ``4294967295`` (never ``4.29497e+09``)."""
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def seconds(*, minimum: float = 0.0, inclusive: bool = False) -> Callable[[object], float]:
    """A time (a number of seconds or ``"10 min"``) above ``minimum``, as float seconds."""
    def check(value: object) -> float:
        try:
            parsed = parse_time(value)
        except ValueError as e:
            raise BadValue(str(e)) from None
        if parsed < minimum or (parsed == minimum and not inclusive):
            op = ">=" if inclusive else ">"
            raise BadValue(f"must be {op} {minimum:g} s, got {value!r}")
        return parsed
    return check


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f"must be true or false, got {value!r}")
    return value


def string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadValue(f"must be a non-empty string, got {type_name(value)} {value!r}")
    return value


def one_of(options: Iterable[str]) -> Callable[[object], str]:
    """One of a closed set of words; pass ``typing.get_args`` of the vocabulary's ``Literal`` so that
    the message lists what the code accepts."""
    allowed = tuple(options)

    def check(value: object) -> str:
        if value not in allowed:
            hint = suggest(value, allowed) if isinstance(value, str) else ""
            raise BadValue(f"must be one of {', '.join(allowed)}, got {value!r}{hint}")
        return value  # type: ignore[return-value]
    return check


def string_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadValue(f"must be a list of strings, got {value!r}")
    return tuple(value)


def bandwidth(value: object) -> str:
    if not is_bandwidth(value):
        raise BadValue(f"must be a bandwidth like \"100 Mbit\" or \"1 Gbit\", got {value!r}")
    return str(value).strip()


def region_name(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadValue(f"must be a region name (or a GML node id), got {value!r}")
    return str(value)


class Checker:
    """The problems (and notes) found in one document so far, and the generic ways to look into it.

    Args:
        file: the scenario's path as given (problems name it so).
        src: the document with the line of every key path.
    """

    def __init__(self, file: str, src: Source) -> None:
        self.file = file
        self.src = src
        self.base = os.path.dirname(os.path.abspath(file))
        """Relative paths in the scenario are relative to its folder."""
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        """Things done on the user's behalf (see :attr:`Scenario.notes`)."""

    def fail(self, path: Path, message: str) -> None:
        """Record a problem at ``path`` (its line is the key's, or its nearest ancestor's)."""
        self.problems.append(Problem(self.file, self.src.line(path), format_path(path), message))

    def report_duplicates(self) -> None:
        """A problem for each key given twice in one mapping (YAML would keep only the last)."""
        for path, line in self.src.duplicates:
            self.problems.append(Problem(self.file, line, format_path(path), "key given twice; only one is allowed"))

    def mapping(self, value: object, path: Path, known: Iterable[str], *, extras: bool = False,
                required: Iterable[str] = ()) -> dict[str, Any] | None:
        """``value`` checked to be a mapping with only ``known`` keys (and ``required`` ones present).

        With ``extras`` other keys are allowed unless they look like a misspelt known key.
        """
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping (key: value lines), got {type_name(value)}")
            return None
        known = set(known)
        for key in value:
            if key in known:
                continue
            hint = suggest(key, known)
            if not extras:
                self.fail(path + (key,), unknown_key(key, known))
            elif hint:
                self.fail(path + (key,), f"unknown key{hint} (other keys are passed to the role; "
                                         "rename it if it is meant as one)")
        for key in required:
            if key not in value:
                self.fail(path, f"{key!r} is required")
        return value

    def section(self, parent: dict[str, Any] | None, path: Path, key: str, known: Iterable[str],
                *, extras: bool = False, required: Iterable[str] = ()) -> dict[str, Any] | None:
        """The mapping at ``parent[key]``; an absent (or null) section is an empty mapping."""
        if parent is None:
            return None
        value = parent.get(key)
        if value is None:
            value = {}
        return self.mapping(value, path + (key,), known, extras=extras, required=required)

    def get(self, m: dict[str, Any] | None, path: Path, key: str, check: Callable[[object], Any],
            default: Any = _MISSING) -> Any:
        """``check(m[key])``, or ``default`` when absent; None (after reporting) when it is wrong."""
        if m is None:
            return None
        if key not in m:
            if default is _MISSING:
                self.fail(path, f"{key!r} is required")
                return None
            return default
        try:
            return check(m[key])
        except BadValue as e:
            self.fail(path + (key,), str(e))
            return None

    def agent_id(self, value: object, path: Path) -> str | None:
        """An id that becomes part of a host name and of file names."""
        if not isinstance(value, str):
            self.fail(path, f"must be a string, got {type_name(value)} {value!r}")
            return None
        if not _AGENT_ID.fullmatch(value):
            self.fail(path, f"{value!r} is not usable as a host name: use ASCII letters, digits, '_' and "
                            "'-' only, starting and ending with a letter or digit")
            return None
        return value

    def executable(self, value: str | None, path: Path) -> str | None:
        """An absolute path to an executable: absolute as given, relative to the scenario, or on PATH."""
        if value is None:
            return None
        if os.path.isabs(value):
            full = value
        elif "/" in value:
            full = os.path.normpath(os.path.join(self.base, value))
        else:
            found = shutil.which(value)
            if found is None:
                self.fail(path, f"{value!r} is not on PATH; give an absolute path")
                return None
            full = os.path.abspath(found)
        if not os.path.isfile(full) or not os.access(full, os.X_OK):
            self.fail(path, f"{full} is not an executable file on this machine")
            return None
        return full
