/*
 * tests/mm/vm_shadow.c - the page-table core against a shadow model: random map, unmap, protect
 * and translate in a window of the address space, every result predicted by a simple model (a
 * list of mapped extents: virtual, physical, length, permissions), table-page shortages injected.
 *
 * After each change the addresses around its ends are translated and compared with the model;
 * every VALIDATE_EVERY operations the validator runs and every leaf of the space is compared with
 * the model, both ways (each leaf lies in one extent with the same translation, and the bytes
 * mapped add up). At the end everything is unmapped and the table pages are counted back to the
 * root, then to zero. The host runs a million operations in each mode; the kernel fewer (the
 * million-operation kernel run with the page allocator is tests/mm/vm_pages.c). Seeds are fixed.
 */
#include "kernel/mm/vm.h"

#include "kernel/base/errors.h"
#include "tests/harness/ktest.h"
#include "tests/mm/vm_arena.h"

#define PAGE PAGE_SIZE
#define MAX_EXTENTS 48u
#define VALIDATE_EVERY 4096u
#if defined(RVMEM_HOST)
#define OPERATIONS 1000000u
#else
#define OPERATIONS 200000u /* a million take about 3 s under QEMU; make test boots the suites three times */
#endif

struct extent {
    uintptr_t virtual;
    uint64_t physical;
    uintptr_t bytes;
    unsigned permissions;
};

struct shadow {
    struct vm_space space;
    struct extent extents[MAX_EXTENTS + 4];
    unsigned count;
    uintptr_t window; /* the model's addresses are [0, window) */
    uint32_t random;
    unsigned long operations, busy, shortages;
};

static struct shadow shadow;

static uint32_t next_random(void)
{
    uint32_t x = shadow.random; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    shadow.random = x;
    return x;
}

static uintptr_t leaf(unsigned level)
{
    return vm_leaf_bytes(&shadow.space, level);
}

static unsigned top(void)
{
    return vm_levels(&shadow.space) - 1;
}

/* The model's translation of virtual: its permissions (0: unmapped) and *physical. */
static unsigned model_translate(uintptr_t virtual, uint64_t *physical)
{
    for (unsigned i = 0; i < shadow.count; i++) {
        const struct extent *e = &shadow.extents[i];
        if (virtual - e->virtual < e->bytes) {
            *physical = e->physical + (virtual - e->virtual);
            return e->permissions;
        }
    }
    return 0;
}

static bool model_overlaps(uintptr_t virtual, uintptr_t bytes)
{
    for (unsigned i = 0; i < shadow.count; i++) {
        const struct extent *e = &shadow.extents[i];
        if (virtual < e->virtual + e->bytes && e->virtual < virtual + bytes)
            return true;
    }
    return false;
}

/* Splits the extent that contains boundary strictly inside, so no extent crosses it. */
static void model_cut_at(uintptr_t boundary)
{
    for (unsigned i = 0; i < shadow.count; i++) {
        struct extent *e = &shadow.extents[i];
        if (boundary > e->virtual && boundary - e->virtual < e->bytes) {
            uintptr_t head = boundary - e->virtual;
            shadow.extents[shadow.count++] =
                (struct extent){boundary, e->physical + head, e->bytes - head, e->permissions};
            e->bytes = head;
            return;
        }
    }
}

/* After cutting at both ends: removes (permissions 0) or re-permits the extents inside the range. */
static void model_change(uintptr_t virtual, uintptr_t bytes, unsigned permissions)
{
    model_cut_at(virtual);
    model_cut_at(virtual + bytes);
    for (unsigned i = 0; i < shadow.count;) {
        struct extent *e = &shadow.extents[i];
        if (e->virtual >= virtual && e->virtual - virtual < bytes) {
            if (permissions == 0) {
                *e = shadow.extents[--shadow.count];
                continue;
            }
            e->permissions = permissions;
        }
        i++;
    }
}

/* The core and the model agree about virtual. */
static void probe(uintptr_t virtual)
{
    if (virtual >= shadow.window)
        return;
    uint64_t expected = 0, found = 0;
    unsigned permissions = model_translate(virtual, &expected);
    int result = vm_translate(&shadow.space, virtual, &found);
    shadow.operations++;
    if (permissions == 0) {
        KASSERT_EQ(result, -E_NOENT);
    } else {
        KASSERT_EQ(result, (int)permissions);
        KASSERT_EQ(found, expected);
    }
}

