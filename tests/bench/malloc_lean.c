/*
 * tests/bench/malloc_lean.c - lean mode (rvmem_malloc_set_mode_all_harts(MALLOC_MODE_LEAN):
 * every block from TLSF) on the workloads the fast mode is measured on, in guest instructions
 * per call and footprint.
 *
 * Each benchmark switches every hart to lean mode (which also trims the heap: the runs whose
 * blocks are all free go back to TLSF and the free top back through sbrk), runs one workload of
 * tests/lib/malloc_workloads.h with a probe that times every call with rdinstret (as
 * tests/bench/malloc.c does: the figures count the call through the workload's table), reports
 * malloc and free over every call and the footprint, and switches back to fast mode and trims.
 * Footprint: 1000 * the highest heap span (the break minus the allocator's heap start, sampled
 * after every malloc outside the counted window) / the highest sum of requested bytes live at
 * once, the measure of tests/bench/malloc.c, so the lean and the fast rows of a workload compare.
 *
 *   malloc_lean_larson, malloc_lean_zstress   the workloads of malloc_larson and malloc_zstress:
 *                     issue 14's lean footprint (budget 1100 permille), malloc and free rows; the
 *                     workload runs in fast mode first, and both modes' figures are printed side
 *                     by side (the monitor's `bench malloc_lean_larson` shows them); then once more
 *                     in lean mode on a reserved heap: malloc_lean_<workload>_max_reserved, the
 *                     most any call cost (budget 400, issue 14's bound)
 *   malloc_lean_phases the phases pattern of tests/bench/malloc_patterns.c (4 MiB of blocks per
 *                     size, 16 sizes): TLSF serves every size from what the last one freed
 */
#include "kernel/base/printf.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/pages.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/kbench.h"
#include "tests/harness/kbench_series.h"
#include "tests/harness/ktest_arena.h"
#include "tests/lib/malloc_workloads.h"

#define LEAN_PHASE_BYTES (4u << 20)
/* Issue 14's bound on any malloc or free with the heap reserved, in instructions (as the fast mode's). */
#define LEAN_RESERVED_MAX 400

/* Every malloc and every free: a series each, in a test arena (not .bss). */
static struct ktest_arena series_space = KTEST_ARENA(sizeof(struct kbench_series) * 2, sizeof(uint64_t));
static struct ktest_arena slots_space = KTEST_ARENA(sizeof(struct malloc_slot) * MALLOC_WORKLOAD_MAX_SLOTS, 16);
static struct kbench_series *series;
static bool one_series; /* every malloc and free into series[0] (the reserved run) */

static void probe_before(void *context)
{
    (void)context;
}

static void probe_after(void *context, enum malloc_call call, size_t bytes, uint64_t instructions)
{
    (void)context;
    (void)bytes;
    if (call <= MALLOC_CALL_FREE)
        kbench_series_add(&series[one_series ? 0 : call],
                          instructions > kbench_overhead() ? instructions - kbench_overhead() : 0);
}

static const struct malloc_probe probe = {NULL, probe_before, probe_after};

static uintptr_t malloc_heap_start;

static size_t heap_span_bytes(void)
{
    return kernel_heap()->current - malloc_heap_start;
}

static const struct malloc_table rvmem_table = {"rvmem", rvmem_malloc, rvmem_free, heap_span_bytes, rvmem_realloc};

/*
 * Takes the benchmark's memory (the first time), switches every hart to mode (rvmem_malloc_set_mode_all_harts;
 * to lean it trims the heap too), trims, and resets the series. False (the benchmark failed) without
 * memory or when the switch fails.
 */
