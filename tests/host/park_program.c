/*
 * tests/host/park_program.c - every blocking call the LD_PRELOAD library parks in
 * (lib/host/preload_park.c), from threads that allocate between the calls, while another thread
 * calls malloc_trim without a pause; then threads blocked in the cancellation points among them
 * are cancelled, with cleanup handlers that allocate and free. Before that, while they block, a
 * forked child starts threads of its own (on the parent's threads' stacks) that park while it trims.
 *
 * Built as build/host/park-program (make host) against the C library's names, so LD_PRELOAD
 * decides whose malloc and whose blocking calls it gets. tools/test.py runs it under
 * librvmem_malloc.so and under librvmem_malloc_parkcheck.so, whose malloc, calloc, realloc and
 * free abort when the calling thread is parked (a wrapped call that allocated inside, as
 * pthread_join does, would make a trim's flush race with it). Prints "park program ok" and exits
 * 0 when every block kept its bytes.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 200
#define CANCELLED_THREADS 8
#define CHILD_THREADS 6

static int stop_trimming;
static int broken; /* a block changed: atomic */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static sem_t semaphore;
static int epoll_fd;

/* A few blocks of several sizes, written, checked and freed: the thread's cache holds magazines. */
static void churn(unsigned seed)
{
    unsigned char *blocks[16];
    size_t sizes[16];
    for (unsigned i = 0; i < 16; i++) {
        sizes[i] = 16 + (seed * 2654435761u + i * 40503u) % 9000;
        blocks[i] = malloc(sizes[i]);
        if (blocks[i])
            memset(blocks[i], (int)(seed + i), sizes[i]);
    }
    for (unsigned i = 0; i < 16; i++) {
        if (!blocks[i] || blocks[i][0] != (unsigned char)(seed + i) ||
            blocks[i][sizes[i] - 1] != (unsigned char)(seed + i))
            __atomic_store_n(&broken, 1, __ATOMIC_RELAXED);
        free(blocks[i]);
    }
}

static struct timespec in_a_millisecond(clockid_t clock)
{
    struct timespec time;
    clock_gettime(clock, &time);
    time.tv_nsec += 1000000;
    if (time.tv_nsec >= 1000000000) {
        time.tv_sec++;
        time.tv_nsec -= 1000000000;
    }
    return time;
}

/* One short call of each wrapped kind (those that return by themselves), between churns. */
static void block_once(unsigned kind)
{
    struct timespec millisecond = {0, 1000000}, deadline;
    struct epoll_event event;
    sigset_t nothing;
    sigemptyset(&nothing);
    switch (kind) {
    case 0:
        pthread_mutex_lock(&lock);
        deadline = in_a_millisecond(CLOCK_REALTIME);
        pthread_cond_timedwait(&never, &lock, &deadline);
        pthread_mutex_unlock(&lock);
        break;
    case 1:
        pthread_mutex_lock(&lock);
        deadline = in_a_millisecond(CLOCK_MONOTONIC);
        pthread_cond_clockwait(&never, &lock, CLOCK_MONOTONIC, &deadline);
        pthread_mutex_unlock(&lock);
        break;
    case 2:
        deadline = in_a_millisecond(CLOCK_REALTIME);
        sem_timedwait(&semaphore, &deadline);
        break;
    case 3:
        deadline = in_a_millisecond(CLOCK_MONOTONIC);
        sem_clockwait(&semaphore, CLOCK_MONOTONIC, &deadline);
        break;
    case 4: nanosleep(&millisecond, NULL); break;
    case 5: clock_nanosleep(CLOCK_MONOTONIC, 0, &millisecond, NULL); break;
    case 6: usleep(1000); break;
    case 7: epoll_wait(epoll_fd, &event, 1, 1); break;
    case 8: epoll_pwait(epoll_fd, &event, 1, 1, &nothing); break;
    default: {
        sigset_t usr2;
        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        sigtimedwait(&usr2, NULL, &millisecond);
        break;
    }
    }
}
#define BLOCKING_KINDS 10u

static void *blocking_thread(void *argument)
{
    unsigned kind = (unsigned)(uintptr_t)argument;
    for (unsigned round = 0; round < ROUNDS; round++) {
        churn(kind * 1000 + round);
        block_once(kind);
    }
    churn(kind);
    pthread_barrier_wait(&barrier);
    churn(kind + 7);
    return NULL;
}

static void *trimming_thread(void *unused)
{
    (void)unused;
    while (!__atomic_load_n(&stop_trimming, __ATOMIC_RELAXED))
        malloc_trim(0);
    return NULL;
}

static void unlock_at_cancel(void *mutex)
{
    pthread_mutex_unlock(mutex);
}

