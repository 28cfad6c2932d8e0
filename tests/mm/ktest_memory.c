/*
 * tests/mm/ktest_memory.c - the kernel's provider of test memory (tests/harness/ktest_arena.h):
 * arenas come from the machine's page allocator, so that none sits in the image's .bss.
 *
 * An arena of up to 2^BUDDY_MAX_ORDER pages is one buddy block (naturally aligned, so any
 * alignment up to its size holds). A larger one is a run of pages claimed at the highest aligned
 * address where every page is free (buddy_claim), and released in one call.
 */
#include "kernel/base/layout.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "tests/harness/ktest_arena.h"

#define LARGEST_BLOCK_BYTES ((size_t)PAGE_SIZE << BUDDY_MAX_ORDER)

/* The highest run of bytes (whole pages) at a multiple of align, claimed; NULL when there is none. */
static void *claim_run(size_t bytes, size_t align)
{
    struct buddy *pages = kernel_pages();
    for (unsigned region = pages->region_count; region-- > 0;) {
        uintptr_t first = pages->regions[region].first_pfn << PAGE_SHIFT;
        uintptr_t end = first + (pages->regions[region].page_count << PAGE_SHIFT);
        if (end - first < bytes)
            continue;
        for (uintptr_t start = (end - bytes) & ~(uintptr_t)(align - 1); start >= first; start -= align) {
            if (buddy_claim(pages, start, start + bytes) == 0)
                return (void *)start;
            if (start < align)
                break;
        }
    }
    return NULL;
}

void *ktest_memory_take(size_t bytes, size_t align, size_t *taken_bytes)
{
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    size_t whole_pages = (bytes + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
    unsigned order = 0;
    while (((size_t)PAGE_SIZE << order) < whole_pages || ((size_t)PAGE_SIZE << order) < align)
        if (++order > BUDDY_MAX_ORDER)
            break;
    if (order <= BUDDY_MAX_ORDER) {
        *taken_bytes = (size_t)PAGE_SIZE << order;
        return page_alloc(order);
    }
    *taken_bytes = whole_pages;
    return claim_run(whole_pages, align);
}

void ktest_memory_give_back(void *memory, size_t taken_bytes)
{
    if (taken_bytes > LARGEST_BLOCK_BYTES) {
        buddy_release(kernel_pages(), (uintptr_t)memory, (uintptr_t)memory + taken_bytes);
        return;
    }
    unsigned order = 0;
    while (((size_t)PAGE_SIZE << order) < taken_bytes)
        order++;
    page_free(memory, order);
}
