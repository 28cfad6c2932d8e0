/*
 * kernel/top/main.c - the boot hart's C entry: platform set-up, then the mode the
 * bootargs ask for (mode=run, mode=test tests=FILTER, mode=bench benches=FILTER).
 *
 * This is the one file above every layer: it starts the platform and hands the
 * machine to the test runner, the benchmarks or the interactive run.
 */
#include "kernel/top/boot.h"
#include "kernel/platform/bootargs.h"
#include "kernel/platform/console.h"
#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/platform/hart.h"
#include "kernel/mm/memmap.h"
#include "kernel/top/monitor.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/base/platform.h"
#include "kernel/platform/power.h"
#include "kernel/base/printf.h"
#include "kernel/platform/sbi.h"
#include "kernel/platform/stack.h"
#include "kernel/base/string.h"
#include "kernel/top/tour.h"
#include "kernel/top/malloc_binding.h"
#include "tests/harness/kbench.h"
#include "tests/harness/ktest.h"

#define RVMEM_VERSION "0.1.0"
#define BOOTARGS_MAX 256
/* Largest device tree accepted; real boards' trees are tens of KiB. */
#define DEVICE_TREE_MAX_BYTES (2u << 20)

void hart_boot_report_in(unsigned long hartid);

extern char __image_start[], __image_end[];

static struct fdt boot_fdt;
static struct memmap memory_map;
static char bootargs[BOOTARGS_MAX];

const struct fdt *boot_device_tree(void)
{
    return &boot_fdt;
}

const struct memmap *boot_memory_map(void)
{
    return &memory_map;
}

const char *boot_arguments(void)
{
    return bootargs;
}

static void find_memory(void)
{
    int usable = memmap_from_fdt(&memory_map, &boot_fdt, (uintptr_t)__image_start, (uintptr_t)__image_end);
    if (usable < 0)
        panic("device tree: cannot build the memory map: %s", fdt_strerror(usable));
    if (usable == 0)
        panic("device tree: no usable RAM left after the exclusions");
    memmap_print(&memory_map);
    uint64_t heap_max = 0;
    if (bootargs_get_bytes(bootargs, "heap_max", &heap_max) == -E_INVAL)
        panic("bootargs: heap_max must be a byte count such as 64M");
    pages_init(&memory_map, (uintptr_t)__image_end, heap_max);
    malloc_kernel_init();
    struct buddy_stats stats;
    buddy_get_stats(kernel_pages(), &stats);
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    kprintf("  pages: %lu free of %lu (4 KiB each; allocator metadata %lu bytes)\n", stats.free_pages,
            stats.total_pages, stats.metadata_bytes);
    kprintf("  heap: starts at %p (just above the image), may grow to %p\n", (void *)heap.start, (void *)heap.limit);
}

static void print_banner(unsigned long hartid, const void *device_tree)
{
    const struct sbi_info *sbi = sbi_info();
    kprintf("\nrvmem %s - a memory runtime for RISC-V\n", RVMEM_VERSION);
    kprintf("  firmware: %s %lu.%lu, SBI spec %lu.%lu (HSM %s, SRST %s, TIME %s)\n",
            sbi_implementation_name(sbi->implementation_id), sbi->implementation_version >> 16,
            sbi->implementation_version & 0xffff, sbi->spec_version >> 24, sbi->spec_version & 0xffffff,
            sbi->has_hsm ? "yes" : "no", sbi->has_srst ? "yes" : "no", sbi->has_time ? "yes" : "no");
    const char *model = "unknown";
    fdt_property_string(&boot_fdt, fdt_node_by_path(&boot_fdt, "/"), "model", &model);
    kprintf("  model: %s\n", model);
    kprintf("  boot hart: hartid %lu; device tree at %p (%u bytes)\n", hartid, device_tree,
            (unsigned)fdt_total_bytes(&boot_fdt));
    kprintf("  console: %s\n", console_description());
    kprintf("  exit: %s\n", power_description());
    uint64_t timebase = 0;
    if (fdt_timebase_frequency(&boot_fdt, &timebase) == 0)
        kprintf("  timebase: %llu Hz\n", (unsigned long long)timebase);
    kprintf("  stack: %u bytes per hart, MAX_HARTS %u\n", (unsigned)RVMEM_STACK_SIZE, (unsigned)RVMEM_MAX_HARTS);
    kprintf("  bootargs: \"%s\"\n", bootargs);
}

static int run_tests(void)
{
    char filter[BOOTARGS_MAX];
    bootargs_get(bootargs, "tests", filter, sizeof filter);
    int failed = ktest_run_all(filter);
    return failed ? EXIT_TEST_FAILED : EXIT_PASS;
}

static int run_benchmarks(void)
{
    char filter[BOOTARGS_MAX];
    bootargs_get(bootargs, "benches", filter, sizeof filter);
    return kbench_run_all(filter) == 0 ? EXIT_PASS : EXIT_BENCH_FAILED;
}

static int run_interactive(void)
{
    return monitor_main();
}

void boot_main(unsigned long hartid, const void *device_tree) __attribute__((noreturn));

void boot_main(unsigned long hartid, const void *device_tree)
{
    hart_boot_report_in(hartid);
    if (sbi_init() != 0)
        panic("the firmware has no SBI BASE extension (SBI >= 0.2 needed)");
    int error = fdt_open(&boot_fdt, device_tree, DEVICE_TREE_MAX_BYTES);
    if (error)
        panic("device tree at %p is unusable: %s (%s)", device_tree, fdt_strerror(error),
              boot_fdt.invalid_reason ? boot_fdt.invalid_reason : "?");
    console_init(&boot_fdt);
    power_init(&boot_fdt);
    const char *chosen_bootargs = "";
    fdt_chosen_bootargs(&boot_fdt, &chosen_bootargs);
    ksnprintf(bootargs, sizeof bootargs, "%s", chosen_bootargs);
    print_banner(hartid, device_tree);
    find_memory();

    unsigned online = smp_start_harts(&boot_fdt, hartid);
    kprintf("  harts: %u online\n", online);
    smp_print_harts();

    char mode[16];
    bootargs_get(bootargs, "mode", mode, sizeof mode);
    int code;
    if (strcmp(mode, "test") == 0)
        code = run_tests();
    else if (strcmp(mode, "bench") == 0)
        code = run_benchmarks();
    else if (mode[0] == '\0' || strcmp(mode, "run") == 0)
        code = run_interactive();
    else if (strcmp(mode, "tour") == 0)
        code = tour_run() == 0 ? EXIT_PASS : EXIT_TEST_FAILED;
    else
        panic("unknown mode \"%s\" in bootargs (expected run, test or bench)", mode);
    stack_check("end of run");
    stack_print_usage();
    kprintf("rvmem: exit %d\n", code);
    power_exit(code);
}
