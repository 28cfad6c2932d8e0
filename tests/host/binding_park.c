/*
 * tests/host/binding_park.c - threads that block lend their caches to a trim (lib/host/park.c),
 * with real threads: part of build/host/binding-tests (tests/host/binding.c runs them).
 *
 *   binding.parked_threads_lend_their_caches   8 threads fill their caches, park and wait; one
 *                      rvmem_host_trim from the main thread flushes every cache, so the runs go
 *                      back and resident memory comes down to within 4 MiB of where it started
 *                      (the trim alone, rvmem_malloc_trim, leaves the caches and their runs); the
 *                      threads then unpark and allocate again from their emptied caches.
 *   binding.trims_while_threads_park_and_run   4 threads park and unpark thousands of times with
 *                      blocks of their own live across each parked window while the main thread
 *                      trims without a pause: every block keeps its bytes, some parked caches
 *                      were flushed, and the validator finds the heap whole.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/host/park.h"
#include "lib/malloc/malloc.h"
#include "tests/host/binding_park.h"

#define PARK_THREADS 8u
#define PARK_CHURN_BYTES ((size_t)8 << 20)
#define STRESS_THREADS 4u
#define STRESS_ROUNDS 4000u
#define STRESS_BLOCKS 4u

static const char *park_failure;

#define PARK_CHECK(condition)                                                                                          \
    do {                                                                                                               \
        if (!(condition) && !park_failure)                                                                             \
            park_failure = #condition;                                                                                 \
    } while (0)

/* Blocks of several sizes, written and freed: the thread's cache ends up holding magazines. */
static void churn(void)
{
    PARK_CHECK(binding_churn(PARK_CHURN_BYTES, 0x5a) == 0);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_changed = PTHREAD_COND_INITIALIZER;
static unsigned parked_count;
static int gate_open;

static void *lending_thread(void *unused)
{
    (void)unused;
    churn();
    pthread_mutex_lock(&gate_lock);
    rvmem_host_park(); /* nothing of malloc's until the unpark below */
    parked_count++;
    pthread_cond_broadcast(&gate_changed);
    while (!gate_open)
        pthread_cond_wait(&gate_changed, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    rvmem_host_unpark();
    churn(); /* the flushed cache works as a new one */
    return NULL;
}

const char *binding_park_test_lend(void)
{
    park_failure = NULL;
    parked_count = 0;
    gate_open = 0;
    rvmem_malloc_trim();
    size_t resident_before = binding_resident_bytes();
    pthread_t threads[PARK_THREADS];
    for (unsigned i = 0; i < PARK_THREADS; i++)
        PARK_CHECK(pthread_create(&threads[i], NULL, lending_thread, NULL) == 0);
    pthread_mutex_lock(&gate_lock);
    while (parked_count < PARK_THREADS)
        pthread_cond_wait(&gate_changed, &gate_lock);
    pthread_mutex_unlock(&gate_lock);

    rvmem_malloc_trim(); /* the caller's cache only: the parked caches keep their runs */
    size_t resident_cached = binding_resident_bytes();
    size_t flushes_before = rvmem_host_park_flushes();
    rvmem_host_trim();
    size_t resident_after = binding_resident_bytes();
    static char why[200];
    if (rvmem_host_park_flushes() - flushes_before < PARK_THREADS && !park_failure) {
        snprintf(why, sizeof why, "the trim flushed %zu parked caches of %u",
                 rvmem_host_park_flushes() - flushes_before, PARK_THREADS);
        park_failure = why;
    }
    if (resident_after > resident_before + ((size_t)4 << 20) && !park_failure) {
        snprintf(why, sizeof why, "resident %zu bytes before the threads, %zu with their caches, %zu after the trim",
                 resident_before, resident_cached, resident_after);
        park_failure = why;
    }

    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_changed);
    pthread_mutex_unlock(&gate_lock);
    for (unsigned i = 0; i < PARK_THREADS; i++)
        pthread_join(threads[i], NULL);
    PARK_CHECK(rvmem_malloc_validate() == 0);
    return park_failure;
}

static unsigned stress_running;

/* Blocks live across every parked window, each filled with the thread's own byte and checked after. */
static void *stressing_thread(void *argument)
{
    uint8_t mark = (uint8_t)(uintptr_t)argument;
    uint32_t random = 0x9e3779b9u * (mark + 1u);
    for (unsigned round = 0; round < STRESS_ROUNDS && !park_failure; round++) {
        uint8_t *blocks[STRESS_BLOCKS];
        size_t sizes[STRESS_BLOCKS];
        for (unsigned b = 0; b < STRESS_BLOCKS; b++) {
            random = random * 1664525u + 1013904223u;
            sizes[b] = 16 + (random >> 8) % 20000;
            blocks[b] = rvmem_malloc(sizes[b]);
            PARK_CHECK(blocks[b] != NULL);
            if (blocks[b])
                memset(blocks[b], mark, sizes[b]);
        }
        rvmem_host_park();
        sched_yield();
        rvmem_host_unpark();
        for (unsigned b = 0; b < STRESS_BLOCKS; b++) {
            if (!blocks[b])
                continue;
            for (size_t i = 0; i < sizes[b]; i++)
                if (blocks[b][i] != mark) {
                    PARK_CHECK(!"a block changed while its thread was parked");
                    break;
                }
            rvmem_free(blocks[b]);
        }
    }
    __atomic_fetch_sub(&stress_running, 1, __ATOMIC_RELEASE);
    return NULL;
}

const char *binding_park_test_stress(void)
{
    park_failure = NULL;
    size_t flushes_before = rvmem_host_park_flushes();
    pthread_t threads[STRESS_THREADS];
    __atomic_store_n(&stress_running, STRESS_THREADS, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < STRESS_THREADS; i++)
        PARK_CHECK(pthread_create(&threads[i], NULL, stressing_thread, (void *)(uintptr_t)(0x11 * (i + 1))) == 0);
    unsigned long trims = 0;
    while (__atomic_load_n(&stress_running, __ATOMIC_ACQUIRE)) {
        rvmem_host_trim();
        trims++;
    }
    for (unsigned i = 0; i < STRESS_THREADS; i++)
        pthread_join(threads[i], NULL);
    static char why[160];
    if (rvmem_host_park_flushes() == flushes_before && !park_failure) {
        snprintf(why, sizeof why, "%lu trims flushed no parked cache", trims);
        park_failure = why;
    }
    PARK_CHECK(rvmem_malloc_validate() == 0);
    return park_failure;
}
