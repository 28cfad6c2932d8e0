/*
 * tests/hostbench/malloc_patterns.c - issue 14's patterns as a host program: does freed memory come back?
 *
 * Host only, like tests/hostbench/malloc_bench.c: `make bench-host` builds it as
 * build/malloc-patterns, optimized and without sanitizers, calling the C library's malloc,
 * free and realloc; with LD_PRELOAD of another allocator's shared library (rvmem's, or a peer's)
 * the same binary measures that one. tools/bench_host.py runs each pattern in its own process,
 * for each allocator, on the clock and under callgrind. Patterns (the scale by default):
 *
 *   phases       one thread: 16 sizes in turn (16 B .. 256 KiB), 50 MiB of blocks of each
 *                allocated and written, then all freed (tests/lib/malloc_workloads.h)
 *   remote       thread A allocates 100 MiB of 64-byte blocks and writes them, thread B frees
 *                them; then the same with 256-byte blocks. Both threads live to the end
 *   threads      4 rounds of 16 threads at once, each allocating and freeing blocks of 112 sizes up
 *                to 64 KiB (every_size, written), with a 200-byte block in thread-specific data
 *                that the application's destructor frees; memory held after they all exited
 *   thread_exit  20,000 threads, 16 at a time, each with a 200-byte block freed by the
 *                application's thread-specific-data destructor (which runs after the allocator's
 *                own exit flush when the allocator registered its key first, as a preloaded one
 *                does) and a few small blocks; memory held after the first 16 and after all
 *   idle         16 threads allocate and free as in threads, then block: memory held while they
 *                are idle, after malloc_trim(0) on the main thread (the drain on request; an
 *                allocator that does not export malloc_trim gets glibc's, which does nothing for
 *                it), and after they exit
 *   regrow       two buffers grown alternately by realloc, 64 KiB at a time up to 64 MiB each
 *                (timed after a child process has touched as much fresh memory: warm_fresh_memory)
 *   large2       two threads, each 2,000 times: a block of 128 KiB .. 4 MiB (log-uniform) into
 *                one of 8 slots, its first and last byte written, the slot's old block freed
 *   aslimit      one malloc of 2 GiB (served or not; run it under `ulimit -v 4000000`)
 *
 * Usage: malloc-patterns [--quick] [--phase-bytes N] [--remote-bytes N] [--regrow-bytes N]
 *                        [--rounds N] [--threads N] [--iterations N] PATTERN... (or all)
 * --quick runs everything small (a correctness check: tools/test.py runs `--quick all` under
 * LD_PRELOAD). Measure one pattern per process: the peak resident figures are the process's.
 * Prints one line per pattern: "pattern NAME allocator A" and then pairs "key value": counts,
 * bytes and seconds. Resident memory is the process's (/proc/self/status), always as growth:
 * resident_* and end_resident are VmRSS, peak_resident_growth is VmHWM, minus VmRSS before the
 * pattern started (the program's own arrays already touched); thread_exit's resident_growth is
 * VmRSS after every thread minus VmRSS after the first 16. Every block is written whole (its pages resident) and
 * checked before it is freed; a pattern that finds a block changed or a malloc failing (other
 * than aslimit's) prints why and makes the exit status 1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/base/errors.h"
#include "tests/lib/malloc_workloads.h"

#define THREADS_AT_ONCE 16u
#define TSD_BLOCK_BYTES 200

/* The scale, set from the command line. */
static struct {
    uint64_t phase_bytes, remote_bytes, regrow_bytes;
    unsigned rounds, threads, iterations;
} scale = {50ull << 20, 100ull << 20, 64ull << 20, 4, 20000, 2000};

/* A field of /proc/self/status in bytes (VmRSS: resident now; VmHWM: highest resident), or 0. */
static uint64_t status_bytes(const char *field)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kib = 0;
    size_t length = strlen(field);
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, field, length) == 0 && line[length] == ':')
            kib = strtoull(line + length + 1, NULL, 10);
    if (status)
        fclose(status);
    return kib * 1024;
}

static uint64_t growth(uint64_t now, uint64_t before)
{
    return now > before ? now - before : 0;
}

