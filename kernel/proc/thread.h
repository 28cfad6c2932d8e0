/*
 * kernel/proc/thread.h - the thread system calls: thread_create, thread_join, futex_wait and
 * futex_wake (docs/USER.md; thread_exit is a way to leave the hart, process_thread_left).
 *
 * A process's threads share its address space and run on any hart at once; each but the main
 * one has its own stack in a slot of the thread area (kernel/proc/user_space.h), and a thread's
 * slot and stack stay until another thread joins it (or the process ends). Limits: at most
 * USER_PROCESS_THREADS_MAX threads at once (unjoined ones included), a stack of at most
 * USER_THREAD_STACK_MAX_BYTES, all stacks but the main one's together at most
 * USER_THREAD_STACKS_TOTAL_BYTES (kernel/base/user_abi.h).
 *
 * The futex: a thread blocks on a 32-bit word of its process while the word holds the value it
 * expects (checked under the process lock, which futex_wake takes too, so no wake-up is lost
 * between the check and the block); futex_wake wakes the threads blocked on that word.
 *
 * Each call runs on the hart of the calling thread, whose space is loaded, under the process lock
 * (kernel/proc/process_internal.h) where it reads or changes threads.
 */
#ifndef RVMEM_KERNEL_PROC_THREAD_H
#define RVMEM_KERNEL_PROC_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/proc/process.h"

/*
 * thread_create: a new thread of caller's process, starting at entry with a0 = argument,
 * tp = thread_pointer, gp as the caller's and sp at the top of a stack of stack_bytes rounded up
 * to pages (0: USER_THREAD_STACK_DEFAULT_BYTES). Returns its id; -E_AGAIN (thread limit),
 * -E_INVAL (stack_bytes too large), -E_NOMEM (stack total, or no page), -E_FAULT (entry not in
 * the user window), -E_SRCH (the process is ending).
 */
long thread_create(struct thread *caller, uintptr_t entry, uintptr_t argument, uintptr_t stack_bytes,
                   uintptr_t thread_pointer);

/*
 * thread_join: when thread id of caller's process has ended, stores its value at value_address
 * (if not 0), gives its stack back, frees its slot and sets the result 0 in the caller's a0;
 * returns true. While it runs, the caller must block: returns false (the call runs again when the
 * thread ends). Errors (in a0, true): -E_DEADLK (id is the caller), -E_SRCH (no such thread),
 * -E_INVAL (another thread joins it), -E_FAULT (value_address not writable).
 */
bool thread_join(struct thread *caller, long id, uintptr_t value_address);

/*
 * futex_wait: when the 32-bit word at address holds expected, the caller blocks until a
 * futex_wake on address (result 0 in a0; returns false: the caller leaves its hart); else the
 * result is -E_AGAIN, -E_INVAL (address not 4-byte aligned) or -E_FAULT, and it returns true.
 */
bool futex_wait(struct thread *caller, uintptr_t address, uint32_t expected);

/* futex_wake: wakes up to count threads of process blocked on address; returns how many, or -E_INVAL. */
long futex_wake(struct process *process, uintptr_t address, uintptr_t count);

#endif
