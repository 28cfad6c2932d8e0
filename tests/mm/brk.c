/*
 * tests/mm/brk.c - the program break over a buddy allocator of its own.
 *
 * The heap starts at the bottom of a small arena whose pages a private buddy allocator
 * manages, so the tests control exactly which pages are taken.
 */
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

#define ARENA_PAGES 256
#define ARENA_BYTES (ARENA_PAGES * PAGE_SIZE)
/* A test arena (tests/harness/ktest_arena.h): taken when the suite starts, not in .bss. */
static struct ktest_arena arena_space = KTEST_ARENA(ARENA_BYTES, PAGE_SIZE);
static unsigned char *arena; /* arena_space's memory, set by set_up() */
static struct buddy pages;
static struct brk_heap heap;
static uintptr_t heap_start;
static unsigned long free_at_start;

/* The top of the arena holds the allocator's own metadata: the heap may grow up to it. */
static uintptr_t arena_limit(void)
{
    return (uintptr_t)arena + ARENA_BYTES - pages.metadata_bytes;
}

/* A fresh buddy over the arena and an empty heap at its bottom, limited to the arena. */
static bool set_up(void)
{
    arena = ktest_arena_memory(&arena_space);
    if (arena == NULL)
        return false;
    struct buddy_range range = {(uintptr_t)arena, (uintptr_t)arena + ARENA_BYTES};
    if (buddy_init(&pages, &range, 1) != 0)
        return false;
    heap_start = (uintptr_t)arena;
    free_at_start = buddy_free_pages(&pages);
    return brk_init(&heap, &pages, heap_start, arena_limit()) == 0;
}

static uintptr_t current_break(void)
{
    void *previous = NULL;
    brk_sbrk(&heap, 0, &previous);
    return (uintptr_t)previous;
}

static uintptr_t pages_held(void)
{
    struct brk_stats stats;
    brk_get_stats(&heap, &stats);
    return stats.pages_held;
}

KTEST(brk, grow_and_shrink_return_the_previous_break)
{
    KASSERT(set_up());
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 100, &previous), 0);
    KASSERT_EQ((uintptr_t)previous, heap_start);
    KASSERT_EQ(brk_sbrk(&heap, 50, &previous), 0);
    KASSERT_EQ((uintptr_t)previous, heap_start + 100);
    KASSERT_EQ(current_break(), heap_start + 150);
    KASSERT_EQ(pages_held(), 1u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start - 1);
    KASSERT_EQ(brk_sbrk(&heap, -150, &previous), 0);
    KASSERT_EQ((uintptr_t)previous, heap_start + 150);
    KASSERT_EQ(pages_held(), 0u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

KTEST(brk, byte_granular_moves_across_page_boundaries)
{
    KASSERT(set_up());
    static const intptr_t moves[] = {4095, 1, 1, -2, 8193, -4097, 3, -4099, 12288, -12288, 1, -1};
    uintptr_t expected = heap_start;
    for (unsigned i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        void *previous = NULL;
        KASSERT_EQ(brk_sbrk(&heap, moves[i], &previous), 0);
        KASSERT_EQ((uintptr_t)previous, expected);
        expected += (uintptr_t)moves[i];
        uintptr_t want_pages = (expected - heap_start + PAGE_SIZE - 1) / PAGE_SIZE;
        KASSERT_EQ(pages_held(), want_pages);
        KASSERT_EQ(buddy_free_pages(&pages), free_at_start - want_pages);
    }
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

KTEST(brk, grown_memory_reads_as_zero)
{
    KASSERT(set_up());
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 3 * PAGE_SIZE, &previous), 0);
    unsigned char *bytes = previous;
    for (unsigned i = 0; i < 3 * PAGE_SIZE; i++) {
        KASSERT_EQ(bytes[i], 0);
        bytes[i] = 0xff;
    }
    KASSERT_EQ(brk_sbrk(&heap, -5000, &previous), 0); /* within a page and across one */
    KASSERT_EQ(brk_sbrk(&heap, 5000, &previous), 0);
    for (unsigned i = 3 * PAGE_SIZE - 5000; i < 3 * PAGE_SIZE; i++)
        KASSERT_EQ(bytes[i], 0);
    KASSERT_EQ(bytes[3 * PAGE_SIZE - 5001], 0xff); /* below the shrink: kept */
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
}

