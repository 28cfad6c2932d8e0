/*
 * kernel/mm/memmap.c - usable RAM: memory ranges minus exclusions, in whole pages (see memmap.h).
 */
#include "kernel/mm/memmap.h"

#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"

void memmap_reset(struct memmap *map)
{
    memset(map, 0, sizeof *map);
}

int memmap_add_ram(struct memmap *map, uint64_t start, uint64_t size)
{
    if (start + size < start)
        return -E_INVAL;
    if (size == 0)
        return 0;
    if (map->ram_count >= MEMMAP_MAX_RANGES)
        return -E_RANGE;
    map->ram[map->ram_count++] = (struct memmap_range){start, start + size};
    return 0;
}

int memmap_exclude(struct memmap *map, uint64_t start, uint64_t size, const char *why)
{
    if (start + size < start)
        return -E_INVAL;
    if (size == 0)
        return 0;
    if (map->excluded_count >= MEMMAP_MAX_EXCLUSIONS)
        return -E_RANGE;
    struct memmap_exclusion *exclusion = &map->excluded[map->excluded_count++];
    exclusion->start = start;
    exclusion->end = start + size;
    ksnprintf(exclusion->why, sizeof exclusion->why, "%s", why);
    return 0;
}

/* Insertion sort by start: the arrays hold at most a few dozen entries. */
static void sort_ranges(struct memmap_range *ranges, unsigned count)
{
    for (unsigned i = 1; i < count; i++) {
        struct memmap_range key = ranges[i];
        unsigned j = i;
        for (; j > 0 && ranges[j - 1].start > key.start; j--)
            ranges[j] = ranges[j - 1];
        ranges[j] = key;
    }
}

/* Merges overlapping or touching ranges of a sorted array; returns the new count. */
static unsigned merge_ranges(struct memmap_range *ranges, unsigned count)
{
    unsigned merged = 0;
    for (unsigned i = 0; i < count; i++) {
        if (merged > 0 && ranges[i].start <= ranges[merged - 1].end) {
            if (ranges[i].end > ranges[merged - 1].end)
                ranges[merged - 1].end = ranges[i].end;
        } else {
            ranges[merged++] = ranges[i];
        }
    }
    return merged;
}

/* Appends [start, end) shrunk to whole pages, if anything is left. */
static int append_usable(struct memmap *map, uint64_t start, uint64_t end)
{
    uint64_t page_start = (start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t page_end = end & ~(uint64_t)(PAGE_SIZE - 1);
    if (page_start < start || page_start >= page_end)
        return 0; /* rounding up wrapped, or less than a page */
    if (map->usable_count >= MEMMAP_MAX_RANGES)
        return -E_RANGE;
    map->usable[map->usable_count++] = (struct memmap_range){page_start, page_end};
    return 0;
}

int memmap_compute_usable(struct memmap *map)
{
    sort_ranges(map->ram, map->ram_count);
    map->ram_count = merge_ranges(map->ram, map->ram_count);

    struct memmap_range holes[MEMMAP_MAX_EXCLUSIONS];
    for (unsigned i = 0; i < map->excluded_count; i++)
        holes[i] = (struct memmap_range){map->excluded[i].start, map->excluded[i].end};
    sort_ranges(holes, map->excluded_count);
    unsigned hole_count = merge_ranges(holes, map->excluded_count);

    map->usable_count = 0;
    for (unsigned r = 0; r < map->ram_count; r++) {
        uint64_t cursor = map->ram[r].start, end = map->ram[r].end;
        for (unsigned h = 0; h < hole_count && cursor < end; h++) {
            if (holes[h].end <= cursor || holes[h].start >= end)
                continue;
            if (holes[h].start > cursor) {
                int error = append_usable(map, cursor, holes[h].start);
                if (error)
                    return error;
            }
            cursor = holes[h].end;
        }
        if (cursor < end) {
            int error = append_usable(map, cursor, end);
            if (error)
                return error;
        }
    }
    return (int)map->usable_count;
}

uint64_t memmap_usable_bytes(const struct memmap *map)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < map->usable_count; i++)
        total += map->usable[i].end - map->usable[i].start;
    return total;
}

/* Prints a byte count as the largest whole unit that keeps one decimal, e.g. "255.5 MiB". */
static void print_size(uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned unit = 0;
    uint64_t scaled = bytes * 10;
    while (scaled >= 10240 && unit < 4) {
        scaled /= 1024;
        unit++;
    }
    kprintf("%llu.%llu %s", (unsigned long long)(scaled / 10), (unsigned long long)(scaled % 10), units[unit]);
}

static void print_range(const char *prefix, uint64_t start, uint64_t end)
{
    kprintf("%s0x%010llx-0x%010llx  ", prefix, (unsigned long long)start, (unsigned long long)end);
    print_size(end - start);
}

void memmap_print(const struct memmap *map)
{
    kprintf("memory map (from the device tree):\n");
    for (unsigned i = 0; i < map->ram_count; i++) {
        print_range("  RAM      ", map->ram[i].start, map->ram[i].end);
        kprintf("\n");
    }
    for (unsigned i = 0; i < map->excluded_count; i++) {
        print_range("  excluded ", map->excluded[i].start, map->excluded[i].end);
        kprintf("  %s\n", map->excluded[i].why);
    }
    for (unsigned i = 0; i < map->usable_count; i++) {
        print_range("  usable   ", map->usable[i].start, map->usable[i].end);
        kprintf("\n");
    }
    kprintf("  usable total: ");
    print_size(memmap_usable_bytes(map));
    kprintf(" in %u range(s)\n", map->usable_count);
}
