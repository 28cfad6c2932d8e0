/*
 * kernel/mm/pages.h - the machine's RAM: one buddy allocator over every usable page, and the
 * program break of the kernel's heap, which starts just above the kernel image.
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

/* The machine's page allocator itself: use kernel_pages(); it is here for the inline wrappers below. */
extern struct buddy pages_allocator;

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

/*
 * Unix sbrk: moves the break by increment bytes and returns the previous break; on failure
 * returns (void *)-1 and sets the calling hart's errno (E_NOMEM or E_INVAL, see errno_location).
 */
void *sbrk(intptr_t increment);

/*
 * sbrk for callers that never read memory before writing it (malloc's more-core): the same
 * moves, return values, errors and errno, except that memory a grow adds is NOT zeroed. It holds
 * whatever its pages held (in checked builds, the page allocator's poison, 0x6b), so claiming a
 * page skips the 4 KiB clear (Linux's MAP_UNINITIALIZED, for no-MMU systems, is the precedent).
 * Shrinking is sbrk's. Later sbrk and brk calls still hand out zeroed memory (see kernel/mm/brk.h).
 */
void *sbrk_uninit(intptr_t increment);

/* Unix brk: moves the break to address. 0, or -1 with errno set. */
int brk(void *address);

/* Guest instructions buddy_init took over the machine's RAM at boot (exact under -icount). */
uint64_t pages_init_instructions(void);

/* The calling hart's errno (each hart has its own, like a thread's). */
int *errno_location(void);

#endif
