/*
 * tests/bench/malloc.c - rvmem's malloc and free in guest instructions, per call.
 *
 * Runs the workloads of tests/lib/malloc_workloads.h over the kernel's allocator (rvmem_malloc,
 * rvmem_free on the break) with a probe that times every call with rdinstret, and reports for
 * each workload: malloc and free over every call (mean, p50, p99, max), the same over the calls
 * that neither moved the break nor took or gave pages (no page refill: "_no_refill" rows; a
 * check of the break, the page allocator's free count and rvmem_malloc_run_changes() - a size
 * class taking a new run of pages or giving one back - before and after each call, outside the
 * counted window), and the footprint, in permille: 1000 * the highest heap span seen / the
 * highest sum of requested bytes live at once. The heap span is the break minus the allocator's
 * heap start, sampled after every malloc (outside the counted window); rvmem_malloc_trim() runs
 * before each workload so the heap starts as small as the allocator can make it.
 *
 * A figure counts the call through the workload's allocator table (the argument move, the
 * indirect call and, for malloc, the move of the result: malloc_call_overhead below measures an
 * empty function called the same way), not the probe. heap_16B, heap_256B and heap_4KiB
 * complete the seed's table (stack frame vs malloc/free vs box) for the sizes of
 * tests/bench/stack.c. The budgets are regression guards (docs/BENCHMARKS.md, "Budgets and goals"):
 * the means of malloc and free, the max of each with no page refill and the footprint; a figure
 * above its budget fails `make bench`. Targets not reached yet are goals there, not budgets.
 */
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "lib/box.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/kbench.h"
#include "tests/harness/kbench_series.h"
#include "tests/harness/ktest_arena.h"
#include "tests/lib/malloc_workloads.h"

/*
 * The series of one workload: [call][0] every call, [call][1] calls with no page refill (with
 * one_series set, every call of either kind goes to [0][0]); growth: the calls that moved the
 * break up.
 */
struct probe_state {
    struct kbench_series series[2][2];
    struct kbench_series growth;
    bool one_series;
    uintptr_t break_before, pages_end_before;
    unsigned long free_pages_before;
    size_t run_changes_before;
    uint64_t refills[2];
};

/* Free pages of the pool and this hart's cache: read directly (the other harts sleep while benchmarks run). */
static unsigned long free_pages_now(void)
{
    struct buddy *pages = kernel_pages();
    return pages->pool_free_pages + buddy_cache_pages(&pages->caches[hart_self()]);
}

/*
 * The probe's series and the workloads' slots, about 1 MiB in all: test arenas
 * (tests/harness/ktest_arena.h) taken when a benchmark starts, not .bss. Set by start_workload().
 */
static struct ktest_arena probe_state_space = KTEST_ARENA(sizeof(struct probe_state), sizeof(uint64_t));
static struct ktest_arena slots_space = KTEST_ARENA(sizeof(struct malloc_slot) * MALLOC_WORKLOAD_MAX_SLOTS, 16);
static struct probe_state *probe_state;

static void probe_before(void *context)
{
    struct probe_state *state = context;
    struct brk_heap *heap = kernel_heap();
    state->break_before = heap->current;
    state->pages_end_before = heap->pages_end;
    state->free_pages_before = free_pages_now();
    state->run_changes_before = rvmem_malloc_run_changes();
}

static void probe_after(void *context, enum malloc_call call, size_t bytes, uint64_t instructions)
{
    struct probe_state *state = context;
    struct brk_heap *heap = kernel_heap();
    uint64_t net = instructions > kbench_overhead() ? instructions - kbench_overhead() : 0;
    bool refilled = heap->current != state->break_before || heap->pages_end != state->pages_end_before ||
                    free_pages_now() != state->free_pages_before ||
                    rvmem_malloc_run_changes() != state->run_changes_before;
    (void)bytes;
    if (heap->current > state->break_before)
        kbench_series_add(&state->growth, net);
    if (state->one_series) {
        kbench_series_add(&state->series[0][0], net);
        return;
    }
    kbench_series_add(&state->series[call][0], net);
    if (refilled)
        state->refills[call]++;
    else
        kbench_series_add(&state->series[call][1], net);
}

static struct malloc_probe probe = {NULL, probe_before, probe_after}; /* its context: probe_state */

static uintptr_t malloc_heap_start;

