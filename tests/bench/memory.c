/*
 * tests/bench/memory.c - page allocation and the program break, in guest instructions.
 *
 * Budgeted: sbrk with no page change; sbrk_uninit claiming 16 and 256 pages (malloc's pads) and
 * brk giving 256 back; order-0 alloc/free through the per-hart cache (mean and max); the max of
 * the random-order churn over every call, refills of the per-hart cache and frees into a full one
 * included, of those two slow paths on their own, of a drain call, and of the worst cases built
 * on purpose (issue 14: every call at most 400: the deepest walks, splits and merges; the two
 * calls that take what the caches hold, out of memory or for a claim, miss it and have a guard,
 * see below). Reported only: sbrk claiming a page, with and without clearing it. Every budget
 * is a regression guard (docs/BENCHMARKS.md, "Budgets and goals": the margin, and the issue
 * targets not reached yet, which are goals there); a figure above its budget fails `make bench`.
 */
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/base/layout.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/sbrk.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "tests/harness/kbench.h"
#include "tests/harness/ktest_arena.h"

#define CALLS 1000

/* Warm the calling hart's cache so the measured calls hit it. */
static void warm_cache(void)
{
    void *page = page_alloc(0);
    page_free(page, 0);
}

KBENCH(page_alloc_order0_cached, 30, 30)
{
    static void *pages[CALLS];
    warm_cache();
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t start = kbench_start();
        pages[i] = page_alloc(0);
        kbench_stop(start);
        page_free(pages[i], 0);
    }
}

KBENCH(page_free_order0_cached, 40, 40)
{
    warm_cache();
    for (unsigned i = 0; i < CALLS; i++) {
        void *page = page_alloc(0);
        uint64_t start = kbench_start();
        page_free(page, 0);
        kbench_stop(start);
    }
}

/* xorshift: a fixed, repeatable sequence. */
static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* The calling hart's page cache, to tell which calls refill or drain it. */
static struct buddy_cache *own_cache(void)
{
    return &kernel_pages()->caches[hart_self()];
}

#define RANDOM_SLOTS 64
#define TIDE_PAGES 96
#define TIDE_STEPS 160 /* steps per tide: rising (mostly order-0 allocations), then falling */

/*
 * Random orders 0..BUDDY_MAX_ORDER, every call measured, refills and drains of the per-hart
 * cache included. It starts from an empty cache. Half the steps take or give back a block of a
 * random order in one of 64 slots; the other half are order-0 tides: TIDE_STEPS steps mostly
 * allocating, then as many mostly freeing, so that the cache runs empty (refills) and full (a
 * free that gives its page straight back) on purpose. The benchmark counts both and fails when
 * the sequence did not cross them often enough to be worth its name.
 */
KBENCH(page_alloc_free_random_orders, 0, 400)
{
    static struct {
        void *block;
        unsigned order;
    } live[RANDOM_SLOTS];
    static void *tide[TIDE_PAGES];
    unsigned tide_count = 0, refills = 0, drains = 0;
    struct buddy_cache *cache = own_cache();
    buddy_drain_all_caches(kernel_pages());
    uint32_t seed = 12345;
    for (unsigned i = 0; i < 4 * CALLS; i++) {
        uint32_t choice = next_random(&seed);
        bool empty = buddy_cache_pages(cache) == 0, full = buddy_cache_pages(cache) == BUDDY_CACHE_PAGES;
        uint64_t start;
        if (choice % 2 == 0) {
            unsigned slot = (choice >> 8) % RANDOM_SLOTS;
            if (live[slot].block) {
                drains += live[slot].order == 0 && full;
                start = kbench_start();
                page_free(live[slot].block, live[slot].order);
                kbench_stop(start);
                live[slot].block = NULL;
            } else {
                live[slot].order = next_random(&seed) % (BUDDY_MAX_ORDER + 1);
                refills += live[slot].order == 0 && empty;
                start = kbench_start();
                live[slot].block = page_alloc(live[slot].order);
                kbench_stop(start);
            }
            continue;
        }
        bool rising = (i / TIDE_STEPS) % 2 == 0;
        bool allocate = tide_count == 0 || (tide_count < TIDE_PAGES && (rising ? choice % 8 != 1 : choice % 8 == 1));
        if (allocate) {
            refills += empty;
            start = kbench_start();
            tide[tide_count] = page_alloc(0);
            kbench_stop(start);
            tide_count++;
        } else {
            unsigned victim = (choice >> 8) % tide_count;
            drains += full;
            start = kbench_start();
            page_free(tide[victim], 0);
            kbench_stop(start);
            tide[victim] = tide[--tide_count];
        }
    }
    for (unsigned slot = 0; slot < RANDOM_SLOTS; slot++)
        if (live[slot].block)
            page_free(live[slot].block, live[slot].order);
    while (tide_count > 0)
        page_free(tide[--tide_count], 0);
    kprintf("# page_alloc_free_random_orders: %u refills, %u frees into a full cache among the measured calls\n",
            refills, drains);
    if (refills < 20 || drains < 20)
        kbench_fail("the sequence crossed fewer than 20 refills or 20 frees into a full cache");
}

