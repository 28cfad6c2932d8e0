/*
 * tests/harness/ktest_arena.h - test memory: the arenas test suites and benchmarks work in.
 *
 * A suite's arena is not in .bss (the image holds only what the runtime needs): it is taken when
 * the suite first asks for it, from the machine's page allocator in the kernel or from the C
 * library on the host, and given back when the suite (or benchmark) ends. Declare one per use:
 *
 *     static struct ktest_arena space = KTEST_ARENA(4u << 20, 4u << 20); // bytes, alignment
 *     unsigned char *bytes = ktest_arena_memory(&space); // NULL when memory is short
 *
 * Leak checks: the runner gives the arenas back after the suite's leak checks, which count them
 * as taken on purpose (ktest_arena_bytes_held), so a check of the machine's free pages still sees
 * every page a test leaked.
 */
#ifndef RVMEM_TESTS_HARNESS_KTEST_ARENA_H
#define RVMEM_TESTS_HARNESS_KTEST_ARENA_H

#include <stddef.h>

struct ktest_arena {
    size_t bytes;             /* what the user asked for */
    size_t align;             /* a power of two */
    void *memory;             /* NULL until taken; NULL again once given back */
    size_t taken_bytes;       /* what the provider took for it (whole pages in the kernel) */
    struct ktest_arena *next; /* in the list of arenas held */
};

#define KTEST_ARENA(bytes_, align_)                                                                                    \
    {                                                                                                                  \
        .bytes = (bytes_), .align = (align_)                                                                           \
    }

/*
 * The arena's memory: bytes zeroed bytes aligned to align, taken on the first call after the
 * arena was given back (or ever), then the same pointer until the running suite or benchmark
 * ends. NULL, after printing a KTAP diagnostic, when the memory cannot be taken: the caller fails
 * its test. Safe on all harts at once (one lock).
 */
void *ktest_arena_memory(struct ktest_arena *arena);

/* Gives every arena back (the test and benchmark runners call it when a suite or benchmark ends). */
void ktest_arenas_give_back(void);

/* Bytes taken from the machine for the arenas held now (for leak checks: pages taken on purpose). */
size_t ktest_arena_bytes_held(void);

/*
 * The provider, one per build: the kernel's takes pages from the machine's page allocator
 * (tests/mm/ktest_memory.c), the host's from the C library (tests/host/ktest_memory.c).
 * ktest_memory_take returns bytes bytes aligned to align (a power of two), not zeroed, and sets
 * *taken_bytes to what it took for them; NULL when it cannot. ktest_memory_give_back gives back
 * what it returned, with the same taken_bytes.
 */
void *ktest_memory_take(size_t bytes, size_t align, size_t *taken_bytes);
void ktest_memory_give_back(void *memory, size_t taken_bytes);

#endif
