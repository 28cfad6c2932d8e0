/*
 * kernel/mm/buddy.c - the buddy page allocator's core: the largest-free trees and the root
 * index, the shared pool, the per-hart caches, buddy_alloc and buddy_free.
 *
 * Its neighbours: buddy.h (the contract), buddy_internal.h (the metadata encoding),
 * buddy_index.h (the root index), buddy_init.c (ranges to regions and blocks), buddy_range.c (claim and release of page
 * ranges), buddy_stats.c (statistics) and buddy_validate.c (the validator).
 */
#include "kernel/mm/buddy.h"

#include "kernel/mm/buddy_internal.h"
#include "kernel/base/arch.h"
#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"

#define BATCH_PAGES (1u << BUDDY_CACHE_BATCH_ORDER)

/* ---- The largest-free trees and the root index (see buddy_internal.h; all of it under buddy->lock) ---- */

/* tree_update_up (shared with buddy_range.c) is in buddy_internal.h, the root index in buddy_index.h. */

/* Puts member `member` of level `level` into set `set` (or out of it), then its word above while that changes. */
static void index_mark(struct buddy_region *region, unsigned level, uintptr_t member, uintptr_t set, bool present)
{
    for (; level < region->index_levels; level++, member /= WORD_BITS) {
        unsigned long *word = &region->index_level[level][member / WORD_BITS * BUDDY_INDEX_SETS + set];
        unsigned long before = *word;
        unsigned long after = present ? before | index_bit(member) : before & ~index_bit(member);
        *word = after;
        if ((before != 0) == (after != 0))
            return; /* the word is as empty or not as it was: the level above sees no change */
    }
}

/* See buddy_index.h. Out of line, so that the paths it ends (splits, merges) keep their registers. */
__attribute__((noinline)) void index_change_levels(struct buddy_region *region, uintptr_t root, uintptr_t old_value,
                                                   uintptr_t new_value)
{
    for (uintptr_t set = old_value; set < new_value; set++)
        index_mark(region, 0, root, set, true);
    for (uintptr_t set = new_value; set < old_value; set++)
        index_mark(region, 0, root, set, false);
}

/*
 * Walks down a root's tree, whose root value says it holds a free block of order >= order, into
 * the higher child whenever it holds one, to the highest such free block; returns its node (heap
 * number) and sets *from to its order. O(BUDDY_MAX_ORDER - *from).
 */
static inline __attribute__((always_inline)) uintptr_t tree_descend(const uint8_t *tree, uintptr_t order,
                                                                    unsigned *from)
{
    uintptr_t node = 1, value = tree[1];
    uintptr_t entirely_free = BUDDY_MAX_ORDER + 1;
    /* A node of order `order` with a value above it is a free block: the walk ends by then. */
    while (value != entirely_free) {
        entirely_free--;
        node *= 2;
        uintptr_t children = tree_pair(tree, node); /* the lower child's value, the upper's above it */
        value = children >> 8;
        if (value > order)
            node++;
        else
            value = children & 0xff;
    }
    *from = (unsigned)(entirely_free - 1);
    return node;
}

/*
 * Takes a block of order `order` out of the free block of order `from` holding it, in the tree of
 * root `root`; leaf is the heap number of the block's first page (2^BUDDY_MAX_ORDER + its page
 * within the root). Each level down, the half that does not hold the block becomes a free block
 * of its own; then the climb.
 */
static inline __attribute__((always_inline)) void pool_split_take(struct buddy *buddy, struct buddy_region *region,
                                                                  uintptr_t root, uintptr_t leaf, unsigned order,
                                                                  unsigned from)
{
    uint8_t *tree = tree_of(region, root);
    uint8_t *state = region->page_state;
    /* The state byte of the first page of node n of order k: state[node_page + (n << k)] (wraps around for root 0). */
    uintptr_t node_page = (root << BUDDY_MAX_ORDER) - order_pages(BUDDY_MAX_ORDER);
    unsigned long *free_blocks = &buddy->free_blocks[from];
    (*free_blocks)--;
    for (uintptr_t half_order = from; half_order != order;) {
        half_order--;
        free_blocks--;
        uintptr_t half = leaf >> half_order; /* the half holding the block */
        uintptr_t other = half ^ 1;
        /* The other half: entirely free (opaque: GCC would narrow the order to a byte before adding 1). */
        tree[other] = (uint8_t)arch_opaque(half_order + 1);
        tree[half] = (uint8_t)half_order; /* its largest: the other half one order down */
        state_store(&state[node_page + (other << half_order)], (uint8_t)arch_opaque(PAGE_FREE | half_order));
        (*free_blocks)++;
    }
    if (order < from)
        tree[leaf >> order] = 0; /* else tree_update_up or root_change writes it */
    state_store(&state[node_page + leaf], (uint8_t)(PAGE_ALLOCATED | order));
    pool_pages_out(buddy, order_pages(order));
    /* The block split: its largest is its upper half, one order down, or nothing is left. Last: few values live. */
    if (from == BUDDY_MAX_ORDER)
        root_change(region, root, from + 1, order < from ? from : 0);
    else
        tree_update_up(region, root, tree, leaf >> from, order < from ? from : 0);
}

