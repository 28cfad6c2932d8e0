/*
 * tests/top/boot.c - what boot/entry.S and linker.ld promise: harts, stacks, .bss, layout.
 */
#include "kernel/top/boot.h"
#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/mm/memmap.h"
#include "kernel/platform/hart.h"
#include "kernel/base/platform.h"
#include "kernel/platform/stack.h"
#include "kernel/platform/trap.h"
#include "tests/harness/ktest.h"

extern char __image_start[], __image_end[], __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[], __bss_start[], __bss_end[], __stacks_start[], __stacks_end[];

#define ADDRESS(symbol) ((uintptr_t)(symbol))

/* Nothing ever writes these: they must read as zero because entry.S cleared .bss. */
static unsigned char untouched_bss[4096];
static unsigned long untouched_bss_word;
/* An initialized variable must arrive with its value (loaded from the image, not cleared). */
static unsigned long initialized_data = 0x1234abcdUL;

KTEST(boot, bss_is_zeroed)
{
    for (unsigned i = 0; i < sizeof untouched_bss; i++)
        KASSERT_EQ(untouched_bss[i], 0);
    KASSERT_EQ(untouched_bss_word, 0UL);
    KASSERT(ADDRESS(untouched_bss) >= ADDRESS(__bss_start) && ADDRESS(untouched_bss) < ADDRESS(__bss_end));
}

/*
 * .bss holds the runtime's own globals only (test suites take their memory from the page allocator
 * when they start): at most 1 MiB with up to 8 harts. A test arena put back into .bss fails here.
 */
#define BSS_BUDGET_BYTES (1u << 20)
#define BSS_BUDGET_HARTS 8

KTEST(boot, bss_holds_only_the_runtime)
{
    if (RVMEM_MAX_HARTS > BSS_BUDGET_HARTS) {
        ktest_skip("the 1 MiB budget of .bss is for MAX_HARTS <= 8");
        return;
    }
    KASSERT_LE(ADDRESS(__bss_end) - ADDRESS(__bss_start), (uintptr_t)BSS_BUDGET_BYTES);
}

KTEST(boot, data_keeps_its_initial_value)
{
    KASSERT_EQ(initialized_data, 0x1234abcdUL);
    KASSERT(ADDRESS(&initialized_data) >= ADDRESS(__data_start) && ADDRESS(&initialized_data) < ADDRESS(__data_end));
}

KTEST(boot, sections_are_ordered_and_inside_the_image)
{
    KASSERT_EQ(ADDRESS(__image_start), ADDRESS(__text_start));
    KASSERT_LT(ADDRESS(__text_start), ADDRESS(__text_end));
    KASSERT_LE(ADDRESS(__text_end), ADDRESS(__rodata_start));
    KASSERT_LE(ADDRESS(__rodata_start), ADDRESS(__rodata_end));
    KASSERT_LE(ADDRESS(__rodata_end), ADDRESS(__data_start));
    KASSERT_LE(ADDRESS(__data_start), ADDRESS(__data_end));
    KASSERT_LE(ADDRESS(__data_end), ADDRESS(__bss_start));
    KASSERT_LE(ADDRESS(__bss_start), ADDRESS(__bss_end));
    KASSERT_LE(ADDRESS(__bss_end), ADDRESS(__stacks_start));
    KASSERT_EQ(ADDRESS(__stacks_end) - ADDRESS(__stacks_start), (uintptr_t)STACK_SLOT_BYTES * RVMEM_MAX_HARTS);
    KASSERT_LE(ADDRESS(__stacks_end), ADDRESS(__image_end));
    KASSERT_EQ(ADDRESS(__image_end) % 4096, 0);
    /* W^X needs page boundaries between sections of different permissions (linker.ld). */
    KASSERT_EQ(ADDRESS(__rodata_start) % 4096, 0);
    KASSERT_EQ(ADDRESS(__data_start) % 4096, 0);
    KASSERT_EQ(ADDRESS(__bss_start) % 4096, 0);
    KASSERT_EQ(ADDRESS(__stacks_start) % 4096, 0);
}