static size_t heap_span_bytes(void)
{
    return kernel_heap()->current - malloc_heap_start;
}

static const struct malloc_table rvmem_table = {"rvmem", rvmem_malloc, rvmem_free, heap_span_bytes, rvmem_realloc};

/*
 * Takes the benchmark's memory (the first time), then empties the allocator's caches and top so
 * every workload starts from the same small heap. False when the memory cannot be taken (the
 * benchmark then fails).
 */
static bool start_workload(struct malloc_workload_run *run)
{
    probe_state = ktest_arena_memory(&probe_state_space);
    struct malloc_slot *slots = ktest_arena_memory(&slots_space);
    if (probe_state == NULL || slots == NULL) {
        kbench_fail("cannot take the probe's and the workload's memory");
        return false;
    }
    probe.context = probe_state;
    struct malloc_stats stats;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&stats);
    malloc_heap_start = stats.heap_start;
    for (unsigned call = 0; call < 2; call++) {
        kbench_series_reset(&probe_state->series[call][0]);
        kbench_series_reset(&probe_state->series[call][1]);
        probe_state->refills[call] = 0;
    }
    probe_state->one_series = false;
    *run =
        (struct malloc_workload_run){.table = &rvmem_table, .probe = &probe, .sample_heap_span = true, .slots = slots};
    return true;
}

/*
 * A workload's budgets (0: none): instructions, except the footprint in permille; reserved_max:
 * every call's max on a reserved heap (issue 14's bound of 400).
 */
struct budgets {
    uint32_t malloc_mean, free_mean, malloc_max_no_refill, free_max_no_refill, footprint_permille, reserved_max;
};

static void report_call(const char *workload, const char *call_name, enum malloc_call call, uint32_t budget_mean,
                        uint32_t budget_max_no_refill)
{
    char name[64];
    struct kbench_summary every = kbench_series_summary(&probe_state->series[call][0]);
    struct kbench_summary no_refill = kbench_series_summary(&probe_state->series[call][1]);
    ksnprintf(name, sizeof name, "malloc_%s_%s", workload, call_name);
    kbench_report(name, &every, "instructions", budget_mean, 0);
    ksnprintf(name, sizeof name, "malloc_%s_%s_no_refill", workload, call_name);
    kbench_report(name, &no_refill, "instructions", 0, budget_max_no_refill);
    for (unsigned kind = 0; kind < 2; kind++)
        if (probe_state->series[call][kind].large_dropped)
            kprintf("# %s %s: %lu samples over %u instructions not kept: p50/p99 may be overstated\n", workload,
                    call_name, (unsigned long)probe_state->series[call][kind].large_dropped, KBENCH_SERIES_EXACT);
    kprintf("# %s %s: %lu of %lu calls were page refills (moved the break, or took or gave back a run)\n", workload,
            call_name, (unsigned long)probe_state->refills[call], (unsigned long)every.n);
}

/* Runs the workload named workload over run. noipa: the one place the workloads are called through a pointer. */
__attribute__((noipa)) static int run_workload(const char *workload, struct malloc_workload_run *run)
{
    return malloc_workload_by_name(workload)(run);
}

/*
 * The workload again on a reserved heap: trimmed, then rvmem_malloc_reserve of the peak span
 * the plain run measured (peak_span) plus an eighth, so no call should move the break. Reports
 * malloc_<workload>_max_reserved: every malloc and free call in one series, its max held to
 * budget_max (issue 14's bound).
 * Removes the reserve and trims afterwards.
 */
static void run_reserved(const char *workload, size_t peak_span, uint32_t budget_max)
{
    struct malloc_workload_run run;
    if (!start_workload(&run))
        return;
    probe_state->one_series = true;
    kbench_series_reset(&probe_state->growth);
    size_t reserve_bytes = peak_span + peak_span / 8;
    int error = rvmem_malloc_reserve(reserve_bytes);
    if (error)
        kprintf("# malloc_%s_max_reserved: rvmem_malloc_reserve(%lu) failed with error %d\n", workload,
                (unsigned long)reserve_bytes, error);
    else
        error = run_workload(workload, &run);
    if (error) {
        kprintf("# malloc_%s_max_reserved: the workload failed with error %d\n", workload, error);
        kbench_series_reset(&probe_state->series[0][0]);
    }
    char name[64];
    struct kbench_summary every = kbench_series_summary(&probe_state->series[0][0]);
    ksnprintf(name, sizeof name, "malloc_%s_max_reserved", workload);
    kbench_report(name, &every, "instructions", 0, budget_max);
    kprintf("# %s reserved (%lu bytes): %lu of %lu malloc and free calls moved the break\n", workload,
            (unsigned long)reserve_bytes, (unsigned long)probe_state->growth.n, (unsigned long)every.n);
    rvmem_malloc_reserve(0);
    rvmem_malloc_trim();
}

