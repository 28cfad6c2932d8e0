/*
 * lib/malloc/malloc_checked.c - the checked build's malloc (RVMEM_CHECKED): misuse detection.
 *
 * Every block gets a 32-byte header just below the pointer the program sees, and canary bytes
 * after the requested size (at least one):
 *
 *     inner (from the core)   ... header: requested size | offset to inner | state | canary | data | canary...
 *
 * The state word is ALLOCATED or FREED, each XORed with the block's address, so a stale or
 * random word does not pass. free() checks, in order: alignment; that the header lies in the heap
 * (foreign and stack pointers fail here); the state (FREED: double free; anything else: not a
 * block start, e.g. an interior pointer); that the core agrees inner is a block it handed out;
 * the canary below the data (underflow) and after it (overflow). Any failure is reported through
 * kernel/base/misuse.h with the address, hart and caller, and the free is refused (nothing changes).
 * Freed data is filled with poison (MALLOC_POISON_BYTE); malloc verifies the poison of the block
 * it hands out again, and the validator verifies it for every free block (write after free).
 * Checked realloc always moves. Costs O(block size) per call, plus a region walk for medium frees.
 */
#include "kernel/base/misuse.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"

#ifdef RVMEM_CHECKED

#define HEADER_BYTES 32
#define STATE_ALLOCATED ((uintptr_t)0xa110ca7edb10c000ull)
#define STATE_FREED ((uintptr_t)0xf4eedb10cf4eedb1ull)
#define CANARY_BYTE 0xcb
#define CANARY_WORD ((uintptr_t)0xcbcbcbcbcbcbcbcbull)

/* The fields end right below the data on rv32 too: the canary word is what a one-byte underflow hits. */
struct checked_header {
#if UINTPTR_MAX == 0xffffffffu
    uint32_t padding[4]; /* rv32: four words fill half of HEADER_BYTES; the fields take the upper half */
#endif
    uintptr_t requested_bytes;
    uintptr_t inner_offset; /* user pointer minus the core's block */
    uintptr_t state;
    uintptr_t canary;
};
_Static_assert(sizeof(struct checked_header) == HEADER_BYTES, "the canary is the word right below the data");

static inline struct checked_header *header_of(void *user)
{
    return (struct checked_header *)((uintptr_t)user - HEADER_BYTES);
}

/* Is address inside memory the allocator manages (so reading it is safe)? */
static bool in_heap(uintptr_t address)
{
    return small_class_at(address) >= 0 || tlsf_owns(address) || direct_start_containing(address) != 0;
}

/* Verifies the poison of a block the core hands out again; reports the first overwritten byte. */
static void verify_poison(void *inner, const void *caller)
{
    const uint8_t *byte = (const uint8_t *)inner + HEADER_BYTES;
    const uint8_t *end = (const uint8_t *)inner + malloc_core_usable_size(inner);
    for (; byte < end; byte++) {
        if (*byte != MALLOC_POISON_BYTE) {
            malloc_report_misuse(MISUSE_WRITE_AFTER_FREE, (uintptr_t)byte, caller);
            return;
        }
    }
}

/* Sets up header and canaries for a user block at inner + offset. */
static void *finish(void *inner, uintptr_t offset, size_t size, const void *caller)
{
    if (!inner)
        return NULL;
    verify_poison(inner, caller);
    uint8_t *user = (uint8_t *)inner + offset;
    struct checked_header *header = header_of(user);
    header->requested_bytes = size;
    header->inner_offset = offset;
    header->state = STATE_ALLOCATED ^ (uintptr_t)user;
    header->canary = CANARY_WORD;
    uint8_t *end = (uint8_t *)inner + malloc_core_usable_size(inner);
    memset(user + size, CANARY_BYTE, (size_t)(end - (user + size)));
    return user;
}

static void *checked_alloc(size_t size, const void *caller)
{
    size_t total;
    if (__builtin_add_overflow(size, HEADER_BYTES + 1, &total))
        return NULL;
    return finish(malloc_core_alloc(total), HEADER_BYTES, size, caller);
}

