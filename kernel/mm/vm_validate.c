/*
 * kernel/mm/vm_validate.c - the page-table core's statistics and validator: walks every table,
 * checks each entry's form and each table's count, and cross-checks the counters.
 */
#include "kernel/mm/vm.h"

#include "kernel/mm/vm_internal.h"
#include "kernel/base/errors.h"
#include "kernel/base/printf.h"

void vm_get_stats(const struct vm_space *space, struct vm_stats *stats)
{
    stats->table_pages = space->table_pages;
    stats->mapped_bytes = 0;
    for (unsigned level = 0; level < VM_LEVELS_MAX; level++) {
        stats->leaves[level] = level <= vm_top_level(space) ? space->leaves[level] : 0;
        if (level <= vm_top_level(space))
            stats->mapped_bytes += (uint64_t)stats->leaves[level] * vm_level_bytes(space, level);
    }
}

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        kprintf("vm validate: " __VA_ARGS__);                                                                          \
        return -E_BADDATA;                                                                                             \
    } while (0)

/* Bits above the PPN: Sv39's 54..63 (reserved, Svpbmt and Svnapot unused), none in Sv32. */
static vm_pte high_bits(const struct vm_space *space, vm_pte entry)
{
    if (vm_sv32(space))
        return 0;
    return (vm_pte)((uint64_t)entry >> 54);
}

/* One entry of a table at level. Counts leaves into leaves[]. */
static int check_entry(const struct vm_space *space, const void *table, unsigned level, unsigned index,
                       unsigned long *leaves)
{
    vm_pte entry = vm_entry(space, table, index);
    unsigned long long shown = (unsigned long long)entry;
    if (!vm_is_valid(entry)) {
        if (entry & ~(vm_pte)VM_PTE_RSW)
            FAIL("invalid entry %u of the level-%u table at %p holds 0x%llx\n", index, level, table, shown);
        return 0;
    }
    if (high_bits(space, entry))
        FAIL("entry %u of the level-%u table at %p sets reserved bits: 0x%llx\n", index, level, table, shown);
    if (!vm_is_leaf(entry)) {
        if (level == 0 || (entry & VM_PTE_LOW_BITS & ~(vm_pte)(VM_PTE_VALID | VM_PTE_RSW)))
            FAIL("pointer entry %u of the level-%u table at %p is malformed: 0x%llx\n", index, level, table, shown);
        return 0;
    }
    if ((entry & (VM_READ | VM_WRITE)) == VM_WRITE)
        FAIL("leaf %u of the level-%u table at %p is write-only: 0x%llx\n", index, level, table, shown);
    if ((entry & (VM_PTE_ACCESSED | VM_PTE_DIRTY)) != (VM_PTE_ACCESSED | VM_PTE_DIRTY))
        FAIL("leaf %u of the level-%u table at %p lacks A or D: 0x%llx\n", index, level, table, shown);
    if (vm_entry_physical(entry) & (vm_level_bytes(space, level) - 1))
        FAIL("leaf %u of the level-%u table at %p is misaligned: 0x%llx\n", index, level, table, shown);
    leaves[level]++;
    return 0;
}

/* Every entry of one table, its count and that it is not empty (unless it is the root). */
static int check_table(const struct vm_space *space, const void *table, unsigned level, unsigned long *leaves)
{
    unsigned valid = 0;
    for (unsigned index = 0; index < vm_entries(space); index++) {
        if (table == space->root && !vm_root_owned(space, index))
            continue; /* borrowed (vm_share): another space's, which validates it */
        int error = check_entry(space, table, level, index, leaves);
        if (error)
            return error;
        valid += vm_is_valid(vm_entry(space, table, index));
    }
    if (vm_count(space, table) != valid)
        FAIL("the level-%u table at %p counts %u entries but holds %u\n", level, table, vm_count(space, table), valid);
    if (valid == 0 && table != space->root)
        FAIL("the level-%u table at %p is empty\n", level, table);
    return 0;
}

int vm_validate(const struct vm_space *space)
{
    if (space->root == NULL)
        FAIL("the space has no root table\n");
    if (vm_table_physical(space, space->root) != space->root_physical)
        FAIL("the root table at %p is not at its physical address 0x%llx\n", space->root,
             (unsigned long long)space->root_physical);
    unsigned long leaves[VM_LEVELS_MAX] = {0}, tables = 0;
    const void *path[VM_LEVELS_MAX];
    unsigned next[VM_LEVELS_MAX], top = vm_top_level(space);
    int depth = 0; /* path[depth] is the table at level top - depth */
    path[0] = space->root;
    next[0] = 0;
    int error = check_table(space, space->root, top, leaves);
    tables++;
    while (error == 0 && depth >= 0) {
        if (next[depth] == vm_entries(space)) {
            depth--;
            continue;
        }
        unsigned index = next[depth]++;
        vm_pte entry = vm_entry(space, path[depth], index);
        if (depth == 0 && !vm_root_owned(space, index))
            continue;
        if (vm_is_valid(entry) && !vm_is_leaf(entry)) {
            const void *child = vm_table_at(space, entry);
            if ((uintptr_t)child & (PAGE_SIZE - 1))
                FAIL("a pointer in the level-%u table at %p names a misaligned table\n", top - depth, path[depth]);
            depth++;
            path[depth] = child;
            next[depth] = 0;
            tables++;
            error = check_table(space, child, top - (unsigned)depth, leaves);
        }
    }
    if (error)
        return error;
    if (tables != space->table_pages)
        FAIL("%lu tables reached, %lu counted\n", tables, space->table_pages);
    for (unsigned level = 0; level <= top; level++) {
        if (leaves[level] != space->leaves[level])
            FAIL("%lu leaves of level %u reached, %lu counted\n", leaves[level], level, space->leaves[level]);
    }
    return 0;
}
