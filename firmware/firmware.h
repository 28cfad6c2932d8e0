/*
 * firmware/firmware.h - constants shared by the minimal M-mode SBI firmware's C and assembly.
 *
 * The firmware exists to boot rv32 images on QEMU virt, for which Debian ships no OpenSBI
 * (docs/PORTING.md). It is not a product: QEMU virt only (CLINT at 0x2000000, 16550 at
 * 0x10000000), no PMP protection of itself, no SRST (the kernel ends QEMU through the
 * sifive,test finisher). HSM has hart_start, hart_stop and hart_get_status; RFENCE fences whole TLBs.
 */
#ifndef RVMEM_FIRMWARE_H
#define RVMEM_FIRMWARE_H

#define FIRMWARE_MAX_HARTS 8
#define FIRMWARE_STACK_BYTES 2048
/* Bytes at the start of RAM the firmware claims (image, stacks): a /memreserve/ entry says so. */
#define FIRMWARE_RESERVED_BYTES 0x80000

#define MSTATUS_MPP_MASK (3 << 11)
#define MSTATUS_MPP_SUPERVISOR (1 << 11)

#endif
