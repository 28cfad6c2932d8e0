/*
 * tests/lib/malloc_mode.c - the allocator's modes: lean mode (every new block from TLSF, at the
 * size asked) and the switch between the modes with blocks of both kinds live.
 *
 * Each test switches the calling hart's cache (rvmem_malloc_set_mode) and switches it back to fast
 * mode before it ends; the suite's leak check (as malloc's) sees the heap as it found it. A test
 * that fails before it switches back fails alone: the next ones switch to lean from either mode
 * (switching_with_live_blocks_of_both_kinds checks what the switch returns), and the leak check
 * switches back to fast for the suites after this one. The
 * random test runs the validator after every operation in checked builds. Lean mode's malloc and
 * free take a shorter way to TLSF than the fast mode's slow paths (malloc_api.c's
 * alloc_beyond_classes and free_slow): the last tests check that it keeps what those do.
 */
#include "kernel/base/misuse.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#ifdef RVMEM_CHECKED
#define LEAN_OPERATIONS 3000
#define LEAN_VALIDATE_EVERY 1
#else
#define LEAN_OPERATIONS 30000
#define LEAN_VALIDATE_EVERY 128
#endif
#define LEAN_SLOTS 128

static size_t in_use_before, span_before;

static void leak_mode_snapshot(void)
{
    struct malloc_stats stats;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&stats);
    in_use_before = stats.bytes_in_use;
    span_before = stats.heap_span_bytes;
}

static bool leak_mode_same(void)
{
    struct malloc_stats stats;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&stats);
    if (stats.bytes_in_use == in_use_before && stats.heap_span_bytes == span_before &&
        rvmem_malloc_mode() == MALLOC_MODE_FAST)
        return true;
    ktest_note("malloc_mode: %lu bytes in use before, %lu after; heap span %lu before, %lu after; mode %d",
               (unsigned long)in_use_before, (unsigned long)stats.bytes_in_use, (unsigned long)span_before,
               (unsigned long)stats.heap_span_bytes, (int)rvmem_malloc_mode());
    /* A test that failed before it switched back: the suites after this one run in fast mode. */
    rvmem_malloc_set_mode(MALLOC_MODE_FAST);
    return false;
}

KTEST_LEAK_CHECK(malloc_mode, leak_mode_snapshot, leak_mode_same);

static void fill(uint8_t *block, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        block[i] = (uint8_t)(seed + i * 13);
}

static bool intact(const uint8_t *block, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        if (block[i] != (uint8_t)(seed + i * 13))
            return false;
    return true;
}

/* Sizes on both sides of every boundary: classes of 16-byte steps, the 1/8 steps above 1 KiB, TLSF above 64 KiB. */
static const size_t mode_sizes[] = {1, 16, 100, 1008, 1100, 5000, 40000, 65536, 100000};
#define MODE_SIZES (sizeof mode_sizes / sizeof mode_sizes[0])

