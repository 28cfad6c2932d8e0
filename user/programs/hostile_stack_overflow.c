/*
 * user/programs/hostile_stack_overflow.c - recurses until the stack runs into its guard page.
 *
 * `hostile_stack_overflow [DEPTH]` recurses with 1 KiB frames DEPTH times (default: without
 * end), down through the main stack's USER_MAIN_STACK_BYTES into the unmapped guard page below.
 *
 * The kernel must: kill it (WAIT_KILL_CAUSE == USER_KILL_MEMORY_FAULT) with a report naming a
 * store page fault in the guard page [USER_STACK_TOP - USER_MAIN_STACK_BYTES -
 * USER_STACK_GUARD_BYTES, USER_STACK_TOP - USER_MAIN_STACK_BYTES), region "stack guard"; not
 * grow the stack; no page lost. A DEPTH that fits (30) exits with 0: the stack holds it.
 * System calls: write, exit.
 */
#include "user/lib/runtime.h"

static uintptr_t recurse(uintptr_t depth, uintptr_t limit)
{
    volatile uint8_t frame[1024];
    frame[0] = (uint8_t)depth;
    if (depth >= limit)
        return frame[0];
    return recurse(depth + 1, limit) + frame[0]; /* not a tail call: every frame stays */
}

int main(int argc, char **argv)
{
    uintptr_t limit = number_argument(argc, argv, 1, UINTPTR_MAX);
    printf("hostile_stack_overflow: recursing with 1 KiB frames toward the guard page below %p\n",
           (void *)(USER_STACK_TOP - USER_MAIN_STACK_BYTES));
    recurse(0, limit);
    if (limit == UINTPTR_MAX) {
        printf("hostile_stack_overflow: came back: the stack has no end\n");
        return 1;
    }
    printf("hostile_stack_overflow: %lu frames fit\n", (unsigned long)limit);
    return 0;
}
