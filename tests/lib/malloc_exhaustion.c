/*
 * tests/lib/malloc_exhaustion.c - malloc when the heap is exhausted: NULL, nothing leaked, and
 * the next request after memory is freed succeeds. Needs a small heap: make test boots with
 * heap_max=64K for this suite (an explicit suite: it runs only when named). The test takes the
 * first 24 KiB above the break itself, so malloc's 64 KiB pad does not fit in the 40 KiB left:
 * its growth must fall back to what each request lacks, down to the last page.
 */
#include "kernel/mm/brk.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/sbrk.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_exhaustion_cases.h"

#define HELD_BELOW_MALLOC_BYTES (24 * 1024)

KTEST_EXPLICIT(malloc_exhaustion, null_then_recovery)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    KASSERT_LE(heap.limit - heap.start, 1u << 20); /* boot with heap_max=64K */
    rvmem_malloc_trim();
    char *held = sbrk(HELD_BELOW_MALLOC_BYTES);
    KASSERT_NE(held, (char *)-1);
    KASSERT_LT(heap.limit - (uintptr_t)sbrk(0), (uintptr_t)64 * 1024); /* less than a pad is left */
    malloc_exhaustion_cases(heap.limit);
    KASSERT_EQ(brk(held), 0);
}
