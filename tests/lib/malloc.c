/*
 * tests/lib/malloc.c - the malloc family: C semantics, a shadow-model random stress, statistics,
 * trim, the validator, and a leak check after every suite.
 *
 * The stress keeps a shadow of every live block (size, alignment, fill pattern) and checks after
 * every operation: no overlap with any other live block, alignment, usable size >= request,
 * contents kept (realloc included), calloc zeroed. Checked builds run the validator after every
 * operation (and fewer operations, since that is O(heap)).
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h" /* the validator tests break the state on purpose */
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#ifdef RVMEM_CHECKED
#define STRESS_OPERATIONS 3000
#define VALIDATE_EVERY 1
#else
#define STRESS_OPERATIONS 30000
#define VALIDATE_EVERY 256
#endif

/* Each factor fits a size_t, their product does not (rv32 and rv64 alike). */
#define HALF_WIDTH_PLUS_ONE ((size_t)1 << (sizeof(size_t) * 4 + 1))

/* Leak check: every suite gives back what it took (bytes in use and heap span, after a trim). */
static size_t in_use_before, span_before;

static void leak_malloc_snapshot(void)
{
    struct malloc_stats stats;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&stats);
    in_use_before = stats.bytes_in_use;
    span_before = stats.heap_span_bytes;
}

static bool leak_malloc_same(void)
{
    struct malloc_stats stats;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&stats);
    if (stats.bytes_in_use == in_use_before && stats.heap_span_bytes == span_before)
        return true;
    ktest_note("malloc: %lu bytes in use before, %lu after; heap span %lu before, %lu after",
               (unsigned long)in_use_before, (unsigned long)stats.bytes_in_use, (unsigned long)span_before,
               (unsigned long)stats.heap_span_bytes);
    return false;
}

KTEST_LEAK_CHECK(malloc, leak_malloc_snapshot, leak_malloc_same);

static void fill(uint8_t *block, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        block[i] = (uint8_t)(seed + i * 7);
}

/* Index of the first byte that differs from the pattern, or size when all match. */
static size_t first_mismatch(const uint8_t *block, size_t size, uint8_t seed)
{
    for (size_t i = 0; i < size; i++)
        if (block[i] != (uint8_t)(seed + i * 7))
            return i;
    return size;
}

KTEST(malloc, zero_bytes_and_null)
{
    void *a = rvmem_malloc(0);
    void *b = rvmem_malloc(0);
    KASSERT_NOT_NULL(a);
    KASSERT_NOT_NULL(b);
    KASSERT_NE(a, b);
    rvmem_free(a);
    rvmem_free(b);
    rvmem_free(NULL);
    KASSERT_EQ(rvmem_malloc_usable_size(NULL), 0);
    malloc_test_settle();
}

KTEST(malloc, every_size_is_aligned_and_usable)
{
    static void *blocks[600];
    unsigned count = 0;
    for (size_t size = 1; size <= 20000; size += size < 1100 ? 1 : 997) {
        uint8_t *block = rvmem_malloc(size);
        KASSERT_NOT_NULL(block);
        KASSERT_EQ((uintptr_t)block % MALLOC_ALIGNMENT, 0);
        KASSERT_GE(rvmem_malloc_usable_size(block), size);
        memset(block, 0x5a, size);
        rvmem_free(block);
        if (count < 600 && size % 3 == 0)
            blocks[count++] = rvmem_malloc(size);
    }
    for (unsigned i = 0; i < count; i++) {
        KASSERT_NOT_NULL(blocks[i]);
        rvmem_free(blocks[i]);
    }
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, calloc_zeroes_and_checks_overflow)
{
    uint8_t *dirty = rvmem_malloc(4000);
    KASSERT_NOT_NULL(dirty);
    memset(dirty, 0xff, 4000);
    rvmem_free(dirty);
    uint8_t *small = rvmem_malloc(48);
    KASSERT_NOT_NULL(small);
    memset(small, 0xff, 48);
    rvmem_free(small);
    uint8_t *zeroed = rvmem_calloc(1000, 4);
    KASSERT_NOT_NULL(zeroed);
    for (unsigned i = 0; i < 4000; i++)
        KASSERT_EQ(zeroed[i], 0);
    uint8_t *zeroed_small = rvmem_calloc(3, 16);
    KASSERT_NOT_NULL(zeroed_small);
    for (unsigned i = 0; i < 48; i++)
        KASSERT_EQ(zeroed_small[i], 0);
    KASSERT_NULL(rvmem_calloc(HALF_WIDTH_PLUS_ONE, HALF_WIDTH_PLUS_ONE));
    KASSERT_NULL(rvmem_calloc(SIZE_MAX, 2));
    rvmem_free(zeroed);
    rvmem_free(zeroed_small);
    malloc_test_settle();
}

