/*
 * tests/platform/fdt.c - tests of the device-tree reader (kernel/platform/fdt.c, kernel/platform/fdt_query.c).
 *
 * Three real trees (tests/platform/fdt_blobs.h: QEMU virt and sifive_u dumps, tests/data/fdt_board.dts)
 * checked against what QEMU and the .dts say, then corrupt blobs: every truncation, header
 * fields pointing outside, and hand-built structure blocks with one defect each. A corrupt
 * blob is always placed at the very end of a static buffer, so on the host (ASan) a read
 * past its end is reported as a global-buffer-overflow instead of going unnoticed.
 */
#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/base/string.h"
#include "tests/platform/fdt_blobs.h"
#include "tests/harness/ktest.h"

/* ---- Helpers ----------------------------------------------------------------------- */

static uint8_t scratch[16384] __attribute__((aligned(8)));

/* Copies bytes to the end of scratch and returns where; a read past the copy leaves scratch. */
static uint8_t *place_at_end(const void *bytes, size_t size)
{
    uint8_t *copy = scratch + sizeof(scratch) - size;
    memmove(copy, bytes, size);
    return copy;
}

static uint32_t get_be32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static void put_be32(uint8_t *bytes, uint32_t value)
{
    bytes[0] = (uint8_t)(value >> 24);
    bytes[1] = (uint8_t)(value >> 16);
    bytes[2] = (uint8_t)(value >> 8);
    bytes[3] = (uint8_t)value;
}

/* Header field offsets, as in the spec. */
enum {
    TOTALSIZE = 4,
    OFF_DT_STRUCT = 8,
    OFF_DT_STRINGS = 12,
    OFF_MEM_RSVMAP = 16,
    VERSION = 20,
    LAST_COMP_VERSION = 24,
    SIZE_DT_STRINGS = 32,
    SIZE_DT_STRUCT = 36,
};

/*
 * Calls every query on an opened tree and walks every node, ignoring the answers: used on
 * damaged blobs that happened to open, where the point is that nothing reads out of bounds.
 */
static void run_every_query(const struct fdt *fdt)
{
    struct fdt_range ranges[4];
    struct fdt_reserved_region regions[4];
    struct fdt_cpu cpus[4];
    struct fdt_stdout_path console;
    const char *text;
    uint64_t value;
    fdt_memory_ranges(fdt, ranges, 4);
    fdt_memreserve_ranges(fdt, ranges, 4);
    fdt_reserved_regions(fdt, regions, 4);
    int cpu_count = fdt_cpus(fdt, cpus, 4);
    for (int i = 0; i < cpu_count && i < 4; i++)
        fdt_cpu_usable_for_smode(&cpus[i]);
    fdt_chosen_bootargs(fdt, &text);
    fdt_chosen_stdout(fdt, &console);
    fdt_timebase_frequency(fdt, &value);
    for (int node = fdt_next_node(fdt, -1); node >= 0; node = fdt_next_node(fdt, node)) {
        uint64_t address, size;
        fdt_node_name(fdt, node);
        fdt_node_reg(fdt, node, 0, &address, &size);
        fdt_node_is_compatible(fdt, node, "sifive,test0");
        fdt_first_child(fdt, node);
        fdt_next_sibling(fdt, node);
    }
    fdt_find_compatible(fdt, -1, "ns16550a");
}

/* Opens one of the generated blobs (in place) or fails the test. */
#define OPEN_OR_FAIL(fdt, blob)                                                                                        \
    do {                                                                                                               \
        int open_error_ = fdt_open(&(fdt), blob, blob##_bytes);                                                        \
        if (open_error_ != 0)                                                                                          \
            ktest_note("fdt_open: %s", (fdt).invalid_reason);                                                          \
        KASSERT_EQ(open_error_, 0);                                                                                    \
    } while (0)

/* ---- QEMU virt (-smp 4 -m 256M -append "mode=test tests=x") --------------------------- */

KTEST(fdt, virt_opens)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    KASSERT_EQ(fdt_total_bytes(&fdt), fdt_blob_qemu_virt_bytes);
    KASSERT_EQ(fdt.version, 17u);
    KASSERT_STR_EQ(fdt_node_name(&fdt, fdt_next_node(&fdt, -1)), "");
}

KTEST(fdt, virt_memory_is_one_range)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    struct fdt_range ranges[4];
    KASSERT_EQ(fdt_memory_ranges(&fdt, ranges, 4), 1);
    KASSERT_EQ(ranges[0].address, 0x80000000u);
    KASSERT_EQ(ranges[0].size, 0x10000000u);
    KASSERT_EQ(fdt_memreserve_ranges(&fdt, ranges, 4), 0);
}

KTEST(fdt, virt_has_no_reserved_memory)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    struct fdt_reserved_region regions[2];
    KASSERT_EQ(fdt_node_by_path(&fdt, "/reserved-memory"), -E_NOENT);
    KASSERT_EQ(fdt_reserved_regions(&fdt, regions, 2), 0);
}

KTEST(fdt, virt_four_usable_harts)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    struct fdt_cpu cpus[8];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 8), 4);
    for (int i = 0; i < 4; i++) {
        KASSERT_EQ(cpus[i].hartid, (uint64_t)i);
        KASSERT_STR_EQ(cpus[i].status, "okay");
        KASSERT_STR_EQ(cpus[i].mmu_type, "riscv,sv48");
        KASSERT_NOT_NULL(cpus[i].isa);
        KASSERT_EQ(strncmp(cpus[i].isa, "rv64ima", 7), 0);
        KASSERT(fdt_cpu_usable_for_smode(&cpus[i]));
    }
}

KTEST(fdt, virt_stdout_is_the_ns16550a)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    struct fdt_stdout_path console;
    KASSERT_EQ(fdt_chosen_stdout(&fdt, &console), 0);
    KASSERT_NULL(console.options);
    KASSERT_EQ(console.node, fdt_node_by_path(&fdt, "/soc/serial@10000000"));
    KASSERT_STR_EQ(fdt_node_name(&fdt, console.node), "serial@10000000");
    KASSERT_EQ(fdt_node_is_compatible(&fdt, console.node, "ns16550a"), 1);
    uint64_t address, size;
    KASSERT_EQ(fdt_node_reg(&fdt, console.node, 0, &address, &size), 0);
    KASSERT_EQ(address, 0x10000000u);
    KASSERT_EQ(size, 0x100u);
    KASSERT_EQ(fdt_node_reg(&fdt, console.node, 1, &address, &size), -E_NOENT);
}

