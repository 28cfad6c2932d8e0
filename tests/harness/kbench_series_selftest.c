/*
 * tests/harness/kbench_series_selftest.c - tests of the benchmark series statistics (tests/harness/kbench_series.c).
 *
 * Kernel only, like the series (it shares tests/harness/kbench.h's summary). Checks the mean, p50, p99
 * and max on known samples, samples beyond the exact buckets, and what happens when the list of
 * large samples is full (mean and max stay exact, percentiles are never understated).
 */
#include "tests/harness/kbench_series.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

/* A series is about 80 KiB: a test arena (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena series_space = KTEST_ARENA(sizeof(struct kbench_series), sizeof(uint64_t));

KTEST(kbench_series, percentiles_of_one_to_hundred)
{
    struct kbench_series *series = ktest_arena_memory(&series_space);
    KASSERT_NOT_NULL(series);
    kbench_series_reset(series);
    for (uint64_t value = 100; value >= 1; value--)
        kbench_series_add(series, value);
    struct kbench_summary summary = kbench_series_summary(series);
    KASSERT_EQ(summary.n, 100);
    KASSERT_EQ(summary.mean_hundredths, 5050);
    KASSERT_EQ(summary.p50, 50);
    KASSERT_EQ(summary.p99, 99);
    KASSERT_EQ(summary.max, 100);
}

KTEST(kbench_series, large_samples_are_exact)
{
    struct kbench_series *series = ktest_arena_memory(&series_space);
    KASSERT_NOT_NULL(series);
    kbench_series_reset(series);
    for (unsigned i = 0; i < 98; i++)
        kbench_series_add(series, 10);
    kbench_series_add(series, KBENCH_SERIES_EXACT + 7);
    kbench_series_add(series, KBENCH_SERIES_EXACT + 3);
    struct kbench_summary summary = kbench_series_summary(series);
    KASSERT_EQ(summary.p50, 10);
    KASSERT_EQ(summary.p99, KBENCH_SERIES_EXACT + 3);
    KASSERT_EQ(summary.max, KBENCH_SERIES_EXACT + 7);
    KASSERT_EQ(series->large_dropped, 0);
}

KTEST(kbench_series, full_large_list_overstates_never_understates)
{
    struct kbench_series *series = ktest_arena_memory(&series_space);
    KASSERT_NOT_NULL(series);
    kbench_series_reset(series);
    for (unsigned i = 0; i < KBENCH_SERIES_LARGE; i++)
        kbench_series_add(series, KBENCH_SERIES_EXACT + 100);
    kbench_series_add(series, KBENCH_SERIES_EXACT + 1); /* dropped: the list is full */
    kbench_series_add(series, KBENCH_SERIES_EXACT + 500);
    struct kbench_summary summary = kbench_series_summary(series);
    KASSERT_EQ(series->large_dropped, 2);
    KASSERT_EQ(summary.n, KBENCH_SERIES_LARGE + 2);
    KASSERT_EQ(summary.max, KBENCH_SERIES_EXACT + 500);
    KASSERT_GE(summary.p99, KBENCH_SERIES_EXACT + 100);
    uint64_t total = (uint64_t)KBENCH_SERIES_LARGE * (KBENCH_SERIES_EXACT + 100) + 2 * KBENCH_SERIES_EXACT + 501;
    KASSERT_EQ(summary.mean_hundredths, (total * 100 + summary.n / 2) / summary.n);
}
