/*
 * lib/malloc/malloc_small.c - class blocks (1..65536 bytes): size-class runs and the central lists.
 *
 * A run is a page-aligned TLSF chunk (4 or 8 KiB below 1 KiB; from 1 KiB up, room for at least 24
 * blocks, 8 above 16 KiB) holding a 32-byte header and then blocks of one class; the page map
 * marks its pages with the class, and a second map byte per page says how far back the run
 * starts. A new run's blocks are laid out as magazines when it is taken, so magazines are taken
 * off it in O(1); while the heap is reserved (rvmem_malloc_reserve) they are laid out lazily
 * instead: each refill that cuts blocks off the run lays out those blocks only (at most
 * SMALL_LAZY_CUT_BLOCKS, or SMALL_LAZY_CUT_BYTES of big ones) and marks their pages in the page
 * maps, so no call lays out or marks more than that, however big the run. Each
 * class has a central state under its own lock: a stack of full magazines (chains), a short
 * list of loose blocks, the uncarved tail of its newest run and the list of its runs.
 *
 * Per-hart caches (malloc_api.c) work as magazines (Bonwick's magazine layer): per class a loaded
 * list of at most small_cache_limit(class) blocks and one spare that is either empty or full.
 * A free that finds the loaded list full makes it the spare and hands the old spare to the
 * central state as one chain; a malloc that finds it empty loads the spare, or takes a chain (or
 * a magazine cut off the newest run, or the loose blocks) from the central state. Every
 * exchange is O(1); only a refill that finds the class empty takes a new run from TLSF.
 * Blocks are owned by nobody: any hart may free any block into its own cache, so cross-hart frees
 * never touch another hart's lists.
 *
 * Runs whose blocks are all free go back to TLSF in small_release_free_runs() (rvmem_malloc_trim):
 * O(free blocks of the class), so never on a fast path. A class nobody uses any more gives all its
 * runs back on its own, a few per call, without that walk (malloc_idle.c).
 *
 * Also here, the path every allocation ends in when its class (or TLSF) has nothing left:
 * malloc_alloc_slow reclaims cached blocks and free runs, retries, asks for a direct block
 * (malloc_direct.c: where the binding maps pages), and counts a failure.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"

struct malloc_classes malloc_classes;
const uint8_t malloc_entry_of_step[MALLOC_CLASS_STEPS] = {MALLOC_ENTRY_OF_STEP_TABLE};
struct magazine_block malloc_list_ends[MALLOC_CACHE_ENTRIES] __attribute__((aligned(16)));

/* Bytes of class class_index: 16-byte steps up to 1008, 1024, then 8 per power of two. */
static uint32_t class_bytes_computed(unsigned class_index)
{
    if (class_index < MALLOC_LINEAR_CLASSES)
        return (class_index + 1) * MALLOC_ALIGNMENT;
    unsigned k = class_index - MALLOC_LINEAR_CLASSES; /* 0: 1024; then (8 + step) << (7 + octave) */
    if (k == 0)
        return 1024;
    unsigned octave = (k - 1) / 8, step = k - 8 * octave;
    return (8u + step) << (7 + octave);
}

/* Blocks of the fewest a usual run of a class of bytes-byte blocks holds from 1 KiB up: 24 (8
 * above 16 KiB), the least that brings zstress under its malloc target (docs/MALLOC.md). */
#define LEAST_RUN_BLOCKS(bytes) ((bytes) <= 16384 ? 24u : 8u)

/* The least whole pages that hold a run's header and blocks blocks of bytes bytes. */
static uint32_t run_pages_for(uint32_t blocks, uint32_t bytes)
{
    return (blocks * bytes + SMALL_RUN_HEADER_BYTES + PAGE_SIZE - 1) / PAGE_SIZE;
}

/*
 * Usual run size of a class: 4 KiB (blocks up to 256 B) or 8 KiB below 1 KiB; from 1 KiB up, at least
 * LEAST_RUN_BLOCKS and at most twice that many pages (and SMALL_RUN_MAX_PAGES), the page
 * count that wastes the smallest share: 15 to 55 blocks, up to 241 pages. The least waste leaves
 * less than a page unused (a page less would waste less), so the pages are the least for the
 * blocks they hold (small_run_size relies on it).
 */
