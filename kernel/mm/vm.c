/*
 * kernel/mm/vm.c - the page-table core's public calls (contracts in vm.h): map, unmap, protect,
 * translate, find and walk, and an address space's life. The 4 KiB map and unmap and every
 * translation take one walk from the root without a loop over entries; ranges go leaf by leaf.
 * Table pages, splits and clearing are in vm_tables.c.
 */
#include "kernel/mm/vm.h"

#include "kernel/mm/vm_internal.h"
#include "kernel/base/errors.h"

/* The low bits of a new leaf: valid, accessed and dirty set (see vm.h), the permissions. */
static inline unsigned leaf_bits(unsigned permissions)
{
    return permissions | VM_PTE_VALID | VM_PTE_ACCESSED | VM_PTE_DIRTY;
}

/* Only the permission bits, R or X among them, and no write without read (reserved). */
static inline bool permissions_valid(unsigned permissions)
{
    return (permissions & ~(unsigned)VM_PERMISSIONS) == 0 && (permissions & (VM_READ | VM_EXECUTE)) != 0 &&
           (permissions & (VM_READ | VM_WRITE)) != VM_WRITE;
}

/* [virtual, last] lies in one half of the space (Sv39: not across the hole); virtual <= last. */
static bool addresses_valid(const struct vm_space *space, uintptr_t virtual, uintptr_t last)
{
    if (!vm_virtual_valid(space, virtual) || !vm_virtual_valid(space, last))
        return false;
    return vm_sv32(space) || (((uint64_t) virtual ^ (uint64_t)last) >> 63) == 0;
}

/* Is address inside the space's own window? */
static inline bool owned(const struct vm_space *space, uintptr_t address)
{
    return address - space->own_start <= space->own_span;
}

/* [virtual, virtual + bytes): page aligned, not empty, no wrap, in one half, inside the window. */
static bool range_valid(const struct vm_space *space, uintptr_t virtual, uintptr_t bytes)
{
    uintptr_t last = virtual + bytes - 1;
    if (((virtual | bytes) & (PAGE_SIZE - 1)) || bytes == 0 || last < virtual)
        return false;
    return addresses_valid(space, virtual, last) && owned(space, virtual) && owned(space, last);
}

/* [physical, physical + bytes) inside the mode's physical space (bytes is valid already). */
static bool physical_range_valid(const struct vm_space *space, uint64_t physical, uintptr_t bytes)
{
    uint64_t last = physical + (bytes - 1);
    return (physical & (PAGE_SIZE - 1)) == 0 && last >= physical && last < vm_physical_limit(space);
}

int vm_init(struct vm_space *space, enum vm_mode mode, const struct vm_tables *tables)
{
#if defined(RVMEM_HOST)
    bool runnable = mode == VM_MODE_SV39 || mode == VM_MODE_SV32;
#elif __riscv_xlen == 32
    bool runnable = mode == VM_MODE_SV32;
#else
    bool runnable = mode == VM_MODE_SV39;
#endif
    if (!runnable || tables == NULL || tables->alloc == NULL || tables->free == NULL)
        return -E_INVAL;
    *space = (struct vm_space){.table_offset = tables->virtual_offset,
                               .mode = mode,
                               .tables = *tables,
                               .own_start = 0,
                               .own_span = UINTPTR_MAX};
    space->own_root_last = vm_entries(space) - 1;
    space->root = vm_table_alloc(space);
    if (space->root == NULL)
        return -E_NOMEM;
    space->root_physical = vm_table_physical(space, space->root);
    return 0;
}

int vm_set_window(struct vm_space *space, uintptr_t start, uintptr_t bytes)
{
    uintptr_t span = vm_level_bytes(space, vm_top_level(space)), last = start + bytes - 1;
    if (((start | bytes) & (span - 1)) || bytes == 0 || last < start || !addresses_valid(space, start, last))
        return -E_INVAL;
    if (vm_count(space, space->root) != 0)
        return -E_BUSY;
    space->own_start = start;
    space->own_span = bytes - 1;
    space->own_root_first = vm_index(space, start, vm_top_level(space));
    space->own_root_last = vm_index(space, last, vm_top_level(space));
    return 0;
}

