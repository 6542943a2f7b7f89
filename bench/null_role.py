"""A role that does nothing: what the host footprint and local growth figures run on their hosts."""

from __future__ import annotations

from typing import Any

import pykka


class NullRole(pykka.ThreadingActor):
    """Started and stopped by the runtime like any role; ignores every message."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()

    def on_receive(self, message: Any) -> None:
        return None
