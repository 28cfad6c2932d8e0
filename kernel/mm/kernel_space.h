/*
 * kernel/mm/kernel_space.h - the kernel's own address space: a description (named regions with
 * their permissions) and the page tables built from it with the page-table core (kernel/mm/vm.h).
 *
 * Identity mapping. Every region is mapped at its physical address (virtual == physical): the
 * image runs where it was loaded (it relocates itself once, before paging: docs/PORTING.md), the
 * direct map of RAM is RAM itself, a device is at its bus address, and an address in a crash
 * report is the physical one. Nothing is mapped inside the user window [USER_WINDOW_START,
 * USER_WINDOW_END) (kernel/base/layout.h), which stays free for user programs on every board.
 *
 * The description. The caller (kernel/top/paging.c, which reads the linker's symbols and the
 * device tree) adds one region per thing the kernel uses: each section of the image, each hart's
 * stack, each range of usable RAM, the device tree blob, each device. A region is page aligned,
 * has a name for crash reports ("hart 3's stack", ".text") and permissions; permissions 0 marks a
 * range that is deliberately left unmapped (a guard page), so that a fault there can be named.
 * This module's policy: W^X (no region or mapping is both writable and executable) and no
 * VM_USER anywhere; every mapping gets VM_GLOBAL, since the kernel is mapped in every address
 * space the same way (user programs' tables will carry these entries without VM_USER).
 *
 * Building. kernel_space_build maps every region with its permissions, in the largest leaves
 * each allows (vm_map's rule): all usable RAM in 1 GiB and 2 MiB leaves where aligned, the image
 * in 4 KiB leaves with the precise permission of each section.
 *
 * Changes after the build (kernel_space_map, kernel_space_unmap) are for ranges outside every
 * region: each takes the space's lock and, before returning, makes every hart drop what its TLB
 * may hold for the range (tlb_shootdown, kernel/base/platform.h), so that no hart uses the old
 * translation once the call has returned.
 *
 * Thread-safety: the description and the build are the boot hart's, before the other harts
 * run; afterwards the description is read-only (lookups are safe on all harts at once) and the
 * changes are serialized by the lock. Cost: kernel_space_add O(regions); kernel_space_region_at
 * O(log regions); the build O(leaves * levels) plus a table page per table.
 */
#ifndef RVMEM_KERNEL_MM_KERNEL_SPACE_H
#define RVMEM_KERNEL_MM_KERNEL_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/spinlock.h"
#include "kernel/mm/vm.h"

#define KERNEL_SPACE_MAX_REGIONS 112
#define KERNEL_REGION_NAME_BYTES 40

struct kernel_region {
    uintptr_t start, end; /* [start, end), page aligned; the virtual and the physical range */
    unsigned permissions; /* VM_READ, VM_WRITE, VM_EXECUTE; 0: kept unmapped on purpose */
    char name[KERNEL_REGION_NAME_BYTES];
};

struct kernel_space {
    struct spinlock lock; /* serializes kernel_space_map and kernel_space_unmap */
    bool built;           /* vm holds the tables */
    struct vm_space vm;
    unsigned region_count;
    struct kernel_region regions[KERNEL_SPACE_MAX_REGIONS]; /* in address order, disjoint */
};

/* Empties the description (the space must not be built: kernel_space_destroy first). */
void kernel_space_reset(struct kernel_space *kernel);

/*
 * Adds the region [start, end) called name (cut to KERNEL_REGION_NAME_BYTES - 1) with
 * permissions (0: unmapped on purpose). Returns 0; -E_INVAL for an unaligned, empty or wrapping
 * range, permissions the core refuses, write+execute or VM_USER; -E_BUSY when it overlaps a
 * region added before; -E_RANGE when it meets the user window or the description is full.
 * Before the build only.
 */
int kernel_space_add(struct kernel_space *kernel, uintptr_t start, uintptr_t end, unsigned permissions,
                     const char *name);

/*
 * Maps every region of the description with its permissions (plus VM_GLOBAL) into space, an
 * address space already set up with vm_init, and nothing else. Returns 0, or vm_map's error for
 * the first region that failed (*failed_region is its index; the regions before it stay mapped).
 */
int kernel_space_map_regions(const struct kernel_space *kernel, struct vm_space *space, unsigned *failed_region);

/*
 * Builds the tables: vm_init(mode, tables), then kernel_space_map_regions. Returns 0; vm_init's
 * error; or the failed region's (*failed_region set), with every table page given back.
 */
int kernel_space_build(struct kernel_space *kernel, enum vm_mode mode, const struct vm_tables *tables,
                       unsigned *failed_region);

/*
 * Lets space, an address space restricted to a window outside every region (vm_set_window: a
 * user program's, restricted to the user window), reach the kernel: it borrows (vm_share) the
 * root entries of the built space that hold a mapped region. The tables behind them are never
 * given back while the kernel runs (a table holding a region's leaves never empties, and
 * kernel_space_unmap refuses regions), so a borrower never walks into a freed table. Changes
 * inside those root entries are seen by every borrower at once (the tables are the same);
 * mappings kernel_space_map adds in a root entry that holds no region are not (the borrower's root
 * was copied before). Returns 0, or -E_INVAL when the space is not built or a region's root entry
 * lies inside space's window. O(regions).
 */
int kernel_space_share(const struct kernel_space *kernel, struct vm_space *space);

/* Gives the tables back (the description stays). */
void kernel_space_destroy(struct kernel_space *kernel);

/* The region that holds address, or NULL when none does. O(log regions). */
const struct kernel_region *kernel_space_region_at(const struct kernel_space *kernel, uintptr_t address);

/*
 * Maps [virtual, virtual + bytes) to physical with permissions (plus VM_GLOBAL) in the built
 * space, then shoots the range down on every hart. The range must lie outside every region.
 * Returns 0; -E_INVAL (as vm_map, write+execute, VM_USER, or not built); -E_BUSY (it meets a
 * region or a mapping); -E_RANGE (it meets the user window); -E_NOMEM (no table page).
 */
int kernel_space_map(struct kernel_space *kernel, uintptr_t virtual, uint64_t physical, uintptr_t bytes,
                     unsigned permissions);

/*
 * Unmaps [virtual, virtual + bytes) in the built space, then shoots the range down on every
 * hart: when it returns, no hart translates an address of the range. The range must lie outside
 * every region. Returns 0; -E_INVAL (as vm_unmap, or not built); -E_BUSY (it meets a region);
 * -E_NOMEM (a large leaf to split found no table page).
 */
int kernel_space_unmap(struct kernel_space *kernel, uintptr_t virtual, uintptr_t bytes);

/* permissions as "rwx" with '-' for each bit missing (text holds 4 bytes). */
const char *kernel_permissions_text(unsigned permissions, char text[4]);

/* The same as words, for crash reports: "read+execute", "read-only", "read+write", "unmapped". */
const char *kernel_permissions_words(unsigned permissions);

#endif