int vm_share(struct vm_space *space, const struct vm_space *from, uintptr_t virtual, uintptr_t bytes)
{
    unsigned top = vm_top_level(space);
    uintptr_t span = vm_level_bytes(space, top), first = virtual & ~(span - 1);
    uintptr_t last = virtual + bytes - 1;
    if (bytes == 0 || last < virtual || from->mode != space->mode || from->table_offset != space->table_offset ||
        !addresses_valid(space, virtual, last))
        return -E_INVAL;
    unsigned first_index = vm_index(space, first, top), last_index = vm_index(space, last, top);
    for (unsigned index = first_index; index <= last_index; index++)
        if (vm_root_owned(space, index))
            return -E_INVAL;
    for (unsigned index = first_index; index <= last_index; index++) {
        vm_pte theirs = vm_entry(from, from->root, index) & ~(vm_pte)VM_PTE_RSW;
        vm_pte digit = vm_entry(space, space->root, index) & VM_PTE_RSW; /* this root's count lives there */
        vm_set_entry(space, space->root, index, theirs | digit);
    }
    return 0;
}

void vm_destroy(struct vm_space *space)
{
    if (space->root == NULL)
        return; /* destroyed already */
    void *path[VM_LEVELS_MAX];
    unsigned next[VM_LEVELS_MAX], top = vm_top_level(space), entries = vm_entries(space);
    int depth = 0; /* path[depth] is the table at level top - depth */
    path[0] = space->root;
    next[0] = 0;
    while (depth >= 0) {
        void *table = path[depth];
        if (next[depth] == entries) {
            space->tables.free(space->tables.context, table);
            depth--;
            continue;
        }
        unsigned index = next[depth]++;
        vm_pte entry = vm_entry(space, table, index);
        if (depth == 0 && !vm_root_owned(space, index))
            continue; /* borrowed: another space's table */
        if (vm_is_valid(entry) && !vm_is_leaf(entry) && (unsigned)depth < top) {
            depth++;
            path[depth] = vm_table_at(space, entry);
            next[depth] = 0;
        }
    }
    space->root = NULL;
    space->table_pages = 0;
    for (unsigned level = 0; level < VM_LEVELS_MAX; level++)
        space->leaves[level] = 0;
}

/*
 * Puts leaf at level for virtual, creating the tables above it. Returns 0, -E_BUSY when an
 * entry on the way is a leaf or the slot is taken (a leaf, or a table: tables are never empty,
 * so something is mapped below it), -E_NOMEM (the tables this walk created are given back).
 * A table created on this walk is empty, so -E_BUSY can only come before any was created.
 */
static inline int map_leaf(struct vm_space *space, uintptr_t virtual, unsigned level, vm_pte leaf)
{
    void *table = space->root;
    for (unsigned at = vm_top_level(space); at > level; at--) {
        unsigned index = vm_index(space, virtual, at);
        vm_pte entry = vm_entry(space, table, index);
        if (!vm_is_valid(entry)) {
            table = vm_table_create(space, table, index);
            if (table == NULL) {
                vm_prune(space, virtual);
                return -E_NOMEM;
            }
        } else if (vm_is_leaf(entry)) {
            return -E_BUSY;
        } else {
            table = vm_table_at(space, entry);
        }
    }
    unsigned index = vm_index(space, virtual, level);
    vm_pte entry = vm_entry(space, table, index);
    if (vm_is_valid(entry))
        return -E_BUSY;
    vm_set_entry(space, table, index, leaf | entry); /* an invalid entry holds its count digit only */
    vm_count_up(space, table);
    space->leaves[level]++;
    return 0;
}

/* The largest leaf level both addresses are aligned to and bytes holds. */
static unsigned largest_leaf(const struct vm_space *space, uintptr_t virtual, uint64_t physical, uintptr_t bytes)
{
    for (unsigned level = vm_top_level(space); level > 0; level--) {
        uintptr_t mask = vm_level_bytes(space, level) - 1;
        if (((virtual | physical) & mask) == 0 && bytes > mask)
            return level;
    }
    return 0;
}