/*
 * The cache's slow paths, each inside one call: an order-0 allocation that finds the cache empty
 * (a refill: one block from the pool), and an order-0 free that finds it full (that page goes
 * straight to the pool).
 */
static void cache_cycles(bool measure_refills)
{
    static void *pages[2 * BUDDY_CACHE_PAGES];
    struct buddy_cache *cache = own_cache();
    for (unsigned round = 0; round < 50; round++) {
        for (unsigned i = 0; i < 2 * BUDDY_CACHE_PAGES; i++) {
            bool refill = buddy_cache_pages(cache) == 0;
            uint64_t start = kbench_start();
            pages[i] = page_alloc(0);
            if (refill && measure_refills)
                kbench_stop(start);
        }
        for (unsigned i = 0; i < 2 * BUDDY_CACHE_PAGES; i++) {
            bool drain = buddy_cache_pages(cache) == BUDDY_CACHE_PAGES;
            uint64_t start = kbench_start();
            page_free(pages[i], 0);
            if (drain && !measure_refills)
                kbench_stop(start);
        }
    }
}

KBENCH(page_alloc_order0_refill, 0, 382)
{
    cache_cycles(true);
}

KBENCH(page_free_order0_drain, 0, 261)
{
    cache_cycles(false);
}

/*
 * Worst cases built on purpose: every block of the batch order is allocated but the lowest one,
 * so an allocation walks down to it (the root index, then the lowest root's tree: 7 levels) and,
 * having taken the region's only free block of that order, climbs back to that root. Each
 * sample: caches drained (the block is whole again), one call of the given order measured
 * (order 0: a refill of the empty cache), then the block given back.
 */
#define DEEPEST_MAX_BLOCKS ((512ul << 20) >> (12 + BUDDY_CACHE_BATCH_ORDER)) /* every batch block of 512 MiB */
/* Where the blocks are kept: a test arena (tests/harness/ktest_arena.h), taken before the pool is emptied. */
static struct ktest_arena deepest_blocks = KTEST_ARENA(sizeof(void *) * DEEPEST_MAX_BLOCKS, sizeof(void *));

static void deepest_allocations(unsigned order)
{
    void **blocks = ktest_arena_memory(&deepest_blocks);
    if (blocks == NULL) {
        kbench_fail("cannot take the memory for the list of blocks");
        return;
    }
    unsigned long count = 0;
    buddy_drain_all_caches(kernel_pages());
    while (count < DEEPEST_MAX_BLOCKS && (blocks[count] = page_alloc(BUDDY_CACHE_BATCH_ORDER)) != NULL)
        count++;
    if (count == 0 || count == DEEPEST_MAX_BLOCKS) {
        kbench_fail("could not take every block of the batch order");
    } else {
        page_free(blocks[--count], BUDDY_CACHE_BATCH_ORDER); /* the lowest (handed out last) */
        for (unsigned round = 0; round < 20; round++) {
            buddy_drain_all_caches(kernel_pages());
            uint64_t start = kbench_start();
            void *block = page_alloc(order);
            kbench_stop(start);
            page_free(block, order);
        }
    }
    buddy_drain_all_caches(kernel_pages());
    while (count > 0)
        page_free(blocks[--count], BUDDY_CACHE_BATCH_ORDER);
}

