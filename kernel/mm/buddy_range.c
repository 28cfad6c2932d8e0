/*
 * kernel/mm/buddy_range.c - claiming an exact page range out of the buddy allocator's free
 * memory (for the program break) and releasing page ranges back.
 */
#include "kernel/mm/buddy.h"
#include "kernel/base/platform.h"

#include "kernel/mm/buddy_internal.h"
#include "kernel/base/errors.h"
#include "kernel/base/misuse.h"

/*
 * The region holding the page range [start, end) and its first and end page, or NULL. Inline: the
 * callers keep first and last in registers.
 */
static inline __attribute__((always_inline)) struct buddy_region *
range_region(struct buddy *buddy, uintptr_t start, uintptr_t end, uintptr_t *first, uintptr_t *last)
{
    if (((start | end) & PAGE_OFFSET_MASK) || end <= start)
        return NULL;
    struct buddy_region *region = region_of(buddy, start, first);
    uintptr_t pages = (end - start) >> PAGE_SHIFT;
    if (!region || pages > region->page_count - *first)
        return NULL;
    *last = *first + pages;
    return region;
}

/*
 * 0 if every page of the claim's range up to last is free in the pool, else -E_INVAL (a page is
 * not managed) or -E_BUSY; from the block holding its first page on (its state byte `state`,
 * ending before page index).
 */
static int claim_check(const struct buddy_region *region, uint8_t state, uintptr_t index, uintptr_t last, bool *cached)
{
    int result = 0;
    for (;;) {
        if (state == PAGE_TAIL)
            return -E_INVAL;
        if ((state & PAGE_STATE_MASK) != PAGE_FREE) {
            result = -E_BUSY;
            if ((state & PAGE_STATE_MASK) == PAGE_CACHED)
                *cached = true;
        }
        if (index >= last)
            return result;
        uintptr_t head;
        state = block_of(region, index, &head);
        index = head + order_pages(state & PAGE_ORDER_MASK);
    }
}

/* A part of a free block the claim splits: [index, index + 2^order) stays in the pool as a free block. */
static void put_remnant(struct buddy *buddy, struct buddy_region *region, uintptr_t index, unsigned order)
{
    state_store(&region->page_state[index], (uint8_t)(PAGE_FREE | order));
    *tree_node(region, order, index) = (uint8_t)(order + 1);
    buddy->free_blocks[order]++;
}

/*
 * The free block [head, head + 2^order), which the claim of [first, last) meets, leaves the pool;
 * its parts outside the claim stay free as the largest aligned blocks: below first, one block per
 * set bit of first - head, the largest first; above last, one per set bit of head + 2^order -
 * last, the smallest first. None of them can merge: each one's buddy overlaps the claim.
 */
static void take_block(struct buddy *buddy, struct buddy_region *region, uintptr_t head, unsigned order,
                       uintptr_t first, uintptr_t last)
{
    uintptr_t end = head + order_pages(order);
    buddy->free_blocks[order]--;
    if (head < first) {
        uintptr_t index = head;
        for (unsigned k = order; k-- > 0;) {
            if ((first - head) & order_pages(k)) {
                put_remnant(buddy, region, index, k);
                index += order_pages(k);
            }
        }
    }
    if (end > last) {
        uintptr_t index = last;
        for (unsigned k = 0; k < order; k++) {
            if ((end - last) & order_pages(k)) {
                put_remnant(buddy, region, index, k);
                index += order_pages(k);
            }
        }
    }
}

/*
 * Whether the node numbered `node` of order `order` in a root's tree covers only leaves (pages,
 * numbered in the heap) of [first, last).
 */
static bool node_inside(uintptr_t node, unsigned order, uintptr_t first, uintptr_t last)
{
    return (node << order) >= first && ((node + 1) << order) <= last;
}

/* The larger value of the two children of a node (not a leaf) of a root's tree. */
static inline uintptr_t children_value(const uint8_t *tree, uintptr_t node)
{
    const uint8_t *children = &tree[node * 2];
    return children[0] > children[1] ? children[0] : children[1];
}

