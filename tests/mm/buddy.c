/*
 * tests/mm/buddy.c - the buddy page allocator: init, split and merge, alignment,
 * ranges, exhaustion, the highest-address-first policy, claims, caches, statistics, misuse
 * and the validator. The randomized stress tests are in kernel_buddy_stress.c.
 *
 * Every test initialises its own allocator over buddy_test_memory() (never the kernel's) and
 * gives back everything it took; the "buddy_arena" leak check verifies that after each suite.
 */
#include "kernel/mm/buddy.h"

#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

#define PAGE PAGE_SIZE
#define ARENA_PAGES 1024u /* 4 MiB: one largest block with the default order 10 */
#define SPARE_PAGES 16u
#define TOP_ORDER (BUDDY_MAX_ORDER < 10 ? BUDDY_MAX_ORDER : 10) /* the largest block the arena holds */

/*
 * The test memory: 4 MiB aligned to 4 MiB, then spare pages just above it for the metadata
 * (buddy_init carves it from the top of the highest range that can hold it). A test arena
 * (tests/harness/ktest_arena.h): taken from the machine's pages when the suite starts, so that
 * neither the image's .bss nor its load address has to provide the alignment.
 */
struct buddy_test_memory {
    unsigned char pages[ARENA_PAGES][PAGE];
    unsigned char spare[SPARE_PAGES][PAGE];
};
static struct ktest_arena buddy_test_space = KTEST_ARENA(sizeof(struct buddy_test_memory), (ARENA_PAGES * PAGE));

/* The 4 MiB-aligned test memory, or NULL when it cannot be taken. Tests only; one allocator at a time. */
struct buddy_test_memory *buddy_test_memory(void)
{
    return ktest_arena_memory(&buddy_test_space);
}
struct buddy buddy_test_allocator;

#define TEST_BUDDY (&buddy_test_allocator)

static uintptr_t page_address(unsigned long page)
{
    return (uintptr_t)buddy_test_memory()->pages + page * PAGE;
}

static unsigned long page_number(const void *block)
{
    return ((uintptr_t)block - (uintptr_t)buddy_test_memory()->pages) / PAGE;
}

static struct buddy_range pages_range(unsigned long first, unsigned long end)
{
    return (struct buddy_range){page_address(first), page_address(end)};
}

/*
 * Initialises the test allocator with the ranges plus exactly as many spare pages as its
 * metadata needs, so that the pages of the ranges are all managed. Returns buddy_init's result.
 */
int buddy_test_init(const struct buddy_range *ranges, unsigned count)
{
    struct buddy_range all[8];
    if (count >= 8)
        return -E_INVAL;
    if (buddy_test_memory() == NULL)
        return -E_NOMEM;
    memcpy(all, ranges, count * sizeof *ranges);
    all[count] = (struct buddy_range){(uintptr_t)buddy_test_memory()->spare,
                                      (uintptr_t)buddy_test_memory()->spare + SPARE_PAGES * PAGE};
    int result = buddy_init(TEST_BUDDY, all, count + 1);
    if (result != 0)
        return result;
    all[count].end = all[count].start + buddy_test_allocator.metadata_bytes;
    return buddy_init(TEST_BUDDY, all, count + 1);
}

/* The whole arena as one range. */
static int init_whole_arena(void)
{
    struct buddy_range range = pages_range(0, ARENA_PAGES);
    return buddy_test_init(&range, 1);
}

static bool same_free_blocks(const struct buddy_stats *a, const struct buddy_stats *b)
{
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        if (a->free_blocks[order] != b->free_blocks[order])
            return false;
    return a->free_pages == b->free_pages && a->total_pages == b->total_pages;
}

/* Everything given back: caches drained, every managed page free, the metadata consistent. */
static bool all_free(void)
{
    buddy_drain_all_caches(TEST_BUDDY);
    struct buddy_stats stats;
    buddy_get_stats(TEST_BUDDY, &stats);
    return stats.free_pages == stats.total_pages && stats.used_pages == 0 && buddy_validate(TEST_BUDDY) == 0;
}

static void arena_snapshot(void)
{
}

/*
 * After each suite the test allocator holds no page (a test that fails midway may leak). Only
 * while the suite's test memory is held: once given back, the allocator's metadata is gone too.
 */
static bool arena_all_free(void)
{
    return buddy_test_space.memory == NULL || buddy_test_allocator.region_count == 0 || all_free();
}

KTEST_LEAK_CHECK(buddy_arena, arena_snapshot, arena_all_free);

/* Free blocks a range of pages [first, end) is covered with, computed the simple way. */
static void expected_blocks(unsigned long first, unsigned long end, unsigned long *blocks)
{
    while (first < end) {
        unsigned order = 0;
        while (order < BUDDY_MAX_ORDER && first % (2ul << order) == 0 && first + (2ul << order) <= end)
            order++;
        blocks[order]++;
        first += 1ul << order;
    }
}

/* ---- Misuse capture ---- */

static struct misuse_report last_report;
static unsigned report_count;

static void capture_report(const struct misuse_report *report)
{
    last_report = *report;
    report_count++;
}

#define EXPECT_MISUSE(call, expected_kind, expected_address)                                                           \
    do {                                                                                                               \
        unsigned reports_before_ = report_count;                                                                       \
        KASSERT_EQ((call), -E_INVAL);                                                                                  \
        KASSERT_EQ(report_count, reports_before_ + 1);                                                                 \
        KASSERT_EQ(last_report.kind, (expected_kind));                                                                 \
        KASSERT_EQ(last_report.address, (uintptr_t)(expected_address));                                                \
        KASSERT_STR_EQ(last_report.allocator, "buddy");                                                                \
        KASSERT_EQ(last_report.hart, hart_self());                                                                     \
        KASSERT(last_report.caller != NULL);                                                                           \
    } while (0)

/* ---- Tests ---- */