KTEST(brk, bad_moves_are_refused_and_change_nothing)
{
    KASSERT(set_up());
    void *previous = (void *)1;
    KASSERT_EQ(brk_sbrk(&heap, -1, &previous), -E_INVAL);
    KASSERT_PTR_EQ(previous, (void *)1);
    KASSERT_EQ(brk_set(&heap, heap_start - 1), -E_INVAL);
    KASSERT_EQ(brk_sbrk(&heap, 10, &previous), 0);
    KASSERT_EQ(brk_sbrk(&heap, INTPTR_MAX, &previous), -E_NOMEM); /* beyond the limit */
    KASSERT_EQ(brk_sbrk(&heap, INTPTR_MIN, &previous), -E_INVAL); /* wraps below zero */
    KASSERT_EQ(brk_set(&heap, arena_limit() + 1), -E_NOMEM);
    KASSERT_EQ(current_break(), heap_start + 10);
    KASSERT_EQ(brk_set(&heap, arena_limit()), 0); /* exactly up to the limit */
    KASSERT_EQ(brk_sbrk(&heap, 1, &previous), -E_NOMEM);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
    KASSERT(brk_init(&heap, &pages, heap_start + 1, heap_start + PAGE_SIZE) == -E_INVAL);
    KASSERT(brk_init(&heap, &pages, heap_start, heap_start - PAGE_SIZE) == -E_INVAL);
}

KTEST(brk, collision_with_an_allocated_page_then_recovery)
{
    KASSERT(set_up());
    uintptr_t taken = heap_start + 2 * PAGE_SIZE;
    KASSERT_EQ(buddy_claim(&pages, taken, taken + PAGE_SIZE), 0); /* someone else owns page 2 */
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 2 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(brk_sbrk(&heap, 1, &previous), -E_NOMEM);
    KASSERT_EQ(current_break(), heap_start + 2 * PAGE_SIZE);
    KASSERT_EQ(pages_held(), 2u);
    KASSERT_EQ(buddy_free(&pages, (void *)taken, 0), 0);
    KASSERT_EQ(brk_sbrk(&heap, 1, &previous), 0);
    KASSERT_EQ(pages_held(), 3u);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
}

KTEST(brk, exhaustion_by_page_allocations_then_recovery)
{
    KASSERT(set_up());
    static void *taken[ARENA_PAGES];
    unsigned count = 0;
    while (count < ARENA_PAGES && (taken[count] = buddy_alloc(&pages, 0)) != NULL)
        count++;
    KASSERT_GT(count, 0u);
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 1, &previous), -E_NOMEM);
    for (unsigned i = 0; i < count; i++)
        KASSERT_EQ(buddy_free(&pages, taken[i], 0), 0);
    KASSERT_EQ(brk_sbrk(&heap, 1, &previous), 0);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
}

KTEST(brk, statistics_track_start_break_and_peak)
{
    KASSERT(set_up());
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 3 * PAGE_SIZE + 7, &previous), 0);
    KASSERT_EQ(brk_sbrk(&heap, -(intptr_t)(2 * PAGE_SIZE), &previous), 0);
    struct brk_stats stats;
    brk_get_stats(&heap, &stats);
    KASSERT_EQ(stats.start, heap_start);
    KASSERT_EQ(stats.current, heap_start + PAGE_SIZE + 7);
    KASSERT_EQ(stats.peak, heap_start + 3 * PAGE_SIZE + 7);
    KASSERT_EQ(stats.pages_held, 2u);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
}

/* brk_move_by_uninit as brk_sbrk: 0 or the error, the previous break in *previous on success. */
static int sbrk_uninit_on(intptr_t increment, void **previous)
{
    struct brk_move move = brk_move_by_uninit(&heap, increment);
    if (move.error == 0)
        *previous = (void *)move.previous;
    return (int)move.error;
}

