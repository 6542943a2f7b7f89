"""The sweep file: one YAML file turned into a checked :class:`SweepSpec`, every problem reported at once.

A sweep names a base scenario, the parameters to vary (``grid``: every combination of the values
given per key path; ``points``: explicit combinations), the seeds, the backend and what each run
claims of a machine. It is read with the scenario's own machinery (:mod:`monerosim_actors.scenario.source`
for the line of every key, :class:`~monerosim_actors.scenario.checks.Checker` to collect the problems,
:class:`ScenarioError` for the report), so a bad sweep file reads like a bad scenario:
``FILE:LINE: key.path: what is wrong``, with a "did you mean".

Whether the varied values make valid scenarios is checked by :mod:`.expand`, which builds every run.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, get_args

from monerosim_actors.errors import Problem, ScenarioError
from monerosim_actors.vocabulary import Backend
from monerosim_actors.scenario.checks import Checker, type_name, unknown_key
from monerosim_actors.scenario.model import MAX_SEED
from monerosim_actors.scenario.source import Path, Source, YamlSyntaxError, format_path, load_text

KEYS = ("scenario", "seeds", "grid", "points", "backend", "time_scale", "first_address", "shadow_bin",
        "resources", "logs")
LOGS = ("none", "compressed")
"""``logs``: what a worker that cannot see the sweep folder sends home besides the run's analysis."""
RESOURCE_KEYS = ("memory", "cores", "retries")
BACKENDS = get_args(Backend)
MAX_RUNS = 10_000
"""Runs a sweep may expand to; a typo in a grid should be an error, not a week of simulation."""
MAX_RETRIES = 10
MAX_CORES = 4096
FIRST_ADDRESS = "127.100.0.1"
MAX_SECOND_BYTE = 240
"""So that at least 15 runs at once get ranges of their own."""
"""The local backend's first run starts its hosts here; run k at 127.(100 + k).0.1 (see :mod:`.expand`),
away from ``run``'s default 127.10.0.1 and the tests' 127.30 and 127.60."""
OWNED_KEYS = {"simulation.seed": "vary it with 'seeds', which every point is run with"}
"""Key paths a sweep may not vary, and why."""

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(MiB|GiB|MB|GB)\s*$")
_SIZE_MIB = {"MiB": 1.0, "GiB": 1024.0, "MB": 1e6 / 2**20, "GB": 1e9 / 2**20}


@dataclass(frozen=True)
class Parameter:
    """One varied key: as the user wrote it (``network.consensus.block_time``) and as a key path."""

    key: str
    path: Path
    written: str
    """The key as the file spells it (its lines are kept by that spelling)."""


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file.

    ``grid`` values and ``points`` are kept as the file gives them (YAML values, in file order): the
    runs are built from them in :mod:`.expand`, which needs the file's lines to report a value that
    makes a bad scenario, hence ``source``.
    """

    file: str
    """The sweep file's path as the user gave it (problems name it so)."""
    scenario: str
    """Absolute path of the base scenario."""
    seeds: tuple[int, ...]
    grid: tuple[tuple[Parameter, tuple[Any, ...]], ...]
    points: tuple[tuple[tuple[Parameter, Any], ...], ...]
    """Explicit points, each a tuple of (parameter, value) with the same parameters in each."""
    backend: str
    time_scale: float
    first_address: str
    """The local backend's first host address of the first run; each run moves the second byte on."""
    shadow_bin: str | None
    memory_mb: int | None
    """What each run claims of a worker's memory; None: the run's own estimate (the plan's)."""
    cores: int
    retries: int
    """How many times a run whose worker died is started again before it counts as failed."""
    source: Source
    logs: str = "none"
    """``compressed``: a worker that cannot see the sweep folder sends the run's logs home too."""

    def line(self, path: Path) -> int | None:
        """The sweep file's line of ``path`` (or of its nearest ancestor in the file)."""
        return self.source.line(path)

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Every varied parameter, grid first, in file order."""
        explicit = tuple(p for p, _ in self.points[0]) if self.points else ()
        return tuple(p for p, _ in self.grid) + explicit


def load_sweep(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and check a sweep file (not yet the scenarios it makes: see :func:`.expand.expand`).

    Raises:
        ScenarioError: listing every problem found (the file unreadable, not YAML, or wrong).
    """
    spec, problems = read_sweep(path)
    if problems or spec is None:
        raise ScenarioError(problems)
    return spec


