/*
 * lib/malloc/malloc_large.c - blocks above the size classes (> 64 KiB, and alignments above 32): TLSF
 * blocks, counted in the statistics.
 *
 * Thin on purpose: TLSF (malloc_tlsf.c) does the work; this adds the bytes the program holds
 * and the peak, which malloc_stats.c reports.
 */
#include "lib/malloc/malloc_internal.h"

void *large_alloc(size_t alignment, size_t size)
{
    void *block = tlsf_alloc_aligned(alignment, size, TLSF_GROW_UNLESS_IDLE);
    for (unsigned round = 0; !block && small_idle_make_room(MALLOC_SMALL_CLASSES, size, round); round++)
        block = tlsf_alloc_aligned(alignment, size, TLSF_NO_GROWTH); /* before growing: idle classes' runs */
    if (!block)
        block = tlsf_alloc_aligned(alignment, size, TLSF_GROW);
    if (block) {
        __atomic_fetch_add(&malloc_state.large_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
        malloc_note_peak();
    }
    return block;
}

void large_free(void *block)
{
    __atomic_fetch_sub(&malloc_state.large_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
    tlsf_free(block);
}