KTEST(fdt, virt_bootargs_and_timebase)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    const char *bootargs = NULL;
    KASSERT_EQ(fdt_chosen_bootargs(&fdt, &bootargs), 0);
    KASSERT_STR_EQ(bootargs, "mode=test tests=x");
    uint64_t hz = 0;
    KASSERT_EQ(fdt_timebase_frequency(&fdt, &hz), 0);
    KASSERT_EQ(hz, 10000000u);
}

KTEST(fdt, virt_finds_the_test_finisher)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    int test = fdt_find_compatible(&fdt, -1, "sifive,test0");
    KASSERT_GE(test, 0);
    KASSERT_STR_EQ(fdt_node_name(&fdt, test), "test@100000");
    uint64_t address, size;
    KASSERT_EQ(fdt_node_reg(&fdt, test, 0, &address, &size), 0);
    KASSERT_EQ(address, 0x100000u);
    KASSERT_EQ(size, 0x1000u);
    KASSERT_EQ(fdt_find_compatible(&fdt, test, "sifive,test0"), -E_NOENT);
    KASSERT_EQ(fdt_find_compatible(&fdt, -1, "syscon"), test);
    KASSERT_EQ(fdt_find_compatible(&fdt, -1, "sifive,test"), -E_NOENT); /* a prefix is no match */
}

KTEST(fdt, virt_finds_all_eight_virtio_devices)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    int found = 0;
    int node;
    for (node = fdt_find_compatible(&fdt, -1, "virtio,mmio"); node >= 0;
         node = fdt_find_compatible(&fdt, node, "virtio,mmio"))
        found++;
    KASSERT_EQ(node, -E_NOENT);
    KASSERT_EQ(found, 8);
}

KTEST(fdt, virt_paths_and_cells)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    int root = fdt_node_by_path(&fdt, "/");
    int soc = fdt_node_by_path(&fdt, "/soc");
    int cpus = fdt_node_by_path(&fdt, "/cpus");
    int chosen = fdt_node_by_path(&fdt, "/chosen");
    KASSERT_EQ(root, 0);
    KASSERT_GT(soc, 0);
    KASSERT_GT(cpus, 0);
    KASSERT_GT(chosen, 0);
    KASSERT_EQ(fdt_node_by_path(&fdt, "/cpus/cpu@3/interrupt-controller") > 0, 1);
    KASSERT_EQ(fdt_node_by_path(&fdt, "//soc//serial@10000000/"), fdt_node_by_path(&fdt, "/soc/serial@10000000"));
    KASSERT_EQ(fdt_node_by_path(&fdt, "/soc/serial"), -E_NOENT);
    KASSERT_EQ(fdt_node_by_path(&fdt, "/memory"), -E_NOENT);
    KASSERT_EQ(fdt_node_by_path(&fdt, "/soc/serial@10000000/x"), -E_NOENT);
    KASSERT_EQ(fdt_node_by_path(&fdt, "serial0"), -E_NOENT); /* virt has no /aliases */
    KASSERT_EQ(fdt_node_by_path(&fdt, ""), -E_INVAL);
    KASSERT_EQ(fdt_parent(&fdt, fdt_node_by_path(&fdt, "/soc/serial@10000000")), soc);
    KASSERT_EQ(fdt_parent(&fdt, soc), root);
    KASSERT_EQ(fdt_parent(&fdt, root), -E_NOENT);
    KASSERT_EQ(fdt_address_cells(&fdt, soc), 2);
    KASSERT_EQ(fdt_size_cells(&fdt, soc), 2);
    KASSERT_EQ(fdt_address_cells(&fdt, cpus), 1);
    KASSERT_EQ(fdt_size_cells(&fdt, cpus), 0);
    KASSERT_EQ(fdt_address_cells(&fdt, chosen), 2); /* defaults from the spec */
    KASSERT_EQ(fdt_size_cells(&fdt, chosen), 1);
    uint32_t cells = 0;
    KASSERT_EQ(fdt_property_u32(&fdt, root, "#address-cells", &cells), 0);
    KASSERT_EQ(cells, 2u);
    KASSERT_EQ(fdt_property_u32(&fdt, root, "model", &cells), -E_BADDATA); /* not 4 bytes */
    KASSERT_EQ(fdt_property_u32(&fdt, root, "no-such-property", &cells), -E_NOENT);
}

/*
 * Counts the nodes of node's subtree through first_child/next_sibling; node is at level depth
 * (the root: 1). One frame per level, never more than FDT_MAX_DEPTH: the bound the stack report
 * counts for this recursion (tools/stack_recursion.txt). -1 when a child names another parent
 * or the tree is deeper than that.
 */
static int count_by_children(const struct fdt *fdt, int node, int depth)
{
    int count = 1;
    for (int child = fdt_first_child(fdt, node); child >= 0; child = fdt_next_sibling(fdt, child)) {
        if (fdt_parent(fdt, child) != node || depth == FDT_MAX_DEPTH)
            return -1;
        int below = count_by_children(fdt, child, depth + 1);
        if (below < 0)
            return -1;
        count += below;
    }
    return count;
}

KTEST(fdt, walks_agree_on_every_blob)
{
    const unsigned char *blobs[] = {fdt_blob_qemu_virt, fdt_blob_qemu_sifive_u, fdt_blob_board};
    const size_t sizes[] = {fdt_blob_qemu_virt_bytes, fdt_blob_qemu_sifive_u_bytes, fdt_blob_board_bytes};
    for (int i = 0; i < 3; i++) {
        struct fdt fdt;
        KASSERT_EQ(fdt_open(&fdt, blobs[i], sizes[i]), 0);
        int in_order = 0;
        int node;
        for (node = fdt_next_node(&fdt, -1); node >= 0; node = fdt_next_node(&fdt, node)) {
            KASSERT_NOT_NULL(fdt_node_name(&fdt, node));
            in_order++;
        }
        KASSERT_EQ(node, -E_NOENT);
        KASSERT_GT(in_order, 10);
        KASSERT_EQ(count_by_children(&fdt, 0, 1), in_order);
    }
}

