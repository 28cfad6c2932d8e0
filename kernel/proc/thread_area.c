/*
 * kernel/proc/thread_area.c - where the thread area's slots lie, and whose stack an address is
 * in (see user_space.h): the arithmetic both user_space.c (regions, reports) and
 * user_space_threads.c (mapping the stacks) use.
 */
#include "kernel/proc/user_space.h"

uintptr_t user_thread_slot_top(unsigned slot)
{
    return USER_THREAD_AREA_TOP - (uintptr_t)(slot - 1) * USER_THREAD_SLOT_BYTES;
}

bool user_space_thread_stack_at(const struct user_space *space, uintptr_t address, struct user_thread_stack *stack)
{
    if (address < USER_THREAD_AREA_BOTTOM || address >= USER_THREAD_AREA_TOP)
        return false;
    unsigned slot = (unsigned)((USER_THREAD_AREA_TOP - 1 - address) / USER_THREAD_SLOT_BYTES) + 1;
    *stack = space->thread_stacks[slot];
    return stack->thread_id != 0;
}