static uint32_t class_run_bytes_computed(uint32_t bytes)
{
    if (bytes < 1024)
        return bytes <= 256 ? 4096 : 8192;
    uint32_t least = run_pages_for(LEAST_RUN_BLOCKS(bytes), bytes);
    uint32_t most = 2 * least < SMALL_RUN_MAX_PAGES ? 2 * least : SMALL_RUN_MAX_PAGES;
    uint32_t best = least;
    uint64_t best_waste_scaled = UINT64_MAX;
    for (uint32_t pages = least; pages <= most; pages++) {
        uint32_t room = pages * PAGE_SIZE - SMALL_RUN_HEADER_BYTES;
        uint64_t waste_scaled = (uint64_t)(room % bytes) * (2 * least) / pages; /* waste / run, compared */
        if (waste_scaled < best_waste_scaled) {
            best_waste_scaled = waste_scaled;
            best = pages;
        }
    }
    return best * PAGE_SIZE;
}

void malloc_classes_init(void)
{
    struct malloc_classes *C = &malloc_classes;
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++) {
        uint32_t bytes = class_bytes_computed(class_index);
        C->block_bytes[class_index] = bytes;
        C->run_bytes[class_index] = class_run_bytes_computed(bytes);
        /* Short runs from 1 KiB up: the least pages for LEAST_RUN_BLOCKS, then for half as many. */
        for (unsigned size = 0; size < MALLOC_SHORT_RUN_SIZES; size++)
            C->short_run_bytes[size][class_index] =
                bytes < 1024 ? 0 : run_pages_for(LEAST_RUN_BLOCKS(bytes) >> size, bytes) * PAGE_SIZE;
        /* Magazines: 8 KiB's worth below 1 KiB (8 to 64 blocks), 128 KiB's worth up to 16 KiB (8 to
         * 32), 2 above (docs/MALLOC.md says how each was chosen). */
        uint32_t limit = bytes < 1024 ? 8192 / bytes : bytes <= 16384 ? 131072 / bytes : 2;
        uint32_t least = bytes <= 16384 ? 8 : 2, most = bytes < 1024 ? 64 : bytes <= 16384 ? 32 : 2;
        C->cache_limit[class_index] = limit < least ? least : limit > most ? most : limit;
        malloc_list_ends[class_index + 1].room = C->cache_limit[class_index];
    }
}

bool small_block_is_start(uintptr_t block, unsigned class_index)
{
    struct small_run *run = small_run_of(block);
    uintptr_t first = (uintptr_t)run + SMALL_RUN_HEADER_BYTES;
    if (block < first)
        return false;
    size_t offset = block - first;
    size_t bytes = small_class_bytes(class_index);
    return offset % bytes == 0 && offset / bytes < run->capacity;
}

/* Marks every page of a run in both page maps. */
static inline void mark_map(struct small_run *run, size_t run_bytes, unsigned class_index)
{
    small_mark_map_range(run, 0, run_bytes >> PAGE_SHIFT, class_index);
}

/*
 * Lays count blocks of bytes from first out as one magazine (count >= 1): linked in address
 * order, the last to end, each with its room (limit - the blocks from it to the end).
 */
static inline void lay_out_magazine(uintptr_t first, size_t bytes, size_t count, uint32_t limit,
                                    struct magazine_block *end)
{
    struct magazine_block *block = (struct magazine_block *)first;
    uintptr_t room = limit - count;
    /* Two a round: the loop's own instructions are shared by two blocks. */
    for (; count > 2; count -= 2, room += 2) {
        struct magazine_block *second = (struct magazine_block *)((uintptr_t)block + bytes);
        struct magazine_block *third = (struct magazine_block *)((uintptr_t)second + bytes);
        block->next = second;
        block->room = room;
        second->next = third;
        second->room = room + 1;
        block = third;
    }
    if (count == 2) {
        struct magazine_block *second = (struct magazine_block *)((uintptr_t)block + bytes);
        block->next = second;
        block->room = room++;
        block = second;
    }
    block->next = end;
    block->room = room;
}

/*
 * Lays a new run's blocks out as ready magazines of limit blocks each (the last one may be
 * shorter), so a refill takes one off the run with no work per block: the uncarved part always
 * starts at a magazine (cut_uncarved).
 */
static inline __attribute__((always_inline)) void lay_out_run(uintptr_t first, size_t bytes, size_t blocks,
                                                              uint32_t limit, struct magazine_block *end)
{
    for (; blocks > limit; blocks -= limit, first += limit * bytes)
        lay_out_magazine(first, bytes, limit, limit, end);
    lay_out_magazine(first, bytes, blocks, limit, end);
}

