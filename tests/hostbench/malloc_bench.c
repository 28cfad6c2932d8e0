/*
 * tests/hostbench/malloc_bench.c - the malloc workloads as a host program, for callgrind and the clock.
 *
 * Host only (not part of the kernel or the host test binary): `make bench-host` builds it as
 * build/malloc-bench, optimized and without sanitizers, calling the C library's malloc and free.
 * Run as it is, that is glibc's allocator; run with LD_PRELOAD of rvmem's shared library, the
 * same binary calls rvmem's. tools/bench_host.py runs it both ways under
 * `valgrind --tool=callgrind` (instructions inside malloc and free) and on the clock.
 *
 * Usage: malloc-bench [--repeat N] [--footprint] WORKLOAD...   (WORKLOAD: pair, simple16,
 *        larson, zstress, sweep, or all)
 * Prints one line per workload:
 *   workload NAME allocator A mallocs N frees N peak_live_bytes N peak_resident_growth N best_seconds S
 * allocator is the file name of the object whose malloc the process calls (libc.so.6, or rvmem's
 * librvmem_malloc.so when preloaded). --repeat runs each workload N times and reports the fastest.
 * --footprint measures what the allocator costs the machine, the same way for any allocator: the
 * process's peak resident memory (VmHWM) minus its resident memory before the workload (VmRSS,
 * with the workload's own arrays already touched), with every byte of every block written so that
 * its pages are resident; run one workload per process for it.
 * Exit status 0, or 1 when a workload fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/malloc_workloads.h"

/* A field of /proc/self/status in bytes (VmRSS: resident now; VmHWM: highest resident), or 0. */
static uint64_t status_bytes(const char *field)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kib = 0;
    size_t length = strlen(field);
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, field, length) == 0 && line[length] == ':')
            kib = strtoull(line + length + 1, NULL, 10);
    if (status)
        fclose(status);
    return kib * 1024;
}

/* The file name of the object that defines the malloc this process calls ("libc.so.6", "librvmem_malloc.so"). */
static const char *allocator_name(void)
{
    Dl_info info;
    void *(*resolved)(size_t) = malloc;
    if (!dladdr(*(void **)&resolved, &info) || !info.dli_fname)
        return "unknown";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
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
    struct malloc_workload_run run = {.table = table, .fill_blocks = footprint, .slots = slots};
    double best = 0;
    uint64_t resident_before = 0;
    if (footprint) {
        memset(slots, 0, sizeof slots); /* the workload's own pages are resident before the count starts */
        resident_before = status_bytes("VmRSS");
    }
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
    uint64_t resident_growth = 0;
    if (footprint) {
        uint64_t peak = status_bytes("VmHWM");
        resident_growth = peak > resident_before ? peak - resident_before : 0;
    }
    printf("workload %s allocator %s mallocs %llu frees %llu peak_live_bytes %llu peak_resident_growth %llu "
           "best_seconds %.9f\n",
           name, table->name, (unsigned long long)run.result.mallocs, (unsigned long long)run.result.frees,
           (unsigned long long)run.result.peak_live_bytes, (unsigned long long)resident_growth, best);
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
    struct malloc_table table = {allocator_name(), call_malloc, call_free, NULL, NULL};
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