def read_sweep(path: str | os.PathLike[str]) -> tuple[SweepSpec | None, list[Problem]]:
    """The sweep file's problems, and a spec made of its usable parts (None without a base scenario),
    so that the scenarios it makes can be checked too and every problem reported in one go."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return None, [Problem(file, None, "", f"cannot read the sweep file: {e}")]
    try:
        src = load_text(text)
    except YamlSyntaxError as e:
        return None, [Problem(file, e.line, "", str(e))]
    reader = _Reader(file, src)
    spec = reader.spec()
    return spec, reader.problems


def parse_key(key: str) -> Path:
    """``network.agents.mining_pools[1].hashrate_share`` -> ``("network", ..., 1, "hashrate_share")``.

    Raises:
        ValueError: the key is not a dotted key path.
    """
    path: list[str | int] = []
    for segment in key.split("."):
        m = _SEGMENT.fullmatch(segment)
        if m is None:
            raise ValueError(f"{key!r} is not a key path: write keys separated by '.', list items as "
                             "[N], e.g. network.agents.mining_pools[0].hashrate_share")
        path.append(m.group(1))
        path.extend(int(i) for i in _INDEX.findall(m.group(2)))
    return tuple(path)


def memory_mib(value: object) -> int:
    """A memory size in MiB: a number of MiB, or a string such as ``"2 GiB"``, ``"1500 MiB"``, ``"4 GB"``.

    Raises:
        ValueError: with a message fit for the user.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return math.ceil(value)
    m = _SIZE.match(value) if isinstance(value, str) else None
    if m is None or not float(m.group(1)) > 0:
        raise ValueError(f"must be 'auto', a number of MiB > 0, or a size like \"2 GiB\" or \"1500 MiB\", "
                         f"got {value!r}")
    return math.ceil(float(m.group(1)) * _SIZE_MIB[m.group(2)])


