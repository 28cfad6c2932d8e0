/*
 * tests/top/malloc_binding.c - the kernel's malloc binding (kernel/top/malloc_binding.c):
 * rvmem_malloc_trim_all_harts has every hart give its cache back, then trims the heap.
 */
#include "kernel/base/platform.h"
#include "kernel/top/malloc_binding.h"
#include "lib/malloc/malloc.h"
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
