/*
 * user/lib/thread.h - threads in a user program: each thread's block (which tp points at: the
 * user side's struct hart), thread_create and thread_join, and a mutex and a condition variable
 * on the kernel's futex (docs/USER.md).
 *
 * The portable code reaches "its hart" through tp (kernel/base/platform.h: hart_self reads the
 * index at HART_INDEX_OFFSET, malloc's cache is the area at HART_AREA_OFFSET, and
 * -fstack-protector reads the canary at HART_STACK_GUARD_OFFSET). In a user program a thread
 * plays the hart: each has a block laid out like struct hart (kernel/platform/hart.h), so the
 * same objects of lib/ and kernel/base/ run unchanged. crt0 points tp at block 0 for the main
 * thread; thread_create hands the others out, one per running thread. USER_THREADS_MAX blocks:
 * malloc keeps one cache per hart index it can be given (RVMEM_MAX_HARTS), and the kernel allows
 * as many threads per process (USER_PROCESS_THREADS_MAX, the main one included).
 *
 * A thread's life in the runtime: thread_create takes a free block, copies the canary into it and
 * asks the kernel for a thread with tp at the block; the thread runs entry(argument), then
 * gives its malloc cache back (rvmem_malloc_flush_cache: nothing stays stranded in it), frees
 * its block for the next thread_create and ends with entry's result, which thread_join returns.
 * Thread entries are declared with USER_THREAD_ENTRY (user/lib/stack_request.h) and started with
 * their function##_stack_bytes, so the build can check the stack they ask for.
 *
 * Thread-safety: every function here may be called from any thread.
 */
#ifndef RVMEM_USER_LIB_THREAD_H
#define RVMEM_USER_LIB_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/layout.h"
#include "kernel/base/user_abi.h"

#define USER_THREADS_MAX RVMEM_MAX_HARTS
_Static_assert(USER_THREADS_MAX == USER_PROCESS_THREADS_MAX, "a thread block for every thread the kernel allows");

/* A thread's function: its result is what thread_join returns. */
typedef int (*user_thread_entry)(void *argument);

struct user_thread {
    uintptr_t stack_protector_guard; /* offset HART_STACK_GUARD_OFFSET: the canary */
    unsigned index;                  /* offset HART_INDEX_OFFSET: what hart_self() returns */
    uintptr_t stack_low;             /* the thread's stack: [stack_low, stack_high) */
    uintptr_t stack_high;
    uint32_t in_use;         /* the block belongs to a running thread (0: free; block 0 is the main thread's) */
    user_thread_entry entry; /* what the thread runs, set by thread_create */
    void *argument;          /* ... and its argument */
    uintptr_t stack_bytes;   /* the stack it asked for, rounded up to pages */
    /* Offset HART_AREA_OFFSET to the end: the private area lent to malloc (hart_area). */
    uint8_t area[HART_AREA_BYTES] __attribute__((aligned(HART_AREA_OFFSET)));
};

_Static_assert(sizeof(struct user_thread) == HART_STRUCT_SIZE, "a thread's block is laid out like struct hart");
_Static_assert(__builtin_offsetof(struct user_thread, stack_protector_guard) == HART_STACK_GUARD_OFFSET, "guard");
_Static_assert(__builtin_offsetof(struct user_thread, index) == HART_INDEX_OFFSET, "index");
_Static_assert(__builtin_offsetof(struct user_thread, area) == HART_AREA_OFFSET, "area");

/* Every thread's block (in .bss, zero until used); block i has index i. */
extern struct user_thread user_threads[USER_THREADS_MAX];

/* The calling thread's block. */
static inline struct user_thread *user_thread_self(void)
{
    return (struct user_thread *)__builtin_thread_pointer();
}

/*
 * Starts entry(argument) on a new thread with a stack of stack_bytes (entry##_stack_bytes of its
 * USER_THREAD_ENTRY; 0: USER_THREAD_STACK_DEFAULT_BYTES). Returns the thread's id (> 1), or
 * -E_AGAIN (every block taken, or the kernel's thread limit), -E_INVAL (stack_bytes above
 * USER_THREAD_STACK_MAX_BYTES), -E_NOMEM (the process's stacks would pass
 * USER_THREAD_STACKS_TOTAL_BYTES, or no page).
 */
long thread_create(user_thread_entry entry, void *argument, size_t stack_bytes);

/*
 * Waits until thread id ends and stores its entry's result in *result (unless NULL); its stack
 * goes back to the kernel. Returns 0; -E_SRCH (no such thread, or joined already), -E_DEADLK (the
 * caller itself), -E_INVAL (another thread joins it).
 */
long thread_join(long id, int *result);

/*
 * A mutex: 0 unlocked, 1 locked, 2 locked with threads (maybe) waiting, who sleep in futex_wait
 * (Drepper's "Futexes are tricky", mutex 2). USER_MUTEX_INIT or zeroed memory is unlocked. An
 * uncontended lock or unlock is one atomic operation, no system call. Not recursive; the owner
 * unlocks.
 */
struct user_mutex {
    uint32_t state;
};
#define USER_MUTEX_INIT                                                                                                \
    {                                                                                                                  \
        0                                                                                                              \
    }

void user_mutex_lock(struct user_mutex *mutex);
/* Takes the mutex if it is free: true when taken. */
bool user_mutex_trylock(struct user_mutex *mutex);
void user_mutex_unlock(struct user_mutex *mutex);

/*
 * A condition variable: a sequence number that signal and broadcast move, and a waiter sleeps
 * on (futex_wait) until it moves. Wake-ups may be spurious: wait in a loop over the condition,
 * with the mutex held. USER_CONDITION_INIT or zeroed memory.
 */
struct user_condition {
    uint32_t sequence;
};
#define USER_CONDITION_INIT                                                                                            \
    {                                                                                                                  \
        0                                                                                                              \
    }

/* Unlocks mutex (held by the caller), sleeps until a signal or broadcast (or spuriously), locks it again. */
void user_condition_wait(struct user_condition *condition, struct user_mutex *mutex);
/* Wakes one waiter (if any). */
void user_condition_signal(struct user_condition *condition);
/* Wakes every waiter. */
void user_condition_broadcast(struct user_condition *condition);

#endif
