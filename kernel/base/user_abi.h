/*
 * kernel/base/user_abi.h - everything the kernel and user programs agree on (docs/USER.md).
 *
 * One definition for both sides: the kernel's system-call dispatcher and process set-up include
 * it, and so does the user runtime (user/lib/). Usable from assembly (the numbers and constants;
 * the C helpers are hidden from it).
 *
 * System calls: `ecall` from U-mode with the number in a7 and up to six arguments in a0..a5; the
 * result comes back in a0, every other register is preserved. A result in [-4095, -1] is an
 * error, a negative code of kernel/base/errors.h (POSIX numbers: -E_FAULT is -14); anything else
 * is a success. No user address can look like an error: the user window (kernel/base/layout.h)
 * lies below 2^31 on rv32 and below 2^38 on rv64, so every user address is positive as a long.
 * A pointer argument that is not the program's own memory, readable (or writable, for results)
 * over its whole range, gets -E_FAULT with nothing done: the kernel never faults on it.
 * An unknown number gets -E_NOSYS.
 */
#ifndef RVMEM_KERNEL_BASE_USER_ABI_H
#define RVMEM_KERNEL_BASE_USER_ABI_H

#include "kernel/base/layout.h"

/*
 * The numbers. Where Linux (riscv, asm-generic) has the call, its number; rvmem's own calls
 * start at SYS_RVMEM_BASE, far above Linux's table. docs/USER.md gives each call's arguments,
 * result and errors in full; the summary:
 *
 *   write(fd, buffer, bytes)      -> bytes written (all of them); -E_BADF (fd not 1 or 2), -E_FAULT
 *   exit(status)                  -> never returns; the process ends, its parent's wait sees status & 0xff
 *   sched_yield()                 -> 0; lets another process run
 *   getpid()                      -> the caller's pid (> 0)
 *   brk(address)                  -> the break after the call; 0 asks for the current break;
 *                                    -E_NOMEM above the heap limit, -E_INVAL below the heap's start
 *   sbrk(increment)               -> the break before the call (rvmem's: Linux has no sbrk call);
 *                                    -E_NOMEM past the heap limit, -E_INVAL below the heap's start
 *   spawn(name, arguments)        -> the new process's pid; -E_NOENT, -E_NAMETOOLONG, -E_2BIG,
 *                                    -E_FAULT, -E_AGAIN (process limit), -E_NOMEM, -E_NOEXEC
 *   wait(pid, status)             -> the pid of the child that ended (pid -1: any child), its
 *                                    status stored at status (if not NULL); -E_CHILD, -E_FAULT
 * Threads (a process's threads share its address space; each has its own stack):
 *   thread_create(entry, argument, stack_bytes, thread_pointer)
 *                                 -> the new thread's id (> 1; the main thread is 1); it starts at
 *                                    entry with a0 = argument, tp = thread_pointer, sp at the top of
 *                                    its own stack (stack_bytes rounded up to pages; 0: the default);
 *                                    -E_AGAIN (USER_PROCESS_THREADS_MAX threads, unjoined ones
 *                                    included), -E_INVAL (stack_bytes above USER_THREAD_STACK_MAX_BYTES),
 *                                    -E_NOMEM (the process's stacks would pass
 *                                    USER_THREAD_STACKS_TOTAL_BYTES, or no page), -E_FAULT (entry
 *                                    outside the user window)
 *   thread_exit(value)            -> never returns; the last thread to leave ends the process
 *                                    with exit status value & 0xff
 *   thread_join(thread, value)    -> 0 once thread has ended, its value stored at value (if not
 *                                    NULL) and its stack given back; -E_SRCH (no such thread, or
 *                                    joined already), -E_DEADLK (the caller itself), -E_INVAL
 *                                    (another thread joins it already), -E_FAULT
 *   futex_wait(address, expected) -> 0 when woken; -E_AGAIN when the 32-bit word at address is not
 *                                    expected; -E_INVAL (address not 4-byte aligned), -E_FAULT
 *   futex_wake(address, count)    -> how many threads waiting on address were woken (at most count);
 *                                    -E_INVAL (address not 4-byte aligned)
 */
#define SYS_WRITE 64
#define SYS_EXIT 93
#define SYS_SCHED_YIELD 124
#define SYS_GETPID 172
#define SYS_BRK 214

#define SYS_RVMEM_BASE 1024
#define SYS_SBRK (SYS_RVMEM_BASE + 0)
#define SYS_SPAWN (SYS_RVMEM_BASE + 1)
#define SYS_WAIT (SYS_RVMEM_BASE + 2)
#define SYS_THREAD_CREATE (SYS_RVMEM_BASE + 16)
#define SYS_THREAD_EXIT (SYS_RVMEM_BASE + 17)
#define SYS_THREAD_JOIN (SYS_RVMEM_BASE + 18)
#define SYS_FUTEX_WAIT (SYS_RVMEM_BASE + 19)
#define SYS_FUTEX_WAKE (SYS_RVMEM_BASE + 20)

/* The file descriptors write accepts: both go to the console. */
#define USER_STDOUT 1
#define USER_STDERR 2

/*
 * wait's status word, Unix's encoding: a program that called exit(code) has (code & 0xff) << 8;
 * one the kernel killed has its kill cause in the low 7 bits (and 0 above).
 */
#define WAIT_EXITED(status) (((status)&0x7f) == 0)
#define WAIT_EXIT_CODE(status) (((status) >> 8) & 0xff)
#define WAIT_KILLED(status) (((status)&0x7f) != 0)
#define WAIT_KILL_CAUSE(status) ((status)&0x7f)

