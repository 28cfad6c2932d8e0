/*
 * tests/fuzz/fuzz_fdt.c - libFuzzer target for the device-tree reader (kernel/platform/fdt.c, fdt_query.c).
 *
 * Opens the input as a blob of exactly its size and, if it opens, runs every query and
 * walks every node, checking that the answers agree with each other (a disagreement
 * traps). ASan/UBSan catch any read outside the input. The input is also opened from an
 * odd address, since a real blob may sit anywhere.
 *
 * Build and run (tools/fdt_fuzz.sh does both, seeding the corpus with tests' blobs):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *       -DRVMEM_HOST -I. tests/fuzz/fuzz_fdt.c kernel/platform/fdt.c kernel/platform/fdt_query.c -o build/fuzz_fdt
 *   build/fuzz_fdt -max_total_time=60 build/fdt_corpus
 */
#include <stdint.h>
#include <stdlib.h>

#include "kernel/base/errors.h"
#include "kernel/platform/fdt.h"
#include "kernel/base/string.h"

#define MAX_ENTRIES 8

/* Stops the fuzzer with a crash report when an invariant of the reader does not hold. */
#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition))                                                                                              \
            __builtin_trap();                                                                                          \
    } while (0)

static void check_ranges(int count, const struct fdt_range *ranges)
{
    for (int i = 0; i < count && i < MAX_ENTRIES; i++)
        CHECK(ranges[i].size > 0 && ranges[i].address + (ranges[i].size - 1) >= ranges[i].address);
}

static void fuzz_queries(const struct fdt *fdt)
{
    struct fdt_range ranges[MAX_ENTRIES];
    int count = fdt_memory_ranges(fdt, ranges, MAX_ENTRIES);
    CHECK(count == fdt_memory_ranges(fdt, NULL, 0));
    check_ranges(count, ranges);

    count = fdt_memreserve_ranges(fdt, ranges, MAX_ENTRIES);
    CHECK(count == fdt_memreserve_ranges(fdt, NULL, 0));
    check_ranges(count, ranges);

    struct fdt_reserved_region regions[MAX_ENTRIES];
    count = fdt_reserved_regions(fdt, regions, MAX_ENTRIES);
    CHECK(count == fdt_reserved_regions(fdt, NULL, 0));
    for (int i = 0; i < count && i < MAX_ENTRIES; i++)
        CHECK(regions[i].name != NULL && regions[i].size > 0);

    struct fdt_cpu cpus[MAX_ENTRIES];
    count = fdt_cpus(fdt, cpus, MAX_ENTRIES);
    CHECK(count == fdt_cpus(fdt, NULL, 0));
    for (int i = 0; i < count && i < MAX_ENTRIES; i++) {
        CHECK(cpus[i].status != NULL && fdt_node_name(fdt, cpus[i].node) != NULL);
        if (fdt_cpu_usable_for_smode(&cpus[i]))
            CHECK(strlen(cpus[i].isa) + strlen(cpus[i].mmu_type) < fdt->total_bytes);
    }

    const char *bootargs;
    if (fdt_chosen_bootargs(fdt, &bootargs) == 0)
        CHECK(strlen(bootargs) < fdt->total_bytes);
    struct fdt_stdout_path console;
    if (fdt_chosen_stdout(fdt, &console) == 0) {
        CHECK(fdt_node_name(fdt, console.node) != NULL);
        CHECK(console.options == NULL || strlen(console.options) < fdt->total_bytes);
    }
    uint64_t hz;
    fdt_timebase_frequency(fdt, &hz);

    static const char *const paths[] = {
        "/", "/chosen", "/cpus", "/soc/serial@10000000", "serial0", "serial0/x", "/reserved-memory", "/aliases", "//"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int node = fdt_node_by_path(fdt, paths[i]);
        CHECK(node < 0 || fdt_node_name(fdt, node) != NULL);
    }
    for (int node = fdt_find_compatible(fdt, -1, "sifive,test0"); node >= 0;
         node = fdt_find_compatible(fdt, node, "sifive,test0"))
        CHECK(fdt_node_is_compatible(fdt, node, "sifive,test0") == 1);
}

/* Checks one node: name, parent, reg entries, cells, properties, children. */
static void fuzz_node(const struct fdt *fdt, int node, int root)
{
    const char *name = fdt_node_name(fdt, node);
    CHECK(name != NULL);
    int parent = fdt_parent(fdt, node);
    CHECK(node == root ? parent == -E_NOENT : parent >= 0 && parent < node);

    if (parent >= 0) {
        struct fdt_reg reg;
        if (fdt_reg_open(fdt, parent, node, &reg) == 0) {
            for (uint32_t i = 0; i < reg.entry_count; i++) {
                uint64_t address, size;
                CHECK(fdt_reg_entry(&reg, i, &address, &size) == 0);
            }
            uint64_t address, size;
            CHECK(fdt_reg_entry(&reg, reg.entry_count, &address, &size) == -E_NOENT);
        }
        /* node must be among its parent's children. */
        int child;
        for (child = fdt_first_child(fdt, parent); child >= 0 && child != node; child = fdt_next_sibling(fdt, child))
            ;
        CHECK(child == node);
    }
    fdt_address_cells(fdt, node);
    fdt_size_cells(fdt, node);

    const char *text;
    uint32_t u32;
    uint64_t u64;
    const void *value;
    uint32_t value_bytes;
    if (fdt_property_string(fdt, node, "compatible", &text) == 0)
        CHECK(fdt_node_is_compatible(fdt, node, text) == 1);
    if (fdt_property(fdt, node, "reg", &value, &value_bytes) == 0)
        CHECK(value_bytes < fdt->total_bytes);
    fdt_property_u32(fdt, node, "#address-cells", &u32);
    fdt_property_u64(fdt, node, "timebase-frequency", &u64);
    fdt_property_string(fdt, node, "device_type", &text);
}

static void fuzz_blob(const uint8_t *data, size_t size)
{
    struct fdt fdt;
    int error = fdt_open(&fdt, data, size);
    if (error != 0) {
        CHECK(error == -E_BADDATA && fdt.invalid_reason != NULL);
        CHECK(fdt_next_node(&fdt, -1) < 0);
        return;
    }
    CHECK(fdt_total_bytes(&fdt) <= size);
    int root = fdt_next_node(&fdt, -1);
    CHECK(root >= 0);
    int visited = 0;
    int node;
    for (node = root; node >= 0; node = fdt_next_node(&fdt, node)) {
        fuzz_node(&fdt, node, root);
        visited++;
    }
    CHECK(node == -E_NOENT && visited > 0);
    fuzz_queries(&fdt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_blob(data, size);
    uint8_t *odd = malloc(size + 1);
    if (odd != NULL) {
        memcpy(odd + 1, data, size);
        fuzz_blob(odd + 1, size);
        free(odd);
    }
    return 0;
}