/* ---- QEMU sifive_u (-smp 5) ------------------------------------------------------- */

KTEST(fdt, sifive_u_hart0_is_a_monitor_core)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_sifive_u);
    struct fdt_cpu cpus[8];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 8), 5);
    KASSERT_EQ(cpus[0].hartid, 0u);
    KASSERT_STR_EQ(cpus[0].status, "okay");
    KASSERT_NULL(cpus[0].mmu_type);
    KASSERT(!fdt_cpu_usable_for_smode(&cpus[0]));
    for (int i = 1; i < 5; i++) {
        KASSERT_EQ(cpus[i].hartid, (uint64_t)i);
        KASSERT(fdt_cpu_usable_for_smode(&cpus[i]));
    }
}

KTEST(fdt, sifive_u_console_memory_timebase)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_sifive_u);
    struct fdt_stdout_path console;
    KASSERT_EQ(fdt_chosen_stdout(&fdt, &console), 0);
    KASSERT_STR_EQ(fdt_node_name(&fdt, console.node), "serial@10010000");
    KASSERT_EQ(fdt_node_is_compatible(&fdt, console.node, "sifive,uart0"), 1);
    KASSERT_EQ(fdt_node_by_path(&fdt, "serial0"), console.node); /* the same uart by alias */
    KASSERT_NE(fdt_node_by_path(&fdt, "serial1"), console.node);
    struct fdt_range ranges[2];
    KASSERT_EQ(fdt_memory_ranges(&fdt, ranges, 2), 1);
    KASSERT_EQ(ranges[0].address, 0x80000000u);
    KASSERT_GT(ranges[0].size, 0u);
    uint64_t hz;
    KASSERT_EQ(fdt_timebase_frequency(&fdt, &hz), 0);
    KASSERT_EQ(hz, 1000000u);
    const char *bootargs;
    KASSERT_EQ(fdt_chosen_bootargs(&fdt, &bootargs), -E_NOENT);
}

/* ---- tests/data/fdt_board.dts ----------------------------------------------------- */

KTEST(fdt, board_memreserve)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    struct fdt_range ranges[4];
    KASSERT_EQ(fdt_memreserve_ranges(&fdt, ranges, 4), 2);
    KASSERT_EQ(ranges[0].address, 0x88000000u);
    KASSERT_EQ(ranges[0].size, 0x10000u);
    KASSERT_EQ(ranges[1].address, 0x89000000u);
    KASSERT_EQ(ranges[1].size, 0x2000u);
    KASSERT_EQ(fdt_memreserve_ranges(&fdt, ranges, 0), 2);
}

KTEST(fdt, board_memory_skips_empty_and_disabled)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    struct fdt_range ranges[4];
    KASSERT_EQ(fdt_memory_ranges(&fdt, ranges, 4), 3);
    KASSERT_EQ(ranges[0].address, 0x80000000u);
    KASSERT_EQ(ranges[0].size, 0x4000000u);
    KASSERT_EQ(ranges[1].address, 0xa0000000u);
    KASSERT_EQ(ranges[1].size, 0x1000000u);
    KASSERT_EQ(ranges[2].address, 0xd0000000u);
    KASSERT_EQ(ranges[2].size, 0x2000000u);
}

KTEST(fdt, board_memory_reports_count_past_max)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    struct fdt_range ranges[2] = {{0, 0}, {0x1234, 0x5678}};
    KASSERT_EQ(fdt_memory_ranges(&fdt, ranges, 1), 3);
    KASSERT_EQ(ranges[0].address, 0x80000000u);
    KASSERT_EQ(ranges[1].address, 0x1234u); /* untouched */
    KASSERT_EQ(fdt_memory_ranges(&fdt, NULL, 0), 3);
}

KTEST(fdt, board_reserved_memory)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    struct fdt_reserved_region regions[8];
    KASSERT_EQ(fdt_reserved_regions(&fdt, regions, 8), 3);
    KASSERT_STR_EQ(regions[0].name, "mmode_resv0@80000000");
    KASSERT_EQ(regions[0].address, 0x80000000u);
    KASSERT_EQ(regions[0].size, 0x80000u);
    KASSERT(!regions[0].no_map);
    KASSERT_STR_EQ(regions[1].name, "firmware@83000000");
    KASSERT_EQ(regions[1].address, 0x83000000u);
    KASSERT_EQ(regions[1].size, 0x100000u);
    KASSERT(regions[1].no_map);
    KASSERT_STR_EQ(regions[2].name, "firmware@83000000");
    KASSERT_EQ(regions[2].address, 0x100000000ull); /* 2 address cells, unlike the root */
    KASSERT_EQ(regions[2].size, 0x200000u);
    KASSERT(regions[2].no_map);
}

KTEST(fdt, board_cpus)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    struct fdt_cpu cpus[8];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 8), 5); /* cpu-map is not a cpu */
    KASSERT_EQ(cpus[0].hartid, 0u);
    KASSERT_STR_EQ(cpus[0].status, "okay"); /* absent */
    KASSERT(fdt_cpu_usable_for_smode(&cpus[0]));
    KASSERT_EQ(cpus[1].hartid, 1u);
    KASSERT_STR_EQ(cpus[1].status, "disabled");
    KASSERT(!fdt_cpu_usable_for_smode(&cpus[1]));
    KASSERT_EQ(cpus[2].hartid, 2u);
    KASSERT_NULL(cpus[2].mmu_type);
    KASSERT(!fdt_cpu_usable_for_smode(&cpus[2]));
    KASSERT_EQ(cpus[3].hartid, 0x10u);
    KASSERT_NULL(cpus[3].isa);
    KASSERT(!fdt_cpu_usable_for_smode(&cpus[3]));
    KASSERT_EQ(cpus[4].hartid, 0x11u);
    KASSERT_STR_EQ(cpus[4].status, "ok");
    KASSERT(fdt_cpu_usable_for_smode(&cpus[4]));
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 2), 5);
}