static int map_range(struct vm_space *space, uintptr_t virtual, uint64_t physical, uintptr_t bytes, unsigned bits)
{
    for (uintptr_t done = 0; done < bytes;) {
        unsigned level = largest_leaf(space, virtual + done, physical + done, bytes - done);
        int error = map_leaf(space, virtual + done, level, vm_make_entry(physical + done, bits));
        if (error) {
            if (done > 0)
                vm_clear(space, virtual, done); /* exactly the leaves mapped above */
            return error;
        }
        done += vm_level_bytes(space, level);
    }
    return 0;
}

/* vm_map in general: any length, tables created as needed. */
static __attribute__((noinline)) int map_general(struct vm_space *space, uintptr_t virtual, uint64_t physical,
                                                 uintptr_t bytes, unsigned permissions)
{
    if (!permissions_valid(permissions) || !range_valid(space, virtual, bytes) ||
        !physical_range_valid(space, physical, bytes))
        return -E_INVAL;
    return map_range(space, virtual, physical, bytes, leaf_bits(permissions));
}

/*
 * Steps from table (at level) to the table below for virtual: false when the entry is not a
 * pointer (an invalid entry or a leaf). Written out per level by the fast paths.
 */
static inline __attribute__((always_inline)) bool step_down(const struct vm_space *space, void **table,
                                                            uintptr_t virtual, unsigned level)
{
    vm_pte entry = vm_load(space, vm_entry_address(space, *table, virtual, level));
    if ((entry & (VM_PTE_VALID | VM_PTE_LEAF)) != VM_PTE_VALID)
        return false;
    *table = vm_table_at(space, entry);
    return true;
}

/* Sets *table to the level-0 table for virtual; false when the walk to it ends earlier. */
static inline __attribute__((always_inline)) bool last_table(const struct vm_space *space, uintptr_t virtual,
                                                             void **table)
{
    *table = space->root;
    if (!vm_sv32(space) && !step_down(space, table, virtual, 2))
        return false;
    return step_down(space, table, virtual, 1);
}

/*
 * The common case, one page where the tables exist, is one walk and no call; anything else
 * (another length, a missing table, bad arguments) goes to map_general.
 */
VM_FAST_PATH int vm_map(struct vm_space *space, uintptr_t virtual, uint64_t physical, uintptr_t bytes,
                        unsigned permissions)
{
    void *table;
    if (bytes != PAGE_SIZE || !permissions_valid(permissions) || ((virtual | physical) & (PAGE_SIZE - 1)) ||
        !vm_virtual_valid(space, virtual) || !owned(space, virtual) || (physical >> vm_physical_bits(space)) != 0 ||
        !last_table(space, virtual, &table))
        return map_general(space, virtual, physical, bytes, permissions);
    void *slot = vm_entry_address(space, table, virtual, 0);
    vm_pte entry = vm_load(space, slot);
    if (vm_is_valid(entry))
        return -E_BUSY;
    vm_store(space, slot, vm_make_entry(physical, leaf_bits(permissions)) | entry); /* entry: its count digit */
    vm_count_up(space, table);
    space->leaves[0]++;
    return 0;
}

/* Splits the large leaves the range cuts at either end; on -E_NOMEM undoes them. */
static int split_ends(struct vm_space *space, uintptr_t virtual, uintptr_t bytes)
{
    struct vm_split_log log;
    log.count = 0;
    int error = vm_split_at(space, virtual, &log);
    if (error == 0)
        error = vm_split_at(space, virtual + bytes, &log);
    if (error)
        vm_unsplit(space, &log);
    return error;
}

/* vm_unmap in general: any length, large leaves split, holes skipped. */
static __attribute__((noinline)) int unmap_general(struct vm_space *space, uintptr_t virtual, uintptr_t bytes)
{
    if (!range_valid(space, virtual, bytes))
        return -E_INVAL;
    int error = split_ends(space, virtual, bytes);
    if (error)
        return error;
    vm_clear(space, virtual, bytes);
    return 0;
}

