/*
 * kernel/mm/pages.h - the machine's RAM: one buddy allocator over every usable page, and the
 * program break of the kernel's heap, which starts just above the kernel image (its Unix
 * interface, sbrk and brk, is kernel/mm/sbrk.h).
 *
 * pages_init() runs once on the boot hart, before the other harts start. Afterwards every
 * function here is safe on all harts at once.
 */
#ifndef RVMEM_KERNEL_MM_PAGES_H
#define RVMEM_KERNEL_MM_PAGES_H

#include <stdint.h>

#include "kernel/mm/buddy.h"

struct brk_heap;
struct memmap;
struct vm_tables;

/*
 * Hands every usable range of map to the page allocator and opens the heap at heap_start
 * (the page-aligned end of the kernel image). The heap may grow to the end of the usable
 * range it starts in, or to heap_start + heap_max_bytes when that is lower (0: no maximum).
 * Panics when the map cannot be taken over (a broken invariant: the map was validated).
 */
void pages_init(const struct memmap *map, uintptr_t heap_start, uint64_t heap_max_bytes);

/* The machine's page allocator and heap, for statistics, tests and the monitor. */
struct buddy *kernel_pages(void);
struct brk_heap *kernel_heap(void);

/*
 * Table pages for a page table (vm_init, kernel_space_build: kernel/mm/vm.h): each one page from
 * page_alloc, zeroed, given back with page_free. The direct map is the identity, so no offset.
 */
extern const struct vm_tables pages_vm_tables;

/* The machine's page allocator itself: use kernel_pages(); it is here for the inline wrappers below. */
extern struct buddy pages_allocator;
/* The machine's heap itself: use kernel_heap(); it is here for sbrk's fast path (kernel/mm/sbrk.c). */
extern struct brk_heap machine_heap;

/*
 * 2^order contiguous pages, aligned to their size, or NULL (out of memory, bad order).
 * Inline, so an order-0 allocation costs one call (the per-hart cache's fast path), not two.
 */
static inline void *page_alloc(unsigned order)
{
    return buddy_alloc(&pages_allocator, order);
}

/* Gives back a block from page_alloc with the same order. 0, or -E_INVAL on misuse (reported). */
static inline int page_free(void *block, unsigned order)
{
    return buddy_free(&pages_allocator, block, order);
}

/* Guest instructions buddy_init took over the machine's RAM at boot (exact under -icount). */
uint64_t pages_init_instructions(void);

#endif
