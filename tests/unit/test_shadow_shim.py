"""The Shadow compatibility shim: built once per source, and it answers exactly the calls it names.

The behaviour tests stand in for Shadow with a small preload library that, like Shadow 3.3.0's
``libshadow_libc.so``, defines ``setsockopt`` ahead of the shim and refuses the two options monerod
sets. A C program linked as monerod is (``-z now``, PIE) and one linked with lazy binding call
``setsockopt`` and print what happened; under the stand-in alone they see ENOPROTOOPT, with the shim
after it they see success for those two and the stand-in's answer for everything else.
"""

from __future__ import annotations

import ctypes
import os
from errno import EAGAIN, EBADF, ENOPROTOOPT, ENOSYS
import shutil
import subprocess
from pathlib import Path

import pytest

from monerosim_actors import defaults, native
from monerosim_actors.shadow import shim as shadow_shim
from monerosim_actors.errors import PreloadBuildError
from monerosim_actors.shadow.write import write_output
from monerosim_actors.plan.planner import build_plan
from monerosim_actors.scenario.load import load_scenario

from scenario_helpers import base_doc, write_doc

SHADOW_LIBC_STANDIN = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    if ((level == IPPROTO_IP && name == IP_TOS) ||
        (level == IPPROTO_TCP && name == TCP_NODELAY && *(const int *)value == 0)) {
        errno = ENOPROTOOPT;
        return -1;
    }
    return (int)syscall(SYS_setsockopt, fd, level, name, value, len);
}
"""

PROGRAM = r"""
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
static void show(const char *what, int rc) { printf("%s %d %d\n", what, rc, rc ? errno : 0); }
int main(void) {
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
    int tos = 0x10, off = 0, on = 1, got = -1;
    socklen_t len = sizeof got;
    show("tcp_tos", setsockopt(tcp, IPPROTO_IP, IP_TOS, &tos, sizeof tos));
    getsockopt(tcp, IPPROTO_IP, IP_TOS, &got, &len);
    printf("tcp_tos_read %d\n", got);
    show("udp_tos", setsockopt(udp, IPPROTO_IP, IP_TOS, &tos, sizeof tos));
    getsockopt(udp, IPPROTO_IP, IP_TOS, &got, &len);
    printf("udp_tos_read %d\n", got);
    show("nodelay_off", setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &off, sizeof off));
    show("nodelay_on", setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on));
    getsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &got, &len);
    printf("nodelay_read %d\n", got);
    show("reuseaddr", setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on));
    show("bad_fd", setsockopt(1000, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on));
    return 0;
}
"""


@pytest.fixture(scope="module")
def shim() -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (Debian package gcc)")
    return shadow_shim.build()


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory, shim: Path) -> dict[str, Path]:
    """The stand-in for Shadow's libc, and the program linked two ways."""
    d = tmp_path_factory.mktemp("shim-programs")
    (d / "standin.c").write_text(SHADOW_LIBC_STANDIN)
    (d / "program.c").write_text(PROGRAM)
    built = {"standin": d / "standin.so", "now": d / "program-now", "lazy": d / "program-lazy"}
    subprocess.run(["cc", "-shared", "-fPIC", "-o", built["standin"], d / "standin.c"], check=True)
    subprocess.run(["cc", "-fPIE", "-pie", "-Wl,-z,now", "-o", built["now"], d / "program.c"], check=True)
    subprocess.run(["cc", "-no-pie", "-Wl,-z,lazy", "-o", built["lazy"], d / "program.c"], check=True)
    return built


def _run(program: Path, *preload: Path) -> dict[str, list[int]]:
    env = {**os.environ, "LD_PRELOAD": ":".join(str(p) for p in preload)}
    out = subprocess.run([str(program)], env=env, capture_output=True, text=True, check=True).stdout
    return {line.split()[0]: [int(v) for v in line.split()[1:]] for line in out.splitlines()}


def test_the_standin_refuses_what_shadow_3_3_refuses(programs: dict[str, Path]) -> None:
    seen = _run(programs["now"], programs["standin"])
    assert seen["tcp_tos"] == [-1, ENOPROTOOPT] and seen["nodelay_off"] == [-1, ENOPROTOOPT]


