/*
 * user/lib/thread_sleeper.h - a thread that sleeps until a word changes, for the programs that need
 * one blocked in futex_wait while something else happens (a kill, an exit, an overflow).
 *
 *     static uint32_t wake; // 0 until the sleeper should end
 *     long id = thread_create(thread_sleeper, &wake, thread_sleeper_stack_bytes);
 *
 * Defined here, static, so each program that includes it has its own copy and its own
 * USER_THREAD_ENTRY record (the stack report reads records from the program's objects).
 */
#ifndef RVMEM_USER_LIB_THREAD_SLEEPER_H
#define RVMEM_USER_LIB_THREAD_SLEEPER_H

#include <stdint.h>

#include "user/lib/stack_request.h"
#include "user/lib/syscall.h"

/* Waits in futex_wait on the uint32_t at word until it is no longer 0; returns 0. */
static int thread_sleeper(void *word)
{
    uint32_t *flag = word;
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0)
        sys_futex_wait(flag, 0);
    return 0;
}
USER_THREAD_ENTRY(thread_sleeper, 4 * 1024);

#endif
