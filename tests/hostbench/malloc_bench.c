/*
 * tests/hostbench/malloc_bench.c - the malloc workloads as a host program, for callgrind and the clock.
 *
 * Host only (not part of the kernel or the host test binary): `make host-bench` builds it as
 * build/malloc-bench, optimized and without sanitizers, calling the C library's malloc and free.
 * Run as it is, that is glibc's allocator; run with LD_PRELOAD of rvmem's shared library, the
 * same binary calls rvmem's. tools/bench_host.py runs it both ways under
 * `valgrind --tool=callgrind` (instructions inside malloc and free) and on the clock.
 *
 * Usage: malloc-bench [--repeat N] [--footprint] WORKLOAD...   (WORKLOAD: pair, simple16,
 *        larson, zstress, sweep, or all)
 * Prints one line per workload:
 *   workload NAME allocator A mallocs N frees N peak_live_bytes N peak_heap_span N best_seconds S
 * allocator is "rvmem" when rvmem_malloc_stats is present in the process (preloaded), else "libc".
 * --repeat runs each workload N times and reports the fastest; --footprint samples the heap span
 * after every malloc (rvmem: its statistics; glibc: mallinfo2's arena plus mmapped bytes), which
 * costs time, so timed runs leave it off. Exit status 0, or 1 when a workload fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/malloc.h"
#include "tests/malloc_workloads.h"

static void (*rvmem_stats)(struct malloc_stats *out);

static size_t rvmem_peak_span(void)
{
    struct malloc_stats stats;
    rvmem_stats(&stats);
    return stats.peak_heap_span_bytes;
}

static size_t glibc_span(void)
{
    struct mallinfo2 info = mallinfo2();
    return info.arena + info.hblkhd;
}

/* Calls through these, not through &malloc: the compiler may not see through them. */
static void *call_malloc(size_t bytes)
{
    return malloc(bytes);
}

static void call_free(void *block)
{
    free(block);
}

static double now_seconds(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

static struct malloc_slot slots[MALLOC_WORKLOAD_MAX_SLOTS];

static int run_workload(const char *name, const struct malloc_table *table, unsigned repeat, int footprint)
{
    malloc_workload_fn workload = malloc_workload_by_name(name);
    if (!workload) {
        fprintf(stderr, "malloc-bench: unknown workload \"%s\"\n", name);
        return 1;
    }
    struct malloc_workload_run run = {.table = table, .sample_heap_span = footprint, .slots = slots};
    double best = 0;
    for (unsigned i = 0; i < repeat; i++) {
        double start = now_seconds();
        int error = workload(&run);
        double elapsed = now_seconds() - start;
        if (error) {
            fprintf(stderr, "malloc-bench: %s failed with error %d\n", name, error);
            return 1;
        }
        if (i == 0 || elapsed < best)
            best = elapsed;
    }
    printf("workload %s allocator %s mallocs %llu frees %llu peak_live_bytes %llu peak_heap_span %llu "
           "best_seconds %.6f\n",
           name, table->name, (unsigned long long)run.result.mallocs, (unsigned long long)run.result.frees,
           (unsigned long long)run.result.peak_live_bytes, (unsigned long long)run.result.peak_heap_span, best);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned repeat = 1;
    int footprint = 0, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--repeat") == 0 && first + 1 < argc)
            repeat = (unsigned)strtoul(argv[++first], NULL, 10);
        else if (strcmp(argv[first], "--footprint") == 0)
            footprint = 1;
        else
            break;
    }
    if (first >= argc || repeat == 0) {
        fprintf(stderr, "usage: malloc-bench [--repeat N] [--footprint] WORKLOAD... (or all)\n");
        return 2;
    }
    *(void **)&rvmem_stats = dlsym(RTLD_DEFAULT, "rvmem_malloc_stats");
    struct malloc_table table = {rvmem_stats ? "rvmem" : "libc", call_malloc, call_free,
                                 rvmem_stats ? rvmem_peak_span : glibc_span};
    int failed = 0;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "all") == 0) {
            for (unsigned w = 0; malloc_workload_names[w]; w++)
                failed |= run_workload(malloc_workload_names[w], &table, repeat, footprint);
        } else {
            failed |= run_workload(argv[i], &table, repeat, footprint);
        }
    }
    return failed;
}
