/*
 * user/programs/bench_thread_malloc.c - malloc and free on several threads at once, for the cost of
 * a pair per thread count.
 *
 * `bench_thread_malloc THREADS PAIRS` starts THREADS threads (1..USER_THREADS_MAX - 1), which run
 * on any hart; each does PAIRS malloc/free pairs on its own slots, larson's way: a slot picked by
 * the thread's own generator is freed (when it holds a block) and refilled with a block of 16 to
 * 1024 bytes, whose first and last bytes are written. At the end each thread frees what it holds.
 * The kernel's benchmark (tests/bench/user.c, user_threads) counts every instruction of the run,
 * on every hart, from spawn to reap, once with PAIRS and once with 0: the difference over
 * THREADS * PAIRS is the cost of a pair, the threads' malloc caches, locks and harts included.
 * Exits 0; 1 when a thread could not start or a malloc failed. System calls: thread_create,
 * thread_exit, thread_join, futex_wait, futex_wake, sbrk, write.
 */
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

#define SLOTS 256

struct worker {
    unsigned long pairs;
    uint32_t seed;
    int failed;
    unsigned char *slots[SLOTS];
};

static struct worker workers[USER_THREADS_MAX];

static uint32_t next_random(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static int run_pairs(void *argument)
{
    struct worker *worker = argument;
    for (unsigned long i = 0; i < worker->pairs; i++) {
        uint32_t random = next_random(&worker->seed);
        unsigned char **slot = &worker->slots[random % SLOTS];
        free(*slot);
        size_t bytes = 16 + (random >> 8) % 1009;
        *slot = malloc(bytes);
        if (*slot == NULL) {
            worker->failed = 1;
            break;
        }
        (*slot)[0] = (unsigned char)i;
        (*slot)[bytes - 1] = (unsigned char)i;
    }
    for (unsigned s = 0; s < SLOTS; s++) {
        free(worker->slots[s]);
        worker->slots[s] = NULL;
    }
    return worker->failed;
}
USER_THREAD_ENTRY(run_pairs, 8 * 1024);

int main(int argc, char **argv)
{
    unsigned threads = (unsigned)number_argument(argc, argv, 1, 1);
    unsigned long pairs = number_argument(argc, argv, 2, 10000);
    if (threads == 0 || threads >= USER_THREADS_MAX)
        panic("THREADS must be 1..%u", USER_THREADS_MAX - 1);
    long ids[USER_THREADS_MAX];
    for (unsigned t = 0; t < threads; t++) {
        workers[t].pairs = pairs;
        workers[t].seed = 0x9e3779b9u * (t + 1);
        ids[t] = thread_create(run_pairs, &workers[t], run_pairs_stack_bytes);
        if (ids[t] < 0) {
            printf("bench_thread_malloc: thread %u: %s\n", t, error_name((int)ids[t]));
            return 1;
        }
    }
    int failed = 0;
    for (unsigned t = 0; t < threads; t++) {
        int result = 1;
        if (thread_join(ids[t], &result) != 0 || result != 0)
            failed = 1;
    }
    return failed;
}
