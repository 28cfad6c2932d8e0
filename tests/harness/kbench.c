/*
 * tests/harness/kbench.c - the benchmark runner: calibration, samples, statistics, table, JSON.
 */
#include "tests/harness/kbench.h"
#include "kernel/base/platform.h"

#include <stdbool.h>

#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

extern const struct kbench __start_kbenches[], __stop_kbenches[];

#define MAX_SAMPLES 8192

static uint64_t samples[MAX_SAMPLES];
static unsigned sample_count;
static unsigned long dropped_samples;
static uint64_t measurement_overhead;
static unsigned failures;
static bool skipped;
static const char *running_name;

void kbench_record(uint64_t instructions)
{
    if (sample_count < MAX_SAMPLES)
        samples[sample_count++] = instructions;
    else
        dropped_samples++;
}

void kbench_stop(uint64_t start)
{
    uint64_t end = instructions_retired();
    uint64_t elapsed = end - start;
    kbench_record(elapsed > measurement_overhead ? elapsed - measurement_overhead : 0);
}

void kbench_fail(const char *why)
{
    kprintf("# BENCHMARK FAILED: %s: %s\n", running_name, why);
    failures++;
}

void kbench_skip(const char *why)
{
    kprintf("# %s: skipped: %s\n", running_name, why);
    skipped = true;
}

uint64_t kbench_overhead(void)
{
    return measurement_overhead;
}

/* The smallest cost of an empty start/stop pair (the same every time under -icount). */
static void calibrate(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 64; i++) {
        uint64_t start = instructions_retired();
        uint64_t end = instructions_retired();
        if (end - start < best)
            best = end - start;
    }
    measurement_overhead = best;
}

/* Heap sort: O(n log n) with no recursion and no extra memory. */
static void sift_down(uint64_t *values, unsigned root, unsigned count)
{
    for (;;) {
        unsigned child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && values[child + 1] > values[child])
            child++;
        if (values[root] >= values[child])
            return;
        uint64_t swap = values[root];
        values[root] = values[child];
        values[child] = swap;
        root = child;
    }
}

static void sort_samples(uint64_t *values, unsigned count)
{
    for (unsigned root = count / 2; root-- > 0;)
        sift_down(values, root, count);
    for (unsigned end = count; end-- > 1;) {
        uint64_t swap = values[0];
        values[0] = values[end];
        values[end] = swap;
        sift_down(values, 0, end);
    }
}

static struct kbench_summary summarize(void)
{
    struct kbench_summary summary = {0};
    summary.n = sample_count;
    if (sample_count == 0)
        return summary;
    uint64_t total = 0;
    for (unsigned i = 0; i < sample_count; i++)
        total += samples[i];
    sort_samples(samples, sample_count);
    summary.mean_hundredths = (total * 100 + sample_count / 2) / sample_count;
    summary.p50 = samples[(sample_count - 1) / 2];
    summary.p99 = samples[(sample_count * 99 + 99) / 100 - 1];
    summary.max = samples[sample_count - 1];
    return summary;
}

/* Rows reported by the running benchmark through kbench_report, and the budgets they missed. */
static unsigned reported_rows;
static int reported_exceeded;

/* Prints one row and its JSON line; returns the number of budgets it exceeds. */
static int print_row(const char *name, const struct kbench_summary *summary, const char *unit, uint32_t budget_mean,
                     uint32_t budget_max)
{
    unsigned long mean_whole = (unsigned long)(summary->mean_hundredths / 100);
    unsigned mean_fraction = (unsigned)(summary->mean_hundredths % 100);
    kprintf("%-36s %7lu %9lu.%02u %9lu %9lu %9lu\n", name, summary->n, mean_whole, mean_fraction,
            (unsigned long)summary->p50, (unsigned long)summary->p99, (unsigned long)summary->max);
    kprintf("BENCH_JSON {\"name\": \"%s\", \"n\": %lu, \"mean\": %lu.%02u, \"p50\": %lu, \"p99\": %lu, \"max\": %lu, "
            "\"unit\": \"%s\", \"budget_mean\": %u, \"budget_max\": %u}\n",
            name, summary->n, mean_whole, mean_fraction, (unsigned long)summary->p50, (unsigned long)summary->p99,
            (unsigned long)summary->max, unit, (unsigned)budget_mean, (unsigned)budget_max);
    int exceeded = 0;
    if (summary->n == 0) {
        kprintf("# %s: no samples recorded\n", name);
        exceeded++;
    }
    if (budget_mean && summary->mean_hundredths > (uint64_t)budget_mean * 100) {
        kprintf("# BUDGET EXCEEDED: %s mean %lu.%02u > %u\n", name, mean_whole, mean_fraction, (unsigned)budget_mean);
        exceeded++;
    }
    if (budget_max && summary->max > budget_max) {
        kprintf("# BUDGET EXCEEDED: %s max %lu > %u\n", name, (unsigned long)summary->max, (unsigned)budget_max);
        exceeded++;
    }
    return exceeded;
}

void kbench_report(const char *name, const struct kbench_summary *summary, const char *unit, uint32_t budget_mean,
                   uint32_t budget_max)
{
    reported_rows++;
    reported_exceeded += print_row(name, summary, unit, budget_mean, budget_max);
}

static int run_one(const struct kbench *bench)
{
    sample_count = 0;
    dropped_samples = 0;
    reported_rows = 0;
    reported_exceeded = 0;
    failures = 0;
    skipped = false;
    running_name = bench->name;
    bench->run();
    ktest_arenas_give_back();
    int exceeded = reported_exceeded + (int)failures;
    if (sample_count > 0 || (reported_rows == 0 && !skipped)) {
        struct kbench_summary summary = summarize();
        exceeded += print_row(bench->name, &summary, "instructions", bench->budget_mean, bench->budget_max);
    }
    if (dropped_samples)
        kprintf("# %s: %lu samples beyond the first %u were not kept\n", bench->name, dropped_samples, MAX_SAMPLES);
    return exceeded;
}

int kbench_run_all(const char *filter)
{
    calibrate();
    kprintf("\nbenchmarks: guest instructions per operation (rdinstret; exact under -icount shift=0)\n");
    kprintf("measurement overhead subtracted: %lu instructions\n", (unsigned long)measurement_overhead);
    kprintf("%-36s %7s %12s %9s %9s %9s\n", "operation", "n", "mean", "p50", "p99", "max");
    int exceeded = 0;
    size_t count = ((uintptr_t)__stop_kbenches - (uintptr_t)__start_kbenches) / sizeof(struct kbench);
    for (size_t index = 0; index < count; index++) {
        const struct kbench *bench = &__start_kbenches[index];
        if (ktest_glob_list_matches(filter, bench->name))
            exceeded += run_one(bench);
    }
    kprintf("BENCH_DONE %d budget(s) exceeded\n", exceeded);
    return exceeded;
}
