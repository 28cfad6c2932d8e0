/*
 * tests/mm/vm.c - the page-table core: every leaf size, the largest-leaf choice, translation,
 * splitting, protection, listing and walking, every error (each leaves nothing behind: same
 * mappings, same counters, same table pages held), the validator catching corruption, and the
 * table pages counted back to the root after unmapping everything.
 *
 * Each test runs in every mode the build can run: Sv39 and Sv32 on the host, the hart's own mode
 * in the kernel. Tables come from tests/mm/vm_arena.c (fake physical addresses, failures on
 * request); the "vm_arena" leak check verifies after each suite that every page came back.
 * The randomized model test is in tests/mm/vm_shadow.c.
 */
#include "kernel/mm/vm.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/mm/vm_arena.h"

#define PAGE PAGE_SIZE
#define MIB ((uintptr_t)1 << 20)
#define GIB ((uintptr_t)1 << 30)
#define RW (VM_READ | VM_WRITE)

static const enum vm_mode modes[] = {
#if defined(RVMEM_HOST)
    VM_MODE_SV39,
    VM_MODE_SV32,
#elif __riscv_xlen == 32
    VM_MODE_SV32,
#else
    VM_MODE_SV39,
#endif
};
#define MODE_COUNT (sizeof modes / sizeof modes[0])

static struct vm_tables tables;
static struct vm_space space;

static void no_snapshot_needed(void)
{
}

static bool arena_back(void)
{
    return vm_arena_taken() == 0 && !vm_arena_misused();
}

KTEST_LEAK_CHECK(vm_arena, no_snapshot_needed, arena_back);

/* A new space in mode over a fresh arena. */
static int fresh(enum vm_mode mode)
{
    if (!vm_arena_reset(&tables))
        return -E_NOMEM;
    return vm_init(&space, mode, &tables);
}

static uintptr_t leaf(unsigned level)
{
    return vm_leaf_bytes(&space, level);
}

static unsigned top(void)
{
    return vm_levels(&space) - 1;
}

/* Everything observable: counters, table pages held, and every mapping (hashed). */
struct state {
    struct vm_stats stats;
    unsigned long taken;
    unsigned long mappings;
    uint64_t hash;
};

static void capture(struct state *state)
{
    vm_get_stats(&space, &state->stats);
    state->taken = vm_arena_taken();
    state->mappings = 0;
    state->hash = 14695981039346656037ull;
    struct vm_mapping mapping;
    uintptr_t at = 0;
    while (vm_find(&space, at, &mapping) == 0) {
        uint64_t fields[4] = {mapping.virtual, mapping.physical, mapping.bytes, mapping.permissions};
        for (unsigned i = 0; i < 4; i++)
            state->hash = (state->hash ^ fields[i]) * 1099511628211ull;
        state->mappings++;
        at = mapping.virtual + mapping.bytes;
        if (at == 0)
            break;
    }
}

static bool same_state(const struct state *a, const struct state *b)
{
    for (unsigned level = 0; level < VM_LEVELS_MAX; level++)
        if (a->stats.leaves[level] != b->stats.leaves[level])
            return false;
    return a->stats.table_pages == b->stats.table_pages && a->stats.mapped_bytes == b->stats.mapped_bytes &&
           a->taken == b->taken && a->mappings == b->mappings && a->hash == b->hash;
}

/* Runs check in every mode; stops at the first mode that fails. */
static void in_every_mode(void (*check)(enum vm_mode))
{
    for (unsigned i = 0; i < MODE_COUNT && !ktest_failed(); i++) {
        check(modes[i]);
        if (ktest_failed())
            ktest_note("in mode %s", modes[i] == VM_MODE_SV39 ? "Sv39" : "Sv32");
    }
}

/* The space holds only its root and gives it back. */
static void destroy_empty(void)
{
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.table_pages, 1);
    KASSERT_EQ(stats.mapped_bytes, 0);
    KASSERT_EQ(vm_validate(&space), 0);
    vm_destroy(&space);
    KASSERT_EQ(vm_arena_taken(), 0);
}

static void check_init_and_destroy(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    KASSERT_EQ(vm_arena_taken(), 1);
    KASSERT_EQ(vm_levels(&space), mode == VM_MODE_SV39 ? 3 : 2);
    KASSERT_EQ(leaf(0), PAGE);
    KASSERT_EQ(leaf(1), mode == VM_MODE_SV39 ? 2 * MIB : 4 * MIB);
    destroy_empty();
}

KTEST(vm, init_and_destroy)
{
    in_every_mode(check_init_and_destroy);
}

static void check_init_refuses(enum vm_mode mode)
{
    KASSERT(vm_arena_reset(&tables));
    KASSERT_EQ(vm_init(&space, (enum vm_mode)0, &tables), -E_INVAL);
    KASSERT_EQ(vm_init(&space, (enum vm_mode)9, &tables), -E_INVAL);
    KASSERT_EQ(vm_init(&space, mode, NULL), -E_INVAL);
    struct vm_tables broken = tables;
    broken.free = NULL;
    KASSERT_EQ(vm_init(&space, mode, &broken), -E_INVAL);
#if !defined(RVMEM_HOST) /* a kernel runs its hart's mode only */
    KASSERT_EQ(vm_init(&space, mode == VM_MODE_SV39 ? VM_MODE_SV32 : VM_MODE_SV39, &tables), -E_INVAL);
#endif
    vm_arena_fail_after(0);
    KASSERT_EQ(vm_init(&space, mode, &tables), -E_NOMEM);
    KASSERT_EQ(vm_arena_taken(), 0);
}

