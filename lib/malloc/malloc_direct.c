/*
 * lib/malloc/malloc_direct.c - direct blocks: memory mapped by the binding beyond the heap, for a
 * request the heap cannot hold (its more-core function refused, after the reclaim).
 *
 * Only where the binding offers map_pages and unmap_pages (the host's LD_PRELOAD library: mmap and
 * munmap); the kernel offers none, and there nothing here runs. Each direct block is its own
 * mapping, page aligned, its size a whole number of pages; free gives it straight back to the
 * system. A registry of the live ones (an open-addressed hash table keyed by the block's start,
 * mapped on first use) tells free, realloc and malloc_usable_size a direct block from a foreign
 * pointer without reading the pointed-to memory: a pointer it does not hold is refused as any
 * other invalid free. Registry operations are O(1) expected (linear probing, at most three
 * quarters full, deletion by backward shift; the table starts at DIRECT_FIRST_SLOTS, about a
 * page, and doubles when three quarters full, rehashing every entry: O(1) amortized, and a
 * process with few direct blocks touches one page of it, not a table's worth scattered by the
 * hash); the registry holds at most DIRECT_MAX_BLOCKS blocks, after which direct allocation fails
 * like exhaustion. One lock of its own, never held with another allocator lock.
 *
 * Growing buffers (realloc, malloc_api.c): a large block that grows past MALLOC_REMAP_MIN_BYTES
 * and cannot grow in place is copied once into a direct block, where the binding's remap_pages
 * (mremap on the host) resizes it from then on, moving pages rather than bytes, as glibc does
 * with its mmapped chunks. A growth asks for twice the block's mapping at once (address space:
 * pages never touched take no memory), so a buffer grown step by step is remapped a logarithmic
 * number of times and grows inside its mapping in between (realloc finds it big enough).
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"

#define DIRECT_FIRST_SLOTS_SHIFT 8 /* 256 slots: a page on 64-bit hosts */
#define DIRECT_MAX_SLOTS_SHIFT 16
#define DIRECT_MAX_BLOCKS (((size_t)1 << DIRECT_MAX_SLOTS_SHIFT) / 4 * 3)

/* A registry slot: a live direct block (start 0: the slot is empty). */
struct direct_slot {
    uintptr_t start;
    uintptr_t bytes;
};

#define D (&malloc_state.direct)

/* The registry's slots now (0 before its first block). Direct lock held. */
static size_t slot_count(void)
{
    return D->slots ? (size_t)1 << D->slots_shift : 0;
}

/* The home slot of a block start in a table of 1 << shift slots: a multiplicative hash of its page number. */
static size_t home_slot_in(uintptr_t start, unsigned shift)
{
    const unsigned bits = 8 * sizeof(uintptr_t);
    uintptr_t golden = (uintptr_t)0x9e3779b97f4a7c15ull; /* (truncated to 32 bits on rv32) */
    return (size_t)(((start >> PAGE_SHIFT) * golden) >> (bits - shift));
}

static size_t home_slot(uintptr_t start)
{
    return home_slot_in(start, D->slots_shift);
}

/* The slot holding start, or slot_count() when none does. Direct lock held. */
static size_t find_slot(uintptr_t start)
{
    size_t slots = slot_count();
    if (!slots)
        return 0;
    for (size_t slot = home_slot(start);; slot = (slot + 1) & (slots - 1)) {
        if (D->slots[slot].start == start)
            return slot;
        if (D->slots[slot].start == 0)
            return slots;
    }
}

/* Empties slot, moving later entries of the same probe run back so every lookup still finds them. */
static void remove_slot(size_t slot)
{
    size_t next = slot, mask = slot_count() - 1;
    for (;;) {
        D->slots[slot].start = 0;
        for (;;) {
            next = (next + 1) & mask;
            if (D->slots[next].start == 0)
                return;
            size_t home = home_slot(D->slots[next].start);
            /* An entry whose home lies cyclically in (slot, next] stays where it is. */
            bool stays = slot <= next ? (slot < home && home <= next) : (slot < home || home <= next);
            if (!stays)
                break;
        }
        D->slots[slot] = D->slots[next];
        slot = next;
    }
}