/*
 * A root takes value (its old value is exact: a root is never covered) and moves in the root
 * index. Out of line: the claim's own frame stays small.
 */
static __attribute__((noinline)) ARCH_NO_FRAME_POINTER void root_store(struct buddy_region *region, uintptr_t root,
                                                                       uintptr_t value)
{
    root_change(region, root, *root_node(region, root), value);
}

/*
 * Makes the tree of root `root` exact after the claim of its leaves [first, last) (numbered in
 * the heap; not all of them), one level at a time from the pages up, to top_met, the highest
 * order of the blocks the claim met (their nodes up to there were covered by them, so none can be
 * trusted). The nodes inside the claim hold nothing free (zeroed a word at a time). The at most
 * two nodes of a level that straddle first or last take the larger of their children, which are
 * exact by then: a zeroed node, a straddling node of the level below, or a node outside the
 * claim, which no block of a higher order covers (such a block, a remnant or a block the claim did
 * not meet, would cover the straddling parent and so pages of the claim). At order 0 every node is
 * inside. From the first level at or above top_met where one node holds the whole claim,
 * tree_update_up climbs the rest; the root itself moves in the root index (root_store).
 */
static void root_part_claimed(struct buddy_region *region, uintptr_t root, uintptr_t first, uintptr_t last,
                              unsigned top_met)
{
    uint8_t *tree = tree_of(region, root);
    unsigned order = 0;
    uintptr_t low = first, high = last - 1;
    for (;; order++, low >>= 1, high >>= 1) {
        if (low == 1) { /* the root (the claim holds only part of it: not inside) */
            root_store(region, root, children_value(tree, 1));
            return;
        }
        uintptr_t inside_first = (first + order_pages(order) - 1) >> order, inside_end = last >> order;
        if (inside_end > inside_first)
            metadata_fill(&tree[inside_first], inside_end - inside_first, 0);
        if (!node_inside(low, order, first, last))
            tree[low] = (uint8_t)children_value(tree, low);
        if (low == high)
            break;
        if (!node_inside(high, order, first, last))
            tree[high] = (uint8_t)children_value(tree, high);
    }
    /* One node holds the whole claim from here up: none is inside it, each takes its children's. */
    for (; order < top_met && low > 3; order++) {
        low >>= 1;
        tree[low] = (uint8_t)children_value(tree, low);
    }
    if (low <= 3) /* a child of the root */
        root_store(region, root, children_value(tree, 1));
    else
        tree_update_up(region, root, tree, low >> 1, children_value(tree, low >> 1));
}

/*
 * Makes the trees exact after the claim of [first, last), a root at a time (no block spans two):
 * a root the claim covers holds nothing free (its whole tree zeroed), the others as
 * root_part_claimed says.
 */
static void tree_claimed(struct buddy_region *region, uintptr_t first, uintptr_t last, unsigned top_met)
{
    const uintptr_t root_pages = order_pages(BUDDY_MAX_ORDER);
    for (uintptr_t root = first >> BUDDY_MAX_ORDER; root <= (last - 1) >> BUDDY_MAX_ORDER; root++) {
        uintptr_t root_first = root << BUDDY_MAX_ORDER;
        uintptr_t part_first = first > root_first ? first - root_first : 0;
        uintptr_t part_end = last - root_first < root_pages ? last - root_first : root_pages;
        if (part_first == 0 && part_end == root_pages) {
            root_store(region, root, 0);
            metadata_fill(tree_of(region, root), TREE_BYTES, 0);
        } else {
            root_part_claimed(region, root, root_pages + part_first, root_pages + part_end, top_met);
        }
    }
}

/*
 * The free blocks [first, last) meets, from the one at head (of order `order`) on, leave the pool;
 * the first and the last may leave remnants. Past the first, each block starts where the one
 * before ends (claim_check found every page free). Returns the highest order met.
 */
static unsigned claim_blocks(struct buddy *buddy, struct buddy_region *region, uintptr_t first, uintptr_t last,
                             uintptr_t head, unsigned order)
{
    unsigned top_met = 0;
    for (;;) {
        take_block(buddy, region, head, order, first, last);
        if (order > top_met)
            top_met = order;
        head += order_pages(order);
        if (head >= last)
            return top_met;
        order = state_load(&region->page_state[head]) & PAGE_ORDER_MASK;
    }
}

