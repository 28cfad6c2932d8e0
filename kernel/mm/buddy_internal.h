/*
 * kernel/mm/buddy_internal.h - the buddy allocator's metadata encoding and the helpers its files
 * share (buddy.c, buddy_init.c, buddy_range.c, buddy_stats.c, buddy_validate.c). Nothing
 * outside kernel/mm/buddy*.c includes it.
 *
 * State byte of a page (region->page_state[index]; buddy_init sets them all to PAGE_TAIL):
 *   PAGE_TAIL            not the first page of a block: inside a block, or not managed at all
 *                        (metadata, holes between ranges, the alignment margins of a region);
 *   PAGE_FREE | order    first page of a free block in the shared pool;
 *   PAGE_ALLOCATED|order first page of an allocated block (claimed pages: order 0 each);
 *   PAGE_CACHED          an order-0 page held by a per-hart cache.
 * In checked builds every free or cached page holds poison (BUDDY_POISON_BYTE): pages are
 * poisoned when they are freed (at init too) and checked when they are handed out.
 * Invariant: exactly the first page of every block has a non-TAIL state, so the block holding
 * a page is found by looking at the page aligned down to 2^k for k = 0..BUDDY_MAX_ORDER.
 *
 * Largest-free trees: no block is larger than 2^BUDDY_MAX_ORDER pages, so each aligned slot of
 * that size (a root) has a tree of its own. A node of order m covers 2^m pages and holds 1 + the
 * order of the largest free block of the pool inside it, or 0 when there is none; it is entirely
 * free when its value is m + 1. The value of a node is exact unless a block (free, allocated or
 * cached) of a higher order covers it: inside a block nothing reads it, and whoever splits a
 * block writes the nodes on the way down. A root is never covered. A root's tree is a heap of
 * 2^(BUDDY_MAX_ORDER + 1) bytes at region->trees + (root << (BUDDY_MAX_ORDER + 1)): node 1 is
 * the root, nodes 2n and 2n + 1 are the lower and upper halves of node n (byte 0 is unused, 0),
 * so that the node of order m holding page p of the root is (2^BUDDY_MAX_ORDER + p) >> m, and a
 * walk goes up or down with a shift of that number, no table of levels to load. The root index
 * (buddy_index.h) holds each root in the sets of the orders below its value. Finding the highest
 * free block of order >= k takes the highest root of set k from the index and walks down the
 * higher child whose value is > k; a change walks up, stops where a value holds, and moves a
 * root whose value changed in the index.
 */
#ifndef RVMEM_KERNEL_MM_BUDDY_INTERNAL_H
#define RVMEM_KERNEL_MM_BUDDY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm/buddy.h"
#include "kernel/mm/buddy_index.h"
#include "kernel/base/misuse.h"

enum page_state {
    PAGE_ALLOCATED = 0x00, /* 0: the order-0 free fast path compares the byte with zero */
    PAGE_FREE = 0x10,
    PAGE_CACHED = 0x20,
    PAGE_TAIL = 0x30,
    PAGE_STATE_MASK = 0x30,
    PAGE_ORDER_MASK = 0x0f,
};

#ifndef RVMEM_CHECKED
#define RVMEM_CHECKED 0
#endif

#define PAGE_OFFSET_MASK (PAGE_SIZE - 1)

/* State bytes are read and written by the owner of a page without the shared lock. */
static inline uint8_t state_load(const uint8_t *state)
{
    return __atomic_load_n(state, __ATOMIC_RELAXED);
}

static inline void state_store(uint8_t *state, uint8_t value)
{
    __atomic_store_n(state, value, __ATOMIC_RELAXED);
}

/*
 * Runs of metadata bytes (state bytes, tree nodes) a machine word at a time, for claims and
 * releases of many pages. State bytes are read without the shared lock (by the owner of a page,
 * and by misuse checks racing with it), so every access here is a relaxed atomic of an aligned
 * word; the unaligned ends go a byte at a time (state_load, state_store). An aligned word access
 * is single-copy atomic on RISC-V (RVWMO defines mixed-size accesses) and on the host, so a
 * reader of one byte sees that byte either before or after the store, never torn, and a racing
 * byte store (a page freed twice at once, which buddy.h leaves undetected) ends as it would
 * against eight byte stores done at one instant. The word type may alias the bytes (GCC's
 * may_alias), so the accesses are defined under strict aliasing. Only [bytes, bytes + count)
 * is touched.
 */