/* Puts an entry into its probe run of a table of 1 << shift slots (with room for it). */
static void place(struct direct_slot *slots, unsigned shift, struct direct_slot entry)
{
    size_t mask = ((size_t)1 << shift) - 1;
    size_t slot = home_slot_in(entry.start, shift);
    while (slots[slot].start != 0)
        slot = (slot + 1) & mask;
    slots[slot] = entry;
}

/*
 * Moves the registry to a table of 1 << shift slots (the first one when it has none), every entry
 * rehashed into it; false, the registry unchanged, when the binding maps no pages for it.
 * O(slots). Direct lock held.
 */
static bool grow_table(unsigned shift)
{
    struct direct_slot *bigger = malloc_state.map_pages(((size_t)1 << shift) * sizeof(struct direct_slot));
    if (!bigger)
        return false;
    size_t old_slots = slot_count();
    for (size_t slot = 0; slot < old_slots; slot++)
        if (D->slots[slot].start)
            place(bigger, shift, D->slots[slot]);
    if (D->slots)
        malloc_state.unmap_pages(D->slots, old_slots * sizeof(struct direct_slot));
    D->slots = bigger;
    D->slots_shift = shift;
    return true;
}

/*
 * Records a new direct block; false when the registry is full (DIRECT_MAX_BLOCKS) or cannot be
 * mapped. A table the block would make more than three quarters full doubles first; the block is
 * refused when it cannot. Direct lock held.
 */
static bool insert_block(uintptr_t start, size_t bytes)
{
    if (!D->slots && !grow_table(DIRECT_FIRST_SLOTS_SHIFT))
        return false;
    if (D->count + 1 > slot_count() / 4 * 3 && D->slots_shift < DIRECT_MAX_SLOTS_SHIFT)
        grow_table(D->slots_shift + 1);
    if (D->count + 1 > slot_count() / 4 * 3 || D->count >= DIRECT_MAX_BLOCKS)
        return false;
    place(D->slots, D->slots_shift, (struct direct_slot){start, bytes});
    D->count++;
    D->bytes += bytes;
    return true;
}

