/*
 * kernel/mm/buddy.h - the buddy page allocator: 4 KiB pages handed out in naturally aligned
 * blocks of 2^order pages, order 0..BUDDY_MAX_ORDER.
 *
 * Memory. The caller passes the usable RAM as ranges (any number, any size, any alignment;
 * they must not overlap). buddy_init() rounds each range inward to whole pages, carves its own
 * metadata from the top of the highest range that can hold it (buddy_stats.metadata_bytes says
 * how much) and covers the rest with the largest naturally aligned blocks that fit, merging
 * blocks of ranges that touch. The allocator writes only into memory it manages: its
 * metadata, and free pages when poisoning them (checked builds).
 *
 * Metadata (see buddy_internal.h): one state byte per page spanned by a region, plus a
 * largest-free tree per root (each aligned slot of 2^BUDDY_MAX_ORDER pages: no block is larger):
 * a byte per node, 2^m-page nodes for m = 0 up to the root, each holding 1 + the order of the
 * largest free block inside it, laid out as a heap (2 bytes per page in all); and the root index
 * (buddy_index.h): for each order k, the set of roots holding a free block of order k or more,
 * as bit words, 64 roots to a word (32 on rv32), with levels of words above (BUDDY_MAX_ORDER + 1
 * bits per root). That is 3 bytes per 4 KiB page, 0.073% of the RAM. The free blocks themselves
 * hold nothing: there are no free lists; the index and the trees find the highest free block of
 * an order or more (which a list cannot), and the buddy of a block is one tree byte away, in
 * O(1). Ranges close to each other share a region (the pages between them cost their metadata);
 * far-apart ranges get a region each. Each region costs at most two largest blocks of extra span
 * (6 KiB with the default order 10), so the 0.1% bound holds for any RAM whose regions are
 * aligned to the largest block, and for RAM of 22 MiB and more otherwise.
 *
 * Policy: the highest free addresses are handed out first; a request of order k gets the
 * highest naturally aligned 2^k-page slot that is entirely free (the program break grows up
 * from the low end, so the two meet as late as possible). Order-0 pages come from the per-hart
 * cache, which is refilled with the highest entirely free 2^BUDDY_CACHE_BATCH_ORDER-page slot
 * (free pages scattered above it stay in the pool until no such slot is left).
 *
 * Cost (n = BUDDY_MAX_ORDER, I = the index's levels of words, 1 up to 64 roots (256 MiB with
 * the default order on rv64, 128 MiB on rv32), 2 up to 4096 roots (16 GiB on rv64); R = regions):
 *   buddy_alloc, buddy_free: O(n + I + R), whatever the size of the RAM. An allocation takes the
 *   highest root of its order's set from the index (a bit scan per level), walks down that root's
 *   tree to the highest free block of its order or more (at most n levels), splits it (one tree
 *   byte pair, one state byte and one counter per order) and walks up while node values change
 *   (at most n levels); a root whose value changes moves in the index (a word per order it
 *   enters or leaves, per level only where a word empties or stops being empty). A free merges
 *   with its buddies (each found from one tree byte) and walks up the same way. buddy_claim,
 *   buddy_release: O(pages / word bytes + blocks met + n * roots met); a claim of one aligned
 *   block inside one free block (a single page always is) is a split of that block, O(n).
 *   buddy_init: one memset of the metadata, O(n) per block smaller than a root, the whole roots
 *   a word of the index at a time. Order-0 pages go through a per-hart cache; a hit takes only
 *   the calling hart's own cache lock (contended only by a drain). A refill is one pool
 *   allocation (one index look-up, one walk down, one split, one climb) plus
 *   2^BUDDY_CACHE_BATCH_ORDER cache entries; a free into a full cache is one pool free, and so
 *   is buddy_drain_caches (one page a call). Only the out-of-memory path and a claim of cached
 *   pages move more than one cached page in a call (see below).
 *
 * Per-hart caches: each hart (hart_self() < RVMEM_MAX_HARTS) keeps up to BUDDY_CACHE_PAGES
 * order-0 pages. An empty cache is refilled with one block: the highest entirely free aligned
 * slot of 2^BUDDY_CACHE_BATCH_ORDER pages; its highest page is handed out, the others cached
 * with the highest on top. When no free block is that large, the refill takes the highest free
 * page alone (split off its block, as an order-0 allocation from the pool would be) and caches
 * nothing: in a pool that fragmented every refill brings one page. A free that finds its cache
 * full gives that one page straight back to the pool (it merges there); the cache never holds
 * more than BUDDY_CACHE_PAGES. In the kernel every hart has a cache (a hart whose index would
 * be RVMEM_MAX_HARTS or more is never started). When the shared pool cannot satisfy a request,
 * what the caches hold serves it: an order-0 request takes the top page of the first cache that
 * holds one (its own hart's first; O(RVMEM_MAX_HARTS)), a larger one has cached pages given back
 * to the pool a page at a time until its block exists (O(pages moved), out of memory only), and
 * it fails only when the caches cannot complete it. buddy_drain_caches gives back one cached
 * page a call; buddy_drain_all_caches gives back every cached page, a page at a time (claims
 * of cached pages, tests). Each cache has its own spinlock: its owner takes it on every cache operation
 * (uncontended: one atomic swap), and a hart short of memory or draining takes it to take pages
 * out of another hart's cache synchronously, so the pages are usable at once. A cache's room and
 * entries are only touched under its lock. Lock order: a cache lock, then the shared lock;
 * nobody takes a cache lock while holding the shared lock (a hart whose own refill fails
 * releases its cache lock before looking at the others), and nobody holds two cache locks but
 * buddy_validate, which takes them in index order before the shared lock: no cycle, no deadlock.
 *
 * Thread-safety: everything except buddy_init is safe on all harts at once.
 * Failure: exhaustion returns NULL / -E_NOMEM and never panics; an order above
 * BUDDY_MAX_ORDER is -E_INVAL. Misuse of buddy_free/buddy_release (double free, a pointer that
 * is not the start of an allocated block, wrong order, pointer outside the managed RAM) is
 * reported through misuse_report() and refused with -E_INVAL, leaving the state untouched.
 * With RVMEM_CHECKED, freed pages are filled with BUDDY_POISON_BYTE and checked when handed out
 * again (a difference is reported as MISUSE_WRITE_AFTER_FREE; the block is still handed out).
 * Not detected: two harts freeing the same order-0 page at the very same moment.
 */
