/*
 * kernel/proc/syscall.h - the handler of every trap from U-mode, and the system calls
 * (docs/USER.md has the contract; kernel/base/user_abi.h the numbers).
 *
 * syscall_trap is what boot/trap.S calls (trap_set_user_handler): an ecall runs the call whose
 * number is in a7 with a0..a5 and puts the result in a0, past the ecall; anything else goes to
 * kernel/proc/user_trap.c. A call returns to the program at once, except exit (the thread leaves
 * for good), sched_yield when another thread waits for the hart, and a wait that must block
 * (its pc stays on the ecall: the call runs again when the thread is woken).
 */
#ifndef RVMEM_KERNEL_PROC_SYSCALL_H
#define RVMEM_KERNEL_PROC_SYSCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/platform/trap.h"

/* The trap handler of U-mode (a trap_user_handler): true to return to the program, false to leave. */
bool syscall_trap(struct user_frame *frame, uintptr_t scause);

#endif
