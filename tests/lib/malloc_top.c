/*
 * tests/lib/malloc_top.c - TLSF's top chunk (lib/malloc/malloc_tlsf.c): the free chunk that ends at the
 * last region's sentinel, kept on no free list; a free next to it merges into it, requests no
 * listed chunk fits are cut off its front, growth extends it, a new region lists the old one.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h" /* the top is read through malloc_state, as the validator tests do */
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

/*
 * TLSF's top (lib/malloc/malloc_tlsf.c): the free chunk ending at the last region's sentinel, on no list,
 * or that sentinel (size 0). These read it through malloc_state, as the validator tests do.
 */
#ifdef RVMEM_CHECKED
#define CHECKED_HEADER_BYTES 32 /* the checked layer's header sits between the core's block and the user's */
#define CHECKED_EXTRA_BYTES 33  /* what it adds to a request: the header and at least one canary byte */
#else
#define CHECKED_HEADER_BYTES 0
#define CHECKED_EXTRA_BYTES 0
#endif
#define TLSF_HEADER_BYTES 16

static uintptr_t top_start(void)
{
    return (uintptr_t)malloc_state.tlsf.top;
}

/* The top chunk's bytes (its size word is the last of its 16-byte header), 0 when it is the sentinel. */
static size_t top_bytes(void)
{
    if (!top_start())
        return 0; /* no region */
    uintptr_t size_word = *(const uintptr_t *)(top_start() + TLSF_HEADER_BYTES - sizeof(uintptr_t));
    return size_word & ~(uintptr_t)15;
}

/* The TLSF chunk header of a block rvmem_malloc returned (a TLSF block: above 64 KiB). */
static uintptr_t chunk_of_block(const void *block)
{
    return (uintptr_t)block - CHECKED_HEADER_BYTES - TLSF_HEADER_BYTES;
}

static uintptr_t last_sentinel(void)
{
    return (tlsf_break() & ~(uintptr_t)15) - TLSF_HEADER_BYTES;
}

/* Holds a small TLSF block so a region stays (a full trim gives back a region that is all free). */
static void *hold_a_region(void)
{
    malloc_test_settle();
    return rvmem_aligned_alloc(64, 100); /* 64-byte alignment: a TLSF block */
}

KTEST(malloc_top, a_free_next_to_the_top_merges_into_it)
{
    void *anchor = hold_a_region();
    KASSERT_NOT_NULL(anchor);
    void *below = rvmem_malloc(100000); /* TLSF blocks: > 64 KiB */
    void *next_to_top = rvmem_malloc(100000);
    KASSERT_NOT_NULL(below);
    KASSERT_NOT_NULL(next_to_top);
    uintptr_t chunk = chunk_of_block(next_to_top);
    KASSERT_GT(top_start(), chunk);                /* the premise: the top starts after the block */
    KASSERT_LE(top_start(), chunk + 100000 + 256); /* and right after it: it was cut off the top */
    uint64_t lists_before = malloc_state.tlsf.first_level_bitmap;
    size_t free_before = tlsf_free_bytes(), top_before = top_bytes();
    size_t chunk_bytes = top_start() - chunk;
    rvmem_free(next_to_top);
    KASSERT_EQ(top_start(), chunk); /* merged into the top, not listed */
    KASSERT_EQ(top_bytes(), top_before + chunk_bytes);
    KASSERT_EQ(top_start() + top_bytes(), last_sentinel());
    KASSERT_EQ(tlsf_free_bytes(), free_before + chunk_bytes);
    KASSERT_EQ(malloc_state.tlsf.first_level_bitmap, lists_before);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(below); /* now the top reaches down to below's chunk */
    KASSERT_EQ(top_start(), chunk_of_block(below));
    KASSERT_EQ(malloc_state.tlsf.first_level_bitmap, lists_before);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(anchor);
    malloc_test_settle();
}