KTEST(malloc_mode, switching_with_live_blocks_of_both_kinds)
{
    uint8_t *fast[MODE_SIZES], *lean[MODE_SIZES];
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_FAST);
    for (unsigned i = 0; i < MODE_SIZES; i++) {
        fast[i] = rvmem_malloc(mode_sizes[i]);
        KASSERT_NOT_NULL(fast[i]);
        fill(fast[i], mode_sizes[i], (uint8_t)i);
    }
    struct malloc_stats before, after;
    rvmem_malloc_stats(&before);
    KASSERT_EQ(rvmem_malloc_set_mode(MALLOC_MODE_LEAN), MALLOC_MODE_FAST);
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_LEAN);
    KASSERT_EQ(rvmem_malloc_set_mode((enum malloc_mode)7), -22); /* -E_INVAL, nothing changed */
    KASSERT_EQ(rvmem_malloc_mode(), MALLOC_MODE_LEAN);
    for (unsigned i = 0; i < MODE_SIZES; i++) {
        lean[i] = rvmem_malloc(mode_sizes[i]);
        KASSERT_NOT_NULL(lean[i]);
        KASSERT_EQ((uintptr_t)lean[i] % MALLOC_ALIGNMENT, 0);
        /* A TLSF block of the size asked (16-byte steps, a small rest kept), not of its class (1/8
         * steps above 1 KiB: 1100 -> 1152, 5000 -> 5120, 40000 -> 40960). */
        KASSERT_GE(rvmem_malloc_usable_size(lean[i]), mode_sizes[i]);
        KASSERT_LT(rvmem_malloc_usable_size(lean[i]), mode_sizes[i] + 48);
        fill(lean[i], mode_sizes[i], (uint8_t)(100 + i));
    }
    rvmem_malloc_stats(&after);
    KASSERT_EQ(after.small_runs, before.small_runs); /* no class took a run */
    KASSERT_EQ(after.medium_blocks_in_use, before.medium_blocks_in_use + MODE_SIZES);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* The fast mode's class blocks, freed in lean mode, go back to their classes. */
    for (unsigned i = 0; i < MODE_SIZES; i++) {
        KASSERT(intact(fast[i], mode_sizes[i], (uint8_t)i));
        rvmem_free(fast[i]);
    }
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* aligned_alloc(32) in lean mode is 32-aligned too (the fast mode's classes are). */
    uint8_t *aligned = rvmem_aligned_alloc(32, 2048);
    KASSERT_NOT_NULL(aligned);
    KASSERT_EQ((uintptr_t)aligned % 32, 0);
    /* realloc of a lean block keeps its contents, in place or not. */
    lean[2] = rvmem_realloc(lean[2], 3000);
    KASSERT_NOT_NULL(lean[2]);
    KASSERT(intact(lean[2], mode_sizes[2], 102));
    fill(lean[2], 3000, 102);
    KASSERT_EQ(rvmem_malloc_set_mode(MALLOC_MODE_FAST), MALLOC_MODE_LEAN);
    rvmem_malloc_stats(&before);
    for (unsigned i = 0; i < MODE_SIZES; i++) {
        fast[i] = rvmem_malloc(mode_sizes[i]);
        KASSERT_NOT_NULL(fast[i]);
        fill(fast[i], mode_sizes[i], (uint8_t)i);
    }
    rvmem_malloc_stats(&after);
    /* Class blocks again: only the sizes above the classes (with the checked build's header, 65536
     * too) are TLSF blocks. */
    KASSERT_LE(after.medium_blocks_in_use, before.medium_blocks_in_use + 2);
    /* The lean blocks, freed in fast mode, go back to TLSF. */
    for (unsigned i = 0; i < MODE_SIZES; i++) {
        size_t size = i == 2 ? 3000 : mode_sizes[i];
        KASSERT(intact(lean[i], size, (uint8_t)(100 + i)));
        rvmem_free(lean[i]);
        KASSERT(intact(fast[i], mode_sizes[i], (uint8_t)i));
        rvmem_free(fast[i]);
    }
    rvmem_free(aligned);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

/* One live block of the random test. */
struct lean_slot {
    uint8_t *block;
    size_t size;
    uint8_t seed;
};

/* Mostly up to 1 KiB, some up to 64 KiB, a few above (TLSF in either mode). */
static size_t lean_random_size(uint64_t *random)
{
    uint64_t pick = malloc_test_random(random);
    unsigned kind = (unsigned)(pick % 100);
    pick >>= 8;
    if (kind < 70)
        return pick % 1025;
    if (kind < 97)
        return 1025 + pick % 64512;
    return 65537 + pick % 100000;
}

KTEST(malloc_mode, lean_random_operations_under_the_validator)
{
    static struct lean_slot slots[LEAN_SLOTS];
    uint64_t random = 0x2545f4914f6cdd1dull;
    KASSERT(rvmem_malloc_set_mode(MALLOC_MODE_LEAN) >= 0); /* from fast, unless a test before failed */
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t runs_before = stats.small_runs;
    for (unsigned step = 0; step < LEAN_OPERATIONS && !ktest_failed(); step++) {
        uint64_t pick = malloc_test_random(&random);
        struct lean_slot *slot = &slots[pick % LEAN_SLOTS];
        unsigned operation = (unsigned)((pick >> 32) % 8);
        if (slot->block) {
            KASSERT(intact(slot->block, slot->size, slot->seed));
            if (operation < 2) {
                size_t size = lean_random_size(&random) + 1;
                uint8_t *moved = rvmem_realloc(slot->block, size);
                KASSERT_NOT_NULL(moved);
                KASSERT(intact(moved, size < slot->size ? size : slot->size, slot->seed));
                slot->block = moved;
                slot->size = size;
                fill(moved, size, slot->seed);
            } else {
                rvmem_free(slot->block);
                slot->block = NULL;
            }
        } else {
            size_t size = lean_random_size(&random);
            slot->seed = (uint8_t)(pick >> 40);
            if (operation == 0) {
                slot->block = rvmem_calloc(1, size);
                KASSERT_NOT_NULL(slot->block);
                for (size_t i = 0; i < size; i++)
                    KASSERT_EQ(slot->block[i], 0);
            } else if (operation == 1) {
                size_t alignment = (size_t)32 << ((pick >> 48) % 8);
                slot->block = rvmem_aligned_alloc(alignment, size);
                KASSERT_NOT_NULL(slot->block);
                KASSERT_EQ((uintptr_t)slot->block % alignment, 0);
            } else {
                slot->block = rvmem_malloc(size);
                KASSERT_NOT_NULL(slot->block);
            }
            KASSERT_GE(rvmem_malloc_usable_size(slot->block), size);
            slot->size = size;
            fill(slot->block, size, slot->seed);
        }
        if (step % LEAN_VALIDATE_EVERY == 0)
            KASSERT_EQ(rvmem_malloc_validate(), 0);
    }
    rvmem_malloc_stats(&stats);
    KASSERT_LE(stats.small_runs, runs_before); /* every block came from TLSF: no class took a run */
    for (unsigned i = 0; i < LEAN_SLOTS; i++) {
        if (slots[i].block) {
            KASSERT(intact(slots[i].block, slots[i].size, slots[i].seed));
            rvmem_free(slots[i].block);
            slots[i].block = NULL;
        }
    }
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    KASSERT_EQ(rvmem_malloc_set_mode(MALLOC_MODE_FAST), MALLOC_MODE_LEAN);
    malloc_test_settle();
}

#define IDLE_PHASE_BYTES ((size_t)2 << 20)

static size_t heap_span(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    return stats.heap_span_bytes;
}

KTEST(malloc_mode, lean_blocks_take_an_idle_class_s_memory_before_the_heap_grows)
{
    malloc_test_settle();
    void **first = malloc_test_chain_allocate(64, 0x61, IDLE_PHASE_BYTES); /* class blocks, fast mode */
    KASSERT_NOT_NULL(first);
    malloc_test_chain_free(first);
    size_t span_after_first = heap_span();
    KASSERT(rvmem_malloc_set_mode(MALLOC_MODE_LEAN) >= 0); /* from fast, unless a test before failed */
    void **second = malloc_test_chain_allocate(512, 0x62, IDLE_PHASE_BYTES); /* TLSF blocks */
    KASSERT_NOT_NULL(second);
    /* The class's runs went back to TLSF before the heap grew: without them it grows by the
     * whole second phase. */
    KASSERT_LT(heap_span(), span_after_first + IDLE_PHASE_BYTES / 4);
    KASSERT(malloc_test_chain_intact(second, 512, 0x62));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(second);
    KASSERT_EQ(rvmem_malloc_set_mode(MALLOC_MODE_FAST), MALLOC_MODE_LEAN);
    malloc_test_settle();
}

static unsigned misuse_reports;
static struct misuse_report last_misuse;

static void count_misuse(const struct misuse_report *report)
{
    last_misuse = *report;
    misuse_reports++;
}

KTEST(malloc_mode, a_lean_block_freed_twice_is_reported)
{
    KASSERT(rvmem_malloc_set_mode(MALLOC_MODE_LEAN) >= 0); /* from fast, unless a test before failed */
    static const size_t sizes[] = {24, 1000, 40000};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *keep_before = rvmem_malloc(sizes[i]); /* neighbours stay allocated: no merge */
        uint8_t *block = rvmem_malloc(sizes[i]);
        uint8_t *keep_after = rvmem_malloc(sizes[i]);
        KASSERT(keep_before && block && keep_after);
        rvmem_free(block);
        misuse_reports = 0;
        misuse_hook previous = misuse_set_hook(count_misuse);
        rvmem_free(block);
        misuse_set_hook(previous);
        /* A double free (checked builds), or a pointer to no block in use (unchecked), at block. */
        KASSERT_EQ(misuse_reports, 1);
        KASSERT_EQ(last_misuse.address, (uintptr_t)block);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        rvmem_free(keep_before);
        rvmem_free(keep_after);
    }
    KASSERT_EQ(rvmem_malloc_set_mode(MALLOC_MODE_FAST), MALLOC_MODE_LEAN);
    malloc_test_settle();
}
