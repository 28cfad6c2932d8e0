/*
 * kernel/mm/brk.h - the program break: a heap that grows and shrinks by moving one address.
 *
 * The heap is [start, break). Growing past the last page it holds claims the physical
 * pages directly above from the buddy allocator (buddy_claim); shrinking past a page
 * boundary gives whole pages back (buddy_release). Because the buddy allocator hands out
 * the highest addresses first and the heap starts just above the kernel image, the break
 * and page allocations meet in the middle of RAM, the way a stack and a heap do.
 *
 * Unix semantics: brk_sbrk() returns the previous break and grows or shrinks by any byte
 * amount; brk_set() moves the break to an address. Memory they add reads as zero, as a Unix
 * break's does.
 *
 * Uninitialized growth: brk_move_by_uninit() grows without clearing the pages it claims
 * (their old contents stay; in checked builds that is the buddy allocator's poison, which
 * buddy_claim verifies). The precedent is Linux's MAP_UNINITIALIZED for no-MMU embedded
 * systems: a caller that writes everything before reading it (malloc: calloc clears its own
 * block) should not pay for zeroing, most of what claiming a page costs (docs/BENCHMARKS.md:
 * sbrk_claims_one_page against sbrk_uninit_claims_one_page).
 *
 * Zero above the break: every byte between the break and the end of the heap's last page
 * is zero, except those below dirty_end, which only uninitialized growth leaves behind.
 * So a zeroing move inside held pages clears only [break, dirty_end) of what it hands out
 * (nothing, usually); claiming zeroes the new pages whole; shrinking clears what it gives up
 * inside the last page it keeps. clean_end is the fast path's bound: pages_end when nothing
 * above the break is dirty, else the break itself (so only a move by 0 takes the fast path).
 *
 * Lending inner pages: brk_release_inner() gives whole pages strictly inside the heap, below the
 * break, back to the buddy allocator while the heap keeps its span (malloc's free chunks: it holds
 * nothing there), and remembers them as lent, one bit a page in a map the heap takes from the
 * buddy allocator when lending is enabled (brk_enable_lending, once: sized from the limit, a bit
 * per page the heap may ever span, capped at a largest block; pages beyond it are never lent). brk_reclaim_inner()
 * claims lent pages back, all of a range or none: when the buddy allocator has handed one of them
 * out meanwhile it fails and the range stays lent exactly as it was. Reclaimed pages hold what the
 * buddy left in them (uninitialized, as brk_move_by_uninit's). Lent pages always lie wholly below
 * the break: a shrink forgets those it passes (the buddy allocator has them already: nothing is
 * given back twice) and reclaims the one page it keeps partly (it must zero above the break), so
 * growth never meets a lent page. Because the buddy allocator hands out the highest addresses
 * first and the heap sits at the bottom, lent pages are the last it hands out again.
 *
 * Failure: -E_NOMEM when the pages above are taken, the limit is reached or RAM ends (the
 * break is unchanged, and the next call succeeds once the pages are freed); -E_INVAL for a
 * move below the start or an increment that overflows the address space.
 * Thread-safety: every function takes the heap's lock; safe on all harts at once.
 * Cost: O(1) when no page changes hands and nothing dirty is handed out to a zeroing move;
 * O(pages) otherwise (claiming, zeroing, releasing).
 */
#ifndef RVMEM_KERNEL_MM_BRK_H
#define RVMEM_KERNEL_MM_BRK_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/base/spinlock.h"

struct buddy;

struct brk_heap {
    struct spinlock lock;
    uintptr_t start;          /* first byte of the heap (page aligned) */
    uintptr_t current;        /* the break: one past the last heap byte */
    uintptr_t clean_end;      /* the fast path moves the break up to here: [current, clean_end) is zero */
    uintptr_t pages_end;      /* one past the last page the heap holds (page aligned, >= clean_end) */
    uintptr_t dirty_end;      /* every byte in [current, pages_end) at or above this is zero */
    uintptr_t limit;          /* the break never goes above this */
    uintptr_t peak;           /* highest break so far */
    struct buddy *pages;      /* where heap pages come from */
    unsigned long *lent_map;  /* bit i: page start + i pages is lent to the buddy (NULL: no lending) */
    uintptr_t lent_map_pages; /* pages the map covers (from start; at most the limit's) */
    unsigned lent_map_order;  /* the map is one buddy block of this order */
    uintptr_t lent_pages;     /* bits set in the map */
};

struct brk_stats {
    uintptr_t start, current, peak, limit;
    uintptr_t pages_held; /* pages from the start to the last the break spans, lent ones included */
    uintptr_t pages_lent; /* of those, lent back to the buddy allocator (brk_release_inner) */
};

