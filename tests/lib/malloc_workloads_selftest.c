/*
 * tests/lib/malloc_workloads_selftest.c - tests of the malloc workloads themselves.
 *
 * The workloads run over a small test allocator (a bump arena that resets when every block
 * is freed), so these tests need no real malloc: they check the call counts and peaks each
 * workload promises, that the sequence is deterministic, that a probe sees every call, and
 * that the workloads notice an allocator that returns NULL or hands out overlapping blocks.
 */
#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"
#include "tests/lib/malloc_workloads.h"

#define ARENA_BYTES (256 * 1024)

/* The bump arena and the workloads' slots: test arenas (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena arena_space = KTEST_ARENA(ARENA_BYTES, 16);
static struct ktest_arena slots_space = KTEST_ARENA(sizeof(struct malloc_slot) * MALLOC_WORKLOAD_MAX_SLOTS, 16);
static unsigned char *arena; /* arena_space's memory, set by new_run() */
static size_t arena_used;
static unsigned long arena_live;
static unsigned long fail_after; /* mallocs left before NULL (0: never fails) */
static bool hand_out_same_block;

static void arena_reset(void)
{
    arena_used = 0;
    arena_live = 0;
    fail_after = 0;
    hand_out_same_block = false;
}

static void *arena_malloc(size_t bytes)
{
    if (fail_after && --fail_after == 0)
        return NULL;
    if (hand_out_same_block) {
        arena_live++;
        return arena;
    }
    size_t rounded = (bytes + 15) & ~(size_t)15;
    if (rounded > ARENA_BYTES - arena_used)
        return NULL;
    void *block = arena + arena_used;
    arena_used += rounded;
    arena_live++;
    return block;
}

static void arena_free(void *block)
{
    KASSERT(block != NULL);
    KASSERT(arena_live > 0);
    if (--arena_live == 0)
        arena_used = 0;
}

static size_t arena_span(void)
{
    return arena_used;
}

/*
 * A new block of bytes holding the old one's first bytes bytes: the arena does not know the old
 * size, so it copies bytes (the old block lies lower in the arena, so the copy stays inside it;
 * what lies past the old size is whatever followed it, which the regrow workload overwrites).
 */
static void *arena_realloc(void *block, size_t bytes)
{
    unsigned char *moved = arena_malloc(bytes);
    if (moved == NULL)
        return NULL;
    memcpy(moved, block, bytes);
    arena_free(block);
    return moved;
}

static const struct malloc_table arena_table = {"test arena", arena_malloc, arena_free, arena_span, arena_realloc};

/* A fresh run over an empty arena; false when the test memory cannot be taken. */
static bool new_run(struct malloc_workload_run *run, const struct malloc_probe *probe)
{
    arena = ktest_arena_memory(&arena_space);
    struct malloc_slot *slots = ktest_arena_memory(&slots_space);
    if (arena == NULL || slots == NULL)
        return false;
    arena_reset();
    memset(arena, 0, ARENA_BYTES);
    *run =
        (struct malloc_workload_run){.table = &arena_table, .probe = probe, .sample_heap_span = true, .slots = slots};
    return true;
}

KTEST(malloc_workloads, pair_counts)
{
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_pair(&run), 0);
    KASSERT_EQ(run.result.mallocs, 5000);
    KASSERT_EQ(run.result.frees, 5000);
    KASSERT_EQ(run.result.peak_live_blocks, 1);
    KASSERT_EQ(run.result.peak_live_bytes, 32);
    KASSERT_EQ(run.result.live_blocks, 0);
    KASSERT_EQ(arena_live, 0);
}

KTEST(malloc_workloads, simple16_counts_and_peak)
{
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_simple16(&run), 0);
    KASSERT_EQ(run.result.mallocs, 4 * 3200);
    KASSERT_EQ(run.result.frees, 4 * 3200);
    KASSERT_EQ(run.result.peak_live_blocks, 1600);
    KASSERT_EQ(run.result.peak_live_bytes, 1600 * 16);
    KASSERT_EQ(run.result.peak_heap_span, 1600 * 16);
    KASSERT_EQ(arena_live, 0);
}

KTEST(malloc_workloads, sweep_one_size)
{
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_sweep_one(&run, 1024), 0);
    KASSERT_EQ(run.result.mallocs, 4 * 64);
    KASSERT_EQ(run.result.peak_live_bytes, 64 * 1024);
    KASSERT_EQ(malloc_workload_sweep_one(&run, 0), -E_INVAL);
}

