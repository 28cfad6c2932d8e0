/*
 * kernel/top/monitor_vm.c - the monitor's `vm`: the kernel's mappings, and one address's walk.
 *
 * `vm` lists the kernel's map in address order, one line per run of leaves of one size with the
 * same permissions in the same region (range, leaf size, how many, permissions, region), with the
 * guard pages (unmapped on purpose) where they fall. `vm ADDRESS` walks the tables for ADDRESS as
 * the hardware does, level by level (the table, the index, the entry), and says where it ends.
 * `vm PID`, a number that is the pid of a live process, lists that process's regions instead
 * (kernel/top/monitor_proc.c); no address the kernel maps is that small.
 */
#include <limits.h>

#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/platform/mmu.h"
#include "kernel/top/monitor_commands.h"
#include "kernel/top/monitor_text.h"
#include "kernel/top/paging.h"

/* Room for paging_describe's words ("in hart 3's stack, which is read+write"). */
#define WHERE_TEXT_BYTES 120

/* One line of the listing: leaves [start, end) of one size and permissions, in one region. */
struct run_of_leaves {
    uintptr_t start, end;
    uintptr_t leaf_bytes;
    unsigned permissions;
    const struct kernel_region *region;
    unsigned long count;
};

static const char *leaf_size_text(uintptr_t bytes)
{
    switch (bytes >> 12) {
    case 1: return "4 KiB";
    case 512: return "2 MiB";
    case 1024: return "4 MiB";
    case 262144: return "1 GiB";
    default: return "?";
    }
}

static void print_run(const struct run_of_leaves *run)
{
    char permissions[4];
    kprintf("  0x%010llx-0x%010llx %6s %6lu  %s  %s\n", (unsigned long long)run->start, (unsigned long long)run->end,
            leaf_size_text(run->leaf_bytes), run->count, kernel_permissions_text(run->permissions, permissions),
            run->region ? run->region->name : "(mapped after boot)");
}

/* Prints the regions kept unmapped on purpose (guard pages) that start below end, from *next on. */
static void print_unmapped_regions_below(const struct kernel_space *kernel, uintptr_t end, unsigned *next)
{
    for (; *next < kernel->region_count && kernel->regions[*next].start < end; (*next)++) {
        const struct kernel_region *region = &kernel->regions[*next];
        if (region->permissions == 0)
            kprintf("  0x%010llx-0x%010llx %6s %6s  ---  %s\n", (unsigned long long)region->start,
                    (unsigned long long)region->end, "-", "-", region->name);
    }
}

static void list_mappings(const struct kernel_space *kernel)
{
    struct vm_stats stats;
    vm_get_stats(&kernel->vm, &stats);
    kprintf("kernel map: %s, identity (virtual = physical), %lu table pages; every leaf global, none user-accessible\n",
            paging_mode_name(), stats.table_pages);
    kprintf("  %-25s %6s %6s  perm region\n", "range", "leaf", "count");
    struct run_of_leaves run = {0};
    unsigned next_region = 0;
    struct vm_mapping leaf;
    for (uintptr_t at = 0; vm_find(&kernel->vm, at, &leaf) == 0; at = leaf.virtual + leaf.bytes) {
        unsigned permissions = leaf.permissions & (VM_READ | VM_WRITE | VM_EXECUTE);
        const struct kernel_region *region = kernel_space_region_at(kernel, leaf.virtual);
        if (run.count && (leaf.virtual != run.end || leaf.bytes != run.leaf_bytes || permissions != run.permissions ||
                          region != run.region)) {
            print_unmapped_regions_below(kernel, run.start, &next_region);
            print_run(&run);
            run.count = 0;
        }
        if (run.count == 0)
            run = (struct run_of_leaves){leaf.virtual, leaf.virtual, leaf.bytes, permissions, region, 0};
        run.end = leaf.virtual + leaf.bytes;
        run.count++;
        if (run.end == 0)
            break; /* the last page of the space */
    }
    if (run.count) {
        print_unmapped_regions_below(kernel, run.start, &next_region);
        print_run(&run);
    }
    print_unmapped_regions_below(kernel, UINTPTR_MAX, &next_region);
}

/* The physical address a PTE points at (its PPN field, shifted). */
static uint64_t entry_physical(const struct vm_space *space, uint64_t entry)
{
    uint64_t ppn_mask = space->mode == VM_MODE_SV32 ? ((uint64_t)1 << 22) - 1 : ((uint64_t)1 << 44) - 1;
    return ((entry >> 10) & ppn_mask) << PAGE_SHIFT;
}

static void walk_address(const struct kernel_space *kernel, uintptr_t address)
{
    const struct vm_space *space = &kernel->vm;
    struct vm_walk_step steps[VM_LEVELS_MAX];
    int levels = vm_walk(space, address, steps);
    if (levels < 0) {
        kprintf("error: vm: %p is outside %s's virtual space\n", (void *)address, paging_mode_name());
        return;
    }
    kprintf("vm %p: %s walk from the root table %p (satp 0x%lx)\n", (void *)address, paging_mode_name(),
            (void *)(uintptr_t)space->root_physical, (unsigned long)mmu_kernel_satp());
    for (int i = 0; i < levels; i++) {
        const struct vm_walk_step *step = &steps[i];
        uint64_t entry = step->entry;
        kprintf("  level %u: table %p [%4u] entry 0x%016llx ", step->level, (void *)(uintptr_t)step->table_physical,
                step->index, (unsigned long long)entry);
        if (!(entry & 1)) {
            kprintf("invalid: nothing mapped\n");
        } else if (entry & (VM_READ | VM_EXECUTE)) {
            char permissions[4];
            kprintf("leaf of %s at %p, %s%s\n", leaf_size_text(vm_leaf_bytes(space, step->level)),
                    (void *)(uintptr_t)entry_physical(space, entry),
                    kernel_permissions_text((unsigned)entry & (VM_READ | VM_WRITE | VM_EXECUTE), permissions),
                    (entry & VM_GLOBAL) ? " global" : "");
        } else {
            kprintf("-> table %p\n", (void *)(uintptr_t)entry_physical(space, entry));
        }
    }
    char where[WHERE_TEXT_BYTES];
    paging_describe(address, where, sizeof where);
    uint64_t physical;
    int permissions = vm_translate(space, address, &physical);
    if (permissions > 0)
        kprintf("  = physical %p, %s\n", (void *)(uintptr_t)physical, where);
    else
        kprintf("  = no translation: %s\n", where);
}

enum monitor_status monitor_vm(int count, char **words)
{
    uint64_t address = 0;
    if (count > 2 || (count == 2 && (!parse_number(words[1], false, &address) || address > UINTPTR_MAX)))
        return MONITOR_BAD_USAGE;
    if (!paging_on()) {
        kprintf("paging is off (%s): addresses are physical, there is no map to show\n", paging_off_reason());
        return MONITOR_DONE;
    }
    if (count == 2 && address <= LONG_MAX && monitor_vm_process((long)address))
        return MONITOR_DONE; /* a live process's pid: its regions */
    if (count == 1)
        list_mappings(paging_kernel_space());
    else
        walk_address(paging_kernel_space(), (uintptr_t)address);
    return MONITOR_DONE;
}
