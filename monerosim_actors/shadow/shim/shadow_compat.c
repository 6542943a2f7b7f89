/*
 * shadow_compat.c: lets programs that run fine on Linux run unchanged under a stock Shadow 3.3.0.
 *
 * monerosim-actors builds this file into a shared library and names it in LD_PRELOAD of every
 * process in the generated shadow.yaml (the host runtime, and monerod and monero-wallet-rpc when
 * Shadow starts them; children inherit it). It answers exactly these calls, as Linux would or, where
 * nothing simulated depends on them, as Shadow would but without the trip to Shadow; every other
 * call reaches the function the program would have called without it:
 *
 *   pthread_getschedparam, pthread_setschedparam
 *       libzmq 4.3 (bundled in pyzmq, and Debian's libzmq5 that monerod links) reads and sets the
 *       scheduling policy of every I/O thread it starts (thread_t::applySchedulingParameters in
 *       src/thread.cpp). glibc turns these into sched_getparam, sched_getscheduler and
 *       sched_setscheduler, which Shadow 3.3.0 does not implement; libzmq asserts on the error
 *       ("Operation not permitted (src/thread.cpp:281)") and the process dies with SIGABRT within
 *       its first simulated seconds. Shadow schedules threads itself, so a policy means nothing
 *       there: the getter answers SCHED_OTHER with priority 0 and the setter does nothing.
 *
 *   setsockopt(IP_TOS) and setsockopt(TCP_NODELAY = 0) on TCP sockets
 *       monerod's RPC server (epee over boost::asio) sets IP_TOS and switches TCP_NODELAY off on
 *       every connection it accepts. Shadow 3.3.0 answers both with ENOPROTOOPT and monerod drops
 *       the connection, so another host's wallet or runtime gets "Empty reply from server". Shadow
 *       models neither type-of-service marking nor Nagle's algorithm, so accepting both changes
 *       nothing that is simulated.
 *
 *   clock_gettime(CLOCK_MONOTONIC) in a spin: a thread that busy-waits on the clock
 *       monerod and monero-wallet-rpc calibrate a tick counter before main by reading the monotonic
 *       clock in a loop until a second has passed (monero's src/common/perf_timer.cpp). Under Shadow
 *       the clock moves only by the modelled latency of each read (unblocked_vdso_latency: 10 ns
 *       by default), so each program start was 10^8 reads (10^6 at 1 us: ~0.4 s of wall time per
 *       program, minutes for a run of hundreds of wallets). A read is a spin when it comes from
 *       the same call site as the thread's previous read and no more simulated time than the reads'
 *       own latency passed between them (nothing blocked, nothing else was done). From the
 *       SPIN_READS-th such read on, each read first sleeps SPIN_STEP_NS: the loop ends at most that
 *       much later in simulated time than it would have, after a few thousand system calls instead
 *       of millions. Any other read, or a read after a pause, resets the count; outside Shadow the
 *       clock moves on its own and a loop never sleeps longer than it would have spun.
 *
 *   send() on a TCP socket that Shadow accepts only in part although it could take more
 *       Shadow 3.3.0's TCP takes at most 65535 bytes per send (tcp_sendUserData in
 *       src/main/host/descriptor/tcp.c) even when its send buffer has room for more, and the socket
 *       stays writable. Linux takes all that fits, so a short send means a full buffer, and a program
 *       waiting for EPOLLOUT in edge-triggered mode (boost::asio, so monerod's and wallet-rpc's
 *       epee servers) is woken when the buffer drains. Under Shadow no such edge comes: every RPC
 *       answer over 128 KiB stopped after its second 64 KiB chunk, and the client waited until a
 *       timeout (a wallet's refresh of a block with hundreds of transactions: 3.5 minutes, again
 *       and again). compat_send sends the rest at once, as Linux would, until all is taken or the
 *       socket would block (a real full buffer, whose draining Shadow does signal); it returns what
 *       was taken, so a caller sees a short send only where Linux could give one too.
 *
 *   mlock() and munlock(): answered ENOSYS, as Shadow 3.3.0 answers them, without asking Shadow
 *       monero-wallet-rpc locks the page of every secret key it holds (epee's mlocker) and unlocks
 *       it when the key goes, an mlock/munlock pair each time a key is copied: about half of a
 *       wallet's calls into Shadow (10,000 pairs per wallet in the quickstart's 26 simulated
 *       minutes). Shadow does not implement either; each was a round trip to Shadow for ENOSYS, and
 *       epee says so once and then ignores it. The shim gives the same answer itself.
 *
 * Why setsockopt is rebound instead of defined: Shadow preloads its own libc shim
 * (libshadow_libc.so) before any user LD_PRELOAD, and that library defines setsockopt, so a
 * definition here would never be bound. Instead, the constructor below rewrites the relocation
 * slots (GOT entries) for setsockopt in every object already loaded (the program and the libraries
 * it links; monerod is linked with -z now, so its slots are filled before constructors run) to
 * point at compat_setsockopt, whose other calls go to what the dynamic linker had bound. The same
 * holds for clock_gettime, send, mlock and munlock. Outside
 * Shadow this library's own setsockopt definition interposes as usual, so objects loaded later
 * (dlopen) are covered there too. A slot on a page full RELRO made read-only is written between
 * two mprotect calls; where the first fails, the object keeps its binding and the constructor
 * says so on stderr, once for that object.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);
typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

/* The setsockopt every call but the two accepted ones goes on to (Shadow's, under Shadow). */
static setsockopt_fn next_setsockopt;