/* Budgets: issue 14's bound, at most 400 instructions for every call of the page allocator. */
#define PAGE_CALL_BUDGET 400
KBENCH(page_alloc_order0_refill_deepest, 0, PAGE_CALL_BUDGET)
{
    deepest_allocations(0);
}

KBENCH(page_alloc_order1_deepest, 0, PAGE_CALL_BUDGET)
{
    deepest_allocations(1);
}

/*
 * More worst cases, built with the pool emptied: every free block is taken (the largest first,
 * the caches drained), then one whole largest block R (a root of the allocator's trees, 2^10
 * pages) is given back and shaped with claims, so that the pool holds exactly the free blocks a
 * case needs. The deepest walks are those to and from R's lowest page (BUDDY_MAX_ORDER levels
 * down and back up, R's root changing in the root index), the longest splits and merges those
 * of a block whose buddies are all free (from and to R whole). Every sample checks that the call
 * did what the case says, so that a change of policy cannot make it measure something else.
 */
struct held_block {
    void *block;
    unsigned order;
};

#define ROOT_PAGES (1ul << BUDDY_MAX_ORDER)
#define HELD_MAX (sizeof(void *) * DEEPEST_MAX_BLOCKS / sizeof(struct held_block))

static struct held_block *held_blocks;
static unsigned long held_count;

/* Takes every free block of the pool (caches drained); returns a whole largest block, or NULL. */
static char *empty_pool(void)
{
    held_blocks = ktest_arena_memory(&deepest_blocks);
    held_count = 0;
    if (held_blocks == NULL)
        return NULL;
    buddy_drain_all_caches(kernel_pages());
    for (unsigned order = BUDDY_MAX_ORDER + 1; order-- > 0;) {
        while (held_count < HELD_MAX && (held_blocks[held_count].block = page_alloc(order)) != NULL)
            held_blocks[held_count++].order = order;
    }
    if (held_count == HELD_MAX || held_count == 0 || held_blocks[0].order != BUDDY_MAX_ORDER)
        return NULL;
    return held_blocks[0].block;
}

/* Gives every block empty_pool took back, but the first (R), which the case has given back. */
static void refill_pool(void)
{
    buddy_drain_all_caches(kernel_pages());
    while (held_count > 1) {
        held_count--;
        page_free(held_blocks[held_count].block, held_blocks[held_count].order);
    }
    held_count = 0;
}

/*
 * empty_pool, then R given back whole: the pool holds that one free root and nothing else.
 * Returns R; NULL when the pool could not be emptied (the benchmark then failed, and whatever
 * empty_pool took went back).
 */
static char *pool_of_one_root(void)
{
    char *root = empty_pool();
    if (root == NULL) {
        kbench_fail("could not take every free block of the pool");
        refill_pool();
        return NULL;
    }
    page_free(root, BUDDY_MAX_ORDER);
    return root;
}

/* Claims [root + first_page, root + end_page) of a free root; a failure fails the benchmark. */
static bool claim_pages(char *root, unsigned long first_page, unsigned long end_page)
{
    if (first_page == end_page)
        return true;
    if (buddy_claim(kernel_pages(), (uintptr_t)root + first_page * PAGE_SIZE, (uintptr_t)root + end_page * PAGE_SIZE) ==
        0)
        return true;
    kbench_fail("could not claim pages of the root the pool was left with");
    return false;
}

static void release_pages(char *root, unsigned long first_page, unsigned long end_page)
{
    if (first_page < end_page)
        buddy_release(kernel_pages(), (uintptr_t)root + first_page * PAGE_SIZE, (uintptr_t)root + end_page * PAGE_SIZE);
}

