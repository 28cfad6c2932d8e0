/*
 * user/programs/threads_spin.c - a process whose threads spin, sleep and wait, to be killed.
 *
 * `threads_spin [SPINNERS]` (default 3) starts SPINNERS threads that spin without a system
 * call, one that sleeps in futex_wait on a word nobody changes, and main waits for the sleeper in
 * thread_join. Once every spinner has spun, it prints "threads_spin: every thread is busy".
 *
 * The kernel must: preempt the spinners; kill the process on request (the monitor's kill, or
 * process_kill) with every thread on every hart, the sleeper and the joiner woken to end; its
 * parent's wait sees WAIT_KILL_CAUSE == USER_KILL_REQUESTED; no page lost. It never exits by itself.
 * System calls: thread_create, futex_wait, thread_join, getpid, write.
 */
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"
#include "user/lib/thread_sleeper.h"

static uint32_t never;
static unsigned spinning;

static int spinner(void *argument)
{
    (void)argument;
    __atomic_add_fetch(&spinning, 1, __ATOMIC_RELEASE);
    volatile unsigned long turns = 0;
    while (__atomic_load_n(&never, __ATOMIC_RELAXED) == 0) /* never changes: spins until killed */
        turns++;
    return 0;
}
USER_THREAD_ENTRY(spinner, 4 * 1024);

int main(int argc, char **argv)
{
    unsigned spinners = (unsigned)number_argument(argc, argv, 1, 3);
    if (spinners == 0 || spinners + 1 >= USER_THREADS_MAX) {
        printf("threads_spin: between 1 and %d spinners\n", USER_THREADS_MAX - 2);
        return 2;
    }
    for (unsigned i = 0; i < spinners; i++)
        if (thread_create(spinner, NULL, spinner_stack_bytes) < 0)
            return 3;
    long sleeping = thread_create(thread_sleeper, &never, thread_sleeper_stack_bytes);
    if (sleeping < 0)
        return 3;
    while (__atomic_load_n(&spinning, __ATOMIC_ACQUIRE) < spinners)
        sys_sched_yield();
    printf("threads_spin: pid %ld: every thread is busy (%u spinning, thread %ld sleeping, main joining it)\n",
           sys_getpid(), spinners, sleeping);
    thread_join(sleeping, NULL);
    printf("threads_spin: the sleeper ended: it never should\n");
    return 1;
}