KTEST(vm, init_refuses)
{
    in_every_mode(check_init_refuses);
}

static void check_one_page(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t virtual = 0x40001000;
    uint64_t physical = 0x87654000, found = 0;
    KASSERT_EQ(vm_map(&space, virtual, physical, PAGE, RW), 0);
    KASSERT_EQ(vm_translate(&space, virtual + 0x123, &found), RW);
    KASSERT_EQ(found, physical + 0x123);
    KASSERT_EQ(vm_translate(&space, virtual + PAGE - 1, &found), RW);
    KASSERT_EQ(found, physical + PAGE - 1);
    KASSERT_EQ(vm_translate(&space, virtual - 1, &found), -E_NOENT);
    KASSERT_EQ(vm_translate(&space, virtual + PAGE, &found), -E_NOENT);
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[0], 1);
    KASSERT_EQ(stats.table_pages, vm_levels(&space)); /* a table per level */
    KASSERT_EQ(stats.mapped_bytes, PAGE);
    KASSERT_EQ(vm_arena_taken(), vm_levels(&space));
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_map(&space, virtual, physical, PAGE, VM_READ), -E_BUSY);
    KASSERT_EQ(vm_unmap(&space, virtual, PAGE), 0);
    KASSERT_EQ(vm_translate(&space, virtual, &found), -E_NOENT);
    KASSERT_EQ(vm_unmap(&space, virtual, PAGE), 0); /* a hole: nothing to do */
    destroy_empty();
}

KTEST(vm, map_translate_unmap_one_page)
{
    in_every_mode(check_one_page);
}

/* One leaf of each size, alone in its space: its counters, its tables, its translation. */
static void check_every_leaf_size(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    for (unsigned level = 0; level <= top(); level++) {
        uintptr_t virtual = 3 * leaf(level);
        uint64_t physical = 5 * (uint64_t)leaf(level), found;
        KASSERT_EQ(vm_map(&space, virtual, physical, leaf(level), VM_READ | VM_EXECUTE), 0);
        struct vm_stats stats;
        vm_get_stats(&space, &stats);
        for (unsigned other = 0; other < VM_LEVELS_MAX; other++)
            KASSERT_EQ(stats.leaves[other], other == level ? 1u : 0u);
        KASSERT_EQ(stats.table_pages, 1 + top() - level);
        KASSERT_EQ(vm_validate(&space), 0);
        uintptr_t offsets[3] = {0, leaf(level) / 2 + 8, leaf(level) - 1};
        for (unsigned i = 0; i < 3; i++) {
            KASSERT_EQ(vm_translate(&space, virtual + offsets[i], &found), VM_READ | VM_EXECUTE);
            KASSERT_EQ(found, physical + offsets[i]);
        }
        struct vm_mapping mapping;
        KASSERT_EQ(vm_find(&space, virtual + leaf(level) - PAGE, &mapping), 0);
        KASSERT_EQ(mapping.virtual, virtual);
        KASSERT_EQ(mapping.physical, physical);
        KASSERT_EQ(mapping.bytes, leaf(level));
        KASSERT_EQ(mapping.level, level);
        KASSERT_EQ(mapping.permissions, VM_READ | VM_EXECUTE);
        KASSERT_EQ(vm_unmap(&space, virtual, leaf(level)), 0);
        vm_get_stats(&space, &stats);
        KASSERT_EQ(stats.table_pages, 1);
        KASSERT_EQ(stats.mapped_bytes, 0);
    }
    destroy_empty();
}

KTEST(vm, every_leaf_size)
{
    in_every_mode(check_every_leaf_size);
}

/* The levels of the leaves from virtual on, in order, into levels[]; returns how many. */
static unsigned leaf_levels(uintptr_t virtual, uintptr_t bytes, uint64_t physical, unsigned *levels, unsigned max)
{
    unsigned count = 0;
    struct vm_mapping mapping;
    uintptr_t at = virtual;
    while (at - virtual < bytes && vm_find(&space, at, &mapping) == 0 && count < max) {
        if (mapping.virtual != at || mapping.physical != physical + (at - virtual))
            return 0; /* not contiguous */
        levels[count++] = mapping.level;
        at += mapping.bytes;
    }
    return count;
}

/*
 * A range whose ends are only page aligned and whose middle holds a top-level leaf: the leaves
 * climb from 4 KiB to the largest and come back down (4K 2M 1G 2M 4K on Sv39, 4K 4M 4K on Sv32).
 */
