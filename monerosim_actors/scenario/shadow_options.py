"""The ``shadow`` section: options passed on to Shadow's configuration, checked against the options
Shadow has, except those gen sets itself and those monerod cannot run without.
"""

from __future__ import annotations

from typing import Any

from monerosim_actors.scenario.checks import Checker, boolean, number, one_of, seconds
from monerosim_actors.scenario.source import Path

SHADOW_GENERAL_OWNED = {
    "stop_time": "it is simulation.duration plus simulation.grace_period",
    "data_directory": "gen puts it at OUT/shadow.data so that every host's data folder is known",
    "seed": "set simulation.seed (or gen --seed)",
}
SHADOW_GENERAL = {"bootstrap_end_time", "heartbeat_interval", "log_level",
                  "model_unblocked_syscall_latency", "parallelism", "progress", "template_directory"}
SHADOW_EXPERIMENTAL = {
    "interface_qdisc", "max_unapplied_cpu_latency", "native_preemption_enabled",
    "native_preemption_native_interval", "native_preemption_sim_interval", "report_errors_to_stderr",
    "runahead", "scheduler", "socket_recv_autotune", "socket_recv_buffer", "socket_send_autotune",
    "socket_send_buffer", "strace_logging_mode", "unblocked_syscall_latency", "unblocked_vdso_latency",
    "use_cpu_pinning", "use_dynamic_runahead", "use_memory_manager", "use_new_tcp",
    "use_object_counters", "use_preload_libc", "use_preload_openssl_crypto", "use_preload_openssl_rng",
    "use_sched_fifo", "use_syscall_counters", "use_worker_spinning"}
SHADOW_LOG_LEVELS = ("error", "warning", "info", "debug", "trace")
SHADOW_HOST_OPTIONS = {"log_level", "pcap_enabled", "pcap_capture_size"}


def read_shadow(chk: Checker, root: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bool]:
    """Shadow's ``general``, ``experimental`` and ``host_option_defaults``, checked, and whether
    processes preload the compatibility shim."""
    path: Path = ("shadow",)
    m = chk.section(root, (), "shadow", ("general", "experimental", "host_option_defaults", "compat_shim"))
    compat_shim = chk.get(m, path, "compat_shim", boolean, True)
    general = chk.section(m, path, "general", SHADOW_GENERAL | set(SHADOW_GENERAL_OWNED)) or {}
    gpath = path + ("general",)
    for key, why in SHADOW_GENERAL_OWNED.items():
        if key in general:
            chk.fail(gpath + (key,), f"is set by gen: {why}")
    if general.get("model_unblocked_syscall_latency", True) is not True:
        chk.fail(gpath + ("model_unblocked_syscall_latency",),
                 "must stay true: monerod never finishes starting without it")
    chk.get(general, gpath, "parallelism", number(ge=0, integer=True), 0)
    chk.get(general, gpath, "log_level", one_of(SHADOW_LOG_LEVELS), "info")
    chk.get(general, gpath, "progress", boolean, False)
    for key in ("bootstrap_end_time", "heartbeat_interval"):
        if general.get(key) is not None:
            chk.get(general, gpath, key, seconds(inclusive=True), 0)
    experimental = chk.section(m, path, "experimental", SHADOW_EXPERIMENTAL) or {}
    if experimental.get("use_memory_manager", False) is not False:
        chk.fail(path + ("experimental", "use_memory_manager"),
                 "must stay false: with it Shadow disables fork, and hosts start monerod")
    host_options = chk.section(m, path, "host_option_defaults", SHADOW_HOST_OPTIONS) or {}
    hpath = path + ("host_option_defaults",)
    if "log_level" in host_options:
        chk.get(host_options, hpath, "log_level", one_of(SHADOW_LOG_LEVELS), "info")
    if "pcap_enabled" in host_options:
        chk.get(host_options, hpath, "pcap_enabled", boolean, False)
    if "pcap_capture_size" in host_options:
        chk.get(host_options, hpath, "pcap_capture_size", number(ge=1, integer=True), 65535)
    return ({k: v for k, v in general.items() if k not in SHADOW_GENERAL_OWNED}, dict(experimental),
            dict(host_options), compat_shim)