KTEST(brk, uninitialized_grow_moves_the_break_like_sbrk)
{
    KASSERT(set_up());
    void *previous = NULL;
    KASSERT_EQ(sbrk_uninit_on(100, &previous), 0);
    KASSERT_EQ((uintptr_t)previous, heap_start);
    KASSERT_EQ(pages_held(), 1u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start - 1);
    KASSERT_EQ(sbrk_uninit_on(3 * PAGE_SIZE + 7, &previous), 0);
    KASSERT_EQ((uintptr_t)previous, heap_start + 100);
    KASSERT_EQ(current_break(), heap_start + 3 * PAGE_SIZE + 107);
    KASSERT_EQ(pages_held(), 4u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start - 4);
    struct brk_stats stats;
    brk_get_stats(&heap, &stats);
    KASSERT_EQ(stats.peak, heap_start + 3 * PAGE_SIZE + 107);
    KASSERT_EQ(sbrk_uninit_on(-(intptr_t)(3 * PAGE_SIZE + 107), &previous), 0); /* shrinks as sbrk does */
    KASSERT_EQ((uintptr_t)previous, heap_start + 3 * PAGE_SIZE + 107);
    KASSERT_EQ(pages_held(), 0u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

KTEST(brk, uninitialized_grow_fails_like_sbrk_and_changes_nothing)
{
    KASSERT(set_up());
    void *previous = (void *)1;
    KASSERT_EQ(sbrk_uninit_on(-1, &previous), -E_INVAL); /* below the start */
    KASSERT_PTR_EQ(previous, (void *)1);
    KASSERT_EQ(sbrk_uninit_on(10, &previous), 0);
    KASSERT_EQ(sbrk_uninit_on(INTPTR_MAX, &previous), -E_NOMEM); /* beyond the limit */
    KASSERT_EQ(sbrk_uninit_on(INTPTR_MIN, &previous), -E_INVAL); /* wraps below zero */
    uintptr_t to_limit = arena_limit() - (heap_start + 10);
    KASSERT_EQ(sbrk_uninit_on((intptr_t)to_limit + 1, &previous), -E_NOMEM);
    KASSERT_EQ(current_break(), heap_start + 10);
    KASSERT_EQ(pages_held(), 1u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start - 1);
    /* The pages above are taken: -E_NOMEM, nothing claimed; once they are free the same move succeeds. */
    uintptr_t taken = heap_start + 2 * PAGE_SIZE;
    KASSERT_EQ(buddy_claim(&pages, taken, taken + PAGE_SIZE), 0);
    KASSERT_EQ(sbrk_uninit_on(3 * PAGE_SIZE, &previous), -E_NOMEM);
    KASSERT_EQ(current_break(), heap_start + 10);
    KASSERT_EQ(pages_held(), 1u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start - 2);
    KASSERT_EQ(buddy_free(&pages, (void *)taken, 0), 0);
    KASSERT_EQ(sbrk_uninit_on(3 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(sbrk_uninit_on((intptr_t)(to_limit - 3 * PAGE_SIZE), &previous), 0); /* exactly up to the limit */
    KASSERT_EQ(current_break(), arena_limit());
    KASSERT_EQ(sbrk_uninit_on(1, &previous), -E_NOMEM);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

/* Claims the first pages of the arena with bytes written all over them, then gives them back. */
static void dirty_the_first_pages(unsigned page_count)
{
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, (intptr_t)(page_count * PAGE_SIZE), &previous), 0);
    memset(previous, 0xa5, page_count * PAGE_SIZE);
    KASSERT_EQ(brk_set(&heap, heap_start), 0); /* checked builds poison them (0x6b): still not zero */
}

/* The first byte in [from, to) that is not zero, or to. */
static uintptr_t first_nonzero(uintptr_t from, uintptr_t to)
{
    for (const unsigned char *byte = (const unsigned char *)from; (uintptr_t)byte < to; byte++)
        if (*byte)
            return (uintptr_t)byte;
    return to;
}

KTEST(brk, zeroing_grow_after_an_uninitialized_one_reads_zero)
{
    KASSERT(set_up());
    dirty_the_first_pages(3);
    void *previous = NULL;
    KASSERT_EQ(sbrk_uninit_on(100, &previous), 0);
    /* The premise: the page came back as it was (that is what uninitialized means). */
    KASSERT_NE(*(const unsigned char *)(heap_start + 100), 0);
    KASSERT_EQ(heap.dirty_end, heap_start + PAGE_SIZE);
    /* The fast path must not hand those bytes to a zeroing move; a move by 0 still takes it. */
    uintptr_t fast_previous = 0;
    KASSERT(!brk_try_move_fast(&heap, 16, &fast_previous));
    KASSERT(brk_try_move_fast(&heap, 0, &fast_previous));
    KASSERT_EQ(fast_previous, heap_start + 100);
    /* Inside the page: exactly what is handed out is cleared. */
    KASSERT_EQ(brk_sbrk(&heap, 200, &previous), 0);
    KASSERT_EQ((uintptr_t)previous, heap_start + 100);
    KASSERT_EQ(first_nonzero(heap_start + 100, heap_start + 300), heap_start + 300);
    /* Across into new pages: the rest of the dirty page and the new pages read as zero. */
    KASSERT_EQ(brk_sbrk(&heap, 2 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(first_nonzero(heap_start + 300, heap_start + 2 * PAGE_SIZE + 300), heap_start + 2 * PAGE_SIZE + 300);
    KASSERT(brk_try_move_fast(&heap, 16, &fast_previous)); /* nothing dirty above the break any more */
    /* brk_set into dirty pages clears too. */
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    dirty_the_first_pages(2);
    KASSERT_EQ(sbrk_uninit_on(1, &previous), 0);
    KASSERT_EQ(brk_set(&heap, heap_start + PAGE_SIZE + 1), 0);
    KASSERT_EQ(first_nonzero(heap_start + 1, heap_start + PAGE_SIZE + 1), heap_start + PAGE_SIZE + 1);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
}

KTEST(brk, shrinking_below_dirty_bytes_keeps_zero_above_the_break)
{
    KASSERT(set_up());
    dirty_the_first_pages(3);
    void *previous = NULL;
    KASSERT_EQ(sbrk_uninit_on(2 * PAGE_SIZE + 100, &previous), 0); /* three dirty pages */
    memset((void *)heap_start, 0x5a, 2 * PAGE_SIZE + 100);
    KASSERT_EQ(brk_set(&heap, heap_start + 50), 0); /* gives two pages back, keeps the first */
    KASSERT_EQ(pages_held(), 1u);
    KASSERT_EQ(brk_sbrk(&heap, 3 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(first_nonzero(heap_start + 50, heap_start + 3 * PAGE_SIZE + 50), heap_start + 3 * PAGE_SIZE + 50);
    KASSERT_EQ(*(const unsigned char *)(heap_start + 49), 0x5a); /* below the shrink: kept */
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

/* set_up with lending enabled; the free pages after the map was taken. */
static unsigned long set_up_lending(void)
{
    if (!set_up() || brk_enable_lending(&heap) != 0)
        return 0;
    return buddy_free_pages(&pages);
}

static uintptr_t pages_lent(void)
{
    struct brk_stats stats;
    brk_get_stats(&heap, &stats);
    return stats.pages_lent;
}

static uintptr_t page_at(unsigned index)
{
    return heap_start + index * PAGE_SIZE;
}

KTEST(brk, inner_pages_go_to_the_buddy_and_come_back)
{
    unsigned long free_lending = set_up_lending();
    KASSERT_GT(free_lending, 0u);
    KASSERT_EQ(free_lending, free_at_start - 1); /* the map of a 256-page arena: one page */
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 10 * PAGE_SIZE + 50, &previous), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending - 11);
    /* Rounded inward: pages 1..7 */
    KASSERT_EQ(brk_release_inner(&heap, heap_start + 100, page_at(8) + 5), 0);
    KASSERT_EQ(pages_lent(), 7u);
    KASSERT_EQ(pages_held(), 11u); /* the span is unchanged */
    KASSERT_EQ(buddy_free_pages(&pages), free_lending - 4);
    KASSERT_EQ(buddy_block_at(&pages, page_at(3), &(uintptr_t){0}), BUDDY_PAGE_FREE);
    /* Again, and past the break: lent pages are skipped, the partly used last page is not lent. */
    KASSERT_EQ(brk_release_inner(&heap, heap_start, page_at(20)), 0);
    KASSERT_EQ(pages_lent(), 10u);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending - 1);
    KASSERT_EQ(buddy_validate(&pages), 0);
    /* A part comes back, then the rest (a range with nothing lent is fine). */
    KASSERT_EQ(brk_reclaim_inner(&heap, page_at(2), page_at(4)), 0);
    KASSERT_EQ(pages_lent(), 8u);
    KASSERT_EQ(buddy_block_at(&pages, page_at(3), &(uintptr_t){0}), BUDDY_PAGE_ALLOCATED);
    memset((void *)page_at(2), 0x5a, 2 * PAGE_SIZE); /* the heap's again */
    KASSERT_EQ(brk_reclaim_inner(&heap, page_at(2), page_at(4)), 0);
    KASSERT_EQ(brk_reclaim_inner(&heap, heap_start, page_at(11)), 0);
    KASSERT_EQ(pages_lent(), 0u);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending - 11);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

KTEST(brk, a_reclaim_fails_whole_when_the_buddy_handed_a_page_out)
{
    unsigned long free_lending = set_up_lending();
    KASSERT_GT(free_lending, 0u);
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 10 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(brk_release_inner(&heap, page_at(2), page_at(7)), 0);
    KASSERT_EQ(pages_lent(), 5u);
    KASSERT_EQ(buddy_claim(&pages, page_at(5), page_at(6)), 0); /* someone else took page 5 */
    unsigned long free_before = buddy_free_pages(&pages);
    KASSERT_EQ(brk_reclaim_inner(&heap, heap_start, page_at(10)), -E_BUSY);
    KASSERT_EQ(pages_lent(), 5u); /* exactly as it was */
    KASSERT_EQ(buddy_free_pages(&pages), free_before);
    KASSERT_EQ(buddy_block_at(&pages, page_at(2), &(uintptr_t){0}), BUDDY_PAGE_FREE);
    KASSERT_EQ(buddy_validate(&pages), 0);
    /* A range without the taken page still comes back. */
    KASSERT_EQ(brk_reclaim_inner(&heap, page_at(2), page_at(4)), 0);
    KASSERT_EQ(pages_lent(), 3u);
    KASSERT_EQ(buddy_free(&pages, (void *)page_at(5), 0), 0);
    KASSERT_EQ(brk_reclaim_inner(&heap, heap_start, page_at(10)), 0);
    KASSERT_EQ(pages_lent(), 0u);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

KTEST(brk, shrinking_over_lent_pages_gives_nothing_back_twice)
{
    unsigned long free_lending = set_up_lending();
    KASSERT_GT(free_lending, 0u);
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 10 * PAGE_SIZE, &previous), 0);
    memset((void *)heap_start, 0x5a, 10 * PAGE_SIZE);
    KASSERT_EQ(brk_release_inner(&heap, page_at(2), page_at(8)), 0); /* pages 2..7 */
    /* The break stops inside lent page 4: it is claimed back and cleared above the break;
     * 5..7 are forgotten (the buddy has them), 8 and 9 released. */
    KASSERT_EQ(brk_set(&heap, page_at(4) + 100), 0);
    KASSERT_EQ(pages_lent(), 2u);
    KASSERT_EQ(pages_held(), 5u);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending - 3);
    KASSERT_EQ(first_nonzero(page_at(4) + 100, page_at(5)), page_at(5));
    KASSERT_EQ(buddy_validate(&pages), 0);
    /* Growing again claims fresh pages above; the lent ones below stay lent. */
    KASSERT_EQ(brk_sbrk(&heap, 3 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(first_nonzero(page_at(4) + 100, page_at(7) + 100), page_at(7) + 100);
    KASSERT_EQ(pages_lent(), 2u);
    /* With the partly kept page lent and taken, the break cannot stop inside it. */
    KASSERT_EQ(brk_release_inner(&heap, page_at(5), page_at(6)), 0);
    KASSERT_EQ(buddy_claim(&pages, page_at(5), page_at(6)), 0);
    KASSERT_EQ(brk_set(&heap, page_at(5) + 8), -E_NOMEM);
    KASSERT_EQ(current_break(), page_at(7) + 100);
    KASSERT_EQ(brk_set(&heap, page_at(5)), 0); /* on its boundary: forgotten */
    KASSERT_EQ(buddy_free(&pages, (void *)page_at(5), 0), 0);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
    KASSERT_EQ(pages_lent(), 0u);
    KASSERT_EQ(buddy_free_pages(&pages), free_lending);
    KASSERT_EQ(buddy_validate(&pages), 0);
}

KTEST(brk, without_lending_nothing_is_lent)
{
    KASSERT(set_up());
    void *previous = NULL;
    KASSERT_EQ(brk_sbrk(&heap, 4 * PAGE_SIZE, &previous), 0);
    KASSERT_EQ(brk_release_inner(&heap, heap_start, page_at(3)), -E_NOMEM);
    KASSERT_EQ(brk_reclaim_inner(&heap, heap_start, page_at(3)), 0);
    KASSERT_EQ(pages_lent(), 0u);
    KASSERT_EQ(buddy_free_pages(&pages), free_at_start - 4);
    KASSERT_EQ(brk_set(&heap, heap_start), 0);
}

#define SMP_MOVES 64
#define SMP_HARTS_MAX 64
/* [hart][move]: where each piece went; a test arena, not .bss. */
static struct ktest_arena smp_blocks_space =
    KTEST_ARENA(sizeof(uintptr_t) * SMP_HARTS_MAX * SMP_MOVES, sizeof(uintptr_t));

/* Every hart grows the one heap at once; the pieces handed out must never overlap. */
KTEST_SMP(brk, concurrent_sbrk_from_all_harts)
{
    unsigned self = ktest_hart_index();
    if (self == 0)
        KASSERT(set_up());
    ktest_barrier();
    KASSERT_LT(self, (unsigned)SMP_HARTS_MAX);
    uintptr_t(*smp_blocks)[SMP_MOVES] = ktest_arena_memory(&smp_blocks_space);
    KASSERT_NOT_NULL(smp_blocks);
    for (unsigned i = 0; i < SMP_MOVES; i++) {
        void *previous = NULL;
        intptr_t size = 8 + 24 * (intptr_t)((self + i) % 5);
        KASSERT_EQ(brk_sbrk(&heap, size, &previous), 0);
        smp_blocks[self][i] = (uintptr_t)previous;
        unsigned char *bytes = previous;
        for (intptr_t b = 0; b < size; b++)
            bytes[b] = (unsigned char)(self + 1);
    }
    ktest_barrier();
    for (unsigned i = 0; i < SMP_MOVES; i++) {
        const unsigned char *bytes = (const unsigned char *)smp_blocks[self][i];
        intptr_t size = 8 + 24 * (intptr_t)((self + i) % 5);
        for (intptr_t b = 0; b < size; b++)
            KASSERT_EQ(bytes[b], self + 1);
    }
    ktest_barrier();
    if (self == 0) {
        KASSERT_EQ(brk_set(&heap, heap_start), 0);
        KASSERT_EQ(buddy_free_pages(&pages), free_at_start);
        KASSERT_EQ(buddy_validate(&pages), 0);
    }
}
