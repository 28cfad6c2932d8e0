/*
 * lib/malloc_tlsf.c - medium and large blocks: TLSF (two-level segregated fit) over the break.
 * Builds: kernel, host
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
 * tags). The heap grows through more-core by at least a pad (grow_pad: span / 16 within 64 KiB
 * .. 1 MiB), and its free top goes back through more-core: automatically past 2 x pad + a page
 * (plus what note_growth learned from trims the heap grew back after), keeping pad, and entirely
 * in tlsf_trim(0). Small-class runs are TLSF chunks too.
 * Cost: O(1) per call, plus a more-core call when the heap must grow or shrink.
 * Locking: everything under malloc_state.tlsf.lock.
 */
#include "kernel/errors.h"
#include "kernel/misuse.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "lib/malloc_internal.h"

struct tlsf_chunk {
    uintptr_t prev_size; /* size of the previous chunk; valid only when PREV_FREE is set */
#if UINTPTR_MAX == 0xffffffffu
    uint32_t padding[2]; /* rv32: size stays the word right before the payload, as on rv64 */
#endif
    uintptr_t size; /* chunk bytes (header included) | flags */
    struct tlsf_chunk *next_free;
    struct tlsf_chunk *prev_free;
};

#define CHUNK_FREE ((uintptr_t)1)
#define CHUNK_PREV_FREE ((uintptr_t)2)
#define CHUNK_FLAGS (CHUNK_FREE | CHUNK_PREV_FREE)
#define CHUNK_HEADER_BYTES 16
#define CHUNK_MIN_BYTES 32
_Static_assert(__builtin_offsetof(struct tlsf_chunk, size) + sizeof(uintptr_t) == CHUNK_HEADER_BYTES,
               "the size word is the last of the header: free() reads it right before the payload");
_Static_assert(__builtin_offsetof(struct small_run, tlsf_size) == __builtin_offsetof(struct tlsf_chunk, size) &&
                   sizeof(struct small_run) <= SMALL_RUN_HEADER_BYTES,
               "a run's header overlays its TLSF chunk header: the run's own fields come after the size word");
#define TLSF_LINEAR_LIMIT ((size_t)1 << (TLSF_SL_LOG2 + 4))             /* below this, lists are 16 bytes apart */
#define TLSF_MAX_REQUEST ((size_t)1 << (sizeof(size_t) == 8 ? 46 : 30)) /* far above any RAM */
/*
 * Growth asks more-core for at least a pad: the heap span / 16, within these bounds, in whole pages
 * (glibc's M_TOP_PAD is the precedent), so a growing heap moves the break about every 1/16 of its
 * size rather than on every request. The free top goes back when it exceeds 2 x pad + a page (so at
 * least 132 KiB), keeping pad: after a trim the top holds pad plus under a page of rounding, and one
 * growth adds pad, so a malloc/free pair at the top of up to 2 x pad grows once and never trims.
 */
#define TLSF_GROW_PAD_MIN_BYTES ((size_t)64 << 10)
#define TLSF_GROW_PAD_MAX_BYTES ((size_t)1 << 20)
#define TLSF_TRIM_MIN_BYTES (2 * TLSF_GROW_PAD_MIN_BYTES + MALLOC_PAGE_BYTES) /* the lowest threshold */
#define TLSF_TRIM_EXTRA_MAX_BYTES ((size_t)32 << 20) /* the most the threshold learns to add (note_growth) */

#define T (&malloc_state.tlsf)

static inline size_t chunk_bytes(const struct tlsf_chunk *chunk)
{
    return chunk->size & ~CHUNK_FLAGS;
}

static inline struct tlsf_chunk *chunk_next(struct tlsf_chunk *chunk)
{
    return (struct tlsf_chunk *)((uintptr_t)chunk + chunk_bytes(chunk));
}

static inline struct tlsf_chunk *chunk_of(const void *payload)
{
    return (struct tlsf_chunk *)((uintptr_t)payload - CHUNK_HEADER_BYTES);
}

