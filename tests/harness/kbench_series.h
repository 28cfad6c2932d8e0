/*
 * tests/harness/kbench_series.h - statistics over more samples than kbench keeps (mean, p50, p99, max).
 *
 * kbench keeps 8192 samples per benchmark; a malloc workload makes up to ~150,000 calls of
 * several kinds. A series counts samples in a histogram with one exact bucket per instruction
 * count below KBENCH_SERIES_EXACT, and keeps the larger ones (page refills) in a list of
 * KBENCH_SERIES_LARGE entries, so mean, max and percentiles are exact. When more large samples
 * come than the list holds, mean and max stay exact, the rest are counted in large_dropped and
 * the percentiles treat them as equal to max (so a p99 can only be overstated, never hidden).
 * A series is about 80 KiB: keep them in static storage. Not thread-safe: one hart.
 */
#ifndef RVMEM_TESTS_HARNESS_KBENCH_SERIES_H
#define RVMEM_TESTS_HARNESS_KBENCH_SERIES_H

#include <stdint.h>

#include "tests/harness/kbench.h"

#define KBENCH_SERIES_EXACT 16384
#define KBENCH_SERIES_LARGE 4096

struct kbench_series {
    uint64_t n, total, max;
    uint32_t exact[KBENCH_SERIES_EXACT];
    uint32_t large[KBENCH_SERIES_LARGE];
    uint32_t large_count, large_dropped;
};

/* Empties a series. */
void kbench_series_reset(struct kbench_series *series);

/* Adds one sample. O(1). */
void kbench_series_add(struct kbench_series *series, uint64_t instructions);

/* The series' n, mean, p50, p99 and max (sorts its large samples). */
struct kbench_summary kbench_series_summary(struct kbench_series *series);

#endif
