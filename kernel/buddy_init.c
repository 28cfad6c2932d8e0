/*
 * kernel/buddy_init.c - buddy_init: ranges to regions, the metadata carved from the ranges,
 * and the ranges covered with the largest aligned blocks.
 *
 * Builds: kernel, host
 */
#include "kernel/buddy.h"

#include "kernel/buddy_internal.h"
#include "kernel/errors.h"
#include "kernel/string.h"

/* A region being planned: [first_pfn, end_pfn) aligned to the largest block, and its usable pages. */
struct region_plan {
    uintptr_t first_pfn;
    uintptr_t end_pfn;
    uintptr_t managed_pages;
};

/* The whole pages of a range: [*first_pfn, *end_pfn), empty when *end_pfn <= *first_pfn. */
static void range_pages(const struct buddy_range *range, uintptr_t *first_pfn, uintptr_t *end_pfn)
{
    *first_pfn = (range->start >> BUDDY_PAGE_SHIFT) + ((range->start & PAGE_OFFSET_MASK) != 0);
    *end_pfn = range->end >> BUDDY_PAGE_SHIFT;
}

static void plan_merge(struct region_plan *plan, unsigned *count, unsigned i)
{
    if (plan[i + 1].end_pfn > plan[i].end_pfn)
        plan[i].end_pfn = plan[i + 1].end_pfn;
    plan[i].managed_pages += plan[i + 1].managed_pages;
    for (unsigned j = i + 1; j + 1 < *count; j++)
        plan[j] = plan[j + 1];
    (*count)--;
}

/* Adds the pages [first_pfn, end_pfn) to a plan sorted by address, keeping at most BUDDY_MAX_REGIONS. */
static void plan_add(struct region_plan *plan, unsigned *count, uintptr_t first_pfn, uintptr_t end_pfn)
{
    const uintptr_t block = order_pages(BUDDY_MAX_ORDER);
    struct region_plan added = {first_pfn & ~(block - 1), ((end_pfn - 1) | (block - 1)) + 1, end_pfn - first_pfn};
    unsigned i = *count;
    for (; i > 0 && plan[i - 1].first_pfn > added.first_pfn; i--)
        plan[i] = plan[i - 1];
    plan[i] = added;
    (*count)++;
    /* Spans that overlap or touch become one region. */
    for (unsigned j = 0; j + 1 < *count;) {
        if (plan[j].end_pfn >= plan[j + 1].first_pfn)
            plan_merge(plan, count, j);
        else
            j++;
    }
    if (*count > BUDDY_MAX_REGIONS) { /* too many banks: merge the closest two */
        unsigned closest = 0;
        for (unsigned j = 1; j + 1 < *count; j++) {
            if (plan[j + 1].first_pfn - plan[j].end_pfn < plan[closest + 1].first_pfn - plan[closest].end_pfn)
                closest = j;
        }
        plan_merge(plan, count, closest);
    }
}

/* Bytes of metadata a region of page_count pages needs; 0 if its bitmaps need too many levels. */
static uintptr_t region_metadata_bytes(uintptr_t page_count)
{
    uintptr_t bytes = (page_count + sizeof(unsigned long) - 1) & ~(uintptr_t)(sizeof(unsigned long) - 1);
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        uintptr_t words = page_count >> order;
        unsigned levels = 0;
        do {
            words = (words + WORD_BITS - 1) >> WORD_SHIFT;
            bytes += words * sizeof(unsigned long);
            levels++;
        } while (words > 1);
        if (levels > BUDDY_BITMAP_LEVELS)
            return 0;
    }
    return bytes;
}

/* Points a region's bitmaps into the metadata at *words; returns past the last word used. */
static unsigned long *region_layout(struct buddy_region *region, unsigned long *words)
{
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        struct buddy_bitmap *map = &region->free_slots[order];
        map->slot_count = region->page_count >> order;
        uintptr_t count = map->slot_count;
        map->level_count = 0;
        do {
            count = (count + WORD_BITS - 1) >> WORD_SHIFT;
            map->level[map->level_count++] = words;
            words += count;
        } while (count > 1);
    }
    return words;
}

