/*
 * lib/host/park.c - threads that block lend their caches to malloc_trim (see park.h).
 *
 * Each thread that has used its cache has a struct parked_thread in thread-local storage, on a
 * list under park_lock. Its state is RUNNING, PARKED or FLUSHING:
 *   - the owner moves RUNNING -> PARKED (a release store: its last cache writes are visible to
 *     whoever acquires the state) and PARKED -> RUNNING (an acquiring compare-and-swap that
 *     fails while the state is FLUSHING, so the owner waits for the flush to end);
 *   - a trim moves PARKED -> FLUSHING (an acquiring compare-and-swap), flushes the cache, and
 *     moves FLUSHING -> PARKED (a release store).
 * So the cache has one user at a time. park_lock guards the list only: a trim drops it while it
 * flushes, which is safe because a FLUSHING thread cannot pass rvmem_host_unpark, so it cannot
 * end and take its entry (thread-local storage) away. The lock is never held while another is
 * taken, and a thread waits only on a flush, which takes the class locks and nothing of its.
 * What this cannot cover: a signal handler that calls malloc while its thread is parked, or a
 * wrapped call while its thread is in a malloc (no C or POSIX contract allows either from a
 * handler: lib/host/preload_park.c wraps no async-signal-safe call), while a trim flushes the cache.
 */
#include <sched.h>
#include <stdbool.h>

#include "kernel/base/spinlock.h"
#include "lib/host/park.h"
#include "lib/malloc/malloc.h"

enum park_state { PARK_RUNNING = 0, PARK_PARKED = 1, PARK_FLUSHING = 2 };

struct parked_thread {
    int state;      /* enum park_state, atomic */
    unsigned depth; /* rvmem_host_park calls not yet matched: the owner's alone */
    bool listed;    /* on the list: the owner's alone */
    bool ended;     /* taken off at the thread's end, never listed again: the owner's alone */
    void *cache;    /* rvmem_malloc_own_cache() of the owner */
    struct parked_thread *next, *previous;
};

static __thread struct parked_thread self __attribute__((tls_model("initial-exec")));
static struct spinlock park_lock;
static struct parked_thread *threads; /* every listed thread, under park_lock */
static size_t flushes;                /* parked caches a trim has flushed, ever (atomic) */

void rvmem_host_park_register(void)
{
    if (self.listed || self.ended)
        return;
    self.cache = rvmem_malloc_own_cache();
    spin_lock(&park_lock);
    self.next = threads;
    self.previous = NULL;
    if (threads)
        threads->previous = &self;
    threads = &self;
    spin_unlock(&park_lock);
    self.listed = true;
}

/* Waits until a trim's flush of the calling thread's cache has ended, and marks the thread RUNNING. */
static void take_cache_back(void)
{
    for (;;) {
        int expected = PARK_PARKED;
        if (__atomic_compare_exchange_n(&self.state, &expected, PARK_RUNNING, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED) ||
            expected == PARK_RUNNING)
            return;
        sched_yield(); /* FLUSHING: a trim is giving the cache's blocks back */
    }
}

void rvmem_host_park_unregister(void)
{
    if (!self.listed)
        return;
    self.depth = 0;
    take_cache_back();
    spin_lock(&park_lock);
    if (self.previous)
        self.previous->next = self.next;
    else
        threads = self.next;
    if (self.next)
        self.next->previous = self.previous;
    spin_unlock(&park_lock);
    self.listed = false;
    self.ended = true;
}

void rvmem_host_park(void)
{
    if (self.depth++ == 0 && self.listed)
        __atomic_store_n(&self.state, PARK_PARKED, __ATOMIC_RELEASE);
}

void rvmem_host_unpark(void)
{
    if (self.depth == 0)
        return; /* unmatched: nothing was lent */
    if (--self.depth == 0 && self.listed)
        take_cache_back();
}

int rvmem_host_parked(void)
{
    return self.depth != 0;
}

size_t rvmem_host_park_flushes(void)
{
    return __atomic_load_n(&flushes, __ATOMIC_RELAXED);
}

void rvmem_host_park_lock_for_fork(void)
{
    spin_lock(&park_lock);
}

void rvmem_host_park_unlock_after_fork(void)
{
    spin_unlock(&park_lock);
}

void rvmem_host_park_reset_in_child(void)
{
    /* The other threads are gone, and the C library gives their stacks (thread-local storage with
     * their entries) to the child's new threads: only the forking thread stays listed. */
    threads = NULL;
    if (self.listed) {
        self.next = NULL;
        self.previous = NULL;
        threads = &self;
    }
    spin_unlock(&park_lock);
}

size_t rvmem_host_trim(void)
{
    spin_lock(&park_lock);
    for (struct parked_thread *thread = threads; thread; thread = thread->next) {
        int expected = PARK_PARKED;
        if (!__atomic_compare_exchange_n(&thread->state, &expected, PARK_FLUSHING, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        spin_unlock(&park_lock);
        rvmem_malloc_flush_cache_of(thread->cache);
        __atomic_fetch_add(&flushes, 1, __ATOMIC_RELAXED);
        spin_lock(&park_lock); /* thread is still listed: it cannot leave FLUSHING */
        __atomic_store_n(&thread->state, PARK_PARKED, __ATOMIC_RELEASE);
    }
    spin_unlock(&park_lock);
    return rvmem_malloc_trim();
}
