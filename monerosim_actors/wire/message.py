"""Message types and their registry: what a bus frame's ``type`` may name.

A message type is a frozen dataclass that subclasses :class:`Message` with its wire name as a class
keyword; defining it registers it, so a module's message types are known to every host that
imports the module (the plan names those modules, see ``Plan.message_modules``)::

    @dataclass(frozen=True, slots=True)
    class Hello(Message, kind="hello"):
        greeting: str

Field types are what :mod:`monerosim_actors.wire.codec` can check: ``int``, ``float``, ``str``,
``bool`` and ``tuple[X, ...]`` of those (:func:`field_type`). Defining a class with any other field
type (``list[int]``, ``int | None``, a dict) is a ``TypeError`` at once, not a message that every
receiver drops. Names follow the house rule: commands are imperative (``MineBlocks``), facts past
tense (``BlocksMined``). Amounts are atomic units (1 XMR = 10**12).
"""

from __future__ import annotations

import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

SCALARS = (int, float, str, bool)
"""The field types the codec checks; a field may also be ``tuple[X, ...]`` of one of them."""

MESSAGE_TYPES: dict[str, type[Message]] = {}
"""Wire name -> message class, filled as message modules are imported."""


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message body; a subclass names its wire ``type`` with the ``kind`` keyword."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, /, kind: str | None = None, **kwargs: Any) -> None:
        # (not bare super(): dataclass(slots=True) rebuilt Message, and the method's __class__ cell
        # still names the class it replaced)
        super(Message, cls).__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind
        elif "kind" not in cls.__dict__:
            raise TypeError(f"message class {cls.__qualname__} needs a wire name: "
                            f"class {cls.__name__}(Message, kind=\"...\")")
        _check_annotations(cls)
        _register(cls)


def field_type(owner: str, name: str, tp: Any) -> tuple[type, type | None]:
    """``(tp, None)`` for a scalar field, ``(tuple, X)`` for ``tuple[X, ...]``.

    Raises:
        TypeError: the codec cannot check a value of ``tp`` (naming ``owner.name`` and what is allowed).
    """
    if tp in SCALARS:
        return tp, None
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in SCALARS:
        return tuple, args[0]
    raise TypeError(f"message field {owner}.{name}: {tp!r} cannot go on the wire; use int, float, str, bool "
                    f"or tuple[X, ...] of those")


def _check_annotations(cls: type) -> None:
    """Every field of ``cls`` declared here has a type the codec checks. Annotations that name
    something defined later in the module cannot be read yet: the codec checks them on first use."""
    own = types.SimpleNamespace(__annotations__=dict(cls.__dict__.get("__annotations__", {})))
    module = sys.modules.get(cls.__module__)
    try:
        hints = typing.get_type_hints(own, vars(module) if module else None)
    except NameError:
        return
    for name, tp in hints.items():
        if tp is not ClassVar and typing.get_origin(tp) is not ClassVar:
            field_type(cls.__qualname__, name, tp)


def _register(cls: type[Message]) -> None:
    """Add ``cls`` under its kind. ``dataclass(slots=True)`` builds the class a second time (same
    module and name, ``kind`` already set; its ``__qualname__`` is only set afterwards): that one
    replaces the first. Any other class under a kind already taken is an error, so two modules
    cannot silently speak one name, and a module imported under two names is caught."""
    if not cls.kind:
        raise TypeError(f"message class {cls.__qualname__}: empty kind")
    known = MESSAGE_TYPES.get(cls.kind)
    if known is not None and (known.__module__, known.__name__) != (cls.__module__, cls.__name__):
        raise TypeError(f"message kind {cls.kind!r} of {cls.__module__}.{cls.__qualname__} is already "
                        f"registered by {known.__module__}.{known.__qualname__}")
    MESSAGE_TYPES[cls.kind] = cls


@dataclass(frozen=True, slots=True)
class Ping(Message, kind="ping"):
    """The bus answers itself with :class:`Pong` carrying the same ``seq`` and ``payload``."""

    seq: int
    payload: str


@dataclass(frozen=True, slots=True)
class Pong(Message, kind="pong"):
    seq: int
    payload: str
