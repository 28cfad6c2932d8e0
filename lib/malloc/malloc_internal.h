/*
 * lib/malloc/malloc_internal.h - shared state and internal interfaces of the malloc core (lib/malloc_*.c).
 *
 * Not for users: include lib/malloc/malloc.h. The pieces:
 *   malloc_api.c      the public entry points and their fast paths (per-hart caches)
 *   malloc_small.c    size classes: runs, central lists, refill/drain in batches, run reclaim
 *   malloc_large.c    blocks above the classes (> 64 KiB): TLSF with the accounting
 *   malloc_direct.c   blocks the heap cannot hold, mapped by the binding (host only) and registered
 *   malloc_tlsf.c     TLSF over the break (large blocks and runs), growth and trim via more-core
 *   malloc_tlsf_validate.c TLSF's validator (malloc_tlsf_chunk.h: the chunk header both share)
 *   malloc_checked.c  the checked build's wrappers (headers, canaries, poison, state words)
 *   malloc_validate.c the heap walker; malloc_stats.c the statistics
 *
 * Locks: one per size class (central list and its runs) and one for TLSF (which also guards the
 * break). A class lock may be held while taking the TLSF lock, never the other way round. The
 * direct blocks' registry has its own, never held with another.
 */
#ifndef RVMEM_LIB_MALLOC_MALLOC_INTERNAL_H
#define RVMEM_LIB_MALLOC_MALLOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/arch.h"
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/base/spinlock.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "malloc_step_table.h" /* generated: tools/malloc_step_table.py */

#define MALLOC_LIKELY(x) __builtin_expect(!!(x), 1)
#define MALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Bit scans. The host compilers and a Zbb target have an instruction for them; the kernel's
 * rv64imac has none and links no libgcc, so there the top bit is found by smearing it down and
 * looking the result up with a de Bruijn multiply (no branch; the lowest bit needs no smearing).
 */
#if defined(RVMEM_HOST) || defined(__riscv_zbb)
#define MALLOC_BIT_SCAN_INSTRUCTION 1 /* a scan costs one instruction (TLSF's mapping_search uses two) */
static inline unsigned malloc_highest_bit(uint64_t value) /* value != 0 */
{
    /* 63 - clz, as XOR (clz is 0..63): x86's bsr, which gives the bit itself, then needs no fix-up. */
    return (unsigned)__builtin_clzll(value) ^ 63u;
}

static inline unsigned malloc_lowest_bit(uint64_t value) /* value != 0 */
{
    return (unsigned)__builtin_ctzll(value);
}
#else
#define MALLOC_BIT_SCAN_INSTRUCTION 0
#define MALLOC_DE_BRUIJN_64 0x03f79d71b4cb0a89ull
extern const uint8_t malloc_de_bruijn_position[64];

static inline unsigned malloc_highest_bit(uint64_t value) /* value != 0 */
{
    value |= value >> 1;
    value |= value >> 2;
    value |= value >> 4;
    value |= value >> 8;
    value |= value >> 16;
    value |= value >> 32;
    return malloc_de_bruijn_position[(value * MALLOC_DE_BRUIJN_64) >> 58];
}

/* The lowest set bit alone, minus one and doubled, is already smeared: no shifts. */
static inline unsigned malloc_lowest_bit(uint64_t value) /* value != 0 */
{
    uint64_t smeared = ((value & -value) << 1) - 1; /* bit 63: the shift gives 0, so all ones */
    return malloc_de_bruijn_position[(smeared * MALLOC_DE_BRUIJN_64) >> 58];
}
#endif

/*
 * Size classes: 0..62 are 16..1008 bytes in 16-byte steps; 63 is 1024; then 8 per power of two,
 * 1152..65536. Their sizes, run sizes and magazine sizes are tables (malloc_classes_init);
 * MALLOC_CLASS_STEP_SHIFT-byte steps map a size above 1008 to its class.
 */
#define MALLOC_LINEAR_CLASSES (MALLOC_SMALL_MAX_BYTES / MALLOC_ALIGNMENT)
#define MALLOC_CLASS_STEP_SHIFT 7
#define MALLOC_CLASS_STEPS (MALLOC_CLASS_MAX_BYTES >> MALLOC_CLASS_STEP_SHIFT)
/* Short run sizes per class (malloc_classes.short_run_bytes). */
#define MALLOC_SHORT_RUN_SIZES 2
struct malloc_classes {
    uint32_t block_bytes[MALLOC_SMALL_CLASSES];
    uint32_t run_bytes[MALLOC_SMALL_CLASSES];
    uint32_t cache_limit[MALLOC_SMALL_CLASSES]; /* blocks in one magazine */
    /* Sizes of a short run, the larger first: where the heap holds free memory inside it that a
     * run of the usual size (run_bytes) does not fit, new_run takes a short run there rather than
     * grow the heap. Only classes from 1 KiB up have them (0 below). */
    uint32_t short_run_bytes[MALLOC_SHORT_RUN_SIZES][MALLOC_SMALL_CLASSES];
};
extern struct malloc_classes malloc_classes;

/*
 * The step table, at compile time (a thread cache's initial image holds a copy): step s covers
 * sizes up to (s + 1) << 7 bytes and holds the cache entry (class + 1) of the smallest class
 * that size fits. Only the sizes above 1008 use it. tools/malloc_step_table.py writes it
 * (MALLOC_ENTRY_OF_STEP_TABLE) into the build's generated/ folder, which every build that
 * compiles lib/malloc/ has on its include path; tests/lib/malloc.c checks every size against the
 * class sizes malloc_classes_init computes.
 */
_Static_assert(MALLOC_STEP_TABLE_SMALL_MAX_BYTES == MALLOC_SMALL_MAX_BYTES &&
                   MALLOC_STEP_TABLE_CLASS_MAX_BYTES == MALLOC_CLASS_MAX_BYTES &&
                   MALLOC_STEP_TABLE_STEP_SHIFT == MALLOC_CLASS_STEP_SHIFT &&
                   MALLOC_STEP_TABLE_CLASSES == MALLOC_SMALL_CLASSES && MALLOC_STEP_TABLE_STEPS == MALLOC_CLASS_STEPS,
               "tools/malloc_step_table.py computed the table for these classes");

