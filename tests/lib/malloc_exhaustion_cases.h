/*
 * tests/lib/malloc_exhaustion_cases.h - the exhaustion scenario shared by the kernel (heap_max=64K)
 * and host (arena limit) suites. Call with a heap limited to a few hundred KiB at most, and
 * limit_address (the highest address the break may reach) a little over a whole number of 64 KiB
 * pads above the break: growth then asks for more than is left and must fall back to exactly
 * what a request lacks, so the last pages below the limit are used.
 */
#ifndef RVMEM_TESTS_LIB_MALLOC_EXHAUSTION_CASES_H
#define RVMEM_TESTS_LIB_MALLOC_EXHAUSTION_CASES_H

#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

#define EXHAUSTION_MAX_BLOCKS 4096

/* Blocks exhaust_aligned got that were not aligned as asked (the cases check it stays 0). */
static unsigned exhaustion_misaligned;

/*
 * Allocates size-byte blocks (aligned to alignment when it is not 0) until NULL; returns how many
 * it got (all kept in blocks) and counts misaligned ones in exhaustion_misaligned.
 */
static unsigned exhaust_aligned(void **blocks, size_t alignment, size_t size)
{
    unsigned count = 0;
    while (count < EXHAUSTION_MAX_BLOCKS) {
        void *block = alignment ? rvmem_aligned_alloc(alignment, size) : rvmem_malloc(size);
        if (!block)
            break;
        if ((uintptr_t)block % (alignment ? alignment : MALLOC_ALIGNMENT))
            exhaustion_misaligned++;
        blocks[count++] = block;
    }
    return count;
}

static unsigned exhaust_with(void **blocks, size_t size)
{
    return exhaust_aligned(blocks, 0, size);
}

static void free_all(void **blocks, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        rvmem_free(blocks[i]);
}

/* The break malloc has reached: its heap's start plus its span. */
static uintptr_t malloc_break_now(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    return stats.heap_start + stats.heap_span_bytes;
}

/* Where the blocks are kept: a test arena (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena exhaustion_blocks = KTEST_ARENA(sizeof(void *) * EXHAUSTION_MAX_BLOCKS, sizeof(void *));

static void malloc_exhaustion_cases(uintptr_t limit_address)
{
    void **blocks = ktest_arena_memory(&exhaustion_blocks);
    KASSERT_NOT_NULL(blocks);
    struct malloc_stats before, after;
    rvmem_malloc_trim();
    rvmem_malloc_stats(&before);

    /* Small blocks until NULL; then a medium request fails too; free; the medium one succeeds. */
    unsigned small = exhaust_with(blocks, 200);
    KASSERT_GT(small, 10);
    KASSERT_LT(small, EXHAUSTION_MAX_BLOCKS); /* it did run out */
    KASSERT_NULL(rvmem_malloc(20000));
    KASSERT_NULL(rvmem_calloc(1, 200));
    KASSERT_NULL(rvmem_aligned_alloc(4096, 5000));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    free_all(blocks, small);
    void *medium = rvmem_malloc(20000);
    KASSERT_NOT_NULL(medium); /* the freed small runs were reclaimed for it */
    rvmem_free(medium);

    /* Blocks of a class above 1 KiB (then, as the heap fills, TLSF blocks of that size), the same
     * 32-aligned, then large (TLSF) blocks (64-byte alignment goes to TLSF), until NULL; free; as
     * many fit again (nothing leaked on the failed path). */
    static const size_t sizes[] = {3000, 3000, 20000}, alignments[] = {0, 32, 64};
    for (unsigned i = 0; i < 3; i++) {
        rvmem_malloc_trim(); /* the previous size's runs go back first, so both rounds start alike */
        unsigned first = exhaust_aligned(blocks, alignments[i], sizes[i]);
        KASSERT_GT(first, 1);
        KASSERT_LT(first, EXHAUSTION_MAX_BLOCKS);
        if (alignments[i] > 32) {
            /* The last pages were used: growth fell back to exactly what a block lacked, so less
             * than a block (plus its header and alignment, rounded to a page) is left. */
            KASSERT_LE(malloc_break_now(), limit_address);
            KASSERT_LT(limit_address - malloc_break_now(), sizes[i] + 128 + 4096u);
        }
        free_all(blocks, first);
        unsigned second = exhaust_aligned(blocks, alignments[i], sizes[i]);
        KASSERT_EQ(second, first);
        free_all(blocks, second);
    }
    KASSERT_EQ(exhaustion_misaligned, 0);

    /* Small again after the others: the space comes back to the small classes. */
    unsigned small_again = exhaust_with(blocks, 200);
    KASSERT_GE(small_again, small);
    free_all(blocks, small_again);

    rvmem_malloc_trim();
    rvmem_malloc_stats(&after);
    KASSERT_EQ(after.bytes_in_use, before.bytes_in_use);
    KASSERT_EQ(after.heap_span_bytes, before.heap_span_bytes);
    KASSERT_GT(after.failed_requests, before.failed_requests);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}

#endif
