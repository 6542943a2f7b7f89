/*
 * randomx_share.c: one RandomX cache (and, for miners, one dataset) per machine and key, shared by
 * every monerod of every run, instead of one private copy per process.
 *
 * Why: a monerod's RandomX light-mode cache is 256 MiB, the Argon2 fill of the seed key, and every
 * monerod of a regtest run uses the same key (the genesis hash) until the chain passes height
 * 2048 + 64. A run of 100 monerods held 100 identical copies, 25 GiB of the machine. Debian's
 * monerod links RandomX dynamically (librandomx.so.0), and librandomx calls even its own functions
 * through the PLT, so this library, preloaded into monerod, can stand in front of them:
 *
 *   AlignedAllocator<64>::allocMemory / freeMemory (256 MiB only)
 *       The cache's memory is a page-aligned anonymous mapping, so that a file can be mapped over it.
 *   randomx_init_cache
 *       Notes the key being initialised (thread-local) and, afterwards, which key each cache holds.
 *   randomx_argon2_fill_memory_blocks
 *       The Argon2 fill of a cache. When the shared file for the key is valid, its pages are mapped
 *       over the cache (MAP_PRIVATE, so a later write would copy, never change the file) and the fill
 *       is skipped; otherwise the fill runs as it would have, into private memory, and the reason is
 *       logged on stderr. RandomX then derives its programs from the key as always.
 *   randomx_create_vm, randomx_vm_set_cache, randomx_calculate_hash, randomx_destroy_vm
 *   (only with MONEROSIM_RANDOMX_FAST)
 *       A light-mode VM becomes a fast-mode VM on the shared dataset of its cache's key (2 GiB,
 *       mapped read-only): about 14 times the hashes per second, so a pool's block at the
 *       scenario's difficulty costs seconds of wall time instead of half a minute, and a node
 *       verifies a block in milliseconds. The hashes are the same by RandomX's design (a dataset item
 *       is what light mode computes on the fly). A fast VM is made without RANDOMX_FLAG_SECURE, which
 *       monerod asks for when it does not mine: that flag makes the JIT switch its code pages between
 *       writable and executable, two mprotect calls per program and 16 per hash, a guard against
 *       exploits of the JIT that no regtest simulation needs, which under Shadow (every system call a
 *       round trip to the simulator) halved a pool's hash rate. When a fast VM is given a cache of a
 *       key without a shared dataset (the chain passed a seed change), a light VM on that cache
 *       hashes in its place: slower, never a wrong hash, and no private 2 GiB per process.
 *
 *   (only with MONEROSIM_RANDOMX_STAND_IN)
 *       randomx_calculate_hash computes keyed Blake2b-256 (librandomx's own randomx_blake2b) of the
 *       input instead of RandomX, and no cache is filled: a block's proof of work is checked against
 *       the same difficulty by every node, but a hash costs a microsecond instead of milliseconds and a
 *       monerod holds no RandomX memory. Under Shadow hashing takes no simulated time either way, so
 *       what the network does is the same; the wall time of a run at the seed's difficulty is not
 *       (150 bootstrap blocks of 1000 hashes each: minutes of one pool hashing while the simulation
 *       waits). Blocks made so are rejected by a monerod without this library.
 *
 * Apart from the stand-in, nothing here decides a hash: every node still verifies every block's proof
 * of work, with the key its chain names. The files are written by monerosim-actors before a run (monerosim_randomx_write
 * below, called through ctypes), never by monerod, so no run waits on another's lock: a monerod that
 * finds no valid file fills a private cache, as it would without this library.
 *
 * A file is a 4096-byte header (magic, kind, key, size, checksum of the data) and the data. It is
 * used only when its size, magic, kind, key and checksum match and, for a cache, its first Argon2
 * blocks are the ones RandomX has just computed from the key (a file for another key, or from a
 * RandomX with other parameters, never matches).
 *
 * Environment: MONEROSIM_RANDOMX_DIR (the folder of the files; without it the library shares
 * nothing), MONEROSIM_RANDOMX_FAST (set: VMs hash in fast mode on the shared dataset),
 * MONEROSIM_RANDOMX_STAND_IN (set: Blake2b stands in for RandomX; the other two are not needed).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_BYTES ((size_t)256 << 20) /* RANDOMX_ARGON_MEMORY KiB */
