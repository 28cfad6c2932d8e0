/*
 * user/lib/malloc_user.c - the user binding of malloc: the sbrk system call as more-core, each
 * thread's block as its cache, and the standard names.
 *
 * The same lib/malloc/ sources as the kernel's (kernel/top/malloc_binding.c) and the host's
 * (lib/host/binding.c): one malloc, three homes. Here more-core is sbrk, the system call, so a
 * malloc that runs out of its heap asks the kernel to move the program's break; the kernel maps
 * the pages (on their first touch, or at once in its eager mode).
 *
 * The page map (two bytes per page of heap that small runs may use) comes first, from sbrk at
 * set-up: USER_MALLOC_MAP_SPAN_BYTES of heap, so 2 * 16384 bytes. sbrk memory reads as zero, as
 * the map must; with lazy heap pages only the map pages malloc touches are ever allocated.
 * Above the span the heap still grows (TLSF serves it; only the small classes' runs stay below).
 *
 * This file is linked into a program exactly when it uses malloc: lib/malloc/ references
 * hart_area, defined here, and crt0's start calls user_malloc_init through a weak reference
 * (user/lib/start.c).
 */
#include "kernel/base/platform.h"
#include "lib/malloc/malloc.h"
#include "user/lib/runtime.h"
#include "user/lib/thread.h"

#define USER_MALLOC_MAP_SPAN_BYTES ((size_t)64 << 20)

static unsigned long sbrk_calls;

/* Called by lib/malloc/ under its TLSF lock: sbrk semantics, (void *)-1 on failure. */
static void *more_core(intptr_t increment)
{
    sbrk_calls++;
    long previous = sys_sbrk(increment);
    return previous < 0 ? (void *)-1 : (void *)previous;
}

void *hart_area(unsigned hart)
{
    return user_threads[hart].area;
}

/* Sets malloc up on the program's heap; called once by user_start before main (single thread). */
void user_malloc_init(void);
void user_malloc_init(void)
{
    size_t map_bytes = 2 * (USER_MALLOC_MAP_SPAN_BYTES / PAGE_SIZE);
    long map = sys_sbrk((intptr_t)map_bytes);
    sbrk_calls++;
    /* A heap limit below the map's size: a smaller map only limits where small runs may go. */
    while (map < 0 && map_bytes > 2 * PAGE_SIZE) {
        map_bytes /= 2;
        map = sys_sbrk((intptr_t)map_bytes);
        sbrk_calls++;
    }
    if (map < 0)
        panic("malloc: no heap for its page map (sbrk of %lu bytes: %s)", (unsigned long)map_bytes,
              error_name((int)map));
    struct malloc_binding binding = {.more_core = more_core, .page_map = (uint8_t *)map, .page_map_bytes = map_bytes};
    int error = rvmem_malloc_init(&binding);
    if (error)
        panic("malloc: set-up failed (%s)", error_name(error));
}

unsigned long malloc_sbrk_calls(void)
{
    return sbrk_calls;
}
