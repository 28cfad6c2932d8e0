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

/*
 * Bytes of a region's root index, rounded up to 8 so the next region's trees stay 8-aligned (a
 * refill clears tree nodes with 8-byte stores; on rv32 an index word is 4 bytes).
 */
static uintptr_t index_bytes(uintptr_t roots)
{
    return (index_words(roots) * sizeof(unsigned long) + 7) & ~(uintptr_t)7;
}

/*
 * Bytes of metadata a region of page_count pages needs (state bytes, the trees, then the root
 * index); 0 if it is too large.
 */
static uintptr_t region_metadata_bytes(uintptr_t page_count)
{
    if (page_count > order_pages(BUDDY_REGION_MAX_ORDER))
        return 0;
    uintptr_t roots = page_count >> BUDDY_MAX_ORDER;
    return page_count + roots * TREE_BYTES + index_bytes(roots);
}

/*
 * Points a region's state bytes, trees and root index into the metadata at bytes (word aligned)
 * and initializes them (each byte written once: the memset is most of buddy_init's cost);
 * returns past them, 8-aligned. The state bytes are a multiple of the largest block: the trees
 * and the index are 8-aligned too.
 */
static uint8_t *region_layout(struct buddy_region *region, unsigned long **index_levels, uint8_t *bytes)
{
    region->page_state = bytes;
    memset(bytes, PAGE_TAIL, region->page_count); /* no page starts a block yet */
    bytes += region->page_count;
    uintptr_t roots = region->page_count >> BUDDY_MAX_ORDER;
    uint8_t *trees = bytes;
    region->trees = trees;
    bytes += roots * TREE_BYTES;
    index_layout(region, index_levels, (unsigned long *)bytes, roots);
    bytes += index_bytes(roots);
    memset(trees, 0, (uintptr_t)(bytes - trees)); /* nothing free yet: every node 0, every set empty */
    return bytes;
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
 * Puts the whole roots [first_root, end_root), which held nothing free, into the pool as free
 * blocks of the largest order, as buddy_pool_put would one by one (no such block merges), with
 * their root index bits set a word at a time.
 */
static void put_roots(struct buddy *buddy, struct buddy_region *region, uintptr_t first_root, uintptr_t end_root)
{
    for (uintptr_t root = first_root; root < end_root; root++) {
        state_store(&region->page_state[root << BUDDY_MAX_ORDER], PAGE_FREE | BUDDY_MAX_ORDER);
        *root_node(region, root) = BUDDY_MAX_ORDER + 1;
    }
    index_fill(region, first_root, end_root);
    buddy->free_blocks[BUDDY_MAX_ORDER] += end_root - first_root;
    buddy->pool_free_pages += (end_root - first_root) << BUDDY_MAX_ORDER;
}

/*
 * Puts the pages [index, last) into the pool as the largest aligned blocks that fit; each merges
 * with free blocks next to it (of a range that touches this one) and sets its tree nodes. The
 * whole roots among them go in together.
 */
static void put_range(struct buddy *buddy, struct buddy_region *region, uintptr_t index, uintptr_t last)
{
    while (index < last) {
        unsigned order = buddy_largest_order(index, last - index);
        if (order == BUDDY_MAX_ORDER) {
            uintptr_t end_root = last >> BUDDY_MAX_ORDER;
            put_roots(buddy, region, index >> BUDDY_MAX_ORDER, end_root);
            index = end_root << BUDDY_MAX_ORDER;
            continue;
        }
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
        buddy->regions[r].first_pfn = plan[r].first_pfn;
        buddy->regions[r].page_count = plan[r].end_pfn - plan[r].first_pfn;
        bytes = region_layout(&buddy->regions[r], buddy->root_index[r], bytes);
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
