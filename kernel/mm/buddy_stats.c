/*
 * kernel/mm/buddy_stats.c - statistics of the buddy allocator: totals, free blocks per order
 * (/proc/buddyinfo style) and the fragmentation index of Linux mm/vmstat.c.
 *
 * Builds: kernel, host
 */
#include "kernel/mm/buddy.h"

#include "kernel/mm/buddy_internal.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"

#define BUDDY_LINE_BYTES 192 /* 16 orders of " 123456" or " -1.000" */

static unsigned long cached_pages(struct buddy *buddy)
{
    unsigned long pages = 0;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        spin_lock(&buddy->caches[hart].lock);
        pages += buddy_cache_pages(&buddy->caches[hart]);
        spin_unlock(&buddy->caches[hart].lock);
    }
    return pages;
}

void buddy_get_stats(struct buddy *buddy, struct buddy_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->cached_pages = cached_pages(buddy);
    spin_lock(&buddy->lock);
    unsigned long pool_free_pages = buddy->pool_free_pages;
    stats->peak_used_pages = buddy->peak_out_pages;
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        stats->free_blocks[order] = buddy->free_blocks[order];
    spin_unlock(&buddy->lock);
    stats->total_pages = buddy->total_pages;
    stats->free_pages = pool_free_pages + stats->cached_pages;
    stats->used_pages = stats->total_pages - stats->free_pages;
    stats->metadata_bytes = buddy->metadata_bytes;
}

unsigned long buddy_free_pages(struct buddy *buddy)
{
    struct buddy_stats stats;
    buddy_get_stats(buddy, &stats);
    return stats.free_pages;
}

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

void buddy_print_stats(struct buddy *buddy, const char *name)
{
    struct buddy_stats stats;
    buddy_get_stats(buddy, &stats);
    kprintf("buddy %s: total %lu pages, free %lu (cached %lu), used %lu, peak used %lu, metadata %lu bytes\n", name,
            stats.total_pages, stats.free_pages, stats.cached_pages, stats.used_pages, stats.peak_used_pages,
            stats.metadata_bytes);

    char line[BUDDY_LINE_BYTES];
    size_t length = 0;
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER && length < sizeof line; order++)
        length += (size_t)ksnprintf(line + length, sizeof line - length, " %6lu", stats.free_blocks[order]);
    kprintf("buddy %s: free blocks per order:%s\n", name, line);

    length = 0;
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER && length < sizeof line; order++) {
        int index = buddy_fragmentation_index(&stats, order);
        int magnitude = index < 0 ? -index : index;
        length += (size_t)ksnprintf(line + length, sizeof line - length, " %s%d.%03d", index < 0 ? "-" : " ",
                                    magnitude / 1000, magnitude % 1000);
    }
    kprintf("buddy %s: fragmentation index:  %s\n", name, line);
}
