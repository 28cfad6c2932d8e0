/*
 * kernel/platform/trap.h - the trap frame and the crash report.
 */
#ifndef RVMEM_KERNEL_PLATFORM_TRAP_H
#define RVMEM_KERNEL_PLATFORM_TRAP_H

/* struct trap_frame layout in machine words, for boot/trap.S. */
#define TRAP_FRAME_SEPC 32
#define TRAP_FRAME_SSTATUS 33
#define TRAP_FRAME_SCAUSE 34
#define TRAP_FRAME_STVAL 35
#define TRAP_FRAME_WORDS 36
#define TRAP_FRAME_SIZE (TRAP_FRAME_WORDS * (__riscv_xlen / 8))

/* struct user_frame layout in machine words, for boot/trap.S: registers x0..x31, then these. */
#define USER_FRAME_PC 32
#define USER_FRAME_KERNEL_SP 33
#define USER_FRAME_KERNEL_TP 34
#define USER_FRAME_KERNEL_GP 35
#define USER_FRAME_WORDS 36

/* scause of an ecall from U-mode, and the interrupt bit with the two interrupts a program can take. */
#define TRAP_CAUSE_USER_ECALL 8
#define TRAP_CAUSE_INTERRUPT ((uintptr_t)1 << (__riscv_xlen - 1))
#define TRAP_INTERRUPT_SOFTWARE 1
#define TRAP_INTERRUPT_TIMER 5

/* scause exception codes of the faults a crash report explains. */
#define TRAP_CAUSE_INSTRUCTION_ACCESS_FAULT 1
#define TRAP_CAUSE_LOAD_ACCESS_FAULT 5
#define TRAP_CAUSE_STORE_ACCESS_FAULT 7
#define TRAP_CAUSE_INSTRUCTION_PAGE_FAULT 12
#define TRAP_CAUSE_LOAD_PAGE_FAULT 13
#define TRAP_CAUSE_STORE_PAGE_FAULT 15

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trap_frame {
    uintptr_t registers[32]; /* x0 (unused) .. x31; registers[2] is sp before the trap */
    uintptr_t sepc;
    uintptr_t sstatus;
    uintptr_t scause;
    uintptr_t stval;
};

_Static_assert(sizeof(struct trap_frame) == TRAP_FRAME_SIZE, "trap frame layout");

/*
 * A program's registers while it is not running, and what boot/trap.S needs to come back into
 * the kernel when it traps (sscratch points at it while the program runs: boot/trap.S). While the
 * user handler runs, registers[8] and [18..27] (s0, s2..s11) are stale: the program's values are
 * still in the registers; they are stored when the handler says leave, and then the frame holds
 * the whole program.
 */
struct user_frame {
    uintptr_t registers[32]; /* x0 (unused) .. x31 of the program */
    uintptr_t pc;            /* where the program resumes (sepc) */
    uintptr_t kernel_sp;     /* user_enter's: the kernel stack a trap from the program runs on */
    uintptr_t kernel_tp;     /* user_enter's: the hart's tp and gp, restored on a trap */
    uintptr_t kernel_gp;
};

_Static_assert(sizeof(struct user_frame) == USER_FRAME_WORDS * sizeof(uintptr_t), "user frame layout");

/*
 * What the kernel does with a trap from U-mode (boot/trap.S calls it on the kernel stack, with
 * the frame saved as described above and the trap's scause): true to return to the program
 * (frame->pc, the registers as the handler left them), false to leave it (user_enter returns).
 * Interrupts stay disabled while it runs.
 */
typedef bool (*trap_user_handler)(struct user_frame *frame, uintptr_t scause);

/* Installs the handler of traps from U-mode (kernel/proc: the system calls, faults, the timer). */
void trap_set_user_handler(trap_user_handler handler);

/*
 * Runs the program of frame in U-mode, from frame->pc with frame's registers, until the user
 * handler returns false; then returns, the whole program saved in frame. The caller has set up
 * the address space (satp) and the interrupts the program may take (sie); sstatus.SPP is cleared
 * here. Interrupts are taken only while the program runs (sstatus.SIE stays 0 in the kernel).
 */
void user_enter(struct user_frame *frame);

/* Name of an scause value, e.g. "illegal instruction" or "load page fault". */
const char *trap_cause_name(uintptr_t scause);

/*
 * Arms the calling hart to survive the next trap: instead of a crash report, the trap
 * handler records scause and stval and resumes after the faulting instruction; after an
 * instruction fetch fault (the pc itself was bad), at the return address in ra, so a test
 * provokes one by calling the address. trap_expect_end() disarms and returns true when a
 * trap was caught (filling its cause).
 */
void trap_expect_begin(void);
bool trap_expect_end(uintptr_t *scause, uintptr_t *stval);

/*
 * Prints a frame-pointer backtrace of the calling hart's stack, from pc and frame pointer fp.
 * ra is the return-address register at pc (0 if unknown), used when pc is in a leaf function.
 * Bounded: stops at 32 frames or at any fp outside the hart's stack.
 */
void backtrace_print(uintptr_t pc, uintptr_t fp, uintptr_t ra);

/* "store to", "load from" or "execute at" for a fault's scause; NULL for anything else. */
const char *trap_fault_access(uintptr_t scause);

/*
 * What a crash report says about a faulting address, after "fault: store to ADDRESS": which
 * region of the kernel's map holds it and what that region allows ("in .text, which is
 * read+execute"). kernel/top/paging.c installs the one that knows the map; before that the
 * report blames the physical memory protection.
 */
#define TRAP_FAULT_TEXT_BYTES 120
typedef void (*trap_fault_describer)(uintptr_t address, uintptr_t scause, char *text, size_t bytes);
void trap_set_fault_describer(trap_fault_describer describe);

/*
 * Called from boot/trap.S, on the hart's stack or, when sp was unusable, on its emergency stack.
 * A page fault in the hart's own guard page is a stack overflow: reported as such (exit status 2,
 * as every stack overflow); any other unexpected trap is a crash report (exit status 3).
 */
void trap_handler(struct trap_frame *frame);
#endif

#endif