/* A cleanup handler that allocates and frees, as many do. */
static void allocating_cleanup(void *block)
{
    churn(99);
    free(block);
}

static void *cancelled_thread(void *argument)
{
    unsigned kind = (unsigned)(uintptr_t)argument;
    void *block = malloc(100);
    churn(kind + 50);
    struct timespec long_time = {3600, 0};
    struct epoll_event event;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int signal_number;
    pthread_cleanup_push(allocating_cleanup, block);
    for (;;) {
        switch (kind % 6) {
        case 0:
            pthread_mutex_lock(&lock);
            pthread_cleanup_push(unlock_at_cancel, &lock);
            pthread_cond_wait(&never, &lock);
            pthread_cleanup_pop(1);
            break;
        case 1: sem_wait(&semaphore); break;
        case 2: nanosleep(&long_time, NULL); break;
        case 3: clock_nanosleep(CLOCK_MONOTONIC, 0, &long_time, NULL); break;
        case 4: epoll_wait(epoll_fd, &event, 1, -1); break;
        default: sigwait(&usr1, &signal_number); break;
        }
    }
    pthread_cleanup_pop(1);
    return NULL;
}

static void *child_thread(void *argument)
{
    unsigned seed = (unsigned)(uintptr_t)argument;
    for (unsigned round = 0; round < 20; round++) {
        churn(seed * 100 + round);
        block_once(round % BLOCKING_KINDS);
    }
    return NULL;
}

/*
 * A child forked while the parent's threads are parked and its trimmer runs: the child's new
 * threads take the stacks (and thread-local storage) of the parent's threads, which the child does
 * not have, and park while the child trims. Returns 0 when the child ended well within 20 s.
 */
static int fork_with_parked_threads(void)
{
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        pthread_t threads[CHILD_THREADS];
        for (unsigned i = 0; i < CHILD_THREADS; i++)
            if (pthread_create(&threads[i], NULL, child_thread, (void *)(uintptr_t)(i + 1)))
                _exit(2);
        for (unsigned round = 0; round < 200; round++)
            malloc_trim(0);
        for (unsigned i = 0; i < CHILD_THREADS; i++)
            pthread_join(threads[i], NULL);
        _exit(__atomic_load_n(&broken, __ATOMIC_RELAXED) ? 3 : 0);
    }
    for (unsigned tenth = 0; tenth < 200; tenth++) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
        struct timespec moment = {0, 100000000};
        nanosleep(&moment, NULL);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fprintf(stderr, "park program: the forked child did not end within 20 s\n");
    return -1;
}

int main(void)
{
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigaddset(&blocked, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL); /* inherited: sigwait's signals stay pending */
    epoll_fd = epoll_create1(0);
    if (epoll_fd < 0 || sem_init(&semaphore, 0, 0) != 0 || pthread_barrier_init(&barrier, NULL, BLOCKING_KINDS + 1)) {
        fprintf(stderr, "park program: cannot set up\n");
        return 1;
    }
    pthread_t trimmer, blocking[BLOCKING_KINDS], cancelled[CANCELLED_THREADS];
    if (pthread_create(&trimmer, NULL, trimming_thread, NULL))
        return 1;
    for (unsigned i = 0; i < BLOCKING_KINDS; i++)
        if (pthread_create(&blocking[i], NULL, blocking_thread, (void *)(uintptr_t)i))
            return 1;
    pthread_barrier_wait(&barrier);
    for (unsigned i = 0; i < BLOCKING_KINDS; i++)
        pthread_join(blocking[i], NULL);
    for (unsigned i = 0; i < CANCELLED_THREADS; i++)
        if (pthread_create(&cancelled[i], NULL, cancelled_thread, (void *)(uintptr_t)i))
            return 1;
    struct timespec moment = {0, 20000000};
    nanosleep(&moment, NULL); /* they block (and are flushed) meanwhile */
    if (fork_with_parked_threads() != 0) {
        fprintf(stderr, "park program: the forked child failed\n");
        return 1;
    }
    for (unsigned i = 0; i < CANCELLED_THREADS; i++)
        pthread_cancel(cancelled[i]);
    for (unsigned i = 0; i < CANCELLED_THREADS; i++)
        pthread_join(cancelled[i], NULL);
    __atomic_store_n(&stop_trimming, 1, __ATOMIC_RELAXED);
    pthread_join(trimmer, NULL);
    if (__atomic_load_n(&broken, __ATOMIC_RELAXED)) {
        fprintf(stderr, "park program: a block changed or a malloc failed\n");
        return 1;
    }
    printf("park program ok\n");
    return 0;
}