#define FIRST_BLOCKS_BYTES 2048         /* the two blocks randomx_argon2_initialize writes (1 lane) */
#define HEADER_BYTES 4096
#define KEY_MAX 64
#define MAGIC "monerosim-randomx"
#define FILE_VERSION 1
#define FLAG_FULL_MEM 4
#define FLAG_LARGE_PAGES 1
#define FLAG_SECURE 16
#define MAX_TRACKED 64

enum kind { KIND_CACHE = 1, KIND_DATASET = 2 };

struct header {
    char magic[24];
    uint32_t version;
    uint32_t kind;
    uint32_t key_size;
    uint32_t reserved;
    uint64_t bytes;
    uint64_t checksum;
    uint8_t key[KEY_MAX];
    uint8_t first_blocks[FIRST_BLOCKS_BYTES]; /* a cache's blocks 0 and 1 before Argon2's passes */
};

/* RandomX's C objects begin with their memory (standard-layout structs, dataset.hpp). */
struct rx_memory_first { uint8_t *memory; };

typedef void *rx_cache;
typedef void *rx_dataset;
typedef void *rx_vm;
typedef void *(*alloc_memory_fn)(size_t);
typedef void (*free_memory_fn)(void *, size_t);
typedef void (*init_cache_fn)(rx_cache, const void *, size_t);
typedef void (*fill_fn)(void *);
typedef rx_vm (*create_vm_fn)(int, rx_cache, rx_dataset);
typedef void (*vm_cache_fn)(rx_vm, rx_cache);
typedef void (*vm_dataset_fn)(rx_vm, rx_dataset);
typedef void (*destroy_vm_fn)(rx_vm);
typedef void (*hash_fn)(rx_vm, const void *, size_t, void *);
typedef rx_cache (*alloc_cache_fn)(int);
typedef void (*release_cache_fn)(rx_cache);
typedef rx_dataset (*alloc_dataset_fn)(int);
typedef void (*init_dataset_fn)(rx_dataset, rx_cache, unsigned long, unsigned long);
typedef unsigned long (*item_count_fn)(void);
typedef int (*get_flags_fn)(void);
typedef int (*blake2b_fn)(void *, size_t, const void *, size_t, const void *, size_t);

#define ALLOC_MEMORY "_ZN7randomx16AlignedAllocatorILm64EE11allocMemoryEm"
#define FREE_MEMORY "_ZN7randomx16AlignedAllocatorILm64EE10freeMemoryEPvm"

static struct {
    alloc_memory_fn alloc_memory;
    free_memory_fn free_memory;
    init_cache_fn init_cache;
    fill_fn fill;
    create_vm_fn create_vm;
    vm_cache_fn vm_set_cache;
    vm_dataset_fn vm_set_dataset;
    destroy_vm_fn destroy_vm;
    hash_fn calculate_hash;
    alloc_cache_fn alloc_cache;
    release_cache_fn release_cache;
    alloc_dataset_fn alloc_dataset;
    init_dataset_fn init_dataset;
    item_count_fn item_count;
    get_flags_fn get_flags;
    blake2b_fn blake2b;
} real;

static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve(void) {
    real.alloc_memory = (alloc_memory_fn)dlsym(RTLD_NEXT, ALLOC_MEMORY);
    real.free_memory = (free_memory_fn)dlsym(RTLD_NEXT, FREE_MEMORY);
    real.init_cache = (init_cache_fn)dlsym(RTLD_NEXT, "randomx_init_cache");
    real.fill = (fill_fn)dlsym(RTLD_NEXT, "randomx_argon2_fill_memory_blocks");
    real.create_vm = (create_vm_fn)dlsym(RTLD_NEXT, "randomx_create_vm");
    real.vm_set_cache = (vm_cache_fn)dlsym(RTLD_NEXT, "randomx_vm_set_cache");
    real.vm_set_dataset = (vm_dataset_fn)dlsym(RTLD_NEXT, "randomx_vm_set_dataset");
    real.destroy_vm = (destroy_vm_fn)dlsym(RTLD_NEXT, "randomx_destroy_vm");
    real.calculate_hash = (hash_fn)dlsym(RTLD_NEXT, "randomx_calculate_hash");
    real.alloc_cache = (alloc_cache_fn)dlsym(RTLD_NEXT, "randomx_alloc_cache");
    real.release_cache = (release_cache_fn)dlsym(RTLD_NEXT, "randomx_release_cache");
    real.alloc_dataset = (alloc_dataset_fn)dlsym(RTLD_NEXT, "randomx_alloc_dataset");
    real.init_dataset = (init_dataset_fn)dlsym(RTLD_NEXT, "randomx_init_dataset");
    real.item_count = (item_count_fn)dlsym(RTLD_NEXT, "randomx_dataset_item_count");
    real.get_flags = (get_flags_fn)dlsym(RTLD_NEXT, "randomx_get_flags");
    real.blake2b = (blake2b_fn)dlsym(RTLD_NEXT, "randomx_blake2b");
}

