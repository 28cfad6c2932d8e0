/*
 * kernel/mm/vm_internal.h - the page-table core's table counts, walk to a slot and table
 * operations, shared by kernel/mm/vm.c (the operations), vm_tables.c (tables, splits, clearing)
 * and vm_validate.c. The entry format and geometry are in vm_walk.h (vm.h includes it).
 */
#ifndef RVMEM_KERNEL_MM_VM_INTERNAL_H
#define RVMEM_KERNEL_MM_VM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/vm.h" /* and kernel/mm/vm_walk.h */

/*
 * The 4 KiB map and unmap keep no frame when they call nothing (as in kernel/mm/buddy.c): a frame
 * pointer would cost them a prologue and an epilogue on every call, for the vm_map_4K and
 * vm_unmap_4K budgets of `make bench`. A backtrace taken inside one of them misses it.
 */
#if defined(__GNUC__) && !defined(__clang__) && !defined(RVMEM_HOST)
#define VM_FAST_PATH __attribute__((optimize("omit-frame-pointer")))
#else
#define VM_FAST_PATH
#endif

/* What a valid entry may hold below the PPN: a leaf all of these, a pointer V and RSW only. */
#define VM_PTE_LOW_BITS 0x3ffu

/* Digits of a table's count: 2 bits in each of entries 0..5, up to 4^6 - 1 (a table has <= 1024). */
#define VM_COUNT_DIGITS 6

/*
 * A table's count of valid entries: digit i (0..3) in the RSW bits of entry i, least
 * significant first. Every store of an entry keeps its RSW bits; the count changes only here.
 */
static inline void vm_count_up(const struct vm_space *space, void *table)
{
    for (unsigned i = 0; i < VM_COUNT_DIGITS; i++) {
        vm_pte entry = vm_entry(space, table, i);
        if ((entry & VM_PTE_RSW) != VM_PTE_RSW) {
            vm_set_entry(space, table, i, entry + VM_PTE_RSW_ONE);
            return;
        }
        vm_set_entry(space, table, i, entry & ~(vm_pte)VM_PTE_RSW); /* 3 + 1: carry */
    }
}

/* Digits 1..5 all zero? */
static inline bool vm_count_high_zero(const struct vm_space *space, const void *table)
{
    vm_pte digits = 0;
    for (unsigned i = 1; i < VM_COUNT_DIGITS; i++)
        digits |= vm_entry(space, table, i);
    return (digits & VM_PTE_RSW) == 0;
}

/* Takes one off the count; returns true when it reached zero (the table is empty). */
static inline bool vm_count_down(const struct vm_space *space, void *table)
{
    vm_pte first = vm_entry(space, table, 0);
    if (first & VM_PTE_RSW) {
        first -= VM_PTE_RSW_ONE;
        vm_set_entry(space, table, 0, first);
        return (first & VM_PTE_RSW) == 0 && vm_count_high_zero(space, table);
    }
    /* Digit 0 is 0: borrow. The count was at least 4, so it is at least 3 afterwards. */
    vm_set_entry(space, table, 0, first | VM_PTE_RSW);
    for (unsigned i = 1; i < VM_COUNT_DIGITS; i++) {
        vm_pte entry = vm_entry(space, table, i);
        if (entry & VM_PTE_RSW) {
            vm_set_entry(space, table, i, entry - VM_PTE_RSW_ONE);
            break;
        }
        vm_set_entry(space, table, i, entry | VM_PTE_RSW);
    }
    return false;
}

/* The count, read from its digits. */
static inline unsigned vm_count(const struct vm_space *space, const void *table)
{
    unsigned count = 0;
    for (unsigned i = VM_COUNT_DIGITS; i-- > 0;)
        count = count * 4 + (unsigned)((vm_entry(space, table, i) & VM_PTE_RSW) >> 8);
    return count;
}

/* Writes count into the digits of a table (a new one: a split). */
static inline void vm_set_count(const struct vm_space *space, void *table, unsigned count)
{
    for (unsigned i = 0; i < VM_COUNT_DIGITS; i++, count /= 4) {
        vm_pte entry = vm_entry(space, table, i) & ~(vm_pte)VM_PTE_RSW;
        vm_set_entry(space, table, i, entry | (vm_pte)(count % 4) << 8);
    }
}

/* Is root entry index the space's own (inside its window), not borrowed (vm_share)? */
static inline bool vm_root_owned(const struct vm_space *space, unsigned index)
{
    return index - space->own_root_first <= space->own_root_last - space->own_root_first;
}

/* Where a walk for an address ended: the entry that decides it, in its table. */
struct vm_slot {
    void *table;
    unsigned index, level;
    vm_pte entry; /* a leaf, an invalid entry, or (malformed) a pointer at level 0 */
};

/* Walks down from the root while the entries are pointers. O(levels). */
static inline void vm_locate(const struct vm_space *space, uintptr_t virtual, struct vm_slot *slot)
{
    void *table = space->root;
    unsigned level = vm_top_level(space);
    for (;;) {
        unsigned index = vm_index(space, virtual, level);
        vm_pte entry = vm_entry(space, table, index);
        if (!vm_is_valid(entry) || vm_is_leaf(entry) || level == 0) {
            *slot = (struct vm_slot){table, index, level, entry};
            return;
        }
        table = vm_table_at(space, entry);
        level--;
    }
}

static inline bool vm_slot_is_leaf(const struct vm_slot *slot)
{
    return vm_is_valid(slot->entry) && vm_is_leaf(slot->entry);
}

/*
 * The table operations behind the public calls (kernel/mm/vm_tables.c).
 */

/* A table page from the caller, checked (aligned, nameable by an entry), or NULL. */
void *vm_table_alloc(struct vm_space *space);

/* A new table linked at entry index of table (invalid there): the new table, or NULL. */
void *vm_table_create(struct vm_space *space, void *table, unsigned index);

/* Frees every table on the walk to virtual that holds no valid entry, from the deepest up. */
void vm_prune(struct vm_space *space, uintptr_t virtual);

/*
 * Clears every leaf in [virtual, virtual + bytes), which must cut none (split first), and frees
 * the tables that empties. Cannot fail.
 */
void vm_clear(struct vm_space *space, uintptr_t virtual, uintptr_t bytes);

/* Sets the permissions of every leaf in [virtual, virtual + bytes), which must cut none. */
void vm_set_permissions(struct vm_space *space, uintptr_t virtual, uintptr_t bytes, unsigned permissions);

/* Splits undone if a later split of the same call fails: at most two boundaries' worth. */
struct vm_split_log {
    unsigned count;
    struct {
        void *table; /* holding the leaf that was split */
        unsigned index, level;
        vm_pte leaf;
    } splits[2 * (VM_LEVELS_MAX - 1)];
};

/*
 * Splits the leaves around boundary until it falls on a leaf boundary (no leaf contains both
 * boundary - 1 and boundary), logging each split. Returns 0 or -E_NOMEM.
 */
int vm_split_at(struct vm_space *space, uintptr_t boundary, struct vm_split_log *log);

/* Undoes the logged splits, last first, giving their tables back. */
void vm_unsplit(struct vm_space *space, struct vm_split_log *log);

#endif
