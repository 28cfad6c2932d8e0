/*
 * tests/lib/malloc_workloads.h - deterministic malloc workloads over any allocator.
 *
 * The same workloads run in the kernel (tests/bench/malloc.c and tests/bench/malloc_patterns.c,
 * per-call instruction counts under QEMU -icount) and on the host (tests/hostbench/, under
 * callgrind, the wall clock and the resident memory, with glibc's malloc or another through
 * LD_PRELOAD). Each workload is a function
 * over an allocator table and an optional probe:
 *
 *   pair      malloc(32) then free, again and again
 *   simple16  glibc's bench-malloc-simple pattern: 25, 100, 400 and 1600 blocks of 16 B,
 *             the first half freed FIFO, the second half LIFO
 *   larson    5000 slots of 8..1000 B, filled, then random replacement (free one, malloc another)
 *   zstress   1 B..16 KiB, log-uniform (half of the blocks are 128 B or less), a random walk
 *             of mallocs and frees with at most 20000 blocks live, then everything freed
 *   sweep     for each size 8 B..64 KiB: 64 blocks allocated, then freed, 4 rounds
 *
 * and the patterns of issue 14 (memory that should flow back), with their scale as a parameter
 * (the kernel's 256 MiB machine runs them smaller than the host):
 *
 *   phases      16 sizes in turn (malloc_phase_sizes): phase_bytes of blocks of one size
 *               allocated and written, then all freed, then the next size
 *   batch       blocks of one size allocated and written, linked through their first word, and
 *               freed later, possibly by another thread or hart (the cross-thread pattern)
 *   every_size  for each of 112 sizes up to 64 KiB: blocks worth 256 KiB (at most 4096)
 *               allocated, then freed (what a thread does before it ends or idles)
 *   regrow      two buffers grown alternately by realloc, step_bytes at a time, up to
 *               max_bytes each; the new part written, the old part checked
 *
 * Every sequence comes from a fixed-seed xorshift generator, so a workload makes the same
 * calls, with the same sizes and in the same order, on every run and every machine. Each block
 * gets a marker (from its allocation's sequence number) in its first and last byte, checked
 * before it is freed: a workload also notices an allocator that hands out overlapping blocks.
 *
 * With a probe, every malloc, free and realloc is measured alone: probe->before() runs, the counter is
 * read (rdinstret in the kernel), the call is made through the table, the counter is read
 * again and probe->after() gets the difference. Between the two reads there are only the
 * argument move, the call itself and (malloc) the move of its result; the function pointer is
 * loaded before. On the host
 * there is no such counter (the figures come from callgrind), and the probe is NULL.
 *
 * Thread-safety: a workload keeps its state in the caller's struct malloc_workload_run; two
 * runs on two harts at once need two run structs (the allocator decides the rest). A run may
 * pass from one thread or hart to another between calls (the cross-thread pattern allocates a
 * batch on one and frees it on the other), one at a time, the hand-over ordering their accesses.
 */
#ifndef RVMEM_TESTS_LIB_MALLOC_WORKLOADS_H
#define RVMEM_TESTS_LIB_MALLOC_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The allocator under test. malloc and free are required; heap_span_bytes and realloc may be NULL. */
struct malloc_table {
    const char *name;
    void *(*malloc)(size_t bytes);
    void (*free)(void *block);
    /* Bytes of address space the allocator holds for its heap right now (0 if unknown). */
    size_t (*heap_span_bytes)(void);
    /* realloc with the C contract (the regrow workload needs it; NULL: none). */
    void *(*realloc)(void *block, size_t bytes);
};

enum malloc_call { MALLOC_CALL_MALLOC, MALLOC_CALL_FREE, MALLOC_CALL_REALLOC };

/* Per-call measurement: before() just before the counted window, after() just after it. */
struct malloc_probe {
    void *context;
    void (*before)(void *context);
    void (*after)(void *context, enum malloc_call call, size_t bytes, uint64_t instructions);
};

/* What a workload did: call counts, bytes, and the footprint it saw. */
struct malloc_workload_result {
    uint64_t mallocs, frees;
    uint64_t reallocs;
    uint64_t requested_bytes;  /* sum of every malloc's size */
    uint64_t live_bytes;       /* sum of the sizes of the blocks live now */
    uint64_t live_blocks;      /* blocks live now */
    uint64_t peak_live_bytes;  /* highest live_bytes */
    uint64_t peak_live_blocks; /* highest live_blocks */
    uint64_t peak_heap_span;   /* highest heap_span_bytes() seen after a malloc (0: not sampled) */
};

/* One live block of a workload. */
struct malloc_slot {
    unsigned char *block;
    uint32_t bytes;
    unsigned char marker; /* in the block's first and last byte: differs between consecutive blocks */
};

/*
 * One workload run: the allocator, an optional probe, whether to sample the heap span after
 * every malloc (costs a call per malloc; the kernel does it outside the counted window), and
 * the scratch array for the live blocks (slots entries, see MALLOC_WORKLOAD_MAX_SLOTS).
 */
