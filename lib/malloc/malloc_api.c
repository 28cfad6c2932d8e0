/*
 * lib/malloc/malloc_api.c - the malloc family's entry points: fast paths through the per-hart caches,
 * and the dispatch to small classes (malloc_small.c) or TLSF (malloc_tlsf.c).
 *
 * Fast paths (no lock, no atomic): malloc of 1..1008 bytes pops the calling hart's cache list for
 * the class (entry (size + 15) >> 4), and of 1009..65536 bytes the same after one table lookup;
 * free looks the block's page up in the page map (which holds the same entry number) and pushes
 * it on the calling hart's list. Everything else goes to the out-of-line slow paths.
 * In checked builds (RVMEM_CHECKED) the public functions are lib/malloc/malloc_checked.c's wrappers
 * around these; otherwise rvmem_malloc and rvmem_free are these fast paths themselves.
 */
#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"

struct malloc_state malloc_state;

#ifdef RVMEM_MALLOC_THREAD_CACHE
/* Every thread's cache starts dormant: each entry holds the list end of entry 0 (the dynamic
 * loader relocates this initial image before any thread copies it); the step table is in place. */
__thread struct malloc_cache malloc_thread_cache __attribute__((tls_model("initial-exec"))) = {
    .small_max_bytes = MALLOC_SMALL_MAX_BYTES,
    .class_max_bytes = MALLOC_CLASS_MAX_BYTES,
    .entries = {[0 ... MALLOC_CACHE_ENTRIES - 1] = {.head = &malloc_list_ends[0]}},
    .entry_of_step = {MALLOC_ENTRY_OF_STEP_TABLE}};
#endif

/* Out of line and cold, so the paths that may report keep no report on their stack (no canary). */
__attribute__((noinline, cold)) void malloc_report_misuse(int kind, uintptr_t address, const void *caller)
{
    struct misuse_report report = {
        .kind = (enum misuse_kind)kind,
        .allocator = "malloc",
        .address = address,
        .hart = hart_self(),
        .caller = caller,
    };
    misuse_report(&report);
}

/*
 * Every request in lean mode (the cache's two bounds are 0), and the sizes above the classes:
 * in lean mode straight to TLSF at the size asked (large_alloc_lean: none of malloc_alloc_slow's
 * steps before it); the general slow path when that fails (the heap must grow while idle classes
 * may give memory back first, or memory is exhausted) and in the fast mode.
 */
__attribute__((noinline)) static void *alloc_beyond_classes(size_t size)
{
    if (malloc_cache_self()->closed == MALLOC_CACHE_LEAN) {
        void *block = large_alloc_lean(size);
        if (MALLOC_LIKELY(block != NULL))
            return block;
    }
    return malloc_alloc_slow(size);
}

/*
 * Sizes above 1008 bytes: for 1009..65536 the same pop as the small path, the entry from the
 * cache's copy of the step table. Inline in alloc_fast, so the fast path makes no call.
 */
static inline __attribute__((always_inline)) void *alloc_above_small(size_t size)
{
    if (MALLOC_UNLIKELY(size > malloc_cache_self()->class_max_bytes)) /* above the classes, or lean mode */
        return alloc_beyond_classes(size);
    uintptr_t entry_index = malloc_self_entry_of_step((size - 1) >> MALLOC_CLASS_STEP_SHIFT);
    struct malloc_cache_class *entry = malloc_self_entry_at(entry_index * MALLOC_ALIGNMENT);
    struct magazine_block *block = entry->head;
    struct magazine_block *next = block->next;
    if (MALLOC_LIKELY(next != NULL)) {
        entry->head = next;
        return block;
    }
    return small_refill(entry);
}

/* malloc's fast path (see the top of this file), inlined into the entry point of each build below. */
static inline __attribute__((always_inline)) void *alloc_fast(size_t size)
{
    if (MALLOC_LIKELY(size <= malloc_cache_self()->small_max_bytes)) { /* 1008, or 0 in lean mode */
        /* Entry (size + 15) >> 4 (class + 1; 0, always empty, for size 0), as a byte offset. */
        uintptr_t entry_offset = (size + 15) & ~(uintptr_t)15;
        struct malloc_cache_class *entry = malloc_self_entry_at(entry_offset);
        struct magazine_block *block = entry->head;
        struct magazine_block *next = block->next; /* NULL: block is the list end, the magazine is empty */
        if (MALLOC_LIKELY(next != NULL)) {
            entry->head = next;
            return block;
        }
        return small_refill(entry); /* the entry's address gives the class back: no register kept for the size */
    }
    return alloc_above_small(size);
}

