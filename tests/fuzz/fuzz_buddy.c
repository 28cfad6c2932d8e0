/*
 * tests/fuzz/fuzz_buddy.c - libFuzzer target for the buddy allocator.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -DRVMEM_HOST -DRVMEM_CHECKED=1 -I. (make fuzz)
 *
 * The input chooses up to four ranges in five 4 MiB chunks (so regions may be separate or
 * merged, ranges unaligned, touching or overlapping), then a stream of operations: allocate,
 * free, claim, release, drain, and misuse of every kind. A shadow model predicts every result
 * exactly: which block an allocation returns (the highest free aligned slot, or the cache's
 * top page, or what the caches give when the pool runs short), when it fails, what a claim
 * returns, which misuse is reported, and the counters.
 * The validator runs after every operation. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/buddy.h"
#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"

#define PAGE PAGE_SIZE
#define CHUNKS 5
#define CHUNK_PAGES 1024u
#define ALL_PAGES (CHUNKS * CHUNK_PAGES)
#define MAX_RANGES 4
#define MAX_RANGE_PAGES 160u
#define MAX_LIVE 64u

static unsigned char memory[CHUNKS][CHUNK_PAGES * PAGE] __attribute__((aligned(CHUNK_PAGES * PAGE)));
static struct buddy allocator;

/* Shadow: per page of memory, managed or not, and owned by a live block or not. */
static unsigned char managed[ALL_PAGES];
static unsigned char owned[ALL_PAGES];
static unsigned long managed_count, owned_count;

struct live {
    unsigned long page; /* index into memory */
    unsigned long pages;
    unsigned order;
    int claimed;
};
static struct live live[MAX_LIVE];
static unsigned live_count;

static struct misuse_report last_report;
static unsigned report_count;

static void capture(const struct misuse_report *report)
{
    last_report = *report;
    report_count++;
}

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr, "fuzz_buddy: %s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);                  \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static uintptr_t address_of(unsigned long page)
{
    return (uintptr_t)memory[0] + page * PAGE;
}

/* The input, read a byte at a time; zeros once it runs out. */
struct input {
    const uint8_t *data;
    size_t size, at;
};

static unsigned next_byte(struct input *input)
{
    return input->at < input->size ? input->data[input->at++] : 0;
}

static int input_left(const struct input *input)
{
    return input->at < input->size;
}

static void own(unsigned long page, unsigned long pages, int value)
{
    for (unsigned long p = page; p < page + pages; p++) {
        CHECK(managed[p]);
        CHECK(owned[p] != value);
        owned[p] = (unsigned char)value;
    }
    owned_count = value ? owned_count + pages : owned_count - pages;
}

/* Pages sitting in a per-hart cache (free, but not in the shared pool), marked afresh before use. */
static unsigned char cached[ALL_PAGES];

static void mark_cached(void)
{
    memset(cached, 0, sizeof cached);
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        const struct buddy_cache *cache = &allocator.caches[hart];
        for (unsigned long i = 0; i < buddy_cache_pages(cache); i++)
            cached[((uintptr_t)buddy_cache_held((struct buddy_cache *)cache)[i].page - address_of(0)) / PAGE] = 1;
    }
}

/* The highest aligned slot of 2^order pages, all managed and unowned (and uncached, if asked). */
static long highest_free_slot(unsigned order, int skip_cached)
{
    unsigned long pages = 1ul << order;
    for (unsigned long slot = ALL_PAGES / pages; slot-- > 0;) {
        unsigned long first = slot * pages;
        int free = 1;
        for (unsigned long p = first; p < first + pages && free; p++)
            free = managed[p] && !owned[p] && !(skip_cached && cached[p]);
        if (free)
            return (long)first;
    }
    return -1;
}

/*
 * The page an order-0 refill hands out: the highest page of the highest free slot (outside the
 * caches) of the batch order, else the highest free page alone. Returns the order of the block
 * the refill takes and sets *top to that page, or -1 when the pool has no free page.
 */
static int refill_slot(long *top)
{
    mark_cached();
    long first = highest_free_slot(BUDDY_CACHE_BATCH_ORDER, 1);
    if (first >= 0) {
        *top = first + (1l << BUDDY_CACHE_BATCH_ORDER) - 1;
        return BUDDY_CACHE_BATCH_ORDER;
    }
    first = highest_free_slot(0, 1);
    if (first < 0)
        return -1;
    *top = first;
    return 0;
}

static void check_counters(void)
{
    struct buddy_stats stats;
    buddy_get_stats(&allocator, &stats);
    CHECK(stats.total_pages == managed_count);
    CHECK(stats.free_pages == managed_count - owned_count);
    CHECK(stats.used_pages == owned_count);
    CHECK(stats.peak_used_pages >= owned_count);
    CHECK(buddy_validate(&allocator) == 0);
}