static void check_largest_leaves(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t below = 0; /* the smaller leaves on each side of the top one */
    for (unsigned level = 0; level < top(); level++)
        below += leaf(level);
    uintptr_t virtual = leaf(top()) - below, bytes = leaf(top()) + 2 * below;
    uint64_t physical = virtual + 2 * (uint64_t)leaf(top()); /* the same alignment */
    KASSERT_EQ(vm_map(&space, virtual, physical, bytes, RW), 0);
    unsigned levels[8], count = leaf_levels(virtual, bytes, physical, levels, 8);
    KASSERT_EQ(count, 2 * top() + 1);
    for (unsigned i = 0; i < count; i++)
        KASSERT_EQ(levels[i], i <= top() ? i : 2 * top() - i);
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_unmap(&space, virtual, bytes), 0);

    /* The physical address aligned to 4 KiB only: 4 KiB leaves throughout. */
    virtual = leaf(1);
    bytes = 2 * leaf(1);
    KASSERT_EQ(vm_map(&space, virtual, 5 * (uint64_t)leaf(1) + PAGE, bytes, RW), 0);
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[0], bytes / PAGE);
    KASSERT_EQ(stats.leaves[1], 0);
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_unmap(&space, virtual, bytes), 0);

    /* Aligned, but one page short of a large leaf. */
    KASSERT_EQ(vm_map(&space, virtual, 5 * (uint64_t)leaf(1), leaf(1) - PAGE, RW), 0);
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[0], leaf(1) / PAGE - 1);
    KASSERT_EQ(stats.leaves[1], 0);
    KASSERT_EQ(vm_unmap(&space, virtual, leaf(1)), 0);
    destroy_empty();
}

KTEST(vm, largest_leaves)
{
    in_every_mode(check_largest_leaves);
}

/* A few mappings, so that "nothing changed" after a refused call means something. */
static void populate(void)
{
    KASSERT_EQ(vm_map(&space, 0x40000000, 0x80000000, 16 * PAGE, RW), 0);
    KASSERT_EQ(vm_map(&space, 0x40000000 + leaf(1), 0x90000000, leaf(1), VM_READ), 0);
    KASSERT_EQ(vm_map(&space, 0x10000, 0x10000, PAGE, VM_READ | VM_EXECUTE | VM_USER), 0);
}

#define EXPECT_UNCHANGED(call, expected)                                                                               \
    do {                                                                                                               \
        struct state before_, after_;                                                                                  \
        capture(&before_);                                                                                             \
        KASSERT_EQ(call, expected);                                                                                    \
        capture(&after_);                                                                                              \
        KASSERT(same_state(&before_, &after_));                                                                        \
        KASSERT_EQ(vm_validate(&space), 0);                                                                            \
    } while (0)

static void check_invalid_arguments(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    populate();
    if (ktest_failed())
        return;
    uintptr_t free_virtual = 0x50000000;
    uint64_t physical = 0x80000000, found;
    /* Alignment, length, permissions. */
    EXPECT_UNCHANGED(vm_map(&space, free_virtual + 8, physical, PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical + 8, PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical + 8, 4 * PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical, PAGE + 1, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical, 0, RW), -E_INVAL);
    const unsigned bad_permissions[] = {0,           VM_WRITE,       VM_WRITE | VM_EXECUTE, VM_USER,
                                        VM_READ | 1, VM_READ | 0x40, VM_READ | 0x100};
    for (unsigned i = 0; i < sizeof bad_permissions / sizeof bad_permissions[0]; i++) {
        EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical, PAGE, bad_permissions[i]), -E_INVAL);
        EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical, 4 * PAGE, bad_permissions[i]), -E_INVAL);
        EXPECT_UNCHANGED(vm_protect(&space, 0x40000000, PAGE, bad_permissions[i]), -E_INVAL);
    }
    /* Wrapping past the top of the address type. */
    uintptr_t last_page = (uintptr_t)0 - PAGE;
    EXPECT_UNCHANGED(vm_map(&space, last_page, physical, 2 * PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_unmap(&space, last_page, 2 * PAGE), -E_INVAL);
    EXPECT_UNCHANGED(vm_protect(&space, last_page, 2 * PAGE, RW), -E_INVAL);
    /* Outside the physical space. */
    uint64_t physical_end = mode == VM_MODE_SV39 ? (uint64_t)1 << 56 : (uint64_t)1 << 34;
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical_end, PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, physical_end - PAGE, 2 * PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, free_virtual, (uint64_t)0 - PAGE, 2 * PAGE, RW), -E_INVAL);
    KASSERT_EQ(vm_map(&space, free_virtual, physical_end - PAGE, PAGE, RW), 0); /* the last page is fine */
    KASSERT_EQ(vm_unmap(&space, free_virtual, PAGE), 0);
    /* Unmap and protect: alignment and length. */
    EXPECT_UNCHANGED(vm_unmap(&space, 0x40000000 + 8, PAGE), -E_INVAL);
    EXPECT_UNCHANGED(vm_unmap(&space, 0x40000000, PAGE - 8), -E_INVAL);
    EXPECT_UNCHANGED(vm_unmap(&space, 0x40000000, 0), -E_INVAL);
    EXPECT_UNCHANGED(vm_protect(&space, 0x40000000, 0, VM_READ), -E_INVAL);
    EXPECT_UNCHANGED(vm_protect(&space, 0x40000008, PAGE, VM_READ), -E_INVAL);
    /* Outside the virtual space: Sv39's hole, Sv32 above 4 GiB (on a 64-bit host). */
