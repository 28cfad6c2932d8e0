/*
 * kernel/top/boot.h - what the boot hart found, for the rest of the kernel and the tests.
 *
 * Valid once boot_main (kernel/top/main.c) has set up the platform; read-only afterwards,
 * so safe on all harts.
 */
#ifndef RVMEM_KERNEL_TOP_BOOT_H
#define RVMEM_KERNEL_TOP_BOOT_H

struct fdt;
struct memmap;

/* The device tree the firmware passed in a1, opened and validated. */
const struct fdt *boot_device_tree(void);

/* RAM from the device tree, what is excluded from it and why, and what is usable. */
const struct memmap *boot_memory_map(void);

/* The bootargs from /chosen (may be ""). */
const char *boot_arguments(void);

#endif