KTEST(buddy, init_covers_ranges_with_largest_blocks)
{
    struct buddy_stats stats;
    KASSERT_EQ(init_whole_arena(), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.total_pages, ARENA_PAGES);
    KASSERT_EQ(stats.free_pages, ARENA_PAGES);
    KASSERT_EQ(stats.used_pages, 0ul);
    KASSERT_GT(stats.metadata_bytes, 0ul);
    KASSERT_EQ(stats.metadata_bytes % PAGE, 0u);
    KASSERT_EQ(stats.free_blocks[TOP_ORDER], ARENA_PAGES >> TOP_ORDER);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);

    /* Unaligned bounds are rounded inward; the rest is covered with the largest aligned blocks. */
    struct buddy_range odd = {page_address(3) + 100, page_address(1000) + 5};
    KASSERT_EQ(buddy_test_init(&odd, 1), 0);
    unsigned long expected[BUDDY_MAX_ORDER + 1] = {0};
    expected_blocks(4, 1000, expected);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.total_pages, 996ul);
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        KASSERT_EQ(stats.free_blocks[order], expected[order]);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);

    /* Ranges that touch merge into one block, in any order. */
    struct buddy_range touching[2] = {pages_range(16, 32), pages_range(0, 16)};
    KASSERT_EQ(buddy_test_init(touching, 2), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.free_blocks[5], 1ul);
    KASSERT_EQ(stats.total_pages, 32ul);
    KASSERT(all_free());
}

KTEST(buddy, init_rejects_bad_ranges)
{
    struct buddy_range overlapping[2] = {pages_range(0, 10), pages_range(9, 20)};
    struct buddy_range backwards = {page_address(10), page_address(5)};
    struct buddy_range tiny = {page_address(1) + 1, page_address(2) - 1};
    struct buddy_range one_page = pages_range(0, 1);
    KASSERT_EQ(buddy_init(TEST_BUDDY, NULL, 0), -E_INVAL);
    KASSERT_EQ(buddy_init(TEST_BUDDY, overlapping, 2), -E_INVAL);
    KASSERT_EQ(buddy_init(TEST_BUDDY, &backwards, 1), -E_INVAL);
    KASSERT_EQ(buddy_init(TEST_BUDDY, &tiny, 1), -E_NOMEM);
    KASSERT_EQ(buddy_init(TEST_BUDDY, &one_page, 1), -E_NOMEM); /* all of it goes to metadata */
    /* A failed init leaves an allocator that is empty but safe to call. */
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 0));
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), 0ul);
    KASSERT_EQ(buddy_test_init(&tiny, 1), -E_NOMEM); /* metadata, but not a page to manage */
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), 0ul);
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 0));
}

KTEST(buddy, split_and_merge)
{
    struct buddy_stats start, stats;
    KASSERT_EQ(init_whole_arena(), 0);
    buddy_get_stats(TEST_BUDDY, &start);

    /* An order-2 block splits the top block down: one free block of each order 2..TOP-1. */
    void *block = buddy_alloc(TEST_BUDDY, 2);
    KASSERT_PTR_EQ(block, (void *)page_address(ARENA_PAGES - 4));
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.free_blocks[TOP_ORDER], start.free_blocks[TOP_ORDER] - 1);
    for (unsigned order = 2; order < TOP_ORDER; order++)
        KASSERT_EQ(stats.free_blocks[order], 1ul);
    KASSERT_EQ(stats.free_blocks[0] + stats.free_blocks[1], 0ul);
    KASSERT_EQ(stats.used_pages, 4ul);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 2), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));

    /* An order-0 page comes through the cache; once drained, the pool shows every order split. */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_PTR_EQ(page, (void *)page_address(ARENA_PAGES - 1));
    KASSERT_EQ(buddy_drain_all_caches(TEST_BUDDY), (1ul << BUDDY_CACHE_BATCH_ORDER) - 1);
    buddy_get_stats(TEST_BUDDY, &stats);
    for (unsigned order = 0; order < TOP_ORDER; order++)
        KASSERT_EQ(stats.free_blocks[order], 1ul);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    KASSERT_EQ(buddy_drain_all_caches(TEST_BUDDY), 1ul);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));
    KASSERT(all_free());
}

KTEST(buddy, alignment_of_every_order)
{
    KASSERT_EQ(init_whole_arena(), 0);
    for (unsigned order = 0; order <= TOP_ORDER; order++) {
        void *block = buddy_alloc(TEST_BUDDY, order);
        KASSERT_NOT_NULL(block);
        KASSERT_EQ((uintptr_t)block % (PAGE << order), 0u);
        KASSERT_LE(page_number(block) + (1ul << order), (unsigned long)ARENA_PAGES);
        KASSERT_EQ(buddy_free(TEST_BUDDY, block, order), 0);
    }
    /* One block of every order below the top at once, largest first: aligned and disjoint. */
    void *blocks[TOP_ORDER];
    unsigned char owner[ARENA_PAGES] = {0};
    for (unsigned order = TOP_ORDER; order-- > 0;) {
        blocks[order] = buddy_alloc(TEST_BUDDY, order);
        KASSERT_NOT_NULL(blocks[order]);
        KASSERT_EQ((uintptr_t)blocks[order] % (PAGE << order), 0u);
        for (unsigned long page = 0; page < (1ul << order); page++) {
            KASSERT_EQ(owner[page_number(blocks[order]) + page], 0);
            owner[page_number(blocks[order]) + page] = 1;
        }
    }
    for (unsigned order = 0; order < TOP_ORDER; order++)
        KASSERT_EQ(buddy_free(TEST_BUDDY, blocks[order], order), 0);
    KASSERT(all_free());
}

