/*
 * lib/malloc/malloc_mode.c - the allocator's modes: fast (size classes through per-hart caches)
 * and lean (every new block from TLSF).
 *
 * Lean mode costs the fast paths nothing: it reuses the closed cache (rvmem_malloc_close_cache).
 * A cache in lean mode has every entry dormant, so malloc's fast path finds no block and free's
 * finds no room, both with the instructions they always run, and their slow paths read the
 * cache's closed word only where they would set an entry up: MALLOC_CACHE_LEAN sends a malloc
 * to lean_alloc (TLSF), and a free of a TLSF block goes to TLSF as it always did, while a class
 * block allocated before the switch goes back to its class (its central state, as from a closed
 * cache). Switching back to fast opens the cache again: its entries set themselves up on first
 * use, as a new cache's do.
 */
#include "kernel/base/errors.h"
#include "lib/malloc/malloc_internal.h"

void *lean_alloc(size_t size)
{
    void *block = tlsf_alloc(size);
    if (MALLOC_LIKELY(block != NULL)) {
        __atomic_fetch_add(&malloc_state.large_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
        malloc_note_peak();
        return block;
    }
    /* As malloc_alloc_slow: runs whose blocks are all free go back to TLSF and one more try, then a
     * direct block (where the binding maps pages). */
    if (malloc_reclaim())
        block = large_alloc(MALLOC_ALIGNMENT, size);
    if (!block)
        block = direct_alloc(MALLOC_ALIGNMENT, size);
    if (!block)
        malloc_note_failure();
    return block;
}

/* Puts cache in mode: lean flushes and closes it (its entries dormant); fast opens it again. */
static void cache_apply_mode(struct malloc_cache *cache, enum malloc_mode mode)
{
    if (mode == MALLOC_MODE_LEAN) {
        if (cache->closed != MALLOC_CACHE_LEAN) {
            small_close_cache(cache);
            cache->closed = MALLOC_CACHE_LEAN;
            cache->small_max_bytes = 0; /* every request to the slow path, with its size */
            cache->class_max_bytes = 0;
        }
    } else if (cache->closed == MALLOC_CACHE_LEAN) {
        cache->closed = 0; /* its entries are dormant: each sets itself up on its first use */
        cache->small_max_bytes = MALLOC_SMALL_MAX_BYTES;
        cache->class_max_bytes = MALLOC_CLASS_MAX_BYTES;
    }
}

void malloc_cache_take_mode(struct malloc_cache *cache)
{
    if (__atomic_load_n(&malloc_state.mode, __ATOMIC_RELAXED) == MALLOC_MODE_LEAN && cache->closed == 0)
        cache_apply_mode(cache, MALLOC_MODE_LEAN);
}

int rvmem_malloc_set_mode(enum malloc_mode mode)
{
    if (mode != MALLOC_MODE_FAST && mode != MALLOC_MODE_LEAN)
        return -E_INVAL;
    int previous = __atomic_exchange_n(&malloc_state.mode, (uint32_t)mode, __ATOMIC_RELAXED);
    if (__atomic_load_n(&malloc_state.ready, __ATOMIC_ACQUIRE))
        cache_apply_mode(malloc_cache_self(), mode);
    return previous;
}

enum malloc_mode rvmem_malloc_mode(void)
{
    return (enum malloc_mode)__atomic_load_n(&malloc_state.mode, __ATOMIC_RELAXED);
}

/* run_on_all_harts's job: the calling hart's cache takes the mode just set. */
static void apply_mode_here(void)
{
    cache_apply_mode(malloc_cache_self(), rvmem_malloc_mode());
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
