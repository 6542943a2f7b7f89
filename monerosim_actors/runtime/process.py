"""Supervising one managed program (monerod or monero-wallet-rpc) with a pykka actor.

The supervisor starts the program as the local backend starts a host runtime
(:func:`monerosim_actors.runtime.child.spawn`: its own session and process group, its stdout/stderr
appended to ``NAME.stdout`` / ``NAME.stderr`` in the host's data directory, its exit seen by a
thread blocked in ``Popen.wait()``, which tells the supervisor), and waits until its RPC answers: the
probe is polled with a back-off from 0.1 s doubling to 2 s, bounded by an overall timeout. An
unexpected exit is logged and the program restarted after a back-off (in real seconds, through the
scheduler), its data directory untouched, so the chain (``--keep-fakechain``) and the wallet files
survive; too many restarts in a row end in ``process_failed``. Stopping is graceful: the program's
stop RPC, then SIGTERM, then SIGKILL, each after a timeout. ``Popen.communicate`` is never used.
Each running program has a pid file in the data directory (:mod:`monerosim_actors.runtime.pidfile`):
a program an earlier run of this host left behind (the runtime was killed with SIGKILL) is stopped
before its successor starts.

With ``managed=False`` (``launch_mode: shadow``) Shadow has started the program: the supervisor only
waits for its RPC and asks it to stop over RPC at shutdown; it does not watch or restart it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pykka

from monerosim_actors.errors import ProcessError, RpcError
from monerosim_actors.events.names import EventName
from monerosim_actors.runtime import pidfile
from monerosim_actors.runtime.child import Child, environment_with, read_tail, spawn
from monerosim_actors.runtime.context import EventSink, TimerService
from monerosim_actors.runtime.stopping import KILL_WAIT_S, terminate

log = logging.getLogger(__name__)

ACTOR = "supervisor"
TAIL_LINES = 20
READY_BACKOFF_START_S = 0.1
READY_BACKOFF_MAX_S = 2.0
RESTART_BACKOFF_START_S = 0.5
RESTART_BACKOFF_MAX_S = 30.0
STOP_TIMEOUT_S = 30.0
"""After the stop RPC, before SIGTERM (:attr:`ProcessSpec.stop_timeout_s`'s default)."""
TERM_TIMEOUT_S = 10.0
"""After SIGTERM, before SIGKILL (:attr:`ProcessSpec.term_timeout_s`'s default)."""


def stop_bound_s(stop_rpc_s: float) -> float:
    """The longest a supervisor's :class:`Stop` takes with the default timeouts, when its stop RPC
    may take ``stop_rpc_s``: the RPC, then the waits for the exit, after SIGTERM, after SIGKILL."""
    return stop_rpc_s + STOP_TIMEOUT_S + TERM_TIMEOUT_S + KILL_WAIT_S


@dataclass(frozen=True)
class ProcessSpec:
    """How to run, probe and stop one program."""

    name: str
    """``monerod`` or ``wallet``: the event field and the output file names."""
    argv: tuple[str, ...]
    data_dir: str
    """The host's data directory: the working directory and where the output files go."""
    probe: Callable[[], Any]
    """Returns once the program's RPC answers; raises :class:`RpcError` until then."""
    stop_rpc: Callable[[], Any]
    """Asks the program to exit (may raise :class:`RpcError`)."""
    log_file: str | None = None
    """The program's own log, shown when its output files say nothing."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Added to this process's environment for the program (:func:`environment_with`)."""
    managed: bool = True
    ready_timeout_s: float = 120.0
    stop_timeout_s: float = STOP_TIMEOUT_S
    """After the stop RPC, before SIGTERM."""
    term_timeout_s: float = TERM_TIMEOUT_S
    """After SIGTERM, before SIGKILL."""
    max_restarts: int = 5
    """Restarts in a row (without a stable run in between) before giving up."""
    stable_s: float = 60.0
    """A run at least this long resets the restart count."""


@dataclass(frozen=True)
class Start:
    """Ask: start the program and wait until it is ready; answers its pid (0 when not managed)."""


@dataclass(frozen=True)
class Stop:
    """Ask: stop the program gracefully (never restarted afterwards)."""


@dataclass(frozen=True)
class _Exited:
    child: Child


@dataclass(frozen=True)
class _Restart:
    attempt: int


class ProcessSupervisor(pykka.ThreadingActor):
    """Starts, watches, restarts and stops one program; see the module docstring."""

    use_daemon_thread = True

    def __init__(self, spec: ProcessSpec, *, host: str, events: EventSink, scheduler: TimerService,
                 stopping: threading.Event, on_restarted: Callable[[str], None],
                 on_failed: Callable[[str, str], None]) -> None:
        """
        Args:
            stopping: set when the host shuts down; exits are then expected and waits give up.
            on_restarted: called with the name after a restart is ready (tells the role).
            on_failed: called with the name and reason when the program cannot be kept running.
        """
        super().__init__()
        self.spec = spec
        self.host = host
        self._events = events
        self._scheduler = scheduler
        self._stopping = stopping
        self._on_restarted = on_restarted
        self._on_failed = on_failed
        self._child: Child | None = None
        self._attempt = 0
        self._stopped = False

    def on_receive(self, message: Any) -> Any:
        match message:
            case Start():
                return self._start()
            case Stop():
                self._stop()
                return None
            case _Exited(child):
                self._exited(child)
            case _Restart(attempt):
                self._restart(attempt)
            case _:
                log.warning("%s supervisor: unknown message %r", self.spec.name, message)
        return None

    # --- start ----------------------------------------------------------------------------------

    def _start(self) -> int:
        if not self.spec.managed:
            self._wait_ready(None)
            return 0
        child = self._launch()
        try:
            self._wait_ready(child)
        except ProcessError as e:
            if self._stopping.is_set():
                raise  # not a failure: the host shuts down, and Stop ends the child gracefully
            child.ended_by_parent = True
            self._kill(child)
            self._events.emit(ACTOR, EventName.PROCESS_FAILED, name=self.spec.name, reason=str(e).splitlines()[0])
            raise
        return child.pid

    @property
    def _pid_path(self) -> str:
        return pidfile.path_for(self.spec.data_dir, self.spec.name)

    def _launch(self) -> Child:
        spec = self.spec
        left = pidfile.stop_leftover(self._pid_path, spec.argv, spec.term_timeout_s)
        if left is not None:
            self._events.emit(ACTOR, EventName.PROCESS_LEFTOVER_STOPPED, name=spec.name, pid=left)
        self._check_address_free()
        ref = self.actor_ref

        def on_exit(child: Child) -> None:
            try:
                ref.tell(_Exited(child))
            except pykka.ActorDeadError:
                pass

        try:
            child = spawn(spec.name, spec.argv, spec.data_dir, host=self.host, on_exit=on_exit,
                          env=environment_with(spec.environment) if spec.environment else None)
        except OSError as e:
            raise ProcessError(f"cannot start {spec.name} ({spec.argv[0] if spec.argv else '?'}): {e}",
                               host=self.host, argv=list(spec.argv)) from e
        self._child = child
        try:
            pidfile.record(self._pid_path, child.pid)
        except OSError as e:  # the outputs were just written there: only a full disk gets here
            log.warning("%s: cannot write the pid file of %s: %s", self.host, spec.name, e)
        self._events.emit(ACTOR, EventName.PROCESS_STARTED, name=spec.name, pid=child.pid, argv=list(spec.argv))
        log.info("%s: started %s (pid %d)", self.host, spec.name, child.pid)
        return child

    def _check_address_free(self) -> None:
        """Refuse to start when something already answers the program's RPC: readiness would
        otherwise be judged on another process (a leftover of an earlier run, another run on the
        same addresses) while ours fails to bind."""
        try:
            self.spec.probe()
        except RpcError:
            return
        raise ProcessError(f"{self.spec.name}: its RPC address already answers before it was started; "
                           f"another {self.spec.name} is running on this host's address",
                           host=self.host, argv=list(self.spec.argv))

    def _wait_ready(self, child: Child | None) -> None:
        """Poll the probe with back-off until it answers; the child's exit or shutdown ends it at once."""
        spec = self.spec
        started = time.monotonic()
        delay = READY_BACKOFF_START_S
        while True:
            if self._stopping.is_set():
                raise self._error(f"{spec.name}: the host is shutting down", child)
            try:
                spec.probe()
                break
            except RpcError as e:
                last = e
            if time.monotonic() - started >= spec.ready_timeout_s:
                raise self._error(f"{spec.name} did not answer its RPC within {spec.ready_timeout_s:g} s "
                                  f"(last: {last})", child)
            remaining = spec.ready_timeout_s - (time.monotonic() - started)
            wait = max(0.0, min(delay, remaining))
            if child is None:
                self._stopping.wait(wait)
            elif child.exited.wait(wait):
                raise self._error(f"{spec.name} exited with code {child.returncode} during start-up", child)
            delay = min(delay * 2, READY_BACKOFF_MAX_S)
        elapsed = time.monotonic() - started
        self._events.emit(ACTOR, EventName.PROCESS_READY, name=spec.name, elapsed_s=round(elapsed, 3))
        log.info("%s: %s ready after %.1f s", self.host, spec.name, elapsed)

    def _error(self, message: str, child: Child | None) -> ProcessError:
        return ProcessError(message, host=self.host, argv=list(self.spec.argv),
                            returncode=child.returncode if child else None,
                            log_tail=self._tail(child))

    def _tail(self, child: Child | None) -> str:
        parts = [child.tail(stream, TAIL_LINES) for stream in ("stdout", "stderr")] if child else []
        text = "\n".join(p for p in parts if p)
        if not text and self.spec.log_file:
            text = read_tail(self.spec.log_file, TAIL_LINES)
        return text

    # --- exits and restarts ---------------------------------------------------------------------

    def _exited(self, child: Child) -> None:
        if child is not self._child:
            return
        pidfile.forget(self._pid_path)
        if child.ended_by_parent:
            return
        child.ended_by_parent = True
        expected = self._stopped or self._stopping.is_set()
        self._events.emit(ACTOR, EventName.PROCESS_EXITED, name=self.spec.name, returncode=child.returncode,
                          expected=expected)
        if expected:
            return
        log.warning("%s: %s exited unexpectedly with code %s", self.host, self.spec.name, child.returncode)
        if time.monotonic() - child.started_at >= self.spec.stable_s:
            self._attempt = 0
        self._attempt += 1
        if self._attempt > self.spec.max_restarts:
            self._fail(f"exited {self.spec.max_restarts + 1} times in a row "
                       f"(last code {child.returncode})")
            return
        delay = min(RESTART_BACKOFF_START_S * 2 ** (self._attempt - 1), RESTART_BACKOFF_MAX_S)
        self._scheduler.call_timeout(delay, self.actor_ref, _Restart(self._attempt))

    def _restart(self, attempt: int) -> None:
        if self._stopped or self._stopping.is_set():
            return
        try:
            child = self._launch()
        except ProcessError as e:
            self._fail(str(e).splitlines()[0])
            return
        try:
            self._wait_ready(child)
        except ProcessError as e:
            if self._stopping.is_set():
                return  # the host shuts down: Stop ends the child gracefully
            # its exit (now, or after this kill) arrives as _Exited and drives the next attempt
            log.warning("%s", e)
            child.signal(signal.SIGKILL)
            return
        self._events.emit(ACTOR, EventName.PROCESS_RESTARTED, name=self.spec.name, attempt=attempt, pid=child.pid)
        self._on_restarted(self.spec.name)

    def _fail(self, reason: str) -> None:
        log.error("%s: %s failed: %s", self.host, self.spec.name, reason)
        self._events.emit(ACTOR, EventName.PROCESS_FAILED, name=self.spec.name, reason=reason)
        self._on_failed(self.spec.name, reason)

    # --- stop -----------------------------------------------------------------------------------

    def _stop(self) -> None:
        self._stopped = True
        spec = self.spec
        child = self._child
        if not spec.managed:
            self._stop_rpc()
            return
        if child is None or child.exited.is_set():
            return
        child.ended_by_parent = True
        if not (self._stop_rpc() and child.exited.wait(spec.stop_timeout_s)):
            log.warning("%s: %s did not stop over RPC; SIGTERM", self.host, spec.name)
            if terminate([child], spec.term_timeout_s):
                log.warning("%s: %s ignored SIGTERM for %g s and was killed", self.host, spec.name,
                            spec.term_timeout_s)
        pidfile.forget(self._pid_path)
        self._events.emit(ACTOR, EventName.PROCESS_EXITED, name=spec.name, returncode=child.returncode,
                          expected=True)

    def _stop_rpc(self) -> bool:
        """Ask the program to exit over RPC; False when it did not take the request."""
        try:
            self.spec.stop_rpc()
            return True
        except RpcError as e:
            log.info("%s: stopping %s over RPC: %s", self.host, self.spec.name, e)
            return False

    @staticmethod
    def _kill(child: Child) -> None:
        child.signal(signal.SIGKILL)
        child.wait(KILL_WAIT_S)
