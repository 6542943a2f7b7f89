"""One host's actor system, assembled in order and taken down in the reverse order.

Start: the event log (``host_started``), the scheduler, the bus (a service host binds its ROUTER
here, so a taken port fails the start at once), monerod and then the wallet (each ready when its RPC
answers), and finally the role actor, which then receives what the bus and the supervisors held for
it. Stop: the role, the wallet (stored, then stopped), monerod, the bus, the scheduler, and the log
(``host_stopped``). A failed start stops whatever it had started before raising.

While it runs, the system gives up (:attr:`HostSystem.failure`, then :attr:`HostSystem.stopping`
and ``on_stop``) when a program cannot be kept running, when the role actor fails (it reports it
through ``ctx.on_actor_failed``, or is found dead by :meth:`HostSystem.check_role`), or when the
bus's transport thread dies. The first cause wins; each has its own exit code (``EXIT_*``).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
import zmq

from monerosim_actors.defaults import EVENTS_FILE, MONEROD_DIR, WALLET_DIR
from monerosim_actors.errors import MonerosimError, OutputError, RpcError
from monerosim_actors.events.names import EventName
from monerosim_actors.plan.monero_args import monerod_argv, wallet_argv
from monerosim_actors.plan.model import HostConfig
from monerosim_actors.runtime.bus import Bus
from monerosim_actors.runtime.clock import SystemClock
from monerosim_actors.runtime.context import HostContext
from monerosim_actors.runtime.events import EventLog
from monerosim_actors.runtime.inbox import RoleInbox
from monerosim_actors.runtime.messages import ProcessRestarted
from monerosim_actors.runtime.process import ProcessSpec, ProcessSupervisor, Start, Stop, stop_bound_s
from monerosim_actors.runtime.rpc import DaemonRpc, WalletRpc
from monerosim_actors.runtime.scheduler import Scheduler

log = logging.getLogger(__name__)

ACTOR = "runtime"
PROBE_TIMEOUT_S = 5.0
ROLE_STOP_TIMEOUT_S = 5.0
WALLET_STORE_TIMEOUT_S = 60.0
"""The wallet's ``store`` before it is stopped: it writes the wallet files."""


def graceful_stop_bound_s() -> float:
    """The longest a host runtime takes to stop after SIGTERM when every step takes its timeout:
    a start under way gives up (one probe in flight), then :meth:`HostSystem.stop` stops the role,
    the wallet (store and stop RPCs) and monerod (stop RPC), one after the other, each supervisor
    waiting for the exit, after SIGTERM and after SIGKILL (:func:`~monerosim_actors.runtime.process.stop_bound_s`).
    The local backend waits this long before it kills a runtime."""
    return (PROBE_TIMEOUT_S + ROLE_STOP_TIMEOUT_S + stop_bound_s(WALLET_STORE_TIMEOUT_S + PROBE_TIMEOUT_S)
            + stop_bound_s(PROBE_TIMEOUT_S))

EXIT_OK = 0
EXIT_PROCESS_FAILED = 1
"""monerod or the wallet could not be kept running (reason ``process_failed``)."""
EXIT_START_FAILED = 2
"""The host could not start (reason ``start_failed``)."""
EXIT_ACTOR_FAILED = 3
"""The role actor (a service's too) or the bus's transport thread died of a bug (reasons
``actor_failed``, ``bus_failed``): the host would have run on without its behaviour, or deaf."""


@dataclass(frozen=True)
class Failure:
    """Why a running host gives up; ``reason`` and ``exit_code`` go into ``host_stopped``."""

    reason: str
    """``process_failed``, ``actor_failed`` or ``bus_failed``."""
    exit_code: int
    detail: str
    """What failed and how, e.g. ``block_controller: KeyError: 'x'`` or ``monerod: ...``."""


