/*
 * kernel/mm/buddy_init.c - buddy_init: ranges to regions, the metadata carved from the ranges,
 * and the ranges covered with the largest aligned blocks.
 */
#include "kernel/mm/buddy.h"

#include "kernel/mm/buddy_internal.h"
#include "kernel/base/errors.h"
#include "kernel/base/string.h"

/* A region being planned: [first_pfn, end_pfn) aligned to the largest block, and its usable pages. */
struct region_plan {
    uintptr_t first_pfn;
    uintptr_t end_pfn;
    uintptr_t managed_pages;
};

/* The whole pages of a range: [*first_pfn, *end_pfn), empty when *end_pfn <= *first_pfn. */
static void range_pages(const struct buddy_range *range, uintptr_t *first_pfn, uintptr_t *end_pfn)
{
    *first_pfn = (range->start >> PAGE_SHIFT) + ((range->start & PAGE_OFFSET_MASK) != 0);
    *end_pfn = range->end >> PAGE_SHIFT;
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

/* The order of a tree root covering page_count pages: the smallest t with 2^t >= page_count. */
static unsigned region_top_order(uintptr_t page_count)
{
    unsigned order = 0;
    while (order < 8 * sizeof(uintptr_t) - 1 && order_pages(order) < page_count)
        order++;
    return order;
}

/* Bytes of metadata a region of page_count pages needs (state bytes, then the tree); 0 if too large. */
static uintptr_t region_metadata_bytes(uintptr_t page_count)
{
    unsigned top = region_top_order(page_count);
    if (top >= BUDDY_TREE_ORDERS)
        return 0;
    uintptr_t bytes = page_count;
    for (unsigned order = 0; order <= top; order++)
        bytes += tree_level_nodes(page_count, order);
    return (bytes + sizeof(unsigned long) - 1) & ~(uintptr_t)(sizeof(unsigned long) - 1);
}

/*
 * Points a region's state bytes and tree levels into the metadata at bytes and initializes them
 * (each byte written once: the memset is most of buddy_init's cost); returns past them.
 */
static uint8_t *region_layout(struct buddy_region *region, uint8_t *bytes)
{
    region->page_state = bytes;
    memset(bytes, PAGE_TAIL, region->page_count); /* no page starts a block yet */
    bytes += region->page_count;
    region->top_order = region_top_order(region->page_count);
    uint8_t *tree = bytes;
    for (unsigned order = 0; order <= region->top_order; order++) {
        region->largest_free[order] = bytes;
        bytes += tree_level_nodes(region->page_count, order);
    }
    memset(tree, 0, (uintptr_t)(bytes - tree)); /* nothing free yet */
    return (uint8_t *)(((uintptr_t)bytes + sizeof(unsigned long) - 1) & ~(uintptr_t)(sizeof(unsigned long) - 1));
}

/* The pages range i brings: its whole pages, less the metadata for the carved range. */
static void managed_pages(const struct buddy_range *ranges, unsigned i, unsigned carved, uintptr_t metadata_pfn,
                          uintptr_t *first_pfn, uintptr_t *end_pfn)
{
    range_pages(&ranges[i], first_pfn, end_pfn);
    if (i == carved)
        *end_pfn = metadata_pfn;
}

/*
 * Puts the pages [index, last) into the pool as the largest aligned blocks that fit; each merges
 * with free blocks next to it (of a range that touches this one) and sets its tree nodes.
 */
static void put_range(struct buddy *buddy, struct buddy_region *region, uintptr_t index, uintptr_t last)
{
    while (index < last) {
        unsigned order = buddy_largest_order(index, last - index);
        buddy_pool_put(buddy, region, index, order);
        index += order_pages(order);
    }
}

int buddy_init(struct buddy *buddy, const struct buddy_range *ranges, unsigned range_count)
{
    memset(buddy, 0, sizeof *buddy);
    buddy->regions_end = buddy->regions; /* no region until the end: the pool is empty */
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++)
        buddy->caches[hart].room_bytes = BUDDY_CACHE_EMPTY_ROOM;
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
    uintptr_t metadata_pages = (metadata_bytes + PAGE_OFFSET_MASK) >> PAGE_SHIFT;
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
    void *metadata = (void *)(metadata_pfn << PAGE_SHIFT);

    uint8_t *bytes = metadata;
    for (unsigned r = 0; r < plan_count; r++) {
        buddy->regions[r].largest_free = buddy->largest_free[r];
        buddy->regions[r].first_pfn = plan[r].first_pfn;
        buddy->regions[r].page_count = plan[r].end_pfn - plan[r].first_pfn;
        bytes = region_layout(&buddy->regions[r], bytes);
    }
    buddy->region_count = plan_count;
    buddy->regions_end = &buddy->regions[plan_count];
    buddy->metadata_bytes = metadata_pages << PAGE_SHIFT;

    /* Cover every range with the largest aligned blocks. */
    for (unsigned i = 0; i < range_count; i++) {
        uintptr_t first_pfn, end_pfn, index = 0;
        managed_pages(ranges, i, carved, metadata_pfn, &first_pfn, &end_pfn);
        if (first_pfn >= end_pfn)
            continue;
        struct buddy_region *region = region_of(buddy, first_pfn << PAGE_SHIFT, &index);
        uintptr_t last = index + (end_pfn - first_pfn);
        buddy->total_pages += end_pfn - first_pfn;
#if RVMEM_CHECKED
        buddy_poison((void *)(first_pfn << PAGE_SHIFT), (end_pfn - first_pfn) << PAGE_SHIFT);
#endif
        put_range(buddy, region, index, last);
    }
    if (buddy->total_pages == 0)
        return -E_NOMEM;
    return 0;
}
