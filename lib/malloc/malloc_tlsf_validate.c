/*
 * lib/malloc/malloc_tlsf_validate.c - tlsf_validate: walks every TLSF region chunk by chunk and checks
 * sizes, boundary tags, merges and the top, every free list against both bitmaps, the holes (chunks
 * set aside whose released pages could not be reclaimed) against their list, and the counters (and,
 * in checked builds, the poison of every free chunk, and that no chunk is released).
 */
#include "kernel/base/misuse.h"
#include "kernel/base/printf.h"
#include "lib/malloc/malloc_internal.h"
#include "lib/malloc/malloc_tlsf_chunk.h"

/* Prints a validation problem and returns the code for it. */
static int problem(int code, const char *what, uintptr_t address)
{
    kprintf("malloc validate: %s at %p\n", what, (void *)address);
    return code;
}

/*
 * Checks T->top against the last region's sentinel, reached by the walk after a free chunk or
 * not: the top is the free chunk that ends there, or the sentinel when the region ends in a used
 * chunk. *top_seen: the top is a free chunk (counted by the walk). Returns 0 or the problem's code.
 */
static int check_top(struct tlsf_chunk *sentinel, bool previous_free, bool *top_seen)
{
    struct tlsf_chunk *top = T->top;
    if (!previous_free && top != sentinel)
        return problem(-14, "the top is not the sentinel of a region ending in a used chunk", (uintptr_t)top);
    if (!!(sentinel->size & CHUNK_PREV_FREE) != previous_free)
        return problem(-3, "the sentinel's PREV_FREE flag disagrees with the previous chunk", (uintptr_t)sentinel);
    if (previous_free && ((uintptr_t)sentinel - sentinel->prev_size != (uintptr_t)top))
        return problem(-14, "the top is not the free chunk before the last region's sentinel", (uintptr_t)top);
    *top_seen = previous_free;
    return 0;
}

int tlsf_validate(const void *caller)
{
    (void)caller; /* used by the checked build's poison checks */
    int result = 0;
    spin_lock(&T->lock);
    size_t free_seen = 0, free_chunks = 0, used_seen = 0, used_chunks = 0, hole_seen = 0, hole_chunks = 0;
    bool top_seen = false;
    for (unsigned i = 0; i < T->region_count && !result; i++) {
        const struct tlsf_region *region = &T->regions[i];
        struct tlsf_chunk *chunk = (struct tlsf_chunk *)region->first_chunk;
        bool previous_free = false;
        if (chunk->size & CHUNK_PREV_FREE)
            result = problem(-1, "first chunk of a region says its previous is free", (uintptr_t)chunk);
        while (!result && chunk_bytes(chunk) != 0) {
            size_t bytes = chunk_bytes(chunk);
            bool free = chunk->size & CHUNK_FREE;
            bool released = chunk->size & CHUNK_RELEASED;
            if (bytes < CHUNK_MIN_BYTES || bytes % MALLOC_ALIGNMENT || (uintptr_t)chunk + bytes >= region->end)
                result = problem(-2, "chunk size out of bounds", (uintptr_t)chunk);
            else if (!!(chunk->size & CHUNK_PREV_FREE) != previous_free)
                result = problem(-3, "PREV_FREE flag disagrees with the previous chunk", (uintptr_t)chunk);
            else if (free && previous_free)
                result = problem(-4, "two free chunks side by side (missed merge)", (uintptr_t)chunk);
            else if (free && chunk_next(chunk)->prev_size != bytes)
                result = problem(-5, "free chunk's boundary tag disagrees with its size", (uintptr_t)chunk);
            else if (released && !malloc_state.reclaim_pages)
                result = problem(-16, "a chunk is marked released where nothing reclaims pages", (uintptr_t)chunk);
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
            } else if (released) {
                hole_seen += bytes;
                hole_chunks++;
            } else {
                used_seen += bytes;
                used_chunks++;
            }
            previous_free = free;
            chunk = chunk_next(chunk);
        }
        if (!result && (uintptr_t)chunk != (region->end & ~(uintptr_t)15) - CHUNK_HEADER_BYTES)
            result = problem(-7, "region does not end in its sentinel", (uintptr_t)chunk);
        if (!result && i + 1 == T->region_count)
            result = check_top(chunk, previous_free, &top_seen);
    }
    if (!result && !T->region_count && T->top)
        result = problem(-14, "a top without a region", (uintptr_t)T->top);
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
                else if (chunk == T->top)
                    result = problem(-15, "the top chunk is on a free list", (uintptr_t)chunk);
                else if (listed++ > free_chunks)
                    result = problem(-11, "free list has a cycle", (uintptr_t)chunk);
                listed_bytes += chunk_bytes(chunk);
            }
        }
    }
    /* Every hole on the list is one the walk saw, and the list holds them all. */
    size_t holes_listed = 0, holes_listed_bytes = 0;
    for (struct tlsf_chunk *hole = T->holes; hole && !result; hole = hole->next_free) {
        if ((hole->size & CHUNK_FREE) || !(hole->size & CHUNK_RELEASED))
            result = problem(-17, "a hole is free or not marked released", (uintptr_t)hole);
        else if (hole->next_free && hole->next_free->prev_free != hole)
            result = problem(-17, "the hole list's links disagree", (uintptr_t)hole);
        else if (holes_listed++ > hole_chunks)
            result = problem(-17, "the hole list has a cycle", (uintptr_t)hole);
        holes_listed_bytes += chunk_bytes(hole);
    }
    if (!result && (holes_listed != hole_chunks || holes_listed_bytes != hole_seen || hole_seen != T->hole_bytes))
        result = problem(-17, "holes walked, listed and counted disagree", holes_listed);
    size_t top_bytes = top_seen ? chunk_bytes(T->top) : 0;
    if (!result &&
        (listed + top_seen != free_chunks || listed_bytes + top_bytes != free_seen || free_seen != tlsf_free_bytes()))
        result = problem(-12, "free chunks walked, listed (and the top) and counted disagree", listed);
    if (!result && (used_seen != T->used_bytes || used_chunks != T->used_blocks))
        result = problem(-13, "used chunks walked and counted disagree", used_chunks);
    spin_unlock(&T->lock);
    return result;
}
