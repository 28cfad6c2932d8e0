/*
 * kernel/top/monitor_proc.c - the monitor's commands for user programs: `ps`, `run PROGRAM
 * [ARGS]`, `kill PID`, and `vm PID` (a process's regions and which of their pages are mapped).
 *
 * `run` starts the program in the background as a detached child of the kernel: the prompt comes
 * back at once, the program writes to the console, and a line "[pid N NAME: exited with C]" (or
 * "killed") comes when it ends. Programs run on the secondary harts, and on the boot hart while
 * the prompt waits for a key (kernel/top/terminal.c), so `kill` reaches a program that spins.
 */
#include <limits.h>

#include "kernel/base/errors.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/mm/vm.h"
#include "kernel/proc/process.h"
#include "kernel/proc/programs.h"
#include "kernel/proc/sched.h"
#include "kernel/top/monitor_commands.h"
#include "kernel/top/monitor_text.h"

#define REGIONS_MAX 16

/* Whether programs can run here; says why not when they cannot. */
static bool programs_ready(void)
{
    if (sched_ready())
        return true;
    kprintf("user programs cannot run here: they need paging, which is off\n");
    return false;
}

/* A pid word: a positive decimal or hex number. */
static bool parse_pid(const char *word, long *pid)
{
    uint64_t value;
    if (!parse_number(word, false, &value) || value == 0 || value > (uint64_t)LONG_MAX)
        return false;
    *pid = (long)value;
    return true;
}

enum monitor_status monitor_ps(int count, char **words)
{
    (void)words;
    if (count != 1)
        return MONITOR_BAD_USAGE;
    if (!programs_ready())
        return MONITOR_DONE;
    struct process_info infos[PROCESS_MAX];
    unsigned total = process_list(infos, PROCESS_MAX);
    kprintf("%u process(es), at most %u; %lu pages held by programs, %lu kept for the kernel\n", total,
            (unsigned)PROCESS_MAX, user_space_pages_held(), user_space_reserve_pages());
    if (total == 0)
        return MONITOR_DONE;
    kprintf("  %5s %5s %-9s %4s %7s %6s %6s %12s %8s %8s  %s\n", "pid", "ppid", "state", "hart", "threads", "pages",
            "faults", "heap bytes", "slices", "syscalls", "program");
    for (unsigned i = 0; i < total && i < PROCESS_MAX; i++) {
        const struct process_info *info = &infos[i];
        char hart[8] = "-";
        if (info->hart >= 0 && info->state == PROCESS_LIVE)
            ksnprintf(hart, sizeof hart, "%d", info->hart);
        kprintf("  %5ld %5ld %-9s %4s %7u %6lu %6lu %12lu %8lu %8lu  %s\n", info->pid, info->parent_pid,
                process_state_name(info), hart, info->threads, info->pages, info->filled,
                (unsigned long)(info->brk - info->heap_start), info->slices, info->syscalls, info->name);
    }
    return MONITOR_DONE;
}

enum monitor_status monitor_run(int count, char **words)
{
    if (count < 2)
        return MONITOR_BAD_USAGE;
    if (!programs_ready())
        return MONITOR_DONE;
    if (user_program_find(words[1]) == NULL) {
        kprintf("error: no program \"%s\"; the embedded ones:", words[1]);
        for (size_t i = 0; i < user_program_count; i++)
            kprintf(" %s", user_programs[i].name);
        kprintf("\n");
        return MONITOR_DONE;
    }
    struct process_spawn_request request = {.name = words[1],
                                            .argv = (const char *const *)&words[1],
                                            .argc = (size_t)count - 1,
                                            .detached = true,
                                            .affinity = PROCESS_ANY_HART};
    long pid;
    int error = process_spawn(&request, &pid);
    if (error)
        kprintf("error: cannot start %s: %s\n", words[1], error_name(error));
    else
        kprintf("started pid %ld (%s)\n", pid, words[1]);
    return MONITOR_DONE;
}

enum monitor_status monitor_kill(int count, char **words)
{
    long pid;
    if (count != 2 || !parse_pid(words[1], &pid))
        return MONITOR_BAD_USAGE;
    if (!programs_ready())
        return MONITOR_DONE;
    int error = process_kill(pid, USER_KILL_REQUESTED);
    if (error)
        kprintf("error: no live process %ld (%s)\n", pid, error_name(error));
    else
        kprintf("pid %ld: killed on request, it ends at its next trap\n", pid);
    return MONITOR_DONE;
}

bool monitor_vm_process(long pid)
{
    struct user_space_region_info regions[REGIONS_MAX];
    struct process_info info;
    int count = sched_ready() ? process_regions(pid, regions, REGIONS_MAX, &info) : -E_SRCH;
    if (count < 0)
        return false;
    kprintf("pid %ld (%s): %lu pages held (page tables included), %lu filled on first touch; heap from %p, break %p\n",
            pid, info.name, info.pages, info.filled, (void *)info.heap_start, (void *)info.brk);
    kprintf("  %-29s %-5s %8s %8s  %s\n", "range", "perm", "pages", "mapped", "region");
    for (int i = 0; i < count; i++) {
        const struct user_space_region_info *region = &regions[i];
        char permissions[4] = {region->permissions & VM_READ ? 'r' : '-', region->permissions & VM_WRITE ? 'w' : '-',
                               region->permissions & VM_EXECUTE ? 'x' : '-', '\0'};
        kprintf("  0x%012llx-0x%012llx %-5s %8lu %8lu  %s\n", (unsigned long long)region->start,
                (unsigned long long)region->end, permissions, region->pages, region->mapped_pages,
                user_region_name(region->region));
    }
    return true;
}