/* Cheap sanity checks of a pointer into a TLSF region: aligned, and its header says "used". */
static bool large_plausible(const void *block)
{
    if ((uintptr_t)block & (MALLOC_ALIGNMENT - 1))
        return false;
    const uintptr_t *header = (const uintptr_t *)block - 1;
    uintptr_t size = *header;
    return !(size & 1) && (size & ~(uintptr_t)15) >= 32;
}

/* free_slow's class block (allocated before a switch to lean mode, or by a closed cache): to its class. */
__attribute__((noinline)) static void free_class_block(void *block, unsigned class_index)
{
    struct malloc_cache *cache = malloc_cache_self();
    malloc_cache_open(cache);
    small_free_no_room(block, cache_entry_of(cache, class_index), class_index);
}

/* free_slow's last resort: NULL, a direct block, or else no block of ours (reported against caller). */
__attribute__((noinline, cold)) static void free_foreign(void *block, const void *caller)
{
    if (block && !direct_free(block))
        malloc_report_misuse(MISUSE_INVALID_FREE, (uintptr_t)block, caller);
}

/*
 * Every block free's fast path did not take: a class block, a TLSF block (every block of lean
 * mode, and the large ones: no cache involved), a direct block, NULL or a misuse. Each case ends
 * in a tail call, so this function saves no register on lean mode's way to TLSF. NULL is in no
 * small run and no TLSF region, so free_foreign, the last case, checks it.
 */
__attribute__((noinline)) static void free_slow(void *block)
{
    int class_index = small_class_at((uintptr_t)block);
    if (class_index >= 0) {
        free_class_block(block, (unsigned)class_index);
        return;
    }
    if (MALLOC_LIKELY(tlsf_owns((uintptr_t)block) && large_plausible(block))) {
        large_free(block);
        return;
    }
    free_foreign(block, __builtin_return_address(0));
}

/*
 * The fast path's fall-through: when the block is small and its loaded magazine is full while the
 * spare is empty, the full one becomes the spare (no lock, a few instructions); with a full spare
 * small_free_no_room hands that over to the central state; anything else (not small, outside the
 * heap, NULL) goes on to free_slow.
 */
__attribute__((noinline)) static void free_no_room(void *block)
{
    struct malloc_cache *cache = malloc_cache_self();
    uintptr_t offset = (uintptr_t)block - cache->heap_start;
    if (offset < cache->map_span_bytes) {
        uintptr_t entry_index = cache->page_map[offset >> PAGE_SHIFT];
        struct malloc_cache_class *entry = &cache->entries[entry_index];
        if (entry_index != 0) {
            if (entry->limit != 0 && cache->spares[entry_index] == NULL) { /* (the magazine is full) */
                struct magazine_block *freed = block, *end = &malloc_list_ends[entry_index];
                cache->spares[entry_index] = entry->head;
                freed->next = end;
                freed->room = end->room - 1;
                entry->head = freed;
                return;
            }
            small_free_no_room(block, entry, (unsigned)entry_index - 1); /* hand the full spare over */
            return;
        }
    }
    free_slow(block);
}

/* free's fast path, inlined into the entry point of each build below. */
static inline __attribute__((always_inline)) void free_fast(void *block)
{
    struct malloc_cache *cache = malloc_cache_self();
    uintptr_t offset = (uintptr_t)block - cache->heap_start;
    if (MALLOC_LIKELY(offset < cache->map_span_bytes)) {
        /* The page map's byte is the entry (class + 1), or 0 for a page that is not a small run:
         * entry 0 always holds its list end alone, whose room is 0, so that case falls to the
         * slow path too (and so does a dormant entry). */
        uintptr_t entry_index = cache->page_map[offset >> PAGE_SHIFT];
        struct malloc_cache_class *entry = malloc_self_entry_at(entry_index * MALLOC_ALIGNMENT);
        struct magazine_block *head = entry->head;
        uintptr_t room = head->room;
        if (MALLOC_LIKELY(room != 0)) {
            struct magazine_block *freed = block;
            freed->next = head;
            freed->room = room - 1;
            entry->head = freed;
            return;
        }
    }
    free_no_room(block); /* not small, outside the heap, or the loaded magazine is full */
}