/* The heap number of the first page of the highest slot of order `order` in node `node` of order `from`. */
static inline uintptr_t highest_slot_leaf(uintptr_t node, unsigned from, unsigned order)
{
    return ((node + 1) << from) - order_pages(order);
}

/* The page (of the region) whose heap number in root `root`'s tree is leaf. */
static inline uintptr_t leaf_page(uintptr_t root, uintptr_t leaf)
{
    return (root << BUDDY_MAX_ORDER) + leaf - order_pages(BUDDY_MAX_ORDER);
}

/*
 * Makes the tree nodes inside the allocated block [index, index + 2^order) exact for pages that
 * become order-0 blocks of their own (handed to a cache, or claimed): nothing free in them. Each
 * order's nodes inside the block are consecutive in its root's tree.
 */
static void tree_clear_inside(struct buddy_region *region, uintptr_t index, unsigned order)
{
    for (unsigned k = 0; k < order; k++) {
        uint8_t *node = tree_node(region, k, index);
        for (uintptr_t i = 0; i < order_pages(order - k); i++)
            node[i] = 0;
    }
}

/* buddy_pool_take_pages of more than one page: the split, then its pages become blocks of their own. */
static __attribute__((noinline)) void pool_take_block_pages(struct buddy *buddy, struct buddy_region *region,
                                                            uintptr_t index, unsigned order, unsigned from)
{
    pool_split_take(buddy, region, index >> BUDDY_MAX_ORDER, tree_heap_node(index, 0), order, from);
    tree_clear_inside(region, index, order);
    metadata_fill(&region->page_state[index], order_pages(order), PAGE_ALLOCATED);
}

/*
 * See buddy_internal.h: an allocation of that very slot, whose pages then become blocks of their
 * own. A single page (the break's claims) is a frameless leaf: its split and climb alone.
 */
ARCH_NO_FRAME_POINTER void buddy_pool_take_pages(struct buddy *buddy, struct buddy_region *region, uintptr_t index,
                                                 unsigned order, unsigned from)
{
    if (order > 0) {
        pool_take_block_pages(buddy, region, index, order, from);
        return;
    }
    pool_split_take(buddy, region, index >> BUDDY_MAX_ORDER, tree_heap_node(index, 0), 0, from);
}

/*
 * See buddy_internal.h. One pass up the orders: while the buddy is entirely free (its tree node
 * says so, in O(1)), the two merge; then the merged block's node and the nodes above it.
 */
ARCH_NO_FRAME_POINTER void buddy_pool_put(struct buddy *buddy, struct buddy_region *region, uintptr_t index,
                                          unsigned order)
{
    uintptr_t root = index >> BUDDY_MAX_ORDER;
    uint8_t *tree = tree_of(region, root);
    uint8_t *state = region->page_state;
    uintptr_t node = tree_heap_node(index, order);
    uintptr_t state_offset = index - (node << order); /* a node's first page is (its number << its order) + this */
    uintptr_t merged = order;
    unsigned long *free_blocks = &buddy->free_blocks[order]; /* of the order merged */
    buddy->pool_free_pages += order_pages(order);
    for (; merged < BUDDY_MAX_ORDER && tree[node ^ 1] == merged + 1; merged++, node >>= 1) {
        (*free_blocks++)--;
        /* The upper one stops being a block. */
        state_store(&state[((node | 1) << merged) + state_offset], PAGE_TAIL);
    }
    state_store(&state[(node << merged) + state_offset], (uint8_t)(PAGE_FREE | merged));
    (*free_blocks)++;
    /* Entirely free now. Last: few values live. */
    if (merged == BUDDY_MAX_ORDER) /* the root held the largest buddy merged, or nothing (the block itself) */
        root_change(region, root, merged > order ? merged : 0, merged + 1);
    else
        tree_update_up(region, root, tree, node, merged + 1);
}

/* The highest region whose root index has a root in set `order` (a free block of that order or more), or NULL. */
static inline __attribute__((always_inline)) struct buddy_region *pool_region_with(struct buddy *buddy, unsigned order)
{
    for (struct buddy_region *region = buddy->regions_end; region-- != buddy->regions;)
        if (index_any(region, order))
            return region;
    return NULL;
}