void *direct_alloc(size_t alignment, size_t size)
{
    if (!malloc_state.map_pages)
        return NULL;
    size_t bytes, mapped_bytes;
    size_t extra = alignment > PAGE_SIZE ? alignment - PAGE_SIZE : 0;
    if (__builtin_add_overflow(size ? size : 1, PAGE_SIZE - 1, &bytes))
        return NULL;
    bytes &= ~(size_t)(PAGE_SIZE - 1);
    if (__builtin_add_overflow(bytes, extra, &mapped_bytes))
        return NULL;
    uint8_t *mapped = malloc_state.map_pages(mapped_bytes);
    if (!mapped)
        return NULL;
    /* Above a page of alignment: map more, then give back the pages before and after the block. */
    uintptr_t start = ((uintptr_t)mapped + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (alignment <= PAGE_SIZE)
        start = (uintptr_t)mapped;
    if (start > (uintptr_t)mapped)
        malloc_state.unmap_pages(mapped, start - (uintptr_t)mapped);
    uintptr_t tail = (uintptr_t)mapped + mapped_bytes - (start + bytes);
    if (tail)
        malloc_state.unmap_pages((void *)(start + bytes), tail);
    spin_lock(&D->lock);
    bool recorded = insert_block(start, bytes);
    spin_unlock(&D->lock);
    if (!recorded) {
        malloc_state.unmap_pages((void *)start, bytes);
        return NULL;
    }
#ifdef RVMEM_CHECKED
    tlsf_poison((void *)start, bytes); /* as free heap memory reads, so the checked build's first look passes */
#endif
    __atomic_fetch_add(&malloc_state.large_bytes_out, bytes, __ATOMIC_RELAXED);
    malloc_note_peak();
    return (void *)start;
}

size_t direct_bytes_of(uintptr_t block)
{
    if (!__atomic_load_n(&D->count, __ATOMIC_RELAXED) || !block || (block & (PAGE_SIZE - 1)))
        return 0;
    spin_lock(&D->lock);
    size_t slot = find_slot(block);
    size_t bytes = slot < slot_count() ? D->slots[slot].bytes : 0;
    spin_unlock(&D->lock);
    return bytes;
}

bool direct_free(void *block)
{
    uintptr_t start = (uintptr_t)block;
    if (!__atomic_load_n(&D->count, __ATOMIC_RELAXED) || (start & (PAGE_SIZE - 1)))
        return false;
    spin_lock(&D->lock);
    size_t slot = find_slot(start);
    size_t bytes = 0;
    if (slot < slot_count()) {
        bytes = D->slots[slot].bytes;
        remove_slot(slot);
        D->count--;
        D->bytes -= bytes;
    }
    spin_unlock(&D->lock);
    if (!bytes)
        return false;
    malloc_state.unmap_pages(block, bytes);
    __atomic_fetch_sub(&malloc_state.large_bytes_out, bytes, __ATOMIC_RELAXED);
    return true;
}

void *direct_resize(void *block, size_t size)
{
    uintptr_t start = (uintptr_t)block;
    size_t bytes;
    if (!malloc_state.remap_pages || __builtin_add_overflow(size, PAGE_SIZE - 1, &bytes))
        return NULL;
    bytes &= ~(size_t)(PAGE_SIZE - 1);
    /* Out of the registry while the system moves it (a lookup meanwhile would be a race in the
     * program: a free or realloc of the block during its realloc), back in under its new start. */
    spin_lock(&D->lock);
    size_t slot = (start & (PAGE_SIZE - 1)) ? slot_count() : find_slot(start);
    size_t old_bytes = slot < slot_count() ? D->slots[slot].bytes : 0;
    if (old_bytes) {
        remove_slot(slot);
        D->count--;
        D->bytes -= old_bytes;
    }
    spin_unlock(&D->lock);
    if (!old_bytes)
        return NULL;
    /* Growing: twice the mapping first (see the head of this file), the exact size when refused. */
    void *moved = NULL;
    size_t doubled;
    if (bytes > old_bytes && !__builtin_add_overflow(old_bytes, old_bytes, &doubled) && doubled > bytes) {
        moved = malloc_state.remap_pages(block, old_bytes, doubled);
        if (moved)
            bytes = doubled;
    }
    if (!moved && bytes != old_bytes)
        moved = malloc_state.remap_pages(block, old_bytes, bytes);
    bool remapped = moved != NULL;
    if (bytes == old_bytes)
        moved = block;
    uintptr_t now = moved ? (uintptr_t)moved : start;
    size_t now_bytes = moved ? bytes : old_bytes;
    spin_lock(&D->lock);
    bool recorded = insert_block(now, now_bytes); /* the slot it left is free: this cannot fail */
    D->resizes += remapped;
    spin_unlock(&D->lock);
    if (!recorded)
        panic("malloc: direct block %p lost from its registry", (void *)now);
    if (!moved)
        return NULL;
    if (bytes > old_bytes)
        __atomic_fetch_add(&malloc_state.large_bytes_out, bytes - old_bytes, __ATOMIC_RELAXED);
    else
        __atomic_fetch_sub(&malloc_state.large_bytes_out, old_bytes - bytes, __ATOMIC_RELAXED);
    malloc_note_peak();
    return moved;
}

uintptr_t direct_start_containing(uintptr_t address)
{
    if (!__atomic_load_n(&D->count, __ATOMIC_RELAXED))
        return 0;
    uintptr_t found = 0;
    spin_lock(&D->lock);
    for (size_t slot = 0; slot < slot_count() && !found; slot++) {
        const struct direct_slot *entry = &D->slots[slot];
        if (entry->start && address - entry->start < entry->bytes)
            found = entry->start;
    }
    spin_unlock(&D->lock);
    return found;
}

void direct_stats(size_t *blocks, size_t *bytes, size_t *resizes)
{
    spin_lock(&D->lock);
    *blocks = D->count;
    *bytes = D->bytes;
    *resizes = D->resizes;
    spin_unlock(&D->lock);
}