KTEST(malloc, huge_requests_fail_cleanly)
{
    KASSERT_NULL(rvmem_malloc(SIZE_MAX));
    KASSERT_NULL(rvmem_malloc(SIZE_MAX - 64));
    KASSERT_NULL(rvmem_malloc(SIZE_MAX / 2) /* more than any RAM, rv32 included */);
    KASSERT_NULL(rvmem_aligned_alloc(4096, SIZE_MAX - 4096));
    void *block = rvmem_malloc(100);
    KASSERT_NOT_NULL(block);
    KASSERT_NULL(rvmem_realloc(block, SIZE_MAX / 2));
    rvmem_free(block);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, realloc_keeps_contents)
{
    KASSERT_NULL(rvmem_realloc(rvmem_malloc(10), 0));
    uint8_t *block = rvmem_realloc(NULL, 20);
    KASSERT_NOT_NULL(block);
    fill(block, 20, 3);
    static const size_t sizes[] = {40, 1000, 1024, 1025, 5000, 70000, 3000, 100, 17, 200000, 1};
    size_t size = 20;
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        block = rvmem_realloc(block, sizes[i]);
        KASSERT_NOT_NULL(block);
        size_t kept = size < sizes[i] ? size : sizes[i];
        KASSERT_EQ(first_mismatch(block, kept, 3), kept);
        size = sizes[i];
        fill(block, size, 3);
        KASSERT_GE(rvmem_malloc_usable_size(block), size);
    }
    rvmem_free(block);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, medium_sizes_come_from_classes_and_the_hart_cache)
{
    rvmem_malloc_flush_cache();
    struct malloc_stats before, cached, flushed;
    rvmem_malloc_stats(&before);
    uint8_t *block = rvmem_malloc(3000);
    KASSERT_NOT_NULL(block);
    size_t usable = rvmem_malloc_usable_size(block);
    KASSERT_GE(usable, 3000);
#ifndef RVMEM_CHECKED
    KASSERT_EQ(usable, 3072); /* the class of 3072 bytes (8 per power of two above 1 KiB) */
#endif
    rvmem_free(block);
    rvmem_malloc_stats(&cached);
    KASSERT_GT(cached.bytes_cached, before.bytes_cached); /* kept by this hart, not in use */
    KASSERT_EQ(cached.bytes_in_use, before.bytes_in_use);
    KASSERT_EQ(cached.medium_blocks_in_use, before.medium_blocks_in_use); /* no TLSF block */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* Any request of the same class gets it back from the hart's cache. */
    uint8_t *again = rvmem_malloc(2990);
    KASSERT_PTR_EQ(again, block);
#ifndef RVMEM_CHECKED
    KASSERT_EQ(rvmem_malloc_usable_size(again), usable); /* (the checked build reports the requested size) */
#endif
    rvmem_free(again);
    rvmem_malloc_flush_cache();
    rvmem_malloc_stats(&flushed);
    KASSERT_EQ(flushed.bytes_cached, before.bytes_cached);
    KASSERT_EQ(flushed.bytes_in_use, before.bytes_in_use);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, class_sizes_and_their_runs)
{
    /* Every size up to 64 KiB gets a class at most 1/8 (16 bytes below 1 KiB) bigger. */
    for (size_t size = 1; size <= MALLOC_CLASS_MAX_BYTES; size += size < 2048 ? 1 : 29) {
        void *block = rvmem_malloc(size);
        KASSERT_NOT_NULL(block);
        size_t usable = rvmem_malloc_usable_size(block);
        KASSERT_GE(usable, size);
#ifndef RVMEM_CHECKED
        size_t slack = size <= MALLOC_SMALL_MAX_BYTES ? 15 : (size - 1) / 8;
        KASSERT_LE(usable - size, slack);
#endif
        rvmem_free(block);
    }
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.classes[MALLOC_SMALL_CLASSES - 1].block_bytes, MALLOC_CLASS_MAX_BYTES);
    KASSERT_EQ(stats.classes[MALLOC_SMALL_MAX_BYTES / 16].block_bytes, 1024);
    /* The compile-time step table (and every cache's copy of it) names the smallest class each size fits. */
    for (size_t size = 1; size <= MALLOC_CLASS_MAX_BYTES; size++) {
        unsigned class_index = small_class_of(size);
        KASSERT_LT(class_index, MALLOC_SMALL_CLASSES);
        KASSERT_GE(small_class_bytes(class_index), size);
        if (class_index > 0)
            KASSERT_LT(small_class_bytes(class_index - 1), size);
    }
    for (size_t step = 0; step < MALLOC_CLASS_STEPS; step++)
        KASSERT_EQ(malloc_cache_self()->entry_of_step[step], malloc_entry_of_step[step]);
    /* Runs: 4 KiB up to 256 B, 8 KiB below 1 KiB; from 1 KiB up at least 24 blocks (8 above 16 KiB), whole pages. */
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++) {
        size_t bytes = small_class_bytes(class_index), run_bytes = small_run_bytes(class_index);
        KASSERT_EQ(run_bytes % PAGE_SIZE, 0);
        KASSERT_LE(run_bytes / PAGE_SIZE, SMALL_RUN_MAX_PAGES);
        if (bytes < 1024)
            KASSERT_EQ(run_bytes, bytes <= 256 ? 4096 : 8192);
        else
            KASSERT_GE((run_bytes - SMALL_RUN_HEADER_BYTES) / bytes, bytes <= 16384 ? 24 : 8);
        /* A run's size follows from its capacity (small_run_size): the least pages for its blocks. */
        struct small_run shape = {.class_index = (uint16_t)class_index};
        shape.capacity = (uint16_t)((run_bytes - SMALL_RUN_HEADER_BYTES) / bytes);
        KASSERT_EQ(small_run_size(&shape), run_bytes);
        /* Short runs from 1 KiB up: the least whole pages for 24 blocks (8 above 16 KiB), then for
         * half as many; none below. */
        for (unsigned size = 0; size < MALLOC_SHORT_RUN_SIZES; size++) {
            size_t short_bytes = small_short_run_bytes(class_index, size);
            if (bytes < 1024) {
                KASSERT_EQ(short_bytes, 0);
                continue;
            }
            KASSERT_EQ(short_bytes % PAGE_SIZE, 0);
            KASSERT_LT(short_bytes, run_bytes + (size == 0)); /* the larger may be the usual size */
            KASSERT_GE(short_bytes * 4, run_bytes);           /* SMALL_SHORT_RUNS_ABOVE_BYTES's promise */
            KASSERT_GT(run_bytes, SMALL_SHORT_RUNS_ABOVE_BYTES);
            shape.capacity = (uint16_t)((short_bytes - SMALL_RUN_HEADER_BYTES) / bytes);
            KASSERT_GE(shape.capacity, (bytes <= 16384 ? 24u : 8u) >> size);
            KASSERT_EQ(small_run_size(&shape), short_bytes);
        }
        /* Magazines: 8 KiB's worth below 1 KiB (8 to 64 blocks), 128 KiB's worth up to 16 KiB (8 to 32), 2 above. */
        size_t limit = small_cache_limit(class_index), worth = bytes < 1024 ? 8192 : 131072;
        size_t least = bytes <= 16384 ? 8 : 2, most = bytes < 1024 ? 64 : bytes <= 16384 ? 32 : 2;
        KASSERT(limit >= least && limit <= most);
        KASSERT(limit == least || limit == most || limit == worth / bytes);
    }
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, realloc_grows_large_blocks_in_place)
{
    uint8_t *block = rvmem_malloc(80000);
    uint8_t *neighbour = rvmem_malloc(100000);
    uint8_t *guard = rvmem_malloc(80000);
    KASSERT_NOT_NULL(block);
    KASSERT_NOT_NULL(neighbour);
    KASSERT_NOT_NULL(guard);
    fill(block, 80000, 9);
    rvmem_free(neighbour);
    uint8_t *grown = rvmem_realloc(block, 150000);
    KASSERT_NOT_NULL(grown);
#ifndef RVMEM_CHECKED
    KASSERT_PTR_EQ(grown, block); /* the free neighbour was absorbed (checked realloc always moves) */
#endif
    KASSERT_EQ(first_mismatch(grown, 80000, 9), 80000);
    rvmem_free(grown);
    rvmem_free(guard);
    malloc_test_settle();
}

