"""A role's own state on disk: what a restarted host must remember (the bootstrap is over, which
payments were under way, which ids were used), as one small JSON file per role in the host's data dir.

Writes are atomic (a temporary file, then ``os.replace``) so a host killed at any moment leaves the
old state or the new one, never half of one. Without a data directory (``ctx.data_dir`` is None, as in
role tests with fakes) nothing is read or written.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

log = logging.getLogger(__name__)


def _path(data_dir: str, role: str) -> str:
    return os.path.join(data_dir, f"{role}.state.json")


def load(data_dir: str | None, role: str) -> dict[str, Any]:
    """The role's saved state, or ``{}`` (first run, no data dir, or a file that cannot be read)."""
    if data_dir is None:
        return {}
    try:
        with open(_path(data_dir, role), encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("%s: ignoring unreadable state file: %s", role, e)
        return {}
    return state if isinstance(state, dict) else {}


def save(data_dir: str | None, role: str, state: dict[str, Any]) -> None:
    """Replace the role's saved state with ``state`` (JSON-ready)."""
    if data_dir is None:
        return
    path = _path(data_dir, role)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, sort_keys=True)
    os.replace(tmp, path)
