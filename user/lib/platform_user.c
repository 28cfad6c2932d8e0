/*
 * user/lib/platform_user.c - the platform seam (kernel/base/platform.h) for user programs.
 *
 * The portable code (printf, malloc, the locks, lib/) asks the seam for a console, its hart, a
 * way to wait and a way to give up; in a user program those are system calls and the thread
 * blocks (user/lib/thread.h):
 *   console_write       write(USER_STDOUT, ...)
 *   hart_self           the thread's index (inline in platform.h, through tp)
 *   hart_count          1: it counts the harts of run_on_all_harts, and a program has one
 *   hart_relax          sched_yield: a thread waiting for a lock lets the holder run
 *   run_on_all_harts    runs the function once, on the calling thread
 *   stack_check         sp inside the thread's stack, its red zone kept free
 *   panic               the message, then exit(USER_EXIT_PANIC)
 * hart_area (malloc's per-thread cache) is in the malloc binding (user/lib/malloc_user.c), and
 * instructions_retired (inline in platform.h) reads rdinstret, which U-mode may do only where
 * the kernel sets scounteren.IR.
 */
#include "kernel/base/platform.h"

#include "kernel/base/printf.h"
#include "user/lib/runtime.h"
#include "user/lib/thread.h"

/* Bytes at the bottom of a stack that correct code never reaches (the kernel's STACK_RED_ZONE_BYTES). */
#define USER_STACK_RED_ZONE_BYTES 512

struct user_thread user_threads[USER_THREADS_MAX];

void console_write(const char *text, size_t length)
{
    while (length > 0) {
        long written = sys_write(USER_STDOUT, text, length);
        if (written <= 0)
            return; /* nothing better to do: the console is the only place to say so */
        text += written;
        length -= (size_t)written;
    }
}

unsigned hart_count(void)
{
    return 1;
}

void hart_relax(void)
{
    sys_sched_yield();
}

void run_on_all_harts(void (*fn)(void))
{
    fn();
}

void stack_check(const char *site)
{
    const struct user_thread *self = user_thread_self();
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    if (sp < self->stack_low + USER_STACK_RED_ZONE_BYTES || sp > self->stack_high)
        panic("stack overflow in thread %u: stack %p-%p, sp %p, detected by %s", self->index, (void *)self->stack_low,
              (void *)self->stack_high, (void *)sp, site);
}

void panic(const char *format, ...)
{
    char message[200];
    va_list args;
    va_start(args, format);
    kvsnprintf(message, sizeof message, format, args);
    va_end(args);
    kprintf("panic: %s (%s, pid %ld, thread %u)\n", message, user_program_name, sys_getpid(), hart_self());
    sys_exit(USER_EXIT_PANIC);
}

/* Called by code built with -fstack-protector-strong when a frame's canary was overwritten. */
void __stack_chk_fail(void) __attribute__((noreturn));
void __stack_chk_fail(void)
{
    panic("stack protector: a local buffer overran its frame (return address %p)", __builtin_return_address(0));
}
