/*
 * lib/malloc/malloc_stats.c - rvmem_malloc_stats: what the allocator holds, by class and in total.
 *
 * Per class: blocks carved into runs minus the free ones (central list, uncarved tail, per-hart
 * caches) are the blocks in use. The calling hart's cache is counted exactly; another hart's from
 * the room of its top blocks and its spares, read while that hart may be changing them, so with other harts active the
 * figures may be off by what they hold (exact once they flush, as rvmem_malloc_trim and thread exit do). Medium blocks
 * are counted as they come and go. The heap span is the allocator's break minus the heap start; footprint is span /
 * peak bytes in use.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"

/* Free blocks of class_index sitting in per-hart caches (every hart's; the LD_PRELOAD build sees only its own). */
static size_t cached_blocks(unsigned class_index)
{
    size_t cached = 0;
    uint32_t limit = small_cache_limit(class_index);
#ifdef RVMEM_MALLOC_THREAD_CACHE
    const struct malloc_cache_class *entry = cache_entry_of(malloc_cache_self(), class_index);
    cached += small_cache_length(entry);
    if (malloc_cache_self()->spares[class_index + 1])
        cached += limit;
#else
    const struct malloc_cache *own = malloc_cache_self();
    for (unsigned hart = 0; hart < MALLOC_CACHES; hart++) {
        const struct malloc_cache_class *entry = cache_entry_of(malloc_cache_of(hart), class_index);
        if (malloc_cache_of(hart) == own) {
            cached += small_cache_length(entry); /* exact */
        } else if (__atomic_load_n(&entry->limit, __ATOMIC_RELAXED)) {
            /* Another hart's, read while it may change: its top block may be handed out meanwhile,
             * so the room read may be anything; only a plausible one counts. */
            const struct magazine_block *head = __atomic_load_n(&entry->head, __ATOMIC_RELAXED);
            uintptr_t room = __atomic_load_n(&head->room, __ATOMIC_RELAXED);
            if (room <= limit)
                cached += limit - room;
        }
        if (__atomic_load_n(&malloc_cache_of(hart)->spares[class_index + 1], __ATOMIC_RELAXED))
            cached += limit; /* a spare magazine is full */
    }
#endif
    return cached;
}

void rvmem_malloc_stats(struct malloc_stats *out)
{
    memset(out, 0, sizeof *out);
    size_t small_in_use_bytes = 0;
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++) {
        struct small_central *central = &malloc_state.centrals[class_index];
        struct malloc_class_stats *class_stats = &out->classes[class_index];
        size_t bytes = small_class_bytes(class_index);
        spin_lock(&central->lock);
        size_t carved = central->carved_blocks;
        size_t free_central = small_central_free_blocks(central, class_index);
        class_stats->runs = (uint32_t)central->run_count;
        spin_unlock(&central->lock);
        size_t cached = cached_blocks(class_index);
        size_t in_use = carved >= free_central + cached ? carved - free_central - cached : 0;
        class_stats->block_bytes = (uint32_t)bytes;
        class_stats->in_use = (uint32_t)in_use;
        class_stats->cached = (uint32_t)cached;
        class_stats->free_central = (uint32_t)free_central;
        out->small_runs += class_stats->runs;
        out->bytes_cached += cached * bytes;
        out->bytes_free_small += free_central * bytes;
        small_in_use_bytes += in_use * bytes;
    }
    /* Runs of idle classes on their way back to TLSF (malloc_idle.c): still runs, all free. */
    size_t runs_off_classes, pending_bytes; /* runs that are TLSF chunks but no class's */
    small_pending_stats(&runs_off_classes, &pending_bytes);
    out->small_runs += runs_off_classes;
    out->bytes_free_small += pending_bytes;
    /* Runs under scan (malloc_scan.c), and the free blocks it took from their class. */
    size_t scan_runs, scan_free_bytes;
    small_scan_stats(&scan_runs, &scan_free_bytes);
    runs_off_classes += scan_runs;
    out->small_runs += scan_runs;
    out->bytes_free_small += scan_free_bytes;
    struct tlsf_state *tlsf = &malloc_state.tlsf;
    spin_lock(&tlsf->lock);
    out->bytes_free_medium = tlsf_free_bytes();
    out->medium_blocks_in_use = tlsf->used_blocks;
    out->more_core_calls = tlsf->more_core_calls;
    out->heap_start = malloc_state.heap_start;
    out->heap_span_bytes = tlsf->region_count ? tlsf_break() - malloc_state.heap_start : 0;
    out->peak_heap_span_bytes = tlsf->peak_span_bytes;
    size_t runs_blocks = runs_off_classes;
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        runs_blocks += out->classes[class_index].runs;
    spin_unlock(&tlsf->lock);
    out->medium_blocks_in_use -= runs_blocks; /* runs are TLSF chunks too */
    out->bytes_in_use = small_in_use_bytes + __atomic_load_n(&malloc_state.large_bytes_out, __ATOMIC_RELAXED);
    out->peak_bytes_in_use = __atomic_load_n(&malloc_state.peak_bytes_in_use, __ATOMIC_RELAXED);
    if (out->peak_bytes_in_use < out->bytes_in_use)
        out->peak_bytes_in_use = out->bytes_in_use;
    /* In 64 bits: 1000 x a span above 4 MiB does not fit a 32-bit size_t. */
    out->footprint_permille =
        out->peak_bytes_in_use ? (size_t)((uint64_t)1000 * out->heap_span_bytes / out->peak_bytes_in_use) : 0;
    out->failed_requests = __atomic_load_n(&malloc_state.failed_requests, __ATOMIC_RELAXED);
    direct_stats(&out->direct_blocks, &out->direct_bytes, &out->direct_resizes);
    out->idle_class_releases = __atomic_load_n(&malloc_state.idle_detaches, __ATOMIC_RELAXED);
    out->class_scans = __atomic_load_n(&malloc_state.scans, __ATOMIC_RELAXED);
    out->scan_runs_released = __atomic_load_n(&malloc_state.scan_runs_released, __ATOMIC_RELAXED);
    out->short_runs = small_short_runs_taken();
}

size_t rvmem_malloc_run_changes(void)
{
    return __atomic_load_n(&malloc_state.run_changes, __ATOMIC_RELAXED);
}
