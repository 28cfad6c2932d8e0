/*
 * kernel/platform/fdt.h - a reader for flattened device trees (DTB) that does not trust its input.
 *
 * The firmware hands the kernel a device tree in a1; a bootloader, a fuzzer or a bit
 * flip may have made it anything at all. So:
 *   - fdt_open() checks the header, every block's bounds and alignment, and then walks
 *     the whole structure block once: tokens, names, property names and lengths,
 *     balanced nesting no deeper than FDT_MAX_DEPTH, a single root, FDT_END.
 *   - Every later read is bounds-checked again (same code path), and every loop advances
 *     by at least one 4-byte token, so no input can make a call read outside the blob.
 *     Cost: each call reads O(blob size) tokens at most; a path lookup O(blob size) per
 *     path component (an alias counts as one more path).
 *   - Failures are negative error codes (kernel/base/errors.h): -E_BADDATA for a malformed
 *     tree, -E_NOENT for something absent, -E_RANGE for a value that does not fit,
 *     -E_INVAL for a bad argument. Nothing panics.
 *
 * Nodes are named by their offset (an int >= 0) inside the structure block, as in libfdt;
 * negative values are errors. The reader keeps pointers into the blob: the blob must stay
 * mapped and unchanged while any result is used. Strings returned point into the blob and
 * are NUL-terminated inside it. Values are read byte by byte, so the blob needs no
 * particular alignment. Nothing is allocated; no global state: safe on any hart as long
 * as the blob is not written.
 *
 * kernel/platform/fdt.c reads the blob format; kernel/platform/fdt_query.c interprets it: cells and reg,
 * and the queries the kernel needs (memory, /memreserve/, /reserved-memory, cpus,
 * /chosen, timebase). A query that fills a caller array returns how many entries EXIST,
 * like snprintf: when that is more than max, only the first max were filled, and the
 * caller decides whether that is fatal (truncated RAM is safe; truncated reservations
 * are not).
 */
#ifndef RVMEM_KERNEL_PLATFORM_FDT_H
#define RVMEM_KERNEL_PLATFORM_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_MAGIC 0xd00dfeedu
#define FDT_HEADER_BYTES 40u /* version 17 header; version 16 lacks size_dt_struct (36) */
#define FDT_MAX_DEPTH 32     /* nesting levels, the root being level 1; deeper is -E_BADDATA */
#define FDT_MAX_CELLS 4      /* largest #address-cells / #size-cells accepted */

/* Structure-block tokens (big-endian 32-bit words in the blob). */
enum fdt_token { FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9 };

/* An opened, validated blob. Filled by fdt_open(); read-only afterwards. */
struct fdt {
    const uint8_t *blob;
    uint32_t total_bytes; /* header totalsize */
    uint32_t version;
    uint32_t boot_cpuid;    /* header boot_cpuid_phys */
    uint32_t struct_offset; /* structure block, from the blob start */
    uint32_t struct_bytes;
    uint32_t strings_offset; /* strings block */
    uint32_t strings_bytes;
    uint32_t memreserve_offset; /* memory reservation block */
    uint32_t memreserve_count;  /* entries before the terminator */
    const char *invalid_reason; /* after a failed fdt_open: which check failed, for messages */
};

/* A physical address range. */
struct fdt_range {
    uint64_t address;
    uint64_t size;
};

/*
 * Opens the blob: checks magic, version (>= 16, last_comp_version <= 17), that totalsize
 * is at least a header and at most max_bytes (pass SIZE_MAX when unknown: then only the
 * 40-byte header is read before totalsize is trusted) and below 2 GiB, that every block
 * lies inside totalsize after the header, the memory reservation block is 8-aligned and
 * terminated, the structure block is 4-aligned, and the structure is well formed (see top).
 * Returns 0, or -E_BADDATA with fdt->invalid_reason set; -E_INVAL if fdt or blob is NULL.
 * After a failure every other call on this fdt fails too (it is left with empty blocks).
 */
int fdt_open(struct fdt *fdt, const void *blob, size_t max_bytes);

/* Total size of the blob in bytes (header totalsize), e.g. to keep it out of free RAM. */
size_t fdt_total_bytes(const struct fdt *fdt);

/* A short English description of a return code of this module (0 or negative). Never NULL. */
const char *fdt_strerror(int code);

/* ---- Walking the tree ---------------------------------------------------------------- */

/*
 * The next node after node in document order (depth first); node < 0 gives the root.
 * Returns a node offset, -E_NOENT after the last node, -E_BADDATA on a corrupt structure.
 */
int fdt_next_node(const struct fdt *fdt, int node);

/* The first child of node, or -E_NOENT when it has none; -E_BADDATA if corrupt. */
int fdt_first_child(const struct fdt *fdt, int node);

