/*
 * tests/bench/vm.c - the page-table core, in guest instructions.
 *
 * Issue budgets: vm_map_4K <= 150 and vm_unmap_4K <= 150 mean, where the tables exist, each
 * with the local sfence.vma a caller issues after the change (the core leaves TLB flushes to its
 * caller: kernel/mm/vm.h); vm_translate <= 40 mean (a 4 KiB leaf: the deepest walk);
 * vm_kernel_map_4G <= 200,000 for building the kernel's map with 4 GiB of RAM, with its table
 * pages <= 16 KiB (below: vm_kernel_map_this_machine). vm_direct_map_4G builds the direct map of
 * 4 GiB of RAM alone, on any machine (a synthetic range), under the same budgets. Tables come from page_alloc, zeroed;
 * with paging off the sfence.vma still executes (it has nothing to flush).
 *
 * The kernel's own map: vm_kernel_map_this_machine builds the whole map of the machine it runs on
 * (kernel/top/paging.h: the image section by section, the stacks and guard pages, the direct map of
 * usable RAM, the device tree, the devices) into a fresh space; `make bench` renames it after the
 * RAM size and runs it at -m 4G too (tools/bench.py), which gives vm_kernel_map_4G. Its table
 * pages are a row of their own, and so are those of the RAM part alone (the image, the stacks,
 * the direct map and the device tree: the devices left out). vm_shootdown_all_harts: one page shot
 * down on every other hart (idle in wfi); the count covers every hart's instructions under
 * -icount (one counter for all), the firmware's included (report only).
 */
#include "kernel/mm/vm.h"

#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/mmu.h"
#include "kernel/top/paging.h"
#include "tests/harness/kbench.h"

#define PAGE PAGE_SIZE
#define RW (VM_READ | VM_WRITE)

/* What a caller does after changing a mapping this hart may hold: flush that page here. */
static inline void flush_local(uintptr_t virtual)
{
    __asm__ volatile("sfence.vma %0, zero" ::"r"(virtual) : "memory");
}

#if __riscv_xlen == 32
#define MODE VM_MODE_SV32
#else
#define MODE VM_MODE_SV39
#endif

static struct vm_space space;

/*
 * A space whose level-0 table for [BASE, BASE + 2 or 4 MiB) exists and stays: a page at BASE is
 * mapped for the whole benchmark. The measured calls fill the other 511 entries of that table one
 * by one, in a scattered order, and empty them again, so that the table's count (kernel/mm/vm.h)
 * runs through 1..512 with its carries and borrows, as it does in use.
 */
#define BASE ((uintptr_t)0x40000000)
#define ROUNDS 2u
#define PAGES 511u

static uintptr_t page_number(unsigned i)
{
    return BASE + (1 + (i * 37) % PAGES) * PAGE;
}

static bool open_space(void)
{
    if (vm_init(&space, MODE, &pages_vm_tables) != 0 || vm_map(&space, BASE, 0x80000000, PAGE, RW) != 0) {
        kbench_fail("could not set the space up");
        return false;
    }
    return true;
}

static void close_space(void)
{
    if (vm_unmap(&space, BASE, vm_leaf_bytes(&space, 1)) != 0 || space.table_pages != 1)
        kbench_fail("the space did not give its tables back");
    vm_destroy(&space);
}

/* Maps the 511 pages, then unmaps them, measuring one of the two (a local flush after each). */
static void fill_and_empty(bool measure_map)
{
    if (!open_space())
        return;
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned i = 0; i < PAGES; i++) {
            uintptr_t virtual = page_number(i);
            uint64_t start = kbench_start();
            int result = vm_map(&space, virtual, 0x90000000 + (uint64_t)i * PAGE, PAGE, RW);
            flush_local(virtual);
            if (measure_map)
                kbench_stop(start);
            if (result != 0)
                kbench_fail("a map failed");
        }
        for (unsigned i = 0; i < PAGES; i++) {
            uintptr_t virtual = page_number(i);
            uint64_t start = kbench_start();
            int result = vm_unmap(&space, virtual, PAGE);
            flush_local(virtual);
            if (!measure_map)
                kbench_stop(start);
            if (result != 0)
                kbench_fail("an unmap failed");
        }
    }
    close_space();
}

KBENCH(vm_map_4K, 150, 0)
{
    fill_and_empty(true);
}

KBENCH(vm_unmap_4K, 150, 0)
{
    fill_and_empty(false);
}

KBENCH(vm_translate, 40, 0)
{
    if (!open_space())
        return;
    if (vm_map(&space, BASE + PAGE, 0x90000000, PAGES * PAGE, RW) != 0)
        kbench_fail("a map failed");
    uint64_t sum = 0;
    for (unsigned i = 0; i < ROUNDS * PAGES; i++) {
        uintptr_t virtual = page_number(i) + (i % PAGE);
        uint64_t physical = 0;
        uint64_t start = kbench_start();
        int result = vm_translate(&space, virtual, &physical);
        kbench_stop(start);
        if (result != RW || physical != 0x90000000 + (virtual - BASE - PAGE))
            kbench_fail("a translation was wrong");
        sum += physical;
    }
    (void)sum;
    close_space();
}

/*
 * The direct map of 4 GiB of RAM at 0x80000000 less the firmware's first 2 MiB, into a fresh
 * space: vm_init and one vm_map, table pages (from page_alloc, zeroed) included. The range
 * starts 2 MiB aligned, so it is 511 leaves of 2 MiB, then 3 of 1 GiB (Sv39). Its table pages
 * are a row of their own, in bytes.
 */
