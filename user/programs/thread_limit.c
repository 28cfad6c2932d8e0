/*
 * user/programs/thread_limit.c - creates threads until the limit, asks for stacks too large, and
 * tries thread_join's and the futex's errors; every answer checked.
 *
 * `thread_limit` starts threads that sleep on a gate (futex_wait) until the runtime has no block
 * left (USER_THREADS_MAX - 1 threads), then asks the kernel itself for one more: -E_AGAIN. A
 * stack above USER_THREAD_STACK_MAX_BYTES is -E_INVAL; stacks past USER_THREAD_STACKS_TOTAL_BYTES
 * together are -E_NOMEM. Joins: itself -E_DEADLK, an unknown id -E_SRCH, a bad pointer -E_FAULT,
 * a joined thread -E_SRCH. Futex: misaligned -E_INVAL, a changed word -E_AGAIN, a kernel
 * address -E_FAULT. After every thread is joined the same threads can be created again.
 *
 * The kernel must: give those answers, leave nothing behind (no page lost), exit 0.
 * System calls: thread_create, thread_exit, thread_join, futex_wait, futex_wake, write, exit.
 */
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

static uint32_t gate;

static int gated(void *argument)
{
    while (__atomic_load_n(&gate, __ATOMIC_ACQUIRE) == 0)
        sys_futex_wait(&gate, 0);
    return (int)(uintptr_t)argument;
}
USER_THREAD_ENTRY(gated, 4 * 1024);

/* A thread the kernel should never start (the calls that use it must fail); it uses no tp. */
__attribute__((no_stack_protector)) static void never_started(void *argument)
{
    (void)argument;
    sys_thread_exit(99);
}

/* Starts gated threads until thread_create fails; returns how many, their ids in ids, the failure in *error. */
static unsigned fill(long *ids, size_t stack_bytes, long *error)
{
    unsigned count = 0;
    for (;;) {
        long id = thread_create(gated, (void *)(uintptr_t)(count + 10), stack_bytes);
        if (id < 0) {
            *error = id;
            return count;
        }
        ids[count++] = id;
    }
}

/* Opens the gate, joins ids[0..count), checks each result, closes the gate. */
static void open_and_join(const long *ids, unsigned count)
{
    __atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
    sys_futex_wake(&gate, USER_THREADS_MAX);
    unsigned good = 0;
    for (unsigned i = 0; i < count; i++) {
        int result = -1;
        if (thread_join(ids[i], &result) == 0 && result == (int)i + 10)
            good++;
    }
    expect("every thread joined with its result", good, count);
    __atomic_store_n(&gate, 0, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long ids[USER_THREADS_MAX], error = 0;
    unsigned count = fill(ids, gated_stack_bytes, &error);
    expect("threads until the runtime's blocks run out", count, USER_THREADS_MAX - 1);
    expect("the next thread_create", error, -E_AGAIN);
    expect("the kernel's own limit", sys_thread_create((void *)never_started, NULL, 0, NULL), -E_AGAIN);
    expect("join itself", thread_join(USER_MAIN_THREAD_ID, NULL), -E_DEADLK);
    expect("join an unknown thread", thread_join(ids[count - 1] + 100, NULL), -E_SRCH);
    expect("join into kernel memory", sys_thread_join(ids[0], (long *)USER_KERNEL_ADDRESS), -E_FAULT);
    open_and_join(ids, count);
    expect("join a joined thread", thread_join(ids[0], NULL), -E_SRCH);

    expect("a stack above the largest",
           sys_thread_create((void *)never_started, NULL, USER_THREAD_STACK_MAX_BYTES + 1, NULL), -E_INVAL);
    expect("a stack of SIZE_MAX bytes", sys_thread_create((void *)never_started, NULL, SIZE_MAX, NULL), -E_INVAL);
    expect("the runtime's check of it", thread_create(gated, NULL, USER_THREAD_STACK_MAX_BYTES + 1), -E_INVAL);
    expect("an entry in the kernel", sys_thread_create((void *)USER_KERNEL_ADDRESS, NULL, 0, NULL), -E_FAULT);

    /* The stacks' total: the largest stacks until it is spent, then even a small one is refused. */
    unsigned large = fill(ids, USER_THREAD_STACK_MAX_BYTES, &error);
    expect("largest stacks within the total", large, USER_THREAD_STACKS_TOTAL_BYTES / USER_THREAD_STACK_MAX_BYTES);
    expect("one more largest stack", error, -E_NOMEM);
    expect("then a page more", thread_create(gated, NULL, PAGE_SIZE), -E_NOMEM);
    open_and_join(ids, large);

    uint32_t word[2] = {7, 7};
    expect("futex_wait misaligned", sys_futex_wait((const uint32_t *)((uintptr_t)word + 2), 7), -E_INVAL);
    expect("futex_wait on a changed word", sys_futex_wait(&word[0], 8), -E_AGAIN);
    expect("futex_wait on kernel memory", sys_futex_wait((const uint32_t *)USER_KERNEL_ADDRESS, 0), -E_FAULT);
    expect("futex_wake without waiters", sys_futex_wake(&word[0], 1), 0);
    expect("futex_wake misaligned", sys_futex_wake((const uint32_t *)((uintptr_t)word + 1), 1), -E_INVAL);

    /* Nothing kept: the same threads again. */
    count = fill(ids, gated_stack_bytes, &error);
    expect("threads again after every join", count, USER_THREADS_MAX - 1);
    open_and_join(ids, count);
    return expect_finish();
}