KTEST(malloc, aligned_variants)
{
    for (size_t alignment = 1; alignment <= 65536; alignment <<= 1) {
        static const size_t sizes[] = {0, 1, 24, 100, 1000, 1024, 5000, 40000};
        for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint8_t *block = rvmem_aligned_alloc(alignment, sizes[i]);
            KASSERT_NOT_NULL(block);
            KASSERT_EQ((uintptr_t)block % alignment, 0);
            KASSERT_EQ((uintptr_t)block % MALLOC_ALIGNMENT, 0);
            KASSERT_GE(rvmem_malloc_usable_size(block), sizes[i]);
            memset(block, 0x77, sizes[i]);
            void *other = rvmem_memalign(alignment, sizes[i] + 8);
            KASSERT_NOT_NULL(other);
            KASSERT_EQ((uintptr_t)other % alignment, 0);
            void *posix = NULL;
            KASSERT_EQ(rvmem_posix_memalign(&posix, alignment < sizeof(void *) ? sizeof(void *) : alignment, 64), 0);
            KASSERT_NOT_NULL(posix);
            KASSERT_EQ((uintptr_t)posix % alignment, 0);
            rvmem_free(block);
            rvmem_free(other);
            rvmem_free(posix);
        }
    }
    void *untouched = (void *)0x1234;
    KASSERT_EQ(rvmem_posix_memalign(&untouched, 24, 10), 22);
    KASSERT_EQ(rvmem_posix_memalign(&untouched, 2, 10), 22);
    KASSERT_PTR_EQ(untouched, (void *)0x1234);
    KASSERT_NULL(rvmem_aligned_alloc(24, 10));
    KASSERT_NULL(rvmem_aligned_alloc(0, 10));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

