/*
 * kernel/proc/process.c - the process table, the run queue and a process's life (see process.h).
 */
#include "kernel/proc/process.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/spinlock.h"
#include "kernel/base/string.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/sbi.h"
#include "kernel/proc/elf.h"
#include "kernel/proc/programs.h"

static struct spinlock lock = SPINLOCK_INIT;
static struct process table[PROCESS_MAX];
static long last_pid;
static unsigned processes; /* live and zombie */
/* The run queue: a FIFO of RUNNABLE threads. */
static struct thread *queue_head, *queue_tail;
/* Harts asleep for want of a thread (process_hart_idle): one of them gets an IPI when a thread is queued. */
static int hart_idle[RVMEM_MAX_HARTS]; /* a word: the AMOs have no byte form */

void process_hart_idle(unsigned hart, bool idle)
{
    __atomic_store_n(&hart_idle[hart], idle ? 1 : 0, __ATOMIC_SEQ_CST);
}

/*
 * After a thread was queued (lock released): wakes an idle hart that may run it. The idle hart
 * marks itself idle before it looks at the queue for the last time and sleeps, so either it sees
 * the thread or this sees it idle (both sides are sequentially consistent).
 */
static void wake_a_hart_for(int affinity)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    unsigned online = hart_count(), self = hart_self();
    for (unsigned hart = 0; hart < online; hart++) {
        if (hart == self || (affinity != PROCESS_ANY_HART && (unsigned)affinity != hart))
            continue;
        if (__atomic_exchange_n(&hart_idle[hart], 0, __ATOMIC_SEQ_CST)) {
            sbi_send_ipi(harts[hart].hartid);
            return;
        }
    }
}

/* Puts thread at the queue's tail as RUNNABLE (lock held). */
static void enqueue(struct thread *thread)
{
    thread->state = THREAD_RUNNABLE;
    thread->next = NULL;
    if (queue_tail)
        queue_tail->next = thread;
    else
        queue_head = thread;
    queue_tail = thread;
}

static bool may_run_on(const struct thread *thread, unsigned hart)
{
    return thread->affinity == PROCESS_ANY_HART || (unsigned)thread->affinity == hart;
}

struct thread *process_next_thread(unsigned hart)
{
    if (__atomic_load_n(&queue_head, __ATOMIC_RELAXED) == NULL)
        return NULL; /* a glance without the lock: an idle hart looks often */
    spin_lock(&lock);
    struct thread *previous = NULL, *thread = queue_head;
    while (thread && !may_run_on(thread, hart)) {
        previous = thread;
        thread = thread->next;
    }
    if (thread) {
        if (previous)
            previous->next = thread->next;
        else
            queue_head = thread->next;
        if (queue_tail == thread)
            queue_tail = previous;
        thread->next = NULL;
        thread->state = THREAD_RUNNING;
        thread->hart = (int)hart;
        thread->leave = THREAD_LEAVE_NONE;
        thread->wake_pending = false;
    }
    spin_unlock(&lock);
    return thread;
}

bool process_others_runnable(unsigned hart)
{
    for (const struct thread *thread = __atomic_load_n(&queue_head, __ATOMIC_ACQUIRE); thread;
         thread = __atomic_load_n(&thread->next, __ATOMIC_RELAXED))
        if (may_run_on(thread, hart))
            return true; /* read without the lock: a snapshot, enough to decide a preemption */
    return false;
}

/* Makes a BLOCKED thread RUNNABLE, or keeps a RUNNING one from blocking (lock held). True when queued. */
static bool wake(struct thread *thread)
{
    if (thread->state == THREAD_BLOCKED) {
        enqueue(thread);
        return true;
    }
    if (thread->state == THREAD_RUNNING)
        thread->wake_pending = true;
    return false;
}

/* A free slot, counted, or NULL at the limit (lock held). */
static struct process *slot_take(void)
{
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        if (table[i].state == PROCESS_FREE) {
            processes++;
            return &table[i];
        }
    }
    return NULL;
}

