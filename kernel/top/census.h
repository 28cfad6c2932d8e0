/*
 * kernel/top/census.h - which pages of an address range are free, allocated or not managed:
 * the data behind the monitor's `map` picture and the tour's fragmentation picture.
 *
 * A census reads the allocator's state bytes without its locks, so on a busy machine it is a
 * snapshot that may be a few pages off; it never changes the allocator. Pages held by a
 * per-hart cache count as free (as buddy_stats does).
 * Cost: O(blocks in the range + BUDDY_MAX_ORDER + regions) for a range inside one region,
 * plus one step per page that is not managed.
 */
#ifndef RVMEM_KERNEL_TOP_CENSUS_H
#define RVMEM_KERNEL_TOP_CENSUS_H

#include <stdint.h>

struct buddy;

struct page_census {
    unsigned long free_pages;      /* in a free block of the pool or in a per-hart cache */
    unsigned long allocated_pages; /* inside an allocated block (claimed pages included) */
    unsigned long unmanaged_pages; /* not the allocator's: excluded RAM, metadata, holes, no RAM */
};

/*
 * Counts the pages of [start, end) (rounded outward to whole pages) into *census.
 * Safe on any hart at any time (a snapshot, see above); start >= end gives all zeros.
 */
void page_census_range(struct buddy *buddy, uintptr_t start, uintptr_t end, struct page_census *census);

#endif