/* One live block of the shadow model. */
struct shadow {
    uint8_t *block;
    size_t size;
    size_t alignment;
    uint8_t seed;
};

/* A size skewed small: mostly <= 1 KiB, some medium, a few large. */
static size_t random_size(uint64_t *random)
{
    uint64_t pick = malloc_test_random(random);
    unsigned kind = pick % 100;
    pick >>= 8;
    if (kind < 75)
        return pick % 1025;
    if (kind < 97)
        return 1025 + pick % 16000;
#ifdef RVMEM_CHECKED
    return 17000 + pick % 30000;
#else
    return 17000 + pick % 300000;
#endif
}

/* Checks a new block against the shadow: aligned, big enough, overlapping no live block. */
static void check_new_block(const struct shadow *slots, unsigned count, unsigned index)
{
    const struct shadow *fresh = &slots[index];
    KASSERT_EQ((uintptr_t)fresh->block % fresh->alignment, 0);
    KASSERT_GE(rvmem_malloc_usable_size(fresh->block), fresh->size);
    uintptr_t start = (uintptr_t)fresh->block, end = start + (fresh->size ? fresh->size : 1);
    for (unsigned i = 0; i < count; i++) {
        if (i == index || !slots[i].block)
            continue;
        uintptr_t other_start = (uintptr_t)slots[i].block;
        uintptr_t other_end = other_start + (slots[i].size ? slots[i].size : 1);
        KASSERT(end <= other_start || other_end <= start);
    }
}