/* A probe that counts what it sees, and checks before/after pair up. */
struct probe_tally {
    unsigned long befores, mallocs, frees;
    uint64_t malloc_bytes;
};

static void tally_before(void *context)
{
    ((struct probe_tally *)context)->befores++;
}

static void tally_after(void *context, enum malloc_call call, size_t bytes, uint64_t instructions)
{
    struct probe_tally *tally = context;
    (void)instructions;
    if (call == MALLOC_CALL_MALLOC) {
        tally->mallocs++;
        tally->malloc_bytes += bytes;
    } else {
        tally->frees++;
    }
}

KTEST(malloc_workloads, probe_sees_every_call)
{
    struct probe_tally tally = {0};
    const struct malloc_probe probe = {&tally, tally_before, tally_after};
    struct malloc_workload_run run;
    KASSERT(new_run(&run, &probe));
    KASSERT_EQ(malloc_workload_simple16(&run), 0);
    KASSERT_EQ(tally.mallocs, run.result.mallocs);
    KASSERT_EQ(tally.frees, run.result.frees);
    KASSERT_EQ(tally.befores, tally.mallocs + tally.frees);
    KASSERT_EQ(tally.malloc_bytes, run.result.requested_bytes);
}

KTEST(malloc_workloads, larson_is_deterministic)
{
    /* The arena is too small for larson: it fails the same way, at the same call, twice. */
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_larson(&run), -E_NOMEM);
    uint64_t first_mallocs = run.result.mallocs, first_bytes = run.result.requested_bytes;
    KASSERT(first_mallocs > 100);
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_larson(&run), -E_NOMEM);
    KASSERT_EQ(run.result.mallocs, first_mallocs);
    KASSERT_EQ(run.result.requested_bytes, first_bytes);
}

KTEST(malloc_workloads, null_frees_everything)
{
    static const char *const names[] = {"pair", "simple16", "larson", "zstress", "sweep"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct malloc_workload_run run;
        KASSERT(new_run(&run, NULL));
        fail_after = 50;
        malloc_workload_fn workload = malloc_workload_by_name(names[i]);
        KASSERT(workload != NULL);
        KASSERT_EQ(workload(&run), -E_NOMEM);
        KASSERT_EQ(run.result.mallocs, 49);
        KASSERT_EQ(run.result.live_blocks, 0);
        KASSERT_EQ(arena_live, 0);
    }
    KASSERT(malloc_workload_by_name("nonsense") == NULL);
}

KTEST(malloc_workloads, overlapping_blocks_detected)
{
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    hand_out_same_block = true;
    KASSERT_EQ(malloc_workload_simple16(&run), -E_BADDATA);
}

KTEST(malloc_workloads, fill_blocks_writes_every_byte)
{
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_sweep_one(&run, 64), 0);
    KASSERT_EQ(arena[30], 0); /* markers only: the middle of the first block is untouched */
    KASSERT(new_run(&run, NULL));
    run.fill_blocks = true;
    KASSERT_EQ(malloc_workload_sweep_one(&run, 64), 0);
    KASSERT_EQ(arena[30], arena[0]); /* the whole block holds its marker */
    KASSERT_NE(arena[30], 0);
}

KTEST(malloc_workloads, phases_counts)
{
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_phase_size_count, 16);
    KASSERT_EQ(malloc_workload_phases(&run, 4096), 0);
    uint64_t blocks = 0;
    for (unsigned i = 0; i < malloc_phase_size_count; i++)
        blocks += malloc_phase_sizes[i] <= 4096 ? 4096 / malloc_phase_sizes[i] : 1;
    KASSERT_EQ(run.result.mallocs, blocks);
    KASSERT_EQ(run.result.frees, blocks);
    KASSERT_EQ(run.result.live_blocks, 0);
    KASSERT_EQ(run.result.peak_live_bytes, 262144); /* the one block of the last phase */
    KASSERT_EQ(arena_live, 0);
}