#if UINTPTR_MAX > 0xffffffffu
    uintptr_t hole = mode == VM_MODE_SV39 ? (uintptr_t)1 << 38 : (uintptr_t)1 << 32;
    EXPECT_UNCHANGED(vm_map(&space, hole, physical, PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, hole - PAGE, physical, 2 * PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_map(&space, hole - PAGE, physical, 4 * PAGE, RW), -E_INVAL);
    EXPECT_UNCHANGED(vm_unmap(&space, hole, PAGE), -E_INVAL);
    EXPECT_UNCHANGED(vm_unmap(&space, hole - PAGE, 2 * PAGE), -E_INVAL);
    EXPECT_UNCHANGED(vm_protect(&space, hole - PAGE, 2 * PAGE, VM_READ), -E_INVAL);
    EXPECT_UNCHANGED(vm_translate(&space, hole, &found), -E_INVAL);
    EXPECT_UNCHANGED(vm_translate(&space, (uintptr_t)0x8000000000000000ull, &found), -E_INVAL);
    if (mode == VM_MODE_SV39) {
        /* Both ends canonical, but the range crosses the hole. */
        uintptr_t upper = (uintptr_t)0 - ((uintptr_t)1 << 38);
        EXPECT_UNCHANGED(vm_map(&space, PAGE, physical, upper, RW), -E_INVAL);
    }
#endif
    (void)found;
    KASSERT_EQ(vm_unmap(&space, 0, 0x40000000 + 2 * leaf(1)), 0);
    destroy_empty();
}

KTEST(vm, invalid_arguments_change_nothing)
{
    in_every_mode(check_invalid_arguments);
}

static void check_overlaps(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t base = 0x40000000 + leaf(1) / 2; /* 16 pages in the middle of a large-leaf slot */
    uint64_t physical = 0x80000000;
    KASSERT_EQ(vm_map(&space, base, physical, 16 * PAGE, RW), 0);
    EXPECT_UNCHANGED(vm_map(&space, base, physical, 16 * PAGE, RW), -E_BUSY);
    EXPECT_UNCHANGED(vm_map(&space, base + 15 * PAGE, physical, PAGE, RW), -E_BUSY);
    EXPECT_UNCHANGED(vm_map(&space, base - 8 * PAGE, physical, 9 * PAGE, RW), -E_BUSY);  /* the last page */
    EXPECT_UNCHANGED(vm_map(&space, base + 12 * PAGE, physical, 8 * PAGE, RW), -E_BUSY); /* the first pages */
    EXPECT_UNCHANGED(vm_map(&space, base - 2 * leaf(1) - leaf(1) / 2, physical, 5 * leaf(1), RW), -E_BUSY);
    /* A range that needs tables of its own before it meets the mapping: they are given back. */
    EXPECT_UNCHANGED(vm_map(&space, 0x40000000 - 2 * PAGE, physical, 3 * PAGE + leaf(1) / 2, RW), -E_BUSY);
    /* Against a large leaf. */
    uintptr_t large = 0x40000000 + 4 * leaf(1);
    KASSERT_EQ(vm_map(&space, large, physical, leaf(1), VM_READ), 0);
    EXPECT_UNCHANGED(vm_map(&space, large + 7 * PAGE, physical, PAGE, RW), -E_BUSY);
    EXPECT_UNCHANGED(vm_map(&space, large - PAGE, physical, 2 * PAGE, RW), -E_BUSY);
    EXPECT_UNCHANGED(vm_map(&space, large, physical, leaf(1), RW), -E_BUSY);
    EXPECT_UNCHANGED(vm_map(&space, large + leaf(1) - PAGE, physical, leaf(1), RW), -E_BUSY);
    /* Right next to both: fine. */
    KASSERT_EQ(vm_map(&space, large + leaf(1), physical, PAGE, RW), 0);
    KASSERT_EQ(vm_map(&space, base + 16 * PAGE, physical, PAGE, RW), 0);
    KASSERT_EQ(vm_map(&space, base - PAGE, physical, PAGE, RW), 0);
    KASSERT_EQ(vm_unmap(&space, 0x40000000, 8 * leaf(1)), 0);
    destroy_empty();
}

KTEST(vm, overlaps_are_refused_and_change_nothing)
{
    in_every_mode(check_overlaps);
}

/*
 * Runs call with the arena failing after 0, 1, 2, ... allocations until it succeeds: each failure
 * must be -E_NOMEM and leave everything as it was, and the call must succeed with exactly
 * `needed` allocations allowed.
 */
#define EVERY_SHORTAGE(call, needed)                                                                                   \
    do {                                                                                                               \
        struct state before_, after_;                                                                                  \
        capture(&before_);                                                                                             \
        unsigned long successes_ = 0;                                                                                  \
        int result_;                                                                                                   \
        for (;; successes_++) {                                                                                        \
            vm_arena_fail_after(successes_);                                                                           \
            result_ = (call);                                                                                          \
            if (result_ != -E_NOMEM)                                                                                   \
                break;                                                                                                 \
            capture(&after_);                                                                                          \
            KASSERT(same_state(&before_, &after_));                                                                    \
            KASSERT_EQ(vm_validate(&space), 0);                                                                        \
        }                                                                                                              \
        vm_arena_never_fail();                                                                                         \
        KASSERT_EQ(result_, 0);                                                                                        \
        KASSERT_EQ(successes_, needed);                                                                                \
    } while (0)

