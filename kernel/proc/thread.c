/*
 * kernel/proc/thread.c - thread_create, thread_join and the futex (see thread.h).
 */
#include "kernel/proc/thread.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/proc/process_internal.h"
#include "kernel/proc/user_copy.h"

#define REGISTER_SP 2
#define REGISTER_GP 3
#define REGISTER_TP 4
#define REGISTER_A0 10

/* A free slot of process's threads (not the main one's), or 0 (lock held). */
static unsigned free_slot(const struct process *process)
{
    for (unsigned slot = 1; slot < USER_PROCESS_THREADS_MAX; slot++)
        if (process->threads[slot].state == THREAD_UNUSED)
            return slot;
    return 0;
}

long thread_create(struct thread *caller, uintptr_t entry, uintptr_t argument, uintptr_t stack_bytes,
                   uintptr_t thread_pointer)
{
    struct process *process = caller->process;
    if (entry < USER_WINDOW_START || entry >= USER_WINDOW_END)
        return -E_FAULT;
    if (stack_bytes == 0)
        stack_bytes = USER_THREAD_STACK_DEFAULT_BYTES;
    if (stack_bytes > USER_THREAD_STACK_MAX_BYTES)
        return -E_INVAL; /* checked before rounding: a huge request cannot wrap */
    stack_bytes = (stack_bytes + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);

    spin_lock(&process_lock);
    long error = 0;
    unsigned slot = free_slot(process);
    if (process_ending(process))
        error = -E_SRCH;
    else if (slot == 0)
        error = -E_AGAIN;
    else if (stack_bytes > USER_THREAD_STACKS_TOTAL_BYTES - process->thread_stack_bytes)
        error = -E_NOMEM;
    struct thread *thread = &process->threads[slot];
    long id = 0;
    if (error == 0) { /* reserved: a NEW thread counts as live, so the process cannot end under it */
        id = ++process->last_thread_id;
        thread->state = THREAD_NEW;
        process->live_threads++;
        process->thread_stack_bytes += stack_bytes;
    }
    spin_unlock(&process_lock);
    if (error)
        return error;

    process_thread_init(thread, process, slot, id, caller->affinity);
    thread->stack_bytes = stack_bytes;
    uintptr_t top = 0;
    if (user_space_thread_stack_add(&process->space, slot, id, stack_bytes, &top) != 0) {
        spin_lock(&process_lock);
        thread->state = THREAD_UNUSED;
        process->live_threads--;
        process->thread_stack_bytes -= stack_bytes;
        spin_unlock(&process_lock);
        return -E_NOMEM;
    }
    thread->frame.pc = entry;
    thread->frame.registers[REGISTER_A0] = argument;
    thread->frame.registers[REGISTER_SP] = top; /* a slot's top is page aligned, so 16-byte aligned */
    thread->frame.registers[REGISTER_TP] = thread_pointer;
    thread->frame.registers[REGISTER_GP] = caller->frame.registers[REGISTER_GP];

    spin_lock(&process_lock);
    process_enqueue(thread); /* an ending process's thread is ended by the hart that picks it */
    spin_unlock(&process_lock);
    process_wake_a_hart_for(thread->affinity);
    return id;
}

bool thread_join(struct thread *caller, long id, uintptr_t value_address)
{
    struct process *process = caller->process;
    uintptr_t *result = &caller->frame.registers[REGISTER_A0];
    if (id == caller->id) {
        *result = (uintptr_t)-E_DEADLK;
        return true;
    }
    if (value_address != 0 &&
        user_space_check(&process->space, value_address, sizeof(uintptr_t), USER_ACCESS_WRITE) != 0) {
        *result = (uintptr_t)-E_FAULT; /* checked before anything is joined */
        return true;
    }
    spin_lock(&process_lock);
    struct thread *target = process_find_thread(process, id);
    long error = 0;
    if (target == NULL)
        error = -E_SRCH;
    else if (target->joiner != 0 && target->joiner != caller->id)
        error = -E_INVAL;
    else
        target->joiner = caller->id; /* claimed: no other thread may join it now */
    bool ended = error == 0 && target->state == THREAD_DONE;
    uintptr_t value = ended ? target->exit_value : 0;
    spin_unlock(&process_lock);
    if (error) {
        *result = (uintptr_t)error;
        return true;
    }
    if (!ended) {
        caller->frame.pc -= 4; /* back on the ecall: the call runs again once the thread ends */
        caller->leave = THREAD_LEAVE_BLOCK;
        return false;
    }
    /* Ended and claimed by the caller alone: its stack goes back (shot down on every hart first), then its slot. */
    if (value_address != 0)
        user_copy_out(&process->space, value_address, &value, sizeof value); /* checked above */
    user_space_thread_stack_remove(&process->space, target->slot);
    spin_lock(&process_lock);
    process->thread_stack_bytes -= target->stack_bytes;
    target->state = THREAD_UNUSED;
    spin_unlock(&process_lock);
    *result = 0;
    return true;
}

bool futex_wait(struct thread *caller, uintptr_t address, uint32_t expected)
{
    uintptr_t *result = &caller->frame.registers[REGISTER_A0];
    if (address % sizeof(uint32_t) != 0) {
        *result = (uintptr_t)-E_INVAL;
        return true;
    }
    uint32_t value = 0;
    spin_lock(&process_lock); /* then the space's lock, in the copy: the one order */
    int error = user_copy_in(&caller->process->space, &value, address, sizeof value);
    if (error == 0 && value != expected)
        error = -E_AGAIN;
    if (error == 0)
        caller->futex_address = address; /* a futex_wake from now on finds it, even before it blocks */
    spin_unlock(&process_lock);
    if (error) {
        *result = (uintptr_t)error;
        return true;
    }
    *result = 0; /* what it returns once woken: it resumes after the ecall */
    caller->leave = THREAD_LEAVE_BLOCK;
    return false;
}

long futex_wake(struct process *process, uintptr_t address, uintptr_t count)
{
    if (address % sizeof(uint32_t) != 0)
        return -E_INVAL;
    long woken = 0;
    unsigned queued = 0;
    spin_lock(&process_lock);
    for (unsigned slot = 0; slot < USER_PROCESS_THREADS_MAX && (uintptr_t)woken < count; slot++) {
        struct thread *thread = &process->threads[slot];
        if (thread->state == THREAD_UNUSED || thread->state == THREAD_DONE || thread->futex_address != address)
            continue;
        thread->futex_address = 0;
        woken++;
        if (process_wake(thread))
            queued++;
    }
    spin_unlock(&process_lock);
    for (unsigned i = 0; i < queued; i++)
        process_wake_a_hart_for(process->threads[0].affinity);
    return woken;
}