KTEST(malloc_workloads, batch_writes_every_byte_and_frees_in_order)
{
    struct malloc_workload_run run;
    struct malloc_batch batch;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_batch_allocate(&run, &batch, 48, 48 * 10 + 47), 0);
    KASSERT_EQ(batch.blocks, 10);
    KASSERT(batch.first == arena);
    KASSERT_EQ(arena[30], arena[47]); /* past the link, the whole first block holds its marker */
    KASSERT_NE(arena[47], arena[48 + 47]);
    KASSERT_EQ(run.result.live_bytes, 480);
    KASSERT_EQ(malloc_workload_batch_free(&run, &batch), 0);
    KASSERT_EQ(batch.blocks, 0);
    KASSERT_EQ(run.result.frees, 10);
    KASSERT_EQ(arena_live, 0);
    /* A block too small for its link and marker (two pointers) is refused, on rv32 and rv64. */
    KASSERT_EQ(malloc_workload_batch_allocate(&run, &batch, 2 * sizeof(void *) - 1, 64), -E_INVAL);
    KASSERT_EQ(malloc_workload_batch_allocate(&run, &batch, 2 * sizeof(void *), 64), 0);
    KASSERT_EQ(malloc_workload_batch_free(&run, &batch), 0);
}

KTEST(malloc_workloads, batch_detects_overlap_and_null)
{
    struct malloc_workload_run run;
    struct malloc_batch batch;
    KASSERT(new_run(&run, NULL));
    hand_out_same_block = true;
    KASSERT_EQ(malloc_workload_batch_allocate(&run, &batch, 64, 64 * 4), 0);
    KASSERT_EQ(malloc_workload_batch_free(&run, &batch), -E_BADDATA);
    KASSERT(new_run(&run, NULL));
    fail_after = 6;
    KASSERT_EQ(malloc_workload_batch_allocate(&run, &batch, 64, 64 * 100), -E_NOMEM);
    KASSERT_EQ(run.result.mallocs, 5);
    KASSERT_EQ(run.result.live_blocks, 0);
    KASSERT_EQ(arena_live, 0);
}

KTEST(malloc_workloads, every_size_covers_up_to_64KiB)
{
    KASSERT_EQ(malloc_every_size_count, 112);
    KASSERT_EQ(malloc_every_size_bytes(0), 16);
    KASSERT_EQ(malloc_every_size_bytes(63), 1024);
    KASSERT_EQ(malloc_every_size_bytes(64), 1152);
    KASSERT_EQ(malloc_every_size_bytes(111), 65536);
    KASSERT_EQ(malloc_every_size_blocks(16), 4096);
    KASSERT_EQ(malloc_every_size_blocks(65536), 4);
    for (unsigned i = 1; i < malloc_every_size_count; i++)
        KASSERT(malloc_every_size_bytes(i) > malloc_every_size_bytes(i - 1));
    /* The arena holds 256 KiB, so one size at a time fits and every block comes back. */
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    KASSERT_EQ(malloc_workload_every_size(&run, 1), 0);
    uint64_t blocks = 0;
    for (unsigned i = 0; i < malloc_every_size_count; i++)
        blocks += malloc_every_size_blocks(malloc_every_size_bytes(i));
    KASSERT_EQ(run.result.mallocs, blocks);
    KASSERT_EQ(run.result.frees, blocks);
    KASSERT_EQ(arena_live, 0);
}

KTEST(malloc_workloads, regrow_grows_both_and_checks_the_copy)
{
    struct probe_tally tally = {0};
    const struct malloc_probe probe = {&tally, tally_before, tally_after};
    struct malloc_workload_run run;
    KASSERT(new_run(&run, &probe));
    KASSERT_EQ(malloc_workload_regrow(&run, 1024, 8192 + 512), 0);
    KASSERT_EQ(run.result.mallocs, 2);
    KASSERT_EQ(run.result.reallocs, 2 * 8); /* 1024 -> 2048 ... 8192 -> 8704 */
    KASSERT_EQ(run.result.frees, 2);
    KASSERT_EQ(run.result.peak_live_bytes, 2 * (8192 + 512));
    KASSERT_EQ(tally.befores, 2 + 16 + 2);
    KASSERT_EQ(arena_live, 0);
    KASSERT_EQ(malloc_workload_regrow(&run, 0, 8192), -E_INVAL);
    KASSERT_EQ(malloc_workload_regrow(&run, 8192, 4096), -E_INVAL);
}

/* A realloc that loses the old contents: the regrow workload must notice. */
static void *forgetful_realloc(void *block, size_t bytes)
{
    unsigned char *moved = arena_realloc(block, bytes);
    if (moved)
        moved[0] ^= 0xFF;
    return moved;
}

KTEST(malloc_workloads, regrow_detects_a_lost_copy)
{
    const struct malloc_table forgetful = {"forgetful", arena_malloc, arena_free, arena_span, forgetful_realloc};
    struct malloc_workload_run run;
    KASSERT(new_run(&run, NULL));
    run.table = &forgetful;
    KASSERT_EQ(malloc_workload_regrow(&run, 1024, 4096), -E_BADDATA);
}