static void check_out_of_tables(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    populate();
    if (ktest_failed())
        return;
    /* Across a top-level boundary: two new tables on each side on Sv39, one on Sv32. */
    uintptr_t across = 3 * leaf(top()) - 2 * PAGE;
    EVERY_SHORTAGE(vm_map(&space, across, 0x80000000, 4 * PAGE, RW), 2 * top());
    KASSERT_EQ(vm_unmap(&space, across, 4 * PAGE), 0);

    /*
     * Splits of a top-level leaf. Sv39: a range inside the 1 GiB leaf that cuts two of its 2 MiB
     * slots (the 1 GiB split, then each 2 MiB one: 3 tables); Sv32: 4 pages inside a 4 MiB leaf.
     */
    uintptr_t large = 2 * leaf(top());
    uint64_t physical = 3 * (uint64_t)leaf(top());
    KASSERT_EQ(vm_map(&space, large, physical, leaf(top()), RW), 0);
    uintptr_t cut = large + 2 * PAGE, cut_bytes = 4 * PAGE;
    unsigned long splits = 1;
    if (top() == 2) {
        cut = large + leaf(1) + PAGE;
        cut_bytes = 2 * leaf(1) - 2 * PAGE;
        splits = 3;
    }
    EVERY_SHORTAGE(vm_unmap(&space, cut, cut_bytes), splits);
    KASSERT_EQ(vm_validate(&space), 0);
    uint64_t found;
    KASSERT_EQ(vm_translate(&space, cut - PAGE, &found), RW);
    KASSERT_EQ(found, physical + (cut - PAGE - large));
    KASSERT_EQ(vm_translate(&space, cut, &found), -E_NOENT);
    KASSERT_EQ(vm_translate(&space, cut + cut_bytes - PAGE, &found), -E_NOENT);
    KASSERT_EQ(vm_translate(&space, cut + cut_bytes, &found), RW);
    KASSERT_EQ(found, physical + (cut + cut_bytes - large));
    KASSERT_EQ(vm_unmap(&space, large, leaf(top())), 0);

    KASSERT_EQ(vm_map(&space, large, physical, leaf(top()), RW), 0);
    EVERY_SHORTAGE(vm_protect(&space, cut, cut_bytes, VM_READ), splits);
    KASSERT_EQ(vm_translate(&space, cut - PAGE, &found), RW);
    KASSERT_EQ(vm_translate(&space, cut, &found), VM_READ);
    KASSERT_EQ(vm_translate(&space, cut + cut_bytes - PAGE, &found), VM_READ);
    KASSERT_EQ(vm_translate(&space, cut + cut_bytes, &found), RW);
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_unmap(&space, 0, 3 * GIB), 0);
    destroy_empty();
}

KTEST(vm, out_of_tables_changes_nothing)
{
    in_every_mode(check_out_of_tables);
}

/* A top-level leaf with one page unmapped from its middle: split all the way down. */
static void check_split_on_unmap(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t large = leaf(top());
    uint64_t physical = 2 * (uint64_t)leaf(top()), found;
    KASSERT_EQ(vm_map(&space, large, physical, leaf(top()), RW | VM_GLOBAL), 0);
    uintptr_t hole = large + leaf(top()) / 2 + 5 * PAGE;
    KASSERT_EQ(vm_unmap(&space, hole, PAGE), 0);
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    unsigned entries = (unsigned)(leaf(1) / PAGE);
    KASSERT_EQ(stats.leaves[top()], 0);
    KASSERT_EQ(stats.leaves[0], entries - 1);
    if (top() == 2)
        KASSERT_EQ(stats.leaves[1], entries - 1);
    KASSERT_EQ(stats.table_pages, 1 + top());
    KASSERT_EQ(stats.mapped_bytes, leaf(top()) - PAGE);
    KASSERT_EQ(vm_validate(&space), 0);
    const uintptr_t probes[] = {large, hole - PAGE, hole + PAGE, large + leaf(top()) - 1, large + leaf(top()) / 2};
    for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        KASSERT_EQ(vm_translate(&space, probes[i], &found), RW | VM_GLOBAL);
        KASSERT_EQ(found, physical + (probes[i] - large));
    }
    KASSERT_EQ(vm_translate(&space, hole, &found), -E_NOENT);
    KASSERT_EQ(vm_translate(&space, hole + PAGE - 1, &found), -E_NOENT);
    /* The first page of a large leaf: a split at its end only. */
    KASSERT_EQ(vm_unmap(&space, large, PAGE), 0);
    KASSERT_EQ(vm_translate(&space, large + PAGE, &found), RW | VM_GLOBAL);
    KASSERT_EQ(vm_validate(&space), 0);
    /* Everything: the tables the splits made are given back. */
    KASSERT_EQ(vm_unmap(&space, large, leaf(top())), 0);
    destroy_empty();
}

KTEST(vm, unmap_splits_large_leaves)
{
    in_every_mode(check_split_on_unmap);
}

