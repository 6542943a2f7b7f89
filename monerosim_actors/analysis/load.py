"""Reading one run folder: the plan and every host's ``events.jsonl``, into pandas DataFrames.

A run folder is what ``gen`` wrote (``OUT/plan.json``) plus what a backend ran
(``OUT/shadow.data/hosts/HOST/events.jsonl``). Logs are read as they are
(:mod:`monerosim_actors.events.read`, a chunk at a time): a host whose log is missing, or ends
mid-line because the host crashed, is recorded in :attr:`Run.hosts` and the rest is analysed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from monerosim_actors import defaults
from monerosim_actors.errors import OutputError
from monerosim_actors.events.read import LogReader
from monerosim_actors.plan.model import Plan

log = logging.getLogger(__name__)

SHARED_VALUES = ("host", "actor", "event", "type", "src", "dst", "phase", "pool_id", "role")
"""Fields with few distinct values: each distinct value of a log is kept once and shared by its
rows (``json`` makes a new string per occurrence; sharing them cuts the peak memory by a third)."""

LogStatus = Literal["ok", "missing", "truncated"]


@dataclass(frozen=True)
class HostLog:
    """What reading one host's log found, besides its events."""

    host: str
    status: LogStatus
    """``missing``: no events.jsonl; ``truncated``: the file ends mid-line (the host crashed)."""
    lines: int
    """Events read."""
    bad_lines: int
    """Lines that are not a JSON object with an ``event`` (skipped), the cut last line included."""


def read_plan(out_dir: Path) -> Plan:
    """The plan of a run folder.

    Raises:
        OutputError: the folder has no readable plan.json, so it is not a run.
    """
    path = out_dir / defaults.PLAN_FILE
    if not out_dir.is_dir():
        raise OutputError(f"{out_dir}: no such folder")
    if not path.is_file():
        raise OutputError(f"{out_dir} is not a run folder: it has no {defaults.PLAN_FILE} "
                          "(a run folder is what `monerosim-actors gen` or `run` wrote)")
    try:
        return Plan.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as e:
        raise OutputError(f"{path}: not a plan written by monerosim-actors ({e})") from e


def run_choices(plan: Plan, events: dict[str, pd.DataFrame]) -> tuple[Plan, float]:
    """The plan as it ran and the run's time scale K (the local backend's ``--time-scale``, 1 under
    Shadow), from the hosts' ``host_started`` lines (their ``ip`` and ``time_scale``).

    Both are choices the backend makes at run time, so no generated file holds them: the local
    backend places a plan laid out for Shadow's network on loopback (the plan then says so in its
    ``addressing``) and tells each host runtime K. A run without ``host_started`` lines is taken as
    it was planned, at K = 1. Event times ``t`` are the hosts' ``time.time()``: under Shadow the
    simulated clock, locally real time, during which K scenario seconds pass per real second.
    """
    started = events.get("host_started")
    if started is None or not len(started):
        return plan, 1.0
    first = started.sort_values("t").iloc[0]
    scale = first.get("time_scale")
    time_scale = float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0
    try:
        loopback = ipaddress.IPv4Address(str(first.get("ip"))).is_loopback
    except ValueError:
        loopback = plan.addressing == "loopback"
    if loopback and plan.addressing != "loopback":
        plan = dataclasses.replace(plan, addressing="loopback")
    return plan, time_scale


def read_host_log(path: Path, host: str) -> tuple[dict[str, list[pd.DataFrame]], HostLog]:
    """Every event of one host's log, as one DataFrame per chunk and event name.

    Columns are ``t``, ``host``, ``actor``, ``event`` and the event's own fields, as logged.
    """
    if not path.is_file():
        return {}, HostLog(host, "missing", 0, 0)
    reader = LogReader(path)
    frames: dict[str, list[pd.DataFrame]] = defaultdict(list)
    shared: dict[str, str] = {}
    for chunk in reader.chunks(final=True):
        by_name: dict[str, list[dict]] = defaultdict(list)
        for event in chunk:
            for key in SHARED_VALUES:
                value = event.get(key)
                if type(value) is str:
                    event[key] = shared.setdefault(value, value)
            by_name[event["event"]].append(event)
        for name, rows in by_name.items():
            frames[name].append(pd.DataFrame(rows))
    if reader.torn:
        log.warning("%s ends mid-line: the host stopped while writing it", path)
    if reader.bad_lines:
        log.warning("%s: skipped %d line(s) that are not events", path, reader.bad_lines)
    return frames, HostLog(host, "truncated" if reader.torn else "ok", reader.events, reader.bad_lines)


def read_events(out_dir: Path, plan: Plan) -> tuple[dict[str, pd.DataFrame], list[HostLog]]:
    """Every plan host's events, one DataFrame per event name (rows in host then file order).

    Raises:
        OutputError: no host of the plan has a log, so the run has not been run.
    """
    parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
    logs = []
    for host in plan.hosts:
        path = Path(defaults.host_data_dir(str(out_dir), host.name)) / defaults.EVENTS_FILE
        frames, host_log = read_host_log(path, host.name)
        logs.append(host_log)
        for name, chunks in frames.items():
            parts[name].extend(chunks)
    if all(h.status == "missing" for h in logs):
        raise OutputError(f"{out_dir}: no host has an {defaults.EVENTS_FILE} under "
                          f"{defaults.DATA_DIR}/hosts/; has this run been run?")
    events = {name: pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
              for name, chunks in sorted(parts.items())}
    return events, logs