/* The next sibling of node (skipping node's subtree), or -E_NOENT; -E_BADDATA if corrupt. */
int fdt_next_sibling(const struct fdt *fdt, int node);

/* The parent of node (found by a walk from the root: O(blob)), or -E_NOENT for the root. */
int fdt_parent(const struct fdt *fdt, int node);

/* The node's name with its unit address ("serial@10000000"; "" for the root), or NULL. */
const char *fdt_node_name(const struct fdt *fdt, int node);

/*
 * Finds a node by path: "/" is the root, "/soc/serial@10000000" matches each component
 * exactly (no unit-address guessing). A path not starting with '/' begins with an alias
 * from /aliases ("serial0" or "serial0/child"); alias values must be absolute paths.
 * Returns the node, -E_NOENT if absent, -E_BADDATA if corrupt, -E_INVAL for an empty path.
 */
int fdt_node_by_path(const struct fdt *fdt, const char *path);

/* Same, for a path given as path_bytes bytes that need not be NUL-terminated. */
int fdt_node_by_path_bytes(const struct fdt *fdt, const char *path, size_t path_bytes);

/*
 * The next node after after_node (after_node < 0: start at the root, which is included)
 * whose "compatible" list contains compatible. Returns the node, -E_NOENT when none is
 * left, -E_BADDATA if corrupt. Iterate with: for (n = fdt_find_compatible(f, -1, c);
 * n >= 0; n = fdt_find_compatible(f, n, c)).
 */
int fdt_find_compatible(const struct fdt *fdt, int after_node, const char *compatible);

/* ---- Properties ---------------------------------------------------------------------- */

/*
 * Finds property name of node: sets *value (pointer into the blob) and *value_bytes.
 * Returns 0, -E_NOENT if absent, -E_BADDATA if corrupt.
 */
int fdt_property(const struct fdt *fdt, int node, const char *name, const void **value, uint32_t *value_bytes);

/* Reads a property holding exactly one big-endian u32. 0, -E_NOENT, or -E_BADDATA (other size). */
int fdt_property_u32(const struct fdt *fdt, int node, const char *name, uint32_t *result);

/* Reads a property holding one big-endian u32 or u64 (4 or 8 bytes). 0, -E_NOENT, -E_BADDATA. */
int fdt_property_u64(const struct fdt *fdt, int node, const char *name, uint64_t *result);

/*
 * Reads a string property: its value must end with a NUL inside its length (for a string
 * list, *result is the first string). 0, -E_NOENT, or -E_BADDATA.
 */
int fdt_property_string(const struct fdt *fdt, int node, const char *name, const char **result);

/*
 * Whether node's "compatible" string list contains compatible exactly.
 * Returns 1 yes, 0 no (also when there is no "compatible"), -E_BADDATA if corrupt.
 */
int fdt_node_is_compatible(const struct fdt *fdt, int node, const char *compatible);

/* ---- Addresses: #address-cells, #size-cells, reg (kernel/platform/fdt_query.c) ---------------- */

/* The #address-cells node declares for its children: 2 when absent. 0..FDT_MAX_CELLS, or -E_BADDATA. */
int fdt_address_cells(const struct fdt *fdt, int node);

/* The #size-cells node declares for its children: 1 when absent. 0..FDT_MAX_CELLS, or -E_BADDATA. */
int fdt_size_cells(const struct fdt *fdt, int node);

/* A node's "reg" property with the cell counts of its parent, ready to decode. */
struct fdt_reg {
    const uint8_t *cells;   /* inside the blob */
    uint32_t entry_count;   /* (address, size) pairs */
    uint32_t address_cells; /* 0..2 */
    uint32_t size_cells;    /* 0..2 */
};

/*
 * Prepares node's reg for fdt_reg_entry, using parent's #address-cells/#size-cells;
 * the caller passes parent (it usually knows it; fdt_parent finds it otherwise).
 * Returns 0, -E_NOENT without reg, -E_RANGE if a cell count is above 2 (does not fit
 * 64 bits), -E_BADDATA if reg is not a whole number of entries, entries are 0 bytes, or
 * parent's cell counts are malformed.
 */
int fdt_reg_open(const struct fdt *fdt, int parent, int node, struct fdt_reg *reg);

/* Decodes entry index (size is 0 when size_cells is 0). 0, or -E_NOENT past the last entry. */
int fdt_reg_entry(const struct fdt_reg *reg, uint32_t index, uint64_t *address, uint64_t *size);

/* fdt_reg_open with the parent found by fdt_parent, then fdt_reg_entry. Same returns. */
int fdt_node_reg(const struct fdt *fdt, int node, uint32_t index, uint64_t *address, uint64_t *size);