/*
 * Takes the highest free slot of order `order` out of a region whose root index has a root in set
 * `order` (pool_region_with): from the highest root of the set down its tree to the highest free
 * block of that order or more, whose highest slot of the order is split off. Returns the slot's
 * first page. O(index levels + BUDDY_MAX_ORDER).
 */
static inline __attribute__((always_inline)) uintptr_t region_take_highest(struct buddy *buddy,
                                                                           struct buddy_region *region, unsigned order)
{
    uintptr_t root = index_highest(region, order);
    unsigned from;
    uintptr_t node = tree_descend(tree_of(region, root), order, &from);
    uintptr_t leaf = highest_slot_leaf(node, from, order);
    pool_split_take(buddy, region, root, leaf, order, from);
    return leaf_page(root, leaf);
}

/* ---- Misuse and poison ---- */

void buddy_report(enum misuse_kind kind, uintptr_t address, const void *caller)
{
    struct misuse_report report = {
        .kind = kind, .allocator = "buddy", .address = address, .hart = hart_self(), .caller = caller};
    misuse_report(&report);
}

enum misuse_kind buddy_classify_free(const struct buddy_region *region, uintptr_t index, unsigned order, bool aligned)
{
    uint8_t state = state_load(&region->page_state[index]);
    uintptr_t head;
    switch (state & PAGE_STATE_MASK) {
    case PAGE_ALLOCATED:
        if (!aligned)
            return MISUSE_INVALID_FREE;
        return (unsigned)(state & PAGE_ORDER_MASK) == order ? BUDDY_FREE_OK : MISUSE_WRONG_SIZE;
    case PAGE_TAIL:
        state = block_of(region, index, &head);
        if (state == PAGE_TAIL)
            return MISUSE_OUT_OF_RANGE; /* in a region, but not managed (hole, metadata) */
        if ((state & PAGE_STATE_MASK) == PAGE_ALLOCATED)
            return MISUSE_INVALID_FREE; /* inside an allocated block */
        return aligned ? MISUSE_DOUBLE_FREE : MISUSE_INVALID_FREE;
    default: /* free or cached */ return aligned ? MISUSE_DOUBLE_FREE : MISUSE_INVALID_FREE;
    }
}

void buddy_poison(void *block, uintptr_t bytes)
{
    memset(block, BUDDY_POISON_BYTE, bytes);
}

/* Address of the first byte of a block that is not poison, or 0. */
uintptr_t buddy_poison_damage(const void *block, uintptr_t bytes)
{
    const unsigned long pattern = ~0UL / 0xff * BUDDY_POISON_BYTE;
    const unsigned long *word = block;
    for (uintptr_t i = 0; i < bytes / sizeof(unsigned long); i++) {
        if (word[i] != pattern) {
            const uint8_t *byte = (const uint8_t *)&word[i];
            while (*byte == BUDDY_POISON_BYTE)
                byte++;
            return (uintptr_t)byte;
        }
    }
    return 0;
}

#if RVMEM_CHECKED
static void check_poison(const void *block, uintptr_t bytes, const void *caller)
{
    uintptr_t damage = buddy_poison_damage(block, bytes);
    if (damage)
        buddy_report(MISUSE_WRITE_AFTER_FREE, damage, caller);
}
#endif

/* ---- Per-hart caches ---- */

/* The cache of a hart below RVMEM_MAX_HARTS. */
static inline __attribute__((always_inline)) struct buddy_cache *hart_cache(struct buddy *buddy, unsigned hart)
{
    /* The offset in 32 bits (hart is small): on rv64 one slliw, which also sign-extends it. */
    long offset = (int)(hart * (unsigned)sizeof(struct buddy_cache));
    return (struct buddy_cache *)((char *)buddy->caches + offset);
}

/*
 * Does hart (hart_self(), sign-extended) have a cache? In the kernel every running hart does:
 * boot/entry.S parks and kernel/platform/hart.c does not start a hart whose index would be
 * RVMEM_MAX_HARTS or more, so the fast paths skip the test there. On the host any thread calls.
 */
static inline __attribute__((always_inline)) bool hart_has_cache(unsigned hart)
{
#ifdef RVMEM_HOST
    return hart < RVMEM_MAX_HARTS;
#else
    (void)hart;
    return true;
#endif
}

/*
 * Gives the top page of a cache back to the pool (cache lock held; the cache holds one): one
 * pool free under the shared lock, as a free into a full cache is.
 */