static void need_real(void) { pthread_once(&resolved, resolve); }

static void say(const char *format, ...) {
    char line[768];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t ignored = write(2, line, (size_t)n);
    (void)ignored;
}

/* The key randomx_init_cache is initialising on this thread, and where the writer wants the first
 * blocks of the fill copied. */
static __thread const uint8_t *pending_key;
static __thread uint32_t pending_key_size;
static __thread uint8_t *capture_first_blocks;

/* ---- the files ---------------------------------------------------------------------------- */

/* Four independent multiply-rotate lanes over 64-bit words: about a second per 2 GiB, in one pass. */
uint64_t monerosim_randomx_checksum(const uint8_t *data, size_t bytes) {
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h[4] = {1, 2, 3, 4};
    size_t words = bytes / 8, i = 0;
    for (; i + 4 <= words; i += 4) {
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy(&w, data + 8 * (i + j), 8);
            h[j] = ((h[j] ^ w) * k);
            h[j] = (h[j] << 29) | (h[j] >> 35);
        }
    }
    uint64_t out = bytes;
    for (; i < words; i++) {
        uint64_t w;
        memcpy(&w, data + 8 * i, 8);
        out = ((out ^ w) * k);
    }
    for (size_t b = words * 8; b < bytes; b++) out = (out ^ data[b]) * k;
    for (int j = 0; j < 4; j++) out = ((out ^ h[j]) * k) ^ (out >> 31);
    return out;
}

static size_t data_bytes(int kind) {
    need_real();
    return kind == KIND_CACHE ? CACHE_BYTES : (size_t)real.item_count() * 64;
}

/* Maps the data of the file at ``path`` read-only; NULL and a reason when it must not be used. */
static const uint8_t *map_valid(const char *path, int kind, const uint8_t *key, uint32_t key_size,
                                const char **problem) {
    static __thread char reason[512];
    size_t bytes = data_bytes(kind);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(reason, sizeof reason, "%s: %s", path, strerror(errno));
        *problem = reason;
        return NULL;
    }
    struct stat st;
    struct header h;
    const char *wrong = NULL;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != HEADER_BYTES + bytes)
        wrong = "wrong size (truncated, or made by another RandomX)";
    else if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.magic, MAGIC, sizeof MAGIC) != 0
             || h.version != FILE_VERSION || h.kind != (uint32_t)kind || h.bytes != bytes)
        wrong = "not a monerosim-actors RandomX file of this kind";
    else if (key_size > KEY_MAX || h.key_size != key_size || memcmp(h.key, key, key_size) != 0)
        wrong = "made for another key";
    if (wrong) {
        snprintf(reason, sizeof reason, "%s: %s", path, wrong);
        close(fd);
        *problem = reason;
        return NULL;
    }
    uint8_t *data = mmap(NULL, HEADER_BYTES + bytes, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        snprintf(reason, sizeof reason, "%s: cannot map it: %s", path, strerror(errno));
        *problem = reason;
        return NULL;
    }
    if (monerosim_randomx_checksum(data + HEADER_BYTES, bytes) != h.checksum) {
        munmap(data, HEADER_BYTES + bytes);
        snprintf(reason, sizeof reason, "%s: its data does not match its checksum (corrupt)", path);
        *problem = reason;
        return NULL;
    }
    *problem = NULL;
    return data + HEADER_BYTES;
}