typedef unsigned long __attribute__((may_alias)) metadata_word;
#define METADATA_WORD_BYTES sizeof(metadata_word)

/* Whether bytes sits at a word boundary. */
static inline bool metadata_word_aligned(const uint8_t *bytes)
{
    return ((uintptr_t)bytes & (METADATA_WORD_BYTES - 1)) == 0;
}

/* Stores value into the count metadata bytes from bytes (see above). O(count / word bytes). */
static inline void metadata_fill(uint8_t *bytes, uintptr_t count, uint8_t value)
{
    uint8_t *end = bytes + count;
    while (bytes != end && !metadata_word_aligned(bytes))
        state_store(bytes++, value);
    const metadata_word pattern = ~0UL / 0xff * value;
    for (; (uintptr_t)(end - bytes) >= METADATA_WORD_BYTES; bytes += METADATA_WORD_BYTES)
        __atomic_store_n((metadata_word *)bytes, pattern, __ATOMIC_RELAXED);
    while (bytes != end)
        state_store(bytes++, value);
}

/*
 * The offset of the first of the count metadata bytes from bytes that does not hold value, or
 * count when all do (see above). O(count / word bytes).
 */
static inline uintptr_t metadata_find_other(const uint8_t *bytes, uintptr_t count, uint8_t value)
{
    uintptr_t offset = 0;
    for (; offset < count && !metadata_word_aligned(&bytes[offset]); offset++)
        if (state_load(&bytes[offset]) != value)
            return offset;
    const metadata_word pattern = ~0UL / 0xff * value;
    for (; count - offset >= METADATA_WORD_BYTES; offset += METADATA_WORD_BYTES)
        if (__atomic_load_n((const metadata_word *)&bytes[offset], __ATOMIC_RELAXED) != pattern)
            break; /* the byte loop below finds which */
    for (; offset < count; offset++)
        if (state_load(&bytes[offset]) != value)
            return offset;
    return count;
}

static inline uintptr_t order_pages(unsigned order)
{
    return (uintptr_t)1 << order;
}

/* Address of a page of a region. */
static inline uintptr_t region_page_address(const struct buddy_region *region, uintptr_t index)
{
    return (region->first_pfn + index) << PAGE_SHIFT;
}

/* Region holding the page at address (index set), or NULL. O(region_count). */
static inline struct buddy_region *region_of(struct buddy *buddy, uintptr_t address, uintptr_t *index)
{
    uintptr_t pfn = address >> PAGE_SHIFT;
    for (struct buddy_region *region = buddy->regions; region != buddy->regions_end; region++) {
        uintptr_t offset = pfn - region->first_pfn;
        if (offset < region->page_count) {
            *index = offset;
            return region;
        }
    }
    return 0;
}

/*
 * The block holding page index: returns its state (PAGE_TAIL when the page belongs to no
 * block, i.e. is not managed) and its first page in *head. O(BUDDY_MAX_ORDER).
 */
static inline uint8_t block_of(const struct buddy_region *region, uintptr_t index, uintptr_t *head)
{
    for (unsigned order = 0; order <= BUDDY_MAX_ORDER; order++) {
        uintptr_t first = index & ~(order_pages(order) - 1);
        uint8_t state = state_load(&region->page_state[first]);
        if ((state & PAGE_STATE_MASK) == PAGE_TAIL)
            continue;
        /* A block starting here that is too small to reach index: index is in none. */
        if ((unsigned)(state & PAGE_ORDER_MASK) < order)
            return PAGE_TAIL;
        *head = first;
        return state;
    }
    return PAGE_TAIL;
}

#define TREE_BYTES (2u << BUDDY_MAX_ORDER) /* a root's tree */

/* The tree (heap) of a root. */
static inline uint8_t *tree_of(const struct buddy_region *region, uintptr_t root)
{
    return region->trees + (root << (BUDDY_MAX_ORDER + 1));
}

/* The heap number of the node of order `order` holding page index (of the region) in its root's tree. */
static inline uintptr_t tree_heap_node(uintptr_t index, unsigned order)
{
    return (order_pages(BUDDY_MAX_ORDER) | (index & (order_pages(BUDDY_MAX_ORDER) - 1))) >> order;
}

/* The tree node of order `order` holding page index (see above). */
static inline uint8_t *tree_node(const struct buddy_region *region, unsigned order, uintptr_t index)
{
    return &tree_of(region, index >> BUDDY_MAX_ORDER)[tree_heap_node(index, order)];
}