static inline __attribute__((always_inline)) void cache_give_back_top(struct buddy *buddy, struct buddy_cache *cache)
{
    struct buddy_cache_entry *entry = buddy_cache_held(cache);
    uintptr_t index = 0;
    struct buddy_region *region = region_of(buddy, (uintptr_t)entry->page, &index);
    spin_lock(&buddy->lock);
    buddy_pool_put(buddy, region, index, 0); /* already poisoned in checked builds */
    spin_unlock(&buddy->lock);
    cache->room_bytes += sizeof(struct buddy_cache_entry);
}

/*
 * One page a call, so that no call costs more than one pool free (each page may merge through
 * every order): the caches are looked at in hart order, each first at a glance without its lock
 * (an empty one is passed by; one that fills meanwhile waits for the next call), then under it.
 */
unsigned long buddy_drain_caches(struct buddy *buddy)
{
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        if (__atomic_load_n(&cache->room_bytes, __ATOMIC_RELAXED) == BUDDY_CACHE_EMPTY_ROOM)
            continue;
        spin_lock(&cache->lock);
        bool holds_one = cache->room_bytes != BUDDY_CACHE_EMPTY_ROOM;
        if (holds_one)
            cache_give_back_top(buddy, cache);
        spin_unlock(&cache->lock);
        if (holds_one)
            return 1;
    }
    return 0;
}

/*
 * One pass over the caches, each emptied under its lock (so that its owner cannot refill it
 * meanwhile: the call ends even while other harts keep freeing), a page at a time.
 */
unsigned long buddy_drain_all_caches(struct buddy *buddy)
{
    unsigned long moved = 0;
    for (unsigned hart = 0; hart < RVMEM_MAX_HARTS; hart++) {
        struct buddy_cache *cache = &buddy->caches[hart];
        spin_lock(&cache->lock);
        for (; cache->room_bytes != BUDDY_CACHE_EMPTY_ROOM; moved++)
            cache_give_back_top(buddy, cache);
        spin_unlock(&cache->lock);
    }
    return moved;
}

/*
 * The entry room_bytes into a cache's entries. The cache and room_bytes are added first, so that
 * the offset of entries folds into the loads and stores (one add less).
 */
static inline __attribute__((always_inline)) struct buddy_cache_entry *cache_entry_at(struct buddy_cache *cache,
                                                                                      unsigned long room_bytes)
{
    char *displaced = (char *)cache + room_bytes;
    return (struct buddy_cache_entry *)(displaced + offsetof(struct buddy_cache, entries));
}

/*
 * Pops the top page of a cache that holds one (lock held; room_bytes read, not
 * BUDDY_CACHE_EMPTY_ROOM): it becomes an allocated order-0 page.
 */
static inline __attribute__((always_inline)) void *cache_pop(struct buddy_cache *cache, unsigned long room_bytes)
{
    struct buddy_cache_entry *entry = cache_entry_at(cache, room_bytes);
    void *page = entry->page;
    state_store(entry->state, PAGE_ALLOCATED);
    cache->room_bytes = room_bytes + sizeof(struct buddy_cache_entry);
    return page;
}

/* Pushes a page onto a cache with room (lock held; room_bytes read, not 0), then releases the lock. */
static inline __attribute__((always_inline)) int cache_push(struct buddy_cache *cache, unsigned long room_bytes,
                                                            void *page, uint8_t *state)
{
    room_bytes -= sizeof(struct buddy_cache_entry);
    struct buddy_cache_entry *entry = cache_entry_at(cache, room_bytes);
    entry->page = page;
    entry->state = state;
    state_store(state, PAGE_CACHED);
    cache->room_bytes = room_bytes;
    spin_unlock(&cache->lock);
    return 0;
}

/*
 * A free that finds its cache full gives that page straight back to the pool: one tree walk
 * (its merges and the climb above them), never a batch, so that no free costs more than that.
 * The cache stays as it is (full). The cache lock is released first: the page is the caller's
 * (two harts freeing the same page at once stay undetected, as on the fast path, see buddy.h).
 */
static __attribute__((noinline)) int cache_give_back(struct buddy *buddy, struct buddy_cache *cache, void *page)
{
    spin_unlock(&cache->lock);
    uintptr_t index = 0;
    struct buddy_region *region = region_of(buddy, (uintptr_t)page, &index);
    spin_lock(&buddy->lock);
    buddy_pool_put(buddy, region, index, 0); /* poisoned already in checked builds */
    spin_unlock(&buddy->lock);
    return 0;
}