/* For Python (ctypes): NULL when the file may be used, else why not. */
const char *monerosim_randomx_problem(const char *path, int kind, const uint8_t *key, uint32_t key_size) {
    const char *problem = NULL;
    const uint8_t *data = map_valid(path, kind, key, key_size, &problem);
    if (data) munmap((void *)(data - HEADER_BYTES), HEADER_BYTES + data_bytes(kind));
    return problem;
}

struct slice { rx_dataset dataset; rx_cache cache; unsigned long start, count; };

static void *init_slice(void *arg) {
    struct slice *s = arg;
    real.init_dataset(s->dataset, s->cache, s->start, s->count);
    return NULL;
}

/* Fills ``dataset`` from ``cache`` on ``threads`` threads. */
static void init_dataset_threads(rx_dataset dataset, rx_cache cache, int threads) {
    unsigned long items = real.item_count();
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t ids[64];
    struct slice slices[64];
    unsigned long each = items / (unsigned long)threads, start = 0;
    for (int i = 0; i < threads; i++) {
        unsigned long count = i == threads - 1 ? items - start : each;
        slices[i] = (struct slice){dataset, cache, start, count};
        start += count;
        if (i > 0 && pthread_create(&ids[i], NULL, init_slice, &slices[i]) != 0) init_slice(&slices[i]), ids[i] = 0;
    }
    init_slice(&slices[0]);
    for (int i = 1; i < threads; i++)
        if (ids[i]) pthread_join(ids[i], NULL);
}

static int write_all(int fd, const uint8_t *data, size_t bytes) {
    while (bytes > 0) {
        ssize_t n = write(fd, data, bytes > (1u << 30) ? (1u << 30) : bytes);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += n;
        bytes -= (size_t)n;
    }
    return 0;
}

/* For Python (ctypes): computes the cache (or the dataset) of ``key`` with librandomx and writes it
 * to ``path`` through a temporary file renamed into place, so a reader never sees half a file.
 * Returns 0, or an errno with the step that failed in ``error``. */
int monerosim_randomx_write(const char *path, int kind, const uint8_t *key, uint32_t key_size, int threads,
                            char *error, size_t error_size) {
    need_real();
    if (key_size > KEY_MAX || (kind != KIND_CACHE && kind != KIND_DATASET)) {
        snprintf(error, error_size, "bad arguments (key of %u bytes, kind %d)", key_size, kind);
        return EINVAL;
    }
    int flags = real.get_flags() & ~FLAG_LARGE_PAGES;
    rx_cache cache = real.alloc_cache(flags);
    if (!cache) {
        snprintf(error, error_size, "randomx_alloc_cache failed");
        return ENOMEM;
    }
    uint8_t first_blocks[FIRST_BLOCKS_BYTES];
    memset(first_blocks, 0, sizeof first_blocks);
    capture_first_blocks = first_blocks;
    real.init_cache(cache, key, key_size);
    capture_first_blocks = NULL;
    static const uint8_t zeros[FIRST_BLOCKS_BYTES];
    if (memcmp(first_blocks, zeros, sizeof zeros) == 0) {
        real.release_cache(cache);
        snprintf(error, error_size, "librandomx's Argon2 fill did not pass through this library (a RandomX "
                 "that calls it directly cannot share its cache)");
        return ENOTSUP;
    }
    rx_dataset dataset = NULL;
    const uint8_t *data = ((struct rx_memory_first *)cache)->memory;
    size_t bytes = data_bytes(kind);
    if (kind == KIND_DATASET) {
        dataset = real.alloc_dataset(0);
        if (!dataset) {
            real.release_cache(cache);
            snprintf(error, error_size, "randomx_alloc_dataset failed (it needs %zu MiB)", bytes >> 20);
            return ENOMEM;
        }
        init_dataset_threads(dataset, cache, threads);
        data = ((struct rx_memory_first *)dataset)->memory;
    }
    struct header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, sizeof MAGIC);
    h.version = FILE_VERSION;
    h.kind = (uint32_t)kind;
    h.key_size = key_size;
    h.bytes = bytes;
    h.checksum = monerosim_randomx_checksum(data, bytes);
    memcpy(h.key, key, key_size);
    memcpy(h.first_blocks, first_blocks, sizeof first_blocks);
    uint8_t page[HEADER_BYTES];
    memset(page, 0, sizeof page);
    memcpy(page, &h, sizeof h);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, page, sizeof page) != 0 || write_all(fd, data, bytes) != 0 || close(fd) != 0) {
        rc = errno ? errno : EIO;
        snprintf(error, error_size, "writing %s: %s", tmp, strerror(rc));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = errno;
        snprintf(error, error_size, "renaming %s to %s: %s", tmp, path, strerror(rc));
        unlink(tmp);
    }
    if (dataset) {
        typedef void (*release_fn)(rx_dataset);
        ((release_fn)dlsym(RTLD_NEXT, "randomx_release_dataset"))(dataset);
    }
    real.release_cache(cache);
    return rc;
}

