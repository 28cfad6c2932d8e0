/*
 * kernel/mm/memmap.h - usable RAM: the machine's memory minus everything that is taken.
 *
 * The boot hart fills it from the device tree (kernel/top/boot.c):
 * Usable RAM = memory ranges (device_type = "memory")
 *            - /memreserve/ entries
 *            - every /reserved-memory child (OpenSBI's own region is one)
 *            - the device-tree blob itself
 *            - the kernel image and its stacks
 *            - on rv32, RAM the CPU cannot address (from the last page below 4 GiB up)
 * Any number of ranges (up to MEMMAP_MAX_RANGES), any size and alignment; usable ranges
 * are shrunk inward to whole pages. Exclusions may overlap each other, straddle ranges or
 * lie outside RAM. Nothing is allocated; the struct is filled in place. Not thread-safe:
 * built once at boot by one hart, read-only afterwards.
 */
#ifndef RVMEM_KERNEL_MM_MEMMAP_H
#define RVMEM_KERNEL_MM_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#define MEMMAP_MAX_RANGES 32
#define MEMMAP_MAX_EXCLUSIONS 32
#define MEMMAP_NAME_BYTES 40

/* [start, end): end exclusive, so a range reaching the top of the address space cannot be named. */
struct memmap_range {
    uint64_t start;
    uint64_t end;
};

struct memmap_exclusion {
    uint64_t start;
    uint64_t end;
    char why[MEMMAP_NAME_BYTES]; /* "/memreserve/", "reserved-memory mmode_resv0@80000000", ... */
};

struct memmap {
    struct memmap_range ram[MEMMAP_MAX_RANGES];
    unsigned ram_count;
    struct memmap_exclusion excluded[MEMMAP_MAX_EXCLUSIONS];
    unsigned excluded_count;
    struct memmap_range usable[MEMMAP_MAX_RANGES];
    unsigned usable_count;
};

/* Empties map. */
void memmap_reset(struct memmap *map);

/* Adds RAM [start, start + size). Returns 0, -E_INVAL if it wraps past 2^64, -E_RANGE if full. */
int memmap_add_ram(struct memmap *map, uint64_t start, uint64_t size);

/* Excludes [start, start + size) for the reason why. Returns 0, -E_INVAL on wrap, -E_RANGE if full. */
int memmap_exclude(struct memmap *map, uint64_t start, uint64_t size, const char *why);

/*
 * Computes map->usable: RAM (sorted, overlaps merged) minus every exclusion, each piece
 * shrunk to whole pages and dropped when empty. Returns the number of usable ranges, or
 * -E_RANGE when the result has more than MEMMAP_MAX_RANGES pieces.
 */
int memmap_compute_usable(struct memmap *map);

/* Total bytes of usable RAM. */
uint64_t memmap_usable_bytes(const struct memmap *map);

/* Prints RAM, each exclusion and why, and the usable ranges, with sizes. */
void memmap_print(const struct memmap *map);

#endif
