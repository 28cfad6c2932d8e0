/*
 * user/programs/yielder.c - yields the hart COUNT times, then exits with 0.
 *
 * `yielder [COUNT]` (default 1000). System calls: sched_yield, exit. Two of them on one hart
 * switch back and forth COUNT times each: the kernel's context_switch benchmark, and a test
 * that yield lets the other process run.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    uintptr_t count = number_argument(argc, argv, 1, 1000);
    for (uintptr_t i = 0; i < count; i++)
        sys_sched_yield();
    return 0;
}