def load_role(role_class: str) -> type[pykka.ThreadingActor]:
    """The class named ``package.module:Class``.

    Raises:
        MonerosimError: the module cannot be imported or has no such actor class.
    """
    module_name, _, class_name = role_class.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as e:
        raise MonerosimError(f"role class {role_class!r} cannot be loaded: {type(e).__name__}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, pykka.ThreadingActor)):
        raise MonerosimError(f"role class {role_class!r} is not a pykka.ThreadingActor")
    return cls


def load_message_modules(modules: tuple[str, ...]) -> None:
    """Import the plan's message modules, so the bus can decode every message type of the run.

    Raises:
        MonerosimError: a module cannot be imported.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise MonerosimError(f"message module {name!r} cannot be loaded: {type(e).__name__}: {e}") from e


class HostSystem:
    """Everything running on one host; :meth:`start`, wait on :attr:`stopping`, then :meth:`stop`."""

    def __init__(self, config: HostConfig, data_dir: str, *, time_scale: float = 1.0,
                 ready_timeout_s: float = 120.0, on_stop: Callable[[], None] | None = None) -> None:
        """
        Args:
            time_scale: K, the run's pace (:mod:`monerosim_actors.runtime.clock`); only the
                scheduler applies it, and ``host_started`` records it for the analysis.
            on_stop: called (from any thread) when the system itself decides to stop (a program
                that cannot be kept running, a dead role actor or bus thread: :meth:`fail`), so
                that whoever waits for the end wakes up.
        """
        self.config = config
        self.time_scale = time_scale
        self._on_stop = on_stop
        self.host = config.host.name
        self.data_dir = os.path.abspath(data_dir)
        self.ready_timeout_s = ready_timeout_s
        self.stopping = threading.Event()
        """Set by a signal, the end time or a failure: the host is (about to be) shutting down."""
        self.failure: Failure | None = None
        """Why the host gives up while running (the first cause), else None."""
        self._failure_lock = threading.Lock()
        self.events: EventLog | None = None
        self.scheduler: Scheduler | None = None
        self.bus: Bus | None = None
        self.inbox = RoleInbox()
        self.daemon: DaemonRpc | None = None
        self.wallet: WalletRpc | None = None
        self.supervisors: dict[str, pykka.ActorRef[Any]] = {}
        self.role: pykka.ActorRef[Any] | None = None
        self._stopped = False

    # --- start ----------------------------------------------------------------------------------

    def start(self) -> bool:
        """Start everything, in order.

        Returns:
            True once the role runs; False when :attr:`stopping` was set (a signal) during the start,
            in which case everything has been stopped again, cleanly.

        Raises:
            MonerosimError: naming the host and the cause; what was started has been stopped.
        """
        try:
            self._start()
            return True
        except BaseException as e:
            if self.stopping.is_set() and self.failure is None:
                log.info("%s: asked to stop while starting", self.host)
                self.stop("signal", EXIT_OK)
                return False
            log.error("%s: start failed: %s", self.host, e)
            self.stop("start_failed", EXIT_START_FAILED, detail=str(e).split("\n", 1)[0][:300])
            if isinstance(e, zmq.ZMQError):
                raise MonerosimError(f"{self.host}: the bus cannot start: {e}") from e
            raise

    def _start(self) -> None:
        config, host = self.config, self.config.host
        role_cls = load_role(host.role_class)
        load_message_modules(config.message_modules)
        try:
            for sub in (MONEROD_DIR, WALLET_DIR):
                os.makedirs(os.path.join(self.data_dir, sub), exist_ok=True)
            self.events = EventLog(os.path.join(self.data_dir, EVENTS_FILE), self.host)
        except OSError as e:
            raise OutputError(f"{self.host}: data directory {self.data_dir} is not writable: {e}") from e
        self.events.emit(ACTOR, EventName.HOST_STARTED, role=host.role, agent_id=host.agent_id, ip=host.ip,
                         seed=host.seed, time_scale=self.time_scale, pid=os.getpid())
        self.scheduler = Scheduler(self.time_scale)
        self.bus = Bus(config, self.events, self.inbox, on_failed=self._bus_failed)
        self.bus.start()
        if host.node is not None:  # its own monerod, or a public node's (no idle connection held there)
            self.daemon = DaemonRpc(host.node.rpc_url, keep_alive=host.monerod is not None)
        if host.monerod is not None:
            # the supervisor gets its own client: a requests.Session is not shared between threads
            self._supervise(self._monerod_spec(DaemonRpc(f"http://{host.ip}:{host.monerod.rpc_port}")))
        if host.wallet is not None:
            url = f"http://{host.ip}:{host.wallet.rpc_port}"
            self.wallet = WalletRpc(url)
            self._supervise(self._wallet_spec(WalletRpc(url)))
        if self.stopping.is_set():
            raise self._stopped_while_starting()
        ctx = HostContext(config=config, events=self.events, bus=self.bus, daemon=self.daemon,
                          wallet=self.wallet, scheduler=self.scheduler, clock=SystemClock(),
                          data_dir=self.data_dir, on_actor_failed=self._actor_failed)
        self.role = role_cls.start(ctx)
        try:
            self.inbox.attach(self.role)
        except pykka.ActorDeadError:  # it died in its own start: a failure (reported, or check_role's)
            log.debug("%s: the role died before it got what was held for it", self.host)
        self.events.emit(ACTOR, EventName.ROLE_STARTED, role_class=host.role_class)

    def _stopped_while_starting(self) -> MonerosimError:
        failure = self.failure
        return MonerosimError(f"{self.host}: stopped while starting"
                              + ("" if failure is None else f": {failure.detail}"))

    def _monerod_spec(self, daemon: DaemonRpc) -> ProcessSpec:
        argv = monerod_argv(self.config.binaries.monerod, self.config.host, self.data_dir)
        return ProcessSpec(
            name="monerod", argv=tuple(argv), data_dir=self.data_dir,
            probe=lambda: daemon.get_info(retries=0, timeout=PROBE_TIMEOUT_S),
            stop_rpc=lambda: daemon.stop_daemon(timeout=PROBE_TIMEOUT_S),
            log_file=os.path.join(self.data_dir, MONEROD_DIR, "monerod.log"),
            environment=self.config.host.monerod.environment if self.config.host.monerod else {},
            managed=self.config.launch_mode == "runtime", ready_timeout_s=self.ready_timeout_s)

    def _wallet_spec(self, wallet: WalletRpc) -> ProcessSpec:
        argv = wallet_argv(self.config.binaries.wallet_rpc, self.config.host, self.data_dir)

        def stop() -> None:
            try:
                wallet.store(timeout=WALLET_STORE_TIMEOUT_S)
            except RpcError as e:  # no wallet open (-13) is the common, harmless case
                log.debug("%s: store before stop: %s", self.host, e)
            wallet.stop_wallet(timeout=PROBE_TIMEOUT_S)

        return ProcessSpec(
            name="wallet", argv=tuple(argv), data_dir=self.data_dir,
            probe=lambda: wallet.get_version(retries=0, timeout=PROBE_TIMEOUT_S), stop_rpc=stop,
            log_file=os.path.join(self.data_dir, WALLET_DIR, "wallet-rpc.log"),
            environment=self.config.host.wallet.environment if self.config.host.wallet else {},
            managed=self.config.launch_mode == "runtime", ready_timeout_s=self.ready_timeout_s)

    def _supervise(self, spec: ProcessSpec) -> None:
        assert self.events is not None and self.scheduler is not None
        if self.stopping.is_set():  # a signal (or the bus's failure) during the start: start nothing more
            raise self._stopped_while_starting()
        ref = ProcessSupervisor.start(spec, host=self.host, events=self.events, scheduler=self.scheduler,
                                      stopping=self.stopping, on_restarted=self._restarted,
                                      on_failed=self._failed)
        self.supervisors[spec.name] = ref
        ref.ask(Start())  # raises the supervisor's ProcessError here

    def _restarted(self, name: str) -> None:
        self.inbox.tell(ProcessRestarted(name))

    def _failed(self, name: str, reason: str) -> None:
        self.fail(Failure("process_failed", EXIT_PROCESS_FAILED, f"{name}: {reason}"))

    def _actor_failed(self, actor: str, what: str) -> None:
        self.fail(Failure("actor_failed", EXIT_ACTOR_FAILED, f"{actor}: {what}"))

    def _bus_failed(self, what: str) -> None:
        self.fail(Failure("bus_failed", EXIT_ACTOR_FAILED, f"bus thread: {what}"))

    def fail(self, failure: Failure) -> None:
        """Give up (from any thread): record ``failure`` unless a cause is recorded already or the
        host is stopping anyway, set :attr:`stopping` and wake whoever waits for the end."""
        with self._failure_lock:
            if self.failure is not None or self._stopped:
                return
            self.failure = failure
        log.error("%s: %s (%s)", self.host, failure.detail, failure.reason)
        self.stopping.set()
        if self._on_stop is not None:
            self._on_stop()

    def check_role(self) -> None:
        """Give up if the role actor is dead although nothing stopped it: a role that did not say
        why (an actor that is no :class:`~monerosim_actors.behaviour.RoleActor`) is not silent either.
        :meth:`finish` calls it first."""
        role = self.role
        if role is not None and not role.is_alive():
            self._actor_failed(self.config.host.role, "the actor stopped while the host was running")

    # --- stop -----------------------------------------------------------------------------------

    def stop(self, reason: str, exit_code: int, detail: str | None = None) -> None:
        """Stop everything that was started, in reverse order; safe after a partial start, and
        only the first call does anything.

        Args:
            reason, exit_code: logged in ``host_stopped``.
            detail: what failed, logged in ``host_stopped`` too (a failure's detail).
        """
        with self._failure_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop_all(reason, exit_code, detail)

    def finish(self, reason: str) -> int:
        """Stop at the end of a run that started (``reason``: ``end`` or ``signal``), or, if the host
        gave up (:attr:`failure`, or a dead role: :meth:`check_role`), with the failure's reason,
        exit code and detail. A failure reported once this has begun changes nothing.

        Returns:
            The exit code logged in ``host_stopped``; the runtime exits with it.
        """
        self.check_role()
        with self._failure_lock:
            if self._stopped:
                return EXIT_OK if self.failure is None else self.failure.exit_code
            self._stopped = True
            failure = self.failure
        if failure is None:
            self._stop_all(reason, EXIT_OK, None)
            return EXIT_OK
        self._stop_all(failure.reason, failure.exit_code, failure.detail)
        return failure.exit_code

    def _stop_all(self, reason: str, exit_code: int, detail: str | None) -> None:
        self.stopping.set()
        self.inbox.detach()
        if self.role is not None:
            try:
                self.role.stop(timeout=ROLE_STOP_TIMEOUT_S)
            except pykka.Timeout:
                log.warning("%s: the role did not stop within %g s", self.host, ROLE_STOP_TIMEOUT_S)
            self.role = None
        if self.scheduler is not None:
            self.scheduler.stop()
        for name in ("wallet", "monerod"):
            ref = self.supervisors.pop(name, None)
            if ref is None:
                continue
            try:
                ref.ask(Stop(), timeout=120.0)
            except (pykka.Timeout, pykka.ActorDeadError) as e:
                log.warning("%s: stopping %s: %r", self.host, name, e)
            ref.stop()
        for client in (self.wallet, self.daemon):
            if client is not None:
                client.close()
        if self.bus is not None:
            self.bus.stop()
        if self.events is not None:
            fields = {} if detail is None else {"detail": detail}
            self.events.emit(ACTOR, EventName.HOST_STOPPED, reason=reason, exit_code=exit_code, **fields)
            self.events.close()
