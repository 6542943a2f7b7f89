"""Event names: ``EventName`` and ``docs/events.md`` list the same events, and the project emits
none by a bare string (a user-defined role may, as the example role does; the runtime, the shipped
roles and the services use the names, so that a renamed event cannot leave its readers counting a
name nobody writes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from monerosim_actors.events.names import EventName

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "events.md"
PACKAGES = ("monerosim_actors", "actors", "coordination")
USER_DEFINED = "<!-- user-defined roles below"
"""The line of docs/events.md after which the events are those of user-defined roles."""
USER_DEFINED_ROLES = {"actors/example_browser.py"}
"""Roles that show how a user-defined role is written: they emit names of their own, as strings."""
EMITTERS = {"emit", "emit_deferred", "_emit_message"}
"""Calls whose event name is an argument: the event log's ``emit(actor, event, ...)`` and
``emit_deferred``, the bus's alias of them, and a role's ``emit(event, ...)``."""


def documented_events(text: str) -> set[str]:
    """The first column of every table whose header's first column is ``event``, up to the events
    of user-defined roles."""
    names: set[str] = set()
    in_table = False
    for line in text.split(USER_DEFINED)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if not cells:
            in_table = False
        elif cells[0] == "event":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            match = re.fullmatch(r"`([a-z_]+)`", cells[0])
            assert match, f"docs/events.md: not an event name in an event table: {line}"
            names.add(match[1])
    return names


def test_documented_events_are_read_from_the_tables() -> None:
    text = ("| event | fields |\n|---|---|\n| `a_b` | x |\n| `c` | y |\n\n"
            "| `reason` | exit |\n|---|---|\n| `not_an_event` | 1 |\n\n"
            f"{USER_DEFINED} -->\n| event | fields |\n|---|---|\n| `their_own` | x |\n")
    assert documented_events(text) == {"a_b", "c"}


def test_every_documented_event_is_a_name_and_every_name_is_documented() -> None:
    documented = documented_events(DOC.read_text(encoding="utf-8"))
    names = {str(name) for name in EventName}
    assert len(documented) > 35
    assert sorted(documented - names) == [], "documented in docs/events.md but not an EventName"
    assert sorted(names - documented) == [], "an EventName that docs/events.md does not document"


def literal_emits(source: str) -> list[str]:
    """``line: name`` of every emit call whose event name is a string literal.

    The event name is the last positional argument: the only one of a role's ``emit(event, **fields)``,
    the second of the event log's ``emit(actor, event, **fields)``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in EMITTERS:
            continue
        event = node.args[-1] if len(node.args) in (1, 2) else None
        if isinstance(event, ast.Constant) and isinstance(event.value, str):
            found.append(f"{node.lineno}: {event.value}")
    return found


def test_the_scan_finds_literal_event_names() -> None:
    source = ('self.emit("x", a=1)\nlog.emit(ACTOR, "y")\nself._emit_message(ACTOR, "z")\n'
              'self.emit(EventName.BLOCK_SEEN)\nlog.emit("runtime", EventName.MSG_SENT)\nprint("emit")\n')
    assert literal_emits(source) == ["1: x", "2: y", "3: z"]


def test_no_event_is_emitted_by_a_bare_string() -> None:
    sources = sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py")
                     if str(p.relative_to(REPO)) not in USER_DEFINED_ROLES)
    assert len(sources) > 30
    found = [f"{path.relative_to(REPO)}:{where}" for path in sources
             for where in literal_emits(path.read_text(encoding="utf-8"))]
    assert found == [], "use EventName (monerosim_actors.role exports it) and document the event"
