/*
 * kernel/mm/pages.c - the machine's page allocator and heap break (see pages.h).
 */
#include "kernel/mm/pages.h"

#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/base/errors.h"
#include "kernel/mm/memmap.h"
#include "kernel/base/string.h"
#include "kernel/mm/vm.h"
#include "kernel/base/platform.h"

struct buddy pages_allocator; /* extern only for page_alloc/page_free in pages.h */
struct brk_heap machine_heap; /* extern only for sbrk's fast path (kernel/mm/sbrk.c) */
static uint64_t init_instructions;

uint64_t pages_init_instructions(void)
{
    return init_instructions;
}

void pages_init(const struct memmap *map, uintptr_t heap_start, uint64_t heap_max_bytes)
{
    struct buddy_range ranges[MEMMAP_MAX_RANGES];
    uintptr_t heap_limit = heap_start;
    unsigned range_count = map->usable_count;
    for (unsigned i = 0; i < range_count; i++) {
        ranges[i] = (struct buddy_range){(uintptr_t)map->usable[i].start, (uintptr_t)map->usable[i].end};
        if (ranges[i].start <= heap_start && heap_start < ranges[i].end)
            heap_limit = ranges[i].end;
    }
    uint64_t started = instructions_retired();
    int error = buddy_init(&pages_allocator, ranges, range_count);
    init_instructions = instructions_retired() - started;
    if (error)
        panic("page allocator: cannot take over the usable RAM: %s", error_name(error));
    if (heap_max_bytes && heap_max_bytes < heap_limit - heap_start)
        heap_limit = heap_start + (uintptr_t)heap_max_bytes;
    error = brk_init(&machine_heap, &pages_allocator, heap_start, heap_limit);
    if (error)
        panic("heap: cannot start at %p: %s", (void *)heap_start, error_name(error));
}

struct buddy *kernel_pages(void)
{
    return &pages_allocator;
}

struct brk_heap *kernel_heap(void)
{
    return &machine_heap;
}

static void *zeroed_table_page(void *context)
{
    (void)context;
    void *page = page_alloc(0);
    if (page != NULL)
        memset(page, 0, PAGE_SIZE);
    return page;
}

static void free_table_page(void *context, void *table)
{
    (void)context;
    page_free(table, 0);
}

const struct vm_tables pages_vm_tables = {zeroed_table_page, free_table_page, NULL, 0};