static void check_protect(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t base = 0x40000000;
    uint64_t physical = 0x80000000, found;
    KASSERT_EQ(vm_map(&space, base, physical, 64 * PAGE, RW), 0);
    KASSERT_EQ(vm_protect(&space, base + 16 * PAGE, 16 * PAGE, VM_READ | VM_USER), 0);
    KASSERT_EQ(vm_translate(&space, base + 15 * PAGE, &found), RW);
    KASSERT_EQ(vm_translate(&space, base + 16 * PAGE, &found), VM_READ | VM_USER);
    KASSERT_EQ(found, physical + 16 * PAGE);
    KASSERT_EQ(vm_translate(&space, base + 31 * PAGE, &found), VM_READ | VM_USER);
    KASSERT_EQ(vm_translate(&space, base + 32 * PAGE, &found), RW);
    /* Holes are skipped. */
    KASSERT_EQ(vm_protect(&space, base - 8 * PAGE, 80 * PAGE, VM_READ | VM_EXECUTE), 0);
    KASSERT_EQ(vm_translate(&space, base, &found), VM_READ | VM_EXECUTE);
    KASSERT_EQ(vm_translate(&space, base + 63 * PAGE, &found), VM_READ | VM_EXECUTE);
    KASSERT_EQ(vm_translate(&space, base + 64 * PAGE, &found), -E_NOENT);
    KASSERT_EQ(vm_protect(&space, base + 4 * leaf(1), leaf(1), VM_READ), 0); /* nothing there */
    /* Part of a large leaf. */
    uintptr_t large = base + 2 * leaf(1);
    KASSERT_EQ(vm_map(&space, large, 0x90000000, leaf(1), RW), 0);
    KASSERT_EQ(vm_protect(&space, large + PAGE, PAGE, VM_READ), 0);
    KASSERT_EQ(vm_translate(&space, large, &found), RW);
    KASSERT_EQ(vm_translate(&space, large + PAGE, &found), VM_READ);
    KASSERT_EQ(found, 0x90000000 + PAGE);
    KASSERT_EQ(vm_translate(&space, large + 2 * PAGE, &found), RW);
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[1], 0);
    KASSERT_EQ(vm_validate(&space), 0);
    /* A whole large leaf keeps its size. */
    KASSERT_EQ(vm_map(&space, large + leaf(1), 0x90000000 + leaf(1), leaf(1), RW), 0);
    KASSERT_EQ(vm_protect(&space, large + leaf(1), leaf(1), VM_READ | VM_EXECUTE), 0);
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[1], 1);
    KASSERT_EQ(vm_translate(&space, large + leaf(1) + 5 * PAGE, &found), VM_READ | VM_EXECUTE);
    KASSERT_EQ(vm_unmap(&space, base, 4 * leaf(1)), 0);
    destroy_empty();
}

KTEST(vm, protect)
{
    in_every_mode(check_protect);
}

/* Pages scattered over several top-level slots, unmapped in an order unlike the mapping's. */
static void check_tables_given_back(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    const unsigned pages = 40;
    for (unsigned i = 0; i < pages; i++) {
        uintptr_t virtual = (i % 4) * leaf(top()) + (i % 5) * leaf(1) + i * PAGE;
        KASSERT_EQ(vm_map(&space, virtual, 0x80000000 + (uint64_t)i * PAGE, PAGE, RW), 0);
    }
    KASSERT_EQ(vm_validate(&space), 0);
    for (unsigned step = 0; step < pages; step++) {
        unsigned i = (step * 7) % pages;
        uintptr_t virtual = (i % 4) * leaf(top()) + (i % 5) * leaf(1) + i * PAGE;
        KASSERT_EQ(vm_unmap(&space, virtual, PAGE), 0);
        KASSERT_EQ(vm_validate(&space), 0);
    }
    /* And once more, given back by one unmap over everything, holes included. */
    for (unsigned i = 0; i < pages; i++) {
        uintptr_t virtual = (i % 4) * leaf(top()) + (i % 5) * leaf(1) + i * PAGE;
        KASSERT_EQ(vm_map(&space, virtual, 0x80000000 + (uint64_t)i * PAGE, PAGE, RW), 0);
    }
    KASSERT_EQ(vm_unmap(&space, 0, 3 * leaf(top()) + 5 * leaf(1)), 0);
    destroy_empty();
}

KTEST(vm, empty_tables_given_back)
{
    in_every_mode(check_tables_given_back);
}

static void check_find_and_walk(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    struct vm_mapping mapping;
    KASSERT_EQ(vm_find(&space, 0, &mapping), -E_NOENT);
    uintptr_t small = 3 * PAGE, large = 3 * leaf(1);
    KASSERT_EQ(vm_map(&space, small, 0x80000000, PAGE, VM_READ), 0);
    KASSERT_EQ(vm_map(&space, large, 0x80000000 + leaf(1), leaf(1), RW), 0);
    KASSERT_EQ(vm_find(&space, 0, &mapping), 0);
    KASSERT_EQ(mapping.virtual, small);
    KASSERT_EQ(mapping.bytes, PAGE);
    KASSERT_EQ(vm_find(&space, small + PAGE, &mapping), 0);
    KASSERT_EQ(mapping.virtual, large);
    KASSERT_EQ(mapping.physical, 0x80000000 + leaf(1));
    KASSERT_EQ(mapping.level, 1);
    KASSERT_EQ(mapping.permissions, RW);
    KASSERT_EQ(vm_find(&space, large + leaf(1), &mapping), -E_NOENT);

    struct vm_walk_step steps[VM_LEVELS_MAX];
    KASSERT_EQ(vm_walk(&space, small, steps), (int)vm_levels(&space));
    KASSERT_EQ(steps[0].level, top());
    KASSERT_EQ(steps[0].table_physical, space.root_physical);
    KASSERT_EQ(steps[top()].level, 0);
    KASSERT_EQ(steps[top()].index, 3);
    KASSERT_EQ(steps[top()].entry >> 10 << 12, 0x80000000);
    KASSERT_EQ(steps[top()].entry & 0xff, VM_READ | 0xc1); /* V, A, D */
    KASSERT_EQ(vm_walk(&space, large, steps), (int)top());
    KASSERT_EQ(steps[top() - 1].level, 1);
    KASSERT_EQ(vm_walk(&space, leaf(top()) * 2, steps), 1); /* an empty root entry */
    KASSERT_EQ(steps[0].entry & 1, 0);
    KASSERT_EQ(vm_unmap(&space, 0, 4 * leaf(1)), 0);
    destroy_empty();
}

