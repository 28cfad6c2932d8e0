/*
 * kernel/proc/sched.c - harts run the programs (see sched.h).
 */
#include "kernel/proc/sched.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/mmu.h"
#include "kernel/platform/trap.h"
#include "kernel/proc/syscall.h"
#include "kernel/proc/user_trap.h"

#define SIE_SOFTWARE ((uintptr_t)1 << TRAP_INTERRUPT_SOFTWARE)
#define SIE_TIMER ((uintptr_t)1 << TRAP_INTERRUPT_TIMER)
#define SCOUNTEREN_TIME ((uintptr_t)1 << 1)         /* rdtime in U-mode */
#define SCOUNTEREN_INSTRUCTIONS ((uintptr_t)1 << 2) /* rdinstret in U-mode (the user benchmarks) */
#define SSTATUS_FS ((uintptr_t)3 << 13)             /* off: a floating-point instruction is illegal */

/* What each hart knows of its own state for the programs it runs. */
static struct {
    bool prepared;                /* its scounteren and sstatus.FS are set for programs */
    long tlb_pid;                 /* the space whose entries its TLB may hold (0: none) */
    unsigned long tlb_generation; /* ... as that space was then */
} harts_state[RVMEM_MAX_HARTS];

/* A secondary hart's idle work (hart_set_idle_work): a slice of a thread, or false to sleep. */
static bool idle_work(void)
{
    unsigned self = hart_self();
    process_hart_idle(self, false);
    if (sched_run_slice(false))
        return true;
    process_hart_idle(self, true); /* then one last look: a thread queued meanwhile sends no IPI */
    if (sched_run_slice(false)) {
        process_hart_idle(self, false);
        return true;
    }
    return false;
}

void sched_start(const struct kernel_space *kernel, unsigned long reserve_pages)
{
    user_space_setup(kernel, reserve_pages);
    trap_set_user_handler(syscall_trap);
    hart_set_idle_work(idle_work);
    /* The secondary harts sleep until an IPI: marked idle, the first thread queued wakes one. */
    unsigned self = hart_self();
    for (unsigned hart = 0; hart < hart_count(); hart++)
        if (hart != self)
            process_hart_idle(hart, true);
}

bool sched_ready(void)
{
    return user_space_ready();
}

/*
 * Loads the space of process on this hart, flushing what its TLB may hold of another, or of this
 * one before a removal. The hart is counted among the space's running harts before it reads the
 * generation (see user_space.h, "TLB").
 */
static void load_space(struct process *process, unsigned self)
{
    struct user_space *space = &process->space;
    __atomic_fetch_or(&space->running_harts, 1UL << self, __ATOMIC_SEQ_CST);
    uintptr_t satp = user_space_satp(space);
    __asm__ volatile("csrw satp, %0" ::"r"(satp) : "memory");
    unsigned long generation = __atomic_load_n(&space->generation, __ATOMIC_SEQ_CST);
    if (harts_state[self].tlb_pid != process->pid || harts_state[self].tlb_generation != generation) {
        uintptr_t asid = 0; /* every program's: sfence.vma with an ASID register keeps the global (kernel) entries */
        __asm__ volatile("sfence.vma zero, %0" ::"r"(asid) : "memory");
        harts_state[self].tlb_pid = process->pid;
        harts_state[self].tlb_generation = generation;
    }
}

/*
 * Back on the kernel's page table: the program's entries may stay in the TLB, never used from
 * here (the generation tells load_space when they went stale); no longer one of its running harts.
 */
static void unload_space(struct process *process, unsigned self)
{
    __asm__ volatile("csrw satp, %0" ::"r"(mmu_kernel_satp()) : "memory");
    __atomic_fetch_and(&process->space.running_harts, ~(1UL << self), __ATOMIC_SEQ_CST);
}

bool sched_run_slice(bool leave_at_tick)
{
    if (!user_space_ready())
        return false;
    unsigned self = hart_self();
    struct thread *thread = process_next_thread(self);
    if (thread == NULL)
        return false;
    struct process *process = thread->process;
    if (process_ending(process)) { /* killed (or exiting) while it waited for a hart: it ends without running */
        thread->leave = THREAD_LEAVE_KILLED;
        process_thread_left(thread);
        return true;
    }
    if (!harts_state[self].prepared) {
        __asm__ volatile("csrs scounteren, %0" ::"r"(SCOUNTEREN_TIME | SCOUNTEREN_INSTRUCTIONS));
        __asm__ volatile("csrc sstatus, %0" ::"r"(SSTATUS_FS));
        harts_state[self].prepared = true;
    }
    thread->yield_at_tick = leave_at_tick;
    thread->slices++;
    load_space(process, self);
    uint64_t deadline = user_trap_slice_deadline();
    if (deadline)
        hart_timer_arm(deadline);
    __asm__ volatile("csrs sie, %0" ::"r"(SIE_TIMER | SIE_SOFTWARE));
    user_enter(&thread->frame);
    __asm__ volatile("csrc sie, %0" ::"r"(SIE_TIMER | SIE_SOFTWARE));
    if (deadline)
        hart_timer_disarm();
    unload_space(process, self);
    process_thread_left(thread);
    return true;
}

int sched_wait(long pid, struct process_result *result, uint64_t timeout_microseconds)
{
    uint64_t hz = hart_timebase_hz(), start = hart_time_now();
    uint64_t limit = hz ? timeout_microseconds * (hz / 1000) / 1000 : 0;
    unsigned long rounds = 0;
    for (;;) {
        int error = process_reap_kernel_child(pid, result);
        if (error != -E_AGAIN)
            return error;
        if (timeout_microseconds != 0) {
            /* Without a clock, each round counts as a slice: a bound all the same. */
            bool over =
                hz ? hart_time_now() - start > limit : ++rounds > timeout_microseconds / PROCESS_SLICE_MICROSECONDS + 1;
            if (over)
                return -E_TIMEDOUT;
        }
        if (!sched_run_slice(true))
            hart_relax();
    }
}
