/*
 * user/programs/arc_threads.c - threads share values through lib/arc; one thread keeps lib/rc
 * values to itself.
 *
 * `arc_threads [THREADS] [ROUNDS]` (default 4 threads, 2000 rounds). main makes VALUES Arc
 * values and retains each once for every thread (count 1 + THREADS), printing the counts. Each
 * thread retains and releases every value ROUNDS times (the counts move on several harts at
 * once), then releases its own reference. main releases its reference to the even values while
 * the threads run, so the last thread to let go of one frees it; it keeps the odd ones to the
 * end. Checks: after the joins the odd values have count 1 and are alive, every even one was
 * destroyed exactly once; after main's releases every value was destroyed exactly once. Then a
 * thread makes Rc values, retains and releases them on itself alone, and checks the counts and
 * that each is destroyed once, when its last owner lets go.
 *
 * The kernel must: run the threads (on any hart), exit 0; no page lost.
 * System calls: thread_create, thread_exit, thread_join, futex_wait, futex_wake, sbrk, write, exit.
 */
#include "lib/arc.h"
#include "lib/rc.h"
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

#define VALUES 6
#define RC_VALUES 4

struct shared {
    unsigned id;
    unsigned long payload;
};

static unsigned destroyed[VALUES], rc_destroyed[RC_VALUES];
static struct shared *values[VALUES];
static unsigned rounds;
static unsigned long bad_payloads;

static void shared_destroy(void *value)
{
    const struct shared *shared = value;
    __atomic_add_fetch(&destroyed[shared->id], 1, __ATOMIC_RELAXED);
}

static int sharer(void *argument)
{
    (void)argument;
    for (unsigned round = 0; round < rounds; round++) {
        for (unsigned i = 0; i < VALUES; i++) {
            struct shared *mine = arc_retain(values[i]);
            if (mine->payload != 1000u + i)
                __atomic_add_fetch(&bad_payloads, 1, __ATOMIC_RELAXED);
            arc_release(mine);
        }
    }
    for (unsigned i = 0; i < VALUES; i++)
        arc_release(values[i]); /* the reference main retained for this thread */
    return 0;
}
USER_THREAD_ENTRY(sharer, 8 * 1024);

static void rc_destroy(void *value)
{
    rc_destroyed[*(unsigned *)value]++;
}

/* Rc values within one thread: counts as they change, one destruction each, at the last release. */
static int rc_keeper(void *argument)
{
    (void)argument;
    unsigned *owned[RC_VALUES], *extra[RC_VALUES];
    unsigned problems = 0;
    for (unsigned i = 0; i < RC_VALUES; i++) {
        owned[i] = rc_new(sizeof(unsigned), rc_destroy);
        if (owned[i] == NULL)
            return 100;
        *owned[i] = i;
        extra[i] = rc_retain(owned[i]);
        problems += rc_count(owned[i]) != 2;
    }
    printf("arc_threads: rc: %d values, count 2 each (two owners on one thread)\n", RC_VALUES);
    for (unsigned i = 0; i < RC_VALUES; i++) {
        rc_release(owned[i]);
        problems += rc_count(extra[i]) != 1 || rc_destroyed[i] != 0;
        rc_release(extra[i]);
        problems += rc_destroyed[i] != 1;
    }
    printf("arc_threads: rc: every value destroyed once, at its last release\n");
    return (int)problems;
}
USER_THREAD_ENTRY(rc_keeper, 8 * 1024);

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)number_argument(argc, argv, 1, 4);
    rounds = (unsigned)number_argument(argc, argv, 2, 2000);
    if (threads == 0 || threads >= USER_THREADS_MAX) {
        printf("arc_threads: between 1 and %d threads\n", USER_THREADS_MAX - 1);
        return 2;
    }
    for (unsigned i = 0; i < VALUES; i++) {
        values[i] = arc_new(sizeof(struct shared), shared_destroy);
        if (values[i] == NULL)
            return 3;
        values[i]->id = i;
        values[i]->payload = 1000u + i;
        for (unsigned t = 0; t < threads; t++)
            arc_retain(values[i]);
    }
    expect("count with main and every thread owning", (long)arc_count(values[0]), 1 + (long)threads);
    printf("arc_threads: %d values, count %lu each (main and %u threads)\n", VALUES,
           (unsigned long)arc_count(values[0]), threads);
    long ids[USER_THREADS_MAX];
    for (unsigned t = 0; t < threads; t++)
        ids[t] = thread_create(sharer, NULL, sharer_stack_bytes);
    for (unsigned i = 0; i < VALUES; i += 2)
        arc_release(values[i]); /* main lets go of the even ones: the last thread to release one frees it */
    for (unsigned t = 0; t < threads; t++)
        expect("sharer joined", ids[t] > 0 ? thread_join(ids[t], NULL) : ids[t], 0);
    unsigned wrong = 0;
    for (unsigned i = 0; i < VALUES; i++)
        wrong += i % 2 ? (destroyed[i] != 0 || arc_count(values[i]) != 1) : destroyed[i] != 1;
    expect("after the joins: odd values alive with count 1, even ones destroyed once", wrong, 0);
    printf("arc_threads: after the threads: odd values count 1 (main's), even values destroyed by their last owner\n");
    for (unsigned i = 1; i < VALUES; i += 2)
        arc_release(values[i]);
    wrong = 0;
    for (unsigned i = 0; i < VALUES; i++)
        wrong += destroyed[i] != 1;
    expect("every value destroyed exactly once", wrong, 0);
    expect("payloads seen intact", (long)bad_payloads, 0);
    int rc_problems = -1;
    long rc_thread = thread_create(rc_keeper, NULL, rc_keeper_stack_bytes);
    expect("rc thread joined", rc_thread > 0 ? thread_join(rc_thread, &rc_problems) : rc_thread, 0);
    expect("rc counts and destructions on one thread", rc_problems, 0);
    return expect_finish();
}
