/*
 * tests/top/malloc_binding.c - the kernel's malloc binding (kernel/top/malloc_binding.c):
 * rvmem_malloc_trim_all_harts has every hart give its cache back, then trims the heap; a trim
 * lends the free pages inside the heap to the buddy allocator, and malloc claims them back (or,
 * when the buddy allocator handed them out, sets them aside and grows).
 */
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/top/malloc_binding.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h" /* the holes TLSF set aside */
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#define CACHED_BLOCKS 40
#define CACHED_BLOCK_BYTES 3000
#define CACHED_LARGEST 4
#define CACHED_LARGEST_BYTES 65000 /* the largest class: runs of 8 blocks, magazines of 2 */

/*
 * Blocks of two classes taken and freed on the calling hart: they fill its loaded magazines and
 * its spares, so they stay in its cache, and the runs they were carved from (new ones, at the top of
 * the heap) cannot go back until that hart flushes.
 */
static void leave_blocks_in_this_harts_cache(void)
{
    void *blocks[CACHED_BLOCKS], *largest[CACHED_LARGEST];
    for (unsigned i = 0; i < CACHED_BLOCKS; i++)
        blocks[i] = rvmem_malloc(CACHED_BLOCK_BYTES);
    for (unsigned i = 0; i < CACHED_LARGEST; i++)
        largest[i] = rvmem_malloc(CACHED_LARGEST_BYTES);
    for (unsigned i = 0; i < CACHED_BLOCKS; i++)
        rvmem_free(blocks[i]);
    for (unsigned i = 0; i < CACHED_LARGEST; i++)
        rvmem_free(largest[i]);
}

KTEST(malloc_binding, trim_all_harts_empties_every_cache_and_shrinks_the_heap)
{
    rvmem_malloc_trim_all_harts(); /* start from every cache empty, as the assertions below end */
    struct malloc_stats before, cached, after;
    rvmem_malloc_stats(&before);
    KASSERT_EQ(before.bytes_cached, 0);
    run_on_all_harts(leave_blocks_in_this_harts_cache);
    rvmem_malloc_stats(&cached);
    KASSERT_GE(cached.bytes_cached, (size_t)hart_count() * CACHED_BLOCKS * CACHED_BLOCK_BYTES);
    KASSERT_GT(cached.heap_span_bytes, before.heap_span_bytes);
    if (hart_count() > 1) {
        /* The calling hart's own trim reaches only its own cache: the others' blocks stay, and so
         * does the heap their runs hold up. */
        rvmem_malloc_trim();
        rvmem_malloc_stats(&cached);
        KASSERT_GE(cached.bytes_cached, (size_t)(hart_count() - 1) * CACHED_BLOCKS * CACHED_BLOCK_BYTES);
        KASSERT_GT(cached.heap_span_bytes, before.heap_span_bytes);
    }
    size_t returned = rvmem_malloc_trim_all_harts();
    rvmem_malloc_stats(&after);
    KASSERT_EQ(after.bytes_cached, 0);
    KASSERT_EQ(after.bytes_in_use, before.bytes_in_use);
    KASSERT_LT(after.heap_span_bytes, cached.heap_span_bytes);
    KASSERT_EQ(after.heap_span_bytes, before.heap_span_bytes);
    KASSERT_GT(returned, 0);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}

#ifndef RVMEM_CHECKED                 /* checked builds keep free pages (they hold malloc's poison) */
#define INNER_BYTES ((size_t)1 << 20) /* a large block, from TLSF */
#define INNER_PAGES (INNER_BYTES / PAGE_SIZE)
#define ABOVE_BYTES ((size_t)100 << 10) /* above it: the top cannot shrink over it */

static unsigned long pages_lent(void)
{
    struct brk_stats stats;
    brk_get_stats(kernel_heap(), &stats);
    return stats.pages_lent;
}

static unsigned long pages_held(void)
{
    struct brk_stats stats;
    brk_get_stats(kernel_heap(), &stats);
    return stats.pages_held;
}

static unsigned long buddy_free_now(void)
{
    buddy_drain_all_caches(kernel_pages());
    return buddy_free_pages(kernel_pages());
}

/*
 * Blocks taken until one lies above block (free chunks below it serve the first ones), so that
 * block's chunk, once freed, is inside the heap: the top cannot shrink over it.
 */
