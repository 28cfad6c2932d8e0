/*
 * kernel/proc/process_internal.h - what process.c lends to its neighbours thread.c (thread_create,
 * thread_join and the futex) and process_report.c (reports, ps): the one lock over the table, the
 * run queue and the threads' states, the table, and the queue's operations. Not for other modules.
 */
#ifndef RVMEM_KERNEL_PROC_PROCESS_INTERNAL_H
#define RVMEM_KERNEL_PROC_PROCESS_INTERNAL_H

#include <stdbool.h>

#include "kernel/base/spinlock.h"
#include "kernel/proc/process.h"

/* The process lock (see process.h): taken before a space's lock, never after. */
extern struct spinlock process_lock;

/* The process table (the lock covers it). */
extern struct process process_table[PROCESS_MAX];

/* Puts thread at the run queue's tail as RUNNABLE (lock held). */
void process_enqueue(struct thread *thread);

/* Makes a BLOCKED thread RUNNABLE, or keeps a RUNNING one from blocking (lock held). True when queued. */
bool process_wake(struct thread *thread);

/* After a thread was queued (lock released): wakes an idle hart that may run it. */
void process_wake_a_hart_for(int affinity);

/* Sets up thread (slot slot of process, id, affinity) to start: its frame zero, no counts. */
void process_thread_init(struct thread *thread, struct process *process, unsigned slot, long id, int affinity);

/* The thread of process with id (not UNUSED), or NULL (lock held). */
struct thread *process_find_thread(struct process *process, long id);

#endif