/* Takes a new run from TLSF for the class and makes it the bump region. Class lock held. */
static inline __attribute__((always_inline)) bool new_run(struct small_central *central, unsigned class_index)
{
    size_t run_bytes = small_run_bytes(class_index);
    struct small_run *run = tlsf_alloc_run(run_bytes, TLSF_GROW_RUN_UNLESS_IDLE_OR_INSIDE);
    if (MALLOC_UNLIKELY(!run)) {
        run = small_idle_run_instead_of_growth(class_index, run_bytes);
        if (!run)
            return false;
        run_bytes = run->tlsf_size & ~(uintptr_t)(PAGE_SIZE - 1); /* usual or short: its chunk's pages */
    }
    size_t bytes = small_class_bytes(class_index);
    run->class_index = (uint16_t)class_index;
    run->capacity = (uint16_t)((run_bytes - SMALL_RUN_HEADER_BYTES) / bytes);
    run->scratch_free = 0;
    run->next_run = central->runs;
    central->runs = run;
    central->run_count++;
    central->carved_blocks += run->capacity;
    central->bump = (uintptr_t)run + SMALL_RUN_HEADER_BYTES;
    central->bump_end = central->bump + run->capacity * bytes;
#ifdef RVMEM_CHECKED
    tlsf_poison((void *)central->bump, central->bump_end - central->bump);
#endif
    /* The whole run laid out as magazines now (a page refill), so cutting one later is O(1), and
     * every page marked; while the heap is reserved, only the first page: cut_lazily lays out and
     * marks what it cuts, a bounded few blocks. */
    central->uncarved_laid_out = !__atomic_load_n(&malloc_state.reserved_bytes, __ATOMIC_RELAXED);
    if (central->uncarved_laid_out) {
        lay_out_run(central->bump, bytes, run->capacity, small_cache_limit(class_index),
                    &malloc_list_ends[class_index + 1]);
        mark_map(run, run_bytes, class_index);
    } else {
        small_mark_map_range(run, 0, 1, class_index);
    }
    __atomic_fetch_add(&malloc_state.run_changes, 1, __ATOMIC_RELAXED);
    return true;
}

/* A list of blocks taken from a class's central state, and its length. */
struct small_batch {
    struct magazine_block *first;
    uint32_t count;
};

/* Takes the top chain off the class's stack (there is one). Class lock held. */
static inline void *pop_chain(struct small_central *central)
{
    void *chain = central->chains;
    central->chains = *small_chain_link(chain);
    central->chain_count--;
    return chain;
}

/*
 * cut_uncarved's lazy case (the newest run was taken while the heap was reserved): its next
 * blocks, at most SMALL_LAZY_CUT_BLOCKS, SMALL_LAZY_CUT_BYTES' worth and limit (half of that for
 * the run's first cut, which new_run's call makes), laid out now as one magazine (shorter than a
 * limit when the limit is more: its rooms say so), and the run's pages up to the last of them
 * marked in the page maps (all the rest of its pages with the last cut), so a page of a run is
 * marked once a block on it has been handed out. Class lock held; O(SMALL_LAZY_CUT_BLOCKS).
 */
__attribute__((noinline)) static struct magazine_block *
cut_lazily(struct small_central *central, size_t bytes, uint32_t limit, struct magazine_block *end, uint32_t *count)
{
    struct small_run *run = central->runs; /* the newest: the uncarved tail is its end */
    uintptr_t first = central->bump;
    size_t uncarved = (central->bump_end - first) / bytes;
    size_t most = limit < SMALL_LAZY_CUT_BLOCKS ? limit : SMALL_LAZY_CUT_BLOCKS;
    if (most * bytes > SMALL_LAZY_CUT_BYTES) /* big blocks: fewer, so the pages to mark stay few */
        most = bytes < SMALL_LAZY_CUT_BYTES ? SMALL_LAZY_CUT_BYTES / bytes : 1;
    if (first == (uintptr_t)run + SMALL_RUN_HEADER_BYTES && most > 1)
        most /= 2; /* the run's first cut: its call took the run from TLSF too */
    *count = (uint32_t)(uncarved < most ? uncarved : most);
    central->bump = first + *count * bytes;
    lay_out_magazine(first, bytes, *count, limit, end);
    size_t from = (first - (uintptr_t)run) >> PAGE_SHIFT;
    size_t to = central->bump == central->bump_end ? small_run_size(run) >> PAGE_SHIFT
                                                   : ((central->bump - 1 - (uintptr_t)run) >> PAGE_SHIFT) + 1;
    small_mark_map_range(run, from, to, run->class_index);
    return (struct magazine_block *)first;
}

