/*
 * lib/refcount_header.h - the 16-byte header lib/rc.c and lib/arc.c put before a counted value.
 */
#ifndef RVMEM_LIB_REFCOUNT_HEADER_H
#define RVMEM_LIB_REFCOUNT_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/malloc/malloc.h"

struct refcount_header {
    uint32_t magic; /* REFCOUNT_LIVE_RC / _ARC while alive, REFCOUNT_DEAD after */
    uint32_t count; /* owners */
    void (*destructor)(void *value);
} __attribute__((aligned(16))); /* 16 bytes on rv32 and rv64 alike */

#define REFCOUNT_LIVE_RC 0x52430001u
#define REFCOUNT_LIVE_ARC 0x41524301u
#define REFCOUNT_DEAD 0xdeadc0deu

_Static_assert(sizeof(struct refcount_header) == 16, "the value must stay 16-aligned");

static inline struct refcount_header *refcount_header_of(const void *value)
{
    return (struct refcount_header *)((uintptr_t)value - sizeof(struct refcount_header));
}

/*
 * A zeroed value of size bytes behind a live header (magic, count 1, destructor): the value's
 * address, or NULL when size overflows or memory is short. Shared by rc_new and arc_new.
 */
static inline void *refcount_header_new(size_t size, uint32_t magic, void (*destructor)(void *value))
{
    size_t bytes;
    if (__builtin_add_overflow(size, sizeof(struct refcount_header), &bytes))
        return NULL;
    struct refcount_header *header = rvmem_calloc(1, bytes);
    if (!header)
        return NULL;
    header->magic = magic;
    header->count = 1;
    header->destructor = destructor;
    return header + 1;
}

#endif