/* ---- what monerod's RandomX calls go through ------------------------------------------------ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Cache memory this library mapped (page-aligned, CACHE_BYTES), and which cache holds which key. */
static void *regions[MAX_TRACKED];
static struct { rx_cache cache; uint32_t key_size; uint8_t key[KEY_MAX]; } cache_keys[MAX_TRACKED];
/* Fast VMs (with the flags they were asked for, and the light VM that stands in for one whose cache
 * has a key without a shared dataset); the shared dataset of each key looked up (NULL: none). */
static struct fast_vm { rx_vm vm; int flags; rx_vm light; int use_light; } fast_vms[MAX_TRACKED];
static struct { uint32_t key_size; uint8_t key[KEY_MAX]; rx_dataset dataset; } datasets[MAX_TRACKED];


static int env_set(const char *name) {
    const char *value = getenv(name);
    return value && *value && strcmp(value, "0") != 0;
}

static int stand_in(void) { return env_set("MONEROSIM_RANDOMX_STAND_IN"); }

static const char *share_dir(void) {
    const char *dir = getenv("MONEROSIM_RANDOMX_DIR");
    return dir && *dir ? dir : NULL;
}

static void file_path(char *out, size_t size, int kind, const uint8_t *key, uint32_t key_size) {
    int n = snprintf(out, size, "%s/%s-", share_dir(), kind == KIND_CACHE ? "cache" : "dataset");
    for (uint32_t i = 0; i < key_size && (size_t)n + 3 < size; i++) n += snprintf(out + n, size - (size_t)n, "%02x", key[i]);
    snprintf(out + n, size - (size_t)n, ".bin");
}

static int is_region(void *memory) {
    for (int i = 0; i < MAX_TRACKED; i++)
        if (regions[i] == memory) return 1;
    return 0;
}

void *_ZN7randomx16AlignedAllocatorILm64EE11allocMemoryEm(size_t count) {
    need_real();
    if (count == CACHE_BYTES && share_dir()) {
        void *memory = mmap(NULL, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory != MAP_FAILED) {
            pthread_mutex_lock(&lock);
            for (int i = 0; i < MAX_TRACKED; i++)
                if (!regions[i]) {
                    regions[i] = memory;
                    pthread_mutex_unlock(&lock);
                    return memory;
                }
            pthread_mutex_unlock(&lock);
            munmap(memory, count);
        }
    }
    return real.alloc_memory(count);
}

void _ZN7randomx16AlignedAllocatorILm64EE10freeMemoryEPvm(void *memory, size_t count) {
    need_real();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (memory && regions[i] == memory) {
            regions[i] = NULL;
            pthread_mutex_unlock(&lock);
            munmap(memory, count);
            return;
        }
    pthread_mutex_unlock(&lock);
    real.free_memory(memory, count);
}

static void note_cache_key(rx_cache cache, const uint8_t *key, uint32_t key_size) {
    if (key_size > KEY_MAX) return;
    pthread_mutex_lock(&lock);
    int slot = -1;
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (cache_keys[i].cache == cache) { slot = i; break; }
        if (slot < 0 && !cache_keys[i].cache) slot = i;
    }
    if (slot >= 0) {
        cache_keys[slot].cache = cache;
        cache_keys[slot].key_size = key_size;
        memcpy(cache_keys[slot].key, key, key_size);
    }
    pthread_mutex_unlock(&lock);
}

