/*
 * tests/lib/malloc_workloads.c - the malloc workloads (see tests/lib/malloc_workloads.h).
 */
#include "tests/lib/malloc_workloads.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"

/* xorshift32: a fixed, repeatable sequence from a fixed seed. */
static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void reset(struct malloc_workload_run *run)
{
    memset(&run->result, 0, sizeof run->result);
}

/*
 * Calls malloc through the table (measured when there is a probe), marks the block, keeps count.
 * noipa: one function under this name whatever the optimizer does (tools/stack_indirect_targets.txt).
 */
__attribute__((noipa)) static unsigned char *workload_malloc(struct malloc_workload_run *run, uint32_t bytes,
                                                             unsigned char marker)
{
    void *(*allocate)(size_t) = run->table->malloc;
    const struct malloc_probe *probe = run->probe;
    unsigned char *block;
    if (probe) {
        probe->before(probe->context);
        uint64_t start = instructions_retired();
        block = allocate(bytes);
        uint64_t end = instructions_retired();
        probe->after(probe->context, MALLOC_CALL_MALLOC, bytes, end - start);
    } else {
        block = allocate(bytes);
    }
    if (!block)
        return NULL;
    if (run->fill_blocks)
        memset(block, marker, bytes);
    block[0] = marker;
    block[bytes - 1] = marker;
    struct malloc_workload_result *result = &run->result;
    result->mallocs++;
    result->requested_bytes += bytes;
    result->live_bytes += bytes;
    result->live_blocks++;
    if (result->live_bytes > result->peak_live_bytes)
        result->peak_live_bytes = result->live_bytes;
    if (result->live_blocks > result->peak_live_blocks)
        result->peak_live_blocks = result->live_blocks;
    if (run->sample_heap_span && run->table->heap_span_bytes) {
        uint64_t span = run->table->heap_span_bytes();
        if (span > result->peak_heap_span)
            result->peak_heap_span = span;
    }
    return block;
}

/* Checks the block's markers, then frees it through the table (measured when there is a probe). noipa: as above. */
__attribute__((noipa)) static int workload_free(struct malloc_workload_run *run, const struct malloc_slot *slot)
{
    unsigned char *block = slot->block;
    uint32_t bytes = slot->bytes;
    if (block[0] != slot->marker || block[bytes - 1] != slot->marker)
        return -E_BADDATA;
    void (*release)(void *) = run->table->free;
    const struct malloc_probe *probe = run->probe;
    if (probe) {
        probe->before(probe->context);
        uint64_t start = instructions_retired();
        release(block);
        uint64_t end = instructions_retired();
        probe->after(probe->context, MALLOC_CALL_FREE, bytes, end - start);
    } else {
        release(block);
    }
    run->result.frees++;
    run->result.live_bytes -= bytes;
    run->result.live_blocks--;
    return 0;
}

static int free_slot(struct malloc_workload_run *run, struct malloc_slot *slot)
{
    int error = workload_free(run, slot);
    slot->block = NULL;
    return error;
}

/* Frees every non-empty slot of slots[0..count); returns the first error (0: none). */
static int free_all(struct malloc_workload_run *run, unsigned count)
{
    int first_error = 0;
    for (unsigned i = 0; i < count; i++) {
        if (!run->slots[i].block)
            continue;
        int error = free_slot(run, &run->slots[i]);
        if (error && !first_error)
            first_error = error;
    }
    return first_error;
}

/* Allocates into an empty slot; on NULL frees slots[0..count) and returns -E_NOMEM. */
static int fill_slot(struct malloc_workload_run *run, unsigned index, uint32_t bytes, unsigned count)
{
    struct malloc_slot *slot = &run->slots[index];
    slot->marker = (unsigned char)(0x5A + run->result.mallocs * 7);
    slot->block = workload_malloc(run, bytes, slot->marker);
    slot->bytes = bytes;
    if (slot->block)
        return 0;
    free_all(run, count);
    return -E_NOMEM;
}

static void clear_slots(struct malloc_workload_run *run, unsigned count)
{
    memset(run->slots, 0, count * sizeof run->slots[0]);
}

#define PAIR_CALLS 5000
#define PAIR_BYTES 32

int malloc_workload_pair(struct malloc_workload_run *run)
{
    reset(run);
    clear_slots(run, 1);
    for (unsigned i = 0; i < PAIR_CALLS; i++) {
        int error = fill_slot(run, 0, PAIR_BYTES, 1);
        if (!error)
            error = free_slot(run, &run->slots[0]);
        if (error)
            return error;
    }
    return 0;
}

/* simple16: each block count gets the same number of mallocs (3200). */
#define SIMPLE_BYTES 16
#define SIMPLE_MALLOCS_PER_COUNT 3200

