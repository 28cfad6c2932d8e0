/*
 * tests/fuzz/fuzz_malloc.c - libFuzzer target for the malloc family over operation streams.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -DRVMEM_HOST -DRVMEM_CHECKED=1 -I. (make fuzz)
 *
 * The allocator is bound to a private arena whose limit the input sets (16 KiB .. 4 MiB), so
 * exhaustion is reached as well. Each input is a stream of 4-byte operations on 64 slots:
 * malloc, calloc, realloc, aligned_alloc, free, trim, flush, deliberate misuse (double free,
 * interior free, one-byte overflow) that the checked build must report exactly once and refuse,
 * and a foreign move of the break: somebody else takes pages above the heap (so the allocator's
 * next growth opens a new region) and gives them back once they are at the top again; the
 * allocator must never write into them.
 * A shadow records every live block's size and fill byte: contents, alignment, usable size and
 * non-overlap are checked, and the validator runs after every operation. At the end every block
 * is freed and the heap must go back to empty. Any disagreement aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"
#include "lib/malloc/malloc.h"

#define ARENA_BYTES ((size_t)8 << 20)
#define SLOTS 64

static uint8_t *arena;
static size_t arena_used, arena_limit;
static uint8_t page_map[2 * (ARENA_BYTES >> 12)];

/* Pages somebody else took from the break (0 bytes: none), filled with FOREIGN_BYTE. */
#define FOREIGN_BYTE 0xee
static uint8_t *foreign_start;
static size_t foreign_bytes;

static void *fuzz_more_core(intptr_t increment)
{
    size_t old = arena_used;
    if (increment >= 0 ? (size_t)increment > arena_limit - old : (size_t)-increment > old)
        return (void *)-1;
    arena_used = old + (size_t)increment;
    if (increment < 0)
        memset(arena + arena_used, 0, (size_t)-increment);
    return arena + old;
}

static unsigned reports;
static enum misuse_kind last_kind;

static void capture_fuzz_misuse(const struct misuse_report *report)
{
    reports++;
    last_kind = report->kind;
}

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr, "fuzz_malloc: %s:%d: %s\n", __FILE__, __LINE__, #condition);                               \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

struct slot {
    uint8_t *block;
    size_t size;
    size_t alignment;
    uint8_t fill;
};
static struct slot slots[SLOTS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(arena != MAP_FAILED);
    arena_limit = ARENA_BYTES;
    struct malloc_binding binding = {
        .more_core = fuzz_more_core, .page_map = page_map, .page_map_bytes = sizeof page_map};
    CHECK(rvmem_malloc_init(&binding) == 0);
    misuse_set_hook(capture_fuzz_misuse);
    return 0;
}

static bool contents_kept(const struct slot *slot)
{
    for (size_t i = 0; i < slot->size; i++)
        if (slot->block[i] != slot->fill)
            return false;
    return true;
}

static void check_new(unsigned index)
{
    struct slot *fresh = &slots[index];
    CHECK((uintptr_t)fresh->block % fresh->alignment == 0);
    CHECK(rvmem_malloc_usable_size(fresh->block) >= fresh->size);
    uintptr_t start = (uintptr_t)fresh->block, end = start + fresh->size + 1;
    CHECK(start >= (uintptr_t)arena && end <= (uintptr_t)arena + ARENA_BYTES);
    for (unsigned i = 0; i < SLOTS; i++) {
        if (i == index || !slots[i].block)
            continue;
        uintptr_t other = (uintptr_t)slots[i].block, other_end = other + slots[i].size + 1;
        CHECK(end <= other || other_end <= start);
    }
    memset(fresh->block, fresh->fill, fresh->size);
}

static size_t size_from(uint8_t a, uint8_t b)
{
    unsigned value = (unsigned)a << 8 | b;
    switch (value >> 14) {
    case 0: return value & 63;                   /* tiny */
    case 1: return value & 1023;                 /* small */
    case 2: return 1000 + (value & 8191);        /* medium */
    default: return (size_t)(value & 4095) * 40; /* up to 160 KiB */
    }
}

static void expect_one_report(enum misuse_kind kind)
{
    CHECK(reports == 1 && last_kind == kind);
    reports = 0;
}

/* Somebody else moves the break up by pages pages (when the arena's limit allows). */
static void take_foreign_pages(unsigned pages)
{
    void *start = fuzz_more_core((intptr_t)pages * 4096);
    if (start == (void *)-1)
        return;
    foreign_start = start;
    foreign_bytes = (size_t)pages * 4096;
    memset(foreign_start, FOREIGN_BYTE, foreign_bytes);
}

/* The foreign pages are at the top of the break again: checked untouched and given back. */
static void give_foreign_pages_back(void)
{
    for (size_t i = 0; i < foreign_bytes; i++)
        CHECK(foreign_start[i] == FOREIGN_BYTE);
    CHECK(fuzz_more_core(-(intptr_t)foreign_bytes) == foreign_start + foreign_bytes);
    foreign_bytes = 0;
}