static inline __attribute__((always_inline)) size_t usable_bytes(const void *block)
{
    if (!block)
        return 0;
    int class_index = small_class_at((uintptr_t)block);
    if (class_index >= 0)
        return small_class_bytes((unsigned)class_index);
    if (tlsf_owns((uintptr_t)block) && large_plausible(block))
        return tlsf_usable_size(block);
    size_t direct = direct_bytes_of((uintptr_t)block);
    if (direct)
        return direct;
    malloc_report_misuse(MISUSE_INVALID_FREE, (uintptr_t)block, __builtin_return_address(0));
    return 0;
}

void *malloc_core_aligned(size_t alignment, size_t size)
{
    if (alignment <= MALLOC_ALIGNMENT)
        return malloc_core_alloc(size);
    if (alignment == 32 && size <= MALLOC_CLASS_MAX_BYTES && !malloc_self_is_lean()) {
        /* Runs are page aligned and their blocks start 32 bytes in: classes of a multiple of 32
         * bytes (the even 16-byte steps, and every class from 1024 up) are 32-aligned. */
        return malloc_core_alloc(size == 0 ? 32 : (size + 31) & ~(size_t)31);
    }
    if (!malloc_state.ready)
        return NULL;
    void *block = large_alloc(alignment, size);
    if (!block && malloc_reclaim())
        block = large_alloc(alignment, size);
    if (!block)
        block = direct_alloc(alignment, size); /* beyond the heap, where the binding maps pages */
    if (!block)
        malloc_note_failure();
    return block;
}

#ifdef RVMEM_CHECKED
/* The checked build's base: lib/malloc/malloc_checked.c's public functions wrap these. */
ARCH_NO_FRAME_POINTER void *malloc_core_alloc(size_t size)
{
    return alloc_fast(size);
}

ARCH_NO_FRAME_POINTER void malloc_core_free(void *block)
{
    free_fast(block);
}

size_t malloc_core_usable_size(const void *block)
{
    return usable_bytes(block);
}
#else
/* Unchecked, the public functions are the fast paths themselves: no call in between. */
ARCH_NO_FRAME_POINTER void *rvmem_malloc(size_t size)
{
    return alloc_fast(size);
}

ARCH_NO_FRAME_POINTER void rvmem_free(void *block)
{
    free_fast(block);
}

size_t rvmem_malloc_usable_size(const void *block)
{
    return usable_bytes(block);
}

/*
 * Gives the binding the whole pages inside a heap block that realloc moved out into a direct
 * block, before the block is freed: its bytes are dead, and the heap would otherwise hold them
 * resident until a trim (class blocks until they are reused). What free writes into it afterwards
 * (links, boundary tags) faults its page in again. No-op without release_pages, and where released
 * pages go to another owner (reclaim_pages: the kernel, which has no direct blocks anyway): only a
 * trim releases those, marking the free chunks it releases so they are reclaimed before reuse.
 */
