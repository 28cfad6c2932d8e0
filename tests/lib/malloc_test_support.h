/*
 * tests/lib/malloc_test_support.h - helpers shared by the malloc and ownership-toolkit tests.
 *
 * malloc_test_settle(): every hart that allocated in a test flushes its cache; then one hart
 * trims, so the heap goes back to the break it started from and the suites' leak checks
 * (malloc's and the machine's pages and break) see it as it was.
 */
#ifndef RVMEM_TESTS_LIB_MALLOC_TEST_SUPPORT_H
#define RVMEM_TESTS_LIB_MALLOC_TEST_SUPPORT_H

#include "lib/malloc/malloc.h"

/* Single-hart tests: gives everything cached back and trims. */
static inline void malloc_test_settle(void)
{
    rvmem_malloc_trim();
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