int pthread_getschedparam(pthread_t thread, int *policy, struct sched_param *param) {
    (void)thread;
    *policy = SCHED_OTHER;
    memset(param, 0, sizeof *param);
    return 0;
}

int pthread_setschedparam(pthread_t thread, int policy, const struct sched_param *param) {
    (void)thread;
    (void)policy;
    (void)param;
    return 0;
}

static int is_tcp_socket(int fd) {
    int type = 0;
    socklen_t len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

static int nodelay_off(int level, int optname, const void *optval, socklen_t optlen) {
    return level == IPPROTO_TCP && optname == TCP_NODELAY && optval != NULL &&
           optlen >= (socklen_t)sizeof(int) && *(const int *)optval == 0;
}

static int compat_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen) {
    int accepted = (level == IPPROTO_IP && optname == IP_TOS) || nodelay_off(level, optname, optval, optlen);
    if (accepted && is_tcp_socket(fd))
        return 0;
    return next_setsockopt(fd, level, optname, optval, optlen);
}

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
static send_fn next_send;

static ssize_t compat_send(int fd, const void *buf, size_t len, int flags) {
    if (next_send == NULL) /* called before this library's constructor ran */
        next_send = (send_fn)dlsym(RTLD_NEXT, "send");
    ssize_t taken = next_send(fd, buf, len, flags);
    if (taken <= 0 || (size_t)taken >= len)
        return taken;
    /* A short send: take the rest while the socket takes any (the first refusal, EAGAIN included,
     * ends it; its errno is the next call's to see). */
    size_t total = (size_t)taken;
    int saved = errno;
    while (total < len) {
        ssize_t more = next_send(fd, (const char *)buf + total, len - total, flags);
        if (more <= 0)
            break;
        total += (size_t)more;
    }
    errno = saved;
    return (ssize_t)total;
}

ssize_t send(int fd, const void *buf, size_t len, int flags) __attribute__((alias("compat_send")));

/* One function for both: the same signature and the same answer. */
static int compat_page_lock(const void *addr, size_t len) {
    (void)addr;
    (void)len;
    errno = ENOSYS;
    return -1;
}

int mlock(const void *addr, size_t len) __attribute__((alias("compat_page_lock")));
int munlock(const void *addr, size_t len) __attribute__((alias("compat_page_lock")));

#define SPIN_READS 1000
#define SPIN_STEP_NS 1000000L    /* 1 ms: how much later than it would have a spin may end */
#define SPIN_GAP_NS 5000L        /* at most this between two reads of a spin (a few reads' modelled latency) */

static clock_gettime_fn next_clock_gettime;
static __thread const void *spin_site;
static __thread struct timespec spin_last;
static __thread unsigned spin_reads;

