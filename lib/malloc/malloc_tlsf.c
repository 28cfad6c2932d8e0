/*
 * lib/malloc/malloc_tlsf.c - medium and large blocks: TLSF (two-level segregated fit) over the break.
 *
 * Every chunk starts with a 16-byte header: the previous chunk's size (valid only when that
 * chunk is free) and this chunk's size with two flags (FREE, PREV_FREE); the payload follows,
 * 16-aligned. Free chunks also hold their list links in the first 16 payload bytes. A region
 * (memory from one or more contiguous more-core calls) ends in a zero-size sentinel header.
 *
 * Free chunks sit in TLSF_FL_COUNT x TLSF_SL_COUNT lists: the first level is the size's power of
 * two, the second splits it in 16. Two bitmaps find the smallest non-empty list that fits in O(1)
 * (two count-trailing-zeros); allocation rounds the request up to its list's lower bound so any
 * chunk found fits (good fit, no list scan). Freeing merges with free neighbours at once (boundary
 * tags). Small-class runs are TLSF chunks too.
 *
 * The top chunk (the free chunk that ends at the last region's sentinel, dlmalloc's `top`) is on
 * no list: T->top points at it, or at the sentinel when the region ends in a used chunk. A request
 * no listed chunk fits is cut off the top's front (a pointer bump: no bit scan, no list operation
 * unless an alignment leaves a front piece, which goes onto its list); a chunk freed next to the
 * top merges into it. Only when the top is too small does the heap grow, extending the top,
 * through more-core by at least a pad (grow_pad: span / 16 within 64 KiB .. 2 MiB); the top goes
 * back through more-core: automatically past 2 x pad + a page (plus what note_growth learned from
 * trims the heap grew back after), keeping pad, and entirely in tlsf_trim(0). When somebody else
 * moved the break, growth opens a new region and the old top becomes an ordinary listed chunk.
 * A trim gives the whole pages inside every listed free chunk to the binding's release_pages. Where
 * the binding also has reclaim_pages (the kernel: the pages went to the buddy allocator), such a
 * chunk is marked CHUNK_RELEASED (kept through merges) and its pages are reclaimed before any part
 * of it is handed out; when that fails the chunk is set aside as a hole (T->holes), tried again
 * before the heap grows and put back on the lists by the next trim.
 * Cost: O(1) per call, plus a more-core call when the heap must grow or shrink, plus a reclaim
 * (O(its pages)) when the chunk taken was released by a trim (and O(holes) before growing while
 * holes exist).
 * Locking: everything under malloc_state.tlsf.lock.
 */
#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"
#include "lib/malloc/malloc_tlsf_chunk.h"

#define TLSF_MAX_REQUEST ((size_t)1 << (sizeof(size_t) == 8 ? 46 : 30)) /* far above any RAM */
/*
 * Growth asks more-core for at least a pad: the heap span / 16, within these bounds, in whole pages
 * (glibc's M_TOP_PAD is the precedent), so a growing heap moves the break about every 1/16 of its
 * size rather than on every request. The free top goes back when it exceeds 2 x pad + a page (so at
 * least 132 KiB), keeping pad: after a trim the top holds pad plus under a page of rounding, and one
 * growth adds pad, so a malloc/free pair at the top of up to 2 x pad grows once and never trims.
 */
#define TLSF_GROW_PAD_MIN_BYTES ((size_t)64 << 10)
#define TLSF_GROW_PAD_MAX_BYTES ((size_t)2 << 20)
#define TLSF_TRIM_MIN_BYTES (2 * TLSF_GROW_PAD_MIN_BYTES + PAGE_SIZE) /* the lowest threshold */
#define TLSF_TRIM_EXTRA_MAX_BYTES ((size_t)32 << 20) /* the most the threshold learns to add (note_growth) */
#define TLSF_RECLAIM_MIN_BYTES                                                                                         \
    ((size_t)256 << 10) /* the least of a released chunk a cut takes back (front_end_for)                              \
                         */