KTEST(fdt, board_timebase_from_a_cpu_node_as_u64)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    uint64_t hz = 0;
    KASSERT_EQ(fdt_timebase_frequency(&fdt, &hz), 0);
    KASSERT_EQ(hz, 10000000000ull);
}

KTEST(fdt, board_stdout_through_alias_with_options)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    struct fdt_stdout_path console;
    KASSERT_EQ(fdt_chosen_stdout(&fdt, &console), 0);
    KASSERT_EQ(console.node, fdt_node_by_path(&fdt, "/soc/uart@10000000"));
    KASSERT_STR_EQ(console.options, "115200n8");
    uint32_t shift;
    KASSERT_EQ(fdt_property_u32(&fdt, console.node, "reg-shift", &shift), 0);
    KASSERT_EQ(shift, 2u);
    const char *bootargs;
    KASSERT_EQ(fdt_chosen_bootargs(&fdt, &bootargs), -E_NOENT);
}

KTEST(fdt, board_aliases)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    KASSERT_EQ(fdt_node_by_path(&fdt, "serial1"), fdt_node_by_path(&fdt, "/soc/uart@10001000"));
    KASSERT_EQ(fdt_node_by_path_bytes(&fdt, "serial1:9600", 7), fdt_node_by_path(&fdt, "/soc/uart@10001000"));
    KASSERT_EQ(fdt_node_by_path(&fdt, "broken"), -E_BADDATA); /* alias value must be absolute */
    KASSERT_EQ(fdt_node_by_path(&fdt, "serial"), -E_NOENT);
    KASSERT_EQ(fdt_node_by_path(&fdt, "serial0/nothing"), -E_NOENT);
}

KTEST(fdt, board_compatible_lists_and_wide_cells)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_board);
    int test = fdt_node_by_path(&fdt, "/soc/test@100000");
    KASSERT_GT(test, 0);
    KASSERT_EQ(fdt_node_is_compatible(&fdt, test, "sifive,test1"), 1);
    KASSERT_EQ(fdt_node_is_compatible(&fdt, test, "sifive,test0"), 1);
    KASSERT_EQ(fdt_node_is_compatible(&fdt, test, "syscon"), 1);
    KASSERT_EQ(fdt_node_is_compatible(&fdt, test, "syscon2"), 0);
    KASSERT_EQ(fdt_node_is_compatible(&fdt, test, "sifive,test"), 0);
    KASSERT_EQ(fdt_node_is_compatible(&fdt, fdt_node_by_path(&fdt, "/cpus"), "riscv"), 0); /* none */
    int uarts = 0;
    for (int n = fdt_find_compatible(&fdt, -1, "snps,dw-apb-uart"); n >= 0;
         n = fdt_find_compatible(&fdt, n, "snps,dw-apb-uart"))
        uarts++;
    KASSERT_EQ(uarts, 2);
    uint64_t address, size;
    int pci_device = fdt_node_by_path(&fdt, "/soc/pci@30000000/device@0");
    KASSERT_GT(pci_device, 0);
    KASSERT_EQ(fdt_node_reg(&fdt, pci_device, 0, &address, &size), -E_RANGE);
    KASSERT_EQ(fdt_node_reg(&fdt, fdt_node_by_path(&fdt, "/soc/pci@30000000"), 0, &address, &size), 0);
    KASSERT_EQ(address, 0x30000000u);
}

/* ---- Corrupt blobs: the real trees damaged --------------------------------------- */

/* Opens a damaged copy; if it opens anyway, every query must still behave. */
static int open_damaged(const uint8_t *blob, size_t size)
{
    struct fdt fdt;
    int error = fdt_open(&fdt, blob, size);
    if (error == 0)
        run_every_query(&fdt);
    else if (fdt_next_node(&fdt, -1) >= 0) /* a failed open must leave nothing usable */
        return 1;
    return error;
}

KTEST(fdt, rejects_every_truncation)
{
    size_t size = fdt_blob_qemu_virt_bytes;
    KASSERT_LE(size, sizeof(scratch));
    for (size_t length = 0; length < size; length++) {
        const uint8_t *copy = place_at_end(fdt_blob_qemu_virt, length);
        if (open_damaged(copy, length) != -E_BADDATA) {
            ktest_fail(__FILE__, __LINE__, "truncated to %zu bytes: not rejected", length);
            return;
        }
    }
    KASSERT_EQ(open_damaged(place_at_end(fdt_blob_qemu_virt, size), size), 0);
}

KTEST(fdt, truncation_with_totalsize_rewritten)
{
    size_t size = fdt_blob_board_bytes;
    for (size_t length = 40; length < size; length++) {
        uint8_t *copy = place_at_end(fdt_blob_board, length);
        put_be32(copy + TOTALSIZE, (uint32_t)length);
        if (open_damaged(copy, length) != -E_BADDATA) {
            ktest_fail(__FILE__, __LINE__, "truncated to %zu bytes with matching totalsize: opened", length);
            return;
        }
    }
}

/*
 * Lays a real blob out again as header, memreserve, strings, structure and cuts the
 * structure block to struct_cut bytes, so it ends exactly at the end of scratch.
 */
static uint8_t *relayout_with_struct_cut(const uint8_t *blob, uint32_t struct_cut, uint32_t *total)
{
    uint32_t memreserve_bytes = 16;
    const uint8_t *memreserve = blob + get_be32(blob + OFF_MEM_RSVMAP);
    while (get_be32(memreserve + memreserve_bytes - 8) != 0 || get_be32(memreserve + memreserve_bytes - 4) != 0)
        memreserve_bytes += 16;
    uint32_t strings_bytes = get_be32(blob + SIZE_DT_STRINGS);
    uint32_t strings_offset = 40 + memreserve_bytes;
    uint32_t struct_offset = (strings_offset + strings_bytes + 3) & ~3u;
    *total = struct_offset + struct_cut;
    uint8_t *copy = scratch + sizeof(scratch) - *total;
    memset(copy, 0, struct_offset);
    memcpy(copy, blob, 40);
    memcpy(copy + 40, memreserve, memreserve_bytes);
    memcpy(copy + strings_offset, blob + get_be32(blob + OFF_DT_STRINGS), strings_bytes);
    memcpy(copy + struct_offset, blob + get_be32(blob + OFF_DT_STRUCT), struct_cut);
    put_be32(copy + TOTALSIZE, *total);
    put_be32(copy + OFF_MEM_RSVMAP, 40);
    put_be32(copy + OFF_DT_STRINGS, strings_offset);
    put_be32(copy + OFF_DT_STRUCT, struct_offset);
    put_be32(copy + SIZE_DT_STRUCT, struct_cut);
    return copy;
}

