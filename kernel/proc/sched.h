/*
 * kernel/proc/sched.h - harts run the programs: the scheduler, and how the kernel starts a
 * program and waits for it.
 *
 * Every hart runs threads from the one run queue (kernel/proc/process.h), a time slice at a time
 * (PROCESS_SLICE_MICROSECONDS; the timer interrupt ends a slice, so a program that never yields
 * cannot hold a hart). The secondary harts run them whenever they have no run_on_all_harts job
 * (hart_set_idle_work), and sleep until an IPI when the queue is empty. The boot hart runs the
 * monitor, the tour or the test runner: it runs threads only while it waits for one
 * (sched_wait, and the monitor's prompt), a slice at a time, leaving each at its first timer
 * tick so that it comes back to its own work; with one hart, it is the only one that runs them.
 *
 * Interrupts are enabled only while a program runs (sie's timer and software bits, set around
 * user_enter; sstatus.SIE stays 0 in the kernel), so no kernel code is ever interrupted.
 *
 * Address spaces: a hart loads the program's satp before user_enter and the kernel's right after
 * it, so a thread that leaves is on no hart's page table when its process ends and its tables go
 * back. Every program uses ASID 0 and the kernel's entries are global: loading a program's satp
 * flushes the non-global entries, unless this hart's TLB can only hold that same space as it is
 * now (the same process, no mapping removed since: user_space's generation).
 *
 * Programs need paging: without it (a hart without an MMU, or paging=off) sched_start leaves
 * them off and spawn says -E_NOSYS.
 */
#ifndef RVMEM_KERNEL_PROC_SCHED_H
#define RVMEM_KERNEL_PROC_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/proc/process.h"

struct kernel_space;

/*
 * Once, on the boot hart, with paging on and the other harts started: kernel is the kernel's
 * built address space, reserve_pages the pages programs may never take. Installs the trap
 * handler of U-mode and the secondary harts' idle work.
 */
void sched_start(const struct kernel_space *kernel, unsigned long reserve_pages);

/* Whether programs can run (sched_start ran). */
bool sched_ready(void);

/*
 * Runs one runnable thread on the calling hart, if there is one it may run, until it leaves
 * (at the latest at the end of its slice; at its first timer tick or yield when leave_at_tick: the
 * hart's own work, the monitor's prompt or the tour, gets it back as soon as the thread offers
 * it). Returns true if it ran one.
 */
bool sched_run_slice(bool leave_at_tick);

/*
 * The boot hart's wait for its child pid (a process it spawned with PROCESS_PARENT_KERNEL): runs
 * threads meanwhile (sched_run_slice), sleeps when there are none. Reaps the child and fills
 * *result. Returns 0; -E_CHILD (no such child); -E_TIMEDOUT after timeout_microseconds (0: no
 * limit), the child still running.
 */
int sched_wait(long pid, struct process_result *result, uint64_t timeout_microseconds);

#endif