KTEST(buddy, highest_addresses_first)
{
    KASSERT_EQ(init_whole_arena(), 0);
    /* The program break's side: a low claim, partly given back. */
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0), page_address(5)), 0);
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(3), page_address(5)), 0);

    void *top = buddy_alloc(TEST_BUDDY, 0);
    void *next = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(page_number(top), ARENA_PAGES - 1ul);
    KASSERT_EQ(page_number(next), ARENA_PAGES - 2ul);
    /* The cache took the top 8 pages: the highest free pair in the pool is just below them. */
    void *pair = buddy_alloc(TEST_BUDDY, 1);
    KASSERT_EQ(page_number(pair), ARENA_PAGES - (1ul << BUDDY_CACHE_BATCH_ORDER) - 2);
    buddy_drain_all_caches(TEST_BUDDY);
    /* Strictly the highest free aligned slot: [1016, 1024) and [1008, 1016) hold used pages. */
    void *eight = buddy_alloc(TEST_BUDDY, 3);
    KASSERT_EQ(page_number(eight), ARENA_PAGES - 24ul);
    /*
     * An order-0 page comes from a refill, which takes the highest entirely free batch slot
     * ([992, 1000), just below the block of 8: the free pages 1016-1021 share a slot with used ones).
     */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(page_number(page), ARENA_PAGES - 24ul - 1);

    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, eight, 3), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, pair, 1), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, next, 0), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, top, 0), 0);
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(0), page_address(3)), 0);
    KASSERT(all_free());
}

/* Allocates every order-0 page there is; checks each is managed and unique. Returns the count. */
static unsigned long take_every_page(void **pages, unsigned long capacity, const struct buddy_range *ranges,
                                     unsigned range_count, bool *ok)
{
    unsigned char seen[ARENA_PAGES] = {0};
    unsigned long count = 0;
    *ok = false;
    for (void *page; (page = buddy_alloc(TEST_BUDDY, 0)) != NULL; count++) {
        if (count == capacity)
            return count;
        bool inside = false;
        for (unsigned r = 0; r < range_count; r++)
            inside |= (uintptr_t)page >= ranges[r].start && (uintptr_t)page + PAGE <= ranges[r].end;
        if (!inside || (uintptr_t)page % PAGE || seen[page_number(page)])
            return count;
        seen[page_number(page)] = 1;
        pages[count] = page;
    }
    *ok = true;
    return count;
}

static void *every_page[ARENA_PAGES];

KTEST(buddy, disjoint_unaligned_ranges)
{
    struct buddy_range ranges[3] = {{page_address(1) + 7, page_address(100)},
                                    {page_address(200), page_address(333) + 1},
                                    pages_range(700, ARENA_PAGES)};
    struct buddy_stats start, stats;
    KASSERT_EQ(buddy_test_init(ranges, 3), 0);
    buddy_get_stats(TEST_BUDDY, &start);
    KASSERT_EQ(start.total_pages, 98ul + 133 + 324);
    bool ok;
    unsigned long count = take_every_page(every_page, ARENA_PAGES, ranges, 3, &ok);
    KASSERT(ok);
    KASSERT_EQ(count, start.total_pages);
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 1));
    for (unsigned long i = 0; i < count; i++)
        KASSERT_EQ(buddy_free(TEST_BUDDY, every_page[i], 0), 0);
    buddy_drain_all_caches(TEST_BUDDY);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));
    KASSERT(all_free());
}

/* Pages the shared pool holds (free pages outside every cache). */
static unsigned long pool_pages(void)
{
    struct buddy_stats stats;
    buddy_get_stats(TEST_BUDDY, &stats);
    return stats.free_pages - stats.cached_pages;
}

static unsigned long cached_pages(void)
{
    struct buddy_stats stats;
    buddy_get_stats(TEST_BUDDY, &stats);
    return stats.cached_pages;
}

#ifdef RVMEM_HOST
/*
 * Ranges far apart get a region each (their metadata does not span the gap). Host only: it
 * needs memory spread over 20 MiB, more than the kernel's .bss should hold for a test.
 */
static unsigned char far_memory[5][ARENA_PAGES * PAGE] __attribute__((aligned(ARENA_PAGES * PAGE)));

KTEST(buddy, far_apart_ranges_get_their_own_regions)
{
    struct buddy_range ranges[3] = {{(uintptr_t)far_memory[4], (uintptr_t)far_memory[4] + 8 * PAGE},
                                    {(uintptr_t)far_memory[0] + 5 * PAGE, (uintptr_t)far_memory[0] + 9 * PAGE},
                                    {(uintptr_t)far_memory[2], (uintptr_t)far_memory[2] + PAGE}};
    KASSERT_EQ(buddy_init(TEST_BUDDY, ranges, 3), 0);
    KASSERT_EQ(buddy_test_allocator.region_count, 3u);
    /* The metadata went to the top of the highest range. */
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), 8 + 4 + 1 - buddy_test_allocator.metadata_bytes / PAGE);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    /*
     * Pages of every region through the cache and back. No region has a free batch slot, so
     * each refill takes the highest free page alone, across regions, and caches nothing:
     * far_memory[4]'s 4 down to 0 (the metadata took its top pages), far_memory[2]'s, then
     * far_memory[0]'s 8 down to 5.
     */
    void *pages[16];
    unsigned count = 0;
    while (count < 16 && (pages[count] = buddy_alloc(TEST_BUDDY, 0)) != NULL) {
        KASSERT_EQ(cached_pages(), 0ul);
        count++;
    }
    KASSERT_EQ(count, buddy_test_allocator.total_pages);
    KASSERT_EQ(count, 10u);
    for (unsigned i = 0; i < 5; i++)
        KASSERT_PTR_EQ(pages[i], far_memory[4] + (4 - i) * PAGE);
    KASSERT_PTR_EQ(pages[5], far_memory[2]);
    for (unsigned i = 6; i < 10; i++)
        KASSERT_PTR_EQ(pages[i], far_memory[0] + (14 - i) * PAGE);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, (uintptr_t)far_memory[0] + 4 * PAGE, (uintptr_t)far_memory[0] + 6 * PAGE),
               -E_INVAL);
    for (unsigned i = 0; i < count; i++)
        KASSERT_EQ(buddy_free(TEST_BUDDY, pages[i], 0), 0);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    void *block = buddy_alloc(TEST_BUDDY, 2);
    KASSERT_PTR_EQ(block, far_memory[4]);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 2), 0);
    KASSERT(all_free());
}
#endif

