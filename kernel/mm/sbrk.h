/*
 * kernel/mm/sbrk.h - the program break of the kernel's heap, the Unix way: sbrk and brk.
 *
 * The heap is the machine's (kernel/mm/pages.h: it starts just above the kernel image); the
 * break itself is a struct brk_heap (kernel/mm/brk.h), which claims the pages just above the
 * heap from the buddy allocator as it grows and gives them back as it shrinks. Safe on all harts
 * at once; each hart has its own errno.
 */
#ifndef RVMEM_KERNEL_MM_SBRK_H
#define RVMEM_KERNEL_MM_SBRK_H

#include <stdint.h>

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

/* The calling hart's errno (each hart has its own, like a thread's). */
int *errno_location(void);

#endif
