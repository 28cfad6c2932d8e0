/*
 * kernel/mm/brk.c - the program break over the buddy allocator (see brk.h).
 */
#include "kernel/mm/brk.h"

#include "kernel/mm/buddy.h"
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

/* Shrinks to target (below the break): keeps "zero above the break" true, hands back whole pages. */
static int shrink_break(struct brk_heap *heap, uintptr_t target)
{
    uintptr_t keep_end = round_up_to_page(target);
    uintptr_t clear_end = heap->current < keep_end ? heap->current : keep_end;
    memset((void *)target, 0, clear_end - target);
    if (heap->dirty_end <= heap->current)
        heap->dirty_end = target; /* nothing was dirty above the old break, nor is above the new one */
    if (keep_end < heap->pages_end) {
        int error = buddy_release(heap->pages, keep_end, heap->pages_end);
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

void brk_get_stats(struct brk_heap *heap, struct brk_stats *stats)
{
    spin_lock(&heap->lock);
    stats->start = heap->start;
    stats->current = heap->current;
    stats->peak = heap->peak;
    stats->limit = heap->limit;
    stats->pages_held = (heap->pages_end - heap->start) / PAGE_SIZE;
    spin_unlock(&heap->lock);
}