/* (size - 1) >> 7 -> class + 1 (MALLOC_ENTRY_OF_STEP_TABLE); each cache holds a copy. */
extern const uint8_t malloc_entry_of_step[MALLOC_CLASS_STEPS];

/* Fills the class tables (idempotent; rvmem_malloc_init calls it). */
void malloc_classes_init(void);

/* Bytes of a block of class c. */
static inline size_t small_class_bytes(unsigned class_index)
{
    return malloc_classes.block_bytes[class_index];
}

/* Class of a size in 1..MALLOC_CLASS_MAX_BYTES. */
static inline unsigned small_class_of(size_t size)
{
    if (size <= MALLOC_SMALL_MAX_BYTES)
        return (unsigned)((size - 1) >> 4);
    return malloc_entry_of_step[(size - 1) >> MALLOC_CLASS_STEP_SHIFT] - 1u;
}

/*
 * A free block in a magazine (a loaded list, a spare, or a chain on the central stack): its first
 * word links the next block, its second is its *room*: how many more blocks the magazine may take
 * while this block is on top, limit - (blocks from it to the end). Every magazine ends at its
 * cache entry's list end (malloc_list_ends[entry]: link NULL, room the class's limit), so malloc's
 * pop stops where the link is NULL and free reads the room of whatever is on top, with no count to
 * keep in the cache: a pop changes nothing but the head. A chain's first block has the link to
 * the next chain in place of its room (0, as the top of any full magazine). Loose blocks
 * (central->free_list) are linked by their first word alone and end in NULL.
 */
struct magazine_block {
    struct magazine_block *next;
    uintptr_t room;
};

/*
 * One size class in one hart's cache (the "loaded magazine"): the top block of a magazine, or the
 * list end alone when it is empty. Entry i's list end is malloc_list_ends[i] once the entry is set
 * up (limit != 0); until then (caches start dormant) and always for entry 0 it is
 * malloc_list_ends[0], whose room 0 and NULL link send free and malloc to their slow paths. A full
 * magazine (top room 0) becomes the hart's spare for the class (struct malloc_cache's spares),
 * and the previous spare goes to the central state as one chain, so every exchange is O(1).
 */
struct malloc_cache_class {
    struct magazine_block *head;
    uint32_t limit; /* the class's magazine size once set up; 0 until then */
} __attribute__((aligned(16)));

/* 16 bytes on rv32 too: malloc's fast path turns (size + 15) & ~15 straight into an entry's offset. */
_Static_assert(sizeof(struct malloc_cache_class) == MALLOC_ALIGNMENT, "a cache entry is 16 bytes");

/*
 * A hart's cache. Entry i serves class i - 1, so the fast paths index it with (size + 15) >> 4
 * (sizes up to 1008), through its copy of the step table (up to 64 KiB) and with the page
 * map's byte (also class + 1) directly; entry 0 stays empty, which sends malloc(0) (and sizes
 * that wrap round) to the slow path at no cost. spares[i] is entry i's spare magazine: NULL, or
 * a full magazine of exactly small_cache_limit blocks (only the slow paths touch it).
 * rvmem_malloc_init starts the caches of malloc_state (malloc_cache_start); a thread cache
 * starts dormant from its initial image (malloc_api.c).
 * The page map's coordinates, the mode, 113 spares, the step table and 113 entries: 3280 bytes a
 * hart (rv64).
 */
#define MALLOC_CACHE_ENTRIES (MALLOC_SMALL_CLASSES + 1)

struct malloc_cache {
    /* Copies of malloc_state's page-map fields (set at init, or lazily for thread caches), so free's fast path reaches
     * everything from the cache pointer alone. */
    uintptr_t heap_start;
    uintptr_t map_span_bytes;
    const uint8_t *page_map;
    /* Closed (rvmem_malloc_close_cache, at a thread's end): every entry stays dormant, so the fast
     * paths always fall to the slow ones, which take and give one block at a time straight from
     * and to the class's central state: the cache holds nothing. */
    uintptr_t closed; /* 0 (open), MALLOC_CACHE_CLOSED or MALLOC_CACHE_LEAN */
    /* malloc's fast path compares a request with these instead of with constants (the same
     * instruction count: a load from the cache for an immediate): MALLOC_SMALL_MAX_BYTES and
     * MALLOC_CLASS_MAX_BYTES, or 0 and 0 in lean mode, which send every request to the slow
     * path with its size (alloc_beyond_classes, then TLSF at the size asked, not its class's). */
    uintptr_t small_max_bytes;
    uintptr_t class_max_bytes;
    void *spares[MALLOC_CACHE_ENTRIES];
    /* A copy of malloc_entry_of_step, so malloc's path for 1009..65536 bytes finds its entry from
     * the cache pointer alone (no table address to form): malloc_cache_start writes it, and a
     * thread cache's initial image holds it. */
    uint8_t entry_of_step[MALLOC_CLASS_STEPS];
    struct malloc_cache_class entries[MALLOC_CACHE_ENTRIES];
};

/*
 * struct malloc_cache's closed: MALLOC_CACHE_CLOSED at a thread's end (rvmem_malloc_close_cache:
 * class blocks one at a time from and to their classes), MALLOC_CACHE_LEAN in lean mode (the
 * same dormant entries, but mallocs go to TLSF: malloc_api.c's alloc_beyond_classes).
 */
#define MALLOC_CACHE_CLOSED 1
#define MALLOC_CACHE_LEAN 2

/* Each array's start is one 12-bit immediate offset from the cache pointer (the index is added in a register). */
_Static_assert(__builtin_offsetof(struct malloc_cache, entries) < 2048, "entries within reach");

/*
 * The list end of each cache entry (index: class + 1): NULL link, room the class's limit (0 for
 * entry 0, the end of dormant entries). Filled by malloc_classes_init; read-only afterwards.
 */
extern struct magazine_block malloc_list_ends[MALLOC_CACHE_ENTRIES];

/* Blocks in the magazine whose top is head, of an entry whose limit is limit. O(1). */
static inline uint32_t magazine_length(const struct magazine_block *head, uint32_t limit)
{
    return limit - (uint32_t)head->room;
}

/* Makes every entry of cache dormant: empty, set up on first use by the slow paths. */
void malloc_cache_start(struct malloc_cache *cache);

