/*
 * tests/fuzz/fuzz_vm.c - libFuzzer target for the page-table core (kernel/mm/vm.h).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -DRVMEM_HOST -DRVMEM_CHECKED=1 -I. (make fuzz)
 *
 * The input picks the mode (Sv39 or Sv32), then a stream of operations: map, unmap and protect of
 * ranges shaped to make every leaf size and every split appear, unmap of a whole mapping,
 * translations, calls with raw 64-bit arguments (whose validity a second, independent reading of
 * the rules predicts), and table-page shortages injected before the next call. A shadow model (a
 * list of mapped extents) predicts each result: -E_BUSY exactly when a map overlaps something
 * (or -E_NOMEM when the tables ran short first), -E_INVAL exactly for bad arguments, and after
 * -E_NOMEM nothing changed. After every operation the validator runs and every leaf of the space
 * is compared with the model; at the end every table page must be back. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/base/errors.h"
#include "kernel/mm/vm.h"

#define PAGE ((uintptr_t)PAGE_SIZE)
#define ARENA_PAGES 256u
#define MAX_EXTENTS 64u
#define FAKE_PHYSICAL_BASE ((uintptr_t)0x300000000) /* above 4 GiB: Sv32's 34-bit entries */

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr, "fuzz_vm: %s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);                     \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* Table pages: a stack of free arena pages; a planned shortage refuses every allocation after N. */
static unsigned char arena[ARENA_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned free_pages[ARENA_PAGES], free_count;
static unsigned char taken[ARENA_PAGES];
static int shortage_planned;
static unsigned successes_left;

static void *arena_alloc(void *context)
{
    (void)context;
    if (shortage_planned && successes_left == 0)
        return NULL;
    if (shortage_planned)
        successes_left--;
    if (free_count == 0)
        return NULL;
    unsigned page = free_pages[--free_count];
    taken[page] = 1;
    memset(arena[page], 0, PAGE_SIZE);
    return arena[page];
}

static void arena_free(void *context, void *table)
{
    (void)context;
    uintptr_t offset = (uintptr_t)table - (uintptr_t)arena[0];
    CHECK(offset % PAGE_SIZE == 0 && offset / PAGE_SIZE < ARENA_PAGES && taken[offset / PAGE_SIZE]);
    taken[offset / PAGE_SIZE] = 0;
    memset(table, 0x5a, PAGE_SIZE);
    free_pages[free_count++] = (unsigned)(offset / PAGE_SIZE);
}

/* The model: extents that never overlap; an extent may end at the very top (virtual + bytes == 0). */
struct extent {
    uintptr_t virtual;
    uint64_t physical;
    uintptr_t bytes;
    unsigned permissions;
};
static struct extent extents[MAX_EXTENTS + 2];
static unsigned extent_count;
static struct vm_space space;
static int sv32;

static unsigned model_translate(uintptr_t virtual, uint64_t *physical)
{
    for (unsigned i = 0; i < extent_count; i++) {
        if (virtual - extents[i].virtual < extents[i].bytes) {
            *physical = extents[i].physical + (virtual - extents[i].virtual);
            return extents[i].permissions;
        }
    }
    return 0;
}

/* Does [virtual, last] meet an extent? */
static int model_overlaps(uintptr_t virtual, uintptr_t last)
{
    for (unsigned i = 0; i < extent_count; i++)
        if (virtual <= extents[i].virtual + (extents[i].bytes - 1) && extents[i].virtual <= last)
            return 1;
    return 0;
}

static void model_cut_at(uintptr_t boundary)
{
    for (unsigned i = 0; i < extent_count; i++) {
        struct extent *e = &extents[i];
        if (boundary != e->virtual && boundary - e->virtual < e->bytes) {
            uintptr_t head = boundary - e->virtual;
            extents[extent_count++] = (struct extent){boundary, e->physical + head, e->bytes - head, e->permissions};
            e->bytes = head;
            return;
        }
    }
}

/* Unmaps (permissions 0) or re-permits [virtual, last] in the model. */
static void model_change(uintptr_t virtual, uintptr_t last, unsigned permissions)
{
    model_cut_at(virtual);
    if (last + 1 != 0)
        model_cut_at(last + 1);
    for (unsigned i = 0; i < extent_count;) {
        if (extents[i].virtual >= virtual && extents[i].virtual <= last) {
            if (permissions == 0) {
                extents[i] = extents[--extent_count];
                continue;
            }
            extents[i].permissions = permissions;
        }
        i++;
    }
}

/* Every leaf matches the model, the bytes add up, the counters and the table pages agree. */
static void compare_everything(void)
{
    CHECK(vm_validate(&space) == 0);
    uint64_t leaf_bytes = 0, model_bytes = 0;
    struct vm_mapping mapping;
    uintptr_t at = 0;
    while (vm_find(&space, at, &mapping) == 0) {
        uint64_t physical = 0, last_physical = 0;
        CHECK(model_translate(mapping.virtual, &physical) == mapping.permissions);
        CHECK(physical == mapping.physical);
        CHECK(model_translate(mapping.virtual + mapping.bytes - 1, &last_physical) == mapping.permissions);
        CHECK(last_physical == mapping.physical + mapping.bytes - 1);
        leaf_bytes += mapping.bytes;
        at = mapping.virtual + mapping.bytes;
        if (at == 0)
            break;
    }
    for (unsigned i = 0; i < extent_count; i++)
        model_bytes += extents[i].bytes;
    CHECK(leaf_bytes == model_bytes);
    struct vm_stats stats;
    vm_get_stats(&space, &stats);
    CHECK(stats.mapped_bytes == model_bytes);
    CHECK(stats.table_pages == ARENA_PAGES - free_count);
}

static void probe(uintptr_t virtual)
{
    uint64_t expected = 0, found = 0;
    unsigned permissions = model_translate(virtual, &expected);
    int result = vm_translate(&space, virtual, &found);
    int outside = sv32 ? (virtual >> 32) != 0 : (uintptr_t)((intptr_t)(virtual << 25) >> 25) != virtual;
    if (outside)
        CHECK(result == -E_INVAL);
    else if (permissions == 0)
        CHECK(result == -E_NOENT);
    else
        CHECK(result == (int)permissions && found == expected);
}

/* The rules of vm.h, read again: is [virtual, virtual + bytes) a range the mode accepts? */
static int range_allowed(uintptr_t virtual, uintptr_t bytes)
{
    if (virtual % PAGE || bytes % PAGE || bytes == 0)
        return 0;
    uintptr_t last = virtual + bytes - 1;
    if (last < virtual)
        return 0;
    if (sv32)
        return last < ((uintptr_t)1 << 32);
    uintptr_t lower_end = (uintptr_t)1 << 38, upper_start = (uintptr_t)0 - lower_end;
    return last < lower_end || virtual >= upper_start;
}

static int physical_allowed(uint64_t physical, uintptr_t bytes)
{
    uint64_t last = physical + bytes - 1, limit = (uint64_t)1 << (sv32 ? 34 : 56);
    return physical % PAGE == 0 && last >= physical && last < limit;
}

static int permissions_allowed(unsigned permissions)
{
    return (permissions & ~0x3eu) == 0 && (permissions & (VM_READ | VM_EXECUTE)) &&
           (permissions & (VM_READ | VM_WRITE)) != VM_WRITE;
}

static unsigned permissions_from(unsigned byte)
{
    static const unsigned choices[] = {VM_READ, VM_READ | VM_WRITE, VM_EXECUTE, VM_READ | VM_EXECUTE,
                                       VM_READ | VM_WRITE | VM_EXECUTE};
    return choices[byte % 5] | (byte & (VM_USER | VM_GLOBAL));
}

struct input {
    const uint8_t *data;
    size_t size, at;
};

static unsigned next_byte(struct input *input)
{
    return input->at < input->size ? input->data[input->at++] : 0;
}

static uint64_t next_word(struct input *input)
{
    uint64_t word = 0;
    for (unsigned i = 0; i < 8; i++)
        word = word << 8 | next_byte(input);
    return word;
}

/* A range in the low window shaped by three bytes: runs of pages, of large leaves, top leaves. */
static void shaped_range(struct input *input, uintptr_t *virtual, uintptr_t *bytes)
{
    uintptr_t top = vm_leaf_bytes(&space, vm_levels(&space) - 1), large = vm_leaf_bytes(&space, 1);
    uintptr_t window = sv32 ? 16 * top : 3 * top;
    unsigned shape = next_byte(input), where = next_byte(input) << 8 | next_byte(input);
    uintptr_t align = shape % 4 == 0 ? top : shape % 4 == 1 ? large : PAGE;
    uintptr_t length = shape % 4 == 0   ? top
                       : shape % 4 == 1 ? (1 + shape / 4 % 3) * large
                                        : (1 + shape / 4 % 16) * PAGE;
    length += (shape >> 6) * PAGE;
    uintptr_t start = ((uintptr_t)where * (window / 65536)) & ~(align - 1);
    start += (uintptr_t)(shape >> 6 & 1) * PAGE;
    if (start > window - length)
        start = window - length;
    *virtual = start;
    *bytes = length;
}

/* After a call that may have run short: the result and the model, checked. */
static void expect_change(int result, uintptr_t virtual, uintptr_t bytes, unsigned permissions)
{
    shortage_planned = 0;
    if (result == -E_NOMEM)
        return; /* nothing changed: compare_everything checks it */
    CHECK(result == 0);
    model_change(virtual, virtual + bytes - 1, permissions);
}

static void do_map(uintptr_t virtual, uint64_t physical, uintptr_t bytes, unsigned permissions)
{
    int busy = model_overlaps(virtual, virtual + bytes - 1);
    int result = vm_map(&space, virtual, physical, bytes, permissions);
    shortage_planned = 0;
    if (busy) {
        CHECK(result == -E_BUSY || result == -E_NOMEM);
    } else if (result != -E_NOMEM) {
        CHECK(result == 0);
        extents[extent_count++] = (struct extent){virtual, physical, bytes, permissions};
    }
}

/* Raw arguments: refused exactly when the rules say so; small valid ones are carried out. */
static void do_raw(struct input *input)
{
    unsigned kind = next_byte(input) % 3, permissions = next_byte(input), length = next_byte(input);
    uintptr_t virtual = next_word(input), bytes = length % 4 ? next_word(input) : (length / 4 + 1) * PAGE;
    uint64_t physical = next_word(input);
    if (kind == 0) {
        int allowed =
            range_allowed(virtual, bytes) && physical_allowed(physical, bytes) && permissions_allowed(permissions);
        if (!allowed) {
            CHECK(vm_map(&space, virtual, physical, bytes, permissions) == -E_INVAL);
        } else if (bytes <= 64 * PAGE && extent_count < MAX_EXTENTS) {
            do_map(virtual, physical, bytes, permissions);
        }
        shortage_planned = 0;
        return;
    }
    int allowed = range_allowed(virtual, bytes) && (kind == 1 || permissions_allowed(permissions));
    if (!allowed) {
        CHECK((kind == 1 ? vm_unmap(&space, virtual, bytes) : vm_protect(&space, virtual, bytes, permissions)) ==
              -E_INVAL);
        shortage_planned = 0;
        return;
    }
    if (extent_count + 2 > MAX_EXTENTS)
        return;
    int result = kind == 1 ? vm_unmap(&space, virtual, bytes) : vm_protect(&space, virtual, bytes, permissions);
    expect_change(result, virtual, bytes, kind == 1 ? 0 : permissions);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input input = {data, size, 0};
    sv32 = next_byte(&input) & 1;
    free_count = 0;
    for (unsigned page = ARENA_PAGES; page-- > 0;) {
        taken[page] = 0;
        free_pages[free_count++] = page;
    }
    shortage_planned = 0;
    extent_count = 0;
    const struct vm_tables tables = {arena_alloc, arena_free, NULL, (uintptr_t)arena[0] - FAKE_PHYSICAL_BASE};
    CHECK(vm_init(&space, sv32 ? VM_MODE_SV32 : VM_MODE_SV39, &tables) == 0);
    uintptr_t top = vm_leaf_bytes(&space, vm_levels(&space) - 1);
    while (input.at < input.size) {
        unsigned op = next_byte(&input);
        uintptr_t virtual, bytes;
        switch (op % 8) {
        case 0:
        case 1:
            shaped_range(&input, &virtual, &bytes);
            {
                unsigned permissions = permissions_from(next_byte(&input)), offset = next_byte(&input);
                /* The same alignment as virtual modulo the top leaf, or a page off it for small ranges. */
                uint64_t physical = virtual + (uint64_t)(1 + offset % 8) * top;
                if (offset & 0x80 && bytes <= 4 * vm_leaf_bytes(&space, 1))
                    physical += PAGE;
                if (extent_count < MAX_EXTENTS)
                    do_map(virtual, physical, bytes, permissions);
            }
            break;
        case 2:
        case 3:
            shaped_range(&input, &virtual, &bytes);
            if (extent_count + 2 <= MAX_EXTENTS) {
                unsigned permissions = op % 8 == 3 ? permissions_from(next_byte(&input)) : 0;
                int result =
                    permissions ? vm_protect(&space, virtual, bytes, permissions) : vm_unmap(&space, virtual, bytes);
                expect_change(result, virtual, bytes, permissions);
            }
            break;
        case 4:
            if (extent_count > 0) {
                struct extent e = extents[next_byte(&input) % extent_count];
                expect_change(vm_unmap(&space, e.virtual, e.bytes), e.virtual, e.bytes, 0);
            }
            break;
        case 5:
            for (unsigned i = 0; i < 4; i++) {
                unsigned pick = next_byte(&input);
                if (pick & 1 && extent_count > 0) {
                    const struct extent *e = &extents[pick / 2 % extent_count];
                    probe(e->virtual + (e->bytes - 1) / 255 * next_byte(&input));
                } else {
                    probe((uintptr_t)next_word(&input));
                }
            }
            break;
        case 6: do_raw(&input); break;
        default: /* a shortage: the next call gets this many table pages, then none */
            shortage_planned = 1;
            successes_left = next_byte(&input) % 6;
            continue;
        }
        shortage_planned = 0;
        compare_everything();
    }
    shortage_planned = 0;
    while (extent_count > 0) {
        struct extent e = extents[extent_count - 1];
        CHECK(vm_unmap(&space, e.virtual, e.bytes) == 0);
        model_change(e.virtual, e.virtual + e.bytes - 1, 0);
    }
    compare_everything();
    CHECK(space.table_pages == 1);
    vm_destroy(&space);
    CHECK(free_count == ARENA_PAGES);
    return 0;
}
