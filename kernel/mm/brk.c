/*
 * kernel/mm/brk.c - the program break over the buddy allocator (see brk.h).
 */
#include "kernel/mm/brk.h"

#include "kernel/mm/buddy.h"
#include "kernel/base/arch.h"
#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"

static uintptr_t round_up_to_page(uintptr_t address)
{
    return (address + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
}

int brk_init(struct brk_heap *heap, struct buddy *pages, uintptr_t start, uintptr_t limit)
{
    if ((start & (PAGE_SIZE - 1)) || limit < start)
        return -E_INVAL;
    limit &= ~(uintptr_t)(PAGE_SIZE - 1); /* whole pages only, so pages_end never passes limit */
    *heap = (struct brk_heap){.lock = SPINLOCK_INIT,
                              .start = start,
                              .current = start,
                              .clean_end = start,
                              .pages_end = start,
                              .dirty_end = start,
                              .limit = limit,
                              .peak = start,
                              .pages = pages};
    return 0;
}

#define MAP_WORD_BITS (8 * sizeof(unsigned long))

static bool page_is_lent(const struct brk_heap *heap, uintptr_t index)
{
    return (heap->lent_map[index / MAP_WORD_BITS] >> (index % MAP_WORD_BITS)) & 1;
}

/* The first page index in [from, to) whose lent bit is lent, or to. O((to - from) / word bits). */
static uintptr_t find_page(const struct brk_heap *heap, uintptr_t from, uintptr_t to, bool lent)
{
    while (from < to) {
        unsigned long word = heap->lent_map[from / MAP_WORD_BITS];
        if (!lent)
            word = ~word;
        word &= ~0UL << (from % MAP_WORD_BITS);
        uintptr_t word_start = from - from % MAP_WORD_BITS;
        if (word) {
            uintptr_t found = word_start + arch_lowest_set_bit(word);
            return found < to ? found : to;
        }
        from = word_start + MAP_WORD_BITS;
    }
    return to;
}

/* Marks pages [from, to) lent or not, counting those that change. */
static void mark_pages(struct brk_heap *heap, uintptr_t from, uintptr_t to, bool lent)
{
    for (uintptr_t index = from; index < to; index++) {
        unsigned long *word = &heap->lent_map[index / MAP_WORD_BITS];
        unsigned long bit = 1UL << (index % MAP_WORD_BITS);
        if (!!(*word & bit) == lent)
            continue;
        *word ^= bit;
        if (lent)
            heap->lent_pages++;
        else
            heap->lent_pages--;
    }
}

static uintptr_t page_address(const struct brk_heap *heap, uintptr_t index)
{
    return heap->start + index * PAGE_SIZE;
}

/* The page indexes the map covers inside [start, end) (page aligned): [*first, *last). */
static void map_span(const struct brk_heap *heap, uintptr_t start, uintptr_t end, uintptr_t *first, uintptr_t *last)
{
    uintptr_t map_end = page_address(heap, heap->lent_map_pages);
    if (start < heap->start)
        start = heap->start;
    if (end > map_end)
        end = map_end;
    *first = (start - heap->start) / PAGE_SIZE;
    *last = end > start ? (end - heap->start) / PAGE_SIZE : *first;
}

/* The fast path's bound after a move: the last page's end, unless dirty bytes lie above the break. */
static void set_clean_end(struct brk_heap *heap)
{
    heap->clean_end = heap->dirty_end > heap->current ? heap->current : heap->pages_end;
}

/* Before a zeroing grow to target: clears the dirty bytes it hands out, [current, dirty_end) below target. */
static void clear_dirty_below(struct brk_heap *heap, uintptr_t target)
{
    if (heap->dirty_end <= heap->current)
        return;
    uintptr_t end = target < heap->dirty_end ? target : heap->dirty_end;
    memset((void *)heap->current, 0, end - heap->current);
}

/*
 * Gives back the pages [keep_end, pages_end) a shrink leaves: those lent are the buddy allocator's
 * already (forgotten, not released twice), the others are released a stretch at a time. Returns 0
 * or buddy_release's error when nothing was changed; a later failure means a heap page was not the
 * heap's, and panics.
 */
static int release_pages_above(struct brk_heap *heap, uintptr_t keep_end)
{
    uintptr_t first = 0, last = 0;
    if (heap->lent_pages)
        map_span(heap, keep_end, heap->pages_end, &first, &last);
    if (first == last || find_page(heap, first, last, true) == last)
        return buddy_release(heap->pages, keep_end, heap->pages_end); /* nothing lent up there */
    uintptr_t index = first;
    while (index < last) {
        uintptr_t stretch_end = find_page(heap, index, last, !page_is_lent(heap, index));
        if (page_is_lent(heap, index)) {
            mark_pages(heap, index, stretch_end, false);
        } else if (buddy_release(heap->pages, page_address(heap, index), page_address(heap, stretch_end))) {
            panic("brk: heap pages [%p, %p) were not the heap's to give back", (void *)page_address(heap, index),
                  (void *)page_address(heap, stretch_end));
        }
        index = stretch_end;
    }
    uintptr_t map_end = page_address(heap, last);
    if (map_end < heap->pages_end && buddy_release(heap->pages, map_end, heap->pages_end))
        panic("brk: heap pages [%p, %p) were not the heap's to give back", (void *)map_end, (void *)heap->pages_end);
    return 0;
}

/*
 * Before a shrink to target: the page target lies inside (kept, the bytes above target cleared) must
 * be held, not lent. Claims it back when it is lent; returns 0 or -E_NOMEM (the buddy allocator
 * handed it out: the break cannot stop inside it).
 */
static int hold_partial_page(struct brk_heap *heap, uintptr_t target)
{
    if (!heap->lent_pages || !(target & (PAGE_SIZE - 1)))
        return 0;
    uintptr_t page = target & ~(uintptr_t)(PAGE_SIZE - 1);
    uintptr_t first, last;
    map_span(heap, page, page + PAGE_SIZE, &first, &last);
    if (first == last || !page_is_lent(heap, first))
        return 0;
    if (buddy_claim(heap->pages, page, page + PAGE_SIZE))
        return -E_NOMEM;
    mark_pages(heap, first, last, false);
    return 0;
}

/* Shrinks to target (below the break): keeps "zero above the break" true, hands back whole pages. */
static int shrink_break(struct brk_heap *heap, uintptr_t target)
{
    int error = hold_partial_page(heap, target);
    if (error)
        return error;
    uintptr_t keep_end = round_up_to_page(target);
    uintptr_t clear_end = heap->current < keep_end ? heap->current : keep_end;
    memset((void *)target, 0, clear_end - target);
    if (heap->dirty_end <= heap->current)
        heap->dirty_end = target; /* nothing was dirty above the old break, nor is above the new one */
    if (keep_end < heap->pages_end) {
        error = release_pages_above(heap, keep_end);
        if (error)
            return error;
        heap->pages_end = keep_end;
        if (heap->dirty_end > keep_end)
            heap->dirty_end = keep_end;
    }
    heap->current = target;
    return 0;
}

/*
 * Moves the break to target (already range-checked); the caller holds the lock. A grow clears
 * what it hands out when zero is set; without it, claimed pages keep their contents and become
 * dirty. Returns 0 or an error (nothing changed).
 */
static int move_break(struct brk_heap *heap, uintptr_t target, bool zero)
{
    if (target <= heap->pages_end) {
        if (target < heap->current) {
            int error = shrink_break(heap, target);
            if (error)
                return error;
        } else {
            if (zero)
                clear_dirty_below(heap, target);
            heap->current = target;
        }
        set_clean_end(heap);
        return 0;
    }
    /* Growing past the last page: claim exactly the pages directly above. */
    uintptr_t new_pages_end = round_up_to_page(target);
    int error = buddy_claim(heap->pages, heap->pages_end, new_pages_end);
    if (error)
        return error == -E_BUSY ? -E_NOMEM : error;
    if (zero) {
        clear_dirty_below(heap, target);
        memset((void *)heap->pages_end, 0, new_pages_end - heap->pages_end);
    } else {
        heap->dirty_end = new_pages_end; /* the new pages hold what they held */
    }
    heap->pages_end = new_pages_end;
    heap->current = target;
    set_clean_end(heap);
    return 0;
}

/*
 * Moves the break to target after the checks every move shares: not below the start, not
 * above the limit. The caller holds the lock. Returns 0, -E_INVAL or -E_NOMEM.
 */
static int move_break_checked(struct brk_heap *heap, uintptr_t target, bool zero)
{
    stack_check("sbrk slow path");
    if (target < heap->start)
        return -E_INVAL;
    if (target > heap->limit)
        return -E_NOMEM;
    int error = move_break(heap, target, zero);
    if (!error && target > heap->peak)
        heap->peak = target;
    return error;
}

/* brk_move_by and brk_move_by_uninit: zero says whether grown memory must read as zero. */
static inline __attribute__((always_inline)) struct brk_move move_by(struct brk_heap *heap, intptr_t increment,
                                                                     bool zero)
{
    uintptr_t previous;
    if (brk_try_move_fast(heap, increment, &previous))
        return (struct brk_move){previous, 0};
    spin_lock(&heap->lock);
    uintptr_t old = heap->current;
    uintptr_t target = old + (uintptr_t)increment;
    bool wrapped = increment >= 0 ? target < old : target > old;
    /* Growing past the top of the address space asks for more memory than exists (on rv32 a
     * break near 2 GiB plus INTPTR_MAX does); shrinking below address 0 is a bad argument. */
    int error = wrapped ? (increment >= 0 ? -E_NOMEM : -E_INVAL) : move_break_checked(heap, target, zero);
    spin_unlock(&heap->lock);
    return (struct brk_move){old, error};
}

struct brk_move brk_move_by(struct brk_heap *heap, intptr_t increment)
{
    return move_by(heap, increment, true);
}

struct brk_move brk_move_by_uninit(struct brk_heap *heap, intptr_t increment)
{
    return move_by(heap, increment, false);
}

int brk_set(struct brk_heap *heap, uintptr_t address)
{
    spin_lock(&heap->lock);
    int error = move_break_checked(heap, address, true);
    spin_unlock(&heap->lock);
    return error;
}

int brk_enable_lending(struct brk_heap *heap)
{
    if (heap->lent_map)
        return 0;
    uintptr_t pages = (heap->limit - heap->start) / PAGE_SIZE;
    uintptr_t bytes = (pages + MAP_WORD_BITS - 1) / MAP_WORD_BITS * sizeof(unsigned long);
    unsigned order = 0;
    while (((uintptr_t)PAGE_SIZE << order) < bytes && order < BUDDY_MAX_ORDER)
        order++;
    void *map = buddy_alloc(heap->pages, order);
    while (!map && order > 0)
        map = buddy_alloc(heap->pages, --order);
    if (!map)
        return -E_NOMEM;
    uintptr_t map_bits = ((uintptr_t)PAGE_SIZE << order) * 8;
    memset(map, 0, (size_t)PAGE_SIZE << order);
    spin_lock(&heap->lock);
    heap->lent_map = map;
    heap->lent_map_order = order;
    heap->lent_map_pages = pages < map_bits ? pages : map_bits;
    spin_unlock(&heap->lock);
    return 0;
}

int brk_release_inner(struct brk_heap *heap, uintptr_t start, uintptr_t end)
{
    int error = 0;
    spin_lock(&heap->lock);
    uintptr_t below_break = heap->current & ~(uintptr_t)(PAGE_SIZE - 1);
    start = round_up_to_page(start);
    end &= ~(uintptr_t)(PAGE_SIZE - 1);
    if (end > below_break)
        end = below_break;
    if (!heap->lent_map) {
        error = start < end && start >= heap->start ? -E_NOMEM : 0;
    } else {
        uintptr_t index, last;
        map_span(heap, start, end, &index, &last);
        while (index < last && !error) {
            index = find_page(heap, index, last, false);
            uintptr_t stretch_end = find_page(heap, index, last, true);
            if (index == stretch_end)
                break;
            error = buddy_release(heap->pages, page_address(heap, index), page_address(heap, stretch_end));
            if (!error)
                mark_pages(heap, index, stretch_end, true);
            index = stretch_end;
        }
    }
    spin_unlock(&heap->lock);
    return error;
}

/* Gives back the lent stretches in [first, last) that a failed reclaim claimed already. Lock held. */
static void undo_reclaim(struct brk_heap *heap, uintptr_t first, uintptr_t last)
{
    uintptr_t index = first;
    while (index < last) {
        index = find_page(heap, index, last, true);
        uintptr_t stretch_end = find_page(heap, index, last, false);
        if (index < stretch_end &&
            buddy_release(heap->pages, page_address(heap, index), page_address(heap, stretch_end)))
            panic("brk: lent pages [%p, %p) just claimed back could not be lent again",
                  (void *)page_address(heap, index), (void *)page_address(heap, stretch_end));
        index = stretch_end;
    }
}

int brk_reclaim_inner(struct brk_heap *heap, uintptr_t start, uintptr_t end)
{
    int error = 0;
    spin_lock(&heap->lock);
    if (heap->lent_pages && round_up_to_page(start) < (end & ~(uintptr_t)(PAGE_SIZE - 1))) {
        uintptr_t first, last;
        map_span(heap, round_up_to_page(start), end & ~(uintptr_t)(PAGE_SIZE - 1), &first, &last);
        uintptr_t index = first;
        while (index < last) {
            index = find_page(heap, index, last, true);
            uintptr_t stretch_end = find_page(heap, index, last, false);
            if (index == stretch_end)
                break;
            error = buddy_claim(heap->pages, page_address(heap, index), page_address(heap, stretch_end));
            if (error) {
                undo_reclaim(heap, first, index);
                break;
            }
            index = stretch_end;
        }
        if (!error)
            mark_pages(heap, first, last, false); /* the lent ones among them are held again */
    }
    spin_unlock(&heap->lock);
    return error == -E_INVAL ? -E_INVAL : error ? -E_BUSY : 0;
}

void brk_get_stats(struct brk_heap *heap, struct brk_stats *stats)
{
    spin_lock(&heap->lock);
    stats->start = heap->start;
    stats->current = heap->current;
    stats->peak = heap->peak;
    stats->limit = heap->limit;
    stats->pages_held = (heap->pages_end - heap->start) / PAGE_SIZE;
    stats->pages_lent = heap->lent_pages;
    spin_unlock(&heap->lock);
}