static inline void *chunk_payload(struct tlsf_chunk *chunk)
{
    return (void *)((uintptr_t)chunk + CHUNK_HEADER_BYTES);
}

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

/* The list a free chunk of size bytes belongs to. */
static void mapping_insert(size_t size, unsigned *first, unsigned *second)
{
    if (size < TLSF_LINEAR_LIMIT) {
        *first = 0;
        *second = (unsigned)(size >> 4);
        return;
    }
    unsigned log2 = malloc_highest_bit(size);
    *first = log2 - (TLSF_SL_LOG2 + 4) + 1;
    *second = (unsigned)(size >> (log2 - TLSF_SL_LOG2)) & (TLSF_SL_COUNT - 1);
}

/* The first list whose every chunk holds size bytes (one bit scan: rounding up carries at most one bit higher). */
static void mapping_search(size_t size, unsigned *first, unsigned *second)
{
    if (size < TLSF_LINEAR_LIMIT) {
        *first = 0;
        *second = (unsigned)(size >> 4);
        return;
    }
    unsigned log2 = malloc_highest_bit(size);
    size += ((size_t)1 << (log2 - TLSF_SL_LOG2)) - 1;
    if (size >> log2 > 1)
        log2++;
    *first = log2 - (TLSF_SL_LOG2 + 4) + 1;
    *second = (unsigned)(size >> (log2 - TLSF_SL_LOG2)) & (TLSF_SL_COUNT - 1);
}

static void list_insert(struct tlsf_chunk *chunk)
{
    unsigned first, second;
    mapping_insert(chunk_bytes(chunk), &first, &second);
    struct tlsf_chunk *head = T->free_lists[first][second];
    chunk->next_free = head;
    chunk->prev_free = NULL;
    if (head)
        head->prev_free = chunk;
    T->free_lists[first][second] = chunk;
    T->first_level_bitmap |= (uint64_t)1 << first;
    T->second_level_bitmap[first] |= 1u << second;
    T->free_bytes += chunk_bytes(chunk);
}

/* Takes free chunk off its list, (first, second) (mapping_insert of its size). */
static void list_remove_from(struct tlsf_chunk *chunk, unsigned first, unsigned second)
{
    if (chunk->next_free)
        chunk->next_free->prev_free = chunk->prev_free;
    if (chunk->prev_free)
        chunk->prev_free->next_free = chunk->next_free;
    else
        T->free_lists[first][second] = chunk->next_free;
    if (!T->free_lists[first][second]) {
        T->second_level_bitmap[first] &= ~(1u << second);
        if (!T->second_level_bitmap[first])
            T->first_level_bitmap &= ~((uint64_t)1 << first);
    }
    T->free_bytes -= chunk_bytes(chunk);
}

static void list_remove(struct tlsf_chunk *chunk)
{
    unsigned first, second;
    mapping_insert(chunk_bytes(chunk), &first, &second);
    list_remove_from(chunk, first, second);
}