/* The entry of class_index in cache. */
static inline struct malloc_cache_class *cache_entry_of(struct malloc_cache *cache, unsigned class_index)
{
    return &cache->entries[class_index + 1];
}

/*
 * Per-hart caches: each hart's cache is its private area, which the platform seam lends
 * (hart_area, kernel/base/platform.h); the LD_PRELOAD library (RVMEM_MALLOC_THREAD_CACHE) gives
 * every thread its own thread-local cache instead.
 */
#if defined(RVMEM_MALLOC_THREAD_CACHE)
extern __thread struct malloc_cache malloc_thread_cache __attribute__((tls_model("initial-exec")));
#define MALLOC_CACHES 1
#else
#define MALLOC_CACHES RVMEM_MAX_HARTS
_Static_assert(sizeof(struct malloc_cache) <= HART_AREA_BYTES, "a hart's private area holds its cache");
#endif

/* A run: pages dedicated to one small class (page aligned); blocks follow the header. */
struct small_run {
    uintptr_t tlsf_prev_size; /* the TLSF chunk header the run lives in (see malloc_tlsf.c) */
#if UINTPTR_MAX == 0xffffffffu
    uint32_t tlsf_padding[2]; /* rv32: as in struct tlsf_chunk, the size is the header's last word */
#endif
    uintptr_t tlsf_size;
    struct small_run *next_run; /* the class's list of runs */
    uint16_t class_index;
    uint16_t capacity;     /* blocks in the run */
    uint32_t scratch_free; /* used by trim and the validator (under the class lock) */
};
#define SMALL_RUN_HEADER_BYTES 32
#define SMALL_RUN_MAX_PAGES 255 /* the page map's second byte counts back at most 254 pages */
/*
 * While the heap is reserved, a run's blocks are laid out lazily, at most SMALL_LAZY_CUT_BLOCKS
 * per refill and, for big blocks, at most SMALL_LAZY_CUT_BYTES' worth (one block at least): a
 * magazine shorter than its limit when the limit is more, so that no call lays out more blocks
 * or marks more pages of the page maps than that.
 */
#define SMALL_LAZY_CUT_BLOCKS 8
#define SMALL_LAZY_CUT_BYTES ((size_t)32 << 10)

/*
 * The central state of one size class. Full magazines come and go whole: chains is a stack of
 * lists of exactly small_cache_limit blocks each, linked through their first block's second word.
 * Loose blocks (from cache flushes) sit on free_list.
 */
struct small_central {
    struct spinlock lock;
    void *chains;       /* full magazines (link to the next chain: the first block's second word) */
    size_t chain_count; /* chains on the stack */
    void *free_list;    /* loose free blocks (link in the first word) */
    size_t free_count;  /* blocks on free_list */
    uintptr_t bump;     /* uncarved blocks of the newest run: [bump, bump_end) */
    uintptr_t bump_end;
    bool uncarved_laid_out; /* laid out as magazines from bump on (new_run); false: not yet (reserved heap) */
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
    /*
     * The free end of the last region, on no list: its top chunk (free, ending at the region's
     * sentinel), or that sentinel itself (size 0) when the region ends in a used chunk; NULL
     * before the first region. Allocation cuts from its front when no listed chunk fits.
     */
    struct tlsf_chunk *top;
    /*
     * Free chunks whose released pages could not be reclaimed when they were about to be handed
     * out (the binding's reclaim_pages failed): on no free list, marked used with CHUNK_RELEASED,
     * linked through next_free/prev_free in their header (on their first page, never released).
     * Back on the free lists at the next trim; reclaimed first when the heap would grow.
     */
    struct tlsf_chunk *holes;
    size_t hole_bytes;  /* their chunk sizes (neither free nor used bytes; tlsf_free_bytes) */
    size_t used_blocks; /* allocated chunks, runs included */
    size_t used_bytes;  /* their chunk sizes */
    size_t more_core_calls;
    size_t peak_span_bytes;
    size_t trim_extra_bytes;     /* added to the automatic trim's threshold after trims proved wasted */
    size_t last_auto_trim_bytes; /* what the last automatic trim gave back, until the heap grows again */
};

struct direct_slot;

/* Direct blocks (malloc_direct.c): the registry of the live ones. */
struct direct_registry {
    struct spinlock lock;
    struct direct_slot *slots; /* mapped on first use (NULL: no direct block yet) */
    unsigned slots_shift;      /* the table has 1 << slots_shift slots (0 while slots is NULL) */
    size_t count;              /* live direct blocks */
    size_t resizes;            /* direct blocks resized by remap_pages, ever */
    size_t bytes;              /* their mapped bytes */
};

/*
 * Runs of idle classes on their way back to TLSF (malloc_idle.c): each list is one class's runs,
 * linked through next_run, as they were when the class was detached.
 */
#define SMALL_PENDING_LISTS 8
struct small_pending {
    struct spinlock lock;
    unsigned lists;
    struct small_run *runs[SMALL_PENDING_LISTS];
    size_t run_count; /* runs on the lists */
};

/*
 * The scan of a mostly free class (malloc_scan.c): its free blocks and runs, taken off the class,
 * counted and sorted in bounded steps; the runs whose blocks are all free go to the pending lists.
 */
