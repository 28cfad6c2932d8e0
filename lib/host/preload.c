/*
 * lib/host/preload.c - the standard C allocation functions for LD_PRELOAD, on the rvmem malloc.
 *
 *     LD_PRELOAD=build/host/librvmem_malloc.so python3 ...
 *
 * Every function keeps its C/POSIX/glibc contract and sets errno to ENOMEM on failure. A call
 * before the constructor (the dynamic loader allocates early) initializes the allocator first:
 * the core returns NULL until then, and only that cold path checks. Exported with default
 * visibility; everything else in the library is hidden, so it cannot interpose on the program.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "lib/host/binding.h"
#include "lib/host/park.h"
#include "lib/malloc/malloc.h"

#define EXPORT __attribute__((visibility("default")))

/*
 * RVMEM_PARK_CHECK (build/host/librvmem_malloc_parkcheck.so, a test build): an allocation function
 * called by a parked thread aborts, naming itself. A parked thread must call nothing of malloc's
 * (lib/host/park.h); tools/test.py runs programs under this build to show that none of the wrapped
 * blocking calls does.
 */
#ifdef RVMEM_PARK_CHECK
#include <stdio.h>
#include <stdlib.h>
#define CHECK_NOT_PARKED(name)                                                                                         \
    do {                                                                                                               \
        if (rvmem_host_parked()) {                                                                                     \
            fputs("rvmem: " name " called by a parked thread\n", stderr);                                              \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)
#else
#define CHECK_NOT_PARKED(name) ((void)0)
#endif

/* A NULL from the core: initialize if that was the reason and retry once, else ENOMEM. */
static int retry_after_init(void)
{
    static int ready;
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return 0;
    if (rvmem_host_init() != 0)
        return 0;
    __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    return 1;
}

static void *fail(void)
{
    errno = ENOMEM;
    return NULL;
}

/* malloc's way out when the core returned NULL: out of line, so malloc itself keeps one register. */
__attribute__((noinline, cold)) static void *malloc_failed(size_t size)
{
    void *block = retry_after_init() ? rvmem_malloc(size) : NULL;
    return block ? block : fail();
}

EXPORT void *malloc(size_t size)
{
    CHECK_NOT_PARKED("malloc");
    void *block = rvmem_malloc(size);
    if (__builtin_expect(block == NULL, 0))
        return malloc_failed(size);
    return block;
}

EXPORT void free(void *block)
{
    CHECK_NOT_PARKED("free");
    rvmem_free(block);
}

EXPORT void cfree(void *block)
{
    rvmem_free(block);
}

EXPORT void *calloc(size_t count, size_t size)
{
    CHECK_NOT_PARKED("calloc");
    void *block = rvmem_calloc(count, size);
    if (!block) {
        size_t bytes;
        if (!__builtin_mul_overflow(count, size, &bytes) && retry_after_init())
            block = rvmem_calloc(count, size);
        if (!block)
            return fail();
    }
    return block;
}

EXPORT void *realloc(void *block, size_t size)
{
    CHECK_NOT_PARKED("realloc");
    if (!block)
        return malloc(size);
    void *moved = rvmem_realloc(block, size);
    if (!moved && size != 0)
        return fail();
    return moved;
}

EXPORT void *reallocarray(void *block, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes))
        return fail();
    return realloc(block, bytes);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    CHECK_NOT_PARKED("aligned_alloc");
    if (alignment == 0 || (alignment & (alignment - 1))) {
        errno = EINVAL;
        return NULL;
    }
    void *block = rvmem_aligned_alloc(alignment, size);
    if (!block && retry_after_init())
        block = rvmem_aligned_alloc(alignment, size);
    return block ? block : fail();
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    return aligned_alloc(alignment, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
        return EINVAL;
    void *block = aligned_alloc(alignment, size);
    if (!block)
        return ENOMEM;
    *out = block;
    return 0;
}

EXPORT void *valloc(size_t size)
{
    return aligned_alloc(4096, size);
}

EXPORT void *pvalloc(size_t size)
{
    return aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
}

EXPORT size_t malloc_usable_size(void *block)
{
    return rvmem_malloc_usable_size(block);
}

/*
 * glibc's malloc_trim: gives back the cached blocks of the calling thread and of every thread
 * blocked in a call of lib/host/preload_park.c, releases runs whose blocks are all free and
 * returns the free top of the heap to the system (pad ignored: the core keeps none). The caches
 * of threads running elsewhere stay theirs (each thread's is its own, flushed when it ends).
 * Returns 1 when memory went back to the system, 0 otherwise.
 */
EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    return rvmem_host_trim() != 0;
}
