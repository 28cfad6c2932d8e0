/*
 * tests/harness/kbench.h - deterministic benchmarks in guest instructions.
 *
 * Under QEMU with -icount shift=0, rdinstret counts guest instructions exactly, so a
 * benchmark's figures repeat bit for bit. A benchmark registers itself in the "kbenches"
 * section and measures each operation between kbench_start() and kbench_stop():
 *
 *     KBENCH(stack_frame_16B, 0, 0) {
 *         for (unsigned i = 0; i < 1000; i++) {
 *             uint64_t start = kbench_start();
 *             frame_16();
 *             kbench_stop(start);
 *         }
 *     }
 *
 * kbench_stop() subtracts the cost of the measurement itself (calibrated at start-up), so
 * a figure is the operation alone. The runner prints a table (name, n, mean, p50, p99, max)
 * and one "BENCH_JSON {...}" line per benchmark, which `make bench` gathers into
 * build/bench.json. A benchmark may carry budgets for its mean and max (0: none); a figure
 * above its budget is reported and makes the run fail.
 */
#ifndef RVMEM_TESTS_HARNESS_KBENCH_H
#define RVMEM_TESTS_HARNESS_KBENCH_H

#include <stdint.h>

#include "kernel/base/platform.h"

struct kbench {
    const char *name;
    void (*run)(void);
    uint32_t budget_mean; /* instructions; 0: no budget */
    uint32_t budget_max;  /* instructions; 0: no budget */
};

#define KBENCH(name_, budget_mean_, budget_max_)                                                                       \
    static void kbench_run_##name_(void);                                                                              \
    static const struct kbench kbench_entry_##name_                                                                    \
        __attribute__((used, section("kbenches"), aligned(sizeof(void *)))) = {#name_, kbench_run_##name_,             \
                                                                               (budget_mean_), (budget_max_)};         \
    static void kbench_run_##name_(void)

static inline uint64_t kbench_start(void)
{
    return instructions_retired();
}

/* Records one sample: instructions since start, minus the measurement's own cost. */
void kbench_stop(uint64_t start);

/* Records one sample measured some other way (already net of overhead). */
void kbench_record(uint64_t instructions);

/*
 * Fails the running benchmark (counted like an exceeded budget) and prints why: for a benchmark
 * that checks it measured what it meant to (e.g. that a sequence crossed the slow paths).
 */
void kbench_fail(const char *why);

/*
 * Says the running benchmark cannot measure on this machine (why: e.g. it needs two harts) and
 * reports nothing: no row of its own, no failure. Rows it reported anyway are still checked.
 */
void kbench_skip(const char *why);

/*
 * A figure a benchmark summarized itself (for one that reports several rows, e.g. one per kind of
 * call): printed as a row and a BENCH_JSON line with the given unit ("instructions",
 * "permille", ...), checked against its budgets (0: none) like a benchmark's own figures; a
 * miss counts towards kbench_run_all's result. A benchmark that reports rows and records no
 * samples of its own prints no row of its own. Call it only from a benchmark's run function.
 */
struct kbench_summary {
    unsigned long n;
    uint64_t mean_hundredths; /* mean * 100 */
    uint64_t p50, p99, max;
};
void kbench_report(const char *name, const struct kbench_summary *summary, const char *unit, uint32_t budget_mean,
                   uint32_t budget_max);

/* Instructions one kbench_start()/kbench_stop() pair costs with nothing between. */
uint64_t kbench_overhead(void);

/*
 * Runs every benchmark whose name matches filter (globs, see ktest_glob_list_matches; empty: all),
 * prints the table and the JSON lines. Returns the number of budgets exceeded.
 */
int kbench_run_all(const char *filter);

#endif
