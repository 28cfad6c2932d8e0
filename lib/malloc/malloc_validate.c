/*
 * lib/malloc/malloc_validate.c - rvmem_malloc_validate: walks the whole heap and cross-checks it.
 *
 * TLSF (malloc_tlsf.c: tlsf_validate): every chunk's size and boundary tags, no missed merge,
 * every free list against the bitmaps, walked totals against the counters, and in checked builds
 * the poison of every free chunk. Small classes (here): every run's header and page-map entries,
 * the page map against the runs, every central list (each block a block start of a run of its
 * class, the count right, poison intact in checked builds) and the calling hart's cache.
 * O(heap); takes the locks one at a time. Prints what is wrong and returns a negative code.
 */
#include "kernel/base/misuse.h"
#include "kernel/base/printf.h"
#include "lib/malloc/malloc_internal.h"

static int problem(int code, const char *what, unsigned class_index, uintptr_t address)
{
    kprintf("malloc validate: class %u (%u bytes): %s at %p\n", class_index, (unsigned)small_class_bytes(class_index),
            what, (void *)address);
    return code;
}

/* Is block a block start of a run of class_index, by the page map and the run's header? */
static bool is_block_of_class(uintptr_t block, unsigned class_index)
{
    return small_class_at(block) == (int)class_index && small_block_is_start(block, class_index);
}

#ifdef RVMEM_CHECKED
/* A free small block is poisoned from byte 32 on (the link and the checked header come first). */
static bool poison_intact(uintptr_t block, unsigned class_index, const void *caller)
{
    const uint8_t *byte = (const uint8_t *)block + 32;
    const uint8_t *end = (const uint8_t *)block + small_class_bytes(class_index);
    for (; byte < end; byte++) {
        if (*byte != MALLOC_POISON_BYTE) {
            malloc_report_misuse(MISUSE_WRITE_AFTER_FREE, (uintptr_t)byte, caller);
            return false;
        }
    }
    return true;
}
#endif

/*
 * Checks a magazine: exactly length blocks of the class, each with its room (limit - the blocks
 * from it to the end), ending at the class's list end (poison intact in checked builds).
 * central: it sits on the central chain stack (else in the calling hart's cache), where the
 * first block's room holds the link to the next chain.
 */
static int validate_magazine(struct magazine_block *list, unsigned class_index, size_t length, bool central,
                             const void *caller)
{
    (void)caller;
    const struct magazine_block *end = &malloc_list_ends[class_index + 1];
    uint32_t limit = small_cache_limit(class_index);
    size_t counted = 0;
    for (struct magazine_block *block = list; block != end; block = block->next) {
        if (++counted > length)
            return problem(central ? -36 : -29, "magazine longer than it should be (or a cycle)", class_index,
                           (uintptr_t)block);
        if (!is_block_of_class((uintptr_t)block, class_index))
            return problem(central ? -37 : -30, "magazine holds a pointer that is not a block of this class",
                           class_index, (uintptr_t)block);
        if ((!central || counted > 1) && block->room != limit - (length - counted + 1))
            return problem(central ? -40 : -41, "magazine block's room disagrees with its place", class_index,
                           (uintptr_t)block);
#ifdef RVMEM_CHECKED
        if (!poison_intact((uintptr_t)block, class_index, caller))
            return problem(-26, "magazine block's poison overwritten (write after free)", class_index,
                           (uintptr_t)block);
#endif
    }
    if (counted != length)
        return problem(central ? -38 : -31, "magazine length differs from its count", class_index, counted);
    return 0;
}