/* The pages range i brings: its whole pages, less the metadata for the carved range. */
static void managed_pages(const struct buddy_range *ranges, unsigned i, unsigned carved, uintptr_t metadata_pfn,
                          uintptr_t *first_pfn, uintptr_t *end_pfn)
{
    range_pages(&ranges[i], first_pfn, end_pfn);
    if (i == carved)
        *end_pfn = metadata_pfn;
}

/* Whether the pages of range i border on those of another range (their blocks may merge). */
static bool touches_another(const struct buddy_range *ranges, unsigned range_count, unsigned i, unsigned carved,
                            uintptr_t metadata_pfn)
{
    uintptr_t first_i, end_i;
    managed_pages(ranges, i, carved, metadata_pfn, &first_i, &end_i);
    for (unsigned j = 0; j < range_count; j++) {
        uintptr_t first_j, end_j;
        managed_pages(ranges, j, carved, metadata_pfn, &first_j, &end_j);
        if (j != i && first_j < end_j && (end_j == first_i || first_j == end_i))
            return true;
    }
    return false;
}

/* Pages of a range that borders another: block by block, so that blocks across the border merge. */
static void put_range_merging(struct buddy *buddy, struct buddy_region *region, uintptr_t index, uintptr_t last)
{
    while (index < last) {
        unsigned order = buddy_largest_order(index, last - index);
        buddy_pool_put(buddy, region, index, order);
        index += order_pages(order);
    }
}

/* Sets the bits [from, to) of one bitmap level. */
static void bits_fill(unsigned long *words, uintptr_t from, uintptr_t to)
{
    uintptr_t first = from >> WORD_SHIFT, last = (to - 1) >> WORD_SHIFT;
    unsigned long first_mask = ~0UL << (from & (WORD_BITS - 1));
    unsigned long last_mask = ~0UL >> (WORD_BITS - 1 - ((to - 1) & (WORD_BITS - 1)));
    if (first == last) {
        words[first] |= first_mask & last_mask;
        return;
    }
    words[first] |= first_mask;
    memset(&words[first + 1], 0xff, (last - first - 1) * sizeof(unsigned long));
    words[last] |= last_mask;
}

/*
 * An isolated range: its blocks cannot merge with anything, so the bitmaps are filled a run
 * per order (every aligned slot inside the range is free) instead of block by block. This is
 * what keeps the initialisation of 4 GiB well under a million instructions.
 */
static void fill_range(struct buddy *buddy, struct buddy_region *region, uintptr_t index, uintptr_t last)
{
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        struct buddy_bitmap *map = &region->free_slots[order];
        uintptr_t first_slot = (index + order_pages(order) - 1) >> order, end_slot = last >> order;
        if (first_slot >= end_slot)
            continue;
        /* Reversed bits; each summary level marks the words just filled below it. */
        uintptr_t from = map->slot_count - end_slot, to = map->slot_count - first_slot;
        for (unsigned level = 0; level < map->level_count; level++) {
            bits_fill(map->level[level], from, to);
            from >>= WORD_SHIFT;
            to = ((to - 1) >> WORD_SHIFT) + 1;
        }
    }
    buddy->pool_free_pages += last - index;
    while (index < last) {
        unsigned order = buddy_largest_order(index, last - index);
        state_store(&region->page_state[index], (uint8_t)(PAGE_FREE | order));
        buddy->free_blocks[order]++;
        index += order_pages(order);
    }
}

