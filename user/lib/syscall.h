/*
 * user/lib/syscall.h - the system calls, one inline function each (docs/USER.md).
 *
 * Each is an ecall with the number in a7 and the arguments in a0..a5 (kernel/base/user_abi.h).
 * The result is the kernel's: a negative error code of kernel/base/errors.h (-E_FAULT, ...) or
 * the call's value, never errno. Every register but a0 is preserved by the kernel, so the
 * compiler keeps its values across the call; "memory" tells it the kernel reads and writes
 * memory through the pointers (write's buffer, wait's status).
 */
#ifndef RVMEM_USER_LIB_SYSCALL_H
#define RVMEM_USER_LIB_SYSCALL_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/user_abi.h"

static inline long syscall_0(long number)
{
    register long a7 __asm__("a7") = number;
    register long a0 __asm__("a0");
    __asm__ volatile("ecall" : "=r"(a0) : "r"(a7) : "memory");
    return a0;
}

static inline long syscall_1(long number, long first)
{
    register long a7 __asm__("a7") = number;
    register long a0 __asm__("a0") = first;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

static inline long syscall_2(long number, long first, long second)
{
    register long a7 __asm__("a7") = number;
    register long a0 __asm__("a0") = first;
    register long a1 __asm__("a1") = second;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7), "r"(a1) : "memory");
    return a0;
}

static inline long syscall_3(long number, long first, long second, long third)
{
    register long a7 __asm__("a7") = number;
    register long a0 __asm__("a0") = first;
    register long a1 __asm__("a1") = second;
    register long a2 __asm__("a2") = third;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7), "r"(a1), "r"(a2) : "memory");
    return a0;
}

static inline long syscall_4(long number, long first, long second, long third, long fourth)
{
    register long a7 __asm__("a7") = number;
    register long a0 __asm__("a0") = first;
    register long a1 __asm__("a1") = second;
    register long a2 __asm__("a2") = third;
    register long a3 __asm__("a3") = fourth;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7), "r"(a1), "r"(a2), "r"(a3) : "memory");
    return a0;
}

/* Writes bytes bytes of buffer to fd (USER_STDOUT or USER_STDERR: the console). Returns bytes,
   or -E_BADF (another fd) or -E_FAULT (buffer is not readable memory of this program). */
static inline long sys_write(int fd, const void *buffer, size_t bytes)
{
    return syscall_3(SYS_WRITE, fd, (long)buffer, (long)bytes);
}

/* Ends the process; its parent's wait sees WAIT_EXIT_CODE(status) == (status & 0xff). */
__attribute__((noreturn)) static inline void sys_exit(int status)
{
    syscall_1(SYS_EXIT, status);
    __builtin_unreachable();
}

/* Lets another process run on this hart. Returns 0. */
static inline long sys_sched_yield(void)
{
    return syscall_0(SYS_SCHED_YIELD);
}

/* The calling process's id (> 0). */
static inline long sys_getpid(void)
{
    return syscall_0(SYS_GETPID);
}

/* Moves the break to address (NULL: only asks). Returns the break after the call, or -E_NOMEM
   (above the heap limit) or -E_INVAL (below the heap's start), the break unchanged. */
static inline long sys_brk(void *address)
{
    return syscall_1(SYS_BRK, (long)address);
}

/* Moves the break by increment bytes (negative: shrinks). Returns the break before the call, or
   -E_NOMEM (past the heap limit) or -E_INVAL (below the heap's start), the break unchanged. */
static inline long sys_sbrk(intptr_t increment)
{
    return syscall_1(SYS_SBRK, (long)increment);
}

/* Starts the embedded program name with argv = {name, arguments...} (arguments: NULL-terminated,
   or NULL for none). Returns its pid, or -E_NOENT, -E_NAMETOOLONG, -E_2BIG, -E_FAULT, -E_AGAIN
   (too many processes), -E_NOMEM or -E_NOEXEC. */
static inline long sys_spawn(const char *name, const char *const *arguments)
{
    return syscall_2(SYS_SPAWN, (long)name, (long)arguments);
}

/* Waits until the child pid (-1: any child) ends, stores its status (WAIT_* of user_abi.h) in
 *status unless status is NULL, and returns its pid; -E_CHILD (no such child), -E_FAULT. */
static inline long sys_wait(long pid, int *status)
{
    return syscall_2(SYS_WAIT, pid, (long)status);
}

/* Starts a thread at entry with a0 = argument, tp = thread_pointer, on a new stack of stack_bytes
   (rounded up to pages; 0: USER_THREAD_STACK_DEFAULT_BYTES). Returns its id (> 1), or -E_AGAIN
   (thread limit), -E_INVAL (stack too large), -E_NOMEM (stack total or no page), -E_FAULT.
   The runtime's thread_create (user/lib/thread.h) is the way programs start threads. */
static inline long sys_thread_create(void *entry, void *argument, size_t stack_bytes, void *thread_pointer)
{
    return syscall_4(SYS_THREAD_CREATE, (long)entry, (long)argument, (long)stack_bytes, (long)thread_pointer);
}

/* Ends the calling thread with value (the last thread's ends the process with status value & 0xff). */
__attribute__((noreturn)) static inline void sys_thread_exit(long value)
{
    syscall_1(SYS_THREAD_EXIT, value);
    __builtin_unreachable();
}

/* Waits until thread ends, stores its value in *value (unless NULL) and gives its stack back.
   Returns 0; -E_SRCH (no such thread, or joined), -E_DEADLK (itself), -E_INVAL (joined by another), -E_FAULT. */
static inline long sys_thread_join(long thread, long *value)
{
    return syscall_2(SYS_THREAD_JOIN, thread, (long)value);
}

/* Blocks while *address == expected, until a futex_wake on address: 0 once woken; -E_AGAIN when
 *address != expected; -E_INVAL (address not 4-byte aligned), -E_FAULT. */
static inline long sys_futex_wait(const uint32_t *address, uint32_t expected)
{
    return syscall_2(SYS_FUTEX_WAIT, (long)address, (long)expected);
}

/* Wakes up to count threads blocked on address; returns how many, or -E_INVAL. */
static inline long sys_futex_wake(const uint32_t *address, unsigned long count)
{
    return syscall_2(SYS_FUTEX_WAKE, (long)address, (long)count);
}

#endif