/*
 * The pool holds only the lowest 2^block_order pages of R, one free block, smaller than a batch:
 * an allocation of that order takes it whole, walking down R's tree along its lowest pages and
 * climbing back, R's root changing from block_order + 1 to 0. A refill of the empty cache (order
 * 0) finds no batch and takes the highest free page alone (split off that block), caching nothing.
 */
static void lowest_block_allocations(unsigned block_order, unsigned order)
{
    char *root = pool_of_one_root();
    if (root == NULL)
        return;
    if (claim_pages(root, 1ul << block_order, ROOT_PAGES)) {
        char *expected = order == 0 ? root + ((1ul << block_order) - 1) * PAGE_SIZE : root;
        for (unsigned round = 0; round < 20; round++) {
            buddy_drain_all_caches(kernel_pages());
            uint64_t start = kbench_start();
            void *block = page_alloc(order);
            kbench_stop(start);
            if (block != expected || buddy_cache_pages(own_cache()) != 0)
                kbench_fail("the allocation did not take the highest page or block of the pool");
            page_free(block, order);
        }
        buddy_drain_all_caches(kernel_pages());
        release_pages(root, 1ul << block_order, ROOT_PAGES);
    }
    refill_pool();
}

KBENCH(page_alloc_order1_lowest_block, 0, PAGE_CALL_BUDGET)
{
    lowest_block_allocations(1, 1);
}

#define LOWEST_PAGE_REFILL_BUDGET 349 /* its figure plus the margin, as ONE_PAGE_CLAIM_BUDGET below */
KBENCH(page_alloc_order0_refill_lowest_page, 0, LOWEST_PAGE_REFILL_BUDGET)
{
    lowest_block_allocations(0, 0);
}

/* A refill in a fragmented pool: no block of a batch free, R's lowest half-batch split for its top page. */
KBENCH(page_alloc_order0_refill_fragmented_deepest, 0, PAGE_CALL_BUDGET)
{
    lowest_block_allocations(BUDDY_CACHE_BATCH_ORDER - 1, 0);
}

/* Whether R is one free block again (every merge done). */
static bool root_whole(char *root)
{
    uintptr_t pages = 0;
    return buddy_block_at(kernel_pages(), (uintptr_t)root, &pages) == BUDDY_PAGE_FREE && pages == ROOT_PAGES;
}

/*
 * The pool holds R whole: an allocation of an order splits R from the top down to R's highest
 * slot of that order, and its free merges back through every order above it, to R whole.
 */
static void merges_to_root(unsigned order, bool measure_free)
{
    char *root = pool_of_one_root();
    if (root == NULL)
        return;
    for (unsigned round = 0; round < 20; round++) {
        uint64_t start = kbench_start();
        char *block = page_alloc(order);
        if (!measure_free)
            kbench_stop(start);
        if (block != root + (ROOT_PAGES - (1ul << order)) * PAGE_SIZE)
            kbench_fail("the allocation did not take the root's highest slot");
        start = kbench_start();
        page_free(block, order);
        if (measure_free)
            kbench_stop(start);
        if (!root_whole(root))
            kbench_fail("the free did not merge back to the whole root");
    }
    refill_pool();
}

KBENCH(page_alloc_order1_splits_root, 0, PAGE_CALL_BUDGET)
{
    merges_to_root(1, false);
}

KBENCH(page_free_order1_merges_to_root, 0, PAGE_CALL_BUDGET)
{
    merges_to_root(1, true);
}

/*
 * The pool holds R but its top page: the claim of that one page (what the program break does a
 * page at a time) splits R from the top down to it, its free into a full cache gives it to the
 * pool, where it merges through every order back to R whole, and so does its release
 * (buddy_release: the break's way back). The cache is kept full with pages of a second whole
 * largest block S, which goes back to the pool at the end.
 */
