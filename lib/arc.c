/*
 * lib/arc.c - Arc: atomic reference counting shared across harts (lib/arc.h).
 */
#include "lib/arc.h"

#include "kernel/base/misuse.h"
#include "kernel/base/platform.h"
#include "lib/malloc/malloc.h"
#include "lib/refcount_header.h"

void *arc_new(size_t size, arc_destructor destructor)
{
    return refcount_header_new(size, REFCOUNT_LIVE_ARC,
                               destructor); /* published to other harts by whatever hands them the pointer */
}

static void report_dead(const void *value, const void *caller)
{
    struct misuse_report report = {MISUSE_DOUBLE_FREE, "arc", (uintptr_t)value, hart_self(), caller};
    misuse_report(&report);
}

void *arc_retain(void *value)
{
    struct refcount_header *header = refcount_header_of(value);
    /* Relaxed: a new owner can only come from an existing one, which keeps the value alive. */
    uint32_t before = __atomic_fetch_add(&header->count, 1, __ATOMIC_RELAXED);
    if (before == 0 || before == UINT32_MAX || header->magic != REFCOUNT_LIVE_ARC)
        panic("arc_retain: %p is dead or its count overflowed (count was %u)", value, (unsigned)before);
    return value;
}

void arc_release(void *value)
{
    if (!value)
        return;
    struct refcount_header *header = refcount_header_of(value);
    if (__atomic_load_n(&header->magic, __ATOMIC_RELAXED) != REFCOUNT_LIVE_ARC) {
        report_dead(value, __builtin_return_address(0));
        return;
    }
    /* Release: this hart's writes to the value happen before the destructor on whichever hart runs it. */
    uint32_t before = __atomic_fetch_sub(&header->count, 1, __ATOMIC_RELEASE);
    if (before != 1) {
        if (before == 0)
            panic("arc_release: count of %p went below zero", value);
        return;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (header->destructor)
        header->destructor(value);
    header->magic = REFCOUNT_DEAD;
    rvmem_free(header);
}

size_t arc_count(const void *value)
{
    return __atomic_load_n(&refcount_header_of(value)->count, __ATOMIC_RELAXED);
}