/* Puts an allocated order-0 page (state PAGE_ALLOCATED | 0) into a cache whose lock is held. */
static inline __attribute__((always_inline)) int cache_put(struct buddy *buddy, struct buddy_cache *cache, void *page,
                                                           uint8_t *state)
{
    unsigned long room_bytes = cache->room_bytes;
    if (room_bytes == 0)
        return cache_give_back(buddy, cache, page);
    return cache_push(cache, room_bytes, page, state);
}

/* The same when the lock is not held yet (the owner found it taken by a drainer, or checked builds). */
static __attribute__((noinline)) int cache_put_locking(struct buddy *buddy, struct buddy_cache *cache, void *page,
                                                       uint8_t *state)
{
#if RVMEM_CHECKED
    buddy_poison(page, PAGE_SIZE);
#endif
    spin_lock(&cache->lock);
    return cache_put(buddy, cache, page, state);
}

/* ---- Allocation ---- */

/* Stores an error code for buddy_alloc_checked; buddy_alloc passes no place for it. */
static void set_error(int *error, int code)
{
    if (error)
        *error = code;
}

/*
 * Takes the highest free slot of an order out of the pool (shared lock held): its address, or 0
 * when there is none. Out of line, so that the walks keep everything in registers.
 */
static __attribute__((noinline)) ARCH_NO_FRAME_POINTER uintptr_t pool_take_highest(struct buddy *buddy, unsigned order)
{
    struct buddy_region *region = pool_region_with(buddy, order);
    if (!region)
        return 0;
    return region_page_address(region, region_take_highest(buddy, region, order));
}

/* ---- Out of memory: what the caches hold is free memory too ---- */

/* The hart whose cache a search of every cache looks at after hart's: all of them in turn. */
static inline unsigned next_hart(unsigned hart)
{
    return hart + 1 < RVMEM_MAX_HARTS ? hart + 1 : 0;
}

/*
 * An order-0 request the pool cannot serve: takes the top page of the first cache that holds one,
 * the calling hart's own first, then the next harts' in turn. One cache lock at a time, never
 * with the shared lock. NULL when every cache is empty. O(RVMEM_MAX_HARTS).
 */
static void *cache_steal_page(struct buddy *buddy)
{
    unsigned hart = hart_self();
    if (hart >= RVMEM_MAX_HARTS)
        hart = 0;
    for (unsigned looked = 0; looked < RVMEM_MAX_HARTS; looked++, hart = next_hart(hart)) {
        struct buddy_cache *cache = &buddy->caches[hart];
        spin_lock(&cache->lock);
        unsigned long room_bytes = cache->room_bytes;
        void *page = room_bytes != BUDDY_CACHE_EMPTY_ROOM ? cache_pop(cache, room_bytes) : NULL;
        spin_unlock(&cache->lock);
        if (page)
            return page;
    }
    return NULL;
}

/*
 * A request of order `order` > 0 the pool cannot serve: cached pages may complete the block, so
 * they go back to the pool a page at a time (each merging with its buddies), a cache at a time
 * from the calling hart's own, until the pool has a free block of that order. Returns whether it
 * has one; false once every cache is empty. Each cache's lock, then the shared lock, as a drain.
 * O(pages moved * (BUDDY_MAX_ORDER + index levels)): the only call of the allocator whose cost
 * grows with what the caches hold, and only as far as the request needs.
 */
static bool caches_give_back_until(struct buddy *buddy, unsigned order)
{
    unsigned hart = hart_self();
    if (hart >= RVMEM_MAX_HARTS)
        hart = 0;
    bool found = false;
    for (unsigned looked = 0; looked < RVMEM_MAX_HARTS && !found; looked++, hart = next_hart(hart)) {
        struct buddy_cache *cache = &buddy->caches[hart];
        spin_lock(&cache->lock);
        if (cache->room_bytes != BUDDY_CACHE_EMPTY_ROOM) {
            spin_lock(&buddy->lock);
            while (!found && cache->room_bytes != BUDDY_CACHE_EMPTY_ROOM) {
                struct buddy_cache_entry *entry = cache_entry_at(cache, cache->room_bytes);
                uintptr_t index = 0;
                struct buddy_region *region = region_of(buddy, (uintptr_t)entry->page, &index);
                buddy_pool_put(buddy, region, index, 0); /* already poisoned in checked builds */
                cache->room_bytes += sizeof(struct buddy_cache_entry);
                found = pool_region_with(buddy, order) != NULL;
            }
            spin_unlock(&buddy->lock);
        }
        spin_unlock(&cache->lock);
    }
    return found;
}