KTEST(buddy, exhaustion_then_recovery)
{
    struct buddy_range range = pages_range(0, 256);
    struct buddy_stats start, stats;
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    buddy_get_stats(TEST_BUDDY, &start);
    bool ok;
    unsigned long count = take_every_page(every_page, ARENA_PAGES, &range, 1, &ok);
    KASSERT(ok);
    KASSERT_EQ(count, 256ul);
    void *block = (void *)1;
    KASSERT_EQ(buddy_alloc_checked(TEST_BUDDY, 0, &block), -E_NOMEM);
    KASSERT_NULL(block);
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 4));
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), 0ul);

    /* Every other page back: plenty of pages, no pair. */
    for (unsigned long i = 0; i < count; i += 2)
        KASSERT_EQ(buddy_free(TEST_BUDDY, every_page[i], 0), 0);
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 1));
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), 128ul);
    void *single = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_NOT_NULL(single);
    KASSERT_EQ(buddy_free(TEST_BUDDY, single, 0), 0);
    for (unsigned long i = 1; i < count; i += 2)
        KASSERT_EQ(buddy_free(TEST_BUDDY, every_page[i], 0), 0);
    /* Recovered: the largest block is there again (the caches are drained on the way). */
    block = buddy_alloc(TEST_BUDDY, 8);
    KASSERT_PTR_EQ(block, (void *)page_address(0));
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 8), 0);
    buddy_drain_all_caches(TEST_BUDDY);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));

    /* Orders above the largest are an error, not exhaustion. */
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, BUDDY_MAX_ORDER + 1));
    KASSERT_EQ(buddy_alloc_checked(TEST_BUDDY, BUDDY_MAX_ORDER + 1, &block), -E_INVAL);
    KASSERT_NULL(block);
    KASSERT_EQ(buddy_alloc_checked(TEST_BUDDY, 3, &block), 0);
    KASSERT_NOT_NULL(block);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 3), 0);
    KASSERT(all_free());
}

static void claims(void)
{
    struct buddy_stats start, stats;
    KASSERT_EQ(init_whole_arena(), 0);
    buddy_get_stats(TEST_BUDDY, &start);

    /* Success; the claimed pages go back one by one and coalesce. */
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(10), page_address(20)), 0);
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), ARENA_PAGES - 10ul);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, (void *)page_address(15), 0), 0);
    /* Busy: page 15 is free again but 10..14 are not; nothing changes. */
    buddy_drain_all_caches(TEST_BUDDY);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(10), page_address(20)), -E_BUSY);
    struct buddy_stats after;
    buddy_get_stats(TEST_BUDDY, &after);
    KASSERT(same_free_blocks(&after, &stats));
    for (unsigned long page = 10; page < 20; page++)
        if (page != 15)
            KASSERT_EQ(buddy_free(TEST_BUDDY, (void *)page_address(page), 0), 0);
    buddy_drain_all_caches(TEST_BUDDY);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));

    /* Busy because of an allocated block. */
    void *block = buddy_alloc(TEST_BUDDY, 2);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(1000), page_address(1024)), -E_BUSY);
    buddy_get_stats(TEST_BUDDY, &after);
    KASSERT(same_free_blocks(&after, &stats));
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 2), 0);

    /* Invalid: unaligned, backwards, unmanaged (below the arena, the metadata), beyond a region. */
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(1) + 8, page_address(2)), -E_INVAL);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(2), page_address(1)), -E_INVAL);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0) - PAGE, page_address(1)), -E_INVAL);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(ARENA_PAGES - 1), page_address(ARENA_PAGES + 1)), -E_INVAL);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0), page_address(0) + (64ul << 20)), -E_INVAL);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(7), page_address(7)), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));

    /* Free pages sitting in a cache still count as free: the claim drains the caches. */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.cached_pages, 1ul << BUDDY_CACHE_BATCH_ORDER);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(ARENA_PAGES - 8), page_address(ARENA_PAGES)), 0);
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), ARENA_PAGES - 8ul);
    /* Given back in one call, they coalesce. */
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(ARENA_PAGES - 8), page_address(ARENA_PAGES)), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));

    /* Releasing pages that are not allocated order-0 pages is misuse; nothing changes. */
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0), page_address(4)), 0);
    EXPECT_MISUSE(buddy_release(TEST_BUDDY, page_address(2), page_address(6)), MISUSE_DOUBLE_FREE, page_address(4));
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), ARENA_PAGES - 4ul);
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(0), page_address(4)), 0);
    KASSERT(all_free());
}

KTEST(buddy, claim_and_release)
{
    misuse_hook previous = misuse_set_hook(capture_report);
    claims();
    misuse_set_hook(previous);
}

/* Whether the free blocks of the pool are those of the arena's pages but [first, end), the simple way. */
static bool free_blocks_but(unsigned long first, unsigned long end)
{
    unsigned long blocks[BUDDY_MAX_ORDER + 1] = {0};
    expected_blocks(0, first, blocks);
    expected_blocks(end, ARENA_PAGES, blocks);
    struct buddy_stats stats;
    buddy_get_stats(TEST_BUDDY, &stats);
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++)
        if (stats.free_blocks[order] != blocks[order])
            return false;
    return stats.free_pages == ARENA_PAGES - (end - first);
}

/*
 * Claims of one aligned block inside one free block (the top page of the arena's free largest
 * block, aligned blocks inside it and a page that starts a free block) split it as an allocation
 * would; other claims inside it take the general way. Either way: the same blocks, every claimed
 * page an allocated order-0 page, the metadata valid.
 */
