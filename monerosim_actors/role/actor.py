"""The base class of every role, and the declarative layer for saying what a role does and when.

A role is a :class:`RoleActor` subclass (a ``pykka.ThreadingActor``). The host runtime starts it as
``RoleClass.start(ctx)`` once the host's monerod and wallet answer, and tells it what happens around
it; :class:`RoleActor` turns those messages into hooks, all called in the actor's own thread:

============================  ==================================================================
runtime message               hook
============================  ==================================================================
(actor started)               :meth:`RoleActor.on_wallet_open` (a role with a wallet), then
                              :meth:`RoleActor.setup`
``Delivered(envelope)``       :meth:`RoleActor.on_message` ``(body, envelope)``
``ChainAdvanced``             :meth:`RoleActor.on_chain_advanced`
``TxpoolAdded``               :meth:`RoleActor.on_txpool_added`
``ProcessRestarted(name)``    :meth:`RoleActor.on_wallet_open` (``name == "wallet"``), then
                              :meth:`RoleActor.on_process_restarted`
(actor stopping)              :meth:`RoleActor.teardown`
============================  ==================================================================

What a role does on its own is declared in the locust style::

    class Spender(RoleActor):
        wait_time = exponential(mean_s=600)   # drawn with the actor's seeded RNG
        start_after_s = 1800

        @task(8)
        def send_small(self) -> None: ...

        @task(1)
        def send_large(self) -> None: ...

The actor draws a wait from ``wait_time``, schedules itself with ``ctx.scheduler.call_later`` (no
sleeping, no polling), then runs one task chosen by ``rng.choices(tasks, weights)`` and draws the next
wait. The first task runs ``start_after_s`` plus one drawn wait after the actor starts (or after
:meth:`RoleActor.start_tasks`, for roles that set ``autostart_tasks = False`` and start when ready).

Parameters from the scenario's ``config`` (``ctx.params``) override class attributes of the same name,
so the class attributes are the role's documented defaults; ``wait_time`` accepts the forms of
:func:`monerosim_actors.wait_time.from_param` and ``task_weights`` maps task names to new weights.
Every actor's RNG is ``ctx.rng(role)``, seeded from the simulation seed, the host and the role name:
the same seed gives the same draws.

A role with a wallet names its wallet file in :meth:`RoleActor.wallet_name`; the base class creates
it the first time, opens it on every later start and after every restart of the wallet process
(logging ``wallet_opened``), and calls :meth:`RoleActor.on_wallet_open` to read addresses from it.

Errors: a :class:`~monerosim_actors.errors.MonerosimError` (an RPC that failed or timed out, say)
escaping a hook or task is logged as an ``actor_error`` event and the actor goes on; any other
exception stops the actor (pykka's rule for ``tell``; the same for one escaping the start, i.e.
:meth:`RoleActor.setup`), is logged as ``actor_failed`` and is reported to the runtime
(``ctx.on_actor_failed``), which stops the host: it exits non-zero.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pykka

from monerosim_actors.wire import Envelope, Message
from monerosim_actors.errors import MonerosimError
from monerosim_actors.events.names import EventName
from monerosim_actors.role.params import TASK_WEIGHT_ATTRIBUTE, param_problems, settings, tasks
from monerosim_actors.role.resend import Resend
from monerosim_actors.role.wallet import open_or_create
from monerosim_actors.runtime.messages import ChainAdvanced, Delivered, ProcessRestarted, TxpoolAdded
from monerosim_actors.role.wait_time import WaitTime, between, constant, exponential, from_param

if TYPE_CHECKING:
    from monerosim_actors.runtime.context import HostContext

__all__ = ["RoleActor", "task", "between", "constant", "exponential", "WaitTime"]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])



def task(weight: float | F = 1) -> Any:
    """Mark a method as a task, picked with probability proportional to ``weight``.

    Usable as ``@task``, ``@task(3)`` or ``@task(weight=3)``.
    """
    if callable(weight):
        setattr(weight, TASK_WEIGHT_ATTRIBUTE, 1.0)
        return weight
    if not weight >= 0:
        raise ValueError(f"task weight must be >= 0, got {weight}")

    def mark(fn: F) -> F:
        setattr(fn, TASK_WEIGHT_ATTRIBUTE, float(weight))
        return fn
    return mark


@dataclass(frozen=True)
class _Call:
    """A scheduled call of one of the actor's own methods (see :meth:`RoleActor.after`)."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class _RunTask:
    """Time to run the next task; stale when ``generation`` is not the current one."""

    generation: int


