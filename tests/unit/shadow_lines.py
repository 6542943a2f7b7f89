"""Shadow 3.3.0's output lines, for the tests of the shadow backend (``test_shadow_output.py``,
``test_shadow_backend.py``).

No recorded Shadow 3.3 log is public, so these lines are built from the format strings of Shadow
3.3.0's source (tag v3.3.0): the log line from ``ShadowLogRecord``'s ``Display``
(src/main/core/logger/shadow_logger.rs), the heartbeat from ``Manager::log_heartbeat``
(core/manager.rs), a process's unexpected end from ``handle_process_exit`` (host/process.rs) and
``Controller::run`` (core/controller.rs), the ``Progress:`` line from ``ShadowStatusBarState`` and
``StatusPrinter`` (core/controller.rs, utility/status_bar.rs), the ``**`` and ``Error:`` lines from
shadow.rs and shadow_logger.rs. Thread ids, file lines and times are made up.
"""

from __future__ import annotations

STARTING = "** Starting Shadow 3.3.0"
BUILD_INFO = ("00:00:00.000512 [71432:shadow] n/a [INFO] [n/a] [shadow.rs:198] [shadow_rs::shadow] "
              "Shadow 3.3.0 — v3.3.0-0-g5a05740ba")
SIDECHANNEL = ("00:00:00.001204 [71432:shadow] n/a [WARN] [n/a] [shadow.rs:187] [shadow_rs::shadow] "
               "Speculative Store Bypass sidechannel mitigation is enabled (perhaps by seccomp?). "
               "This typically adds ~30% performance overhead.")
RUNNING = ("00:00:00.412977 [71432:shadow] n/a [INFO] [n/a] [controller.rs:65] "
           "[shadow_rs::core::controller] Running simulation")


def heartbeat(real: str, sim_ns: int) -> str:
    return (f"{real} [71432:shadow] n/a [INFO] [n/a] [manager.rs:736] [shadow_rs::core::manager] "
            f"Process resource usage at simtime {sim_ns} reported by getrusage(): ru_maxrss=0.212 GiB, "
            "ru_utime=0.350 minutes, ru_stime=0.120 minutes, ru_nvcsw=48213, ru_nivcsw=1377")


PROGRESS = "Progress: 20% — simulated: 00:02:12.000/00:11:00, realtime: 00:00:44, processes failed: 0"
BAD_END = ("process 'pool-a.monerod.1001' exited with status Normal(1); "
           "expected end state was exited: 0 but was exited: 1")
BAD_END_LINE = ("00:01:40.250100 [71440:shadow-worker] 00:05:30.000000000 [ERROR] [pool-a:11.0.0.3] "
                f"[process.rs:1557] [shadow_rs::host::process] {BAD_END}")
STILL_RUNNING = ("00:01:51.000020 [71441:shadow-worker] 00:11:00.000000000 [ERROR] [user-0:11.0.0.4] "
                 "[process.rs:1557] [shadow_rs::host::process] process 'user-0.python3.1000' exited with "
                 "status StoppedByShadow; expected end state was exited: 0 but was running")
FINISHED = ("00:01:51.400000 [71432:shadow] n/a [INFO] [n/a] [controller.rs:67] "
            "[shadow_rs::core::controller] Finished simulation")
FAILED_CHAIN = [f"00:01:51.500000 [71432:shadow] n/a [ERROR] [n/a] [shadow.rs:477] [shadow_rs::shadow] {m}"
                for m in ("Failed to run the simulation", "", "Caused by:",
                          "    1 managed processes in unexpected final state")]
ECHOES = ["Error: Failed to run the simulation", "Error: ", "Error: Caused by:",
          "Error:     1 managed processes in unexpected final state"]
NOT_COMPLETED = ["** Shadow did not complete successfully: Failed to run the simulation",
                 "**   1 managed processes in unexpected final state", "** See the log for details"]
COMPLETED = "** Shadow completed successfully"


# -- the lines ---------------------------------------------------------------------------------