KTEST(buddy, claims_inside_one_free_block)
{
    static const unsigned long claims[][2] = {
        {ARENA_PAGES - 1, ARENA_PAGES}, /* a page inside the free largest block, at its top */
        {520, 524},                     /* an aligned block in its middle */
        {512, 768},                     /* an aligned block that is half of a half */
        {3, 4},                         /* a page whose own state byte shows it inside a free block */
        {5, 8},                         /* not an aligned block: the general way */
        {0, ARENA_PAGES},               /* the whole largest block */
    };
    KASSERT_EQ(init_whole_arena(), 0);
    for (unsigned i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        unsigned long first = claims[i][0], end = claims[i][1];
        KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(first), page_address(end)), 0);
        KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
        KASSERT(free_blocks_but(first, end));
        for (unsigned long page = first; page < end; page++) {
            uintptr_t pages = 0;
            KASSERT_EQ(buddy_block_at(TEST_BUDDY, page_address(page), &pages), BUDDY_PAGE_ALLOCATED);
            KASSERT_EQ(pages, 1ul);
        }
        /* A second claim of the same pages finds them busy, and changes nothing. */
        KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(first), page_address(first + 1)), -E_BUSY);
        KASSERT(free_blocks_but(first, end));
        KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(first), page_address(end)), 0);
        KASSERT(all_free());
    }
    /* A page that starts a free block after an earlier claim: its own state byte says so. */
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0), page_address(1)), 0);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(2), page_address(3)), 0);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    KASSERT_EQ(buddy_free_pages(TEST_BUDDY), ARENA_PAGES - 2ul);
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(0), page_address(1)), 0);
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(2), page_address(3)), 0);
    KASSERT(all_free());
}

KTEST(buddy, caches_drain_when_memory_runs_short)
{
    struct buddy_range range = pages_range(0, 16);
    struct buddy_stats stats;
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    /* One page taken and freed leaves a batch in this hart's cache. */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(page_number(page), 15ul);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.cached_pages, 1ul << BUDDY_CACHE_BATCH_ORDER);
    KASSERT_EQ(stats.free_pages, 16ul);
    /* The pool alone cannot give 16 pages; the caches are drained and it can. */
    void *block = buddy_alloc(TEST_BUDDY, 4);
    KASSERT_PTR_EQ(block, (void *)page_address(0));
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 4), 0);

    /* Every page through the cache, then back: the cache never holds more than its bound. */
    bool ok;
    unsigned long count = take_every_page(every_page, ARENA_PAGES, &range, 1, &ok);
    KASSERT(ok);
    KASSERT_EQ(count, 16ul);
    for (unsigned long i = 0; i < count; i++)
        KASSERT_EQ(buddy_free(TEST_BUDDY, every_page[i], 0), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_LE(stats.cached_pages, (unsigned long)BUDDY_CACHE_PAGES);
    KASSERT_EQ(stats.free_pages, 16ul);
    block = buddy_alloc(TEST_BUDDY, 4);
    KASSERT_NOT_NULL(block);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 4), 0);

    /* A bigger range: frees beyond the bound go back to the pool in batches. */
    struct buddy_range big = pages_range(0, 128);
    KASSERT_EQ(buddy_test_init(&big, 1), 0);
    count = take_every_page(every_page, ARENA_PAGES, &big, 1, &ok);
    KASSERT(ok);
    for (unsigned long i = 0; i < count; i++) {
        KASSERT_EQ(buddy_free(TEST_BUDDY, every_page[i], 0), 0);
        buddy_get_stats(TEST_BUDDY, &stats);
        KASSERT_LE(stats.cached_pages, (unsigned long)BUDDY_CACHE_PAGES);
        KASSERT_EQ(stats.free_pages, i + 1);
    }
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    KASSERT(all_free());
}

#define BATCH (1ul << BUDDY_CACHE_BATCH_ORDER)

/*
 * A refill takes one block: the highest entirely free slot of 2^BUDDY_CACHE_BATCH_ORDER pages,
 * even when free pages lie scattered above it, and its pages come out highest first. With no
 * such slot left, each refill takes the highest free page alone (split off its block) and
 * caches nothing.
 */
KTEST(buddy, refill_takes_one_block_highest_first)
{
    struct buddy_range range = pages_range(0, 64);
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0), page_address(64)), 0);
    /* Free in the pool: 62, 60, 59, 51-50 (an order-1 block), 47-40 and 31-24 (order 3), 20. */
    static const unsigned long freed[][2] = {{62, 63}, {59, 61}, {50, 52}, {40, 48}, {24, 32}, {20, 21}};
    for (unsigned i = 0; i < sizeof freed / sizeof freed[0]; i++)
        KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(freed[i][0]), page_address(freed[i][1])), 0);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    static const unsigned long expected[] = {47, 46, 45, 44, 43, 42, 41, 40, 31, 30, 29,
                                             28, 27, 26, 25, 24, 62, 60, 59, 51, 50, 20};
    /* The pages cached after each allocation: a batch comes whole, a fragmented refill one page. */
    static const unsigned long cached_after[] = {7, 6, 5, 4, 3, 2, 1, 0, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0};
    void *pages[sizeof expected / sizeof expected[0]];
    KASSERT_EQ(BATCH, 8ul); /* the expectations are for batches of 8 */
    for (unsigned i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        unsigned long pool_before = pool_pages();
        pages[i] = buddy_alloc(TEST_BUDDY, 0);
        KASSERT_NOT_NULL(pages[i]);
        KASSERT_EQ(page_number(pages[i]), expected[i]);
        KASSERT_EQ(cached_pages(), cached_after[i]);
        /* A refill takes exactly one block out of the pool; a cache hit takes nothing. */
        unsigned long taken = pool_before - pool_pages();
        KASSERT(taken == 0 || taken == cached_after[i] + 1);
        KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    }
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 0)); /* nothing else is free */
    for (unsigned i = 0; i < sizeof expected / sizeof expected[0]; i++)
        KASSERT_EQ(buddy_free(TEST_BUDDY, pages[i], 0), 0);
    static const unsigned long claimed[][2] = {{0, 20}, {21, 24}, {32, 40}, {48, 50}, {52, 59}, {61, 62}, {63, 64}};
    for (unsigned i = 0; i < sizeof claimed / sizeof claimed[0]; i++)
        KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(claimed[i][0]), page_address(claimed[i][1])), 0);
    KASSERT(all_free());
}

/*
 * A request of a larger order that the pool cannot serve has cached pages given back only until
 * the block exists: the rest stay cached. Here the cache holds a batch of 8 pages [8, 16) (the
 * highest on top), the pool nothing: an order-1 request gives back 15 (its buddy 14 is still
 * cached: no block yet), then 14, which merges with it, and takes them; 6 pages stay cached.
 */