enum small_scan_phase {
    SMALL_SCAN_IDLE,        /* no scan */
    SMALL_SCAN_ZERO,        /* zeroing each run's scratch_free */
    SMALL_SCAN_COUNT,       /* counting the free blocks of each run */
    SMALL_SCAN_SORT_RUNS,   /* runs to released (every block free) or kept */
    SMALL_SCAN_SORT_BLOCKS, /* blocks of kept runs into magazines; those of released runs dropped */
    SMALL_SCAN_FINISH,      /* handing back, when the class lock and the pending lists allow */
};
struct small_scan {
    struct spinlock lock;
    unsigned phase; /* enum small_scan_phase; changes to or from SMALL_SCAN_IDLE under the class lock too */
    unsigned class_index;
    struct small_run *runs;       /* the class's runs not sorted yet */
    struct small_run *run_cursor; /* SMALL_SCAN_ZERO's position */
    size_t run_count;             /* every run of the scan */
    void *chains;                 /* the free blocks taken: full magazines (chains) ... */
    struct magazine_block *loose; /* ... and loose blocks */
    size_t free_blocks;           /* how many, with the uncarved tail (statistics) */
    uintptr_t tail, tail_end;     /* the uncarved tail of tail_run (NULL: none) */
    struct small_run *tail_run;
    bool tail_laid_out; /* the tail's pages are marked (else laid out lazily: not all) */
    size_t carry;       /* blocks of the scan's runs out when it started: the class counts them carved */
    /* The walk over the free blocks taken (counting, then sorting). */
    void *walk_chain;
    struct magazine_block *walk_at, *walk_loose;
    uint32_t walk_left;
    /* Sorted: */
    struct small_run *kept, *kept_last, *released;
    size_t kept_count, released_count;
    /* The kept runs' free blocks, as full magazines and one being built (loose at the end), in two
     * piles: SMALL_SCAN_FULLER (blocks of runs at most half free), handed out first, and
     * SMALL_SCAN_EMPTIER (runs more than half free), so those runs may empty and go back. */
    struct small_scan_pile {
        void *chains, *chains_bottom;
        size_t chain_count;
        struct magazine_block *forming, *forming_bottom;
        uint32_t forming_count;
    } piles[2];
    size_t returned; /* blocks going back to the class */
};
#define SMALL_SCAN_FULLER 0
#define SMALL_SCAN_EMPTIER 1

/* Which pile a run's free blocks go to once its scratch_free counts them: SMALL_SCAN_EMPTIER when
 * more than half of its blocks are free. The fuller runs' blocks are handed out first (the scan's
 * finish, the trim's release_class), so the emptier runs may empty. */
static inline unsigned small_run_pile(const struct small_run *run)
{
    return (size_t)run->scratch_free * 2 > run->capacity ? SMALL_SCAN_EMPTIER : SMALL_SCAN_FULLER;
}

/* Everything, in one object so the fast paths reach it with one address. Fields used by the fast paths first. */
struct malloc_state {
    uintptr_t heap_start;     /* page map index 0 */
    uintptr_t map_span_bytes; /* bytes of address space the page map covers */
    uint8_t *page_map;        /* per page: 0 (not a small run), or 1 + class index */
    uint8_t *run_page_index;  /* per page of a run: how many pages after the run's first page it is */
    void *(*more_core)(intptr_t increment);
    void (*thread_cache_opened)(void);
    bool ready;
    uint32_t mode; /* enum malloc_mode: what caches first used from now on take (malloc_mode.c) */
    size_t failed_requests;
    size_t peak_bytes_in_use;
    size_t small_bytes_out; /* bytes of small blocks outside the central lists (held or cached) */
    size_t large_bytes_out; /* usable bytes of TLSF blocks the program holds (large blocks, fallbacks) */
    size_t run_changes;     /* runs taken for a class or given back (page-level refills), ever */
    size_t reserved_bytes;  /* rvmem_malloc_reserve's floor on the heap span (0: none); TLSF lock */
    struct small_central centrals[MALLOC_SMALL_CLASSES];
    struct tlsf_state tlsf;
    void *(*map_pages)(size_t bytes); /* the binding's, for direct blocks (NULL: none) */
    void (*unmap_pages)(void *start, size_t bytes);
    void *(*remap_pages)(void *start, size_t old_bytes, size_t new_bytes); /* NULL: direct blocks do not move */
    void (*release_pages)(void *start, size_t bytes);                      /* NULL: free pages inside the heap stay */
    int (*reclaim_pages)(void *start, size_t bytes); /* NULL: released pages are usable as they are */
    struct direct_registry direct;
    /* Off the fast paths' way, after everything they use: */
    /* classes that may be idle (malloc_idle.c): 1; read a word at a time */
    uint8_t idle_candidates[MALLOC_SMALL_CLASSES] __attribute__((aligned(sizeof(uintptr_t))));
    size_t idle_detaches; /* idle classes detached, ever */
    unsigned idle_cursor; /* where the next look at candidates starts */
    struct small_pending pending;
    struct small_scan scan;
    size_t scans;              /* class scans started, ever */
    size_t scan_runs_released; /* runs the scans found all free, ever */
    /* The release at a cache's close (malloc_api.c): bytes free in the classes after the last one,
       and the most small_bytes_out since (thread caches only). */
    size_t free_small_after_release;
    size_t out_small_peak_since_release;
};

extern struct malloc_state malloc_state;

/* The cache of hart (below MALLOC_CACHES; the LD_PRELOAD build has only the calling thread's). */
static inline struct malloc_cache *malloc_cache_of(unsigned hart)
{
#if defined(RVMEM_MALLOC_THREAD_CACHE)
    (void)hart;
    return &malloc_thread_cache;
#else
    return (struct malloc_cache *)hart_area(hart);
#endif
}

/*
 * The calling hart's (thread's) cache, and the fast paths' view of it: the entry entry_bytes / 16
 * (class + 1) and the step table's byte for step. In the kernel the area is tp plus a constant
 * (hart_area_self_plus), so the constant folds into each load's immediate.
 */
#if defined(RVMEM_MALLOC_THREAD_CACHE)
static inline struct malloc_cache *malloc_cache_self(void)
{
    return &malloc_thread_cache;
}
#define MALLOC_SELF_AT(type, field, index) ((type *)((char *)malloc_thread_cache.field + (index)))
#else
static inline struct malloc_cache *malloc_cache_self(void)
{
    return (struct malloc_cache *)hart_area_self_plus(0);
}
#define MALLOC_SELF_AT(type, field, index)                                                                             \
    ((type *)(hart_area_self_plus(index) + __builtin_offsetof(struct malloc_cache, field)))
#endif
static inline struct malloc_cache_class *malloc_self_entry_at(uintptr_t entry_bytes)
{
    return MALLOC_SELF_AT(struct malloc_cache_class, entries, entry_bytes);
}
static inline uintptr_t malloc_self_entry_of_step(uintptr_t step)
{
    return *MALLOC_SELF_AT(uint8_t, entry_of_step, step);
}

/*
 * Blocks in one magazine of a class (a hart holds at most two): 8192 bytes' worth, 8 to 64
 * blocks, for the 16-byte-step classes; 128 KiB's worth, 8 to 32 blocks, from 1024 bytes up to
 * 16 KiB; 2 blocks above.
 */
