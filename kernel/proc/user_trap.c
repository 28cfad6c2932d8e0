/*
 * kernel/proc/user_trap.c - faults, exceptions and interrupts from U-mode (see user_trap.h).
 */
#include "kernel/proc/user_trap.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/mmu.h"

#define SIP_SOFTWARE ((uintptr_t)1 << TRAP_INTERRUPT_SOFTWARE)

uint64_t user_trap_slice_deadline(void)
{
    uint64_t hz = hart_timebase_hz();
    return hz ? hart_time_now() + hz * PROCESS_SLICE_MICROSECONDS / 1000000 : 0;
}

/* An interrupt taken in U-mode: stay (true) or leave the hart to whoever needs it (false). */
static bool interrupt(struct thread *thread, uintptr_t code)
{
    if (code == TRAP_INTERRUPT_SOFTWARE) {
        __asm__ volatile("csrc sip, %0" ::"r"(SIP_SOFTWARE));
        mmu_answer_shootdowns();
    }
    bool tick = code == TRAP_INTERRUPT_TIMER;
    if (tick)
        thread->preemptions++;
    if (process_ending(thread->process) || hart_job_pending() ||
        (tick && (thread->yield_at_tick || process_others_runnable(hart_self())))) {
        thread->leave = THREAD_LEAVE_YIELD; /* process_thread_left turns it into KILLED when it is to die */
        return false;
    }
    if (tick) {
        uint64_t deadline = user_trap_slice_deadline();
        if (deadline)
            hart_timer_arm(deadline);
    }
    return true;
}

/* The wait status cause an exception kills with (USER_KILL_*). */
static int kill_cause(uintptr_t scause)
{
    switch (scause) {
    case 0: /* instruction address misaligned */
    case 4: /* load address misaligned */
    case 6: return USER_KILL_MISALIGNED;
    case 3: return USER_KILL_BREAKPOINT;
    case TRAP_CAUSE_INSTRUCTION_ACCESS_FAULT:
    case TRAP_CAUSE_LOAD_ACCESS_FAULT:
    case TRAP_CAUSE_STORE_ACCESS_FAULT:
    case TRAP_CAUSE_INSTRUCTION_PAGE_FAULT:
    case TRAP_CAUSE_LOAD_PAGE_FAULT:
    case TRAP_CAUSE_STORE_PAGE_FAULT: return USER_KILL_MEMORY_FAULT;
    default: return USER_KILL_ILLEGAL_INSTRUCTION; /* 2, and anything a program should never cause */
    }
}

/*
 * A trap the kernel does not serve (fill_error: what the page fault's fill said, 0 for other
 * traps): the kill, its report, and the thread leaves. Out of the common path: a page served on
 * first touch never builds a report.
 */
static __attribute__((noinline)) bool kill_for_trap(struct thread *thread, uintptr_t scause, uintptr_t stval,
                                                    int fill_error)
{
    struct process *process = thread->process;
    struct process_kill kill = {.cause = kill_cause(scause),
                                .scause = scause,
                                .address = stval,
                                .pc = thread->frame.pc,
                                .region = user_space_region(&process->space, stval),
                                .thread_id = thread->id};
    if (fill_error == -E_NOMEM) { /* entitled to the page, but none is left for programs */
        kill.cause = USER_KILL_REQUESTED;
        kill.out_of_memory = true;
    } else if (kill.cause == USER_KILL_ILLEGAL_INSTRUCTION || kill.cause == USER_KILL_BREAKPOINT) {
        kill.address = thread->frame.pc; /* not an access: the instruction itself is at fault */
        kill.region = user_space_region(&process->space, thread->frame.pc);
    }
    if (kill.region == USER_REGION_THREAD_STACK || kill.region == USER_REGION_THREAD_STACK_GUARD)
        user_space_thread_stack_at(&process->space, kill.address, &kill.stack_slot);
    process_kill_fault(process, &kill);
    thread->leave = THREAD_LEAVE_KILLED;
    return false;
}

bool user_trap_exception(struct thread *thread, uintptr_t scause)
{
    if (scause & TRAP_CAUSE_INTERRUPT)
        return interrupt(thread, scause & ~TRAP_CAUSE_INTERRUPT);
    uintptr_t stval;
    __asm__ volatile("csrr %0, stval" : "=r"(stval));
    int fill_error = 0;
    if (scause == TRAP_CAUSE_LOAD_PAGE_FAULT || scause == TRAP_CAUSE_STORE_PAGE_FAULT ||
        scause == TRAP_CAUSE_INSTRUCTION_PAGE_FAULT) {
        enum user_access access = scause == TRAP_CAUSE_LOAD_PAGE_FAULT    ? USER_ACCESS_READ
                                  : scause == TRAP_CAUSE_STORE_PAGE_FAULT ? USER_ACCESS_WRITE
                                                                          : USER_ACCESS_EXECUTE;
        fill_error = user_space_fault(&thread->process->space, stval, access);
        if (fill_error == 0)
            return true; /* filled (or mapped already by another thread): the program goes on */
    }
    return kill_for_trap(thread, scause, stval, fill_error);
}
