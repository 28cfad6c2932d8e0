/*
 * boot/trap.S - the trap vector: saves every register into a struct trap_frame
 * (kernel/platform/trap.h) on a stack, calls trap_handler(frame), restores, sret.
 * The kernel never enables interrupts, so every trap is an exception; trap_handler
 * decides whether it is expected (a test asked for it) or a crash.
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
 * sscratch is 0 whenever the hart runs in the kernel (boot/entry.S clears it). User
 * programs (issue 16) will find their way back through it: a trap from U-mode will swap
 * it with tp first. Kernel traps never read or write it.
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

    .section .text
    .align 4
    .globl trap_vector
trap_vector:
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