/* The boot hart (it runs whatever its node says) and the other usable harts of the tree, capped by the build. */
static unsigned usable_harts_in_device_tree(void)
{
    static struct fdt_cpu cpus[64];
    int count = fdt_cpus(boot_device_tree(), cpus, 64);
    unsigned usable = 1;
    for (int i = 0; i < count && i < 64; i++)
        usable += cpus[i].hartid != harts[0].hartid && fdt_cpu_usable_for_smode(&cpus[i]);
    return usable < RVMEM_MAX_HARTS ? usable : RVMEM_MAX_HARTS;
}

KTEST(boot, every_usable_hart_reported_in_exactly_once)
{
    KASSERT_EQ(hart_count(), usable_harts_in_device_tree());
    for (unsigned index = 0; index < hart_count(); index++) {
        KASSERT(harts[index].online);
        KASSERT_EQ(harts[index].report_count, 1UL);
        KASSERT_EQ(harts[index].index, index);
        for (unsigned other = 0; other < index; other++)
            KASSERT_NE(harts[other].hartid, harts[index].hartid);
    }
}

KTEST(boot, each_hart_started_on_its_own_stack)
{
    for (unsigned index = 0; index < hart_count(); index++) {
        uintptr_t sp = harts[index].boot_stack_pointer;
        KASSERT_GT(sp, stack_bottom(index));
        KASSERT_LE(sp, stack_top(index));
        KASSERT(stack_guard_intact(index));
    }
}

KTEST_SMP(boot, each_hart_runs_on_its_own_stack_and_tp)
{
    unsigned self = ktest_hart_index();
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    KASSERT_PTR_EQ(hart_current(), &harts[self]);
    KASSERT_GT(sp, stack_bottom(self));
    KASSERT_LE(sp, stack_top(self));
}

static unsigned long harts_that_ran_the_job;

static void count_this_hart(void)
{
    __atomic_add_fetch(&harts_that_ran_the_job, 1, __ATOMIC_RELAXED);
}

extern char _start[], secondary_start[];

/*
 * Stops the last hart and starts it again at entry with a1 = the device tree's address, as
 * OpenSBI 1.1's hart_start does when it races (kernel/platform/hart.h, struct hart_start_request). The
 * hart must still become the logical hart it was started as, on its own stack, say that its
 * start raced, and take jobs like the others.
 */
static void restart_as_if_raced(uintptr_t entry)
{
    if (hart_count() < 2) {
        ktest_skip("one hart: none to restart");
        return;
    }
    unsigned index = hart_count() - 1;
    unsigned long hartid = harts[index].hartid;
    int error = smp_restart_hart(index, entry, (uintptr_t)boot_device_tree());
    if (error == -E_NOSYS) {
        ktest_skip("the firmware cannot stop a hart (no HSM hart_stop)");
        return;
    }
    if (error == -E_TIMEDOUT) /* the hart is lost: every later job on all harts would wait for it forever */
        panic("boot test: hart %u (hartid %lu) never came back from %p", index, hartid, (void *)entry);
    KASSERT_EQ(error, 0);
    KASSERT(harts[index].online);
    KASSERT_EQ(harts[index].report_count, 1UL);
    KASSERT(harts[index].start_raced);
    KASSERT_EQ(harts[index].hartid, hartid);
    KASSERT_EQ(harts[index].index, index);
    KASSERT_GT(harts[index].boot_stack_pointer, stack_bottom(index));
    KASSERT_LE(harts[index].boot_stack_pointer, stack_top(index));
    __atomic_store_n(&harts_that_ran_the_job, 0, __ATOMIC_RELAXED);
    run_on_all_harts(count_this_hart);
    KASSERT_EQ(__atomic_load_n(&harts_that_ran_the_job, __ATOMIC_RELAXED), (unsigned long)hart_count());
}

/* The stale address: the hart arrives at _start, where the boot hart already went. */
KTEST(boot, hart_sent_to_the_boot_entry_by_hart_start_comes_back_as_itself)
{
    restart_as_if_raced((uintptr_t)_start);
}

/* The stale argument only (new address seen, old a1): secondary_start gets a bad index. */
KTEST(boot, hart_started_with_a_stale_argument_comes_back_as_itself)
{
    restart_as_if_raced((uintptr_t)secondary_start);
}