static inline uint32_t small_cache_limit(unsigned class_index)
{
    return malloc_classes.cache_limit[class_index];
}

/* --- core operations (no misuse checks beyond cheap range checks) --- */

/*
 * The unchecked allocator (malloc_api.c). In checked builds lib/malloc/malloc_checked.c's public
 * functions wrap these; otherwise the public functions are the fast paths themselves (no call in
 * between), and these name them.
 */
#ifdef RVMEM_CHECKED
void *malloc_core_alloc(size_t size);
void malloc_core_free(void *block);
size_t malloc_core_usable_size(const void *block);
#else
static inline void *malloc_core_alloc(size_t size)
{
    return rvmem_malloc(size);
}
static inline void malloc_core_free(void *block)
{
    rvmem_free(block);
}
static inline size_t malloc_core_usable_size(const void *block)
{
    return rvmem_malloc_usable_size(block);
}
#endif
void *malloc_core_aligned(size_t alignment, size_t size);

/* Small classes (malloc_small.c). */
void *small_alloc_slow(unsigned class_index);
/*
 * The malloc fast path's way out when the calling hart's entry (of its cache) is empty: loads the
 * spare magazine, or takes one from the central state, and returns its first block (the rest
 * loaded in entry); the first use of an entry, malloc(0) and exhaustion go on to
 * malloc_refill_failed. NULL when out of memory.
 */
void *small_refill(struct malloc_cache_class *entry);
/* alloc's slow path for the class of cache entry entry_index (0: malloc(0)): reclaims, retries, counts failures. */
void *malloc_refill_failed(unsigned entry_index);
/*
 * Every allocation's way out when the fast path cannot serve it: the class (its cache, its central
 * state, a new run) or TLSF above the classes; when that fails, malloc_reclaim and one more try.
 * NULL (counted as a failed request) when memory is exhausted or malloc is not set up.
 */
void *malloc_alloc_slow(size_t size);
/*
 * Out of memory: gives this hart's cached blocks back and releases every run whose blocks are all
 * free, so memory freed as one class can serve another. Returns true when something was released.
 */
bool malloc_reclaim(void);

/* Counts a request that returned NULL for lack of memory. */
static inline void malloc_note_failure(void)
{
    __atomic_fetch_add(&malloc_state.failed_requests, 1, __ATOMIC_RELAXED);
}
void small_free_slow(void *block, unsigned class_index);
void small_free_no_room(void *block, struct malloc_cache_class *entry, unsigned class_index);
void malloc_cache_bind(struct malloc_cache *cache);

/* Binds the calling hart's cache on its first use (thread caches start zeroed). */
static inline void malloc_cache_open(struct malloc_cache *cache)
{
    if (MALLOC_UNLIKELY(cache->page_map != malloc_state.page_map))
        malloc_cache_bind(cache);
}
void small_flush_cache(struct malloc_cache *cache);
/* Flushes cache and closes it (struct malloc_cache's closed). O(cache size). */
void small_close_cache(struct malloc_cache *cache);
size_t small_cache_length(const struct malloc_cache_class *entry);
size_t small_release_free_runs(void);

/*
 * Free blocks in a class's central state: loose, in full magazines, and not carved yet. Exact with
 * the class lock held; without it (relaxed loads) an estimate, for heuristics and statistics.
 */
static inline size_t small_central_free_blocks(const struct small_central *central, unsigned class_index)
{
    uintptr_t bump = __atomic_load_n(&central->bump, __ATOMIC_RELAXED);
    uintptr_t bump_end = __atomic_load_n(&central->bump_end, __ATOMIC_RELAXED);
    return __atomic_load_n(&central->free_count, __ATOMIC_RELAXED) +
           __atomic_load_n(&central->chain_count, __ATOMIC_RELAXED) * small_cache_limit(class_index) +
           (bump < bump_end ? (bump_end - bump) / small_class_bytes(class_index) : 0);
}

/*
 * What is out of a class (blocks held by the program or cached by a hart): the blocks of its runs
 * less those in its central state. Class lock held.
 */
static inline size_t small_out_blocks(const struct small_central *central, unsigned class_index)
{
    return central->carved_blocks - small_central_free_blocks(central, class_index);
}

/*
 * After blocks came back to a class (class lock held): marks it a candidate for the idle check
 * (malloc_idle.c) when at least half of its blocks are in full magazines on its central stack: a
 * class mostly free. A multiply, a compare and a byte store on the path that gives a magazine back.
 */
static inline void small_note_given(const struct small_central *central, unsigned class_index, uint32_t limit)
{
    if (central->chain_count * limit * 2 >= central->carved_blocks)
        __atomic_store_n(&malloc_state.idle_candidates[class_index], 1, __ATOMIC_RELAXED);
}

/*
 * Starts the scan of a class mostly free (malloc_scan.c), from the idle look with its lock held:
 * when at most 1/8 of its blocks is out beyond the calling hart's cache (cached of them, out in
 * all), it holds two runs or more and 1 MiB or more, and no scan is under way. Its free blocks
 * (the calling hart's cached ones included) and runs go to the scan; the class goes on empty.
 * Returns whether it started. O(limit).
 */
bool small_scan_start(struct malloc_cache *cache, unsigned class_index, uint32_t cached, size_t out);
/* Whether a scan is under way (a relaxed load: a hint for the callers of small_scan_step). */
static inline bool small_scan_active(void)
{
    return __atomic_load_n(&malloc_state.scan.phase, __ATOMIC_RELAXED) != SMALL_SCAN_IDLE;
}
/* Whether class_index is under scan. Its class lock held (the scan starts and ends under it). */
static inline bool small_scan_has_class(unsigned class_index)
{
    return malloc_state.scan.phase != SMALL_SCAN_IDLE && malloc_state.scan.class_index == class_index;
}
/*
 * One bounded step of the scan under way, if any and nobody else is taking one: at most
 * SMALL_SCAN_STEP_UNITS blocks or runs visited (plus one uncarved tail, at most a run's blocks).
 * Safe with any class lock held (the locks it needs are only tried).
 */
