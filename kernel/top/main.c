/*
 * kernel/top/main.c - the boot hart's C entry: the machine's set-up (kernel/top/boot.c), then the
 * mode the bootargs ask for (mode=run, mode=tour, mode=test tests=FILTER, mode=bench benches=FILTER).
 *
 * The top of the layers: it starts the platform and hands the machine to the monitor, the
 * tour, the test runner or the benchmarks.
 */
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/platform/bootargs.h"
#include "kernel/platform/console.h"
#include "kernel/platform/fdt.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/power.h"
#include "kernel/platform/sbi.h"
#include "kernel/platform/stack.h"
#include "kernel/top/boot.h"
#include "kernel/top/monitor.h"
#include "kernel/top/tour.h"
#include "tests/harness/kbench.h"
#include "tests/harness/ktest.h"

#define RVMEM_VERSION "0.1.0"
#define BOOTARGS_MAX 256

static void print_banner(unsigned long hartid, const void *device_tree)
{
    const struct sbi_info *sbi = sbi_info();
    kprintf("\nrvmem %s - a memory runtime for RISC-V\n", RVMEM_VERSION);
    kprintf("  firmware: %s %lu.%lu, SBI spec %lu.%lu (HSM %s, SRST %s, TIME %s)\n",
            sbi_implementation_name(sbi->implementation_id), sbi->implementation_version >> 16,
            sbi->implementation_version & 0xffff, sbi->spec_version >> 24, sbi->spec_version & 0xffffff,
            sbi->has_hsm ? "yes" : "no", sbi->has_srst ? "yes" : "no", sbi->has_time ? "yes" : "no");
    const char *model = "unknown";
    fdt_property_string(boot_device_tree(), fdt_node_by_path(boot_device_tree(), "/"), "model", &model);
    kprintf("  model: %s\n", model);
    kprintf("  boot hart: hartid %lu; device tree at %p (%u bytes)\n", hartid, device_tree,
            (unsigned)fdt_total_bytes(boot_device_tree()));
    kprintf("  console: %s\n", console_description());
    kprintf("  exit: %s\n", power_description());
    uint64_t timebase = 0;
    if (fdt_timebase_frequency(boot_device_tree(), &timebase) == 0)
        kprintf("  timebase: %llu Hz\n", (unsigned long long)timebase);
    kprintf("  stack: %u bytes per hart, MAX_HARTS %u\n", (unsigned)RVMEM_STACK_SIZE, (unsigned)RVMEM_MAX_HARTS);
    kprintf("  bootargs: \"%s\"\n", boot_arguments());
}

static int run_tests(void)
{
    char filter[BOOTARGS_MAX];
    bootargs_get(boot_arguments(), "tests", filter, sizeof filter);
    int failed = ktest_run_all(filter);
    return failed ? EXIT_TEST_FAILED : EXIT_PASS;
}

static int run_benchmarks(void)
{
    char filter[BOOTARGS_MAX];
    bootargs_get(boot_arguments(), "benches", filter, sizeof filter);
    return kbench_run_all(filter) == 0 ? EXIT_PASS : EXIT_BENCH_FAILED;
}

static int run_interactive(void)
{
    return monitor_main();
}

void boot_main(unsigned long hartid, const void *device_tree) __attribute__((noreturn));

void boot_main(unsigned long hartid, const void *device_tree) __attribute__((noreturn));

void boot_main(unsigned long hartid, const void *device_tree)
{
    hart_boot_report_in(hartid);
    boot_open_platform(device_tree);
    print_banner(hartid, device_tree);
    boot_find_memory();

    unsigned online = smp_start_harts(boot_device_tree(), hartid);
    kprintf("  harts: %u online\n", online);
    smp_print_harts();

    char mode[16];
    bootargs_get(boot_arguments(), "mode", mode, sizeof mode);
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
    stack_print_usage(hart_count());
    kprintf("rvmem: exit %d\n", code);
    power_exit(code);
}
