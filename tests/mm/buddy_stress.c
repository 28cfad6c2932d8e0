/*
 * tests/mm/buddy_stress.c - randomized stress of the buddy allocator against a shadow
 * model, on one hart and on all harts at once against one shared allocator.
 *
 * The shadow keeps every live block (allocations and claims) with a content token, and an
 * owner bitmap of the test pages. Checked after every operation: blocks are aligned, inside
 * the given ranges and disjoint; tokens are intact when a block is freed; claims succeed
 * exactly when the shadow says every page is free and managed. With RVMEM_CHECKED the
 * validator runs after every operation (else every 64). Seeds are fixed: runs repeat.
 */
#include "kernel/mm/buddy.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

#define PAGE PAGE_SIZE
#define ARENA_PAGES 1024u /* tests/mm/buddy.c owns the memory and the allocator */
#define SPARE_PAGES 16u
struct buddy_test_memory {
    unsigned char pages[ARENA_PAGES][PAGE];
    unsigned char spare[SPARE_PAGES][PAGE];
};
struct buddy_test_memory *buddy_test_memory(void);
extern struct buddy buddy_test_allocator;
int buddy_test_init(const struct buddy_range *ranges, unsigned count);

#ifndef RVMEM_CHECKED
#define RVMEM_CHECKED 0
#endif

#define TEST_BUDDY (&buddy_test_allocator)
#define TOP_ORDER (BUDDY_MAX_ORDER < 8 ? BUDDY_MAX_ORDER : 8) /* largest order the stress asks for */
#define MAX_LIVE 96u                                          /* live blocks per hart */
#define VALIDATE_EVERY (RVMEM_CHECKED ? 1u : 64u)
#define SINGLE_HART_OPERATIONS (RVMEM_CHECKED ? 3000u : 20000u)
#define PER_HART_OPERATIONS (RVMEM_CHECKED ? 1000u : 6000u)

/* The stress ranges: unaligned bounds and a hole, so blocks of every shape appear. */
static const unsigned long range_pages[2][2] = {{1, 600}, {608, ARENA_PAGES}};

struct live_block {
    unsigned char *start;
    unsigned long pages;
    unsigned order; /* of an allocation */
    bool claimed;   /* a claim: give back with release or page by page */
    uint32_t token;
};

struct shadow {
    struct live_block live[MAX_LIVE];
    unsigned count;
    uint32_t random;
    unsigned long operations;
};

/* Pages owned by some live block, one bit each; atomic so that harts share it. */
static unsigned long owner_bits[ARENA_PAGES / (8 * sizeof(unsigned long))];

static uint32_t next_random(struct shadow *shadow)
{
    uint32_t x = shadow->random; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    shadow->random = x;
    return x;
}

static unsigned long page_of(const void *address)
{
    return ((uintptr_t)address - (uintptr_t)buddy_test_memory()->pages) / PAGE;
}

static bool page_managed(unsigned long page)
{
    for (unsigned r = 0; r < 2; r++)
        if (page >= range_pages[r][0] && page < range_pages[r][1])
            return true;
    return false;
}

/* Marks pages owned; false if one already was (an overlap). */
static bool own_pages(unsigned long first, unsigned long count)
{
    bool clean = true;
    for (unsigned long page = first; page < first + count; page++) {
        unsigned long bit = 1ul << (page % (8 * sizeof(unsigned long)));
        unsigned long old = __atomic_fetch_or(&owner_bits[page / (8 * sizeof(unsigned long))], bit, __ATOMIC_RELAXED);
        clean &= !(old & bit);
    }
    return clean;
}

static void disown_pages(unsigned long first, unsigned long count)
{
    for (unsigned long page = first; page < first + count; page++) {
        unsigned long bit = 1ul << (page % (8 * sizeof(unsigned long)));
        __atomic_fetch_and(&owner_bits[page / (8 * sizeof(unsigned long))], ~bit, __ATOMIC_RELAXED);
    }
}

static bool page_owned(unsigned long page)
{
    unsigned long word = __atomic_load_n(&owner_bits[page / (8 * sizeof(unsigned long))], __ATOMIC_RELAXED);
    return (word >> (page % (8 * sizeof(unsigned long)))) & 1;
}