/* ---- Queries the kernel needs (kernel/platform/fdt_query.c) ---------------------------------- */

/*
 * RAM: every reg entry of every child of the root with device_type = "memory" whose
 * status is okay (or absent), in tree order; entries of size 0 are skipped. Memory nodes
 * elsewhere are not searched (as in Linux: the spec puts them under the root).
 * Fills ranges[0..max_ranges-1]; returns how many exist (may exceed max_ranges), or
 * -E_BADDATA (malformed reg or root cell counts, or a range wrapping past 2^64),
 * -E_RANGE (cells > 2).
 */
int fdt_memory_ranges(const struct fdt *fdt, struct fdt_range *ranges, size_t max_ranges);

/*
 * The /memreserve/ entries of the memory reservation block (there is no size-0 entry:
 * size 0 ends the block, as in libfdt). Returns how many exist (may exceed max_ranges),
 * or -E_BADDATA if one wraps past 2^64.
 */
int fdt_memreserve_ranges(const struct fdt *fdt, struct fdt_range *ranges, size_t max_ranges);

/* A region from a child of /reserved-memory. */
struct fdt_reserved_region {
    const char *name; /* the child node's name, e.g. "mmode_resv0@80000000" */
    uint64_t address;
    uint64_t size;
    bool no_map; /* the child has the "no-map" property */
};

/*
 * Every reg entry of every enabled child of /reserved-memory (cells from /reserved-memory);
 * children without reg (dynamically placed pools) and size-0 entries are skipped.
 * Returns how many exist (0 without /reserved-memory; may exceed max_regions), or
 * -E_BADDATA / -E_RANGE as fdt_memory_ranges.
 */
int fdt_reserved_regions(const struct fdt *fdt, struct fdt_reserved_region *regions, size_t max_regions);

/* A device's first register range. name points into the blob (the node's name). */
struct fdt_device_range {
    const char *name;
    uint64_t address;
    uint64_t size;
};

/*
 * The interrupt controllers with registers: the first reg entry of every enabled node that has
 * the "interrupt-controller" property and a reg (a PLIC, APLIC or IMSIC; each hart's local
 * controller under /cpus has no reg and is skipped), in tree order. Returns how many exist (may
 * exceed max_devices), or -E_BADDATA (a malformed reg, or a range wrapping past 2^64).
 */
int fdt_interrupt_controllers(const struct fdt *fdt, struct fdt_device_range *devices, size_t max_devices);

/* A hart described under /cpus. Strings point into the blob. */
struct fdt_cpu {
    int node;
    uint64_t hartid;      /* reg entry 0 */
    const char *status;   /* "okay" when absent; "" when malformed */
    const char *mmu_type; /* "riscv,sv39"...; NULL when absent or malformed */
    const char *isa;      /* riscv,isa (else riscv,isa-base); NULL when absent or malformed */
};

/*
 * Every child of /cpus with device_type = "cpu", in tree order. Returns how many exist
 * (may exceed max_cpus), -E_NOENT without /cpus, -E_BADDATA if a cpu has no usable reg
 * or /cpus has malformed cell counts, -E_RANGE if #address-cells of /cpus is above 2.
 */
int fdt_cpus(const struct fdt *fdt, struct fdt_cpu *cpus, size_t max_cpus);

/*
 * Whether the kernel may start this hart in S-mode: status "okay" (or legacy "ok"),
 * mmu-type present and riscv,isa present. A monitor core such as sifive_u's hart 0
 * (no mmu-type: it has no S-mode) is not usable; "riscv,none" (S-mode without paging)
 * counts as present.
 */
bool fdt_cpu_usable_for_smode(const struct fdt_cpu *cpu);

/* /chosen bootargs: sets *bootargs. 0, -E_NOENT (no /chosen or no bootargs), -E_BADDATA. */
int fdt_chosen_bootargs(const struct fdt *fdt, const char **bootargs);

/* Where /chosen stdout-path points. */
struct fdt_stdout_path {
    int node;            /* the console node */
    const char *options; /* text after ':' ("115200n8"), NUL-terminated in the blob; NULL when none */
};

/*
 * Resolves /chosen stdout-path (or the legacy linux,stdout-path): an absolute path or
 * an alias, optionally followed by ":options". Returns 0, -E_NOENT when there is no such
 * property or it names no node, -E_BADDATA if corrupt.
 */
int fdt_chosen_stdout(const struct fdt *fdt, struct fdt_stdout_path *result);

/*
 * timebase-frequency (Hz) from /cpus, else from the first cpu node that has it (u32 or u64).
 * Returns 0, -E_NOENT if nowhere, -E_BADDATA if malformed.
 */
int fdt_timebase_frequency(const struct fdt *fdt, uint64_t *hz);

#endif