/* Runs one workload and reports its rows; a failed workload reports empty rows (a failure). */
static void run_and_report(const char *workload, const struct budgets *budgets)
{
    struct malloc_workload_run run;
    if (!start_workload(&run))
        return;
    size_t span_at_start = heap_span_bytes();
    int error = run_workload(workload, &run);
    if (error) {
        kprintf("# malloc_%s: the workload failed with error %d\n", workload, error);
        kbench_series_reset(&probe_state->series[MALLOC_CALL_MALLOC][0]);
    }
    report_call(workload, "malloc", MALLOC_CALL_MALLOC, budgets->malloc_mean, budgets->malloc_max_no_refill);
    report_call(workload, "free", MALLOC_CALL_FREE, budgets->free_mean, budgets->free_max_no_refill);
    struct kbench_summary footprint = {0};
    if (!error && run.result.peak_live_bytes) {
        uint64_t permille =
            (run.result.peak_heap_span * 1000 + run.result.peak_live_bytes / 2) / run.result.peak_live_bytes;
        footprint = (struct kbench_summary){1, permille * 100, permille, permille, permille};
    }
    char name[64];
    ksnprintf(name, sizeof name, "malloc_%s_footprint", workload);
    kbench_report(name, &footprint, "permille", budgets->footprint_permille, 0);
    kprintf("# %s: heap span %lu bytes at the start, peak %lu bytes; peak live %lu bytes in %lu blocks\n", workload,
            (unsigned long)span_at_start, (unsigned long)run.result.peak_heap_span,
            (unsigned long)run.result.peak_live_bytes, (unsigned long)run.result.peak_live_blocks);
    if (!error)
        run_reserved(workload, run.result.peak_heap_span, budgets->reserved_max);
}

/*
 * malloc_growth_step_max: the four workloads on a heap that is not reserved, and the max over
 * the calls that moved the break up (a growth step: more-core claims at least the pad). A
 * report row: growth is bounded by its step, not by the per-call bound.
 */
KBENCH(malloc_growth_step, 0, 0)
{
    static const char *const workloads[] = {"pair", "simple16", "larson", "zstress"};
    struct malloc_workload_run run;
    if (!start_workload(&run))
        return;
    kbench_series_reset(&probe_state->growth);
    for (unsigned i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        if (!start_workload(&run))
            return;
        int error = run_workload(workloads[i], &run);
        if (error) {
            kprintf("# malloc_growth_step: %s failed with error %d\n", workloads[i], error);
            kbench_series_reset(&probe_state->growth);
            break;
        }
    }
    struct kbench_summary growth = kbench_series_summary(&probe_state->growth);
    kbench_report("malloc_growth_step_max", &growth, "instructions", 0, 0);
    kprintf("# growth steps: %lu calls over pair, simple16, larson and zstress moved the break up\n",
            (unsigned long)growth.n);
}

KBENCH(malloc_pair, 0, 0)
{
    static const struct budgets budgets = {0, 0, 14, 24, 0, 400};
    run_and_report("pair", &budgets);
}

KBENCH(malloc_simple16, 0, 0)
{
    static const struct budgets budgets = {16, 25, 93, 141, 2688, 400};
    run_and_report("simple16", &budgets);
}

KBENCH(malloc_larson, 0, 0)
{
    static const struct budgets budgets = {19, 25, 91, 141, 1468, 400};
    run_and_report("larson", &budgets);
}

KBENCH(malloc_zstress, 0, 0)
{
    static const struct budgets budgets = {20, 25, 98, 141, 1305, 400};
    run_and_report("zstress", &budgets);
}

