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
#include "kernel/proc/process_internal.h"
#include "kernel/proc/programs.h"

struct spinlock process_lock = SPINLOCK_INIT;
struct process process_table[PROCESS_MAX];
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
void process_wake_a_hart_for(int affinity)
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

void process_enqueue(struct thread *thread)
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
    spin_lock(&process_lock);
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
    spin_unlock(&process_lock);
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

bool process_wake(struct thread *thread)
{
    if (thread->state == THREAD_BLOCKED) {
        process_enqueue(thread);
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
        if (process_table[i].state == PROCESS_FREE) {
            processes++;
            return &process_table[i];
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

void process_thread_init(struct thread *thread, struct process *process, unsigned slot, long id, int affinity)
{
    memset(&thread->frame, 0, sizeof thread->frame);
    thread->process = process;
    thread->next = NULL;
    thread->id = id;
    thread->slot = slot;
    thread->futex_address = 0;
    thread->joiner = 0;
    thread->exit_value = 0;
    thread->stack_bytes = 0;
    thread->hart = -1;
    thread->affinity = affinity;
    thread->leave = THREAD_LEAVE_NONE;
    thread->waiting = thread->wake_pending = thread->yield_at_tick = false;
    thread->exit_status = 0;
    thread->slices = thread->syscalls = thread->preemptions = 0;
}

struct thread *process_find_thread(struct process *process, long id)
{
    for (unsigned slot = 0; slot < USER_PROCESS_THREADS_MAX; slot++) {
        struct thread *thread = &process->threads[slot];
        if (thread->state != THREAD_UNUSED && thread->id == id)
            return thread;
    }
    return NULL;
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

    spin_lock(&process_lock);
    struct process *process = slot_take();
    long new_pid = process ? ++last_pid : 0;
    if (process) {
        process->state = PROCESS_LIVE; /* reserved; its thread is not queued yet */
        process->pid = new_pid;
        for (unsigned slot = 0; slot < USER_PROCESS_THREADS_MAX; slot++)
            process->threads[slot].state = THREAD_UNUSED;
        process->threads[0].state = THREAD_NEW;
        process->live_threads = 1;
        process->last_thread_id = USER_MAIN_THREAD_ID;
        process->thread_stack_bytes = 0;
        process->exiting = false;
        process->exit_status = 0;
        process->kill = (struct process_kill){0};
    }
    spin_unlock(&process_lock);
    if (process == NULL)
        return -E_AGAIN;

    process->parent = request->parent;
    process->orphan = false;
    process->detached = request->detached && request->parent == PROCESS_PARENT_KERNEL;
    process->output = request->parent == PROCESS_PARENT_KERNEL ? request->output : NULL;
    process->wait_status = 0;
    process->started_ticks = hart_time_now();
    size_t name_length = strnlen(program->name, sizeof process->name - 1);
    memcpy(process->name, program->name, name_length);
    process->name[name_length] = '\0';

    struct thread *thread = &process->threads[0];
    process_thread_init(thread, process, 0, USER_MAIN_THREAD_ID, request->affinity);

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
        spin_lock(&process_lock);
        slot_free(process);
        spin_unlock(&process_lock);
        return error;
    }
    thread->frame.pc = image.entry;
    thread->frame.registers[2] = sp;

    spin_lock(&process_lock);
    process_enqueue(thread);
    spin_unlock(&process_lock);
    process_wake_a_hart_for(thread->affinity);
    *pid = new_pid;
    return 0;
}

/* What process_stop_threads leaves to do once the lock is released. */
struct process_stop {
    bool ipi[RVMEM_MAX_HARTS]; /* the hart of that index runs a thread that must leave */
    unsigned queued;           /* blocked threads made runnable to end */
    int affinity;
};

/*
 * Makes every thread of an ending process but self leave for good (lock held): a RUNNING one
 * on another hart gets an IPI (stop_send), a BLOCKED one is queued (the hart that picks it ends
 * it), a RUNNABLE or NEW one ends when it is picked.
 */
static void stop_threads(struct process *process, const struct thread *self, struct process_stop *stop)
{
    unsigned me = hart_self();
    stop->affinity = process->threads[0].affinity;
    for (unsigned slot = 0; slot < USER_PROCESS_THREADS_MAX; slot++) {
        struct thread *thread = &process->threads[slot];
        if (thread == self)
            continue;
        if (thread->state == THREAD_RUNNING && thread->hart >= 0 && (unsigned)thread->hart != me)
            stop->ipi[thread->hart] = true;
        if (thread->state == THREAD_BLOCKED) {
            thread->waiting = false;
            thread->futex_address = 0;
            if (process_wake(thread))
                stop->queued++;
        }
    }
}

/* stop_threads' IPIs and wake-ups (lock released). */
static void stop_send(const struct process_stop *stop)
{
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++)
        if (stop->ipi[hart])
            sbi_send_ipi(harts[hart].hartid); /* it leaves at its next trap: make one come */
    for (unsigned i = 0; i < stop->queued; i++)
        process_wake_a_hart_for(stop->affinity);
}

void process_kill_fault(struct process *process, const struct process_kill *kill)
{
    struct process_stop stop = {0};
    spin_lock(&process_lock);
    bool first = !process_ending(process);
    if (first) {
        process->kill = *kill;
        stop_threads(process, NULL, &stop);
    }
    spin_unlock(&process_lock);
    stop_send(&stop);
    if (first)
        process_report_kill(process);
}

/*
 * The end of a process whose last thread left for good (last: that thread), not under the lock:
 * its pages go back first.
 */
static void end_process(struct process *process, const struct thread *last)
{
    bool killed = process->kill.cause != 0;
    if (killed && process->kill.scause == 0) { /* killed on request: its report now (a fault's came at once) */
        process->kill.pc = last->frame.pc;
        process_report_kill(process);
    }
    int status = killed ? (process->kill.cause & 0x7f) : ((process->exit_status & 0xff) << 8);
    user_space_destroy(&process->space);

    bool report_end = false;
    long pid = process->pid;
    char name[sizeof process->name];
    memcpy(name, process->name, sizeof name);
    unsigned queued = 0;
    int affinity = PROCESS_ANY_HART;
    spin_lock(&process_lock);
    process->wait_status = status;
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *child = &process_table[i];
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
        for (unsigned slot = 0; parent && slot < USER_PROCESS_THREADS_MAX; slot++) {
            struct thread *waiter = &parent->threads[slot];
            if (waiter->state == THREAD_UNUSED || !waiter->waiting)
                continue;
            waiter->waiting = false;
            affinity = waiter->affinity;
            if (process_wake(waiter))
                queued++;
        }
    }
    spin_unlock(&process_lock);
    for (unsigned i = 0; i < queued; i++)
        process_wake_a_hart_for(affinity);
    if (report_end)
        kprintf("[pid %ld %s: %s %d]\n", pid, name, killed ? "killed, wait status" : "exited with",
                killed ? status : WAIT_EXIT_CODE(status));
}