void *malloc_checked_aligned(size_t alignment, size_t size, const void *caller)
{
    if (alignment <= MALLOC_ALIGNMENT)
        return checked_alloc(size, caller);
    uintptr_t offset = alignment < HEADER_BYTES ? HEADER_BYTES : alignment;
    size_t total;
    if (__builtin_add_overflow(size, offset + 1, &total))
        return NULL;
    return finish(malloc_core_aligned(alignment, total), offset, size, caller);
}

/* Checks that user is a live block; reports and returns NULL when not, else returns the core's block. */
static void *check_live(void *user, const void *caller)
{
    uintptr_t address = (uintptr_t)user;
    if ((address & (MALLOC_ALIGNMENT - 1)) || !in_heap(address - HEADER_BYTES) || !in_heap(address)) {
        malloc_report_misuse(MISUSE_INVALID_FREE, address, caller);
        return NULL;
    }
    struct checked_header *header = header_of(user);
    if (header->state == (STATE_FREED ^ address)) {
        malloc_report_misuse(MISUSE_DOUBLE_FREE, address, caller);
        return NULL;
    }
    if (header->state != (STATE_ALLOCATED ^ address) || header->inner_offset < HEADER_BYTES ||
        header->inner_offset > address) {
        malloc_report_misuse(MISUSE_INVALID_FREE, address, caller);
        return NULL;
    }
    uintptr_t inner = address - header->inner_offset;
    int class_index = small_class_at(inner);
    bool block_start = class_index >= 0 ? small_block_is_start(inner, (unsigned)class_index)
                                        : tlsf_is_allocated_payload(inner) || direct_bytes_of(inner) != 0;
    if (!block_start) {
        malloc_report_misuse(MISUSE_INVALID_FREE, address, caller);
        return NULL;
    }
    uintptr_t end = inner + malloc_core_usable_size((void *)inner);
    if (header->requested_bytes >= end - address) {
        malloc_report_misuse(MISUSE_INVALID_FREE, address, caller);
        return NULL;
    }
    if (header->canary != CANARY_WORD) {
        malloc_report_misuse(MISUSE_UNDERFLOW, address - 1, caller);
        return NULL;
    }
    for (const uint8_t *byte = user + header->requested_bytes; (uintptr_t)byte < end; byte++) {
        if (*byte != CANARY_BYTE) {
            malloc_report_misuse(MISUSE_OVERFLOW, (uintptr_t)byte, caller);
            return NULL;
        }
    }
    return (void *)inner;
}

static void checked_free(void *user, const void *caller)
{
    if (!user)
        return;
    void *inner = check_live(user, caller);
    if (!inner)
        return;
    header_of(user)->state = STATE_FREED ^ (uintptr_t)user;
    size_t usable = malloc_core_usable_size(inner);
    memset((uint8_t *)inner + HEADER_BYTES, MALLOC_POISON_BYTE, usable - HEADER_BYTES);
    malloc_core_free(inner);
}

void *rvmem_malloc(size_t size)
{
    return checked_alloc(size, __builtin_return_address(0));
}

void rvmem_free(void *block)
{
    checked_free(block, __builtin_return_address(0));
}

void *rvmem_realloc(void *block, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (!block)
        return checked_alloc(size, caller);
    if (size == 0) {
        checked_free(block, caller);
        return NULL;
    }
    if (!check_live(block, caller))
        return NULL;
    void *moved = checked_alloc(size, caller);
    if (!moved)
        return NULL;
    size_t old_size = header_of(block)->requested_bytes;
    memcpy(moved, block, old_size < size ? old_size : size);
    checked_free(block, caller);
    return moved;
}

size_t rvmem_malloc_usable_size(const void *block)
{
    if (!block)
        return 0;
    if (!check_live((void *)block, __builtin_return_address(0)))
        return 0;
    return header_of((void *)block)->requested_bytes;
}

#endif
