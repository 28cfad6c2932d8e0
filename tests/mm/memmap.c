/*
 * tests/mm/memmap.c - usable RAM = memory minus exclusions, shrunk to pages.
 */
#include "kernel/base/errors.h"
#include "kernel/mm/memmap.h"
#include "tests/harness/ktest.h"

static struct memmap map;

#define ASSERT_USABLE(index, start_, end_)                                                                             \
    do {                                                                                                               \
        KASSERT_EQ(map.usable[index].start, (uint64_t)(start_));                                                       \
        KASSERT_EQ(map.usable[index].end, (uint64_t)(end_));                                                           \
    } while (0)

KTEST(memmap, one_range_without_exclusions)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0x80000000, 0x10000000), 0);
    KASSERT_EQ(memmap_compute_usable(&map), 1);
    ASSERT_USABLE(0, 0x80000000, 0x90000000);
    KASSERT_EQ(memmap_usable_bytes(&map), 0x10000000ULL);
}

KTEST(memmap, exclusions_split_overlap_and_straddle)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0x80000000, 0x10000000), 0);
    KASSERT_EQ(memmap_exclude(&map, 0x80000000, 0x80000, "firmware"), 0);
    KASSERT_EQ(memmap_exclude(&map, 0x80200000, 0x30000, "image"), 0);
    KASSERT_EQ(memmap_exclude(&map, 0x80210000, 0x30000, "overlaps the image"), 0);
    KASSERT_EQ(memmap_exclude(&map, 0x8fe00000, 0x400000, "straddles the end"), 0);
    KASSERT_EQ(memmap_exclude(&map, 0x10000000, 0x1000, "outside RAM"), 0);
    KASSERT_EQ(memmap_compute_usable(&map), 2);
    ASSERT_USABLE(0, 0x80080000, 0x80200000);
    ASSERT_USABLE(1, 0x80240000, 0x8fe00000);
}

KTEST(memmap, unaligned_pieces_shrink_to_pages)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0x80000123, 0x5000), 0); /* 0x80000123 - 0x80005123 */
    KASSERT_EQ(memmap_exclude(&map, 0x80002001, 0x10, "a few bytes"), 0);
    KASSERT_EQ(memmap_compute_usable(&map), 2);
    ASSERT_USABLE(0, 0x80001000, 0x80002000);
    ASSERT_USABLE(1, 0x80003000, 0x80005000);
}

KTEST(memmap, several_ranges_unsorted_and_overlapping)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0x100000000ULL, 0x40000000), 0);
    KASSERT_EQ(memmap_add_ram(&map, 0x80000000, 0x40000000), 0);
    KASSERT_EQ(memmap_add_ram(&map, 0x90000000, 0x40000000), 0); /* overlaps the one before */
    KASSERT_EQ(memmap_add_ram(&map, 0x40000000, 0x800), 0);      /* less than a page */
    KASSERT_EQ(memmap_exclude(&map, 0xbfe00000, 0x2000, "device tree"), 0);
    KASSERT_EQ(memmap_compute_usable(&map), 3);
    ASSERT_USABLE(0, 0x80000000, 0xbfe00000);
    ASSERT_USABLE(1, 0xbfe02000, 0xd0000000);
    ASSERT_USABLE(2, 0x100000000ULL, 0x140000000ULL);
}

KTEST(memmap, everything_excluded_leaves_nothing)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0x80000000, 0x100000), 0);
    KASSERT_EQ(memmap_exclude(&map, 0x7ff00000, 0x300000, "covers it all"), 0);
    KASSERT_EQ(memmap_compute_usable(&map), 0);
    KASSERT_EQ(memmap_usable_bytes(&map), 0ULL);
}

KTEST(memmap, bad_input_is_refused)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0xfffffffffffff000ULL, 0x2000), -E_INVAL);
    KASSERT_EQ(memmap_exclude(&map, 0xffffffffffffffffULL, 2, "wraps"), -E_INVAL);
    KASSERT_EQ(memmap_add_ram(&map, 0x1000, 0), 0); /* empty: accepted, adds nothing */
    KASSERT_EQ(map.ram_count, 0u);
    for (unsigned i = 0; i < MEMMAP_MAX_RANGES; i++)
        KASSERT_EQ(memmap_add_ram(&map, 0x100000ULL * (i + 1), 0x1000), 0);
    KASSERT_EQ(memmap_add_ram(&map, 0x80000000, 0x1000), -E_RANGE);
}

KTEST(memmap, top_of_address_space)
{
    memmap_reset(&map);
    KASSERT_EQ(memmap_add_ram(&map, 0xffffffff00000000ULL, 0xfffff000ULL), 0);
    KASSERT_EQ(memmap_compute_usable(&map), 1);
    ASSERT_USABLE(0, 0xffffffff00000000ULL, 0xfffffffffffff000ULL);
}