KTEST(vm, find_and_walk)
{
    in_every_mode(check_find_and_walk);
}

static void check_satp(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uint64_t root_page = space.root_physical >> 12;
    if (mode == VM_MODE_SV39) {
        KASSERT_EQ(vm_satp(&space, 0), (8ull << 60) | root_page);
        KASSERT_EQ(vm_satp(&space, 0x1234), (8ull << 60) | (0x1234ull << 44) | root_page);
    } else {
        KASSERT_EQ(vm_satp(&space, 0), (1ull << 31) | root_page);
        KASSERT_EQ(vm_satp(&space, 0x1ff), (1ull << 31) | (0x1ffull << 22) | root_page);
    }
    destroy_empty();
}

KTEST(vm, satp)
{
    in_every_mode(check_satp);
}

/*
 * A space restricted to a window borrows another space's root entries outside it (as a process
 * borrows the kernel's): walks through it reach the other's tables; its own calls refuse ranges
 * outside the window, list nothing there, and give back only its own tables.
 */
static void check_window_and_share(enum vm_mode mode)
{
#if UINTPTR_MAX <= 0xffffffffu
    if (mode == VM_MODE_SV39) { /* as upper_half: its root entries 4 and 5 lie above 4 GiB */
        ktest_note("Sv39's window at 4 GiB does not fit a 32-bit address: Sv32 only in this build");
        return;
    }
#endif
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t root = leaf(top());
    /* The lender: pages in root entries 0 and 2 (entry 0 also holds the borrower's count digits). */
    KASSERT_EQ(vm_map(&space, 3 * PAGE, 0x80000000, PAGE, RW), 0);
    KASSERT_EQ(vm_map(&space, 2 * root + 16 * PAGE, 0x80010000, 4 * PAGE, VM_READ), 0);
    unsigned long lender_pages = vm_arena_taken();
    struct vm_space borrower;
    KASSERT_EQ(vm_init(&borrower, mode, &tables), 0);
    KASSERT_EQ(vm_set_window(&borrower, 4 * root + PAGE, root), -E_INVAL); /* not a root entry's span */
    KASSERT_EQ(vm_set_window(&borrower, 4 * root, 0), -E_INVAL);
    KASSERT_EQ(vm_set_window(&borrower, 4 * root, 2 * root), 0);
    /* Borrowing: only outside the window, never into it. */
    KASSERT_EQ(vm_share(&borrower, &space, 0, 3 * root), 0);
    KASSERT_EQ(vm_share(&borrower, &space, 3 * root, 2 * root), -E_INVAL);
    uint64_t physical;
    KASSERT_EQ(vm_translate(&borrower, 3 * PAGE, &physical), RW);
    KASSERT_EQ(physical, 0x80000000);
    KASSERT_EQ(vm_translate(&borrower, 2 * root + 17 * PAGE, &physical), VM_READ);
    KASSERT_EQ(physical, 0x80011000);
    /* Its own calls: inside the window only. */
    KASSERT_EQ(vm_map(&borrower, 5 * PAGE, 0x90000000, PAGE, RW), -E_INVAL); /* the 4 KiB fast path */
    KASSERT_EQ(vm_map(&borrower, 4 * root - PAGE, 0x90000000, 2 * PAGE, RW), -E_INVAL);
    KASSERT_EQ(vm_unmap(&borrower, 3 * PAGE, PAGE), -E_INVAL);
    KASSERT_EQ(vm_unmap(&borrower, 2 * root, root), -E_INVAL);
    KASSERT_EQ(vm_protect(&borrower, 3 * PAGE, PAGE, VM_READ), -E_INVAL);
    KASSERT_EQ(vm_translate(&space, 3 * PAGE, &physical), RW); /* the lender's page untouched */
    struct vm_mapping mapping;
    KASSERT_EQ(vm_find(&borrower, 0, &mapping), -E_NOENT); /* borrowed entries are not listed */
    KASSERT_EQ(vm_map(&borrower, 4 * root + 7 * PAGE, 0x90000000, PAGE, RW), 0);
    KASSERT_EQ(vm_map(&borrower, 6 * root - leaf(1), 0x90000000 + leaf(1), leaf(1), RW), 0);
    KASSERT_EQ(vm_set_window(&borrower, 4 * root, root), -E_BUSY);
    KASSERT_EQ(vm_find(&borrower, 0, &mapping), 0);
    KASSERT_EQ(mapping.virtual, 4 * root + 7 * PAGE);
    KASSERT_EQ(vm_validate(&borrower), 0);
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_unmap(&borrower, 4 * root + 7 * PAGE, PAGE), 0);
    KASSERT_EQ(vm_validate(&borrower), 0);
    /* Its own tables back, never the lender's. */
    vm_destroy(&borrower);
    KASSERT_EQ(vm_arena_taken(), lender_pages);
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_translate(&space, 2 * root + 16 * PAGE, &physical), VM_READ);
    KASSERT_EQ(vm_unmap(&space, 0, 3 * root), 0);
    destroy_empty();
}

