/*
 * kernel/platform/trap.c - the trap handler: expected traps for tests, otherwise a crash report.
 */
#include "kernel/platform/trap.h"

#include "kernel/base/layout.h"
#include "kernel/platform/hart.h"
#include "kernel/base/platform.h"
#include "kernel/platform/power.h"
#include "kernel/base/printf.h"
#include "kernel/platform/stack.h"

#define SCAUSE_INTERRUPT TRAP_CAUSE_INTERRUPT
#define BACKTRACE_MAX_FRAMES 32

static const char *const exception_names[] = {
    [0] = "instruction address misaligned",
    [1] = "instruction access fault",
    [2] = "illegal instruction",
    [3] = "breakpoint",
    [4] = "load address misaligned",
    [5] = "load access fault",
    [6] = "store/AMO address misaligned",
    [7] = "store/AMO access fault",
    [8] = "environment call from U-mode",
    [9] = "environment call from S-mode",
    [12] = "instruction page fault",
    [13] = "load page fault",
    [15] = "store/AMO page fault",
};

static const char *const interrupt_names[] = {
    [1] = "supervisor software interrupt",
    [5] = "supervisor timer interrupt",
    [9] = "supervisor external interrupt",
};

const char *trap_cause_name(uintptr_t scause)
{
    uintptr_t code = scause & ~SCAUSE_INTERRUPT;
    const char *name = NULL;
    if (scause & SCAUSE_INTERRUPT) {
        if (code < sizeof interrupt_names / sizeof interrupt_names[0])
            name = interrupt_names[code];
    } else if (code < sizeof exception_names / sizeof exception_names[0]) {
        name = exception_names[code];
    }
    return name ? name : "unknown cause";
}

/* Per-hart expected-trap state, indexed by logical hart. */
static struct {
    bool armed;
    bool caught;
    uintptr_t scause;
    uintptr_t stval;
} expected[RVMEM_MAX_HARTS];

void trap_expect_begin(void)
{
    unsigned self = hart_current()->index;
    expected[self].caught = false;
    __atomic_store_n(&expected[self].armed, true, __ATOMIC_SEQ_CST);
}

bool trap_expect_end(uintptr_t *scause, uintptr_t *stval)
{
    unsigned self = hart_current()->index;
    __atomic_store_n(&expected[self].armed, false, __ATOMIC_SEQ_CST);
    if (scause)
        *scause = expected[self].scause;
    if (stval)
        *stval = expected[self].stval;
    return expected[self].caught;
}

/* Length of the instruction at pc: 2 for compressed, else 4. */
static unsigned instruction_length(uintptr_t pc)
{
    uint16_t low = *(const volatile uint16_t *)pc;
    return (low & 3) == 3 ? 4 : 2;
}

void backtrace_print(uintptr_t pc, uintptr_t fp, uintptr_t ra)
{
    unsigned self = hart_current()->index;
    uintptr_t low = stack_bottom(self), high = stack_top(self);
    kprintf("  backtrace:\n    #0 %p\n", (void *)pc);
    for (unsigned depth = 1; depth < BACKTRACE_MAX_FRAMES; depth++) {
        /* RISC-V frame record: return address at fp - 1 word, caller's fp at fp - 2 words. */
        if (fp < low + 2 * sizeof(uintptr_t) || fp > high || (fp & (sizeof(uintptr_t) - 1)))
            break;
        uintptr_t return_address = ((const uintptr_t *)fp)[-1];
        uintptr_t caller_fp = ((const uintptr_t *)fp)[-2];
        /* A leaf function saves only the caller's fp, at fp - 1 word, and keeps its return address
         * in ra: recognise it by a stack address where the return address would be. */
        if (depth == 1 && ra != 0 && return_address > fp && return_address <= high) {
            caller_fp = return_address;
            return_address = ra;
        }
        if (return_address == 0)
            break;
        kprintf("    #%u %p\n", depth, (void *)return_address);
        if (caller_fp <= fp)
            break;
        fp = caller_fp;
    }
}

