/*
 * tests/top/monitor_text.c - the monitor's text helpers: numbers typed at the prompt, byte
 * counts for people, and the page census behind the pictures (on a private buddy allocator).
 */
#include <stdint.h>

#include "kernel/mm/buddy.h"
#include "kernel/top/census.h"
#include "kernel/top/monitor_text.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

KTEST(monitor_text, parse_number_accepts_decimal_hex_and_suffixes)
{
    uint64_t value = 7;
    KASSERT(parse_number("0", false, &value));
    KASSERT_EQ(value, 0);
    KASSERT(parse_number("1234", false, &value));
    KASSERT_EQ(value, 1234);
    KASSERT(parse_number("0x1F", false, &value));
    KASSERT_EQ(value, 31);
    KASSERT(parse_number("64K", true, &value));
    KASSERT_EQ(value, 65536);
    KASSERT(parse_number("2m", true, &value));
    KASSERT_EQ(value, 2u << 20);
    KASSERT(parse_number("18446744073709551615", false, &value));
    KASSERT_EQ(value, UINT64_MAX);
}

KTEST(monitor_text, parse_number_refuses_junk_and_overflow)
{
    static const char *const bad[] = {"", "x", "12x", "-1", "0x", "64K", "1 2", "18446744073709551616", "0xg"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t value = 99;
        if (parse_number(bad[i], false, &value) || value != 99)
            ktest_fail(__FILE__, __LINE__, "parse_number accepted \"%s\"", bad[i]);
    }
    uint64_t value = 99;
    KASSERT(!parse_number("17179869184G", true, &value)); /* 2^34 GiB overflows 64 bits */
    KASSERT(!parse_number("5T", true, &value));
    KASSERT_EQ(value, 99);
}

KTEST(monitor_text, size_text_keeps_one_decimal)
{
    char text[SIZE_TEXT_BYTES];
    KASSERT_STR_EQ(size_text(text, 0), "0 B");
    KASSERT_STR_EQ(size_text(text, 1023), "1023 B");
    KASSERT_STR_EQ(size_text(text, 1024), "1.0 KiB");
    KASSERT_STR_EQ(size_text(text, 1536), "1.5 KiB");
    KASSERT_STR_EQ(size_text(text, 256u << 20), "256.0 MiB");
    KASSERT_STR_EQ(size_text(text, 14888960), "14.1 MiB");
}

#define CENSUS_PAGES 64
/* The census's pages and one past them: a test arena (tests/harness/ktest_arena.h), not .bss. */
static struct ktest_arena census_memory = KTEST_ARENA((CENSUS_PAGES + 1) * PAGE_SIZE, PAGE_SIZE);
static struct buddy census_buddy;

KTEST(monitor_text, census_counts_free_allocated_and_unmanaged_pages)
{
    uint8_t *memory = ktest_arena_memory(&census_memory);
    KASSERT_NOT_NULL(memory);
    uintptr_t start = (uintptr_t)memory;
    struct buddy_range range = {start, start + CENSUS_PAGES * PAGE_SIZE};
    KASSERT_EQ(buddy_init(&census_buddy, &range, 1), 0);
    struct buddy_stats stats;
    buddy_get_stats(&census_buddy, &stats);
    struct page_census census;
    page_census_range(&census_buddy, range.start, range.end, &census);
    KASSERT_EQ(census.free_pages, stats.total_pages);
    KASSERT_EQ(census.allocated_pages, 0);
    KASSERT_EQ(census.free_pages + census.unmanaged_pages, CENSUS_PAGES); /* metadata is unmanaged */

    void *block = buddy_alloc(&census_buddy, 2);
    KASSERT_NOT_NULL(block);
    page_census_range(&census_buddy, range.start, range.end, &census);
    KASSERT_EQ(census.allocated_pages, 4);
    KASSERT_EQ(census.free_pages, stats.total_pages - 4);
    /* A range inside the block, and a part-page range: counted by whole pages. */
    page_census_range(&census_buddy, (uintptr_t)block + PAGE_SIZE, (uintptr_t)block + 2 * PAGE_SIZE + 1, &census);
    KASSERT_EQ(census.allocated_pages, 2);
    KASSERT_EQ(census.free_pages, 0);
    /* The page past the managed range is not the allocator's. */
    page_census_range(&census_buddy, range.end, range.end + PAGE_SIZE, &census);
    KASSERT_EQ(census.unmanaged_pages, 1);
    KASSERT_EQ(buddy_free(&census_buddy, block, 2), 0);
    page_census_range(&census_buddy, range.start, range.end, &census);
    KASSERT_EQ(census.free_pages, stats.total_pages);
    KASSERT_EQ(picture_cell(&census_buddy, (uintptr_t)block, PAGE_SIZE, 0, 0), PICTURE_FREE);
}
