/*
 * tests/bench/malloc_patterns.c - issue 14's patterns in the kernel: does freed memory come back?
 *
 * Each benchmark runs one pattern of tests/lib/malloc_workloads.h over the kernel's malloc and
 * measures the memory the heap holds against the bytes the workload holds live. Held: the heap
 * span when the benchmark starts (after rvmem_malloc_trim(), as in tests/bench/malloc.c) plus
 * the pages the heap has taken from the page allocator since (its pool's free pages and every
 * hart's page cache, read before and after; nothing else takes pages while it runs). So pages
 * the heap gives back to the page allocator, from its top or from inside it, count as given
 * back, whichever way the allocator does it. Footprints are in permille: 1000 * the highest held
 * (sampled after every malloc and realloc, outside the counted window) / the highest sum of the
 * requested bytes live at once. Scales fit the 256 MiB machine (the host runs the issue's,
 * tests/hostbench/malloc_patterns.c):
 *
 *   malloc_phases     the phases workload, 4 MiB of blocks per size (16 sizes, 16 B .. 256 KiB):
 *                     every malloc and free, and malloc_phases_footprint (budget 1250: issue 14's)
 *   malloc_remote     hart 1 allocates 8 MiB of 64-byte blocks, hart 0 frees them; then the same
 *                     with 256-byte blocks. malloc_remote_free: hart 0's frees of hart 1's blocks
 *                     (every call); malloc_remote_footprint over both phases (budget 1250: freed
 *                     memory serves every size and every hart); held after each phase printed
 *   malloc_kept_few   8 MiB of 64-byte blocks, all freed but one in 1024, then 8 MiB of 256-byte
 *                     blocks (one hart): malloc_kept_few_malloc (every call) and its footprint
 *   malloc_idle_hart  hart 1 allocates and frees blocks of 112 sizes up to 64 KiB (every_size)
 *                     and goes idle: malloc_idle_hart_held (bytes held now, every block freed),
 *                     then hart 0 calls rvmem_malloc_trim_all_harts() (the drain on request:
 *                     every hart flushes its own cache) and malloc_idle_hart_held_after_trim
 *                     (budget: 1 MiB, as for threads that end)
 *   malloc_regrow     two buffers grown alternately by realloc, 64 KiB at a time up to 8 MiB
 *                     each: every realloc (copies included) and malloc_regrow_footprint
 *   malloc_inner_pages 64 blocks of 256 KiB, all freed but the last (it holds the top up), then a
 *                     trim: malloc_inner_held_after_trim (the free pages inside the heap went to the
 *                     page allocator) and malloc_inner_reclaim_malloc (the next malloc, which
 *                     claims the pages of the chunk it is cut from back first)
 *
 * The frees of malloc_remote and every call counted run on hart 0: under -icount rdinstret counts
 * every hart's instructions, and a hart waiting for a job elsewhere (run_on_all_harts) wakes on its
 * timer, while the other harts sleep until an IPI. Without a second hart the two-hart benchmarks
 * are skipped (kbench_skip). Idle classes give their runs back before the heap grows (phases;
 * lib/malloc/malloc_idle.c), and mostly free classes the runs whose blocks are all free, while a
 * few blocks are held elsewhere (remote, kept_few; lib/malloc/malloc_scan.c). Budgets (regression
 * guards) on malloc_regrow's rows, the idle hart's trim and the phases, remote and kept_few
 * footprints (tools/bench_budgets.py has them all).
 */
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/kbench.h"
#include "tests/harness/kbench_series.h"
#include "tests/harness/ktest_arena.h"
#include "tests/lib/malloc_workloads.h"

#define PHASE_BYTES (4u << 20)
#define REMOTE_PHASE_BYTES (8u << 20)
#define REGROW_STEP_BYTES (64u << 10)
#define REGROW_MAX_BYTES (8u << 20)
#define KEPT_EVERY 1024

static const uint32_t remote_block_bytes[] = {64, 256};

/* Every call of one kind (malloc, free, realloc): a series each, in a test arena (not .bss). */
static struct ktest_arena series_space = KTEST_ARENA(sizeof(struct kbench_series) * 3, sizeof(uint64_t));
static struct ktest_arena slots_space = KTEST_ARENA(sizeof(struct malloc_slot) * MALLOC_WORKLOAD_MAX_SLOTS, 16);
static struct kbench_series *series;

static void probe_before(void *context)
{
    (void)context;
}

static void probe_after(void *context, enum malloc_call call, size_t bytes, uint64_t instructions)
{
    (void)context;
    (void)bytes;
    kbench_series_add(&series[call], instructions > kbench_overhead() ? instructions - kbench_overhead() : 0);
}

static const struct malloc_probe probe = {NULL, probe_before, probe_after};

