/*
 * lib/host/preload_park.c - the C library's blocking calls, each wrapped in rvmem_host_park and
 * rvmem_host_unpark (lib/host/park.h), so that malloc_trim on any thread can flush the cache of a
 * thread blocked in one of them.
 *
 * Part of the LD_PRELOAD library only: each function here is found before the C library's and
 * calls the C library's (dlsym(RTLD_NEXT), at its first call, outside the parked window: dlsym
 * may allocate). The calls wrapped are where idle threads wait: condition variables, barriers,
 * semaphores, nanosleep and clock_nanosleep (usleep), epoll and sigwait; none of them allocates or
 * frees inside. Not wrapped: pthread_join, which frees the joined thread's resources with the C
 * library's free (this library's); and poll, ppoll, select, pselect and sleep, which POSIX lets a
 * signal handler call (ppoll as poll's kin): a handler that interrupted a malloc and then parked
 * would lend a cache in the middle of an update. A call that cannot block (a zero timeout) is not
 * parked. Cancellation points
 * unpark in a cleanup handler, so a thread cancelled while blocked takes its cache back before its other cleanup
 * handlers run. Each wrapper keeps the wrapped function's result and errno.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/host/park.h"

#define EXPORT __attribute__((visibility("default")))

/*
 * The next definition of name after this library's (the C library's): of version when given
 * and present, else the default one. A name the C library lacks is fatal: nothing could stand in.
 */
static void *next_definition(const char *name, const char *version)
{
    void *found = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
    if (!found)
        found = dlsym(RTLD_NEXT, name);
    if (!found) {
        fprintf(stderr, "rvmem: the C library has no %s\n", name);
        abort();
    }
    return found;
}

/* A static pointer to the C library's function, looked up at the first call. */
#define NEXT(name, version)                                                                                            \
    static __typeof__(name) *next_##name;                                                                              \
    if (__builtin_expect(!__atomic_load_n(&next_##name, __ATOMIC_ACQUIRE), 0))                                         \
        __atomic_store_n(&next_##name, (__typeof__(name) *)next_definition(#name, version), __ATOMIC_RELEASE);

static void unpark_at_cancel(void *unused)
{
    (void)unused;
    rvmem_host_unpark();
}

/* Returns call (of type) made parked; a cancellation while in it unparks first. */
#define RETURN_PARKED(type, call)                                                                                      \
    do {                                                                                                               \
        type result_;                                                                                                  \
        rvmem_host_park();                                                                                             \
        pthread_cleanup_push(unpark_at_cancel, NULL);                                                                  \
        result_ = call;                                                                                                \
        pthread_cleanup_pop(1);                                                                                        \
        return result_;                                                                                                \
    } while (0)

/* True when timeout lets the call return at once (a zero time; NULL waits without end). */
static int immediate(const struct timespec *timeout)
{
    return timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
}

EXPORT int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
    NEXT(pthread_cond_wait, "GLIBC_2.3.2")
    RETURN_PARKED(int, next_pthread_cond_wait(cond, mutex));
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *abstime)
{
    NEXT(pthread_cond_timedwait, "GLIBC_2.3.2")
    RETURN_PARKED(int, next_pthread_cond_timedwait(cond, mutex, abstime));
}

EXPORT int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                                  const struct timespec *abstime)
{
    NEXT(pthread_cond_clockwait, NULL)
    RETURN_PARKED(int, next_pthread_cond_clockwait(cond, mutex, clock, abstime));
}

EXPORT int pthread_barrier_wait(pthread_barrier_t *barrier)
{
    NEXT(pthread_barrier_wait, NULL)
    int result;
    rvmem_host_park(); /* not a cancellation point */
    result = next_pthread_barrier_wait(barrier);
    rvmem_host_unpark();
    return result;
}

EXPORT int sem_wait(sem_t *semaphore)
{
    NEXT(sem_wait, NULL)
    RETURN_PARKED(int, next_sem_wait(semaphore));
}

EXPORT int sem_timedwait(sem_t *semaphore, const struct timespec *abstime)
{
    NEXT(sem_timedwait, NULL)
    RETURN_PARKED(int, next_sem_timedwait(semaphore, abstime));
}

EXPORT int sem_clockwait(sem_t *semaphore, clockid_t clock, const struct timespec *abstime)
{
    NEXT(sem_clockwait, NULL)
    RETURN_PARKED(int, next_sem_clockwait(semaphore, clock, abstime));
}

EXPORT int nanosleep(const struct timespec *duration, struct timespec *remaining)
{
    NEXT(nanosleep, NULL)
    RETURN_PARKED(int, next_nanosleep(duration, remaining));
}

EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *time, struct timespec *remaining)
{
    NEXT(clock_nanosleep, NULL)
    RETURN_PARKED(int, next_clock_nanosleep(clock, flags, time, remaining));
}

EXPORT int usleep(useconds_t microseconds)
{
    NEXT(usleep, NULL)
    RETURN_PARKED(int, next_usleep(microseconds));
}

EXPORT int epoll_wait(int epoll, struct epoll_event *events, int count, int timeout)
{
    NEXT(epoll_wait, NULL)
    if (timeout == 0)
        return next_epoll_wait(epoll, events, count, timeout);
    RETURN_PARKED(int, next_epoll_wait(epoll, events, count, timeout));
}

EXPORT int epoll_pwait(int epoll, struct epoll_event *events, int count, int timeout, const sigset_t *mask)
{
    NEXT(epoll_pwait, NULL)
    if (timeout == 0)
        return next_epoll_pwait(epoll, events, count, timeout, mask);
    RETURN_PARKED(int, next_epoll_pwait(epoll, events, count, timeout, mask));
}

EXPORT int sigwait(const sigset_t *set, int *signal)
{
    NEXT(sigwait, NULL)
    RETURN_PARKED(int, next_sigwait(set, signal));
}

EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    NEXT(sigwaitinfo, NULL)
    RETURN_PARKED(int, next_sigwaitinfo(set, info));
}

EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    NEXT(sigtimedwait, NULL)
    if (immediate(timeout))
        return next_sigtimedwait(set, info, timeout);
    RETURN_PARKED(int, next_sigtimedwait(set, info, timeout));
}
