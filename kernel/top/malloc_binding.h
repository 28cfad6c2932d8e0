/*
 * kernel/top/malloc_binding.h - the kernel's malloc: set-up and the standard C names.
 *
 * In the kernel the standard names are the rvmem_ functions of lib/malloc/malloc.h under their C
 * names (same contracts). malloc_kernel_init() binds the allocator to the kernel's program
 * break (sbrk, kernel/mm/pages.h) and takes its page map from the page allocator.
 */
#ifndef RVMEM_KERNEL_TOP_MALLOC_BINDING_H
#define RVMEM_KERNEL_TOP_MALLOC_BINDING_H

#include <stddef.h>

#include "lib/malloc/malloc_std.h" /* the standard names, defined in lib/malloc/malloc_std.c */

/*
 * Binds malloc to sbrk. Call once on the boot hart after pages_init() and before any hart
 * allocates (before it, a hart's cache pointer is NULL and malloc faults). The page map (one byte per page the heap may
 * ever span) comes from page_alloc. Panics when that cannot be had (a broken invariant at boot: the machine has no
 * memory).
 */
void malloc_kernel_init(void);

/*
 * malloc_trim on every hart: each hart gives its own cached blocks back to the central lists (the
 * caller's too; run_on_all_harts asks the others with an IPI: lib/ cannot empty another hart's
 * cache safely while it may be in use), then runs whose blocks are all free are released and the
 * free top of the heap goes back through sbrk (rvmem_malloc_trim). Returns the bytes given back
 * through the break. From the boot hart only, never from inside run_on_all_harts (not reentrant);
 * the other harts must be idle (waiting for work), as in the monitor and between tests.
 * O(harts x cache size + free small blocks).
 */
size_t malloc_trim_all_harts(void);

#endif