static uintptr_t malloc_heap_start;
static size_t span_at_start;
static unsigned long free_pages_at_start;

/* Free pages of the pool and of every hart's cache: read directly (the other harts sleep or work for us). */
static unsigned long free_pages_now(void)
{
    struct buddy *pages = kernel_pages();
    unsigned long free = pages->pool_free_pages;
    for (unsigned hart = 0; hart < hart_count(); hart++)
        free += buddy_cache_pages(&pages->caches[hart]);
    return free;
}

/*
 * What the heap holds: its span at the start plus the pages taken since (see the top of the file);
 * 0 when it gave back more than it held at the start (memory an earlier benchmark left in a cache).
 */
static size_t heap_held_bytes(void)
{
    unsigned long now = free_pages_now();
    if (now < free_pages_at_start)
        return span_at_start + (free_pages_at_start - now) * PAGE_SIZE;
    size_t given_back = (now - free_pages_at_start) * PAGE_SIZE;
    return given_back < span_at_start ? span_at_start - given_back : 0;
}

static const struct malloc_table rvmem_table = {"rvmem", rvmem_malloc, rvmem_free, heap_held_bytes, rvmem_realloc};

/*
 * Takes the benchmark's memory (the first time), empties the caches and the top of the heap,
 * resets the series and notes where the heap starts. False (the benchmark failed) without memory.
 */
static bool start_pattern(struct malloc_workload_run *run)
{
    series = ktest_arena_memory(&series_space);
    struct malloc_slot *slots = ktest_arena_memory(&slots_space);
    if (series == NULL || slots == NULL) {
        kbench_fail("cannot take the series' and the workload's memory");
        return false;
    }
    for (unsigned call = 0; call < 3; call++)
        kbench_series_reset(&series[call]);
    struct malloc_stats stats;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&stats);
    malloc_heap_start = stats.heap_start;
    span_at_start = kernel_heap()->current - malloc_heap_start;
    free_pages_at_start = free_pages_now();
    *run = (struct malloc_workload_run){.table = &rvmem_table, .sample_heap_span = true, .slots = slots};
    malloc_workload_reset(run);
    return true;
}

/*
 * After a benchmark: every hart's cache emptied and the heap trimmed, so the next benchmark finds
 * the heap as small as this allocator can make it (not measured: the figures are taken before).
 * noipa: one function under this name (tools/stack_indirect_targets.txt names its call).
 */
__attribute__((noipa)) static void give_everything_back(void)
{
    if (hart_count() >= 2)
        run_on_all_harts(rvmem_malloc_flush_cache);
    rvmem_malloc_trim();
    kprintf("# held after every hart's cache was emptied and the heap trimmed: %lu bytes\n",
            (unsigned long)heap_held_bytes());
}

/* A row from one series (every call of one kind); an empty row, which fails, after an error. */
static void report_series(const char *name, enum malloc_call call, int error, uint32_t budget_mean)
{
    struct kbench_summary summary = {0};
    if (!error)
        summary = kbench_series_summary(&series[call]);
    kbench_report(name, &summary, "instructions", budget_mean, 0);
    if (series[call].large_dropped)
        kprintf("# %s: %lu samples over %u instructions not kept: p50/p99 may be overstated\n", name,
                (unsigned long)series[call].large_dropped, KBENCH_SERIES_EXACT);
}

/* A footprint row: 1000 * peak held / peak live (an empty row, which fails, after an error). */
static void report_footprint(const char *name, const struct malloc_workload_result *result, int error, uint32_t budget)
{
    struct kbench_summary footprint = {0};
    if (!error && result->peak_live_bytes) {
        uint64_t permille = (result->peak_heap_span * 1000 + result->peak_live_bytes / 2) / result->peak_live_bytes;
        footprint = (struct kbench_summary){1, permille * 100, permille, permille, permille};
    }
    kbench_report(name, &footprint, "permille", budget, 0);
}

/* A row of one figure in bytes (never a failure: a byte count of 0 is a figure too). */
static void report_bytes(const char *name, uint64_t bytes)
{
    struct kbench_summary summary = {1, bytes * 100, bytes, bytes, bytes};
    kbench_report(name, &summary, "bytes", 0, 0);
}