int buddy_init(struct buddy *buddy, const struct buddy_range *ranges, unsigned range_count)
{
    memset(buddy, 0, sizeof *buddy);
    if (!ranges || range_count == 0)
        return -E_INVAL;
    for (unsigned i = 0; i < range_count; i++) {
        if (ranges[i].end < ranges[i].start)
            return -E_INVAL;
        uintptr_t first_i, end_i;
        range_pages(&ranges[i], &first_i, &end_i);
        for (unsigned j = 0; j < i && first_i < end_i; j++) {
            uintptr_t first_j, end_j;
            range_pages(&ranges[j], &first_j, &end_j);
            if (first_j < end_j && first_i < end_j && first_j < end_i)
                return -E_INVAL; /* overlapping ranges */
        }
    }

    /* Plan the regions: ranges close together share one, the metadata stays under 0.1%. */
    struct region_plan plan[BUDDY_MAX_REGIONS + 1];
    unsigned plan_count = 0;
    for (unsigned i = 0; i < range_count; i++) {
        uintptr_t first_pfn, end_pfn;
        range_pages(&ranges[i], &first_pfn, &end_pfn);
        if (first_pfn < end_pfn)
            plan_add(plan, &plan_count, first_pfn, end_pfn);
    }
    if (plan_count == 0)
        return -E_NOMEM;
    for (unsigned j = 0; j + 1 < plan_count;) {
        uintptr_t span = plan[j + 1].end_pfn - plan[j].first_pfn;
        if (span / 2 <= plan[j].managed_pages + plan[j + 1].managed_pages)
            plan_merge(plan, &plan_count, j);
        else
            j++;
    }

    /* Carve the metadata from the top of the highest range that can hold it. */
    uintptr_t metadata_bytes = 0;
    for (unsigned r = 0; r < plan_count; r++) {
        uintptr_t bytes = region_metadata_bytes(plan[r].end_pfn - plan[r].first_pfn);
        if (bytes == 0)
            return -E_RANGE;
        metadata_bytes += bytes;
    }
    uintptr_t metadata_pages = (metadata_bytes + PAGE_OFFSET_MASK) >> BUDDY_PAGE_SHIFT;
    unsigned carved = range_count;
    uintptr_t carved_end = 0;
    for (unsigned i = 0; i < range_count; i++) {
        uintptr_t first_pfn, end_pfn;
        range_pages(&ranges[i], &first_pfn, &end_pfn);
        if (first_pfn < end_pfn && end_pfn - first_pfn >= metadata_pages && end_pfn > carved_end) {
            carved = i;
            carved_end = end_pfn;
        }
    }
    if (carved == range_count)
        return -E_NOMEM;
    uintptr_t metadata_pfn = carved_end - metadata_pages;
    void *metadata = (void *)(metadata_pfn << BUDDY_PAGE_SHIFT);
    memset(metadata, 0, metadata_pages << BUDDY_PAGE_SHIFT); /* all PAGE_TAIL, no free slot */

    unsigned long *words = metadata;
    for (unsigned r = 0; r < plan_count; r++) {
        buddy->regions[r].free_slots = buddy->free_slots[r];
        buddy->regions[r].first_pfn = plan[r].first_pfn;
        buddy->regions[r].page_count = plan[r].end_pfn - plan[r].first_pfn;
        words = region_layout(&buddy->regions[r], words);
    }
    uint8_t *bytes = (uint8_t *)words;
    for (unsigned r = 0; r < plan_count; r++) {
        uintptr_t page_count = buddy->regions[r].page_count;
        buddy->regions[r].page_state = bytes;
        bytes += (page_count + sizeof(unsigned long) - 1) & ~(uintptr_t)(sizeof(unsigned long) - 1);
    }
    buddy->region_count = plan_count;
    buddy->metadata_bytes = metadata_pages << BUDDY_PAGE_SHIFT;

    /* Cover every range with the largest aligned blocks. */
    for (unsigned i = 0; i < range_count; i++) {
        uintptr_t first_pfn, end_pfn, index = 0;
        managed_pages(ranges, i, carved, metadata_pfn, &first_pfn, &end_pfn);
        if (first_pfn >= end_pfn)
            continue;
        struct buddy_region *region = region_of(buddy, first_pfn << BUDDY_PAGE_SHIFT, &index);
        uintptr_t last = index + (end_pfn - first_pfn);
        buddy->total_pages += end_pfn - first_pfn;
#if RVMEM_CHECKED
        buddy_poison((void *)(first_pfn << BUDDY_PAGE_SHIFT), (end_pfn - first_pfn) << BUDDY_PAGE_SHIFT);
#endif
        if (touches_another(ranges, range_count, i, carved, metadata_pfn))
            put_range_merging(buddy, region, index, last);
        else
            fill_range(buddy, region, index, last);
    }
    if (buddy->total_pages == 0)
        return -E_NOMEM;
    return 0;
}
