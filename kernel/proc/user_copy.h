/*
 * kernel/proc/user_copy.h - the only way the kernel touches a program's memory.
 *
 * Each routine first checks the whole range against the program's address space
 * (user_space_check: inside the user window, not wrapping, mapped for U-mode with the permission
 * the copy needs, or a page to fill on first touch, which it fills), and only then sets
 * sstatus.SUM, copies and clears SUM again: the kernel never faults on a program's pointer, and
 * SUM is never set anywhere else. A bad pointer gives -E_FAULT with nothing copied (a string
 * may have been read up to the bad page, nothing is written).
 *
 * The check and the copy hold the space's lock, so another thread of the program cannot take a
 * page away between them (a heap that shrinks, a stack that goes back at a join).
 *
 * The space must be the one this hart runs (its satp loaded): the copies go through the
 * program's own mappings. Checked: a call for another space is a broken invariant (a panic).
 */
#ifndef RVMEM_KERNEL_PROC_USER_COPY_H
#define RVMEM_KERNEL_PROC_USER_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/proc/user_space.h"

/* Copies bytes from the program's address from to to. 0, -E_FAULT or -E_NOMEM (a page to fill found none). */
int user_copy_in(struct user_space *space, void *to, uintptr_t from, size_t bytes);

/* Copies bytes from from to the program's address to (writable). 0, -E_FAULT or -E_NOMEM. */
int user_copy_out(struct user_space *space, uintptr_t to, const void *from, size_t bytes);

/*
 * Copies the NUL-terminated string at the program's address from into to (capacity bytes, NUL
 * included). Returns its length (without the NUL); -E_RANGE when no NUL comes within capacity
 * bytes; -E_FAULT when a byte before the NUL is not readable. Reads page by page, so a string
 * that ends before an unmapped page is fine.
 */
long user_copy_string_in(struct user_space *space, char *to, uintptr_t from, size_t capacity);

/*
 * Hands the program's bytes [from, from + bytes) to sink in one call, after checking all of them
 * (the sink reads them through the program's mappings, with SUM set: it must not fault or sleep).
 * For write: the console gets the bytes in one piece. Returns 0, -E_FAULT or -E_NOMEM.
 */
int user_copy_to_sink(struct user_space *space, uintptr_t from, size_t bytes,
                      void (*sink)(void *context, const char *bytes, size_t length), void *context);

#endif
