/*
 * tests/harness/ktest_arena.c - test memory taken when a suite asks for it and given back when
 * it ends (see ktest_arena.h).
 */
#include "tests/harness/ktest_arena.h"

#include "kernel/base/printf.h"
#include "kernel/base/spinlock.h"
#include "kernel/base/string.h"

static struct spinlock arenas_lock = SPINLOCK_INIT;
static struct ktest_arena *arenas_held; /* under arenas_lock */

void *ktest_arena_memory(struct ktest_arena *arena)
{
    spin_lock(&arenas_lock);
    if (arena->memory == NULL) {
        size_t taken_bytes = 0;
        void *memory = ktest_memory_take(arena->bytes, arena->align, &taken_bytes);
        if (memory != NULL) {
            memset(memory, 0, arena->bytes);
            arena->memory = memory;
            arena->taken_bytes = taken_bytes;
            arena->next = arenas_held;
            arenas_held = arena;
        } else {
            kprintf("    # test memory: cannot take %zu bytes aligned to %zu (too little free RAM?)\n", arena->bytes,
                    arena->align);
        }
    }
    void *memory = arena->memory;
    spin_unlock(&arenas_lock);
    return memory;
}

void ktest_arenas_give_back(void)
{
    spin_lock(&arenas_lock);
    while (arenas_held != NULL) {
        struct ktest_arena *arena = arenas_held;
        arenas_held = arena->next;
        ktest_memory_give_back(arena->memory, arena->taken_bytes);
        arena->memory = NULL;
        arena->taken_bytes = 0;
        arena->next = NULL;
    }
    spin_unlock(&arenas_lock);
}

size_t ktest_arena_bytes_held(void)
{
    spin_lock(&arenas_lock);
    size_t bytes = 0;
    for (const struct ktest_arena *arena = arenas_held; arena != NULL; arena = arena->next)
        bytes += arena->taken_bytes;
    spin_unlock(&arenas_lock);
    return bytes;
}