/* Read by boot/trap.S on every trap from U-mode. */
trap_user_handler trap_user_handler_function;

void trap_set_user_handler(trap_user_handler handler)
{
    __atomic_store_n(&trap_user_handler_function, handler, __ATOMIC_RELEASE);
}

static trap_fault_describer fault_describer;

void trap_set_fault_describer(trap_fault_describer describe)
{
    fault_describer = describe;
}

const char *trap_fault_access(uintptr_t scause)
{
    switch (scause) {
    case TRAP_CAUSE_INSTRUCTION_ACCESS_FAULT:
    case TRAP_CAUSE_INSTRUCTION_PAGE_FAULT: return "execute at";
    case TRAP_CAUSE_LOAD_ACCESS_FAULT:
    case TRAP_CAUSE_LOAD_PAGE_FAULT: return "load from";
    case TRAP_CAUSE_STORE_ACCESS_FAULT:
    case TRAP_CAUSE_STORE_PAGE_FAULT: return "store to";
    default: return NULL;
    }
}

static void crash_report(const struct trap_frame *frame)
{
    struct hart *self = hart_current();
    uintptr_t sp = frame->registers[2];
    kprintf("\ncrash: unexpected trap on hart %u (hartid %lu)\n", self->index, self->hartid);
    kprintf("  scause 0x%lx (%s)\n  sepc   %p\n  stval  0x%lx\n", (unsigned long)frame->scause,
            trap_cause_name(frame->scause), (void *)frame->sepc, (unsigned long)frame->stval);
    const char *access = trap_fault_access(frame->scause);
    if (access != NULL) {
        char what[TRAP_FAULT_TEXT_BYTES] = "";
        if (fault_describer != NULL)
            fault_describer(frame->stval, frame->scause, what, sizeof what);
        else
            ksnprintf(what, sizeof what, "(paging is off: the physical memory protection refused it)");
        kprintf("  fault: %s 0x%lx %s\n", access, (unsigned long)frame->stval, what);
    }
    kprintf("  sp     %p (stack %p-%p)\n  ra     %p\n", (void *)sp, (void *)stack_bottom(self->index),
            (void *)stack_top(self->index), (void *)frame->registers[1]);
    backtrace_print(frame->sepc, frame->registers[8], frame->registers[1]);
}

/* A page fault on an address of the calling hart's guard page: its stack overflowed. */
static bool overflowed_into_guard_page(const struct trap_frame *frame, unsigned self)
{
    bool page_fault = frame->scause == TRAP_CAUSE_LOAD_PAGE_FAULT || frame->scause == TRAP_CAUSE_STORE_PAGE_FAULT;
    uintptr_t guard = stack_guard_page(self);
    return page_fault && frame->stval >= guard && frame->stval - guard < STACK_GUARD_BYTES;
}

void trap_handler(struct trap_frame *frame)
{
    unsigned self = hart_current()->index;
    uintptr_t here;
    __asm__ volatile("mv %0, sp" : "=r"(here));
    bool emergency = stack_on_emergency(self, here); /* boot/trap.S found sp unusable */
    if (self < RVMEM_MAX_HARTS && expected[self].armed && !(frame->scause & SCAUSE_INTERRUPT)) {
        expected[self].armed = false;
        expected[self].caught = true;
        expected[self].scause = frame->scause;
        expected[self].stval = frame->stval;
        bool fetch =
            frame->scause == TRAP_CAUSE_INSTRUCTION_PAGE_FAULT || frame->scause == TRAP_CAUSE_INSTRUCTION_ACCESS_FAULT;
        /* A fetch fault: resume at the return address of the call that jumped there (see trap.h). */
        frame->sepc = fetch ? frame->registers[1] : frame->sepc + instruction_length(frame->sepc);
        if (!emergency)
            stack_check("trap handler");
        return;
    }
    if (overflowed_into_guard_page(frame, self))
        stack_overflow_fault_report(frame->registers[2], frame->stval, frame->sepc);
    crash_report(frame);
    if (!emergency)
        stack_check("trap handler");
    power_exit(EXIT_CRASH);
}