static void do_alloc(unsigned order)
{
    void *block = (void *)1;
    const struct buddy_cache *cache = &allocator.caches[0];
    long expected;
    if (order > BUDDY_MAX_ORDER) {
        CHECK(buddy_alloc_checked(&allocator, order, &block) == -E_INVAL && block == NULL);
        return;
    }
    if (order == 0 && buddy_cache_pages(cache) > 0) {
        expected = (long)(((uintptr_t)buddy_cache_held((struct buddy_cache *)cache)[0].page - address_of(0)) / PAGE);
    } else if (order == 0 && refill_slot(&expected) >= 0) {
        /* A refill: the highest page of the block it takes. */
    } else {
        /*
         * The pool's highest free slot. If it has none: an order-0 request takes the top page of
         * the first cache that holds one (this thread is hart 0: its own first); a larger one has
         * cached pages given back, top first, a cache at a time, until the pool has a free slot.
         */
        mark_cached();
        expected = highest_free_slot(order, 1);
        for (unsigned hart = 0; hart < RVMEM_MAX_HARTS && expected < 0; hart++) {
            struct buddy_cache *other = &allocator.caches[hart];
            for (unsigned long i = 0; i < buddy_cache_pages(other) && expected < 0; i++) {
                long page = (long)(((uintptr_t)buddy_cache_held(other)[i].page - address_of(0)) / PAGE);
                if (order == 0) {
                    expected = page;
                } else {
                    cached[page] = 0;
                    expected = highest_free_slot(order, 1);
                }
            }
        }
    }
    int result = buddy_alloc_checked(&allocator, order, &block);
    if (expected < 0) {
        CHECK(result == -E_NOMEM && block == NULL);
        return;
    }
    CHECK(result == 0);
    CHECK((uintptr_t)block == address_of((unsigned long)expected));
    CHECK(live_count < MAX_LIVE);
    own((unsigned long)expected, 1ul << order, 1);
    live[live_count++] = (struct live){(unsigned long)expected, 1ul << order, order, 0};
    memset(block, 0xa5, 1ul << order << 12 > 2 * PAGE ? 2 * PAGE : PAGE); /* the owner writes */
}

/* Pages every cache holds. */
static unsigned long cached_count(void)
{
    unsigned long count = 0;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++)
        count += buddy_cache_pages(&allocator.caches[hart]);
    return count;
}

/* One step of a drain: the top page of the first cache that holds one goes back to the pool. */
static void do_drain_step(void)
{
    long expected = -1;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS && expected < 0; hart++) {
        struct buddy_cache *cache = &allocator.caches[hart];
        if (buddy_cache_pages(cache) > 0)
            expected = (long)(((uintptr_t)buddy_cache_held(cache)[0].page - address_of(0)) / PAGE);
    }
    unsigned long cached_before = cached_count();
    CHECK(buddy_drain_caches(&allocator) == (expected >= 0 ? 1ul : 0ul));
    CHECK(cached_count() == (expected >= 0 ? cached_before - 1 : 0));
    mark_cached();
    CHECK(expected < 0 || !cached[expected]); /* in the pool now */
}

static void do_claim(unsigned long page, unsigned long pages)
{
    int expected = 0;
    for (unsigned long p = page; p < page + pages; p++) {
        if (!managed[p])
            expected = -E_INVAL;
        else if (expected == 0 && owned[p])
            expected = -E_BUSY;
    }
    if (pages == 0)
        expected = 0;
    int result = buddy_claim(&allocator, address_of(page), address_of(page + pages));
    CHECK(result == expected);
    if (result == 0 && pages > 0) {
        CHECK(live_count < MAX_LIVE);
        own(page, pages, 1);
        live[live_count++] = (struct live){page, pages, 0, 1};
    }
}

/* Gives back live block i: whole, or for claims page by page or with one release. */
static void give_back(unsigned i, unsigned how)
{
    struct live block = live[i];
    live[i] = live[--live_count];
    own(block.page, block.pages, 0);
    if (!block.claimed) {
        CHECK(buddy_free(&allocator, (void *)address_of(block.page), block.order) == 0);
    } else if (how & 1) {
        for (unsigned long p = block.page; p < block.page + block.pages; p++)
            CHECK(buddy_free(&allocator, (void *)address_of(p), 0) == 0);
    } else {
        CHECK(buddy_release(&allocator, address_of(block.page), address_of(block.page + block.pages)) == 0);
    }
}

/* Frees address with order expecting the misuse kind; nothing may change. */
static void expect_misuse(uintptr_t address, unsigned order, enum misuse_kind kind)
{
    unsigned before = report_count;
    unsigned long free_before = buddy_free_pages(&allocator);
    CHECK(buddy_free(&allocator, (void *)address, order) == -E_INVAL);
    CHECK(report_count == before + 1);
    CHECK(last_report.kind == kind);
    CHECK(last_report.address == address);
    CHECK(buddy_free_pages(&allocator) == free_before);
}