/*
 * Takes the next magazine off the newest run's uncarved part (there is one): returns its first
 * block and sets *count. Laid out by new_run as magazines of limit blocks (the last may be
 * shorter), it is a pointer move, O(1); else (a run taken while the heap was reserved)
 * cut_lazily lays the blocks out, O(SMALL_LAZY_CUT_BLOCKS). Class lock held.
 */
static inline struct magazine_block *cut_uncarved(struct small_central *central, size_t bytes, uint32_t limit,
                                                  struct magazine_block *end, uint32_t *count)
{
    if (MALLOC_UNLIKELY(!central->uncarved_laid_out))
        return cut_lazily(central, bytes, limit, end, count);
    uintptr_t first = central->bump;
    size_t uncarved = (central->bump_end - first) / bytes;
    *count = uncarved < limit ? (uint32_t)uncarved : limit;
    central->bump = first + *count * bytes;
    return (struct magazine_block *)first;
}

/*
 * take_magazine's slower half, with the class lock held (it lets go of it): the whole loose list
 * (fewer than a limit of blocks: chain_loose keeps it so) made a magazine, or else a magazine off
 * the newest run's uncarved blocks (a new run only when the class has neither). O(limit) for the
 * loose blocks (their rooms are written), O(1) off the run (laid out already; a bounded few
 * blocks laid out while the heap is reserved).
 */
__attribute__((noinline)) static struct small_batch take_loose_or_fresh(struct small_central *central,
                                                                        unsigned class_index, uint32_t limit)
{
    uint32_t taken = (uint32_t)central->free_count;
    struct magazine_block *first = NULL;
    if (taken) {
        first = small_magazine_of_loose(central->free_list, taken, class_index);
        central->free_list = NULL;
        central->free_count = 0;
    } else if (central->bump != central->bump_end || new_run(central, class_index)) {
        first =
            cut_uncarved(central, small_class_bytes(class_index), limit, &malloc_list_ends[class_index + 1], &taken);
    }
    spin_unlock(&central->lock);
    return (struct small_batch){first, taken};
}

/*
 * Counts a batch of blocks as taken out of the central state (statistics and peak; with thread
 * caches, also the most out since the last release at a cache's close, which malloc_api.c's
 * release_due compares with what is out when a thread ends).
 */
static inline void note_taken(unsigned class_index, uint32_t count)
{
    size_t bytes = count * small_class_bytes(class_index);
#ifdef RVMEM_MALLOC_THREAD_CACHE
    size_t out = __atomic_add_fetch(&malloc_state.small_bytes_out, bytes, __ATOMIC_RELAXED);
    if (MALLOC_UNLIKELY(out > __atomic_load_n(&malloc_state.out_small_peak_since_release, __ATOMIC_RELAXED)))
        arch_atomic_max_relaxed(&malloc_state.out_small_peak_since_release, out);
#else
    __atomic_fetch_add(&malloc_state.small_bytes_out, bytes, __ATOMIC_RELAXED);
#endif
    malloc_note_peak();
}

/*
 * Takes one magazine for the class from its central state: a whole chain when there is one,
 * else take_loose_or_fresh. Returns its first block and its length (0: out of memory). The
 * first block's room is not valid when it came as a chain: callers hand that block out.
 */
static struct small_batch take_magazine(unsigned class_index, uint32_t limit)
{
    struct small_central *central = &malloc_state.centrals[class_index];
    struct small_batch batch;
    spin_lock(&central->lock);
    if (central->chains != NULL) {
        void *chain = pop_chain(central);
        spin_unlock(&central->lock);
        batch = (struct small_batch){chain, limit};
    } else {
        batch = take_loose_or_fresh(central, class_index, limit);
    }
    if (batch.count)
        note_taken(class_index, batch.count);
    return batch;
}

/* Gives a full magazine (exactly limit blocks) to the class's central state: O(1). */
static inline void give_magazine(unsigned class_index, void *chain, uint32_t limit)
{
    struct small_central *central = &malloc_state.centrals[class_index];
    spin_lock(&central->lock);
    *small_chain_link(chain) = central->chains;
    central->chains = chain;
    central->chain_count++;
    small_note_given(central, class_index, limit);
    spin_unlock(&central->lock);
    __atomic_fetch_sub(&malloc_state.small_bytes_out, limit * small_class_bytes(class_index), __ATOMIC_RELAXED);
}