static void release_moved_pages(void *block, size_t bytes)
{
    if (!malloc_state.release_pages || malloc_state.reclaim_pages)
        return;
    uintptr_t start = ((uintptr_t)block + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
    uintptr_t end = ((uintptr_t)block + bytes) & ~(uintptr_t)(PAGE_SIZE - 1);
    if (end > start)
        malloc_state.release_pages((void *)start, end - start);
}

/* (The checked build's realloc, in malloc_checked.c, always moves.) */
void *rvmem_realloc(void *block, size_t size)
{
    if (!block)
        return rvmem_malloc(size);
    if (size == 0) {
        rvmem_free(block);
        return NULL;
    }
    size_t have;
    bool in_heap = true; /* a class or TLSF block, not a direct one */
    int class_index = small_class_at((uintptr_t)block);
    if (class_index >= 0) {
        have = small_class_bytes((unsigned)class_index);
        if (size <= have && size > have / 2)
            return block;
    } else if (tlsf_owns((uintptr_t)block) && large_plausible(block)) {
        have = tlsf_usable_size(block);
        /* (Lean mode resizes every TLSF block in place when it can: no class would serve it.) */
        if ((size > MALLOC_CLASS_MAX_BYTES || malloc_self_is_lean()) && tlsf_resize_in_place(block, size)) {
            size_t now = tlsf_usable_size(block);
            __atomic_fetch_add(&malloc_state.large_bytes_out, now - have, __ATOMIC_RELAXED);
            if (now > have)
                malloc_note_peak(); /* after the count: the grown block is in the peak */
            return block;
        }
    } else if ((have = direct_bytes_of((uintptr_t)block)) != 0) {
        in_heap = false;
        if (size <= have && size > have / 2)
            return block;
        void *resized = size >= MALLOC_REMAP_MIN_BYTES ? direct_resize(block, size) : NULL;
        if (resized)
            return resized;
    } else {
        malloc_report_misuse(MISUSE_INVALID_FREE, (uintptr_t)block, __builtin_return_address(0));
        return NULL;
    }
    void *moved = NULL;
    bool left_heap = false;
    if (size > have && size >= MALLOC_REMAP_MIN_BYTES && direct_remaps()) {
        moved = direct_alloc(MALLOC_ALIGNMENT, size); /* from now on it grows by remapping (malloc_direct.c) */
        left_heap = moved != NULL && in_heap;
    }
    if (!moved)
        moved = rvmem_malloc(size);
    if (!moved)
        return size <= have ? block : NULL; /* shrinking never fails: keep the block */
    memcpy(moved, block, size < have ? size : have);
    if (left_heap)
        release_moved_pages(block, have);
    rvmem_free(block);
    return moved;
}
#endif

#ifdef RVMEM_CHECKED
void *malloc_checked_aligned(size_t alignment, size_t size, const void *caller);
#endif

void *rvmem_calloc(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        malloc_note_failure();
        return NULL;
    }
    void *block = rvmem_malloc(bytes);
    if (block)
        memset(block, 0, bytes);
    return block;
}

void *rvmem_aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)))
        return NULL;
#ifdef RVMEM_CHECKED
    return malloc_checked_aligned(alignment, size, __builtin_return_address(0));
#else
    return malloc_core_aligned(alignment, size);
#endif
}

void *rvmem_memalign(size_t alignment, size_t size)
{
    return rvmem_aligned_alloc(alignment, size);
}

int rvmem_posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
        return E_INVAL;
    void *block = rvmem_aligned_alloc(alignment, size);
    if (!block)
        return E_NOMEM;
    *out = block;
    return 0;
}

void rvmem_malloc_flush_cache_of(void *cache)
{
    if (malloc_state.ready && cache)
        small_flush_cache(cache);
}

void rvmem_malloc_flush_cache(void)
{
    rvmem_malloc_flush_cache_of(malloc_cache_self());
}

void *rvmem_malloc_own_cache(void)
{
    return malloc_cache_self();
}

/*
 * A thread that ends may leave most of the heap free in the classes: its blocks, and the runs they
 * came from, which only a walk of every free class block can tell are whole (release_class). So a
 * closing cache releases (runs whose blocks are all free go to TLSF, then the heap is trimmed: the
 * free top through more-core, and the pages inside free chunks where the binding can) when the
 * demand for class blocks has collapsed: what is out (held or cached) has fallen to an eighth of
 * the most that was out since the last release (malloc_small.c's note_taken keeps it), and the classes hold at least
 * MALLOC_CLOSE_RELEASE_MIN_BYTES free. And, since a release walks every free class block, only when
 * the bytes that came back since then are at least a quarter of what that release left free (the
 * blocks it could not release, pinned by blocks still out): what came back pays for the walk.
 * Threads that end while others still allocate, or with little to give back, do not walk.
 */
