/*
 * tests/lib/malloc_idle.c - memory freed as one size serves the next (lib/malloc/malloc_idle.c):
 * a class whose blocks are all free gives its runs back before the heap grows, and a class the
 * program still holds a block of keeps them.
 *
 * And a class whose usual run only growth could give takes a short run in free memory inside the
 * heap instead (new_run, small_idle_run_instead_of_growth).
 *
 * The blocks are chained through their own first word, so a phase of 2 MiB needs no array.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h" /* runs, classes and TLSF's own calls, to set the heap up */
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

/* Takes every TLSF chunk that holds bytes without growing the heap (listed ones and the top's
 * front), chained through their payloads onto *taken. */
static void take_all_that_hold(size_t bytes, void **taken)
{
    void *payload;
    while ((payload = tlsf_alloc(bytes, TLSF_NO_GROWTH)) != NULL) {
        *(void **)payload = *taken;
        *taken = payload;
    }
}

KTEST(malloc_idle, a_short_run_takes_free_memory_inside_the_heap_before_it_grows)
{
    malloc_test_settle();
    unsigned class_index = MALLOC_SMALL_CLASSES - 1; /* 64 KiB blocks: usual runs of some 1 MiB */
    size_t usual = small_run_bytes(class_index), shorter = small_short_run_bytes(class_index, 0);
    KASSERT_GT(shorter, 0);
    /* TLSF's good fit looks only at lists whose every chunk holds a request (rounded up by at most
     * an eighth here), and a run starts on a page. */
    size_t hole_bytes = shorter + shorter / 8 + 2 * PAGE_SIZE;
    KASSERT_LT(hole_bytes, usual);
    KASSERT_EQ(malloc_state.centrals[class_index].run_count, 0); /* the premise: the class holds no run */
    /* The heap set up: no free chunk (nor the top) holds a short run, but for one free chunk
     * between two used ones that holds a short run and no usual one. */
    void *taken = NULL;
    take_all_that_hold(shorter, &taken);
    void *hole = tlsf_alloc(hole_bytes, TLSF_GROW); /* from the top */
    void *fence = tlsf_alloc(shorter, TLSF_GROW);
    KASSERT_NOT_NULL(hole);
    KASSERT_NOT_NULL(fence);
    take_all_that_hold(shorter, &taken); /* what growth left on the top */
    tlsf_free(hole);
    struct malloc_stats before;
    rvmem_malloc_stats(&before);
    void *block = rvmem_malloc(small_class_bytes(class_index) - 64); /* room for the checked build's header */
    KASSERT_NOT_NULL(block);
    struct small_run *run = small_run_of((uintptr_t)block);
    KASSERT_EQ(run->class_index, class_index);
    /* Without short runs the class takes a usual run, which only growth gives. */
    KASSERT_EQ(small_run_size(run), shorter);
    KASSERT_GT((uintptr_t)run, (uintptr_t)hole - PAGE_SIZE);
    KASSERT_LT((uintptr_t)run, (uintptr_t)fence);
    KASSERT_EQ(heap_span(), before.heap_span_bytes);
    struct malloc_stats after;
    rvmem_malloc_stats(&after);
    KASSERT_EQ(after.short_runs, before.short_runs + 1);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(block);
    tlsf_free(fence);
    while (taken) {
        void *next = *(void **)taken;
        tlsf_free(taken);
        taken = next;
    }
    malloc_test_settle();
    KASSERT_EQ(malloc_state.centrals[class_index].run_count, 0); /* the short run went back */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
}