static void do_misuse(unsigned kind, unsigned a, unsigned b)
{
    unsigned long page = ((unsigned long)a << 8 | b) % ALL_PAGES;
    switch (kind % 5) {
    case 0: /* free of a page that is free: a double free (or out of range when not managed) */
        if (!owned[page])
            expect_misuse(address_of(page), b % (BUDDY_MAX_ORDER + 1),
                          managed[page] ? MISUSE_DOUBLE_FREE : MISUSE_OUT_OF_RANGE);
        break;
    case 1: /* not page aligned */
        expect_misuse(address_of(page) + 1 + b % (PAGE - 1), 0,
                      managed[page] ? MISUSE_INVALID_FREE : MISUSE_OUT_OF_RANGE);
        break;
    case 2: /* the wrong order for a live block */
        if (live_count > 0) {
            struct live *block = &live[a % live_count];
            unsigned order = (block->order + 1 + b % (BUDDY_MAX_ORDER + 1)) % (BUDDY_MAX_ORDER + 2);
            if (order != block->order)
                expect_misuse(address_of(block->page), order, MISUSE_WRONG_SIZE);
        }
        break;
    case 3: /* a page inside a live allocated block */
        if (live_count > 0) {
            struct live *block = &live[a % live_count];
            if (!block->claimed && block->pages > 1)
                expect_misuse(address_of(block->page + 1 + b % (block->pages - 1)), b % 3, MISUSE_INVALID_FREE);
        }
        break;
    default: /* far outside */
        expect_misuse(address_of(0) - (64ul << 20) + (uintptr_t)b * PAGE, 0, MISUSE_OUT_OF_RANGE);
        break;
    }
}

/* Marks the pages buddy_init manages: the ranges, less the metadata at the top of the highest one that fits. */
static void shadow_ranges(const struct buddy_range *ranges, unsigned count)
{
    unsigned long metadata_pages = allocator.metadata_bytes / PAGE;
    int carved = -1;
    uintptr_t carved_end = 0;
    for (unsigned r = 0; r < count; r++) {
        uintptr_t first = (ranges[r].start + PAGE - 1) / PAGE, end = ranges[r].end / PAGE;
        if (first < end && end - first >= metadata_pages && end > carved_end) {
            carved = (int)r;
            carved_end = end;
        }
    }
    CHECK(carved >= 0);
    for (unsigned r = 0; r < count; r++) {
        uintptr_t first = (ranges[r].start - address_of(0) + PAGE - 1) / PAGE;
        uintptr_t end = (ranges[r].end - address_of(0)) / PAGE;
        if ((int)r == carved)
            end -= metadata_pages;
        for (uintptr_t p = first; p < end; p++) {
            managed[p] = 1;
            managed_count++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input input = {data, size, 0};
    struct buddy_range ranges[MAX_RANGES];
    unsigned count = 1 + next_byte(&input) % MAX_RANGES;
    for (unsigned r = 0; r < count; r++) {
        unsigned chunk = next_byte(&input) % CHUNKS;
        unsigned shape = next_byte(&input);
        unsigned long offset = (unsigned long)next_byte(&input) << 16 | next_byte(&input) << 8 | next_byte(&input);
        offset %= (CHUNK_PAGES - MAX_RANGE_PAGES) * PAGE;
        unsigned long length = ((unsigned long)next_byte(&input) << 8 | next_byte(&input)) * 13;
        length %= MAX_RANGE_PAGES * PAGE + 1;
        if (shape & 1) /* page-aligned bounds half of the time */
            offset &= ~(PAGE - 1), length &= ~(PAGE - 1);
        uintptr_t start = (uintptr_t)memory[chunk] + offset;
        ranges[r] = (struct buddy_range){start, start + length};
    }
    memset(managed, 0, sizeof managed);
    memset(owned, 0, sizeof owned);
    managed_count = owned_count = 0;
    live_count = 0;
    int result = buddy_init(&allocator, ranges, count);
    if (result != 0) {
        CHECK(result == -E_INVAL || result == -E_NOMEM);
        return 0;
    }
    shadow_ranges(ranges, count);
    check_counters();

    misuse_hook previous = misuse_set_hook(capture);
    while (input_left(&input)) {
        unsigned op = next_byte(&input), a = next_byte(&input), b = next_byte(&input);
        if (live_count == MAX_LIVE) /* the shadow is full: give a block back instead */
            op = 3;
        switch (op % 8) {
        case 0:
        case 1:
        case 2: do_alloc(a % 3 == 0 ? a % (BUDDY_MAX_ORDER + 2) : a % 3); break;
        case 3:
        case 4:
            if (live_count > 0)
                give_back(a % live_count, b);
            break;
        case 5: do_claim(((unsigned long)a << 8 | b) % (ALL_PAGES - 16), next_byte(&input) % 17); break;
        case 6: do_misuse(a, b, next_byte(&input)); break;
        default:
            if (a % 2)
                buddy_drain_all_caches(&allocator);
            else
                do_drain_step();
            break;
        }
        check_counters();
    }
    while (live_count > 0)
        give_back(live_count - 1, live_count);
    buddy_drain_all_caches(&allocator);
    check_counters();
    CHECK(buddy_free_pages(&allocator) == managed_count);
    misuse_set_hook(previous);
    return 0;
}
