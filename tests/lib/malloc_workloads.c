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

void malloc_workload_reset(struct malloc_workload_run *run)
{
    reset(run);
}

/* The marker of the block a run allocates as its sequence-th malloc: consecutive blocks differ. */
static unsigned char marker_of(uint64_t sequence)
{
    return (unsigned char)(0x5A + sequence * 7);
}

/* After live_bytes grew: the peaks, and the heap span when the run samples it. */
static void note_growth(struct malloc_workload_run *run)
{
    struct malloc_workload_result *result = &run->result;
    if (result->live_bytes > result->peak_live_bytes)
        result->peak_live_bytes = result->live_bytes;
    if (result->live_blocks > result->peak_live_blocks)
        result->peak_live_blocks = result->live_blocks;
    if (run->sample_heap_span && run->table->heap_span_bytes) {
        uint64_t span = run->table->heap_span_bytes();
        if (span > result->peak_heap_span)
            result->peak_heap_span = span;
    }
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
    note_growth(run);
    return block;
}

/* Frees block (bytes long) through the table (measured when there is a probe). noipa: as above. */
__attribute__((noipa)) static void workload_free(struct malloc_workload_run *run, unsigned char *block, uint32_t bytes)
{
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
}

/*
 * Resizes block from old_bytes to bytes through the table (measured when there is a probe);
 * NULL when realloc failed (block is still live). noipa: as above.
 */
__attribute__((noipa)) static unsigned char *workload_realloc(struct malloc_workload_run *run, unsigned char *block,
                                                              uint64_t old_bytes, uint64_t bytes)
{
    void *(*resize)(void *, size_t) = run->table->realloc;
    const struct malloc_probe *probe = run->probe;
    unsigned char *moved;
    if (probe) {
        probe->before(probe->context);
        uint64_t start = instructions_retired();
        moved = resize(block, bytes);
        uint64_t end = instructions_retired();
        probe->after(probe->context, MALLOC_CALL_REALLOC, bytes, end - start);
    } else {
        moved = resize(block, bytes);
    }
    if (!moved)
        return NULL;
    run->result.reallocs++;
    run->result.live_bytes += bytes - old_bytes;
    note_growth(run);
    return moved;
}