KTEST(malloc_top, a_large_block_cut_from_the_top_and_freed_leaves_the_span)
{
    void *anchor = hold_a_region();
    KASSERT_NOT_NULL(anchor);
    void *block = rvmem_malloc(100000); /* makes a top of over 100000 bytes: under the trim threshold */
    KASSERT_NOT_NULL(block);
    rvmem_free(block);
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t span = stats.heap_span_bytes, calls = stats.more_core_calls;
    uintptr_t top = top_start();
    size_t bytes = top_bytes();
    KASSERT_GE(bytes, 100000);
    block = rvmem_malloc(90000);
    KASSERT_NOT_NULL(block);
    KASSERT_EQ(chunk_of_block(block), top); /* a pointer bump */
    KASSERT_GT(top_start(), top + 90000);
    KASSERT_EQ(top_start() + top_bytes(), top + bytes);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span);
    KASSERT_EQ(stats.more_core_calls, calls);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(block);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.heap_span_bytes, span);
    KASSERT_EQ(stats.more_core_calls, calls);
    KASSERT_EQ(top_start(), top);
    KASSERT_EQ(top_bytes(), bytes);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(anchor);
    malloc_test_settle();
}

KTEST(malloc_top, growth_extends_the_top)
{
    void *anchor = hold_a_region();
    KASSERT_NOT_NULL(anchor);
    rvmem_malloc_trim(); /* the region stays, its top shrinks under a page (or to nothing) */
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t calls = stats.more_core_calls;
    unsigned regions = malloc_state.tlsf.region_count;
    uintptr_t top = top_start(); /* after a trim: a top under a page, or the sentinel */
    KASSERT_LT(top_bytes(), 400000);
    void *block = rvmem_malloc(400000);
    KASSERT_NOT_NULL(block);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.more_core_calls, calls + 1);
    KASSERT_EQ(malloc_state.tlsf.region_count, regions);
    KASSERT_EQ(chunk_of_block(block), top); /* the old top, extended, was cut from its front */
    KASSERT_GT(top_start(), top + 400000);
    KASSERT_EQ(top_start() + top_bytes(), last_sentinel());
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(block);
    KASSERT_EQ(top_start(), top);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(anchor);
    malloc_test_settle();
}

/* A region that ends in a used chunk has its sentinel as the top: growth makes that sentinel the top's header. */
KTEST(malloc_top, growth_after_a_used_chunk_turns_the_sentinel_into_the_top)
{
    void *anchor = hold_a_region();
    KASSERT_NOT_NULL(anchor);
    void *block = rvmem_malloc(100000);
    KASSERT_NOT_NULL(block);
    rvmem_free(block);
    KASSERT_GE(top_bytes(), 100000);
    /* The whole top but 16 bytes (under a minimal chunk, so they go with it): nothing free is left at the end. */
    void *exact = rvmem_malloc(top_bytes() - 2 * TLSF_HEADER_BYTES - CHECKED_EXTRA_BYTES);
    KASSERT_NOT_NULL(exact);
    uintptr_t sentinel = last_sentinel();
    KASSERT_EQ(top_start(), sentinel);
    KASSERT_EQ(top_bytes(), 0);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    void *grown = rvmem_malloc(100000);
    KASSERT_NOT_NULL(grown);
    KASSERT_EQ(chunk_of_block(grown), sentinel);
    KASSERT_EQ(top_start() + top_bytes(), last_sentinel());
    KASSERT_EQ(rvmem_malloc_validate(), 0); /* the free bytes counted agree with the walk */
    rvmem_free(exact);                      /* a used chunk follows: listed */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(grown); /* merges with exact below and the top above */
    KASSERT_EQ(top_start(), chunk_of_block(exact));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(anchor);
    malloc_test_settle();
}

