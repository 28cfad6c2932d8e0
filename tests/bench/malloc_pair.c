/*
 * tests/bench/malloc_pair.c - the malloc fast paths and their slow paths, in guest instructions.
 *
 * The pair benchmarks hit the per-hart cache every time; the random ones replace blocks of
 * 1..1008 bytes at random among 512 slots after a warm-up (so runs exist and refills and drains
 * happen at their natural rate); the medium ones (about 4 KiB) are class blocks too, from 1 KiB
 * up. The broader workloads (larson, zstress, size sweep) live in tests/bench/malloc.c. Figures
 * include the call itself (argument set-up, jal, result move). Budgets: regression guards
 * (docs/BENCHMARKS.md, "Budgets and goals").
 */
#include <stdbool.h>

#include "lib/malloc/malloc.h"
#include "tests/harness/kbench.h"

#define CALLS 1000
#define SLOTS 512
#define RANDOM_CALLS 20000

KBENCH(malloc_pair_64B_malloc, 19, 19)
{
    rvmem_free(rvmem_malloc(64)); /* warm the cache */
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t start = kbench_start();
        void *block = rvmem_malloc(64);
        kbench_stop(start);
        rvmem_free(block);
    }
    rvmem_malloc_trim();
}

KBENCH(malloc_pair_64B_free, 25, 25)
{
    rvmem_free(rvmem_malloc(64));
    for (unsigned i = 0; i < CALLS; i++) {
        void *block = rvmem_malloc(64);
        uint64_t start = kbench_start();
        rvmem_free(block);
        kbench_stop(start);
    }
    rvmem_malloc_trim();
}

static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Random replacement of small blocks; measures malloc (measure_free false) or free. */
static void random_small(bool measure_free)
{
    static void *slots[SLOTS];
    uint32_t random = 12345;
    for (unsigned round = 0; round < 2; round++) {
        bool measured = round == 1; /* round 0 warms up: runs carved, caches primed */
        for (unsigned i = 0; i < RANDOM_CALLS; i++) {
            unsigned slot = next_random(&random) % SLOTS;
            size_t size = 1 + next_random(&random) % MALLOC_SMALL_MAX_BYTES;
            if (slots[slot]) {
                uint64_t start = kbench_start();
                rvmem_free(slots[slot]);
                if (measured && measure_free)
                    kbench_stop(start);
            }
            uint64_t start = kbench_start();
            slots[slot] = rvmem_malloc(size);
            if (measured && !measure_free)
                kbench_stop(start);
        }
    }
    for (unsigned slot = 0; slot < SLOTS; slot++) {
        rvmem_free(slots[slot]);
        slots[slot] = NULL;
    }
    rvmem_malloc_trim();
}

KBENCH(malloc_random_small_malloc, 22, 0) /* no max: a refill may claim a page */
{
    random_small(false);
}

KBENCH(malloc_random_small_free, 32, 0)
{
    random_small(true);
}

KBENCH(malloc_medium_4KiB_malloc, 0, 0)
{
    static void *blocks[CALLS];
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t start = kbench_start();
        blocks[i] = rvmem_malloc(4096 + (i % 7) * 100);
        kbench_stop(start);
    }
    for (unsigned i = 0; i < CALLS; i++)
        rvmem_free(blocks[i]);
    rvmem_malloc_trim();
}

KBENCH(malloc_medium_4KiB_free, 0, 0)
{
    static void *blocks[CALLS];
    for (unsigned i = 0; i < CALLS; i++)
        blocks[i] = rvmem_malloc(4096 + (i % 7) * 100);
    for (unsigned i = 0; i < CALLS; i++) {
        unsigned index = (i * 389) % CALLS; /* scattered, so frees merge with neighbours both ways */
        uint64_t start = kbench_start();
        rvmem_free(blocks[index]);
        kbench_stop(start);
    }
    rvmem_malloc_trim();
}
