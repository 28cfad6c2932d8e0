/*
 * boot/asm.h - register-width helpers so the boot assembly builds for rv64 and rv32.
 */
#ifndef RVMEM_BOOT_ASM_H
#define RVMEM_BOOT_ASM_H

#if __riscv_xlen == 64
#define REG_S sd
#define REG_L ld
#define REG_SIZE 8
#define REG_WORD .dword
#else
#define REG_S sw
#define REG_L lw
#define REG_SIZE 4
#define REG_WORD .word
#endif

#endif
