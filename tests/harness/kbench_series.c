/*
 * tests/harness/kbench_series.c - histogram statistics for long benchmarks (see tests/harness/kbench_series.h).
 */
#include "tests/harness/kbench_series.h"

#include "kernel/base/string.h"

void kbench_series_reset(struct kbench_series *series)
{
    memset(series, 0, sizeof *series);
}

void kbench_series_add(struct kbench_series *series, uint64_t instructions)
{
    series->n++;
    series->total += instructions;
    if (instructions > series->max)
        series->max = instructions;
    if (instructions < KBENCH_SERIES_EXACT)
        series->exact[instructions]++;
    else if (series->large_count < KBENCH_SERIES_LARGE)
        series->large[series->large_count++] = instructions > UINT32_MAX ? UINT32_MAX : (uint32_t)instructions;
    else
        series->large_dropped++;
}

/* Insertion sort: the large list is short and mostly filled in rising order. */
static void sort_large(uint32_t *values, uint32_t count)
{
    for (uint32_t i = 1; i < count; i++) {
        uint32_t value = values[i], j = i;
        for (; j > 0 && values[j - 1] > value; j--)
            values[j] = values[j - 1];
        values[j] = value;
    }
}

/* The sample of rank (0-based) in sorted order. */
static uint64_t sample_at_rank(const struct kbench_series *series, uint64_t rank)
{
    for (uint32_t value = 0; value < KBENCH_SERIES_EXACT; value++) {
        if (rank < series->exact[value])
            return value;
        rank -= series->exact[value];
    }
    if (rank < series->large_count)
        return series->large[rank];
    return series->max; /* a dropped large sample: at most max */
}

struct kbench_summary kbench_series_summary(struct kbench_series *series)
{
    struct kbench_summary summary = {0};
    summary.n = series->n;
    if (series->n == 0)
        return summary;
    sort_large(series->large, series->large_count);
    summary.mean_hundredths = (series->total * 100 + series->n / 2) / series->n;
    summary.p50 = sample_at_rank(series, (series->n - 1) / 2);
    summary.p99 = sample_at_rank(series, (series->n * 99 + 99) / 100 - 1);
    summary.max = series->max;
    return summary;
}
