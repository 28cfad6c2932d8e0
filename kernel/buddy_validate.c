/*
 * kernel/buddy_validate.c - the buddy allocator's validator: walks every block of every region
 * and cross-checks state bytes, free-slot bitmaps (all levels), counters and cache entries.
 *
 * Builds: kernel, host
 */
#include "kernel/buddy.h"

#include "kernel/buddy_internal.h"
#include "kernel/errors.h"
#include "kernel/printf.h"

/* What the walk over the state bytes counted. */
struct tally {
    unsigned long free_blocks[BUDDY_MAX_ORDER + 1];
    unsigned long free_pages;
    unsigned long allocated_pages;
    unsigned long cached_pages;
};

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        kprintf("buddy validate: " __VA_ARGS__);                                                                       \
        return -E_BADDATA;                                                                                             \
    } while (0)

static unsigned bits_set(unsigned long word)
{
    unsigned count = 0;
    for (; word; word &= word - 1)
        count++;
    return count;
}

/*
 * Every slot of a free block, at every order up to its own, must be free in the bitmaps. With
 * the exact count of set bits per order (check_bitmap) that also proves no other bit is set:
 * none for used or unmanaged pages, none above a free block's order (free blocks are maximal).
 */
static int check_free_block_slots(const struct buddy_region *region, uintptr_t index, unsigned order)
{
    for (unsigned k = 0; k <= order; k++) {
        for (uintptr_t slot = index >> k; slot < (index + order_pages(order)) >> k; slot++) {
            if (!slot_is_free(&region->free_slots[k], slot))
                FAIL("free block %p order %u: slot %lu of order %u is not free in the bitmap\n",
                     (void *)region_page_address(region, index), order, (unsigned long)slot, k);
        }
    }
    return 0;
}

/* One block starting at index: its state byte, its tail, its buddy and its slots. */
static int check_block(const struct buddy_region *region, uintptr_t index, uint8_t state, struct tally *tally)
{
    unsigned order = state & PAGE_ORDER_MASK;
    unsigned kind = state & PAGE_STATE_MASK;
    void *page = (void *)region_page_address(region, index);
    if ((state & ~(PAGE_STATE_MASK | PAGE_ORDER_MASK)) || order > BUDDY_MAX_ORDER ||
        (kind == PAGE_CACHED && order != 0))
        FAIL("page %p has the impossible state 0x%x\n", page, state);
    if ((index & (order_pages(order) - 1)) || index + order_pages(order) > region->page_count)
        FAIL("block %p of order %u is misaligned or past its region\n", page, order);
    for (uintptr_t i = 1; i < order_pages(order); i++) {
        if (state_load(&region->page_state[index + i]) != PAGE_TAIL)
            FAIL("page %lu of block %p (order %u) has state 0x%x, not tail\n", (unsigned long)i, page, order,
                 state_load(&region->page_state[index + i]));
    }
    if (kind == PAGE_FREE) {
        tally->free_blocks[order]++;
        tally->free_pages += order_pages(order);
        uint8_t buddy_state = state_load(&region->page_state[index ^ order_pages(order)]);
        if (order < BUDDY_MAX_ORDER && buddy_state == (PAGE_FREE | order))
            FAIL("free block %p and its buddy (order %u) are not merged\n", page, order);
    } else if (kind == PAGE_ALLOCATED) {
        tally->allocated_pages += order_pages(order);
    } else {
        tally->cached_pages++;
    }
    return kind == PAGE_FREE ? check_free_block_slots(region, index, order) : 0;
}

/* Every level of a bitmap: level 0 has exactly expected_free bits, each summary bit matches its word. */
static int check_bitmap(const struct buddy_region *region, unsigned order, unsigned long expected_free)
{
    const struct buddy_bitmap *map = &region->free_slots[order];
    if (map->slot_count != region->page_count >> order || map->level_count == 0 ||
        map->level_count > BUDDY_BITMAP_LEVELS)
        FAIL("region %p order %u: bitmap shape is wrong\n", (void *)region_page_address(region, 0), order);
    uintptr_t bits = map->slot_count;
    unsigned long counted = 0;
    for (unsigned level = 0; level < map->level_count; level++) {
        uintptr_t words = (bits + WORD_BITS - 1) >> WORD_SHIFT;
        for (uintptr_t w = 0; w < words; w++) {
            unsigned long word = map->level[level][w];
            uintptr_t valid = bits - w * WORD_BITS; /* bits of this word that stand for something */
            if (valid < WORD_BITS && (word >> valid) != 0)
                FAIL("region %p order %u level %u: bits past the end are set\n", (void *)region_page_address(region, 0),
                     order, level);
            if (level == 0) {
                counted += bits_set(word);
                continue;
            }
            for (unsigned b = 0; b < WORD_BITS && b < valid; b++) {
                int below = map->level[level - 1][w * WORD_BITS + b] != 0;
                if ((int)((word >> b) & 1) != below)
                    FAIL("region %p order %u level %u: summary bit %lu disagrees with its word\n",
                         (void *)region_page_address(region, 0), order, level, (unsigned long)(w * WORD_BITS + b));
            }
        }
        bits = words;
    }
    if (counted != expected_free)
        FAIL("region %p order %u: %lu free slots in the bitmap, %lu in the free blocks\n",
             (void *)region_page_address(region, 0), order, counted, expected_free);
    return 0;
}