static bool start_in_mode(struct malloc_workload_run *run, enum malloc_mode mode)
{
    series = ktest_arena_memory(&series_space);
    struct malloc_slot *slots = ktest_arena_memory(&slots_space);
    if (series == NULL || slots == NULL) {
        kbench_fail("cannot take the series' and the workload's memory");
        return false;
    }
    if (rvmem_malloc_set_mode_all_harts(mode) < 0 || rvmem_malloc_mode() != mode) {
        kbench_fail("cannot switch malloc's mode");
        return false;
    }
    rvmem_malloc_trim_all_harts();
    for (unsigned call = 0; call < 2; call++)
        kbench_series_reset(&series[call]);
    one_series = false;
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    malloc_heap_start = stats.heap_start;
    *run =
        (struct malloc_workload_run){.table = &rvmem_table, .probe = &probe, .sample_heap_span = true, .slots = slots};
    malloc_workload_reset(run);
    return true;
}

/* Back to fast mode on every hart, the heap trimmed: the next benchmark starts as the others do. */
static void end_lean(void)
{
    rvmem_malloc_set_mode_all_harts(MALLOC_MODE_FAST);
    rvmem_malloc_trim_all_harts();
}

/* 1000 * the highest heap span / the highest live requested bytes (0 without a figure). */
static uint64_t footprint_permille(const struct malloc_workload_result *result)
{
    if (!result->peak_live_bytes)
        return 0;
    return (result->peak_heap_span * 1000 + result->peak_live_bytes / 2) / result->peak_live_bytes;
}

/* One mode's figures, for the side-by-side lines. */
struct mode_figures {
    struct kbench_summary calls[2]; /* malloc, free */
    uint64_t footprint_permille;
};

static void note_figures(struct mode_figures *figures, const struct malloc_workload_result *result)
{
    for (unsigned call = 0; call < 2; call++)
        figures->calls[call] = kbench_series_summary(&series[call]);
    figures->footprint_permille = footprint_permille(result);
}

/* The malloc and free rows and the footprint row of a lean run (empty rows, which fail, after an error). */
static void report_lean(const char *workload, const struct malloc_workload_result *result, int error,
                        uint32_t footprint_budget)
{
    static const char *const call_names[2] = {"malloc", "free"};
    char name[64];
    for (unsigned call = 0; call < 2; call++) {
        struct kbench_summary summary = {0};
        if (!error)
            summary = kbench_series_summary(&series[call]);
        ksnprintf(name, sizeof name, "malloc_lean_%s_%s", workload, call_names[call]);
        kbench_report(name, &summary, "instructions", 0, 0);
        if (series[call].large_dropped)
            kprintf("# %s: %lu samples over %u instructions not kept: p50/p99 may be overstated\n", name,
                    (unsigned long)series[call].large_dropped, KBENCH_SERIES_EXACT);
    }
    struct kbench_summary footprint = {0};
    uint64_t permille = footprint_permille(result);
    if (!error && permille)
        footprint = (struct kbench_summary){1, permille * 100, permille, permille, permille};
    ksnprintf(name, sizeof name, "malloc_lean_%s_footprint", workload);
    kbench_report(name, &footprint, "permille", footprint_budget, 0);
    kprintf("# lean %s: peak heap span %lu bytes, peak live %lu bytes in %lu blocks\n", workload,
            (unsigned long)result->peak_heap_span, (unsigned long)result->peak_live_bytes,
            (unsigned long)result->peak_live_blocks);
}

/* A mean in hundredths as "integer.hundredths" (kprintf has no floating point). */
static void print_mean(uint64_t sum_hundredths)
{
    kprintf(" %8lu.%02lu", (unsigned long)(sum_hundredths / 100), (unsigned long)(sum_hundredths % 100));
}

/* The two modes' figures of one workload side by side (the monitor's `bench malloc_lean_larson` shows them). */
static void print_side_by_side(const char *workload, const struct mode_figures *fast, const struct mode_figures *lean)
{
    kprintf("# %s, the same calls in each mode, each from a trimmed heap (instructions per call, footprint "
            "in permille):\n#   mode   malloc mean    max   free mean    max  footprint\n",
            workload);
    const struct mode_figures *modes[2] = {fast, lean};
    for (unsigned mode = 0; mode < 2; mode++) {
        const struct mode_figures *figures = modes[mode];
        kprintf("#   %s", mode ? "lean" : "fast");
        for (unsigned call = 0; call < 2; call++) {
            const struct kbench_summary *summary = &figures->calls[call];
            print_mean(summary->n ? summary->mean_hundredths : 0);
            kprintf(" %6lu", (unsigned long)summary->max);
        }
        kprintf(" %10lu\n", (unsigned long)figures->footprint_permille);
    }
}

