/*
 * boot/entry.S - where every hart enters the kernel.
 *
 * _start: the boot hart, entered by the firmware (OpenSBI) in S-mode with
 *   a0 = hartid, a1 = physical address of the device tree, interrupts off, at any
 *   4 KiB-aligned address (the image relocates itself first: docs/PORTING.md).
 *   Whichever hart won the firmware's boot race comes here; it becomes logical hart 0.
 * secondary_start: harts started later through SBI HSM hart_start, with
 *   a0 = hartid, a1 = the logical index the boot hart gave it (the opaque argument).
 *
 * Each hart runs on its own stack in .stacks, above a guard page (unmapped once paging is on:
 * kernel/top/paging.c), and tp points at harts[index] (struct hart, kernel/platform/hart.h). The
 * stack gets a guard word at its bottom and is painted with STACK_PAINT_WORD above it, so the
 * high-water mark can be measured and, where there is no MMU, overflows caught later;
 * tp->stack_protector_guard gets the hart's own canary for -fstack-protector-strong before any
 * C code runs. Every hart enters with paging off (satp = 0) and turns it on in C.
 */
#include "boot/asm.h"
#include "kernel/base/layout.h"
#include "kernel/platform/stack.h"

/* First word of the relocation table tools/relocs.py appends to kernel.bin ("RELL"). */
#define RELOCATION_TABLE_MAGIC 0x4c4c4552

    .section .text.entry, "ax", @progbits
    .globl _start
/*
 * The image starts with the 64-byte header of a RISC-V Linux Image
 * (Documentation/riscv/boot-image-header.rst), so U-Boot's `booti` accepts it and enters
 * it with a0 = hartid, a1 = device tree, like OpenSBI does. The first word jumps over it.
 */
_start:
    .option push
    .option norvc
    j       boot_hart_entry             /* code0 */
    .word   0                           /* code1 */
#if __riscv_xlen == 64
    .dword  0x200000                    /* text_offset: 2 MiB from the start of RAM, as Linux */
#else
    .dword  0x400000                    /* text_offset on rv32: 4 MiB */
#endif
    .dword  __image_end - _start        /* image_size: everything the image occupies, .bss and stacks too */
    .dword  0                           /* flags: little-endian */
    .word   2                           /* header version 0.2 */
    .word   0                           /* res1 */
    .dword  0                           /* res2 */
    .ascii  "RISCV\0\0\0"              /* magic (deprecated) */
    .ascii  "RSC\x05"                   /* magic2 */
    .word   0                           /* res3 */
    .option pop

boot_hart_entry:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    sie, zero
    /* Only one hart may run the boot path. Firmware that releases several harts here
     * (not OpenSBI) must not have two of them clear .bss: later ones are parked. */
    la      t0, boot_path_taken
    li      t1, 1
    amoswap.w t1, t1, (t0)
    bnez    t1, park_extra_boot_hart

    /*
     * Self-relocation: the image runs at any 4 KiB-aligned address. Code is PC-relative
     * (-mcmodel=medany); only the absolute addresses stored in data need the difference
     * between where the image runs and where it was linked added to them. tools/relocs.py
     * appended their offsets to kernel.bin at __data_end (inside .bss, cleared below).
     * An ELF image loaded at its link address (QEMU -kernel kernel.elf) skips this.
     */
    lla     t0, _start              /* where the image runs */
    lla     t1, link_address
    REG_L   t1, 0(t1)               /* where it was linked: read before it is relocated itself */
    sub     t2, t0, t1
    beqz    t2, relocated
    li      t3, 4095
    and     t3, t2, t3
    bnez    t3, park_misaligned
    lla     t3, __data_end
    lw      t4, 0(t3)
    li      t5, RELOCATION_TABLE_MAGIC
    bne     t4, t5, park_no_relocation_table
    lw      t4, 4(t3)               /* count */
    addi    t3, t3, 8
7:  beqz    t4, relocated
    lw      t5, 0(t3)               /* offset from the image start (< 2 GiB) */
    add     t5, t5, t0
    REG_L   t6, 0(t5)
    add     t6, t6, t2
    REG_S   t6, 0(t5)
    addi    t3, t3, 4
    addi    t4, t4, -1
    j       7b
relocated:

    /* Clear .bss once, before any C code runs. Aligned to REG_SIZE by linker.ld. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    REG_S   zero, 0(t0)
    addi    t0, t0, REG_SIZE
    j       1b
2:  mv      s0, a0                  /* hartid */
    mv      s1, a1                  /* device tree */
    li      a2, 0                   /* logical index of the boot hart */
    call    enter_hart_stack        /* sets sp and tp for index a2; keeps a0, a1 */
    mv      a0, s0
    mv      a1, s1
    call    boot_main               /* never returns */
    j       park_forever

    .globl secondary_start
secondary_start:
    li      s2, 0                   /* came here as asked */
