"""The files of a sweep folder: ``sweep.json`` (what the runs are) and each run's ``run.json`` (how it went).

A sweep folder ``DIR`` holds::

    DIR/sweep.json              the index: backend, resources, parameters, seeds, points and runs
    DIR/sweep.yaml              the sweep file as given
    DIR/runs/RUN/scenario.yaml  the base scenario with the run's parameters and seed applied
    DIR/runs/RUN/out/           what ``gen``/``run`` write for it (the run folder ``analyze`` reads)
    DIR/runs/RUN/run.json       written when the run starts and when it ends: status, exit code, times
    DIR/runs/RUN/run.log        the ``run`` command's output, every attempt
    DIR/runs/RUN/summary.json   a run carried out where DIR is not to be seen: its analysis, sent home
    DIR/runs/RUN/logs.tar.gz    and its logs, compressed, when the sweep file asks for them
    DIR/.storage                a token the workers look for to tell whether they see DIR

``sweep.json`` is the only thing later stages trust about the sweep (tornettools' stage-through-files):
``sweep --resume`` and ``analyze`` read it, never the sweep file. This module reads and writes these
files and imports neither Dask nor pandas, so every stage can use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monerosim_actors.errors import OutputError

INDEX_FILE = "sweep.json"
SWEEP_COPY = "sweep.yaml"
RUNS_DIR = "runs"
SCENARIO_FILE = "scenario.yaml"
OUT_DIR = "out"
STATUS_FILE = "run.json"
LOG_FILE = "run.log"
SUMMARY_FILE = "summary.json"
LOGS_ARCHIVE = "logs.tar.gz"
STORAGE_FILE = ".storage"
FORMAT = 1

RUNNING, DONE, FAILED = "running", "done", "failed"
"""A run's status in its ``run.json``; no ``run.json`` means it never started."""


@dataclass(frozen=True)
class RunEntry:
    """One run of a sweep, as ``sweep.json`` lists it."""

    id: str
    """``p03-s2``: point p03, seed 2; also the name of its folder under ``runs/``."""
    point: str
    seed: int
    params: dict[str, Any]
    """The varied key paths and this run's values (the seed not included)."""
    memory_mb: int
    """What the run claims of a worker's memory (the plan's estimate unless the sweep gives one)."""
    hosts: int
    first_address: str | None
    """The local backend's first host address (each run its own range, so that runs can share a
    machine); None under Shadow."""

    def folder(self, sweep_dir: str | Path) -> Path:
        return Path(sweep_dir) / RUNS_DIR / self.id

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "point": self.point, "seed": self.seed, "params": self.params,
                "memory_mb": self.memory_mb, "hosts": self.hosts, "first_address": self.first_address}


@dataclass(frozen=True)
class SweepIndex:
    """``sweep.json``: everything needed to run (or run again) and analyse the sweep."""

    sweep_file: str
    scenario: str
    backend: str
    time_scale: float
    shadow_bin: str | None
    cores: int
    retries: int
    parameters: tuple[str, ...]
    seeds: tuple[int, ...]
    points: tuple[tuple[str, dict[str, Any]], ...]
    """(point id, {key path: value}) in expansion order."""
    runs: tuple[RunEntry, ...]
    logs: str = "none"
    """The sweep file's ``logs``: ``compressed`` brings a run's logs home from a worker that cannot see DIR."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "sweep_file": self.sweep_file, "scenario": self.scenario,
            "backend": self.backend, "time_scale": self.time_scale, "shadow_bin": self.shadow_bin, "logs": self.logs,
            "resources": {"cores": self.cores, "retries": self.retries},
            "parameters": list(self.parameters), "seeds": list(self.seeds),
            "points": [{"id": pid, "params": params} for pid, params in self.points],
            "runs": [r.to_json() for r in self.runs],
        }


def is_sweep(folder: str | Path) -> bool:
    """Whether ``folder`` is a sweep folder (it has ``sweep.json``)."""
    return (Path(folder) / INDEX_FILE).is_file()


def read_index(folder: str | Path) -> SweepIndex:
    """Read ``DIR/sweep.json``.

    Raises:
        OutputError: there is none, or it is not one this version wrote.
    """
    path = Path(folder) / INDEX_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        return SweepIndex(
            sweep_file=data["sweep_file"], scenario=data["scenario"], backend=data["backend"],
            time_scale=float(data["time_scale"]), shadow_bin=data["shadow_bin"],
            cores=int(data["resources"]["cores"]), retries=int(data["resources"]["retries"]),
            parameters=tuple(data["parameters"]), seeds=tuple(data["seeds"]),
            points=tuple((p["id"], p["params"]) for p in data["points"]),
            runs=tuple(RunEntry(id=r["id"], point=r["point"], seed=r["seed"], params=r["params"],
                                memory_mb=r["memory_mb"], hosts=r["hosts"], first_address=r["first_address"])
                       for r in data["runs"]),
            logs=data.get("logs", "none"))
    except FileNotFoundError:
        raise OutputError(f"{folder} is not a sweep folder: it has no {INDEX_FILE}") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OutputError(f"{path} cannot be read as a sweep index: {e}") from None


def read_status(run_folder: str | Path) -> dict[str, Any] | None:
    """A run's ``run.json``, or None when it has none (never started) or it cannot be read (cut
    short by a crash while being written: :func:`write_json` replaces it whole, so only by hand)."""
    try:
        data = json.loads((Path(run_folder) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (a temporary file renamed over ``path``): a reader never sees half of it,
    even when the writer is killed (a worker, mid-run)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