/* Runs operations random operations over count shadow slots; frees everything at the end. */
static void shadow_stress(struct shadow *slots, unsigned count, unsigned operations, uint64_t seed)
{
    uint64_t random = seed;
    for (unsigned step = 0; step < operations && !ktest_failed(); step++) {
        uint64_t pick = malloc_test_random(&random);
        unsigned index = (unsigned)(pick % count);
        unsigned operation = (unsigned)((pick >> 32) % 10);
        struct shadow *slot = &slots[index];
        if (slot->block && operation >= 6) {
            KASSERT_EQ(first_mismatch(slot->block, slot->size, slot->seed), slot->size);
            if (operation == 6) {
                size_t size = random_size(&random);
                uint8_t *moved = rvmem_realloc(slot->block, size);
                if (size == 0) {
                    KASSERT_NULL(moved);
                    slot->block = NULL;
                    continue;
                }
                KASSERT_NOT_NULL(moved);
                size_t kept = size < slot->size ? size : slot->size;
                KASSERT_EQ(first_mismatch(moved, kept, slot->seed), kept);
                slot->block = moved;
                slot->size = size;
                slot->alignment = MALLOC_ALIGNMENT;
                check_new_block(slots, count, index);
                fill(slot->block, size, slot->seed);
            } else {
                rvmem_free(slot->block);
                slot->block = NULL;
            }
        } else if (!slot->block) {
            size_t size = random_size(&random);
            slot->alignment = MALLOC_ALIGNMENT;
            slot->seed = (uint8_t)(pick >> 40);
            if (operation == 0) {
                slot->block = rvmem_calloc(1, size);
                KASSERT_NOT_NULL(slot->block);
                for (size_t i = 0; i < size; i++)
                    KASSERT_EQ(slot->block[i], 0);
            } else if (operation == 1) {
                slot->alignment = (size_t)1 << (4 + (pick >> 48) % 10);
                slot->block = rvmem_aligned_alloc(slot->alignment, size);
            } else {
                slot->block = rvmem_malloc(size);
            }
            KASSERT_NOT_NULL(slot->block);
            slot->size = size;
            check_new_block(slots, count, index);
            fill(slot->block, size, slot->seed);
        }
        if (step % VALIDATE_EVERY == 0)
            KASSERT_EQ(rvmem_malloc_validate(), 0);
    }
    for (unsigned i = 0; i < count; i++) {
        if (slots[i].block) {
            KASSERT_EQ(first_mismatch(slots[i].block, slots[i].size, slots[i].seed), slots[i].size);
            rvmem_free(slots[i].block);
            slots[i].block = NULL;
        }
    }
}

