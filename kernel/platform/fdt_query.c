/*
 * kernel/platform/fdt_query.c - what the device tree means: addresses (#address-cells, reg), and
 * what the kernel asks it: RAM, reserved memory, harts, console, bootargs, timebase (see
 * fdt.h for the contracts). kernel/platform/fdt.c knows the blob format; this file the bindings.
 *
 * Built only on the walking and property calls of kernel/platform/fdt.c, so every read of the
 * tree is bounds-checked there (reg values too: fdt_property bounds them). Each query visits each node at most a fixed
 * number of times. Where a property value is malformed, the answer fails closed: a bad status means "not okay", a bad
 * mmu-type or riscv,isa means absent, a bad range is -E_BADDATA.
 */
#include "kernel/platform/fdt.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"

static uint32_t read_be32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static uint64_t read_be64(const uint8_t *bytes)
{
    return (uint64_t)read_be32(bytes) << 32 | read_be32(bytes + 4);
}

/* ---- Addresses ---------------------------------------------------------------------- */

static int cells_property(const struct fdt *fdt, int node, const char *name, int default_cells)
{
    uint32_t cells;
    int error = fdt_property_u32(fdt, node, name, &cells);
    if (error == -E_NOENT)
        return default_cells;
    if (error < 0)
        return error;
    return cells <= FDT_MAX_CELLS ? (int)cells : -E_BADDATA;
}

int fdt_address_cells(const struct fdt *fdt, int node)
{
    return cells_property(fdt, node, "#address-cells", 2);
}

int fdt_size_cells(const struct fdt *fdt, int node)
{
    return cells_property(fdt, node, "#size-cells", 1);
}

/* The cell counts parent declares for its children's reg (queries read them once per parent). */
struct reg_layout {
    int address_cells;
    int size_cells;
};

static int read_reg_layout(const struct fdt *fdt, int parent, struct reg_layout *layout)
{
    layout->address_cells = fdt_address_cells(fdt, parent);
    if (layout->address_cells < 0)
        return layout->address_cells;
    layout->size_cells = fdt_size_cells(fdt, parent);
    return layout->size_cells < 0 ? layout->size_cells : 0;
}

/* fdt_reg_open with the parent's cell counts already read. */
static int open_reg(const struct fdt *fdt, const struct reg_layout *layout, int node, struct fdt_reg *reg)
{
    const void *value;
    uint32_t value_bytes;
    int error = fdt_property(fdt, node, "reg", &value, &value_bytes);
    if (error < 0)
        return error;
    if (layout->address_cells > 2 || layout->size_cells > 2)
        return -E_RANGE;
    uint32_t entry_bytes = 4u * (uint32_t)(layout->address_cells + layout->size_cells);
    if (entry_bytes == 0 || value_bytes % entry_bytes != 0)
        return -E_BADDATA;
    reg->cells = value;
    reg->entry_count = value_bytes / entry_bytes;
    reg->address_cells = (uint32_t)layout->address_cells;
    reg->size_cells = (uint32_t)layout->size_cells;
    return 0;
}

int fdt_reg_open(const struct fdt *fdt, int parent, int node, struct fdt_reg *reg)
{
    struct reg_layout layout;
    int error = read_reg_layout(fdt, parent, &layout);
    if (error < 0)
        return error;
    return open_reg(fdt, &layout, node, reg);
}

/* Reads a number of 0, 1 or 2 cells. */
static uint64_t read_cells(const uint8_t *cells, uint32_t count)
{
    return count == 2 ? read_be64(cells) : count == 1 ? read_be32(cells) : 0;
}

int fdt_reg_entry(const struct fdt_reg *reg, uint32_t index, uint64_t *address, uint64_t *size)
{
    if (index >= reg->entry_count || reg->address_cells > 2 || reg->size_cells > 2)
        return -E_NOENT;
    const uint8_t *entry = reg->cells + (size_t)index * 4u * (reg->address_cells + reg->size_cells);
    *address = read_cells(entry, reg->address_cells);
    *size = read_cells(entry + 4u * reg->address_cells, reg->size_cells);
    return 0;
}

int fdt_node_reg(const struct fdt *fdt, int node, uint32_t index, uint64_t *address, uint64_t *size)
{
    int parent = fdt_parent(fdt, node);
    if (parent < 0)
        return parent;
    struct fdt_reg reg;
    int error = fdt_reg_open(fdt, parent, node, &reg);
    if (error < 0)
        return error;
    return fdt_reg_entry(&reg, index, address, size);
}

/* ---- Queries ------------------------------------------------------------------------ */

/* True only when node has property name as a well-formed string equal to expected. */
static bool property_is(const struct fdt *fdt, int node, const char *name, const char *expected)
{
    const char *value;
    return fdt_property_string(fdt, node, name, &value) == 0 && strcmp(value, expected) == 0;
}

/* A node is enabled when status is absent, "okay" or the legacy "ok". */
static bool node_is_enabled(const struct fdt *fdt, int node)
{
    const char *status;
    int error = fdt_property_string(fdt, node, "status", &status);
    if (error == -E_NOENT)
        return true;
    return error == 0 && (strcmp(status, "okay") == 0 || strcmp(status, "ok") == 0);
}