#ifndef RVMEM_KERNEL_MM_BUDDY_H
#define RVMEM_KERNEL_MM_BUDDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/base/layout.h" /* PAGE_SIZE; RVMEM_MAX_HARTS: harts with a page cache */
#include "kernel/base/spinlock.h"

#ifndef BUDDY_MAX_ORDER
#define BUDDY_MAX_ORDER 10 /* largest block: 2^10 pages = 4 MiB */
#endif
#ifndef BUDDY_MAX_REGIONS
#define BUDDY_MAX_REGIONS 8 /* far-apart memory banks; more are merged (metadata spans the gap) */
#endif
#ifndef BUDDY_CACHE_PAGES
#define BUDDY_CACHE_PAGES 31 /* order-0 pages a hart's cache holds; 31 makes a cache 512 bytes */
#endif
#ifndef BUDDY_CACHE_BATCH_ORDER
#define BUDDY_CACHE_BATCH_ORDER 3 /* a refill takes one block of (at most) 2^3 = 8 pages */
#endif

#define BUDDY_REGION_MAX_ORDER 30 /* a region spans at most 2^30 pages (4 TiB) */
/* Levels of a region's root index (buddy_index.h) at most: 32 roots to a word or more. */
#define BUDDY_INDEX_LEVELS ((BUDDY_REGION_MAX_ORDER - BUDDY_MAX_ORDER + 4) / 5)
#define BUDDY_POISON_BYTE 0x6b /* Linux's POISON_FREE */

#if BUDDY_MAX_ORDER > 15 || BUDDY_MAX_ORDER < BUDDY_CACHE_BATCH_ORDER
#error "BUDDY_MAX_ORDER must be in BUDDY_CACHE_BATCH_ORDER..15 (the state byte keeps the order in 4 bits)"
#endif
#if (1 << BUDDY_CACHE_BATCH_ORDER) > BUDDY_CACHE_PAGES
#error "a cache must hold at least one batch"
#endif

/* A piece of usable RAM, [start, end) in bytes. */
struct buddy_range {
    uintptr_t start;
    uintptr_t end;
};

/*
 * A span of page frames with its metadata; aligned to the largest block at both ends, so that it
 * is a row of roots: slots of 2^BUDDY_MAX_ORDER pages, each with a largest-free tree.
 */