KTEST(malloc, shadow_model_stress)
{
    static struct shadow slots[200];
    shadow_stress(slots, 200, STRESS_OPERATIONS, 0x9e3779b97f4a7c15ull);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, statistics_follow_the_program)
{
    malloc_test_settle();
    struct malloc_stats before, during, after;
    rvmem_malloc_stats(&before);
    void *small[10];
    for (unsigned i = 0; i < 10; i++) {
        small[i] = rvmem_malloc(100);
        KASSERT_NOT_NULL(small[i]);
    }
    void *medium = rvmem_malloc(80000); /* above the classes: a TLSF block */
    KASSERT_NOT_NULL(medium);
    rvmem_malloc_stats(&during);
#ifdef RVMEM_CHECKED
    size_t small_bytes = 144, medium_bytes = rvmem_malloc_usable_size(medium) + 32; /* header + canary */
    (void)medium_bytes;
#else
    size_t small_bytes = 112;
    size_t medium_bytes = rvmem_malloc_usable_size(medium);
    KASSERT_EQ(during.bytes_in_use - before.bytes_in_use, 10 * small_bytes + medium_bytes);
#endif
    unsigned small_class = (unsigned)((small_bytes - 1) / 16);
    KASSERT_EQ(during.classes[small_class].block_bytes, small_bytes);
    KASSERT_EQ(during.classes[small_class].in_use - before.classes[small_class].in_use, 10);
    KASSERT_GE(during.classes[small_class].runs, 1);
    KASSERT_GE(during.peak_bytes_in_use, during.bytes_in_use);
    KASSERT_GT(during.heap_span_bytes, 0);
    KASSERT_EQ(during.medium_blocks_in_use - before.medium_blocks_in_use, 1);
    KASSERT_GT(during.footprint_permille, 0);
    for (unsigned i = 0; i < 10; i++)
        rvmem_free(small[i]);
    rvmem_free(medium);
    malloc_test_settle();
    rvmem_malloc_stats(&after);
    KASSERT_EQ(after.bytes_in_use, before.bytes_in_use);
    KASSERT_EQ(after.heap_span_bytes, before.heap_span_bytes);
    KASSERT_EQ(after.classes[small_class].in_use, before.classes[small_class].in_use);
}

KTEST(malloc, footprint_of_a_heap_above_4_mib_is_exact)
{
    /* 1000 x the span overflows a 32-bit size_t here: the ratio must still be floor(1000 x span / peak). */
    malloc_test_settle();
    void *large = rvmem_malloc((size_t)8 << 20);
    KASSERT_NOT_NULL(large);
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    KASSERT_GT(stats.heap_span_bytes, (size_t)8 << 20);
    uint64_t scaled_span = (uint64_t)1000 * stats.heap_span_bytes;
    KASSERT_LE((uint64_t)stats.footprint_permille * stats.peak_bytes_in_use, scaled_span);
    KASSERT_GT(((uint64_t)stats.footprint_permille + 1) * stats.peak_bytes_in_use, scaled_span);
    rvmem_free(large);
    malloc_test_settle();
}

KTEST(malloc, trim_gives_the_heap_back)
{
    malloc_test_settle();
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t span_before = stats.heap_span_bytes;
    static void *blocks[300];
    for (unsigned i = 0; i < 300; i++) {
        blocks[i] = rvmem_malloc(i % 2 ? 40 + i : 2000 + 10 * i);
        KASSERT_NOT_NULL(blocks[i]);
    }
    rvmem_malloc_stats(&stats);
    KASSERT_GT(stats.heap_span_bytes, span_before + 300000);
    for (unsigned i = 0; i < 300; i++)
        rvmem_free(blocks[i]);
    KASSERT_GT(rvmem_malloc_trim(), 0);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span_before);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}

/* The least a growth takes and what an automatic trim keeps, as lib/malloc/malloc_tlsf.c documents it. */
static size_t documented_pad(size_t span_bytes)
{
    size_t pad = span_bytes / 16;
    if (pad < ((size_t)64 << 10))
        pad = (size_t)64 << 10;
    if (pad > ((size_t)2 << 20))
        pad = (size_t)2 << 20;
    return (pad + 4095) & ~(size_t)4095;
}

