/*
 * user/programs/bench_arc_shared.c - one Arc value retained and released by several threads at once.
 *
 * `bench_arc_shared THREADS ROUNDS` makes one value with lib/arc and starts THREADS threads
 * (1..USER_THREADS_MAX - 1) on any hart; each does ROUNDS of arc_retain then arc_release on it,
 * so its count moves on every hart at once. The kernel's benchmark (tests/bench/user.c,
 * user_threads) counts every instruction of the run from spawn to reap, with ROUNDS and with 0:
 * the difference over THREADS * ROUNDS is the cost of a retain and a release under contention.
 * Checks that the count is 1 again at the end and the value is destroyed once, by main's release.
 * Exits 0, or 1. System calls: thread_create, thread_exit, thread_join, futex_wait, futex_wake,
 * sbrk, write.
 */
#include "lib/arc.h"
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

static void *shared;
static unsigned long rounds;
static unsigned destroyed;

static void count_destroy(void *value)
{
    (void)value;
    destroyed++;
}

static int retain_release(void *argument)
{
    (void)argument;
    for (unsigned long i = 0; i < rounds; i++)
        arc_release(arc_retain(shared));
    return 0;
}
USER_THREAD_ENTRY(retain_release, 4096);

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)number_argument(argc, argv, 1, 4);
    rounds = number_argument(argc, argv, 2, 10000);
    if (threads == 0 || threads >= USER_THREADS_MAX)
        panic("THREADS must be 1..%u", USER_THREADS_MAX - 1);
    shared = arc_new(sizeof(long), count_destroy);
    if (shared == NULL)
        return 1;
    long ids[USER_THREADS_MAX];
    for (unsigned t = 0; t < threads; t++) {
        ids[t] = thread_create(retain_release, NULL, retain_release_stack_bytes);
        if (ids[t] < 0)
            return 1;
    }
    int failed = 0;
    for (unsigned t = 0; t < threads; t++)
        failed |= thread_join(ids[t], NULL) != 0;
    failed |= arc_count(shared) != 1;
    arc_release(shared);
    return failed || destroyed != 1;
}
