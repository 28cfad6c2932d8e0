/*
 * kernel/tour_heap.c - tour step 3 (the heap: box, vec, rc, arc on malloc) and the second half
 * of step 4 (malloc asking sbrk for more as it grows, and giving the top back).
 */
#include "kernel/brk.h"
#include "kernel/layout.h"
#include "kernel/monitor_text.h"
#include "kernel/pages.h"
#include "kernel/printf.h"
#include "kernel/tour.h"
#include "lib/malloc.h"
#include "lib/malloc_kernel.h"

#define GROWTH_BLOCKS 8
#define GROWTH_BLOCK_BYTES (24 * 1024) /* medium blocks: served by TLSF straight from the break */

void tour_heap(void)
{
    kprintf("\n3. The heap: box, vec, rc and arc on malloc\n");
    kprintf("   not in this build: it needs lib/box.h, vec.h, rc.h, arc.h (issue 5)\n");
}

static uintptr_t current_break(void)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    return heap.current;
}

void tour_malloc_growth(void)
{
    kprintf("   malloc takes its memory from the same break: it calls sbrk when it runs out\n");
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
    size_t returned = rvmem_malloc_trim();
    struct malloc_stats after;
    rvmem_malloc_stats(&after);
    char size[SIZE_TEXT_BYTES];
    kprintf("   freed them all: break %p (was %p at the top); free returns a free top itself, malloc_trim "
            "then returned %s\n",
            (void *)current_break(), (void *)highest, size_text(size, returned));
    tour_check(moves > 0 && highest > start_break && current_break() < highest &&
                   after.bytes_in_use == before.bytes_in_use && rvmem_malloc_validate() == 0,
               "malloc grew the break, freeing and trimming brought it down, the heap validates");
}
