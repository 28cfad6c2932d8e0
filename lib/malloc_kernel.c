/*
 * lib/malloc_kernel.c - the kernel binding of malloc: sbrk as more-core, and the standard names.
 *
 * Kernel only (the host and LD_PRELOAD builds have their own bindings). The standard names are
 * one-jump wrappers of the rvmem_ functions (the linker cannot alias across files).
 */
#include "lib/malloc_kernel.h"

#include "kernel/brk.h"
#include "kernel/pages.h"
#include "kernel/string.h"
#include "lib/malloc.h"

void malloc_kernel_init(void)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    size_t heap_pages = (heap.limit - heap.start) / 4096 + 1;
    unsigned order = 0;
    while (((size_t)4096 << order) < heap_pages)
        order++;
    uint8_t *page_map = page_alloc(order);
    if (!page_map)
        panic("malloc: no memory for the page map (%lu bytes)", (unsigned long)heap_pages);
    memset(page_map, 0, (size_t)4096 << order);
    struct malloc_binding binding = {.more_core = sbrk, .page_map = page_map, .page_map_bytes = (size_t)4096 << order};
    int error = rvmem_malloc_init(&binding);
    if (error)
        panic("malloc: set-up failed (%d)", error);
}

void *malloc(size_t size)
{
    return rvmem_malloc(size);
}

void free(void *block)
{
    rvmem_free(block);
}

void *calloc(size_t count, size_t size)
{
    return rvmem_calloc(count, size);
}

void *realloc(void *block, size_t size)
{
    return rvmem_realloc(block, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return rvmem_aligned_alloc(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    return rvmem_posix_memalign(out, alignment, size);
}

void *memalign(size_t alignment, size_t size)
{
    return rvmem_memalign(alignment, size);
}

size_t malloc_usable_size(void *block)
{
    return rvmem_malloc_usable_size(block);
}
