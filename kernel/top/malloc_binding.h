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

#endif
