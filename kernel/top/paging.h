/*
 * kernel/top/paging.h - the kernel's address space on this machine: what it maps (the image
 * with W^X, every hart's stack above an unmapped guard page, the direct map of usable RAM, the
 * device tree blob, the devices the runtime uses), built at boot and turned on on every hart.
 *
 * The machine decides (paging_choose): the kernel pages when the boot hart and every hart it
 * will start have an MMU with this build's mode (Sv39 on rv64, Sv32 on rv32: device tree
 * mmu-type) and the bootargs do not say paging=off; otherwise everything runs physical, as
 * before paging existed, guard words and all. The map itself is kernel/mm/kernel_space.h's.
 *
 * Boot hart only, in this order (kernel/top/main.c): paging_choose() before the memory map is
 * built (with paging, RAM the identity map cannot hold is left out: boot_find_memory), then
 * paging_start() once the page allocator is up and before the other harts start. Afterwards the
 * getters are safe on all harts (the description is read-only).
 */
#ifndef RVMEM_KERNEL_TOP_PAGING_H
#define RVMEM_KERNEL_TOP_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/kernel_space.h"

/* Decides whether the kernel will page on this machine (see above). Returns true if it will. */
bool paging_choose(void);

/*
 * With paging chosen: describes the kernel's address space, builds its tables from the page
 * allocator, turns paging on here (secondary harts take it as they start) and installs the
 * crash report's fault describer. Prints one line ("paging: on, Sv39 ..." or why it is off).
 * Panics when the description or the build fails (a region the device tree makes overlap
 * another, no memory for the tables), naming the region.
 */
void paging_start(void);

/* True once paging_start turned paging on. */
bool paging_on(void);

/* Why paging is off ("hartid 2: mmu-type riscv,none", "paging=off in the bootargs"), "" when on. */
const char *paging_off_reason(void);

/* "Sv39" or "Sv32" when on, "off" otherwise. */
const char *paging_mode_name(void);

/* The kernel's address space: its description, and its tables when paging is on. */
struct kernel_space *paging_kernel_space(void);

/* Guest instructions paging_start took to build the tables (exact under -icount). */
uint64_t paging_build_instructions(void);

/*
 * The region name and permissions of the kernel's map at address, as crash reports give them:
 * "in .text, which is read+execute" or "which is unmapped (no region of the kernel's map)".
 */
void paging_describe(uintptr_t address, char *text, size_t bytes);

#endif
