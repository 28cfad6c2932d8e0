/*
 * kernel/mm/pages.c - the machine's page allocator and heap break (see pages.h).
 */
#include "kernel/mm/pages.h"

#include "kernel/mm/brk.h"
#include "kernel/mm/buddy.h"
#include "kernel/base/errors.h"
#include "kernel/platform/hart.h"
#include "kernel/mm/memmap.h"
#include "kernel/base/platform.h"

struct buddy pages_allocator; /* extern only for page_alloc/page_free in pages.h */
static struct brk_heap machine_heap;
static int hart_errno[RVMEM_MAX_HARTS];
static uint64_t init_instructions;

static inline uint64_t instructions_retired(void)
{
    uint64_t count;
#if __riscv_xlen == 32
    uint32_t low;
    __asm__ volatile("rdinstret %0" : "=r"(low));
    count = low;
#else
    __asm__ volatile("rdinstret %0" : "=r"(count));
#endif
    return count;
}

uint64_t pages_init_instructions(void)
{
    return init_instructions;
}

void pages_init(const struct memmap *map, uintptr_t heap_start, uint64_t heap_max_bytes)
{
    struct buddy_range ranges[MEMMAP_MAX_RANGES];
    uintptr_t heap_limit = heap_start;
    for (unsigned i = 0; i < map->usable_count; i++) {
        ranges[i] = (struct buddy_range){(uintptr_t)map->usable[i].start, (uintptr_t)map->usable[i].end};
        if (ranges[i].start <= heap_start && heap_start < ranges[i].end)
            heap_limit = ranges[i].end;
    }
    uint64_t started = instructions_retired();
    int error = buddy_init(&pages_allocator, ranges, map->usable_count);
    init_instructions = instructions_retired() - started;
    if (error)
        panic("page allocator: cannot take over the usable RAM: %s", error_name(error));
    if (heap_max_bytes && heap_max_bytes < heap_limit - heap_start)
        heap_limit = heap_start + (uintptr_t)heap_max_bytes;
    error = brk_init(&machine_heap, &pages_allocator, heap_start, heap_limit);
    if (error)
        panic("heap: cannot start at %p: %s", (void *)heap_start, error_name(error));
}

struct buddy *kernel_pages(void)
{
    return &pages_allocator;
}

struct brk_heap *kernel_heap(void)
{
    return &machine_heap;
}

int *errno_location(void)
{
    return &hart_errno[hart_self()];
}

/* A move of the break as sbrk reports it: the previous break, or (void *)-1 with errno set. */
static void *sbrk_result(struct brk_move move)
{
    if (move.error) {
        *errno_location() = (int)-move.error;
        return (void *)-1;
    }
    return (void *)move.previous;
}

/* Everything but sbrk's common case, out of line so that case needs no frame. */
static __attribute__((noinline)) void *sbrk_slow(intptr_t increment)
{
    return sbrk_result(brk_move_by(&machine_heap, increment));
}

/*
 * Built without a frame pointer: in the common case sbrk is a leaf (the rest is a tail call),
 * and the frame was a third of its instructions. A backtrace taken inside it misses it.
 */
__attribute__((optimize("omit-frame-pointer"))) void *sbrk(intptr_t increment)
{
    uintptr_t previous;
    if (__builtin_expect(brk_try_move_fast(&machine_heap, increment, &previous), 1))
        return (void *)previous;
    return sbrk_slow(increment);
}

/* sbrk_uninit's slow path: brk_move_by_uninit with errno. */
static __attribute__((noinline)) void *sbrk_uninit_slow(intptr_t increment)
{
    return sbrk_result(brk_move_by_uninit(&machine_heap, increment));
}

/* The same fast path as sbrk: bytes below clean_end are zero, which suits an uninitialized grow too. */
__attribute__((optimize("omit-frame-pointer"))) void *sbrk_uninit(intptr_t increment)
{
    uintptr_t previous;
    if (__builtin_expect(brk_try_move_fast(&machine_heap, increment, &previous), 1))
        return (void *)previous;
    return sbrk_uninit_slow(increment);
}

int brk(void *address)
{
    int error = brk_set(&machine_heap, (uintptr_t)address);
    if (error) {
        *errno_location() = -error;
        return -1;
    }
    return 0;
}
