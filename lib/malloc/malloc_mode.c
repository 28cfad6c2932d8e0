/*
 * lib/malloc/malloc_mode.c - the allocator's modes: fast (size classes through per-hart caches)
 * and lean (every new block from TLSF).
 *
 * Lean mode costs the fast paths nothing: it reuses the closed cache (rvmem_malloc_close_cache).
 * A cache in lean mode has every entry dormant, so free's fast path finds no room with the
 * instructions it always runs, and its slow path reads the cache's closed word only where it
 * would set an entry up: a TLSF block goes to TLSF as it always did (the page map says it is no
 * class block), a class block allocated before the switch back to its class (its central state,
 * as from a closed cache). The cache's two size bounds, which malloc's fast path loads where it
 * compared with constants (the same instruction count), are 0 in lean mode, so every malloc leaves
 * the fast path with the size asked and goes to TLSF (malloc_api.c's alloc_beyond_classes; on to
 * malloc_alloc_slow only when that cannot serve it without growing the heap). Switching back
 * to fast opens the cache again: its entries set themselves up on first use, as a new cache's do.
 */
#include "kernel/base/errors.h"
#include "lib/malloc/malloc_internal.h"

int rvmem_malloc_set_mode(enum malloc_mode mode)
{
    if (mode != MALLOC_MODE_FAST && mode != MALLOC_MODE_LEAN)
        return -E_INVAL;
    int previous = __atomic_exchange_n(&malloc_state.mode, (uint32_t)mode, __ATOMIC_RELAXED);
    if (__atomic_load_n(&malloc_state.ready, __ATOMIC_ACQUIRE))
        small_cache_set_mode(malloc_cache_self(), mode);
    return previous;
}

enum malloc_mode rvmem_malloc_mode(void)
{
    return (enum malloc_mode)__atomic_load_n(&malloc_state.mode, __ATOMIC_RELAXED);
}

/* run_on_all_harts's job: the calling hart's cache takes the mode just set. */
static void apply_mode_here(void)
{
    small_cache_set_mode(malloc_cache_self(), rvmem_malloc_mode());
}

int rvmem_malloc_set_mode_all_harts(enum malloc_mode mode)
{
    int previous = rvmem_malloc_set_mode(mode);
    if (previous < 0 || !__atomic_load_n(&malloc_state.ready, __ATOMIC_ACQUIRE))
        return previous;
    run_on_all_harts(apply_mode_here);
    if (mode == MALLOC_MODE_LEAN)
        rvmem_malloc_trim();
    return previous;
}