int malloc_workload_simple16(struct malloc_workload_run *run)
{
    static const unsigned block_counts[] = {25, 100, 400, 1600};
    reset(run);
    for (unsigned c = 0; c < sizeof block_counts / sizeof block_counts[0]; c++) {
        unsigned count = block_counts[c];
        clear_slots(run, count);
        for (unsigned round = 0; round < SIMPLE_MALLOCS_PER_COUNT / count; round++) {
            for (unsigned i = 0; i < count; i++) {
                int error = fill_slot(run, i, SIMPLE_BYTES, count);
                if (error)
                    return error;
            }
            /* The first half in allocation order (FIFO), the second half in reverse (LIFO). */
            for (unsigned i = 0; i < count / 2; i++) {
                int error = free_slot(run, &run->slots[i]);
                if (error)
                    return error;
            }
            for (unsigned i = count; i-- > count / 2;) {
                int error = free_slot(run, &run->slots[i]);
                if (error)
                    return error;
            }
        }
    }
    return 0;
}

#define LARSON_SLOTS 5000
#define LARSON_REPLACEMENTS 50000
#define LARSON_MIN_BYTES 8
#define LARSON_MAX_BYTES 1000

int malloc_workload_larson(struct malloc_workload_run *run)
{
    uint32_t seed = 0x1a2b3c4d;
    reset(run);
    clear_slots(run, LARSON_SLOTS);
    for (unsigned i = 0; i < LARSON_SLOTS; i++) {
        uint32_t bytes = LARSON_MIN_BYTES + next_random(&seed) % (LARSON_MAX_BYTES - LARSON_MIN_BYTES + 1);
        int error = fill_slot(run, i, bytes, LARSON_SLOTS);
        if (error)
            return error;
    }
    for (unsigned i = 0; i < LARSON_REPLACEMENTS; i++) {
        unsigned index = next_random(&seed) % LARSON_SLOTS;
        uint32_t bytes = LARSON_MIN_BYTES + next_random(&seed) % (LARSON_MAX_BYTES - LARSON_MIN_BYTES + 1);
        int error = free_slot(run, &run->slots[index]);
        if (!error)
            error = fill_slot(run, index, bytes, LARSON_SLOTS);
        if (error)
            return error;
    }
    return free_all(run, LARSON_SLOTS);
}

#define ZSTRESS_STEPS 150000
#define ZSTRESS_MAX_LIVE MALLOC_WORKLOAD_MAX_SLOTS
#define ZSTRESS_MALLOC_PERCENT 60
#define ZSTRESS_SIZE_CLASSES 14 /* sizes in [2^k, 2^(k+1)) for k in 0..13: 1 B .. 16 KiB - 1 */

int malloc_workload_zstress(struct malloc_workload_run *run)
{
    uint32_t seed = 0x5eed2024;
    unsigned live = 0; /* live blocks are slots[0..live) */
    reset(run);
    for (unsigned step = 0; step < ZSTRESS_STEPS; step++) {
        uint32_t choice = next_random(&seed);
        bool allocate = live == 0 || (live < ZSTRESS_MAX_LIVE && choice % 100 < ZSTRESS_MALLOC_PERCENT);
        int error;
        if (allocate) {
            unsigned class_index = next_random(&seed) % ZSTRESS_SIZE_CLASSES;
            uint32_t bytes = (1u << class_index) | (next_random(&seed) & ((1u << class_index) - 1));
            error = fill_slot(run, live, bytes, live);
            live++;
        } else {
            unsigned index = next_random(&seed) % live;
            error = free_slot(run, &run->slots[index]);
            run->slots[index] = run->slots[live - 1];
            run->slots[live - 1].block = NULL;
            live--;
        }
        if (error)
            return error;
    }
    return free_all(run, live);
}

#define SWEEP_BLOCKS 64
#define SWEEP_ROUNDS 4

const uint32_t malloc_sweep_sizes[] = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
const unsigned malloc_sweep_size_count = sizeof malloc_sweep_sizes / sizeof malloc_sweep_sizes[0];

/* One size of the sweep; accumulates into run->result (the caller resets it). */
static int sweep_size(struct malloc_workload_run *run, uint32_t bytes)
{
    clear_slots(run, SWEEP_BLOCKS);
    for (unsigned round = 0; round < SWEEP_ROUNDS; round++) {
        for (unsigned i = 0; i < SWEEP_BLOCKS; i++) {
            int error = fill_slot(run, i, bytes, SWEEP_BLOCKS);
            if (error)
                return error;
        }
        int error = free_all(run, SWEEP_BLOCKS);
        if (error)
            return error;
    }
    return 0;
}

int malloc_workload_sweep_one(struct malloc_workload_run *run, uint32_t bytes)
{
    reset(run);
    return bytes == 0 ? -E_INVAL : sweep_size(run, bytes);
}

int malloc_workload_sweep(struct malloc_workload_run *run)
{
    reset(run);
    for (unsigned i = 0; i < malloc_sweep_size_count; i++) {
        int error = sweep_size(run, malloc_sweep_sizes[i]);
        if (error)
            return error;
    }
    return 0;
}

const char *const malloc_workload_names[] = {"pair", "simple16", "larson", "zstress", "sweep", NULL};

malloc_workload_fn malloc_workload_by_name(const char *name)
{
    static const malloc_workload_fn workloads[] = {malloc_workload_pair, malloc_workload_simple16,
                                                   malloc_workload_larson, malloc_workload_zstress,
                                                   malloc_workload_sweep};
    for (unsigned i = 0; malloc_workload_names[i]; i++)
        if (strcmp(malloc_workload_names[i], name) == 0)
            return workloads[i];
    return NULL;
}