#define ABOVE_TRIES 16
static void *blocks_above[ABOVE_TRIES];
static unsigned blocks_above_count;

static bool hold_a_block_above(const void *block)
{
    blocks_above_count = 0;
    while (blocks_above_count < ABOVE_TRIES) {
        void *above = rvmem_malloc(ABOVE_BYTES);
        if (!above)
            return false;
        blocks_above[blocks_above_count++] = above;
        if ((uintptr_t)above > (uintptr_t)block)
            return true;
    }
    return false;
}

static void free_blocks_above(void)
{
    for (unsigned i = 0; i < blocks_above_count; i++)
        rvmem_free(blocks_above[i]);
    blocks_above_count = 0;
}

/* Fills block with a pattern of seed, then says whether it reads back. */
static bool fill_and_check(uint8_t *block, size_t bytes, uint8_t seed)
{
    for (size_t i = 0; i < bytes; i += 61)
        block[i] = (uint8_t)(seed + i);
    for (size_t i = 0; i < bytes; i += 61)
        if (block[i] != (uint8_t)(seed + i))
            return false;
    return true;
}

KTEST(malloc_binding, a_trim_lends_free_pages_inside_the_heap_and_malloc_takes_them_back)
{
    rvmem_malloc_trim_all_harts();
    uint8_t *inner = rvmem_malloc(INNER_BYTES);
    KASSERT_NOT_NULL(inner);
    KASSERT(hold_a_block_above(inner));
    rvmem_free(inner);
    unsigned long free_before = buddy_free_now(), lent_before = pages_lent(), held_before = pages_held();
    rvmem_malloc_trim();
    unsigned long free_trimmed = buddy_free_now(), lent_trimmed = pages_lent();
    /* All of the block's pages but the one holding its header, and maybe a partial last one, are
     * lent; the free top above the blocks went back through the break. */
    KASSERT_GE(lent_trimmed, lent_before + INNER_PAGES - 2);
    KASSERT_EQ(free_trimmed - free_before, lent_trimmed - lent_before + held_before - pages_held());
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* A block the free chunk holds is cut from it (good fit: a list of chunks at least as large
     * as the request rounded up): the pages it takes come back from the buddy first, and only
     * those (and the one holding the free rest's header): the rest stays lent. */
    uint8_t *again = rvmem_malloc(INNER_BYTES / 2);
    KASSERT_NOT_NULL(again);
    KASSERT_GE(lent_trimmed - pages_lent(), INNER_PAGES / 2 - 1);
    KASSERT_LE(lent_trimmed - pages_lent(), INNER_PAGES / 2 + 1);
    KASSERT(fill_and_check(again, INNER_BYTES / 2, 7));
    KASSERT_EQ(buddy_free_now(), free_trimmed - (lent_trimmed - pages_lent()));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(again);
    free_blocks_above();
    rvmem_malloc_trim();
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}

#define TAKEN_MAX (INNER_PAGES + 1)
static uintptr_t taken_pages[TAKEN_MAX]; /* lent pages the test takes from the buddy allocator */

KTEST(malloc_binding, pages_the_buddy_handed_out_meanwhile_are_set_aside_and_malloc_grows)
{
    rvmem_malloc_trim_all_harts();
    uint8_t *inner = rvmem_malloc(INNER_BYTES);
    KASSERT_NOT_NULL(inner);
    KASSERT(hold_a_block_above(inner));
    rvmem_free(inner);
    rvmem_malloc_trim();
    /* Somebody else takes every page of the block the trim lent (a page allocation would, once
     * the pages above them are gone). */
    unsigned taken = 0;
    uintptr_t first = ((uintptr_t)inner + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
    for (uintptr_t page = first; page + PAGE_SIZE <= (uintptr_t)inner + INNER_BYTES && taken < TAKEN_MAX;
         page += PAGE_SIZE)
        if (buddy_claim(kernel_pages(), page, page + PAGE_SIZE) == 0)
            taken_pages[taken++] = page;
    KASSERT_GE(taken, INNER_PAGES - 2);
    /* malloc must not hand those out: the chunk (which the request would be cut from) becomes a
     * hole, and the heap grows. */
    uint8_t *grown = rvmem_malloc(INNER_BYTES / 2);
    KASSERT_NOT_NULL(grown);
    KASSERT((uintptr_t)grown >= (uintptr_t)inner + INNER_BYTES ||
            (uintptr_t)grown + INNER_BYTES / 2 <= (uintptr_t)inner);
    KASSERT(fill_and_check(grown, INNER_BYTES / 2, 11));
    KASSERT_GE(malloc_state.tlsf.hole_bytes, INNER_BYTES);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* The pages come back to the buddy allocator: the next growth reclaims the hole first, and
     * the request is served from it. */
    for (unsigned i = 0; i < taken; i++)
        KASSERT_EQ(buddy_free(kernel_pages(), (void *)taken_pages[i], 0), 0);
    unsigned long lent_before = pages_lent();
    uint8_t *reused = rvmem_malloc(INNER_BYTES / 2);
    KASSERT_NOT_NULL(reused);
    KASSERT_EQ(malloc_state.tlsf.hole_bytes, 0);
    KASSERT_LE(pages_lent(), lent_before - taken);
    KASSERT(fill_and_check(reused, INNER_BYTES / 2, 13));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(grown);
    free_blocks_above();
    rvmem_free(reused);
    rvmem_malloc_trim();
    KASSERT_EQ(malloc_state.tlsf.hole_bytes, 0);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}
KTEST(malloc_binding, realloc_grows_in_place_into_a_released_neighbour_or_moves)
{
    rvmem_malloc_trim_all_harts();
    size_t small = INNER_BYTES / 4;
    uint8_t *block = rvmem_malloc(small);
    uint8_t *neighbour = rvmem_malloc(INNER_BYTES);
    KASSERT_NOT_NULL(block);
    KASSERT_NOT_NULL(neighbour);
    /* The premise: the two chunks touch (both cut from the top, one after the other). */
    KASSERT_PTR_EQ(neighbour, block + rvmem_malloc_usable_size(block) + 16);
    KASSERT(hold_a_block_above(neighbour));
    KASSERT(fill_and_check(block, small, 3));
    rvmem_free(neighbour);
    unsigned long lent_before = pages_lent();
    rvmem_malloc_trim();
    unsigned long lent_trimmed = pages_lent();
    KASSERT_GE(lent_trimmed, lent_before + INNER_PAGES - 2);
    /* Growing in place takes the neighbour: its pages come back first. */
    uint8_t *grown = rvmem_realloc(block, small + INNER_BYTES / 2);
    KASSERT_PTR_EQ(grown, block);
    KASSERT_LE(pages_lent(), lent_trimmed - (INNER_PAGES - 2));
    for (size_t i = 0; i < small; i += 61)
        KASSERT_EQ(grown[i], (uint8_t)(3 + i));
    KASSERT(fill_and_check(grown, small + INNER_BYTES / 2, 5));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* Again, with the neighbour's pages taken by somebody else: realloc moves the block. */
    KASSERT_PTR_EQ(rvmem_realloc(grown, small), grown); /* shrinks in place: the rest is free */
    rvmem_malloc_trim();
    unsigned taken = 0;
    uintptr_t first = ((uintptr_t)grown + small + PAGE_SIZE) & ~(uintptr_t)(PAGE_SIZE - 1);
    for (uintptr_t page = first; page + PAGE_SIZE <= (uintptr_t)grown + small + INNER_BYTES && taken < TAKEN_MAX;
         page += PAGE_SIZE)
        if (buddy_claim(kernel_pages(), page, page + PAGE_SIZE) == 0)
            taken_pages[taken++] = page;
    KASSERT_GE(taken, INNER_PAGES - 2);
    uint8_t *moved = rvmem_realloc(grown, small + INNER_BYTES / 2);
    KASSERT_NOT_NULL(moved);
    KASSERT(moved != grown);
    for (size_t i = 0; i < small; i += 61)
        KASSERT_EQ(moved[i], (uint8_t)(5 + i));
    KASSERT(fill_and_check(moved, small + INNER_BYTES / 2, 9));
    KASSERT_GE(malloc_state.tlsf.hole_bytes, INNER_BYTES / 2);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    for (unsigned i = 0; i < taken; i++)
        KASSERT_EQ(buddy_free(kernel_pages(), (void *)taken_pages[i], 0), 0);
    rvmem_free(moved);
    free_blocks_above();
    rvmem_malloc_trim();
    KASSERT_EQ(malloc_state.tlsf.hole_bytes, 0);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}
#endif