/*
 * Takes [first, last), all free, out of the pool as order-0 allocated pages, the general way; the
 * free block of order `from` at head holds first. Every free block it meets leaves the pool
 * (claim_blocks), then the state bytes (a word at a time) and the trees (tree_claimed).
 * O(blocks met + tree levels + (last - first) / word bytes), where taking the range piece by
 * piece cost a split from the block's order, a climb of the tree and a byte store per page and
 * per tree node inside, for every aligned piece.
 */
static void claim_take(struct buddy *buddy, struct buddy_region *region, uintptr_t first, uintptr_t last,
                       uintptr_t head, unsigned from)
{
    unsigned top_met = claim_blocks(buddy, region, first, last, head, from);
    metadata_fill(&region->page_state[first], last - first, PAGE_ALLOCATED);
    tree_claimed(region, first, last, top_met);
    pool_pages_out(buddy, last - first);
}

/*
 * claim_check, then claim_take (shared lock held), from the block at head with state byte state
 * that holds first. Out of line, so that the claims of one block keep a small frame.
 */
static __attribute__((noinline)) int claim_general(struct buddy *buddy, struct buddy_region *region, uintptr_t first,
                                                   uintptr_t last, uintptr_t head, uint8_t state, bool *cached)
{
    unsigned from = state & PAGE_ORDER_MASK;
    int result = claim_check(region, state, head + order_pages(from), last, cached);
    if (result == 0)
        claim_take(buddy, region, first, last, head, from);
    return result;
}

/*
 * The free block holding page index, found from the top of its root's tree down (the first
 * entirely free node on the way), or false when no free block holds it. O(BUDDY_MAX_ORDER - its
 * order): one step for any page of a whole free largest block.
 */
static bool free_block_holding(const struct buddy_region *region, uintptr_t index, uintptr_t *head, unsigned *order)
{
    const uint8_t *tree = tree_of(region, index >> BUDDY_MAX_ORDER);
    uintptr_t leaf = tree_heap_node(index, 0);
    for (unsigned level = BUDDY_MAX_ORDER + 1; level-- > 0;) {
        uintptr_t value = tree[leaf >> level];
        if (value == level + 1) {
            *head = index & ~(order_pages(level) - 1);
            *order = level;
            return true;
        }
        if (value == 0)
            return false;
    }
    return false;
}

/* claim_locked's result when a page of the range is in a per-hart cache: busy, but free once the caches are drained. */
#define CLAIM_BUSY_CACHED 1

/*
 * The claim of [first, last) under the shared lock: 0, -E_INVAL, -E_BUSY or CLAIM_BUSY_CACHED. A
 * claim that is one aligned block inside one free block (a single page always is) is taken as an
 * allocation takes its slot: a split down the free block and a climb (buddy_pool_take_pages),
 * after a look at the block holding first (its own state byte, or the tree from the top, which
 * finds only free blocks). Any other goes the general way (claim_general).
 */
static int claim_locked(struct buddy *buddy, struct buddy_region *region, uintptr_t first, uintptr_t last)
{
    uintptr_t head = first;
    uint8_t state = state_load(&region->page_state[first]);
    unsigned from = state & PAGE_ORDER_MASK;
    if (state == PAGE_TAIL) { /* inside a block, or not managed */
        if (free_block_holding(region, first, &head, &from))
            state = (uint8_t)(PAGE_FREE | from);
        else
            state = block_of(region, first, &head);
    }
    if ((state & PAGE_STATE_MASK) == PAGE_FREE && head + order_pages(from) >= last) {
        unsigned order = buddy_largest_order(first, last - first);
        if (order_pages(order) == last - first) {
            buddy_pool_take_pages(buddy, region, first, order, from);
            return 0;
        }
    }
    bool cached = false;
    int result = claim_general(buddy, region, first, last, head, state, &cached);
    return result == -E_BUSY && cached ? CLAIM_BUSY_CACHED : result;
}