static void probe_range(uintptr_t virtual, uintptr_t bytes)
{
    probe(virtual - PAGE);
    probe(virtual);
    probe(virtual + bytes / 2);
    probe(virtual + bytes - 1);
    probe(virtual + bytes);
}

/* Every leaf lies in one extent with the same translation, and the mapped bytes add up. */
static void compare_everything(void)
{
    KASSERT_EQ(vm_validate(&shadow.space), 0);
    uint64_t leaf_bytes = 0, model_bytes = 0;
    struct vm_mapping mapping;
    for (uintptr_t at = 0; at < shadow.window && vm_find(&shadow.space, at, &mapping) == 0;) {
        KASSERT_LT(mapping.virtual, shadow.window);
        uint64_t physical = 0;
        unsigned permissions = model_translate(mapping.virtual, &physical);
        KASSERT_EQ(permissions, mapping.permissions);
        KASSERT_EQ(physical, mapping.physical);
        uint64_t last_physical = 0;
        KASSERT_EQ(model_translate(mapping.virtual + mapping.bytes - 1, &last_physical), permissions);
        KASSERT_EQ(last_physical, physical + mapping.bytes - 1);
        leaf_bytes += mapping.bytes;
        at = mapping.virtual + mapping.bytes;
    }
    for (unsigned i = 0; i < shadow.count; i++)
        model_bytes += shadow.extents[i].bytes;
    KASSERT_EQ(leaf_bytes, model_bytes);
    struct vm_stats stats;
    vm_get_stats(&shadow.space, &stats);
    KASSERT_EQ(stats.mapped_bytes, model_bytes);
    KASSERT_EQ(stats.table_pages, vm_arena_taken());
}

static unsigned random_permissions(void)
{
    static const unsigned choices[] = {VM_READ, VM_READ | VM_WRITE, VM_EXECUTE, VM_READ | VM_EXECUTE,
                                       VM_READ | VM_WRITE | VM_EXECUTE};
    unsigned permissions = choices[next_random() % 5];
    if (next_random() % 4 == 0)
        permissions |= VM_USER;
    if (next_random() % 8 == 0)
        permissions |= VM_GLOBAL;
    return permissions;
}

/* A random range inside the window: small runs of pages, runs of large leaves, or a top-level leaf. */
static void random_range(uintptr_t *virtual, uintptr_t *bytes)
{
    uint32_t shape = next_random() % 16;
    uintptr_t align = shape < 8 ? PAGE : shape < 14 ? leaf(1) : leaf(top());
    uintptr_t length = shape < 8    ? (1 + next_random() % 16) * PAGE
                       : shape < 14 ? (1 + next_random() % 3) * leaf(1)
                                    : leaf(top());
    if (next_random() % 4 == 0) /* ends off the large-leaf grid */
        length += (next_random() % 4) * PAGE;
    uintptr_t start = (uintptr_t)(next_random() % (shadow.window / PAGE)) * PAGE;
    start &= ~(align - 1);
    if (next_random() % 4 == 0)
        start += (next_random() % 4) * PAGE;
    if (length > shadow.window)
        length = shadow.window;
    if (start > shadow.window - length)
        start = shadow.window - length;
    *virtual = start;
    *bytes = length;
}

/* Now and then the next call finds the table pages short after a few allocations. */
static void maybe_short_of_tables(void)
{
    if (next_random() % 16 == 0)
        vm_arena_fail_after(next_random() % 4);
}

static void do_map(void)
{
    uintptr_t virtual, bytes;
    random_range(&virtual, &bytes);
    /* The same alignment as virtual modulo the largest leaf (large leaves), or off it for small ranges. */
    uint64_t physical = virtual + (uint64_t)(1 + next_random() % 8) * leaf(top());
    if (bytes <= 4 * leaf(1) && next_random() % 4 == 0)
        physical += PAGE;
    unsigned permissions = random_permissions();
    bool busy = model_overlaps(virtual, bytes);
    maybe_short_of_tables();
    int result = vm_map(&shadow.space, virtual, physical, bytes, permissions);
    vm_arena_never_fail();
    shadow.operations++;
    if (busy) { /* short of tables before reaching the overlap, a call fails for want of them */
        KASSERT(result == -E_BUSY || result == -E_NOMEM);
        shadow.busy += result == -E_BUSY;
    } else if (result == -E_NOMEM) {
        shadow.shortages++;
    } else {
        KASSERT_EQ(result, 0);
        shadow.extents[shadow.count++] = (struct extent){virtual, physical, bytes, permissions};
    }
    probe_range(virtual, bytes);
}

