"""One host's runtime: ``python3 -m monerosim_actors.runtime.host --config OUT/hosts/HOST.json [--data-dir DIR]``.

Shadow (or the local backend) starts this on every host with the host's data directory as the
working directory. It starts the host's actor system (:mod:`monerosim_actors.runtime.system`), runs
until SIGTERM/SIGINT or the scenario's end, stops everything and exits 0. A failed start exits 2
with one clear line naming the host and the cause; a program that cannot be kept running ends the
run with exit 1; the role actor (or the bus's thread) dying of a bug ends it with exit 3. A host that
gives up stops the rest as on SIGTERM and says why in ``host_stopped`` (``reason``, ``detail``):
under Shadow, whose expected final state of a runtime is ``{exited: 0}``, the run then fails.

The scenario ends ``duration_s`` scenario seconds after the simulation's start, and this host was
started ``start_time_s`` scenario seconds after it, so the runtime stops itself
``(duration_s - start_time_s) / K`` real seconds after it started (simulated seconds under Shadow,
where K is 1). K, the time scale, is the local backend's run-time choice, given in the environment
(:data:`monerosim_actors.runtime.clock.TIME_SCALE_ENV`), never in the host config.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any

from monerosim_actors.errors import MonerosimError
from monerosim_actors.plan.addresses import Relocation
from monerosim_actors.plan.model import HostConfig, read_json_file
from monerosim_actors.runtime.clock import clock_seconds, time_scale_from
from monerosim_actors.runtime.system import (EXIT_ACTOR_FAILED, EXIT_OK, EXIT_PROCESS_FAILED,
                                             EXIT_START_FAILED, HostSystem)
from monerosim_actors.runtime.waker import Waker

log = logging.getLogger("monerosim_actors.runtime.host")

__all__ = ["EXIT_ACTOR_FAILED", "EXIT_OK", "EXIT_PROCESS_FAILED", "EXIT_START_FAILED", "main"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m monerosim_actors.runtime.host",
                                     description="Run one simulated host's runtime.")
    parser.add_argument("--config", required=True, help="the host's config, OUT/hosts/HOST.json")
    parser.add_argument("--data-dir", default=".",
                        help="where events.jsonl, monerod/, wallet/ and the program outputs go "
                             "(default: the working directory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug lines to stderr")
    return parser.parse_args(argv)


def load_config(path: str) -> HostConfig:
    try:
        return read_json_file(HostConfig, path)
    except ValueError as e:
        raise MonerosimError(f"cannot read host config: {e}: generate it again") from None


def apply_run_choices(config: HostConfig, environ: Mapping[str, str]) -> tuple[HostConfig, float]:
    """The config as this run places it, and the time scale K: the local backend's run-time choices,
    which it gives in the environment (none under Shadow: the config as gen wrote it, K = 1).

    Raises:
        MonerosimError: a variable the backend set cannot be read.
    """
    try:
        relocation = Relocation.from_environ(environ)
    except ValueError as e:
        raise MonerosimError(str(e)) from None
    return (relocation.config(config) if relocation else config), time_scale_from(environ)


def run_seconds(config: HostConfig, time_scale: float) -> float:
    """Real seconds from this process's start to the scenario's end, at time scale K."""
    return max(0.0, clock_seconds(config.duration_s - config.host.start_time_s, time_scale))


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    opts = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if opts.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not opts.verbose:  # pykka logs every exception an ask returns to its caller, with a traceback
        logging.getLogger("pykka").setLevel(logging.WARNING)
    try:
        config, time_scale = apply_run_choices(load_config(opts.config), os.environ)
    except MonerosimError as e:
        print(f"monerosim host: {e}", file=sys.stderr)
        return EXIT_START_FAILED
    name = config.host.name
    # the main thread sleeps on this: signals (whichever thread the kernel gave them to: Python runs
    # handlers only in the main thread, once it wakes), the end of the start-up and a failure (a
    # program, the role actor, the bus's thread: HostSystem.fail) all wake it
    wakeup = Waker()
    wakeup.catch_signals()
    system = HostSystem(config, opts.data_dir, time_scale=time_scale, on_stop=wakeup.wake)
    reason = "end"

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal reason
        if not system.stopping.is_set():
            reason = "signal"
            log.info("%s: %s, shutting down", name, signal.Signals(signum).name)
        system.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # the local backend starts runtimes with these blocked, so that one stopped while its interpreter
    # was still starting is not killed by the default action: a pending one arrives here, handled
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    # the start runs in its own thread so that the main thread stays free to take signals
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            outcome["running"] = system.start()
        except BaseException as e:  # handed to the main thread
            outcome["error"] = e
        finally:
            wakeup.wake()

    starter = threading.Thread(target=start, name="start")
    starter.start()
    deadline = started + run_seconds(config, time_scale)
    while not system.stopping.is_set() and not ("error" in outcome or outcome.get("running") is False):
        if time.monotonic() >= deadline:
            break
        wakeup.sleep(deadline - time.monotonic())
    system.stopping.set()  # a start still in progress gives up
    starter.join()
    if "error" in outcome:
        text = str(outcome["error"])
        print(f"monerosim host {name}: start failed: {text}", file=sys.stderr)
        if "\n" in text:  # the cause again after the program's log tail: whoever shows the end sees it
            print(f"monerosim host {name}: start failed: {text.splitlines()[0]}", file=sys.stderr)
        return EXIT_START_FAILED
    if not outcome.get("running"):
        return EXIT_OK
    exit_code = system.finish(reason)  # a failure replaces the reason and decides the exit code
    if system.failure is not None:
        log.error("%s: stopped with exit code %d: %s: %s", name, exit_code, system.failure.reason,
                  system.failure.detail)
    else:
        log.info("%s: stopped (%s)", name, reason)
    return exit_code


def exit_now(code: int) -> None:
    """Exit with ``code`` even if a role left a non-daemon thread running (a stuck actor).

    The runtime's own threads are daemons, but pykka actor threads are not by default: a role
    that does not stop in time would otherwise keep the process alive past its end.
    """
    stuck = [t.name for t in threading.enumerate()
             if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if not stuck:
        sys.exit(code)
    log.warning("threads still running at exit: %s; exiting anyway", ", ".join(stuck))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