/* Checks the slot's markers, then frees its block and empties it; -E_BADDATA (block leaked) when they changed. */
static int free_slot(struct malloc_workload_run *run, struct malloc_slot *slot)
{
    unsigned char *block = slot->block;
    slot->block = NULL;
    if (block[0] != slot->marker || block[slot->bytes - 1] != slot->marker)
        return -E_BADDATA;
    workload_free(run, block, slot->bytes);
    return 0;
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
    slot->marker = marker_of(run->result.mallocs);
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

const uint32_t malloc_phase_sizes[] = {16,  32,  48,   64,   96,   128,   192,   256,
                                       512, 768, 1024, 2048, 4096, 16384, 65536, 262144};
const unsigned malloc_phase_size_count = sizeof malloc_phase_sizes / sizeof malloc_phase_sizes[0];

static void set_link(unsigned char *block, unsigned char *next)
{
    memcpy(block, &next, sizeof next);
}

static unsigned char *link_of(const unsigned char *block)
{
    unsigned char *next;
    memcpy(&next, block, sizeof next);
    return next;
}

int malloc_workload_batch_allocate(struct malloc_workload_run *run, struct malloc_batch *batch, uint32_t block_bytes,
                                   uint64_t total_bytes)
{
    *batch = (struct malloc_batch){.block_bytes = block_bytes, .first_sequence = run->result.mallocs};
    if (block_bytes < 2 * sizeof(void *))
        return -E_INVAL;
    uint64_t count = total_bytes / block_bytes ? total_bytes / block_bytes : 1;
    for (uint64_t i = 0; i < count; i++) {
        unsigned char marker = marker_of(run->result.mallocs);
        unsigned char *block = workload_malloc(run, block_bytes, marker);
        if (!block) {
            malloc_workload_batch_free(run, batch);
            return -E_NOMEM;
        }
        if (!run->fill_blocks)
            memset(block, marker, block_bytes);
        set_link(block, NULL);
        if (batch->last)
            set_link(batch->last, block);
        else
            batch->first = block;
        batch->last = block;
        batch->blocks++;
    }
    return 0;
}

/* Whether a block of a batch still holds the marker of its sequence number (after the link, and its last byte). */
static bool batch_block_intact(const struct malloc_batch *batch, const unsigned char *block, uint64_t sequence)
{
    unsigned char marker = marker_of(sequence);
    return block[sizeof(void *)] == marker && block[batch->block_bytes - 1] == marker;
}

int malloc_workload_batch_thin(struct malloc_workload_run *run, struct malloc_batch *batch, uint64_t keep_every)
{
    if (!keep_every)
        return -E_INVAL;
    uint64_t stride = batch->stride ? batch->stride : 1;
    unsigned char *block = batch->first, *kept_last = NULL;
    uint64_t sequence = batch->first_sequence, kept = 0;
    for (uint64_t i = 0; i < batch->blocks; i++, sequence += stride) {
        unsigned char *next = link_of(block);
        if (!batch_block_intact(batch, block, sequence))
            return -E_BADDATA;
        if (i % keep_every == 0) {
            if (kept_last)
                set_link(kept_last, block);
            set_link(block, NULL);
            kept_last = block;
            kept++;
        } else {
            workload_free(run, block, batch->block_bytes);
        }
        block = next;
    }
    batch->last = kept_last;
    batch->blocks = kept;
    batch->stride = stride * keep_every;
    return 0;
}

int malloc_workload_batch_free(struct malloc_workload_run *run, struct malloc_batch *batch)
{
    unsigned char *block = batch->first;
    uint64_t sequence = batch->first_sequence, stride = batch->stride ? batch->stride : 1;
    int error = 0;
    for (uint64_t i = 0; i < batch->blocks; i++, sequence += stride) {
        unsigned char *next = link_of(block);
        /* The byte after the link and the last byte: still the marker the whole block was written with. */
        if (!batch_block_intact(batch, block, sequence)) {
            error = -E_BADDATA;
            break;
        }
        workload_free(run, block, batch->block_bytes);
        block = next;
    }
    *batch = (struct malloc_batch){.block_bytes = batch->block_bytes};
    return error;
}

int malloc_workload_phase(struct malloc_workload_run *run, uint32_t block_bytes, uint64_t phase_bytes)
{
    struct malloc_batch batch;
    int error = malloc_workload_batch_allocate(run, &batch, block_bytes, phase_bytes);
    return error ? error : malloc_workload_batch_free(run, &batch);
}

int malloc_workload_phases(struct malloc_workload_run *run, uint64_t phase_bytes)
{
    reset(run);
    for (unsigned i = 0; i < malloc_phase_size_count; i++) {
        int error = malloc_workload_phase(run, malloc_phase_sizes[i], phase_bytes);
        if (error)
            return error;
    }
    return 0;
}

/* every_size: 16-byte steps up to 1 KiB, then 8 steps per doubling up to 64 KiB. */
#define EVERY_SIZE_FINE_STEPS 64
#define EVERY_SIZE_STEPS_PER_DOUBLING 8
#define EVERY_SIZE_DOUBLINGS 6
#define EVERY_SIZE_LIVE_BYTES (256u * 1024)
#define EVERY_SIZE_MAX_BLOCKS 4096

const unsigned malloc_every_size_count = EVERY_SIZE_FINE_STEPS + EVERY_SIZE_STEPS_PER_DOUBLING * EVERY_SIZE_DOUBLINGS;

uint32_t malloc_every_size_bytes(unsigned index)
{
    if (index < EVERY_SIZE_FINE_STEPS)
        return 16 * (index + 1);
    index -= EVERY_SIZE_FINE_STEPS;
    uint32_t base = 1024u << (index / EVERY_SIZE_STEPS_PER_DOUBLING);
    return base + base / EVERY_SIZE_STEPS_PER_DOUBLING * (index % EVERY_SIZE_STEPS_PER_DOUBLING + 1);
}

uint32_t malloc_every_size_blocks(uint32_t bytes)
{
    uint32_t blocks = EVERY_SIZE_LIVE_BYTES / bytes;
    return blocks > EVERY_SIZE_MAX_BLOCKS ? EVERY_SIZE_MAX_BLOCKS : blocks ? blocks : 1;
}

int malloc_workload_every_size(struct malloc_workload_run *run, unsigned rounds)
{
    reset(run);
    for (unsigned round = 0; round < rounds; round++) {
        for (unsigned i = 0; i < malloc_every_size_count; i++) {
            uint32_t bytes = malloc_every_size_bytes(i), count = malloc_every_size_blocks(bytes);
            clear_slots(run, count);
            for (unsigned j = 0; j < count; j++) {
                int error = fill_slot(run, j, bytes, count);
                if (error)
                    return error;
            }
            int error = free_all(run, count);
            if (error)
                return error;
        }
    }
    return 0;
}

/* One regrow buffer: step k of it (bytes [k * step, (k + 1) * step)) holds marker + k. */
struct regrow_buffer {
    unsigned char *block;
    uint64_t bytes;
    unsigned char marker;
};

static bool regrow_intact(const struct regrow_buffer *buffer, uint32_t step_bytes)
{
    return buffer->block[0] == buffer->marker &&
           buffer->block[buffer->bytes - 1] == (unsigned char)(buffer->marker + (buffer->bytes - 1) / step_bytes);
}

int malloc_workload_regrow(struct malloc_workload_run *run, uint32_t step_bytes, uint64_t max_bytes)
{
    reset(run);
    if (!run->table->realloc || step_bytes == 0 || step_bytes > max_bytes)
        return -E_INVAL;
    struct regrow_buffer buffers[2] = {{NULL, 0, 0x3C}, {NULL, 0, 0xC3}};
    int error = 0;
    for (unsigned b = 0; b < 2 && !error; b++) {
        buffers[b].block = workload_malloc(run, step_bytes, buffers[b].marker);
        if (!buffers[b].block)
            error = -E_NOMEM;
        else
            memset(buffers[b].block, buffers[b].marker, step_bytes);
        buffers[b].bytes = step_bytes;
    }
    while (!error && (buffers[0].bytes < max_bytes || buffers[1].bytes < max_bytes)) {
        for (unsigned b = 0; b < 2 && !error; b++) {
            struct regrow_buffer *buffer = &buffers[b];
            if (buffer->bytes == max_bytes)
                continue;
            if (!regrow_intact(buffer, step_bytes))
                return -E_BADDATA;
            uint64_t grown = buffer->bytes + step_bytes < max_bytes ? buffer->bytes + step_bytes : max_bytes;
            unsigned char *moved = workload_realloc(run, buffer->block, buffer->bytes, grown);
            if (!moved) {
                error = -E_NOMEM;
                break;
            }
            memset(moved + buffer->bytes, (unsigned char)(buffer->marker + buffer->bytes / step_bytes),
                   grown - buffer->bytes);
            buffer->block = moved;
            buffer->bytes = grown;
        }
    }
    for (unsigned b = 0; b < 2; b++) {
        if (!buffers[b].block)
            continue;
        if (!regrow_intact(&buffers[b], step_bytes))
            return -E_BADDATA;
        workload_free(run, buffers[b].block, (uint32_t)buffers[b].bytes);
    }
    return error;
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
