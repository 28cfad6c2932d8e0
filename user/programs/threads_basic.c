/*
 * user/programs/threads_basic.c - threads created and joined, their results returned, a mutex
 * and a condition variable shared.
 *
 * `threads_basic [THREADS]` (default 4, at most USER_THREADS_MAX - 1) starts THREADS workers.
 * Worker i sums i * 1000 .. i * 1000 + 999 into its result, adds one to a counter under the
 * mutex THREADS times (yielding in between, so the threads interleave even on one hart), then
 * checks in and waits on the condition variable until every worker has checked in (the last one
 * broadcasts). main joins them in order and checks each result and the counter.
 *
 * The kernel must: run the threads (on any hart), wake futex waiters, return each worker's
 * result through thread_join, and end the process with status 0 when everything checked out
 * (1 otherwise). Prints "threads_basic: ok: ..." on success.
 * System calls: thread_create, thread_exit, thread_join, futex_wait, futex_wake, sched_yield, write, exit.
 */
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

#define SPAN 1000

static struct user_mutex mutex = USER_MUTEX_INIT;
static struct user_condition all_in = USER_CONDITION_INIT;
static unsigned long counter;
static unsigned checked_in, workers;

static int worker(void *argument)
{
    unsigned long index = (unsigned long)argument, sum = 0;
    for (unsigned long value = index * SPAN; value < (index + 1) * SPAN; value++)
        sum += value;
    for (unsigned round = 0; round < workers; round++) {
        user_mutex_lock(&mutex);
        unsigned long seen = counter;
        sys_sched_yield(); /* holding the mutex: the others must wait for it, not race */
        counter = seen + 1;
        user_mutex_unlock(&mutex);
    }
    user_mutex_lock(&mutex);
    if (++checked_in == workers)
        user_condition_broadcast(&all_in);
    while (checked_in < workers)
        user_condition_wait(&all_in, &mutex);
    user_mutex_unlock(&mutex);
    return (int)(sum % 100000);
}
USER_THREAD_ENTRY(worker, 8 * 1024);

int main(int argc, char **argv)
{
    workers = (unsigned)number_argument(argc, argv, 1, 4);
    if (workers == 0 || workers >= USER_THREADS_MAX) {
        printf("threads_basic: between 1 and %d threads\n", USER_THREADS_MAX - 1);
        return 2;
    }
    long ids[USER_THREADS_MAX];
    for (unsigned i = 0; i < workers; i++) {
        ids[i] = thread_create(worker, (void *)(uintptr_t)i, worker_stack_bytes);
        if (ids[i] < 0) {
            printf("threads_basic: thread_create %u: %s\n", i, error_name((int)ids[i]));
            return 1;
        }
    }
    bool good = true;
    for (unsigned i = 0; i < workers; i++) {
        int result = -1;
        long error = thread_join(ids[i], &result);
        unsigned long want = 0;
        for (unsigned long value = i * SPAN; value < (i + 1) * SPAN; value++)
            want += value;
        if (error != 0 || result != (int)(want % 100000)) {
            printf("threads_basic: thread %ld (worker %u): join %s, result %d, want %lu\n", ids[i], i,
                   error_name((int)error), result, want % 100000);
            good = false;
        }
    }
    if (counter != (unsigned long)workers * workers || checked_in != workers) {
        printf("threads_basic: counter %lu, want %u; checked in %u\n", counter, workers * workers, checked_in);
        good = false;
    }
    if (good)
        printf("threads_basic: ok: %u threads joined, counter %lu\n", workers, counter);
    return good ? 0 : 1;
}
