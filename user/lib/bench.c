/*
 * user/lib/bench.c - the benchmark programs' meter and report line (see bench.h).
 */
#include "user/lib/bench.h"

#include "user/lib/runtime.h"

struct bench_meter bench_meter_start(void)
{
    uint64_t least = UINT64_MAX;
    for (unsigned i = 0; i < 100; i++) {
        uint64_t start = instructions_retired();
        uint64_t end = instructions_retired();
        if (end - start < least)
            least = end - start;
    }
    return (struct bench_meter){least};
}

/* Insertion sort: small counts, no allocation. */
static void sort(uint64_t *samples, unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        uint64_t value = samples[i];
        unsigned j = i;
        for (; j > 0 && samples[j - 1] > value; j--)
            samples[j] = samples[j - 1];
        samples[j] = value;
    }
}

void bench_report(const char *name, uint64_t *samples, unsigned count)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < count; i++)
        total += samples[i];
    sort(samples, count);
    printf("bench %s n=%u mean100=%llu p50=%llu p99=%llu max=%llu\n", name, count,
           (unsigned long long)(total * 100 / count), (unsigned long long)samples[count / 2],
           (unsigned long long)samples[count * 99 / 100], (unsigned long long)samples[count - 1]);
}
