/*
 * tests/lib/malloc_smp.c - malloc on every hart at once: per-hart shadow stress plus blocks handed
 * from hart to hart and freed there (cross-hart frees), with each hart now and then trimming (its
 * cache flushed, the runs whose blocks are all free given back to TLSF and reused by other classes
 * and large blocks, the heap's top given back) while the others allocate and free into the same
 * classes; then everything given back.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"
#include "tests/lib/malloc_test_support.h"

#define SMP_HARTS_MAX 64
#define SLOTS_PER_HART 48
#ifdef RVMEM_CHECKED
#define OPERATIONS_PER_HART 600
#else
#define OPERATIONS_PER_HART 8000
#endif
/* Each hart trims once every this many operations, the harts at different steps. */
#define TRIM_EVERY 500

struct handoff {
    uint8_t *block; /* a block another hart filled: byte i is (seed + i) with seed in byte 0 */
    size_t size;
};

static struct handoff *mailboxes[SMP_HARTS_MAX]; /* one pending handoff per receiving hart */
static struct handoff handoff_storage[SMP_HARTS_MAX][2];

struct smp_slot {
    uint8_t *block;
    size_t size;
    uint8_t seed;
};
/* [hart][slot]: a test arena (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena slots_space = KTEST_ARENA(sizeof(struct smp_slot) * SMP_HARTS_MAX * SLOTS_PER_HART, 16);

static bool pattern_intact(const uint8_t *block, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        if (block[i] != (uint8_t)(seed + i))
            return false;
    return true;
}

static void put_pattern(uint8_t *block, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        block[i] = (uint8_t)(seed + i);
}

/* Takes the handoff waiting for this hart, checks and frees it (the block came from another hart). */
static void receive(unsigned hart)
{
    struct handoff *handoff = __atomic_exchange_n(&mailboxes[hart], NULL, __ATOMIC_ACQUIRE);
    if (!handoff)
        return;
    KASSERT(pattern_intact(handoff->block, handoff->size, handoff->block[0]));
    rvmem_free(handoff->block);
    handoff->block = NULL;
    __atomic_store_n(&handoff->size, 0, __ATOMIC_RELEASE);
}

/* One hart's share of the stress; a failed assertion returns here, so the barriers are still reached. */
static void stress_on_this_hart(struct smp_slot (*slots)[SLOTS_PER_HART], unsigned hart, unsigned harts)
{
    uint64_t random = 0x1234567ull * (hart + 1);
    unsigned next_handoff = 0;
    for (unsigned step = 0; step < OPERATIONS_PER_HART && !ktest_failed(); step++) {
        uint64_t pick = malloc_test_random(&random);
        struct smp_slot *slot = &slots[hart][pick % SLOTS_PER_HART];
        if (slot->block) {
            KASSERT(pattern_intact(slot->block, slot->size, slot->seed));
            rvmem_free(slot->block);
            slot->block = NULL;
        } else {
            slot->size = (pick >> 8) % 8 == 0 ? 1025 + (pick >> 16) % 8000 : (pick >> 16) % 600;
            slot->seed = (uint8_t)(pick >> 40);
            slot->block = rvmem_malloc(slot->size);
            KASSERT_NOT_NULL(slot->block);
            KASSERT_EQ((uintptr_t)slot->block % MALLOC_ALIGNMENT, 0);
            put_pattern(slot->block, slot->size, slot->seed);
        }
        if (step % 8 == 0 && harts > 1) {
            /* Hand a fresh block to the next hart, which frees it on its own cache. */
            struct handoff *handoff = &handoff_storage[hart][next_handoff];
            if (__atomic_load_n(&handoff->size, __ATOMIC_ACQUIRE) == 0) {
                size_t size = 16 + (pick >> 24) % 900;
                uint8_t *block = rvmem_malloc(size);
                KASSERT_NOT_NULL(block);
                put_pattern(block, size, block[0] = (uint8_t)step);
                handoff->block = block;
                handoff->size = size;
                struct handoff *expected = NULL;
                if (!__atomic_compare_exchange_n(&mailboxes[(hart + 1) % harts], &expected, handoff, false,
                                                 __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
                    rvmem_free(block);
                    handoff->block = NULL;
                    handoff->size = 0;
                }
                next_handoff ^= 1;
            }
        }
        receive(hart);
        if (step % TRIM_EVERY == (hart * TRIM_EVERY / 8) % TRIM_EVERY)
            rvmem_malloc_trim(); /* runs emptied and given back while the other harts use their classes */
#ifdef RVMEM_CHECKED
        KASSERT_EQ(rvmem_malloc_validate(), 0);
#endif
    }
}

static size_t runs_before_lean_stress;

/*
 * The stress on every hart at once, each hart's cache in mode (rvmem_malloc_set_mode: each hart
 * switches its own; back to fast at the end), then everything given back and checked. In lean
 * mode no class takes a run while it runs: every block comes from TLSF, under its one lock.
 */
static void stress_every_hart(enum malloc_mode mode)
{
    unsigned hart = ktest_hart_index(), harts = ktest_hart_count();
    if (harts > SMP_HARTS_MAX)
        harts = SMP_HARTS_MAX;
    struct smp_slot(*slots)[SLOTS_PER_HART] = ktest_arena_memory(&slots_space);
    KASSERT_NOT_NULL(slots);
    rvmem_malloc_set_mode(mode);
    if (hart == 0) {
        struct malloc_stats stats;
        rvmem_malloc_stats(&stats);
        runs_before_lean_stress = stats.small_runs;
    }
    ktest_barrier(); /* every hart in mode before any allocates */
    if (hart < harts)
        stress_on_this_hart(slots, hart, harts);
    for (unsigned i = 0; hart < harts && i < SLOTS_PER_HART; i++) {
        if (slots[hart][i].block) {
            rvmem_free(slots[hart][i].block);
            slots[hart][i].block = NULL;
        }
    }
    ktest_barrier(); /* nobody hands anything on any more */
    if (hart < harts)
        receive(hart);
    rvmem_malloc_flush_cache();
    ktest_barrier();
    if (hart == 0) {
        for (unsigned other = 0; other < harts; other++)
            for (unsigned i = 0; i < 2; i++)
                KASSERT_EQ(handoff_storage[other][i].size, 0);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        struct malloc_stats stats;
        rvmem_malloc_stats(&stats);
        KASSERT_EQ(stats.bytes_cached, 0);
        if (mode == MALLOC_MODE_LEAN)
            KASSERT_LE(stats.small_runs, runs_before_lean_stress);
    }
    rvmem_malloc_set_mode(MALLOC_MODE_FAST);
    ktest_barrier(); /* every hart back in fast mode before the heap is settled */
    if (hart == 0)
        malloc_test_settle();
}

KTEST_SMP(malloc_smp, stress_with_cross_hart_frees)
{
    stress_every_hart(MALLOC_MODE_FAST);
}

KTEST_SMP(malloc_smp, stress_with_cross_hart_frees_in_lean_mode)
{
    stress_every_hart(MALLOC_MODE_LEAN);
}
