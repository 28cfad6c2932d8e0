/*
 * user/programs/thread_stack_overflow.c - a thread recurses into the guard below its stack.
 *
 * `thread_stack_overflow [DEPTH]` starts a thread with a stack of 16 KiB that recurses with
 * 1 KiB frames DEPTH times (default: without end), while main waits for it in thread_join and a
 * second thread sleeps in futex_wait. It prints the stack it got before recursing.
 *
 * The kernel must: kill the process (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report
 * naming a store page fault in the first thread's guard ("thread 2 stack guard") with its stack's
 * bounds (slot 1 of the thread area) and the faulting address; end the joining and the sleeping
 * threads too; no page lost. A DEPTH that fits (8) exits with 0.
 * System calls: thread_create, thread_exit, thread_join, futex_wait, write, exit.
 */
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"
#include "user/lib/thread_sleeper.h"

static uint32_t never; /* the sleeper waits for it to change: it never does */

static uintptr_t recurse(uintptr_t depth, uintptr_t limit)
{
    volatile uint8_t frame[1024];
    frame[0] = (uint8_t)depth;
    if (depth >= limit)
        return frame[0];
    return recurse(depth + 1, limit) + frame[0]; /* not a tail call: every frame stays */
}

static int overflower(void *argument)
{
    uintptr_t limit = (uintptr_t)argument;
    const struct user_thread *self = user_thread_self();
    printf("thread_stack_overflow: thread stack %p-%p, recursing with 1 KiB frames\n", (void *)self->stack_low,
           (void *)self->stack_high);
    recurse(0, limit);
    return 0;
}
USER_THREAD_ENTRY(overflower, 16 * 1024);

int main(int argc, char **argv)
{
    uintptr_t limit = number_argument(argc, argv, 1, UINTPTR_MAX);
    long overflow = thread_create(overflower, (void *)limit, overflower_stack_bytes);
    long sleeping = thread_create(thread_sleeper, &never, thread_sleeper_stack_bytes);
    if (overflow < 0 || sleeping < 0) {
        printf("thread_stack_overflow: thread_create: %s %s\n", error_name((int)overflow), error_name((int)sleeping));
        return 2;
    }
    printf("thread_stack_overflow: threads %ld (overflows) and %ld (sleeps); joining %ld\n", overflow, sleeping,
           overflow);
    int result = -1;
    long error = thread_join(overflow, &result);
    if (limit == UINTPTR_MAX) {
        printf("thread_stack_overflow: came back: the thread's stack has no end\n");
        return 1;
    }
    __atomic_store_n(&never, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&never, 1);
    long sleeper_error = thread_join(sleeping, NULL);
    printf("thread_stack_overflow: %lu frames fit (join %s, %s)\n", (unsigned long)limit, error_name((int)error),
           error_name((int)sleeper_error));
    return error == 0 && sleeper_error == 0 && result == 0 ? 0 : 1;
}
