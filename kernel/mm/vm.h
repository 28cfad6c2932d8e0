/*
 * kernel/mm/vm.h - the page-table core: map, unmap, protect and translate ranges of a RISC-V
 * address space, Sv39 (rv64) or Sv32 (rv32), with every leaf size the mode has.
 *
 * Modes and leaves. An address space is a tree of 4 KiB tables. Level 0 holds 4 KiB leaves;
 * level 1 holds 2 MiB leaves (Sv39) or 4 MiB leaves (Sv32); level 2, the root of Sv39, holds
 * 1 GiB leaves. Sv39 has 3 levels of 512 eight-byte entries, Sv32 2 levels of 1024 four-byte
 * entries. The mode is a field of the address space, so one host binary builds and tests both;
 * a kernel build runs only the mode of its hart (Sv39 on rv64, Sv32 on rv32).
 *
 * Addresses. Virtual addresses are uintptr_t. Sv39 has two halves, [0, 2^38) and
 * [2^64 - 2^38, 2^64); a range may lie in either half but not cross the hole between them (the
 * non-canonical addresses). Sv32 covers [0, 2^32). Physical addresses are uint64_t: Sv32 reaches
 * 34 bits, Sv39 56 bits. Every address and length is a multiple of 4 KiB.
 *
 * Leaf choice. vm_map covers a range with the largest leaves it allows: at each step the
 * largest leaf size to which the virtual and the physical address are both aligned and that the
 * remaining length holds. A 4 GiB range whose two addresses are 1 GiB aligned is four 1 GiB
 * leaves and a single table (the root).
 *
 * Permissions: VM_READ, VM_WRITE, VM_EXECUTE, VM_USER, VM_GLOBAL, which are the PTE's own bits.
 * A leaf needs VM_READ or VM_EXECUTE, and VM_WRITE needs VM_READ (write-only is reserved by the
 * architecture); the core enforces nothing else (W^X is the caller's policy). There is no
 * "device memory" attribute: without Svpbmt (absent from QEMU 7.2's virt) a mapping's memory
 * type comes from the platform's physical memory attributes, so a device is mapped like RAM,
 * normally VM_READ | VM_WRITE. Every leaf is created with A (accessed) and D (dirty) already
 * set: the hardware then never writes a PTE (no A/D update racing with the core's own stores),
 * and a hart that raises a page fault instead of setting A/D (allowed by the privileged spec)
 * takes none. The price: A and D say nothing about use, which nothing here needs.
 *
 * Errors, never half-done work. Each call either does all it was asked or changes nothing:
 *   -E_INVAL  an address or length not a multiple of 4 KiB, a zero length, a range that wraps,
 *             leaves the mode's virtual space (Sv39: touches the non-canonical hole) or, for a
 *             physical range, its physical space; bad permissions; a mode this build cannot run;
 *   -E_BUSY   vm_map over anything already mapped (any leaf inside the range);
 *   -E_NOMEM  no table page: every table page the call took is given back, nothing it mapped
 *             is left mapped, nothing it split is left split.
 * When two apply, either may be returned (a map that runs short of table pages before it reaches
 * the overlap returns -E_NOMEM). vm_unmap and vm_protect skip the holes of their range (they are
 * not errors).
 *
 * Partial large leaves. vm_unmap and vm_protect of part of a large leaf split it: the leaf is
 * replaced by a table of leaves one level smaller with the same translation and permissions,
 * repeatedly until the range's boundary falls on a leaf boundary. Only the two ends of a range
 * can cut a leaf, so a call takes at most 2 * (levels - 1) table pages (4 on Sv39, 2 on Sv32)
 * and may fail with -E_NOMEM, then undoing its splits. Leaves are never merged back.
 *
 * Table pages come from the caller (struct vm_tables): a zeroed 4 KiB page per table, given
 * back through the free callback as soon as a table holds no valid entry (after an unmap, or
 * when a call fails); the root is held until vm_destroy. Each table keeps the count of its valid
 * entries in the two software (RSW) bits of its first six entries, so that an unmap knows in
 * O(1) that a table emptied; the RSW bits are therefore the core's, not the caller's.
 *
 * TLB. The core writes PTEs and nothing else: the caller flushes (sfence.vma on this hart, a
 * shootdown for the others) after a change that a hart may hold, a new mapping included (without
 * Svvptc a hart may go on using the invalid entry it read), because only the caller knows whether
 * the address space is live and where, and can flush a whole range once. Every PTE is written with one aligned store,
 * and a split fills its new table before linking it, so a concurrent hardware walk sees either the old or the new
 * translation, never a torn one.
 *
 * Cost (levels = 3 on Sv39, 2 on Sv32): vm_translate (inline), and vm_map, vm_unmap of a 4 KiB
 * page where the tables exist: one walk of `levels` entries, no loop over a table, no division;
 * the map and unmap also update the table's count (one entry, up to six on a carry or when it
 * reaches zero). A range: O(levels) per leaf and per empty entry skipped (a hole is skipped a
 * whole entry of the highest level where it is empty at a time). Creating a table costs one
 * allocation, freeing one a free; a split fills a table (512 or 1024 entries). vm_validate and
 * vm_destroy: O(tables * entries). Measured figures: docs/BENCHMARKS.md.
 *
 * Shared tables (a user program's space and the kernel's). A space may own only a window of
 * the virtual space (vm_set_window): map, unmap and protect then refuse ranges outside it, and
 * the root entries outside it are not the space's. vm_share copies another space's root entries
 * there, so that a walk from this root reaches that space's tables (a process sees the kernel,
 * which is mapped in every address space, without copying its tables). Borrowed entries are read
 * by the hardware and by vm_translate and vm_walk, never changed, freed, validated or listed by
 * this space's calls: vm_destroy gives back only the tables inside the window. The owner of the
 * borrowed tables must keep them (and their root entries) for as long as any space borrows them.
 *
 * Thread-safety: none inside; the caller serializes all calls on one address space (a lock per
 * space). Different spaces are independent. The table callbacks are called with the caller's
 * serialization held.
 */
