"""How monerod and monero-wallet-rpc read their command lines: each extra argument resolved to the
option the program will see.

Both programs parse with boost::program_options in its default style, which takes any unambiguous
prefix of a long option for the option itself (``--zmq-pu=...`` is ``--zmq-pub``, ``--detach`` could be
written ``--deta``), takes a value either after ``=`` or as the next argument, refuses an ambiguous
prefix or an unknown option, and hands an argument that is no option's value to monerod as a daemon
command (monerod then sends it to another node and exits). A rule about an option therefore holds
only when it is applied to the resolved name: :func:`parse` resolves a list of arguments the way
boost does.

The option lists are data shipped beside this module (``monerod.options``,
``monero-wallet-rpc.options``): the long options of v0.18 as its ``--help`` prints them, read out by
:func:`options_in_help`. ``tests/unit/test_monero_options.py`` checks them against the installed
binaries, so a Monero release that adds or renames an option is noticed there (and writes them again
with ``MONEROSIM_REGEN_MONERO_OPTIONS=1``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from monerosim_actors.scenario.checks import suggest

Program = Literal["monerod", "monero-wallet-rpc"]

MONERO_VERSION = "v0.18"
"""The release the option lists come from."""

_HELP_LINE = re.compile(r"^  (--[A-Za-z0-9][A-Za-z0-9_-]*)( arg)?(?:\s|$)")
"""An option's line in ``--help``: two spaces, the long name, `` arg`` when it takes a value. The
description's continuation lines are indented further."""


@dataclass(frozen=True, slots=True)
class Argument:
    """One option of an argument list, resolved."""

    index: int
    """Where the option is in the list (its value, if given separately, is the next item)."""
    written: str
    """The option as written, without ``=value``: ``--zmq-pu``."""
    option: str
    """The option the program sees: ``--zmq-pub``."""
    value: str | None = None
    """Its value, given after ``=`` or as the next item; None for an option given none."""

    @property
    def named(self) -> str:
        """How a message names it: as written, and what that stands for when it is a prefix."""
        return self.option if self.written == self.option else f"{self.written} (that is {self.option})"


@dataclass(frozen=True, slots=True)
class Problem:
    """An argument the program would refuse, or take for something other than an option."""

    index: int
    message: str


def options_in_help(text: str) -> dict[str, bool]:
    """The long options a ``--help`` text lists, in its order: name -> whether it takes a value."""
    return {m[1]: bool(m[2]) for m in map(_HELP_LINE.match, text.splitlines()) if m}


@functools.cache
def options(program: Program) -> dict[str, bool]:
    """The shipped option list of ``program``: name -> whether it takes a value."""
    text = resources.files("monerosim_actors.scenario").joinpath(f"{program}.options").read_text(encoding="utf-8")
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, arg = line.partition(" ")
            found[name] = arg == "arg"
    return found


def resolve(program: Program, name: str) -> str:
    """The option ``name`` (``--`` and all, no ``=value``) stands for, as boost resolves it.

    Raises:
        ValueError: ``name`` is no option of ``program``, or a prefix of several (the message says
            which, and what was probably meant).
    """
    known = options(program)
    if name in known:
        return name
    matches = [option for option in known if option.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:4]) + (f" and {len(matches) - 4} more" if len(matches) > 4 else "")
        raise ValueError(f"{name} is ambiguous: it begins {shown}, and {program} would refuse to start; "
                         "write the whole option")
    raise ValueError(f"{name} is not an option of {program} {MONERO_VERSION}{suggest(name, known)}")


def parse(program: Program, args: Sequence[str]) -> tuple[list[Argument], list[Problem]]:
    """The options of ``args`` resolved, and what the program would refuse or misread.

    An option that takes a value takes it after ``=`` or as the next item (which may not begin with
    ``--``: write ``--option=--value`` for that); an item that is neither an option nor such a value
    is a problem, and so are an unknown or ambiguous option, a value given to an option that takes
    none, and an option whose value is missing.
    """
    found: list[Argument] = []
    problems: list[Problem] = []
    i = 0
    while i < len(args):
        item = args[i]
        name, has_value, given = item.partition("=")
        if not name.startswith("--") or name == "--":
            problems.append(Problem(i, f"{item!r} is neither an option (--name, --name=value) nor the value of "
                                       f"the option before it{_STRAY[program]}"))
            i += 1
            continue
        try:
            option = resolve(program, name)
        except ValueError as e:
            problems.append(Problem(i, str(e)))
            i += 1
            continue
        takes_value = options(program)[option]
        value_next = takes_value and not has_value and i + 1 < len(args) and not args[i + 1].startswith("--")
        arg = Argument(i, name, option, given if has_value else args[i + 1] if value_next else None)
        found.append(arg)
        if has_value and not takes_value:
            problems.append(Problem(i, f"{arg.named} takes no value, and {program} would refuse {item!r}"))
        elif takes_value and not has_value:
            if value_next:
                i += 1
            else:
                problems.append(Problem(i, f"{arg.named} needs a value: give it as the next item (not one "
                                           f"beginning with --) or as {name}=VALUE"))
        i += 1
    return found, problems


_STRAY: dict[Program, str] = {
    "monerod": ": monerod would take it as a daemon command, send it to another node and exit",
    "monero-wallet-rpc": ": monero-wallet-rpc would refuse it",
}