/* Somebody else moves the break: growth opens a new region there, the old top becomes a listed chunk. */
KTEST(malloc_top, a_moved_break_opens_a_region_and_lists_the_old_top)
{
    void *anchor = hold_a_region();
    KASSERT_NOT_NULL(anchor);
    rvmem_malloc_trim();                          /* the top: under a page */
    void *block = rvmem_aligned_alloc(64, 20000); /* grows by a pad: the top holds about a pad once it is freed */
    KASSERT_NOT_NULL(block);
    rvmem_free(block);
    unsigned regions = malloc_state.tlsf.region_count;
    uintptr_t old_top = top_start();
    size_t old_top_bytes = top_bytes();
    KASSERT_GT(old_top_bytes, 20000);
    spin_lock(&malloc_state.tlsf.lock); /* more-core is called under TLSF's lock */
    uint8_t *foreign = malloc_state.more_core(4096);
    spin_unlock(&malloc_state.tlsf.lock);
    KASSERT_NE((uintptr_t)foreign, (uintptr_t)-1);
    void *large = rvmem_malloc(old_top_bytes + 4096); /* the old top is too small: a new region */
    KASSERT_NOT_NULL(large);
    KASSERT_EQ(malloc_state.tlsf.region_count, regions + 1);
    KASSERT_GT((uintptr_t)large, (uintptr_t)foreign);
    KASSERT_GT(top_start(), (uintptr_t)large);
    KASSERT_EQ(top_start() + top_bytes(), last_sentinel());
    KASSERT_NE(malloc_state.tlsf.first_level_bitmap, 0); /* the old top is listed now */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    void *second = rvmem_malloc(old_top_bytes + 4096); /* grows the new region, whose top then holds it */
    KASSERT_NOT_NULL(second);
    KASSERT_GT((uintptr_t)second, (uintptr_t)large);
    rvmem_free(second);
    KASSERT_GT(top_bytes(), old_top_bytes);
    KASSERT_EQ(malloc_state.tlsf.region_count, regions + 1);
    void *listed = rvmem_aligned_alloc(64, 20000); /* both fit it: the lists come first (the old top) */
    KASSERT_NOT_NULL(listed);
    KASSERT_GE(chunk_of_block(listed), old_top);
    KASSERT_LT((uintptr_t)listed, old_top + old_top_bytes);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(listed);
    rvmem_free(large);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* A full trim gives the new region back and stops at the foreign page: the old top is the top again. */
    rvmem_malloc_trim();
    KASSERT_EQ(malloc_state.tlsf.region_count, regions);
    KASSERT_EQ(top_start(), old_top);
    KASSERT_EQ(top_bytes(), old_top_bytes);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    spin_lock(&malloc_state.tlsf.lock);
    void *break_before = malloc_state.more_core(-4096);
    spin_unlock(&malloc_state.tlsf.lock);
    KASSERT_PTR_EQ(break_before, foreign + 4096);
    rvmem_free(anchor);
    malloc_test_settle();
}

/* realloc of the block right below the top grows the heap and keeps the block where it is. */
KTEST(malloc_top, realloc_of_the_last_block_grows_the_heap_in_place)
{
    malloc_test_settle();
    uint8_t *block = rvmem_malloc(100000); /* a TLSF block: the lists hold nothing, so cut off the top */
    KASSERT_NOT_NULL(block);
    for (size_t i = 0; i < 100000; i++)
        block[i] = (uint8_t)(i * 7);
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t calls = stats.more_core_calls, span = stats.heap_span_bytes, top_before = top_bytes();
    KASSERT_LT(top_before, 3000000);
    uint8_t *grown = rvmem_realloc(block, 3000000); /* more than the top holds */
    KASSERT_NOT_NULL(grown);
#ifndef RVMEM_CHECKED /* the checked realloc always moves (lib/malloc/malloc_checked.c) */
    KASSERT_PTR_EQ(grown, block);
    rvmem_malloc_stats(&stats);
    KASSERT_EQ(stats.more_core_calls, calls + 1);
    KASSERT_GE(stats.heap_span_bytes, span + 3000000 - 100000 - top_before); /* grew by what the block lacked */
#else
    (void)calls;
    (void)span;
#endif
    KASSERT_GE(rvmem_malloc_usable_size(grown), 3000000);
    for (size_t i = 0; i < 100000; i++)
        KASSERT_EQ(grown[i], (uint8_t)(i * 7));
    memset(grown, 0x5a, 3000000);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(grown);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc_top, a_block_grown_in_place_counts_in_the_peak)
{
    malloc_test_settle();
    uint8_t *block = rvmem_malloc(100000); /* cut off the top: the heap grows under it in place */
    KASSERT_NOT_NULL(block);
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t grown_bytes = stats.peak_bytes_in_use + ((size_t)1 << 20); /* past every peak so far */
    uint8_t *grown = rvmem_realloc(block, grown_bytes);
    KASSERT_NOT_NULL(grown);
#ifndef RVMEM_CHECKED /* the checked realloc always moves (lib/malloc/malloc_checked.c) */
    KASSERT_PTR_EQ(grown, block);
#endif
    rvmem_free(grown);
    rvmem_malloc_stats(&stats); /* in use is back down: only the peak remembers the grown block */
    KASSERT_GE(stats.peak_bytes_in_use, grown_bytes);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}