/* Sets up a dormant cache entry on its first use: its own list end, its limit. */
static inline void entry_ready(struct malloc_cache_class *entry, unsigned class_index)
{
    if (MALLOC_UNLIKELY(!entry->limit)) {
        entry->limit = small_cache_limit(class_index);
        entry->head = &malloc_list_ends[class_index + 1];
    }
}

/* Makes an entry dormant: entry 0's list end (room 0, no link), so both fast paths fall through. */
static inline void entry_dormant(struct malloc_cache_class *entry)
{
    entry->head = &malloc_list_ends[0];
    entry->limit = 0;
}

void malloc_cache_start(struct malloc_cache *cache)
{
    for (unsigned entry_index = 0; entry_index < MALLOC_CACHE_ENTRIES; entry_index++) {
        entry_dormant(&cache->entries[entry_index]);
        cache->spares[entry_index] = NULL;
    }
    cache->closed = 0;
    cache->small_max_bytes = MALLOC_SMALL_MAX_BYTES;
    cache->class_max_bytes = MALLOC_CLASS_MAX_BYTES;
    memcpy(cache->entry_of_step, malloc_entry_of_step, sizeof cache->entry_of_step);
}

/* Gives a cache the page map's coordinates and the current mode (thread caches start zeroed: their first
 * free comes here). Out of line: its indirect call (the binding's hook) stays in one place. */
__attribute__((noinline)) void malloc_cache_bind(struct malloc_cache *cache)
{
    if (!malloc_state.ready)
        return;
    cache->heap_start = malloc_state.heap_start;
    cache->map_span_bytes = malloc_state.map_span_bytes;
    cache->page_map = malloc_state.page_map;
    if (__atomic_load_n(&malloc_state.mode, __ATOMIC_RELAXED) == MALLOC_MODE_LEAN && cache->closed == 0)
        small_cache_set_mode(cache, MALLOC_MODE_LEAN); /* a thread cache first used in lean mode */
    if (malloc_state.thread_cache_opened)
        malloc_state.thread_cache_opened();
}

/* Loads a magazine into the (empty) entry less its first block, which it returns. */
static inline void *load_batch(struct malloc_cache_class *entry, struct magazine_block *first)
{
    entry->head = first->next;
    return first;
}

/* refill_from_central's general case: waits for the lock, takes loose blocks or a new run. */
__attribute__((noinline)) static void *refill_locked(struct malloc_cache_class *entry, size_t entry_index)
{
    struct small_batch batch = take_magazine((unsigned)entry_index - 1, entry->limit);
    if (MALLOC_UNLIKELY(batch.count == 0))
        return malloc_refill_failed((unsigned)entry_index);
    return load_batch(entry, batch.first);
}

/*
 * refill_from_central's page refill: the class has no free block at all. Takes a new run and
 * loads its first magazine, with the class lock the caller took (let go of here): TLSF's O(1)
 * take, the page maps (a word at a time), and the run's blocks laid out (O(blocks in a run)),
 * or while the heap is reserved only the first few it hands out (O(SMALL_LAZY_CUT_BLOCKS)).
 */
__attribute__((noinline)) static void *refill_new_run(struct malloc_cache_class *entry, size_t entry_index)
{
    unsigned class_index = (unsigned)entry_index - 1;
    struct small_central *central = &malloc_state.centrals[class_index];
    if (MALLOC_UNLIKELY(!new_run(central, class_index))) {
        spin_unlock(&central->lock);
        return malloc_refill_failed((unsigned)entry_index);
    }
    uint32_t count;
    struct magazine_block *first =
        cut_uncarved(central, small_class_bytes(class_index), entry->limit, &malloc_list_ends[entry_index], &count);
    spin_unlock(&central->lock);
    note_taken(class_index, count);
    return load_batch(entry, first);
}

static void *refill_from_central(struct malloc_cache_class *entry, size_t entry_index);
static void drain_loose(unsigned class_index, void *first, size_t count);

/*
 * A closed cache's malloc: one block of the class straight from its central state, the rest of
 * the magazine it came in left there as loose blocks. NULL when out of memory. O(magazine).
 */
__attribute__((noinline)) static void *take_one(unsigned class_index)
{
    struct small_batch batch = take_magazine(class_index, small_cache_limit(class_index));
    if (batch.count > 1)
        drain_loose(class_index, batch.first->next, batch.count - 1);
    return batch.count ? batch.first : NULL;
}

