/*
 * kernel/base/spinlock.c - the waiting half of spin_lock (see spinlock.h).
 */
#include "kernel/base/spinlock.h"

void spin_lock_contended(struct spinlock *lock)
{
    do {
        for (unsigned round = 1; __atomic_load_n(&lock->locked, __ATOMIC_RELAXED); round++) {
            if (round % SPIN_ROUNDS_BEFORE_RELAX == 0)
                hart_relax();
            else
                spin_pause();
        }
    } while (spin_swap_held(lock));
}
