/*
 * firmware/entry.S - M-mode entry and trap vector of the minimal SBI firmware.
 *
 * QEMU starts every hart here (-bios build/.../firmware.elf) with a0 = mhartid,
 * a1 = device tree, a2 = its fw_dynamic_info. Each hart gets an M-mode stack
 * (mscratch holds its top while S-mode runs); the first hart through the lottery becomes
 * the boot hart, the others wait for SBI HSM hart_start. See firmware/firmware.c.
 */
#include "boot/asm.h"
#include "firmware/firmware.h"

/* sp and mscratch = the top of hart a0's M-mode stack (a fresh, empty stack). Clobbers t0, t1. */
.macro enter_m_mode_stack
    li      t0, FIRMWARE_STACK_BYTES
    addi    t1, a0, 1
    mul     t1, t1, t0
    la      sp, firmware_stacks
    add     sp, sp, t1
    csrw    mscratch, sp
.endm

    .section .text.entry, "ax", @progbits
    .globl firmware_start
firmware_start:
    csrw    mie, zero
    li      t0, FIRMWARE_MAX_HARTS
    bgeu    a0, t0, hang
    enter_m_mode_stack
    la      t0, firmware_trap_entry
    csrw    mtvec, t0
    mv      s0, a0
    mv      s1, a1
    mv      s2, a2
    call    firmware_hart_init
    la      t0, boot_lottery
    li      t1, 1
    amoswap.w t1, t1, (t0)
    mv      a0, s0
    bnez    t1, wait_for_start
    mv      a1, s1
    mv      a2, s2
    call    firmware_boot_hart      /* returns the S-mode entry */
    mv      a2, a0
    mv      a0, s0
    mv      a1, s1                  /* the device tree, now with the firmware's /memreserve/ */
    j       enter_supervisor
wait_for_start:                     /* a0 = s0 = hartid */
    call    firmware_wait_for_start /* returns start address in a0, opaque in a1 */
    mv      a2, a0
    mv      a0, s0
    /* fall through */

/* enter_supervisor: a0 = hartid, a1 = argument, a2 = address. Switches to S-mode there. */
enter_supervisor:
    li      t0, MSTATUS_MPP_MASK
    csrc    mstatus, t0
    li      t0, MSTATUS_MPP_SUPERVISOR
    csrs    mstatus, t0
    csrw    mepc, a2
    csrw    satp, zero
    mret

/*
 * firmware_stop_hart: a0 = hartid, from the trap handler of its HSM hart_stop (the slot already
 * says STOPPED). Drops the trap and S-mode for good: a fresh M-mode stack, then the same wait
 * for hart_start as at boot.
 */
    .globl firmware_stop_hart
firmware_stop_hart:
    csrw    mie, zero
    enter_m_mode_stack
    mv      s0, a0
    call    firmware_hart_init
    mv      a0, s0
    j       wait_for_start

hang:
    wfi
    j       hang

/* Every trap taken into M-mode: registers saved on this hart's M-mode stack, then C. */
    .align 4
firmware_trap_entry:
    csrrw   sp, mscratch, sp
    addi    sp, sp, -32 * REG_SIZE
    .irp number, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    REG_S   x\number, \number * REG_SIZE(sp)
    .endr
    csrr    t0, mscratch            /* the interrupted sp */
    REG_S   t0, 2 * REG_SIZE(sp)
    mv      a0, sp
    call    firmware_trap
    REG_L   t0, 2 * REG_SIZE(sp)
    csrw    mscratch, t0
    .irp number, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    REG_L   x\number, \number * REG_SIZE(sp)
    .endr
    addi    sp, sp, 32 * REG_SIZE
    csrrw   sp, mscratch, sp
    mret

    .section .data
    .align 2
boot_lottery:
    .word 0

    .section .bss
    .align 4
firmware_stacks:
    .space FIRMWARE_STACK_BYTES * FIRMWARE_MAX_HARTS