static long elapsed_ns(const struct timespec *from, const struct timespec *to) {
    return (to->tv_sec - from->tv_sec) * 1000000000L + (to->tv_nsec - from->tv_nsec);
}

static int compat_clock_gettime(clockid_t id, struct timespec *ts) {
    const void *site = __builtin_return_address(0);
    if (next_clock_gettime == NULL) /* called before this library's constructor ran */
        next_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    long slept = 0;
    if (id == CLOCK_MONOTONIC && site == spin_site && spin_reads >= SPIN_READS) {
        struct timespec step = {0, SPIN_STEP_NS}, before, after;
        next_clock_gettime(CLOCK_MONOTONIC, &before);
        nanosleep(&step, NULL);
        next_clock_gettime(CLOCK_MONOTONIC, &after);
        slept = elapsed_ns(&before, &after);
    }
    int done = next_clock_gettime(id, ts);
    if (done != 0 || id != CLOCK_MONOTONIC)
        return done;
    /* What passed since the thread's previous read, besides this library's own sleep. */
    int spinning = site == spin_site && elapsed_ns(&spin_last, ts) - slept <= SPIN_GAP_NS;
    spin_reads = spinning ? spin_reads + 1 : 0;
    spin_site = site;
    spin_last = *ts;
    return 0;
}

int clock_gettime(clockid_t id, struct timespec *ts) __attribute__((alias("compat_clock_gettime")));

/* Outside Shadow this definition is what every object binds to. The alias lets the constructor
 * compare against this library's own address (a reference to "setsockopt" would go through the
 * GOT and find Shadow's). */
int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
    __attribute__((alias("compat_setsockopt")));

#if defined(__x86_64__)
#define GOT_RELOC(type) ((type) == R_X86_64_JUMP_SLOT || (type) == R_X86_64_GLOB_DAT)
#elif defined(__aarch64__)
#define GOT_RELOC(type) ((type) == R_AARCH64_JUMP_SLOT || (type) == R_AARCH64_GLOB_DAT)
#endif

#ifdef GOT_RELOC
/* glibc stores most dynamic-section addresses already relocated; a few objects (the vDSO) do not. */
static uintptr_t dyn_addr(uintptr_t base, ElfW(Addr) value) {
    return value < base ? base + value : value;
}

/* The pages of an object that full RELRO made read-only once it was relocated, and the object's
 * name for messages. */
struct relro {
    uintptr_t start, end;
    const char *object;
};

/* The read-only pages of a PT_GNU_RELRO segment [start, end), as glibc's _dl_protect_relro
 * computes them: the start rounded down to the page size, and the end rounded DOWN too, so a last
 * page the segment fills only in part stays writable (it holds .data as well). Rounding the end up
 * would be harmless on x86-64, where the linker ends RELRO on a 4 KiB boundary, but on a machine
 * with 64 KiB pages it would make that shared page read-only after the write. */
static struct relro relro_pages(uintptr_t start, uintptr_t end, uintptr_t page, const char *object) {
    return (struct relro){start & ~(page - 1), end & ~(page - 1), object};
}

/* Point the slot at target; 0 on success, else the errno of the mprotect that made its page writable. */
static int write_slot(void **slot, void *target, const struct relro *relro) {
    uintptr_t at = (uintptr_t)slot;
    if (at < relro->start || at >= relro->end) {
        *slot = target; /* a GOT that lazy binding still writes to: writable already */
        return 0;
    }
    uintptr_t page = (uintptr_t)getpagesize();
    void *start = (void *)(at & ~(page - 1));
    size_t span = (size_t)(at + sizeof *slot - (uintptr_t)start);
    if (mprotect(start, span, PROT_READ | PROT_WRITE) != 0)
        return errno;
    *slot = target;
    mprotect(start, span, PROT_READ);
    return 0;
}