@pytest.mark.parametrize("linking", ["now", "lazy"])
def test_behind_shadows_libc_the_two_options_succeed_and_the_rest_reach_it(
        programs: dict[str, Path], shim: Path, linking: str) -> None:
    seen = _run(programs[linking], programs["standin"], shim)
    assert seen["tcp_tos"] == [0, 0] and seen["tcp_tos_read"] == [0], "accepted without effect"
    assert seen["nodelay_off"] == [0, 0] and seen["nodelay_on"] == [0, 0]
    assert seen["nodelay_read"] == [1], "TCP_NODELAY on still reaches the socket"
    assert seen["udp_tos"] == [-1, ENOPROTOOPT], "only TCP sockets are answered by the shim"
    assert seen["reuseaddr"] == [0, 0] and seen["bad_fd"] == [-1, EBADF]


def test_alone_it_interposes_setsockopt_and_passes_other_calls_to_libc(programs: dict[str, Path],
                                                                        shim: Path) -> None:
    seen = _run(programs["now"], shim)
    assert seen["tcp_tos"] == [0, 0] and seen["tcp_tos_read"] == [0]
    assert seen["udp_tos"] == [0, 0] and seen["udp_tos_read"] == [0x10], "libc applied it"
    assert seen["nodelay_read"] == [1] and seen["bad_fd"] == [-1, EBADF]


NO_MPROTECT = r"""
#include <errno.h>
#include <stddef.h>
int mprotect(void *addr, size_t len, int prot) { (void)addr; (void)len; (void)prot; errno = EACCES; return -1; }
"""

RELRO_PAGES = r"""
#include SHIM_SOURCE
int main(void) {
    /* 64 KiB pages: a segment from 0x10100 to 0x2f800 protects 0x10000..0x20000; its last page,
       which it fills only in part, stays writable (glibc's _dl_protect_relro) */
    struct relro r = relro_pages(0x10100, 0x2f800, 0x10000, "x");
    printf("%#lx %#lx\n", (unsigned long)r.start, (unsigned long)r.end);
    r = relro_pages(0x3dc8, 0x4000, 0x1000, "x");  /* x86-64, as ld lays it out: ends on a page */
    printf("%#lx %#lx\n", (unsigned long)r.start, (unsigned long)r.end);
    return 0;
}
"""


def test_the_relro_pages_are_rounded_as_glibc_protects_them(tmp_path: Path, shim: Path) -> None:
    (tmp_path / "relro.c").write_text(RELRO_PAGES)
    subprocess.run(["cc", "-Wall", "-Werror", f'-DSHIM_SOURCE="{shadow_shim.SOURCE}"', "-o", tmp_path / "relro",
                    tmp_path / "relro.c", "-ldl"], check=True)
    out = subprocess.run([str(tmp_path / "relro")], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["0x10000 0x20000", "0x3000 0x4000"]


def test_a_slot_it_cannot_make_writable_is_reported_once_naming_the_object(
        programs: dict[str, Path], shim: Path, tmp_path: Path) -> None:
    (tmp_path / "no_mprotect.c").write_text(NO_MPROTECT)
    no_mprotect = tmp_path / "no_mprotect.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", no_mprotect, tmp_path / "no_mprotect.c"], check=True)
    env = {**os.environ, "LD_PRELOAD": f"{programs['standin']}:{shim}:{no_mprotect}"}
    done = subprocess.run([str(programs["now"])], env=env, capture_output=True, text=True, check=True)
    assert done.stderr.splitlines() == [
        f"shadow_compat: setsockopt is not rebound in {programs['now']}: mprotect of its RELRO page failed "
        "(Permission denied); under Shadow its IP_TOS and TCP_NODELAY calls will fail"]
    assert "tcp_tos -1 92" in done.stdout, "the program keeps the binding it had"


def test_thread_scheduling_calls_succeed_without_effect(shim: Path) -> None:
    lib = ctypes.CDLL(str(shim))
    policy, param = ctypes.c_int(-1), (ctypes.c_int * 4)(7, 7, 7, 7)
    libc = ctypes.CDLL(None)
    me = libc.pthread_self
    me.restype = ctypes.c_ulong
    assert lib.pthread_getschedparam(ctypes.c_ulong(me()), ctypes.byref(policy), param) == 0
    assert policy.value == 0 and param[0] == 0, "SCHED_OTHER, priority 0"
    high = (ctypes.c_int * 4)(99, 0, 0, 0)
    assert lib.pthread_setschedparam(ctypes.c_ulong(me()), 1, high) == 0, "SCHED_FIFO 99 'succeeds'"
    assert libc.sched_getscheduler(0) == 0, "and changes nothing"