/*
 * Sets up an empty heap at start (page aligned) that may grow up to limit (rounded down to a
 * page), taking pages from pages. Returns 0, or -E_INVAL if start is not page aligned or limit < start.
 */
int brk_init(struct brk_heap *heap, struct buddy *pages, uintptr_t start, uintptr_t limit);

/* What a move of the break returns: the previous break, or an error (then nothing changed). */
struct brk_move {
    uintptr_t previous;
    long error; /* 0, -E_NOMEM or -E_INVAL; a full word so the struct comes back in a0/a1 */
};

/*
 * The common case, inline and lock-free when uncontended: if the heap's lock is free and the
 * break can move by increment without a page changing hands and over zero bytes only
 * (growing inside the last page, below clean_end, increment >= 0), moves it, sets *previous
 * and returns true. Otherwise changes nothing and returns false: call brk_move_by (or
 * brk_move_by_uninit: zero bytes suit an uninitialized grow too).
 */
static inline bool brk_try_move_fast(struct brk_heap *heap, intptr_t increment, uintptr_t *previous)
{
    if (__builtin_expect(!spin_trylock(&heap->lock), 0))
        return false;
    uintptr_t old = heap->current;
    /* One unsigned compare rejects a negative increment too (it is huge as unsigned). */
    bool fits = (uintptr_t)increment <= heap->clean_end - old;
    if (__builtin_expect(fits, 1)) {
        uintptr_t target = old + (uintptr_t)increment;
        heap->current = target; /* clean_end <= pages_end <= limit always holds */
        if (target > heap->peak)
            heap->peak = target;
        *previous = old;
    }
    spin_unlock(&heap->lock);
    return fits;
}

/*
 * Moves the break by increment bytes (negative shrinks), whatever it takes. Errors: -E_NOMEM
 * beyond the limit (or past the top of the address space), -E_INVAL below the start (or below 0).
 */
struct brk_move brk_move_by(struct brk_heap *heap, intptr_t increment);

/*
 * brk_move_by, except that memory a grow adds need not be zero: it may hold whatever the pages
 * held before (buddy poison in checked builds). Shrinking is exactly brk_move_by's. For callers
 * that write before they read (malloc's more-core). Same errors, same "nothing changed" on failure.
 */
struct brk_move brk_move_by_uninit(struct brk_heap *heap, intptr_t increment);

/* brk_move_by for callers that like an error code: stores the previous break in *previous on success. */
static inline int brk_sbrk(struct brk_heap *heap, intptr_t increment, void **previous)
{
    struct brk_move move = brk_move_by(heap, increment);
    if (move.error == 0)
        *previous = (void *)move.previous;
    return (int)move.error;
}

/* Moves the break to address. Returns 0, -E_NOMEM or -E_INVAL (nothing changed on failure). */
int brk_set(struct brk_heap *heap, uintptr_t address);

/*
 * Lets the heap lend inner pages (brk_release_inner): takes the map of lent pages from the buddy
 * allocator, one block (the largest that is free, up to what the limit needs). Call once, before
 * the heap is shared (the owner of a long-lived heap: malloc's kernel binding). Returns 0 (also
 * when already enabled), or -E_NOMEM when no block is free (the heap then works, never lending).
 * The map is never given back (a heap lives as long as its buddy allocator).
 */
int brk_enable_lending(struct brk_heap *heap);

/*
 * Lends the whole pages inside [start, end) (rounded inward) that lie at or above the heap's start
 * and wholly below the break back to the buddy allocator: the caller holds nothing there and will
 * brk_reclaim_inner them before using them again. Pages lent already are skipped. Returns 0 (also
 * when no page qualifies), -E_NOMEM when lending is not enabled (then nothing is lent), or the buddy
 * allocator's -E_INVAL for pages it does not take (misuse: reported, nothing lent from that stretch on).
 * O(pages / word bits) plus a buddy_release per stretch not lent yet.
 */
int brk_release_inner(struct brk_heap *heap, uintptr_t start, uintptr_t end);

/*
 * Claims back every lent page inside [start, end) (rounded inward, as brk_release_inner rounds),
 * all or none: returns 0 (also when none is lent), or -E_BUSY when the buddy allocator has handed
 * one of them out (then every page of the range is lent as before). Their contents are whatever the
 * buddy allocator left (its poison in checked builds). O(pages / word bits) plus a buddy_claim per
 * lent stretch (and a buddy_release per stretch undone on failure).
 */
int brk_reclaim_inner(struct brk_heap *heap, uintptr_t start, uintptr_t end);

/* Reads the statistics under the lock. */
void brk_get_stats(struct brk_heap *heap, struct brk_stats *stats);

#endif