KTEST(malloc, growth_takes_at_least_a_pad_of_the_span)
{
    malloc_test_settle();
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t span = stats.heap_span_bytes, calls = stats.more_core_calls;
    KASSERT_LT(stats.bytes_free_medium, 20000); /* the premise: no free chunk holds the first block */
    void *blocks[3];
    blocks[0] = rvmem_aligned_alloc(64, 20000); /* 64-byte alignment: a TLSF block */
    KASSERT_NOT_NULL(blocks[0]);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span + documented_pad(span)); /* one move, by the pad (> 20000) */
    KASSERT_EQ(stats.more_core_calls, calls + 1);
    for (unsigned i = 1; i < 3; i++) {
        blocks[i] = rvmem_aligned_alloc(64, 20000);
        KASSERT_NOT_NULL(blocks[i]);
    }
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span + documented_pad(span)); /* the pad held them: no move */
    KASSERT_EQ(stats.more_core_calls, calls + 1);
    for (unsigned i = 0; i < 3; i++)
        rvmem_free(blocks[i]);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span + documented_pad(span)); /* a free top under 2 x pad stays */
    KASSERT_EQ(stats.more_core_calls, calls + 1);
    malloc_test_settle();
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span); /* rvmem_malloc_trim gives the pad back too */
}

KTEST(malloc, pairs_at_the_top_do_not_grow_and_trim_every_time)
{
    malloc_test_settle();
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t span_at_start = stats.heap_span_bytes;
    void *hold = rvmem_malloc((size_t)2 << 20); /* a span over 2 MiB: a pad over 128 KiB */
    KASSERT_NOT_NULL(hold);
    rvmem_malloc_stats(&stats);
    size_t calls = stats.more_core_calls, span_held = stats.heap_span_bytes;
    /* 200 KB at the top, ten times: over the old fixed 128 KiB threshold, under 2 x pad. */
    size_t span_top = 0;
    for (unsigned round = 0; round < 10; round++) {
        void *block = rvmem_malloc(200000);
        KASSERT_NOT_NULL(block);
        rvmem_free(block);
        rvmem_malloc_stats(&stats);
        KASSERT_EQ(stats.more_core_calls, calls + 1); /* the first round grew once; no round trimmed */
        KASSERT_GT(stats.heap_span_bytes, span_held);
        if (round == 0)
            span_top = stats.heap_span_bytes;
        KASSERT_EQ(stats.heap_span_bytes, span_top);
    }
    /* Freeing the 2 MiB block makes the free top exceed 2 x pad + a page: it goes back, keeping pad. */
    rvmem_free(hold);
    rvmem_malloc_stats(&stats);
    size_t pad = documented_pad(span_top);
    KASSERT_EQ(stats.more_core_calls, calls + 2);
    KASSERT_LE(stats.heap_span_bytes, span_at_start + pad + 4096);
    KASSERT_GE(stats.heap_span_bytes + 4096 + 64, span_at_start + pad);
    malloc_test_settle();
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span_at_start);
}

/* A big block at the top, freed and allocated again: the trim that the second growth undid is not repeated. */
KTEST(malloc, a_trim_the_heap_grows_back_after_raises_the_threshold)
{
    malloc_test_settle();
    struct malloc_stats stats;
    size_t bytes = (size_t)3 << 20;
    void *block = rvmem_malloc(bytes);
    KASSERT_NOT_NULL(block);
    rvmem_free(block); /* the free top exceeds 2 x pad + a page: an automatic trim */
    rvmem_malloc_stats(&stats);
    size_t calls = stats.more_core_calls, span_trimmed = stats.heap_span_bytes;
    block = rvmem_malloc(bytes); /* grows back: the threshold learns what the trim released */
    KASSERT_NOT_NULL(block);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.more_core_calls, calls + 1);
    size_t span_grown = stats.heap_span_bytes;
    KASSERT_GT(span_grown, span_trimmed);
    for (unsigned round = 0; round < 4; round++) {
        rvmem_free(block); /* now under the threshold: the memory stays */
        rvmem_malloc_stats(&stats);
        KASSERT_EQ(stats.more_core_calls, calls + 1);
        KASSERT_EQ(stats.heap_span_bytes, span_grown);
        block = rvmem_malloc(bytes);
        KASSERT_NOT_NULL(block);
    }
    rvmem_free(block);
    malloc_test_settle(); /* rvmem_malloc_trim: gives it all back and forgets the threshold */
    block = rvmem_malloc(bytes);
    KASSERT_NOT_NULL(block);
    rvmem_malloc_stats(&stats);
    calls = stats.more_core_calls;
    rvmem_free(block);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.more_core_calls, calls + 1); /* trimmed automatically again */
    malloc_test_settle();
}