/* The token goes into the first and last word of every page of the block. */
static void write_token(const struct live_block *block)
{
    for (unsigned long page = 0; page < block->pages; page++) {
        uint32_t *words = (uint32_t *)(block->start + page * PAGE);
        words[0] = block->token ^ (uint32_t)page;
        words[PAGE / 4 - 1] = ~block->token;
    }
}

static bool token_intact(const struct live_block *block)
{
    for (unsigned long page = 0; page < block->pages; page++) {
        const uint32_t *words = (const uint32_t *)(block->start + page * PAGE);
        if (words[0] != (block->token ^ (uint32_t)page) || words[PAGE / 4 - 1] != ~block->token)
            return false;
    }
    return true;
}

/* Adds a block the allocator just handed out; checks shape and ownership. */
static void adopt(struct shadow *shadow, unsigned char *start, unsigned long pages, unsigned order, bool claimed)
{
    unsigned long first = page_of(start);
    if ((uintptr_t)start % (PAGE << order) != 0)
        ktest_fail(__FILE__, __LINE__, "block %p of order %u is misaligned", (void *)start, order);
    for (unsigned long page = first; page < first + pages; page++) {
        if (page >= ARENA_PAGES || !page_managed(page)) {
            ktest_fail(__FILE__, __LINE__, "block %p (%lu pages) is outside the ranges", (void *)start, pages);
            return;
        }
    }
    if (!own_pages(first, pages))
        ktest_fail(__FILE__, __LINE__, "block %p (%lu pages) overlaps a live block", (void *)start, pages);
    struct live_block *block = &shadow->live[shadow->count++];
    *block = (struct live_block){start, pages, order, claimed, next_random(shadow)};
    write_token(block);
}

/* Gives back live block i (swapped with the last). */
static void give_back(struct shadow *shadow, unsigned i)
{
    struct live_block block = shadow->live[i];
    shadow->live[i] = shadow->live[--shadow->count];
    if (!token_intact(&block))
        ktest_fail(__FILE__, __LINE__, "block %p (%lu pages): content token damaged", (void *)block.start, block.pages);
    disown_pages(page_of(block.start), block.pages); /* before the allocator can hand them out again */
    int result = 0;
    if (!block.claimed) {
        result = buddy_free(TEST_BUDDY, block.start, block.order);
    } else if (block.pages == 1 || (block.token & 1)) {
        for (unsigned long page = 0; page < block.pages && result == 0; page++)
            result = buddy_free(TEST_BUDDY, block.start + page * PAGE, 0);
    } else {
        result = buddy_release(TEST_BUDDY, (uintptr_t)block.start, (uintptr_t)block.start + block.pages * PAGE);
    }
    if (result != 0)
        ktest_fail(__FILE__, __LINE__, "giving back %p (%lu pages): %d", (void *)block.start, block.pages, result);
}

static unsigned random_order(struct shadow *shadow)
{
    uint32_t roll = next_random(shadow) % 100;
    if (roll < 60)
        return 0;
    if (roll < 80)
        return 1 + next_random(shadow) % 2;
    unsigned order = roll < 95 ? 3 + next_random(shadow) % 3 : 6 + next_random(shadow) % 3;
    return order < TOP_ORDER ? order : TOP_ORDER;
}

/*
 * Tries a claim of 1..8 pages at a random place. Alone (exact) the result must match the
 * shadow; with other harts running it must only be consistent with the ownership bits.
 */
static void random_claim(struct shadow *shadow, bool alone)
{
    unsigned long pages = 1 + next_random(shadow) % 8;
    unsigned long first = next_random(shadow) % (ARENA_PAGES - pages + 1);
    int expected = 0;
    for (unsigned long page = first; page < first + pages; page++) {
        if (!page_managed(page))
            expected = -E_INVAL;
        else if (expected == 0 && page_owned(page))
            expected = -E_BUSY;
    }
    unsigned char *start = buddy_test_memory()->pages[first];
    int result = buddy_claim(TEST_BUDDY, (uintptr_t)start, (uintptr_t)(start + pages * PAGE));
    if (alone && result != expected)
        ktest_fail(__FILE__, __LINE__, "claim of pages %lu..%lu: %d, expected %d", first, first + pages - 1, result,
                   expected);
    if (!alone && expected == -E_INVAL && result != -E_INVAL)
        ktest_fail(__FILE__, __LINE__, "claim of unmanaged pages %lu..%lu: %d", first, first + pages - 1, result);
    if (result == 0)
        adopt(shadow, start, pages, 0, true);
}