enum root_page_case { ROOT_PAGE_CLAIM, ROOT_PAGE_FREE_INTO_FULL_CACHE, ROOT_PAGE_RELEASE };

static void top_page_of_root(enum root_page_case measured)
{
    char *root = empty_pool();
    char *second = held_count > 1 && held_blocks[1].order == BUDDY_MAX_ORDER ? held_blocks[1].block : NULL;
    if (root == NULL || second == NULL) {
        kbench_fail("could not take every free block of the pool");
        refill_pool();
        return;
    }
    held_blocks[1] = held_blocks[--held_count]; /* S goes back to the pool: refill_pool leaves it */
    page_free(second, BUDDY_MAX_ORDER);
    if (!claim_pages(second, 0, BUDDY_CACHE_PAGES)) {
        refill_pool();
        return;
    }
    for (unsigned long i = 0; i < BUDDY_CACHE_PAGES; i++)
        page_free(second + i * PAGE_SIZE, 0);
    page_free(root, BUDDY_MAX_ORDER);
    char *top_page = root + (ROOT_PAGES - 1) * PAGE_SIZE;
    for (unsigned round = 0; round < 20; round++) {
        if (buddy_cache_pages(own_cache()) != BUDDY_CACHE_PAGES)
            kbench_fail("the cache is not full");
        uint64_t start = kbench_start();
        bool claimed = claim_pages(root, ROOT_PAGES - 1, ROOT_PAGES);
        if (measured == ROOT_PAGE_CLAIM)
            kbench_stop(start);
        if (!claimed)
            break;
        start = kbench_start();
        if (measured == ROOT_PAGE_RELEASE)
            release_pages(root, ROOT_PAGES - 1, ROOT_PAGES);
        else
            page_free(top_page, 0);
        if (measured != ROOT_PAGE_CLAIM)
            kbench_stop(start);
        if (!root_whole(root))
            kbench_fail("the page did not merge back to the whole root");
    }
    buddy_drain_all_caches(kernel_pages());
    if (!root_whole(second))
        kbench_fail("the second root did not come back whole");
    refill_pool();
}

/* Within the 400: its figure plus the margin (docs/BENCHMARKS.md, "Budgets and goals"). */
#define ONE_PAGE_CLAIM_BUDGET 397
KBENCH(buddy_claim_one_page_splits_root, 0, ONE_PAGE_CLAIM_BUDGET)
{
    top_page_of_root(ROOT_PAGE_CLAIM);
}

KBENCH(page_free_order0_drain_merges_to_root, 0, PAGE_CALL_BUDGET)
{
    top_page_of_root(ROOT_PAGE_FREE_INTO_FULL_CACHE);
}

KBENCH(buddy_release_one_page_merges_to_root, 0, PAGE_CALL_BUDGET)
{
    top_page_of_root(ROOT_PAGE_RELEASE);
}

/*
 * The pool holds R but its top page, which is the only page cached (the calling hart's, whose
 * cache a drain looks at first): a drain call gives it back, and it merges through every order
 * back to R whole.
 */
KBENCH(buddy_drain_caches_merges_to_root, 0, 322)
{
    char *root = pool_of_one_root();
    if (root == NULL)
        return;
    char *top_page = root + (ROOT_PAGES - 1) * PAGE_SIZE;
    for (unsigned round = 0; round < 20 && claim_pages(root, ROOT_PAGES - 1, ROOT_PAGES); round++) {
        page_free(top_page, 0);
        if (buddy_cache_pages(own_cache()) != 1 || buddy_cache_held(own_cache())[0].page != top_page)
            kbench_fail("the page is not the only one cached");
        uint64_t start = kbench_start();
        unsigned long moved = buddy_drain_caches(kernel_pages());
        kbench_stop(start);
        if (moved != 1 || !root_whole(root))
            kbench_fail("the drain did not merge the page back to the whole root");
    }
    refill_pool();
}