#ifndef RVMEM_KERNEL_MM_VM_H
#define RVMEM_KERNEL_MM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/layout.h" /* PAGE_SIZE, PAGE_SHIFT */

/* The translation modes, by their value in satp's MODE field. */
enum vm_mode {
    VM_MODE_SV32 = 1, /* rv32: 2 levels, 4 KiB and 4 MiB leaves */
    VM_MODE_SV39 = 8, /* rv64: 3 levels, 4 KiB, 2 MiB and 1 GiB leaves */
};

/* Permissions of a leaf: the PTE bits themselves (privileged spec, "Sv32" and "Sv39"). */
enum vm_permission {
    VM_READ = 1 << 1,
    VM_WRITE = 1 << 2,
    VM_EXECUTE = 1 << 3,
    VM_USER = 1 << 4,   /* reachable from U-mode (and from S-mode only with sstatus.SUM) */
    VM_GLOBAL = 1 << 5, /* present in every address space: the TLB may keep it across ASIDs */
};
#define VM_PERMISSIONS (VM_READ | VM_WRITE | VM_EXECUTE | VM_USER | VM_GLOBAL)

#define VM_LEVELS_MAX 3 /* Sv39 */

/*
 * Where table pages come from. alloc returns a zeroed, 4 KiB-aligned 4 KiB page the core may
 * write, or NULL when none is left; free takes one back. context is passed to both.
 * The core also reads the tables from their physical addresses (the PTEs hold those): a table
 * at physical address p is at virtual address p + virtual_offset (modulo 2^XLEN), and the page
 * alloc returns has physical address (its address - virtual_offset). In the kernel, whose
 * direct map is the identity, virtual_offset is 0; a kernel in the upper half passes its direct
 * map's offset; the host tests pass (arena - a small fake physical base), since Sv32 entries
 * hold 34-bit physical addresses. A linear offset, not a callback: a walk converts at every
 * level, and vm_translate's budget has no room for an indirect call per level.
 */