KTEST(fdt, rejects_every_cut_of_the_structure_block)
{
    uint32_t struct_bytes = get_be32(fdt_blob_board + SIZE_DT_STRUCT);
    uint32_t total;
    const uint8_t *whole = relayout_with_struct_cut(fdt_blob_board, struct_bytes, &total);
    KASSERT_EQ(open_damaged(whole, total), 0); /* the relayout itself is sound: only the cut breaks it */
    for (uint32_t cut = 0; cut < struct_bytes; cut++) {
        const uint8_t *copy = relayout_with_struct_cut(fdt_blob_board, cut, &total);
        if (open_damaged(copy, total) != -E_BADDATA) {
            ktest_fail(__FILE__, __LINE__, "structure block cut to %u bytes: not rejected", (unsigned)cut);
            return;
        }
    }
}

/* A writable copy of the virt blob at the end of scratch, with its size. */
static uint8_t *virt_copy(size_t *size)
{
    *size = fdt_blob_qemu_virt_bytes;
    return place_at_end(fdt_blob_qemu_virt, *size);
}

KTEST(fdt, rejects_bad_header_fields)
{
    size_t size;
    uint8_t *copy;
    struct fdt fdt;

    copy = virt_copy(&size);
    copy[0] ^= 1;
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "bad magic");

    copy = virt_copy(&size);
    KASSERT_EQ(fdt_open(&fdt, copy, size - 1), -E_BADDATA); /* totalsize past the end */
    KASSERT_STR_EQ(fdt.invalid_reason, "totalsize out of range");
    put_be32(copy + TOTALSIZE, 0xffffffffu);
    KASSERT_EQ(fdt_open(&fdt, copy, SIZE_MAX), -E_BADDATA);

    const uint32_t bad_struct_offsets[] = {(uint32_t)size, (uint32_t)size + 4, 0xfffffffcu, 0x3a, 0, 36};
    for (size_t i = 0; i < sizeof(bad_struct_offsets) / sizeof(bad_struct_offsets[0]); i++) {
        copy = virt_copy(&size);
        put_be32(copy + OFF_DT_STRUCT, bad_struct_offsets[i]);
        KASSERT_EQ(open_damaged(copy, size), -E_BADDATA);
    }

    copy = virt_copy(&size);
    put_be32(copy + SIZE_DT_STRUCT, 0xfffffff0u);
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "structure block past totalsize");

    copy = virt_copy(&size);
    put_be32(copy + SIZE_DT_STRINGS, get_be32(copy + SIZE_DT_STRINGS) + 1);
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "strings block past totalsize");
    put_be32(copy + OFF_DT_STRINGS, 0xffffff00u);
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);

    copy = virt_copy(&size);
    put_be32(copy + OFF_MEM_RSVMAP, 0x2c); /* not 8-aligned */
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    put_be32(copy + OFF_MEM_RSVMAP, ((uint32_t)size - 8) & ~7u); /* no room for a terminator */
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "memory reservation block not terminated");
}

KTEST(fdt, checks_versions)
{
    size_t size;
    uint8_t *copy;
    struct fdt fdt;

    copy = virt_copy(&size);
    put_be32(copy + VERSION, 15);
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "unsupported version");

    copy = virt_copy(&size);
    put_be32(copy + LAST_COMP_VERSION, 18);
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);

    /* Version 16 has no size_dt_struct: whatever is there is ignored. */
    copy = virt_copy(&size);
    put_be32(copy + VERSION, 16);
    put_be32(copy + SIZE_DT_STRUCT, 0xdeadbeefu);
    KASSERT_EQ(fdt_open(&fdt, copy, size), 0);
    KASSERT_EQ(fdt.version, 16u);
    struct fdt_cpu cpus[4];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 4), 4);

    /* A future version that stays compatible with 17 is read. */
    copy = virt_copy(&size);
    put_be32(copy + VERSION, 20);
    KASSERT_EQ(fdt_open(&fdt, copy, size), 0);

    copy = virt_copy(&size);
    KASSERT_EQ(fdt_open(&fdt, copy, 39), -E_BADDATA); /* v17 header is 40 bytes */
    KASSERT_EQ(fdt_open(&fdt, NULL, 100), -E_INVAL);
}

/* Offset in the virt copy of the first FDT_PROP token (a known layout: dtc and QEMU agree). */
static uint32_t first_property_offset(const uint8_t *blob)
{
    uint32_t offset = get_be32(blob + OFF_DT_STRUCT);
    while (get_be32(blob + offset) != FDT_PROP)
        offset += 4;
    return offset;
}

KTEST(fdt, rejects_bad_property_name_and_length)
{
    size_t size;
    uint8_t *copy;
    struct fdt fdt;
    uint32_t strings_bytes = get_be32(fdt_blob_qemu_virt + SIZE_DT_STRINGS);

    copy = virt_copy(&size);
    uint32_t property = first_property_offset(copy);
    put_be32(copy + property + 8, strings_bytes); /* name offset just past the strings block */
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    put_be32(copy + property + 8, 0xffffffffu);
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);

    copy = virt_copy(&size);
    put_be32(copy + SIZE_DT_STRINGS, strings_bytes - 1); /* the last name loses its NUL */
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);

    const uint32_t bad_lengths[] = {0x7fffffffu, 0xffffffffu, 0xfffffff4u, (uint32_t)size};
    for (size_t i = 0; i < sizeof(bad_lengths) / sizeof(bad_lengths[0]); i++) {
        copy = virt_copy(&size);
        put_be32(copy + property + 4, bad_lengths[i]);
        KASSERT_EQ(open_damaged(copy, size), -E_BADDATA);
    }
}

