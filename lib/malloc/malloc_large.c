/*
 * lib/malloc/malloc_large.c - blocks above the size classes (> 64 KiB, and alignments above 32), and
 * every block in lean mode: TLSF blocks, counted in the statistics.
 *
 * Thin on purpose: TLSF (malloc_tlsf.c) does the work; this adds the bytes the program holds
 * and the peak, which malloc_stats.c reports. Lean mode's allocation and every TLSF block's free
 * (large_alloc_lean, large_free) are inline in malloc_internal.h, on malloc's and free's way in.
 */
#include "lib/malloc/malloc_internal.h"

/* A TLSF block of size at alignment: tlsf_alloc's shorter path at the default alignment. */
static void *large_take(size_t alignment, size_t size, enum tlsf_growth growth)
{
    return alignment <= MALLOC_ALIGNMENT ? tlsf_alloc(size, growth) : tlsf_alloc_aligned(alignment, size, growth);
}

void *large_alloc(size_t alignment, size_t size)
{
    void *block = large_take(alignment, size, TLSF_GROW_UNLESS_IDLE);
    for (unsigned round = 0; !block && small_idle_make_room(MALLOC_SMALL_CLASSES, size, round); round++)
        block = large_take(alignment, size, TLSF_NO_GROWTH); /* before growing: idle classes' runs */
    if (!block)
        block = large_take(alignment, size, TLSF_GROW);
    if (block)
        large_note_taken(block);
    return block;
}
