/*
 * kernel/top/census.c - counts free, allocated and unmanaged pages of a range (see buddy_census.h).
 *
 * Builds: kernel, host
 */
#include "kernel/top/census.h"

#include "kernel/mm/buddy.h"
#include "kernel/mm/buddy_internal.h"
#include "kernel/base/string.h"

void buddy_census_range(struct buddy *buddy, uintptr_t start, uintptr_t end, struct buddy_census *census)
{
    memset(census, 0, sizeof *census);
    uintptr_t page = start & ~PAGE_OFFSET_MASK;
    while (page < end) {
        uintptr_t index = 0, head = 0;
        const struct buddy_region *region = region_of(buddy, page, &index);
        uint8_t state = region ? block_of(region, index, &head) : PAGE_TAIL;
        uintptr_t pages = 1;
        if ((state & PAGE_STATE_MASK) == PAGE_TAIL) {
            census->unmanaged_pages++;
        } else {
            /* The rest of this block from page on, cut at end. */
            pages = head + order_pages(state & PAGE_ORDER_MASK) - index;
            uintptr_t left = ((end - page) + PAGE_OFFSET_MASK) >> BUDDY_PAGE_SHIFT;
            if (pages > left)
                pages = left;
            if ((state & PAGE_STATE_MASK) == PAGE_ALLOCATED)
                census->allocated_pages += pages;
            else
                census->free_pages += pages;
        }
        page += pages << BUDDY_PAGE_SHIFT;
        if (page == 0) /* wrapped past the top of the address space */
            break;
    }
}
