/*
 * kernel/base/platform.h - the few services portable code needs from whatever runs it.
 *
 * The seam between the portable code and whatever runs it: portable code (printf, the
 * device-tree reader, the allocator cores, the test runner) calls only these. In the kernel they
 * are implemented by the platform layer (kernel/platform/: console.c, hart.c, stack.c, panic.c);
 * in user programs by the user runtime (user/lib/platform_user.c and malloc_user.c, with a
 * thread's block, laid out like struct hart, as the "hart" tp points at); on the host by
 * tests/host/platform.c and lib/host/platform_posix.c. Keep this list short.
 */
#ifndef RVMEM_KERNEL_BASE_PLATFORM_H
#define RVMEM_KERNEL_BASE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to the console. Safe on all harts at once (lines may interleave). */
void console_write(const char *text, size_t length);

/*
 * Logical index of the calling hart: 0 for the boot hart, then 1, 2, ... (host: per thread).
 * In the kernel one load through tp (struct hart's index at HART_INDEX_OFFSET), so allocator fast
 * paths can afford it.
 */
#ifdef RVMEM_HOST
unsigned hart_self(void);
#else
#include "kernel/base/arch.h"
#include "kernel/base/layout.h"
static inline unsigned hart_self(void)
{
    return *(const unsigned *)((const char *)__builtin_thread_pointer() + HART_INDEX_OFFSET);
}
#endif

/*
 * Each hart's private area: HART_AREA_BYTES bytes (kernel/base/layout.h), 128-byte aligned, zeroed
 * at boot and never touched by the platform, lent to one client (malloc's per-hart cache).
 * hart_area(hart) is any hart's (for statistics and draining); hart_area_self_plus(offset) is the
 * calling hart's plus offset, which in the kernel is tp plus a constant: no load, no call.
 */
void *hart_area(unsigned hart);
#ifdef RVMEM_HOST
static inline char *hart_area_self_plus(uintptr_t offset)
{
    return (char *)hart_area(hart_self()) + offset;
}
#else
static inline char *hart_area_self_plus(uintptr_t offset)
{
    return arch_thread_pointer_plus(offset) + HART_AREA_OFFSET;
}
#endif

/*
 * The retired-instruction counter: exact guest instructions under QEMU -icount shift=0, where all
 * harts share one counter (a figure is exact while the other harts sleep). 0 on the host.
 */
static inline uint64_t instructions_retired(void)
{
#if defined(RVMEM_HOST)
    return 0;
#elif __riscv_xlen == 32
    uint32_t high, low, high_again;
    do { /* two reads: retry when the low half wrapped in between */
        __asm__ volatile("rdinstreth %0" : "=r"(high)::"memory");
        __asm__ volatile("rdinstret %0" : "=r"(low)::"memory");
        __asm__ volatile("rdinstreth %0" : "=r"(high_again)::"memory");
    } while (high != high_again);
    return ((uint64_t)high << 32) | low;
#else
    uint64_t count;
    __asm__ volatile("rdinstret %0" : "=r"(count)::"memory");
    return count;
#endif
}

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
 * Makes every running hart forget the translations of [virtual, virtual + bytes) its TLB may hold
 * (bytes 0: all of them), after a change to the kernel's address space: the calling hart with
 * sfence.vma, the others through the firmware (SBI RFENCE) or an IPI they answer. Returns once
 * every hart has. In the kernel with paging off, and on the host, it does nothing.
 */
void tlb_shootdown(uintptr_t virtual, uintptr_t bytes);

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