/*
 * The head of the smallest non-empty list from (*first, *second) up, or NULL; (*first, *second)
 * become that list's, so list_remove_from needs no bit scan. O(1).
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
static void chunk_set(struct tlsf_chunk *chunk, size_t bytes, bool free)
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

/* Splits used chunk so it keeps bytes; the rest (when big enough) becomes a free chunk, merged with a free next. */
static void split_tail(struct tlsf_chunk *chunk, size_t bytes)
{
    size_t total = chunk_bytes(chunk);
    if (total - bytes < CHUNK_MIN_BYTES)
        return;
    struct tlsf_chunk *rest = (struct tlsf_chunk *)((uintptr_t)chunk + bytes);
    chunk->size = bytes | (chunk->size & CHUNK_PREV_FREE);
    size_t rest_bytes = total - bytes;
    struct tlsf_chunk *after = (struct tlsf_chunk *)((uintptr_t)rest + rest_bytes);
    rest->size = 0; /* used, previous (chunk) used */
    if (after->size & CHUNK_FREE) {
        list_remove(after);
        rest_bytes += chunk_bytes(after);
        poison_absorbed(after);
    }
    chunk_set(rest, rest_bytes, true);
    list_insert(rest);
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

uintptr_t tlsf_break(void)
{
    return T->region_count ? T->regions[T->region_count - 1].end : malloc_state.heap_start;
}

/* Frees chunk (already marked used) into the lists, merging with free neighbours; returns the merged chunk. */
static struct tlsf_chunk *release_chunk(struct tlsf_chunk *chunk)
{
    size_t bytes = chunk_bytes(chunk);
    struct tlsf_chunk *next = chunk_next(chunk);
    if (next->size & CHUNK_FREE) {
        list_remove(next);
        bytes += chunk_bytes(next);
        poison_absorbed(next);
    }
    if (chunk->size & CHUNK_PREV_FREE) {
        struct tlsf_chunk *previous = (struct tlsf_chunk *)((uintptr_t)chunk - chunk->prev_size);
        list_remove(previous);
        poison_absorbed(chunk);
        bytes += chunk_bytes(previous);
        chunk = previous;
    }
    chunk_set(chunk, bytes, true);
    list_insert(chunk);
    return chunk;
}

/*
 * Adds more-core memory [previous, previous + increment) to the heap: extends the last region
 * when it is contiguous, else opens a new region. Returns the free chunk at the top.
 */
static struct tlsf_chunk *add_memory(uintptr_t previous, size_t increment)
{
    T->more_core_calls++;
    uintptr_t end = previous + increment;
    struct tlsf_region *last = T->region_count ? &T->regions[T->region_count - 1] : NULL;
    struct tlsf_chunk *chunk;
    if (last && last->end == previous) {
        /* The old sentinel becomes the header of the new chunk. */
        chunk = (struct tlsf_chunk *)((previous & ~(uintptr_t)15) - CHUNK_HEADER_BYTES);
        tlsf_poison((void *)previous, increment);
        last->end = end;
    } else {
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
    chunk->size = bytes | (chunk->size & CHUNK_PREV_FREE); /* used for now */
    chunk = release_chunk(chunk);
    uintptr_t span = end - malloc_state.heap_start;
    if (span > T->peak_span_bytes)
        T->peak_span_bytes = span;
    return chunk;
}

/* The least a growth asks for and what a trim keeps: span / 16 clamped to [64 KiB, 1 MiB], whole pages. */
static size_t grow_pad(void)
{
    size_t pad = (tlsf_break() - malloc_state.heap_start) / 16;
    if (pad < TLSF_GROW_PAD_MIN_BYTES)
        pad = TLSF_GROW_PAD_MIN_BYTES;
    if (pad > TLSF_GROW_PAD_MAX_BYTES)
        pad = TLSF_GROW_PAD_MAX_BYTES;
    return align_up(pad, MALLOC_PAGE_BYTES);
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

/* Grows the heap so a chunk of bytes fits at the placement; returns the top free chunk, or NULL. */
static struct tlsf_chunk *grow(size_t bytes, uintptr_t alignment, uintptr_t header_offset)
{
    uintptr_t current = (uintptr_t)malloc_state.more_core(0);
    if (current == (uintptr_t)-1)
        return NULL;
    uintptr_t top; /* where a chunk could start: the free top chunk, the sentinel, or a new region */
    bool top_is_free = false;
    if (T->region_count && T->regions[T->region_count - 1].end == current) {
        struct tlsf_chunk *sentinel = (struct tlsf_chunk *)((current & ~(uintptr_t)15) - CHUNK_HEADER_BYTES);
        top_is_free = sentinel->size & CHUNK_PREV_FREE;
        top = top_is_free ? (uintptr_t)sentinel - sentinel->prev_size : (uintptr_t)sentinel;
    } else {
        /* Somebody else moved the break (or this is the first region): open a new region. */
        if (T->region_count == TLSF_MAX_REGIONS)
            return NULL;
        top = align_up(current, MALLOC_ALIGNMENT);
        if (top < malloc_state.heap_start)
            return NULL;
    }
    uintptr_t placed = align_up(top + header_offset, alignment) - header_offset;
    if (placed != top && placed - top < CHUNK_MIN_BYTES)
        placed += alignment;
    uintptr_t needed_end = placed + bytes + CHUNK_HEADER_BYTES;
    if (top_is_free && needed_end <= (current & ~(uintptr_t)15))
        return (struct tlsf_chunk *)top; /* the top chunk fits already (the padded list search missed it) */
    if (placed < top || needed_end < placed || needed_end - current > TLSF_MAX_REQUEST)
        return NULL;
    size_t needed = align_up(needed_end - current, MALLOC_PAGE_BYTES);
    size_t pad = grow_pad();
    size_t increment = needed > pad ? needed : pad;
    void *previous = more_core_padded(needed, &increment);
    if (previous == (void *)-1)
        return NULL;
    note_growth();
    /* If the break moved between the two calls, the memory is still ours: it becomes a new region. */
    if ((uintptr_t)previous != current && T->region_count == TLSF_MAX_REGIONS)
        return NULL; /* cannot track it: left to its owner (does not happen with a private break) */
    return add_memory((uintptr_t)previous, increment);
}

/* take's way out when no listed chunk fits: grows the heap and places in the new top. Lock held. */
__attribute__((noinline)) static struct tlsf_chunk *take_grown(size_t bytes, uintptr_t alignment,
                                                               uintptr_t header_offset)
{
    struct tlsf_chunk *chunk = grow(bytes, alignment, header_offset);
    if (!chunk || !fits(chunk, bytes, alignment, header_offset))
        return NULL;
    list_remove(chunk);
    return place(chunk, bytes, alignment, header_offset);
}

/*
 * A used chunk of bytes placed so chunk + header_offset is aligned, or NULL. Lock held.
 * An aligned request first looks at the smallest list for the bytes alone: its head is taken
 * when it fits at its placement, which is the common case (a run's page-aligned hole, the top
 * after runs), saving the front split. Otherwise a second look asks for room for any
 * placement (bytes + alignment + a minimal front chunk), where every chunk fits. O(1) either way.
 */
static struct tlsf_chunk *take(size_t bytes, uintptr_t alignment, uintptr_t header_offset)
{
    unsigned first, second;
    mapping_search(bytes, &first, &second);
    struct tlsf_chunk *chunk = find_list(&first, &second);
    if (alignment > MALLOC_ALIGNMENT && (!chunk || !fits(chunk, bytes, alignment, header_offset))) {
        mapping_search(bytes + alignment + CHUNK_MIN_BYTES, &first, &second);
        chunk = find_list(&first, &second);
    }
    if (MALLOC_UNLIKELY(!chunk))
        return take_grown(bytes, alignment, header_offset);
    list_remove_from(chunk, first, second);
    return place(chunk, bytes, alignment, header_offset);
}

/* Chunk bytes for a payload of size, or 0 when too large. */
static size_t chunk_bytes_for(size_t size)
{
    if (size > TLSF_MAX_REQUEST)
        return 0;
    size_t bytes = align_up(size, MALLOC_ALIGNMENT) + CHUNK_HEADER_BYTES;
    return bytes < CHUNK_MIN_BYTES ? CHUNK_MIN_BYTES : bytes;
}

void *tlsf_alloc(size_t size)
{
    return tlsf_alloc_aligned(MALLOC_ALIGNMENT, size);
}

void *tlsf_alloc_aligned(size_t alignment, size_t size)
{
    size_t bytes = chunk_bytes_for(size);
    if (!bytes || alignment > TLSF_MAX_REQUEST)
        return NULL;
    if (alignment < MALLOC_ALIGNMENT)
        alignment = MALLOC_ALIGNMENT;
    spin_lock(&T->lock);
    struct tlsf_chunk *chunk = take(bytes, alignment, CHUNK_HEADER_BYTES);
    spin_unlock(&T->lock);
    if (!chunk)
        return NULL;
    malloc_note_peak();
    return chunk_payload(chunk);
}

/* Gives the free top of the last region back while it exceeds keep bytes (lock held). Returns bytes released. */
static size_t trim_top(size_t keep)
{
    size_t released = 0;
    while (T->region_count) {
        struct tlsf_region *region = &T->regions[T->region_count - 1];
        uintptr_t current = (uintptr_t)malloc_state.more_core(0);
        if (current != region->end)
            break;
        struct tlsf_chunk *sentinel = (struct tlsf_chunk *)((region->end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES);
        if (!(sentinel->size & CHUNK_PREV_FREE))
            break;
        struct tlsf_chunk *top = (struct tlsf_chunk *)((uintptr_t)sentinel - sentinel->prev_size);
        if (keep == 0 && (uintptr_t)top == region->first_chunk) {
            /* The whole region is free: give all of it back, alignment padding included. */
            size_t bytes = region->end - region->break_before;
            list_remove(top); /* first: more-core may clear the memory it takes back */
            if (malloc_state.more_core(-(intptr_t)bytes) == (void *)-1) {
                list_insert(top);
                break;
            }
            T->more_core_calls++;
            T->region_count--;
            released += bytes;
            continue;
        }
        uintptr_t minimum = keep < CHUNK_MIN_BYTES ? CHUNK_MIN_BYTES : align_up(keep, MALLOC_ALIGNMENT);
        uintptr_t new_end = align_up((uintptr_t)top + minimum + CHUNK_HEADER_BYTES, MALLOC_PAGE_BYTES);
        if (new_end >= region->end)
            break;
        size_t bytes = region->end - new_end;
        list_remove(top);
        if (malloc_state.more_core(-(intptr_t)bytes) == (void *)-1) {
            list_insert(top);
            break;
        }
        T->more_core_calls++;
        struct tlsf_chunk *new_sentinel = (struct tlsf_chunk *)(new_end - CHUNK_HEADER_BYTES);
        size_t top_bytes = (uintptr_t)new_sentinel - (uintptr_t)top;
        new_sentinel->size = 0;
        top->size = top_bytes | (top->size & CHUNK_PREV_FREE);
        chunk_set(top, top_bytes, true);
        list_insert(top);
        region->end = new_end;
        released += bytes;
        break;
    }
    return released;
}

size_t tlsf_trim(size_t keep_bytes)
{
    spin_lock(&T->lock);
    T->trim_extra_bytes = 0;
    T->last_auto_trim_bytes = 0;
    size_t released = trim_top(keep_bytes);
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
    if (top_bytes > 2 * pad + MALLOC_PAGE_BYTES + T->trim_extra_bytes) {
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
static void free_chunk_locked(struct tlsf_chunk *chunk)
{
    T->used_blocks--;
    T->used_bytes -= chunk_bytes(chunk);
    struct tlsf_chunk *merged = release_chunk(chunk);
    if (chunk_bytes(merged) > TLSF_TRIM_MIN_BYTES && chunk_next(merged)->size == (CHUNK_PREV_FREE))
        trim_if_over_threshold(chunk_bytes(merged));
}

void tlsf_free(void *payload)
{
    struct tlsf_chunk *chunk = chunk_of(payload);
    spin_lock(&T->lock);
    free_chunk_locked(chunk);
    spin_unlock(&T->lock);
}

void *tlsf_next_payload(const void *payload)
{
    return chunk_payload(chunk_next(chunk_of(payload)));
}

size_t tlsf_usable_size(const void *payload)
{
    return chunk_bytes(chunk_of(payload)) - CHUNK_HEADER_BYTES;
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
        if ((next->size & CHUNK_FREE) && have + chunk_bytes(next) >= bytes) {
            size_t next_bytes = chunk_bytes(next);
            list_remove(next);
            poison_absorbed(next);
            chunk_set(chunk, have + next_bytes, false);
            split_tail(chunk, bytes);
            done = true;
        }
    }
    T->used_bytes += chunk_bytes(chunk) - have;
    spin_unlock(&T->lock);
    if (done)
        malloc_note_peak();
    return done;
}

/* Lock-free: a valid block's region is stable while the block lives (regions go only when empty). */
bool tlsf_owns(uintptr_t address)
{
    unsigned count = __atomic_load_n(&T->region_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < count; i++) {
        const struct tlsf_region *region = &T->regions[i];
        if (address >= region->first_chunk && address < region->end)
            return true;
    }
    return false;
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
                found = !(chunk->size & CHUNK_FREE);
                break;
            }
            chunk = chunk_next(chunk);
        }
    }
    spin_unlock(&T->lock);
    return found;
}

/*
 * tlsf_alloc_run's common case, the wilderness: the top chunk (the free end of the last region)
 * is the only free chunk, starts on a page and holds the run and a free rest. Any search would
 * pick it (the best fit among one chunk), so the run is cut off its front without one and the
 * rest stays the top: its list is known from the bitmaps, which hold nothing else. NULL
 * otherwise (take decides). Lock held; O(1).
 */
static struct tlsf_chunk *take_run_from_top(size_t run_bytes)
{
    if (!T->region_count)
        return NULL;
    uintptr_t end = T->regions[T->region_count - 1].end;
    struct tlsf_chunk *sentinel = (struct tlsf_chunk *)((end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES);
    if (!(sentinel->size & CHUNK_PREV_FREE))
        return NULL;
    size_t top_bytes = sentinel->prev_size;
    struct tlsf_chunk *top = (struct tlsf_chunk *)((uintptr_t)sentinel - top_bytes);
    if (top_bytes != T->free_bytes || ((uintptr_t)top & (MALLOC_PAGE_BYTES - 1)) ||
        top_bytes < run_bytes + CHUNK_MIN_BYTES)
        return NULL;
    /* The only listed chunk: its list is the one set bit of each level. */
    unsigned first = malloc_lowest_bit(T->first_level_bitmap);
    T->free_lists[first][malloc_lowest_bit(T->second_level_bitmap[first])] = NULL;
    T->second_level_bitmap[first] = 0;
    T->first_level_bitmap = 0;
    T->free_bytes = 0;
    struct tlsf_chunk *rest = (struct tlsf_chunk *)((uintptr_t)top + run_bytes);
    size_t rest_bytes = top_bytes - run_bytes;
    top->size = run_bytes | (top->size & CHUNK_PREV_FREE); /* used */
    rest->size = rest_bytes | CHUNK_FREE;                  /* its previous (the run) is used */
    sentinel->prev_size = rest_bytes;
    list_insert(rest);
    T->used_blocks++;
    T->used_bytes += run_bytes;
    return top;
}

struct small_run *tlsf_alloc_run(size_t run_bytes)
{
    spin_lock(&T->lock);
    struct tlsf_chunk *chunk = take_run_from_top(run_bytes);
    if (!chunk)
        chunk = take(run_bytes, MALLOC_PAGE_BYTES, 0);
    if (chunk && ((uintptr_t)chunk - malloc_state.heap_start + run_bytes > malloc_state.map_span_bytes ||
                  (uintptr_t)chunk < malloc_state.heap_start)) {
        /* Beyond what the page map covers: not usable as a run. */
        free_chunk_locked(chunk);
        chunk = NULL;
    }
    if (chunk)
        T->run_bytes += run_bytes;
    spin_unlock(&T->lock);
    return (struct small_run *)chunk;
}

void tlsf_free_run(struct small_run *run)
{
    struct tlsf_chunk *chunk = (struct tlsf_chunk *)run;
    spin_lock(&T->lock);
    T->run_bytes -= chunk_bytes(chunk);
    tlsf_poison(chunk_payload(chunk), chunk_bytes(chunk) - CHUNK_HEADER_BYTES);
    free_chunk_locked(chunk);
    spin_unlock(&T->lock);
}

/* Prints a validation problem and returns the code for it. */
static int problem(int code, const char *what, uintptr_t address)
{
    kprintf("malloc validate: %s at %p\n", what, (void *)address);
    return code;
}

int tlsf_validate(const void *caller)
{
    (void)caller; /* used by the checked build's poison checks */
    int result = 0;
    spin_lock(&T->lock);
    size_t free_seen = 0, free_chunks = 0, used_seen = 0, used_chunks = 0;
    for (unsigned i = 0; i < T->region_count && !result; i++) {
        const struct tlsf_region *region = &T->regions[i];
        struct tlsf_chunk *chunk = (struct tlsf_chunk *)region->first_chunk;
        bool previous_free = false;
        if (chunk->size & CHUNK_PREV_FREE)
            result = problem(-1, "first chunk of a region says its previous is free", (uintptr_t)chunk);
        while (!result && chunk_bytes(chunk) != 0) {
            size_t bytes = chunk_bytes(chunk);
            bool free = chunk->size & CHUNK_FREE;
            if (bytes < CHUNK_MIN_BYTES || bytes % MALLOC_ALIGNMENT || (uintptr_t)chunk + bytes >= region->end)
                result = problem(-2, "chunk size out of bounds", (uintptr_t)chunk);
            else if (!!(chunk->size & CHUNK_PREV_FREE) != previous_free)
                result = problem(-3, "PREV_FREE flag disagrees with the previous chunk", (uintptr_t)chunk);
            else if (free && previous_free)
                result = problem(-4, "two free chunks side by side (missed merge)", (uintptr_t)chunk);
            else if (free && chunk_next(chunk)->prev_size != bytes)
                result = problem(-5, "free chunk's boundary tag disagrees with its size", (uintptr_t)chunk);
            if (result)
                break;
            if (free) {
                free_seen += bytes;
                free_chunks++;
#ifdef RVMEM_CHECKED
                const uint8_t *poison = (const uint8_t *)chunk + CHUNK_HEADER_BYTES + 32;
                const uint8_t *end = (const uint8_t *)chunk + bytes;
                for (; poison < end; poison++) {
                    if (*poison != MALLOC_POISON_BYTE) {
                        malloc_report_misuse(MISUSE_WRITE_AFTER_FREE, (uintptr_t)poison, caller);
                        result = problem(-6, "poison of a free chunk overwritten", (uintptr_t)poison);
                        break;
                    }
                }
#endif
            } else {
                used_seen += bytes;
                used_chunks++;
            }
            previous_free = free;
            chunk = chunk_next(chunk);
        }
        if (!result && (uintptr_t)chunk != (region->end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES)
            result = problem(-7, "region does not end in its sentinel", (uintptr_t)chunk);
    }
    /* Every list against the bitmaps, every listed chunk free and in the right list. */
    size_t listed = 0, listed_bytes = 0;
    for (unsigned first = 0; first < TLSF_FL_COUNT && !result; first++) {
        bool first_bit = T->first_level_bitmap & ((uint64_t)1 << first);
        if (first_bit != (T->second_level_bitmap[first] != 0))
            result = problem(-8, "first-level bitmap disagrees with the second level", first);
        for (unsigned second = 0; second < TLSF_SL_COUNT && !result; second++) {
            struct tlsf_chunk *head = T->free_lists[first][second];
            bool bit = T->second_level_bitmap[first] & (1u << second);
            if (bit != (head != NULL))
                result = problem(-9, "second-level bitmap disagrees with its list", (first << 8) | second);
            for (struct tlsf_chunk *chunk = head; chunk && !result; chunk = chunk->next_free) {
                unsigned f, s;
                mapping_insert(chunk_bytes(chunk), &f, &s);
                if (!(chunk->size & CHUNK_FREE) || f != first || s != second)
                    result = problem(-10, "listed chunk is used or in the wrong list", (uintptr_t)chunk);
                else if (listed++ > free_chunks)
                    result = problem(-11, "free list has a cycle", (uintptr_t)chunk);
                listed_bytes += chunk_bytes(chunk);
            }
        }
    }
    if (!result && (listed != free_chunks || listed_bytes != free_seen || free_seen != T->free_bytes))
        result = problem(-12, "free chunks walked, listed and counted disagree", listed);
    if (!result && (used_seen != T->used_bytes || used_chunks != T->used_blocks))
        result = problem(-13, "used chunks walked and counted disagree", used_chunks);
    spin_unlock(&T->lock);
    return result;
}