void small_scan_step(void);
/*
 * Takes every step left of the scan under way (trim, reclaim). No class lock held. O(its blocks).
 * False when it could not hand the scan back because the pending lists are full: give pending
 * runs back (small_release_pending_runs) and call it again.
 */
bool small_scan_complete(void);
/* The scan's runs and free bytes (0 and 0 when none), for the statistics. */
void small_scan_stats(size_t *runs, size_t *free_bytes);
/*
 * Checks the scan's runs (headers, page map) and adds their marked pages to *map_pages_expected;
 * sets *class_index (MALLOC_SMALL_CLASSES: none) and *carry (the blocks its class counts carved
 * for the scan's runs). Every class lock held. 0 or negative.
 */
int small_validate_scan(size_t *map_pages_expected, size_t *carry, unsigned *class_index);

/*
 * A class's new run when TLSF could serve one of run_bytes only by growing the heap: idle classes'
 * runs given back first (small_idle_make_room, a round at a time), then a short run in a free chunk
 * inside the heap (small_short_run_bytes), the heap grown only when neither makes room. NULL when
 * nothing can. Its size: its TLSF chunk's whole pages. Class lock held.
 */
struct small_run *small_idle_run_instead_of_growth(unsigned class_index, size_t run_bytes);
/*
 * When TLSF could serve bytes only by growing the heap: round 0 detaches the candidate classes that
 * are idle (all their blocks free, the out ones in the calling hart's cache); every round gives
 * pending runs back to TLSF until they hold bytes (at most a few runs), so the caller can try again
 * without growth. Returns whether it gave anything back (false after the last round: grow).
 * refilling_class (MALLOC_SMALL_CLASSES: none) is never detached; the caller may hold its lock.
 * O(classes) in round 0, then O(runs released).
 */
bool small_idle_make_room(unsigned refilling_class, size_t bytes, unsigned round);
/* Whether idle classes may have memory to give back: pending runs, or a candidate marked. O(classes / 8). */
static inline bool small_idle_may_help(void)
{
    if (__atomic_load_n(&malloc_state.pending.lists, __ATOMIC_RELAXED) || small_scan_active())
        return true;
    const uintptr_t *marks = (const uintptr_t *)(const void *)malloc_state.idle_candidates;
    uintptr_t any = 0;
    for (unsigned word = 0; word < MALLOC_SMALL_CLASSES / sizeof(uintptr_t); word++)
        any |= __atomic_load_n(&marks[word], __ATOMIC_RELAXED);
    return any != 0;
}

/*
 * Empties a class's central state (its runs and free blocks taken elsewhere by the caller):
 * carved_blocks becomes carried, the blocks of its old runs still out (0 when none is).
 * Class lock held.
 */
static inline void small_central_empty(struct small_central *central, size_t carried)
{
    central->runs = NULL;
    central->run_count = 0;
    central->carved_blocks = carried;
    central->chains = NULL;
    central->chain_count = 0;
    central->free_list = NULL;
    central->free_count = 0;
    central->bump = central->bump_end = 0;
}

/* Clears every candidate mark (a trim has released what idle classes held). */
void small_idle_forget_candidates(void);
/* Gives every pending run back to TLSF (trim, reclaim); returns how many. */
size_t small_release_pending_runs(void);
/* Short runs classes took inside the heap instead of growing it, ever (a relaxed load). */
size_t small_short_runs_taken(void);
/* The pending runs and their bytes (under the pending lock; O(pending runs): for statistics). */
void small_pending_stats(size_t *runs, size_t *bytes);
/* Checks the pending runs (headers, page map); adds their pages to *map_pages_expected. 0 or negative. */
int small_validate_pending(size_t *map_pages_expected);
/* Bytes of free blocks in the classes' central states (loose, chained, uncarved): a relaxed sum, no lock. */
size_t small_free_central_bytes(void);
/* Bytes of a run of class class_index of the usual size (pages, header included). */
static inline size_t small_run_bytes(unsigned class_index)
{
    return malloc_classes.run_bytes[class_index];
}

/* Bytes of short run size `size` of class class_index (0: the larger; 0 bytes: the class has none). */
static inline size_t small_short_run_bytes(unsigned class_index, unsigned size)
{
    return malloc_classes.short_run_bytes[size][class_index];
}

/*
 * Bytes of this run (pages, header included), usual or short: every run size is the least whole
 * pages for its capacity (malloc_classes_init), so the capacity tells it. O(1).
 */