/* The sweep: one malloc row and one free row per size (every call), no budgets. */
KBENCH(malloc_sweep, 0, 0)
{
    for (unsigned i = 0; i < malloc_sweep_size_count; i++) {
        uint32_t bytes = malloc_sweep_sizes[i];
        struct malloc_workload_run run;
        if (!start_workload(&run))
            return;
        int error = malloc_workload_sweep_one(&run, bytes);
        char name[64];
        for (unsigned call = 0; call < 2; call++) {
            struct kbench_summary summary = {0};
            if (!error)
                summary = kbench_series_summary(&probe_state->series[call][0]);
            ksnprintf(name, sizeof name, "malloc_sweep_%luB_%s", (unsigned long)bytes, call ? "free" : "malloc");
            kbench_report(name, &summary, "instructions", 0, 0);
        }
        if (error)
            kprintf("# malloc_sweep %lu B: the workload failed with error %d\n", (unsigned long)bytes, error);
        else
            kprintf("# sweep %lu B: %lu of %lu mallocs and %lu of %lu frees were page refills\n", (unsigned long)bytes,
                    (unsigned long)probe_state->refills[MALLOC_CALL_MALLOC], (unsigned long)run.result.mallocs,
                    (unsigned long)probe_state->refills[MALLOC_CALL_FREE], (unsigned long)run.result.frees);
    }
}

/* What calling through the table costs: an empty function, called the way the workloads call malloc. */
__attribute__((noinline)) static void *empty_malloc(size_t bytes)
{
    __asm__ volatile("" : : "r"(bytes) : "memory");
    return NULL;
}

KBENCH(malloc_call_overhead, 0, 0)
{
    void *(*volatile pointer)(size_t) = empty_malloc;
    void *(*allocate)(size_t) = pointer;
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t start = instructions_retired(); /* both reads inline, as in the workloads' probe */
        allocate(32);
        uint64_t end = instructions_retired();
        kbench_record(end - start - kbench_overhead());
    }
}

/*
 * The seed's table: the same sizes as the stack frames of tests/bench/stack.c, one block at a
 * time, from malloc and back to free, and as a box (box_new with no initial value zeroes the
 * bytes; box_free gives them back). Called directly, as the stack benchmarks call their frames.
 */
enum { HEAP_MALLOC, HEAP_FREE, HEAP_BOX_NEW, HEAP_BOX_FREE, HEAP_ROWS };

/* One series per row: a test arena (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena heap_series_space = KTEST_ARENA(sizeof(struct kbench_series) * HEAP_ROWS, sizeof(uint64_t));

static void heap_same_size(const char *name, size_t bytes)
{
    struct kbench_series *series = ktest_arena_memory(&heap_series_space);
    static const char *const row_names[HEAP_ROWS] = {"malloc", "free", "box_new", "box_free"};
    if (series == NULL) {
        kbench_fail("cannot take the series' memory");
        return;
    }
    for (unsigned row = 0; row < HEAP_ROWS; row++)
        kbench_series_reset(&series[row]);
    rvmem_free(rvmem_malloc(bytes)); /* warm: the first call may refill */
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t start = instructions_retired();
        void *block = rvmem_malloc(bytes);
        uint64_t middle = instructions_retired();
        rvmem_free(block);
        uint64_t end = instructions_retired();
        if (!block)
            break;
        kbench_series_add(&series[HEAP_MALLOC], middle - start - kbench_overhead());
        kbench_series_add(&series[HEAP_FREE], end - middle - kbench_overhead());
    }
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t start = instructions_retired();
        void *box = box_new(bytes, NULL);
        uint64_t middle = instructions_retired();
        box_free(box);
        uint64_t end = instructions_retired();
        if (!box)
            break;
        kbench_series_add(&series[HEAP_BOX_NEW], middle - start - kbench_overhead());
        kbench_series_add(&series[HEAP_BOX_FREE], end - middle - kbench_overhead());
    }
    for (unsigned row = 0; row < HEAP_ROWS; row++) {
        char row_name[64];
        struct kbench_summary summary = kbench_series_summary(&series[row]);
        ksnprintf(row_name, sizeof row_name, "%s_%s", name, row_names[row]);
        kbench_report(row_name, &summary, "instructions", 0, 0);
    }
}

KBENCH(heap_16B, 0, 0)
{
    heap_same_size("heap_16B", 16);
}

KBENCH(heap_256B, 0, 0)
{
    heap_same_size("heap_256B", 256);
}

KBENCH(heap_4KiB, 0, 0)
{
    heap_same_size("heap_4KiB", 4096);
}
