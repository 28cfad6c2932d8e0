/*
 * lib/malloc_internal.h - shared state and internal interfaces of the malloc core (lib/malloc_*.c).
 * Builds: kernel, host
 *
 * Not for users: include lib/malloc.h. The pieces:
 *   malloc_api.c      the public entry points and their fast paths (per-hart caches)
 *   malloc_small.c    size classes: runs, central lists, refill/drain in batches, run reclaim
 *   malloc_tlsf.c     medium and large blocks: TLSF over the break, growth and trim via more-core
 *   malloc_checked.c  the checked build's wrappers (headers, canaries, poison, state words)
 *   malloc_validate.c the heap walker; malloc_stats.c the statistics
 *
 * Locks: one per size class (central list and its runs) and one for TLSF (which also guards the
 * break). A class lock may be held while taking the TLSF lock, never the other way round.
 */
#ifndef RVMEM_LIB_MALLOC_INTERNAL_H
#define RVMEM_LIB_MALLOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/platform.h"
#include "kernel/spinlock.h"
#include "lib/malloc.h"

#define MALLOC_PAGE_SHIFT 12
#define MALLOC_PAGE_BYTES ((uintptr_t)1 << MALLOC_PAGE_SHIFT)

#define MALLOC_LIKELY(x) __builtin_expect(!!(x), 1)
#define MALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Bytes of a small block of class c. */
static inline size_t small_class_bytes(unsigned class_index)
{
    return ((size_t)class_index + 1) * MALLOC_ALIGNMENT;
}

/* Small class of a size in 1..MALLOC_SMALL_MAX_BYTES. */
static inline unsigned small_class_of(size_t size)
{
    return (unsigned)((size - 1) >> 4);
}

/*
 * One size class in one hart's cache: a singly linked list of free blocks (the link is the
 * block's first word) and how many more blocks it may take before it drains a batch.
 */
struct malloc_cache_class {
    void *head;
    uint32_t room;  /* free slots left; 0 sends free() to the slow path */
    uint32_t ready; /* set once the slot's room has been set (zero-filled caches start unready) */
};

struct malloc_cache {
    struct malloc_cache_class classes[MALLOC_SMALL_CLASSES];
};

/*
 * Per-hart caches: the kernel and the host tests index an array by hart_self(); the LD_PRELOAD
 * library (RVMEM_MALLOC_THREAD_CACHE) gives every thread its own thread-local cache.
 */
#if defined(RVMEM_MALLOC_THREAD_CACHE)
extern __thread struct malloc_cache malloc_thread_cache __attribute__((tls_model("initial-exec")));
#define MALLOC_CACHES 1
#elif defined(RVMEM_HOST)
#define MALLOC_CACHES 64 /* tests/host/platform.c allows up to 64 harts */
#else
#define MALLOC_CACHES RVMEM_MAX_HARTS
#endif

/* A run: pages dedicated to one small class, aligned to its own size; blocks follow the header. */
struct small_run {
    uintptr_t tlsf_prev_size; /* the TLSF chunk header the run lives in (see malloc_tlsf.c) */
    uintptr_t tlsf_size;
    struct small_run *next_run; /* the class's list of runs */
    uint16_t class_index;
    uint16_t capacity;     /* blocks in the run */
    uint32_t scratch_free; /* used by trim and the validator (under the class lock) */
};
#define SMALL_RUN_HEADER_BYTES 32

/* The central state of one size class. */
struct small_central {
    struct spinlock lock;
    void *free_list;   /* free blocks (link in the first word) */
    size_t free_count; /* blocks on free_list */
    uintptr_t bump;    /* uncarved blocks of the newest run: [bump, bump_end) */
    uintptr_t bump_end;
    struct small_run *runs; /* every run of this class */
    size_t run_count;
    size_t carved_blocks; /* blocks ever carved from this class's current runs (minus released) */
};

#define TLSF_SL_LOG2 4
#define TLSF_SL_COUNT (1u << TLSF_SL_LOG2)
#define TLSF_FL_COUNT 48
#define TLSF_MAX_REGIONS 32

/* A contiguous stretch of memory obtained from more-core, ending in a zero-size sentinel chunk. */
struct tlsf_region {
    uintptr_t break_before; /* the break before this region was taken (its memory starts here) */
    uintptr_t first_chunk;  /* 16-aligned */
    uintptr_t end;          /* one past the sentinel chunk header = the break after the region */
};