def _whole(value: object, low: int, high: int) -> int | None:
    """``value`` when it is a whole number within low..high, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


class _Reader(Checker):
    """Checks the document once, collecting problems (the scenario's checker, another document)."""

    def spec(self) -> SweepSpec | None:
        self.report_duplicates()
        root = self.src.data
        if not isinstance(root, dict):
            self.fail((), f"a sweep file is a mapping with at least 'scenario' and 'seeds', got {type_name(root)}")
            return None
        for key in root:
            if key not in KEYS:
                self.fail((key,), unknown_key(str(key), KEYS))
        for key in ("scenario", "seeds"):
            if key not in root:
                self.fail((), f"{key!r} is required")
        scenario = self.scenario(root.get("scenario"))
        seeds = self.seeds(root.get("seeds"))
        grid = self.grid(root.get("grid"))
        points = self.points(root.get("points"), {p.key for p, _ in grid})
        backend = root.get("backend", "local")
        if backend not in BACKENDS:
            self.fail(("backend",), f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
        time_scale = self.time_scale(root, backend)
        first_address = self.first_address(root.get("first_address", FIRST_ADDRESS), backend)
        shadow_bin = root.get("shadow_bin")
        if shadow_bin is not None and (not isinstance(shadow_bin, str) or not shadow_bin):
            self.fail(("shadow_bin",), f"must be the path of the Shadow binary, got {type_name(shadow_bin)} "
                                       f"{shadow_bin!r}")
        elif shadow_bin is not None and backend != "shadow":
            self.fail(("shadow_bin",), "applies to backend: shadow only")
        memory, cores, retries = self.resources(root.get("resources"))
        logs = root.get("logs", "none")
        if logs not in LOGS:
            self.fail(("logs",), f"must be one of {', '.join(LOGS)}, got {logs!r}")
        n_points = max(1, math.prod(len(v) for _, v in grid)) * max(1, len(points))
        if seeds and n_points * len(seeds) > MAX_RUNS:
            self.fail((), f"the sweep expands to {n_points * len(seeds)} runs ({n_points} points x "
                          f"{len(seeds)} seeds); at most {MAX_RUNS} are allowed")
        if scenario is None:
            return None
        return SweepSpec(file=self.file, scenario=scenario, seeds=seeds, grid=grid, points=points,
                         backend=backend, time_scale=time_scale, first_address=first_address,
                         shadow_bin=shadow_bin, memory_mb=memory,
                         cores=cores, retries=retries, source=self.src, logs=logs if logs in LOGS else "none")

    def scenario(self, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(("scenario",), f"must be the path of the base scenario, got {type_name(value)} {value!r}")
            return None
        full = os.path.normpath(os.path.join(self.base, value))
        if not os.path.isfile(full):
            self.fail(("scenario",), f"{full}: no such file (a relative path is read from the sweep file's folder)")
            return None
        return full

    def seeds(self, value: object) -> tuple[int, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.fail(("seeds",), f"must be a non-empty list of whole numbers, got {type_name(value)} {value!r}")
            return ()
        seeds: list[int] = []
        for i, seed in enumerate(value):
            checked = _whole(seed, 0, MAX_SEED)
            if checked is None:
                self.fail(("seeds", i), f"must be a whole number within 0..{MAX_SEED}, got {seed!r}")
            elif checked in seeds:
                self.fail(("seeds", i), f"seed {checked} is given twice")
            else:
                seeds.append(checked)
        return tuple(seeds)

    def parameter(self, key: object, path: Path) -> Parameter | None:
        if not isinstance(key, str):
            self.fail(path, f"a parameter is a key path of the scenario, got {type_name(key)} {key!r}")
            return None
        try:
            parsed = parse_key(key)
        except ValueError as e:
            self.fail(path, str(e))
            return None
        name = format_path(parsed)
        if name in OWNED_KEYS:
            self.fail(path, f"cannot be varied: {OWNED_KEYS[name]}")
            return None
        return Parameter(key=name, path=parsed, written=key)

    def grid(self, value: object) -> tuple[tuple[Parameter, tuple[Any, ...]], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict) or not value:
            self.fail(("grid",), f"must be a mapping of key paths to lists of values, got {type_name(value)}")
            return ()
        out = []
        for key, values in value.items():
            param = self.parameter(key, ("grid", key))
            if not isinstance(values, list) or not values:
                self.fail(("grid", key), f"must be a non-empty list of values, got {type_name(values)} {values!r}")
                continue
            for i, v in enumerate(values):
                self.plain(v, ("grid", key, i))
                if v in values[:i]:
                    self.fail(("grid", key, i), f"{v!r} is given twice (the same runs would be made twice)")
            if param is not None:
                if param.key in {p.key for p, _ in out}:
                    self.fail(("grid", key), f"{param.key} is given twice (as {key!r})")
                out.append((param, tuple(values)))
        return tuple(out)

    def points(self, value: object, in_grid: set[str]) -> tuple[tuple[tuple[Parameter, Any], ...], ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.fail(("points",), f"must be a non-empty list of mappings (key path: value), got {type_name(value)}")
            return ()
        out: list[tuple[tuple[Parameter, Any], ...]] = []
        first: list[str] | None = None
        for i, point in enumerate(value):
            if not isinstance(point, dict) or not point:
                self.fail(("points", i), f"must be a non-empty mapping (key path: value), got {type_name(point)}")
                continue
            pairs = []
            for key, v in point.items():
                param = self.parameter(key, ("points", i, key))
                if param is None:
                    continue
                if param.key in in_grid:
                    self.fail(("points", i, key), f"{param.key} is varied in 'grid' already")
                    continue
                self.plain(v, ("points", i, key))
                pairs.append((param, v))
            keys = [p.key for p, _ in pairs]
            if first is None:
                first = keys
            elif sorted(keys) != sorted(first):
                self.fail(("points", i), f"gives {', '.join(keys) or 'nothing'}, but the first point gives "
                                         f"{', '.join(first)}: every point must vary the same keys")
                continue
            ordered = tuple(sorted(pairs, key=lambda pv: first.index(pv[0].key)))  # type: ignore[union-attr]
            if ordered in out:
                self.fail(("points", i), f"the same as point {out.index(ordered)}")
                continue
            out.append(ordered)
        return tuple(out)

    def plain(self, value: object, path: Path) -> None:
        """Report a value that sweep.json cannot hold (a YAML date, say): only plain YAML values are kept."""
        if isinstance(value, list):
            for i, v in enumerate(value):
                self.plain(v, path + (i,))
        elif isinstance(value, dict):
            for k, v in value.items():
                self.plain(v, path + (k,))
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            self.fail(path, f"must be a number, string, boolean, list or mapping, got {type_name(value)} {value!r}")
        elif isinstance(value, float) and not math.isfinite(value):
            self.fail(path, f"must be a finite number, got {value!r}")

    def time_scale(self, root: dict[str, Any], backend: object) -> float:
        if "time_scale" not in root:
            return 1.0
        value = root["time_scale"]
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or not math.isfinite(value) or not value > 0:
            self.fail(("time_scale",), f"must be a number > 0, got {value!r}")
            return 1.0
        if backend == "shadow" and value != 1:
            self.fail(("time_scale",), "applies to backend: local only (Shadow's clock is simulated)")
        return float(value)

    def first_address(self, value: object, backend: object) -> str:
        parts = value.split(".") if isinstance(value, str) else []
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts) or parts[0] != "127" \
                or not 11 <= int(parts[1]) <= MAX_SECOND_BYTE:
            self.fail(("first_address",), f"must be a loopback address 127.B.C.D with B within 11..{MAX_SECOND_BYTE} "
                                          f"(run k starts at 127.(B+k).C.D), got {value!r}")
            return FIRST_ADDRESS
        if backend != "local" and "first_address" in self.src.data:
            self.fail(("first_address",), "applies to backend: local only")
        return ".".join(str(int(p)) for p in parts)

    def resources(self, value: object) -> tuple[int | None, int, int]:
        if value is None:
            return None, 1, 1
        if not isinstance(value, dict):
            self.fail(("resources",), f"must be a mapping ({', '.join(RESOURCE_KEYS)}), got {type_name(value)}")
            return None, 1, 1
        for key in value:
            if key not in RESOURCE_KEYS:
                self.fail(("resources", key), unknown_key(str(key), RESOURCE_KEYS))
        memory = None
        if value.get("memory", "auto") != "auto":
            try:
                memory = memory_mib(value["memory"])
            except ValueError as e:
                self.fail(("resources", "memory"), str(e))
        cores = _whole(value.get("cores", 1), 1, MAX_CORES)
        if cores is None:
            self.fail(("resources", "cores"), f"must be a whole number >= 1, got {value.get('cores')!r}")
        retries = _whole(value.get("retries", 1), 0, MAX_RETRIES)
        if retries is None:
            self.fail(("resources", "retries"), f"must be a whole number within 0..{MAX_RETRIES}, "
                                                f"got {value.get('retries')!r}")
        return memory, cores or 1, 1 if retries is None else retries
