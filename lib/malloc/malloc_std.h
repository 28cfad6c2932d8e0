/*
 * lib/malloc/malloc_std.h - the C allocation functions under their standard names, for the two
 * homes that have no C library of their own: the kernel and the user programs' runtime.
 *
 * Each is lib/malloc/'s rvmem_ function of the same name, with the same contract (malloc.h). The
 * host has its own (lib/host/preload.c), exported beside the C library's. Whoever links this
 * file initialises malloc before the first call (the kernel at boot, the user runtime before main).
 */
#ifndef RVMEM_LIB_MALLOC_MALLOC_STD_H
#define RVMEM_LIB_MALLOC_MALLOC_STD_H

#include <stddef.h>

void *malloc(size_t size);
void free(void *block);
void *calloc(size_t count, size_t size);
void *realloc(void *block, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
int posix_memalign(void **out, size_t alignment, size_t size);
void *memalign(size_t alignment, size_t size);
size_t malloc_usable_size(void *block);

#endif
