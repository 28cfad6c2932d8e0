/*
 * tests/host/ktest_memory.c - the host's provider of test memory (tests/harness/ktest_arena.h):
 * arenas come from the C library.
 */
#include "tests/harness/ktest_arena.h"

#include <stdlib.h>

void *ktest_memory_take(size_t bytes, size_t align, size_t *taken_bytes)
{
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t rounded = (bytes + align - 1) & ~(align - 1); /* aligned_alloc wants a multiple of align */
    *taken_bytes = rounded;
    return aligned_alloc(align, rounded);
}

void ktest_memory_give_back(void *memory, size_t taken_bytes)
{
    (void)taken_bytes;
    free(memory);
}
