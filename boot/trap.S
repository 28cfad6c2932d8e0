/*
 * boot/trap.S - the trap vector, and the way into U-mode and back.
 *
 * A trap from the kernel: saves every register into a struct trap_frame
 * (kernel/platform/trap.h) on a stack, calls trap_handler(frame), restores, sret.
 * The kernel never enables interrupts (sstatus.SIE is 0 in S-mode), so every trap from
 * the kernel is an exception; trap_handler decides whether it is expected (a test asked
 * for it) or a crash.
 *
 * Which stack. Normally the frame goes below sp, on the hart's own stack. But a stack
 * overflow traps because sp has entered the unmapped guard page below the stack (paging
 * on: kernel/top/paging.c), and a frame pushed there would fault again at once. So the
 * vector first checks that sp leaves room for a frame inside the hart's stack, or inside
 * its emergency stack (a trap taken while the handler runs there); otherwise it puts the
 * frame on the top of the hart's emergency stack (EMERGENCY_STACK_SIZE bytes, in .bss:
 * kernel/platform/stack.c), from where the handler reports the overflow. Two words of
 * struct hart, reached through tp, hold t0 and t1 meanwhile. The frame always records
 * the interrupted sp, and the return path reloads sp from it.
 *
 * Which mode the trap came from: sscratch. It is 0 whenever the hart runs in the kernel
 * (boot/entry.S clears it) and holds the program's struct user_frame while the hart runs a
 * program in U-mode (user_enter sets it). The vector's first instruction swaps it with tp:
 * a nonzero tp is the frame of a program that trapped; zero means a kernel trap, and the
 * second swap puts both back.
 *
 * A trap from U-mode (a system call, a page fault, an interrupt: S-mode interrupts are
 * enabled in sie only while a program runs, see kernel/proc/sched.c) saves the program's
 * registers into its frame, except s0 and s2..s11: the handler is C code, which preserves
 * them, so they still hold the program's values when it returns. It then runs on the
 * kernel stack user_enter left (frame->kernel_sp), with the kernel's tp and gp, and calls
 * the handler installed by trap_set_user_handler(frame, scause). The handler returns true
 * to go back to the program: the saved registers are reloaded (the handler may have
 * changed them: the result in a0, the pc past an ecall) and sret. It returns false to
 * leave: s0 and s2..s11 are stored too, so the frame holds all of the program, and
 * user_enter returns to its caller. One frame per program (per thread, with issue 17's
 * threads), the kernel stack per hart: a program that is not running holds no kernel stack.
 */
#include "boot/asm.h"
#include "kernel/base/layout.h"
#include "kernel/platform/trap.h"

.macro SAVE_REGISTER number
    REG_S   x\number, \number * REG_SIZE(sp)
.endm
.macro LOAD_REGISTER number
    REG_L   x\number, \number * REG_SIZE(sp)
.endm

#define FRAME(n) ((n) * REG_SIZE)
.macro SAVE_USER number
    REG_S   x\number, FRAME(\number)(tp)
.endm
.macro LOAD_USER number, base
    REG_L   x\number, FRAME(\number)(\base)
.endm

/* user_enter's frame on the kernel stack: ra and s0..s11, 16-byte aligned. */
#define ENTER_FRAME_WORDS 14
#if __riscv_xlen == 32
#undef ENTER_FRAME_WORDS
#define ENTER_FRAME_WORDS 16
#endif
#define SSTATUS_SPP (1 << 8)

    .section .text
    .align 4
    .globl trap_vector
trap_vector:
    csrrw   tp, sscratch, tp
    bnez    tp, from_user
    csrrw   tp, sscratch, tp                /* from the kernel: tp back, sscratch 0 again */
    REG_S   t0, HART_TRAP_SCRATCH_OFFSET(tp)
    REG_S   t1, HART_TRAP_SCRATCH_OFFSET + REG_SIZE(tp)
    /* Room for a frame on the hart's stack: bottom + frame <= sp <= bottom + size, unsigned. */
    REG_L   t0, HART_STACK_BOTTOM_OFFSET(tp)
    addi    t0, t0, TRAP_FRAME_SIZE
    sub     t0, sp, t0
    li      t1, RVMEM_STACK_SIZE - TRAP_FRAME_SIZE
    bleu    t0, t1, 1f
    /* ... or on its emergency stack (a trap while the handler already runs there). */
    REG_L   t0, HART_EMERGENCY_BOTTOM_OFFSET(tp)
    addi    t0, t0, TRAP_FRAME_SIZE
    sub     t0, sp, t0
    li      t1, EMERGENCY_STACK_SIZE - TRAP_FRAME_SIZE
    bleu    t0, t1, 1f
    /* sp is unusable (an overflow into the guard page, or a wild sp): the emergency stack. */
    mv      t1, sp
    REG_L   sp, HART_EMERGENCY_BOTTOM_OFFSET(tp)
    li      t0, EMERGENCY_STACK_SIZE
    add     sp, sp, t0
    j       2f