/*
 * Out of memory, the calls that take what the caches hold. The pool is empty, R claimed whole,
 * and the calling hart's cache is full with 31 of R's pages: page 1 at the bottom, page 0 above
 * it, then the even pages 2..58 (no two of them buddies). An order-1 request gives cached pages
 * back from the top until a free block of order 1 exists: only the last, page 1, completes one
 * (with page 0), so it moves all 31. A claim of page 1 meets a cached page and empties every
 * cache before it looks again. Each round claims back what went to the pool.
 */
#define FROM_CACHE_EVEN_PAGES (BUDDY_CACHE_PAGES - 2)
enum from_cache_case { FROM_CACHE_ORDER1_REQUEST, FROM_CACHE_CLAIM };

/* Claims the pages the case cached, back from the pool (those the call did not take). */
static bool claim_cached_pages_back(char *root, bool page0, bool page1)
{
    bool claimed = (!page0 || claim_pages(root, 0, 1)) && (!page1 || claim_pages(root, 1, 2));
    for (unsigned long i = 1; claimed && i <= FROM_CACHE_EVEN_PAGES; i++)
        claimed = claim_pages(root, 2 * i, 2 * i + 1);
    return claimed;
}

static void from_full_cache(enum from_cache_case measured)
{
    char *root = pool_of_one_root();
    if (root == NULL)
        return;
    if (!claim_pages(root, 0, ROOT_PAGES)) {
        refill_pool();
        return;
    }
    bool whole = true; /* every page of R claimed: what the end releases */
    for (unsigned round = 0; round < 20 && whole; round++) {
        page_free(root + PAGE_SIZE, 0);
        page_free(root, 0);
        for (unsigned long i = 1; i <= FROM_CACHE_EVEN_PAGES; i++)
            page_free(root + 2 * i * PAGE_SIZE, 0);
        if (buddy_cache_pages(own_cache()) != BUDDY_CACHE_PAGES)
            kbench_fail("the cache is not full");
        if (measured == FROM_CACHE_ORDER1_REQUEST) {
            uint64_t start = kbench_start();
            char *block = page_alloc(1);
            kbench_stop(start);
            if (block != root || buddy_cache_pages(own_cache()) != 0)
                kbench_fail("the request did not take pages 0 and 1 after giving back the whole cache");
            if (block != NULL)
                page_free(block, 1);
            whole = claim_cached_pages_back(root, true, true);
        } else {
            uint64_t start = kbench_start();
            bool claimed = claim_pages(root, 1, 2);
            kbench_stop(start);
            if (buddy_cache_pages(own_cache()) != 0)
                kbench_fail("the claim did not empty the cache");
            whole = claim_cached_pages_back(root, true, !claimed);
        }
    }
    if (whole)
        release_pages(root, 0, ROOT_PAGES);
    refill_pool();
}

/* Not within the 400 (docs/BENCHMARKS.md, "Issue targets" says why): regression guards. */
KBENCH(page_alloc_order1_from_full_cache, 0, 4278)
{
    from_full_cache(FROM_CACHE_ORDER1_REQUEST);
}

KBENCH(buddy_claim_one_cached_page, 0, 4340)
{
    from_full_cache(FROM_CACHE_CLAIM);
}

/*
 * A drain call with the calling hart's cache full (the pages of refills, as a hart's ordinary
 * work leaves them): one page, its top, goes back to the pool. The rest go back before the
 * next round, which fills the cache again.
 */
KBENCH(buddy_drain_caches_full_cache, 0, 158)
{
    static void *pages[BUDDY_CACHE_PAGES];
    for (unsigned round = 0; round < 50; round++) {
        buddy_drain_all_caches(kernel_pages());
        for (unsigned i = 0; i < BUDDY_CACHE_PAGES; i++)
            pages[i] = page_alloc(0);
        for (unsigned i = 0; i < BUDDY_CACHE_PAGES; i++)
            page_free(pages[i], 0);
        if (buddy_cache_pages(own_cache()) != BUDDY_CACHE_PAGES)
            kbench_fail("the cache is not full");
        uint64_t start = kbench_start();
        unsigned long moved = buddy_drain_caches(kernel_pages());
        kbench_stop(start);
        if (moved != 1 || buddy_cache_pages(own_cache()) != BUDDY_CACHE_PAGES - 1)
            kbench_fail("the drain did not give back exactly one page");
    }
    buddy_drain_all_caches(kernel_pages());
}