/*
 * refill_from_central's way in for a dormant entry (limit 0): sets it up and refills as usual;
 * entry 0 (malloc(0), never set up), a malloc not set up yet and a closed cache go to the slow path.
 */
__attribute__((noinline)) static void *refill_first_use(struct malloc_cache_class *entry, size_t entry_index)
{
    if (entry_index == 0 || !__atomic_load_n(&malloc_state.ready, __ATOMIC_ACQUIRE))
        return malloc_refill_failed((unsigned)entry_index);
    struct malloc_cache *cache = malloc_cache_self();
    malloc_cache_open(cache);
    if (cache->closed) /* the general slow path serves a closed cache, one block at a time, or lean mode */
        return malloc_refill_failed((unsigned)entry_index);
    entry_ready(entry, (unsigned)entry_index - 1);
    return refill_from_central(entry, entry_index);
}

/*
 * small_refill's second half: a whole chain from the central state, or a magazine off the newest
 * run's uncarved blocks (new_run laid them out), when the class lock is free; a class with no
 * free block at all takes a new run in refill_new_run; everything else (the first use of an
 * entry, a busy lock, loose blocks) goes to the general paths. A leaf with tail calls, like the
 * fast paths: no frame.
 */
ARCH_NO_FRAME_POINTER __attribute__((noinline)) static void *refill_from_central(struct malloc_cache_class *entry,
                                                                                 size_t entry_index)
{
    uint32_t limit = entry->limit;
    /* 0: the entry's first use, or entry 0 (malloc(0): never set up), or malloc is not set up
     * yet (no entry is until then). */
    if (MALLOC_UNLIKELY(limit == 0))
        return refill_first_use(entry, entry_index);
    unsigned class_index = (unsigned)entry_index - 1;
    struct small_central *central = &malloc_state.centrals[class_index];
    if (MALLOC_UNLIKELY(!spin_trylock(&central->lock)))
        return refill_locked(entry, entry_index);
    struct magazine_block *first;
    uint32_t count = limit;
    if (MALLOC_LIKELY(central->chains != NULL)) {
        first = pop_chain(central);
    } else if (MALLOC_LIKELY(central->free_count == 0 && central->bump != central->bump_end &&
                             central->uncarved_laid_out)) {
        /* cut_uncarved's O(1) case, inline: this stays a leaf (lazy cuts go to the general path). */
        size_t bytes = small_class_bytes(class_index);
        size_t uncarved = (central->bump_end - central->bump) / bytes;
        first = (struct magazine_block *)central->bump;
        count = uncarved < limit ? (uint32_t)uncarved : limit;
        central->bump += count * bytes;
    } else if (MALLOC_LIKELY(central->free_count == 0 && central->bump == central->bump_end)) {
        return refill_new_run(entry, entry_index); /* nothing uncarved either: a page refill */
    } else {
        spin_unlock(&central->lock);
        return refill_locked(entry, entry_index);
    }
    spin_unlock(&central->lock);
    note_taken(class_index, count);
    return load_batch(entry, first);
}

ARCH_NO_FRAME_POINTER void *small_refill(struct malloc_cache_class *entry)
{
    struct malloc_cache *cache = malloc_cache_self();
    size_t entry_index = (size_t)(entry - cache->entries);
    struct magazine_block *block = cache->spares[entry_index];
    if (MALLOC_LIKELY(block != NULL)) {
        /* The spare is full: it becomes the loaded magazine, less the block returned. No lock. */
        cache->spares[entry_index] = NULL;
        entry->head = block->next;
        return block;
    }
    return refill_from_central(entry, entry_index);
}

void *small_alloc_slow(unsigned class_index)
{
    struct malloc_cache *cache = malloc_cache_self();
    malloc_cache_open(cache);
    if (MALLOC_UNLIKELY(cache->closed))
        return take_one(class_index);
    struct malloc_cache_class *entry = cache_entry_of(cache, class_index);
    entry_ready(entry, class_index);
    struct magazine_block *block = entry->head;
    if (!block->next) {
        /* The loaded magazine is empty: load the spare (full), else one from the central state. */
        void **spare = &cache->spares[class_index + 1];
        if (*spare) {
            block = *spare;
            *spare = NULL;
        } else {
            struct small_batch batch = take_magazine(class_index, entry->limit);
            if (batch.count == 0)
                return NULL;
            block = batch.first;
        }
    }
    /* (Reached with a non-empty magazine only for malloc(0), which the fast path sends here.) */
    entry->head = block->next;
    return block;
}