secondary_start_from_race:          /* s2 = 1: sent by adopt_hart_start_request */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    sie, zero
    li      t0, RVMEM_MAX_HARTS
    bgeu    a1, t0, park_bad_index
    mv      s0, a0
    mv      s1, a1
    mv      a2, a1
    call    enter_hart_stack
    mv      a0, s0
    mv      a1, s1
    mv      a2, s2                  /* start_raced */
    call    secondary_main          /* never returns */
    j       park_forever

/*
 * enter_hart_stack: a2 = logical index. Sets tp = &harts[index] and the hart's stack bounds in it,
 * paints the stack, switches sp to its top, sets sscratch (0 in the kernel: boot/trap.S) and stvec.
 * Hart i's slot in .stacks is a guard page, then its stack (kernel/base/layout.h). Clobbers t0-t3;
 * returns through ra (no stack used).
 */
enter_hart_stack:
    li      t0, HART_STRUCT_SIZE
    mul     t0, a2, t0
    la      tp, harts
    add     tp, tp, t0
    sw      a2, HART_INDEX_OFFSET(tp)   /* hart_self() reads it from the first C instruction on */
    li      t0, EMERGENCY_STACK_SIZE
    mul     t0, a2, t0
    la      t1, emergency_stacks
    add     t1, t1, t0
    REG_S   t1, HART_EMERGENCY_BOTTOM_OFFSET(tp)
    li      t0, STACK_SLOT_BYTES
    mul     t1, a2, t0
    la      t2, __stacks_start
    add     t1, t2, t1
    li      t0, STACK_GUARD_BYTES
    add     t1, t1, t0              /* bottom of this hart's stack, above its guard page */
    REG_S   t1, HART_STACK_BOTTOM_OFFSET(tp)
    li      t0, RVMEM_STACK_SIZE
    add     t2, t1, t0              /* top */
    li      t3, STACK_GUARD_WORD
    REG_S   t3, 0(t1)               /* guard word at the very bottom */
    addi    t1, t1, REG_SIZE
    li      t3, STACK_PAINT_WORD
3:  bgeu    t1, t2, 4f
    REG_S   t3, 0(t1)
    addi    t1, t1, REG_SIZE
    j       3b
4:  mv      sp, t2
    /* This hart's -fstack-protector canary: a seed mixed with the time and the index. */
    rdtime  t0
    li      t1, STACK_PROTECTOR_SEED
    xor     t0, t0, t1
    slli    t1, a2, 16
    xor     t0, t0, t1
    REG_S   t0, HART_STACK_GUARD_OFFSET(tp)
    csrw    sscratch, zero
    la      t0, trap_vector
    csrw    stvec, t0
    ret

park_extra_boot_hart:
    la      t2, message_extra_boot_hart
    j       adopt_hart_start_request
park_misaligned:
    la      a0, message_misaligned
    j       park_with_message
park_no_relocation_table:
    la      a0, message_no_relocation_table
    j       park_with_message
park_bad_index:
    la      t2, message_bad_index
    /* fall through */

/*
 * OpenSBI 1.1 marks a hart START_PENDING before it stores the start address and argument
 * (fixed in later releases), so a hart that wakes in between leaves with the old ones: it
 * arrives at _start with the boot arguments, or (stores seen out of order) at secondary_start
 * with the device tree's address as its index. If the boot hart is starting this very hart
 * (hart_start_request, kernel/platform/hart.h), carry on as its hart_start asked; otherwise print the
 * message at t2 and park.
 */
adopt_hart_start_request:
    lla     t0, hart_start_request
    REG_L   t1, HART_START_REQUEST_HARTID_OFFSET(t0)
    bne     t1, a0, 8f
    fence   r, r
    REG_L   a1, HART_START_REQUEST_INDEX_OFFSET(t0)
    li      s2, 1
    j       secondary_start_from_race
8:  mv      a0, t2
    /* fall through */

/* Prints the NUL-terminated string at a0 through the legacy SBI console, then parks. Uses no stack. */
park_with_message:
    mv      t0, a0
5:  lbu     a0, 0(t0)
    beqz    a0, park_forever
    li      a7, 1                   /* SBI legacy console_putchar */
    ecall
    addi    t0, t0, 1
    j       5b

    .globl park_forever
park_forever:
    csrw    sie, zero
6:  wfi
    j       6b

    .section .rodata
message_extra_boot_hart:
    .string "rvmem: a second hart entered _start; parked (only one boot hart is supported)\n"
message_bad_index:
    .string "rvmem: hart started with an index beyond MAX_HARTS; parked\n"
message_misaligned:
    .string "rvmem: loaded at an address that is not 4 KiB aligned; parked\n"
message_no_relocation_table:
    .string "rvmem: loaded away from its link address without the relocation table (use kernel.bin); parked\n"

    .section .data
    .align 2
boot_path_taken:
    .word 0
    .align 3
link_address:                       /* an absolute word: tools/relocs.py lists it too */
    REG_WORD _start
