/*
 * user/programs/bench_malloc.c - the user runtime's malloc and free, measured from U-mode.
 *
 * `bench_malloc` runs the larson workload of tests/lib/malloc_workloads.c (the kernel's
 * malloc_larson rows run the same calls) over the user runtime's malloc (the same lib/malloc/
 * sources as the kernel's; more-core is the sbrk system call, and the heap's pages fault in on
 * their first touch). The workload's probe times every call with rdinstret, the cost of two reads
 * back to back (the least seen) taken off, as user/programs/bench_syscalls.c does. Rows:
 *   - user_malloc_larson_malloc, user_malloc_larson_free: every call;
 *   - user_malloc_larson_malloc_no_refill, user_malloc_larson_free_no_refill: the calls that
 *     neither called sbrk nor had a size class take or give back a run (the kernel's _no_refill
 *     rows' test; checked outside the counted window, without a system call: one just before
 *     the window disturbs the count);
 *   - user_malloc_grows_heap: a malloc whose cache and heap have no room, so it grows the heap
 *     with the sbrk system call (GROWS_SAMPLES blocks of GROWS_BLOCK_BYTES, kept, after larson: only
 *     the calls that called sbrk count; they include the first touch of the pages malloc
 *     writes its chunk headers to).
 * Prints one line per row, "bench NAME n=N mean100=M p50=A p99=B max=C", which tests/bench/user.c
 * reads, and exits 0; exits 1 when the workload fails. Counts are exact only under -icount.
 */
#include "lib/malloc/malloc.h"
#include "tests/lib/malloc_workloads.h"
#include "user/lib/bench.h"
#include "user/lib/runtime.h"

#define LARSON_SLOTS 5000
#define EXACT_BELOW 4096 /* samples below this are counted exactly; above, only their number and max */
#define GROWS_SAMPLES 48
#define GROWS_BLOCK_BYTES (256 * 1024)

/* A distribution of samples: a histogram of the small ones, the sum and the max of all. */
struct series {
    uint32_t counts[EXACT_BELOW];
    uint64_t n, total, max;
};

static struct series series[2][2]; /* [call][0]: every call, [call][1]: no refill */
static struct malloc_slot slots[LARSON_SLOTS];
static uint64_t overhead;

struct probe_state {
    unsigned long sbrk_calls_before;
    size_t run_changes_before;
};

static void series_add(struct series *into, uint64_t value)
{
    into->n++;
    into->total += value;
    if (value > into->max)
        into->max = value;
    if (value < EXACT_BELOW)
        into->counts[value]++;
}

/* The smallest value at or above which fewer than (100 - percent)% of the samples lie (EXACT_BELOW: above the
 * histogram). */
static uint64_t percentile(const struct series *from, unsigned percent)
{
    uint64_t rank = from->n * percent / 100, seen = 0;
    for (uint64_t value = 0; value < EXACT_BELOW; value++) {
        seen += from->counts[value];
        if (seen > rank)
            return value;
    }
    return from->max;
}

static void report(const char *name, const struct series *from)
{
    if (from->n == 0) {
        printf("# %s: no samples\n", name);
        return;
    }
    printf("bench %s n=%llu mean100=%llu p50=%llu p99=%llu max=%llu\n", name, (unsigned long long)from->n,
           (unsigned long long)(from->total * 100 / from->n), (unsigned long long)percentile(from, 50),
           (unsigned long long)percentile(from, 99), (unsigned long long)from->max);
}

static void probe_before(void *context)
{
    struct probe_state *state = context;
    state->sbrk_calls_before = malloc_sbrk_calls();
    state->run_changes_before = rvmem_malloc_run_changes();
}

static void probe_after(void *context, enum malloc_call call, size_t bytes, uint64_t instructions)
{
    struct probe_state *state = context;
    uint64_t net = instructions > overhead ? instructions - overhead : 0;
    bool refilled =
        malloc_sbrk_calls() != state->sbrk_calls_before || rvmem_malloc_run_changes() != state->run_changes_before;
    (void)bytes;
    series_add(&series[call][0], net);
    if (!refilled)
        series_add(&series[call][1], net);
}

/*
 * Mallocs that must grow the heap: blocks too large for any cache, kept, so each takes fresh heap
 * from the top; the calls that called sbrk are the samples. Frees them at the end.
 */
static void measure_growth(void)
{
    static void *blocks[GROWS_SAMPLES];
    static struct series grows;
    for (unsigned i = 0; i < GROWS_SAMPLES; i++) {
        unsigned long before = malloc_sbrk_calls();
        uint64_t start = instructions_retired();
        blocks[i] = malloc(GROWS_BLOCK_BYTES);
        uint64_t end = instructions_retired();
        if (blocks[i] == NULL)
            panic("malloc of %u bytes failed", GROWS_BLOCK_BYTES);
        if (malloc_sbrk_calls() != before)
            series_add(&grows, end - start > overhead ? end - start - overhead : 0);
    }
    for (unsigned i = 0; i < GROWS_SAMPLES; i++)
        free(blocks[i]);
    report("user_malloc_grows_heap", &grows);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    overhead = bench_meter_start().overhead;

    static const struct malloc_table table = {"user", rvmem_malloc, rvmem_free, NULL, NULL};
    struct probe_state state;
    const struct malloc_probe probe = {&state, probe_before, probe_after};
    struct malloc_workload_run run = {.table = &table, .probe = &probe, .slots = slots};
    unsigned long sbrk_calls_before = malloc_sbrk_calls();
    int error = malloc_workload_larson(&run);
    if (error) {
        printf("larson failed: %s\n", error_name(error));
        return 1;
    }
    printf("# larson malloc: %llu of %llu calls were refills (called sbrk, or took or gave back a run); "
           "sbrk called %lu times\n",
           (unsigned long long)(series[MALLOC_CALL_MALLOC][0].n - series[MALLOC_CALL_MALLOC][1].n),
           (unsigned long long)series[MALLOC_CALL_MALLOC][0].n, malloc_sbrk_calls() - sbrk_calls_before);
    report("user_malloc_larson_malloc", &series[MALLOC_CALL_MALLOC][0]);
    report("user_malloc_larson_malloc_no_refill", &series[MALLOC_CALL_MALLOC][1]);
    report("user_malloc_larson_free", &series[MALLOC_CALL_FREE][0]);
    report("user_malloc_larson_free_no_refill", &series[MALLOC_CALL_FREE][1]);
    measure_growth();
    return 0;
}
