/*
 * kernel/tour_heap.c - tour step 3 (the heap: box, vec, rc, arc on malloc) and the second half
 * of step 4 (malloc asking sbrk for more as it grows, and giving the top back).
 */
#include <stdbool.h>

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

#define GROWTH_STEPS 12

/* A buffer doubling with realloc, as a growing vector does: where it lives after each step. */
static void buffer_growth(void)
{
    kprintf("   a buffer doubling with realloc (what a growing vec does underneath):\n");
    size_t capacity = 16;
    uint32_t *buffer = malloc(capacity * sizeof *buffer);
    unsigned moves = 0;
    bool contents_kept = buffer != NULL;
    for (size_t i = 0; i < capacity && buffer; i++)
        buffer[i] = (uint32_t)i;
    kprintf("   %7zu bytes at %p  malloc\n", capacity * sizeof *buffer, (void *)buffer);
    for (unsigned step = 0; step < GROWTH_STEPS && buffer; step++) {
        uint32_t *grown = realloc(buffer, 2 * capacity * sizeof *buffer);
        if (!grown)
            break;
        for (size_t i = 0; i < capacity; i++)
            contents_kept = contents_kept && grown[i] == (uint32_t)i;
        for (size_t i = capacity; i < 2 * capacity; i++)
            grown[i] = (uint32_t)i;
        bool moved = grown != buffer;
        moves += moved;
        if (step < 4 || step + 2 >= GROWTH_STEPS)
            kprintf("   %7zu bytes at %p%s\n", 2 * capacity * sizeof *buffer, (void *)grown,
                    moved ? "  moved: copied to a bigger block" : "  grown in place");
        else if (step == 4)
            kprintf("   ...\n");
        buffer = grown;
        capacity *= 2;
    }
    free(buffer);
    rvmem_malloc_trim();
    tour_check(buffer != NULL && moves > 0 && contents_kept, "the buffer moved as it grew, and kept its contents");
}

void tour_heap(void)
{
    kprintf("\n3. The heap: blocks whose size and lifetime the program decides at run time\n");
    buffer_growth();
    kprintf("   box, vec, rc and arc: not in this build (lib/box.h, vec.h, rc.h, arc.h: issue 5)\n");
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
