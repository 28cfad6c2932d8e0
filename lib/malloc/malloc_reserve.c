/*
 * lib/malloc/malloc_reserve.c - rvmem_malloc_reserve: the heap reserved up front.
 *
 * A reserve is a floor on the heap's span (heap start to the break): tlsf_reserve grows the heap
 * to it at once and the trims of malloc_tlsf.c stop at it. While one is set, new runs are laid
 * out lazily (malloc_small.c: new_run, cut_lazily), so with the heap big enough for a program's
 * peak no malloc or free of a class block moves the break or lays out a whole run.
 */
#include "kernel/base/errors.h"
#include "lib/malloc/malloc_internal.h"

int rvmem_malloc_reserve(size_t bytes)
{
    if (!malloc_state.ready)
        return -E_INVAL;
    if (bytes > malloc_state.map_span_bytes)
        return -E_NOMEM; /* runs could not live beyond what the page map covers */
    return tlsf_reserve(bytes);
}