KTEST(buddy, larger_request_gives_back_only_what_it_needs)
{
    struct buddy_range range = pages_range(0, 16);
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    KASSERT_EQ(BATCH, 8ul); /* the expectations are for batches of 8 */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(page_number(page), 15ul);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    void *low = buddy_alloc(TEST_BUDDY, 3); /* the pool's last block */
    KASSERT_PTR_EQ(low, (void *)page_address(0));
    KASSERT_EQ(pool_pages(), 0ul);
    KASSERT_EQ(cached_pages(), 8ul);

    void *pair = buddy_alloc(TEST_BUDDY, 1);
    KASSERT_PTR_EQ(pair, (void *)page_address(14));
    KASSERT_EQ(cached_pages(), 6ul);
    KASSERT_EQ(pool_pages(), 0ul);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    /* An order-2 request: 13 and 12 merge, then 11 and 10, then {8..11} once 9 and 8 are back. */
    void *quad = buddy_alloc(TEST_BUDDY, 2);
    KASSERT_PTR_EQ(quad, (void *)page_address(8));
    KASSERT_EQ(cached_pages(), 0ul);
    KASSERT_EQ(pool_pages(), 2ul);            /* 12 and 13, merged, stay in the pool */
    KASSERT_NULL(buddy_alloc(TEST_BUDDY, 2)); /* every cache empty: nothing more of that order */
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);

    KASSERT_EQ(buddy_free(TEST_BUDDY, quad, 2), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, pair, 1), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, low, 3), 0);
    KASSERT(all_free());
}
/*
 * A drain call gives back one cached page, the top of the first cache that holds one, so that no
 * call costs more than one pool free; later calls give back the rest, and once every cache is
 * empty a call moves nothing. Here the cache holds a batch [8, 16): 15 was handed out and freed,
 * so it is on top, then 14 down to 8. Each page merges with the ones given back before it.
 */
KTEST(buddy, drain_gives_back_one_page_a_call)
{
    struct buddy_range range = pages_range(0, 16);
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    KASSERT_EQ(BATCH, 8ul); /* the expectations are for batches of 8 */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(page_number(page), 15ul);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    KASSERT_EQ(cached_pages(), 8ul);
    for (unsigned long moved = 1; moved <= 8; moved++) {
        KASSERT_EQ(buddy_drain_caches(TEST_BUDDY), 1ul);
        KASSERT_EQ(cached_pages(), 8 - moved);
        KASSERT_EQ(pool_pages(), 8 + moved);
        /* The page given back is the cache's top (15, then 14, ...), merged with its free buddies. */
        uintptr_t pages = 0;
        unsigned long given = 16 - moved;
        KASSERT_EQ(buddy_block_at(TEST_BUDDY, page_address(given), &pages), BUDDY_PAGE_FREE);
        KASSERT_EQ(pages, given & -given); /* from it to the end of its block */
        KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    }
    KASSERT_EQ(buddy_drain_caches(TEST_BUDDY), 0ul); /* every cache empty */
    KASSERT(all_free());                             /* and the pages merged back to one block */
    void *whole = buddy_alloc(TEST_BUDDY, 4);
    KASSERT_PTR_EQ(whole, (void *)page_address(0));
    KASSERT_EQ(buddy_free(TEST_BUDDY, whole, 4), 0);
    /* buddy_drain_all_caches: the same, until nothing is left. */
    page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    KASSERT_EQ(buddy_drain_all_caches(TEST_BUDDY), 8ul);
    KASSERT_EQ(buddy_drain_all_caches(TEST_BUDDY), 0ul);
    KASSERT(all_free());
}

static int steal_init_result;
static void *steal_low, *steal_taken[BATCH];

/*
 * An order-0 request the pool cannot serve takes one page from another hart's cache, and no more:
 * hart 1 leaves a batch of 8 pages [8, 16) in its cache, hart 0 takes the pool's last block
 * [0, 8), then takes the 8 cached pages one by one (the top of hart 1's cache first), each call
 * moving exactly one page; a ninth finds nothing.
 */
KTEST_SMP(buddy, order0_request_takes_a_page_from_another_cache)
{
    unsigned hart = ktest_hart_index();
    if (ktest_hart_count() < 2) {
        if (hart == 0)
            ktest_skip("one hart: no other hart's cache");
        return;
    }
    struct buddy_range range = pages_range(0, 16);
    if (hart == 0)
        steal_init_result = buddy_test_init(&range, 1);
    ktest_barrier();
    KASSERT_EQ(steal_init_result, 0);
    if (hart == 1) {
        void *page = buddy_alloc(TEST_BUDDY, 0);
        KASSERT_EQ(page_number(page), 15ul);
        KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    }
    ktest_barrier();
    if (hart == 0) {
        struct buddy_cache *other = &buddy_test_allocator.caches[1];
        KASSERT_EQ(buddy_cache_pages(other), BATCH);
        KASSERT_PTR_EQ(steal_low = buddy_alloc(TEST_BUDDY, 3), (void *)page_address(0));
        for (unsigned long i = 0; i < BATCH; i++) {
            steal_taken[i] = buddy_alloc(TEST_BUDDY, 0);
            KASSERT_EQ(page_number(steal_taken[i]), 15 - i);
            KASSERT_EQ(buddy_cache_pages(other), BATCH - 1 - i);
            KASSERT_EQ(pool_pages(), 0ul);
            KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
        }
        KASSERT_NULL(buddy_alloc(TEST_BUDDY, 0));
        for (unsigned long i = 0; i < BATCH; i++)
            KASSERT_EQ(buddy_free(TEST_BUDDY, steal_taken[i], 0), 0);
        KASSERT_EQ(buddy_free(TEST_BUDDY, steal_low, 3), 0);
        KASSERT(all_free());
    }
    ktest_barrier();
}

/*
 * A free that finds the cache full gives back that one page, straight to the pool (it merges
 * there), and leaves the cache as it was: no batch moves inside one call.
 */