KTEST(fdt, survives_every_byte_flipped)
{
    size_t size = fdt_blob_board_bytes;
    const uint8_t patterns[] = {0xff, 0x01, 0x80};
    for (size_t at = 0; at < size; at++) {
        uint8_t *copy = place_at_end(fdt_blob_board, size);
        copy[at] ^= patterns[at % 3];
        int error = open_damaged(copy, size);
        if (error != 0 && error != -E_BADDATA) {
            ktest_fail(__FILE__, __LINE__, "byte %zu flipped: fdt_open returned %d", at, error);
            return;
        }
    }
}

/* ---- Corrupt blobs: hand-built structure blocks ------------------------------------ */

/* Builds a blob token by token: header, memreserve, structure, strings. */
struct blob_builder {
    uint8_t structure[1024];
    uint32_t struct_bytes;
    char strings[256];
    uint32_t strings_bytes;
    uint64_t memreserve[4][2];
    uint32_t memreserve_count;
};

static void build_bytes(struct blob_builder *builder, const void *bytes, uint32_t count)
{
    if (builder->struct_bytes + count + 3 > sizeof(builder->structure))
        return; /* the test then fails on content */
    memcpy(builder->structure + builder->struct_bytes, bytes, count);
    builder->struct_bytes += count;
    while (builder->struct_bytes % 4 != 0)
        builder->structure[builder->struct_bytes++] = 0;
}

static void build_u32(struct blob_builder *builder, uint32_t value)
{
    uint8_t bytes[4];
    put_be32(bytes, value);
    build_bytes(builder, bytes, 4);
}

static void build_begin(struct blob_builder *builder, const char *name)
{
    build_u32(builder, FDT_BEGIN_NODE);
    build_bytes(builder, name, (uint32_t)strlen(name) + 1);
}

static void build_property(struct blob_builder *builder, const char *name, const void *value, uint32_t bytes)
{
    uint32_t name_bytes = (uint32_t)strlen(name) + 1;
    if (builder->strings_bytes + name_bytes > sizeof(builder->strings))
        return;
    build_u32(builder, FDT_PROP);
    build_u32(builder, bytes);
    build_u32(builder, builder->strings_bytes);
    memcpy(builder->strings + builder->strings_bytes, name, name_bytes);
    builder->strings_bytes += name_bytes;
    build_bytes(builder, value, bytes);
}

static void build_property_u32(struct blob_builder *builder, const char *name, uint32_t value)
{
    uint8_t bytes[4];
    put_be32(bytes, value);
    build_property(builder, name, bytes, 4);
}

static void build_property_cells(struct blob_builder *builder, const char *name, const uint32_t *cells, uint32_t count)
{
    uint8_t bytes[64];
    for (uint32_t i = 0; i < count && i < 16; i++)
        put_be32(bytes + 4 * i, cells[i]);
    build_property(builder, name, bytes, 4 * count);
}

static void build_property_string(struct blob_builder *builder, const char *name, const char *value)
{
    build_property(builder, name, value, (uint32_t)strlen(value) + 1);
}

/* Lays the blob out at the end of scratch (see place_at_end); returns it and its size. */
static uint8_t *build_finish(struct blob_builder *builder, size_t *size)
{
    uint32_t memreserve_bytes = 16 * (builder->memreserve_count + 1);
    uint32_t struct_offset = 40 + memreserve_bytes;
    uint32_t strings_offset = struct_offset + builder->struct_bytes;
    uint32_t total = strings_offset + builder->strings_bytes;
    uint8_t *blob = scratch + sizeof(scratch) - total;
    memset(blob, 0, total);
    put_be32(blob, FDT_MAGIC);
    put_be32(blob + TOTALSIZE, total);
    put_be32(blob + OFF_DT_STRUCT, struct_offset);
    put_be32(blob + OFF_DT_STRINGS, strings_offset);
    put_be32(blob + OFF_MEM_RSVMAP, 40);
    put_be32(blob + VERSION, 17);
    put_be32(blob + LAST_COMP_VERSION, 16);
    put_be32(blob + SIZE_DT_STRINGS, builder->strings_bytes);
    put_be32(blob + SIZE_DT_STRUCT, builder->struct_bytes);
    for (uint32_t i = 0; i < builder->memreserve_count; i++) {
        for (int half = 0; half < 2; half++) {
            put_be32(blob + 40 + 16 * i + 8 * half, (uint32_t)(builder->memreserve[i][half] >> 32));
            put_be32(blob + 40 + 16 * i + 8 * half + 4, (uint32_t)builder->memreserve[i][half]);
        }
    }
    memcpy(blob + struct_offset, builder->structure, builder->struct_bytes);
    memcpy(blob + strings_offset, builder->strings, builder->strings_bytes);
    *size = total;
    return blob;
}

static struct blob_builder builder;

static struct blob_builder *build_start(void)
{
    memset(&builder, 0, sizeof(builder));
    return &builder;
}

/* The smallest valid tree, built without its FDT_END so tests can append their defect. */
static void build_minimal_unterminated(struct blob_builder *b)
{
    build_begin(b, "");
    build_property_u32(b, "#address-cells", 1);
    build_begin(b, "chosen");
    build_property_string(b, "bootargs", "x");
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
}

static int open_built(struct blob_builder *b, struct fdt *fdt)
{
    size_t size;
    uint8_t *blob = build_finish(b, &size);
    int error = fdt_open(fdt, blob, size);
    if (error == 0)
        run_every_query(fdt);
    return error;
}

KTEST(fdt, builder_minimal_tree_opens)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    build_minimal_unterminated(b);
    build_u32(b, FDT_NOP);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), 0);
    const char *bootargs;
    KASSERT_EQ(fdt_chosen_bootargs(&fdt, &bootargs), 0);
    KASSERT_STR_EQ(bootargs, "x");
    struct fdt_cpu cpus[1];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 1), -E_NOENT);
    uint64_t hz;
    KASSERT_EQ(fdt_timebase_frequency(&fdt, &hz), -E_NOENT);
    struct fdt_stdout_path console;
    KASSERT_EQ(fdt_chosen_stdout(&fdt, &console), -E_NOENT);
}

KTEST(fdt, rejects_missing_end)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    build_minimal_unterminated(b);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);
    build_u32(b, FDT_NOP);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);
}