struct malloc_workload_run {
    const struct malloc_table *table;
    const struct malloc_probe *probe; /* NULL: no per-call measurement */
    bool sample_heap_span;
    bool fill_blocks;          /* write every byte of every block, not just the markers (makes its pages resident) */
    struct malloc_slot *slots; /* MALLOC_WORKLOAD_MAX_SLOTS entries owned by the caller */
    struct malloc_workload_result result;
};

/* The largest number of blocks any workload keeps live (zstress's cap). */
#define MALLOC_WORKLOAD_MAX_SLOTS 20000

/* Sizes of the sweep, in order. */
extern const uint32_t malloc_sweep_sizes[];
extern const unsigned malloc_sweep_size_count;

/*
 * Each workload: resets run->result, makes its calls and frees every block it allocated.
 * Returns 0; -E_NOMEM when a malloc returned NULL (the blocks allocated so far are freed);
 * -E_BADDATA when a block's markers were overwritten (an allocator bug; the block is leaked).
 * malloc_workload_sweep_one runs the sweep for one size only (sizes outside the list too).
 */
int malloc_workload_pair(struct malloc_workload_run *run);
int malloc_workload_simple16(struct malloc_workload_run *run);
int malloc_workload_larson(struct malloc_workload_run *run);
int malloc_workload_zstress(struct malloc_workload_run *run);
int malloc_workload_sweep_one(struct malloc_workload_run *run, uint32_t bytes);
int malloc_workload_sweep(struct malloc_workload_run *run);

/*
 * The patterns of issue 14. Each accumulates into run->result (callers reset it with
 * malloc_workload_reset, or use the functions that say they reset it) and, like the workloads
 * above, returns 0, -E_NOMEM (what it allocated is freed) or -E_BADDATA (a block's bytes changed
 * under it: an allocator bug; the blocks are leaked), or -E_INVAL for a parameter out of range.
 */
void malloc_workload_reset(struct malloc_workload_run *run);

/* The 16 block sizes of the phases workload, in the order it runs them (16 B .. 256 KiB). */
extern const uint32_t malloc_phase_sizes[];
extern const unsigned malloc_phase_size_count;

/*
 * A batch: blocks of one size, each written whole, linked through their first word in the order
 * they were allocated. Blocks of at least 2 * sizeof(void *) bytes. The struct is all that links
 * them: a batch allocated by one thread or hart may be freed by another (with its own run).
 */
struct malloc_batch {
    unsigned char *first, *last;
    uint64_t blocks;
    uint32_t block_bytes;
    uint64_t first_sequence; /* the allocating run's malloc count at the first block: sets its markers */
    uint64_t stride;         /* sequence numbers between one block and the next (0 counts as 1; see thin) */
};

/* Allocates total_bytes / block_bytes blocks (at least 1) of block_bytes into *batch. */
int malloc_workload_batch_allocate(struct malloc_workload_run *run, struct malloc_batch *batch, uint32_t block_bytes,
                                   uint64_t total_bytes);

/*
 * Checks and frees every block of *batch but one in keep_every (the first, then every
 * keep_every-th), which stay in it, linked as before (a program that keeps a few blocks of a
 * size it has finished with). keep_every >= 1; -E_INVAL for 0.
 */
int malloc_workload_batch_thin(struct malloc_workload_run *run, struct malloc_batch *batch, uint64_t keep_every);

/* Checks and frees every block of *batch, in allocation order, and empties it. */
int malloc_workload_batch_free(struct malloc_workload_run *run, struct malloc_batch *batch);

/* One phase: phase_bytes of blocks of block_bytes allocated, then freed (a batch, allocated then freed). */
int malloc_workload_phase(struct malloc_workload_run *run, uint32_t block_bytes, uint64_t phase_bytes);

/* Resets run->result and runs one phase per size of malloc_phase_sizes, in order. */
int malloc_workload_phases(struct malloc_workload_run *run, uint64_t phase_bytes);

/* Resets run->result; every size of the every_size workload, rounds times (uses the slots). */
int malloc_workload_every_size(struct malloc_workload_run *run, unsigned rounds);

/* The sizes every_size runs, in order, and how many blocks of each it holds at once. */
extern const unsigned malloc_every_size_count;
uint32_t malloc_every_size_bytes(unsigned index);
uint32_t malloc_every_size_blocks(uint32_t bytes);

/*
 * Resets run->result; two buffers, each malloc(step_bytes) and then grown by realloc to
 * step_bytes more, alternately, until each holds max_bytes; then both freed. Needs
 * run->table->realloc (-E_INVAL without it, or with step_bytes 0 or above max_bytes).
 * result.reallocs counts the reallocs; live and peak bytes count both buffers' sizes.
 */
int malloc_workload_regrow(struct malloc_workload_run *run, uint32_t step_bytes, uint64_t max_bytes);

/* A workload by name ("pair", "simple16", "larson", "zstress", "sweep"), or NULL. */
typedef int (*malloc_workload_fn)(struct malloc_workload_run *run);
malloc_workload_fn malloc_workload_by_name(const char *name);

/* The workload names, in a fixed order, NULL-terminated. */
extern const char *const malloc_workload_names[];

#endif
