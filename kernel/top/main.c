/*
 * kernel/top/main.c - the boot hart's C entry: the machine's set-up (kernel/top/boot.c), then the
 * mode the bootargs ask for (mode=run, mode=tour, mode=test tests=FILTER, mode=bench benches=FILTER).
 *
 * The top of the layers: it starts the platform and hands the machine to the monitor, the
 * tour, the test runner or the benchmarks.
 */
#include "kernel/base/errors.h"
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
#include "kernel/mm/pages.h"
#include "kernel/proc/programs.h"
#include "kernel/proc/sched.h"
#include "kernel/top/boot.h"
#include "kernel/top/monitor.h"
#include "kernel/top/paging.h"
#include "kernel/top/tour.h"
#include "tests/harness/kbench.h"
#include "tests/harness/ktest.h"

#define RVMEM_VERSION "0.1.0"
/* Room for a tests= or benches= filter: a longer one stops the boot (never a cut filter). */
#define FILTER_BYTES 256

/* The modes mode= selects; no mode is run. One table: the dispatch and the error message read it. */
enum boot_mode { MODE_RUN, MODE_TOUR, MODE_TEST, MODE_BENCH, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {
    [MODE_RUN] = "run", [MODE_TOUR] = "tour", [MODE_TEST] = "test", [MODE_BENCH] = "bench"};

static void print_banner(unsigned long hartid, const void *device_tree)
{
    const struct sbi_info *sbi = sbi_info();
    kprintf("\nrvmem %s - a memory runtime for RISC-V\n", RVMEM_VERSION);
    kprintf("  firmware: %s %lu.%lu, SBI spec %lu.%lu (HSM %s, SRST %s, TIME %s, RFENCE %s)\n",
            sbi_implementation_name(sbi->implementation_id), sbi->implementation_version >> 16,
            sbi->implementation_version & 0xffff, sbi->spec_version >> 24, sbi->spec_version & 0xffffff,
            sbi->has_hsm ? "yes" : "no", sbi->has_srst ? "yes" : "no", sbi->has_time ? "yes" : "no",
            sbi->has_rfence ? "yes" : "no");
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
    /* Whole, however long: kprintf cuts lines at 255 bytes. */
    kprintf("  bootargs: \"");
    console_write(boot_arguments(), strlen(boot_arguments()));
    kprintf("\"\n");
}

/* The value of key into value; stops the boot when it does not fit (a cut filter selects other tests). */
static void filter_from_bootargs(const char *key, char *value, size_t size)
{
    if (bootargs_get(boot_arguments(), key, value, size) == -E_RANGE) {
        const char *start;
        int length = bootargs_find(boot_arguments(), key, &start);
        panic("bootargs: the value of %s= is %d bytes; at most %u fit", key, length, (unsigned)(size - 1));
    }
}

static int run_tests(void)
{
    char filter[FILTER_BYTES];
    filter_from_bootargs("tests", filter, sizeof filter);
    int failed = ktest_run_all(filter);
    return failed ? EXIT_TEST_FAILED : EXIT_PASS;
}

static int run_benchmarks(void)
{
    char filter[FILTER_BYTES];
    filter_from_bootargs("benches", filter, sizeof filter);
    return kbench_run_all(filter) == 0 ? EXIT_PASS : EXIT_BENCH_FAILED;
}

static int run_interactive(void)
{
    return monitor_main();
}

/* The mode the bootargs name (none: run). Stops the boot, listing every mode, for any other. */
static enum boot_mode mode_from_bootargs(void)
{
    const char *value;
    int length = bootargs_find(boot_arguments(), "mode", &value);
    if (length <= 0)
        return MODE_RUN;
    for (unsigned mode = 0; mode < MODE_COUNT; mode++)
        if (strlen(mode_names[mode]) == (size_t)length && strncmp(mode_names[mode], value, (size_t)length) == 0)
            return (enum boot_mode)mode;
    char expected[64];
    size_t used = 0;
    for (unsigned mode = 0; mode < MODE_COUNT && used < sizeof expected; mode++)
        used += (size_t)ksnprintf(expected + used, sizeof expected - used, "%s%s", mode ? ", " : "", mode_names[mode]);
    panic("unknown mode \"%.*s\" in bootargs (expected one of: %s)", length, value, expected);
}

/*
 * The pages the kernel keeps from programs: a 32nd of RAM, at least PROGRAM_RESERVE_MIN_PAGES (a
 * program that grows its heap until memory runs out gets -E_NOMEM or is killed, and the kernel goes
 * on with these).
 */
#define PROGRAM_RESERVE_MIN_PAGES 256

/* User programs: on every hart once they have all started, where paging is on (they need it). */
static void start_programs(void)
{
    if (!paging_on()) {
        kprintf("  programs: off (they need paging, which is off: %s)\n", paging_off_reason());
        return;
    }
    unsigned long reserve = kernel_pages()->total_pages / 32;
    if (reserve < PROGRAM_RESERVE_MIN_PAGES)
        reserve = PROGRAM_RESERVE_MIN_PAGES;
    sched_start(paging_kernel_space(), reserve);
    kprintf("  programs: %u embedded, up to %u processes, %lu pages kept for the kernel\n",
            (unsigned)user_program_count, (unsigned)PROCESS_MAX, reserve);
}

void boot_main(unsigned long hartid, const void *device_tree) __attribute__((noreturn));

void boot_main(unsigned long hartid, const void *device_tree)
{
    hart_boot_report_in(hartid);
    boot_open_platform(device_tree);
    print_banner(hartid, device_tree);
    boot_find_memory(paging_choose());
    paging_start();

    unsigned online = smp_start_harts(boot_device_tree(), hartid);
    kprintf("  harts: %u online\n", online);
    smp_print_harts();
    start_programs();

    int code = EXIT_PASS;
    switch (mode_from_bootargs()) {
    case MODE_RUN: code = run_interactive(); break;
    case MODE_TOUR: code = tour_run() == 0 ? EXIT_PASS : EXIT_TEST_FAILED; break;
    case MODE_TEST: code = run_tests(); break;
    case MODE_BENCH: code = run_benchmarks(); break;
    case MODE_COUNT: break;
    }
    stack_check("end of run");
    stack_print_usage(hart_count());
    kprintf("rvmem: exit %d\n", code);
    power_exit(code);
}
