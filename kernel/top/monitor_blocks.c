/*
 * kernel/top/monitor_blocks.c - the monitor's `alloc` and `free`: blocks of pages from the machine's
 * page allocator and heap blocks from malloc, each named by an id, so that nothing typed is ever an
 * address (a user cannot free what the monitor did not hand out). Ids count up from 1 and are never
 * reused in a session: a stale id (a block freed already) is refused, never taken for a newer block.
 */
#include <stdbool.h>

#include "kernel/mm/buddy.h"
#include "kernel/base/layout.h"
#include "kernel/top/monitor_commands.h"
#include "kernel/top/monitor_text.h"
#include "kernel/mm/pages.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "kernel/top/malloc_binding.h"

#define HELD_BLOCKS_MAX 32

struct held_block {
    uint64_t id; /* what the user types; 0: the slot is empty */
    void *address;
    bool from_malloc;
    unsigned order; /* page blocks */
    size_t bytes;   /* malloc blocks: what was asked for */
};

static struct held_block held[HELD_BLOCKS_MAX];
static uint64_t last_id; /* the id the last alloc handed out; the next is last_id + 1 */

unsigned monitor_blocks_held(void)
{
    unsigned count = 0;
    for (unsigned index = 0; index < HELD_BLOCKS_MAX; index++)
        count += held[index].id != 0;
    return count;
}

uint64_t monitor_blocks_last_id(void)
{
    return last_id;
}

/* Fills an empty slot with a block and gives it the next id. */
static void hold(unsigned index, struct held_block block)
{
    block.id = ++last_id;
    held[index] = block;
}

static void print_block(unsigned index)
{
    const struct held_block *block = &held[index];
    char size[SIZE_TEXT_BYTES];
    if (block->from_malloc) {
        kprintf("  #%llu: %p, malloc block of %zu bytes (usable %zu)\n", (unsigned long long)block->id, block->address,
                block->bytes, malloc_usable_size(block->address));
        return;
    }
    kprintf("  #%llu: %p-%p, order %u page block (%s)\n", (unsigned long long)block->id, block->address,
            (void *)((uintptr_t)block->address + ((uintptr_t)PAGE_SIZE << block->order)), block->order,
            size_text(size, (uint64_t)PAGE_SIZE << block->order));
}

static enum monitor_status list_blocks(void)
{
    unsigned shown = 0;
    for (unsigned index = 0; index < HELD_BLOCKS_MAX; index++)
        if (held[index].id) {
            print_block(index);
            shown++;
        }
    kprintf("%u block(s) held by the monitor (at most %d)\n", shown, HELD_BLOCKS_MAX);
    return MONITOR_DONE;
}

/* The first empty slot, or HELD_BLOCKS_MAX after printing why there is none. */
static unsigned free_slot(void)
{
    unsigned index = 0;
    while (index < HELD_BLOCKS_MAX && held[index].id)
        index++;
    if (index == HELD_BLOCKS_MAX)
        kprintf("error: alloc: the monitor holds %d blocks already; free one first\n", HELD_BLOCKS_MAX);
    return index;
}

static enum monitor_status alloc_pages(int count, char **words)
{
    uint64_t order = 0;
    if (count > 3 || (count == 3 && !parse_number(words[2], false, &order)))
        return MONITOR_BAD_USAGE;
    if (order > BUDDY_MAX_ORDER) {
        kprintf("error: alloc: order %llu is above the largest, %d\n", (unsigned long long)order, BUDDY_MAX_ORDER);
        return MONITOR_DONE;
    }
    unsigned index = free_slot();
    if (index == HELD_BLOCKS_MAX)
        return MONITOR_DONE;
    void *block = page_alloc((unsigned)order);
    if (!block) {
        kprintf("error: alloc: out of memory for an order %llu block\n", (unsigned long long)order);
        return MONITOR_DONE;
    }
    hold(index, (struct held_block){.address = block, .order = (unsigned)order});
    print_block(index);
    kprintf("  buddy free pages now %lu\n", buddy_free_pages(kernel_pages()));
    return MONITOR_DONE;
}

static enum monitor_status alloc_heap(int count, char **words)
{
    uint64_t bytes = 0;
    if (count != 3 || !parse_number(words[2], true, &bytes))
        return MONITOR_BAD_USAGE;
    unsigned index = free_slot();
    if (index == HELD_BLOCKS_MAX)
        return MONITOR_DONE;
    void *block = (size_t)bytes == bytes ? malloc((size_t)bytes) : NULL;
    if (!block) {
        kprintf("error: alloc: malloc(%llu) failed: out of memory\n", (unsigned long long)bytes);
        return MONITOR_DONE;
    }
    hold(index, (struct held_block){.address = block, .from_malloc = true, .bytes = (size_t)bytes});
    print_block(index);
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    kprintf("  malloc: %zu bytes in use\n", stats.bytes_in_use);
    return MONITOR_DONE;
}

enum monitor_status monitor_alloc(int count, char **words)
{
    if (count == 1)
        return list_blocks();
    if (strcmp(words[1], "page") == 0)
        return alloc_pages(count, words);
    if (strcmp(words[1], "heap") == 0)
        return alloc_heap(count, words);
    return MONITOR_BAD_USAGE;
}

/* The slot holding the block with this id, or HELD_BLOCKS_MAX after printing why there is none. */
static unsigned slot_of(uint64_t id)
{
    for (unsigned index = 0; index < HELD_BLOCKS_MAX; index++)
        if (id != 0 && held[index].id == id)
            return index;
    if (id != 0 && id <= last_id)
        kprintf(
            "error: free: block #%llu was freed already (ids are never reused; alloc alone lists the blocks held)\n",
            (unsigned long long)id);
    else
        kprintf("error: free: no block #%llu: alloc has not handed it out (alloc alone lists the blocks held)\n",
                (unsigned long long)id);
    return HELD_BLOCKS_MAX;
}

enum monitor_status monitor_free(int count, char **words)
{
    uint64_t id = 0;
    const char *word = count == 2 && words[1][0] == '#' ? words[1] + 1 : (count == 2 ? words[1] : "");
    if (count != 2 || !parse_number(word, false, &id))
        return MONITOR_BAD_USAGE;
    unsigned index = slot_of(id);
    if (index == HELD_BLOCKS_MAX)
        return MONITOR_DONE;
    struct held_block *block = &held[index];
    if (block->from_malloc) {
        free(block->address);
        struct malloc_stats stats;
        rvmem_malloc_stats(&stats);
        kprintf("  freed #%llu (%p, malloc block of %zu bytes): ok; malloc: %zu bytes in use\n", (unsigned long long)id,
                block->address, block->bytes, stats.bytes_in_use);
    } else {
        int error = page_free(block->address, block->order);
        kprintf("  freed #%llu (%p, order %u): %s; buddy free pages now %lu\n", (unsigned long long)id, block->address,
                block->order, error ? "REFUSED" : "ok", buddy_free_pages(kernel_pages()));
    }
    *block = (struct held_block){0};
    return MONITOR_DONE;
}
