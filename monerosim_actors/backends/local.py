"""The local backend: every host of a plan as local process groups, started at the plan's times.

A plan laid out for Shadow's network (what ``gen`` writes) is placed on loopback first, from the
run's first address upwards (:class:`~monerosim_actors.plan.addresses.Relocation`); each host
runtime gets that move and the time scale K in its environment, the run-time choices no generated
file holds.

Each :class:`~monerosim_actors.plan.ProcessPlan` of a host (the runtime always; monerod and the wallet
too when Shadow would start them, ``launch_mode == "shadow"``) is started at ``start_time_s / K``
after the run's start, in the host's data folder ``OUT/shadow.data/hosts/HOST/`` (the layout Shadow
writes), its output in ``NAME.stdout`` / ``NAME.stderr`` there, as the leader of a session of its own.

Children are started and watched as the host runtime starts monerod and the wallet
(:mod:`monerosim_actors.runtime.child`). The runner never polls: each child's waiter thread, blocked
in ``waitid``, wakes the main thread through a pipe, the same pipe Python writes caught
signals to (``signal.set_wakeup_fd``), and the main thread sleeps in ``select`` until a child
exits, a signal arrives, the next start is due or the progress display wants a refresh.

The run ends when every runtime has exited (they stop themselves at the scenario's end), or at
``stop_time_s / K`` plus a margin, or on SIGINT/SIGTERM. Then every group still alive gets SIGTERM,
SIGKILL after :data:`TERM_TIMEOUT_S` (:func:`~monerosim_actors.runtime.stopping.terminate`), and any
monerod or wallet-rpc whose command line names OUT (started by a runtime that died before stopping
it) is stopped the same way. Nothing is left behind, and the run checks it. A runtime counts as
having stopped cleanly only if it exited 0 and its ``events.jsonl`` ends with ``host_stopped``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from monerosim_actors.backends import groups
from monerosim_actors.defaults import EVENTS_FILE, host_data_dir
from monerosim_actors.events.names import EventName
from monerosim_actors.events.read import decode_lines, is_event
from monerosim_actors.plan.addresses import FIRST_ADDRESS, Relocation
from monerosim_actors.plan.model import HostPlan, Plan, ProcessPlan
from monerosim_actors.runtime.child import Child, environment_with, read_tail, spawn
from monerosim_actors.runtime.clock import TIME_SCALE_ENV
from monerosim_actors.runtime.process import TERM_TIMEOUT_S as PROGRAM_TERM_TIMEOUT_S
from monerosim_actors.runtime.stopping import terminate
from monerosim_actors.runtime.system import graceful_stop_bound_s
from monerosim_actors.runtime.waker import Waker

log = logging.getLogger(__name__)

RUNTIME = "runtime"
"""The name of the host runtime's ProcessPlan; the run waits for these to end."""
STOP_MARGIN_S = 60.0
"""Real seconds after ``stop_time_s / K`` before the runner stops hosts that did not stop themselves."""
EXIT_MARGIN_S = 15.0
"""Real seconds for a runtime's own exit once it has stopped everything (its threads, the
interpreter), on a loaded machine."""
TERM_TIMEOUT_S = graceful_stop_bound_s() + EXIT_MARGIN_S
"""Real seconds between SIGTERM and SIGKILL (195 s): a runtime stores its wallets and stops its
programs, and it is killed only once even its worst case (every RPC and wait at its timeout) is
over; a shorter grace would kill a runtime in the middle of storing a wallet."""
TAIL_LINES = 15


def logged_stop(events_path: str) -> bool:
    """Whether a host runtime's event log ends with ``host_stopped``, the last thing it writes.

    A runtime that exits 0 without it never ran the host (a ``python`` that is no Python, or one
    that exits at once): its exit code alone would pass it as a clean stop.
    """
    lines = read_tail(events_path, 3).encode().splitlines()
    return any(is_event(e) and e["event"] == EventName.HOST_STOPPED for e in decode_lines(lines))


def relocation_for(plan: Plan, first_address: str) -> Relocation | None:
    """How the local backend places ``plan``: a plan for Shadow's network moves to loopback from
    ``first_address`` upwards; a plan already on loopback (tests, hand-made plans) stays."""
    return Relocation(plan.hosts[0].ip, first_address) if plan.addressing == "shadow" else None


def placed(plan: Plan, first_address: str) -> Plan:
    """``plan`` as the local backend runs it (:func:`relocation_for`)."""
    relocation = relocation_for(plan, first_address)
    return relocation.plan(plan) if relocation else plan


@dataclass(frozen=True)
class Failure:
    """Something that makes the run fail, on one host."""

    host: str
    message: str

    def __str__(self) -> str:
        return f"host {self.host}: {self.message}"


