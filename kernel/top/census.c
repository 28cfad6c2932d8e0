/*
 * kernel/top/census.c - counts free, allocated and unmanaged pages of a range (see census.h).
 */
#include "kernel/top/census.h"

#include "kernel/base/layout.h"
#include "kernel/base/string.h"
#include "kernel/mm/buddy.h"

void page_census_range(struct buddy *buddy, uintptr_t start, uintptr_t end, struct page_census *census)
{
    memset(census, 0, sizeof *census);
    uintptr_t page = start & ~(PAGE_SIZE - 1);
    while (page < end) {
        uintptr_t pages;
        enum buddy_page_state state = buddy_block_at(buddy, page, &pages);
        uintptr_t left = ((end - page) + PAGE_SIZE - 1) >> PAGE_SHIFT; /* the block is cut at end */
        if (pages > left)
            pages = left;
        if (state == BUDDY_PAGE_UNMANAGED)
            census->unmanaged_pages += pages;
        else if (state == BUDDY_PAGE_ALLOCATED)
            census->allocated_pages += pages;
        else
            census->free_pages += pages;
        page += pages << PAGE_SHIFT;
        if (page == 0) /* wrapped past the top of the address space */
            break;
    }
}
