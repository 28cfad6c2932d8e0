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

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct trap_frame {
    uintptr_t registers[32]; /* x0 (unused) .. x31; registers[2] is sp before the trap */
    uintptr_t sepc;
    uintptr_t sstatus;
    uintptr_t scause;
    uintptr_t stval;
};

_Static_assert(sizeof(struct trap_frame) == TRAP_FRAME_SIZE, "trap frame layout");

/* Name of an scause value, e.g. "illegal instruction" or "load page fault". */
const char *trap_cause_name(uintptr_t scause);

/*
 * Arms the calling hart to survive the next trap: instead of a crash report, the trap
 * handler records scause and stval and resumes after the faulting instruction.
 * trap_expect_end() disarms and returns true when a trap was caught (filling its cause).
 */
void trap_expect_begin(void);
bool trap_expect_end(uintptr_t *scause, uintptr_t *stval);

/*
 * Prints a frame-pointer backtrace of the calling hart's stack, from pc and frame pointer fp.
 * ra is the return-address register at pc (0 if unknown), used when pc is in a leaf function.
 * Bounded: stops at 32 frames or at any fp outside the hart's stack.
 */
void backtrace_print(uintptr_t pc, uintptr_t fp, uintptr_t ra);

/* Called from boot/trap.S. */
void trap_handler(struct trap_frame *frame);
#endif

#endif
