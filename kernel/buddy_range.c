/*
 * kernel/buddy_range.c - claiming an exact page range out of the buddy allocator's free
 * memory (for the program break) and releasing page ranges back.
 *
 * Builds: kernel, host
 */
#include "kernel/buddy.h"
#include "kernel/platform.h"

#include "kernel/buddy_internal.h"
#include "kernel/errors.h"
#include "kernel/misuse.h"

/* The region holding the page range [start, end) and its first and end page, or NULL. */
static struct buddy_region *range_region(struct buddy *buddy, uintptr_t start, uintptr_t end, uintptr_t *first,
                                         uintptr_t *last)
{
    if (((start | end) & PAGE_OFFSET_MASK) || end <= start)
        return NULL;
    struct buddy_region *region = region_of(buddy, start, first);
    uintptr_t pages = (end - start) >> BUDDY_PAGE_SHIFT;
    if (!region || pages > region->page_count - *first)
        return NULL;
    *last = *first + pages;
    return region;
}

/* 0 if every page of [first, last) is free in the pool, else -E_INVAL (a page is not managed) or -E_BUSY. */
static int claim_check(const struct buddy_region *region, uintptr_t first, uintptr_t last, bool *cached)
{
    int result = 0;
    for (uintptr_t index = first; index < last;) {
        uintptr_t head;
        uint8_t state = block_of(region, index, &head);
        if (state == PAGE_TAIL)
            return -E_INVAL;
        if ((state & PAGE_STATE_MASK) != PAGE_FREE) {
            result = -E_BUSY;
            if ((state & PAGE_STATE_MASK) == PAGE_CACHED)
                *cached = true;
        }
        index = head + order_pages(state & PAGE_ORDER_MASK);
    }
    return result;
}

/*
 * Takes [first, last), all free, out of the pool as order-0 allocated pages, in aligned pieces
 * (a free aligned piece always lies inside one free block: free buddies are always merged).
 * Returns the first damaged poison byte found in checked builds, else 0.
 */
static uintptr_t claim_take(struct buddy *buddy, struct buddy_region *region, uintptr_t first, uintptr_t last)
{
    uintptr_t damage = 0;
    for (uintptr_t index = first; index < last;) {
        unsigned order = buddy_largest_order(index, last - index);
        buddy_pool_take(buddy, region, index, order);
#if RVMEM_CHECKED
        if (!damage)
            damage =
                buddy_poison_damage((void *)region_page_address(region, index), order_pages(order) << BUDDY_PAGE_SHIFT);
#endif
        for (uintptr_t i = 0; i < order_pages(order); i++)
            state_store(&region->page_state[index + i], PAGE_ALLOCATED);
        buddy_tree_clear_inside(region, index, order);
        index += order_pages(order);
    }
    return damage;
}

int buddy_claim(struct buddy *buddy, uintptr_t start, uintptr_t end)
{
    stack_check("buddy claim/release");
    uintptr_t first, last;
    if (start == end && !(start & PAGE_OFFSET_MASK))
        return 0;
    struct buddy_region *region = range_region(buddy, start, end, &first, &last);
    if (!region)
        return -E_INVAL;
    for (int attempt = 0;; attempt++) {
        bool cached = false;
        uintptr_t damage = 0;
        spin_lock(&buddy->lock);
        int result = claim_check(region, first, last, &cached);
        if (result == 0)
            damage = claim_take(buddy, region, first, last);
        spin_unlock(&buddy->lock);
        if (result == -E_BUSY && cached && attempt == 0) {
            buddy_drain_caches(buddy); /* pages in caches are free: give them back and look again */
            continue;
        }
        if (damage)
            buddy_report(MISUSE_WRITE_AFTER_FREE, damage, __builtin_return_address(0));
        return result;
    }
}

int buddy_release(struct buddy *buddy, uintptr_t start, uintptr_t end)
{
    stack_check("buddy claim/release");
    uintptr_t first, last;
    if (start == end && !(start & PAGE_OFFSET_MASK))
        return 0;
    struct buddy_region *region = range_region(buddy, start, end, &first, &last);
    if (!region)
        return -E_INVAL;
    enum misuse_kind kind = BUDDY_FREE_OK;
    uintptr_t bad = first;
    spin_lock(&buddy->lock);
    for (; bad < last && kind == BUDDY_FREE_OK; bad++) {
        if (state_load(&region->page_state[bad]) != PAGE_ALLOCATED)
            kind = buddy_classify_free(region, bad, 0, true);
    }
    if (kind == BUDDY_FREE_OK) {
        for (uintptr_t index = first; index < last;) {
            unsigned order = buddy_largest_order(index, last - index);
            for (uintptr_t i = 1; i < order_pages(order); i++)
                state_store(&region->page_state[index + i], PAGE_TAIL);
#if RVMEM_CHECKED
            buddy_poison((void *)region_page_address(region, index), order_pages(order) << BUDDY_PAGE_SHIFT);
#endif
            buddy_pool_put(buddy, region, index, order);
            index += order_pages(order);
        }
    }
    spin_unlock(&buddy->lock);
    if (kind != BUDDY_FREE_OK) {
        buddy_report(kind, region_page_address(region, bad - 1), __builtin_return_address(0));
        return -E_INVAL;
    }
    return 0;
}