struct buddy_region {
    uintptr_t first_pfn;         /* page frame number (address >> PAGE_SHIFT) of the first page */
    uintptr_t page_count;        /* pages spanned, a multiple of 2^BUDDY_MAX_ORDER */
    uint8_t *page_state;         /* one state byte per page, see buddy_internal.h */
    uint8_t *trees;              /* the largest-free trees, a heap of 2^(BUDDY_MAX_ORDER + 1) bytes per root */
    unsigned long *index_top;    /* the top word of each set of the root index (buddy_index.h) */
    unsigned long **index_level; /* [index_levels] levels of the root index, level 0 first, in struct buddy */
    unsigned index_levels;       /* not an unsigned long: the index's word stores cannot alias it */
};

struct buddy_cache_entry {
    void *page;
    uint8_t *state; /* the page's state byte */
};

/* One hart's order-0 page cache (a stack: the last page freed is the first handed out). */
struct buddy_cache {
    struct spinlock lock;
    /*
     * Empty entries * sizeof(struct buddy_cache_entry). The stack grows down: the pages held are
     * entries[room_bytes / sizeof entry] (the top) to entries[BUDDY_CACHE_PAGES - 1]. In bytes,
     * and counting down, so that the fast paths neither scale it nor compare it with a constant
     * when pushing (full is 0).
     */
    unsigned long room_bytes;
    struct buddy_cache_entry entries[BUDDY_CACHE_PAGES];
} __attribute__((aligned(64)));

#define BUDDY_CACHE_EMPTY_ROOM (BUDDY_CACHE_PAGES * sizeof(struct buddy_cache_entry))

/* Pages a cache holds. */
static inline unsigned long buddy_cache_pages(const struct buddy_cache *cache)
{
    return BUDDY_CACHE_PAGES - cache->room_bytes / sizeof(struct buddy_cache_entry);
}

/* The entries a cache holds: [0] is the top of the stack, [buddy_cache_pages(cache) - 1] the bottom. */
static inline struct buddy_cache_entry *buddy_cache_held(struct buddy_cache *cache)
{
    return &cache->entries[cache->room_bytes / sizeof(struct buddy_cache_entry)];
}

/*
 * An allocator instance. Zero it or not: buddy_init fills every field. The fields the fast
 * paths read come first, so that they are reached with short offsets.
 */
struct buddy {
    struct buddy_region regions[BUDDY_MAX_REGIONS]; /* read-only after init; sorted by address */
    unsigned region_count;
    struct buddy_region *regions_end; /* &regions[region_count]: the pool walks them from the top */
    unsigned long total_pages;        /* pages managed, metadata excluded */
    unsigned long metadata_bytes;     /* carved from the ranges (whole pages) */

    /* The shared pool, under lock (before the caches: its counters are reached with short offsets). */
    struct spinlock lock __attribute__((aligned(64)));
    unsigned long pool_free_pages;
    unsigned long peak_out_pages; /* highest total_pages - pool_free_pages seen */
    unsigned long free_blocks[BUDDY_MAX_ORDER + 1];

    struct buddy_cache caches[RVMEM_MAX_HARTS];                       /* entry i belongs to hart_self() == i */
    unsigned long *root_index[BUDDY_MAX_REGIONS][BUDDY_INDEX_LEVELS]; /* region r's root index levels */
};

/*
 * Takes the ranges over (see the top of this file). Not thread-safe: call it before the
 * allocator is shared. Returns 0, -E_INVAL for bad arguments or overlapping ranges,
 * -E_NOMEM when no range can hold the metadata or no page is left, -E_RANGE for a region
 * spanning more than 2^BUDDY_REGION_MAX_ORDER pages.
 */
int buddy_init(struct buddy *buddy, const struct buddy_range *ranges, unsigned range_count);

/* Allocates 2^order pages aligned to their size. Returns NULL when out of memory or order is too big. */
void *buddy_alloc(struct buddy *buddy, unsigned order);

/* Same, with the reason: 0 and *block set, -E_NOMEM or -E_INVAL (then *block = NULL). */
int buddy_alloc_checked(struct buddy *buddy, unsigned order, void **block);

/*
 * Gives back a block from buddy_alloc (same order) or one page of a claimed range (order 0).
 * It coalesces with its free buddies. Returns 0; NULL is ignored (0). Misuse: reported, -E_INVAL.
 */