#define RAM_START ((uint64_t)0x80200000)
#define RAM_END ((uint64_t)0x180000000)

#if __riscv_xlen == 64 /* Sv32's whole virtual space is 4 GiB */
KBENCH(vm_direct_map_4G, 0, 200000)
{
    uint64_t table_bytes = 0;
    for (unsigned round = 0; round < 5; round++) {
        uint64_t start = kbench_start();
        int result = vm_init(&space, MODE, &pages_vm_tables);
        if (result == 0)
            result = vm_map(&space, RAM_START, RAM_START, RAM_END - RAM_START, RW | VM_GLOBAL);
        kbench_stop(start);
        if (result != 0) {
            kbench_fail("the map failed");
            return;
        }
        struct vm_stats stats;
        vm_get_stats(&space, &stats);
        table_bytes = stats.table_pages * PAGE;
        if (round == 0)
            kprintf("# vm_direct_map_4G: %lu leaves of 1 GiB, %lu of 2 MiB, %lu of 4 KiB, %lu table pages\n",
                    stats.leaves[2], stats.leaves[1], stats.leaves[0], stats.table_pages);
        vm_destroy(&space);
    }
    struct kbench_summary tables_held = {1, table_bytes * 100, table_bytes, table_bytes, table_bytes};
    kbench_report("vm_direct_map_4G_table_bytes", &tables_held, "bytes", 0, 16384);
}
#endif

/* The rows of one build of the kernel's map into a fresh space: instructions, then table bytes. */
static void report_table_bytes(const char *name, uint64_t table_bytes, uint32_t budget)
{
    struct kbench_summary held = {1, table_bytes * 100, table_bytes, table_bytes, table_bytes};
    kbench_report(name, &held, "bytes", 0, budget);
}

/* The kernel's map without its devices: what the machine's RAM and the image cost in tables. */
static struct kernel_space ram_part;

KBENCH(vm_kernel_map_this_machine, 200000, 0)
{
    const struct kernel_space *kernel = paging_kernel_space();
    if (!paging_on()) {
        kprintf("# vm_kernel_map_this_machine: skipped (paging off: %s)\n", paging_off_reason());
        return;
    }
    uint64_t table_bytes = 0;
    unsigned failed = 0;
    for (unsigned round = 0; round < 5; round++) {
        uint64_t start = kbench_start();
        int result = vm_init(&space, MODE, &pages_vm_tables);
        if (result == 0)
            result = kernel_space_map_regions(kernel, &space, &failed);
        kbench_stop(start);
        if (result != 0) {
            kbench_fail("the kernel's map failed to build");
            vm_destroy(&space);
            return;
        }
        struct vm_stats stats;
        vm_get_stats(&space, &stats);
        table_bytes = stats.table_pages * PAGE;
        if (round == 0)
            kprintf("# vm_kernel_map_this_machine: %u regions; %lu leaves of 4 KiB, %lu of 2/4 MiB, %lu of 1 GiB; "
                    "%lu table pages\n",
                    kernel->region_count, stats.leaves[0], stats.leaves[1], stats.leaves[2], stats.table_pages);
        vm_destroy(&space);
    }
    report_table_bytes("vm_kernel_map_this_machine_table_bytes", table_bytes, 0);
    kernel_space_reset(&ram_part);
    for (unsigned i = 0; i < kernel->region_count; i++) {
        const struct kernel_region *region = &kernel->regions[i];
        if (strncmp(region->name, "device ", 7) != 0 &&
            kernel_space_add(&ram_part, region->start, region->end, region->permissions, region->name) != 0)
            kbench_fail("the RAM part of the description was refused");
    }
    if (vm_init(&space, MODE, &pages_vm_tables) != 0 || kernel_space_map_regions(&ram_part, &space, &failed) != 0) {
        kbench_fail("the RAM part of the kernel's map failed to build");
    } else {
        struct vm_stats stats;
        vm_get_stats(&space, &stats);
        report_table_bytes("vm_kernel_map_this_machine_ram_table_bytes", stats.table_pages * PAGE, 0);
    }
    vm_destroy(&space);
}

/* One page shot down on every other hart (idle, asleep in wfi), 200 times. */
static void measure_shootdowns(void)
{
    for (unsigned i = 0; i < 200; i++) {
        uint64_t start = kbench_start();
        tlb_shootdown(USER_WINDOW_START - PAGE, PAGE);
        kbench_stop(start);
    }
}

/*
 * Through the path the kernel takes here. Under -icount (make bench) that is the IPI path: the
 * boot chooses it there, since OpenSBI's RFENCE spins in M-mode for the other harts and -icount's
 * scheduler never runs them meanwhile (kernel/platform/mmu.h). RFENCE itself is what make test's
 * paging.a_remap_reaches_every_busy_hart_when_the_shootdown_returns uses, without -icount.
 */
KBENCH(vm_shootdown_all_harts, 0, 0)
{
    if (!paging_on() || hart_count() < 2) {
        kprintf("# vm_shootdown_all_harts: skipped (%s)\n", paging_on() ? "one hart" : "paging off");
        return;
    }
    kprintf("# vm_shootdown_all_harts: %u harts, by %s\n", hart_count(), mmu_shootdown_method());
    measure_shootdowns();
}