KTEST(vm, window_and_shared_root_entries)
{
    in_every_mode(check_window_and_share);
}

#if UINTPTR_MAX > 0xffffffffu
/* Sv39's upper half, up to the very last page of the address type. */
KTEST(vm, upper_half)
{
    if (fresh(VM_MODE_SV39) != 0) {
        ktest_skip("this build does not run Sv39");
        return;
    }
    uintptr_t last_page = (uintptr_t)0 - PAGE, last_gib = (uintptr_t)0 - GIB;
    uint64_t found;
    KASSERT_EQ(vm_map(&space, last_page, 0x80000000, PAGE, RW), 0);
    KASSERT_EQ(vm_translate(&space, (uintptr_t)0 - 1, &found), RW);
    KASSERT_EQ(found, 0x80000fff);
    struct vm_mapping mapping;
    KASSERT_EQ(vm_find(&space, (uintptr_t)1 << 38, &mapping), 0); /* from the hole */
    KASSERT_EQ(mapping.virtual, last_page);
    KASSERT_EQ(vm_map(&space, last_gib, 0x40000000, GIB - PAGE, RW), 0);
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[1], 511);
    KASSERT_EQ(stats.leaves[0], 512);
    KASSERT_EQ(vm_unmap(&space, last_gib, GIB), 0);
    KASSERT_EQ(vm_map(&space, last_gib, 0x40000000, GIB, RW), 0);
    vm_get_stats(&space, &stats);
    KASSERT_EQ(stats.leaves[2], 1);
    KASSERT_EQ(vm_protect(&space, last_page, PAGE, VM_READ), 0); /* the split's end boundary wraps to 0 */
    KASSERT_EQ(vm_translate(&space, last_page, &found), VM_READ);
    KASSERT_EQ(vm_translate(&space, last_page - PAGE, &found), RW);
    KASSERT_EQ(vm_unmap(&space, last_gib, GIB), 0);
    destroy_empty();
}
#endif

/* Writes entry index of the table a walk read at level, in the table's own width. */
static void poke(const struct vm_walk_step *step, unsigned index, uint64_t value)
{
    void *table = (void *)((uintptr_t)step->table_physical + tables.virtual_offset);
    if (space.mode == VM_MODE_SV32)
        ((uint32_t *)table)[index] = (uint32_t)value;
    else
        ((uint64_t *)table)[index] = value;
}

static uint64_t peek(const struct vm_walk_step *step, unsigned index)
{
    const void *table = (const void *)((uintptr_t)step->table_physical + tables.virtual_offset);
    return space.mode == VM_MODE_SV32 ? ((const uint32_t *)table)[index] : ((const uint64_t *)table)[index];
}

/* Each corruption is reported; put back, the space validates again. */
static void check_validator_catches(enum vm_mode mode)
{
    KASSERT_EQ(fresh(mode), 0);
    uintptr_t virtual = 0x40000000 + 3 * PAGE;
    KASSERT_EQ(vm_map(&space, virtual, 0x80000000, PAGE, RW), 0);
    struct vm_walk_step steps[VM_LEVELS_MAX];
    KASSERT_EQ(vm_walk(&space, virtual, steps), (int)vm_levels(&space));
    const struct vm_walk_step *last = &steps[top()];
    ktest_note("the validator complains below on purpose");
    struct {
        unsigned index;
        uint64_t flip;
    } corruptions[] = {
        {3, 0x80},              /* the leaf loses D */
        {3, 0x02},              /* the leaf (RW) becomes write-only */
        {3, 0x100},             /* a count digit the table does not have (entry 3 is digit 3) */
        {0, 0x100},             /* digit 0 of the count: 2 instead of 1 */
        {0, 0x01 | 0x02},       /* an invalid entry becomes a leaf: the count no longer matches */
        {7, 0x40},              /* stray bits in an invalid entry */
        {3, (uint64_t)1 << 10}, /* a 4 KiB leaf moves: still valid (a sanity check of the flip) */
    };
    for (unsigned i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++) {
        uint64_t saved = peek(last, corruptions[i].index);
        poke(last, corruptions[i].index, saved ^ corruptions[i].flip);
        int expected = i + 1 == sizeof corruptions / sizeof corruptions[0] ? 0 : -E_BADDATA;
        KASSERT_EQ(vm_validate(&space), expected);
        poke(last, corruptions[i].index, saved);
        KASSERT_EQ(vm_validate(&space), 0);
    }
    /* A pointer with A set, one level up. */
    uint64_t pointer = peek(&steps[top() - 1], steps[top() - 1].index);
    poke(&steps[top() - 1], steps[top() - 1].index, pointer | 0x40);
    KASSERT_EQ(vm_validate(&space), -E_BADDATA);
    poke(&steps[top() - 1], steps[top() - 1].index, pointer);
    /* Counters that disagree with the tables. */
    space.leaves[0]++;
    KASSERT_EQ(vm_validate(&space), -E_BADDATA);
    space.leaves[0]--;
    space.table_pages++;
    KASSERT_EQ(vm_validate(&space), -E_BADDATA);
    space.table_pages--;
    KASSERT_EQ(vm_validate(&space), 0);
    KASSERT_EQ(vm_unmap(&space, virtual, PAGE), 0);
    destroy_empty();
}

KTEST(vm, validator_catches_corruption)
{
    in_every_mode(check_validator_catches);
}
