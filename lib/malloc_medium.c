/*
 * lib/malloc_medium.c - the per-hart cache of medium blocks (1 KiB..16 KiB) in front of TLSF.
 * Builds: kernel, host
 *
 * A medium request of up to 16 KiB is rounded up to its bucket's size (16 buckets per power of
 * two, so at most 1/16 more) and served from the calling hart's list for the bucket when it has
 * a block: no lock, no TLSF search. A freed medium block whose usable size fits a bucket goes on
 * that bucket's list (the largest bucket it can serve) while the hart holds fewer than
 * MEDIUM_CACHE_BUCKET_BLOCKS there and MEDIUM_CACHE_LIMIT_BYTES in all; otherwise back to TLSF.
 * Cached blocks stay allocated in TLSF (they do not coalesce) until a flush: at thread exit,
 * rvmem_malloc_trim, rvmem_malloc_flush_cache and before failing for lack of memory.
 *
 * A cached block carries a marker (its address XOR a constant) in its second word, so that a
 * double free of a cached block is reported in unchecked builds too.
 */
#include "kernel/misuse.h"
#include "kernel/printf.h"
#include "lib/malloc_internal.h"

#define CACHED_MARKER ((uintptr_t)0x6d6564636163686bull) /* "medcachk" */

/*
 * Where the cache's address sits in a marker: shifted 16 bits up on 64-bit targets (their
 * addresses use at most 48 bits, so nothing is lost), unshifted on 32-bit ones, where a shift
 * would drop the address's top 16 bits and medium_cache_holds could not name the cache back.
 */
#if UINTPTR_MAX == 0xffffffffu
#define MARKER_CACHE_SHIFT 0
#else
#define MARKER_CACHE_SHIFT 16
#endif

/* The bucket that serves a request of bytes (MEDIUM_CACHE_MIN_BYTES - 15 .. MEDIUM_CACHE_MAX_BYTES). */
static unsigned bucket_of_request_computed(size_t bytes)
{
    unsigned log2 = malloc_highest_bit(bytes - 1); /* bytes in (2^log2, 2^(log2 + 1)] */
    size_t units = (bytes - 1) >> (log2 - 4);      /* 16..31 */
    return (log2 - 9) * 16 + (unsigned)(units - 16);
}

/* Bytes a bucket's blocks hold at least (the size its requests are rounded up to). */
static inline size_t bucket_bytes(unsigned bucket)
{
    unsigned log2 = 9 + bucket / 16;
    return (size_t)(16 + bucket % 16 + 1) << (log2 - 4);
}

/*
 * The same mappings as tables in 64-byte steps (every bucket above 1 KiB is a multiple of 64
 * bytes wide), filled by medium_cache_init: index (bytes + 63) / 64 for a request (the bucket
 * serving it), usable / 64 for a block (the largest bucket it can serve).
 */
#define STEP_SHIFT 6
#define STEPS ((MEDIUM_CACHE_MAX_BYTES >> STEP_SHIFT) + 1)
static uint8_t request_bucket[STEPS];
static uint8_t block_bucket[STEPS];

void medium_cache_init(void)
{
    for (size_t step = MEDIUM_CACHE_MIN_BYTES >> STEP_SHIFT; step < STEPS; step++) {
        size_t bytes = step << STEP_SHIFT;
        request_bucket[step] = (uint8_t)bucket_of_request_computed(bytes);
        /* The largest bucket whose size is at most bytes. */
        unsigned bucket = bucket_of_request_computed(bytes);
        if (bucket_bytes(bucket) > bytes)
            bucket--;
        block_bucket[step] = (uint8_t)bucket;
    }
}

static inline unsigned bucket_of_request(size_t bytes)
{
    return request_bucket[(bytes + (1u << STEP_SHIFT) - 1) >> STEP_SHIFT];
}

/* The largest bucket a block of usable bytes can serve, or -1 when it is outside the cached range. */
static inline int bucket_of_block(size_t usable)
{
    if (usable < MEDIUM_CACHE_MIN_BYTES || usable > MEDIUM_CACHE_MAX_BYTES)
        return -1;
    return block_bucket[usable >> STEP_SHIFT];
}