#define MALLOC_CLOSE_RELEASE_MIN_BYTES ((size_t)1 << 20)

/* Whether a closing cache should release (above), from the free and out bytes now. */
static bool release_due(size_t free_now, size_t out_now)
{
    size_t out_peak = __atomic_load_n(&malloc_state.out_small_peak_since_release, __ATOMIC_RELAXED);
    size_t free_then = __atomic_load_n(&malloc_state.free_small_after_release, __ATOMIC_RELAXED);
    return free_now >= MALLOC_CLOSE_RELEASE_MIN_BYTES && out_now <= out_peak / 8 && out_peak - out_now >= free_then / 4;
}

/* The release at a cache's close (above); the cache is already flushed. */
static void release_after_close(void)
{
    size_t out_now = __atomic_load_n(&malloc_state.small_bytes_out, __ATOMIC_RELAXED);
    if (!release_due(small_free_central_bytes(), out_now))
        return;
    small_release_free_runs();
    tlsf_trim(0);
    __atomic_store_n(&malloc_state.free_small_after_release, small_free_central_bytes(), __ATOMIC_RELAXED);
    __atomic_store_n(&malloc_state.out_small_peak_since_release,
                     __atomic_load_n(&malloc_state.small_bytes_out, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

void rvmem_malloc_close_cache(void)
{
    /* A cache in lean mode holds nothing and stays lean (its mallocs go to TLSF). */
    if (!malloc_state.ready || malloc_cache_self()->closed == MALLOC_CACHE_LEAN)
        return;
    small_close_cache(malloc_cache_self());
    release_after_close();
}

size_t rvmem_malloc_trim(void)
{
    if (!malloc_state.ready)
        return 0;
    small_flush_cache(malloc_cache_self());
    small_release_free_runs();
    return tlsf_trim(0);
}

size_t rvmem_malloc_trim_all_harts(void)
{
    if (!malloc_state.ready)
        return 0;
    run_on_all_harts(rvmem_malloc_flush_cache);
    return rvmem_malloc_trim();
}

int rvmem_malloc_init(const struct malloc_binding *binding)
{
    if (!binding || !binding->more_core || !binding->page_map || binding->page_map_bytes < 2)
        return -E_INVAL;
    void *current = binding->more_core(0);
    if (current == (void *)-1)
        return -E_NOMEM;
    malloc_state.more_core = binding->more_core;
    malloc_state.thread_cache_opened = binding->thread_cache_opened;
    if (binding->map_pages && binding->unmap_pages) {
        malloc_state.map_pages = binding->map_pages;
        malloc_state.unmap_pages = binding->unmap_pages;
        malloc_state.remap_pages = binding->remap_pages;
    }
    malloc_state.release_pages = binding->release_pages;
    malloc_state.reclaim_pages = binding->release_pages ? binding->reclaim_pages : NULL;
    malloc_state.page_map = binding->page_map;
    malloc_state.heap_start = ((uintptr_t)current + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    size_t pages = binding->page_map_bytes / 2;
    malloc_state.map_span_bytes = pages << PAGE_SHIFT;
    malloc_state.run_page_index = binding->page_map + pages;
    malloc_classes_init();
#ifndef RVMEM_MALLOC_THREAD_CACHE
    for (unsigned hart = 0; hart < MALLOC_CACHES; hart++) {
        malloc_cache_start(malloc_cache_of(hart));
        malloc_cache_bind(malloc_cache_of(hart));
    }
#endif
    __atomic_store_n(&malloc_state.ready, true, __ATOMIC_RELEASE);
    return 0;
}

void rvmem_malloc_lock_all(void)
{
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        spin_lock(&malloc_state.centrals[class_index].lock);
    spin_lock(&malloc_state.pending.lock);
    spin_lock(&malloc_state.tlsf.lock);
    spin_lock(&malloc_state.direct.lock);
}

void rvmem_malloc_unlock_all(void)
{
    spin_unlock(&malloc_state.direct.lock);
    spin_unlock(&malloc_state.tlsf.lock);
    spin_unlock(&malloc_state.pending.lock);
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        spin_unlock(&malloc_state.centrals[class_index].lock);
}