/* A block alloc_slow hands out (NULL: out of memory): poison checked in checked builds, the error set. */
static inline __attribute__((always_inline)) void *alloc_handed_out(void *block, unsigned order, const void *caller,
                                                                    int *error)
{
    if (!block) {
        set_error(error, -E_NOMEM);
        return NULL;
    }
#if RVMEM_CHECKED
    check_poison(block, order_pages(order) << PAGE_SHIFT, caller);
#else
    (void)order;
    (void)caller;
#endif
    set_error(error, 0);
    return block;
}

/*
 * alloc_slow when the pool cannot serve the request: from what the caches hold. An order-0
 * request takes one cached page (cache_steal_page); a larger one has cached pages given back
 * until the block exists (caches_give_back_until), then the pool is asked again. NULL only when
 * the memory asked for is free nowhere, caches included (but for pages freed meanwhile on other
 * harts).
 */
static __attribute__((noinline)) void *alloc_short(struct buddy *buddy, unsigned order, const void *caller, int *error)
{
    void *block = NULL;
    if (order == 0) {
        block = cache_steal_page(buddy);
    } else {
        while (!block && caches_give_back_until(buddy, order)) {
            spin_lock(&buddy->lock);
            block = (void *)pool_take_highest(buddy, order);
            spin_unlock(&buddy->lock);
        }
    }
    return alloc_handed_out(block, order, caller, error);
}

/* Takes an order-`order` block from the pool, or from what the caches hold when the pool runs short. */
static __attribute__((noinline)) void *alloc_slow(struct buddy *buddy, unsigned order, const void *caller, int *error)
{
    stack_check("buddy allocator slow path");
    if (order > BUDDY_MAX_ORDER) {
        set_error(error, -E_INVAL);
        return NULL;
    }
    spin_lock(&buddy->lock);
    void *block = (void *)pool_take_highest(buddy, order);
    spin_unlock(&buddy->lock);
    if (!block)
        return alloc_short(buddy, order, caller, error);
    return alloc_handed_out(block, order, caller, error);
}

/* Zeroes bytes (a power of two) at nodes, which is aligned to bytes or to 8: whole aligned stores. */
static inline __attribute__((always_inline)) void clear_aligned_nodes(uint8_t *nodes, uintptr_t bytes)
{
    if (bytes >= 8) {
        for (uintptr_t i = 0; i < bytes; i += 8)
            __builtin_memset(__builtin_assume_aligned(nodes + i, 8), 0, 8);
    } else if (bytes == 4) {
        __builtin_memset(__builtin_assume_aligned(nodes, 4), 0, 4);
    } else if (bytes == 2) {
        __builtin_memset(__builtin_assume_aligned(nodes, 2), 0, 2);
    } else {
        nodes[0] = 0;
    }
}

/*
 * The tree nodes inside a batch the cache takes become exact (nothing free in them: its pages are
 * order-0 blocks of their own). The sizes are constants and each level is one aligned store: the
 * trees start word aligned (buddy_init), each root's heap is 2^(BUDDY_MAX_ORDER + 1) bytes, and
 * the nodes of order k inside the batch, aligned to its size, start at a multiple of their count.
 */
static inline __attribute__((always_inline)) void refill_clear_inside(struct buddy_region *region, uintptr_t index)
{
    ARCH_UNROLL(8)
    for (unsigned k = 0; k < BUDDY_CACHE_BATCH_ORDER; k++)
        clear_aligned_nodes(tree_node(region, k, index), BATCH_PAGES >> k);
}

/*
 * Puts the pages [index, index + count - 1) of a block just taken into an empty cache, highest
 * on top, and makes the page index + count - 1 (handed out at once) an allocated order-0 page.
 */
static inline __attribute__((always_inline)) void
refill_fill(struct buddy_cache *cache, const struct buddy_region *region, uintptr_t index, unsigned count)
{
    struct buddy_cache_entry *entry = &cache->entries[BUDDY_CACHE_PAGES - 1];
    uint8_t *state = &region->page_state[index];
    uintptr_t address = region_page_address(region, index);
    uintptr_t page_bytes = arch_opaque(PAGE_SIZE); /* one add a page, not a constant built for each */
    ARCH_UNROLL(16)
    for (unsigned i = 0; i + 1 < count; i++) { /* bottom up: the lowest page at the bottom */
        entry[-(long)i].page = (void *)address;
        entry[-(long)i].state = &state[i];
        state_store(&state[i], PAGE_CACHED);
        address += page_bytes;
    }
    state_store(&state[count - 1], PAGE_ALLOCATED);
    cache->room_bytes = (BUDDY_CACHE_PAGES - (count - 1)) * sizeof(struct buddy_cache_entry);
}