/* Unmaps (permissions 0) or protects a random range, or one whole extent. */
static void do_change(unsigned permissions, bool whole_extent)
{
    uintptr_t virtual, bytes;
    if (whole_extent && shadow.count > 0) {
        const struct extent *e = &shadow.extents[next_random() % shadow.count];
        virtual = e->virtual;
        bytes = e->bytes;
    } else {
        random_range(&virtual, &bytes);
    }
    maybe_short_of_tables();
    int result =
        permissions ? vm_protect(&shadow.space, virtual, bytes, permissions) : vm_unmap(&shadow.space, virtual, bytes);
    vm_arena_never_fail();
    shadow.operations++;
    if (result == -E_NOMEM) {
        shadow.shortages++;
    } else {
        KASSERT_EQ(result, 0);
        model_change(virtual, bytes, permissions);
    }
    probe_range(virtual, bytes);
}

static void run_shadow(enum vm_mode mode, uint32_t seed)
{
    struct vm_tables tables;
    KASSERT(vm_arena_reset(&tables));
    KASSERT_EQ(vm_init(&shadow.space, mode, &tables), 0);
    shadow.count = 0;
    shadow.random = seed;
    shadow.operations = shadow.busy = shadow.shortages = 0;
    /* Three top-level slots on Sv39 (3 GiB: it fits a 32-bit uintptr_t), sixteen on Sv32. */
    shadow.window = mode == VM_MODE_SV39 ? 3 * leaf(top()) : 16 * leaf(top());
    unsigned long next_check = VALIDATE_EVERY;
    while (shadow.operations < OPERATIONS && !ktest_failed()) {
        uint32_t choice = next_random() % 16;
        if (shadow.count + 2 >= MAX_EXTENTS) /* room for the model's cuts: shrink first */
            do_change(0, true);
        else if (choice < 6)
            do_map();
        else if (choice < 9)
            do_change(0, choice == 8);
        else if (choice < 11)
            do_change(random_permissions(), false);
        else
            for (unsigned i = 0; i < 8; i++)
                probe(next_random() % 2 && shadow.count ? shadow.extents[next_random() % shadow.count].virtual +
                                                              (uintptr_t)(next_random() % 64) * PAGE
                                                        : (uintptr_t)next_random() % shadow.window);
        if (shadow.operations >= next_check) {
            compare_everything();
            next_check += VALIDATE_EVERY;
        }
    }
    if (ktest_failed())
        return;
    compare_everything();
    ktest_note("%s: %lu operations, %lu refused as busy, %lu short of tables, %lu table pages at the end",
               mode == VM_MODE_SV39 ? "Sv39" : "Sv32", shadow.operations, shadow.busy, shadow.shortages,
               shadow.space.table_pages);
    KASSERT_GT(shadow.busy, 0);
    KASSERT_GT(shadow.shortages, 0);
    KASSERT_EQ(vm_unmap(&shadow.space, 0, shadow.window), 0);
    struct vm_stats stats;
    vm_get_stats(&shadow.space, &stats);
    KASSERT_EQ(stats.table_pages, 1);
    KASSERT_EQ(stats.mapped_bytes, 0);
    KASSERT_EQ(vm_arena_taken(), 1);
    vm_destroy(&shadow.space);
    KASSERT_EQ(vm_arena_taken(), 0);
}

KTEST(vm_shadow, random_operations)
{
#if defined(RVMEM_HOST)
    run_shadow(VM_MODE_SV39, 0x9e3779b9u);
    run_shadow(VM_MODE_SV32, 0x7f4a7c15u);
#elif __riscv_xlen == 32
    run_shadow(VM_MODE_SV32, 0x7f4a7c15u);
#else
    run_shadow(VM_MODE_SV39, 0x9e3779b9u);
#endif
}