int buddy_free(struct buddy *buddy, void *block, unsigned order);

/*
 * Takes exactly the pages [start, end) out of the free memory, if every one of them is free
 * (pages in per-hart caches count as free: the caches are drained when needed). The pages are
 * then allocated order-0 pages: give them back with buddy_free(page, 0) one by one or with
 * buddy_release. Returns 0 (also for start == end), -E_BUSY if a page is in use (nothing is
 * changed), -E_INVAL if start or end is not page aligned, end < start, or a page is not managed.
 */
int buddy_claim(struct buddy *buddy, uintptr_t start, uintptr_t end);

/*
 * Gives back [start, end), every page of which must be an allocated order-0 page (as buddy_claim
 * leaves them); they coalesce. Returns 0, -E_INVAL for unaligned or unmanaged bounds, or for
 * misuse (reported for the first offending page; nothing is changed).
 */
int buddy_release(struct buddy *buddy, uintptr_t start, uintptr_t end);

/*
 * Gives one cached page back to the shared pool: the top page of the first hart's cache, in hart
 * order, that holds one. Returns the pages moved: 1, or 0 once every cache is empty. Bounded
 * like a free into a full cache (one pool free) plus a glance at each cache: call it again for
 * the rest (what a hart idle between requests, or a test, does).
 */
unsigned long buddy_drain_caches(struct buddy *buddy);

/*
 * Empties every hart's cache into the shared pool: one pass over the caches, each under its own
 * lock, a page at a time as buddy_drain_caches gives it back (each page one pool free under its
 * own acquisition of the shared lock). O(cached pages): for claims of cached pages, tests and
 * the tour. Returns the pages moved.
 */
unsigned long buddy_drain_all_caches(struct buddy *buddy);

struct buddy_stats {
    unsigned long total_pages;     /* managed, metadata excluded */
    unsigned long free_pages;      /* in the shared pool plus in per-hart caches */
    unsigned long cached_pages;    /* of which in per-hart caches */
    unsigned long used_pages;      /* total - free: allocated and claimed */
    unsigned long peak_used_pages; /* highest count of pages out of the pool: used + cached, exact */
    unsigned long metadata_bytes;
    unsigned long free_blocks[BUDDY_MAX_ORDER + 1]; /* free blocks per order in the pool (buddyinfo) */
};

/* Fills *stats. Each part is consistent (pool under its lock, each cache under its own), not the whole. */
void buddy_get_stats(struct buddy *buddy, struct buddy_stats *stats);

/* Free pages, pool plus caches (the number tests compare before and after). */
unsigned long buddy_free_pages(struct buddy *buddy);

/*
 * The fragmentation index of an order, in thousandths, as Linux mm/vmstat.c defines it:
 * -1000 when a free block of that order or larger exists, 0 when nothing is free, else
 * 1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks, from 0 (no memory) towards 1000
 * (fragmentation). Based on the pool (stats->free_blocks). 0 for an order above BUDDY_MAX_ORDER.
 */
int buddy_fragmentation_index(const struct buddy_stats *stats, unsigned order);

/* What buddy_block_at says of a page. */
enum buddy_page_state {
    BUDDY_PAGE_UNMANAGED, /* not the allocator's: excluded RAM, its metadata, a hole, no RAM */
    BUDDY_PAGE_FREE,      /* in a free block of the pool or in a per-hart cache */
    BUDDY_PAGE_ALLOCATED, /* inside an allocated block (claimed pages included) */
};

/*
 * The state of the page holding address, and in *pages how many pages from it on share that state
 * as part of the same block (1 for an unmanaged page). Reads the state bytes without the locks: on
 * a busy machine a snapshot, never a change. O(BUDDY_MAX_ORDER + regions).
 */
enum buddy_page_state buddy_block_at(struct buddy *buddy, uintptr_t address, uintptr_t *pages);

/* Prints the totals, free blocks per order (buddyinfo) and fragmentation indexes (x.yyy). */
void buddy_print_stats(struct buddy *buddy, const char *name);

/*
 * Cross-checks every state byte, bitmap word, counter and cache entry. Takes every lock.
 * Returns 0, or -E_BADDATA after printing the first inconsistency.
 */
int buddy_validate(struct buddy *buddy);

#endif
