/*
 * lib/host/binding.c - the host binding of malloc: a private break over a reserved mmap region,
 * per-thread caches flushed at thread exit, and fork safety.
 *
 * The region (RVMEM_HOST_HEAP_BYTES, 64 GiB of address space, committed only as it is touched)
 * and the page map (two bytes per page of it) are reserved on first use; under an address-space
 * limit (RLIMIT_AS, `ulimit -v`) the region takes at most a quarter of it, and where the
 * reservation fails anyway (valgrind refuses 64 GiB) it is halved until it fits, down to
 * RVMEM_HOST_HEAP_MIN_BYTES. The region is not a cap: a request it cannot hold is mapped on its
 * own (map_pages, the core's direct blocks) and unmapped when freed, so the heap grows as long
 * as the system gives memory; a direct block that realloc grows past HUGE_ADVICE_MIN_BYTES is
 * advised for transparent huge pages. more_core moves the region's own break; memory given back
 * is returned to the kernel with MADV_DONTNEED, which also makes it read as zero again (sbrk
 * semantics). A thread's first use of its cache registers
 * a pthread key whose destructor gives the cache back and closes it (rvmem_malloc_close_cache:
 * blocks that destructors running after it free, or take and free, go straight to their class's
 * central state instead of a cache nobody flushes again); pthread_atfork
 * handlers take every allocator lock around fork(). Set RVMEM_MALLOC_STATS=1 to have the
 * statistics printed to stderr at exit, and RVMEM_MALLOC_MODE=lean for lean mode (every block from
 * TLSF: the least memory, more instructions a call; docs/MALLOC.md), chosen once at start-up.
 * In 32-bit processes the region is 1 GiB, halved down to 128 MiB.
 */
#define _GNU_SOURCE /* mremap */
#include "lib/host/binding.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "kernel/base/printf.h"
#include "kernel/base/spinlock.h"
#include "lib/host/park.h"
#include "lib/malloc/malloc.h"

#if SIZE_MAX > 0xffffffffu
#define RVMEM_HOST_HEAP_BYTES ((size_t)64 << 30)
#define RVMEM_HOST_HEAP_MIN_BYTES ((size_t)1 << 30)
#else /* 32-bit processes: 64 GiB does not fit the address space (nor a size_t) */
#define RVMEM_HOST_HEAP_BYTES ((size_t)1 << 30)
#define RVMEM_HOST_HEAP_MIN_BYTES ((size_t)128 << 20)
#endif
#define PAGE_BYTES 4096u
/*
 * A direct block that remap_pages grows to this many bytes or more is advised for transparent huge
 * pages (MADV_HUGEPAGE): a buffer that large is being filled as it grows, and a fault then maps
 * 2 MiB at once instead of 4 KiB. What it may cost: up to one huge page per such block beyond the
 * bytes the program touched (the page holding its last touched byte, when the mapping goes on past
 * it), at most a quarter of the block at this threshold.
 */
#define HUGE_ADVICE_MIN_BYTES ((size_t)8 << 20)

static uint8_t *region;
static size_t region_bytes; /* what the reservation got: RVMEM_HOST_HEAP_BYTES or less */
static size_t region_used;
static struct spinlock init_lock;
static int initialized; /* 0 no, 1 yes, -1 failed */
static pthread_key_t thread_exit_key;

static void *region_more_core(intptr_t increment)
{
    /* Called by the allocator under its TLSF lock: one caller at a time. */
    size_t old = region_used;
    if (increment >= 0 ? (size_t)increment > region_bytes - old : (size_t)-increment > old)
        return (void *)-1;
    region_used = old + (size_t)increment;
    if (increment < 0) {
        /* Whole pages past the new break go back to the kernel (and read as zero again). */
        uintptr_t first_page = ((uintptr_t)region + region_used + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1);
        uintptr_t end = (uintptr_t)region + old;
        if (end > first_page)
            madvise((void *)first_page, end - first_page, MADV_DONTNEED);
        uintptr_t partial_end = first_page < end ? first_page : end;
        for (uint8_t *byte = region + region_used; (uintptr_t)byte < partial_end; byte++)
            *byte = 0;
    }
    return region + old;
}

/* map_pages and unmap_pages of the binding: direct blocks, each its own mapping. */
static void *map_pages(size_t bytes)
{
    void *start = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return start == MAP_FAILED ? NULL : start;
}

