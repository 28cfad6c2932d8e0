/*
 * lib/malloc/malloc.h - the malloc family on top of a program break (sbrk), and its statistics.
 *
 * Entry points are prefixed (rvmem_malloc, rvmem_free, ...) so the host test binary and the
 * LD_PRELOAD library do not clash with libc. In the kernel the standard names (malloc, free,
 * calloc, realloc, aligned_alloc, posix_memalign, memalign, malloc_usable_size) are aliases of
 * these (kernel/top/malloc_binding.c); the LD_PRELOAD library (lib/host/) exports the standard names too.
 *
 * Memory: the allocator takes memory only through one "more core" function with sbrk semantics
 * given by its binding (kernel: sbrk(); host tests: an arena the test owns; LD_PRELOAD: an
 * mmap-reserved region with its own break), and gives free memory at the top back through it.
 *
 * Design (docs/MALLOC.md):
 *   class blocks (1..65536 bytes): 112 size classes (16-byte steps up to 1008, then 1024 and 8
 *          per power of two up to 64 KiB), carved from runs of pages dedicated to one class;
 *          per-hart caches (lock-free fast path) exchange whole magazines (lists of a fixed
 *          length) with a locked central state per class in O(1). A byte per page tells free()
 *          a block's class.
 *   large (> 64 KiB, alignments above 32, and class sizes whose new run does not fit): TLSF (two-level segregated fit,
 * O(1)) with boundary tags and immediate coalescing, under one lock; the free top of the heap goes back through sbrk.
 *   direct (host only): a request the heap cannot hold (more-core refused) is mapped by the binding
 *          as its own block (map_pages), registered so free recognises it, unmapped when freed; so is
 *          a block realloc grows past 128 KiB, which from then on grows by remapping (remap_pages).
 *
 * Contract, for every function here:
 *   - Alignment: every block is aligned to at least MALLOC_ALIGNMENT (16) bytes.
 *   - Thread-safety: safe on all harts (threads) at once; a block may be freed by any hart.
 *   - Failure: NULL (or an error code), with nothing leaked; once memory is freed the next request
 *     can succeed. Sizes that overflow (calloc's multiplication included) fail the same way.
 *   - Cost: O(1) - no unbounded list scan anywhere. Class blocks: a few dozen instructions on the
 *     fast path; large: bounded by the bitmap search and one split or merge.
 *   - Misuse (double free, invalid free, overflow, write after free) is detected in checked builds
 *     (RVMEM_CHECKED) and reported through kernel/base/misuse.h; the operation is then refused.
 */
#ifndef RVMEM_LIB_MALLOC_MALLOC_H
#define RVMEM_LIB_MALLOC_MALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Every block is aligned to this many bytes. */
#define MALLOC_ALIGNMENT 16

/* Sizes up to this have size classes 16 bytes apart (class c: (c + 1) * 16 bytes, 16..1008). */
#define MALLOC_SMALL_MAX_BYTES 1008

/*
 * Sizes up to this are served by size classes and per-hart caches: above 1008 bytes the classes
 * are 1024 and then 8 per power of two (1152, 1280, ... 2048, 2304, ... 65536). Larger requests
 * (and alignments above 32) are served by TLSF.
 */
#define MALLOC_CLASS_MAX_BYTES 65536

/* Number of size classes: 63 of 16-byte steps, 1024, and 8 per power of two from 1152 to 65536. */
#define MALLOC_SMALL_CLASSES (MALLOC_SMALL_MAX_BYTES / MALLOC_ALIGNMENT + 1 + 8 * 6)

/*
 * A block of at least size bytes, aligned to 16, or NULL when memory is exhausted.
 * malloc(0) returns a unique pointer that may be passed to free (a 16-byte block).
 * The caller owns the block until it passes it to rvmem_free or rvmem_realloc.
 */
void *rvmem_malloc(size_t size);

/* Gives back a block from this allocator. free(NULL) does nothing. Misuse is reported (checked builds). */
void rvmem_free(void *block);

/* count * size bytes, all zero, or NULL when the product overflows or memory is exhausted. */
void *rvmem_calloc(size_t count, size_t size);

/*
 * Resizes block to size bytes, keeping its contents up to the smaller size: in place when it can
 * (the block is big enough, or a large block can grow into a free neighbour), else by moving.
 * realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL. On failure returns NULL
 * and block is untouched (still owned by the caller).
 */
void *rvmem_realloc(void *block, size_t size);

/*
 * A block of size bytes aligned to alignment, which must be a power of two (any size, C11 and
 * glibc relax the multiple-of-alignment rule). NULL on a bad alignment or when memory is exhausted.
 */
void *rvmem_aligned_alloc(size_t alignment, size_t size);