/*
 * Why the kernel killed a process (WAIT_KILL_CAUSE), numbered as the Linux signal that would have
 * killed it. The kernel's report line (pid, program, cause, address, pc, region) says more.
 */
#define USER_KILL_ILLEGAL_INSTRUCTION 4 /* SIGILL: an illegal instruction (a privileged one included) */
#define USER_KILL_BREAKPOINT 5          /* SIGTRAP: ebreak */
#define USER_KILL_MISALIGNED 7          /* SIGBUS: a misaligned access the kernel does not emulate */
#define USER_KILL_REQUESTED 9           /* SIGKILL: killed on request (the monitor's kill) or out of memory */
#define USER_KILL_MEMORY_FAULT 11       /* SIGSEGV: a page fault the kernel will not serve */

/*
 * Exit codes of the user runtime (user/lib/): the code a program ends with when its runtime
 * gave up for it. panic() and a smashed stack canary exit with USER_EXIT_PANIC (sysexits.h's
 * EX_SOFTWARE: an internal software error).
 */
#define USER_EXIT_PANIC 70

/*
 * The main thread's stack: USER_MAIN_STACK_BYTES at the very top of the user window, and an
 * unmapped guard page right below it (so an overflow faults instead of running into the heap).
 */
#define USER_STACK_TOP USER_WINDOW_END
#define USER_MAIN_STACK_BYTES (64 * 1024)
#define USER_STACK_GUARD_BYTES 4096

/*
 * Threads (docs/USER.md). A process has at most USER_PROCESS_THREADS_MAX threads at once, its
 * main thread and the ones created and not joined yet; malloc keeps a cache per thread block
 * (user/lib/thread.h), one per hart index, hence the same bound as the harts.
 *
 * Thread stacks lie in the thread area, right below the main stack's guard page: one slot of
 * USER_THREAD_SLOT_BYTES per thread other than the main one (slot 1 at the top). A thread's stack
 * takes the top of its slot; the rest of the slot below it stays unmapped, so at least one guard
 * page (USER_STACK_GUARD_BYTES) lies below every stack. The heap ends below the thread area.
 */
#define USER_PROCESS_THREADS_MAX RVMEM_MAX_HARTS
#define USER_THREAD_STACK_DEFAULT_BYTES (16 * 1024) /* a thread's stack when thread_create asks for 0 bytes */
#define USER_THREAD_STACK_MAX_BYTES (256 * 1024)    /* the largest stack one thread may ask for */
#define USER_THREAD_STACKS_TOTAL_BYTES (512 * 1024) /* the stacks of a process's threads together (main's aside) */
#define USER_THREAD_SLOT_BYTES (USER_THREAD_STACK_MAX_BYTES + USER_STACK_GUARD_BYTES)
#define USER_THREAD_AREA_TOP (USER_STACK_TOP - USER_MAIN_STACK_BYTES - USER_STACK_GUARD_BYTES)
#define USER_THREAD_AREA_BOTTOM (USER_THREAD_AREA_TOP - (USER_PROCESS_THREADS_MAX - 1) * USER_THREAD_SLOT_BYTES)
/* What the stacks take at the top of the window: the program's image must end below it. */
#define USER_STACKS_RESERVED_BYTES (USER_STACK_TOP - USER_THREAD_AREA_BOTTOM)
/* The main thread's id. */
#define USER_MAIN_THREAD_ID 1

/*
 * spawn's limits: the name of a program (NUL included), the arguments a program starts with
 * (argv[0], its name, included) and their bytes (every string of argv, argv[0] and each NUL
 * included). With them the entry block (below) always fits in the stack's top page.
 */
#define USER_PROGRAM_NAME_MAX 32
#define USER_ARGUMENTS_MAX 16
#define USER_ARGUMENT_BYTES_MAX 1024
/* The most the entry block (below) takes at the top of the main stack: its top page. The stack
   report counts it out of USER_MAIN_STACK_BYTES before main's chain. */
#define USER_ENTRY_BLOCK_BYTES_MAX 4096

/*
 * The entry block: what a program finds at sp when it starts at its ELF entry point. Words are
 * XLEN bits (unsigned long); sp is 16-byte aligned; every other register is 0.
 *
 *   sp + word 0             argc (>= 1)
 *   sp + word 1 .. argc     argv[0] .. argv[argc - 1]: pointers to the strings below
 *   sp + word argc + 1      0 (argv[argc], the end of the list)
 *   sp + word argc + 2      a seed for the stack-protector canary (the kernel's random bits, or 0)
 *   above                   the strings, each ending in NUL, then padding up to USER_STACK_TOP
 *
 * argv[0] is the program's name (what spawn was given). kernel/proc/user_stack.h builds it.
 */
#define USER_ENTRY_ARGC_WORD 0
#define USER_ENTRY_ARGV_WORD 1
#define USER_ENTRY_SEED_WORD(argc) ((argc) + 2)

#ifndef __ASSEMBLER__
#include <stddef.h>

/* Bytes of an entry block with argc arguments whose strings (NULs included) take string_bytes. */
static inline size_t user_entry_bytes(size_t argc, size_t string_bytes)
{
    size_t bytes = (argc + 3) * sizeof(unsigned long) + string_bytes;
    return (bytes + 15) & ~(size_t)15;
}
#endif

#endif