/* Frees a process's slot (lock held); its pages went back before. */
static void slot_free(struct process *process)
{
    process->state = PROCESS_FREE;
    process->pid = 0;
    processes--;
}

/* A seed for the program's stack-protector canary: the clock and the pid, mixed (xorshift). */
static uintptr_t canary_seed(long pid)
{
    uint64_t x = hart_time_now() ^ ((uint64_t)pid << 32) ^ 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uintptr_t)x;
}

int process_spawn(const struct process_spawn_request *request, long *pid)
{
    if (!user_space_ready())
        return -E_NOSYS;
    const struct user_program *program = user_program_find(request->name);
    if (program == NULL)
        return -E_NOENT;
    if (request->argc == 0 || request->argc > USER_ARGUMENTS_MAX)
        return -E_2BIG;
    struct elf_image image;
    struct elf_target target = elf_target_native(USER_WINDOW_START, USER_WINDOW_END);
    if (elf_load(program->bytes, program->size, &target, &image) != 0) {
        kprintf("spawn: %s: the loader refused it: %s (program header %d)\n", program->name,
                elf_problem_text(image.problem), image.problem_header);
        return -E_NOEXEC;
    }

    spin_lock(&lock);
    struct process *process = slot_take();
    long new_pid = process ? ++last_pid : 0;
    if (process) {
        process->state = PROCESS_LIVE; /* reserved; its thread is not queued yet */
        process->pid = new_pid;
        process->thread.state = THREAD_NEW;
    }
    spin_unlock(&lock);
    if (process == NULL)
        return -E_AGAIN;

    process->parent = request->parent;
    process->orphan = false;
    process->detached = request->detached && request->parent == PROCESS_PARENT_KERNEL;
    process->output = request->parent == PROCESS_PARENT_KERNEL ? request->output : NULL;
    process->wait_status = 0;
    process->kill = (struct process_kill){0};
    process->started_ticks = hart_time_now();
    size_t name_length = strnlen(program->name, sizeof process->name - 1);
    memcpy(process->name, program->name, name_length);
    process->name[name_length] = '\0';

    struct thread *thread = &process->thread;
    memset(&thread->frame, 0, sizeof thread->frame);
    thread->process = process;
    thread->next = NULL;
    thread->hart = -1;
    thread->affinity = request->affinity;
    thread->leave = THREAD_LEAVE_NONE;
    thread->waiting = thread->wake_pending = thread->yield_at_tick = false;
    thread->exit_status = 0;
    thread->slices = thread->syscalls = thread->preemptions = 0;

    uintptr_t limit = request->no_heap_limit      ? USER_SPACE_NO_HEAP_LIMIT
                      : request->heap_limit_bytes ? request->heap_limit_bytes
                                                  : PROCESS_HEAP_LIMIT_DEFAULT;
    uintptr_t sp = 0;
    int error = user_space_create(&process->space, request->eager, limit);
    if (error == 0)
        error = user_space_load(&process->space, program->bytes, &image);
    if (error == 0)
        error = user_space_stack(&process->space, request->argv, request->argc, canary_seed(new_pid), &sp);
    if (error) {
        user_space_destroy(&process->space);
        spin_lock(&lock);
        slot_free(process);
        spin_unlock(&lock);
        return error;
    }
    thread->frame.pc = image.entry;
    thread->frame.registers[2] = sp;

    spin_lock(&lock);
    enqueue(thread);
    spin_unlock(&lock);
    wake_a_hart_for(thread->affinity);
    *pid = new_pid;
    return 0;
}

/* The pid of a process's parent as ps shows it: 0 for the kernel (or an orphan). */
static long parent_pid(const struct process *process)
{
    return process->parent ? process->parent->pid : 0;
}