/*
 * POSIX: stores a block aligned to alignment (a power of two and a multiple of sizeof(void *))
 * in *out and returns 0; returns E_INVAL (22) or E_NOMEM (12) otherwise, leaving *out unchanged.
 */
int rvmem_posix_memalign(void **out, size_t alignment, size_t size);

/* Old-style memalign: as rvmem_aligned_alloc. */
void *rvmem_memalign(size_t alignment, size_t size);

/* Bytes usable in block (>= what was asked for); 0 for NULL. */
size_t rvmem_malloc_usable_size(const void *block);

/*
 * What the allocator holds, for the monitor, the benchmarks and the tests. Exact when no other
 * hart is allocating at the same time; a consistent-enough snapshot otherwise.
 */
struct malloc_stats {
    size_t bytes_in_use;         /* bytes in blocks the program holds (block sizes, not requests) */
    size_t peak_bytes_in_use;    /* highest bytes_in_use seen at a refill, drain or medium call:
                                    small blocks count from when a hart's cache takes them, so this
                                    may exceed the true peak by at most the caches' contents */
    size_t bytes_cached;         /* free small blocks sitting in per-hart caches */
    size_t bytes_free_small;     /* free small blocks in the central lists and not yet carved runs */
    size_t bytes_free_medium;    /* free TLSF chunks (headers included) */
    size_t heap_start;           /* first byte the allocator took from its more-core function */
    size_t heap_span_bytes;      /* the allocator's break minus heap_start */
    size_t peak_heap_span_bytes; /* highest heap_span_bytes so far */
    size_t footprint_permille;   /* 1000 * heap_span_bytes / peak_bytes_in_use (0 when nothing was used) */
    size_t small_runs;           /* runs of pages currently dedicated to a size class */
    size_t medium_blocks_in_use; /* TLSF blocks the program holds */
    size_t more_core_calls;      /* calls that grew or shrank the break */
    size_t failed_requests;      /* requests that returned NULL for lack of memory */
    size_t direct_blocks;        /* blocks mapped beyond the heap by the binding (host only; in bytes_in_use) */
    size_t direct_bytes;         /* their bytes (whole pages mapped, a growing block's room to grow included) */
    size_t direct_resizes;       /* reallocs that resized a direct block by remapping, not copying (ever) */
    size_t idle_class_releases;  /* classes found idle (every block free) whose runs went back to TLSF
                                    before the heap grew (ever; docs/MALLOC.md) */
    size_t class_scans;          /* mostly free classes scanned for runs whose blocks are all free (ever) */
    size_t scan_runs_released;   /* runs those scans found all free and gave back (ever) */
    size_t short_runs;           /* short runs classes took inside the heap instead of growing it (ever) */
    struct malloc_class_stats {
        uint32_t block_bytes;  /* size of a block of this class */
        uint32_t in_use;       /* blocks the program holds */
        uint32_t cached;       /* free blocks in per-hart caches */
        uint32_t free_central; /* free blocks in the central list and not yet carved */
        uint32_t runs;         /* runs dedicated to this class */
    } classes[MALLOC_SMALL_CLASSES];
};

/* Fills *out. Takes the allocator's locks one at a time; safe on any hart. */
void rvmem_malloc_stats(struct malloc_stats *out);

/*
 * How many times, ever, a size class took a new run of pages or gave one back: the page-level
 * refills of the class blocks. One relaxed load, no lock (for benchmarks that must tell a call
 * that refilled from one that did not, without disturbing the heap).
 */
size_t rvmem_malloc_run_changes(void);

/*
 * Walks the whole heap and cross-checks it: every TLSF chunk's boundary tags, the free lists
 * against the bitmaps, the page map against the runs, the central lists and the calling hart's
 * cache against their counters, and (checked builds) the state word, canaries and poison of every
 * block. Returns 0, or a negative code after printing what is inconsistent. O(heap). Takes the
 * locks; other harts' caches are checked only for counts (they may be in use).
 */
int rvmem_malloc_validate(void);

/*
 * Gives the calling hart's cached small blocks back to the central lists, then releases runs
 * whose blocks are all free and the free top of the heap through the more-core function, and,
 * where the binding has release_pages (the host's madvise, the kernel's buddy allocator), the
 * whole pages inside every free chunk.
 * Call at thread exit (LD_PRELOAD does) and before checking that everything came back.
 * Returns the bytes given back through more-core. O(free small blocks) - not for fast paths.
 */
size_t rvmem_malloc_trim(void);

