/*
 * kernel/top/boot.c - the boot hart's set-up of the machine, and what it found (see boot.h):
 * the firmware's SBI, the device tree, the console, the exit device, the bootargs, then the
 * memory map, the page allocator, the heap and malloc.
 */
#include "kernel/top/boot.h"

#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/mm/memmap.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/bootargs.h"
#include "kernel/platform/console.h"
#include "kernel/platform/fdt.h"
#include "kernel/platform/power.h"
#include "kernel/platform/sbi.h"
#include "kernel/top/malloc_binding.h"

/* Largest device tree accepted; real boards' trees are tens of KiB. */
#define DEVICE_TREE_MAX_BYTES (2u << 20)

extern char __image_start[], __image_end[];

static struct fdt boot_fdt;
static struct memmap memory_map;
/* /chosen/bootargs in the device tree, which stays in memory (excluded from usable RAM): never copied, never cut. */
static const char *bootargs = "";

const struct fdt *boot_device_tree(void)
{
    return &boot_fdt;
}

const struct memmap *boot_memory_map(void)
{
    return &memory_map;
}

const char *boot_arguments(void)
{
    return bootargs;
}

void boot_open_platform(const void *device_tree)
{
    if (sbi_init() != 0)
        panic("the firmware has no SBI BASE extension (SBI >= 0.2 needed)");
    int error = fdt_open(&boot_fdt, device_tree, DEVICE_TREE_MAX_BYTES);
    if (error)
        panic("device tree at %p is unusable: %s (%s)", device_tree, fdt_strerror(error),
              boot_fdt.invalid_reason ? boot_fdt.invalid_reason : "?");
    console_init(&boot_fdt);
    power_init(&boot_fdt);
    const char *chosen_bootargs = "";
    error = fdt_chosen_bootargs(&boot_fdt, &chosen_bootargs);
    if (error == 0)
        bootargs = chosen_bootargs;
    else if (error != -E_NOENT)
        panic("device tree: /chosen/bootargs is unusable: %s (not a NUL-terminated string?)", fdt_strerror(error));
}

static int add_device_tree_ram(struct memmap *map, const struct fdt *fdt)
{
    struct fdt_range ranges[MEMMAP_MAX_RANGES];
    int count = fdt_memory_ranges(fdt, ranges, MEMMAP_MAX_RANGES);
    if (count < 0)
        return count;
    if (count == 0)
        return -E_NOENT;
    if (count > MEMMAP_MAX_RANGES)
        return -E_RANGE;
    for (int i = 0; i < count; i++) {
        int error = memmap_add_ram(map, ranges[i].address, ranges[i].size);
        if (error)
            return error;
    }
    return 0;
}

static int exclude_device_tree_reservations(struct memmap *map, const struct fdt *fdt)
{
    struct fdt_range reserved[MEMMAP_MAX_EXCLUSIONS];
    int count = fdt_memreserve_ranges(fdt, reserved, MEMMAP_MAX_EXCLUSIONS);
    if (count < 0)
        return count;
    if (count > MEMMAP_MAX_EXCLUSIONS)
        return -E_RANGE;
    for (int i = 0; i < count; i++) {
        int error = memmap_exclude(map, reserved[i].address, reserved[i].size, "/memreserve/ entry");
        if (error)
            return error;
    }
    struct fdt_reserved_region regions[MEMMAP_MAX_EXCLUSIONS];
    count = fdt_reserved_regions(fdt, regions, MEMMAP_MAX_EXCLUSIONS);
    if (count < 0)
        return count;
    if (count > MEMMAP_MAX_EXCLUSIONS)
        return -E_RANGE;
    for (int i = 0; i < count; i++) {
        char why[MEMMAP_NAME_BYTES];
        ksnprintf(why, sizeof why, "reserved-memory %s", regions[i].name);
        int error = memmap_exclude(map, regions[i].address, regions[i].size, why);
        if (error)
            return error;
    }
    return 0;
}

