/*
 * kernel/mm/buddy_index.h - the root index of a buddy region: which of its largest blocks hold a
 * free block of some order or more, a machine word summarising 64 of them (32 on rv32), so that
 * the highest one is found with a bit scan per level of words, not a walk down a tree over them.
 *
 * A region is a row of roots: its aligned slots of 2^BUDDY_MAX_ORDER pages, each the root of a
 * largest-free tree of its own whose value is 1 + the largest free order inside, or 0
 * (buddy_internal.h). Set k (k = 0..BUDDY_MAX_ORDER) holds the roots whose value is above k: those
 * with a free block of order k or more. A set is a tree of words: level 0 has a bit per root, each
 * level above a bit per word of the level below (set when that word is not 0), up to a top level
 * of one word. Member m of a word is its bit WORD_BITS - 1 - m % WORD_BITS, so that the highest
 * member is the lowest set bit (arch_lowest_set_bit). The sets are interleaved word by word: word
 * w of set k at level l is index_level[l][w * BUDDY_INDEX_SETS + k], so that a root whose value
 * changes, which enters or leaves consecutive sets, touches consecutive words.
 *
 * Cost: the highest member of a set, one bit scan per level (one level up to WORD_BITS roots:
 * 256 MiB with the default order 10 on rv64; two up to 16 GiB). A root's value going from a to b
 * touches |a - b| words at level 0, and a word above only where one below becomes empty or stops
 * being empty. Memory: BUDDY_INDEX_SETS bits per root, a little more above (0.0003 bits a page).
 * All of it under the shared lock, like the trees.
 */
#ifndef RVMEM_KERNEL_MM_BUDDY_INDEX_H
#define RVMEM_KERNEL_MM_BUDDY_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/buddy.h"
#include "kernel/base/arch.h"

#define WORD_BITS (8u * (unsigned)sizeof(unsigned long))
#define BUDDY_INDEX_SETS (BUDDY_MAX_ORDER + 1)

/* The bit of member m in its word (see above). */
static inline unsigned long index_bit(uintptr_t member)
{
    return (1UL << (WORD_BITS - 1)) >> (member % WORD_BITS);
}

/* The highest member of a word that is not 0, numbered within the word. */
static inline uintptr_t index_highest_member(unsigned long word)
{
    return arch_lowest_set_bit(word) ^ (WORD_BITS - 1);
}

/* Levels of words over `roots` members (at least one). */
static inline unsigned index_levels(uintptr_t roots)
{
    unsigned levels = 1;
    for (; roots > WORD_BITS; levels++)
        roots = (roots + WORD_BITS - 1) / WORD_BITS;
    return levels;
}

/* Words of level `level` over `roots` members, per set. */
static inline uintptr_t index_level_words(uintptr_t roots, unsigned level)
{
    for (unsigned l = 0; l <= level; l++)
        roots = (roots + WORD_BITS - 1) / WORD_BITS;
    return roots;
}

/* Words of the whole index over `roots` members, every set. */
static inline uintptr_t index_words(uintptr_t roots)
{
    uintptr_t words = 0;
    for (unsigned level = 0; level < index_levels(roots); level++)
        words += index_level_words(roots, level) * BUDDY_INDEX_SETS;
    return words;
}

/*
 * Points a region's index levels into words (index_words(roots) of them, zeroed by the caller:
 * every set empty) through level_pointers, which has room for BUDDY_INDEX_LEVELS.
 */
static inline void index_layout(struct buddy_region *region, unsigned long **level_pointers, unsigned long *words,
                                uintptr_t roots)
{
    region->index_level = level_pointers;
    region->index_levels = index_levels(roots);
    for (unsigned level = 0; level < region->index_levels; level++) {
        level_pointers[level] = words;
        words += index_level_words(roots, level) * BUDDY_INDEX_SETS;
    }
    region->index_top = level_pointers[region->index_levels - 1];
}

/* Whether some root of the region has a free block of order `set` or more. */
static inline bool index_any(const struct buddy_region *region, unsigned set)
{
    return region->index_top[set] != 0;
}

/* The highest root in set `set`, which must not be empty (index_any). One bit scan per level. */
static inline __attribute__((always_inline)) uintptr_t index_highest(const struct buddy_region *region, unsigned set)
{
    uintptr_t member = index_highest_member(region->index_top[set]);
    for (unsigned level = region->index_levels - 1; level-- > 0;) {
        unsigned long word = region->index_level[level][member * BUDDY_INDEX_SETS + set];
        member = member * WORD_BITS + index_highest_member(word);
    }
    return member;
}

/*
 * index_change for a region of more than one level (out of line: with one level, the common case,
 * the index is one word per set and index_change does it all inline).
 */
void index_change_levels(struct buddy_region *region, uintptr_t root, uintptr_t old_value, uintptr_t new_value);

/*
 * Root `root` changed its value from old_value to new_value: it enters the sets old_value ..
 * new_value - 1, or leaves the sets new_value .. old_value - 1. O(|old - new|) consecutive words
 * at level 0, and a word above where one below becomes empty or stops being empty.
 */
static inline __attribute__((always_inline)) void index_change(struct buddy_region *region, uintptr_t root,
                                                               uintptr_t old_value, uintptr_t new_value)
{
    if (region->index_levels != 1) {
        index_change_levels(region, root, old_value, new_value);
        return;
    }
    unsigned long *words = region->index_top; /* one word per set: roots < WORD_BITS */
    unsigned long bit = index_bit(root);
    for (uintptr_t set = old_value; set < new_value; set++)
        words[set] |= bit;
    for (uintptr_t set = new_value; set < old_value; set++)
        words[set] &= ~bit;
}

/* The bits of members [first, end) of a word (numbered within it: 0 <= first < end <= WORD_BITS). */
static inline unsigned long index_bits(uintptr_t first, uintptr_t end)
{
    unsigned long from_first = ~0UL >> first;                   /* members first..WORD_BITS - 1 */
    unsigned long from_end = end < WORD_BITS ? ~0UL >> end : 0; /* members end..WORD_BITS - 1 */
    return from_first & ~from_end;
}

/*
 * The roots [first, end), which held nothing free, are now entirely free: each enters every set,
 * a word at a time (buddy_init, where most roots are free). O(words touched * BUDDY_INDEX_SETS).
 */
static inline void index_fill(struct buddy_region *region, uintptr_t first, uintptr_t end)
{
    for (unsigned level = 0; level < region->index_levels && first < end; level++) {
        for (uintptr_t word = first / WORD_BITS; word <= (end - 1) / WORD_BITS; word++) {
            uintptr_t word_first = word * WORD_BITS;
            unsigned long bits = index_bits(first > word_first ? first - word_first : 0,
                                            end - word_first < WORD_BITS ? end - word_first : WORD_BITS);
            for (unsigned set = 0; set < BUDDY_INDEX_SETS; set++)
                region->index_level[level][word * BUDDY_INDEX_SETS + set] |= bits;
        }
        first /= WORD_BITS; /* every word touched is not empty now: the same for them one level up */
        end = (end - 1) / WORD_BITS + 1;
    }
}

/* Whether member `member` of level `level` is in set `set` (for the validator and tests). */
static inline bool index_holds(const struct buddy_region *region, unsigned level, uintptr_t member, unsigned set)
{
    return (region->index_level[level][member / WORD_BITS * BUDDY_INDEX_SETS + set] & index_bit(member)) != 0;
}

#endif