KTEST(trap, expected_traps_are_caught_and_named)
{
    uintptr_t cause = 0, value = 0;
    trap_expect_begin();
    __asm__ volatile("ebreak");
    KASSERT(trap_expect_end(&cause, &value));
    KASSERT_EQ(cause, 3);
    KASSERT_STR_EQ(trap_cause_name(cause), "breakpoint");

    trap_expect_begin();
    __asm__ volatile("unimp");
    KASSERT(trap_expect_end(&cause, &value));
    KASSERT_EQ(cause, 2);
    KASSERT_STR_EQ(trap_cause_name(cause), "illegal instruction");

    trap_expect_begin();
    KASSERT(!trap_expect_end(&cause, &value));
}

KTEST(trap, cause_names)
{
    KASSERT_STR_EQ(trap_cause_name(13), "load page fault");
    KASSERT_STR_EQ(trap_cause_name(((uintptr_t)1 << (__riscv_xlen - 1)) | 5), "supervisor timer interrupt");
    KASSERT_STR_EQ(trap_cause_name(11), "unknown cause");
    KASSERT_STR_EQ(trap_cause_name(1000), "unknown cause");
}

/* Run only by `make test`'s crash check: must end the run with a crash report and exit 3. */
KTEST_EXPLICIT(crash, illegal_instruction)
{
    __asm__ volatile("unimp");
    ktest_fail(__FILE__, __LINE__, "an illegal instruction returned");
}

/* Is [start, end) disjoint from every usable range? */
static bool outside_usable(const struct memmap *map, uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < map->usable_count; i++)
        if (start < map->usable[i].end && map->usable[i].start < end)
            return false;
    return true;
}

KTEST(boot, memory_map_excludes_image_device_tree_and_firmware)
{
    const struct memmap *map = boot_memory_map();
    const struct fdt *fdt = boot_device_tree();
    KASSERT_GT(map->usable_count, 0u);
    KASSERT(outside_usable(map, ADDRESS(__image_start), ADDRESS(__image_end)));
    uint64_t blob = (uint64_t)(uintptr_t)fdt->blob;
    KASSERT(outside_usable(map, blob, blob + fdt_total_bytes(fdt)));
    struct fdt_reserved_region regions[8];
    int count = fdt_reserved_regions(fdt, regions, 8);
    for (int i = 0; i < count && i < 8; i++)
        KASSERT(outside_usable(map, regions[i].address, regions[i].address + regions[i].size));
    struct fdt_range memreserve[8];
    int memreserve_count = fdt_memreserve_ranges(fdt, memreserve, 8);
    for (int i = 0; i < memreserve_count && i < 8; i++)
        KASSERT(outside_usable(map, memreserve[i].address, memreserve[i].address + memreserve[i].size));
    /* The firmware reserves its own region: OpenSBI under /reserved-memory, firmware/ with /memreserve/. */
    KASSERT_GE(count + memreserve_count, 1);
    for (unsigned i = 0; i < map->usable_count; i++) {
        KASSERT_EQ(map->usable[i].start % PAGE_SIZE, 0u);
        KASSERT_EQ(map->usable[i].end % PAGE_SIZE, 0u);
    }
    /*
     * Everything not excluded is usable: RAM minus the exclusions (clipped to RAM), less at
     * most two partial pages per usable piece. Holds for any RAM size the device tree gives.
     */
    uint64_t ram = 0, excluded = 0;
    for (unsigned i = 0; i < map->ram_count; i++) {
        ram += map->ram[i].end - map->ram[i].start;
        for (unsigned j = 0; j < map->excluded_count; j++) {
            uint64_t start = map->excluded[j].start > map->ram[i].start ? map->excluded[j].start : map->ram[i].start;
            uint64_t end = map->excluded[j].end < map->ram[i].end ? map->excluded[j].end : map->ram[i].end;
            excluded += end > start ? end - start : 0;
        }
    }
    uint64_t rounding = 2 * PAGE_SIZE * (uint64_t)map->usable_count;
    KASSERT_LT(memmap_usable_bytes(map), ram);
    KASSERT_GE(memmap_usable_bytes(map) + excluded + rounding, ram);
}