KBENCH(sbrk_16B_no_page_change, 25, 25)
{
    char *start = sbrk(0);
    brk(start + 1); /* hold the first page; every measured call stays inside it */
    for (unsigned i = 0; i < CALLS; i++) {
        if ((uintptr_t)sbrk(0) + 16 > (uintptr_t)start + PAGE_SIZE)
            brk(start + 1);
        uint64_t begin = kbench_start();
        sbrk(16);
        kbench_stop(begin);
    }
    brk(start);
}

KBENCH(sbrk_claims_one_page, 0, 0)
{
    char *start = sbrk(0);
    for (unsigned i = 0; i < 200; i++) {
        uint64_t begin = kbench_start();
        sbrk(PAGE_SIZE);
        kbench_stop(begin);
        brk(start);
    }
}

/*
 * Moves the break up to the next boundary of the buddy allocator's largest block (4 MiB), so a
 * claim measured from there meets the same free blocks whatever the image's size and whatever
 * the benchmarks before left (the pages in between are claimed, unmeasured); returns the break
 * before, which the benchmark restores. Without it the claims' cost moved with the layout.
 */
static char *break_at_block_boundary(void)
{
    char *start = sbrk(0);
    uintptr_t block = (uintptr_t)PAGE_SIZE << BUDDY_MAX_ORDER;
    if (brk((void *)(((uintptr_t)start + block - 1) & ~(block - 1))) != 0)
        kbench_fail("the break could not move to a block boundary");
    return start;
}

/*
 * Multi-page claims the way malloc makes them: its more-core grows the heap by a pad of span/16
 * clamped to 64 KiB..1 MiB (16..256 pages). Each sample grows the break by that much with
 * sbrk_uninit (one buddy_claim of the pages directly above), from a block boundary
 * (break_at_block_boundary), and the break then goes back.
 */
#define SBRK_UNINIT_CLAIMS(name, pages, budget)                                                                        \
    KBENCH(name, budget, budget)                                                                                       \
    {                                                                                                                  \
        char *start = break_at_block_boundary(), *boundary = sbrk(0);                                                  \
        for (unsigned i = 0; i < 200; i++) {                                                                           \
            uint64_t begin = kbench_start();                                                                           \
            void *grown = sbrk_uninit((intptr_t)(pages)*PAGE_SIZE);                                                    \
            kbench_stop(begin);                                                                                        \
            if (grown == (void *)-1)                                                                                   \
                kbench_fail("sbrk_uninit could not claim the pages");                                                  \
            brk(boundary);                                                                                             \
        }                                                                                                              \
        brk(start);                                                                                                    \
    }

/* The one-page claim without sbrk's clearing: what malloc's more-core pays for a page (no budget). */
SBRK_UNINIT_CLAIMS(sbrk_uninit_claims_one_page, 1, 0)
SBRK_UNINIT_CLAIMS(sbrk_uninit_claims_16_pages, 16, 654)
SBRK_UNINIT_CLAIMS(sbrk_uninit_claims_256_pages, 256, 2288)

/* The way back (malloc's trim): brk gives the 256 pages sbrk_uninit claimed to the buddy allocator. */
KBENCH(brk_releases_256_pages, 735, 735)
{
    char *start = break_at_block_boundary(), *boundary = sbrk(0);
    for (unsigned i = 0; i < 200; i++) {
        if (sbrk_uninit(256 * PAGE_SIZE) == (void *)-1)
            kbench_fail("sbrk_uninit could not claim the pages");
        uint64_t begin = kbench_start();
        brk(boundary);
        kbench_stop(begin);
    }
    brk(start);
}

