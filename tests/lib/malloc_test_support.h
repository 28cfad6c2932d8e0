/*
 * tests/lib/malloc_test_support.h - helpers shared by the malloc and ownership-toolkit tests.
 *
 * malloc_test_settle(): every hart that allocated in a test flushes its cache; then one hart
 * trims, so the heap goes back to the break it started from and the suites' leak checks
 * (malloc's and the machine's pages and break) see it as it was.
 */
#ifndef RVMEM_TESTS_LIB_MALLOC_TEST_SUPPORT_H
#define RVMEM_TESTS_LIB_MALLOC_TEST_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"

/* Single-hart tests: gives everything cached back and trims. */
static inline void malloc_test_settle(void)
{
    rvmem_malloc_trim();
}

/*
 * Chains of blocks for the tests of memory flowing between sizes (malloc_idle.c, malloc_scan.c):
 * blocks linked through their own first word, so megabytes of them need no array.
 * malloc_test_chain_allocate: bytes' worth of blocks of size (each filled with seed), newest
 * first; stops at the first NULL. malloc_test_chain_intact: every block still holds seed after
 * its link. malloc_test_chain_free: frees them all.
 */
static inline void **malloc_test_chain_allocate(size_t size, uint8_t seed, size_t bytes)
{
    void **chain = NULL;
    for (size_t done = 0; done < bytes; done += size) {
        void **block = rvmem_malloc(size);
        if (!block)
            return chain;
        memset(block, seed, size);
        *block = chain;
        chain = block;
    }
    return chain;
}

static inline bool malloc_test_chain_intact(void **chain, size_t size, uint8_t seed)
{
    for (; chain; chain = *chain)
        for (size_t i = sizeof(void *); i < size; i++)
            if (((uint8_t *)chain)[i] != seed)
                return false;
    return true;
}

static inline void malloc_test_chain_free(void **chain)
{
    while (chain) {
        void **next = *chain;
        rvmem_free(chain);
        chain = next;
    }
}

/* A small deterministic generator (xorshift64*) for the random tests. */
static inline uint64_t malloc_test_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

#endif