/*
 * claim_locked with the shared lock taken and released; in checked builds the claimed pages must
 * still hold their poison (a difference is reported as a write after free).
 */
static int claim_range(struct buddy *buddy, struct buddy_region *region, uintptr_t first, uintptr_t last,
                       const void *caller)
{
    spin_lock(&buddy->lock);
    int result = claim_locked(buddy, region, first, last);
#if RVMEM_CHECKED
    uintptr_t damage = 0;
    if (result == 0)
        damage = buddy_poison_damage((void *)region_page_address(region, first), (last - first) << PAGE_SHIFT);
    spin_unlock(&buddy->lock);
    if (damage)
        buddy_report(MISUSE_WRITE_AFTER_FREE, damage, caller);
#else
    (void)caller;
    spin_unlock(&buddy->lock);
#endif
    return result;
}

/* A claim that met pages in per-hart caches: they are free, so the caches give them back and it looks again. */
static __attribute__((noinline)) int claim_after_drain(struct buddy *buddy, struct buddy_region *region,
                                                       uintptr_t first, uintptr_t last, const void *caller)
{
    stack_check("buddy claim after a drain");
    buddy_drain_all_caches(buddy);
    int result = claim_range(buddy, region, first, last, caller);
    return result == CLAIM_BUSY_CACHED ? -E_BUSY : result;
}

/*
 * No stack_check here (the drain's slow path has one): like the allocator's fast paths, a claim's
 * depth is fixed (no recursion, small frames), and its caller, the program break, checks.
 */
int buddy_claim(struct buddy *buddy, uintptr_t start, uintptr_t end)
{
    uintptr_t first, last;
    if (start == end && !(start & PAGE_OFFSET_MASK))
        return 0;
    struct buddy_region *region = range_region(buddy, start, end, &first, &last);
    if (!region)
        return -E_INVAL;
    int result = claim_range(buddy, region, first, last, __builtin_return_address(0));
    if (result == CLAIM_BUSY_CACHED)
        return claim_after_drain(buddy, region, first, last, __builtin_return_address(0));
    return result;
}

/*
 * What releasing [first, last) would be: BUDDY_FREE_OK when every page is an allocated order-0
 * page, else the kind of misuse of the first page that is not, with that page in *bad.
 */
static enum misuse_kind release_check(const struct buddy_region *region, uintptr_t first, uintptr_t last,
                                      uintptr_t *bad)
{
    for (uintptr_t index = first; index < last; index++) {
        index += metadata_find_other(&region->page_state[index], last - index, PAGE_ALLOCATED);
        if (index == last)
            break;
        enum misuse_kind kind = buddy_classify_free(region, index, 0, true);
        if (kind != BUDDY_FREE_OK) {
            *bad = index;
            return kind;
        }
    }
    return BUDDY_FREE_OK;
}

/* No stack_check, as for buddy_claim: a fixed depth. */
int buddy_release(struct buddy *buddy, uintptr_t start, uintptr_t end)
{
    uintptr_t first, last;
    if (start == end && !(start & PAGE_OFFSET_MASK))
        return 0;
    struct buddy_region *region = range_region(buddy, start, end, &first, &last);
    if (!region)
        return -E_INVAL;
    uintptr_t bad = first;
    spin_lock(&buddy->lock);
    enum misuse_kind kind = release_check(region, first, last, &bad);
    if (kind == BUDDY_FREE_OK) {
        /* Every page stops being a block; buddy_pool_put marks the first page of each piece. */
        metadata_fill(&region->page_state[first], last - first, PAGE_TAIL);
#if RVMEM_CHECKED
        buddy_poison((void *)region_page_address(region, first), (last - first) << PAGE_SHIFT);
#endif
        for (uintptr_t index = first; index < last;) {
            unsigned order = buddy_largest_order(index, last - index);
            buddy_pool_put(buddy, region, index, order);
            index += order_pages(order);
        }
    }
    spin_unlock(&buddy->lock);
    if (kind != BUDDY_FREE_OK) {
        buddy_report(kind, region_page_address(region, bad), __builtin_return_address(0));
        return -E_INVAL;
    }
    return 0;
}
