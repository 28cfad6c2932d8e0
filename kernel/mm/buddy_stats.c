/*
 * kernel/mm/buddy_stats.c - statistics of the buddy allocator: totals, free blocks per order
 * (/proc/buddyinfo style, with the fragmentation index of kernel/mm/fragmentation.c), and the
 * state of any page.
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

enum buddy_page_state buddy_block_at(struct buddy *buddy, uintptr_t address, uintptr_t *pages)
{
    uintptr_t index = 0, head = 0;
    const struct buddy_region *region = region_of(buddy, address, &index);
    uint8_t state = region ? block_of(region, index, &head) : PAGE_TAIL;
    *pages = 1;
    if ((state & PAGE_STATE_MASK) == PAGE_TAIL)
        return BUDDY_PAGE_UNMANAGED;
    *pages = head + order_pages(state & PAGE_ORDER_MASK) - index;
    return (state & PAGE_STATE_MASK) == PAGE_ALLOCATED ? BUDDY_PAGE_ALLOCATED : BUDDY_PAGE_FREE;
}
