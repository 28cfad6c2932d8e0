/*
 * kernel/base/platform.h - the few services portable code needs from whatever runs it.
 *
 * Portable code (printf, the device-tree reader, the allocator cores, the test
 * runner) calls only these. In the kernel they are implemented by
 * kernel/platform/console.c, kernel/platform/hart.c and kernel/platform/panic.c; on the host by
 * tests/host/platform.c. Keep this list short.
 */
#ifndef RVMEM_KERNEL_BASE_PLATFORM_H
#define RVMEM_KERNEL_BASE_PLATFORM_H

#include <stddef.h>

/* Writes n bytes to the console. Safe on all harts at once (lines may interleave). */
void console_write(const char *text, size_t length);

/*
 * Logical index of the calling hart: 0 for the boot hart, then 1, 2, ... (host: per thread).
 * In the kernel one load through tp (struct hart's index at HART_INDEX_OFFSET: kernel/platform/hart.h), so
 * allocator fast paths can afford it.
 */
#ifdef RVMEM_HOST
unsigned hart_self(void);
#else
#include "kernel/base/layout.h"
static inline unsigned hart_self(void)
{
    unsigned index;
    __asm__("lw %0, %1(tp)" : "=r"(index) : "i"(HART_INDEX_OFFSET));
    return index;
}
#endif

/* Number of harts that are up and running (host: the configured thread count). */
unsigned hart_count(void);

/*
 * Called by a hart that is waiting for another: lets other harts run. In the kernel it
 * sleeps a few microseconds with wfi (essential under QEMU -icount, where every hart shares
 * one host thread and a spinning hart never yields); on the host it is sched_yield().
 */
void hart_relax(void);

/*
 * Runs fn on every running hart at once, the caller's included, and returns when
 * every hart has returned from it. Used by the test runner for KTEST_SMP tests.
 * Not reentrant: one caller at a time.
 */
void run_on_all_harts(void (*fn)(void));

/*
 * Checks the calling hart's stack (guard word intact, sp above the red zone) and panics
 * with a stack-overflow report naming site when it is not. No-op on the host.
 */
void stack_check(const char *site);

/*
 * The one panic path: prints "panic: <message>" with the hart, then ends the run
 * with a failing exit code. Never returns.
 */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *format, ...);

#endif