/*
 * The workload in lean mode again on a reserved heap, as tests/bench/malloc.c's
 * malloc_<workload>_max_reserved for the fast mode: from a trimmed heap, rvmem_malloc_reserve of
 * the peak span the lean run measured plus an eighth, every malloc and free call in one series,
 * its max held to budget_max (issue 14's bound per call). Removes the reserve afterwards.
 */
static void run_lean_reserved(const char *workload, size_t peak_span, uint32_t budget_max)
{
    struct malloc_workload_run run;
    if (!start_in_mode(&run, MALLOC_MODE_LEAN))
        return;
    one_series = true;
    size_t reserve_bytes = peak_span + peak_span / 8;
    int error = rvmem_malloc_reserve(reserve_bytes);
    if (error)
        kprintf("# malloc_lean_%s_max_reserved: rvmem_malloc_reserve(%lu) failed with error %d\n", workload,
                (unsigned long)reserve_bytes, error);
    uintptr_t break_before = kernel_heap()->current;
    if (!error)
        error = malloc_workload_by_name(workload)(&run);
    if (error)
        kprintf("# malloc_lean_%s_max_reserved: the workload failed with error %d\n", workload, error);
    struct kbench_summary every = {0};
    if (!error)
        every = kbench_series_summary(&series[0]);
    char name[64];
    ksnprintf(name, sizeof name, "malloc_lean_%s_max_reserved", workload);
    kbench_report(name, &every, "instructions", 0, budget_max);
    kprintf("# lean %s reserved (%lu bytes): the break %s during the workload\n", workload,
            (unsigned long)reserve_bytes, kernel_heap()->current == break_before ? "stayed" : "moved");
    one_series = false;
    rvmem_malloc_reserve(0);
}

/*
 * One workload of tests/lib/malloc_workloads.h in fast mode (figures for the side-by-side lines
 * only: malloc_<workload>'s rows are tests/bench/malloc.c's), then in lean mode (the rows), then
 * in lean mode on a reserved heap (run_lean_reserved).
 * noipa: one function under this name (tools/stack_indirect_targets.txt names its call).
 */
__attribute__((noipa)) static void run_lean(const char *workload, uint32_t footprint_budget)
{
    struct malloc_workload_run run;
    struct mode_figures fast = {0}, lean = {0};
    if (!start_in_mode(&run, MALLOC_MODE_FAST))
        return;
    if (malloc_workload_by_name(workload)(&run) == 0)
        note_figures(&fast, &run.result);
    if (!start_in_mode(&run, MALLOC_MODE_LEAN))
        return;
    int error = malloc_workload_by_name(workload)(&run);
    if (error)
        kprintf("# malloc_lean_%s: the workload failed with error %d\n", workload, error);
    else
        note_figures(&lean, &run.result);
    report_lean(workload, &run.result, error, footprint_budget);
    print_side_by_side(workload, &fast, &lean);
    if (!error)
        run_lean_reserved(workload, run.result.peak_heap_span, LEAN_RESERVED_MAX);
    end_lean();
}

KBENCH(malloc_lean_larson, 0, 0)
{
    run_lean("larson", 1100);
}

KBENCH(malloc_lean_zstress, 0, 0)
{
    run_lean("zstress", 1100);
}

KBENCH(malloc_lean_phases, 0, 0)
{
    struct malloc_workload_run run;
    if (!start_in_mode(&run, MALLOC_MODE_LEAN))
        return;
    int error = 0;
    for (unsigned i = 0; i < malloc_phase_size_count && !error; i++)
        error = malloc_workload_phase(&run, malloc_phase_sizes[i], LEAN_PHASE_BYTES);
    if (error)
        kprintf("# malloc_lean_phases: the workload failed with error %d\n", error);
    report_lean("phases", &run.result, error, 0);
    end_lean();
}
