"""What a role's parameters may hold: the one statement of it, read by ``validate`` and ``gen`` (for a
custom role's ``config``, with the scenario's file, line and key path) and by the actor when it
starts (so a config that slipped past, e.g. a plan written by hand, fails at once and says why).

A role's class attributes are its documented defaults. A parameter named like one of them replaces
it and must have a value of the same kind: a number for a number (a whole one for an ``int``), a
string for a string, ``true``/``false`` for a bool, a list for a tuple or list. ``wait_time`` takes
the scenario forms of :func:`monerosim_actors.role.wait_time.from_param`; ``task_weights`` maps the
class's task names to weights >= 0. Any other name reaches the role in ``self.params`` untouched,
unless it looks like a misspelling of a setting or of ``wait_time``/``task_weights``: that is an
error, with a "did you mean".
"""

from __future__ import annotations

import difflib
import importlib
import math
from collections.abc import Iterable
from typing import Any

from monerosim_actors.role.wait_time import from_param

__all__ = ["TASK_WEIGHT_ATTRIBUTE", "check_role_config", "param_problems", "settings", "tasks"]

TASK_WEIGHT_ATTRIBUTE = "_monerosim_task_weight"
"""Set on a method by ``@task``: its weight."""
SPECIAL = ("wait_time", "task_weights")
"""Parameters with a form of their own."""


def tasks(cls: type) -> dict[str, float]:
    """The class's tasks (methods marked with ``@task``) and their declared weights."""
    found: dict[str, float] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            if callable(attr) and hasattr(attr, TASK_WEIGHT_ATTRIBUTE):
                found[name] = getattr(attr, TASK_WEIGHT_ATTRIBUTE)
    return found


def settings(cls: type) -> dict[str, Any]:
    """The class attributes a parameter may replace (data, not methods or properties), with their
    defaults; names starting with ``_`` are the class's own."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("pykka"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") or name in SPECIAL:
                continue
            if callable(attr) or isinstance(attr, (property, staticmethod, classmethod)):
                found.pop(name, None)
            else:
                found[name] = attr
    return found


def param_problems(cls: type, params: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Every problem of ``params`` for role class ``cls``, as (key path under the params, message)."""
    problems: list[tuple[tuple[str, ...], str]] = []
    known = settings(cls)
    for key, value in params.items():
        key = str(key)
        if key == "wait_time":
            problems += _wait_time_problems(value)
        elif key == "task_weights":
            problems += _task_weight_problems(cls, value)
        elif key in known:
            wrong = _kind_problem(known[key], value)
            if wrong:
                problems.append(((key,), wrong))
        else:
            hint = _suggest(key, [*known, *SPECIAL])
            if hint:
                problems.append(((key,), f"{cls.__name__} has no setting {key!r}{hint}"))
    return problems


def check_role_config(role_class: str, config: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """A custom role's scenario ``config`` read against its class (``module:Class``), for ``validate``
    and ``gen``: the class is imported here, as the hosts will import it.

    Raises:
        LookupError: the class cannot be imported (the message says why).
    """
    module_name, _, qualname = role_class.partition(":")
    try:
        cls: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except Exception as e:  # anything the module raises while it loads is the user's to see
        raise LookupError(f"{role_class} cannot be imported: {type(e).__name__}: {e}") from None
    if not isinstance(cls, type):
        raise LookupError(f"{role_class} is not a class")
    return param_problems(cls, config)


def _wait_time_problems(value: Any) -> list[tuple[tuple[str, ...], str]]:
    try:
        from_param(value)
    except ValueError as e:
        return [(("wait_time",), str(e))]
    return []


def _task_weight_problems(cls: type, value: Any) -> list[tuple[tuple[str, ...], str]]:
    if not isinstance(value, dict):
        return [(("task_weights",), f"must be a mapping of task name to weight, got {value!r}")]
    declared = tasks(cls)
    problems: list[tuple[tuple[str, ...], str]] = []
    for name, weight in value.items():
        path = ("task_weights", str(name))
        if name not in declared:
            problems.append((path, f"{cls.__name__} has no task {name!r}{_suggest(str(name), declared)} "
                                   f"(tasks: {', '.join(sorted(declared)) or 'none'})"))
        elif isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (
                math.isfinite(weight) and weight >= 0):
            problems.append((path, f"a weight is a number >= 0, got {weight!r}"))
    return problems


def _kind_problem(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot replace ``default``, or None when it can."""
    if default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return None if numeric and float(value).is_integer() else f"must be a whole number, got {value!r}"
    if isinstance(default, float):
        return None if numeric and math.isfinite(value) else f"must be a number, got {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"must be a string, got {value!r}"
    if isinstance(default, (tuple, list)):
        return None if isinstance(value, (list, tuple)) else f"must be a list, got {value!r}"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else f"must be a mapping, got {value!r}"
    return None


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""