/*
 * The values of the nodes `node` (even) and node + 1, two halves, in one load: the lower half's
 * in bits 0-7, the upper's in bits 8-15 (little-endian, as RISC-V and the host are).
 */
static inline uintptr_t tree_pair(const uint8_t *tree, uintptr_t node)
{
    uint16_t pair;
    __builtin_memcpy(&pair, __builtin_assume_aligned(&tree[node], 2), sizeof pair);
    return pair;
}

/* The node of a root itself. */
static inline uint8_t *root_node(const struct buddy_region *region, uintptr_t root)
{
    return &tree_of(region, root)[1];
}

/* Nodes of order `order` over page_count pages (a multiple of the largest block). */
static inline uintptr_t tree_level_nodes(uintptr_t page_count, unsigned order)
{
    return page_count >> order;
}

/* ---- Shared by buddy.c, buddy_init.c and buddy_range.c (the pool ones under buddy->lock) ---- */

/* Root `root` changes from old_value (exact: a root is never covered) to value, and so moves in the root index. */
static inline __attribute__((always_inline)) void root_change(struct buddy_region *region, uintptr_t root,
                                                              uintptr_t old_value, uintptr_t value)
{
    *root_node(region, root) = (uint8_t)value;
    index_change(region, root, old_value, value);
}

/*
 * The node numbered `node` (below the root: node > 1) of the tree of root `root` changes to value:
 * writes it and recomputes the nodes above it while they change, up to the root, which then moves
 * in the root index. Above a change no two sibling nodes are both entirely free (they would have
 * merged), so a node is the larger of its children.
 */
static inline __attribute__((always_inline)) void tree_update_up(struct buddy_region *region, uintptr_t root,
                                                                 uint8_t *tree, uintptr_t node, uintptr_t value)
{
    uintptr_t parent_value;
    tree[node] = (uint8_t)value;
    do {
        uintptr_t sibling = tree[node ^ 1];
        if (sibling > value)
            value = sibling;
        node >>= 1;
        parent_value = tree[node];
        if (parent_value == value)
            return;
        tree[node] = (uint8_t)value;
    } while (node != 1);
    index_change(region, root, parent_value, value);
}

/* Pages just left the pool: counts them out and keeps the peak of pages out. */
static inline __attribute__((always_inline)) void pool_pages_out(struct buddy *buddy, uintptr_t pages)
{
    buddy->pool_free_pages -= pages;
    unsigned long out_pages = buddy->total_pages - buddy->pool_free_pages;
    if (out_pages > buddy->peak_out_pages)
        buddy->peak_out_pages = out_pages;
}

/* The largest order of an aligned block starting at index that fits in pages. */
static inline unsigned buddy_largest_order(uintptr_t index, uintptr_t pages)
{
    unsigned order = 0;
    while (order < BUDDY_MAX_ORDER && !(index & order_pages(order)) && order_pages(order + 1) <= pages)
        order++;
    return order;
}

/*
 * Puts the block [index, index + 2^order) into the pool, merging it with its free buddies.
 * Its first state byte may hold anything, the others must be PAGE_TAIL. In checked builds the
 * caller has poisoned it.
 */
void buddy_pool_put(struct buddy *buddy, struct buddy_region *region, uintptr_t index, unsigned order);

/*
 * Takes the block [index, index + 2^order) out of the free block of order `from` holding it (its
 * other parts stay free), as 2^order allocated order-0 pages: a claim of one aligned block.
 */
void buddy_pool_take_pages(struct buddy *buddy, struct buddy_region *region, uintptr_t index, unsigned order,
                           unsigned from);

/* What freeing the block at index with this order would be: BUDDY_FREE_OK or the kind of misuse. */
#define BUDDY_FREE_OK MISUSE_KIND_COUNT
enum misuse_kind buddy_classify_free(const struct buddy_region *region, uintptr_t index, unsigned order, bool aligned);

/* Reports misuse of the allocator at address, seen on this hart, by caller. */
void buddy_report(enum misuse_kind kind, uintptr_t address, const void *caller);

/* Checked builds: fills a block with BUDDY_POISON_BYTE / finds the first byte that is not poison (or 0). */
void buddy_poison(void *block, uintptr_t bytes);
uintptr_t buddy_poison_damage(const void *block, uintptr_t bytes);

#endif
