/*
 * kernel/proc/user_space_threads.c - the thread stacks of an address space (see user_space.h):
 * one slot per thread other than the main one in the thread area (kernel/base/user_abi.h), the
 * stack at the slot's top, the rest of the slot its unmapped guard.
 */
#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/proc/user_space.h"
#include "kernel/proc/user_space_internal.h"

int user_space_thread_stack_add(struct user_space *space, unsigned slot, long thread_id, uintptr_t stack_bytes,
                                uintptr_t *top)
{
    if (slot == 0 || slot >= USER_PROCESS_THREADS_MAX || stack_bytes == 0 ||
        stack_bytes > USER_THREAD_STACK_MAX_BYTES || stack_bytes % PAGE_SIZE != 0 || thread_id == 0)
        panic("thread stack: slot %u, %lu bytes for thread %ld: not a stack the caller may ask for", slot,
              (unsigned long)stack_bytes, thread_id);
    uintptr_t stack_top = user_thread_slot_top(slot), stack_bottom = stack_top - stack_bytes;
    spin_lock(&space->lock);
    space->shared = true;
    struct user_thread_stack *stack = &space->thread_stacks[slot];
    if (stack->thread_id != 0)
        panic("thread stack: slot %u is thread %ld's still, asked for thread %ld", slot, stack->thread_id, thread_id);
    *stack = (struct user_thread_stack){.thread_id = thread_id, .bottom = stack_bottom, .top = stack_top};
    for (uintptr_t page = stack_bottom; space->eager && page < stack_top; page += PAGE_SIZE) {
        if (user_space_map_zero_page(space, page) != 0) {
            user_space_release_pages(space, stack_bottom, page);
            stack->thread_id = 0;
            spin_unlock(&space->lock);
            return -E_NOMEM;
        }
    }
    spin_unlock(&space->lock);
    *top = stack_top;
    return 0;
}

void user_space_thread_stack_remove(struct user_space *space, unsigned slot)
{
    spin_lock(&space->lock);
    struct user_thread_stack *stack = &space->thread_stacks[slot];
    if (stack->thread_id != 0) {
        user_space_release_pages(space, stack->bottom, stack->top);
        stack->thread_id = 0;
    }
    spin_unlock(&space->lock);
}