static inline uintptr_t align_up(uintptr_t value, uintptr_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

void tlsf_poison(void *start, size_t bytes)
{
#ifdef RVMEM_CHECKED
    memset(start, MALLOC_POISON_BYTE, bytes);
#else
    (void)start;
    (void)bytes;
#endif
}

/* Position of the single set bit of a smeared value times DE_BRUIJN_64, >> 58 (see malloc_highest_bit). */
const uint8_t malloc_de_bruijn_position[64] = {
    0,  47, 1,  56, 48, 27, 2,  60, 57, 49, 41, 37, 28, 16, 3,  61, 54, 58, 35, 52, 50, 42,
    21, 44, 38, 32, 29, 23, 17, 11, 4,  62, 46, 55, 26, 59, 40, 36, 15, 53, 34, 51, 20, 43,
    31, 22, 10, 45, 25, 39, 14, 33, 19, 30, 9,  24, 13, 18, 8,  12, 7,  6,  5,  63,
};

/* Re-poisons the header (and the checked layer's block header) of a chunk merged into a neighbour. */
static void poison_absorbed(struct tlsf_chunk *chunk)
{
    size_t bytes = chunk_bytes(chunk);
    tlsf_poison(chunk, bytes < 3 * CHUNK_HEADER_BYTES ? bytes : 3 * CHUNK_HEADER_BYTES);
}

/* The first list whose every chunk holds size bytes (one bit scan: rounding up carries at most one bit higher). */
static inline __attribute__((always_inline)) void mapping_search(size_t size, unsigned *first, unsigned *second)
{
    if (size < TLSF_LINEAR_LIMIT) {
        *first = 0;
        *second = (unsigned)(size >> 4);
        return;
    }
    unsigned log2 = malloc_highest_bit(size);
    size += ((size_t)1 << (log2 - TLSF_SL_LOG2)) - 1;
#if MALLOC_BIT_SCAN_INSTRUCTION
    log2 = malloc_highest_bit(size); /* a second scan: fewer instructions than the carry's test */
#else
    if (size >> log2 > 1)
        log2++;
#endif
    *first = log2 - (TLSF_SL_LOG2 + 4) + 1;
    *second = (unsigned)(size >> (log2 - TLSF_SL_LOG2)) & (TLSF_SL_COUNT - 1);
}

/*
 * Puts free chunk (of bytes) at the head of its list. Inline on the paths of every call
 * (allocation's rest, free); the bitmaps change only when the list was empty (a list's bits are
 * set while it holds a chunk).
 */
static inline __attribute__((always_inline)) void list_insert_bytes(struct tlsf_chunk *chunk, size_t bytes)
{
    unsigned first, second;
    mapping_insert(bytes, &first, &second);
    struct tlsf_chunk **list = &T->free_lists[first][second];
    struct tlsf_chunk *head = *list;
    chunk->next_free = head;
    chunk->prev_free = NULL;
    if (head) {
        head->prev_free = chunk;
    } else {
        T->first_level_bitmap |= (uint64_t)1 << first;
        T->second_level_bitmap[first] |= 1u << second;
    }
    *list = chunk;
}

/* list_insert_bytes of the chunk's own size. */
static inline __attribute__((always_inline)) void list_insert(struct tlsf_chunk *chunk)
{
    list_insert_bytes(chunk, chunk_bytes(chunk));
}

/* Takes free chunk off its list, (first, second) (mapping_insert of its size). */
static inline __attribute__((always_inline)) void list_remove_from(struct tlsf_chunk *chunk, unsigned first,
                                                                   unsigned second)
{
    struct tlsf_chunk *next = chunk->next_free, *previous = chunk->prev_free;
    if (next)
        next->prev_free = previous;
    if (previous) {
        previous->next_free = next;
    } else {
        T->free_lists[first][second] = next;
        if (!next) { /* the list is empty now */
            T->second_level_bitmap[first] &= ~(1u << second);
            if (!T->second_level_bitmap[first])
                T->first_level_bitmap &= ~((uint64_t)1 << first);
        }
    }
}

/* Takes the head of list (first, second) off it: find_list's chunk, which has no previous. */
static inline __attribute__((always_inline)) void list_pop_head(struct tlsf_chunk *chunk, unsigned first,
                                                                unsigned second)
{
    struct tlsf_chunk *next = chunk->next_free;
    T->free_lists[first][second] = next;
    if (next) {
        next->prev_free = NULL;
    } else { /* the list is empty now */
        T->second_level_bitmap[first] &= ~(1u << second);
        if (!T->second_level_bitmap[first])
            T->first_level_bitmap &= ~((uint64_t)1 << first);
    }
}

static inline __attribute__((always_inline)) void list_remove(struct tlsf_chunk *chunk)
{
    unsigned first, second;
    mapping_insert(chunk_bytes(chunk), &first, &second);
    list_remove_from(chunk, first, second);
}

/* Takes free chunk out of its list or, when it is the top, out of the top (the sentinel after it becomes the top). */
static inline __attribute__((always_inline)) void free_unlink(struct tlsf_chunk *chunk)
{
    if (chunk == T->top)
        T->top = chunk_next(chunk);
    else
        list_remove(chunk);
}

/*
 * Keeps free chunk of bytes (merged with its free neighbours already): as the top when it borders
 * the last region's sentinel (which is then the top), else in its list.
 */
static inline __attribute__((always_inline)) void free_link(struct tlsf_chunk *chunk, size_t bytes)
{
    if ((struct tlsf_chunk *)((uintptr_t)chunk + bytes) == T->top)
        T->top = chunk;
    else
        list_insert_bytes(chunk, bytes);
}

/*
 * Could no listed chunk hold bytes? Level L holds chunks under 2^(L + 8), so every listed chunk is
 * under the first-level bitmap << 8: a sufficient test without a bit scan.
 */
static inline bool lists_too_small(size_t bytes)
{
    return (uint64_t)bytes >= T->first_level_bitmap << (TLSF_SL_LOG2 + 4);
}

/*
 * The head of the smallest non-empty list from (*first, *second) up, or NULL; (*first, *second)
 * become that list's, so list_pop_head needs no bit scan. O(1).
 */
static inline __attribute__((always_inline)) struct tlsf_chunk *find_list(unsigned *first, unsigned *second)
{
    unsigned level = *first;
    if (level >= TLSF_FL_COUNT)
        return NULL;
    uint32_t second_map = *second < 32 ? T->second_level_bitmap[level] & (~0u << *second) : 0;
    if (!second_map) {
        uint64_t first_map = level + 1 < 64 ? T->first_level_bitmap & (~(uint64_t)0 << (level + 1)) : 0;
        if (!first_map)
            return NULL;
        level = malloc_lowest_bit(first_map);
        second_map = T->second_level_bitmap[level];
    }
    *first = level;
    *second = malloc_lowest_bit(second_map);
    return T->free_lists[level][*second];
}

/* Sets chunk's size keeping its PREV_FREE flag; marks it free or used and tells the next chunk. */
static inline __attribute__((always_inline)) void chunk_set(struct tlsf_chunk *chunk, size_t bytes, bool free)
{
    chunk->size = bytes | (chunk->size & CHUNK_PREV_FREE) | (free ? CHUNK_FREE : 0);
    struct tlsf_chunk *next = chunk_next(chunk);
    if (free) {
        next->prev_size = bytes;
        next->size |= CHUNK_PREV_FREE;
    } else {
        next->size &= ~CHUNK_PREV_FREE;
    }
}

/* Frees used chunk, merged with its free neighbours, into the top or a list; returns the merged chunk. */
static inline __attribute__((always_inline)) struct tlsf_chunk *release_chunk(struct tlsf_chunk *chunk)
{
    uintptr_t size = chunk->size;
    size_t bytes = size & ~CHUNK_FLAGS;
    uintptr_t released = size & CHUNK_RELEASED; /* a hole put back (restore_holes) */
    uintptr_t previous_free = size & CHUNK_PREV_FREE;
    struct tlsf_chunk *next = (struct tlsf_chunk *)((uintptr_t)chunk + bytes);
    if (next->size & CHUNK_FREE) {
        released |= next->size & CHUNK_RELEASED;
        free_unlink(next);
        bytes += chunk_bytes(next);
        poison_absorbed(next);
    }
    if (previous_free) {
        /* Listed: the top has no free chunk after it. */
        struct tlsf_chunk *previous = (struct tlsf_chunk *)((uintptr_t)chunk - chunk->prev_size);
        list_remove(previous);
        poison_absorbed(chunk);
        bytes += chunk_bytes(previous);
        released |= previous->size & CHUNK_RELEASED;
        previous_free = previous->size & CHUNK_PREV_FREE; /* its own flag, kept */
        chunk = previous;
    }
    chunk->size = bytes | previous_free | released | CHUNK_FREE;
    next = (struct tlsf_chunk *)((uintptr_t)chunk + bytes);
    next->prev_size = bytes;
    next->size |= CHUNK_PREV_FREE;
    free_link(chunk, bytes);
    return chunk;
}

/* The whole pages inside a free chunk that may be released: all but the first page's header and links. */
static void inner_pages(const struct tlsf_chunk *chunk, uintptr_t *start, uintptr_t *end)
{
    *start = align_up((uintptr_t)chunk + sizeof(struct tlsf_chunk), PAGE_SIZE);
    *end = ((uintptr_t)chunk + chunk_bytes(chunk)) & ~(uintptr_t)(PAGE_SIZE - 1);
}

/*
 * Claims back the pages a released chunk gave away (reclaim_pages) below front_end, rounded up to
 * a page (UINTPTR_MAX: all of them), leaving its flag as it is. Returns false, nothing changed,
 * when the binding could not. Lock held; O(the pages reclaimed).
 */
static bool reclaim_front(struct tlsf_chunk *chunk, uintptr_t front_end)
{
    uintptr_t start, end;
    inner_pages(chunk, &start, &end);
    if (front_end < end - PAGE_SIZE)
        end = align_up(front_end, PAGE_SIZE);
    return end <= start || malloc_state.reclaim_pages((void *)start, end - start) == 0;
}

/* Claims back every page a released chunk gave away and clears its flag; false (unchanged) when it cannot. */
static bool reclaim_chunk(struct tlsf_chunk *chunk)
{
    if (!reclaim_front(chunk, UINTPTR_MAX))
        return false;
    chunk->size &= ~CHUNK_RELEASED;
    return true;
}

/*
 * Where the pages a cut of bytes at placed, in the released chunk at start, takes back end: its
 * own, those holding the header and links of the free rest after it (which stays released), and
 * at least TLSF_RECLAIM_MIN_BYTES from the chunk's start, so that the small blocks cut one after
 * another from a released chunk do not each pay for a reclaim (a bounded amount per call).
 */
static inline uintptr_t front_end_for(uintptr_t start, uintptr_t placed, size_t bytes)
{
    uintptr_t end = placed + bytes + sizeof(struct tlsf_chunk);
    return end > start + TLSF_RECLAIM_MIN_BYTES ? end : start + TLSF_RECLAIM_MIN_BYTES;
}

/*
 * Sets a released free chunk (off its list, or out of the top) aside as a hole: marked used, so
 * that its neighbours do not merge with it, and put on T->holes through its header. Lock held.
 */
static void make_hole(struct tlsf_chunk *chunk)
{
    chunk->size &= ~CHUNK_FREE;
    chunk_next(chunk)->size &= ~CHUNK_PREV_FREE;
    chunk->prev_free = NULL;
    chunk->next_free = T->holes;
    if (T->holes)
        T->holes->prev_free = chunk;
    T->holes = chunk;
    T->hole_bytes += chunk_bytes(chunk);
}

static void hole_unlink(struct tlsf_chunk *hole)
{
    if (hole->next_free)
        hole->next_free->prev_free = hole->prev_free;
    if (hole->prev_free)
        hole->prev_free->next_free = hole->next_free;
    else
        T->holes = hole->next_free;
    T->hole_bytes -= chunk_bytes(hole);
}

/*
 * A free chunk about to be handed out (off its list, or out of the top), flagged CHUNK_RELEASED:
 * reclaims its pages and returns true, or makes it a hole and returns false. Lock held.
 */
__attribute__((noinline)) static bool reclaim_or_set_aside(struct tlsf_chunk *chunk)
{
    if (reclaim_chunk(chunk))
        return true;
    make_hole(chunk);
    return false;
}

/*
 * For the top, which stays the top: claims back its released pages below front_end (UINTPTR_MAX:
 * all, and then its flag is cleared) and returns true, or sets it aside as a hole and returns
 * false. Lock held.
 */
__attribute__((noinline)) static bool reclaim_top(uintptr_t front_end)
{
    struct tlsf_chunk *top = T->top;
    if (reclaim_front(top, front_end)) {
        if (front_end == UINTPTR_MAX)
            top->size &= ~CHUNK_RELEASED;
        return true;
    }
    free_unlink(top); /* the sentinel becomes the top */
    make_hole(top);
    return false;
}

/*
 * Every hole back onto the free lists (or into the top), still flagged: the trim that calls this
 * releases free pages anyway, and the next use tries the reclaim again. Lock held; O(holes).
 */
static void restore_holes(void)
{
    while (T->holes) {
        struct tlsf_chunk *hole = T->holes;
        hole_unlink(hole);
        release_chunk(hole);
    }
}

/*
 * Reclaims every hole it can and frees those (merged, listed or the top), before the heap grows.
 * Returns whether any came back. Lock held; O(holes) reclaims.
 */
static bool reclaim_holes(void)
{
    bool any = false;
    struct tlsf_chunk *hole = T->holes;
    while (hole) {
        struct tlsf_chunk *next = hole->next_free;
        if (reclaim_chunk(hole)) {
            hole_unlink(hole);
            release_chunk(hole);
            any = true;
        }
        hole = next;
    }
    return any;
}

/* Splits used chunk so it keeps bytes; the rest (when big enough) is freed, merging with a free next or the top. */
static void split_tail(struct tlsf_chunk *chunk, size_t bytes)
{
    size_t total = chunk_bytes(chunk);
    if (total - bytes < CHUNK_MIN_BYTES)
        return;
    struct tlsf_chunk *rest = (struct tlsf_chunk *)((uintptr_t)chunk + bytes);
    chunk->size = bytes | (chunk->size & CHUNK_PREV_FREE);
    rest->size = total - bytes; /* used, previous (chunk) used */
    release_chunk(rest);
}

/* Takes free chunk (already off its list) at a placement where chunk + header_offset is aligned. */
static struct tlsf_chunk *place(struct tlsf_chunk *chunk, size_t bytes, uintptr_t alignment, uintptr_t header_offset)
{
    uintptr_t start = (uintptr_t)chunk;
    uintptr_t placed = align_up(start + header_offset, alignment) - header_offset;
    if (placed != start && placed - start < CHUNK_MIN_BYTES)
        placed += alignment;
    if (placed != start) {
        /* The front piece stays free. */
        size_t total = chunk_bytes(chunk);
        size_t front = placed - start;
        chunk->size = front | (chunk->size & CHUNK_PREV_FREE) | CHUNK_FREE;
        struct tlsf_chunk *moved = (struct tlsf_chunk *)placed;
        moved->prev_size = front;
        moved->size = (total - front) | CHUNK_PREV_FREE | CHUNK_FREE;
        list_insert(chunk);
        chunk = moved;
    }
    chunk_set(chunk, chunk_bytes(chunk), false);
    split_tail(chunk, bytes);
    T->used_blocks++;
    T->used_bytes += chunk_bytes(chunk);
    return chunk;
}

/* Does free chunk hold bytes at the placement? */
static bool fits(struct tlsf_chunk *chunk, size_t bytes, uintptr_t alignment, uintptr_t header_offset)
{
    uintptr_t start = (uintptr_t)chunk;
    uintptr_t placed = align_up(start + header_offset, alignment) - header_offset;
    if (placed != start && placed - start < CHUNK_MIN_BYTES)
        placed += alignment;
    return placed + bytes <= start + chunk_bytes(chunk);
}

/*
 * Cuts a used chunk of bytes off the top's front, placed so chunk + header_offset is aligned; the
 * rest stays the top (all of it goes with the chunk when under a minimal chunk). A front piece
 * the alignment leaves goes onto its list (the one bit scan here). NULL when the top is too
 * small. Lock held; O(1).
 */
/*
 * The end of a cut off the top's front: chunk (in the top, ending at most at the sentinel end)
 * becomes used with bytes (grown by a rest under a minimal chunk) and flags; the rest after it
 * becomes the top, or the sentinel does. Lock held.
 */
static inline __attribute__((always_inline)) struct tlsf_chunk *cut_top(struct tlsf_chunk *chunk, size_t bytes,
                                                                        uintptr_t flags, uintptr_t end)
{
    size_t rest = end - (uintptr_t)chunk - bytes;
    if (rest < CHUNK_MIN_BYTES)
        bytes += rest;
    struct tlsf_chunk *sentinel = (struct tlsf_chunk *)end;
    chunk->size = bytes | flags; /* used */
    if (rest < CHUNK_MIN_BYTES) {
        sentinel->size = 0; /* the region ends in a used chunk: its sentinel is the top */
        T->top = sentinel;
    } else {
        struct tlsf_chunk *new_top = (struct tlsf_chunk *)((uintptr_t)chunk + bytes);
        new_top->size = rest | CHUNK_FREE;
        sentinel->prev_size = rest;
        T->top = new_top;
    }
    T->used_blocks++;
    T->used_bytes += bytes;
    return chunk;
}

static inline __attribute__((always_inline)) struct tlsf_chunk *take_from_top(size_t bytes, uintptr_t alignment,
                                                                              uintptr_t header_offset)
{
    struct tlsf_chunk *top = T->top;
    if (!top)
        return NULL;
    uintptr_t start = (uintptr_t)top;
    uintptr_t end = start + chunk_bytes(top); /* the sentinel (start itself when the top is the sentinel) */
    uintptr_t placed = align_up(start + header_offset, alignment) - header_offset;
    if (placed != start && placed - start < CHUNK_MIN_BYTES)
        placed += alignment;
    if (placed > end || end - placed < bytes)
        return NULL;
    /* A released top: only the pages the cut needs come back (the rest stays the released top). */
    uintptr_t released = top->size & CHUNK_RELEASED;
    if (MALLOC_UNLIKELY(released)) {
        if (!reclaim_top(front_end_for(start, placed, bytes)))
            return NULL;
        top->size &= ~CHUNK_RELEASED; /* the front piece, when the placement leaves one, is reclaimed */
    }
    struct tlsf_chunk *chunk = (struct tlsf_chunk *)placed;
    uintptr_t flags = 0; /* the top's previous is used */
    if (MALLOC_UNLIKELY(placed != start)) {
        size_t front = placed - start;
        top->size = front | CHUNK_FREE;
        chunk->prev_size = front;
        flags = CHUNK_PREV_FREE;
        list_insert(top);
    }
    chunk = cut_top(chunk, bytes, flags, end);
    if (MALLOC_UNLIKELY(released) && T->top != (struct tlsf_chunk *)end)
        T->top->size |= CHUNK_RELEASED; /* the rest: its pages past its first may still be lent */
    return chunk;
}

size_t tlsf_free_bytes(void)
{
    size_t chunk_bytes_total = 0;
    for (unsigned i = 0; i < T->region_count; i++)
        chunk_bytes_total += ((T->regions[i].end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES) - T->regions[i].first_chunk;
    return chunk_bytes_total - T->used_bytes - T->hole_bytes;
}

uintptr_t tlsf_break(void)
{
    return T->region_count ? T->regions[T->region_count - 1].end : malloc_state.heap_start;
}

/*
 * Adds more-core memory [previous, previous + increment) to the heap as the top: extends the last
 * region (and its top) when it is contiguous, else opens a new region, whose whole free chunk is
 * the top while the old top goes onto its list.
 */
static void add_memory(uintptr_t previous, size_t increment)
{
    T->more_core_calls++;
    uintptr_t end = previous + increment;
    struct tlsf_region *last = T->region_count ? &T->regions[T->region_count - 1] : NULL;
    struct tlsf_chunk *chunk;
    uintptr_t top_released = 0; /* an extended top keeps its flag (tlsf_reserve; grow reclaimed it) */
    if (last && last->end == previous) {
        /* The top grows over the old sentinel (or the old sentinel becomes the top's header). */
        chunk = T->top;
        top_released = chunk->size & CHUNK_RELEASED;
        uintptr_t old_sentinel = (previous & ~(uintptr_t)15) - CHUNK_HEADER_BYTES;
        tlsf_poison((void *)old_sentinel, end - old_sentinel);
        last->end = end;
    } else {
        if (T->top && (T->top->size & CHUNK_FREE))
            list_insert(T->top);
        struct tlsf_region *region = &T->regions[T->region_count];
        region->break_before = previous;
        region->first_chunk = align_up(previous, MALLOC_ALIGNMENT);
        region->end = end;
        /* Published after its fields: tlsf_owns() reads the regions without the lock. */
        __atomic_store_n(&T->region_count, T->region_count + 1, __ATOMIC_RELEASE);
        chunk = (struct tlsf_chunk *)region->first_chunk;
        tlsf_poison((void *)region->first_chunk, (end & ~(uintptr_t)15) - region->first_chunk);
        chunk->size = 0;
    }
    uintptr_t sentinel = (end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES;
    size_t bytes = sentinel - (uintptr_t)chunk;
    ((struct tlsf_chunk *)sentinel)->size = 0;
    chunk->size = CHUNK_FREE; /* its previous is used, or it is the region's first */
    chunk_set(chunk, bytes, true);
    chunk->size |= top_released;
    T->top = chunk;
    uintptr_t span = end - malloc_state.heap_start;
    if (span > T->peak_span_bytes)
        T->peak_span_bytes = span;
}

/* The least a growth asks for and what a trim keeps: span / 16 clamped to [64 KiB, 2 MiB], whole pages. */
static size_t grow_pad(void)
{
    size_t pad = (tlsf_break() - malloc_state.heap_start) / 16;
    if (pad < TLSF_GROW_PAD_MIN_BYTES)
        pad = TLSF_GROW_PAD_MIN_BYTES;
    if (pad > TLSF_GROW_PAD_MAX_BYTES)
        pad = TLSF_GROW_PAD_MAX_BYTES;
    return align_up(pad, PAGE_SIZE);
}

/*
 * Moves the break up by *increment (whole pages, at least needed) or, when more-core refuses that,
 * by needed alone, stored in *increment (a heap near its limit still gets its last pages).
 * Returns the previous break, or (void *)-1 when neither fits.
 */
static void *more_core_padded(size_t needed, size_t *increment)
{
    void *previous = malloc_state.more_core((intptr_t)*increment);
    if (previous == (void *)-1 && *increment > needed) {
        *increment = needed;
        previous = malloc_state.more_core((intptr_t)needed);
    }
    return previous;
}

static void note_growth(void);

/*
 * Grows the heap so a chunk of bytes fits at the placement in the top (extended, or the whole
 * chunk of a new region). Returns false when more-core refuses.
 */
static bool grow(size_t bytes, uintptr_t alignment, uintptr_t header_offset)
{
    uintptr_t current = (uintptr_t)malloc_state.more_core(0);
    if (current == (uintptr_t)-1)
        return false;
    uintptr_t top; /* where a chunk could start: the top chunk, the last sentinel, or a new region */
    if (T->region_count && T->regions[T->region_count - 1].end == current) {
        /* A released top is reclaimed before it is extended, or set aside: the new pages must not
         * become part of a hole. */
        if (MALLOC_UNLIKELY(T->top->size & CHUNK_RELEASED))
            reclaim_top(UINTPTR_MAX);
        top = (uintptr_t)T->top;
    } else {
        /* Somebody else moved the break (or this is the first region): open a new region. */
        if (T->region_count == TLSF_MAX_REGIONS)
            return false;
        top = align_up(current, MALLOC_ALIGNMENT);
        if (top < malloc_state.heap_start)
            return false;
    }
    uintptr_t placed = align_up(top + header_offset, alignment) - header_offset;
    if (placed != top && placed - top < CHUNK_MIN_BYTES)
        placed += alignment;
    uintptr_t needed_end = placed + bytes + CHUNK_HEADER_BYTES;
    if (placed < top || needed_end < placed || needed_end - current > TLSF_MAX_REQUEST)
        return false;
    size_t needed = align_up(needed_end - current, PAGE_SIZE);
    /* While a class is under scan (malloc_scan.c), no pad: every request the heap cannot hold
     * comes back here, and takes a step of the scan first, so its runs come back at the pace
     * the heap would otherwise grow. */
    size_t pad = small_scan_active() ? 0 : grow_pad();
    size_t increment = needed > pad ? needed : pad;
    void *previous = more_core_padded(needed, &increment);
    if (previous == (void *)-1)
        return false;
    note_growth();
    /* If the break moved between the two calls, the memory is still ours: it becomes a new region. */
    if ((uintptr_t)previous != current && T->region_count == TLSF_MAX_REGIONS)
        return false; /* cannot track it: left to its owner (does not happen with a private break) */
    add_memory((uintptr_t)previous, increment);
    return true;
}

/* take's way out when neither a listed chunk nor the top fits: grows the heap and cuts from the new top. Lock held. */
static struct tlsf_chunk *take_listed(size_t bytes, uintptr_t alignment, uintptr_t header_offset);

__attribute__((noinline)) static struct tlsf_chunk *take_grown(size_t bytes, uintptr_t alignment,
                                                               uintptr_t header_offset)
{
    if (MALLOC_UNLIKELY(T->holes != NULL) && reclaim_holes()) {
        struct tlsf_chunk *chunk = lists_too_small(bytes) ? NULL : take_listed(bytes, alignment, header_offset);
        if (!chunk)
            chunk = take_from_top(bytes, alignment, header_offset);
        if (chunk)
            return chunk;
    }
    if (!grow(bytes, alignment, header_offset))
        return NULL;
    return take_from_top(bytes, alignment, header_offset);
}

/*
 * A listed chunk holding bytes at the placement, taken off its list and placed, or NULL. An
 * aligned request first looks at the smallest list for the bytes alone: its head is taken when
 * it fits at its placement, which is the common case (a run's page-aligned hole), saving the
 * front split. Otherwise a second look asks for room for any placement (bytes + alignment + a
 * minimal front chunk), where every chunk fits. Lock held; O(1).
 */
__attribute__((noinline)) static struct tlsf_chunk *take_listed(size_t bytes, uintptr_t alignment,
                                                                uintptr_t header_offset)
{
    for (;;) {
        unsigned first, second;
        mapping_search(bytes, &first, &second);
        struct tlsf_chunk *chunk = find_list(&first, &second);
        if (alignment > MALLOC_ALIGNMENT && (!chunk || !fits(chunk, bytes, alignment, header_offset))) {
            mapping_search(bytes + alignment + CHUNK_MIN_BYTES, &first, &second);
            chunk = find_list(&first, &second);
        }
        if (!chunk)
            return NULL;
        list_pop_head(chunk, first, second);
        /* A released chunk whose pages cannot come back is a hole now: look again (each pass sets
         * one chunk aside, so this ends). */
        if (MALLOC_LIKELY(!(chunk->size & CHUNK_RELEASED)) || reclaim_or_set_aside(chunk))
            return place(chunk, bytes, alignment, header_offset);
    }
}

/* Whether a request the heap cannot hold may grow it now (enum tlsf_growth). */
static inline bool growth_allowed(enum tlsf_growth growth, size_t bytes)
{
    if (growth == TLSF_GROW)
        return true;
    if (growth == TLSF_NO_GROWTH || small_idle_may_help())
        return false;
    /* A run: no short run of its class can fit a listed chunk when none holds a quarter of it. */
    return growth == TLSF_GROW_UNLESS_IDLE || bytes <= SMALL_SHORT_RUNS_ABOVE_BYTES || lists_too_small(bytes / 4);
}

/*
 * A used chunk of bytes placed so chunk + header_offset is aligned, or NULL. Lock held. The lists
 * first (good fit; skipped without a bit scan when every listed chunk is too small), then the
 * top's front, then growth. O(1) plus a more-core call when growing.
 */
static struct tlsf_chunk *take(size_t bytes, uintptr_t alignment, uintptr_t header_offset, enum tlsf_growth growth)
{
    struct tlsf_chunk *chunk = NULL;
    if (!lists_too_small(bytes))
        chunk = take_listed(bytes, alignment, header_offset);
    if (!chunk)
        chunk = take_from_top(bytes, alignment, header_offset);
    if (MALLOC_UNLIKELY(!chunk) && growth_allowed(growth, bytes))
        chunk = take_grown(bytes, alignment, header_offset);
    return chunk;
}

/* Chunk bytes for a payload of size, or 0 when too large. */
static size_t chunk_bytes_for(size_t size)
{
    if (size > TLSF_MAX_REQUEST)
        return 0;
    size_t bytes = align_up(size, MALLOC_ALIGNMENT) + CHUNK_HEADER_BYTES;
    return bytes < CHUNK_MIN_BYTES ? CHUNK_MIN_BYTES : bytes;
}

/*
 * A listed chunk (already off its list) made a used chunk of bytes:
 * the rest, when it makes a chunk, stays free on its list. The chunk after a listed one is used
 * (free neighbours merge, and a chunk next to the top is part of it), so the rest needs no merge:
 * take_listed's place and split_tail without the alignment and the merge checks. Lock held.
 */
static inline __attribute__((always_inline)) struct tlsf_chunk *take_listed_front(struct tlsf_chunk *chunk,
                                                                                  size_t bytes)
{
    uintptr_t size = chunk->size;
    size_t total = size & ~CHUNK_FLAGS;
    struct tlsf_chunk *next = (struct tlsf_chunk *)((uintptr_t)chunk + total);
    if (total - bytes >= CHUNK_MIN_BYTES) {
        struct tlsf_chunk *rest = (struct tlsf_chunk *)((uintptr_t)chunk + bytes);
        chunk->size = bytes | (size & CHUNK_PREV_FREE); /* used */
        rest->size = (total - bytes) | CHUNK_FREE;
        next->prev_size = total - bytes; /* next keeps PREV_FREE */
        list_insert_bytes(rest, total - bytes);
    } else {
        chunk->size = size & ~CHUNK_FREE;
        next->size &= ~CHUNK_PREV_FREE;
        bytes = total;
    }
    T->used_blocks++;
    T->used_bytes += bytes;
    return chunk;
}

/*
 * take_listed_front for a released chunk: claims back only the pages the block and the rest's
 * header need (the rest stays released), so a malloc pays for the pages it takes, not for the
 * whole chunk. When they cannot come back the chunk is set aside and the lists are searched again
 * (take_listed). Lock held.
 */
__attribute__((noinline)) static struct tlsf_chunk *take_released_front(struct tlsf_chunk *chunk, size_t bytes)
{
    if (!reclaim_front(chunk, front_end_for((uintptr_t)chunk, (uintptr_t)chunk, bytes))) {
        make_hole(chunk);
        return take_listed(bytes, MALLOC_ALIGNMENT, CHUNK_HEADER_BYTES);
    }
    chunk->size &= ~CHUNK_RELEASED;
    size_t total = chunk_bytes(chunk);
    chunk = take_listed_front(chunk, bytes);
    if (total - chunk_bytes(chunk) >= CHUNK_MIN_BYTES)
        chunk_next(chunk)->size |= CHUNK_RELEASED; /* the rest, listed */
    return chunk;
}

/* tlsf_alloc's way on when no listed chunk served bytes: the top's front, then growth. Lock held. */
__attribute__((noinline)) static struct tlsf_chunk *take_unlisted(size_t bytes, enum tlsf_growth growth)
{
    struct tlsf_chunk *chunk = take_from_top(bytes, MALLOC_ALIGNMENT, CHUNK_HEADER_BYTES);
    if (MALLOC_UNLIKELY(!chunk) && growth_allowed(growth, bytes))
        chunk = take_grown(bytes, MALLOC_ALIGNMENT, CHUNK_HEADER_BYTES);
    return chunk;
}

/*
 * tlsf_alloc's work under the lock: the head of the smallest list that fits (good fit) when one
 * does, cut in place; otherwise take_unlisted. Inline in tlsf_alloc, whose common path so makes
 * no call and saves no register.
 */
static inline __attribute__((always_inline)) struct tlsf_chunk *take_default(size_t bytes, enum tlsf_growth growth)
{
    if (!lists_too_small(bytes)) {
        unsigned first, second;
        mapping_search(bytes, &first, &second);
        struct tlsf_chunk *chunk = find_list(&first, &second);
        if (chunk) {
            list_pop_head(chunk, first, second);
            if (MALLOC_LIKELY(!(chunk->size & CHUNK_RELEASED)))
                return take_listed_front(chunk, bytes);
            chunk = take_released_front(chunk, bytes);
            if (chunk)
                return chunk;
        }
    }
    return take_unlisted(bytes, growth);
}

/* tlsf_alloc when its first try found the lock held: waits for it, then the same work. */
__attribute__((noinline)) static void *tlsf_alloc_contended(size_t bytes, enum tlsf_growth growth)
{
    spin_lock_contended(&T->lock);
    struct tlsf_chunk *chunk = take_default(bytes, growth);
    spin_unlock(&T->lock);
    return chunk ? chunk_payload(chunk) : NULL;
}

/* tlsf_alloc_aligned for MALLOC_ALIGNMENT, where every chunk's payload is aligned: no placement to compute. */
void *tlsf_alloc(size_t size, enum tlsf_growth growth)
{
    size_t bytes = chunk_bytes_for(size);
    if (!bytes)
        return NULL;
    if (MALLOC_UNLIKELY(!spin_trylock(&T->lock)))
        return tlsf_alloc_contended(bytes, growth);
    struct tlsf_chunk *chunk = take_default(bytes, growth);
    spin_unlock(&T->lock);
    return chunk ? chunk_payload(chunk) : NULL;
}

void *tlsf_alloc_aligned(size_t alignment, size_t size, enum tlsf_growth growth)
{
    size_t bytes = chunk_bytes_for(size);
    if (!bytes || alignment > TLSF_MAX_REQUEST)
        return NULL;
    if (alignment < MALLOC_ALIGNMENT)
        alignment = MALLOC_ALIGNMENT;
    spin_lock(&T->lock);
    struct tlsf_chunk *chunk = take(bytes, alignment, CHUNK_HEADER_BYTES, growth);
    spin_unlock(&T->lock);
    return chunk ? chunk_payload(chunk) : NULL;
}

/*
 * After the last region went back: the free chunk that ends the new last region (listed until
 * now) becomes the top, or its sentinel when that region ends in a used chunk. Lock held.
 */
static void adopt_last_region_top(void)
{
    if (!T->region_count) {
        T->top = NULL;
        return;
    }
    uintptr_t end = T->regions[T->region_count - 1].end;
    struct tlsf_chunk *sentinel = (struct tlsf_chunk *)((end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES);
    T->top = sentinel;
    if (sentinel->size & CHUNK_PREV_FREE) {
        struct tlsf_chunk *top = (struct tlsf_chunk *)((uintptr_t)sentinel - sentinel->prev_size);
        list_remove(top);
        free_link(top, chunk_bytes(top));
    }
}

/*
 * Gives the top of the last region back while it exceeds keep bytes (lock held), never taking the
 * break below the reserve's floor (rvmem_malloc_reserve). Returns bytes released.
 */
static size_t trim_top(size_t keep)
{
    size_t released = 0;
    uintptr_t floor = align_up(malloc_state.heap_start + malloc_state.reserved_bytes, PAGE_SIZE);
    while (T->region_count) {
        struct tlsf_region *region = &T->regions[T->region_count - 1];
        if (region->end <= floor)
            break; /* all of it reserved: not even a look at the break */
        uintptr_t current = (uintptr_t)malloc_state.more_core(0);
        if (current != region->end)
            break;
        struct tlsf_chunk *top = T->top;
        if (!(top->size & CHUNK_FREE))
            break; /* the region ends in a used chunk: the top is its sentinel */
        if (keep == 0 && (uintptr_t)top == region->first_chunk && region->break_before >= floor) {
            /* The whole region is free: give all of it back, alignment padding included. */
            size_t bytes = region->end - region->break_before;
            if (malloc_state.more_core(-(intptr_t)bytes) == (void *)-1)
                break;
            T->more_core_calls++;
            T->region_count--;
            adopt_last_region_top();
            released += bytes;
            continue;
        }
        uintptr_t minimum = keep < CHUNK_MIN_BYTES ? CHUNK_MIN_BYTES : align_up(keep, MALLOC_ALIGNMENT);
        uintptr_t new_end = align_up((uintptr_t)top + minimum + CHUNK_HEADER_BYTES, PAGE_SIZE);
        if (new_end < floor)
            new_end = floor;
        if (new_end >= region->end)
            break;
        size_t bytes = region->end - new_end;
        if (malloc_state.more_core(-(intptr_t)bytes) == (void *)-1)
            break;
        T->more_core_calls++;
        struct tlsf_chunk *new_sentinel = (struct tlsf_chunk *)(new_end - CHUNK_HEADER_BYTES);
        size_t new_top_bytes = (uintptr_t)new_sentinel - (uintptr_t)top;
        new_sentinel->size = 0;
        uintptr_t top_released = top->size & CHUNK_RELEASED; /* pages below the new end may still be lent */
        chunk_set(top, new_top_bytes, true);
        top->size |= top_released;
        region->end = new_end;
        released += bytes;
        break;
    }
    return released;
}

/*
 * Gives the whole pages inside every listed free chunk back through the binding's release_pages,
 * all but the chunk's header and free-list links (its first page, when they are on it). Lock
 * held; O(free chunks) plus a system call each (pages an earlier trim released are released
 * again: the system finds nothing there). Not in checked builds, whose free memory holds
 * the poison the write-after-free checks read.
 */
static void release_free_pages(void)
{
#ifndef RVMEM_CHECKED
    if (!malloc_state.release_pages)
        return;
    for (unsigned first = 0; first < TLSF_FL_COUNT; first++) {
        for (unsigned second = 0; second < TLSF_SL_COUNT; second++) {
            for (struct tlsf_chunk *chunk = T->free_lists[first][second]; chunk; chunk = chunk->next_free) {
                uintptr_t start, end;
                inner_pages(chunk, &start, &end);
                if (end > start) {
                    malloc_state.release_pages((void *)start, end - start);
                    if (malloc_state.reclaim_pages)
                        chunk->size |= CHUNK_RELEASED; /* reclaimed before it is handed out */
                }
            }
        }
    }
#endif
}

size_t tlsf_trim(size_t keep_bytes)
{
    spin_lock(&T->lock);
    T->trim_extra_bytes = 0;
    T->last_auto_trim_bytes = 0;
    restore_holes();
    size_t released = trim_top(keep_bytes);
    release_free_pages();
    spin_unlock(&T->lock);
    return released;
}

/*
 * Gives the free top chunk (top_bytes) back down to pad when it exceeds 2 x pad + a page + the
 * learned extra (see note_growth). Lock held.
 */
static void trim_if_over_threshold(size_t top_bytes)
{
    size_t pad = grow_pad();
    if (top_bytes > 2 * pad + PAGE_SIZE + T->trim_extra_bytes) {
        size_t released = trim_top(pad);
        if (released)
            T->last_auto_trim_bytes = released;
    }
}

/*
 * The heap grows again after an automatic trim gave memory back: that trim was wasted work (on
 * the host the pages fault in again), so the threshold rises by what it released, doubling the
 * extra, up to TLSF_TRIM_EXTRA_MAX_BYTES (glibc raises its trim threshold the same way when its
 * mmap threshold adapts). rvmem_malloc_trim() forgets what was learned. Lock held.
 */
static void note_growth(void)
{
    if (T->last_auto_trim_bytes == 0)
        return;
    size_t extra = 2 * T->trim_extra_bytes + T->last_auto_trim_bytes;
    T->trim_extra_bytes = extra < TLSF_TRIM_EXTRA_MAX_BYTES ? extra : TLSF_TRIM_EXTRA_MAX_BYTES;
    T->last_auto_trim_bytes = 0;
}

/* Frees a used chunk (lock held), trimming the top when it grew past the threshold. */
static inline __attribute__((always_inline)) void free_chunk_locked(struct tlsf_chunk *chunk)
{
    T->used_blocks--;
    T->used_bytes -= chunk_bytes(chunk);
    struct tlsf_chunk *merged = release_chunk(chunk);
    if (merged == T->top && chunk_bytes(merged) > TLSF_TRIM_MIN_BYTES)
        trim_if_over_threshold(chunk_bytes(merged));
}

/* tlsf_free when its first try found the lock held: waits for it, then the same work. */
__attribute__((noinline)) static void tlsf_free_contended(struct tlsf_chunk *chunk)
{
    spin_lock_contended(&T->lock);
    free_chunk_locked(chunk);
    spin_unlock(&T->lock);
}

void tlsf_free(void *payload)
{
    struct tlsf_chunk *chunk = chunk_of(payload);
    if (MALLOC_UNLIKELY(!spin_trylock(&T->lock))) {
        tlsf_free_contended(chunk); /* so the common path keeps nothing across a call */
        return;
    }
    free_chunk_locked(chunk);
    spin_unlock(&T->lock);
}

void *tlsf_next_payload(const void *payload)
{
    return chunk_payload(chunk_next(chunk_of(payload)));
}

bool tlsf_resize_in_place(void *payload, size_t size)
{
    size_t bytes = chunk_bytes_for(size);
    if (!bytes)
        return false;
    struct tlsf_chunk *chunk = chunk_of(payload);
    bool done = false;
    spin_lock(&T->lock);
    size_t have = chunk_bytes(chunk);
    if (bytes <= have) {
        split_tail(chunk, bytes);
        done = true;
    } else {
        struct tlsf_chunk *next = chunk_next(chunk);
        /* The last block before the top (a free top too small, or the sentinel): the heap grows
         * by what the block lacks, or the pad, and the top that then follows it is big enough. */
        if (next == T->top && chunk_bytes(next) < bytes - have && grow(bytes - have, MALLOC_ALIGNMENT, 0))
            next = chunk_next(chunk);
        if ((next->size & CHUNK_FREE) && have + chunk_bytes(next) >= bytes && (next->size & CHUNK_RELEASED) &&
            !reclaim_chunk(next)) {
            free_unlink(next); /* its pages are another owner's: set aside, realloc moves the block */
            make_hole(next);
        }
        if ((next->size & CHUNK_FREE) && have + chunk_bytes(next) >= bytes) {
            size_t next_bytes = chunk_bytes(next);
            free_unlink(next); /* a listed chunk, or the top */
            poison_absorbed(next);
            chunk_set(chunk, have + next_bytes, false);
            split_tail(chunk, bytes);
            done = true;
        }
    }
    T->used_bytes += chunk_bytes(chunk) - have;
    spin_unlock(&T->lock);
    return done; /* the caller counts the bytes the block gained, then notes the peak */
}

/* Is payload the payload of a used chunk? Walks the region holding it (checked builds only call this). */
bool tlsf_is_allocated_payload(uintptr_t payload)
{
    bool found = false;
    spin_lock(&T->lock);
    for (unsigned i = 0; i < T->region_count && !found; i++) {
        const struct tlsf_region *region = &T->regions[i];
        if (payload < region->first_chunk || payload >= region->end)
            continue;
        struct tlsf_chunk *chunk = (struct tlsf_chunk *)region->first_chunk;
        while (chunk_bytes(chunk) != 0 && (uintptr_t)chunk_payload(chunk) <= payload) {
            if ((uintptr_t)chunk_payload(chunk) == payload) {
                found = !(chunk->size & (CHUNK_FREE | CHUNK_RELEASED)); /* a hole is not allocated */
                break;
            }
            chunk = chunk_next(chunk);
        }
    }
    spin_unlock(&T->lock);
    return found;
}

/*
 * take_from_top for a run in the common case while the heap grows: no listed chunk could hold
 * it and the top starts on a page and holds it, so it needs none of take_from_top's placement
 * arithmetic. NULL otherwise. Lock held.
 */
static inline struct tlsf_chunk *take_run_from_top(size_t run_bytes)
{
    struct tlsf_chunk *top = T->top;
    if (!top || ((uintptr_t)top & (PAGE_SIZE - 1)) || !lists_too_small(run_bytes))
        return NULL;
    size_t top_bytes = chunk_bytes(top); /* 0 for the sentinel */
    if (top_bytes < run_bytes || (top->size & CHUNK_RELEASED))
        return NULL;                                               /* a released top: take_from_top reclaims it */
    return cut_top(top, run_bytes, 0, (uintptr_t)top + top_bytes); /* the top's previous is used */
}

/* A chunk taken for a run, as the run, or NULL (chunk NULL, or beyond what the page map covers:
 * given back). Lock held. */
static inline __attribute__((always_inline)) struct small_run *run_in(struct tlsf_chunk *chunk, size_t run_bytes)
{
    if (chunk && ((uintptr_t)chunk - malloc_state.heap_start + run_bytes > malloc_state.map_span_bytes ||
                  (uintptr_t)chunk < malloc_state.heap_start)) {
        free_chunk_locked(chunk);
        chunk = NULL;
    }
    return (struct small_run *)chunk;
}

struct small_run *tlsf_alloc_run(size_t run_bytes, enum tlsf_growth growth)
{
    spin_lock(&T->lock);
    struct tlsf_chunk *chunk = take_run_from_top(run_bytes);
    if (!chunk)
        chunk = take(run_bytes, PAGE_SIZE, 0, growth);
    struct small_run *run = run_in(chunk, run_bytes);
    spin_unlock(&T->lock);
    return run;
}

struct small_run *tlsf_alloc_run_inside(size_t run_bytes)
{
    spin_lock(&T->lock);
    struct small_run *run = run_in(lists_too_small(run_bytes) ? NULL : take_listed(run_bytes, PAGE_SIZE, 0), run_bytes);
    spin_unlock(&T->lock);
    return run;
}

void tlsf_free_run(struct small_run *run)
{
    struct tlsf_chunk *chunk = (struct tlsf_chunk *)run;
    spin_lock(&T->lock);
    tlsf_poison(chunk_payload(chunk), chunk_bytes(chunk) - CHUNK_HEADER_BYTES);
    /* No automatic trim: a run goes back so other classes and large blocks reuse its memory (a
     * trim now would have the next run grow the heap again); rvmem_malloc_trim gives it back. */
    T->used_blocks--;
    T->used_bytes -= chunk_bytes(chunk);
    release_chunk(chunk);
    spin_unlock(&T->lock);
}

int tlsf_reserve(size_t span_bytes)
{
    int result = 0;
    spin_lock(&T->lock);
    uintptr_t wanted_end = align_up(malloc_state.heap_start + span_bytes, PAGE_SIZE);
    if (span_bytes && tlsf_break() < wanted_end) {
        /* One more-core call for all of it, from wherever the break is (another owner may have
         * moved it: add_memory then opens a new region). */
        uintptr_t current = (uintptr_t)malloc_state.more_core(0);
        void *previous = (void *)-1;
        size_t increment = 0;
        if (current != (uintptr_t)-1 && current < wanted_end &&
            (T->region_count < TLSF_MAX_REGIONS || T->regions[T->region_count - 1].end == current)) {
            increment = wanted_end - current;
            previous = malloc_state.more_core((intptr_t)increment);
        }
        if (previous == (void *)-1 || (uintptr_t)previous != current) {
            if (previous != (void *)-1)
                malloc_state.more_core(-(intptr_t)increment); /* the break moved meanwhile: undone */
            result = -E_NOMEM;
        } else {
            add_memory(current, increment);
        }
    }
    if (result == 0)
        __atomic_store_n(&malloc_state.reserved_bytes, span_bytes, __ATOMIC_RELAXED);
    spin_unlock(&T->lock);
    return result;
}
