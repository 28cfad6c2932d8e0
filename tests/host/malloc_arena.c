/*
 * tests/host/malloc_arena.c - the host tests' malloc binding: a private break over an mmap arena.
 *
 * more_core has sbrk semantics over [arena, arena + limit); the allocator calls it under its
 * TLSF lock, but a mutex keeps the arena safe on its own. Memory given back is cleared, as the
 * kernel's break does, so grown memory always reads as zero.
 */
#include "tests/host/malloc_arena.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/malloc/malloc.h"

#define ARENA_BYTES ((size_t)1 << 30)

static uint8_t *arena;
static size_t arena_used;
static size_t arena_limit = ARENA_BYTES;
static pthread_mutex_t arena_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint8_t page_map[2 * (ARENA_BYTES >> 12)];

static void *arena_more_core(intptr_t increment)
{
    void *result = (void *)-1;
    pthread_mutex_lock(&arena_mutex);
    size_t old = arena_used;
    if (increment >= 0 ? (size_t)increment <= arena_limit - old : (size_t)-increment <= old) {
        arena_used = old + (size_t)increment;
        if (increment < 0)
            memset(arena + arena_used, 0, (size_t)-increment);
        result = arena + old;
    }
    pthread_mutex_unlock(&arena_mutex);
    return result;
}

void malloc_arena_set_limit(size_t bytes)
{
    pthread_mutex_lock(&arena_mutex);
    arena_limit = bytes == 0 || bytes > ARENA_BYTES ? ARENA_BYTES : bytes;
    pthread_mutex_unlock(&arena_mutex);
}

uintptr_t malloc_arena_start(void)
{
    return (uintptr_t)arena;
}

uintptr_t malloc_arena_break(void)
{
    pthread_mutex_lock(&arena_mutex);
    uintptr_t current = (uintptr_t)arena + arena_used;
    pthread_mutex_unlock(&arena_mutex);
    return current;
}

__attribute__((constructor)) static void malloc_arena_bind(void)
{
    arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (arena == MAP_FAILED) {
        perror("malloc arena: mmap");
        abort();
    }
    struct malloc_binding binding = {
        .more_core = arena_more_core, .page_map = page_map, .page_map_bytes = sizeof page_map};
    if (rvmem_malloc_init(&binding) != 0)
        abort();
}
