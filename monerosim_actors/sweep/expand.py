"""A checked sweep into runs: grid x points x seeds, each run a scenario file and a generated folder.

Every run's scenario is the base scenario's YAML data with the run's values set at their key paths,
its seed as ``simulation.seed``, and relative file paths made absolute (the file is written elsewhere
than the base). Each one is loaded and laid out with the project's own reader and planner before
anything is written, so a value that makes a bad scenario is reported at its line of the sweep file,
together with every other problem, and nothing is written. The same sweep file (and base scenario)
gives byte-identical files.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import yaml

from monerosim_actors.errors import OutputError, Problem, ScenarioError
from monerosim_actors.plan.model import Plan
from monerosim_actors.sweep import index
from monerosim_actors.sweep.spec import Parameter, SweepSpec, read_sweep
from monerosim_actors.scenario.source import Path, format_path, load_text

LAST_SECOND_BYTE = 254
PATH_KEYS: tuple[Path, ...] = (("network", "topology", "file"), ("monero", "monerod"),
                               ("monero", "wallet_rpc"), ("python",))
"""Scenario keys holding a file path, read relative to the scenario (a bare name is looked up on PATH)."""


@dataclass(frozen=True)
class Point:
    """One combination of values; ``lines`` gives the sweep file's line of each value."""

    id: str
    params: tuple[tuple[Parameter, Any], ...]
    lines: tuple[int | None, ...]

    def describe(self) -> str:
        return ", ".join(f"{p.key}={v!r}" for p, v in self.params) or "the base scenario"


@dataclass(frozen=True)
class Run:
    """One run, checked: its scenario file's text and its plan (built for its folder)."""

    entry: index.RunEntry
    scenario_text: str
    plan: Plan


@dataclass(frozen=True)
class Expansion:
    """What :func:`write` puts into a sweep folder."""

    index: index.SweepIndex
    runs: tuple[Run, ...]
    sweep_text: bytes
    """The sweep file as given, copied into the folder."""


def points(spec: SweepSpec) -> list[Point]:
    """Every grid combination (the last grid key varying fastest) with every explicit point."""
    grid = [[(param, v, spec.line(("grid", param.written, i))) for i, v in enumerate(values)]
            for param, values in spec.grid]
    explicit = [[(param, v, spec.line(("points", j, param.written))) for param, v in point]
                for j, point in enumerate(spec.points)] or [[]]
    combos = [list(g) + e for g in itertools.product(*grid) for e in explicit]
    width = max(2, len(str(len(combos) - 1)))
    return [Point(id=f"p{i:0{width}d}", params=tuple((p, v) for p, v, _ in combo),
                  lines=tuple(line for _, _, line in combo))
            for i, combo in enumerate(combos)]


def expand_file(path: str, out_dir: str) -> Expansion:
    """Read the sweep file at ``path`` and build its runs for ``out_dir`` (absolute).

    Raises:
        ScenarioError: every problem of the sweep file and of the scenarios its values make.
    """
    sweep, problems = read_sweep(path)
    if sweep is None:
        raise ScenarioError(problems)
    return expand(sweep, out_dir, problems)


