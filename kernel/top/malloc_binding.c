/*
 * kernel/top/malloc_binding.c - the kernel binding of malloc: sbrk_uninit as more-core, and the standard names.
 *
 * more-core is sbrk_uninit (kernel/mm/pages.h): malloc never reads heap memory it has not written
 * (calloc clears its own block), so the pages it grows into are not zeroed first.
 *
 * Free pages inside the heap: rvmem_malloc_trim lends the whole pages inside free chunks to the
 * buddy allocator through the break (brk_release_inner), and malloc claims them back
 * (brk_reclaim_inner) before it hands any of them out; when the buddy allocator has handed them
 * out meanwhile, malloc sets that chunk aside and grows instead (lib/malloc/malloc.h, reclaim_pages).
 * TLSF releases nothing in checked builds, whose free memory holds malloc's poison.
 *
 * Kernel only (the host and LD_PRELOAD builds have their own bindings). The standard names are
 * one-jump wrappers of the rvmem_ functions (the linker cannot alias across files). Each hart's
 * cache is in its struct hart (kernel/platform/hart.h), which the fast paths reach through tp;
 * rvmem_malloc_trim_all_harts has every hart flush its own (run_on_all_harts: an IPI to each).
 */
#include "kernel/top/malloc_binding.h"

#include "kernel/base/platform.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/sbrk.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h"

/* release_pages: a failure (no map of lent pages) leaves the pages in the heap, which reclaim then finds held. */
static void lend_pages(void *start, size_t bytes)
{
    (void)brk_release_inner(kernel_heap(), (uintptr_t)start, (uintptr_t)start + bytes);
}

static int reclaim_pages(void *start, size_t bytes)
{
    return brk_reclaim_inner(kernel_heap(), (uintptr_t)start, (uintptr_t)start + bytes);
}

void malloc_kernel_init(void)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    size_t heap_pages = 2 * ((heap.limit - heap.start) / 4096 + 1); /* two map bytes a page */
    unsigned order = 0;
    while (((size_t)4096 << order) < heap_pages && order < BUDDY_MAX_ORDER)
        order++;
    /* A smaller map only limits where small runs may go (TLSF serves the rest of the heap). */
    uint8_t *page_map = page_alloc(order);
    while (!page_map && order > 0)
        page_map = page_alloc(--order);
    if (!page_map)
        panic("malloc: no memory for the page map (%lu bytes wanted)", (unsigned long)heap_pages);
    memset(page_map, 0, (size_t)4096 << order);
    struct malloc_binding binding = {
        .more_core = sbrk_uninit, .page_map = page_map, .page_map_bytes = (size_t)4096 << order};
    /* Without the map of lent pages (no block free for it) the heap keeps its inner pages. Checked
     * builds set the hooks too; TLSF never releases there (free memory holds its poison). */
    if (brk_enable_lending(kernel_heap()) == 0) {
        binding.release_pages = lend_pages;
        binding.reclaim_pages = reclaim_pages;
    }
    int error = rvmem_malloc_init(&binding);
    if (error)
        panic("malloc: set-up failed (%d)", error);
}