struct tlsf_chunk;

struct tlsf_state {
    struct spinlock lock;
    uint64_t first_level_bitmap;
    uint32_t second_level_bitmap[TLSF_FL_COUNT];
    struct tlsf_chunk *free_lists[TLSF_FL_COUNT][TLSF_SL_COUNT];
    struct tlsf_region regions[TLSF_MAX_REGIONS];
    unsigned region_count;
    size_t free_bytes;  /* sum of free chunk sizes */
    size_t used_blocks; /* allocated chunks, runs included */
    size_t used_bytes;  /* their chunk sizes */
    size_t run_bytes;   /* bytes of allocated chunks that are small runs */
    size_t more_core_calls;
    size_t peak_span_bytes;
};

/* Everything, in one object so the fast paths reach it with one address. Fields used by the fast paths first. */
struct malloc_state {
    uintptr_t heap_start;     /* page map index 0 */
    uintptr_t map_span_bytes; /* bytes of address space the page map covers */
    uint8_t *page_map;        /* per page: 0 (not a small run), or 1 + class index */
    void *(*more_core)(intptr_t increment);
    bool ready;
    size_t failed_requests;
    size_t peak_bytes_in_use;
    size_t small_bytes_out;  /* bytes of small blocks outside the central lists (held or cached) */
    size_t medium_bytes_out; /* usable bytes of TLSF blocks the program holds */
    struct malloc_cache caches[MALLOC_CACHES];
    struct small_central centrals[MALLOC_SMALL_CLASSES];
    struct tlsf_state tlsf;
};

extern struct malloc_state malloc_state;

/* The calling hart's (thread's) cache. */
static inline struct malloc_cache *malloc_cache_self(void)
{
#if defined(RVMEM_MALLOC_THREAD_CACHE)
    return &malloc_thread_cache;
#else
    return &malloc_state.caches[hart_self()];
#endif
}

/* Blocks a hart's cache holds at most, per class, and how many move per refill or drain. */
uint32_t small_cache_limit(unsigned class_index);

/* --- core operations (no misuse checks beyond cheap range checks) --- */

/* The unchecked allocator: the public functions when RVMEM_CHECKED is off, the checked layer's base otherwise. */
void *malloc_core_alloc(size_t size);
void malloc_core_free(void *block);
size_t malloc_core_usable_size(const void *block);
void *malloc_core_aligned(size_t alignment, size_t size);
void *malloc_core_realloc(void *block, size_t size);

/* Small classes (malloc_small.c). */
void *small_alloc_slow(unsigned class_index);
void small_free_slow(void *block, unsigned class_index);
void small_flush_cache(struct malloc_cache *cache);
size_t small_release_free_runs(void);
size_t small_run_bytes(unsigned class_index);
bool small_block_is_start(uintptr_t block, unsigned class_index);

/* The class of the run holding address, or -1 when address is not in a small run. */
static inline int small_class_at(uintptr_t address)
{
    uintptr_t offset = address - malloc_state.heap_start;
    if (offset >= malloc_state.map_span_bytes)
        return -1;
    return (int)malloc_state.page_map[offset >> MALLOC_PAGE_SHIFT] - 1;
}

/* TLSF (malloc_tlsf.c). Sizes are payload bytes; returned pointers are payloads (16-aligned). */
void *tlsf_alloc(size_t size);
void *tlsf_alloc_aligned(size_t alignment, size_t size);
void tlsf_free(void *payload);
size_t tlsf_usable_size(const void *payload);
bool tlsf_resize_in_place(void *payload, size_t size);
bool tlsf_owns(uintptr_t address);
bool tlsf_is_allocated_payload(uintptr_t payload);
struct small_run *tlsf_alloc_run(size_t run_bytes);
void tlsf_free_run(struct small_run *run);
size_t tlsf_trim(size_t keep_bytes);
int tlsf_validate(const void *caller);
uintptr_t tlsf_break(void);
void tlsf_poison(void *start, size_t bytes);

/* Records the current bytes in use if it is a new peak (approximate; see struct malloc_stats). */
void malloc_note_peak(void);

/* Reports misuse found by the allocator (kernel/misuse.h) with "malloc" as the allocator. */
void malloc_report_misuse(int kind, uintptr_t address, const void *caller);

/* The checked build's poison byte for free memory. */
#define MALLOC_POISON_BYTE 0xdb

#endif
