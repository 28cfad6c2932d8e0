/*
 * lib/host/park.h - threads that block lend their caches to malloc_trim (lib/host/park.c).
 *
 * A thread's cache is its own: its fast paths move a magazine's head with a plain load and store,
 * so no other thread may touch it while the owner might run malloc. A thread that is about to
 * block (a condition variable, a semaphore, a nanosleep, an epoll_wait) says so with
 * rvmem_host_park and takes its cache back with rvmem_host_unpark; in between, rvmem_host_trim may
 * flush that cache from another thread. The LD_PRELOAD library wraps the C library's blocking
 * calls in the pair (lib/host/preload_park.c); a program linked with librvmem.a may call it itself.
 */
#ifndef RVMEM_LIB_HOST_PARK_H
#define RVMEM_LIB_HOST_PARK_H

#include <stddef.h>

/*
 * Lists the calling thread's cache among those a trim may flush while the thread is parked (the
 * binding calls it when a thread first uses its cache). Idempotent.
 */
void rvmem_host_park_register(void);

/*
 * Takes the calling thread's cache off that list for good (the binding calls it at the thread's
 * end, before the cache closes); waits while a trim is flushing it. Idempotent.
 */
void rvmem_host_park_unregister(void);

/* Whether the calling thread is parked (between rvmem_host_park and rvmem_host_unpark): for checks. */
int rvmem_host_parked(void);

/* How many parked threads' caches the trims have flushed since the process started. */
size_t rvmem_host_park_flushes(void);

/*
 * pthread_atfork's prepare, parent and child handlers: the list stays whole across fork, and in the
 * child it holds the forking thread alone (the others' entries lie on stacks the child reuses; their
 * cached blocks stay out, as the child's other caches do).
 */
void rvmem_host_park_lock_for_fork(void);
void rvmem_host_park_unlock_after_fork(void);
void rvmem_host_park_reset_in_child(void);

/*
 * The calling thread will call nothing of malloc's until rvmem_host_unpark: a trim may flush its
 * cache meanwhile. Nests (only the outermost pair counts). O(1), no system call.
 */
void rvmem_host_park(void);

/*
 * The calling thread takes its cache back: returns at once, or when a trim that is flushing the
 * cache has finished (a few microseconds). O(1) without a trim.
 */
void rvmem_host_unpark(void);

/*
 * Flushes the caches of every parked thread (each as rvmem_malloc_flush_cache_of), then trims as
 * rvmem_malloc_trim does (the caller's own cache included). Returns the bytes given back to the
 * system. Safe on any thread; O(threads x cache size + free small blocks).
 */
size_t rvmem_host_trim(void);

#endif
