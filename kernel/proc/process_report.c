/*
 * kernel/proc/process_report.c - what the kernel says about processes (see process.h): the kill
 * report, ps's lines and a live process's regions. Reads the table under the process lock.
 */
#include "kernel/base/errors.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/proc/process.h"
#include "kernel/proc/process_internal.h"

/* The pid of a process's parent as ps shows it: 0 for the kernel (or an orphan). */
static long parent_pid(const struct process *process)
{
    return process->parent ? process->parent->pid : 0;
}

int process_kill_text(char *buffer, size_t bytes, long pid, const char *name, const struct process_kill *kill)
{
    static const char *const causes[] = {
        [USER_KILL_ILLEGAL_INSTRUCTION] = "illegal instruction",
        [USER_KILL_BREAKPOINT] = "breakpoint",
        [USER_KILL_MISALIGNED] = "misaligned access",
        [USER_KILL_REQUESTED] = "killed",
        [USER_KILL_MEMORY_FAULT] = "memory fault",
    };
    const char *cause =
        (unsigned)kill->cause < sizeof causes / sizeof causes[0] && causes[kill->cause] ? causes[kill->cause] : "?";
    if (kill->scause == 0)
        return ksnprintf(buffer, bytes, "kill: pid %ld (%s): %s on request, pc %p; wait status %d (%s)", pid, name,
                         cause, (void *)kill->pc, kill->cause, cause);
    char region[80];
    if (kill->region == USER_REGION_THREAD_STACK || kill->region == USER_REGION_THREAD_STACK_GUARD)
        ksnprintf(region, sizeof region, "thread %ld %s, stack %p-%p", kill->stack_slot.thread_id,
                  kill->region == USER_REGION_THREAD_STACK ? "stack" : "stack guard", (void *)kill->stack_slot.bottom,
                  (void *)kill->stack_slot.top);
    else
        ksnprintf(region, sizeof region, "%s", user_region_name(kill->region));
    return ksnprintf(buffer, bytes,
                     "kill: pid %ld (%s): %s%s at %p (region: %s), pc %p, thread %ld; wait status %d (%s)", pid, name,
                     kill->out_of_memory ? "out of memory: no page for a " : "", trap_cause_name(kill->scause),
                     (void *)kill->address, region, (void *)kill->pc, kill->thread_id, kill->cause, cause);
}

void process_report_kill(const struct process *process)
{
    char line[256];
    process_kill_text(line, sizeof line, process->pid, process->name, &process->kill);
    kprintf("%s\n", line);
}

/* The most active state among process's threads: running, runnable, waiting, starting, ending. */
static enum thread_state process_thread_state(const struct process *process, int *hart)
{
    static const int rank[] = {[THREAD_UNUSED] = 0,  [THREAD_DONE] = 1,     [THREAD_NEW] = 2,
                               [THREAD_BLOCKED] = 3, [THREAD_RUNNABLE] = 4, [THREAD_RUNNING] = 5};
    enum thread_state best = process->threads[0].state == THREAD_UNUSED ? THREAD_DONE : process->threads[0].state;
    *hart = process->threads[0].hart;
    for (unsigned slot = 1; slot < USER_PROCESS_THREADS_MAX; slot++) {
        const struct thread *thread = &process->threads[slot];
        if (rank[thread->state] > rank[best]) {
            best = thread->state;
            if (best == THREAD_RUNNING)
                *hart = thread->hart;
        }
    }
    return best;
}

unsigned process_list(struct process_info *infos, unsigned max)
{
    unsigned count = 0;
    spin_lock(&process_lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        const struct process *process = &process_table[i];
        if (process->state == PROCESS_FREE)
            continue;
        if (count < max) {
            struct process_info *info = &infos[count];
            info->pid = process->pid;
            info->parent_pid = parent_pid(process);
            memcpy(info->name, process->name, sizeof info->name);
            info->state = process->state;
            info->thread_state = process_thread_state(process, &info->hart);
            info->threads = process->live_threads;
            info->pages = process->space.pages;
            info->filled = process->space.filled;
            info->slices = info->syscalls = 0;
            for (unsigned slot = 0; slot < USER_PROCESS_THREADS_MAX; slot++) {
                if (process->threads[slot].state == THREAD_UNUSED)
                    continue;
                info->slices += process->threads[slot].slices;
                info->syscalls += process->threads[slot].syscalls;
            }
            info->brk = process->space.brk;
            info->heap_start = process->space.heap_start;
            info->wait_status = process->wait_status;
        }
        count++;
    }
    spin_unlock(&process_lock);
    return count;
}

int process_regions(long pid, struct user_space_region_info *regions, unsigned max, struct process_info *info)
{
    struct process *found = NULL;
    spin_lock(&process_lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (process_table[i].state == PROCESS_LIVE && process_table[i].pid == pid &&
            !process_ending(&process_table[i]) && process_table[i].live_threads > 0 &&
            process_table[i].threads[0].state != THREAD_NEW)
            found = &process_table[i];
    if (found)
        spin_lock(&found->space.lock); /* the process lock, then the space's: the one order */
    spin_unlock(&process_lock);
    if (found == NULL)
        return -E_SRCH;
    int count = (int)user_space_regions(&found->space, regions, max);
    *info = (struct process_info){.pid = found->pid,
                                  .state = found->state,
                                  .pages = found->space.pages,
                                  .filled = found->space.filled,
                                  .brk = found->space.brk,
                                  .heap_start = found->space.heap_start};
    memcpy(info->name, found->name, sizeof info->name);
    spin_unlock(&found->space.lock);
    return count;
}

const char *process_state_name(const struct process_info *info)
{
    if (info->state == PROCESS_ZOMBIE)
        return "zombie";
    switch (info->thread_state) {
    case THREAD_RUNNABLE: return "runnable";
    case THREAD_RUNNING: return "running";
    case THREAD_BLOCKED: return "waiting";
    case THREAD_NEW: return "starting";
    case THREAD_DONE:
    case THREAD_UNUSED: return "ending";
    }
    return "?";
}
