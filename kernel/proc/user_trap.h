/*
 * kernel/proc/user_trap.h - what a trap from U-mode other than a system call does: page faults
 * (filled on first touch, or the process is killed with a report), the other exceptions (killed),
 * and the two interrupts a program can take (the timer's end of a time slice, and the IPI that
 * asks a hart to answer a TLB shootdown, run a job or let a killed process go).
 */
#ifndef RVMEM_KERNEL_PROC_USER_TRAP_H
#define RVMEM_KERNEL_PROC_USER_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/proc/process.h"

/*
 * Handles the trap scause of thread, which runs on the calling hart (its frame saved as
 * boot/trap.S leaves it). Returns true to go back to the program, false to leave (thread->leave
 * set: killed, or yielding the hart).
 */
bool user_trap_exception(struct thread *thread, uintptr_t scause);

/* The timer deadline of a new time slice from now (0 without a timer: no preemption). */
uint64_t user_trap_slice_deadline(void);

#endif