KTEST(fdt, rejects_node_name_without_nul)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    build_begin(b, "");
    build_u32(b, FDT_BEGIN_NODE);
    build_bytes(b, "abcdefgh", 8); /* the structure block ends inside this name */
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "structure block: bad token, name or property bounds");
}

KTEST(fdt, rejects_unbalanced_or_misplaced_tokens)
{
    struct fdt fdt;
    struct blob_builder *b;

    b = build_start(); /* END inside the root */
    build_begin(b, "");
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);

    b = build_start(); /* one END_NODE too many */
    build_minimal_unterminated(b);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);

    b = build_start(); /* two roots */
    build_minimal_unterminated(b);
    build_minimal_unterminated(b);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);

    b = build_start(); /* a property before the root */
    build_property_u32(b, "x", 1);
    build_minimal_unterminated(b);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);

    b = build_start(); /* a property after a child node */
    build_begin(b, "");
    build_begin(b, "child");
    build_u32(b, FDT_END_NODE);
    build_property_u32(b, "late", 1);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);

    b = build_start(); /* an unknown token */
    build_begin(b, "");
    build_u32(b, 5);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);

    b = build_start(); /* nothing but END */
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);
}

/* Builds a chain of depth nested nodes named "n" below a root; levels counts the root. */
static void build_nested(struct blob_builder *b, int levels)
{
    for (int level = 0; level < levels; level++)
        build_begin(b, level == 0 ? "" : "n");
    for (int level = 0; level < levels; level++)
        build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
}

KTEST(fdt, nesting_is_bounded)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    build_nested(b, FDT_MAX_DEPTH);
    KASSERT_EQ(open_built(b, &fdt), 0);
    int deepest = 0;
    for (int node = 0; node >= 0; node = fdt_first_child(&fdt, node))
        deepest = node;
    KASSERT_EQ(fdt_parent(&fdt, deepest) >= 0, 1);
    KASSERT_EQ(fdt_parent(&fdt, deepest) < deepest, 1);
    KASSERT_EQ(count_by_children(&fdt, 0, 1), FDT_MAX_DEPTH); /* the recursion at its full depth */

    b = build_start();
    build_nested(b, FDT_MAX_DEPTH + 1);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);
    KASSERT_STR_EQ(fdt.invalid_reason, "structure block: nodes nested too deep");
}

KTEST(fdt, bad_node_offsets_are_refused)
{
    struct fdt fdt;
    OPEN_OR_FAIL(fdt, fdt_blob_qemu_virt);
    int property = 8; /* root: BEGIN_NODE, "" padded, then its first property */
    KASSERT_EQ(fdt_first_child(&fdt, property), -E_INVAL);
    KASSERT_EQ(fdt_next_sibling(&fdt, property), -E_INVAL);
    KASSERT_EQ(fdt_next_node(&fdt, 2), -E_BADDATA); /* unaligned */
    KASSERT_EQ(fdt_parent(&fdt, property), -E_INVAL);
    KASSERT_NULL(fdt_node_name(&fdt, -3));
    KASSERT_NULL(fdt_node_name(&fdt, 0x7ffffff0));
    const void *value;
    uint32_t bytes;
    KASSERT_EQ(fdt_property(&fdt, property, "compatible", &value, &bytes), -E_INVAL);
    KASSERT_EQ(fdt_find_compatible(&fdt, 0x7ffffff0, "x"), -E_BADDATA);
    KASSERT_EQ(fdt_strerror(-E_BADDATA)[0] != '\0', 1);
    KASSERT_STR_EQ(fdt_strerror(-12345), "unknown error");
}

KTEST(fdt, failed_open_leaves_nothing_usable)
{
    struct fdt fdt;
    size_t size;
    uint8_t *copy = virt_copy(&size);
    copy[3] = 0;
    KASSERT_EQ(fdt_open(&fdt, copy, size), -E_BADDATA);
    struct fdt_range ranges[2];
    KASSERT_EQ(fdt_next_node(&fdt, -1), -E_BADDATA);
    KASSERT_EQ(fdt_memory_ranges(&fdt, ranges, 2), -E_BADDATA);
    KASSERT_EQ(fdt_memreserve_ranges(&fdt, ranges, 2), 0);
    KASSERT_EQ(fdt_total_bytes(&fdt), 0u);
}

KTEST(fdt, reg_and_cells_edge_cases)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    static const uint32_t three_cells[] = {1, 2, 3};
    build_begin(b, "");
    build_property_u32(b, "#address-cells", 1);
    build_property_u32(b, "#size-cells", 1);
    build_begin(b, "odd-reg");
    build_property_cells(b, "reg", three_cells, 3); /* 1.5 entries */
    build_u32(b, FDT_END_NODE);
    build_begin(b, "bus-no-cells");
    build_property_u32(b, "#address-cells", 0);
    build_property_u32(b, "#size-cells", 0);
    build_begin(b, "child");
    build_property_cells(b, "reg", three_cells, 1);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_begin(b, "bus-too-many-cells");
    build_property_u32(b, "#address-cells", 5);
    build_begin(b, "child");
    build_property_cells(b, "reg", three_cells, 1);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), 0);
    uint64_t address, size;
    KASSERT_EQ(fdt_node_reg(&fdt, fdt_node_by_path(&fdt, "/odd-reg"), 0, &address, &size), -E_BADDATA);
    KASSERT_EQ(fdt_node_reg(&fdt, fdt_node_by_path(&fdt, "/bus-no-cells/child"), 0, &address, &size), -E_BADDATA);
    KASSERT_EQ(fdt_address_cells(&fdt, fdt_node_by_path(&fdt, "/bus-too-many-cells")), -E_BADDATA);
    KASSERT_EQ(fdt_node_reg(&fdt, fdt_node_by_path(&fdt, "/bus-too-many-cells/child"), 0, &address, &size), -E_BADDATA);
}