/*
 * Reserves the heap up front: grows it now (one more-core call, whole pages) so that its span,
 * from the heap's start to the break, is at least bytes, and makes that span a floor: no trim,
 * automatic or rvmem_malloc_trim, takes the break below heap start + bytes. While the blocks and
 * runs a program holds fit in the reserve, no malloc, free or realloc moves the break; when they
 * need more, the heap grows past it as it does without a reserve (and trims back down to the
 * floor). While a reserve is set, the runs the size classes take are laid out a few blocks per
 * refill instead of all at once, so no call pays for a whole run (docs/MALLOC.md, "Bounds (per
 * call)"). A reserve counts address
 * span, not bytes free: blocks in use are inside it. Where the binding has release_pages (the
 * host, the kernel), rvmem_malloc_trim still gives back the whole pages inside free chunks (the span, and
 * so the floor, stays); direct blocks lie outside the heap and are not part of it.
 * bytes = 0 removes the floor (the next trim may then give the top back). Returns 0, or
 * -E_NOMEM with nothing changed when more-core refuses or the page map cannot cover that span,
 * -E_INVAL before rvmem_malloc_init. Thread-safe (the TLSF lock); O(1) plus the more-core call.
 */
int rvmem_malloc_reserve(size_t bytes);

/*
 * rvmem_malloc_trim on every hart: each hart gives its own cached blocks back to the central
 * lists (run_on_all_harts, kernel/base/platform.h: in the kernel an IPI asks each of the others,
 * since no hart can empty another's cache safely while it may be in use; on the host, where caches
 * belong to threads, it runs on the caller alone), then runs whose blocks are all free are
 * released and the free top of the heap goes back through more-core. Returns the bytes given
 * back. In the kernel: from the boot hart only, never from inside run_on_all_harts (not
 * reentrant), with the other harts idle (waiting for work), as in the monitor and between tests.
 * O(harts x cache size + free small blocks).
 */
size_t rvmem_malloc_trim_all_harts(void);

/* Gives the calling hart's cached small blocks back to the central lists (O(cache size)). */
void rvmem_malloc_flush_cache(void);

/*
 * The calling hart's (thread's) cache, as a handle for rvmem_malloc_flush_cache_of. Never NULL; a
 * thread's handle is valid until the thread ends.
 */
void *rvmem_malloc_own_cache(void);

/*
 * Gives the cached small blocks of the cache handle names (rvmem_malloc_own_cache of some thread)
 * back to the central lists, as that thread's rvmem_malloc_flush_cache would. The caller must
 * make sure the owner calls nothing of malloc's until this returns and that the ordering is
 * acquire before and release after (the host binding's parked threads: lib/host/park.c). A
 * closed or lean cache holds nothing. O(cache size).
 */
void rvmem_malloc_flush_cache_of(void *cache);

/*
 * Flushes the calling hart's (thread's) cache and closes it: from then on every malloc of a class
 * block on this thread takes one block straight from its class's central state, and every free
 * puts the block straight back there (a lock each), so the cache never holds a block again. For
 * the end of a thread: the LD_PRELOAD binding calls it from its thread-exit hook, so blocks that
 * later destructors free (or take and free) are not lost with the thread. Idempotent; a closed
 * cache stays closed for the rest of the thread. When the demand for class blocks has collapsed
 * (what is out has fallen to an eighth of its most since the last such release, and the classes
 * hold at least 1 MiB free), it also releases runs whose blocks are all free and trims the heap, as
 * rvmem_malloc_trim (docs/MALLOC.md, "Where freed memory goes when a thread ends"). O(cache size),
 * or O(free small blocks) when it releases.
 */
void rvmem_malloc_close_cache(void);

/*
 * The allocator's modes (docs/MALLOC.md, "Lean mode"). MALLOC_MODE_FAST (the default): size
 * classes served through per-hart caches, a few dozen instructions a call, class blocks rounded
 * up to their class and runs kept by their class. MALLOC_MODE_LEAN: every new block comes from
 * TLSF (boundary tags, good fit, immediate coalescing) at its own size, so freed memory serves
 * any size at once and the heap stays close to the live bytes, for more instructions a call (a
 * lock each).
 */
enum malloc_mode { MALLOC_MODE_FAST = 0, MALLOC_MODE_LEAN = 1 };

/*
 * Sets the mode of the calling hart's (thread's) cache and of every cache first used from now on
 * (thread caches), and returns the previous mode, or -E_INVAL (nothing changed) for an unknown
 * mode. To lean: the calling hart's cached blocks go back to their classes and its cache is
 * closed (as rvmem_malloc_close_cache), so its mallocs go to TLSF and its frees of TLSF blocks
 * too, while class blocks allocated before stay valid and go back to their class when freed.
 * To fast: the calling hart's cache opens again (a cache closed at a thread's end stays closed).
 * The fast paths are the same instructions in both modes. Other harts' caches keep their mode
 * until they call this: in the kernel use rvmem_malloc_set_mode_all_harts. O(cache size).
 */