/*
 * A thread that called thread_exit while others live (lock held): DONE, its slot and stack kept
 * for thread_join; its joiner, blocked, is queued. Returns whether it was.
 */
static bool thread_done(struct process *process, struct thread *thread)
{
    thread->state = THREAD_DONE;
    process->live_threads--;
    struct thread *joiner = thread->joiner ? process_find_thread(process, thread->joiner) : NULL;
    return joiner && process_wake(joiner);
}

void process_thread_left(struct thread *thread)
{
    struct process *process = thread->process;
    struct process_stop stop = {0};
    bool last = false, joiner_queued = false;
    spin_lock(&process_lock);
    if (!process_ending(process)) {
        if (thread->leave == THREAD_LEAVE_EXIT) {
            process->exit_status = thread->exit_status;
            process->exiting = true;
            stop_threads(process, thread, &stop);
        } else if (thread->leave == THREAD_LEAVE_THREAD_EXIT && process->live_threads == 1) {
            process->exit_status = (int)thread->exit_value; /* the last thread: its value is the status */
            process->exiting = true;
        }
    }
    if (process_ending(process)) {
        thread->state = THREAD_DONE;
        thread->waiting = false;
        thread->futex_address = 0;
        last = --process->live_threads == 0;
    } else {
        switch (thread->leave) {
        case THREAD_LEAVE_THREAD_EXIT: joiner_queued = thread_done(process, thread); break;
        case THREAD_LEAVE_BLOCK:
            if (thread->wake_pending) {
                thread->waiting = false;
                thread->futex_address = 0;
                process_enqueue(thread);
            } else {
                thread->state = THREAD_BLOCKED;
            }
            break;
        case THREAD_LEAVE_NONE:
        case THREAD_LEAVE_YIELD:
        case THREAD_LEAVE_EXIT: /* not reached: exit makes the process ending */
        case THREAD_LEAVE_KILLED: process_enqueue(thread); break;
        }
    }
    bool queued = thread->state == THREAD_RUNNABLE;
    spin_unlock(&process_lock);
    stop_send(&stop);
    if (queued || joiner_queued)
        process_wake_a_hart_for(thread->affinity);
    if (last)
        end_process(process, thread);
}

long process_wait_child(struct thread *thread, long pid, int *status)
{
    struct process *parent = thread->process;
    long result = -E_CHILD;
    spin_lock(&process_lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *child = &process_table[i];
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
        thread->waiting = true;
    spin_unlock(&process_lock);
    return result;
}

int process_reap_kernel_child(long pid, struct process_result *result)
{
    int error = -E_CHILD;
    spin_lock(&process_lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *process = &process_table[i];
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
    spin_unlock(&process_lock);
    return error;
}

int process_kill(long pid, int cause)
{
    int error = -E_SRCH;
    struct process_stop stop = {0};
    spin_lock(&process_lock);
    for (unsigned i = 0; i < PROCESS_MAX; i++) {
        struct process *process = &process_table[i];
        if (process->state != PROCESS_LIVE || process->pid != pid)
            continue;
        error = 0;
        if (process_ending(process) || process->live_threads == 0)
            break; /* dying already */
        process->kill = (struct process_kill){.cause = cause, .region = USER_REGION_UNUSED};
        stop_threads(process, NULL, &stop);
        break;
    }
    spin_unlock(&process_lock);
    stop_send(&stop);
    return error;
}

unsigned process_count(void)
{
    return __atomic_load_n(&processes, __ATOMIC_RELAXED);
}
