/*
 * user/programs/hostile_spin.c - spins forever without a system call.
 *
 * Announces its pid, then loops without yielding or calling the kernel.
 *
 * The kernel must: preempt it with the timer, so every other process (on this hart too) keeps
 * running; and kill it on request (the monitor's `kill PID`): its parent's wait then sees
 * WAIT_KILL_CAUSE == USER_KILL_REQUESTED; no page lost. It never exits by itself.
 * System calls: getpid, write (once).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("hostile_spin: pid %ld spins without yielding\n", sys_getpid());
    volatile unsigned long turns = 0;
    for (;;)
        turns++;
}