def test_built_once_per_source_into_the_cache(tmp_path: Path) -> None:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (Debian package gcc)")
    first = shadow_shim.build(tmp_path)
    mtime = first.stat().st_mtime_ns
    assert first.parent == tmp_path and first.name == shadow_shim.cached_name()
    assert shadow_shim.build(tmp_path).stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [first.name], "no temporary file left"


def test_no_compiler_is_a_clear_error_naming_the_package(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(PreloadBuildError, match=r"no 'no-such-cc' on PATH: install a C compiler "
                                             r"\(Debian: apt-get install gcc\).*shadow.compat_shim: false"):
        shadow_shim.build(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_gen_refuses_without_a_compiler_and_writes_nothing(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("CC", "no-such-cc")
    config = write_doc(tmp_path, base_doc())
    out = tmp_path / "out"
    with pytest.raises(PreloadBuildError):
        write_output(build_plan(load_scenario(config), out_dir=str(out)), str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == [config.name]


def _preloads(out: Path) -> list[str | None]:
    import yaml

    config = yaml.safe_load((out / defaults.SHADOW_FILE).read_text())
    return [proc.get("environment", {}).get("LD_PRELOAD")
            for host in config["hosts"].values() for proc in host["processes"]]


@pytest.mark.parametrize("launch", ["runtime", "shadow"])
def test_every_process_gen_writes_preloads_the_copy_in_out(tmp_path: Path, shim: Path, launch: str) -> None:
    doc = base_doc()
    doc["monero"]["launch"] = launch
    out = tmp_path / "out"
    write_output(build_plan(load_scenario(write_doc(tmp_path, doc)), out_dir=str(out)), str(out))
    copy = out / defaults.SHIM_FILE
    assert copy.read_bytes() == shim.read_bytes()
    preloads = _preloads(out)
    assert len(preloads) > len(doc["network"]["agents"]["mining_pools"])
    assert {p.split()[0] for p in preloads if p} == {str(copy)} and None not in preloads, "the shim comes first"


def test_compat_shim_false_preloads_nothing(tmp_path: Path) -> None:
    doc = base_doc()
    doc["shadow"] = {"compat_shim": False}
    out = tmp_path / "out"
    write_output(build_plan(load_scenario(write_doc(tmp_path, doc)), out_dir=str(out)), str(out))
    assert set(_preloads(out)) == {None} and not (out / defaults.SHIM_FILE).exists()


def test_local_runs_never_preload_it(tmp_path: Path) -> None:
    plan = build_plan(load_scenario(write_doc(tmp_path, base_doc())), addressing="loopback",
                      out_dir=str(tmp_path / "out"))
    assert plan.shadow_compat_shim is False


SPINNER = r"""
#include <stdio.h>
#include <time.h>
static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}
int main(void) {  /* monero's tick calibration, for 50 ms instead of a second */
    long t0 = now_ns(), t1, reads = 0;
    do { t1 = now_ns(); reads++; } while (t1 - t0 <= 50000000L);
    printf("%ld %ld\n", reads, t1 - t0);
    return 0;
}
"""


def test_a_thread_spinning_on_the_clock_sleeps_instead_of_reading_it_millions_of_times(
        tmp_path: Path, shim: Path) -> None:
    """A spin (reads from one call site with nothing between them) sleeps a millisecond per read
    from its 1000th read on: it still ends once its time has passed, after a few thousand reads."""
    (tmp_path / "spinner.c").write_text(SPINNER)
    program = tmp_path / "spinner"
    subprocess.run(["cc", "-O1", "-fPIE", "-pie", "-Wl,-z,now", "-o", program, tmp_path / "spinner.c"], check=True)
    out = subprocess.run([str(program)], env={**os.environ, "LD_PRELOAD": str(shim)}, capture_output=True,
                         text=True, check=True).stdout
    reads, elapsed_ns = (int(v) for v in out.split())
    assert elapsed_ns > 50_000_000
    assert reads < 1000 + 60, f"{reads} reads: the spin was not noticed"


SHADOW_SEND_STANDIN = r"""
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
/* As Shadow 3.3.0's TCP: at most 65535 bytes per send, whatever room the buffer has. */
ssize_t send(int fd, const void *buf, size_t len, int flags) {
    return syscall(SYS_sendto, fd, buf, len > 65535 ? 65535 : len, flags, NULL, 0);
}
"""

SENDER = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(void) {
    int sv[2], size = 4 << 20;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    char *buf = calloc(1, 64 << 20);
    ssize_t n = send(sv[0], buf, 200000, 0);
    printf("fits %zd\n", n);
    n = send(sv[0], buf, 64 << 20, 0);
    printf("full %zd\n", n);
    n = send(sv[0], buf, 1000, 0);
    printf("after %zd %d\n", n, n < 0 ? errno : 0);
    return 0;
}
"""


def _standin_and_program(d: Path, standin: str, name: str, program: str) -> dict[str, Path]:
    """A stand-in for one of Shadow's answers (a preload library) and a program linked as monerod is
    (``-z now``, PIE) that makes the call, built in ``d``."""
    (d / "standin.c").write_text(standin)
    (d / f"{name}.c").write_text(program)
    built = {"standin": d / "standin.so", name: d / name}
    subprocess.run(["cc", "-shared", "-fPIC", "-o", built["standin"], d / "standin.c"], check=True)
    subprocess.run(["cc", "-fPIE", "-pie", "-Wl,-z,now", "-o", built[name], d / f"{name}.c"], check=True)
    return built


@pytest.fixture(scope="module")
def sender(tmp_path_factory: pytest.TempPathFactory, shim: Path) -> dict[str, Path]:
    return _standin_and_program(tmp_path_factory.mktemp("shim-send"), SHADOW_SEND_STANDIN, "sender", SENDER)


def test_the_send_standin_takes_64_kib_at_most_as_shadow_3_3(sender: dict[str, Path]) -> None:
    assert _run(sender["sender"], sender["standin"])["fits"] == [65535]


def test_behind_shadows_send_a_short_send_takes_the_rest_while_the_socket_takes_any(
        sender: dict[str, Path], shim: Path) -> None:
    """What fits in the buffer is taken at once, as Linux takes it; a send larger than the room left
    stops at the full buffer with what was taken, and only then does the next send find no room."""
    seen = _run(sender["sender"], sender["standin"], shim)
    assert seen["fits"] == [200000]
    assert 0 < seen["full"][0] < 64 << 20, "a full buffer ends it with what was taken"
    assert seen["after"] == [-1, EAGAIN]


SHADOW_MLOCK_STANDIN = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
/* As Shadow 3.3.0: ENOSYS for both, after a round trip this stand-in counts on stderr. */
int mlock(const void *addr, size_t len) { fputs("asked\n", stderr); errno = ENOSYS; return -1; }
int munlock(const void *addr, size_t len) { fputs("asked\n", stderr); errno = ENOSYS; return -1; }
"""

LOCKER = r"""
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
static char key[4096] __attribute__((aligned(4096)));
int main(void) {
    int locked = mlock(key, sizeof key);
    printf("mlock %d %d\n", locked, locked < 0 ? errno : 0);
    int unlocked = munlock(key, sizeof key);
    printf("munlock %d %d\n", unlocked, unlocked < 0 ? errno : 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def locker(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _standin_and_program(tmp_path_factory.mktemp("shim-mlock"), SHADOW_MLOCK_STANDIN, "locker", LOCKER)


def test_behind_shadows_libc_page_locks_get_shadows_answer_without_asking_it(
        locker: dict[str, Path], shim: Path) -> None:
    """monero-wallet-rpc's mlock/munlock pairs: the program sees what Shadow 3.3.0 answers (ENOSYS),
    and Shadow (the stand-in, which says when it is asked) is never asked."""
    def run(*preload: Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LD_PRELOAD": ":".join(str(p) for p in preload)}
        return subprocess.run([str(locker["locker"])], env=env, capture_output=True, text=True, check=True)

    alone = run(locker["standin"])
    assert alone.stderr.count("asked") == 2
    behind = run(locker["standin"], shim)
    assert behind.stdout == alone.stdout == f"mlock -1 {ENOSYS}\nmunlock -1 {ENOSYS}\n"
    assert behind.stderr == "", "the calls never reach Shadow"