def expand(spec: SweepSpec, out_dir: str, earlier: list[Problem] | None = None) -> Expansion:
    """Build every run of ``spec`` for the sweep folder ``out_dir`` (absolute), checking each one.

    ``earlier`` are the sweep file's own problems: the runs are still built (with the seed 1 when
    no seed is usable) to find the rest, and all are raised together.

    Raises:
        ScenarioError: the sweep file is wrong (``earlier``), the base scenario is wrong (its own
            problems, at its own lines), or values make wrong scenarios (each reported at its line of
            the sweep file, once).
    """
    from monerosim_actors.backends import resources
    from monerosim_actors.role.params import check_role_config
    from monerosim_actors.scenario.load import load_scenario

    load_checked = functools.partial(load_scenario, role_config=check_role_config)
    try:
        load_checked(spec.scenario)
    except ScenarioError as e:  # the base's own problems, at the base's own lines
        raise ScenarioError([*(earlier or []), *e.problems]) from None
    with open(spec.scenario, encoding="utf-8") as f:
        base_data = load_text(f.read()).data
    with open(spec.file, "rb") as f:
        sweep_text = f.read()
    problems: list[Problem] = list(earlier or [])
    seeds = spec.seeds or (1,)
    runs: list[Run] = []
    all_points = points(spec)
    with tempfile.TemporaryDirectory(prefix="monerosim-sweep-") as scratch:
        for number, point in enumerate(all_points):
            data = copy.deepcopy(base_data)
            bad = _apply(spec, point, data)
            problems += bad
            _absolute_paths(data, os.path.dirname(spec.scenario))
            for seed_number, seed in enumerate(seeds):
                run_id = f"{point.id}-s{seed}"
                data.setdefault("simulation", {})["seed"] = seed
                text = _scenario_text(spec, point, seed, data)
                run_number = number * len(seeds) + seed_number
                address = local_address(spec.first_address, run_number) if spec.backend == "local" else None
                folder = os.path.join(out_dir, index.RUNS_DIR, run_id)
                try:
                    plan = _plan(text, scratch, os.path.join(folder, index.OUT_DIR), address, load_checked)
                except ScenarioError as e:
                    problems += [_locate(spec, point, p) for p in e.problems]
                    continue
                memory = spec.memory_mb or resources.estimate(plan).total_mb
                entry = index.RunEntry(id=run_id, point=point.id, seed=seed,
                                       params={p.key: v for p, v in point.params}, memory_mb=memory,
                                       hosts=len(plan.hosts), first_address=address)
                runs.append(Run(entry=entry, scenario_text=text, plan=plan))
    unique = sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)  # in file order, each once
    if unique:
        raise ScenarioError(unique)
    sweep_index = index.SweepIndex(
        sweep_file=os.path.abspath(spec.file), scenario=spec.scenario, backend=spec.backend,
        time_scale=spec.time_scale, shadow_bin=spec.shadow_bin, cores=spec.cores, retries=spec.retries,
        logs=spec.logs,
        parameters=tuple(p.key for p in spec.parameters), seeds=spec.seeds,
        points=tuple((p.id, {k.key: v for k, v in p.params}) for p in all_points),
        runs=tuple(r.entry for r in runs))
    return Expansion(index=sweep_index, runs=tuple(runs), sweep_text=sweep_text)


def local_address(first: str, run_number: int) -> str:
    """The first host address of a local run: ``first`` with its second byte moved on by the run's
    number (wrapping before 127.255), so that runs sharing a machine never share addresses (a run
    has at most 100,000 hosts, fewer than one second byte holds)."""
    _, b, c, d = (int(p) for p in first.split("."))
    return f"127.{b + run_number % (LAST_SECOND_BYTE + 1 - b)}.{c}.{d}"


def _apply(spec: SweepSpec, point: Point, data: Any) -> list[Problem]:
    """Set each of the point's values in ``data`` (creating missing mappings on the way); what cannot
    be set is a problem at the value's line."""
    problems = []
    for (param, value), line in zip(point.params, point.lines):
        node = data
        for depth, part in enumerate(param.path):
            last = depth == len(param.path) - 1
            where = format_path(param.path[:depth]) or "the scenario"
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    size = f"a list of {len(node)}" if isinstance(node, list) else "not a list"
                    problems.append(Problem(spec.file, line, param.key,
                                            f"cannot set item [{part}]: {where} is {size} in the base scenario"))
                    break
            elif not isinstance(node, dict):
                problems.append(Problem(spec.file, line, param.key,
                                        f"cannot set {part!r}: {where} is not a mapping in the base scenario"))
                break
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if isinstance(node, dict) and node.get(part) is None:
                    node[part] = {}
                node = node[part]
    return problems


