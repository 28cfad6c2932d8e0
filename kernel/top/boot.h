/*
 * kernel/top/boot.h - the boot hart's set-up of the machine (kernel/top/boot.c), and what it
 * found, for the monitor, the tour and the tests.
 *
 * The getters are valid once boot_main (kernel/top/main.c) has run the two steps below; the
 * state is read-only afterwards, so safe on all harts.
 */
#ifndef RVMEM_KERNEL_TOP_BOOT_H
#define RVMEM_KERNEL_TOP_BOOT_H

#include <stdbool.h>

struct fdt;
struct memmap;

/*
 * Step 1, boot hart only: probes SBI, opens the device tree the firmware passed (device_tree), and
 * starts the console and the exit device it names; keeps /chosen/bootargs (a pointer into the tree,
 * which stays in memory: bootargs of any length are kept whole). Panics, with what is wrong, when
 * the firmware has no SBI BASE or the tree (or its /chosen/bootargs) is unusable.
 */
void boot_open_platform(const void *device_tree);

/*
 * Step 2, boot hart only, after step 1: builds the memory map (the tree's RAM minus every
 * reservation, the tree itself and the image; with paging, minus RAM in or above the user window,
 * which the kernel's identity map leaves out: kernel/top/paging.h), hands the usable pages to the
 * page allocator, opens the heap above the image and binds malloc to it; prints the map. Panics
 * when no usable RAM is left or the bootargs' heap_max is not a byte count.
 */
void boot_find_memory(bool paging);

/* The device tree the firmware passed in a1, opened and validated. */
const struct fdt *boot_device_tree(void);

/* RAM from the device tree, what is excluded from it and why, and what is usable. */
const struct memmap *boot_memory_map(void);

/* The bootargs from /chosen, whole and NUL-terminated (may be ""). */
const char *boot_arguments(void);

#endif