static int check_region(const struct buddy *buddy, unsigned r, struct tally *tally)
{
    const struct buddy_region *region = &buddy->regions[r];
    const uintptr_t block = order_pages(BUDDY_MAX_ORDER);
    if ((region->first_pfn & (block - 1)) || (region->page_count & (block - 1)) || region->page_count == 0 ||
        (r > 0 && region->first_pfn < buddy->regions[r - 1].first_pfn + buddy->regions[r - 1].page_count))
        FAIL("region %u is misaligned, empty or overlaps the one before\n", r);
    unsigned long free_blocks[BUDDY_MAX_ORDER + 1];
    for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++)
        free_blocks[k] = tally->free_blocks[k];
    for (uintptr_t index = 0; index < region->page_count;) {
        uint8_t state = state_load(&region->page_state[index]);
        if (state == PAGE_TAIL) { /* not managed */
            index++;
            continue;
        }
        if (check_block(region, index, state, tally))
            return -E_BADDATA;
        index += order_pages(state & PAGE_ORDER_MASK);
    }
    /* A free block of order j holds 2^(j-k) free slots of order k <= j. */
    for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
        unsigned long expected = 0;
        for (unsigned j = k; j <= BUDDY_MAX_ORDER; j++)
            expected += (tally->free_blocks[j] - free_blocks[j]) << (j - k);
        if (check_bitmap(region, k, expected))
            return -E_BADDATA;
    }
    return 0;
}

/* Each cache entry names a cached page, with the right state byte, at most once. */
static int check_caches(struct buddy *buddy, unsigned long *cached)
{
    *cached = 0;
    int result = 0;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        if (cache->count > BUDDY_CACHE_PAGES) {
            kprintf("buddy validate: cache of hart %u holds %lu pages\n", hart, cache->count);
            return -E_BADDATA;
        }
        *cached += cache->count;
        for (unsigned long i = 0; i < cache->count && result == 0; i++) {
            struct buddy_cache_entry *entry = &cache->entries[i];
            uintptr_t index;
            struct buddy_region *region = region_of(buddy, (uintptr_t)entry->page, &index);
            if (!region || ((uintptr_t)entry->page & (BUDDY_PAGE_SIZE - 1)) ||
                entry->state != &region->page_state[index] ||
                (state_load(entry->state) & PAGE_STATE_MASK) != PAGE_CACHED) {
                kprintf("buddy validate: cache of hart %u: entry %lu (%p) is not a cached page\n", hart, i,
                        entry->page);
                result = -E_BADDATA;
                break;
            }
        }
    }
    return result;
}

/* Duplicates show up while marking: a second entry finds bit 7 already set. */
static int check_duplicates(struct buddy *buddy)
{
    int result = 0;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS && result == 0; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        for (unsigned long i = 0; i < cache->count; i++) {
            uint8_t state = state_load(cache->entries[i].state);
            if (state & 0x80) {
                kprintf("buddy validate: page %p is in a cache twice\n", cache->entries[i].page);
                result = -E_BADDATA;
                break;
            }
            state_store(cache->entries[i].state, (uint8_t)(state | 0x80));
        }
    }
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        for (unsigned long i = 0; i < cache->count; i++)
            state_store(cache->entries[i].state, (uint8_t)(state_load(cache->entries[i].state) & ~0x80));
    }
    return result;
}

static int check_all(struct buddy *buddy)
{
    if (buddy->region_count > BUDDY_MAX_REGIONS)
        FAIL("%u regions\n", buddy->region_count);
    unsigned long cached;
    if (check_caches(buddy, &cached) || check_duplicates(buddy))
        return -E_BADDATA;
    struct tally tally = {0};
    for (unsigned r = 0; r < buddy->region_count; r++) {
        if (check_region(buddy, r, &tally))
            return -E_BADDATA;
    }
    for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
        if (tally.free_blocks[k] != buddy->free_blocks[k])
            FAIL("order %u: %lu free blocks counted, the counter says %lu\n", k, tally.free_blocks[k],
                 buddy->free_blocks[k]);
    }
    if (tally.free_pages != buddy->pool_free_pages)
        FAIL("%lu free pages counted, the counter says %lu\n", tally.free_pages, buddy->pool_free_pages);
    if (tally.cached_pages != cached)
        FAIL("%lu pages are in the cached state, the caches hold %lu\n", tally.cached_pages, cached);
    if (tally.free_pages + tally.allocated_pages + tally.cached_pages != buddy->total_pages)
        FAIL("free %lu + allocated %lu + cached %lu pages != total %lu\n", tally.free_pages, tally.allocated_pages,
             tally.cached_pages, buddy->total_pages);
    if (buddy->peak_out_pages < buddy->total_pages - buddy->pool_free_pages ||
        buddy->peak_out_pages > buddy->total_pages)
        FAIL("peak %lu pages out of the pool is impossible\n", buddy->peak_out_pages);
    return 0;
}

int buddy_validate(struct buddy *buddy)
{
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++)
        spin_lock(&buddy->caches[hart].lock);
    spin_lock(&buddy->lock);
    int result = check_all(buddy);
    spin_unlock(&buddy->lock);
    for (unsigned hart = RVMEM_MAX_HARTS; hart-- > 0;)
        spin_unlock(&buddy->caches[hart].lock);
    return result;
}