KBENCH(malloc_phases, 0, 0)
{
    struct malloc_workload_run run;
    if (!start_pattern(&run))
        return;
    run.probe = &probe;
    int error = 0;
    kprintf("# phases: %u bytes of blocks per size; held at the start %lu bytes\n", PHASE_BYTES,
            (unsigned long)span_at_start);
    for (unsigned i = 0; i < malloc_phase_size_count && !error; i++) {
        error = malloc_workload_phase(&run, malloc_phase_sizes[i], PHASE_BYTES);
        kprintf("# phases: after %lu-byte blocks: held %lu bytes, highest so far %lu\n",
                (unsigned long)malloc_phase_sizes[i], (unsigned long)heap_held_bytes(),
                (unsigned long)run.result.peak_heap_span);
    }
    if (error)
        kprintf("# malloc_phases: the workload failed with error %d\n", error);
    report_series("malloc_phases_malloc", MALLOC_CALL_MALLOC, error, 0);
    report_series("malloc_phases_free", MALLOC_CALL_FREE, error, 0);
    report_footprint("malloc_phases_footprint", &run.result, error, 0);
    kprintf("# phases: peak held %lu bytes, peak live %lu bytes\n", (unsigned long)run.result.peak_heap_span,
            (unsigned long)run.result.peak_live_bytes);
    give_everything_back();
}

/*
 * A program that keeps a few blocks of a size it has finished with: 8 MiB of 64-byte blocks, all
 * freed but one in 1024, then 8 MiB of 256-byte blocks. The class of the first is not idle (the
 * program holds blocks of it), but mostly free: its scan (lib/malloc/malloc_scan.c) gives back
 * the runs around the kept blocks, in steps taken by the second phase's requests that would
 * grow the heap, which show in the malloc row's max.
 */
KBENCH(malloc_kept_few, 0, 0)
{
    struct malloc_workload_run run;
    struct malloc_batch first, second;
    if (!start_pattern(&run))
        return;
    run.probe = &probe;
    int error = malloc_workload_batch_allocate(&run, &first, remote_block_bytes[0], REMOTE_PHASE_BYTES);
    if (!error)
        error = malloc_workload_batch_thin(&run, &first, KEPT_EVERY);
    if (!error)
        error = malloc_workload_batch_allocate(&run, &second, remote_block_bytes[1], REMOTE_PHASE_BYTES);
    if (!error) {
        kprintf("# kept_few: %lu 64-byte blocks kept, then 256-byte blocks: held %lu bytes\n",
                (unsigned long)first.blocks, (unsigned long)heap_held_bytes());
        error = malloc_workload_batch_free(&run, &second);
    }
    if (!error)
        error = malloc_workload_batch_free(&run, &first);
    if (error)
        kprintf("# malloc_kept_few: the workload failed with error %d\n", error);
    report_series("malloc_kept_few_malloc", MALLOC_CALL_MALLOC, error, 0);
    report_footprint("malloc_kept_few_footprint", &run.result, error, 0);
    give_everything_back();
}

/* The job of the two-hart benchmarks: what hart 1 does (every other hart does nothing). */
static struct malloc_workload_run *hart1_run;
static struct malloc_batch *hart1_batch;
static uint32_t hart1_block_bytes;
static int hart1_error;

static void allocate_batch_on_hart1(void)
{
    if (hart_self() == 1)
        hart1_error = malloc_workload_batch_allocate(hart1_run, hart1_batch, hart1_block_bytes, REMOTE_PHASE_BYTES);
}

static void allocate_and_free_every_size_on_hart1(void)
{
    if (hart_self() == 1)
        hart1_error = malloc_workload_every_size(hart1_run, 1);
}

/* True with a second hart; else the benchmark is skipped (it measures nothing on one hart). */
static bool two_harts(void)
{
    if (hart_count() >= 2)
        return true;
    kbench_skip("needs two harts (-smp 2 or more)");
    return false;
}

KBENCH(malloc_remote, 0, 0)
{
    struct malloc_workload_run run;
    struct malloc_batch batch;
    if (!two_harts() || !start_pattern(&run))
        return;
    int error = 0;
    for (unsigned phase = 0; phase < 2 && !error; phase++) {
        /* Hart 1 allocates (no probe: hart 0's waiting would show in its counts), hart 0 frees. */
        run.probe = NULL;
        hart1_run = &run;
        hart1_batch = &batch;
        hart1_block_bytes = remote_block_bytes[phase];
        run_on_all_harts(allocate_batch_on_hart1);
        error = hart1_error;
        if (error)
            break;
        size_t held_live = heap_held_bytes();
        run.probe = &probe;
        error = malloc_workload_batch_free(&run, &batch);
        kprintf("# remote: phase %u, %lu-byte blocks: held %lu bytes with them live, %lu after hart 0 freed them\n",
                phase + 1, (unsigned long)remote_block_bytes[phase], (unsigned long)held_live,
                (unsigned long)heap_held_bytes());
    }
    if (error)
        kprintf("# malloc_remote: the workload failed with error %d\n", error);
    report_series("malloc_remote_free", MALLOC_CALL_FREE, error, 0);
    report_footprint("malloc_remote_footprint", &run.result, error, 0);
    kprintf("# remote: peak held %lu bytes, peak live %lu bytes\n", (unsigned long)run.result.peak_heap_span,
            (unsigned long)run.result.peak_live_bytes);
    give_everything_back();
}

