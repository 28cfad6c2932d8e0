/*
 * kernel/mm/fragmentation.c - the fragmentation index of a buddy allocator, as Linux mm/vmstat.c
 * defines it: for an order, whether a request failing there fails for lack of memory (towards 0)
 * or because the free memory is in pieces too small (towards 1). See buddy.h.
 */
#include "kernel/mm/buddy.h"

int buddy_fragmentation_index(const struct buddy_stats *stats, unsigned order)
{
    if (order > BUDDY_MAX_ORDER)
        return 0;
    /* fill_contig_page_info() */
    unsigned long free_pages = 0, free_blocks_total = 0, free_blocks_suitable = 0;
    for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
        unsigned long blocks = stats->free_blocks[k];
        free_blocks_total += blocks;
        free_pages += blocks << k;
        if (k >= order)
            free_blocks_suitable += blocks << (k - order);
    }
    /* __fragmentation_index(); on rv32 free_pages * 1000 < 2^20 * 1000 still fits. */
    if (free_blocks_total == 0)
        return 0;
    if (free_blocks_suitable)
        return -1000;
    return 1000 - (int)((1000 + ((free_pages * 1000) >> order)) / free_blocks_total);
}