/* The key ``cache`` holds (copied into key/key_size); 0 when this library never saw it initialised. */
static int cache_key(rx_cache cache, uint8_t *key, uint32_t *key_size) {
    int found = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (cache_keys[i].cache == cache) {
            *key_size = cache_keys[i].key_size;
            memcpy(key, cache_keys[i].key, *key_size);
            found = 1;
            break;
        }
    pthread_mutex_unlock(&lock);
    return found;
}

void randomx_init_cache(rx_cache cache, const void *key, size_t key_size) {
    need_real();
    pending_key = key;
    pending_key_size = (uint32_t)key_size;
    real.init_cache(cache, key, key_size);
    pending_key = NULL;
    note_cache_key(cache, key, (uint32_t)key_size);
}

static void to_hex(char *out, const uint8_t *key, uint32_t key_size) {
    for (uint32_t i = 0; i < key_size && i < 8; i++) sprintf(out + 2 * i, "%02x", key[i]);
}

void randomx_argon2_fill_memory_blocks(void *instance) {
    need_real();
    uint8_t *memory = ((struct rx_memory_first *)instance)->memory;
    if (capture_first_blocks) memcpy(capture_first_blocks, memory, FIRST_BLOCKS_BYTES);
    if (stand_in()) return; /* no hash reads the cache: its pages are never touched */
    if (pending_key && share_dir() && is_region(memory)) {
        char path[4096], hex[17] = {0};
        file_path(path, sizeof path, KIND_CACHE, pending_key, pending_key_size);
        to_hex(hex, pending_key, pending_key_size);
        const char *problem = NULL;
        const uint8_t *data = map_valid(path, KIND_CACHE, pending_key, pending_key_size, &problem);
        const struct header *h = data ? (const struct header *)(data - HEADER_BYTES) : NULL;
        if (h && memcmp(h->first_blocks, memory, FIRST_BLOCKS_BYTES) != 0) {
            problem = "its first Argon2 blocks are not this RandomX's for the key";
        } else if (data) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            void *mapped = fd < 0 ? MAP_FAILED
                : mmap(memory, CACHE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, HEADER_BYTES);
            if (fd >= 0) close(fd);
            munmap((void *)(data - HEADER_BYTES), HEADER_BYTES + CACHE_BYTES);
            if (mapped == memory) {
                say("monerosim-randomx: cache for key %s... shared from %s", hex, path);
                return;
            }
            /* MAP_FIXED failed and left the range as it was: fill it as if no file were there. */
            problem = "it cannot be mapped over the cache";
            data = NULL;
        }
        if (data) munmap((void *)(data - HEADER_BYTES), HEADER_BYTES + CACHE_BYTES);
        say("monerosim-randomx: filling a private cache for key %s... (%s)", hex, problem);
    } else if (pending_key && share_dir()) {
        say("monerosim-randomx: filling a private cache (not allocated by this library)");
    }
    real.fill(instance);
}

/* ---- fast mode ------------------------------------------------------------------------------ */

static struct fake_dataset { uint8_t *memory; void *dealloc; } shared_datasets[MAX_TRACKED];

/* The shared dataset for ``key``, mapped once per process; NULL (said once per key) when there is none. */
static rx_dataset shared_dataset(const uint8_t *key, uint32_t key_size) {
    int slot = -1;
    for (int i = 0; i < MAX_TRACKED; i++) {
        if (datasets[i].key_size == key_size && !memcmp(datasets[i].key, key, key_size)) return datasets[i].dataset;
        if (slot < 0 && !datasets[i].key_size) slot = i;
    }
    if (slot < 0) return NULL;
    char path[4096], hex[17] = {0};
    file_path(path, sizeof path, KIND_DATASET, key, key_size);
    to_hex(hex, key, key_size);
    const char *problem = NULL;
    const uint8_t *data = map_valid(path, KIND_DATASET, key, key_size, &problem);
    if (data) {
        shared_datasets[slot].memory = (uint8_t *)data;
        datasets[slot].dataset = &shared_datasets[slot];
        say("monerosim-randomx: fast mode on the dataset for key %s... shared from %s", hex, path);
    } else {
        say("monerosim-randomx: light mode for key %s... (%s)", hex, problem);
    }
    datasets[slot].key_size = key_size; /* remembered either way: looked up once */
    memcpy(datasets[slot].key, key, key_size);
    return datasets[slot].dataset;
}

