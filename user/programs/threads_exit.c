/*
 * user/programs/threads_exit.c - how a process with threads ends: exit from a thread, or
 * thread_exit from the last one.
 *
 * `threads_exit exit`: main waits in thread_join for a thread that sleeps in futex_wait; a third
 * thread calls exit(5). `threads_exit last`: main starts a thread and calls thread_exit(1); the
 * thread joins main (it blocks until main has ended), checks main's value 1 and ends with 7 as
 * the last thread.
 *
 * The kernel must: end the whole process with status 5 (every thread, the joiner and the sleeper
 * included) in the first case, with status 7 in the second; no page lost.
 * System calls: thread_create, thread_exit, thread_join, futex_wait, write, exit.
 */
#include "kernel/base/string.h"
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"
#include "user/lib/thread_sleeper.h"

static uint32_t never;

static int exiter(void *argument)
{
    (void)argument;
    printf("threads_exit: a thread calls exit(5)\n");
    exit(5);
}
USER_THREAD_ENTRY(exiter, 4 * 1024);

static int last(void *argument)
{
    (void)argument;
    long main_value = -1;
    long error = sys_thread_join(USER_MAIN_THREAD_ID, &main_value);
    printf("threads_exit: joined main: %s, its value %ld; thread_exit(7) as the last thread\n", error_name((int)error),
           main_value);
    return error == 0 && main_value == 1 ? 7 : 3; /* the runtime's thread_exit, the last thread's */
}
USER_THREAD_ENTRY(last, 4 * 1024);

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "exit") == 0) {
        long sleeping = thread_create(thread_sleeper, &never, thread_sleeper_stack_bytes);
        if (sleeping < 0 || thread_create(exiter, NULL, exiter_stack_bytes) < 0)
            return 3;
        thread_join(sleeping, NULL);
        printf("threads_exit: the sleeper ended: it never should\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "last") == 0) {
        if (thread_create(last, NULL, last_stack_bytes) < 0)
            return 3;
        sys_thread_exit(1);
    }
    printf("threads_exit: exit | last\n");
    return 2;
}