int rvmem_malloc_set_mode(enum malloc_mode mode);

/* The mode caches take when first used (the last one set; MALLOC_MODE_FAST until then). */
enum malloc_mode rvmem_malloc_mode(void);

/*
 * rvmem_malloc_set_mode on every hart (run_on_all_harts, as rvmem_malloc_trim_all_harts: each
 * hart switches its own cache), then, when the mode becomes lean, the runs whose blocks are all
 * free go back to TLSF and the free top of the heap back through more-core (rvmem_malloc_trim),
 * so lean mode starts from the smallest heap. Returns the previous mode or -E_INVAL. In the
 * kernel: from the boot hart only, never from inside run_on_all_harts, with the other harts idle
 * (waiting for work), as in the monitor; blocks may be live on any hart, in either mode. On the
 * host (thread caches) it switches the calling thread's cache and the mode of threads' caches
 * first used afterwards: choose the mode at start-up there (RVMEM_MALLOC_MODE, lib/host/).
 * O(harts x cache size + free class blocks).
 */
int rvmem_malloc_set_mode_all_harts(enum malloc_mode mode);

/*
 * The binding: where memory comes from. more_core has sbrk semantics: moves the break by
 * increment bytes and returns the previous break, or (void *)-1 when it cannot (nothing changed).
 * page_map/page_map_bytes: zeroed storage for the page map, two bytes per 4 KiB page of the
 * largest heap the binding will ever allow (heap start to heap start + page_map_bytes / 2 * 4096);
 * small runs beyond that are refused like exhaustion.
 */
struct malloc_binding {
    void *(*more_core)(intptr_t increment);
    uint8_t *page_map;
    size_t page_map_bytes;
    /* Optional (NULL: none): called on a thread the first time its thread-local cache is used
       (LD_PRELOAD: registers the thread-exit flush). Only with thread caches. */
    void (*thread_cache_opened)(void);
    /* Optional, both or neither (NULL: none; the kernel offers none): memory beyond the heap, for a
       request the heap cannot hold once more_core refuses (LD_PRELOAD: mmap and munmap, so the
       heap grows as long as the system gives memory, beyond the reserved region). map_pages
       returns bytes (a whole number of 4 KiB pages) of zeroed, page-aligned, readable and
       writable memory, or NULL; unmap_pages gives back whole pages of what it returned. Called
       with no allocator lock held, except the one-time mapping of the registry of such blocks. */
    void *(*map_pages)(size_t bytes);
    void (*unmap_pages)(void *start, size_t bytes);
    /* Optional, with the two above (NULL: none): resizes a mapping map_pages made from old_bytes
       to new_bytes (whole pages), moving it if need be, the bytes it held kept and new ones zero;
       returns its start, or NULL with the mapping unchanged (LD_PRELOAD: mremap). realloc then
       grows a large block past 128 KiB by remapping instead of copying (docs/MALLOC.md). */
    void *(*remap_pages)(void *start, size_t old_bytes, size_t new_bytes);
    /* Optional (NULL: none): whole pages inside the heap that hold nothing (free memory) and whose
       contents may be dropped. rvmem_malloc_trim gives the free chunks' inner pages back this way,
       not only the top of the heap. Without reclaim_pages they must be usable again as they are
       (LD_PRELOAD: madvise MADV_DONTNEED, they read as zero and hold no memory until touched); with
       it, the pages may go to another owner (the kernel: the buddy allocator, through the break,
       brk_release_inner) and malloc reclaims them before it hands any of them out. */
    void (*release_pages)(void *start, size_t bytes);
    /* Optional, with release_pages (NULL: released pages need nothing): takes back the pages of
       [start, start + bytes) that release_pages gave away, all or none (their contents need not be
       kept or cleared). Returns 0, or nonzero when some are in another owner's hands (the range is
       then left as it was): malloc sets that free chunk aside as a hole, serves the request from
       elsewhere or by growing, and tries again when the heap grows or is trimmed. */
    int (*reclaim_pages)(void *start, size_t bytes);
};

/*
 * Fork safety (LD_PRELOAD's pthread_atfork handlers): takes every allocator lock, in the
 * allocator's lock order, so no other thread is inside the allocator; and releases them all
 * (in the parent after fork, and in the child, where the other threads are gone).
 */
void rvmem_malloc_lock_all(void);
void rvmem_malloc_unlock_all(void);

/*
 * Sets the allocator up on binding (copied). Call once, before any other function here, on one
 * hart. Returns 0, or -E_INVAL when the binding is incomplete. The heap starts at the break
 * more_core(0) reports, rounded up to a page.
 */
int rvmem_malloc_init(const struct malloc_binding *binding);

#endif