void process_report_kill(const struct process *process)
{
    const struct process_kill *kill = &process->kill;
    static const char *const causes[] = {
        [USER_KILL_ILLEGAL_INSTRUCTION] = "illegal instruction",
        [USER_KILL_BREAKPOINT] = "breakpoint",
        [USER_KILL_MISALIGNED] = "misaligned access",
        [USER_KILL_REQUESTED] = "killed",
        [USER_KILL_MEMORY_FAULT] = "memory fault",
    };
    const char *cause =
        (unsigned)kill->cause < sizeof causes / sizeof causes[0] && causes[kill->cause] ? causes[kill->cause] : "?";
    if (kill->scause == 0) {
        kprintf("kill: pid %ld (%s): %s on request, pc %p; wait status %d (%s)\n", process->pid, process->name, cause,
                (void *)kill->pc, kill->cause, cause);
        return;
    }
    kprintf("kill: pid %ld (%s): %s%s at %p (region: %s), pc %p; wait status %d (%s)\n", process->pid, process->name,
            kill->out_of_memory ? "out of memory: no page for a " : "", trap_cause_name(kill->scause),
            (void *)kill->address, user_region_name(kill->region), (void *)kill->pc, kill->cause, cause);
}

void process_kill_fault(struct process *process, const struct process_kill *kill)
{
    spin_lock(&lock);
    bool first = process->kill.cause == 0;
    if (first)
        process->kill = *kill;
    spin_unlock(&lock);
    if (first)
        process_report_kill(process);
}

/* The end of a process whose thread left for good (not under the lock: its pages go back first). */
static void end_process(struct process *process)
{
    struct thread *thread = &process->thread;
    bool killed = process->kill.cause != 0;
    if (killed && process->kill.scause == 0) { /* killed on request: its report now (a fault's came at once) */
        process->kill.pc = thread->frame.pc;
        process_report_kill(process);
    }
    int status = killed ? (process->kill.cause & 0x7f) : ((thread->exit_status & 0xff) << 8);
    user_space_destroy(&process->space);

    bool report_end = false;
    long pid = process->pid;
    char name[sizeof process->name];
    memcpy(name, process->name, sizeof name);
    spin_lock(&lock);
    thread->state = THREAD_DONE;
    process->wait_status = status;
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *child = &table[i];
        if (child->state == PROCESS_FREE || child->parent != process)
            continue;
        child->parent = NULL;
        child->orphan = true;
        if (child->state == PROCESS_ZOMBIE)
            slot_free(child); /* nobody will wait for it now */
    }
    if (process->orphan || process->detached) {
        report_end = process->detached;
        slot_free(process);
    } else {
        process->state = PROCESS_ZOMBIE;
        struct process *parent = process->parent;
        if (parent && parent->thread.waiting) {
            parent->thread.waiting = false;
            if (wake(&parent->thread)) {
                spin_unlock(&lock);
                wake_a_hart_for(parent->thread.affinity);
                return;
            }
        }
    }
    spin_unlock(&lock);
    if (report_end)
        kprintf("[pid %ld %s: %s %d]\n", pid, name, killed ? "killed, wait status" : "exited with",
                killed ? status : WAIT_EXIT_CODE(status));
}

void process_thread_left(struct thread *thread)
{
    struct process *process = thread->process;
    if (process->kill.cause != 0 && thread->leave != THREAD_LEAVE_EXIT)
        thread->leave = THREAD_LEAVE_KILLED;
    switch (thread->leave) {
    case THREAD_LEAVE_EXIT:
    case THREAD_LEAVE_KILLED: end_process(process); return;
    case THREAD_LEAVE_BLOCK:
        spin_lock(&lock);
        if (thread->wake_pending || process->kill.cause != 0) {
            thread->waiting = false;
            enqueue(thread);
        } else {
            thread->state = THREAD_BLOCKED;
        }
        spin_unlock(&lock);
        break;
    case THREAD_LEAVE_NONE:
    case THREAD_LEAVE_YIELD:
        spin_lock(&lock);
        enqueue(thread);
        spin_unlock(&lock);
        break;
    }
    if (thread->state == THREAD_RUNNABLE)
        wake_a_hart_for(thread->affinity);
}

