/*
 * tests/lib/malloc_reserve.c - rvmem_malloc_reserve (lib/malloc/malloc_reserve.c): the heap grown up
 * front, trims that stop at the reserve's floor, a refused reserve that changes nothing, and the
 * lazy runs a reserved heap takes (laid out and marked a few blocks per refill) under the validator.
 */
#include "kernel/base/errors.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h" /* the class's uncarved tail and the page map, as the validator tests read them */
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#define RESERVE_EXTRA_BYTES ((size_t)2 << 20)

static size_t heap_span(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    return stats.heap_span_bytes;
}

KTEST(malloc_reserve, grows_the_heap_and_trims_stop_at_the_floor)
{
    malloc_test_settle();
    size_t span_before = heap_span();
    size_t reserve = span_before + RESERVE_EXTRA_BYTES;
    KASSERT_EQ(rvmem_malloc_reserve(reserve), 0);
    KASSERT_GE(heap_span(), reserve); /* grown now */
    rvmem_malloc_trim();
    KASSERT_GE(heap_span(), reserve); /* an explicit trim stops at the floor */
    /* A large block past the reserve grows the heap; freed, the automatic trim stops at the floor too. */
    void *large = rvmem_malloc(2 * RESERVE_EXTRA_BYTES);
    KASSERT_NOT_NULL(large);
    KASSERT_GT(heap_span(), reserve);
    rvmem_free(large);
    rvmem_malloc_trim();
    KASSERT_GE(heap_span(), reserve);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    KASSERT_EQ(rvmem_malloc_reserve(0), 0); /* the floor goes: the next trim gives the top back */
    rvmem_malloc_trim();
    KASSERT_LT(heap_span(), reserve);
    KASSERT_LE(heap_span(), span_before + PAGE_SIZE);
}

KTEST(malloc_reserve, refused_changes_nothing)
{
    malloc_test_settle();
    size_t span_before = heap_span();
    size_t reserve = span_before + RESERVE_EXTRA_BYTES;
    KASSERT_EQ(rvmem_malloc_reserve(reserve), 0);
    size_t span_reserved = heap_span();
    /* Beyond what the page map covers: refused, the span and the floor as they were. */
    KASSERT_EQ(rvmem_malloc_reserve(malloc_state.map_span_bytes + PAGE_SIZE), -E_NOMEM);
    KASSERT_EQ(heap_span(), span_reserved);
    rvmem_malloc_trim();
    KASSERT_GE(heap_span(), reserve); /* the floor is still the first reserve's */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    KASSERT_EQ(rvmem_malloc_reserve(0), 0);
    malloc_test_settle();
    KASSERT_LE(heap_span(), span_before + PAGE_SIZE);
}

/* The central state of the class block's class (checked builds add a header: read it from the page map). */
static struct small_central *central_of(const void *block)
{
    int class_index = small_class_at((uintptr_t)block);
    return class_index < 0 ? NULL : &malloc_state.centrals[class_index];
}

KTEST(malloc_reserve, runs_are_laid_out_lazily_under_the_validator)
{
    enum { BLOCKS = 600 }; /* 16-byte blocks: more than two runs' worth */
    static void *blocks[BLOCKS];
    malloc_test_settle();
    KASSERT_EQ(rvmem_malloc_reserve(heap_span() + RESERVE_EXTRA_BYTES), 0);
    for (unsigned i = 0; i < BLOCKS; i++) {
        blocks[i] = rvmem_malloc(16);
        KASSERT_NOT_NULL(blocks[i]);
        if (i % 37 == 0)
            KASSERT_EQ(rvmem_malloc_validate(), 0);
    }
    struct small_central *central = central_of(blocks[BLOCKS - 1]);
    KASSERT_NOT_NULL(central);
    KASSERT(!central->uncarved_laid_out); /* the newest run is cut a few blocks at a time */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* A class of many pages: one block of 16 KiB marks only the pages of what was cut. */
    void *big = rvmem_malloc(16000);
    KASSERT_NOT_NULL(big);
    struct small_central *big_central = central_of(big);
    KASSERT_NOT_NULL(big_central);
    struct small_run *run = big_central->runs;
    KASSERT_EQ(run, small_run_of((uintptr_t)big));
    size_t run_pages = small_run_size(run) >> PAGE_SHIFT;
    size_t block_bytes = small_class_bytes(run->class_index);
    KASSERT_EQ(small_class_at((uintptr_t)run), (int)run->class_index);
    KASSERT_EQ(small_class_at((uintptr_t)run + (run_pages - 1) * PAGE_SIZE), -1); /* not cut yet: not marked */
    KASSERT_LE(big_central->bump - (uintptr_t)run - SMALL_RUN_HEADER_BYTES, SMALL_LAZY_CUT_BLOCKS * block_bytes);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(big);
    for (unsigned i = 0; i < BLOCKS; i++)
        rvmem_free(blocks[i]);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    KASSERT_EQ(rvmem_malloc_reserve(0), 0);
    malloc_test_settle();
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}