struct vm_tables {
    void *(*alloc)(void *context);
    void (*free)(void *context, void *table);
    void *context;
    uintptr_t virtual_offset;
};

/* An address space. Fill it with vm_init; the fields are read-only for the caller. */
struct vm_space {
    void *root;             /* the root table, at its writable (virtual) address */
    uintptr_t table_offset; /* tables.virtual_offset, where the walks read it */
    enum vm_mode mode;
    uint64_t root_physical; /* what satp points at (vm_satp) */
    struct vm_tables tables;
    unsigned long table_pages;           /* tables held, root included */
    unsigned long leaves[VM_LEVELS_MAX]; /* leaves per level: [0] 4 KiB, [1] 2 or 4 MiB, [2] 1 GiB */
    uintptr_t own_start;                 /* the window the space maps in: [own_start, own_start + own_span] */
    uintptr_t own_span;                  /* the window's bytes - 1 (vm_init: the whole space) */
    unsigned own_root_first;             /* the root entries of the window: own_root_first .. */
    unsigned own_root_last;              /* .. own_root_last; the others are borrowed (vm_share) */
};

/*
 * Sets space up with an empty root table from tables (copied). Returns 0, -E_INVAL for a mode
 * this build cannot run (the kernel runs its hart's mode; the host both) or a NULL callback,
 * -E_NOMEM when no table page is left.
 */
int vm_init(struct vm_space *space, enum vm_mode mode, const struct vm_tables *tables);

/*
 * Restricts space, which must map nothing yet, to the window [start, start + bytes): map, unmap
 * and protect refuse (-E_INVAL) any range that leaves it, and the root entries outside it may be
 * borrowed from another space (vm_share). start and bytes are multiples of a root entry's span
 * (1 GiB on Sv39, 4 MiB on Sv32) and the window lies in one half of the space. Returns 0;
 * -E_INVAL for a bad window; -E_BUSY when something is mapped already.
 */
int vm_set_window(struct vm_space *space, uintptr_t start, uintptr_t bytes);

/*
 * Copies from's root entries that cover [virtual, virtual + bytes) (rounded out to whole root
 * entries) into space's root, replacing what was there: from then on, walks from space's root
 * reach from's tables for that range. The range must lie outside space's window, and both spaces
 * must have the same mode and table offset. Nothing is allocated; from's tables stay from's (see
 * "Shared tables" above). Returns 0 or -E_INVAL. O(root entries copied).
 */
int vm_share(struct vm_space *space, const struct vm_space *from, uintptr_t virtual, uintptr_t bytes);

/*
 * Gives every table page back, the root included (but no borrowed table: vm_share); the mapped
 * physical memory is the caller's and is not touched. The space is unusable until vm_init again (a second vm_destroy
 * does nothing). O(tables * entries).
 */
void vm_destroy(struct vm_space *space);

/*
 * Maps [virtual, virtual + bytes) to [physical, physical + bytes) with permissions, in the
 * largest leaves the range allows (see the top of this file). Returns 0, -E_INVAL (alignment,
 * zero length, wrap, outside the mode's virtual or physical space, bad permissions), -E_BUSY
 * (something in the range is mapped), -E_NOMEM (a table page was missing). On an error nothing
 * is changed. The caller flushes the TLB if a hart may have cached the unmapped state.
 */
int vm_map(struct vm_space *space, uintptr_t virtual, uint64_t physical, uintptr_t bytes, unsigned permissions);

/*
 * Unmaps everything mapped in [virtual, virtual + bytes); holes are skipped. A large leaf that
 * the range cuts is split first (see the top of this file). Tables left empty are given back.
 * Returns 0, -E_INVAL (alignment, zero length, wrap, outside the virtual space), -E_NOMEM (a
 * split found no table page; nothing changed). The caller flushes the TLB (and shoots down).
 */
