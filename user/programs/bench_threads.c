/*
 * user/programs/bench_threads.c - what a thread, an rc and an arc cost, measured from U-mode.
 *
 * `bench_threads [COUNT]` measures COUNT (default 200, at most SAMPLES_MAX) of each, with
 * rdinstret around the operation and the cost of the measurement taken off (user/lib/bench.h):
 *   - thread_create_join: thread_create of the smallest thread (one page of stack, an entry that
 *     returns at once) and thread_join of it: the system calls, the new thread's start and end in
 *     the runtime (its malloc cache flushed), the switches to it and back. The kernel's benchmark
 *     runs the program on one hart, so every instruction of it is counted on that hart;
 *   - rc_retain_release: rc_retain then rc_release of a value that stays alive (lib/rc);
 *   - arc_retain_release: the same with arc (lib/arc: atomic counts), on one thread.
 * Prints one "bench NAME ..." line per figure (user/lib/bench.h) and exits 0; exits 1 when a call
 * fails. System calls: thread_create, thread_exit, thread_join, futex_wait, futex_wake, sbrk, write.
 */
#include "lib/arc.h"
#include "lib/rc.h"
#include "user/lib/bench.h"
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

#define SAMPLES_MAX 2000

static uint64_t samples[SAMPLES_MAX];

static int returns_at_once(void *argument)
{
    return (int)(uintptr_t)argument;
}
USER_THREAD_ENTRY(returns_at_once, 4096);

static void nothing_to_destroy(void *value)
{
    (void)value;
}

int main(int argc, char **argv)
{
    unsigned count = (unsigned)number_argument(argc, argv, 1, 200);
    if (count == 0 || count > SAMPLES_MAX)
        panic("COUNT must be 1..%u", SAMPLES_MAX);
    struct bench_meter meter = bench_meter_start();

    for (unsigned i = 0; i < count; i++) {
        int result = -1;
        uint64_t start = instructions_retired();
        long id = thread_create(returns_at_once, (void *)(uintptr_t)7, returns_at_once_stack_bytes);
        long joined = id < 0 ? id : thread_join(id, &result);
        uint64_t end = instructions_retired();
        if (id < 0 || joined != 0 || result != 7) {
            printf("bench_threads: thread %u: create %ld, join %ld, result %d\n", i, id, joined, result);
            return 1;
        }
        samples[i] = bench_net(&meter, start, end);
    }
    bench_report("thread_create_join", samples, count);

    void *rc = rc_new(sizeof(long), nothing_to_destroy);
    void *arc = arc_new(sizeof(long), nothing_to_destroy);
    if (rc == NULL || arc == NULL)
        return 1;
    for (unsigned i = 0; i < count; i++) {
        uint64_t start = instructions_retired();
        rc_release(rc_retain(rc));
        uint64_t end = instructions_retired();
        samples[i] = bench_net(&meter, start, end);
    }
    bench_report("rc_retain_release", samples, count);
    for (unsigned i = 0; i < count; i++) {
        uint64_t start = instructions_retired();
        arc_release(arc_retain(arc));
        uint64_t end = instructions_retired();
        samples[i] = bench_net(&meter, start, end);
    }
    bench_report("arc_retain_release", samples, count);
    if (rc_count(rc) != 1 || arc_count(arc) != 1)
        return 1;
    rc_release(rc);
    arc_release(arc);
    return 0;
}