KTEST(malloc, validator_detects_a_broken_boundary_tag)
{
    uint8_t *a = rvmem_malloc(80000);
    uint8_t *b = rvmem_malloc(80000);
    KASSERT_NOT_NULL(a);
    KASSERT_NOT_NULL(b);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    uintptr_t *size_word = (uintptr_t *)b - 1; /* the TLSF size word is the last word of the header */
#ifdef RVMEM_CHECKED
    size_word = (uintptr_t *)(b - 32) - 1; /* the core's block starts below the checked header */
#endif
    uintptr_t saved = *size_word;
    *size_word = saved + 16;
    KASSERT_LT(rvmem_malloc_validate(), 0);
    *size_word = saved;
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(a);
    rvmem_free(b);
    malloc_test_settle();
}

/* Refills take a class's loose list whole, so it must stay shorter than a magazine (chain_loose). */
KTEST(malloc, validator_detects_a_loose_list_as_long_as_a_magazine)
{
    void *probe = rvmem_malloc(100);
    KASSERT_NOT_NULL(probe);
    int class_of_probe = small_class_at((uintptr_t)probe); /* checked builds add a header: ask the page map */
    rvmem_free(probe);
    KASSERT_GE(class_of_probe, 0);
    unsigned class_index = (unsigned)class_of_probe;
    uint32_t limit = small_cache_limit(class_index);
    static void *blocks[3 * 64];
    for (uint32_t i = 0; i < 3 * limit; i++) {
        blocks[i] = rvmem_malloc(100);
        KASSERT_NOT_NULL(blocks[i]);
    }
    for (uint32_t i = 0; i < 3 * limit; i++)
        rvmem_free(blocks[i]);
    rvmem_malloc_flush_cache(); /* full magazines become chains, the rest stays loose */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    struct small_central *central = &malloc_state.centrals[class_index];
    spin_lock(&central->lock);
    void **chain = central->chains, **last = chain;
    void *loose = central->free_list, *chain_end = NULL;
    if (chain) { /* one chain (limit blocks) in front of the loose list, as a broken flush would leave it */
        for (uint32_t i = 1; i < limit; i++)
            last = *last;
        chain_end = *last; /* the class's list end */
        central->chains = chain[1];
        central->chain_count--;
        *last = loose;
        central->free_list = chain;
        central->free_count += limit;
    }
    spin_unlock(&central->lock);
    KASSERT_NOT_NULL(chain);
    KASSERT_LT(rvmem_malloc_validate(), 0);
    spin_lock(&central->lock);
    central->free_list = loose;
    central->free_count -= limit;
    *last = chain_end;
    chain[1] = central->chains;
    central->chains = chain;
    central->chain_count++;
    spin_unlock(&central->lock);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc, validator_detects_a_broken_free_list_count)
{
    void *block = rvmem_malloc(200);
    KASSERT_NOT_NULL(block);
    rvmem_free(block);
    rvmem_malloc_flush_cache(); /* now it sits on the central list of its class */
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* Poke the block's link to point at itself: a cycle the validator must see. */
    void **link = block;
#ifdef RVMEM_CHECKED
    link = (void **)((uint8_t *)block - 32);
#endif
    void *saved = *link;
    *link = link;
    KASSERT_LT(rvmem_malloc_validate(), 0);
    *link = saved;
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}