int vm_unmap(struct vm_space *space, uintptr_t virtual, uintptr_t bytes);

/*
 * Sets the permissions of everything mapped in [virtual, virtual + bytes) to permissions
 * (replacing them); holes are skipped, cut large leaves split as for vm_unmap. Returns 0,
 * -E_INVAL (as vm_unmap, or bad permissions), -E_NOMEM (nothing changed). The caller flushes.
 */
int vm_protect(struct vm_space *space, uintptr_t virtual, uintptr_t bytes, unsigned permissions);

/*
 * The physical address virtual translates to (*physical) and the leaf's permissions (the
 * return value, > 0). Returns -E_NOENT when nothing is mapped there, -E_INVAL for an address
 * outside the mode's virtual space (then *physical is not written). O(levels), inline (vm_walk.h).
 */
static inline int vm_translate(const struct vm_space *space, uintptr_t virtual, uint64_t *physical);

/* One leaf. */
struct vm_mapping {
    uintptr_t virtual; /* its first address */
    uint64_t physical;
    uintptr_t bytes; /* its size: 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    unsigned permissions;
    unsigned level; /* 0 for 4 KiB leaves */
};

/*
 * The first leaf at or above virtual, in address order (on Sv39 the upper half follows the
 * lower, and an address in the hole between them stands for the start of the upper half), that
 * is the space's own (borrowed root entries are skipped, as holes): its whole extent, which may start below virtual.
 * Returns 0, or -E_NOENT when no leaf is there or above. A caller lists a space from 0, then from mapping.virtual +
 * mapping.bytes, until -E_NOENT or until that sum wraps to 0 (the top of the space). O(levels) per leaf and per empty
 * entry skipped.
 */
int vm_find(const struct vm_space *space, uintptr_t virtual, struct vm_mapping *mapping);

/* One level of a walk, as vm_walk reports it. */
struct vm_walk_step {
    unsigned level;
    unsigned index;          /* of the entry within its table */
    uint64_t table_physical; /* the table read at this level */
    uint64_t entry;          /* the PTE read (its RSW bits hold the table's count: see above) */
};

/*
 * The hardware's walk for virtual, level by level from the root, as it reads it: fills steps
 * (VM_LEVELS_MAX of them at most) and returns how many levels were read; the last step holds
 * the leaf or the invalid entry that ended the walk. -E_INVAL outside the virtual space.
 */
int vm_walk(const struct vm_space *space, uintptr_t virtual, struct vm_walk_step *steps);

/* The satp value that selects space with asid (16 bits on Sv39, 9 on Sv32; higher bits dropped). */
uint64_t vm_satp(const struct vm_space *space, unsigned asid);

/* Bytes a leaf of level (below vm_levels(space)) covers in space's mode: 4 KiB at level 0. */
uintptr_t vm_leaf_bytes(const struct vm_space *space, unsigned level);

/* Levels of space's mode: 3 (Sv39) or 2 (Sv32). */
unsigned vm_levels(const struct vm_space *space);

struct vm_stats {
    unsigned long table_pages;           /* held, root included */
    unsigned long leaves[VM_LEVELS_MAX]; /* per level; unused levels 0 */
    uint64_t mapped_bytes;               /* the leaves' sizes added up */
};

/* Fills *stats from the counters (O(1)); vm_validate checks them against the tables. */
void vm_get_stats(const struct vm_space *space, struct vm_stats *stats);

/*
 * Walks every table and checks each entry's form (an invalid entry holds only count bits; a
 * pointer has no A, D, U, G bits, is not at level 0 and its table is in range; a leaf has R or
 * X, no write-only, A and D set, a physical address aligned to its size and inside the physical
 * space), each table's count (the RSW bits) against its valid entries, that no table but the
 * root is empty, and the table and leaf counters. Returns 0, or -E_BADDATA after printing the
 * first inconsistency. O(tables * entries).
 */
int vm_validate(const struct vm_space *space);

#include "kernel/mm/vm_walk.h" /* vm_translate, inline */

#endif