/*
 * Takes the highest free slot of 2^BUDDY_CACHE_BATCH_ORDER pages out of a region that has one for
 * an empty cache (both locks held; both released here), caches its pages but the highest, and
 * returns that one's address.
 */
static inline __attribute__((always_inline)) uintptr_t refill_take(struct buddy *buddy, struct buddy_cache *cache,
                                                                   struct buddy_region *region)
{
    uintptr_t index = region_take_highest(buddy, region, BUDDY_CACHE_BATCH_ORDER);
    refill_clear_inside(region, index);
    spin_unlock(&buddy->lock);
    /* The block is this cache's now (its state bytes are only read by misuse checks meanwhile). */
    refill_fill(cache, region, index, BATCH_PAGES);
    spin_unlock(&cache->lock);
    return region_page_address(region, index + BATCH_PAGES - 1);
}

/* A page a refill hands out: checked for poison in checked builds. */
static inline __attribute__((always_inline)) void *refill_handed_out(uintptr_t address, const void *caller, int *error)
{
#if RVMEM_CHECKED
    check_poison((void *)address, PAGE_SIZE, caller);
#else
    (void)caller;
#endif
    set_error(error, 0);
    return (void *)address;
}

/*
 * cache_refill when no free block holds a whole batch (both locks held; both released here): the
 * highest free page alone, handed out at once (split off the highest free block, as an order-0
 * allocation from the pool would be). In a pool that fragmented every refill brings one page;
 * an empty pool takes a page from another hart's cache.
 */
static __attribute__((noinline)) void *cache_refill_fragmented(struct buddy *buddy, struct buddy_cache *cache,
                                                               const void *caller, int *error)
{
    struct buddy_region *region = pool_region_with(buddy, 0);
    uintptr_t address = region ? region_page_address(region, region_take_highest(buddy, region, 0)) : 0;
    spin_unlock(&buddy->lock);
    spin_unlock(&cache->lock);
    if (!address)
        return alloc_short(buddy, 0, caller, error);
    return refill_handed_out(address, caller, error);
}

/* cache_refill from a region that has a free block of a batch or more (both locks held; both released here). */
static __attribute__((noinline)) void *cache_refill_batch(struct buddy *buddy, struct buddy_cache *cache,
                                                          struct buddy_region *region, const void *caller, int *error)
{
    return refill_handed_out(refill_take(buddy, cache, region), caller, error);
}

/* cache_refill once the shared lock is held: to the function that takes the block. */
static inline __attribute__((always_inline)) void *cache_refill_locked(struct buddy *buddy, struct buddy_cache *cache,
                                                                       const void *caller, int *error)
{
    struct buddy_region *region = pool_region_with(buddy, BUDDY_CACHE_BATCH_ORDER);
    if (!region)
        return cache_refill_fragmented(buddy, cache, caller, error);
    return cache_refill_batch(buddy, cache, region, caller, error);
}

/* cache_refill when another hart holds the shared lock: waits for it. */
static __attribute__((noinline)) void *cache_refill_waiting(struct buddy *buddy, struct buddy_cache *cache,
                                                            const void *caller, int *error)
{
    spin_lock(&buddy->lock);
    return cache_refill_locked(buddy, cache, caller, error);
}

/*
 * Refills an empty cache (its lock held, released here) and hands out a page. One walk down the
 * tree: the highest free aligned slot of 2^BUDDY_CACHE_BATCH_ORDER pages is taken whole (split
 * from the highest free block that holds one), its highest page handed out, the others cached
 * with the highest on top (cache_refill_batch). When no block that large is free,
 * cache_refill_fragmented takes the highest free page alone. This part only chooses (a frameless leaf: each
 * way pays for its own frame). Like the fast paths these have no stack_check: their depth is
 * fixed (no recursion, small frames); the out-of-memory path (alloc_slow) checks.
 */
static __attribute__((noinline)) ARCH_NO_FRAME_POINTER void *
cache_refill(struct buddy *buddy, struct buddy_cache *cache, const void *caller, int *error)
{
    if (!spin_trylock(&buddy->lock))
        return cache_refill_waiting(buddy, cache, caller, error);
    return cache_refill_locked(buddy, cache, caller, error);
}

/* Hands out the top page of a cache whose lock is held (refilling it when empty), then unlocks. */
static inline __attribute__((always_inline)) void *cache_take(struct buddy *buddy, struct buddy_cache *cache,
                                                              const void *caller, int *error)
{
    unsigned long room_bytes = cache->room_bytes;
    if (room_bytes == BUDDY_CACHE_EMPTY_ROOM)
        return cache_refill(buddy, cache, caller, error);
    void *page = cache_pop(cache, room_bytes);
    spin_unlock(&cache->lock);
#if RVMEM_CHECKED
    check_poison(page, PAGE_SIZE, caller);
#endif
    set_error(error, 0);
    return page;
}