/* Checks one class (its lock held by the caller); carry: the blocks it counts carved for runs under scan. */
static int validate_class(unsigned class_index, size_t carry, size_t *map_pages_expected, const void *caller)
{
    (void)caller; /* used by the checked build's poison checks */
    struct small_central *central = &malloc_state.centrals[class_index];
    size_t bytes = small_class_bytes(class_index);
    int result = 0;
    size_t runs = 0, capacity = 0;
    for (struct small_run *run = central->runs; run && !result; run = run->next_run) {
        size_t run_bytes =
            ((uintptr_t)run & (PAGE_SIZE - 1)) || run->class_index != class_index ? 0 : small_run_size(run);
        if (++runs > central->run_count)
            result = problem(-20, "more runs listed than counted (or a cycle)", class_index, (uintptr_t)run);
        else if (!run_bytes || !small_run_size_valid(class_index, run_bytes) ||
                 run->capacity != (run_bytes - SMALL_RUN_HEADER_BYTES) / bytes ||
                 (run->tlsf_size & ~(uintptr_t)(PAGE_SIZE - 1)) != run_bytes)
            result = problem(-21, "run header is wrong", class_index, (uintptr_t)run);
        capacity += run->capacity;
    }
    if (!result && (runs != central->run_count || capacity + carry != central->carved_blocks))
        result = problem(-23, "run count or carved blocks disagree with the runs", class_index, runs);
    size_t listed = 0;
    for (void *block = central->free_list; block && !result; block = *(void **)block) {
        if (++listed > central->free_count)
            result = problem(-24, "more free blocks listed than counted (or a cycle)", class_index, (uintptr_t)block);
        else if (!is_block_of_class((uintptr_t)block, class_index))
            result = problem(-25, "free list holds a pointer that is not a block of this class", class_index,
                             (uintptr_t)block);
#ifdef RVMEM_CHECKED
        else if (!poison_intact((uintptr_t)block, class_index, caller))
            result = problem(-26, "free block's poison overwritten (write after free)", class_index, (uintptr_t)block);
#endif
    }
    if (!result && listed != central->free_count)
        result = problem(-27, "free list length differs from its count", class_index, listed);
    if (!result && listed >= small_cache_limit(class_index)) /* refills take the loose list whole */
        result = problem(-39, "loose list as long as a magazine (it should be chains)", class_index, listed);
    /* The uncarved tail is the end of the newest run (the run the class took last, up to its last
     * block), from a block on; laid out by new_run, it starts at a magazine (lazily laid out, at
     * any block, and only the pages up to its last carved block are marked). */
    struct small_run *newest = central->runs;
    size_t newest_marked_pages = 0; /* pages of the newest run marked in the page map */
    if (!result && newest)
        newest_marked_pages = small_run_size(newest) >> PAGE_SHIFT;
    if (!result && central->bump != central->bump_end) {
        uintptr_t blocks_start = newest ? (uintptr_t)newest + SMALL_RUN_HEADER_BYTES : 0;
        if (!newest || central->bump < blocks_start || central->bump > central->bump_end ||
            (central->bump - blocks_start) % bytes || central->bump_end != blocks_start + newest->capacity * bytes)
            result = problem(-45, "uncarved tail is not the end of the newest run", class_index, central->bump);
        else if (central->uncarved_laid_out && (central->bump - blocks_start) / bytes % small_cache_limit(class_index))
            result = problem(-44, "uncarved tail does not start at a magazine", class_index, central->bump);
        else if (!central->uncarved_laid_out)
            newest_marked_pages = ((central->bump - 1 - (uintptr_t)newest) >> PAGE_SHIFT) + 1;
    }
    /* Every page of every run marked with its class (the newest: up to its uncarved tail). */
    for (struct small_run *run = central->runs; run && !result; run = run->next_run) {
        size_t pages = run == newest ? newest_marked_pages : small_run_size(run) >> PAGE_SHIFT;
        for (size_t page = 0; !result && page < pages; page++)
            if (small_class_at((uintptr_t)run + page * PAGE_SIZE) != (int)class_index ||
                small_run_of((uintptr_t)run + page * PAGE_SIZE) != run)
                result =
                    problem(-22, "page map disagrees with the run", class_index, (uintptr_t)run + page * PAGE_SIZE);
        *map_pages_expected += pages;
    }

    /* Whole magazines on the central stack: exactly limit blocks each. */
    uint32_t limit = small_cache_limit(class_index);
    size_t chains = 0;
    for (void *chain = central->chains; chain && !result; chain = ((void **)chain)[1]) {
        if (++chains > central->chain_count)
            result = problem(-34, "more chains listed than counted (or a cycle)", class_index, (uintptr_t)chain);
        else
            result = validate_magazine(chain, class_index, limit, true, caller);
    }
    if (!result && chains != central->chain_count)
        result = problem(-35, "chain stack length differs from its count", class_index, chains);

    /* The calling hart's cache: its magazine as long as its top's room says; a spare is full. */
    struct malloc_cache *cache = malloc_cache_self();
    const struct malloc_cache_class *entry = cache_entry_of(cache, class_index);
    if (!result && !entry->limit && entry->head != &malloc_list_ends[0])
        result = problem(-42, "dormant cache entry is not empty", class_index, (uintptr_t)entry->head);
    if (!result && entry->limit) {
        if (entry->limit != limit)
            result = problem(-43, "cache entry's limit is not its class's", class_index, entry->limit);
        else if (entry->head->room > limit)
            result = problem(-31, "cache room above its limit", class_index, entry->head->room);
        else
            result = validate_magazine(entry->head, class_index, limit - entry->head->room, false, caller);
        if (!result && cache->spares[class_index + 1])
            result = validate_magazine(cache->spares[class_index + 1], class_index, limit, false, caller);
    }
    return result;
}

/* Checks the page map against the runs (every class lock held, so no run comes or goes). */
static int validate_map(size_t map_pages_expected)
{
    /* Every marked page belongs to a listed run: count the marks. */
    size_t marked = 0;
    size_t pages = malloc_state.map_span_bytes >> PAGE_SHIFT;
    size_t pages_to_break = (tlsf_break() - malloc_state.heap_start + PAGE_SIZE - 1) >> PAGE_SHIFT;
    if (pages_to_break < pages)
        pages = pages_to_break; /* nothing above the break can be marked (checked below by the runs) */
    for (size_t page = 0; page < pages; page++) {
        uint8_t mark = malloc_state.page_map[page];
        if (mark > MALLOC_SMALL_CLASSES) {
            kprintf("malloc validate: page map entry %u out of range at page %lu\n", mark, (unsigned long)page);
            return -32;
        }
        marked += mark != 0;
    }
    if (marked != map_pages_expected) {
        kprintf("malloc validate: %lu pages marked in the page map, runs hold %lu\n", (unsigned long)marked,
                (unsigned long)map_pages_expected);
        return -33;
    }
    return 0;
}

int rvmem_malloc_validate(void)
{
    if (!malloc_state.ready)
        return 0;
    const void *caller = __builtin_return_address(0);
    /* Every class lock (in class order), then TLSF's inside: the same order new_run() uses. */
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        spin_lock(&malloc_state.centrals[class_index].lock);
    int result = tlsf_validate(caller);
    size_t map_pages_expected = 0, carry = 0;
    unsigned scanned_class = MALLOC_SMALL_CLASSES;
    if (!result)
        result = small_validate_scan(&map_pages_expected, &carry, &scanned_class);
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES && !result; class_index++)
        result = validate_class(class_index, class_index == scanned_class ? carry : 0, &map_pages_expected, caller);
    if (!result)
        result = small_validate_pending(&map_pages_expected);
    if (!result)
        result = validate_map(map_pages_expected);
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        spin_unlock(&malloc_state.centrals[class_index].lock);
    return result;
}