/* -E_BADDATA when [address, address + size) wraps past the top of the address space. */
static int check_range(uint64_t address, uint64_t size)
{
    return size > UINT64_MAX - address ? -E_BADDATA : 0;
}

/* An iteration over children ends with -E_NOENT; anything else negative is an error. */
static int end_of_children(int node, int count)
{
    return node == -E_NOENT ? count : node;
}

/*
 * Appends the non-empty reg entries of node (cells from its parent's layout) to ranges, counting
 * past max_ranges. Returns the new count or a negative error; no reg adds nothing.
 */
static int append_reg_ranges(const struct fdt *fdt, const struct reg_layout *layout, int node, struct fdt_range *ranges,
                             size_t max_ranges, int count)
{
    struct fdt_reg reg;
    int error = open_reg(fdt, layout, node, &reg);
    if (error == -E_NOENT)
        return count;
    if (error < 0)
        return error;
    for (uint32_t index = 0; index < reg.entry_count; index++) {
        struct fdt_range range;
        fdt_reg_entry(&reg, index, &range.address, &range.size);
        if (range.size == 0)
            continue;
        if (check_range(range.address, range.size) < 0)
            return -E_BADDATA;
        if ((size_t)count < max_ranges)
            ranges[count] = range;
        count++;
    }
    return count;
}

int fdt_memory_ranges(const struct fdt *fdt, struct fdt_range *ranges, size_t max_ranges)
{
    int root = fdt_next_node(fdt, -1);
    if (root < 0)
        return root;
    struct reg_layout layout;
    int error = read_reg_layout(fdt, root, &layout);
    if (error < 0)
        return error;
    int count = 0;
    int node;
    for (node = fdt_first_child(fdt, root); node >= 0; node = fdt_next_sibling(fdt, node)) {
        if (!property_is(fdt, node, "device_type", "memory") || !node_is_enabled(fdt, node))
            continue;
        count = append_reg_ranges(fdt, &layout, node, ranges, max_ranges, count);
        if (count < 0)
            return count;
    }
    return end_of_children(node, count);
}

int fdt_memreserve_ranges(const struct fdt *fdt, struct fdt_range *ranges, size_t max_ranges)
{
    /* fdt_open checked that all entries and the terminator lie inside the blob. */
    const uint8_t *entry = fdt->blob + fdt->memreserve_offset;
    for (uint32_t index = 0; index < fdt->memreserve_count; index++, entry += 16) {
        struct fdt_range range = {read_be64(entry), read_be64(entry + 8)};
        if (check_range(range.address, range.size) < 0)
            return -E_BADDATA;
        if (index < max_ranges)
            ranges[index] = range;
    }
    return (int)fdt->memreserve_count;
}

/* Appends the reg entries of one /reserved-memory child; see append_reg_ranges. */
static int append_reserved_child(const struct fdt *fdt, const struct reg_layout *layout, int child,
                                 struct fdt_reserved_region *regions, size_t max_regions, int count)
{
    struct fdt_reg reg;
    int error = open_reg(fdt, layout, child, &reg);
    if (error == -E_NOENT)
        return count; /* a dynamically placed pool: nothing fixed to avoid */
    if (error < 0)
        return error;
    const void *unused_value;
    uint32_t unused_bytes;
    bool no_map = fdt_property(fdt, child, "no-map", &unused_value, &unused_bytes) == 0;
    for (uint32_t index = 0; index < reg.entry_count; index++) {
        struct fdt_reserved_region region = {fdt_node_name(fdt, child), 0, 0, no_map};
        fdt_reg_entry(&reg, index, &region.address, &region.size);
        if (region.size == 0)
            continue;
        if (check_range(region.address, region.size) < 0)
            return -E_BADDATA;
        if ((size_t)count < max_regions)
            regions[count] = region;
        count++;
    }
    return count;
}

int fdt_reserved_regions(const struct fdt *fdt, struct fdt_reserved_region *regions, size_t max_regions)
{
    int reserved_memory = fdt_node_by_path(fdt, "/reserved-memory");
    if (reserved_memory == -E_NOENT)
        return 0;
    if (reserved_memory < 0)
        return reserved_memory;
    struct reg_layout layout;
    int error = read_reg_layout(fdt, reserved_memory, &layout);
    if (error < 0)
        return error;
    int count = 0;
    int child;
    for (child = fdt_first_child(fdt, reserved_memory); child >= 0; child = fdt_next_sibling(fdt, child)) {
        if (!node_is_enabled(fdt, child))
            continue;
        count = append_reserved_child(fdt, &layout, child, regions, max_regions, count);
        if (count < 0)
            return count;
    }
    return end_of_children(child, count);
}