/* The same when the lock is not held yet. */
static __attribute__((noinline)) void *cache_take_locking(struct buddy *buddy, struct buddy_cache *cache,
                                                          const void *caller, int *error)
{
    spin_lock(&cache->lock);
    return cache_take(buddy, cache, caller, error);
}

/*
 * The fast path: an order-0 page from the calling hart's cache. Nothing but hart_self() is
 * called on the way (the rest are tail calls), so the common case saves few registers.
 */
ARCH_NO_FRAME_POINTER void *buddy_alloc(struct buddy *buddy, unsigned order)
{
    if (order != 0)
        return alloc_slow(buddy, order, __builtin_return_address(0), NULL);
    unsigned hart = hart_self();
    if (!hart_has_cache(hart))
        return alloc_slow(buddy, 0, __builtin_return_address(0), NULL);
    struct buddy_cache *cache = hart_cache(buddy, hart);
    if (RVMEM_CHECKED || !spin_trylock(&cache->lock))
        return cache_take_locking(buddy, cache, __builtin_return_address(0), NULL);
    return cache_take(buddy, cache, __builtin_return_address(0), NULL);
}

int buddy_alloc_checked(struct buddy *buddy, unsigned order, void **block)
{
    int error;
    unsigned hart = hart_self();
    if (order == 0 && hart < RVMEM_MAX_HARTS)
        *block = cache_take_locking(buddy, &buddy->caches[hart], __builtin_return_address(0), &error);
    else
        *block = alloc_slow(buddy, order, __builtin_return_address(0), &error);
    return error;
}

/* ---- Free ---- */

/* Everything the fast path of buddy_free does not handle: other regions, misuse, orders > 0. */
static __attribute__((noinline)) int free_slow(struct buddy *buddy, void *block, unsigned order, const void *caller)
{
    stack_check("buddy allocator slow path");
    uintptr_t address = (uintptr_t)block;
    uintptr_t index;
    if (!block)
        return 0;
    struct buddy_region *region = region_of(buddy, address, &index);
    if (!region) {
        buddy_report(MISUSE_OUT_OF_RANGE, address, caller);
        return -E_INVAL;
    }
    bool aligned = (address & PAGE_OFFSET_MASK) == 0;
    uint8_t *state = &region->page_state[index];
    unsigned hart = hart_self();
    if (order == 0 && aligned && state_load(state) == PAGE_ALLOCATED && hart < RVMEM_MAX_HARTS && caller)
        return cache_put_locking(buddy, &buddy->caches[hart], block, state);

    spin_lock(&buddy->lock);
    enum misuse_kind kind = buddy_classify_free(region, index, order, aligned);
    if (kind == BUDDY_FREE_OK) {
#if RVMEM_CHECKED
        buddy_poison(block, order_pages(order) << PAGE_SHIFT);
#endif
        buddy_pool_put(buddy, region, index, order);
    }
    spin_unlock(&buddy->lock);
    if (kind != BUDDY_FREE_OK) {
        buddy_report(kind, address, caller);
        return -E_INVAL;
    }
    return 0;
}

/* A valid allocated order-0 page into the calling hart's cache (or the pool for harts without one). */
static inline __attribute__((always_inline)) int free_page(struct buddy *buddy, void *page, uint8_t *state)
{
    unsigned hart = hart_self();
    if (!hart_has_cache(hart))
        return free_slow(buddy, page, 0, NULL);
    struct buddy_cache *cache = hart_cache(buddy, hart);
    if (RVMEM_CHECKED || !spin_trylock(&cache->lock))
        return cache_put_locking(buddy, cache, page, state);
    return cache_put(buddy, cache, page, state);
}

/*
 * The fast path: an order-0 page of the first region goes into the calling hart's cache once
 * its state byte shows it allocated. The checks come before hart_self(), so that only they
 * need the caller's address (for reports).
 */
ARCH_NO_FRAME_POINTER int buddy_free(struct buddy *buddy, void *block, unsigned order)
{
    uintptr_t address = (uintptr_t)block;
    struct buddy_region *region = &buddy->regions[0];
    uintptr_t index = (address >> PAGE_SHIFT) - region->first_pfn;
    if (order == 0 && (address & PAGE_OFFSET_MASK) == 0 && index < region->page_count) {
        uint8_t *state = &region->page_state[index];
        if (state_load(state) == PAGE_ALLOCATED)
            return free_page(buddy, block, state);
    }
    return free_slow(buddy, block, order, arch_leaf_return_address());
}