class RoleActor(pykka.ThreadingActor):
    """The base of every role. Subclasses override the hooks and declare tasks.

    Attributes:
        ctx: the host's context (config, params, RNG factory, events, bus, RPC clients, scheduler).
        host: this host's name (also its bus identity).
        role: the role name from the plan, e.g. ``regular_user``; the actor name in events.
        params: the role's parameters from the plan.
        rng: this actor's seeded RNG; draw every random decision from it.
    """

    wait_time: WaitTime | None = None
    """Distribution of the gap between two tasks; None means no tasks run."""
    start_after_s: float = 0.0
    """Scenario seconds to wait after :meth:`start_tasks` before the first drawn wait begins."""
    autostart_tasks: bool = True
    """Start the tasks as soon as setup succeeded; False lets the role call start_tasks."""
    setup_retry_s: float = 5.0
    """Real seconds before :meth:`setup` is tried again after it failed with a project error."""

    def __init__(self, ctx: HostContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.host: str = ctx.host
        self.role: str = ctx.config.host.role
        self.params: dict[str, Any] = dict(ctx.params)
        self._weights: dict[str, float] = {}
        self._apply_params()
        self.rng = ctx.rng(self.role)
        self._tasks = self._collect_tasks()
        self._generation = 0
        self._task_timer: Any = None
        self._resends: list[Resend] = []
        self.ready = False
        """True once :meth:`setup` succeeded; messages that arrive before may find the role half set up."""

    # --- hooks for subclasses (all run in the actor's thread) ------------------------------------

    def wallet_name(self) -> str | None:
        """The role's wallet file in the host's wallet directory; None for a role without a wallet."""
        return None

    def on_wallet_open(self) -> None:
        """The role's wallet is open: at start (before :meth:`setup`) and after each restart of the
        wallet process. Read the addresses the role needs here."""

    def setup(self) -> None:
        """Called when the actor starts, its wallet open: register with services. If it raises a
        :class:`~monerosim_actors.errors.MonerosimError` it is called again later, so make it safe
        to repeat."""

    def teardown(self) -> None:
        """Called once when the actor stops (before the runtime stores the wallet and stops it)."""

    def on_message(self, body: Message, env: Envelope) -> None:
        """A bus message addressed to this host; ``env.src`` is the sender's host name."""
        logger.debug("%s: unhandled %s from %s", self.host, env.type, env.src)

    def on_chain_advanced(self, msg: ChainAdvanced) -> None:
        """This host's monerod has new blocks on its main chain."""

    def on_txpool_added(self, msg: TxpoolAdded) -> None:
        """This host's monerod accepted new transactions into its pool."""

    def on_process_restarted(self, msg: ProcessRestarted) -> None:
        """monerod or the wallet (``msg.name``) was restarted (the role's wallet is open again)."""

    # --- services for subclasses ----------------------------------------------------------------

    def emit(self, event: str, **fields: Any) -> None:
        """Record an event in this host's ``events.jsonl``, with the role as the actor."""
        self.ctx.events.emit(self.role, event, **fields)

    def send(self, dst_host: str, body: Message) -> str:
        """Send a message over the bus; returns its id. Never blocks."""
        return self.ctx.bus.send(dst_host, body)

    def service_host(self, service: str) -> str:
        """Host name of a coordination service (``block_controller``, ``marketplace_directory``)."""
        return self.ctx.config.services[service].host

    def hosts_of(self, role: str) -> tuple[str, ...]:
        """The hosts of ``role`` this host may write to first, in plan order, itself left out: the
        scenario gives this role ``talks_to: [role, ...]``, which makes those hosts listen and hands
        their addresses to this one. Any other host (besides the services, and hosts that wrote to
        this one) is unreachable: the bus drops what is sent to it (``msg_dropped``, ``no_route``).

        Raises:
            ValueError: ``role`` is not in this role's ``talks_to``.
        """
        contacts = self.ctx.config.contacts
        if role not in contacts:
            raise ValueError(f"{self.role} does not talk to {role!r}: add it to talks_to of the role "
                             f"{self.role!r} in the scenario (talks_to: {sorted(contacts)})")
        return tuple(address.host for address in contacts[role])

    def reject(self, env: Envelope, reason: str) -> None:
        """Drop a message this role does not accept from its sender, and say so."""
        self.emit(EventName.MSG_REJECTED, id=env.id, type=env.type, src=env.src, reason=reason)

    def after(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` in this actor's thread ``delay_s`` scenario seconds from now.

        Returns the scheduler's timer (``.cancel()`` it if the call is no longer wanted).
        """
        return self.ctx.scheduler.call_later(max(0.0, delay_s), self.actor_ref, _Call(fn, args))

    def timeout(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` in this actor's thread after ``delay_s`` seconds of the programs' own
        time: for a timeout or a retry that waits on work a faster-paced scenario does not make
        faster (a wallet answering, ``generateblocks``, a message being acknowledged). Under Shadow
        it is the same as :meth:`after`. Returns the timer, as :meth:`after` does.
        """
        return self.ctx.scheduler.call_timeout(max(0.0, delay_s), self.actor_ref, _Call(fn, args))

    def until_acknowledged(self, dst_host: str, message: Callable[[], Message], *, every_s: float,
                           max_every_s: float | None = None) -> Resend:
        """A message to ``dst_host`` that is sent again every ``every_s`` real seconds until the answer
        arrives (doubling up to ``max_every_s`` if given): ``.start()`` sends it, ``.stop()`` when the
        acknowledgement comes. ``message()`` makes each attempt's message. Stopping the actor stops
        it. See :class:`monerosim_actors.role.resend.Resend`."""
        resend = Resend(self, dst_host, message, every_s=every_s, max_every_s=max_every_s)
        self._resends.append(resend)
        return resend

    def start_tasks(self) -> None:
        """Begin running tasks: the first after ``start_after_s`` plus one drawn wait."""
        if not self._tasks or self.wait_time is None:
            return
        self.stop_tasks()
        self._schedule_task(self.start_after_s)

    def stop_tasks(self) -> None:
        """Stop running tasks (a pending task timer is cancelled and ignored if it fires anyway)."""
        self._generation += 1
        if self._task_timer is not None:
            self._task_timer.cancel()
            self._task_timer = None

    @property
    def tasks_running(self) -> bool:
        return self._task_timer is not None

    # --- pykka plumbing -------------------------------------------------------------------------

    def on_start(self) -> None:
        try:
            self._setup()
        except Exception:  # pykka stops the actor, but calls on_failure only for a failed tell
            self.on_failure(*sys.exc_info())
            raise

    def _setup(self) -> None:
        """Run :meth:`setup`; if it fails with a project error (a wallet RPC that timed out on a
        loaded machine, say), try again after :attr:`setup_retry_s` seconds (:meth:`timeout`)."""
        if not (self._guarded("open_wallet", self._open_wallet) and self._guarded("setup", self.setup)):
            self.timeout(self.setup_retry_s, self._setup)
            return
        self.ready = True
        if self.autostart_tasks:
            self.start_tasks()

    def on_stop(self) -> None:
        self.stop_tasks()
        for resend in self._resends:
            resend.stop()
        self._guarded("teardown", self.teardown)

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """The actor is stopping for good: log ``actor_failed``, then tell the runtime, which ends
        the host (the line is written first, so it is in the log whatever the runtime does next)."""
        error_type = getattr(exception_type, "__name__", "?")
        try:
            self.ctx.events.emit(self.role, EventName.ACTOR_FAILED, error_type=error_type, error=str(exception_value))
        finally:
            if self.ctx.on_actor_failed is not None:
                self.ctx.on_actor_failed(self.role, f"{error_type}: {exception_value}")

    def on_receive(self, message: Any) -> Any:
        match message:
            case Delivered(envelope=env):
                self._guarded(f"on_message:{env.type}", self.on_message, env.body, env)
            case ChainAdvanced():
                self._guarded("on_chain_advanced", self.on_chain_advanced, message)
            case TxpoolAdded():
                self._guarded("on_txpool_added", self.on_txpool_added, message)
            case ProcessRestarted(name=name):
                if name == "wallet":
                    self._reopen_wallet()
                self._guarded("on_process_restarted", self.on_process_restarted, message)
            case _Call(fn=fn, args=args):
                self._guarded(getattr(fn, "__name__", "call"), fn, *args)
            case _RunTask(generation=generation):
                self._run_task(generation)
            case _:
                logger.warning("%s: %s ignores %r", self.host, type(self).__name__, message)
        return None

    # --- internals ------------------------------------------------------------------------------

    def _open_wallet(self) -> None:
        """Create the role's wallet the first time, open it otherwise, then :meth:`on_wallet_open`."""
        name = self.wallet_name()
        if name is None:
            return
        assert self.ctx.wallet is not None, f"the role {self.role} needs a wallet"
        created = open_or_create(self.ctx.wallet, name)
        self.on_wallet_open()
        self.emit(EventName.WALLET_OPENED, wallet=name, created=created)

    def _reopen_wallet(self) -> None:
        """After a wallet restart; tried again after :attr:`setup_retry_s` seconds (:meth:`timeout`)
        until it works."""
        if not self._guarded("open_wallet", self._open_wallet):
            self.timeout(self.setup_retry_s, self._reopen_wallet)

    def _guarded(self, where: str, fn: Callable[..., Any], *args: Any) -> bool:
        """Run ``fn``; a project error is logged (``actor_error``) and gives False."""
        try:
            fn(*args)
        except MonerosimError as e:
            logger.warning("%s: %s failed: %s", self.host, where, e)
            self.emit(EventName.ACTOR_ERROR, where=where, error_type=type(e).__name__, error=str(e))
            return False
        return True

    def _schedule_task(self, extra_s: float = 0.0) -> None:
        assert self.wait_time is not None
        delay = extra_s + self.wait_time(self.rng)
        self._task_timer = self.ctx.scheduler.call_later(delay, self.actor_ref, _RunTask(self._generation))

    def _run_task(self, generation: int) -> None:
        if generation != self._generation:
            return
        names = list(self._tasks)
        (name,) = self.rng.choices(names, weights=[self._tasks[n][1] for n in names])
        self._guarded(name, self._tasks[name][0])
        if generation == self._generation:  # the task may have stopped the tasks
            self._schedule_task()

    def _apply_params(self) -> None:
        """Scenario parameters override the class attributes that declare the role's defaults
        (:mod:`monerosim_actors.role.params` says what they may hold; ``validate`` checks a custom
        role's config by the same rules, so this refuses only what slipped past it).

        Raises:
            ValueError: a parameter the role cannot take, each problem named.
        """
        problems = param_problems(type(self), self.params)
        if problems:
            raise ValueError(f"{type(self).__name__} cannot take its params: " + "; ".join(
                f"{'.'.join(path)}: {what}" for path, what in problems))
        replaceable = settings(type(self))
        for key, value in self.params.items():
            if key == "task_weights":
                self._weights = {str(k): float(v) for k, v in dict(value).items()}
            elif key == "wait_time":
                self.wait_time = from_param(value)
            elif key in replaceable:
                setattr(self, key, value)

    def _collect_tasks(self) -> dict[str, tuple[Callable[[], Any], float]]:
        found = {**tasks(type(self)), **self._weights}  # the names were checked by _apply_params
        return {name: (getattr(self, name), w) for name, w in found.items() if w > 0}