static int fast_wanted(void) { return share_dir() && env_set("MONEROSIM_RANDOMX_FAST") && !stand_in(); }

/* The fast VM at ``vm`` (locked), or NULL. */
static struct fast_vm *fast_vm_of(rx_vm vm) {
    for (int i = 0; i < MAX_TRACKED; i++)
        if (fast_vms[i].vm == vm) return &fast_vms[i];
    return NULL;
}

rx_vm randomx_create_vm(int flags, rx_cache cache, rx_dataset dataset) {
    need_real();
    uint8_t key[KEY_MAX];
    uint32_t key_size = 0;
    if (fast_wanted() && !(flags & FLAG_FULL_MEM) && cache && cache_key(cache, key, &key_size)) {
        pthread_mutex_lock(&lock);
        rx_dataset shared = shared_dataset(key, key_size);
        pthread_mutex_unlock(&lock);
        rx_vm vm = shared ? real.create_vm((flags | FLAG_FULL_MEM) & ~FLAG_SECURE, cache, shared) : NULL;
        if (vm) {
            pthread_mutex_lock(&lock);
            struct fast_vm *slot = fast_vm_of(NULL);
            if (slot) *slot = (struct fast_vm){.vm = vm, .flags = flags, .light = NULL, .use_light = 0};
            pthread_mutex_unlock(&lock);
            if (slot) return vm;
            real.destroy_vm(vm);
        }
    }
    return real.create_vm(flags, cache, dataset);
}

/* A fast VM given a cache of another key (the chain passed a seed change): the shared dataset of
 * that key if there is one, else a light VM on the cache that hashes in its place until a cache of
 * the dataset's key comes back. */
void randomx_vm_set_cache(rx_vm vm, rx_cache cache) {
    need_real();
    uint8_t key[KEY_MAX];
    uint32_t key_size = 0;
    if (cache_key(cache, key, &key_size)) {
        pthread_mutex_lock(&lock);
        struct fast_vm *fast = fast_vm_of(vm);
        if (fast) {
            rx_dataset dataset = shared_dataset(key, key_size);
            fast->use_light = dataset == NULL;
            if (dataset) {
                real.vm_set_dataset(vm, dataset);
            } else if (fast->light) {
                real.vm_set_cache(fast->light, cache);
            } else {
                fast->light = real.create_vm(fast->flags, cache, NULL);
                if (!fast->light) {
                    say("monerosim-randomx: no light VM for a new seed key: stopping rather than hash wrong");
                    abort();
                }
            }
        }
        pthread_mutex_unlock(&lock);
    }
    real.vm_set_cache(vm, cache);
}

#define STAND_IN_KEY "monerosim stand-in for RandomX"
#define HASH_BYTES 32

void randomx_calculate_hash(rx_vm vm, const void *input, size_t size, void *output) {
    need_real();
    if (stand_in()) {
        if (real.blake2b(output, HASH_BYTES, input, size, STAND_IN_KEY, sizeof STAND_IN_KEY - 1) != 0) {
            say("monerosim-randomx: the stand-in hash failed: stopping rather than hash wrong");
            abort();
        }
        return;
    }
    rx_vm light = NULL;
    pthread_mutex_lock(&lock);
    struct fast_vm *fast = fast_vm_of(vm);
    if (fast && fast->use_light) light = fast->light;
    pthread_mutex_unlock(&lock);
    real.calculate_hash(light ? light : vm, input, size, output);
}

void randomx_destroy_vm(rx_vm vm) {
    need_real();
    rx_vm light = NULL;
    pthread_mutex_lock(&lock);
    struct fast_vm *fast = fast_vm_of(vm);
    if (fast) {
        light = fast->light;
        *fast = (struct fast_vm){0};
    }
    pthread_mutex_unlock(&lock);
    if (light) real.destroy_vm(light);
    real.destroy_vm(vm);
}