static void *remap_pages(void *start, size_t old_bytes, size_t new_bytes)
{
    void *moved = mremap(start, old_bytes, new_bytes, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (new_bytes > old_bytes && new_bytes >= HUGE_ADVICE_MIN_BYTES)
        madvise(moved, new_bytes, MADV_HUGEPAGE); /* advice: where the system has none, nothing changes */
#endif
    return moved;
}

static void release_pages(void *start, size_t bytes)
{
    madvise(start, bytes, MADV_DONTNEED);
}

static void unmap_pages(void *start, size_t bytes)
{
    munmap(start, bytes);
}

static void close_at_thread_exit(void *value)
{
    (void)value;
    rvmem_host_park_unregister(); /* no trim may flush the cache from now on */
    rvmem_malloc_close_cache();
}

static void thread_cache_opened(void)
{
    pthread_setspecific(thread_exit_key, (void *)1); /* keys below PTHREAD_KEYS_MAX: no malloc */
    rvmem_host_park_register();
}

static void print_stats_at_exit(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    kprintf("rvmem malloc: %lu bytes in use, peak %lu, heap span %lu (peak %lu), %lu more-core calls, "
            "%lu small runs, %lu direct blocks (%lu bytes), %lu failed requests\n",
            (unsigned long)stats.bytes_in_use, (unsigned long)stats.peak_bytes_in_use,
            (unsigned long)stats.heap_span_bytes, (unsigned long)stats.peak_heap_span_bytes,
            (unsigned long)stats.more_core_calls, (unsigned long)stats.small_runs, (unsigned long)stats.direct_blocks,
            (unsigned long)stats.direct_bytes, (unsigned long)stats.failed_requests);
}

/*
 * The region to try first: RVMEM_HOST_HEAP_BYTES, halved while above a quarter of the
 * address-space limit (not below RVMEM_HOST_HEAP_MIN_BYTES), so the rest of the limit stays for
 * direct blocks, thread stacks and libraries.
 */
static size_t region_bytes_to_try(void)
{
    size_t bytes = RVMEM_HOST_HEAP_BYTES;
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        while (bytes > RVMEM_HOST_HEAP_MIN_BYTES && bytes > limit.rlim_cur / 4)
            bytes /= 2;
    return bytes;
}

/* Reserves the largest region (and its page map, two bytes per page) that fits; 0, or -1 below the minimum. */
static int reserve_region(uint8_t **page_map)
{
    for (size_t bytes = region_bytes_to_try(); bytes >= RVMEM_HOST_HEAP_MIN_BYTES; bytes /= 2) {
        region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (region == MAP_FAILED)
            continue;
        *page_map = mmap(NULL, 2 * (bytes / PAGE_BYTES), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (*page_map != MAP_FAILED) {
            region_bytes = bytes;
            return 0;
        }
        munmap(region, bytes);
    }
    return -1;
}

int rvmem_host_init(void)
{
    if (__atomic_load_n(&initialized, __ATOMIC_ACQUIRE))
        return initialized > 0 ? 0 : -1;
    spin_lock(&init_lock);
    if (!initialized) {
        uint8_t *page_map = NULL;
        int result = -1;
        if (reserve_region(&page_map) == 0 && pthread_key_create(&thread_exit_key, close_at_thread_exit) == 0) {
            struct malloc_binding binding = {.more_core = region_more_core,
                                             .page_map = page_map,
                                             .page_map_bytes = 2 * (region_bytes / PAGE_BYTES),
                                             .thread_cache_opened = thread_cache_opened,
                                             .map_pages = map_pages,
                                             .unmap_pages = unmap_pages,
                                             .remap_pages = remap_pages,
                                             .release_pages = release_pages};
            result = rvmem_malloc_init(&binding);
        }
        if (result == 0) {
            /* The park list's lock is taken last (prepare handlers run in reverse order): its
             * holder never waits for malloc's locks. */
            pthread_atfork(rvmem_host_park_lock_for_fork, rvmem_host_park_unlock_after_fork,
                           rvmem_host_park_reset_in_child);
            pthread_atfork(rvmem_malloc_lock_all, rvmem_malloc_unlock_all, rvmem_malloc_unlock_all);
            const char *mode = getenv("RVMEM_MALLOC_MODE");
            if (mode && strcmp(mode, "lean") == 0)
                rvmem_malloc_set_mode(MALLOC_MODE_LEAN); /* before any block: every thread's cache takes it */
            const char *stats = getenv("RVMEM_MALLOC_STATS");
            if (stats && stats[0] == '1')
                atexit(print_stats_at_exit);
        }
        __atomic_store_n(&initialized, result == 0 ? 1 : -1, __ATOMIC_RELEASE);
    }
    spin_unlock(&init_lock);
    return initialized > 0 ? 0 : -1;
}

__attribute__((constructor)) static void init_early(void)
{
    rvmem_host_init();
}