@dataclass
class RunResult:
    """What happened: every child, the failures (one message each, naming the host), the verdict."""

    children: list[Child]
    failures: list[Failure]
    duration_s: float
    interrupted: int | None = None
    """The signal that interrupted the run, if one did."""
    leftovers: list[str] = field(default_factory=list)
    """Processes still alive after the clean-up (should always be empty)."""

    @property
    def exit_code(self) -> int:
        if self.interrupted is not None:
            return 128 + self.interrupted
        return 1 if self.failures or self.leftovers else 0


class LocalBackend:
    """Runs one plan on this machine. Use once: ``LocalBackend(plan, out).run()``."""

    def __init__(self, plan: Plan, out_dir: str, *, time_scale: float = 1.0,
                 first_address: str = FIRST_ADDRESS["loopback"], stop_margin_s: float = STOP_MARGIN_S,
                 term_timeout_s: float = TERM_TIMEOUT_S,
                 tick_s: float = 1.0, on_tick: Callable[[], None] | None = None) -> None:
        """Args:
            plan: the plan, with the host configs already written under ``out_dir``.
            out_dir: absolute path of OUT.
            time_scale: K; start times and the stop time are divided by it, and each runtime is told.
            first_address: where a plan laid out for Shadow is placed (its first host; the others
                follow); :attr:`plan` is the placed plan. A plan already on loopback stays where it is.
            stop_margin_s: real seconds granted after ``stop_time_s / K`` before hosts are stopped.
            term_timeout_s: real seconds between SIGTERM and SIGKILL.
            tick_s: how often ``on_tick`` is called while the run goes on.
            on_tick: called from the run's thread every ``tick_s`` until the hosts are stopped (progress).
        """
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        relocation = relocation_for(plan, first_address)
        self.plan = relocation.plan(plan) if relocation else plan
        """The plan as it runs here: on loopback."""
        self._runtime_env = {TIME_SCALE_ENV: repr(time_scale), **(relocation.to_environ() if relocation else {})}
        self.out_dir = os.path.abspath(out_dir)
        self.time_scale = time_scale
        self.stop_margin_s = stop_margin_s
        self.term_timeout_s = term_timeout_s
        self.tick_s = tick_s
        self.on_tick = on_tick
        self.children: list[Child] = []
        self.started_at = 0.0
        """``time.monotonic()`` at the run's start; the hosts' start times count from it."""
        self.failures: list[Failure] = []
        self._exited: deque[Child] = deque()
        self._judged: set[Child] = set()
        """Children whose exit :meth:`_reap` has judged. ``Child.exited`` is set before the exit is
        handed over, so it alone does not say that the exit was judged."""
        self._signals: list[int] = []
        self._waker = Waker()

    # -- the public surface -------------------------------------------------------------------

    def run(self) -> RunResult:
        """Start every host, wait for the end (or a signal), stop everything, verify, report."""
        restore = self._install_signal_handlers()
        started = self.started_at = time.monotonic()
        try:
            try:
                self._run_until_end(started)
            finally:
                self._stop_everything()
            leftovers = self._verify_nothing_left()
        finally:
            restore()
            self._waker.close()
        return RunResult(children=list(self.children), failures=list(self.failures),
                         duration_s=time.monotonic() - started,
                         interrupted=self._signals[0] if self._signals else None,
                         leftovers=leftovers)

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """Stop the run as a signal would (thread-safe; for callers that own the signals)."""
        self._signals.append(signum)
        self._waker.wake()

    @property
    def scenario_end_s(self) -> float:
        """Real seconds from the run's start to the scenario's end (the runtimes stop themselves)."""
        return self.plan.duration_s / self.time_scale

    # -- running ------------------------------------------------------------------------------

    def _run_until_end(self, started: float) -> None:
        schedule = self._schedule(started)
        deadline = started + self.plan.stop_time_s / self.time_scale + self.stop_margin_s
        next_tick = started
        while True:
            now = time.monotonic()
            while schedule and schedule[0][0] <= now and not self._signals:
                _, host, process = schedule.popleft()
                self._start(host, process)
            self._reap()
            if self._signals:
                log.warning("%s received: stopping every host", signal.Signals(self._signals[0]).name)
                return
            if not schedule and all(c in self._judged for c in self._runtimes()):
                return
            if now >= deadline:
                for child in self._runtimes():
                    if child.returncode is None:
                        self.failures.append(Failure(
                            child.host, f"its runtime was still running {self.stop_margin_s:.0f} s "
                            "after the stop time; stopped by the runner"))
                return
            if self.on_tick is not None and now >= next_tick:
                self.on_tick()
                next_tick = now + self.tick_s
            due = [deadline, next_tick if self.on_tick is not None else deadline]
            if schedule:
                due.append(schedule[0][0])
            self._waker.sleep(min(due) - time.monotonic())

    def _schedule(self, started: float) -> deque[tuple[float, HostPlan, ProcessPlan]]:
        """(due time, host, process) in start order; ties keep the plan's order."""
        entries = [(started + p.start_time_s / self.time_scale, i, j, host, p)
                   for i, host in enumerate(self.plan.hosts)
                   for j, p in enumerate(host.processes)
                   if p.name == RUNTIME or self.plan.launch_mode == "shadow"]
        entries.sort(key=lambda e: e[:3])
        return deque((due, host, p) for due, _, _, host, p in entries)

    def _start(self, host: HostPlan, process: ProcessPlan) -> None:
        data_dir = host_data_dir(self.out_dir, host.name)
        argv = [process.path, *process.args]
        runtime = process.name == RUNTIME
        env = {**environment_with(process.environment), **(self._runtime_env if runtime else {})}
        try:
            os.makedirs(data_dir, exist_ok=True)  # a data dir that cannot be made is this host's failure
            child = spawn(process.name, argv, data_dir, host=host.name, env=env, on_exit=self._on_exit,
                          block_stop_signals=runtime)
        except OSError as e:
            self.failures.append(Failure(host.name, f"cannot start {process.name} ({argv[0]}): {e}"))
            return
        self.children.append(child)
        log.debug("started %s on %s: pid %d", process.name, host.name, child.pid)

    def _on_exit(self, child: Child) -> None:
        """From the child's waiter thread: hand its exit to the main thread."""
        self._exited.append(child)
        self._waker.wake()

    def _reap(self) -> None:
        """Judge the children that exited since the last call (in the main thread)."""
        while self._exited:
            child = self._exited.popleft()
            self._judged.add(child)
            failure = self._judge(child)
            if failure:
                self.failures.append(failure)
                log.error("%s", failure)

    def _judge(self, child: Child) -> Failure | None:
        """What is wrong when this exit is a failure (with the tail of its log), else None."""
        rc = child.returncode
        assert rc is not None
        runtime = child.name == RUNTIME
        if child.killed:
            why = f"did not stop within {self.term_timeout_s:.0f} s of SIGTERM and was killed"
        elif rc == 0 and runtime and not logged_stop(os.path.join(child.data_dir, EVENTS_FILE)):
            why = (f"exited 0 without logging {EventName.HOST_STOPPED.value} in {EVENTS_FILE}: it never ran "
                   f"the host (is {child.popen.args[0]} a Python that can run monerosim_actors.runtime.host?)")
        elif rc == 0 or (child.ended_by_parent and not runtime):
            return None
        elif rc < 0:
            why = f"was killed by {signal.Signals(-rc).name}"
        else:
            why = f"exited with code {rc}"
        tail = child.tail("stderr", TAIL_LINES) or child.tail("stdout", TAIL_LINES)
        where = os.path.join(child.data_dir, f"{child.name}.stderr")
        text = f"{child.name} {why} (log: {where})"
        return Failure(child.host, text + ("\n  " + "\n  ".join(tail.splitlines()) if tail else ""))

    def _runtimes(self) -> list[Child]:
        return [c for c in self.children if c.name == RUNTIME]

    def _install_signal_handlers(self) -> Callable[[], None]:
        """SIGINT/SIGTERM interrupt the run (main thread only); returns what restores the old ones."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum: int, _frame: object) -> None:
            self._signals.append(signum)

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        release = self._waker.catch_signals()

        def restore() -> None:
            release()
            for s, h in old.items():
                signal.signal(s, h)

        return restore

    # -- stopping -----------------------------------------------------------------------------

    def _stop_everything(self) -> None:
        """SIGTERM every live group, SIGKILL what is left after the timeout, then the strays."""
        running = [c for c in self.children if not c.exited.is_set()]
        for child in running:
            child.ended_by_parent = True
        terminate(running, self.term_timeout_s, wait=self._wait_children)
        self._stop_strays()

    def _wait_children(self, children: Sequence[Child], deadline: float) -> None:
        """Wait until ``children`` have exited (judging every exit as it comes), the deadline passes,
        or a second signal comes."""
        signals_seen = len(self._signals)
        while True:
            self._reap()
            if all(c in self._judged for c in children):
                return
            if len(self._signals) > max(signals_seen, 1) or time.monotonic() >= deadline:
                return
            self._waker.sleep(deadline - time.monotonic())

    def _programs(self) -> list[str]:
        return [self.plan.binaries.monerod, self.plan.binaries.wallet_rpc]

    def _stop_strays(self) -> None:
        """monerod / wallet-rpc of this run that outlived their runtime: SIGTERM, then SIGKILL."""
        found = groups.stop_strays(self.out_dir, self._programs(), PROGRAM_TERM_TIMEOUT_S)
        if found:
            log.warning("stopped %d monerod/wallet process(es) their host left behind: %s",
                        len(found), ", ".join(str(p.pid) for p in found))

    def _verify_nothing_left(self) -> list[str]:
        left = [f"{c.host}/{c.name} (process group {c.pgid})"
                for c in self.children if groups.group_alive(c.pgid)]
        left += [f"pid {p.pid}: {' '.join(p.argv[:3])}" for p in groups.strays(self.out_dir, self._programs())]
        for entry in left:
            log.error("still alive after the clean-up: %s", entry)
        return left