/* The file name of the object that defines the malloc this process calls ("libc.so.6", "librvmem_malloc.so"). */
static const char *allocator_name(void)
{
    Dl_info info;
    void *(*resolved)(size_t) = malloc;
    if (!dladdr(*(void **)&resolved, &info) || !info.dli_fname)
        return "unknown";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

/* Calls through these, not through &malloc: callgrind counts what each costs (tools/bench_host.py). */
static void *call_malloc(size_t bytes)
{
    return malloc(bytes);
}

static void call_free(void *block)
{
    free(block);
}

static void *call_realloc(void *block, size_t bytes)
{
    return realloc(block, bytes);
}

static struct malloc_table table = {"", call_malloc, call_free, NULL, call_realloc};

static double now_seconds(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

/* User plus system CPU time of the whole process so far. */
static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

/* The slots of the workloads: one array per thread that runs one at once, touched before the count starts. */
static struct malloc_slot slots[THREADS_AT_ONCE][MALLOC_WORKLOAD_MAX_SLOTS];

static uint64_t resident_at_start(void)
{
    memset(slots, 0, sizeof slots);
    return status_bytes("VmRSS");
}

/*
 * A child process touches bytes of fresh anonymous memory (advised for huge pages) and exits, which
 * gives the pages back warm; this process's own peak stays as it was. On a virtual machine whose
 * balloon reports free 2 MiB blocks to its host, the first touch of such a block costs a host
 * fault per 4 KiB page; pages freed a moment ago have not been reported yet, so the timed workload
 * that follows measures the allocator rather than the host (docs/BENCHMARKS.md).
 */
static void warm_fresh_memory(size_t bytes)
{
    pid_t child = fork();
    if (child == 0) {
        uint8_t *start = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (start != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
            madvise(start, bytes, MADV_HUGEPAGE);
#endif
            for (size_t offset = 0; offset < bytes; offset += 4096)
                start[offset] = 1;
        }
        _exit(0);
    }
    if (child > 0)
        waitpid(child, NULL, 0);
}

static int failed(const char *pattern, const char *what, int error)
{
    fprintf(stderr, "malloc-patterns: %s: %s failed with error %d\n", pattern, what, error);
    return 1;
}

static void print_head(const char *pattern)
{
    printf("pattern %s allocator %s", pattern, table.name);
}

static int pattern_phases(void)
{
    uint64_t before = resident_at_start();
    struct malloc_workload_run run = {.table = &table, .fill_blocks = true, .slots = slots[0]};
    double start = now_seconds();
    int error = malloc_workload_phases(&run, scale.phase_bytes);
    double elapsed = now_seconds() - start;
    if (error)
        return failed("phases", "the workload", error);
    print_head("phases");
    printf(" phase_bytes %llu mallocs %llu frees %llu peak_live_bytes %llu peak_resident_growth %llu "
           "end_resident %llu seconds %.6f\n",
           (unsigned long long)scale.phase_bytes, (unsigned long long)run.result.mallocs,
           (unsigned long long)run.result.frees, (unsigned long long)run.result.peak_live_bytes,
           (unsigned long long)growth(status_bytes("VmHWM"), before),
           (unsigned long long)growth(status_bytes("VmRSS"), before), elapsed);
    return 0;
}

/*
 * remote: threads A and B take turns, handing one run and one batch over under a lock: A
 * allocates a phase's batch, B frees it, the main thread measures, and so on.
 */
enum remote_turn { TURN_MAIN, TURN_ALLOCATE, TURN_FREE, TURN_END };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    enum remote_turn turn;
    struct malloc_workload_run run;
    struct malloc_batch batch;
    uint32_t block_bytes;
    int error;
    double free_seconds;
} remote = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

/* Waits for turn (or the end); returns the turn seen. */
static enum remote_turn remote_wait(enum remote_turn turn)
{
    pthread_mutex_lock(&remote.lock);
    while (remote.turn != turn && remote.turn != TURN_END)
        pthread_cond_wait(&remote.changed, &remote.lock);
    enum remote_turn seen = remote.turn;
    pthread_mutex_unlock(&remote.lock);
    return seen;
}

static void remote_pass(enum remote_turn turn)
{
    pthread_mutex_lock(&remote.lock);
    remote.turn = turn;
    pthread_cond_broadcast(&remote.changed);
    pthread_mutex_unlock(&remote.lock);
}

static void *remote_allocator(void *unused)
{
    (void)unused;
    while (remote_wait(TURN_ALLOCATE) == TURN_ALLOCATE) {
        remote.error =
            malloc_workload_batch_allocate(&remote.run, &remote.batch, remote.block_bytes, scale.remote_bytes);
        remote_pass(remote.error ? TURN_MAIN : TURN_FREE);
    }
    return NULL;
}

static void *remote_freer(void *unused)
{
    (void)unused;
    while (remote_wait(TURN_FREE) == TURN_FREE) {
        double start = now_seconds();
        remote.error = malloc_workload_batch_free(&remote.run, &remote.batch);
        remote.free_seconds += now_seconds() - start;
        remote_pass(TURN_MAIN);
    }
    return NULL;
}

static int pattern_remote(void)
{
    static const uint32_t block_bytes[] = {64, 256};
    uint64_t before = resident_at_start(), after[2] = {0, 0};
    remote.run = (struct malloc_workload_run){.table = &table, .fill_blocks = true, .slots = slots[0]};
    pthread_t threads[2];
    if (pthread_create(&threads[0], NULL, remote_allocator, NULL) ||
        pthread_create(&threads[1], NULL, remote_freer, NULL))
        return failed("remote", "pthread_create", -1);
    int error = 0;
    for (unsigned phase = 0; phase < 2 && !error; phase++) {
        remote.block_bytes = block_bytes[phase];
        remote_pass(TURN_ALLOCATE);
        remote_wait(TURN_MAIN);
        error = remote.error;
        after[phase] = growth(status_bytes("VmRSS"), before);
    }
    remote_pass(TURN_END);
    pthread_join(threads[0], NULL);
    pthread_join(threads[1], NULL);
    if (error)
        return failed("remote", "the workload", error);
    print_head("remote");
    printf(" phase_bytes %llu mallocs %llu frees %llu peak_live_bytes %llu resident_after_phase1 %llu "
           "resident_after_phase2 %llu peak_resident_growth %llu free_seconds %.6f frees_per_second %.0f\n",
           (unsigned long long)scale.remote_bytes, (unsigned long long)remote.run.result.mallocs,
           (unsigned long long)remote.run.result.frees, (unsigned long long)remote.run.result.peak_live_bytes,
           (unsigned long long)after[0], (unsigned long long)after[1],
           (unsigned long long)growth(status_bytes("VmHWM"), before), remote.free_seconds,
           (double)remote.run.result.frees / remote.free_seconds);
    return 0;
}

/* The application's thread-specific data: a block its destructor frees when the thread ends. */
static pthread_key_t application_key;
static unsigned long destructor_frees;

static void application_destructor(void *block)
{
    unsigned char *bytes = block;
    if (bytes[0] != 0xD5 || bytes[TSD_BLOCK_BYTES - 1] != 0xD5) {
        fprintf(stderr, "malloc-patterns: a thread's block changed before its destructor freed it\n");
        abort(); /* the allocator handed it out twice: no way to go on from a destructor */
    }
    free(block);
    __atomic_add_fetch(&destructor_frees, 1, __ATOMIC_RELAXED);
}

/* Gives the calling thread a block in the application's thread-specific data; false when malloc failed. */
static bool set_thread_block(void)
{
    unsigned char *block = malloc(TSD_BLOCK_BYTES);
    if (!block)
        return false;
    memset(block, 0xD5, TSD_BLOCK_BYTES);
    return pthread_setspecific(application_key, block) == 0;
}

/* One churning thread: every_size (written), its run's result kept for the totals. */
struct churn_thread {
    pthread_t thread;
    struct malloc_workload_run run;
    pthread_barrier_t *idle; /* NULL: end at once; else wait here twice (idle, then released) */
    int error;
};

static void *churn(void *argument)
{
    struct churn_thread *self = argument;
    if (!set_thread_block())
        self->error = -E_NOMEM;
    else
        self->error = malloc_workload_every_size(&self->run, 1);
    if (self->idle) {
        pthread_barrier_wait(self->idle); /* churned: now idle */
        pthread_barrier_wait(self->idle); /* released */
    }
    return NULL;
}

/* Starts THREADS_AT_ONCE churning threads (idle: their barrier, or NULL); false when one could not start. */
static bool start_churn(struct churn_thread *threads, pthread_barrier_t *idle)
{
    for (unsigned i = 0; i < THREADS_AT_ONCE; i++) {
        threads[i] = (struct churn_thread){
            .run = {.table = &table, .fill_blocks = true, .slots = slots[i]}, .idle = idle, .error = 0};
        if (pthread_create(&threads[i].thread, NULL, churn, &threads[i]))
            return false;
    }
    return true;
}

/* Joins them; adds their calls to *mallocs; returns the first error (0: none). */
static int join_churn(struct churn_thread *threads, uint64_t *mallocs)
{
    int error = 0;
    for (unsigned i = 0; i < THREADS_AT_ONCE; i++) {
        pthread_join(threads[i].thread, NULL);
        *mallocs += threads[i].run.result.mallocs;
        if (threads[i].error && !error)
            error = threads[i].error;
    }
    return error;
}

static int pattern_threads(void)
{
    static struct churn_thread threads[THREADS_AT_ONCE];
    uint64_t before = resident_at_start(), mallocs = 0;
    double cpu_start = cpu_seconds(), start = now_seconds();
    for (unsigned round = 0; round < scale.rounds; round++) {
        if (!start_churn(threads, NULL))
            return failed("threads", "pthread_create", -1);
        int error = join_churn(threads, &mallocs);
        if (error)
            return failed("threads", "the workload", error);
    }
    double cpu = cpu_seconds() - cpu_start, elapsed = now_seconds() - start;
    print_head("threads");
    printf(" threads %u mallocs %llu destructor_frees %lu seconds %.4f cpu_seconds %.4f resident_after_exit %llu "
           "peak_resident_growth %llu\n",
           scale.rounds * THREADS_AT_ONCE, (unsigned long long)mallocs, destructor_frees, elapsed, cpu,
           (unsigned long long)growth(status_bytes("VmRSS"), before),
           (unsigned long long)growth(status_bytes("VmHWM"), before));
    return 0;
}

static int pattern_idle(void)
{
    static struct churn_thread threads[THREADS_AT_ONCE];
    pthread_barrier_t idle;
    uint64_t before = resident_at_start(), mallocs = 0;
    pthread_barrier_init(&idle, NULL, THREADS_AT_ONCE + 1);
    if (!start_churn(threads, &idle))
        return failed("idle", "pthread_create", -1);
    pthread_barrier_wait(&idle); /* every thread has churned and blocks */
    uint64_t idle_growth = growth(status_bytes("VmRSS"), before);
    malloc_trim(0);
    uint64_t trimmed_growth = growth(status_bytes("VmRSS"), before);
    pthread_barrier_wait(&idle); /* let them end */
    int error = join_churn(threads, &mallocs);
    pthread_barrier_destroy(&idle);
    if (error)
        return failed("idle", "the workload", error);
    print_head("idle");
    printf(" threads %u mallocs %llu resident_idle %llu resident_after_trim %llu "
           "resident_after_exit %llu peak_resident_growth %llu\n",
           THREADS_AT_ONCE, (unsigned long long)mallocs, (unsigned long long)idle_growth,
           (unsigned long long)trimmed_growth, (unsigned long long)growth(status_bytes("VmRSS"), before),
           (unsigned long long)growth(status_bytes("VmHWM"), before));
    return 0;
}

/* thread_exit: a thread that only sets its block up and opens its cache with a few small blocks. */
static void *short_thread(void *argument)
{
    int *error = argument;
    void *blocks[4];
    if (!set_thread_block()) {
        *error = -E_NOMEM;
        return NULL;
    }
    for (unsigned i = 0; i < 4; i++)
        blocks[i] = malloc(16 + 48 * i);
    for (unsigned i = 0; i < 4; i++)
        free(blocks[i]);
    return NULL;
}

/* Runs count threads, THREADS_AT_ONCE at a time; returns 0 or the first error. */
static int run_short_threads(unsigned count)
{
    static int errors[THREADS_AT_ONCE];
    pthread_t threads[THREADS_AT_ONCE];
    for (unsigned done = 0; done < count;) {
        unsigned batch = count - done < THREADS_AT_ONCE ? count - done : THREADS_AT_ONCE;
        for (unsigned i = 0; i < batch; i++)
            if (pthread_create(&threads[i], NULL, short_thread, &errors[i]))
                return -1;
        for (unsigned i = 0; i < batch; i++) {
            pthread_join(threads[i], NULL);
            if (errors[i])
                return errors[i];
        }
        done += batch;
    }
    return 0;
}

static int pattern_thread_exit(void)
{
    uint64_t before = resident_at_start();
    /* The first 16 set up what every later thread reuses (stacks, arenas): counted apart. */
    int error = run_short_threads(THREADS_AT_ONCE);
    uint64_t warm = status_bytes("VmRSS");
    if (!error)
        error = run_short_threads(scale.threads);
    if (error)
        return failed("thread_exit", "a thread", error);
    uint64_t after = status_bytes("VmRSS");
    print_head("thread_exit");
    printf(" threads %u destructor_frees %lu resident_after_first %llu resident_growth %llu "
           "bytes_per_thread %.1f\n",
           scale.threads + THREADS_AT_ONCE, destructor_frees, (unsigned long long)growth(warm, before),
           (unsigned long long)growth(after, warm), (double)growth(after, warm) / scale.threads);
    return 0;
}

static int pattern_regrow(void)
{
    warm_fresh_memory(2 * (size_t)scale.regrow_bytes);
    uint64_t before = resident_at_start();
    struct malloc_workload_run run = {.table = &table, .slots = slots[0]};
    double start = now_seconds();
    int error = malloc_workload_regrow(&run, 64u << 10, scale.regrow_bytes);
    double elapsed = now_seconds() - start;
    if (error)
        return failed("regrow", "the workload", error);
    print_head("regrow");
    printf(" max_bytes %llu reallocs %llu peak_live_bytes %llu peak_resident_growth %llu seconds %.6f\n",
           (unsigned long long)scale.regrow_bytes, (unsigned long long)run.result.reallocs,
           (unsigned long long)run.result.peak_live_bytes, (unsigned long long)growth(status_bytes("VmHWM"), before),
           elapsed);
    return 0;
}

/* large2: each thread its own generator and slots; blocks of 128 KiB .. 4 MiB, log-uniform. */
#define LARGE_SLOTS 8

struct large_thread {
    pthread_t thread;
    uint32_t seed;
    uint64_t mallocs;
    int error;
};

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void *large_blocks(void *argument)
{
    struct large_thread *self = argument;
    unsigned char *blocks[LARGE_SLOTS] = {NULL};
    size_t sizes[LARGE_SLOTS] = {0};
    for (unsigned i = 0; i < scale.iterations && !self->error; i++) {
        unsigned slot = next_random(&self->seed) % LARGE_SLOTS;
        unsigned shift = 17 + next_random(&self->seed) % 5; /* 128 KiB .. 2 MiB, then up to twice that */
        size_t bytes = ((size_t)1 << shift) + (next_random(&self->seed) & (((size_t)1 << shift) - 1));
        if (blocks[slot]) {
            if (blocks[slot][0] != (unsigned char)slot || blocks[slot][sizes[slot] - 1] != (unsigned char)slot)
                self->error = -E_BADDATA;
            free(blocks[slot]);
        }
        blocks[slot] = malloc(bytes);
        if (!blocks[slot]) {
            self->error = -E_NOMEM;
            break;
        }
        blocks[slot][0] = blocks[slot][bytes - 1] = (unsigned char)slot;
        sizes[slot] = bytes;
        self->mallocs++;
    }
    for (unsigned slot = 0; slot < LARGE_SLOTS; slot++)
        free(blocks[slot]);
    return NULL;
}

static int pattern_large2(void)
{
    struct large_thread threads[2] = {{.seed = 0x2a2a2a2a}, {.seed = 0x13579bdf}};
    double cpu_start = cpu_seconds(), start = now_seconds();
    for (unsigned i = 0; i < 2; i++)
        if (pthread_create(&threads[i].thread, NULL, large_blocks, &threads[i]))
            return failed("large2", "pthread_create", -1);
    for (unsigned i = 0; i < 2; i++)
        pthread_join(threads[i].thread, NULL);
    double elapsed = now_seconds() - start, cpu = cpu_seconds() - cpu_start;
    for (unsigned i = 0; i < 2; i++)
        if (threads[i].error)
            return failed("large2", "a thread", threads[i].error);
    print_head("large2");
    printf(" mallocs %llu cpu_seconds %.6f seconds %.6f\n",
           (unsigned long long)(threads[0].mallocs + threads[1].mallocs), cpu, elapsed);
    return 0;
}

static int pattern_aslimit(void)
{
    struct rlimit limit;
    getrlimit(RLIMIT_AS, &limit);
    size_t bytes = (size_t)2 << 30;
    unsigned char *block = malloc(bytes);
    if (block) {
        block[0] = block[bytes - 1] = 1;
        free(block);
    }
    print_head("aslimit");
    printf(" limit_kib %lld bytes %llu served %d\n",
           limit.rlim_cur == RLIM_INFINITY ? -1ll : (long long)(limit.rlim_cur / 1024), (unsigned long long)bytes,
           block != NULL);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(void);
} patterns[] = {
    {"phases", pattern_phases},           {"remote", pattern_remote},   {"threads", pattern_threads},
    {"thread_exit", pattern_thread_exit}, {"idle", pattern_idle},       {"regrow", pattern_regrow},
    {"large2", pattern_large2},           {"aslimit", pattern_aslimit},
};

static int run_pattern(const char *name)
{
    for (unsigned i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        if (strcmp(name, "all") == 0 || strcmp(name, patterns[i].name) == 0) {
            int failure = patterns[i].run();
            fflush(stdout);
            if (failure || strcmp(name, "all") != 0)
                return failure;
        }
    }
    if (strcmp(name, "all") == 0)
        return 0;
    fprintf(stderr, "malloc-patterns: unknown pattern \"%s\"\n", name);
    return 1;
}

int main(int argc, char **argv)
{
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *option = argv[first];
        unsigned long long value = first + 1 < argc ? strtoull(argv[first + 1], NULL, 0) : 0;
        if (strcmp(option, "--quick") == 0) {
            scale.phase_bytes = 1 << 20;
            scale.remote_bytes = 1 << 20;
            scale.regrow_bytes = 1 << 20;
            scale.rounds = 1;
            scale.threads = 64;
            scale.iterations = 50;
            continue;
        }
        if (value == 0)
            break;
        if (strcmp(option, "--phase-bytes") == 0)
            scale.phase_bytes = value;
        else if (strcmp(option, "--remote-bytes") == 0)
            scale.remote_bytes = value;
        else if (strcmp(option, "--regrow-bytes") == 0)
            scale.regrow_bytes = value;
        else if (strcmp(option, "--rounds") == 0)
            scale.rounds = (unsigned)value;
        else if (strcmp(option, "--threads") == 0)
            scale.threads = (unsigned)value;
        else if (strcmp(option, "--iterations") == 0)
            scale.iterations = (unsigned)value;
        else
            break;
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: malloc-patterns [--quick] [--phase-bytes N] [--remote-bytes N] [--regrow-bytes N] "
                        "[--rounds N] [--threads N] [--iterations N] PATTERN... (or all)\n");
        return 2;
    }
    table.name = allocator_name();
    if (pthread_key_create(&application_key, application_destructor)) {
        fprintf(stderr, "malloc-patterns: pthread_key_create failed\n");
        return 1;
    }
    int failure = 0;
    for (int i = first; i < argc; i++)
        failure |= run_pattern(argv[i]);
    return failure;
}