long process_wait_child(struct process *parent, long pid, int *status)
{
    long result = -E_CHILD;
    spin_lock(&lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *child = &table[i];
        if (child->state == PROCESS_FREE || child->parent != parent || (pid != -1 && child->pid != pid))
            continue;
        if (child->state == PROCESS_ZOMBIE) {
            result = child->pid;
            *status = child->wait_status;
            slot_free(child);
            break;
        }
        result = -E_AGAIN;
    }
    if (result == -E_AGAIN)
        parent->thread.waiting = true;
    spin_unlock(&lock);
    return result;
}

int process_reap_kernel_child(long pid, struct process_result *result)
{
    int error = -E_CHILD;
    spin_lock(&lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *process = &table[i];
        if (process->state == PROCESS_FREE || process->pid != pid)
            continue;
        if (process->parent != PROCESS_PARENT_KERNEL || process->orphan || process->detached)
            break;
        if (process->state == PROCESS_ZOMBIE) {
            result->wait_status = process->wait_status;
            result->kill = process->kill;
            slot_free(process);
            error = 0;
        } else {
            error = -E_AGAIN;
        }
        break;
    }
    spin_unlock(&lock);
    return error;
}

int process_kill(long pid, int cause)
{
    int error = -E_SRCH;
    int ipi_hart = -1, wake_hart = -2;
    spin_lock(&lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *process = &table[i];
        if (process->state != PROCESS_LIVE || process->pid != pid)
            continue;
        error = 0;
        if (process->kill.cause != 0 || process->thread.state == THREAD_DONE)
            break; /* dying already */
        process->kill = (struct process_kill){.cause = cause, .region = USER_REGION_UNUSED};
        struct thread *thread = &process->thread;
        if (thread->state == THREAD_RUNNING && thread->hart != (int)hart_self())
            ipi_hart = thread->hart; /* it leaves at its next trap: make one come */
        if (thread->state == THREAD_BLOCKED) {
            thread->waiting = false;
            if (wake(thread))
                wake_hart = thread->affinity;
        }
        break;
    }
    spin_unlock(&lock);
    if (ipi_hart >= 0)
        sbi_send_ipi(harts[ipi_hart].hartid);
    if (wake_hart != -2)
        wake_a_hart_for(wake_hart);
    return error;
}

unsigned process_list(struct process_info *infos, unsigned max)
{
    unsigned count = 0;
    spin_lock(&lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        const struct process *process = &table[i];
        if (process->state == PROCESS_FREE)
            continue;
        if (count < max) {
            struct process_info *info = &infos[count];
            info->pid = process->pid;
            info->parent_pid = parent_pid(process);
            memcpy(info->name, process->name, sizeof info->name);
            info->state = process->state;
            info->thread_state = process->thread.state;
            info->hart = process->thread.hart;
            info->pages = process->space.pages;
            info->filled = process->space.filled;
            info->slices = process->thread.slices;
            info->syscalls = process->thread.syscalls;
            info->brk = process->space.brk;
            info->heap_start = process->space.heap_start;
            info->wait_status = process->wait_status;
        }
        count++;
    }
    spin_unlock(&lock);
    return count;
}

unsigned process_count(void)
{
    return __atomic_load_n(&processes, __ATOMIC_RELAXED);
}

int process_regions(long pid, struct user_space_region_info *regions, unsigned max, struct process_info *info)
{
    struct process *found = NULL;
    spin_lock(&lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++)
        if (table[i].state == PROCESS_LIVE && table[i].pid == pid && table[i].thread.state != THREAD_DONE &&
            table[i].thread.state != THREAD_NEW)
            found = &table[i];
    if (found)
        spin_lock(&found->space.lock); /* the process lock, then the space's: the one order */
    spin_unlock(&lock);
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
    case THREAD_DONE: return "ending";
    }
    return "?";
}
