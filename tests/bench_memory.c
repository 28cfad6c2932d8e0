/*
 * tests/bench_memory.c - page allocation and the program break, in guest instructions.
 *
 * Issue budgets: sbrk with no page change <= 25; sbrk claiming a page reported (target 300);
 * order-0 alloc/free through the per-hart cache <= 40 mean each; random-order churn max <= 400
 * (refills and drains of the per-hart cache are measured on their own, without a budget).
 * Figures above a budget fail `make bench`; where the implementation misses an issue target
 * the budget here is the measured ceiling and docs/BENCHMARKS.md says so.
 */
#include "kernel/brk.h"
#include "kernel/buddy.h"
#include "kernel/layout.h"
#include "kernel/pages.h"
#include "kernel/platform.h"
#include "kernel/string.h"
#include "tests/kbench.h"

#define CALLS 1000

/* Warm the calling hart's cache so the measured calls hit it. */
static void warm_cache(void)
{
    void *page = page_alloc(0);
    page_free(page, 0);
}

KBENCH(page_alloc_order0_cached, 40, 40)
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

/*
 * Random orders 0..BUDDY_MAX_ORDER, each call measured (order-0 ones through the per-hart cache).
 * It starts from a known cache: drained, then holding 16 of its 31 pages, so that its figures do
 * not depend on the benchmarks run before it. In this sequence no order-0 call finds the cache
 * empty or full; a call that refills or drains it is measured on its own below.
 */
KBENCH(page_alloc_free_random_orders, 0, 400)
{
    static struct {
        void *block;
        unsigned order;
    } live[64];
    static void *half_cache[16];
    buddy_drain_caches(kernel_pages());
    for (unsigned i = 0; i < 16; i++)
        half_cache[i] = page_alloc(0);
    for (unsigned i = 0; i < 16; i++)
        page_free(half_cache[i], 0);
    uint32_t seed = 12345;
    for (unsigned i = 0; i < 2 * CALLS; i++) {
        unsigned slot = next_random(&seed) % 64;
        uint64_t start = kbench_start();
        if (live[slot].block) {
            page_free(live[slot].block, live[slot].order);
            live[slot].block = NULL;
        } else {
            live[slot].order = next_random(&seed) % (BUDDY_MAX_ORDER + 1);
            live[slot].block = page_alloc(live[slot].order);
        }
        kbench_stop(start);
    }
    for (unsigned slot = 0; slot < 64; slot++)
        if (live[slot].block)
            page_free(live[slot].block, live[slot].order);
}

/*
 * The batch transfers of the per-hart cache, each inside one call: an order-0 allocation that
 * finds the cache empty (a refill), and an order-0 free that finds it full (a drain). The
 * random-order churn counts them when they happen inside its calls; here they are on their own.
 */
static void cache_cycles(bool measure_refills)
{
    static void *pages[2 * BUDDY_CACHE_PAGES];
    struct buddy_cache *cache = &kernel_pages()->caches[hart_self()];
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

KBENCH(page_alloc_order0_refill, 0, 0)
{
    cache_cycles(true);
}

KBENCH(page_free_order0_drain, 0, 0)
{
    cache_cycles(false);
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
        churn_start = kbench_instret();
    churn_barrier(harts);
    churn();
    churn_barrier(harts);
    if (hart_self() == 0)
        churn_end = kbench_instret();
}

static void record_churn(unsigned harts)
{
    uint64_t operations = (uint64_t)harts * 2 * CHURN_ROUNDS * CHURN_PAGES;
    kbench_record((churn_end - churn_start + operations / 2) / operations);
}

KBENCH(page_order0_churn_1_hart, 0, 0)
{
    churn(); /* warm the cache as the all-harts run does */
    churn_start = kbench_instret();
    churn();
    churn_end = kbench_instret();
    record_churn(1);
}

KBENCH(page_order0_churn_all_harts, 0, 0)
{
    run_on_all_harts(churn); /* warm every hart's cache */
    run_on_all_harts(churn_on_every_hart);
    record_churn(hart_count());
}

/* Instructions buddy_init took at boot over this machine's RAM (one sample; see bench.py for 4G). */
KBENCH(buddy_init_this_machine, 0, 1000000)
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
