/*
 * kernel/mm/buddy_validate.c - the buddy allocator's validator: walks every block of every region
 * and cross-checks state bytes, the largest-free trees (every node), the root index (every bit),
 * counters and cache entries.
 */
#include "kernel/mm/buddy.h"

#include "kernel/mm/buddy_internal.h"
#include "kernel/base/errors.h"
#include "kernel/base/printf.h"

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
    return 0;
}

/*
 * The exact value of a tree node from the state bytes: 1 + the order of the largest free block
 * inside it, or 0. Sets *covered when a block of a higher order covers the node (then the stored
 * value may be stale: nothing reads it). O(blocks and unmanaged pages in the node).
 */
static uint8_t node_expected(const struct buddy_region *region, unsigned order, uintptr_t node, bool *covered)
{
    uintptr_t first = node << order, end = first + order_pages(order), head;
    *covered = false;
    if (first >= region->page_count)
        return 0; /* padding */
    uint8_t state = block_of(region, first, &head);
    if (state != PAGE_TAIL && (unsigned)(state & PAGE_ORDER_MASK) >= order) {
        *covered = (unsigned)(state & PAGE_ORDER_MASK) > order;
        return (state & PAGE_STATE_MASK) == PAGE_FREE ? (uint8_t)(order + 1) : 0;
    }
    uint8_t largest = 0;
    for (uintptr_t index = first; index < end;) {
        state = state_load(&region->page_state[index]);
        if (state == PAGE_TAIL) { /* not managed */
            index++;
            continue;
        }
        if ((state & PAGE_STATE_MASK) == PAGE_FREE && (state & PAGE_ORDER_MASK) + 1 > largest)
            largest = (uint8_t)((state & PAGE_ORDER_MASK) + 1);
        index += order_pages(state & PAGE_ORDER_MASK);
    }
    return largest;
}

/*
 * Every node of the largest-free trees that is not inside a block holds its exact value; the
 * unused byte 0 of each root's tree is 0.
 */
static int check_tree(const struct buddy_region *region)
{
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        uintptr_t nodes = tree_level_nodes(region->page_count, order);
        for (uintptr_t node = 0; node < nodes; node++) {
            bool covered;
            uint8_t expected = node_expected(region, order, node, &covered);
            uint8_t stored = *tree_node(region, order, node << order);
            if (!covered && stored != expected)
                FAIL("region %p: tree node %lu of order %u holds %u, the blocks say %u\n",
                     (void *)region_page_address(region, 0), (unsigned long)node, order, stored, expected);
        }
    }
    for (uintptr_t root = 0; root < region->page_count >> BUDDY_MAX_ORDER; root++) {
        if (tree_of(region, root)[0] != 0)
            FAIL("region %p: the unused byte of root %lu's tree holds %u\n", (void *)region_page_address(region, 0),
                 (unsigned long)root, tree_of(region, root)[0]);
    }
    return 0;
}

/*
 * The root index holds exactly each root in the sets of the orders below its value, and each word
 * above level 0 exactly the words below it that are not empty; bits past the last member are 0.
 */
static int check_index(const struct buddy_region *region)
{
    uintptr_t roots = region->page_count >> BUDDY_MAX_ORDER;
    if (region->index_levels != index_levels(roots) ||
        region->index_top != region->index_level[region->index_levels - 1])
        FAIL("region %p: %u index levels over %lu roots\n", (void *)region_page_address(region, 0),
             region->index_levels, (unsigned long)roots);
    for (unsigned level = 0; level < region->index_levels; level++) {
        uintptr_t members = level == 0 ? roots : index_level_words(roots, level - 1);
        for (uintptr_t member = 0; member < index_level_words(roots, level) * WORD_BITS; member++) {
            for (unsigned set = 0; set < BUDDY_INDEX_SETS; set++) {
                bool expected = false;
                if (member < members && level == 0)
                    expected = *root_node(region, member) > set;
                else if (member < members)
                    expected = region->index_level[level - 1][member * BUDDY_INDEX_SETS + set] != 0;
                if (index_holds(region, level, member, set) != expected)
                    FAIL("region %p: root index level %u, member %lu, set %u: %s, should be %s\n",
                         (void *)region_page_address(region, 0), level, (unsigned long)member, set,
                         expected ? "absent" : "present", expected ? "present" : "absent");
            }
        }
    }
    return 0;
}

static int check_region(const struct buddy *buddy, unsigned r, struct tally *tally)
{
    const struct buddy_region *region = &buddy->regions[r];
    const uintptr_t block = order_pages(BUDDY_MAX_ORDER);
    if ((region->first_pfn & (block - 1)) || (region->page_count & (block - 1)) || region->page_count == 0 ||
        (r > 0 && region->first_pfn < buddy->regions[r - 1].first_pfn + buddy->regions[r - 1].page_count))
        FAIL("region %u is misaligned, empty or overlaps the one before\n", r);
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
    return check_tree(region) || check_index(region) ? -E_BADDATA : 0;
}

/* Each cache entry names a cached page, with the right state byte, at most once. */
static int check_caches(struct buddy *buddy, unsigned long *cached)
{
    *cached = 0;
    int result = 0;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        if (cache->room_bytes > BUDDY_CACHE_EMPTY_ROOM || cache->room_bytes % sizeof(struct buddy_cache_entry)) {
            kprintf("buddy validate: cache of hart %u has %lu bytes of room\n", hart, cache->room_bytes);
            return -E_BADDATA;
        }
        *cached += buddy_cache_pages(cache);
        for (unsigned long i = 0; i < buddy_cache_pages(cache) && result == 0; i++) {
            struct buddy_cache_entry *entry = &buddy_cache_held(cache)[i];
            uintptr_t index;
            struct buddy_region *region = region_of(buddy, (uintptr_t)entry->page, &index);
            if (!region || ((uintptr_t)entry->page & (PAGE_SIZE - 1)) || entry->state != &region->page_state[index] ||
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
        for (unsigned long i = 0; i < buddy_cache_pages(cache); i++) {
            uint8_t state = state_load(buddy_cache_held(cache)[i].state);
            if (state & 0x80) {
                kprintf("buddy validate: page %p is in a cache twice\n", buddy_cache_held(cache)[i].page);
                result = -E_BADDATA;
                break;
            }
            state_store(buddy_cache_held(cache)[i].state, (uint8_t)(state | 0x80));
        }
    }
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        for (unsigned long i = 0; i < buddy_cache_pages(cache); i++)
            state_store(buddy_cache_held(cache)[i].state,
                        (uint8_t)(state_load(buddy_cache_held(cache)[i].state) & ~0x80));
    }
    return result;
}

static int check_all(struct buddy *buddy)
{
    if (buddy->region_count > BUDDY_MAX_REGIONS || buddy->regions_end != &buddy->regions[buddy->region_count])
        FAIL("%u regions, or the end of them misplaced\n", buddy->region_count);
    unsigned long cached;
    if (check_caches(buddy, &cached) || check_duplicates(buddy))
        return -E_BADDATA;
    struct tally tally = {0};
    for (unsigned r = 0; r < buddy->region_count; r++) {
        /* A refill clears the tree nodes inside a batch block with aligned stores (buddy.c). */
        if ((uintptr_t)buddy->regions[r].trees % 8)
            FAIL("region %u: the trees at %p are not aligned to 8 bytes\n", r, (void *)buddy->regions[r].trees);
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
