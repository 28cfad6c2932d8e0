/*
 * lib/refcount_header.h - the 16-byte header lib/rc.c and lib/arc.c put before a counted value.
 * Builds: kernel, host
 */
#ifndef RVMEM_LIB_REFCOUNT_HEADER_H
#define RVMEM_LIB_REFCOUNT_HEADER_H

#include <stddef.h>
#include <stdint.h>

struct refcount_header {
    uint32_t magic; /* REFCOUNT_LIVE_RC / _ARC while alive, REFCOUNT_DEAD after */
    uint32_t count; /* owners */
    void (*destructor)(void *value);
};

#define REFCOUNT_LIVE_RC 0x52430001u
#define REFCOUNT_LIVE_ARC 0x41524301u
#define REFCOUNT_DEAD 0xdeadc0deu

_Static_assert(sizeof(struct refcount_header) == 16, "the value must stay 16-aligned");

static inline struct refcount_header *refcount_header_of(const void *value)
{
    return (struct refcount_header *)((uintptr_t)value - sizeof(struct refcount_header));
}

#endif