KBENCH(malloc_idle_hart, 0, 0)
{
    struct malloc_workload_run run;
    if (!two_harts() || !start_pattern(&run))
        return;
    hart1_run = &run;
    run_on_all_harts(allocate_and_free_every_size_on_hart1);
    if (hart1_error) {
        kprintf("# malloc_idle_hart: the workload failed with error %d\n", hart1_error);
        kbench_fail("the every_size workload failed on hart 1");
        give_everything_back();
        return;
    }
    struct malloc_stats stats;
    size_t held_idle = heap_held_bytes();
    rvmem_malloc_stats(&stats);
    size_t cached_idle = stats.bytes_cached;
    rvmem_malloc_trim_all_harts();
    rvmem_malloc_stats(&stats);
    report_bytes("malloc_idle_hart_held", held_idle);
    report_bytes("malloc_idle_hart_held_after_trim", heap_held_bytes());
    kprintf("# idle_hart: %lu mallocs on hart 1, peak live %lu bytes, peak held %lu; bytes in hart caches %lu while "
            "idle, %lu after hart 0's trim\n",
            (unsigned long)run.result.mallocs, (unsigned long)run.result.peak_live_bytes,
            (unsigned long)run.result.peak_heap_span, (unsigned long)cached_idle, (unsigned long)stats.bytes_cached);
    give_everything_back();
}

KBENCH(malloc_regrow, 0, 0)
{
    struct malloc_workload_run run;
    if (!start_pattern(&run))
        return;
    run.probe = &probe;
    int error = malloc_workload_regrow(&run, REGROW_STEP_BYTES, REGROW_MAX_BYTES);
    if (error)
        kprintf("# malloc_regrow: the workload failed with error %d\n", error);
    report_series("malloc_regrow_realloc", MALLOC_CALL_REALLOC, error, 74763);
    report_footprint("malloc_regrow_footprint", &run.result, error, 1818);
    kprintf("# regrow: %lu reallocs, peak held %lu bytes, peak live %lu bytes\n", (unsigned long)run.result.reallocs,
            (unsigned long)run.result.peak_heap_span, (unsigned long)run.result.peak_live_bytes);
    give_everything_back();
}

#define INNER_BLOCKS 64
#define INNER_BLOCK_BYTES (256u << 10)
static void *inner_blocks[INNER_BLOCKS];

/*
 * Free pages inside the heap: 64 blocks of 256 KiB, all freed but the last, which holds the top
 * up; then a trim. malloc_inner_held_after_trim: what the heap holds after it (the pages inside
 * the freed chunk lent to the page allocator count as given back); malloc_inner_reclaim_malloc:
 * the next malloc of a block, which takes the pages of the chunk it is cut from back first.
 */
KBENCH(malloc_inner_pages, 0, 0)
{
    struct malloc_workload_run run;
    if (!start_pattern(&run))
        return;
    unsigned count = 0;
    while (count < INNER_BLOCKS && (inner_blocks[count] = rvmem_malloc(INNER_BLOCK_BYTES)) != NULL)
        count++;
    if (count < INNER_BLOCKS) {
        kbench_fail("cannot allocate the blocks");
        for (unsigned i = 0; i < count; i++)
            rvmem_free(inner_blocks[i]);
        give_everything_back();
        return;
    }
    size_t held_live = heap_held_bytes();
    for (unsigned i = 0; i + 1 < count; i++)
        rvmem_free(inner_blocks[i]);
    size_t held_freed = heap_held_bytes();
    rvmem_malloc_trim();
    size_t held_trimmed = heap_held_bytes();
    report_bytes("malloc_inner_held_after_trim", held_trimmed);
    uint64_t started = instructions_retired();
    void *again = rvmem_malloc(INNER_BLOCK_BYTES);
    uint64_t instructions = instructions_retired() - started;
    instructions = instructions > kbench_overhead() ? instructions - kbench_overhead() : 0;
    struct kbench_summary summary = {1, instructions * 100, instructions, instructions, instructions};
    kbench_report("malloc_inner_reclaim_malloc", &summary, "instructions", 0, 0);
    kprintf("# inner: %u blocks of %u bytes, the last live: held %lu bytes with them live, %lu after freeing "
            "the others, %lu after a trim, %lu after one more malloc\n",
            count, INNER_BLOCK_BYTES, (unsigned long)held_live, (unsigned long)held_freed, (unsigned long)held_trimmed,
            (unsigned long)heap_held_bytes());
    rvmem_free(again);
    rvmem_free(inner_blocks[count - 1]);
    give_everything_back();
}