/* Rebind the setsockopt slots of one relocation table; 0, or the errno of the first that failed. */
static int rebind_table(uintptr_t base, const ElfW(Rela) *rela, size_t bytes, const ElfW(Sym) *symtab,
                        const char *strtab, const struct relro *relro) {
    int failed = 0;
    for (size_t i = 0; i < bytes / sizeof *rela; i++) {
        if (!GOT_RELOC(ELF64_R_TYPE(rela[i].r_info)))
            continue;
        const char *name = strtab + symtab[ELF64_R_SYM(rela[i].r_info)].st_name;
        void *target = strcmp(name, "setsockopt") == 0      ? (void *)compat_setsockopt
                       : strcmp(name, "clock_gettime") == 0 ? (void *)compat_clock_gettime
                       : strcmp(name, "send") == 0          ? (void *)compat_send
                       : strcmp(name, "mlock") == 0 || strcmp(name, "munlock") == 0 ? (void *)compat_page_lock
                                                             : NULL;
        if (target != NULL) {
            int error = write_slot((void **)(base + rela[i].r_offset), target, relro);
            failed = failed ? failed : error;
        }
    }
    return failed;
}

/* Say once per object that its setsockopt is not rebound: under Shadow, monerod would then drop
 * every RPC connection, and this line is the only clue. */
static void report_unbound(const struct relro *relro, int error) {
    fprintf(stderr, "shadow_compat: setsockopt is not rebound in %s: mprotect of its RELRO page failed "
                    "(%s); under Shadow its IP_TOS and TCP_NODELAY calls will fail\n",
            relro->object, strerror(error));
}

static int rebind_object(struct dl_phdr_info *info, size_t size, void *self) {
    (void)size;
    if (info->dlpi_name != NULL && (strstr(info->dlpi_name, "libshadow") != NULL ||
                                    strcmp(info->dlpi_name, (const char *)self) == 0))
        return 0; /* Shadow's own shims make the real system calls; this library binds to itself. */
    const ElfW(Dyn) *dyn = NULL;
    const char *object = info->dlpi_name != NULL && info->dlpi_name[0] != '\0' ? info->dlpi_name
                                                                                : program_invocation_name;
    struct relro relro = {0, 0, object};
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        else if (ph->p_type == PT_GNU_RELRO)
            relro = relro_pages(info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
                                (uintptr_t)getpagesize(), object);
    }
    if (dyn == NULL)
        return 0;
    uintptr_t base = info->dlpi_addr;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *jmprel = NULL, *rela = NULL;
    size_t jmprel_size = 0, rela_size = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)dyn_addr(base, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const char *)dyn_addr(base, dyn->d_un.d_ptr); break;
        case DT_JMPREL: jmprel = (const ElfW(Rela) *)dyn_addr(base, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: jmprel_size = dyn->d_un.d_val; break;
        case DT_RELA: rela = (const ElfW(Rela) *)dyn_addr(base, dyn->d_un.d_ptr); break;
        case DT_RELASZ: rela_size = dyn->d_un.d_val; break;
        default: break;
        }
    }
    if (symtab == NULL || strtab == NULL)
        return 0;
    int failed = jmprel != NULL ? rebind_table(base, jmprel, jmprel_size, symtab, strtab, &relro) : 0;
    int failed_too = rela != NULL ? rebind_table(base, rela, rela_size, symtab, strtab, &relro) : 0;
    if (failed || failed_too)
        report_unbound(&relro, failed ? failed : failed_too);
    return 0;
}
#endif

__attribute__((constructor)) static void compat_init(void) {
    /* What the dynamic linker binds setsockopt to for everyone else: Shadow's under Shadow. Where
     * that is this library's own definition (outside Shadow), the next one: libc's. */
    next_setsockopt = (setsockopt_fn)dlsym(RTLD_DEFAULT, "setsockopt");
    if (next_setsockopt == NULL || next_setsockopt == compat_setsockopt)
        next_setsockopt = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
    next_clock_gettime = (clock_gettime_fn)dlsym(RTLD_DEFAULT, "clock_gettime");
    if (next_clock_gettime == NULL || next_clock_gettime == compat_clock_gettime)
        next_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    next_send = (send_fn)dlsym(RTLD_DEFAULT, "send");
    if (next_send == NULL || next_send == compat_send)
        next_send = (send_fn)dlsym(RTLD_NEXT, "send");
#ifdef GOT_RELOC
    Dl_info self;
    if (dladdr((void *)compat_init, &self) != 0 && self.dli_fname != NULL)
        dl_iterate_phdr(rebind_object, (void *)self.dli_fname);
#endif
}
