/*
 * user/lib/bench.h - measuring an operation in instructions from U-mode, for the benchmark
 * programs (bench_syscalls, bench_malloc, bench_threads).
 *
 * rdinstret around the operation (instructions_retired, kernel/base/platform.h: the kernel lets
 * U-mode read it), less what two reads back to back cost. Counts are exact only under -icount
 * (make bench), and only for what runs on the measuring hart: the kernel's benchmark runs these
 * programs on one hart. A figure is printed as one line,
 *     bench NAME n=N mean100=M p50=A p99=B max=C
 * (mean100: the mean times 100), which the kernel's benchmark (tests/bench/user.c) turns into a row.
 */
#ifndef RVMEM_USER_LIB_BENCH_H
#define RVMEM_USER_LIB_BENCH_H

#include <stdint.h>

#include "kernel/base/platform.h"

/* What every sample holds besides the operation: the least cost of two reads back to back. */
struct bench_meter {
    uint64_t overhead;
};

/* Measures the meter's overhead (a hundred pairs of reads; the least). */
struct bench_meter bench_meter_start(void);

/* end - start less the meter's overhead (0 when that is more). */
static inline uint64_t bench_net(const struct bench_meter *meter, uint64_t start, uint64_t end)
{
    uint64_t spent = end - start;
    return spent > meter->overhead ? spent - meter->overhead : 0;
}

/* Sorts samples[0..count) (count >= 1) and prints its "bench NAME" line. O(count^2): small counts. */
void bench_report(const char *name, uint64_t *samples, unsigned count);

#endif
