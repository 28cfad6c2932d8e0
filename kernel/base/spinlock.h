/*
 * kernel/base/spinlock.h - the one lock type of the project.
 *
 * A test-and-test-and-set spinlock on GCC's __atomic builtins, so the same
 * header serves the kernel (RISC-V AMOs) and the host build (x86-64).
 * The kernel never enables interrupts, so no interrupt masking is needed. A waiter that
 * has spun for a while calls hart_relax() so the holder gets to run even when all harts
 * share one host thread (QEMU -icount).
 * Contract: not recursive; unlock only from the holder; a zero-filled
 * struct spinlock is an unlocked lock (SPINLOCK_INIT says so explicitly).
 */
#ifndef RVMEM_KERNEL_BASE_SPINLOCK_H
#define RVMEM_KERNEL_BASE_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/arch.h"
#include "kernel/base/platform.h"

/* Busy-wait rounds before a waiting hart gives the others a turn with hart_relax(). */
#define SPIN_ROUNDS_BEFORE_RELAX 64

struct spinlock {
    long locked; /* a full register: amoswap.d on rv64 needs no sign extension of its result */
};

/*
 * The value a held lock's word holds: the lock's own address, never 0 and already in a
 * register at every use (a constant would be built in a register first on each acquisition).
 */
#define SPINLOCK_HELD(lock) ((long)(uintptr_t)(lock))

#define SPINLOCK_INIT                                                                                                  \
    {                                                                                                                  \
        0                                                                                                              \
    }

/* A hint to the core that we are busy-waiting. */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ volatile("nop" ::: "memory");
#endif
}

/* Swaps SPINLOCK_HELD(lock) into the lock word with acquire ordering; returns the old word. */
static inline long spin_swap_held(struct spinlock *lock)
{
    return arch_swap_acquire(&lock->locked, SPINLOCK_HELD(lock));
}

/* The waiting half of spin_lock, out of line so the uncontended path stays a few instructions. */
void spin_lock_contended(struct spinlock *lock);

/* Takes the lock, spinning until it is free. Acquire ordering. */
static inline void spin_lock(struct spinlock *lock)
{
    if (__builtin_expect(spin_swap_held(lock), 0))
        spin_lock_contended(lock);
}

/* Takes the lock if it is free; returns true when taken. */
static inline bool spin_trylock(struct spinlock *lock)
{
    return !spin_swap_held(lock);
}

/* Releases the lock. Release ordering. */
static inline void spin_unlock(struct spinlock *lock)
{
    arch_store_zero_release(&lock->locked);
}

/* True while somebody holds the lock (a hint; for assertions only). */
static inline bool spin_is_locked(struct spinlock *lock)
{
    return __atomic_load_n(&lock->locked, __ATOMIC_RELAXED) != 0;
}

#endif