KTEST(buddy, full_cache_free_gives_back_one_page)
{
    struct buddy_range range = pages_range(0, 128);
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    static void *pages[64];
    for (unsigned i = 0; i < 64; i++)
        KASSERT_NOT_NULL(pages[i] = buddy_alloc(TEST_BUDDY, 0));
    KASSERT_EQ(cached_pages(), 0ul);
    for (unsigned i = 0; i < BUDDY_CACHE_PAGES; i++)
        KASSERT_EQ(buddy_free(TEST_BUDDY, pages[i], 0), 0);
    KASSERT_EQ(cached_pages(), (unsigned long)BUDDY_CACHE_PAGES);
    struct buddy_cache *cache = &buddy_test_allocator.caches[hart_self()];
    struct buddy_cache_entry held[BUDDY_CACHE_PAGES];
    memcpy(held, buddy_cache_held(cache), sizeof held);
    for (unsigned i = BUDDY_CACHE_PAGES; i < 64; i++) {
        unsigned long pool_before = pool_pages();
        KASSERT_EQ(buddy_free(TEST_BUDDY, pages[i], 0), 0);
        KASSERT_EQ(pool_pages(), pool_before + 1);
        KASSERT_EQ(cached_pages(), (unsigned long)BUDDY_CACHE_PAGES);
        KASSERT(memcmp(held, buddy_cache_held(cache), sizeof held) == 0);
        KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    }
    /* The pages given back merged: the 33 frees above the cache's pages left whole blocks. */
    struct buddy_stats stats;
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_LE(stats.free_blocks[0], 1ul);
    KASSERT(all_free());
}

/* A cache never holds more than BUDDY_CACHE_PAGES pages, whatever the order-0 traffic. */
KTEST(buddy, cache_stays_within_its_bound)
{
    struct buddy_range range = pages_range(0, 256);
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    static void *live[128];
    unsigned live_count = 0;
    uint32_t seed = 7;
    for (unsigned step = 0; step < 4000; step++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        /* Tides: 100 steps mostly allocating, then 100 mostly freeing. */
        bool allocate = (step / 100) % 2 == 0 ? seed % 4 != 0 : seed % 4 == 0;
        if (allocate && live_count < 128) {
            KASSERT_NOT_NULL(live[live_count] = buddy_alloc(TEST_BUDDY, 0));
            live_count++;
        } else if (live_count > 0) {
            unsigned victim = (seed >> 8) % live_count;
            KASSERT_EQ(buddy_free(TEST_BUDDY, live[victim], 0), 0);
            live[victim] = live[--live_count];
        }
        KASSERT_LE(cached_pages(), (unsigned long)BUDDY_CACHE_PAGES);
        KASSERT_EQ(buddy_free_pages(TEST_BUDDY), 256ul - live_count);
    }
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    while (live_count > 0)
        KASSERT_EQ(buddy_free(TEST_BUDDY, live[--live_count], 0), 0);
    KASSERT(all_free());
}

KTEST(buddy, statistics_and_fragmentation_index)
{
    struct buddy_range range = pages_range(0, 16);
    struct buddy_stats stats;
    KASSERT_EQ(buddy_test_init(&range, 1), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.peak_used_pages, 0ul);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 0), -1000);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 4), -1000);
    KASSERT_EQ(buddy_fragmentation_index(&stats, BUDDY_MAX_ORDER + 1), 0);

    /* Four isolated free pages: 0, 2, 4, 6. */
    KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(0), page_address(16)), 0);
    for (unsigned long page = 0; page < 8; page += 2)
        KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(page), page_address(page + 1)), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.free_blocks[0], 4ul);
    KASSERT_EQ(stats.free_pages, 4ul);
    KASSERT_EQ(stats.used_pages, 12ul);
    KASSERT_EQ(stats.peak_used_pages, 16ul);
    /* Linux: 1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks. */
    KASSERT_EQ(buddy_fragmentation_index(&stats, 0), -1000);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 1), 250);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 2), 500);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 3), 625);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 4), 688);
    buddy_print_stats(TEST_BUDDY, "test");

    /* Nothing free: 0 for every order. */
    for (unsigned long page = 0; page < 8; page += 2)
        KASSERT_EQ(buddy_claim(TEST_BUDDY, page_address(page), page_address(page + 1)), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.free_pages, 0ul);
    KASSERT_EQ(buddy_fragmentation_index(&stats, 0), 0);
    KASSERT_EQ(buddy_release(TEST_BUDDY, page_address(0), page_address(16)), 0);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT_EQ(stats.free_blocks[4], 1ul);
    KASSERT_EQ(stats.used_pages, 0ul);
    KASSERT_EQ(stats.peak_used_pages, 16ul);
    KASSERT(all_free());
}

static void misuse_checks(void)
{
    struct buddy_stats start, stats;
    KASSERT_EQ(init_whole_arena(), 0);
    buddy_get_stats(TEST_BUDDY, &start);

    /* Double free of a page (it sits in the cache) and of a block (it merged away). */
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, page, 0), MISUSE_DOUBLE_FREE, page);
    void *block = buddy_alloc(TEST_BUDDY, 2);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 2), 0);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, block, 2), MISUSE_DOUBLE_FREE, block);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, (void *)page_address(5), 0), MISUSE_DOUBLE_FREE, page_address(5));

    /* Not the start of a block; the wrong order. */
    block = buddy_alloc(TEST_BUDDY, 3);
    KASSERT_NOT_NULL(block);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, (char *)block + PAGE, 0), MISUSE_INVALID_FREE, (char *)block + PAGE);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, (char *)block + 4 * PAGE, 2), MISUSE_INVALID_FREE, (char *)block + 4 * PAGE);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, (char *)block + 64, 3), MISUSE_INVALID_FREE, (char *)block + 64);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, block, 2), MISUSE_WRONG_SIZE, block);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, block, 0), MISUSE_WRONG_SIZE, block);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, block, BUDDY_MAX_ORDER + 1), MISUSE_WRONG_SIZE, block);
    void *single = buddy_alloc(TEST_BUDDY, 0);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, single, 1), MISUSE_WRONG_SIZE, single);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, (char *)single + 1, 0), MISUSE_INVALID_FREE, (char *)single + 1);

    /* Outside the managed memory: far away, or inside a region but its metadata. */
    uintptr_t far = page_address(0) - (64ul << 20);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, (void *)far, 0), MISUSE_OUT_OF_RANGE, far);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, buddy_test_memory()->spare, 0), MISUSE_OUT_OF_RANGE,
                  buddy_test_memory()->spare);
    EXPECT_MISUSE(buddy_free(TEST_BUDDY, buddy_test_memory()->spare, 3), MISUSE_OUT_OF_RANGE,
                  buddy_test_memory()->spare);
    KASSERT_EQ(buddy_free(TEST_BUDDY, NULL, 0), 0);

    /* None of it changed anything. */
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, single, 0), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 3), 0);
    buddy_drain_all_caches(TEST_BUDDY);
    buddy_get_stats(TEST_BUDDY, &stats);
    KASSERT(same_free_blocks(&stats, &start));