/*
 * Builds the whole map from a device tree and the image bounds [image_start, image_end), then
 * computes the usable ranges. Returns the usable count, or a negative error from the device tree
 * (-E_BADDATA ...) or from memmap's steps, with *failed_step naming what could not be read or
 * excluded; -E_NOENT when the tree has no /memory node.
 */
static int memmap_from_fdt(struct memmap *map, const struct fdt *fdt, uint64_t image_start, uint64_t image_end,
                           bool paging, const char **failed_step)
{
    memmap_reset(map);
    *failed_step = "the /memory nodes (device_type \"memory\")";
    int error = add_device_tree_ram(map, fdt);
    if (error)
        return error;
    *failed_step = "/memreserve/ and /reserved-memory";
    error = exclude_device_tree_reservations(map, fdt);
    if (error)
        return error;
    *failed_step = "the device tree blob's own bytes";
    error = memmap_exclude(map, (uint64_t)(uintptr_t)fdt->blob, fdt_total_bytes(fdt), "device tree blob");
    if (error)
        return error;
    *failed_step = "the kernel image";
    if (image_end > image_start)
        error = memmap_exclude(map, image_start, image_end - image_start, "kernel image and stacks");
    if (error)
        return error;
    /* RAM this CPU cannot address (above 4 GiB on rv32, whose pointers are 32 bits) is not usable. */
    *failed_step = "RAM beyond the address space";
    uint64_t top_page = (uint64_t)UINTPTR_MAX - PAGE_SIZE + 1; /* so that every usable end fits */
    for (unsigned i = 0; (uint64_t)UINTPTR_MAX < UINT64_MAX && i < map->ram_count; i++) {
        if (map->ram[i].end > top_page) {
            error = memmap_exclude(map, top_page, UINT64_MAX - top_page, "beyond the address space");
            break;
        }
    }
    if (error)
        return error;
    /*
     * With paging, RAM is used only where the identity map can hold it: never inside the user
     * window (kernel/base/layout.h), and on rv64 nothing from the window up (Sv39's lower half ends
     * where the window does). No board in docs/PORTING.md has RAM there.
     */
    *failed_step = "RAM the identity map cannot hold";
    uint64_t window_end = __riscv_xlen == 32 ? USER_WINDOW_END : UINT64_MAX;
    for (unsigned i = 0; paging && i < map->ram_count; i++) {
        if (map->ram[i].end > USER_WINDOW_START && map->ram[i].start < window_end) {
            error = memmap_exclude(map, USER_WINDOW_START, window_end - USER_WINDOW_START,
                                   "the user window (kept out of the kernel's map)");
            break;
        }
    }
    if (error)
        return error;
    *failed_step = "the usable ranges";
    return memmap_compute_usable(map);
}

void boot_find_memory(bool paging)
{
    const char *failed_step = "";
    int usable =
        memmap_from_fdt(&memory_map, &boot_fdt, (uintptr_t)__image_start, (uintptr_t)__image_end, paging, &failed_step);
    if (usable == -E_NOENT && memory_map.ram_count == 0) /* add_device_tree_ram found no range */
        panic("device tree: no /memory node (device_type \"memory\" with a reg): no RAM to run in");
    if (usable < 0)
        panic("device tree: cannot build the memory map from %s: %s", failed_step, fdt_strerror(usable));
    if (usable == 0)
        panic("device tree: no usable RAM left after the exclusions");
    memmap_print(&memory_map);
    uint64_t heap_max = 0;
    if (bootargs_get_bytes(bootargs, "heap_max", &heap_max) == -E_INVAL)
        panic("bootargs: heap_max must be a byte count such as 64M");
    pages_init(&memory_map, (uintptr_t)__image_end, heap_max);
    malloc_kernel_init();
    struct buddy_stats stats;
    buddy_get_stats(kernel_pages(), &stats);
    struct brk_stats heap;
    brk_get_stats(kernel_heap(), &heap);
    kprintf("  pages: %lu free of %lu (4 KiB each; allocator metadata %lu bytes)\n", stats.free_pages,
            stats.total_pages, stats.metadata_bytes);
    kprintf("  heap: starts at %p (just above the image), may grow to %p\n", (void *)heap.start, (void *)heap.limit);
}