void *medium_alloc(size_t alignment, size_t size)
{
    void *block = tlsf_alloc_aligned(alignment, size);
    if (block) {
        __atomic_fetch_add(&malloc_state.medium_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
        malloc_note_peak();
    }
    return block;
}

void medium_free(void *block)
{
    __atomic_fetch_sub(&malloc_state.medium_bytes_out, tlsf_usable_size(block), __ATOMIC_RELAXED);
    tlsf_free(block);
}

void *medium_cached_alloc(size_t size)
{
    struct malloc_cache *cache = malloc_cache_self();
    malloc_cache_open(cache);
    if (size < MEDIUM_CACHE_MIN_BYTES - 15 || size > MEDIUM_CACHE_MAX_BYTES)
        return medium_alloc(MALLOC_ALIGNMENT, size);
    unsigned bucket = bucket_of_request(size);
    struct malloc_medium_cache *medium = &cache->medium;
    void **block = medium->heads[bucket];
    if (!block)
        return medium_alloc(MALLOC_ALIGNMENT, bucket_bytes(bucket));
    medium->heads[bucket] = block[0];
    block[1] = NULL; /* no longer marked as cached */
    medium->counts[bucket]--;
    medium->bytes -= bucket_bytes(bucket);
    medium->blocks--;
    return block;
}

/* The marker of a block cached by cache: it names the block and the cache. */
static inline uintptr_t marker_of(const void *block, const struct malloc_cache *cache)
{
    return CACHED_MARKER ^ (uintptr_t)block ^ ((uintptr_t)cache << MARKER_CACHE_SHIFT);
}

bool medium_cache_holds(const void *block)
{
    /* Some hart's cache: the marker names one of them (the kernel's and host tests' caches, or this thread's). */
    uintptr_t cache_bits = (((const uintptr_t *)block)[1] ^ CACHED_MARKER ^ (uintptr_t)block) >> MARKER_CACHE_SHIFT;
#if defined(RVMEM_MALLOC_THREAD_CACHE)
    (void)cache_bits;
    return ((const uintptr_t *)block)[1] == marker_of(block, malloc_cache_self());
#else
    uintptr_t first = (uintptr_t)&malloc_state.caches[0];
    uintptr_t offset = cache_bits - first;
    return offset < sizeof malloc_state.caches && offset % sizeof(struct malloc_cache) == 0 &&
           ((const uintptr_t *)block)[1] == marker_of(block, (const struct malloc_cache *)cache_bits);
#endif
}

void medium_cache_release_next(void *block)
{
    struct malloc_cache *cache = malloc_cache_self();
    void **next = tlsf_next_payload(block);
    if (!tlsf_owns((uintptr_t)next) || next[1] != (void *)marker_of(next, cache))
        return;
    int bucket = bucket_of_block(tlsf_usable_size(next));
    if (bucket < 0)
        return;
    struct malloc_medium_cache *medium = &cache->medium;
    for (void **link = &medium->heads[bucket]; *link; link = (void **)*link) {
        if (*link == (void *)next) {
            *link = next[0];
            next[1] = NULL;
            medium->counts[bucket]--;
            medium->bytes -= bucket_bytes((unsigned)bucket);
            medium->blocks--;
            medium_free(next);
            return;
        }
    }
}

bool medium_cache_push(struct malloc_cache *cache, void *block)
{
    int bucket = bucket_of_block(tlsf_usable_size(block));
    if (bucket < 0)
        return false;
    struct malloc_medium_cache *medium = &cache->medium;
    size_t bytes = bucket_bytes((unsigned)bucket);
    if (medium->counts[bucket] >= MEDIUM_CACHE_BUCKET_BLOCKS || medium->bytes + bytes > MEDIUM_CACHE_LIMIT_BYTES)
        return false;
    void **link = block;
    link[0] = medium->heads[bucket];
    link[1] = (void *)marker_of(block, cache);
    medium->heads[bucket] = block;
    medium->counts[bucket]++;
    medium->bytes += bytes;
    medium->blocks++;
    return true;
}

void medium_cache_flush(struct malloc_cache *cache)
{
    struct malloc_medium_cache *medium = &cache->medium;
    for (unsigned bucket = 0; bucket < MEDIUM_CACHE_BUCKETS; bucket++) {
        while (medium->heads[bucket]) {
            void **block = medium->heads[bucket];
            medium->heads[bucket] = block[0];
            block[1] = NULL;
            medium_free(block);
        }
        medium->counts[bucket] = 0;
    }
    medium->bytes = 0;
    medium->blocks = 0;
}

#ifdef RVMEM_CHECKED
/* A cached block is poisoned from byte 32 on (the links and the checked header come first). */
static bool poison_intact(const void *block)
{
    const uint8_t *byte = (const uint8_t *)block + 32;
    const uint8_t *end = (const uint8_t *)block + tlsf_usable_size(block);
    for (; byte < end; byte++) {
        if (*byte != MALLOC_POISON_BYTE) {
            malloc_report_misuse(MISUSE_WRITE_AFTER_FREE, (uintptr_t)byte, __builtin_return_address(0));
            return false;
        }
    }
    return true;
}
#endif

int medium_cache_validate(const struct malloc_cache *cache)
{
    const struct malloc_medium_cache *medium = &cache->medium;
    size_t bytes = 0, blocks = 0;
    for (unsigned bucket = 0; bucket < MEDIUM_CACHE_BUCKETS; bucket++) {
        unsigned count = 0;
        for (void *const *block = medium->heads[bucket]; block; block = block[0]) {
            if (++count > MEDIUM_CACHE_BUCKET_BLOCKS || !tlsf_owns((uintptr_t)block) ||
                block[1] != (void *)marker_of(block, cache) ||
                bucket_of_block(tlsf_usable_size(block)) != (int)bucket) {
                kprintf("malloc validate: medium cache bucket %u holds a bad block %p\n", bucket, (void *)block);
                return -40;
            }
#ifdef RVMEM_CHECKED
            if (!poison_intact(block)) {
                kprintf("malloc validate: medium cache block %p: poison overwritten (write after free)\n",
                        (void *)block);
                return -43;
            }
#endif
            bytes += bucket_bytes(bucket);
        }
        if (count != medium->counts[bucket]) {
            kprintf("malloc validate: medium cache bucket %u holds %u blocks, counted %u\n", bucket, count,
                    medium->counts[bucket]);
            return -41;
        }
        blocks += count;
    }
    if (bytes != medium->bytes || blocks != medium->blocks || bytes > MEDIUM_CACHE_LIMIT_BYTES) {
        kprintf("malloc validate: medium cache holds %lu bytes in %lu blocks, counted %lu in %lu\n",
                (unsigned long)bytes, (unsigned long)blocks, (unsigned long)medium->bytes,
                (unsigned long)medium->blocks);
        return -42;
    }
    return 0;
}
