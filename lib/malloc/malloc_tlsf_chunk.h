/*
 * lib/malloc/malloc_tlsf_chunk.h - TLSF's chunk header and the helpers malloc_tlsf.c and its validator
 * (malloc_tlsf_validate.c) share. Not for users: include lib/malloc/malloc.h.
 */
#ifndef RVMEM_LIB_MALLOC_MALLOC_TLSF_CHUNK_H
#define RVMEM_LIB_MALLOC_MALLOC_TLSF_CHUNK_H

#include <stdint.h>

#include "lib/malloc/malloc_internal.h"

struct tlsf_chunk {
    uintptr_t prev_size; /* size of the previous chunk; valid only when PREV_FREE is set */
#if UINTPTR_MAX == 0xffffffffu
    uint32_t padding[2]; /* rv32: size stays the word right before the payload, as on rv64 */
#endif
    uintptr_t size; /* chunk bytes (header included) | flags */
    struct tlsf_chunk *next_free;
    struct tlsf_chunk *prev_free;
};

#define CHUNK_FREE ((uintptr_t)1)
#define CHUNK_PREV_FREE ((uintptr_t)2)
/*
 * On a free chunk: some of its inner pages may have been given away (release_pages with a
 * reclaim_pages binding: the kernel); they are reclaimed before any part of it is handed out. A
 * chunk merged from parts is flagged when any part was. On a chunk not free: a hole (T->holes).
 */
#define CHUNK_RELEASED ((uintptr_t)4)
#define CHUNK_FLAGS (CHUNK_FREE | CHUNK_PREV_FREE | CHUNK_RELEASED)
#define CHUNK_HEADER_BYTES TLSF_CHUNK_HEADER_BYTES
#define CHUNK_MIN_BYTES 32
_Static_assert(__builtin_offsetof(struct tlsf_chunk, size) + sizeof(uintptr_t) == CHUNK_HEADER_BYTES,
               "the size word is the last of the header: free() reads it right before the payload");
_Static_assert(__builtin_offsetof(struct small_run, tlsf_size) == __builtin_offsetof(struct tlsf_chunk, size) &&
                   sizeof(struct small_run) <= SMALL_RUN_HEADER_BYTES,
               "a run's header overlays its TLSF chunk header: the run's own fields come after the size word");
#define TLSF_LINEAR_LIMIT ((size_t)1 << (TLSF_SL_LOG2 + 4)) /* below this, lists are 16 bytes apart */

/* TLSF's state (only malloc_tlsf.c and malloc_tlsf_validate.c include this header). */
#define T (&malloc_state.tlsf)

static inline size_t chunk_bytes(const struct tlsf_chunk *chunk)
{
    return chunk->size & ~CHUNK_FLAGS;
}

static inline struct tlsf_chunk *chunk_next(struct tlsf_chunk *chunk)
{
    return (struct tlsf_chunk *)((uintptr_t)chunk + chunk_bytes(chunk));
}

static inline struct tlsf_chunk *chunk_of(const void *payload)
{
    return (struct tlsf_chunk *)((uintptr_t)payload - CHUNK_HEADER_BYTES);
}

static inline void *chunk_payload(struct tlsf_chunk *chunk)
{
    return (void *)((uintptr_t)chunk + CHUNK_HEADER_BYTES);
}

/* The list a free chunk of size bytes belongs to. */
static inline void mapping_insert(size_t size, unsigned *first, unsigned *second)
{
    if (size < TLSF_LINEAR_LIMIT) {
        *first = 0;
        *second = (unsigned)(size >> 4);
        return;
    }
    unsigned log2 = malloc_highest_bit(size);
    *first = log2 - (TLSF_SL_LOG2 + 4) + 1;
    *second = (unsigned)(size >> (log2 - TLSF_SL_LOG2)) & (TLSF_SL_COUNT - 1);
}

#endif
