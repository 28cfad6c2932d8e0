/*
 * tests/mm/sbrk.c - the machine's own heap break and page allocator, as the kernel uses them.
 */
#include "kernel/top/boot.h"
#include "kernel/platform/bootargs.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/mm/memmap.h"
#include "kernel/mm/pages.h"
#include "kernel/mm/sbrk.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

extern char __image_end[];

/*
 * Leak check: every suite leaves the machine's free pages and break as it found them. The suite's
 * test arenas (tests/harness/ktest_arena.h) are still held when it runs (the runner gives them
 * back just after): they count as pages taken on purpose, so what is missing beyond them leaked.
 * Pages the heap lent to the buddy allocator (a malloc trim: brk_release_inner) are free pages
 * that are still the heap's: they are not counted, so a trim that lends more or fewer of them
 * than before is no leak.
 */
static unsigned long free_pages_before;
static uintptr_t break_before;

/* Free pages in the buddy allocator, less those the heap lent it. */
static unsigned long free_pages_not_lent(void)
{
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    return buddy_free_pages(kernel_pages()) - heap.pages_lent;
}

static void leak_snapshot_pages(void)
{
    buddy_drain_all_caches(kernel_pages());
    free_pages_before = free_pages_not_lent();
    break_before = (uintptr_t)sbrk(0);
}

static bool leak_pages_and_break_unchanged(void)
{
    unsigned long free_now = free_pages_not_lent();
    unsigned long arena_pages = (unsigned long)(ktest_arena_bytes_held() / PAGE_SIZE);
    uintptr_t break_now = (uintptr_t)sbrk(0);
    if (free_now + arena_pages == free_pages_before && break_now == break_before)
        return true;
    ktest_note(
        "machine pages: %lu free before, %lu after (+ %lu in the suite's test arenas); break %p before, %p after",
        free_pages_before, free_now, arena_pages, (void *)break_before, (void *)break_now);
    return false;
}

KTEST_LEAK_CHECK(machine_pages, leak_snapshot_pages, leak_pages_and_break_unchanged);

/*
 * The check's own test (explicit: tools/test.py runs it and expects the suite to fail): a suite
 * that holds a test arena and leaks one page must fail the check, which names exactly one page
 * missing beyond the arena's.
 */
static struct ktest_arena leak_arena = KTEST_ARENA(16 * PAGE_SIZE, PAGE_SIZE);

KTEST_EXPLICIT(selftest_leak, a_page_leaked_beside_a_test_arena_is_caught)
{
    KASSERT_NOT_NULL(ktest_arena_memory(&leak_arena));
    KASSERT_NOT_NULL(page_alloc(0)); /* never freed: the leak */
}

KTEST(sbrk, heap_starts_just_above_the_image)
{
    KASSERT_EQ((uintptr_t)sbrk(0), (uintptr_t)__image_end);
}

KTEST(sbrk, grows_with_pages_from_the_buddy_allocator)
{
    unsigned long free_before = buddy_free_pages(kernel_pages());
    char *start = sbrk(3 * PAGE_SIZE + 100);
    KASSERT_NE(start, (char *)-1);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before - 4);
    for (unsigned i = 0; i < 3 * PAGE_SIZE + 100; i++)
        KASSERT_EQ(start[i], 0);
    KASSERT_EQ(brk(start), 0);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}

KTEST(sbrk, errors_set_errno)
{
    char *start = sbrk(0);
    KASSERT_PTR_EQ(sbrk(-1), (void *)-1);
    KASSERT_EQ(*errno_location(), E_INVAL);
    KASSERT_PTR_EQ(sbrk(INTPTR_MAX), (void *)-1);
    KASSERT_EQ(*errno_location(), E_NOMEM);
    KASSERT_EQ(brk(start - 1), -1);
    KASSERT_EQ(*errno_location(), E_INVAL);
    KASSERT_PTR_EQ(sbrk(0), start);
}

KTEST(sbrk, meets_page_allocations_then_recovers)
{
    char *start = sbrk(0);
    uintptr_t above = (uintptr_t)start + PAGE_SIZE; /* the page right above the break's first page */
    KASSERT_EQ(buddy_claim(kernel_pages(), above, above + PAGE_SIZE), 0);
    KASSERT_NE(sbrk(PAGE_SIZE), (void *)-1);
    KASSERT_PTR_EQ(sbrk(1), (void *)-1);
    KASSERT_EQ(*errno_location(), E_NOMEM);
    KASSERT_EQ(page_free((void *)above, 0), 0);
    KASSERT_NE(sbrk(1), (void *)-1);
    KASSERT_EQ(brk(start), 0);
}