def _absolute_paths(data: Any, base_dir: str) -> None:
    """Make the scenario's relative file paths absolute, as the base scenario's folder reads them."""
    for path in PATH_KEYS:
        node = data
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        value = node.get(path[-1])
        bare_name = path[-1] != "file" and "/" not in str(value)
        if isinstance(value, str) and value and not os.path.isabs(value) and not bare_name:
            node[path[-1]] = os.path.normpath(os.path.join(base_dir, value))


def _scenario_text(spec: SweepSpec, point: Point, seed: int, data: Any) -> str:
    header = (f"# Run {point.id}-s{seed} of the sweep {os.path.abspath(spec.file)}\n"
              f"# base scenario {spec.scenario}; {point.describe()}; seed {seed}\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _plan(text: str, scratch: str, out: str, address: str | None, load: Any) -> Plan:
    """Load ``text`` as a scenario and lay it out for ``out`` (the local backend's addressing when
    ``address`` is given, as ``run`` will). It is read from a scratch file (nothing may be written
    before every run is checked); the plan names the file it will be in, beside ``out``."""
    from monerosim_actors.plan.planner import build_plan

    path = os.path.join(scratch, index.SCENARIO_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    scenario = dataclasses.replace(load(path), path=os.path.join(os.path.dirname(out), index.SCENARIO_FILE))
    if address is None:
        return build_plan(scenario, addressing="shadow", out_dir=out)
    return build_plan(scenario, addressing="loopback", first_address=address, out_dir=out)


def _locate(spec: SweepSpec, point: Point, problem: Problem) -> Problem:
    """A problem of a run's scenario, moved to the sweep file: at the line of the value it is about,
    else at the point's first value, naming the point."""
    for (param, _), line in zip(point.params, point.lines):
        if problem.path == param.key or problem.path.startswith((param.key + ".", param.key + "[")):
            return Problem(spec.file, line, problem.path, problem.message)
    line = point.lines[0] if point.lines else spec.line(("scenario",))
    return Problem(spec.file, line, problem.path, f"{problem.message} (with {point.describe()})")


def refuse_non_empty(out_dir: str) -> None:
    """A sweep is written only into a new or empty folder.

    Raises:
        OutputError: ``out_dir`` is a file, or a folder with something in it.
    """
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
        hint = f"; run what is missing of it with --resume {out_dir}" if index.is_sweep(out_dir) else ""
        raise OutputError(f"{out_dir} is not empty: give another folder{hint}")


def write(expansion: Expansion, out_dir: str) -> None:
    """Write the sweep folder: each run's scenario and generated folder, then ``sweep.json`` last (a
    folder without it is no sweep). A failure removes what was written.

    Raises:
        OutputError: ``out_dir`` is not empty, or cannot be written.
    """
    from monerosim_actors.shadow.write import write_output

    refuse_non_empty(out_dir)
    created = not os.path.exists(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, index.SWEEP_COPY), "wb") as f:
            f.write(expansion.sweep_text)
        for run in expansion.runs:
            folder = run.entry.folder(out_dir)
            folder.mkdir(parents=True)
            (folder / index.SCENARIO_FILE).write_text(run.scenario_text, encoding="utf-8")
            write_output(run.plan, str(folder / index.OUT_DIR))
        with open(os.path.join(out_dir, index.INDEX_FILE), "w", encoding="utf-8") as f:
            f.write(json.dumps(expansion.index.to_json(), indent=2) + "\n")
    except OSError as e:
        _remove(out_dir, created)
        raise OutputError(f"cannot write {out_dir}: {e}") from None
    except BaseException:
        _remove(out_dir, created)
        raise


def _remove(out_dir: str, created: bool) -> None:
    if created:
        shutil.rmtree(out_dir, ignore_errors=True)
    else:
        for name in os.listdir(out_dir):
            target = os.path.join(out_dir, name)
            shutil.rmtree(target) if os.path.isdir(target) else os.unlink(target)
