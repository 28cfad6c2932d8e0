/*
 * tests/lib/malloc_idle.c - memory freed as one size serves the next (lib/malloc/malloc_idle.c):
 * a class whose blocks are all free gives its runs back before the heap grows, and a class the
 * program still holds a block of keeps them.
 *
 * The blocks are chained through their own first word, so a phase of 2 MiB needs no array.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#define PHASE_BYTES ((size_t)2 << 20)

/* PHASE_BYTES of blocks of size, each filled with seed (malloc_test_support.h's chains). */
static void **allocate_phase(size_t size, uint8_t seed)
{
    return malloc_test_chain_allocate(size, seed, PHASE_BYTES);
}

static size_t heap_span(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    return stats.heap_span_bytes;
}

static size_t idle_class_releases(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    return stats.idle_class_releases;
}

KTEST(malloc_idle, memory_of_an_idle_class_serves_the_next_size)
{
    malloc_test_settle();
    void **first = allocate_phase(64, 0x41);
    KASSERT_NOT_NULL(first);
    malloc_test_chain_free(first);
    size_t span_after_first = heap_span(), releases = idle_class_releases();
    void **second = allocate_phase(512, 0x42);
    KASSERT_NOT_NULL(second);
    /* Without the idle class's runs the heap grows by the whole second phase. */
    KASSERT_LT(heap_span(), span_after_first + PHASE_BYTES / 4);
    KASSERT_GT(idle_class_releases(), releases);
    KASSERT(malloc_test_chain_intact(second, 512, 0x42));
    KASSERT_EQ(rvmem_malloc_validate(), 0); /* runs may still be pending: the validator knows them */
    malloc_test_chain_free(second);
    void **third = allocate_phase((size_t)96 << 10, 0x43); /* large blocks reuse them too */
    KASSERT_NOT_NULL(third);
    KASSERT_LT(heap_span(), span_after_first + PHASE_BYTES / 4);
    malloc_test_chain_free(third);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc_idle, a_class_the_program_still_uses_keeps_its_runs)
{
    malloc_test_settle();
    void **first = allocate_phase(64, 0x51);
    KASSERT_NOT_NULL(first);
    void **kept = first; /* the program keeps one block of the class */
    malloc_test_chain_free(*kept);
    *kept = NULL;
    size_t releases = idle_class_releases();
    void **second = allocate_phase(512, 0x52);
    KASSERT_NOT_NULL(second);
    KASSERT(malloc_test_chain_intact(second, 512, 0x52));
    KASSERT(malloc_test_chain_intact(kept, 64, 0x51)); /* its run was not handed to the 512-byte class */
    KASSERT_EQ(idle_class_releases(), releases);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(second);
    rvmem_free(kept);
    malloc_test_settle();
}