/*
 * The seed's comparison: the same sizes as the stack frames, from the break, with one page
 * already held (so 16 B and 256 B change no page; 4 KiB must claim one, as it would on Unix).
 */
#define SBRK_SAME_SIZE(name, bytes)                                                                                    \
    KBENCH(name, 0, 0)                                                                                                 \
    {                                                                                                                  \
        char *start = sbrk(0);                                                                                         \
        for (unsigned i = 0; i < 200; i++) {                                                                           \
            brk(start + 1);                                                                                            \
            uint64_t begin = kbench_start();                                                                           \
            sbrk(bytes);                                                                                               \
            kbench_stop(begin);                                                                                        \
        }                                                                                                              \
        brk(start);                                                                                                    \
    }

SBRK_SAME_SIZE(sbrk_16B, 16)
SBRK_SAME_SIZE(sbrk_256B, 256)
SBRK_SAME_SIZE(sbrk_4KiB, 4096)

/*
 * Order-0 churn: each participating hart allocates and frees 32 pages, 100 rounds.
 * Under QEMU -icount, rdinstret is one counter shared by every hart (QEMU 7.2 reads its
 * global instruction count), so a per-hart reading would include the others' work. The
 * figure is therefore one reading across a whole phase, between barriers, divided by all
 * the operations of all harts: the true mean per operation (barrier waits included).
 */
#define CHURN_ROUNDS 100
#define CHURN_PAGES 32
static unsigned churn_arrived;
static unsigned churn_generation;
static uint64_t churn_start, churn_end;

static void churn_barrier(unsigned harts)
{
    unsigned generation = __atomic_load_n(&churn_generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&churn_arrived, 1, __ATOMIC_ACQ_REL) == harts) {
        __atomic_store_n(&churn_arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&churn_generation, generation + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&churn_generation, __ATOMIC_ACQUIRE) == generation)
        hart_relax();
}

static void churn(void)
{
    void *held[CHURN_PAGES];
    for (unsigned round = 0; round < CHURN_ROUNDS; round++) {
        for (unsigned i = 0; i < CHURN_PAGES; i++)
            held[i] = page_alloc(0);
        for (unsigned i = 0; i < CHURN_PAGES; i++)
            page_free(held[i], 0);
    }
}

static void churn_on_every_hart(void)
{
    unsigned harts = hart_count();
    churn_barrier(harts);
    if (hart_self() == 0)
        churn_start = instructions_retired();
    churn_barrier(harts);
    churn();
    churn_barrier(harts);
    if (hart_self() == 0)
        churn_end = instructions_retired();
}

static void record_churn(unsigned harts)
{
    uint64_t operations = (uint64_t)harts * 2 * CHURN_ROUNDS * CHURN_PAGES;
    kbench_record((churn_end - churn_start + operations / 2) / operations);
}

KBENCH(page_order0_churn_1_hart, 0, 0)
{
    churn(); /* warm the cache as the all-harts run does */
    churn_start = instructions_retired();
    churn();
    churn_end = instructions_retired();
    record_churn(1);
}

KBENCH(page_order0_churn_all_harts, 0, 0)
{
    run_on_all_harts(churn); /* warm every hart's cache */
    run_on_all_harts(churn_on_every_hart);
    record_churn(hart_count());
}

/*
 * Instructions buddy_init took at boot over this machine's RAM (one sample). Its budgets depend on
 * the RAM size: tools/bench_budgets.py holds them by name (buddy_init_<MEM>, and the 4G boot
 * tools/bench.py adds).
 */
KBENCH(buddy_init_this_machine, 0, 0)
{
    kbench_record(pages_init_instructions());
}

/* Zeroing one page: what a growing break pays for handing out zeroed memory. */
KBENCH(memset_zero_one_page, 0, 0)
{
    char *page = page_alloc(0);
    for (unsigned i = 0; i < 200; i++) {
        uint64_t begin = kbench_start();
        memset(page, 0, PAGE_SIZE);
        kbench_stop(begin);
    }
    page_free(page, 0);
}
