/*
 * kernel/top/tour_fragmentation.c - tour step 5: a churn fragments a small private buddy allocator,
 * shown as a picture of its pages and as Linux's fragmentation index, then everything coalesces
 * back. The arena is one 1 MiB block taken from the machine's page allocator and given back.
 */
#include "kernel/mm/buddy.h"
#include "kernel/top/monitor_text.h"
#include "kernel/base/layout.h"
#include "kernel/mm/pages.h"
#include "kernel/base/printf.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"

#define ARENA_ORDER 8 /* 256 pages, 1 MiB */
#define ARENA_PAGES (1u << ARENA_ORDER)
#define PICTURE_COLUMNS 64
#define CHURN_FREE_EIGHTHS 5 /* each page is freed with probability 5/8 */

static struct buddy arena; /* about 10 KiB of metadata structs: keep them off the stack */
static void *held_pages[ARENA_PAGES];

static void print_arena(uintptr_t start, const char *title)
{
    kprintf("   %s\n", title);
    for (unsigned row = 0; row < ARENA_PAGES / PICTURE_COLUMNS; row++) {
        char line[PICTURE_COLUMNS + 1];
        uintptr_t row_start = start + (uintptr_t)row * PICTURE_COLUMNS * PAGE_SIZE;
        for (unsigned column = 0; column < PICTURE_COLUMNS; column++)
            line[column] = picture_cell(&arena, row_start + (uintptr_t)column * PAGE_SIZE, PAGE_SIZE, 0, 0);
        line[PICTURE_COLUMNS] = '\0';
        kprintf("   %p |%s|\n", (void *)row_start, line);
    }
}

/* The orders at which a request would fail for want of a block, although pages are free. */
static void print_indexes(void)
{
    struct buddy_stats stats;
    buddy_get_stats(&arena, &stats);
    kprintf("   free %lu of %lu pages; free blocks per order:", stats.free_pages, stats.total_pages);
    for (unsigned order = 0; order <= ARENA_ORDER; order++)
        kprintf(" %lu", stats.free_blocks[order]);
    kprintf("\n   fragmentation index per order (-1: a block is there; towards 1: free pages too scattered):\n  ");
    for (unsigned order = 0; order <= ARENA_ORDER; order++) {
        int index = buddy_fragmentation_index(&stats, order);
        int magnitude = index < 0 ? -index : index;
        kprintf(" %u:%s%d.%03d", order, index < 0 ? "-" : "", magnitude / 1000, magnitude % 1000);
    }
    kprintf("\n");
}

void tour_fragmentation(void)
{
    kprintf("\n5. Fragmentation: free memory in pieces too small to use\n");
    void *block = page_alloc(ARENA_ORDER);
    if (!block) {
        tour_check(false, "a 1 MiB arena from the page allocator");
        return;
    }
    uintptr_t start = (uintptr_t)block;
    struct buddy_range range = {start, start + (uintptr_t)ARENA_PAGES * PAGE_SIZE};
    if (buddy_init(&arena, &range, 1) != 0) {
        tour_check(false, "a private buddy allocator over the arena");
        page_free(block, ARENA_ORDER);
        return;
    }
    kprintf("   a private buddy allocator over %p-%p (its metadata at the top, blank)\n", (void *)range.start,
            (void *)range.end);
    unsigned held = 0;
    while (held < ARENA_PAGES && (held_pages[held] = buddy_alloc(&arena, 0)) != NULL)
        held++;
    uint32_t random = 0x2545f491; /* a fixed seed: the same picture on every run */
    unsigned kept = 0;
    for (unsigned i = 0; i < held; i++) {
        random = random * 1664525u + 1013904223u;
        if ((random >> 24) % 8 < CHURN_FREE_EIGHTHS)
            buddy_free(&arena, held_pages[i], 0);
        else
            held_pages[kept++] = held_pages[i];
    }
    buddy_drain_all_caches(&arena);
    kprintf("   churn: %u pages allocated one by one, then %u of them freed at random\n", held, held - kept);
    print_arena(start, "'#' allocated page, '.' free page:");
    print_indexes();
    void *sixteen = buddy_alloc(&arena, 4);
    struct buddy_stats stats;
    buddy_get_stats(&arena, &stats);
    kprintf("   a request for 16 contiguous pages (order 4) %s, with %lu pages free\n", sixteen ? "succeeds" : "FAILS",
            stats.free_pages);
    tour_check(sixteen == NULL && stats.free_pages >= 16 && buddy_fragmentation_index(&stats, 4) > 500,
               "free pages enough for 16, but no 16 contiguous: fragmentation index above 0.5");
    if (sixteen)
        buddy_free(&arena, sixteen, 4);
    for (unsigned i = 0; i < kept; i++)
        buddy_free(&arena, held_pages[i], 0);
    buddy_drain_all_caches(&arena);
    kprintf("   after freeing the rest, buddies merge back:\n");
    print_indexes();
    buddy_get_stats(&arena, &stats);
    tour_check(stats.free_pages == stats.total_pages && buddy_validate(&arena) == 0,
               "every page free again and the allocator consistent");
    page_free(block, ARENA_ORDER);
}
