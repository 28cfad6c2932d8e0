/*
 * user/programs/hostile_spawn_loop.c - spawns children until the process limit stops it.
 *
 * Spawns exit_with (which ends at once) without waiting, until spawn fails: a child counts
 * against the limit until its parent has waited for it, so the loop reaches the limit whatever
 * the scheduling. Then waits for every child. Checks itself: the failure is -E_AGAIN (the
 * process limit, not memory), every child is reaped with exit code 0, then wait says -E_CHILD
 * and a spawn works again. Gives up after SPAWNS_MAX spawns (a kernel without a limit).
 *
 * The kernel must: answer as written, print no panic, and keep the other processes running; the
 * program exits with 0 after "hostile_spawn_loop: ok"; no page lost once it has exited.
 * System calls: spawn, wait, write, exit.
 */
#include "user/lib/runtime.h"

#define SPAWNS_MAX 100000

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long spawned = 0;
    long result = 0;
    while (spawned < SPAWNS_MAX) {
        result = sys_spawn("exit_with", NULL);
        if (result < 0)
            break;
        spawned++;
    }
    printf("hostile_spawn_loop: %ld children, then spawn said %s\n", spawned, error_name((int)result));
    expect("spawn past the process limit", result, -E_AGAIN);
    expect("at least one child before the limit", spawned > 0, 1);

    long reaped = 0;
    long clean_exits = 0;
    long pid;
    int status;
    while ((pid = sys_wait(-1, &status)) > 0) {
        reaped++;
        clean_exits += WAIT_EXITED(status) && WAIT_EXIT_CODE(status) == 0;
    }
    expect("every child reaped", reaped, spawned);
    expect("every child exited with 0", clean_exits, spawned);
    expect("then no child is left", pid, -E_CHILD);
    long again = sys_spawn("exit_with", NULL);
    expect("spawn works again", again > 0, 1);
    expect("and its child is reaped", sys_wait(again, NULL), again);
    return expect_finish();
}
