/*
 * user/lib/thread.h - each thread's block, which tp points at: the user side's struct hart.
 *
 * The portable code reaches "its hart" through tp (kernel/base/platform.h: hart_self reads the
 * index at HART_INDEX_OFFSET, malloc's cache is the area at HART_AREA_OFFSET, and
 * -fstack-protector reads the canary at HART_STACK_GUARD_OFFSET). In a user program a thread
 * plays the hart: each has a block laid out like struct hart (kernel/platform/hart.h), so the
 * same objects of lib/ and kernel/base/ run unchanged. crt0 points tp at block 0 for the main
 * thread; issue 17's thread_create will hand the others out (USER_THREADS_MAX: malloc keeps one
 * cache per hart index it can be given, RVMEM_MAX_HARTS of them).
 */
#ifndef RVMEM_USER_LIB_THREAD_H
#define RVMEM_USER_LIB_THREAD_H

#include <stdint.h>

#include "kernel/base/layout.h"

#define USER_THREADS_MAX RVMEM_MAX_HARTS

struct user_thread {
    uintptr_t stack_protector_guard; /* offset HART_STACK_GUARD_OFFSET: the canary */
    unsigned index;                  /* offset HART_INDEX_OFFSET: what hart_self() returns */
    uintptr_t stack_low;             /* the thread's stack: [stack_low, stack_high) */
    uintptr_t stack_high;
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

#endif
