/*
 * boot/trap.S - the trap vector: saves every register into a struct trap_frame
 * (kernel/platform/trap.h) on the current stack, calls trap_handler(frame), restores, sret.
 * The kernel never enables interrupts, so every trap is an exception; trap_handler
 * decides whether it is expected (a test asked for it) or a crash.
 */
#include "boot/asm.h"
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
    addi    sp, sp, -TRAP_FRAME_SIZE
    SAVE_REGISTER 1
    .irp number, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    SAVE_REGISTER \number
    .endr
    addi    t0, sp, TRAP_FRAME_SIZE
    REG_S   t0, 2 * REG_SIZE(sp)            /* sp before the trap */
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
    addi    sp, sp, TRAP_FRAME_SIZE
    sret