size_t small_cache_length(const struct malloc_cache_class *entry)
{
    return magazine_length(entry->head, entry->limit);
}

/* Puts a list of count loose blocks (count >= 1) on the class's central free list: O(count). */
static void drain_loose(unsigned class_index, void *first, size_t count)
{
    void *last = first;
    for (size_t i = 1; i < count; i++)
        last = *(void **)last;
    struct small_central *central = &malloc_state.centrals[class_index];
    spin_lock(&central->lock);
    *(void **)last = central->free_list;
    central->free_list = first;
    central->free_count += count;
    small_chain_loose(central, class_index);
    small_note_given(central, class_index, small_cache_limit(class_index));
    spin_unlock(&central->lock);
    __atomic_fetch_sub(&malloc_state.small_bytes_out, count * small_class_bytes(class_index), __ATOMIC_RELAXED);
}

void small_free_slow(void *block, unsigned class_index)
{
    small_free_no_room(block, cache_entry_of(malloc_cache_self(), class_index), class_index);
}

void small_free_no_room(void *block, struct malloc_cache_class *entry, unsigned class_index)
{
    if (MALLOC_UNLIKELY(entry->limit == 0) && malloc_cache_self()->closed) {
        drain_loose(class_index, block, 1); /* a closed cache keeps nothing: the block goes central */
        return;
    }
    entry_ready(entry, class_index);
    struct magazine_block *end = &malloc_list_ends[class_index + 1];
    if (MALLOC_UNLIKELY(entry->head->room == 0)) {
        /* The loaded magazine is full: it becomes the spare; the old spare goes to the central state. */
        void **spare = &malloc_cache_self()->spares[class_index + 1];
        if (*spare)
            give_magazine(class_index, *spare, entry->limit);
        *spare = entry->head;
        entry->head = end;
    }
    struct magazine_block *freed = block;
    freed->next = entry->head;
    freed->room = entry->head->room - 1;
    entry->head = freed;
}

void small_flush_cache(struct malloc_cache *cache)
{
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++) {
        struct malloc_cache_class *entry = cache_entry_of(cache, class_index);
        if (!entry->limit)
            continue;
        void **spare = &cache->spares[class_index + 1];
        if (*spare)
            give_magazine(class_index, *spare, entry->limit);
        *spare = NULL;
        uint32_t length = magazine_length(entry->head, entry->limit);
        if (length)
            drain_loose(class_index, entry->head, length);
        entry->head = &malloc_list_ends[class_index + 1];
    }
}

void small_close_cache(struct malloc_cache *cache)
{
    small_flush_cache(cache);
    cache->closed = MALLOC_CACHE_CLOSED;
    for (unsigned entry_index = 0; entry_index < MALLOC_CACHE_ENTRIES; entry_index++)
        entry_dormant(&cache->entries[entry_index]);
}

void small_cache_set_mode(struct malloc_cache *cache, enum malloc_mode mode)
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

/* scratch_free of a run being released (no real count reaches it). */
#define RUN_RELEASING UINT32_MAX

/*
 * Puts the free blocks of runs more than half free (small_run_pile, from scratch_free) before
 * those of fuller runs on the class's loose list, each group in its order. small_chain_loose then
 * makes chains from the front, so the fuller runs' chains lie on top of the stack and the next
 * refills hand their blocks out first: the emptier runs may empty. Class lock held; O(free blocks).
 */
static void order_fuller_last(struct small_central *central)
{
    struct magazine_block *heads[2] = {NULL, NULL}, **tails[2] = {&heads[0], &heads[1]};
    for (struct magazine_block *block = central->free_list, *next; block; block = next) {
        next = block->next;
        unsigned pile = small_run_pile(small_run_of((uintptr_t)block));
        *tails[pile] = block;
        tails[pile] = &block->next;
    }
    *tails[SMALL_SCAN_FULLER] = NULL;
    *tails[SMALL_SCAN_EMPTIER] = heads[SMALL_SCAN_FULLER];
    central->free_list = heads[SMALL_SCAN_EMPTIER];
}

