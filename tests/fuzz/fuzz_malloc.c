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
 * Bulk operations make a class hold a megabyte of runs and then leave it idle (every block freed)
 * or mostly free (one block in N kept, on the bulk list), so later requests that would grow the
 * heap detach the class (lib/malloc/malloc_idle.c) or scan it (lib/malloc/malloc_scan.c) in steps,
 * while other operations free the kept blocks of the runs under scan and allocate more of their
 * class, and a trim completes what is under way.
 * A shadow records every live block's size and fill byte: contents, alignment, usable size and
 * non-overlap (a map of the arena's 16-byte granules that live blocks own) are checked, and the
 * validator runs after every operation. At the end every block is freed and the heap must go back
 * to empty. Any disagreement aborts.
 *
 * The seed inputs (tests/fuzz/seeds/fuzz_malloc/, written by tests/fuzz/seeds/fuzz_malloc.py)
 * reach scans and idle detaches at once; make fuzz and make test start from them.
 *
 * Built with FUZZ_MALLOC_LENDING (tests/fuzz/fuzz_malloc_lending.c, without RVMEM_CHECKED: a
 * checked build never releases free pages, they hold its poison) the binding also has
 * release_pages and reclaim_pages, as the kernel's (kernel/top/malloc_binding.c): a trim lends
 * the pages inside free chunks to "another owner", which scribbles on them at once, and a
 * reclaim takes them back, or refuses while the input says their owner still holds them (trim
 * and flush operations set that), so the allocator sets the chunk aside as a hole and retries
 * it later. Released pages must hold no live block, no block may be handed out over a lent page,
 * and what calloc hands out is zero whatever the lent pages held. The misuse operations are left
 * out there (an unchecked build does not catch misuse).
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

/* Per 16-byte granule of the arena: 1 while a live block (with the byte past its end) covers it. */
static uint8_t granule_owned[ARENA_BYTES / MALLOC_ALIGNMENT];

/* Pages somebody else took from the break (0 bytes: none), filled with FOREIGN_BYTE. */
#define FOREIGN_BYTE 0xee
static uint8_t *foreign_start;
static size_t foreign_bytes;

#ifdef FUZZ_MALLOC_LENDING
/* Per arena page: 1 while lent to the other owner (release_pages), until reclaim_pages. */
#define PAGE_BYTES 4096u
#define LENT_BYTE 0xa5
static uint8_t page_lent[ARENA_BYTES / PAGE_BYTES];
static bool reclaim_refuses; /* the other owner still holds lent pages: reclaim_pages fails */
#endif

static void *fuzz_more_core(intptr_t increment)
{
    size_t old = arena_used;
    if (increment >= 0 ? (size_t)increment > arena_limit - old : (size_t)-increment > old)
        return (void *)-1;
    arena_used = old + (size_t)increment;
    if (increment < 0) {
        memset(arena + arena_used, 0, (size_t)-increment);
#ifdef FUZZ_MALLOC_LENDING
        /* Pages above the break go back whole, lent or not (as the kernel's break frees them). */
        size_t first = (arena_used + PAGE_BYTES - 1) / PAGE_BYTES;
        memset(page_lent + first, 0, old / PAGE_BYTES + 1 - first);
#endif
    }
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

/* A bulk operation allocates up to BULK_MAX_BYTES of blocks of one size (16 bytes or more), all
 * held in bulk_batch until it frees all but one in N; those stay on the bulk list (while it has room).
 * An input's bulk operations allocate BULK_INPUT_BYTES at most, which bounds its time. */
#define BULK_MAX_BYTES ((size_t)3 << 19)
#define BULK_INPUT_BYTES (4 * BULK_MAX_BYTES)
#define BULK_MIN_SIZE 16
#define BULK_KEPT 16384
static uint8_t *bulk_batch[BULK_MAX_BYTES / BULK_MIN_SIZE];
static struct slot bulk[BULK_KEPT];
static size_t bulk_count, bulk_bytes_left;

#ifdef FUZZ_MALLOC_LENDING
/* release_pages: whole pages of the heap that hold no live block and none of the foreign pages;
 * lent, and scribbled on at once by their new owner. */
static void lend_pages(void *start, size_t bytes)
{
    uintptr_t first = (uintptr_t)start, end = first + bytes;
    CHECK(bytes > 0 && first % PAGE_BYTES == 0 && bytes % PAGE_BYTES == 0);
    CHECK(first >= (uintptr_t)arena && end <= (uintptr_t)arena + arena_used);
    CHECK(!foreign_bytes || end <= (uintptr_t)foreign_start || first >= (uintptr_t)(foreign_start + foreign_bytes));
    for (uintptr_t granule = (first - (uintptr_t)arena) / MALLOC_ALIGNMENT;
         granule < (end - (uintptr_t)arena) / MALLOC_ALIGNMENT; granule++)
        CHECK(!granule_owned[granule]);
    memset(page_lent + (first - (uintptr_t)arena) / PAGE_BYTES, 1, bytes / PAGE_BYTES);
    memset(start, LENT_BYTE, bytes);
}

/* reclaim_pages: all or none; refused while the other owner holds any of them. Their contents stay
 * as the owner left them. */
static int reclaim_lent_pages(void *start, size_t bytes)
{
    uintptr_t first = (uintptr_t)start;
    CHECK(bytes > 0 && first % PAGE_BYTES == 0 && bytes % PAGE_BYTES == 0);
    CHECK(first >= (uintptr_t)arena && first + bytes <= (uintptr_t)arena + arena_used);
    uint8_t *lent = page_lent + (first - (uintptr_t)arena) / PAGE_BYTES;
    bool any = false;
    for (size_t page = 0; page < bytes / PAGE_BYTES; page++)
        any |= lent[page] != 0;
    if (any && reclaim_refuses)
        return -1;
    memset(lent, 0, bytes / PAGE_BYTES);
    return 0;
}

/* No block is handed out over a page still lent. */
static void check_not_lent(uintptr_t start, uintptr_t end)
{
    for (uintptr_t page = (start - (uintptr_t)arena) / PAGE_BYTES; page <= (end - 1 - (uintptr_t)arena) / PAGE_BYTES;
         page++)
        CHECK(!page_lent[page]);
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(arena != MAP_FAILED);
    arena_limit = ARENA_BYTES;
    struct malloc_binding binding = {
        .more_core = fuzz_more_core, .page_map = page_map, .page_map_bytes = sizeof page_map};
#ifdef FUZZ_MALLOC_LENDING
    binding.release_pages = lend_pages;
    binding.reclaim_pages = reclaim_lent_pages;
#endif
    CHECK(rvmem_malloc_init(&binding) == 0);
    misuse_set_hook(capture_fuzz_misuse);
    return 0;
}

/* Does the block still hold its fill byte everywhere? Compared a word at a time: the bulk
 * operations check megabytes per input. */
static bool contents_kept(const struct slot *slot)
{
    uint64_t pattern = slot->fill * (uint64_t)0x0101010101010101u;
    size_t i = 0;
    for (; i + sizeof pattern <= slot->size; i += sizeof pattern) {
        uint64_t word;
        memcpy(&word, slot->block + i, sizeof word);
        if (word != pattern)
            return false;
    }
    for (; i < slot->size; i++)
        if (slot->block[i] != slot->fill)
            return false;
    return true;
}

/* The granules of a block and the byte past its end (which misuse overflows; blocks start on a
 * granule, so two blocks that do not overlap share none). Unchecked (FUZZ_MALLOC_LENDING), the
 * byte past the end may be the next block's first: only the block's own bytes, at least one. */
static uint8_t *granules_of(const struct slot *slot, size_t *count)
{
    size_t first = (size_t)(slot->block - arena) / MALLOC_ALIGNMENT;
#ifdef FUZZ_MALLOC_LENDING
    size_t bytes = slot->size ? slot->size : 1;
    *count = (size_t)(slot->block + bytes - 1 - arena) / MALLOC_ALIGNMENT + 1 - first;
#else
    *count = (size_t)(slot->block + slot->size - arena) / MALLOC_ALIGNMENT + 1 - first;
#endif
    return &granule_owned[first];
}

/* Checks a block just handed out (alignment, usable size, in the arena, overlapping no live
 * block), takes its granules and fills it. */
static void check_new_block(struct slot *fresh)
{
    CHECK((uintptr_t)fresh->block % fresh->alignment == 0);
    CHECK(rvmem_malloc_usable_size(fresh->block) >= fresh->size);
    uintptr_t start = (uintptr_t)fresh->block, end = start + fresh->size + 1;
    CHECK(start >= (uintptr_t)arena && end <= (uintptr_t)arena + ARENA_BYTES);
#ifdef FUZZ_MALLOC_LENDING
    check_not_lent(start, start + (fresh->size ? fresh->size : 1)); /* the block's own bytes */
#endif
    size_t count;
    uint8_t *granules = granules_of(fresh, &count);
    for (size_t i = 0; i < count; i++)
        CHECK(!granules[i]);
    memset(granules, 1, count);
    memset(fresh->block, fresh->fill, fresh->size);
}

static void check_new(unsigned index)
{
    check_new_block(&slots[index]);
}

/* Gives up the granules of a block that was freed (or moved by realloc). */
static void forget_block(const struct slot *slot)
{
    size_t count;
    memset(granules_of(slot, &count), 0, count);
}

/* Checks a block's contents and frees it. */
static void free_checked(struct slot *slot)
{
    CHECK(contents_kept(slot));
    rvmem_free(slot->block);
    forget_block(slot);
    slot->block = NULL;
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

#ifndef FUZZ_MALLOC_LENDING
static void expect_one_report(enum misuse_kind kind)
{
    CHECK(reports == 1 && last_kind == kind);
    reports = 0;
}
#endif

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

/* Allocates one block of size filled with fill onto the bulk list (when it has room). False when
 * the list is full or memory ran out. */
static bool bulk_add(size_t size, uint8_t fill)
{
    if (bulk_count == BULK_KEPT)
        return false;
    struct slot *kept = &bulk[bulk_count];
    *kept = (struct slot){.block = rvmem_malloc(size), .size = size, .alignment = MALLOC_ALIGNMENT, .fill = fill};
    if (!kept->block)
        return false;
    check_new_block(kept);
    bulk_count++;
    return true;
}

/*
 * Many blocks of one size at once, each filled with op[0]: BULK_MAX_BYTES >> (7 - op[1] bits 5..7),
 * 12 KiB to 1.5 MiB (most bulk operations stay cheap; the largest give a class the megabyte of runs
 * a scan needs), of blocks of 16 bytes to just under 4 KiB (an octave from op[1] bits 0..2, a step
 * within it from op[2]). Then every block is freed but one in keep_every (k = op[3] % 16: 0 frees
 * all, which leaves the class idle; else one in 1 << (k - 1), from every block to one in 16384), and
 * those stay on the bulk list while it has room. Exhaustion or the input's bulk budget ends the
 * allocation early.
 */
static void bulk_allocate(const uint8_t *op)
{
    size_t octave = (size_t)BULK_MIN_SIZE << (op[1] & 7);
    size_t size = octave + octave * op[2] / 256;
    size_t bytes = BULK_MAX_BYTES >> (7 - (op[1] >> 5));
    if (bytes > bulk_bytes_left)
        bytes = bulk_bytes_left;
    bulk_bytes_left -= bytes;
    size_t count = bytes / size;
    unsigned keep_shift = op[3] % 16;
    size_t keep_every = keep_shift ? (size_t)1 << (keep_shift - 1) : 0;
    size_t allocated = 0;
    for (; allocated < count; allocated++) {
        struct slot fresh = {.block = rvmem_malloc(size), .size = size, .alignment = MALLOC_ALIGNMENT, .fill = op[0]};
        if (!fresh.block)
            break;
        check_new_block(&fresh);
        bulk_batch[allocated] = fresh.block;
    }
    for (size_t i = 0; i < allocated; i++) {
        struct slot block = {.block = bulk_batch[i], .size = size, .alignment = MALLOC_ALIGNMENT, .fill = op[0]};
        if (keep_every && i % keep_every == 0 && bulk_count < BULK_KEPT)
            bulk[bulk_count++] = block;
        else
            free_checked(&block);
    }
}

/*
 * Blocks of the bulk list, from the one at (op[1], op[2]) modulo its length: 1 .. 64 of them
 * (op[3] bits 0..5) are freed (each replaced by the list's last), or with op[3] bit 7 as many
 * more of the same size are allocated onto the list, filled with op[0].
 */
static void bulk_touch(const uint8_t *op)
{
    if (!bulk_count)
        return;
    size_t at = ((size_t)op[1] << 8 | op[2]) % bulk_count;
    unsigned blocks = 1 + (op[3] & 63);
    if (op[3] & 128) {
        size_t size = bulk[at].size;
        for (unsigned i = 0; i < blocks && bulk_add(size, op[0]); i++)
            continue;
        return;
    }
    for (unsigned i = 0; i < blocks && at < bulk_count; i++) {
        free_checked(&bulk[at]);
        bulk[at] = bulk[--bulk_count];
    }
}

static void run_operation(const uint8_t *op)
{
    unsigned index = op[1] % SLOTS;
    struct slot *slot = &slots[index];
    size_t size = size_from(op[2], op[3]);
    switch (op[0] % 15) {
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
        forget_block(slot);
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
        if (slot->block)
            free_checked(slot);
        break;
    case 9:
#ifdef FUZZ_MALLOC_LENDING
        reclaim_refuses = (op[2] >> 2) & 1;
#endif
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
#ifndef FUZZ_MALLOC_LENDING
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
#endif
    case 12:
        if (!foreign_bytes)
            take_foreign_pages(1 + op[2] % 4);
        else if (arena + arena_used == foreign_start + foreign_bytes)
            give_foreign_pages_back();
        break;
    case 13: bulk_allocate(op); break;
    case 14: bulk_touch(op); break;
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
    bulk_bytes_left = BULK_INPUT_BYTES;
#ifdef FUZZ_MALLOC_LENDING
    reclaim_refuses = false;
#endif
    for (size_t at = 1; at + 4 <= size && at < 1 + 4 * 400; at += 4)
        run_operation(data + at);
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].block)
            free_checked(&slots[i]);
    while (bulk_count)
        free_checked(&bulk[--bulk_count]);
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
