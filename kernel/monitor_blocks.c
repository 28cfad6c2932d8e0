/*
 * kernel/monitor_blocks.c - the monitor's `alloc` and `free`: blocks of pages taken from the
 * machine's page allocator and named by a small id, so that nothing typed is ever an address
 * (a user cannot free what the monitor did not hand out).
 */
#include <stdbool.h>

#include "kernel/buddy.h"
#include "kernel/layout.h"
#include "kernel/monitor_commands.h"
#include "kernel/monitor_text.h"
#include "kernel/pages.h"
#include "kernel/printf.h"
#include "kernel/string.h"

#define HELD_BLOCKS_MAX 32

struct held_block {
    void *address; /* NULL: the slot is empty */
    unsigned order;
};

static struct held_block held[HELD_BLOCKS_MAX]; /* id = index + 1 */

static void print_block(unsigned index)
{
    char size[SIZE_TEXT_BYTES];
    kprintf("  #%u: %p-%p, order %u page block (%s)\n", index + 1, held[index].address,
            (void *)((uintptr_t)held[index].address + ((uintptr_t)PAGE_SIZE << held[index].order)), held[index].order,
            size_text(size, (uint64_t)PAGE_SIZE << held[index].order));
}

static enum monitor_status list_blocks(void)
{
    unsigned shown = 0;
    for (unsigned index = 0; index < HELD_BLOCKS_MAX; index++)
        if (held[index].address) {
            print_block(index);
            shown++;
        }
    kprintf("%u block(s) held by the monitor (at most %d)\n", shown, HELD_BLOCKS_MAX);
    return MONITOR_DONE;
}

enum monitor_status monitor_alloc(int count, char **words)
{
    if (count == 1)
        return list_blocks();
    if (strcmp(words[1], "page") != 0 || count > 3)
        return MONITOR_BAD_USAGE;
    uint64_t order = 0;
    if (count == 3 && !parse_number(words[2], false, &order))
        return MONITOR_BAD_USAGE;
    if (order > BUDDY_MAX_ORDER) {
        kprintf("error: alloc: order %llu is above the largest, %d\n", (unsigned long long)order, BUDDY_MAX_ORDER);
        return MONITOR_DONE;
    }
    unsigned index = 0;
    while (index < HELD_BLOCKS_MAX && held[index].address)
        index++;
    if (index == HELD_BLOCKS_MAX) {
        kprintf("error: alloc: the monitor holds %d blocks already; free one first\n", HELD_BLOCKS_MAX);
        return MONITOR_DONE;
    }
    void *block = page_alloc((unsigned)order);
    if (!block) {
        kprintf("error: alloc: out of memory for an order %llu block\n", (unsigned long long)order);
        return MONITOR_DONE;
    }
    held[index].address = block;
    held[index].order = (unsigned)order;
    print_block(index);
    kprintf("  buddy free pages now %lu\n", buddy_free_pages(kernel_pages()));
    return MONITOR_DONE;
}

enum monitor_status monitor_free(int count, char **words)
{
    uint64_t id = 0;
    const char *word = count == 2 && words[1][0] == '#' ? words[1] + 1 : (count == 2 ? words[1] : "");
    if (count != 2 || !parse_number(word, false, &id))
        return MONITOR_BAD_USAGE;
    if (id == 0 || id > HELD_BLOCKS_MAX || !held[id - 1].address) {
        kprintf("error: free: no block #%llu (alloc alone lists them)\n", (unsigned long long)id);
        return MONITOR_DONE;
    }
    struct held_block *block = &held[id - 1];
    int error = page_free(block->address, block->order);
    kprintf("  freed #%llu (%p, order %u): %s; buddy free pages now %lu\n", (unsigned long long)id, block->address,
            block->order, error ? "REFUSED" : "ok", buddy_free_pages(kernel_pages()));
    block->address = NULL;
    return MONITOR_DONE;
}