int fdt_interrupt_controllers(const struct fdt *fdt, struct fdt_device_range *devices, size_t max_devices)
{
    int count = 0, node;
    for (node = fdt_next_node(fdt, -1); node >= 0; node = fdt_next_node(fdt, node)) {
        const void *unused_value;
        uint32_t unused_bytes;
        if (fdt_property(fdt, node, "interrupt-controller", &unused_value, &unused_bytes) != 0 ||
            !node_is_enabled(fdt, node))
            continue;
        uint64_t address, size;
        int error = fdt_node_reg(fdt, node, 0, &address, &size);
        if (error == -E_NOENT)
            continue; /* a hart's local controller: no registers of its own */
        if (error < 0 || check_range(address, size) < 0)
            return -E_BADDATA;
        if ((size_t)count < max_devices)
            devices[count] = (struct fdt_device_range){fdt_node_name(fdt, node), address, size};
        count++;
    }
    return node == -E_NOENT ? count : node;
}

/* Fills cpu from a cpu node; a cpu needs a reg entry (its hartid). */
static int read_cpu(const struct fdt *fdt, const struct reg_layout *layout, int node, struct fdt_cpu *cpu)
{
    struct fdt_reg reg;
    int error = open_reg(fdt, layout, node, &reg);
    if (error == -E_NOENT)
        return -E_BADDATA;
    if (error < 0)
        return error;
    uint64_t unused_size;
    if (fdt_reg_entry(&reg, 0, &cpu->hartid, &unused_size) < 0)
        return -E_BADDATA;
    cpu->node = node;
    error = fdt_property_string(fdt, node, "status", &cpu->status);
    if (error == -E_NOENT)
        cpu->status = "okay";
    else if (error < 0)
        cpu->status = "";
    if (fdt_property_string(fdt, node, "mmu-type", &cpu->mmu_type) < 0)
        cpu->mmu_type = NULL;
    /* Trees written for Linux 6.6 and later may give only riscv,isa-base (+ riscv,isa-extensions). */
    if (fdt_property_string(fdt, node, "riscv,isa", &cpu->isa) < 0 &&
        fdt_property_string(fdt, node, "riscv,isa-base", &cpu->isa) < 0)
        cpu->isa = NULL;
    return 0;
}

int fdt_cpus(const struct fdt *fdt, struct fdt_cpu *cpus, size_t max_cpus)
{
    int cpus_node = fdt_node_by_path(fdt, "/cpus");
    if (cpus_node < 0)
        return cpus_node;
    struct reg_layout layout;
    int error = read_reg_layout(fdt, cpus_node, &layout);
    if (error < 0)
        return error;
    int count = 0;
    int node;
    for (node = fdt_first_child(fdt, cpus_node); node >= 0; node = fdt_next_sibling(fdt, node)) {
        if (!property_is(fdt, node, "device_type", "cpu"))
            continue;
        struct fdt_cpu cpu;
        error = read_cpu(fdt, &layout, node, &cpu);
        if (error < 0)
            return error;
        if ((size_t)count < max_cpus)
            cpus[count] = cpu;
        count++;
    }
    return end_of_children(node, count);
}

bool fdt_cpu_usable_for_smode(const struct fdt_cpu *cpu)
{
    bool okay = cpu->status != NULL && (strcmp(cpu->status, "okay") == 0 || strcmp(cpu->status, "ok") == 0);
    return okay && cpu->mmu_type != NULL && cpu->isa != NULL;
}

int fdt_chosen_bootargs(const struct fdt *fdt, const char **bootargs)
{
    int chosen = fdt_node_by_path(fdt, "/chosen");
    if (chosen < 0)
        return chosen;
    return fdt_property_string(fdt, chosen, "bootargs", bootargs);
}

int fdt_chosen_stdout(const struct fdt *fdt, struct fdt_stdout_path *result)
{
    int chosen = fdt_node_by_path(fdt, "/chosen");
    if (chosen < 0)
        return chosen;
    const char *path;
    int error = fdt_property_string(fdt, chosen, "stdout-path", &path);
    if (error == -E_NOENT)
        error = fdt_property_string(fdt, chosen, "linux,stdout-path", &path);
    if (error < 0)
        return error;
    const char *colon = strchr(path, ':');
    size_t path_bytes = colon != NULL ? (size_t)(colon - path) : strlen(path);
    if (path_bytes == 0)
        return -E_NOENT;
    int node = fdt_node_by_path_bytes(fdt, path, path_bytes);
    if (node < 0)
        return node;
    result->node = node;
    result->options = colon != NULL ? colon + 1 : NULL;
    return 0;
}

int fdt_timebase_frequency(const struct fdt *fdt, uint64_t *hz)
{
    int cpus = fdt_node_by_path(fdt, "/cpus");
    if (cpus < 0)
        return cpus;
    int error = fdt_property_u64(fdt, cpus, "timebase-frequency", hz);
    if (error != -E_NOENT)
        return error;
    int node;
    for (node = fdt_first_child(fdt, cpus); node >= 0; node = fdt_next_sibling(fdt, node)) {
        if (!property_is(fdt, node, "device_type", "cpu"))
            continue;
        error = fdt_property_u64(fdt, node, "timebase-frequency", hz);
        if (error != -E_NOENT)
            return error;
    }
    return node;
}
