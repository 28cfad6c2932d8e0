/*
 * kernel/brk.c - the program break over the buddy allocator (see brk.h).
 * Builds: kernel, host
 */
#include "kernel/brk.h"

#include "kernel/buddy.h"
#include "kernel/errors.h"
#include "kernel/layout.h"
#include "kernel/platform.h"
#include "kernel/string.h"

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
                              .pages_end = start,
                              .limit = limit,
                              .peak = start,
                              .pages = pages};
    return 0;
}

/* Moves the break to target (already range-checked); the caller holds the lock. */
static int move_break(struct brk_heap *heap, uintptr_t target)
{
    if (target <= heap->pages_end) {
        if (target < heap->current) {
            /* Shrinking: keep "zero above the break" true, and hand back whole pages. */
            uintptr_t keep_end = round_up_to_page(target);
            uintptr_t clear_end = heap->current < keep_end ? heap->current : keep_end;
            memset((void *)target, 0, clear_end - target);
            if (keep_end < heap->pages_end) {
                int error = buddy_release(heap->pages, keep_end, heap->pages_end);
                if (error)
                    return error;
                heap->pages_end = keep_end;
            }
        }
        heap->current = target;
        return 0;
    }
    /* Growing past the last page: claim exactly the pages directly above, zero them. */
    uintptr_t new_pages_end = round_up_to_page(target);
    int error = buddy_claim(heap->pages, heap->pages_end, new_pages_end);
    if (error)
        return error == -E_BUSY ? -E_NOMEM : error;
    memset((void *)heap->pages_end, 0, new_pages_end - heap->pages_end);
    heap->pages_end = new_pages_end;
    heap->current = target;
    return 0;
}

/*
 * Moves the break to target after the checks every move shares: not below the start, not
 * above the limit. The caller holds the lock. Returns 0, -E_INVAL or -E_NOMEM.
 */
static int move_break_checked(struct brk_heap *heap, uintptr_t target)
{
    stack_check("sbrk slow path");
    if (target < heap->start)
        return -E_INVAL;
    if (target > heap->limit)
        return -E_NOMEM;
    int error = move_break(heap, target);
    if (!error && target > heap->peak)
        heap->peak = target;
    return error;
}

struct brk_move brk_move_by(struct brk_heap *heap, intptr_t increment)
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
    int error = wrapped ? (increment >= 0 ? -E_NOMEM : -E_INVAL) : move_break_checked(heap, target);
    spin_unlock(&heap->lock);
    return (struct brk_move){old, error};
}

int brk_set(struct brk_heap *heap, uintptr_t address)
{
    spin_lock(&heap->lock);
    int error = move_break_checked(heap, address);
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
