/*
 * tools/malloc_footprint.c - footprint of the rvmem malloc on the host under two synthetic
 * workloads (a quick check while building; the benchmark suite has the real larson/zstress).
 *
 *     make host && gcc -O2 -I. -DRVMEM_HOST -o build/host/malloc_footprint tools/malloc_footprint.c \
 *         build/host/librvmem.a -pthread && build/host/malloc_footprint && build/host/malloc_footprint z
 *
 * larson-like (default): 5000 slots, sizes 8..1000 B uniform, random replacement, 2 M operations.
 * zstress-like (any argument): 20000 slots, sizes 1 B..16 KiB skewed small (16383 * u^4).
 * Prints peak live requested bytes, the heap span and footprint = peak span / peak live.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/host/binding.h"
#include "lib/malloc/malloc.h"

static uint64_t state = 88172645463325252ull;

static uint64_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (rvmem_host_init() != 0)
        return 1;
    int zstress = argc > 1;
    size_t slots = zstress ? 20000 : 5000;
    void **blocks = calloc(slots, sizeof *blocks);
    size_t *sizes = calloc(slots, sizeof *sizes);
    size_t live = 0, peak = 0;
    for (long operation = 0; operation < 2000000; operation++) {
        size_t slot = next_random() % slots;
        if (blocks[slot]) {
            rvmem_free(blocks[slot]);
            live -= sizes[slot];
        }
        size_t size;
        if (!zstress) {
            size = 8 + next_random() % 993;
        } else {
            double u = (double)(next_random() % 1000000) / 1e6;
            size = 1 + (size_t)(16383 * u * u * u * u);
        }
        blocks[slot] = rvmem_malloc(size);
        if (!blocks[slot])
            return 1;
        sizes[slot] = size;
        live += size;
        if (live > peak)
            peak = live;
    }
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    printf("%s: peak live %zu B, heap span %zu B (peak %zu), footprint %.3f; in use %zu, cached %zu, "
           "free small %zu, free medium %zu, runs %zu\n",
           zstress ? "zstress-like" : "larson-like", peak, stats.heap_span_bytes, stats.peak_heap_span_bytes,
           (double)stats.peak_heap_span_bytes / (double)peak, stats.bytes_in_use, stats.bytes_cached,
           stats.bytes_free_small, stats.bytes_free_medium, stats.small_runs);
    return 0;
}
