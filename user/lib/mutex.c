/*
 * user/lib/mutex.c - the mutex and the condition variable of the runtime, on the kernel's futex
 * (see thread.h).
 */
#include "user/lib/runtime.h"
#include "user/lib/thread.h"

#define UNLOCKED 0u
#define LOCKED 1u
#define CONTENDED 2u /* locked, and a thread may sleep on it: unlock must wake one */

bool user_mutex_trylock(struct user_mutex *mutex)
{
    uint32_t expected = UNLOCKED;
    return __atomic_compare_exchange_n(&mutex->state, &expected, LOCKED, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void user_mutex_lock(struct user_mutex *mutex)
{
    uint32_t state = UNLOCKED;
    if (__atomic_compare_exchange_n(&mutex->state, &state, LOCKED, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    /* Held: mark it contended and sleep while it stays so; taking it as CONTENDED keeps the
       other sleepers' wake-up owed by our unlock. */
    if (state != CONTENDED)
        state = __atomic_exchange_n(&mutex->state, CONTENDED, __ATOMIC_ACQUIRE);
    while (state != UNLOCKED) {
        sys_futex_wait(&mutex->state, CONTENDED);
        state = __atomic_exchange_n(&mutex->state, CONTENDED, __ATOMIC_ACQUIRE);
    }
}

void user_mutex_unlock(struct user_mutex *mutex)
{
    if (__atomic_exchange_n(&mutex->state, UNLOCKED, __ATOMIC_RELEASE) == CONTENDED)
        sys_futex_wake(&mutex->state, 1);
}

void user_condition_wait(struct user_condition *condition, struct user_mutex *mutex)
{
    uint32_t sequence = __atomic_load_n(&condition->sequence, __ATOMIC_RELAXED);
    user_mutex_unlock(mutex);
    sys_futex_wait(&condition->sequence, sequence); /* -E_AGAIN: it moved already, as good as a wake-up */
    user_mutex_lock(mutex);
}

void user_condition_signal(struct user_condition *condition)
{
    __atomic_add_fetch(&condition->sequence, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&condition->sequence, 1);
}

void user_condition_broadcast(struct user_condition *condition)
{
    __atomic_add_fetch(&condition->sequence, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&condition->sequence, USER_THREADS_MAX);
}