/* One random operation. */
static void step(struct shadow *shadow, bool alone)
{
    uint32_t roll = next_random(shadow) % 100;
    if (shadow->count > 0 && (roll < 45 || shadow->count == MAX_LIVE)) {
        give_back(shadow, next_random(shadow) % shadow->count);
    } else if (roll < 92) {
        unsigned order = random_order(shadow);
        void *block = buddy_alloc(TEST_BUDDY, order);
        if (block)
            adopt(shadow, block, 1ul << order, order, false);
    } else if (roll < 98) {
        random_claim(shadow, alone);
    } else {
        buddy_drain_all_caches(TEST_BUDDY);
    }
    if (++shadow->operations % VALIDATE_EVERY == 0 && buddy_validate(TEST_BUDDY) != 0)
        ktest_fail(__FILE__, __LINE__, "validator failed after operation %lu", shadow->operations);
}

static int stress_init(struct buddy_stats *start)
{
    if (buddy_test_memory() == NULL)
        return -E_NOMEM;
    struct buddy_range ranges[2] = {
        {(uintptr_t)buddy_test_memory()->pages[range_pages[0][0]] - 123,
         (uintptr_t)buddy_test_memory()->pages[600] + 5},
        {(uintptr_t)buddy_test_memory()->pages[608], (uintptr_t)buddy_test_memory()->pages[0] + ARENA_PAGES * PAGE}};
    memset(owner_bits, 0, sizeof owner_bits);
    int result = buddy_test_init(ranges, 2);
    buddy_get_stats(TEST_BUDDY, start);
    return result;
}

/* Back to the start: same free pages and free blocks per order, metadata valid. */
static void expect_start_state(const struct buddy_stats *start)
{
    struct buddy_stats stats;
    buddy_drain_all_caches(TEST_BUDDY);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.free_pages, start->free_pages);
    KASSERT_EQ(stats.used_pages, 0ul);
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        KASSERT_EQ(stats.free_blocks[order], start->free_blocks[order]);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
}

static struct shadow single_shadow;

KTEST(buddy_stress, random_operations_against_a_shadow)
{
    struct buddy_stats start;
    KASSERT_EQ(stress_init(&start), 0);
    KASSERT_EQ(start.total_pages, 599ul + 416);
    struct shadow *shadow = &single_shadow;
    memset(shadow, 0, sizeof *shadow);
    shadow->random = 0x9e3779b9u;
    for (unsigned i = 0; i < SINGLE_HART_OPERATIONS && !ktest_failed(); i++)
        step(shadow, true);
    while (shadow->count > 0)
        give_back(shadow, shadow->count - 1);
    expect_start_state(&start);
}

/* One shadow per hart: a test arena (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena hart_shadows = KTEST_ARENA(sizeof(struct shadow) * RVMEM_MAX_HARTS, sizeof(void *));
static struct buddy_stats smp_start;
static int smp_init_result;

KTEST_SMP(buddy_stress, all_harts_share_one_allocator)
{
    unsigned hart = ktest_hart_index();
    if (hart == 0)
        smp_init_result = stress_init(&smp_start);
    ktest_barrier();
    KASSERT_EQ(smp_init_result, 0);
    struct shadow *shadows = ktest_arena_memory(&hart_shadows);
    KASSERT_NOT_NULL(shadows);
    if (hart < RVMEM_MAX_HARTS) {
        struct shadow *shadow = &shadows[hart];
        memset(shadow, 0, sizeof *shadow);
        shadow->random = 0x9e3779b9u * (hart + 1);
        for (unsigned i = 0; i < PER_HART_OPERATIONS && !ktest_failed(); i++)
            step(shadow, false);
        while (shadow->count > 0)
            give_back(shadow, shadow->count - 1);
    }
    ktest_barrier();
    if (hart == 0)
        expect_start_state(&smp_start);
}