#if RVMEM_CHECKED
    /* Write after free, through the cache (the same page comes back first) and through the pool. */
    page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    ((volatile char *)page)[100] = 1;
    unsigned reports = report_count;
    KASSERT_PTR_EQ(buddy_alloc(TEST_BUDDY, 0), page);
    KASSERT_EQ(report_count, reports + 1);
    KASSERT_EQ(last_report.kind, MISUSE_WRITE_AFTER_FREE);
    KASSERT_EQ(last_report.address, (uintptr_t)page + 100);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    buddy_drain_all_caches(TEST_BUDDY);
    block = buddy_alloc(TEST_BUDDY, 2);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 2), 0);
    ((volatile char *)block)[3 * PAGE + 7] = 1;
    KASSERT_PTR_EQ(buddy_alloc(TEST_BUDDY, 2), block);
    KASSERT_EQ(report_count, reports + 2);
    KASSERT_EQ(last_report.kind, MISUSE_WRITE_AFTER_FREE);
    KASSERT_EQ(last_report.address, (uintptr_t)block + 3 * PAGE + 7);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 2), 0);
#endif
    KASSERT(all_free());
}

KTEST(buddy, misuse_is_reported_and_refused)
{
    misuse_hook previous = misuse_set_hook(capture_report);
    misuse_checks();
    misuse_set_hook(previous);
}

KTEST(buddy, validator_catches_corruption)
{
    KASSERT_EQ(init_whole_arena(), 0);
    void *block = buddy_alloc(TEST_BUDDY, 4);
    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    ktest_note("the validator complains below on purpose");

    /* The tree says the allocated block is free, then that the arena's root holds nothing free. */
    struct buddy_region *region = &buddy_test_allocator.regions[0];
    /* The layout of kernel/mm/buddy_internal.h: the arena is root 0, a heap of nodes. */
    uint8_t *node = &region->trees[((1ul << BUDDY_MAX_ORDER) + page_number(block)) >> 4];
    KASSERT_EQ(*node, 0);
    *node = 5;
    KASSERT_LT(buddy_validate(TEST_BUDDY), 0);
    *node = 0;
    uint8_t *root = &region->trees[1];
    uint8_t saved_root = *root;
    *root = 0;
    KASSERT_LT(buddy_validate(TEST_BUDDY), 0);
    *root = saved_root;

    /* The root index loses the root from the set of order 0, then gains it in a set too high. */
    unsigned long *index_word = &region->index_top[0];
    unsigned long saved_word = *index_word;
    *index_word = 0;
    KASSERT_LT(buddy_validate(TEST_BUDDY), 0);
    *index_word = saved_word;
    KASSERT_LT(*root, BUDDY_MAX_ORDER + 1u); /* the root is split: the set of its own order lacks it */
    index_word = &region->index_top[*root];
    KASSERT_EQ(*index_word, 0ul);
    *index_word = saved_word;
    KASSERT_LT(buddy_validate(TEST_BUDDY), 0);
    *index_word = 0;

    /* A counter off by one. */
    buddy_test_allocator.free_blocks[0]++;
    KASSERT_LT(buddy_validate(TEST_BUDDY), 0);
    buddy_test_allocator.free_blocks[0]--;

    /* A page inside the allocated block that claims to start one. */
    uint8_t *state = &buddy_test_allocator.regions[0].page_state[page_number(block) + 1];
    uint8_t saved_state = *state;
    *state = 0x00; /* allocated, order 0 (PAGE_ALLOCATED, kernel/mm/buddy_internal.h) */
    KASSERT_LT(buddy_validate(TEST_BUDDY), 0);
    *state = saved_state;

    KASSERT_EQ(buddy_validate(TEST_BUDDY), 0);
    KASSERT_EQ(buddy_free(TEST_BUDDY, block, 4), 0);
    KASSERT(all_free());
}

/* How far into free_from_known_site its call returns: a few instructions (sanitizers add more on the host). */
#ifdef RVMEM_HOST
#define CALL_SITE_WINDOW_BYTES 512
#else
#define CALL_SITE_WINDOW_BYTES 64
#endif

/* Frees through a function of known address, and not as a tail call, so the report's caller is checkable. */
__attribute__((noinline)) static int free_from_known_site(void *block, unsigned order)
{
    volatile int result = buddy_free(TEST_BUDDY, block, order);
    return result;
}

KTEST(buddy, misuse_report_names_the_exact_caller)
{
    KASSERT_EQ(init_whole_arena(), 0);
    void *page = buddy_alloc(TEST_BUDDY, 0);
    KASSERT_NOT_NULL(page);
    KASSERT_EQ(buddy_free(TEST_BUDDY, page, 0), 0);
    misuse_hook previous = misuse_set_hook(capture_report);
    int result = free_from_known_site(page, 0); /* a double free, through the fast path's checks */
    misuse_set_hook(previous);
    KASSERT_EQ(result, -E_INVAL);
    KASSERT_EQ(last_report.kind, MISUSE_DOUBLE_FREE);
    uintptr_t site = (uintptr_t)free_from_known_site;
    KASSERT_GT((uintptr_t)last_report.caller, site);
    KASSERT_LT((uintptr_t)last_report.caller, site + CALL_SITE_WINDOW_BYTES);
    buddy_drain_all_caches(TEST_BUDDY);
}