static void run_operation(const uint8_t *op)
{
    unsigned index = op[1] % SLOTS;
    struct slot *slot = &slots[index];
    size_t size = size_from(op[2], op[3]);
    switch (op[0] % 13) {
    case 0:
    case 1:
    case 2:
        if (slot->block)
            break;
        slot->block = rvmem_malloc(size);
        slot->size = size;
        slot->alignment = MALLOC_ALIGNMENT;
        slot->fill = op[3];
        if (slot->block)
            check_new(index);
        break;
    case 3:
        if (slot->block)
            break;
        slot->block = rvmem_calloc(op[2] & 15, size / 16 + 1);
        slot->size = (size_t)(op[2] & 15) * (size / 16 + 1);
        slot->alignment = MALLOC_ALIGNMENT;
        slot->fill = op[3];
        if (slot->block) {
            for (size_t i = 0; i < slot->size; i++)
                CHECK(slot->block[i] == 0);
            check_new(index);
        }
        break;
    case 4:
        if (slot->block)
            break;
        slot->alignment = (size_t)1 << (op[3] % 17);
        slot->block = rvmem_aligned_alloc(slot->alignment, size);
        slot->size = size;
        slot->fill = op[2];
        if (slot->alignment < MALLOC_ALIGNMENT)
            slot->alignment = MALLOC_ALIGNMENT;
        if (slot->block)
            check_new(index);
        break;
    case 5: {
        if (!slot->block || size == 0)
            break;
        CHECK(contents_kept(slot));
        uint8_t *moved = rvmem_realloc(slot->block, size);
        if (!moved)
            break; /* out of memory: the old block is untouched */
        slot->block = moved;
        size_t kept = size < slot->size ? size : slot->size;
        for (size_t i = 0; i < kept; i++)
            CHECK(moved[i] == slot->fill);
        slot->size = size;
        slot->alignment = MALLOC_ALIGNMENT;
        check_new(index);
        break;
    }
    case 6:
    case 7:
    case 8:
        if (!slot->block)
            break;
        CHECK(contents_kept(slot));
        rvmem_free(slot->block);
        slot->block = NULL;
        break;
    case 9:
        if ((op[2] & 3) == 2) {
            /* A reserve of 0 to 448 KiB (0 removes it): granted, or refused with nothing changed. */
            int reserved = rvmem_malloc_reserve((size_t)(op[3] % 8) << 16);
            CHECK(reserved == 0 || reserved == -E_NOMEM);
        } else if (op[2] & 1) {
            rvmem_malloc_trim();
        } else {
            rvmem_malloc_flush_cache();
        }
        break;
    case 10:
        if (!slot->block)
            break;
        if (op[2] & 1) {
            rvmem_free(slot->block + 16); /* interior */
            expect_one_report(MISUSE_INVALID_FREE);
        } else {
            uint8_t saved = slot->block[slot->size];
            slot->block[slot->size] = (uint8_t)~saved; /* one byte past the end */
            rvmem_free(slot->block);
            expect_one_report(MISUSE_OVERFLOW);
            slot->block[slot->size] = saved;
        }
        break;
    case 11: {
        /* A double free of a block whose neighbours stay: allocate, free, free again. */
        uint8_t *block = rvmem_malloc(size + 1);
        if (!block)
            break;
        rvmem_free(block);
        rvmem_free(block);
        CHECK(reports == 1 && (last_kind == MISUSE_DOUBLE_FREE || last_kind == MISUSE_INVALID_FREE));
        reports = 0;
        break;
    }
    case 12:
        if (!foreign_bytes)
            take_foreign_pages(1 + op[2] % 4);
        else if (arena + arena_used == foreign_start + foreign_bytes)
            give_foreign_pages_back();
        break;
    }
    CHECK(reports == 0);
    CHECK(rvmem_malloc_validate() == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    arena_limit = (size_t)16384 << (data[0] % 9); /* 16 KiB .. 4 MiB */
    if (arena_limit < arena_used)
        arena_limit = arena_used;
    for (size_t at = 1; at + 4 <= size && at < 1 + 4 * 400; at += 4)
        run_operation(data + at);
    for (unsigned i = 0; i < SLOTS; i++) {
        if (slots[i].block) {
            CHECK(contents_kept(&slots[i]));
            rvmem_free(slots[i].block);
            slots[i].block = NULL;
        }
    }
    CHECK(rvmem_malloc_reserve(0) == 0); /* no floor: the trim gives everything back */
    rvmem_malloc_trim();
    if (foreign_bytes) {
        /* The trim gave back every region above the foreign pages (all their blocks are free). */
        CHECK(arena + arena_used == foreign_start + foreign_bytes);
        give_foreign_pages_back();
        rvmem_malloc_trim();
    }
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    CHECK(stats.bytes_in_use == 0);
    CHECK(stats.heap_span_bytes == 0);
    CHECK(rvmem_malloc_validate() == 0);
    return 0;
}
