/*
 * tests/kernel_malloc_exhaustion.c - malloc when the heap is exhausted: NULL, nothing leaked, and
 * the next request after memory is freed succeeds. Needs a small heap: make test boots with
 * heap_max=64K for this suite (an explicit suite: it runs only when named).
 */
#include "kernel/brk.h"
#include "kernel/pages.h"
#include "lib/malloc.h"
#include "tests/ktest.h"
#include "tests/malloc_exhaustion_cases.h"

KTEST_EXPLICIT(malloc_exhaustion, null_then_recovery)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    KASSERT_LE(heap.limit - heap.start, 1u << 20); /* boot with heap_max=64K */
    malloc_exhaustion_cases();
}