/* Releases the runs of one class whose blocks are all free; returns how many. */
static size_t release_class(unsigned class_index)
{
    struct small_central *central = &malloc_state.centrals[class_index];
    size_t bytes = small_class_bytes(class_index);
    struct small_run *released = NULL;
    size_t count = 0;
    spin_lock(&central->lock);
    if (small_scan_has_class(class_index)) { /* its runs are the scan's (small_scan_complete ran first) */
        spin_unlock(&central->lock);
        return 0;
    }
    /* Whole magazines become loose blocks first (each chain: exactly limit blocks). */
    size_t limit = small_cache_limit(class_index);
    while (central->chains) {
        void *chain = pop_chain(central);
        void *last = chain;
        for (size_t i = 1; i < limit; i++)
            last = *(void **)last;
        *(void **)last = central->free_list;
        central->free_list = chain;
        central->free_count += limit;
    }
    for (struct small_run *run = central->runs; run; run = run->next_run)
        run->scratch_free = 0;
    for (void *block = central->free_list; block; block = *(void **)block)
        small_run_of((uintptr_t)block)->scratch_free++;
    /* The uncarved tail is the newest run's end (its pages may not be marked yet: cut_lazily). */
    struct small_run *newest = central->runs;
    if (central->bump < central->bump_end)
        newest->scratch_free += (uint32_t)((central->bump_end - central->bump) / bytes);
    struct small_run **link = &central->runs;
    while (*link) {
        struct small_run *run = *link;
        if (run->scratch_free == run->capacity) {
            *link = run->next_run;
            run->next_run = released;
            released = run;
            central->run_count--;
            central->carved_blocks -= run->capacity;
            count++;
        } else {
            link = &run->next_run;
        }
    }
    if (count) {
        /* Drop the released runs' blocks from the free list and the bump region. */
        for (struct small_run *run = released; run; run = run->next_run)
            run->scratch_free = RUN_RELEASING;
        void **block_link = &central->free_list;
        while (*block_link) {
            void *block = *block_link;
            if (small_run_of((uintptr_t)block)->scratch_free == RUN_RELEASING) {
                *block_link = *(void **)block;
                central->free_count--;
            } else {
                block_link = (void **)block;
            }
        }
        if (central->bump < central->bump_end && newest->scratch_free == RUN_RELEASING)
            central->bump = central->bump_end = 0;
        for (struct small_run *run = released; run; run = run->next_run)
            small_clear_map(run, small_run_size(run));
    }
    order_fuller_last(central);
    small_chain_loose(central, class_index);
    spin_unlock(&central->lock);
    while (released) {
        struct small_run *next = released->next_run;
        tlsf_free_run(released);
        __atomic_fetch_add(&malloc_state.run_changes, 1, __ATOMIC_RELAXED);
        released = next;
    }
    return count;
}

size_t small_release_free_runs(void)
{
    small_idle_forget_candidates(); /* what they could give back, this gives back */
    while (!small_scan_complete())
        small_release_pending_runs();
    size_t runs = small_release_pending_runs();
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        runs += release_class(class_index);
    return runs;
}

size_t small_free_central_bytes(void)
{
    size_t bytes = 0;
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++) {
        bytes += small_central_free_blocks(&malloc_state.centrals[class_index], class_index) *
                 small_class_bytes(class_index);
    }
    return bytes;
}

bool malloc_reclaim(void)
{
    small_flush_cache(malloc_cache_self());
    return small_release_free_runs() != 0;
}

/*
 * One attempt: the class (its cache, its central state, a new run), or TLSF above the classes.
 * A class above 1 KiB whose new run does not fit (runs hold 15 to 55 blocks, up to 241 pages) falls
 * back to a TLSF block of the size asked, so a nearly full heap still serves what fits in it.
 */
static void *alloc_once(size_t size)
{
    if (malloc_self_is_lean()) /* every block from TLSF, at the size asked */
        return large_alloc(MALLOC_ALIGNMENT, size);
    if (size <= MALLOC_CLASS_MAX_BYTES) {
        void *block = small_alloc_slow(size == 0 ? 0 : small_class_of(size));
        if (block || size <= MALLOC_SMALL_MAX_BYTES)
            return block;
        /* 32-aligned, as the class's own blocks are (aligned_alloc(32) relies on it). */
        return large_alloc(32, size);
    }
    return large_alloc(MALLOC_ALIGNMENT, size);
}

void *malloc_alloc_slow(size_t size)
{
    if (!malloc_state.ready)
        return NULL;
    void *block = alloc_once(size);
    if (!block && malloc_reclaim())
        block = alloc_once(size);
    if (!block)
        block = direct_alloc(MALLOC_ALIGNMENT, size); /* beyond the heap, where the binding maps pages */
    if (!block)
        malloc_note_failure();
    return block;
}

void *malloc_refill_failed(unsigned entry_index)
{
    return malloc_alloc_slow(entry_index == 0 ? 0 : small_class_bytes(entry_index - 1));
}