KTEST(fdt, wrapping_ranges_are_rejected)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    static const uint32_t wrapping[] = {0xffffffffu, 0xfffff000u, 0, 0x2000};
    build_begin(b, "");
    build_property_u32(b, "#address-cells", 2);
    build_property_u32(b, "#size-cells", 2);
    build_begin(b, "memory@fffffffffffff000");
    build_property_string(b, "device_type", "memory");
    build_property_cells(b, "reg", wrapping, 4);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    b->memreserve[0][0] = 0xfffffffffffff000ull;
    b->memreserve[0][1] = 0x2000;
    b->memreserve_count = 1;
    KASSERT_EQ(open_built(b, &fdt), 0);
    struct fdt_range ranges[2];
    KASSERT_EQ(fdt_memory_ranges(&fdt, ranges, 2), -E_BADDATA);
    KASSERT_EQ(fdt_memreserve_ranges(&fdt, ranges, 2), -E_BADDATA);
}

KTEST(fdt, malformed_values_fail_closed)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    static const uint32_t hart[] = {7};
    build_begin(b, "");
    build_begin(b, "chosen");
    build_property(b, "bootargs", "no-nul", 6);
    build_property_string(b, "stdout-path", "/uart:");
    build_u32(b, FDT_END_NODE);
    build_begin(b, "uart");
    build_property(b, "compatible", "ns16550a", 8); /* no NUL: never matches */
    build_u32(b, FDT_END_NODE);
    build_begin(b, "cpus");
    build_property_u32(b, "#address-cells", 1);
    build_property_u32(b, "#size-cells", 0);
    build_property(b, "timebase-frequency", "abc", 3);
    build_begin(b, "cpu@7");
    build_property_string(b, "device_type", "cpu");
    build_property_cells(b, "reg", hart, 1);
    build_property(b, "status", "okay", 4); /* no NUL */
    build_property_string(b, "mmu-type", "riscv,sv39");
    build_property_string(b, "riscv,isa", "rv64imac");
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), 0);
    const char *bootargs;
    KASSERT_EQ(fdt_chosen_bootargs(&fdt, &bootargs), -E_BADDATA);
    struct fdt_stdout_path console;
    KASSERT_EQ(fdt_chosen_stdout(&fdt, &console), 0);
    KASSERT_EQ(console.node, fdt_node_by_path(&fdt, "/uart"));
    KASSERT_STR_EQ(console.options, "");
    KASSERT_EQ(fdt_node_is_compatible(&fdt, console.node, "ns16550a"), 0);
    uint64_t hz;
    KASSERT_EQ(fdt_timebase_frequency(&fdt, &hz), -E_BADDATA);
    struct fdt_cpu cpus[1];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 1), 1);
    KASSERT_EQ(cpus[0].hartid, 7u);
    KASSERT_STR_EQ(cpus[0].status, "");
    KASSERT(!fdt_cpu_usable_for_smode(&cpus[0]));
}

/* A cpu described the Linux 6.6+ way (riscv,isa-base and riscv,isa-extensions, no riscv,isa) runs S-mode. */
KTEST(fdt, cpu_with_isa_base_only_is_usable)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    static const uint32_t hart[] = {3};
    build_begin(b, "");
    build_begin(b, "cpus");
    build_property_u32(b, "#address-cells", 1);
    build_property_u32(b, "#size-cells", 0);
    build_begin(b, "cpu@3");
    build_property_string(b, "device_type", "cpu");
    build_property_cells(b, "reg", hart, 1);
    build_property_string(b, "mmu-type", "riscv,sv39");
    build_property_string(b, "riscv,isa-base", "rv64i");
    build_property_string(b, "riscv,isa-extensions", "i");
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), 0);
    struct fdt_cpu cpus[1];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 1), 1);
    KASSERT_STR_EQ(cpus[0].isa, "rv64i");
    KASSERT(fdt_cpu_usable_for_smode(&cpus[0]));
}

KTEST(fdt, query_edges_reserved_cpus_stdout)
{
    struct fdt fdt;
    struct blob_builder *b = build_start();
    static const uint32_t empty_region[] = {0, 0x1000, 0, 0};
    static const uint32_t wrapping_region[] = {0xffffffffu, 0xfffff000u, 0, 0x2000};
    build_begin(b, "");
    build_begin(b, "chosen");
    build_property_string(b, "stdout-path", ":9600");
    build_u32(b, FDT_END_NODE);
    build_begin(b, "reserved-memory");
    build_property_u32(b, "#address-cells", 2);
    build_property_u32(b, "#size-cells", 2);
    build_begin(b, "empty@1000");
    build_property_cells(b, "reg", empty_region, 4);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_begin(b, "cpus");
    build_begin(b, "cpu@0");
    build_property_string(b, "device_type", "cpu");
    build_property(b, "reg", "", 0);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), 0);
    struct fdt_reserved_region regions[2];
    KASSERT_EQ(fdt_reserved_regions(&fdt, regions, 2), 0); /* size 0: skipped */
    struct fdt_cpu cpus[2];
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 2), -E_BADDATA); /* reg without an entry */
    struct fdt_stdout_path console;
    KASSERT_EQ(fdt_chosen_stdout(&fdt, &console), -E_NOENT);

    b = build_start();
    build_begin(b, "");
    build_begin(b, "reserved-memory");
    build_property_u32(b, "#address-cells", 2);
    build_property_u32(b, "#size-cells", 2);
    build_begin(b, "top@fffffffffffff000");
    build_property_cells(b, "reg", wrapping_region, 4);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_begin(b, "cpus");
    build_begin(b, "cpu@0");
    build_property_string(b, "device_type", "cpu");
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), 0);
    KASSERT_EQ(fdt_reserved_regions(&fdt, regions, 2), -E_BADDATA);
    KASSERT_EQ(fdt_cpus(&fdt, cpus, 2), -E_BADDATA); /* no reg at all */
}

KTEST(fdt, rejects_property_length_that_wraps_around)
{
    /* len 0xfffffffc wraps next_offset to the name-offset word, here 4 = FDT_NOP: without
     * the length check the tree would "open" with a 4 GiB property. */
    struct fdt fdt;
    struct blob_builder *b = build_start();
    memcpy(b->strings, "abc\0x", 6);
    b->strings_bytes = 6;
    build_begin(b, "");
    build_u32(b, FDT_PROP);
    build_u32(b, 0xfffffffcu);
    build_u32(b, 4); /* name "x"; read as a token: FDT_NOP */
    build_u32(b, FDT_END_NODE);
    build_u32(b, FDT_END);
    KASSERT_EQ(open_built(b, &fdt), -E_BADDATA);
}
