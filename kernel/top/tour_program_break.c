/*
 * kernel/top/tour_program_break.c - tour step 4: the program break. sbrk moves one address, whole
 * pages come from the buddy allocator; then malloc grows the same break as it needs memory and
 * gives the top back when trimmed.
 */
#include <stdint.h>

#include "kernel/base/printf.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/sbrk.h"
#include "kernel/top/malloc_binding.h"
#include "kernel/top/monitor_text.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"
#include "lib/malloc/malloc.h"

#define GROWTH_BLOCKS 8
#define GROWTH_BLOCK_BYTES (24 * 1024) /* a size class of 8 blocks a run: one run straight from the break */

static uintptr_t current_break(void)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    return heap.current;
}

static void show_malloc_growth(void)
{
    kprintf("   malloc takes its memory from the same break: when it runs out it calls sbrk_uninit (sbrk without\n"
            "   the zeroing) for at least 64 KiB, or 1/16 of its heap\n");
    static void *blocks[GROWTH_BLOCKS];
    struct malloc_stats before;
    rvmem_malloc_stats(&before);
    uintptr_t start_break = current_break(), highest = start_break;
    unsigned moves = 0;
    for (unsigned i = 0; i < GROWTH_BLOCKS; i++) {
        uintptr_t old_break = current_break();
        blocks[i] = malloc(GROWTH_BLOCK_BYTES);
        uintptr_t new_break = current_break();
        kprintf("   malloc(%u) = %p   break %p%s\n", (unsigned)GROWTH_BLOCK_BYTES, blocks[i], (void *)new_break,
                new_break != old_break ? "  <- sbrk" : "");
        moves += new_break != old_break;
        if (new_break > highest)
            highest = new_break;
    }
    for (unsigned i = 0; i < GROWTH_BLOCKS; i++)
        free(blocks[GROWTH_BLOCKS - 1 - i]);
    uintptr_t freed_break = current_break();
    rvmem_malloc_trim();
    struct malloc_stats after;
    rvmem_malloc_stats(&after);
    char size[SIZE_TEXT_BYTES];
    kprintf("   freed them all: they stay with their size class (this hart's cache, the class's lists), break\n"
            "   still %p; malloc_trim gives them back, releases their run and the free top: break %p, %s returned\n",
            (void *)freed_break, (void *)current_break(), size_text(size, highest - current_break()));
    tour_check(moves > 0 && highest > start_break && current_break() < highest &&
                   after.bytes_in_use == before.bytes_in_use && rvmem_malloc_validate() == 0,
               "malloc grew the break, freeing and trimming brought it down, the heap validates");
}

static void print_break(const char *what)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    kprintf("   %-26s break %p, heap holds %lu page(s), buddy free pages %lu\n", what, (void *)heap.current,
            (unsigned long)heap.pages_held, buddy_free_pages(kernel_pages()));
}

void tour_program_break(void)
{
    kprintf("\n4. The program break: sbrk moves one address; whole pages come from the buddy allocator\n");
    struct brk_stats before;
    brk_get_stats(kernel_heap(), &before);
    kprintf("   the heap starts at %p, just above the image, and may grow to %p\n", (void *)before.start,
            (void *)before.limit);
    print_break("now:");
    static const long moves[] = {100, 5000, 16384, -(100 + 5000 + 16384)};
    bool returned_previous = true;
    for (unsigned i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        struct brk_stats heap;
        brk_get_stats(kernel_heap(), &heap);
        void *previous = sbrk(moves[i]);
        char what[32];
        ksnprintf(what, sizeof what, "sbrk(%ld) = %p:", moves[i], previous);
        print_break(what);
        returned_previous = returned_previous && (uintptr_t)previous == heap.current;
    }
    struct brk_stats after;
    brk_get_stats(kernel_heap(), &after);
    kprintf("   growing past a page claims the pages just above from the buddy allocator; shrinking gives them back\n");
    tour_check(returned_previous && after.current == before.current && after.pages_held == before.pages_held,
               "sbrk returns the old break, and the break and its pages come back");
    show_malloc_growth();
}