/* The common case, one 4 KiB leaf, is one walk; anything else goes to unmap_general. */
VM_FAST_PATH int vm_unmap(struct vm_space *space, uintptr_t virtual, uintptr_t bytes)
{
    void *table;
    if (bytes != PAGE_SIZE || (virtual & (PAGE_SIZE - 1)) || !vm_virtual_valid(space, virtual) ||
        !owned(space, virtual) || !last_table(space, virtual, &table))
        return unmap_general(space, virtual, bytes);
    void *slot = vm_entry_address(space, table, virtual, 0);
    vm_pte entry = vm_load(space, slot);
    if (!vm_is_valid(entry))
        return 0; /* a hole */
    vm_store(space, slot, entry & VM_PTE_RSW);
    space->leaves[0]--;
    if (vm_count_down(space, table) && table != space->root)
        vm_prune(space, virtual);
    return 0;
}

int vm_protect(struct vm_space *space, uintptr_t virtual, uintptr_t bytes, unsigned permissions)
{
    if (!permissions_valid(permissions) || !range_valid(space, virtual, bytes))
        return -E_INVAL;
    int error = split_ends(space, virtual, bytes);
    if (error)
        return error;
    vm_set_permissions(space, virtual, bytes, permissions);
    return 0;
}

int vm_find(const struct vm_space *space, uintptr_t virtual, struct vm_mapping *mapping)
{
    for (;;) {
        if (!vm_virtual_valid(space, virtual)) {
            /* Sv32 on a 64-bit host: past 2^32, the end. Sv39: in the hole, the upper half is next. */
            if (vm_sv32(space))
                return -E_NOENT;
            virtual = (uintptr_t)(0 - ((uint64_t)1 << (VM_SV39_VIRTUAL_BITS - 1)));
        }
        struct vm_slot slot = {space->root, 0, vm_top_level(space), 0}; /* a borrowed root entry: a hole */
        if (vm_root_owned(space, vm_index(space, virtual, vm_top_level(space))))
            vm_locate(space, virtual, &slot);
        uintptr_t size = vm_level_bytes(space, slot.level), start = virtual & ~(size - 1);
        if (vm_slot_is_leaf(&slot)) {
            *mapping = (struct vm_mapping){start, vm_entry_physical(slot.entry), size,
                                           (unsigned)(slot.entry & VM_PERMISSIONS), slot.level};
            return 0;
        }
        virtual = start + size; /* past the hole; 0 past the top of the space */
        if (virtual == 0)
            return -E_NOENT;
    }
}

int vm_walk(const struct vm_space *space, uintptr_t virtual, struct vm_walk_step *steps)
{
    if (!vm_virtual_valid(space, virtual))
        return -E_INVAL;
    const void *table = space->root;
    int count = 0;
    for (unsigned level = vm_top_level(space);; level--) {
        unsigned index = vm_index(space, virtual, level);
        vm_pte entry = vm_entry(space, table, index);
        steps[count++] = (struct vm_walk_step){level, index, vm_table_physical(space, table), entry};
        if (level == 0 || !vm_is_valid(entry) || vm_is_leaf(entry))
            return count;
        table = vm_table_at(space, entry);
    }
}

uint64_t vm_satp(const struct vm_space *space, unsigned asid)
{
    uint64_t root_page = space->root_physical >> PAGE_SHIFT;
    if (vm_sv32(space))
        return (uint64_t)VM_MODE_SV32 << 31 | (uint64_t)(asid & 0x1ff) << 22 | root_page;
    return (uint64_t)VM_MODE_SV39 << 60 | (uint64_t)(asid & 0xffff) << 44 | root_page;
}

uintptr_t vm_leaf_bytes(const struct vm_space *space, unsigned level)
{
    return vm_level_bytes(space, level);
}

unsigned vm_levels(const struct vm_space *space)
{
    return vm_top_level(space) + 1;
}
