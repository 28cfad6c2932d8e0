/*
 * lib/malloc/malloc_std.c - the C allocation functions under their standard names (malloc_std.h).
 */
#include "lib/malloc/malloc_std.h"

#include "lib/malloc/malloc.h"

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