1:  mv      t1, sp
2:  addi    sp, sp, -TRAP_FRAME_SIZE
    REG_S   t1, 2 * REG_SIZE(sp)            /* sp before the trap */
    REG_L   t0, HART_TRAP_SCRATCH_OFFSET(tp)
    REG_L   t1, HART_TRAP_SCRATCH_OFFSET + REG_SIZE(tp)
    SAVE_REGISTER 1
    .irp number, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    SAVE_REGISTER \number
    .endr
    csrr    t0, sepc
    REG_S   t0, TRAP_FRAME_SEPC * REG_SIZE(sp)
    csrr    t0, sstatus
    REG_S   t0, TRAP_FRAME_SSTATUS * REG_SIZE(sp)
    csrr    t0, scause
    REG_S   t0, TRAP_FRAME_SCAUSE * REG_SIZE(sp)
    csrr    t0, stval
    REG_S   t0, TRAP_FRAME_STVAL * REG_SIZE(sp)
    mv      a0, sp
    call    trap_handler
    REG_L   t0, TRAP_FRAME_SEPC * REG_SIZE(sp)
    csrw    sepc, t0
    LOAD_REGISTER 1
    .irp number, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    LOAD_REGISTER \number
    .endr
    LOAD_REGISTER 2                         /* last: the interrupted sp, wherever the frame was */
    sret

/*
 * From U-mode: tp is the program's struct user_frame, sscratch the program's tp. s1 is
 * saved first and then holds the frame across the handler's call (C preserves it).
 */
from_user:
    .irp number, 1,2,3,5,6,7,9,10,11,12,13,14,15,16,17,28,29,30,31
    SAVE_USER \number
    .endr
    csrr    t0, sscratch
    REG_S   t0, FRAME(4)(tp)                /* the program's tp */
    csrr    t0, sepc
    REG_S   t0, FRAME(USER_FRAME_PC)(tp)
    csrw    sscratch, zero                  /* in the kernel now */
    mv      s1, tp
    mv      a0, tp
    csrr    a1, scause
    REG_L   sp, FRAME(USER_FRAME_KERNEL_SP)(tp)
    REG_L   gp, FRAME(USER_FRAME_KERNEL_GP)(tp)
    REG_L   tp, FRAME(USER_FRAME_KERNEL_TP)(tp)
    REG_L   t0, trap_user_handler_function
    jalr    t0
    beqz    a0, leave_user
    /* Back to the program: the frame as the handler left it. */
    REG_L   t0, FRAME(USER_FRAME_PC)(s1)
    csrw    sepc, t0
    csrw    sscratch, s1
    .irp number, 1,2,3,4,5,6,7,10,11,12,13,14,15,16,17,28,29,30,31
    LOAD_USER \number, s1
    .endr
    LOAD_USER 9, s1                         /* s1 last: it was the base */
    sret

/* The handler said leave: the rest of the program into its frame, then out of user_enter. */
leave_user:
    .irp number, 8,18,19,20,21,22,23,24,25,26,27
    REG_S   x\number, FRAME(\number)(s1)
    .endr
    REG_L   sp, FRAME(USER_FRAME_KERNEL_SP)(s1)
    REG_L   ra, 0(sp)
    REG_L   s0, 1 * REG_SIZE(sp)
    REG_L   s1, 2 * REG_SIZE(sp)
    .irp number, 18,19,20,21,22,23,24,25,26,27
    REG_L   x\number, (\number - 15) * REG_SIZE(sp)
    .endr
    addi    sp, sp, ENTER_FRAME_WORDS * REG_SIZE
    ret

/*
 * void user_enter(struct user_frame *frame): runs the program of frame in U-mode from
 * frame->pc with its registers, until the user handler says leave; then returns with the
 * whole program in frame. Saves the kernel's ra and s0..s11 on this stack and records sp,
 * tp and gp in the frame for the way back in (see the top of this file).
 */
    .globl user_enter
user_enter:
    addi    sp, sp, -ENTER_FRAME_WORDS * REG_SIZE
    REG_S   ra, 0(sp)                       /* ra, s0, s1, s2..s11 in words 0..12 */
    REG_S   s0, 1 * REG_SIZE(sp)
    REG_S   s1, 2 * REG_SIZE(sp)
    .irp number, 18,19,20,21,22,23,24,25,26,27
    REG_S   x\number, (\number - 15) * REG_SIZE(sp)
    .endr
    REG_S   sp, FRAME(USER_FRAME_KERNEL_SP)(a0)
    REG_S   tp, FRAME(USER_FRAME_KERNEL_TP)(a0)
    REG_S   gp, FRAME(USER_FRAME_KERNEL_GP)(a0)
    REG_L   t0, FRAME(USER_FRAME_PC)(a0)
    csrw    sepc, t0
    li      t0, SSTATUS_SPP
    csrc    sstatus, t0                     /* sret goes to U-mode */
    csrw    sscratch, a0
    .irp number, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    LOAD_USER \number, a0
    .endr
    LOAD_USER 10, a0                        /* a0 last: it was the base */
    sret
