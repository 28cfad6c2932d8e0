/*
 * tests/mm/buddy_index.c - the buddy allocator's root index (kernel/mm/buddy_index.h) on its own,
 * over more roots than one word holds, so that its levels of words above the roots are used.
 *
 * A fake region holds only the index (no pages, no trees). Each test moves roots between values
 * with index_change, as the allocator does when a root's largest free block changes, keeps the
 * values in a shadow array, and checks that for every set the highest root the index finds is the
 * highest root of the shadow with a value above the set's order (or that the set is empty).
 * Seeds are fixed: runs repeat.
 */
#include "kernel/mm/buddy_index.h"

#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

/* Three levels of words with 64-bit words (64 * 64 < 5000), four with 32-bit ones. */
#define INDEX_ROOTS 5000u
#define MAX_INDEX_WORDS 10000u /* more than index_words(INDEX_ROOTS) with either word */

struct index_test_memory {
    unsigned long words[MAX_INDEX_WORDS];
    unsigned long *levels[BUDDY_INDEX_LEVELS];
    uint8_t values[INDEX_ROOTS]; /* the shadow: each root's value */
};
static struct ktest_arena index_test_space = KTEST_ARENA(sizeof(struct index_test_memory), sizeof(unsigned long));

/* A fake region of `roots` roots whose values are all 0 (every set empty); NULL when memory is short. */
static struct index_test_memory *index_test_region(struct buddy_region *region, uintptr_t roots)
{
    struct index_test_memory *memory = ktest_arena_memory(&index_test_space);
    if (memory == NULL || index_words(roots) > MAX_INDEX_WORDS)
        return NULL;
    memset(memory, 0, sizeof *memory);
    memset(region, 0, sizeof *region);
    index_layout(region, memory->levels, memory->words, roots);
    return memory;
}

/* Moves root to value in the index and in the shadow. */
static void set_root(struct buddy_region *region, struct index_test_memory *memory, uintptr_t root, uint8_t value)
{
    index_change(region, root, memory->values[root], value);
    memory->values[root] = value;
}

/* Whether every set agrees with the shadow (its highest member, or empty); prints the first difference. */
static bool index_matches(const struct buddy_region *region, const struct index_test_memory *memory, uintptr_t roots)
{
    for (unsigned set = 0; set < BUDDY_INDEX_SETS; set++) {
        uintptr_t highest = roots; /* none */
        for (uintptr_t root = roots; root-- > 0;) {
            if (memory->values[root] > set) {
                highest = root;
                break;
            }
        }
        bool any = index_any(region, set);
        uintptr_t found = any ? index_highest(region, set) : roots;
        if (any != (highest < roots) || found != highest) {
            ktest_note("set %u: the index finds %lu, the roots say %lu (%lu: none)", set, (unsigned long)found,
                       (unsigned long)highest, (unsigned long)roots);
            return false;
        }
    }
    return true;
}

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

KTEST(buddy_index, levels_of_words_over_many_roots)
{
    struct buddy_region region;
    struct index_test_memory *memory = index_test_region(&region, INDEX_ROOTS);
    KASSERT_NOT_NULL(memory);
    KASSERT_GE(region.index_levels, 3u);
    KASSERT(index_matches(&region, memory, INDEX_ROOTS));

    /* One root at a time, from the bottom and from the top: every set is that root alone, then empty. */
    const uintptr_t lonely[] = {0, 1, WORD_BITS - 1, WORD_BITS, WORD_BITS * WORD_BITS, INDEX_ROOTS - 1};
    for (unsigned i = 0; i < sizeof lonely / sizeof lonely[0]; i++) {
        set_root(&region, memory, lonely[i], BUDDY_MAX_ORDER + 1);
        KASSERT(index_matches(&region, memory, INDEX_ROOTS));
        KASSERT_EQ(index_highest(&region, BUDDY_MAX_ORDER), lonely[i]);
        set_root(&region, memory, lonely[i], 3);
        KASSERT(index_matches(&region, memory, INDEX_ROOTS));
        set_root(&region, memory, lonely[i], 0);
        KASSERT(index_matches(&region, memory, INDEX_ROOTS));
    }
    for (unsigned long word = 0; word < index_words(INDEX_ROOTS); word++)
        KASSERT_EQ(memory->words[word], 0ul);
}

KTEST(buddy_index, random_values_against_a_shadow)
{
    struct buddy_region region;
    struct index_test_memory *memory = index_test_region(&region, INDEX_ROOTS);
    KASSERT_NOT_NULL(memory);
    uint32_t seed = 2024;
    for (unsigned step = 0; step < 3000; step++) {
        uint32_t choice = next_random(&seed);
        /* Roots clustered in a few words, so that words empty and fill again, and anywhere. */
        uintptr_t root = choice % 4 == 0 ? choice / 4 % INDEX_ROOTS : (choice / 4 % 8) * (WORD_BITS + 3);
        set_root(&region, memory, root, (uint8_t)(next_random(&seed) % (BUDDY_MAX_ORDER + 2)));
        if (step % 16 == 0)
            KASSERT(index_matches(&region, memory, INDEX_ROOTS));
    }
    KASSERT(index_matches(&region, memory, INDEX_ROOTS));
}

KTEST(buddy_index, one_word_for_few_roots)
{
    struct buddy_region region;
    struct index_test_memory *memory = index_test_region(&region, 5);
    KASSERT_NOT_NULL(memory);
    KASSERT_EQ(region.index_levels, 1u);
    KASSERT_EQ(index_words(5), (uintptr_t)BUDDY_INDEX_SETS);
    set_root(&region, memory, 2, BUDDY_MAX_ORDER + 1);
    set_root(&region, memory, 4, 1);
    KASSERT(index_matches(&region, memory, 5));
    KASSERT_EQ(index_highest(&region, 0), 4ul);
    KASSERT_EQ(index_highest(&region, 1), 2ul);
    set_root(&region, memory, 2, 0);
    KASSERT(!index_any(&region, 1));
    KASSERT(index_matches(&region, memory, 5));
}