KTEST(sbrk, uninit_moves_the_break_like_sbrk)
{
    unsigned long free_before = buddy_free_pages(kernel_pages());
    char *start = sbrk(0);
    KASSERT_PTR_EQ(sbrk_uninit(3 * PAGE_SIZE + 100), start);
    KASSERT_PTR_EQ(sbrk_uninit(0), start + 3 * PAGE_SIZE + 100);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before - 4);
    KASSERT_PTR_EQ(sbrk_uninit(-(intptr_t)(3 * PAGE_SIZE + 100)), start + 3 * PAGE_SIZE + 100);
    KASSERT_PTR_EQ(sbrk(0), start);
    KASSERT_EQ(buddy_free_pages(kernel_pages()), free_before);
}

KTEST(sbrk, uninit_errors_set_errno)
{
    char *start = sbrk(0);
    KASSERT_PTR_EQ(sbrk_uninit(-1), (void *)-1);
    KASSERT_EQ(*errno_location(), E_INVAL);
    KASSERT_PTR_EQ(sbrk_uninit(INTPTR_MAX), (void *)-1);
    KASSERT_EQ(*errno_location(), E_NOMEM);
    KASSERT_PTR_EQ(sbrk(0), start);
}

/* A page dirtied and given back, taken again uninitialized: sbrk still hands out zeros from it. */
KTEST(sbrk, zeroing_sbrk_after_uninit_reads_zero)
{
    char *start = sbrk(0);
    KASSERT_EQ((uintptr_t)start % PAGE_SIZE, 0u); /* so the pages below are the ones dirtied here */
    char *dirty = sbrk(2 * PAGE_SIZE);
    KASSERT_PTR_EQ(dirty, start);
    for (unsigned i = 0; i < 2 * PAGE_SIZE; i++)
        dirty[i] = (char)0xa5;
    KASSERT_EQ(brk(start), 0);
    KASSERT_PTR_EQ(sbrk_uninit(64), start);
    KASSERT_NE(start[64], 0); /* the premise: the page came back as it was */
    char *zeroed = sbrk(2 * PAGE_SIZE);
    KASSERT_PTR_EQ(zeroed, start + 64);
    for (unsigned i = 0; i < 2 * PAGE_SIZE; i++)
        KASSERT_EQ(zeroed[i], 0);
    KASSERT_EQ(brk(start), 0);
}

KTEST(pages, highest_addresses_first)
{
    void *first = page_alloc(0);
    void *second = page_alloc(0);
    KASSERT_NOT_NULL(first);
    KASSERT_NOT_NULL(second);
    /* Far from the break: in the upper half of what lies between the break and the top of RAM. */
    const struct memmap *map = boot_memory_map();
    uintptr_t top = (uintptr_t)map->usable[map->usable_count - 1].end;
    uintptr_t break_now = (uintptr_t)sbrk(0);
    KASSERT_GT((uintptr_t)first, break_now + (top - break_now) / 2);
    KASSERT_EQ(page_free(first, 0), 0);
    KASSERT_EQ(page_free(second, 0), 0);
    void *block = page_alloc(BUDDY_MAX_ORDER);
    KASSERT_NOT_NULL(block);
    KASSERT_EQ((uintptr_t)block % (PAGE_SIZE << BUDDY_MAX_ORDER), 0u);
    KASSERT_EQ(page_free(block, BUDDY_MAX_ORDER), 0);
    KASSERT_NULL(page_alloc(BUDDY_MAX_ORDER + 1));
    KASSERT_EQ(buddy_validate(kernel_pages()), 0);
}

/* With heap_max=SIZE in the bootargs (make test boots once with heap_max=64K), the heap stops there. */
KTEST(sbrk, heap_max_from_bootargs_caps_the_heap)
{
    uint64_t heap_max = 0;
    struct brk_stats stats;
    brk_get_stats(kernel_heap(), &stats);
    if (bootargs_get_bytes(boot_arguments(), "heap_max", &heap_max) != 0) {
        KASSERT_GT(stats.limit - stats.start, 1u << 20); /* no cap: up to the end of its RAM range */
        return;
    }
    KASSERT_EQ(stats.limit, stats.start + (uintptr_t)heap_max);
    char *start = sbrk(0);
    KASSERT_NE(sbrk((intptr_t)heap_max), (void *)-1);
    KASSERT_PTR_EQ(sbrk(1), (void *)-1);
    KASSERT_EQ(*errno_location(), E_NOMEM);
    KASSERT_PTR_EQ(sbrk_uninit(1), (void *)-1);
    KASSERT_EQ(*errno_location(), E_NOMEM);
    KASSERT_EQ(brk(start), 0);
    KASSERT_NE(sbrk_uninit((intptr_t)heap_max), (void *)-1); /* the uninitialized grow reaches the cap too */
    KASSERT_PTR_EQ(sbrk_uninit(1), (void *)-1);
    KASSERT_EQ(brk(start), 0);
}
