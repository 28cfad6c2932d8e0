/*
 * kernel/mm/vm_tables.c - the page-table core's table work: taking table pages from the caller
 * and giving empty ones back, clearing and rewriting the leaves of a range, and splitting large
 * leaves (and undoing splits when a call fails). The public calls are in vm.c.
 */
#include "kernel/mm/vm_internal.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"

#ifndef RVMEM_CHECKED
#define RVMEM_CHECKED 0
#endif

void *vm_table_alloc(struct vm_space *space)
{
    void *table = space->tables.alloc(space->tables.context);
    if (table == NULL)
        return NULL;
    uint64_t physical = vm_table_physical(space, table);
    if ((((uintptr_t)table | physical) & (PAGE_SIZE - 1)) || physical >= vm_physical_limit(space))
        panic("vm: the table page at %p (physical 0x%llx) cannot be named by a page-table entry", table,
              (unsigned long long)physical);
    if (RVMEM_CHECKED) {
        for (unsigned i = 0; i < vm_entries(space); i++)
            if (vm_entry(space, table, i) != 0)
                panic("vm: the table page at %p is not zeroed (entry %u)", table, i);
    }
    space->table_pages++;
    return table;
}

/* Gives a table page back (unlinked already). */
static void table_free(struct vm_space *space, void *table)
{
    space->table_pages--;
    space->tables.free(space->tables.context, table);
}

void *vm_table_create(struct vm_space *space, void *table, unsigned index)
{
    void *child = vm_table_alloc(space);
    if (child == NULL)
        return NULL;
    vm_pte entry = vm_entry(space, table, index); /* invalid: its count digit only */
    vm_set_entry(space, table, index, vm_make_entry(vm_table_physical(space, child), VM_PTE_VALID) | entry);
    vm_count_up(space, table);
    return child;
}

void vm_prune(struct vm_space *space, uintptr_t virtual)
{
    void *path[VM_LEVELS_MAX]; /* path[d]: the table at level top - d */
    unsigned depth = 0;
    void *table = space->root;
    for (unsigned level = vm_top_level(space);; level--) {
        path[depth++] = table;
        vm_pte entry = vm_entry(space, table, vm_index(space, virtual, level));
        if (level == 0 || !vm_is_valid(entry) || vm_is_leaf(entry))
            break;
        table = vm_table_at(space, entry);
    }
    while (depth > 1 && vm_count(space, path[depth - 1]) == 0) {
        depth--;
        void *parent = path[depth - 1];
        unsigned index = vm_index(space, virtual, vm_top_level(space) - (depth - 1));
        vm_set_entry(space, parent, index, vm_entry(space, parent, index) & VM_PTE_RSW);
        vm_count_down(space, parent);
        table_free(space, path[depth]);
    }
}

void vm_clear(struct vm_space *space, uintptr_t virtual, uintptr_t bytes)
{
    while (bytes > 0) {
        struct vm_slot slot;
        vm_locate(space, virtual, &slot);
        uintptr_t size = vm_level_bytes(space, slot.level);
        uintptr_t step = size - (virtual & (size - 1)); /* to the end of this entry's span */
        if (vm_slot_is_leaf(&slot)) {
            if (step != size || bytes < size)
                panic("vm: clearing [%p, +0x%lx) cuts the leaf of level %u at %p", (void *)virtual,
                      (unsigned long)bytes, slot.level, (void *)(virtual & ~(size - 1)));
            vm_set_entry(space, slot.table, slot.index, slot.entry & VM_PTE_RSW);
            space->leaves[slot.level]--;
            if (vm_count_down(space, slot.table) && slot.table != space->root)
                vm_prune(space, virtual);
        }
        if (step >= bytes)
            return;
        virtual += step;
        bytes -= step;
    }
}

void vm_set_permissions(struct vm_space *space, uintptr_t virtual, uintptr_t bytes, unsigned permissions)
{
    while (bytes > 0) {
        struct vm_slot slot;
        vm_locate(space, virtual, &slot);
        uintptr_t size = vm_level_bytes(space, slot.level);
        uintptr_t step = size - (virtual & (size - 1));
        if (vm_slot_is_leaf(&slot)) {
            if (step != size || bytes < size)
                panic("vm: protecting [%p, +0x%lx) cuts the leaf of level %u at %p", (void *)virtual,
                      (unsigned long)bytes, slot.level, (void *)(virtual & ~(size - 1)));
            vm_set_entry(space, slot.table, slot.index, (slot.entry & ~(vm_pte)VM_PERMISSIONS) | permissions);
        }
        if (step >= bytes)
            return;
        virtual += step;
        bytes -= step;
    }
}

/*
 * Replaces the leaf at slot (level >= 1) by a table of the same translation in leaves one
 * level down. The new table is filled before it is linked, so a hardware walk at any moment
 * sees an equivalent translation. Returns 0 or -E_NOMEM (nothing changed).
 */
static int split(struct vm_space *space, const struct vm_slot *slot, struct vm_split_log *log)
{
    void *child = vm_table_alloc(space);
    if (child == NULL)
        return -E_NOMEM;
    unsigned level = slot->level - 1, entries = vm_entries(space);
    uint64_t physical = vm_entry_physical(slot->entry), step = vm_level_bytes(space, level);
    unsigned low_bits = (unsigned)(slot->entry & VM_PTE_LOW_BITS & ~VM_PTE_RSW);
    for (unsigned i = 0; i < entries; i++, physical += step)
        vm_set_entry(space, child, i, vm_make_entry(physical, low_bits));
    vm_set_count(space, child, entries);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the new table's entries before the link to it */
    vm_set_entry(space, slot->table, slot->index,
                 vm_make_entry(vm_table_physical(space, child), VM_PTE_VALID) | (slot->entry & VM_PTE_RSW));
    space->leaves[slot->level]--;
    space->leaves[level] += entries;
    log->splits[log->count].table = slot->table;
    log->splits[log->count].index = slot->index;
    log->splits[log->count].level = slot->level;
    log->splits[log->count].leaf = slot->entry;
    log->count++;
    return 0;
}

int vm_split_at(struct vm_space *space, uintptr_t boundary, struct vm_split_log *log)
{
    if (!vm_virtual_valid(space, boundary))
        return 0; /* the end of the space or of Sv39's lower half: no leaf there */
    for (;;) {
        struct vm_slot slot;
        vm_locate(space, boundary, &slot);
        if (!vm_slot_is_leaf(&slot) || (boundary & (vm_level_bytes(space, slot.level) - 1)) == 0)
            return 0;
        int error = split(space, &slot, log);
        if (error)
            return error;
    }
}

void vm_unsplit(struct vm_space *space, struct vm_split_log *log)
{
    while (log->count > 0) {
        log->count--;
        void *table = log->splits[log->count].table;
        unsigned index = log->splits[log->count].index, level = log->splits[log->count].level;
        vm_pte pointer = vm_entry(space, table, index);
        vm_set_entry(space, table, index,
                     (log->splits[log->count].leaf & ~(vm_pte)VM_PTE_RSW) | (pointer & VM_PTE_RSW));
        space->leaves[level]++;
        space->leaves[level - 1] -= vm_entries(space);
        table_free(space, vm_table_at(space, pointer));
    }
}