static inline size_t small_run_size(const struct small_run *run)
{
    size_t blocks_end = (size_t)run->capacity * small_class_bytes(run->class_index) + SMALL_RUN_HEADER_BYTES;
    return (blocks_end + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
}

/* Whether a run of class class_index may be run_bytes long: the usual size or a short one. */
static inline bool small_run_size_valid(unsigned class_index, size_t run_bytes)
{
    if (run_bytes == small_run_bytes(class_index))
        return true;
    for (unsigned size = 0; size < MALLOC_SHORT_RUN_SIZES; size++)
        if (run_bytes == small_short_run_bytes(class_index, size))
            return true;
    return false;
}

/* Puts a list of count runs on the pending lists, which have room. Pending lock held. */
static inline void small_pending_add(struct small_run *runs, size_t count)
{
    struct small_pending *P = &malloc_state.pending;
    P->runs[P->lists++] = runs;
    P->run_count += count;
}

/* Clears the pages of a run in both page maps (the run goes back to TLSF). */
static inline void small_clear_map(struct small_run *run, size_t run_bytes)
{
    size_t first_page = ((uintptr_t)run - malloc_state.heap_start) >> PAGE_SHIFT;
    size_t pages = run_bytes >> PAGE_SHIFT;
    memset(&malloc_state.page_map[first_page], 0, pages);
    memset(&malloc_state.run_page_index[first_page], 0, pages);
}
bool small_block_is_start(uintptr_t block, unsigned class_index);

/*
 * Page-map marks for many pages (runs of up to 255 pages) a word at a time (malloc_map.c): pages
 * from..to - 1 after class_of_page and pages_back, mark and how far each is from the first.
 */
void small_mark_map_words(uint8_t *class_of_page, uint8_t *pages_back, size_t from, size_t to, uint8_t mark);

/*
 * Marks pages from..to - 1 of a run (counted from its first page) in both page maps: class + 1,
 * and how far each is from the first. O(pages), a word at a time for many pages.
 */
static inline void small_mark_map_range(struct small_run *run, size_t from, size_t to, unsigned class_index)
{
    size_t first_page = ((uintptr_t)run - malloc_state.heap_start) >> PAGE_SHIFT;
    uint8_t *class_of_page = malloc_state.page_map + first_page;
    uint8_t *pages_back = malloc_state.run_page_index + first_page;
    if (to - from >= 4 * sizeof(uintptr_t)) {
        small_mark_map_words(class_of_page, pages_back, from, to, (uint8_t)(class_index + 1));
        return;
    }
    for (size_t i = from; i < to; i++) { /* the runs below 1 KiB (1 or 2 pages) and a few above */
        class_of_page[i] = (uint8_t)(class_index + 1);
        pages_back[i] = (uint8_t)i;
    }
}

/* The second word of a chain's first block links the central stack of chains. */
static inline void **small_chain_link(void *chain)
{
    return &((void **)chain)[1];
}

/*
 * Makes the loose list first (count blocks, count <= limit) a magazine: each block's room, and
 * the class's list end after the last. Returns its first block. O(count).
 */
static inline struct magazine_block *small_magazine_of_loose(void *first, uint32_t count, unsigned class_index)
{
    uint32_t limit = small_cache_limit(class_index);
    struct magazine_block *block = first;
    for (uint32_t room = limit - count; room < limit - 1; room++, block = block->next)
        block->room = room;
    block->room = limit - 1;
    block->next = &malloc_list_ends[class_index + 1];
    return first;
}

/*
 * Keeps the class's loose list shorter than a magazine: while it holds a limit of blocks or
 * more, the first limit of them become a chain (a full magazine: rooms written, ending at the
 * class's list end). Class lock held; O(loose blocks), so only on the flush and reclaim paths.
 */
static inline void small_chain_loose(struct small_central *central, unsigned class_index)
{
    uint32_t limit = small_cache_limit(class_index);
    while (central->free_count >= limit) {
        void *chain = central->free_list;
        struct magazine_block *last = chain;
        for (uint32_t i = 1; i < limit; i++)
            last = last->next;
        central->free_list = last->next;
        central->free_count -= limit;
        small_magazine_of_loose(chain, limit, class_index);
        *small_chain_link(chain) = central->chains;
        central->chains = chain;
        central->chain_count++;
    }
}

/* The class of the run holding address, or -1 when address is not in a small run. */
static inline int small_class_at(uintptr_t address)
{
    uintptr_t offset = address - malloc_state.heap_start;
    if (offset >= malloc_state.map_span_bytes)
        return -1;
    return (int)malloc_state.page_map[offset >> PAGE_SHIFT] - 1;
}

/* The run holding address (in a page of a run): the second page map says how many pages back it starts. */
static inline struct small_run *small_run_of(uintptr_t address)
{
    size_t page = (address - malloc_state.heap_start) >> PAGE_SHIFT;
    size_t first_page = page - malloc_state.run_page_index[page];
    return (struct small_run *)(malloc_state.heap_start + (first_page << PAGE_SHIFT));
}

/*
 * Puts cache in mode (malloc_mode.c's switch, and a thread cache first used in lean mode): to lean
 * it is flushed and closed (its entries dormant, closed MALLOC_CACHE_LEAN, its size bounds 0, so
 * every malloc goes to TLSF by malloc_api.c's alloc_beyond_classes); to fast it opens again (its entries set
 * themselves up on first use). A cache closed at a thread's end stays closed. O(cache size).
 */
void small_cache_set_mode(struct malloc_cache *cache, enum malloc_mode mode);

/* Is the calling hart's (thread's) cache in lean mode? (Binds it first: thread caches start unbound.) */
static inline bool malloc_self_is_lean(void)
{
    struct malloc_cache *cache = malloc_cache_self();
    malloc_cache_open(cache);
    return cache->closed == MALLOC_CACHE_LEAN;
}

/* Blocks above the classes (malloc_large.c): TLSF blocks with the accounting. */
void *large_alloc(size_t alignment, size_t size);

/*
 * Direct blocks (malloc_direct.c), for requests the heap cannot hold, where the binding maps pages.
 * direct_alloc: a block of size bytes (a whole number of pages) aligned to alignment (a power of
 * two), or NULL (no map_pages, refused, registry full). direct_bytes_of: the bytes of the direct
 * block starting at block, 0 when no direct block starts there (reads only the registry).
 * direct_free: unmaps it and returns true, or false (nothing changed) when block is not one.
 * direct_start_containing: the start of the direct block holding address, or 0 (O(registry):
 * the checked build's check of a pointer before reading its header). direct_stats: count, bytes,
 * resizes by remapping.
 */
void *direct_alloc(size_t alignment, size_t size);
size_t direct_bytes_of(uintptr_t block);
bool direct_free(void *block);
uintptr_t direct_start_containing(uintptr_t address);
void direct_stats(size_t *blocks, size_t *bytes, size_t *resizes);

/*
 * A large block that grows past MALLOC_REMAP_MIN_BYTES and cannot grow in place becomes a direct
 * block once (one copy), where the binding can move pages instead of copying them (remap_pages);
 * below that, or without remap_pages, realloc moves it within the heap as before. The heap block
 * it leaves gives its whole pages back (release_pages) before it is freed. A direct block
 * realloc'd to MALLOC_REMAP_MIN_BYTES or more is resized by remapping; below, it moves into the
 * heap. glibc's default mmap threshold is the same 128 KiB.
 */
#define MALLOC_REMAP_MIN_BYTES ((size_t)128 << 10)

/*
 * Resizes the direct block starting at block to hold size bytes (rounded up to pages) by the
 * binding's remap_pages, which may move it: returns its start, or NULL with the block unchanged
 * (no remap_pages, block not a direct block, or the system refused). Growing, it maps twice the
 * block's old bytes when that is more than size (the exact size when the system refuses that),
 * so its bytes (direct_bytes_of, usable size) may exceed size. O(1) expected plus the system
 * call(s); no bytes are copied.
 */
void *direct_resize(void *block, size_t size);

/* Whether growing blocks become direct blocks that move by remapping (the binding offers remap_pages). */
static inline bool direct_remaps(void)
{
    return malloc_state.remap_pages != NULL;
}

/* TLSF (malloc_tlsf.c). Sizes are payload bytes; returned pointers are payloads (16-aligned). */
/*
 * Whether a request the heap cannot hold may grow it: always, never (from what the heap holds
 * only: NULL when that cannot serve it), unless idle classes may have memory to give back first
 * (small_idle_may_help: then NULL, and the caller has them give it and tries again), and, for a
 * class's run of more than SMALL_SHORT_RUNS_ABOVE_BYTES, also unless a listed chunk may hold a
 * short run of its class (new_run then tries those before it grows the heap).
 */
enum tlsf_growth { TLSF_GROW, TLSF_NO_GROWTH, TLSF_GROW_UNLESS_IDLE, TLSF_GROW_RUN_UNLESS_IDLE_OR_INSIDE };
/* Runs of this size or less are of classes without short runs (4 and 8 KiB, blocks under 1 KiB);
 * every short run of a larger one is at least a quarter of its usual size. */
#define SMALL_SHORT_RUNS_ABOVE_BYTES ((size_t)8192)
void *tlsf_alloc_aligned(size_t alignment, size_t size, enum tlsf_growth growth);
/* tlsf_alloc_aligned at MALLOC_ALIGNMENT, where every payload is aligned: no placement to compute. */
void *tlsf_alloc(size_t size, enum tlsf_growth growth);
void tlsf_free(void *payload);
/*
 * Every TLSF chunk starts with a 16-byte header whose last word is its size (a multiple of 16)
 * with flags in the low bits (malloc_tlsf_chunk.h): the word right before the payload.
 */
#define TLSF_CHUNK_HEADER_BYTES 16
/* Payload bytes of the TLSF block at payload (its chunk's size less the header). O(1), no lock. */
static inline size_t tlsf_usable_size(const void *payload)
{
    return (((const uintptr_t *)payload)[-1] & ~(uintptr_t)(TLSF_CHUNK_HEADER_BYTES - 1)) - TLSF_CHUNK_HEADER_BYTES;
}
/* Where the payload of the chunk after payload's would be (it may be the region's end). */
void *tlsf_next_payload(const void *payload);
/*
 * Resizes the TLSF block at payload to hold size bytes without moving it: a shrink frees the rest,
 * a growth takes a free next chunk, and the last block before the top grows the heap first when
 * the top is too small. false (nothing changed) when it cannot.
 */
bool tlsf_resize_in_place(void *payload, size_t size);
/*
 * Whether address lies in one of TLSF's regions. Lock-free: a valid block's region is stable
 * while the block lives (regions go only when empty; region_count is published after a new
 * region's fields). O(regions).
 */
static inline bool tlsf_owns(uintptr_t address)
{
    unsigned count = __atomic_load_n(&malloc_state.tlsf.region_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < count; i++) {
        const struct tlsf_region *region = &malloc_state.tlsf.regions[i];
        if (address >= region->first_chunk && address < region->end)
            return true;
    }
    return false;
}
bool tlsf_is_allocated_payload(uintptr_t payload);
struct small_run *tlsf_alloc_run(size_t run_bytes, enum tlsf_growth growth);
/* A run of run_bytes in a listed free chunk (inside the heap: neither its top nor growth), or
 * NULL. Takes the TLSF lock; O(1). */
struct small_run *tlsf_alloc_run_inside(size_t run_bytes);
void tlsf_free_run(struct small_run *run);
size_t tlsf_trim(size_t keep_bytes);
/*
 * Grows the heap (one more-core call) so its span is at least span_bytes and sets
 * malloc_state.reserved_bytes to span_bytes, the floor every trim keeps. 0, or -E_NOMEM with
 * nothing changed when more-core refuses. Takes the TLSF lock.
 */
int tlsf_reserve(size_t span_bytes);
int tlsf_validate(const void *caller);
uintptr_t tlsf_break(void);
/*
 * Bytes of the free chunks, the top's included: every region's chunks (from its first to its
 * sentinel) less the used ones and the holes, so no list or top operation counts them. Lock held
 * (or no other hart allocating). O(regions).
 */
size_t tlsf_free_bytes(void);
void tlsf_poison(void *start, size_t bytes);

/* Records the current bytes in use if it is a new peak (approximate; see struct malloc_stats). */
static inline void malloc_note_peak(void)
{
    size_t now = __atomic_load_n(&malloc_state.small_bytes_out, __ATOMIC_RELAXED) +
                 __atomic_load_n(&malloc_state.large_bytes_out, __ATOMIC_RELAXED);
    if (MALLOC_UNLIKELY(now > __atomic_load_n(&malloc_state.peak_bytes_in_use, __ATOMIC_RELAXED))) {
        arch_atomic_max_relaxed(&malloc_state.peak_bytes_in_use, now);
    }
}

/* Counts a TLSF block just handed out: the bytes the program holds, and the peak. */
static inline void large_note_taken(const void *block)
{
    __atomic_fetch_add(&malloc_state.large_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
    malloc_note_peak();
}

/*
 * Lean mode's allocation (malloc_large.c's, inline on malloc's way in): large_alloc's first try
 * alone (a TLSF block of size at the default alignment, the heap grown only when no idle class
 * may give memory back), counted. NULL when that cannot serve it: the caller goes on to
 * malloc_alloc_slow, which tries everything.
 */
static inline __attribute__((always_inline)) void *large_alloc_lean(size_t size)
{
    void *block = tlsf_alloc(size, TLSF_GROW_UNLESS_IDLE);
    if (MALLOC_LIKELY(block != NULL))
        large_note_taken(block);
    return block;
}

/* Frees a TLSF block (a large block, or any block of lean mode), counted (malloc_large.c's). */
static inline void large_free(void *block)
{
    __atomic_fetch_sub(&malloc_state.large_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
    tlsf_free(block);
}

/* Reports misuse found by the allocator (kernel/base/misuse.h) with "malloc" as the allocator. */
void malloc_report_misuse(int kind, uintptr_t address, const void *caller);

/* The checked build's poison byte for free memory. */
#define MALLOC_POISON_BYTE 0xdb

#endif
